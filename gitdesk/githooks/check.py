"""``gitdesk check``: the same rules as the CLI, for what is staged or pushed.

A check reads Git objects (the index, or commits), never the work tree, so
the pre-commit hook judges exactly what is being committed and CI judges
exactly what was pushed. Each ticket file is judged against its previous
committed version (for status moves and immutable fields) and against the
desk's config as it is in the same snapshot. Every finding is reported, not
only the first. The cost is proportional to what changed: IDs are file
names, so a duplicate ID can only enter through a file whose name does not
match its id, and that is one lookup.
"""

from __future__ import annotations

import re
import shlex
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from gitdesk import changes, clock, git, ids, paths, templates, ticketfile, workflow
from gitdesk.config import parse_config
from gitdesk.desk import Progress, quiet
from gitdesk.errors import GitdeskError
from gitdesk.model import Config, Ticket
from gitdesk.paths import CONFIG_PATH
from gitdesk.templates import MAIL_TEMPLATES, REPLIES, RULES_PATH
from gitdesk.text import one_line
from gitdesk.ticketfile import MAX_TICKET_BYTES

TICKETS = paths.TICKETS + "/"
REGULAR = ("100644", "100755")
ZERO_MODE = "000000"


@dataclass(frozen=True, slots=True)
class Finding:
    path: str
    message: str
    line: int | None = None
    hint: str | None = None
    commit: str | None = None

    def __str__(self) -> str:
        where = self.path + (f":{self.line}" if self.line is not None else "")
        text = f"{where}: {self.message}" + (f" ({self.hint})" if self.hint else "")
        if self.commit:
            text += f" [in commit {self.commit[:10]}]"
        return one_line(text)

    def as_dict(self) -> dict[str, object]:
        return {"path": self.path, "line": self.line, "message": self.message, "hint": self.hint,
                "commit": self.commit}


def what_was_found(findings: Iterable[Finding]) -> str:
    """What findings are about, for a summary line: 'tickets', 'config', 'tickets and config'…"""
    kinds: dict[str, None] = {}
    for finding in findings:
        path = "/" + finding.path
        if path.endswith("/" + CONFIG_PATH):
            kinds["config"] = None
        elif f"/{MAIL_TEMPLATES}/" in path or f"/{REPLIES}/" in path:
            kinds["templates"] = None
        elif any(f"/{folder}/" in path or path.endswith(f"/{folder}") for folder in _LINKS_ONLY):
            kinds["files the desk writes"] = None
        else:
            kinds["tickets"] = None
    names = list(kinds) or ["tickets"]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _finding(error: GitdeskError, path: str, commit: str | None) -> Finding:
    return Finding(path, error.message, error.line, error.hint, commit)


@dataclass
class Snapshot:
    """One state of the repository to judge: the index, or a commit."""

    repo: git.Repo
    prefix: str  # the desk's folder inside the repository, '' or 'support/'
    label: str | None  # the commit, for messages; None for the index
    entries: Callable[[Sequence[str]], list[tuple[str, str, str]]]
    _config: tuple[Config | None, Finding | None] | None = field(default=None)
    _tickets: frozenset[str] | None = field(default=None)
    config_entries: list[tuple[str, str, str]] | None = None  # the config's, when the caller has read them

    def config(self) -> tuple[Config | None, Finding | None]:
        if self._config is None:
            path = self.prefix + CONFIG_PATH
            found = self.config_entries if self.config_entries is not None else self.entries([path])
            if not found:
                self._config = (None, Finding(path, "the desk's config is missing",
                                              hint="restore .gitdesk/config.yml", commit=self.label))
            else:
                config, problem = _parsed_config(self.repo, path, found[0][1])
                self._config = (config, None if problem is None else _finding(problem, path, self.label))
        return self._config

    def has(self, path: str) -> bool:
        return bool(self.entries([path]))

    def has_ticket(self, ticket_id: str) -> bool:
        """Whether the desk holds a ticket file for ``ticket_id``: one listing of tickets/ a
        snapshot, however many links a check of every ticket follows."""
        if self._tickets is None:
            self._tickets = frozenset(path for _, _, path in self.entries([self.prefix + TICKETS]))
        return f"{self.prefix}{TICKETS}{ticket_id}.md" in self._tickets


# A range of thousands of commits (an import's) holds a few versions of the config: each is read
# and parsed once (it was two Git processes and 7 ms of parsing a commit).
_CONFIGS: dict[tuple[str, str], tuple[Config | None, GitdeskError | None]] = {}


def _parsed_config(repo: git.Repo, path: str, blob: str) -> tuple[Config | None, GitdeskError | None]:
    key = (path, blob)
    if key not in _CONFIGS:
        data = git.read_blobs(repo, [blob]).get(blob, b"")
        try:
            _CONFIGS[key] = (parse_config(data.decode("utf-8"), path), None)
        except UnicodeDecodeError:
            _CONFIGS[key] = (None, GitdeskError("not valid UTF-8"))
        except GitdeskError as error:
            _CONFIGS[key] = (None, error)
    return _CONFIGS[key]


def desk_prefixes(repo: git.Repo, treeish: str | None) -> list[str]:
    """Folders holding a desk (``.gitdesk/config.yml``) in the index or a commit.

    A desk at the top is found with one lookup; only a repository without one
    is searched for desks in subfolders.
    """
    if treeish is None:
        paths = [path for _, _, path in git.index_entries(repo, [CONFIG_PATH, f":(glob)**/{CONFIG_PATH}"])]
        return sorted({path[: -len(CONFIG_PATH)] for path in paths})
    return sorted(_desk_configs(repo, treeish))


def _desk_configs(repo: git.Repo, commit: str) -> dict[str, list[tuple[str, str, str]]]:
    """Each desk's folder in a commit, with its config's tree entry (as ``Snapshot`` reads it)."""
    found = git.tree_entries(repo, commit, [CONFIG_PATH])
    if found:
        return {"": found}
    paths = [path for path in git.tree_paths(repo, commit) if path.endswith("/" + CONFIG_PATH)]
    entries = {path: (mode, sha, path) for mode, sha, path in (git.tree_entries(repo, commit, paths) if paths else [])}
    return {path[: -len(CONFIG_PATH)]: [entries[path]] if path in entries else [] for path in paths}


# --- judging one file -------------------------------------------------------------

# Where gitdesk reads and writes files (.gitdesk, tickets/, attachments/, outbox/, sent/, undeliverable/, feedback/,
# kb/). In those it only writes into, check looks for links alone: their contents are no business
# of its (kb/ is rebuilt from the tickets, its README a team's own); kb build refuses a link there.
_LINKS_ONLY = frozenset({"attachments", "outbox", "sent", "undeliverable", "feedback", "kb"})
_WRITTEN_FOLDERS = frozenset({".gitdesk", TICKETS.rstrip("/"), *_LINKS_ONLY})


def _links_only(relative: str) -> bool:
    """Whether a path in the desk lies where check judges links alone (its bytes never read)."""
    return relative.split("/", 1)[0] in _LINKS_ONLY


def judge(snapshot: Snapshot, change: git.RawChange, old_bytes: bytes | None,
          new_bytes: bytes | None, moves: Moves | None = None) -> list[Finding]:
    """Everything wrong with one changed path in a snapshot. ``moves``: the ticket files the
    same change deletes, and (filled in here) those another file of it turns out to be."""
    path, commit = change.path, snapshot.label
    relative = path[len(snapshot.prefix):]
    if change.status == "U":  # before its mode: an unmerged entry has none
        return [Finding(path, "has an unresolved merge conflict", commit=commit,
                        hint="resolve it and git add the file")]
    if change.new_mode == "120000" and relative.split("/", 1)[0] in _WRITTEN_FOLDERS \
            and not relative.startswith(TICKETS):  # a link among the tickets is said below
        # gitdesk refuses to read or write through it (a link committed here points outside the
        # repository): an attachment taken in later would be dropped, every time, with a note
        return [Finding(path, "is a symbolic link; gitdesk never follows links", commit=commit,
                        hint=f"replace the link with a real file or folder: git rm {shlex.quote(path)}")]
    if _links_only(relative):
        return []
    if relative == CONFIG_PATH:
        if change.status == "D":
            return [Finding(path, "the desk's config was deleted", hint="restore .gitdesk/config.yml",
                            commit=commit)]
        problem = snapshot.config()[1]
        if problem:
            return [problem]
        return _still_used(snapshot, path, old_bytes) if old_bytes else []
    if relative.startswith((MAIL_TEMPLATES + "/", REPLIES + "/")):
        return _judge_text_file(relative, path, commit, change, new_bytes)
    if relative == RULES_PATH:
        return _judge_rules(snapshot, path, commit, change, new_bytes)
    if path.rsplit("/", 1)[-1] == ".gitattributes":
        return _judge_attributes(snapshot, path, commit, change, new_bytes)
    if not relative.startswith(TICKETS):
        return []
    name = relative[len(TICKETS):]
    config = snapshot.config()[0]
    prefix = config.id_prefix if config else "GD"
    if change.status == "D":
        if moves is not None and path in moves.renamed:
            return []  # the file it became says the one fix: move it back
        return [Finding(path, "a ticket file was deleted", commit=commit,
                        hint="tickets are kept forever: restore it, then close or reject it")]
    if name.startswith(".") and "/" not in name:
        if _TEMP_COPY.fullmatch(name) and change.status != "D":  # what a killed gitdesk command left
            return [Finding(path, "is a temp file a killed gitdesk command left, not a ticket", commit=commit,
                            hint=f"delete it and take it out of the commit: rm {path}; git rm --cached {path}")]
        return []  # .gitkeep and friends
    if change.new_mode == "120000":
        return [Finding(path, "is a symbolic link; tickets/ holds only ticket files", commit=commit,
                        hint="replace the link with the ticket file itself")]
    if change.new_mode not in REGULAR:
        return [Finding(path, "is not a regular file", commit=commit)]
    if new_bytes is not None and len(new_bytes) > MAX_TICKET_BYTES:
        return [Finding(path, f"is {len(new_bytes) // 1024 // 1024} MB; a ticket file holds at most "
                              f"{MAX_TICKET_BYTES // 1024 // 1024} MB", commit=commit,
                        hint="move large text into an attachment (attachments/<ID>/)")]
    stem = name[:-3] if name.endswith(".md") else name
    not_ticket = Finding(path, "is not a ticket file", commit=commit,
                         hint="tickets/ holds only <ID>.md ticket files; move it elsewhere")
    if "/" in name and ids.is_valid(name.rsplit("/", 1)[-1].removesuffix(".md"), prefix):
        return [Finding(path, "is a ticket file in a folder of tickets/", commit=commit,
                        hint=f"move it back: git mv {path} {snapshot.prefix}{TICKETS}{name.rsplit('/', 1)[-1]}")]
    if "/" in name or not name.endswith(".md"):
        return [not_ticket]
    if not ids.is_valid(stem, prefix) and not (new_bytes or b"").startswith(b"---"):
        return [not_ticket]
    findings: list[Finding] = []
    try:
        new, document = ticketfile.parse_bytes(new_bytes or b"", path)
    except GitdeskError as error:
        return [_finding(error, path, commit)]
    lines = {key: span.line for key, span in document.front.spans.items()}
    if document.open_fence_line is not None:
        findings.append(Finding(path, "a code block (```) opened here is never closed", document.open_fence_line,
                                hint="close it, or the sections after it are read as code", commit=commit))
    findings += [_finding(problem, path, commit) for problem in ticketfile.misplaced_entries(document)]
    findings += [Finding(path, "looks like a conversation entry heading but is not one", line,
                         hint="write it as '### 2026-11-20T09:40:00Z alice — reply' (UTC time, em dash)",
                         commit=commit) for line in document.odd_headings]
    old: Ticket | None = None
    if old_bytes is not None:
        try:
            old = ticketfile.parse_bytes(old_bytes, path)[0]
        except GitdeskError:
            old = None  # the previous version was broken: judge the new one on its own
    renamed = old is not None and old.id == stem and ids.is_valid(stem, prefix)
    origin = f"{snapshot.prefix}{TICKETS}{new.id}.md"
    if new.id != stem and not renamed and moves is not None and origin in moves.deleted and old is None:
        moves.renamed.add(origin)  # a ticket file renamed: one finding, not "deleted" and "set id" too
        findings.append(Finding(path, f"is tickets/{new.id}.md renamed; a ticket file is named by its id",
                                lines.get("id"), hint=f"move it back: git mv {path} {origin}", commit=commit))
    elif new.id != stem and not renamed:  # an id changed in the file: "id cannot change" says the one fix
        id_line = lines.get("id")
        if ids.is_valid(new.id, prefix) and snapshot.has(origin):
            findings.append(Finding(path, f"duplicate id {new.id}: tickets/{new.id}.md has it too",
                                    id_line, hint="give this ticket a new id and file name with gitdesk new",
                                    commit=commit))
        else:
            fix = f"rename the file to tickets/{new.id}.md" + (f" or set id: {stem}" if ids.is_valid(stem, prefix)
                                                                else "")
            findings.append(Finding(path, f"file name does not match its id {new.id}", id_line, hint=fix,
                                    commit=commit))
    elif not ids.is_valid(stem, prefix):
        findings.append(Finding(path, f"{stem!r} is not a ticket ID of this desk", lines.get("id"),
                                hint=f"IDs look like {prefix}-01JD8X4KQ7M3ZP2C4X", commit=commit))
    if config is None:
        return findings  # the broken config is reported once, on itself
    findings += [_finding(problem_, path, commit)
                 for problem_ in workflow.change_findings(config, old, new, path, lines)]
    if old is not None:
        findings += [_finding(problem_, path, commit) for problem_ in changes.mailed_removed(
            old, new, lambda folders: [name for _, _, name in snapshot.entries(folders)], snapshot.prefix, path)]
    return findings + _unknown_links(snapshot, path, old, new, lines, prefix)


def _unknown_links(snapshot: Snapshot, path: str, old: Ticket | None, new: Ticket, lines: dict[str, int],
                   prefix: str) -> list[Finding]:
    """A ``duplicate_of`` or ``related`` this change writes that names the ticket itself or no
    ticket of the desk: a duplicate would send its requester to an answer nowhere, and the
    knowledge base would count it for nothing. Links already there stand (the other ticket
    may be in a branch not merged yet)."""
    findings: list[Finding] = []
    for name, values, before in (("duplicate_of", [new.duplicate_of] if new.duplicate_of else [],
                                  {old.duplicate_of} if old and old.duplicate_of else set()),
                                 ("related", list(new.related), set(old.related) if old else set())):
        for value in values:
            if value in before or not ids.is_valid(value, prefix):  # a malformed one is said once, by the workflow
                continue
            if value == new.id:
                findings.append(Finding(path, f"{name}: the ticket names itself", lines.get(name),
                                        hint=f"remove the {name} line, or name another ticket", commit=snapshot.label))
            elif not snapshot.has_ticket(value):
                findings.append(Finding(path, f"{name}: {value} is no ticket of this desk", lines.get(name),
                                        hint=f"name a ticket from gitdesk list (gitdesk link {new.id} "
                                             f"--{name.replace('_', '-')} OTHER), or remove it",
                                        commit=snapshot.label))
    return findings


def _still_used(snapshot: Snapshot, path: str, old_bytes: bytes) -> list[Finding]:
    """A config that drops a status, queue, person, category or priority tickets still have,
    in the snapshot judged (the index, or a commit): every command on those tickets would be
    refused after it, so the change is refused first, naming them."""
    new = snapshot.config()[0]
    try:
        old = parse_config(old_bytes.decode("utf-8"), path)
    except (GitdeskError, UnicodeDecodeError):
        return []  # it was broken before: nothing was in use by its names
    if new is None:
        return []
    gone_people = sorted(set(old.people) - set(new.people))
    dropped = {"status": sorted(set(old.statuses) - set(new.statuses)),
               "queue": sorted(set(old.queues) - set(new.queues)),
               "assignee": gone_people, "requester": gone_people,  # a person without an email is a handle
               "category": sorted(set(old.categories) - set(new.categories)) if new.categories else [],
               "priority": sorted(set(old.priorities) - set(new.priorities))}
    fixes = {"status": "gitdesk set ID status NAME", "queue": "gitdesk set ID queue NAME",
             "assignee": "gitdesk assign ID HANDLE (a person who left stays listed, with away: true)",
             "requester": "gitdesk set ID requester ADDRESS (or keep them listed, with away: true)",
             "category": "gitdesk set ID category NAME", "priority": "gitdesk set ID priority NAME"}
    findings: list[Finding] = []
    for name, values in dropped.items():
        for value in values:
            holders = _tickets_with(snapshot, name, value)
            if not holders:
                continue
            shown = ", ".join(holders[:3]) + (f" and {len(holders) - 3} more" if len(holders) > 3 else "")
            what = {"assignee": "person", "requester": "person"}.get(name, name)
            role = {"assignee": " (as assignee)", "requester": " (as requester)"}.get(name, "")
            findings.append(Finding(path, f"removes {what} {value!r}, which {len(holders)} "
                                          f"{'ticket still has' if len(holders) == 1 else 'tickets still have'}"
                                          f"{role} ({shown})", hint=f"move them first with {fixes[name]}, or keep it",
                                    commit=snapshot.label))
    for handle in gone_people:  # past work is counted by the handle an entry names
        holders = _tickets_with(snapshot, "", handle, authored=True)
        if holders:
            shown = ", ".join(holders[:3]) + (f" and {len(holders) - 3} more" if len(holders) > 3 else "")
            findings.append(Finding(path, f"removes person {handle!r}, who wrote entries in {len(holders)} "
                                          f"{'ticket' if len(holders) == 1 else 'tickets'} ({shown}): reports "
                                          "would stop counting that work and those first responses",
                                    hint="keep them under people: with away: true; a new handle is a new "
                                         "person (docs/config.md)", commit=snapshot.label))
    findings += _emails_dropped(snapshot, path, old, new)
    return findings


def _emails_dropped(snapshot: Snapshot, path: str, old: Config, new: Config) -> list[Finding]:
    """A person's address changed (a mail domain moved) with the old one kept nowhere: their
    commits and the tickets they asked for name the old one, so reports would stop counting
    that work as theirs. Refused while the history names it, with the one-line fix."""
    findings: list[Finding] = []
    for handle, before in old.people.items():
        if handle not in new.people:
            continue  # a person removed is judged above
        for address in (*((before.email,) if before.email else ()), *before.former_emails):
            kept = new.person(address)
            if kept is not None and kept.handle == handle:
                continue  # kept: as their email or a former one
            asked = _tickets_with(snapshot, "requester", address)
            if not asked and not _authored(snapshot, address):
                continue  # nothing names it yet: a typo put right
            where = f"{len(asked)} {'ticket names' if len(asked) == 1 else 'tickets name'} as requester" \
                if asked else "commits name as author"
            now = f"gives {kept.handle!r} an address of {handle!r}" if kept is not None else \
                f"{'changes the email' if address == before.email else 'drops a former email'} of {handle!r}"
            findings.append(Finding(path, f"{now} ({address}), which {where}: reports would stop counting that "
                                          f"as {handle}'s",
                                    hint=f"an address stays with its person: give {kept.handle} another one"
                                    if kept is not None else
                                    f"keep the old address too: people.{handle}.former_emails: [{address}]",
                                    commit=snapshot.label))
    return findings


def _authored(snapshot: Snapshot, address: str) -> bool:
    """Whether a commit up to the snapshot has ``address`` as its author (the first found is enough)."""
    found = git.run_result(snapshot.repo, "log", "-1", "--format=%h", "-F", "-i", f"--author=<{address}>",
                           snapshot.label or "HEAD", "--")
    return found.returncode == 0 and bool(found.stdout.strip())


def _tickets_with(snapshot: Snapshot, field_name: str, value: str, *, authored: bool = False) -> list[str]:
    """The IDs of the snapshot's ticket files with the front-matter line ``field: value`` (as
    gitdesk writes it, or quoted), or (``authored``) an entry heading by ``value``, by ``git
    grep`` on the index or the commit: fast at 100,000 tickets, and what is judged, never the
    work tree."""
    literal = re.sub(r"([.^$*+?()\[\]{}|\\])", r"\\\1", value)  # as POSIX extended regular expressions read it
    pattern = f"^### [^ ]+ {literal} — " if authored else \
        f"^{field_name}:[[:space:]]*['\"]?{literal}['\"]?[[:space:]]*$"
    where = ["--cached"] if snapshot.label is None else [snapshot.label]
    result = git.run_result(snapshot.repo, "grep", "-l", "-E", "-e", pattern, *where, "--",
                            f"{snapshot.prefix}{TICKETS}*.md")
    if result.returncode not in (0, 1):
        return []  # no grep to ask: check on the tickets reports them after the commit
    names = result.stdout.decode("utf-8", "replace").splitlines()
    return sorted(name.rsplit("/", 1)[-1].removesuffix(".md") for name in names if name.endswith(".md"))


def _judge_text_file(relative: str, path: str, commit: str | None, change: git.RawChange,
                     new_bytes: bytes | None) -> list[Finding]:
    """A mail template or a canned reply: readable, and every placeholder one gitdesk knows."""
    if change.status == "D" or new_bytes is None or not relative.endswith(".md"):
        return []
    if change.new_mode not in REGULAR:
        return [Finding(path, "is not a regular file", commit=commit)]
    try:
        text = new_bytes.decode("utf-8")
    except UnicodeDecodeError:
        return [Finding(path, "not valid UTF-8", commit=commit, hint="re-save the file as UTF-8")]
    name = relative.rsplit("/", 1)[-1][:-3]
    if relative.startswith(MAIL_TEMPLATES + "/"):
        from gitdesk.mail import compose  # here: the mail code and Python's email package cost every hook 25 ms

        if name not in compose.EVENTS:
            return [Finding(path, f"there is no mail event {name!r}", commit=commit,
                            hint=f"mail templates are named: {', '.join(e + '.md' for e in compose.EVENTS)}")]
        return [_finding(problem, path, commit) for problem in compose.template_problems(text, path)]
    try:
        templates.read_canned(text, name, path)
    except GitdeskError as error:
        return [_finding(error, path, commit)]
    return []


# Attributes that change the bytes a ticket file has in the work tree, or how it merges:
# a ticket read through them is not the ticket that was committed.
_RISKY_ATTRIBUTES = ("working-tree-encoding", "encoding", "filter", "ident", "eol", "text", "crlf", "merge")
_SAMPLE_TICKET = "GD-01JD8X4KQ7M3ZP2C4X.md"


def _judge_attributes(snapshot: Snapshot, path: str, commit: str | None, change: git.RawChange,
                      new_bytes: bytes | None) -> list[Finding]:
    """A .gitattributes line that would change how ticket files are checked out or merged
    (every ticket unreadable on a fresh clone, or merged without gitdesk's driver)."""
    if change.status == "D" or new_bytes is None:
        return []
    folder = path[:-len(".gitattributes")]
    sample = f"{snapshot.prefix}{TICKETS}{_SAMPLE_TICKET}"
    if not sample.startswith(folder):
        return []
    inside = sample[len(folder):]
    findings: list[Finding] = []
    for number, raw in enumerate(new_bytes.decode("utf-8", "replace").splitlines(), start=1):
        parts = raw.split()
        if not parts or parts[0].startswith("#") or not _matches(parts[0], inside):
            continue
        for attribute in parts[1:]:
            name, _, value = attribute.lstrip("-!").partition("=")
            if name not in _RISKY_ATTRIBUTES:
                continue
            if name == "merge" and value == "gitdesk" and not attribute.startswith(("-", "!")):
                continue  # gitdesk's own ticket driver
            if name == "text" and not value and not attribute.startswith(("-", "!")):
                continue  # plain "text": line endings normalised in the repository, which tickets already are
            findings.append(Finding(path, f"{attribute} would apply to the ticket files ({parts[0]})", number,
                                    hint="ticket files must reach the work tree as committed, UTF-8 with LF, "
                                         "and merge with merge=gitdesk: leave tickets/ out of this line",
                                    commit=commit))
    return findings


def _matches(pattern: str, path: str) -> bool:
    """Whether a .gitattributes pattern matches ``path`` (relative to the file's folder),
    as Git reads it: without a slash it matches the name in any folder; ``**`` spans folders."""
    if "/" not in pattern.rstrip("/"):
        return re.fullmatch(_glob(pattern), path.rsplit("/", 1)[-1]) is not None
    return re.fullmatch(_glob(pattern.removeprefix("/")), path) is not None


def _glob(pattern: str) -> str:
    out, index = "", 0
    while index < len(pattern):
        if pattern.startswith("**/", index):
            out, index = out + "(?:.*/)?", index + 3
        elif pattern.startswith("/**", index) and index + 3 == len(pattern):
            out, index = out + "/.*", index + 3
        elif pattern[index] == "*":
            out, index = out + "[^/]*", index + 1
        elif pattern[index] == "?":
            out, index = out + "[^/]", index + 1
        else:
            out, index = out + re.escape(pattern[index]), index + 1
    return out


def _judge_rules(snapshot: Snapshot, path: str, commit: str | None, change: git.RawChange,
                 new_bytes: bytes | None) -> list[Finding]:
    """The rules file: readable, and every name in it one the config (and desk) knows."""
    from gitdesk.rules.spec import rule_problems

    if change.status == "D" or new_bytes is None:
        return []
    if change.new_mode not in REGULAR:
        return [Finding(path, "is not a regular file", commit=commit)]
    config = snapshot.config()[0]
    if config is None:
        return []  # the broken config is reported once, on itself
    try:
        text = new_bytes.decode("utf-8")
    except UnicodeDecodeError:
        return [Finding(path, "not valid UTF-8", commit=commit, hint="re-save the file as UTF-8")]
    folder = snapshot.prefix + REPLIES + "/"
    replies = {entry[2][len(folder):-3] for entry in snapshot.entries([folder])
               if entry[2].endswith(".md") and "/" not in entry[2][len(folder):]}
    return [_finding(problem, path, commit) for problem in rule_problems(text, config, replies, path)]


def _wanted_blobs(prefix: str, changes: list[git.RawChange],
                  previous: Callable[[git.RawChange], str | None]) -> list[str]:
    """The blobs judging ``changes`` (of the desk in ``prefix``) reads: their versions, not those
    of files judged for links alone."""
    judged = [change for change in changes if not _links_only(change.path[len(prefix):])]
    return [change.new for change in judged if change.status not in ("D", "U")] + \
        [old for old in map(previous, judged) if old]


def _judge_changes(snapshot: Snapshot, changes: list[git.RawChange],
                   previous: Callable[[git.RawChange], str | None],
                   known: Mapping[str, bytes] | None = None,
                   advance: Callable[[int], None] = lambda amount: None) -> list[Finding]:
    wanted = _wanted_blobs(snapshot.prefix, changes, previous)
    blobs = {sha: known[sha] for sha in wanted if known is not None and sha in known}
    blobs.update(git.read_blobs(snapshot.repo, [sha for sha in wanted if sha not in blobs]))
    moves = Moves({change.path for change in changes if change.status == "D"})
    found: dict[int, list[Finding]] = {}
    # The deletions last: by then each file a deleted one was renamed to has said so.
    for index, change in sorted(enumerate(changes), key=lambda item: item[1].status == "D"):
        old_sha = previous(change)
        old_bytes = blobs.get(old_sha) if old_sha else None
        new_bytes = blobs.get(change.new) if change.status != "D" else None
        found[index] = judge(snapshot, change, old_bytes, new_bytes, moves)
        advance(1)
    return [finding for index in sorted(found) for finding in found[index]]


@dataclass
class Moves:
    deleted: set[str]  # ticket file paths one change deletes
    renamed: set[str] = field(default_factory=set)  # those of them another file of the change is


def _scope(prefix: str, *, links: bool = True) -> list[str]:
    # all of .gitdesk/, not only the files judged: a link in it (to a folder outside) is refused too;
    # the folders gitdesk writes mail and files into, for links (a change lists only what changed:
    # their contents' bytes are never read, see _judge_changes)
    folders = [prefix + folder for folder in sorted(_LINKS_ONLY)] if links else []
    return [prefix + TICKETS, prefix + ".gitdesk", ".gitattributes", prefix + ".gitattributes", *folders]


def _links_where_written(repo: git.Repo, prefix: str) -> list[str]:
    """The links the index holds in the folders gitdesk writes into: one listing, read for
    its modes alone (100,000 sent mails are a fraction of a second), never the work tree
    (a clone with core.symlinks=false checks a link out as a file)."""
    listing = git.run(repo, "ls-files", "-s", "-z", "--", *(prefix + folder for folder in sorted(_LINKS_ONLY)))
    return [record.partition(b"\t")[2].decode("utf-8", "surrogateescape")
            for record in listing.split(b"\0") if record.startswith(b"120000 ")]


# --- the three modes ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Staged:
    """What the index would commit, read once for a hook: the desks in it, and each desk's
    staged change (``git diff-index --cached --raw`` of what check judges, as Git printed it)."""

    prefixes: list[str]
    raw: dict[str, bytes]


def read_staged(repo: git.Repo) -> Staged:
    prefixes = desk_prefixes(repo, None)
    _, commit = git.head(repo) if prefixes else (None, None)
    return Staged(prefixes, {prefix: git.staged_raw(repo, _scope(prefix), commit) for prefix in prefixes})


def check_staged(repo: git.Repo, staged: Staged | None = None) -> list[Finding]:
    """What the index would commit, judged against HEAD."""
    staged = staged or read_staged(repo)
    findings: list[Finding] = []
    for prefix in staged.prefixes:
        snapshot = Snapshot(repo, prefix, None, lambda paths: git.index_entries(repo, paths))
        findings += _judge_changes(snapshot, git.parse_raw(staged.raw[prefix]), _old_of)
    return findings


_TEMP_COPY = re.compile(r"\.[^/]+\.md\.tmp-\d+")  # transaction._temp_copy's names


def _old_of(change: git.RawChange) -> str | None:
    return None if change.status == "A" else change.old_blob


PREFETCH = 400  # commits whose configs, changes and file versions are read at once


def check_commits(repo: git.Repo, commits: Iterable[tuple[str, list[str]]]) -> list[Finding]:
    """Every commit, judged against its parent(s). A merge's file passes a rule if it
    passes against any parent (each side was judged on its own commits)."""
    findings: list[Finding] = []
    listed = list(commits)
    for start in range(0, len(listed), PREFETCH):
        findings += _check_chunk(repo, listed[start:start + PREFETCH])
    return findings


def _check_chunk(repo: git.Repo, commits: list[tuple[str, list[str]]]) -> list[Finding]:
    """A range's commits (an import's are thousands): for those of a desk at the top with one
    parent, the config, the changes and the versions they touch are read by three Git
    processes for all, not three for each."""
    findings: list[Finding] = []
    configs = git.blob_at(repo, list(dict.fromkeys(commit for commit, _ in commits)), CONFIG_PATH)
    once = Counter(commit for commit, _ in commits)
    simple = [(commit, parents[0] if parents else None) for commit, parents in commits
              if len(parents) <= 1 and commit in configs and once[commit] == 1]
    changed = git.changes_of(repo, simple, _scope(""))
    known = git.read_blobs(repo, [sha for changes in changed.values() for sha in _wanted_blobs("", changes, _old_of)])
    for commit, parents in commits:
        desks = ({"": [("100644", configs[commit], CONFIG_PATH)]} if commit in configs
                 else _desk_configs(repo, commit))
        for prefix, config_entries in sorted(desks.items()):
            snapshot = Snapshot(repo, prefix, commit, _entries_at(repo, commit), config_entries=config_entries)
            if len(parents) <= 1:
                changes = changed.get(commit) if prefix == "" and once[commit] == 1 else None
                if changes is None:
                    changes = git.tree_changes(repo, parents[0] if parents else None, commit, _scope(prefix))
                findings += _judge_changes(snapshot, changes, _old_of, known)
                continue
            per_parent = [{c.path: c for c in git.tree_changes(repo, parent, commit, _scope(prefix))}
                          for parent in parents]
            for path in sorted(set().union(*per_parent)):
                if all(path in changes for changes in per_parent):
                    # New in the merge itself: it must pass against at least one parent.
                    results: list[list[Finding]] = [_judge_changes(snapshot, [changes[path]], _old_of)
                                                    for changes in per_parent]
                    if all(results):
                        findings.extend(sorted(results, key=len)[0])
                else:
                    # Same as one parent, but now beside the other side's changes (its config
                    # above all): judge it as it stands, without a status move.
                    change = next(changes[path] for changes in per_parent if path in changes)
                    findings += _judge_changes(snapshot, [change], lambda _change: None)
            findings += _merge_drops(snapshot, commit, parents,
                                     sorted(set().union(*per_parent) - {f.path for f in findings}))
    return findings


def _merge_drops(snapshot: Snapshot, commit: str, parents: list[str], paths: list[str],
                 tip: str | None = None) -> list[Finding]:
    """What one side of a merge added to a ticket and the merge lost: an entry (a reply the
    requester was mailed, gone from the thread and the reports), a resolution, or a resolve
    (the ticket open again with no reopen). Each side passed on its own, and the merged file
    passes against the side it was taken from, so a conflict settled by keeping one side
    ("git checkout --ours", a hand edit) went unsaid; gitdesk's merge driver never does it.
    ``tip``: what is still lost there, a later commit (of a push) that put it back is fine."""
    repo = snapshot.repo
    tickets = [path for path in paths if path.startswith(snapshot.prefix + TICKETS) and path.endswith(".md")]
    found = git.run_result(repo, "merge-base", "--octopus", *parents) if tickets else None
    if found is None or found.returncode != 0:
        return []  # no ticket in the merge, or two unrelated histories: nothing either side added to
    base = found.stdout.decode().strip()
    versions = {revision: dict(((path, sha) for _, sha, path in git.tree_entries(repo, revision, tickets)))
                for revision in dict.fromkeys((base, commit, *parents, *([tip] if tip else [])))}
    blobs = git.read_blobs(repo, [sha for known in versions.values() for sha in known.values()])
    config = snapshot.config()[0]

    def read(revision: str, path: str) -> Ticket | None:
        sha = versions[revision].get(path)
        try:
            return ticketfile.parse_bytes(blobs[sha], path)[0] if sha in blobs else None
        except GitdeskError:
            return None  # unreadable: said by the checks above, if it is the merge's

    findings: list[Finding] = []
    for path in tickets:
        merged, before = read(tip or commit, path), read(base, path)
        if merged is None:
            continue
        kept = {entry.heading for entry in merged.entries}
        had = {entry.heading for entry in before.entries} if before else set()
        for side in parents:
            theirs = read(side, path)
            if theirs is None or versions[side].get(path) == versions[base].get(path):
                continue
            label = side[:10]
            lost = [entry for entry in theirs.entries if entry.heading not in had | kept]
            if lost:
                first = lost[0]
                findings.append(Finding(path, f"the merge drops {len(lost)} "
                                        f"{'entry' if len(lost) == 1 else 'entries'} one side added "
                                        f"(### {clock.format_utc(first.at)} {first.author} — {first.kind}, in "
                                        f"{label})", hint="keep both sides' entries, each under its own ### heading, "
                                                          "in time order", commit=commit))
            if theirs.resolution and not merged.resolution and (before is None or not before.resolution):
                findings.append(Finding(path, f"the merge drops the resolution one side wrote (in {label})",
                                        hint="keep its ## Resolution section", commit=commit))
            if config is not None and workflow.is_done(config, theirs.status) and \
                    not workflow.is_done(config, merged.status) and \
                    (before is None or not workflow.is_done(config, before.status)):
                findings.append(Finding(path, f"the merge undoes one side's move to {theirs.status} (in {label}): "
                                        f"status {merged.status} here", hint=f"keep status: {theirs.status} in the "
                                        "merge; gitdesk reopen afterwards if it needs more work", commit=commit))
    return findings


def _entries_at(repo: git.Repo, commit: str) -> Callable[[Sequence[str]], list[tuple[str, str, str]]]:
    return lambda paths: git.tree_entries(repo, commit, paths)


def check_range(repo: git.Repo, revision_range: str) -> list[Finding]:
    return check_commits(repo, git.commits_in(repo, revision_range))


def check_push(repo: git.Repo, old: str | None, new: str) -> list[Finding]:
    """A push (or what sync is about to push) moving a branch from ``old`` (None: a new
    branch) to ``new``, judged by the state it leaves.

    Every commit is judged against its parent, as ``check_range`` does. A file whose
    commits broke a rule still passes when its final version passes against its version
    before the push: a mistake fixed in a later commit of the same push is fine, which is
    what "fix it in a new commit" promises. What is reported for such a file is what is
    still wrong at the tip. A file whose every commit passes is never judged as one jump
    (open -> resolved -> closed in two commits is legal, open -> closed is not).
    """
    commits = git.commits_in(repo, f"{old}..{new}") if old else git.new_commits(repo, new)
    findings = check_commits(repo, commits)
    if not findings:
        return []
    base = old or git.fork_point(repo, new)
    if base is None:
        return findings  # a history of its own: no state before it to compare with
    at_tip = check_commits(repo, [(new, [base])])  # the whole push as one change
    broken = {finding.path for finding in findings}
    kept = [finding for finding in at_tip if finding.path in broken]
    # As one change, what a merge of the push dropped is a deletion, which one commit may make:
    # judged again against the tip, it still stops the push unless a later commit put it back.
    for commit, parents in commits:
        dropped = sorted({finding.path for finding in findings if finding.commit == commit})
        if len(parents) > 1 and dropped:
            for prefix in desk_prefixes(repo, commit):
                snapshot = Snapshot(repo, prefix, commit, _entries_at(repo, commit))
                kept += [finding for finding in _merge_drops(snapshot, commit, parents, dropped, tip=new)
                         if finding not in kept]
    return kept


def not_staged(repo: git.Repo) -> list[str]:
    """Files check judges (tickets, config, rules, templates) whose work-tree version is not
    the one staged: check reads the index, while commands act on the work tree."""
    scope = [path for prefix in desk_prefixes(repo, None) for path in _scope(prefix, links=False)]
    changed = git.run(repo, "--no-optional-locks", "diff", "--name-only", "-z", "--", *scope)
    new = git.run(repo, "--no-optional-locks", "ls-files", "--others", "--exclude-standard", "-z", "--", *scope)
    return sorted({name.decode("utf-8", "surrogateescape") for name in (*changed.split(b"\0"), *new.split(b"\0"))
                   if name})


def check_all(repo: git.Repo, progress: Progress = quiet) -> list[Finding]:
    """Every ticket in the index, on its own (no previous version)."""
    findings: list[Finding] = []
    for prefix in desk_prefixes(repo, None):
        snapshot = Snapshot(repo, prefix, None, lambda paths: git.index_entries(repo, paths))
        entries = git.index_stages(repo, _scope(prefix, links=False) + _links_where_written(repo, prefix))
        unmerged = {path for _, _, stage, path in entries if stage != "0"}
        changes = [git.RawChange(ZERO_MODE, mode, "0" * len(sha), sha, "A", path) for mode, sha, stage, path in entries
                   if stage == "0"]
        changes += [git.RawChange(ZERO_MODE, ZERO_MODE, "0" * 40, "0" * 40, "U", path) for path in sorted(unmerged)]
        with progress("Checking tickets", len(changes)) as advance:  # 100,000 of them take half a minute
            findings += _judge_changes(snapshot, changes, _old_of, advance=advance)
    return findings
