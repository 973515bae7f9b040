"""What each Git hook does when it calls ``gitdesk hook NAME``.

Hooks run inside Git, so GIT_DIR, GIT_INDEX_FILE and the push quarantine
variables describe *this* repository and are honoured. Each handler returns
the findings or messages to print and an exit status; the CLI prints them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from gitdesk import changes, git, ticketfile
from gitdesk.errors import GitdeskError
from gitdesk.githooks import check
from gitdesk.githooks import merge as mergefile
from gitdesk.model import Ticket
from gitdesk.text import counted

ZERO = frozenset("0")


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


def pre_commit(repo: git.Repo) -> HookResult:
    findings = check.check_staged(repo)
    if not findings:
        return HookResult()
    return HookResult(1, [str(f) for f in findings] + [
        f"gitdesk: commit refused: {counted(len(findings), 'problem')} in the staged "
        "tickets (fix them and git add again, or see gitdesk check --staged)"])


def trailers_for_staged(repo: git.Repo) -> list[tuple[str, str]]:
    """Gitdesk-Ticket / Gitdesk-Action trailers describing the staged ticket changes."""
    result: list[tuple[str, str]] = []
    for prefix in check.desk_prefixes(repo, None):
        staged = [c for c in git.staged_changes(repo, [prefix + check.TICKETS])
                  if c.path.endswith(".md") and c.status in ("A", "M")]
        blobs = git.read_blobs(repo, [c.new for c in staged] + [c.old for c in staged if set(c.old) != ZERO])
        for change in staged:
            new = _parse(blobs.get(change.new))
            if new is None:
                continue
            old = _parse(blobs.get(change.old)) if change.status == "M" else None
            actions = _actions(old, new)
            if actions:
                result.append(("Gitdesk-Ticket", new.id))
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
    actions = [f"{c.field} {changes.show(c.before)}->{changes.show(c.after)}"
               for c in changes.field_changes(old, new)]
    actions += [entry.kind for entry in changes.added_entries(old, new)]
    if new.resolution and new.resolution != old.resolution:
        actions.append("resolution written" if not old.resolution else "resolution rewritten")
    if new.description != old.description:
        actions.append("description edited")
    return list(dict.fromkeys(" ".join(action.split()) for action in actions))


def commit_msg(repo: git.Repo, message_file: Path) -> HookResult:
    """Add the trailers to the message; never twice, never to an empty or merge message."""
    if (repo.git_dir / "MERGE_HEAD").exists():
        return HookResult()
    text = message_file.read_text(encoding="utf-8", errors="replace")
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
    """post-merge, post-checkout, post-rewrite: bring the caches up to date.

    Only a cache that already exists is refreshed (incrementally, usually a
    few milliseconds); a missing one is built by the next command that needs
    it, never inside a checkout. Problems are not worth failing Git for.
    """
    del args
    from gitdesk.cache import db, history, index
    from gitdesk.desk import Desk

    if repo.top == repo.git_dir:
        return HookResult()
    messages: list[str] = []
    stale = repo.state_dir / mergefile.STALE
    try:
        if stale.exists() and name == "post-merge":
            stale.unlink()
            from gitdesk.knowledge import kb

            for prefix in check.desk_prefixes(repo, None):
                result = kb.build(Desk.open(repo.top / prefix, explicit=True))
                if result.commit:
                    messages.append(f"gitdesk: rebuilt the knowledge base after the merge [{result.commit[:7]}]")
        for prefix in check.desk_prefixes(repo, None):
            if not db.path_of(repo, prefix).exists():
                continue
            desk = Desk.open(repo.top / prefix, explicit=True)
            with db.open_cache(repo, prefix) as connection:
                history.refresh(desk, connection)
                index.refresh(desk, connection)
    except GitdeskError as error:
        return HookResult(0, [*messages, f"gitdesk: caches not refreshed: {error}"])
    return HookResult(0, messages)


def pre_receive(repo: git.Repo, updates: str) -> HookResult:
    """Judge every pushed commit; reject the push with the findings."""
    findings: list[check.Finding] = []
    for line in updates.splitlines():
        parts = line.split()
        if len(parts) != 3:
            continue
        old, new, ref = parts
        if set(new) == ZERO:
            continue  # a deleted ref brings no new commits
        commits = git.new_commits(repo, new) if set(old) == ZERO else git.commits_in(repo, f"{old}..{new}")
        findings += [f for f in check.check_commits(repo, commits) if f not in findings]
        del ref
    if not findings:
        return HookResult()
    return HookResult(1, [str(f) for f in findings] + [
        f"gitdesk: push rejected: {counted(len(findings), 'problem')} in the pushed "
        "tickets; fix them in new commits (or rewrite the bad ones) and push again"])

