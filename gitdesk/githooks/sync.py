"""``gitdesk sync``: fetch, integrate (rebase or merge) with the ticket driver, push.

Pushes race: when another clone pushed first, the push is refused, and sync
fetches and integrates again, a few times. A real conflict (the same field
given two values) stops everything with the operation aborted, so the work
tree and history are exactly as before, and a message that says what
conflicts and how to resolve it by hand.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gitdesk import git
from gitdesk.desk import Desk
from gitdesk.errors import GitdeskError, GitError
from gitdesk.githooks import install as hookscripts

STRATEGIES = ("rebase", "merge")


class SyncConflict(GitdeskError):
    """Integrating the upstream hit a real conflict; nothing was changed."""


@dataclass
class SyncResult:
    upstream: str
    received: int = 0  # commits brought in
    sent: int = 0  # commits pushed
    attempts: int = 0
    notes: list[str] = field(default_factory=list)


def _count(repo: git.Repo, revision_range: str) -> int:
    return int(git.run(repo, "rev-list", "--count", revision_range).decode().strip() or 0)


def _upstream(repo: git.Repo) -> tuple[str, str, str]:
    """(remote, remote branch, tracking ref like origin/main) of the current branch."""
    branch, _ = git.head(repo)
    if branch is None:
        raise GitError("HEAD is detached; sync works on a branch", hint="check out a branch first: git switch main")
    name = branch.removeprefix("refs/heads/")
    remote = git.run(repo, "config", "--get", f"branch.{name}.remote", check=False).decode().strip()
    merge = git.run(repo, "config", "--get", f"branch.{name}.merge", check=False).decode().strip()
    if not remote or not merge:
        raise GitError(f"branch {name} has no upstream to sync with",
                       hint=f"push it once with: git push -u origin {name}")
    return remote, merge.removeprefix("refs/heads/"), f"refs/remotes/{remote}/{merge.removeprefix('refs/heads/')}"


def _tracked_changes(repo: git.Repo) -> list[str]:
    out = git.run(repo, "status", "--porcelain", "-z", "--untracked-files=no")
    return [record[3:].decode("utf-8", "replace") for record in out.split(b"\0") if len(record) > 3]


def _ensure_attributes(repo: git.Repo) -> None:
    """Make sure ticket files use the driver, even where hooks were never installed."""
    hookscripts.ensure_attributes(repo)


def _conflicted(repo: git.Repo) -> list[str]:
    out = git.run(repo, "diff", "--name-only", "--diff-filter=U", "-z", check=False)
    return [path.decode("utf-8", "replace") for path in out.split(b"\0") if path]


def _integrate(repo: git.Repo, tracking: str, strategy: str) -> None:
    with_driver = hookscripts.driver_config()
    if strategy == "rebase":
        result = git.run_result(repo, *with_driver, "rebase", "--no-autostash", tracking)
        abort = ["rebase", "--abort"]
    else:
        result = git.run_result(repo, *with_driver, "merge", "--no-edit", "--no-ff", tracking)
        abort = ["merge", "--abort"]
    if result.returncode == 0:
        return
    conflicted = _conflicted(repo)
    git.run(repo, *abort, check=False)
    if not conflicted:
        detail = result.stderr.decode("utf-8", "replace").strip().splitlines()
        raise GitError(f"git {strategy} failed: {detail[-1] if detail else 'unknown error'}; nothing was changed")
    shown = ", ".join(conflicted[:5]) + (" …" if len(conflicted) > 5 else "")
    raise SyncConflict(
        f"sync stopped: a real conflict in {shown}; nothing was changed",
        hint=f"git pull --{strategy}, fix the lines between <<<<<<< and >>>>>>>, git add them, "
             f"git {strategy} --continue, then gitdesk sync",
    )


def sync(desk: Desk, *, strategy: str | None = None, attempts: int = 5) -> SyncResult:
    repo = desk.repo
    how = strategy or desk.config.sync_strategy
    if how not in STRATEGIES:
        raise GitdeskError(f"unknown sync strategy {how!r}", hint="use rebase or merge")
    remote, remote_branch, tracking = _upstream(repo)
    result = SyncResult(f"{remote}/{remote_branch}")
    with desk.writing():
        dirty = _tracked_changes(repo)
        if dirty:
            raise GitdeskError(f"{dirty[0]} has uncommitted changes", path=None,
                               hint="commit or stash them, then sync again")
        _ensure_attributes(repo)
        for attempt in range(1, attempts + 1):
            result.attempts = attempt
            git.run(repo, "fetch", "--quiet", "--", remote)
            incoming = _count(repo, f"HEAD..{tracking}")
            if incoming:
                if _count(repo, f"{tracking}..HEAD"):
                    _integrate(repo, tracking, how)
                else:
                    git.run(repo, "merge", "--ff-only", "--quiet", tracking)
                result.received += incoming
            outgoing = _count(repo, f"{tracking}..HEAD")
            if not outgoing:
                return result
            push = git.run_result(repo, "push", "--quiet", "--porcelain", "--", remote,
                                  f"HEAD:refs/heads/{remote_branch}")
            if push.returncode == 0:
                result.sent = outgoing
                return result
            text = (push.stdout + push.stderr).decode("utf-8", "replace")
            if "rejected" not in text and "fetch first" not in text and "non-fast-forward" not in text:
                raise GitError(f"git push failed: {text.strip().splitlines()[-1] if text.strip() else 'unknown'}")
            result.notes.append(f"push raced another clone (attempt {attempt}); integrating again")
    raise GitError(f"gave up after {attempts} attempts: the remote keeps moving",
                   hint="run gitdesk sync again in a moment")
