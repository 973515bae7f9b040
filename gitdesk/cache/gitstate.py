"""What Git can tell cheaply about ``tickets/``, for the index's freshness check.

``git diff-files`` over a 100,000-file desk takes about a tenth of a second (it
reads Git's index and stats every tracked file, in C). A command that reads the
index starts it with ``prefetch`` as soon as it knows the desk, so Git works on
the other core while this process imports the rest of gitdesk and opens the
cache; ``state`` then takes its answer. Only os and subprocess are imported here.
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import time
from pathlib import Path
from typing import Any, Protocol

from gitdesk import git
from gitdesk.errors import GitError
from gitdesk.paths import TICKETS


class Where(Protocol):
    """A desk, or only where it is (``paths.Location``): all these checks need."""

    @property
    def repo(self) -> git.Repo: ...
    @property
    def prefix(self) -> str: ...
    @property
    def tickets_dir(self) -> Path: ...
    def repo_path(self, desk_path: str) -> str: ...

RACY_NS = 2_000_000_000  # a file changed this close to a check may share its mtime with a later edit
MAX_AGE_NS = 10_000_000_000  # a prefetched answer not collected within this is older than a command


def stat_key(st: os.stat_result) -> str:
    return f"{st.st_mtime_ns}:{st.st_size}:{st.st_ino}"


REBASE_FROM = 200  # files Git's index holds apart from the base commit that make HEAD the new base
_COMMIT_ID = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")


def _command(desk: Where, what: str, base: str | None = None) -> list[str]:
    scope = desk.repo_path(TICKETS + "/")
    if what == "modified":
        return ["diff-files", "--name-only", "-z", "--", scope]
    if what == "staged":  # files whose entry in Git's index differs from the base commit's
        assert base is not None and _COMMIT_ID.fullmatch(base)
        # The base as committed: `git replace` must not swap in another tree for it.
        return ["--no-replace-objects", "diff-index", "--cached", "--name-only", "-z", base, "--", scope]
    if what == "flags":  # each entry with its tag: assume-unchanged (lower case) or skip-worktree (S)
        return ["ls-files", "-v", "-z", "--", scope]
    return ["ls-files", "-o", "-z", "--", scope]  # untracked and ignored files


_HIDDEN_ENTRY = re.compile(rb"\0[a-zS] ")  # in "\0" + ls-files -v -z: an entry diff-files does not check


def _is_ticket_name(name: object) -> bool:
    """A file directly in tickets/ named like a ticket file, or a folder there ("2026/": the
    index lists it as a problem); names read back from the cache too."""
    return isinstance(name, str) and "\0" not in name and (
        (name.endswith(".md") and "/" not in name) or (len(name) > 1 and name.find("/") == len(name) - 1))


def _listed_name(name: str) -> str:
    """What the index lists for a path under tickets/: the file, or the folder it lies in."""
    return name.split("/", 1)[0] + "/" if "/" in name else name


def _base(stored: Any) -> str | None:
    """The base commit ``stored`` recorded (see ``state``), if it is a well-formed id."""
    base = stored.get("base") if isinstance(stored, dict) else None
    return base if isinstance(base, str) and _COMMIT_ID.fullmatch(base) and isinstance(stored.get("staged"), list) \
        else None


def _folder(desk: Where, listed_at: int) -> tuple[str, bool]:
    """The stat of tickets/, and whether it had settled (mtime more than two seconds before)."""
    try:
        folder = os.stat(desk.tickets_dir)
    except FileNotFoundError:
        return "none", False
    return stat_key(folder), folder.st_mtime_ns < listed_at - RACY_NS


def _known(stored: Any, index_key: str, folder_key: str) -> bool:
    """Whether the untracked files ``stored`` lists are still the ones (see ``state``)."""
    return (isinstance(stored, dict) and stored.get("index") == index_key and stored.get("folder") == folder_key
            and stored.get("settled") is True and isinstance(stored.get("untracked"), list))


def _recorded(desk: Where) -> Any:
    """The state the index recorded at its last refresh, read without waiting; None when none."""
    import json
    import sqlite3

    from gitdesk.cache import db

    try:
        with contextlib.closing(sqlite3.connect(f"{db.path_of(desk.repo, desk.prefix).as_uri()}?mode=ro", uri=True,
                                                timeout=0)) as connection:
            row = connection.execute("SELECT value FROM meta WHERE key = 'index_git_state'").fetchone()
        return json.loads(row[0]) if row and row[0] else None
    except (sqlite3.Error, ValueError):
        return None


class _Started:
    """Git's checks under way, and what was true when they started."""

    def __init__(self, index_key: str) -> None:
        self.index_key = index_key
        self.listed_at = time.time_ns()
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    @classmethod
    def ahead(cls, desk: Where) -> _Started:
        """The checks a refresh will want, started before it runs: untracked files only
        when the ones the index recorded may be out of date."""
        started = cls(stat_key(os.stat(desk.repo.git_dir / "index")))
        started.add(desk, "modified")
        folder_key, _ = _folder(desk, started.listed_at)
        recorded = _recorded(desk)
        if not _known(recorded, started.index_key, folder_key):
            started.add(desk, "untracked")
        base = _base(recorded)
        if base is not None and recorded.get("index") != started.index_key:
            started.add_base_checks(desk, base)
        return started

    def add(self, desk: Where, what: str, base: str | None = None) -> None:
        """Start the check ``what`` too, unless it is under way (for "staged", against ``base``)."""
        key = what if base is None else f"{what} {base}"
        if key not in self.processes:
            self.processes[key] = git.start(desk.repo, *_command(desk, what, base))

    def add_base_checks(self, desk: Where, base: str) -> None:
        """What a refresh asks when Git's index has moved: the entries that differ from ``base``,
        and whether Git checks every entry (see ``state``)."""
        self.add(desk, "staged", base)
        self.add(desk, "flags")

    def results(self) -> dict[str, tuple[int, bytes]]:
        """(exit status, output) of each check, waited for."""
        found = {}
        for what, process in self.processes.items():
            out, _ = process.communicate()
            found[what] = (process.returncode, out)
        self.processes.clear()
        return found

    def stop(self) -> None:
        for process in self.processes.values():
            process.kill()
            process.wait()
        self.processes.clear()


_started: dict[tuple[str, str], _Started] = {}


def prefetch(desk: Where) -> None:
    """Start Git's checks of the tickets now; ``state`` collects them. Nothing happens
    when they cannot start (no index file yet, no git): ``state`` then runs them itself."""
    key = (str(desk.repo.top), desk.prefix)
    if key in _started:
        return
    with contextlib.suppress(OSError, GitError):
        _started[key] = _Started.ahead(desk)


def _take(desk: Where) -> _Started | None:
    return _started.pop((str(desk.repo.top), desk.prefix), None)


def state(desk: Where, stored: Any) -> dict[str, Any] | None:
    """What Git can tell cheaply about tickets/: the identity of its index file, and
    the files that differ from it (modified, deleted, untracked, ignored), with their stat.

    Git checks tracked files against its index in C, in parallel and racy-safe,
    far faster than stat-ing every file from Python. None when Git cannot vouch.

    Untracked files are listed again only when the folder may have changed since
    ``stored`` listed them: adding, removing or renaming a file changes the folder's
    mtime (the principle of Git's untracked cache), so while Git's index and the
    folder's stat are as they were, and the folder had settled then (its mtime over
    two seconds old, so no later change can share it), they are the ones seen then;
    each is stat-ed again for edits.

    Prefetched checks count only if Git's index file is still the one they started
    with, and only for a few seconds; their start time stands for the listing's
    (earlier is the cautious side). A file changed while they ran is seen by the
    next refresh, as with any change made while a command starts.
    """
    started = _take(desk)
    try:
        index_key = stat_key(os.stat(desk.repo.git_dir / "index"))
    except FileNotFoundError:
        if started is not None:
            started.stop()
        return None
    if started is not None and (started.index_key != index_key or time.time_ns() - started.listed_at > MAX_AGE_NS):
        started.stop()
        started = None
    started = started or _Started(index_key)
    folder_key, settled = _folder(desk, started.listed_at)
    started.add(desk, "modified")
    if not _known(stored, index_key, folder_key):
        started.add(desk, "untracked")
    base = _base(stored)
    index_moved = not (isinstance(stored, dict) and stored.get("index") == index_key)
    if index_moved and base is not None:
        started.add_base_checks(desk, base)
    found = started.results()
    staged_check = found.pop(f"staged {base}", None)
    flags_check = found.pop("flags", None)
    for key in [key for key in found if key.startswith("staged ")]:  # prefetched against another base
        del found[key]
    if any(status for status, _ in found.values()):
        return None
    scope = desk.repo_path(TICKETS + "/")

    def ticket_names(out: bytes) -> list[str]:
        paths = out.decode("utf-8", "surrogateescape").split("\0")
        return list(dict.fromkeys(name for name in (_listed_name(path[len(scope):]) for path in paths
                                                    if path.startswith(scope)) if _is_ticket_name(name)))

    untracked = (ticket_names(found["untracked"][1]) if "untracked" in found
                 else [str(name) for name in stored["untracked"]])
    dirty: dict[str, str] = {}
    for name in [*ticket_names(found["modified"][1]), *untracked]:
        try:
            dirty[name] = stat_key(os.stat(desk.tickets_dir / name, follow_symlinks=False))
        except FileNotFoundError:
            dirty[name] = "gone"
    result: dict[str, Any] = {"index": index_key, "folder": folder_key, "settled": settled,
                              "untracked": sorted(set(untracked)), "dirty": dirty}
    if not index_moved:
        if base is not None:
            result.update(base=base, staged=stored["staged"])
        return result
    # Git's index changed (a commit, a checkout, a pull, git add, or only its stat data refreshed).
    # Files whose entry differs from the base commit's now or did then are the only ones it can
    # have changed: with the files Git now and then saw differ from its index, they are all a
    # refresh must read. Without a base (the first time, an unborn branch) every file is stat-ed.
    # Entries Git is told not to check (assume-unchanged, skip-worktree, a sparse checkout) may
    # differ from their files unseen: then the base cannot vouch for the rest.
    vouched = (staged_check is not None and staged_check[0] == 0 and flags_check is not None
               and flags_check[0] == 0 and _HIDDEN_ENTRY.search(b"\0" + flags_check[1]) is None)
    if vouched and staged_check is not None:
        differing = ticket_names(staged_check[1])
        result["moved"] = sorted(set(differing) | {name for name in stored["staged"] if _is_ticket_name(name)})
        if len(differing) < REBASE_FROM:
            result.update(base=base, staged=differing)
            return result
    _, commit = git.head(desk.repo)
    if commit is not None and _COMMIT_ID.fullmatch(commit):
        check = git.run_result(desk.repo, *_command(desk, "staged", commit))
        if check.returncode == 0:
            result.update(base=commit, staged=ticket_names(check.stdout))
    return result


def as_recorded(desk: Where, state: dict[str, Any]) -> dict[str, Any]:
    """``state`` as a refresh may record it once it has read the files: without its base when
    Git's index changed while the refresh ran. An entry moved away from the base and back in
    that time, around the read of its file, would be in neither list of moved entries next
    time; without a base, the next refresh compares every file's stat instead."""
    try:
        unchanged = stat_key(os.stat(desk.repo.git_dir / "index")) == state.get("index")
    except FileNotFoundError:
        unchanged = False
    if unchanged or "base" not in state:
        return state
    return {key: value for key, value in state.items() if key not in ("base", "staged")}


def after_own_write(desk: Where, stored: Any, written: set[str]) -> dict[str, Any] | None:
    """The state to record after this process committed ticket files ``written`` and put
    them in Git's index, when that was the only change to Git's index since ``stored``
    was recorded: ``stored`` less those files, which Git now holds as they are. None
    when anyone else changed Git's index too (the next check then stats every file).

    Without it, every command after a gitdesk action stat-ed all 100,000 files (1.1 s):
    Git's index had changed, so Git's list of changed files could not be trusted."""
    own = git.own_index_write(desk.repo)
    if own is None or not isinstance(stored, dict) or not isinstance(stored.get("dirty"), dict):
        return None
    before, after, paths = own
    scope = desk.repo_path(TICKETS + "/")
    updated = {path[len(scope):] for path in paths if path.startswith(scope)}
    if before is None or after is None or not updated <= written:
        return None
    if stored.get("index") not in (stat_key(before), stat_key(after)):  # after: carried already, re-indexed again
        return None
    try:
        if stat_key(os.stat(desk.repo.git_dir / "index")) != stat_key(after):
            return None  # changed again since
    except FileNotFoundError:
        return None
    folder_key, _ = _folder(desk, time.time_ns())
    untracked: list[Any] = stored["untracked"] if isinstance(stored.get("untracked"), list) else []
    carried = {"index": stat_key(after), "folder": folder_key, "settled": False,  # untracked files: listed again
               "untracked": sorted(str(name) for name in untracked if name not in updated),
               "dirty": {name: key for name, key in stored["dirty"].items() if name not in updated}}
    base = _base(stored)
    if base is not None:  # the files written now differ from the base commit too
        carried.update(base=base, staged=sorted({str(name) for name in stored["staged"]} | updated))
    return carried
