"""The audit log: what happened to each ticket, read from Git and cached.

Every commit that touched a ticket file is diffed, version against version
(front matter and conversation), so hand-made commits read like CLI ones.
The events are kept in the disposable cache keyed by commit: a commit's
events never change, so the cache only ever scans commits it has not seen,
and each commit's ``pos`` says whether it is reachable from HEAD now, and
where in a topological order (a branch switch or a rebase recomputes those
positions, not the events).
"""

from __future__ import annotations

import functools
import json
import re
import sqlite3
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from itertools import pairwise
from typing import Any

from gitdesk import changes, git, ticketfile, workflow
from gitdesk.cache import db, merges, workers
from gitdesk.clock import format_utc
from gitdesk.desk import Desk, Progress, quiet
from gitdesk.errors import GitdeskError, ShallowHistory
from gitdesk.model import ENTRY_KINDS, KNOWN_FIELDS, MAIL_SYSTEM, RULES_AUTHOR, Entry, Ticket
from gitdesk.text import address_key
from gitdesk.timings import TRACKED, Change, Clocks, Timings

_FORMAT = "%x1e%H%x1f%P%x1f%at%x1f%an%x1f%ae%x1f" \
          "%(trailers:key=Gitdesk-Actor,valueonly,separator=%x2c)%x1f" \
          "%(trailers:key=Gitdesk-Action,valueonly,separator=%x2c)%x1f%s%x1f%b"
# A record starts with its commit's ID: a message holding the separator byte cannot split one.
_RECORD = re.compile(rb"\x1e(?=[0-9a-f]{40}(?:[0-9a-f]{24})?\x1f)")
# A squash merge's message lists each squashed commit's, trailers and all (GitHub's, git merge
# --squash): its last trailers are the last commit's, not the squash's. An amended commit has
# two Action lines too, in its one trailer block (the commit-msg hook adds the edit's).
_ACTION_LINE = re.compile(r"^[ \t]*Gitdesk-Action:", re.MULTILINE)  # indented in git merge --squash's


def _squashed(body: str) -> bool:
    """Whether a message holds the trailers of several commits: Action lines in several paragraphs."""
    return sum(1 for paragraph in re.split(r"\n[ \t]*\n", body) if _ACTION_LINE.search(paragraph)) > 1
CHUNK = 2000  # commits whose events are written together
VERSIONS_PER_PART = 500  # ticket versions read and parsed by one task (and per step of the progress)
PARSE_IN_PARALLEL_FROM = 4000  # ticket versions to read that pay for worker processes
PROGRESS_FROM = 500  # new commits, or ticket versions to read, that make a scan worth showing
MAX_TIPS = 12


_BOOKKEEPING = frozenset({"message_ids"})  # fields gitdesk keeps for mail threading, long and rarely read
_ENTRY_LABELS = {"note": "internal note", "question": "question", "escalation": "escalation"}


def _entry_label(kind: str | None) -> str:
    return _ENTRY_LABELS.get(kind or "", kind or "entry")


@dataclass(frozen=True, slots=True)
class Event:
    commit: str
    ticket: str
    seq: int
    time: datetime
    # new | field | entry | entry-removed | entry-edited | entry-retyped | entry-restamped | resolution
    # | description | deleted | unreadable
    kind: str
    field: str | None = None  # the field, or the entry's kind
    before: str | None = None
    after: str | None = None
    who: str | None = None  # an entry's author
    detail: str | None = None
    dropped_by: str | None = None  # the merge that kept another value (gitdesk.cache.merges)

    def describe(self) -> str:
        if self.kind == "new":
            return f"created ({self.after})"
        # first, so that a narrow terminal never cuts the merge's ID off
        dropped = f"not kept by merge {self.dropped_by[:7]}: " if self.dropped_by else ""
        if self.kind == "field":
            return f"{dropped}{self.field}: {self.before} -> {self.after}"
        if self.kind == "entry":
            extra = f" {self.detail}" if self.detail else ""
            text = f": {self.after}" if self.after and self.field in ("escalation", "reopen", "rejection") else ""
            return f"{dropped}{_entry_label(self.field)}{extra} added by {self.who}{text}"
        if self.kind == "entry-retyped":  # field: the entry's kind now, before: what it was
            now = _entry_label(self.field)
            return f"{_entry_label(self.before)} by {self.who} is now {'an' if now[:1] in 'aeiou' else 'a'} {now}"
        if self.kind == "entry-restamped":  # before, after: the authors; detail: the times, if they changed
            author = f" is now by {self.after}" if self.after != self.before else ""
            when = f"{',' if author else ''} re-dated {self.detail}" if self.detail else ""
            return f"{_entry_label(self.field)} by {self.before}{author}{when}"
        if self.kind in ("entry-removed", "entry-edited"):
            return f"{_entry_label(self.field)} by {self.who} {self.kind.removeprefix('entry-')}"
        if self.kind == "resolution":
            return f"resolution {self.after}"
        if self.kind == "description":
            return "description edited"
        if self.kind == "deleted":
            return "ticket file deleted"
        return f"unreadable version ({self.detail})"


@dataclass(frozen=True, slots=True)
class LogEntry:
    """One commit's changes to one ticket."""

    commit: str
    time: datetime
    who: str
    author: str
    action: str
    ticket: str
    changes: tuple[str, ...]
    events: tuple[Event, ...]
    side_effect: bool = False  # the commit's action was on another ticket (a duplicate told of its original's fix)


# --- scanning -----------------------------------------------------------------------


@dataclass
class _Commit:
    sha: str
    parents: list[str]
    time: int
    author: str
    email: str
    actor: str
    action: str
    subject: str
    # per parent index: path -> (old blob or None, new blob or None)
    diffs: dict[int, dict[str, tuple[str | None, str | None]]]


def _parse_log(out: bytes, paths: tuple[str, ...]) -> list[_Commit]:
    """The commits of a `git log -m --raw` with their changes under ``paths``; a commit that
    changed nothing there is left out, a merge never (what it kept of each side matters)."""
    commits: dict[str, _Commit] = {}
    order: list[str] = []
    for block in _RECORD.split(out):
        if not block.strip():
            continue
        header, _, raw = block.partition(b"\0")
        fields = header.decode("utf-8", "replace").split("\x1f", 8)
        if len(fields) < 9:
            continue
        sha, parents = fields[0], fields[1].split()
        commit = commits.get(sha)
        if commit is None:
            actor, action = fields[5], fields[6]
            if _squashed(fields[8]):  # its author made it, whoever the squashed commits name
                actor = action = ""
            commit = _Commit(sha, parents, int(fields[2] or 0), fields[3], fields[4], actor, action,
                             fields[7], {})
            commits[sha] = commit
            order.append(sha)
        parent_index = len(commit.diffs)
        diff: dict[str, tuple[str | None, str | None]] = {}
        for change in git.parse_raw(raw.lstrip(b"\n")):
            if change.path.startswith(paths):
                diff[change.path] = (change.old_blob, change.new_blob)
        commit.diffs[parent_index] = diff
    for commit in commits.values():
        if len(commit.parents) > 1 and len(commit.diffs) < len(commit.parents):
            # `git log -m` prints no diff against a parent the merge equals (within tickets/):
            # every ticket is as that side left it, so the merge changed nothing. Its one
            # printed diff (against the other side) would replay that side's work, and read
            # its versions for nothing.
            commit.diffs.clear()
    return [commits[sha] for sha in order if len(commits[sha].parents) > 1 or any(commits[sha].diffs.values())]


def _read_versions(repo: git.Repo, shas: list[str]) -> dict[str, Ticket | str]:
    """Ticket versions by blob id, through one ``git cat-file --batch``: each parsed, or the
    reason it cannot be (a missing blob is left out). Runs in worker processes too."""
    parsed: dict[str, Ticket | str] = {}
    for sha, data in git.read_blobs(repo, shas).items():
        try:
            parsed[sha] = ticketfile.read_ticket(ticketfile.decode(data))
        except GitdeskError as error:
            parsed[sha] = error.message
    return parsed


class _Versions:
    """Parsed ticket versions by blob id."""

    def __init__(self, parsed: dict[str, Ticket | str]) -> None:
        self.parsed = parsed

    def get(self, sha: str | None) -> Ticket | str | None:
        return None if sha is None else self.parsed.get(sha, "missing")


def _ticket_id(path: str) -> str:
    return path.rsplit("/", 1)[-1].removesuffix(".md")


def _entry_difference(old: Sequence[Entry], new: Sequence[Entry]) -> tuple[list[Entry], list[Entry]]:
    """The entries ``new`` has more of than ``old``, and those it has fewer of (two entries
    alike to the byte count twice), each in the file's order."""
    def key(entry: Entry) -> tuple[object, ...]:
        return entry.at, entry.author, entry.kind, entry.detail, entry.text

    def unmatched(entries: Sequence[Entry], others: Sequence[Entry]) -> list[Entry]:
        left = Counter(map(key, others))
        found = []
        for entry in entries:
            if left[key(entry)]:
                left[key(entry)] -= 1
            else:
                found.append(entry)
        return found

    return unmatched(new, old), unmatched(old, new)


def _events_between(old: Ticket | None, new: Ticket) -> Iterator[tuple[str, str | None, str | None, str | None,
                                                                      str | None, str | None]]:
    """(kind, field, before, after, who, detail) for one version change."""
    late: list[changes.FieldChange] = []
    if old is None:
        yield "new", "status", None, new.status, None, new.title
    else:
        for change in changes.field_changes(old, new):
            if change.field in _BOOKKEEPING:
                late.append(change)
                continue
            yield "field", change.field, changes.show(change.before), changes.show(change.after), None, None
    added, removed = _entry_difference(old.entries if old is not None else [], new.entries)
    left = list(removed)

    def header(entry: Entry) -> tuple[object, ...]:
        return entry.at, entry.author, entry.kind

    def said(entry: Entry) -> tuple[object, ...]:
        return entry.at, entry.author, entry.text

    def content(entry: Entry) -> tuple[object, ...]:
        return entry.kind, entry.detail, entry.text

    def take(key: Callable[[Entry], tuple[object, ...]], like: Entry) -> Entry | None:
        found = next((entry for entry in left if key(entry) == key(like)), None)
        if found is not None:
            left.remove(found)
        return found

    for entry in added:
        first = changes.first_line(entry.text)
        # the same entry, its text or its detail edited; else the same text under another kind
        # (an internal note made a reply by hand: it became public)
        before = take(header, entry)
        if before is not None:
            yield "entry-edited", entry.kind, changes.first_line(before.text), first, entry.author, entry.detail or None
            continue
        retyped = take(said, entry)
        if retyped is not None:
            yield "entry-retyped", entry.kind, retyped.kind, first, entry.author, entry.detail or None
            continue
        # the same words under another author or time: who said it, or when, was changed by hand
        restamped = take(content, entry)
        if restamped is not None:
            when = None if restamped.at == entry.at else f"{format_utc(restamped.at)} -> {format_utc(entry.at)}"
            yield "entry-restamped", entry.kind, restamped.author, entry.author, entry.author, when
            continue
        yield "entry", entry.kind, None, first, entry.author, entry.detail or None
    for entry in left:
        yield "entry-removed", entry.kind, changes.first_line(entry.text), None, entry.author, entry.detail or None
    if old is not None:
        if new.resolution and new.resolution != old.resolution:
            yield "resolution", None, None, "rewritten" if old.resolution else "written", None, \
                changes.first_line(new.resolution)
        elif old.resolution and not new.resolution:  # a revert of a resolve, or a hand edit
            yield "resolution", None, None, "removed", None, None
        if new.description != old.description:
            yield "description", None, None, None, None, None
    for change in late:  # after what people read first: a narrow table cuts the end of the line
        yield "field", change.field, changes.show(change.before), changes.show(change.after), None, None


def _merge_events(parents: Sequence[Ticket | None], new: Ticket) -> Iterator[tuple[str, str | None, str | None,
                                                                                  str | None, str | None,
                                                                                  str | None]]:
    """What a merge itself decided: values that differ from every parent's."""
    known = [p for p in parents if p is not None]
    if not known:
        yield from _events_between(None, new)
        return
    first = known[0]
    for change in changes.field_changes(first, new):
        values = [p.field_value(change.field) for p in known]
        if all(changes.show(value) != changes.show(change.after) for value in values) \
                and not _combined(values, new.field_value(change.field)):
            yield "field", change.field, changes.show(change.before), changes.show(change.after), None, None
    seen = {(e.at, e.author, e.kind, e.text) for p in known for e in p.entries}
    for entry in new.entries:
        if (entry.at, entry.author, entry.kind, entry.text) not in seen:
            yield "entry", entry.kind, None, changes.first_line(entry.text), entry.author, entry.detail or None


def _combined(values: Sequence[Any], merged: Any) -> bool:
    """Whether a merged list is exactly its parents' joined (labels each side added, the merge
    driver's union of Message-IDs): the sides' own commits said those changes, the merge decided
    nothing. One that also left an item out is the merge's doing (without the merge base, an
    item one side lacks may be one the other added)."""
    if not isinstance(merged, (list, tuple)) or not all(isinstance(value, (list, tuple)) for value in values):
        return False
    return {changes.show(item) for item in merged} == {changes.show(item) for value in values for item in value}


LOG_PART = 5000  # new commits per `git log`: parts keep every core busy and mark the progress


def _read_log(repo: git.Repo, head: str, tips: list[str], paths: list[str],
              progress: Progress = quiet) -> list[_Commit] | None:
    """The new commits with their ticket diffs, oldest first; None if a tip is gone.

    Diffing trees is most of the cost of a first scan (a flat tickets/ tree
    is large), so a long history is read in parts, by as many `git log`
    processes at once as there are cores: each part is the commits up to a
    boundary less those up to the boundaries before it (whatever the merges,
    the parts together are the new commits, each once).
    """
    log = ["log", "--reverse", "--topo-order", "-m", "--full-history", "--no-renames", "--raw", "-z",
           "--no-abbrev", f"--format={_FORMAT}"]
    exclude = ["--not", *tips] if tips else []
    # A desk at the top of its repository is read whole and its tickets picked out here: with
    # `-- tickets/`, git diffs each commit's trees twice (once to simplify the history, once to
    # print it), which made a first scan nearly three times as long (50 s against 18 s for
    # 100,000 commits). A desk inside a larger repository keeps the path, not to read all of it.
    limit = [] if paths == ["tickets/"] else ["--", *paths]
    listed = git.run_result(repo, "rev-list", "--topo-order", "--reverse", head, *exclude)
    if listed.returncode != 0:
        return None
    new = listed.stdout.decode().split()
    ends = [*range(LOG_PART, len(new), LOG_PART), len(new)] if new else []
    boundaries = [new[end - 1] for end in ends]  # the last is head
    parts = [[boundary, *(["--not", *boundaries[:number], *tips] if number or tips else [])]
             for number, boundary in enumerate(boundaries)]
    sizes = [end - start for start, end in pairwise([0, *ends])]
    read: dict[int, list[_Commit]] = {}
    from concurrent.futures import ThreadPoolExecutor, as_completed  # here: only a scan needs it (10 ms)

    # A first scan's log of few commits can still be long (an import of 100,000 tickets).
    shown = len(new) >= PROGRESS_FROM or not tips
    with (progress("Reading history", len(new)) if shown else quiet("") as advance,
          ThreadPoolExecutor(max_workers=workers.cores()) as pool):
        env = git.large_trees_env()
        running = {pool.submit(git.run_result, repo, *log, *part, *limit, env=env): number
                   for number, part in enumerate(parts)}
        for done in as_completed(running):  # parsed while later parts are still being read
            result = done.result()
            if result.returncode != 0:
                raise GitdeskError("cannot read the history",
                                   hint=result.stderr.decode("utf-8", "replace").strip())
            read[running[done]] = _parse_log(result.stdout, tuple(paths))
            advance(sizes[running[done]])
    return [commit for number in range(len(parts)) for commit in read[number]]


def _blobs(chunk: list[_Commit]) -> list[str]:
    """The ticket versions a chunk of commits is diffed from and to."""
    return sorted({sha for commit in chunk for diff in commit.diffs.values() for pair in diff.values()
                   for sha in pair if sha})


def _scan(repo: git.Repo, connection: sqlite3.Connection, head: str, prefixes: list[str],
          progress: Progress = quiet) -> None:
    tips = [row[0] for row in connection.execute("SELECT sha FROM scanned_tips")]
    paths = [prefix + "tickets/" for prefix in prefixes]
    commits = _read_log(repo, head, tips, paths, progress)
    if commits is None:  # a remembered tip is gone (gc after a rebase): forget them all
        connection.execute("DELETE FROM scanned_tips")
        tips = []
        commits = _read_log(repo, head, tips, paths, progress) or []
    known = {row[0] for row in connection.execute("SELECT sha FROM commits")} if commits else set()
    fresh = [commit for commit in commits if commit.sha not in known]
    chunks = [fresh[start:start + CHUNK] for start in range(0, len(fresh), CHUNK)]
    # Parsing every version is most of a first scan's Python time: the versions of all
    # chunks are read in parts, in order, by worker processes when there are many.
    parts = [[shas[start:start + VERSIONS_PER_PART] for start in range(0, len(shas), VERSIONS_PER_PART)]
             for shas in map(_blobs, chunks)]
    total = sum(len(part) for chunk_parts in parts for part in chunk_parts)
    jobs = [part for chunk_parts in parts for part in chunk_parts]
    # commits from this id on are this scan's
    producers = _Producers(repo, connection.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM commits").fetchone()[0])
    # Counted: each version read, then each commit's changes worked out (seconds of their own
    # for a commit that adds 100,000 tickets).
    with (progress("Reading ticket versions", total + len(fresh)) if total >= PROGRESS_FROM else quiet("")
          as advance,
          workers.map_in_order(functools.partial(_read_versions, repo), jobs,
                               parallel=total >= PARSE_IN_PARALLEL_FROM) as read):
        for chunk, chunk_parts in zip(chunks, parts, strict=True):
            parsed: dict[str, Ticket | str] = {}
            for part in chunk_parts:
                parsed.update(next(read))
                advance(len(part))
            versions = _Versions(parsed)
            # Events name their commit by an integer key: reports join 100,000s of them.
            first = connection.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM commits").fetchone()[0]
            ids = {c.sha: first + number for number, c in enumerate(chunk)}
            producers.recall(connection, chunk)
            rows: list[tuple[Any, ...]] = []
            for commit in chunk:
                rows += _commit_events(commit, ids[commit.sha], versions, producers)
                advance(1)
            connection.execute("BEGIN IMMEDIATE")
            connection.executemany("INSERT INTO commits VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)", [
                (ids[c.sha], c.sha, " ".join(c.parents), c.time, c.author, c.email, c.actor or None,
                 c.action or None, c.subject) for c in chunk])
            connection.executemany("INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                                   [(ids[row[0]], *row[1:]) for row in rows])
            producers.keep(connection)
            connection.execute("COMMIT")
    merged = [(c.sha, c.parents) for c in fresh if len(c.parents) > 1]
    with progress("Comparing merges with their bases", len(merged)) if len(merged) >= PROGRESS_FROM \
            else quiet("") as advance:
        dropped = merges.overridden(repo, merged, paths, functools.partial(_read_versions, repo), _ticket_id,
                                    advance)
    tips = [head, *[tip for tip in tips if tip != head]][:MAX_TIPS]
    connection.execute("BEGIN IMMEDIATE")
    connection.execute("DELETE FROM scanned_tips")
    connection.executemany("INSERT INTO scanned_tips VALUES (?)", [(tip,) for tip in tips])
    connection.executemany("INSERT INTO overridden VALUES (?, ?, ?, ?)", dropped)
    connection.execute("COMMIT")


class _Producers:
    """Since when each ticket version has had its status, priority, queue and assignee, so that a
    change of one of them never counts before the change it followed. A commit's author date can
    be earlier than its parent's: a clone with a slow clock, or a rebase, which keeps author dates
    (this clone's 10:00 resolution rebased onto the other clone's 11:00 question, settled by the
    merge driver). Such a change counts at the moment the value it replaced was set, for that
    ticket alone: one clock's error never moves the rest of the desk, and a change that follows
    none of its fields' changes (a reply, a resolution after a mere note) keeps its own time.

    Versions are known by a 60-bit prefix of their blob ID (a ticket file holds its ID) and by
    the commit that made them: the same version can be made twice (a revert, the same edit on two
    clones, an amended commit), and then the one that counts is the latest its child descends
    from, whatever else the cache has seen, so a warm cache tells what a cold one does."""

    def __init__(self, repo: git.Repo, first_id: int) -> None:
        self.repo = repo
        self.first_id = first_id  # commits from here on are this scan's, kept in memory as made
        self.since: dict[int, list[tuple[int, str, tuple[int, ...]]]] = {}  # -> [(commit id, sha, since)]
        self.recalled: set[int] = set()
        self.new: list[tuple[int, ...]] = []
        self.descends: dict[tuple[str, str], bool] = {}

    @staticmethod
    def key(blob: str) -> int:
        return int(blob[:15], 16)

    def recall(self, connection: sqlite3.Connection, chunk: list[_Commit]) -> None:
        """Look up, once per chunk, the versions its commits changed that earlier scans made."""
        wanted = {self.key(old) for commit in chunk for diff in commit.diffs.values() for old, _ in diff.values()
                  if old} - self.recalled
        if wanted:
            for key, commit_id, sha, *since in connection.execute(
                    "SELECT v.blob, v.commit_id, c.sha, v.status, v.priority, v.queue, v.assignee FROM versions v"
                    " JOIN commits c ON c.id = v.commit_id WHERE v.blob IN (SELECT value FROM json_each(?))"
                    " AND v.commit_id < ?", (json.dumps(sorted(wanted)), self.first_id)):
                self.since.setdefault(key, []).append((commit_id, sha, tuple(since)))
            self.recalled |= wanted

    def _since(self, blob: str, parent: str | None, moment: int) -> tuple[int, ...] | None:
        made = self.since.get(self.key(blob))
        if not made:
            return None
        if len(made) == 1:
            return made[0][2]
        if all(value <= moment for _, _, since in made for value in since):
            # None of them can move a change made at ``moment``: no need to ask Git which it is.
            return tuple(max(since[n] for _, _, since in made) for n in range(len(TRACKED)))
        ours = [maker for maker in made if parent is not None and self._descends(parent, maker[1])]
        return max(ours)[2] if ours else None

    def _descends(self, commit: str, ancestor: str) -> bool:
        known = self.descends.get((commit, ancestor))
        if known is None:
            known = self.descends[commit, ancestor] = git.run_result(
                self.repo, "merge-base", "--is-ancestor", ancestor, commit).returncode == 0
        return known

    def moment(self, commit: _Commit, commit_id: int,
               olds: Sequence[tuple[str | None, str | None, Ticket | str | None]],
               new_blob: str | None, new: Ticket | str | None) -> int:
        """The time a commit's change of one ticket counts at, from the versions it changed
        (blob, parent commit, version); remembers its new version's."""
        moment = commit.time
        values = [changes.show(new.field_value(name)) for name in TRACKED] if isinstance(new, Ticket) else None
        # (since, values) of each version it changed that is readable and known
        known = [(since, [changes.show(old.field_value(name)) for name in TRACKED]) for blob, parent, old in olds
                 if values is not None and blob and isinstance(old, Ticket)
                 and (since := self._since(blob, parent, commit.time)) is not None]
        for since, was in known:
            moment = max([moment, *(since[n] for n, value in enumerate(values or ()) if was[n] != value)])
        if new_blob is not None:
            # a value the new version shares with a version it changed has been there since then
            kept = tuple(max([since[n] for since, was in known if was[n] == value], default=moment)
                         for n, value in enumerate(values or [None] * len(TRACKED)))
            self.since.setdefault(self.key(new_blob), []).append((commit_id, commit.sha, kept))
            self.new.append((self.key(new_blob), commit_id, *kept))
        return moment

    def keep(self, connection: sqlite3.Connection) -> None:
        connection.executemany("INSERT OR IGNORE INTO versions VALUES (?, ?, ?, ?, ?, ?)", self.new)
        self.new = []


def _commit_events(commit: _Commit, commit_id: int, versions: _Versions,
                   producers: _Producers) -> list[tuple[Any, ...]]:
    rows: list[tuple[Any, ...]] = []
    seq = 0
    paths = set().union(*commit.diffs.values()) if commit.diffs else set()
    for path in sorted(paths):
        ticket_id = _ticket_id(path)
        if not path.endswith(".md"):
            continue
        is_merge = len(commit.parents) > 1
        if is_merge and not all(path in diff for diff in commit.diffs.values()):
            continue  # the merge took this file from one side as it was
        pairs = [diff[path] for diff in commit.diffs.values() if path in diff]
        new_sha = pairs[0][1]
        new = versions.get(new_sha)
        olds = [(diff[path][0], commit.parents[index] if index < len(commit.parents) else None,
                 versions.get(diff[path][0])) for index, diff in commit.diffs.items() if path in diff]
        moment = producers.moment(commit, commit_id, olds, new_sha, new)
        found: list[tuple[str, str | None, str | None, str | None, str | None, str | None]]
        if new is None:
            found = [("deleted", None, None, None, None, None)]
        elif isinstance(new, str):
            found = [("unreadable", None, None, None, None, new)]
        elif is_merge:
            found = list(_merge_events([o if isinstance(o, Ticket) else None for _, _, o in olds], new))
        else:
            old = versions.get(pairs[0][0])
            found = list(_events_between(old if isinstance(old, Ticket) else None, new))
        for kind, field, before, after, who, detail in found:
            rows.append((commit.sha, ticket_id, seq, moment, kind, field, before, after, who, detail))
            seq += 1
    return rows


def _update_reachable(repo: git.Repo, connection: sqlite3.Connection, head: str) -> None:
    tip = db.get_meta(connection, "reach_tip")
    if tip == head:
        return
    incremental = tip is not None and git.run_result(repo, "merge-base", "--is-ancestor", tip, head).returncode == 0
    out = git.run(repo, "rev-list", "--topo-order", "--reverse", head,
                  *(["--not", tip] if incremental and tip else []))
    shas = out.decode().split()
    connection.execute("BEGIN IMMEDIATE")
    if not incremental:
        connection.execute("UPDATE commits SET pos = NULL WHERE pos IS NOT NULL")
        connection.execute("DELETE FROM records")
    else:  # the records of tickets these commits changed (or merged) no longer tell their history
        connection.execute("DELETE FROM records WHERE id IN (SELECT e.ticket FROM events e JOIN commits c "
                           "ON c.id = e.commit_id WHERE c.sha IN (SELECT value FROM json_each(?1))"
                           " UNION SELECT ticket FROM overridden WHERE merge_sha IN (SELECT value FROM json_each(?1)))",
                           (json.dumps(shas),))
    db.changed(connection)
    # pos: a topological order, to order events that share a second (commits that touch no
    # ticket are not in the table: they have no events to order)
    start = connection.execute("SELECT COALESCE(MAX(pos), 0) FROM commits").fetchone()[0] + 1
    connection.executemany("UPDATE commits SET pos = ? WHERE sha = ? AND pos IS NULL",
                           [(start + index, sha) for index, sha in enumerate(shas)])
    db.set_meta(connection, "reach_tip", head)
    connection.execute("COMMIT")


def refresh(desk: Desk, connection: sqlite3.Connection) -> str | None:
    """Bring the cache up to date with HEAD; returns HEAD (None before the first commit)."""
    _, head = git.head(desk.repo)
    if head is None:
        return None
    boundary = git.shallow_boundary(desk.repo)
    if (db.get_meta(connection, "shallow") or "") != boundary:
        # Deepened or unshallowed (or cut): what was read of the old history is not the history.
        connection.execute("BEGIN IMMEDIATE")
        for table in ("events", "commits", "scanned_tips", "records", "overridden", "versions"):
            connection.execute(f"DELETE FROM {table}")
        db.changed(connection)
        connection.execute("DELETE FROM meta WHERE key IN ('reach_tip', 'scan_head')")
        db.set_meta(connection, "shallow", boundary)
        connection.execute("COMMIT")
    if _scanned(connection, head):
        return head
    # A first scan takes a while: one process does it while others wait, then find it done.
    with db.building(desk, "history"):
        if not _scanned(connection, head):
            _scan(desk.repo, connection, head, [desk.prefix], desk.progress)
            _update_reachable(desk.repo, connection, head)
            db.set_meta(connection, "scan_head", head)
    return head


def ever_read(connection: sqlite3.Connection) -> bool:
    """Whether this cache has read the history before (so bringing it up to date is a step,
    not the first scan, which at 100,000 commits takes minutes)."""
    return db.get_meta(connection, "scan_head") is not None


def _scanned(connection: sqlite3.Connection, head: str) -> bool:
    return db.get_meta(connection, "reach_tip") == head and db.get_meta(connection, "scan_head") == head


# --- reading -------------------------------------------------------------------------


def _who_resolver(desk: Desk) -> Any:
    """who(actor, email, author): the actor trailer, else the person with the author's
    email (looked up once per email), else the author's name."""
    handles: dict[str, str | None] = {}

    def who(actor: str | None, email: str, author: str) -> str:
        if actor:
            return actor
        if email not in handles:
            person = desk.config.person(email)
            handles[email] = person.handle if person is not None else None
        return handles[email] or author

    return who


def _dropped_by(dropped: dict[tuple[str, str, str], str], row: tuple[Any, ...]) -> str | None:
    """The merge that threw this event's change away: a field's value, or an entry it added."""
    if row[4] == "field":
        return dropped.get((row[0], row[1], row[5]))
    if row[4] == "entry":
        return dropped.get((row[0], row[1], merges.entry_key(row[5], row[8] or "", row[7])))
    return None


# "resolve GD-01…: title": the ticket a gitdesk commit is about (a commit of several names one).
_SUBJECT_TICKET = re.compile(r"[a-z-]+ ([A-Za-z0-9]+-[0-9A-Z]+): ")


def _entries_from_rows(desk: Desk, rows: Iterable[tuple[Any, ...]],
                       dropped: dict[tuple[str, str, str], str]) -> list[LogEntry]:
    who_of = _who_resolver(desk)
    requesters: dict[str, str] = {}
    grouped: dict[tuple[str, str], list[tuple[Any, ...]]] = {}
    for row in rows:
        grouped.setdefault((row[0], row[1]), []).append(row)
    result = []
    last: dict[str, str] = {}  # each ticket's last event kind so far: a file read again is not created again
    for (commit, ticket), items in grouped.items():
        first = items[0]
        events = tuple(Event(row[0], row[1], row[2], datetime.fromtimestamp(row[3], timezone.utc), row[4], row[5],
                             row[6], row[7], row[8], row[9],
                             _dropped_by(dropped, row))
                       for row in items)
        who = who_of(first[11], first[12], first[10])
        action = (first[13] or "edit").split(",")[0].strip().split(" ")[0]
        if action == "intake" and not first[11]:  # the mail's sender acted, not whoever ran intake
            who = _sender(desk, ticket, events, requesters) or who
        said = []
        for event in events:
            before = last.get(ticket)
            if event.kind == "new" and before in ("unreadable", "deleted"):
                said.append(f"{'readable again' if before == 'unreadable' else 'restored'} ({event.after})")
            else:
                said.append(event.describe())
            last[ticket] = event.kind
        subject = _SUBJECT_TICKET.match(first[14] or "")
        result.append(LogEntry(commit, events[0].time, who, first[10], action, ticket, tuple(said), events,
                               side_effect=subject is not None and subject.group(1) != ticket))
    return result


def _sender(desk: Desk, ticket: str, events: Sequence[Event], requesters: dict[str, str]) -> str | None:
    """Who wrote the mail an intake commit took in for ``ticket``: the author of the entry it
    added (a reply, a reopening), else, for a ticket it opened, its requester (as the person
    config knows them by, if any). ``requesters`` is filled from the index once."""
    said = next((event.who for event in events if event.kind == "entry" and event.who
                 and event.who not in (MAIL_SYSTEM, RULES_AUTHOR)), None)
    if said is None and any(event.kind == "new" for event in events):
        if not requesters:
            # The requester it was opened with: before its first change (the audit log keeps
            # each), else the one it has now.
            with db.connect(desk) as connection:
                requesters.update((str(row[0]), str(row[1])) for row in connection.execute(
                    "SELECT id, json_extract(front, '$.requester') FROM tickets WHERE id IS NOT NULL "
                    "AND json_extract(front, '$.requester') IS NOT NULL"))
                changed = connection.execute(
                    "SELECT e.ticket, e.before FROM events e JOIN commits c ON c.id = e.commit_id AND c.pos "
                    "IS NOT NULL WHERE e.kind = 'field' AND e.field = 'requester' ORDER BY e.time DESC, "
                    "c.pos DESC, e.seq DESC").fetchall()
                requesters.update((str(row[0]), str(row[1])) for row in changed if row[1])  # the earliest last
            requesters.setdefault("", "")  # read once, even when no ticket has a requester
        said = requesters.get(ticket)
    if not said:
        return None
    person = desk.config.person(said)
    return person.handle if person is not None else said


# Events of commits reachable from HEAD now, and the order they happened in (a topological
# position breaks ties within a second).
_REACHABLE = " FROM events e JOIN commits c ON c.id = e.commit_id AND c.pos IS NOT NULL"
_IN_ORDER = " ORDER BY e.time, c.pos, e.seq"
_SELECT = ("SELECT c.sha, e.ticket, e.seq, e.time, e.kind, e.field, e.before, e.after, e.who, e.detail,"
           " c.author, c.actor, c.email, c.verb, c.subject" + _REACHABLE)


def _dropped(connection: sqlite3.Connection) -> dict[tuple[str, str, str], str]:
    """(commit, ticket, field) -> the reachable merge that threw that change away. A merge whose
    own choice a later merge threw away (criss-cross merges settled both ways) throws nothing
    away: what the later merge kept stands."""
    by: dict[tuple[str, str, str], list[str]] = {}
    for commit, ticket, name, merge in connection.execute(
            "SELECT o.commit_sha, o.ticket, o.field, o.merge_sha FROM overridden o JOIN commits m"
            " ON m.sha = o.merge_sha AND m.pos IS NOT NULL"):
        by.setdefault((commit, ticket, name), []).append(merge)
    standing: dict[tuple[str, str, str], str | None] = {}

    def dropping(key: tuple[str, str, str]) -> str | None:
        """The merge that throws this change away, if one does that nothing threw away itself."""
        if key not in standing:
            standing[key] = None  # a merge descends from what it drops: this never comes back to ``key``
            standing[key] = next((merge for merge in by.get(key, ()) if dropping((merge, key[1], key[2])) is None),
                                 None)
        return standing[key]

    return {key: merge for key in by if (merge := dropping(key)) is not None}


def ticket_log(desk: Desk, ticket_id: str) -> list[LogEntry]:
    with db.connect(desk) as connection:
        refresh(desk, connection)
        rows = connection.execute(_SELECT + " WHERE e.ticket = ?" + _IN_ORDER,
                                  (ticket_id,)).fetchall()
        dropped = _dropped(connection)
    return _entries_from_rows(desk, rows, dropped)


@dataclass(frozen=True, slots=True)
class LogFilter:
    since: datetime | None = None
    until: datetime | None = None
    author: str | None = None
    action: str | None = None


def desk_log(desk: Desk, filters: LogFilter) -> list[LogEntry]:
    clauses, params = [], []
    if filters.since:
        clauses.append("e.time >= ?")
        params.append(int(filters.since.timestamp()))
    if filters.until:
        clauses.append("e.time < ?")
        params.append(int(filters.until.timestamp()))
    where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
    with db.connect(desk) as connection:
        refresh(desk, connection)
        rows = connection.execute(_SELECT + where + _IN_ORDER, params).fetchall()
        dropped = _dropped(connection)
    entries = _entries_from_rows(desk, rows, dropped)
    if filters.author:
        wanted = address_key(filters.author)
        person = desk.config.person(filters.author)
        names = {wanted} | ({address_key(person.handle), address_key(person.email or ""),
                             *map(address_key, person.former_emails)} if person else set())
        # Or an entry they wrote. Mail intake acts for the mail's sender (WHO), not for whoever ran it,
        # the commit's author: their intake rounds are not their changes.
        entries = [e for e in entries if address_key(e.who) in names
                   or (address_key(e.author) in names and e.action != "intake")
                   or any(event.kind == "entry" and address_key(event.who or "") in names for event in e.events)]
    if filters.action:
        wanted = filters.action.casefold()
        done = desk.config.done_statuses
        entries = [e for e in entries if _does(e, wanted, done)]
    return entries


def log_actions(desk: Desk) -> set[str]:
    """Every word ``--action`` matches in this desk's log: commit verbs, entry kinds and
    changed fields, and the verbs a hand-made change can amount to (cheap: distinct values)."""
    with db.connect(desk) as connection:
        refresh(desk, connection)
        verbs = connection.execute("SELECT DISTINCT verb FROM commits WHERE pos IS NOT NULL").fetchall()
        kinds = connection.execute("SELECT DISTINCT kind, field FROM events").fetchall()
    words = {(verb or "edit").split(",")[0].strip().split(" ")[0].casefold() for (verb,) in verbs}
    words |= {str(word).casefold() for row in kinds for word in row if word}
    return words | set(_MOVES_INTO) | {"reopen"} | set(ENTRY_KINDS) | set(KNOWN_FIELDS)


# The status a verb moves a ticket into: a hand-made commit that does the same is that action too
# (reports count it, so the log must list it).
_MOVES_INTO = {"resolve": workflow.RESOLVED, "close": workflow.CLOSED, "reject": workflow.REJECTED,
               "ask": workflow.PENDING}


def _does(entry: LogEntry, wanted: str, done: frozenset[str]) -> bool:
    """Whether a log entry is the action ``wanted``: by its commit's verb (on the ticket it was
    about, not one it touched on the way), or by what it changed."""
    if entry.action.casefold() == wanted and not entry.side_effect:
        return True
    for event in entry.events:
        if wanted in (event.kind, (event.field or "").casefold()):
            return True
        if event.kind == "field" and event.field == "status":
            if _MOVES_INTO.get(wanted) == event.after and (wanted == "ask" or event.before not in done) \
                    and entry.action != "duplicate":  # reports count a duplicate as noise, not a resolution
                return True  # a finish counts as reports count it: from an unfinished status
            if wanted == "reopen" and event.before in done and event.after not in done:
                return True
    return False


_FETCH_ALL = "run git fetch --unshallow"
_UNSHALLOW = f"{_FETCH_ALL}; in CI check out with fetch-depth: 0 (GitHub) or GIT_DEPTH: 0 (GitLab)"


def require_full(desk: Desk, needs: str = "reports need") -> None:
    """Refuse to compute figures from a shallow clone: its history starts at the cut, so every
    ticket would look created, resolved or changed there (and reports silently wrong)."""
    if git.is_shallow(desk.repo):
        raise ShallowHistory(f"this clone is shallow: {needs} the whole history", hint=_UNSHALLOW)


def cut_short(desk: Desk) -> str | None:
    """What to tell someone reading one ticket's times on a shallow clone (shown, not refused:
    the ticket itself is right), or None on a whole history. A file read, no Git process."""
    if not git.shallow_boundary(desk.repo):
        return None
    return ("this clone is shallow: times read from the history (first response, resolution, waiting) "
            f"start where it was cut ({_FETCH_ALL})")


_TRACKED_SELECT = ("SELECT e.ticket, e.time, e.kind, e.field, e.before, e.after, c.actor, c.email, c.author, c.id"
                   + _REACHABLE)

def tracked_changes(desk: Desk, ticket_ids: Sequence[str] | None = None) -> dict[str, list[Change]]:
    """Each ticket's tracked fields over time (status, priority, queue, assignee), oldest
    first, from the audit log: a new ticket's first status, then every change with who made it.
    One pass over the cache."""
    fields = ",".join(f"'{name}'" for name in TRACKED)
    query = _TRACKED_SELECT + f" WHERE (e.kind = 'new' OR (e.kind = 'field' AND e.field IN ({fields})))"
    with db.connect(desk) as connection:
        refresh(desk, connection)
        if ticket_ids is None:
            rows = connection.execute(query + _IN_ORDER).fetchall()
        else:
            # One parameter, however many tickets (a listing passes thousands): a JSON array.
            rows = connection.execute(query + " AND e.ticket IN (SELECT value FROM json_each(?))" + _IN_ORDER,
                                      (json.dumps(list(ticket_ids)),)).fetchall()
        dropped = _dropped(connection)
        ids = dict(connection.execute("SELECT sha, id FROM commits WHERE sha IN (SELECT value FROM json_each(?))",
                                      (json.dumps(sorted({commit for commit, _, _ in dropped})),))) if dropped else {}
        overridden = {(ids[commit], ticket, name) for commit, ticket, name in dropped if commit in ids}
    # A report reads every change of the desk (100,000 and more): one loop, each moment and
    # each person made once.
    found: dict[str, list[Change]] = {}
    who_of = _who_resolver(desk)
    moments: dict[int, datetime] = {}
    fromtimestamp, utc = datetime.fromtimestamp, timezone.utc
    for ticket, stamp, kind, name, before, after, actor, email, author, commit in rows:
        if overridden and kind == "field" and (commit, ticket, name) in overridden:
            continue  # a change a merge threw away (a ticket's creation never is)
        at = moments.get(stamp)
        if at is None:
            at = moments[stamp] = fromtimestamp(stamp, utc)
        who = who_of(actor, email, author)
        if kind == "new":
            change = Change(at, "status", None, after, who)
        else:
            change = Change(at, name, _value(before), _value(after), who)
        listed = found.get(ticket)
        if listed is None:
            found[ticket] = [change]
        else:
            listed.append(change)
    return found


def _value(shown: str | None) -> str | None:
    """A field's value as the log shows it (changes.show writes nothing as '-' or '')."""
    return None if shown in (None, "", "-") else shown


def timings(desk: Desk, tickets: Sequence[Ticket], now: datetime) -> dict[str, Timings]:
    """Timings of many tickets, with one read of the audit log."""
    found = tracked_changes(desk, [ticket.id for ticket in tickets])
    return {ticket.id: Clocks(desk.config, ticket, found.get(ticket.id, ())).timings(now) for ticket in tickets}


def record(entry: LogEntry) -> dict[str, object]:
    """A log entry as scripts see it (``gitdesk log --format json``)."""
    return {"commit": entry.commit, "time": entry.time.strftime("%Y-%m-%dT%H:%M:%SZ"), "who": entry.who,
            "author": entry.author, "action": entry.action, "ticket": entry.ticket, "changes": list(entry.changes)}


def finished_by_a_rule(desk: Desk, ticket: Ticket) -> bool:
    """Whether the last time ``ticket`` entered a finished status a rule did it: a rule's
    ``resolve:`` closes for want of an answer, and its words solve nobody's problem (who
    waits for it is not told it is solved; a new duplicate of it waits too)."""
    if not workflow.is_done(desk.config, ticket.status):
        return False
    finishes = Clocks(desk.config, ticket, tracked_changes(desk, [ticket.id]).get(ticket.id, ())).finishes()
    return bool(finishes) and finishes[-1][2] == RULES_AUTHOR
