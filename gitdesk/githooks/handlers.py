"""What each Git hook does when it calls ``gitdesk hook NAME``.

Hooks run inside Git, so GIT_DIR, GIT_INDEX_FILE and the push quarantine
variables describe *this* repository and are honoured. Each handler returns
the findings or messages to print and an exit status; the CLI prints them.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from gitdesk import changes, git, ticketfile
from gitdesk.errors import GitdeskError
from gitdesk.githooks import check
from gitdesk.model import Ticket
from gitdesk.paths import OUTBOX
from gitdesk.text import clean_line, counted

ZERO = frozenset("0")
# Set by gitdesk sync for the Git commands it runs: it holds the desk lock, rebuilds kb/
# itself, and has recovered any interrupted action, so the hooks Git runs leave those alone.
SYNCING = "GITDESK_SYNCING"


@dataclass(frozen=True, slots=True)
class HookResult:
    status: int = 0
    messages: list[str] = field(default_factory=list)


def repository(start: Path) -> git.Repo:
    git.honour_repository_environment()
    repo = git.find_any(start)
    if repo is None:
        raise GitdeskError(f"{start} is not a Git repository")
    return repo


def recover_interrupted(repo: git.Repo) -> str | None:
    """Finish an action a killed gitdesk left half done, before Git commits the index it left.

    A kill after the branch moved leaves the index holding the ticket's old version, and a
    plain ``git commit`` would quietly commit it back, undoing the action. Returns a note
    when something was done.
    """
    from gitdesk import transaction
    from gitdesk.lock import desk_lock

    if os.environ.get(SYNCING) or repo.top == repo.git_dir:
        return None  # sync holds the lock and has recovered already; a server has no work tree
    if not (repo.state_dir / transaction.JOURNAL).exists():
        return None  # the usual case, without waiting for the lock
    # `git commit PATH…` commits a temporary index and keeps the real one locked: fix the
    # index being committed now, and leave the journal for the real one's turn.
    index = os.environ.get("GIT_INDEX_FILE")
    partial = index is not None and Path(index).name not in ("index", "index.lock")
    with desk_lock(repo.state_dir):
        outcome = transaction.recover(repo, keep_journal=partial)
    if outcome is None:
        return None  # a writer was mid-action and finished it
    return f"gitdesk: an interrupted gitdesk action was {outcome} before this commit"


def pre_commit(repo: git.Repo) -> HookResult:
    recovered = recover_interrupted(repo)
    notes = [recovered] if recovered else []
    staged = check.read_staged(repo)
    findings = check.check_staged(repo, staged)
    if not findings:
        try:  # each staged ticket read once, for the trailers and the notes
            tickets: dict[str, list[Pair]] | None = {
                prefix: _staged_tickets(repo, _ticket_changes(staged, prefix)) for prefix in staged.prefixes}
        except GitdeskError:
            tickets = None  # commit-msg works the trailers out itself; a note never stops a commit
        _hand_over_trailers(repo, staged, tickets)
        return HookResult(0, notes + _not_mailed(repo, tickets, _mailed(staged)))
    return HookResult(1, notes + [str(f) for f in findings] + [
        f"gitdesk: commit refused: {counted(len(findings), 'problem')} in the staged "
        f"{check.what_was_found(findings)} (fix them and git add again, or see gitdesk check --staged)"])


HANDOFF = "trailers"  # in .git/gitdesk/: what pre-commit found for commit-msg (see install.script)


Pair = tuple[Ticket | None, Ticket]  # a staged ticket file before (None: new) and after the change


def _ticket_changes(staged: check.Staged, prefix: str) -> list[git.RawChange]:
    return git.parse_raw(git.raw_under(staged.raw[prefix], prefix + check.TICKETS))


def _staged_tickets(repo: git.Repo, changes: Sequence[git.RawChange]) -> list[Pair]:
    """Each ticket file the change adds or edits, before and after, read in one batch."""
    staged = [c for c in changes if c.path.endswith(".md") and c.status in ("A", "M")]
    blobs = git.read_blobs(repo, [c.new for c in staged] + [c.old for c in staged if set(c.old) != ZERO])
    pairs: list[Pair] = []
    for change in staged:
        new = _parse(blobs.get(change.new))
        if new is not None:
            pairs.append((_parse(blobs.get(change.old)) if change.status == "M" else None, new))
    return pairs


def _hand_over_trailers(repo: git.Repo, staged: check.Staged, tickets: dict[str, list[Pair]] | None) -> None:
    """Leave the trailers of the staged change for the commit-msg hook with the change's
    key (``git diff-index … | git hash-object --stdin``) and where it looked: the hook then
    adds them in shell, without a second Python process (0.2 s a commit); if the key no
    longer matches it works them out itself. One desk per repository only (the shell reads
    one folder); otherwise commit-msg always works them out."""
    handoff = repo.state_dir / HANDOFF
    handoff.unlink(missing_ok=True)
    try:
        prefixes = staged.prefixes
        if tickets is None or len(prefixes) != 1 or any(char.isspace() for char in prefixes[0]):
            return
        spec = prefixes[0] + check.TICKETS
        raw = git.raw_under(staged.raw[prefixes[0]], spec)  # what diff-index prints for spec alone
        trailers = _trailers(tickets[prefixes[0]])
        lines = [git.blob_id(repo, raw), spec, *(f"{key}: {value}" for key, value in trailers)]
        repo.state_dir.mkdir(parents=True, exist_ok=True)
        handoff.write_text("\n".join(lines) + "\n", encoding="utf-8")
    except (GitdeskError, OSError):
        handoff.unlink(missing_ok=True)  # commit-msg works them out itself


def _not_mailed(repo: git.Repo, tickets: dict[str, list[Pair]] | None, mailed: set[str]) -> list[str]:
    """A note for each staged ticket whose hand-written reply or resolution no mail will tell.
    ``mailed``: tickets whose mail the commit adds to outbox/ (a conflict settled by hand after
    ``git reset --soft`` recommits a command's reply with its mail)."""
    if tickets is None or git.operation_in_progress(repo) is not None:  # a merge's other side came with its mail
        return []
    said = (changes.not_mailed(old, new) for pairs in tickets.values() for old, new in pairs if new.id not in mailed)
    return [f"gitdesk: note: {note}" for note in said if note]


def _mailed(staged: check.Staged) -> set[str]:
    """The tickets a staged message added to outbox/ is for (named ``<stamp>-<ID>-<hex>.eml``)."""
    found = set()
    for prefix in staged.prefixes:
        for change in git.parse_raw(git.raw_under(staged.raw[prefix], f"{prefix}{OUTBOX}/")):
            name = change.path.rsplit("/", 1)[-1]
            if change.status == "A" and name.endswith(".eml") and name.count("-") >= 2:
                found.add(name[name.index("-") + 1:name.rindex("-")])
    return found


def trailers_for_staged(repo: git.Repo) -> list[tuple[str, str]]:
    """Gitdesk-Ticket / Gitdesk-Action trailers describing the staged ticket changes."""
    staged = check.read_staged(repo)
    result: list[tuple[str, str]] = []
    for prefix in staged.prefixes:
        result += _trailers(_staged_tickets(repo, _ticket_changes(staged, prefix)))
    return result


def _trailers(tickets: Sequence[Pair]) -> list[tuple[str, str]]:
    result: list[tuple[str, str]] = []
    for old, new in tickets:
        actions = _actions(old, new)
        if actions:
            result.append(("Gitdesk-Ticket", clean_line(new.id)))  # unchecked with --no-verify: one line
            result += [("Gitdesk-Action", action) for action in actions]
    return result


def _parse(data: bytes | None) -> Ticket | None:
    if data is None:
        return None
    try:
        return ticketfile.parse_bytes(data)[0]
    except GitdeskError:
        return None


def _actions(old: Ticket | None, new: Ticket) -> list[str]:
    if old is None:
        return ["new"]
    actions = [_field_action(change) for change in changes.field_changes(old, new)]
    # An entry put right by hand (other words under its heading, or its words re-dated) was edited,
    # not added: a typo fixed in a question is no new question (log --action question lists those).
    actions += [f"{entry.kind} edited" if changes.corrected(old, entry) else entry.kind
                for entry in changes.added_entries(old, new)]
    kept = {entry.heading for entry in new.entries}
    actions += [f"{entry.kind} removed" for entry in old.entries if entry.heading not in kept]
    if new.resolution and new.resolution != old.resolution:
        actions.append("resolution written" if not old.resolution else "resolution rewritten")
    elif old.resolution and not new.resolution:
        actions.append("resolution removed")  # a stale editor buffer saved over a resolve, say: in the log
    if new.description != old.description:
        actions.append("description edited")
    return list(dict.fromkeys(clean_line(action) for action in actions))


EMPTY: tuple[object, ...] = (None, "", [], ())
SHOWN = 60  # characters of a value in a trailer; the diff holds the rest


def _field_action(change: changes.FieldChange) -> str:
    """``set cost_centre 4100``, ``unset asset``, ``status open->resolved``: a trailer people can read
    (a field that was empty is set, not changed from '-')."""
    def short(value: object) -> str:
        shown = changes.show(value)
        return shown if len(shown) <= SHOWN else shown[:SHOWN - 1] + "…"

    if isinstance(change.before, (list, tuple)) and isinstance(change.after, (list, tuple)):
        # A list (labels, cc, a thread's message_ids) by what came and went: cut whole, the two
        # sides of a long list looked alike ("[<GD-…@example…->[<GD-…@example…").
        came = [f"+{short(item)}" for item in change.after if item not in change.before]
        went = [f"-{short(item)}" for item in change.before if item not in change.after]
        if came or went:
            return f"{change.field} {' '.join([*came, *went])}"
    if change.before in EMPTY:
        return f"set {change.field} {short(change.after)}"
    if change.after in EMPTY:
        return f"unset {change.field}"
    return f"{change.field} {short(change.before)}->{short(change.after)}"


def commit_msg(repo: git.Repo, message_file: Path) -> HookResult:
    """Add the trailers to the message; never twice, never to an empty or merge message."""
    if (repo.git_dir / "MERGE_HEAD").exists():
        return HookResult()
    try:
        text = message_file.read_text(encoding="utf-8", errors="replace")
    except OSError as error:
        raise GitdeskError(f"cannot read the commit message {message_file}: {error.strerror or error}",
                           hint="Git passes the message file; run it as git commit does: "
                                "gitdesk hook commit-msg .git/COMMIT_EDITMSG") from None
    if not any(line.strip() and not line.startswith("#") for line in text.splitlines()):
        return HookResult()  # an empty message aborts the commit; keep it empty
    trailers = trailers_for_staged(repo)
    if not trailers:
        return HookResult()
    args = ["interpret-trailers", "--in-place", "--if-exists", "addIfDifferent"]
    for key, value in trailers:
        args += ["--trailer", f"{key}: {value}"]
    git.run(repo, *args, "--", str(message_file))
    return HookResult()


def refresh(repo: git.Repo, name: str, args: Sequence[str]) -> HookResult:
    """post-merge, post-checkout, post-rewrite: bring the caches up to date (not after a
    checkout of files, which moves no branch).

    Only a cache that already exists is refreshed (incrementally, usually a
    few milliseconds); a missing one is built by the next command that needs
    it, never inside a checkout. After a merge or a rebase that kept one side
    of kb/, the knowledge base is rebuilt. Problems are not worth failing Git
    for: they are said, and Git goes on.
    """
    from gitdesk.cache import db, history, index
    from gitdesk.desk import Desk

    if repo.top == repo.git_dir:
        return HookResult()
    if name == "post-checkout" and list(args[2:3]) == ["0"]:
        # `git checkout -- FILE`: HEAD stayed, so the history has nothing new, and the index
        # catches up with the file at the next command (at 100,000 tickets this took a second).
        return HookResult()
    messages: list[str] = []
    integrated = name == "post-merge" or (name == "post-rewrite" and list(args[:1]) == ["rebase"])
    try:
        if integrated and not os.environ.get(SYNCING):  # sync rebuilds it itself, under its own lock
            refused: list[str] = []
            messages += [f"gitdesk: rebuilt the knowledge base after the merge [{commit[:7]}]"
                         for commit in rebuild_stale_kb(repo, refused)]
            messages += [f"gitdesk: {note}" for note in refused]
        for prefix in check.desk_prefixes(repo, None):
            if not db.path_of(repo, prefix).exists():
                continue
            desk = Desk.open(repo.top / prefix, explicit=True)
            with db.open_cache(repo, prefix) as connection:
                # The history's part too only if it was ever read: a clone that only listed
                # tickets would read 100,000 commits inside `git switch` (two minutes, silent).
                if history.ever_read(connection):
                    history.refresh(desk, connection)
                index.refresh(desk, connection)
    except GitdeskError as error:
        return HookResult(0, [*messages, f"gitdesk: caches not refreshed: {error}"])
    except (OSError, sqlite3.Error) as error:  # a full disk, a read-only .git: the next command rebuilds
        return HookResult(0, [*messages, f"gitdesk: caches not refreshed: {error} (the next gitdesk command "
                                         "rebuilds them)"])
    return HookResult(0, messages)


def rebuild_stale_kb(repo: git.Repo, notes: list[str]) -> list[str]:
    """Rebuild and commit kb/ when a merge kept one side of it (the kb driver left the
    stale mark); the commits made. A build that refuses (a ticket file with uncommitted
    changes, or one that cannot be read) does not stop the merge or the sync around it: it
    is said in ``notes``, and the mark stays for the next merge or sync. Call holding no
    desk lock, or the one this thread holds (sync)."""
    from gitdesk.desk import Desk
    from gitdesk.githooks import merge as mergefile
    from gitdesk.knowledge import kb

    stale = repo.state_dir / mergefile.STALE
    if not stale.exists():
        return []
    commits: list[str] = []
    for prefix in check.desk_prefixes(repo, None):
        try:
            result = kb.build(Desk.open(repo.top / prefix, explicit=True))
        except GitdeskError as error:
            notes.append(f"the knowledge base was left as the merge made it: {error}; gitdesk kb build rebuilds it")
            return commits
        if result.commit:
            commits.append(result.commit)
    stale.unlink(missing_ok=True)  # only once rebuilt: a failure leaves it for the next merge or sync
    return commits


def _drops_commits(repo: git.Repo, old: str, pushed: Sequence[tuple[str, str, str]]) -> bool:
    """Whether commits of ``old`` (the tip of a branch this push deletes) are held by no branch
    once the push is done: the branches it updates at their new tips, the others as they
    stand (a leftover master equal to main can go; one that is main's only copy of something
    cannot, even when the same push moves the others)."""
    kept = [new for _, new, ref in pushed if set(new) != ZERO and ref.startswith("refs/heads/")]
    # --exclude before --branches names a branch without its refs/heads/ (as git rev-list wants).
    moved = [f"--exclude={ref.removeprefix('refs/heads/')}" for _, _, ref in pushed if ref.startswith("refs/heads/")]
    found = git.run_result(repo, "rev-list", "-n", "1", old, "--not", *kept, *moved, "--branches")
    return found.returncode != 0 or bool(found.stdout.strip())


def protected_branches(repo: git.Repo) -> tuple[str, ...]:
    """The branches a push may only move forward: the one the bare repository's HEAD names (what
    a clone checks out) and the usual names of a desk's branch (``git init --bare`` says
    master while the desk pushes main; a master pushed later must not unguard main)."""
    branch, _ = git.head(repo)  # named even before its first push: install says what it will guard
    usual = ("refs/heads/main", "refs/heads/master")
    return tuple(dict.fromkeys((branch, *usual))) if branch is not None else usual


def pre_receive(repo: git.Repo, updates: str) -> HookResult:
    """Judge every pushed commit; reject the push with the findings."""
    findings: list[check.Finding] = []
    protected = protected_branches(repo)
    pushed = [(parts[0], parts[1], parts[2]) for parts in (line.split() for line in updates.splitlines())
              if len(parts) == 3]
    for old, new, ref in pushed:
        rewound = set(new) != ZERO and not git.is_ancestor(repo, old, new)
        # A rewrite is refused outright (clones on the branch would lose their pushed work); a
        # deletion only when commits would go with it (a leftover master equal to main may go).
        if ref in protected and set(old) != ZERO and (rewound or (set(new) == ZERO
                                                                   and _drops_commits(repo, old, pushed))):
            # The desk's branch is its audit log: a force-push (or a deletion) would drop others'
            # replies, takes and the records of mail already sent, and a clone that then pulls
            # with --rebase loses its own pushed work too.
            short = ref.removeprefix("refs/heads/")
            return HookResult(1, [f"gitdesk: push rejected: it would {'delete' if set(new) == ZERO else 'rewrite'} "
                                  f"{short}, dropping commits others pushed (the desk's history is its audit log); "
                                  f"bring them in first (gitdesk sync, or git pull --rebase), then push without "
                                  "--force; to undo a commit, add one that undoes it (git revert)"])
        if set(new) == ZERO:
            continue  # a deleted ref brings no new commits
        # Judged by the state the push leaves, so the advice below works: a later commit
        # in the same push that fixes a bad one makes the push good.
        findings += [f for f in check.check_push(repo, None if set(old) == ZERO else old, new) if f not in findings]
        del ref
    if not findings:
        return HookResult()
    return HookResult(1, [str(f) for f in findings] + [
        f"gitdesk: push rejected: {counted(len(findings), 'problem')} in the pushed "
        f"{check.what_was_found(findings)}; undo the unpushed commits keeping their changes (git reset --soft "
        "@{upstream}), put the files right, commit and push again (a fixing commit on top is accepted too, "
        "but your own pre-commit hook judges it against the bad one: git commit --no-verify)"])

