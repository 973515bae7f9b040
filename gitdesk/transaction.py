"""All-or-nothing writes: files replaced atomically and committed, or nothing.

The order is chosen so that a kill at any instant is recoverable:

1. build the commit object first (objects nobody points at are harmless);
2. write a journal in ``.git/gitdesk/journal.json`` with the old file bytes,
   the old HEAD and the new commit;
3. replace the work-tree files (temp file + rename: never half-written);
4. move HEAD with a compare-and-swap, then record the files in the index;
5. delete the journal.

If anything fails in-process, the old bytes go back and HEAD is restored.
If the process is killed, the next writer finds the journal (under the desk
lock) and finishes the job: forward if HEAD already moved, back if not.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from gitdesk import git, paths
from gitdesk.clock import git_date
from gitdesk.errors import GitdeskError, GitError, UnsafePath

JOURNAL = "journal.json"


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write(path: Path, data: bytes, *, create_new: bool = False) -> None:
    """Replace ``path`` with ``data`` via a temp file and a rename.

    With ``create_new`` the file must not exist yet, and an existing one is
    never overwritten (a hard link is atomic and exclusive).
    """
    temp = _temp_copy(path, data, durable=True)
    try:
        _put(temp, path, create_new)
    finally:
        temp.unlink(missing_ok=True)


def _temp_copy(path: Path, data: bytes, *, durable: bool) -> Path:
    """``data`` in a temp file beside ``path`` (on its disk when ``durable``)."""
    paths.refuse_link(path, str(path))
    temp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0), 0o666 & ~_umask())
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            if durable:
                os.fsync(handle.fileno())
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return temp


def _put(temp: Path, path: Path, create_new: bool) -> None:
    if create_new:
        try:
            os.link(temp, path)
        except FileExistsError:
            raise UnsafePath(f"{path.name} already exists; refusing to write over it",
                             path=str(path)) from None
        except OSError:  # no hard links here: the desk lock keeps this check-then-rename safe
            if path.exists():
                raise UnsafePath(f"{path.name} already exists; refusing to write over it",
                                 path=str(path)) from None
            os.replace(temp, path)
    else:
        os.replace(temp, path)


_MANY = 8  # files in one landing from which one sync of the disks is cheaper than one each


def _filesystem_sync(top: Path) -> Callable[[], None] | None:
    """Linux's syncfs(2) for the file system ``top`` is on: only its writes are waited for (a
    machine-wide sync would wait for every disk, a backup's gigabytes or a hung NFS mount)."""
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    try:
        call = ctypes.CDLL(None, use_errno=True).syncfs
    except (OSError, AttributeError):
        return None

    def sync() -> None:
        fd = os.open(top, os.O_RDONLY)
        try:
            if call(fd) != 0:
                number = ctypes.get_errno()
                raise OSError(number, os.strerror(number))
        finally:
            os.close(fd)

    return sync


def write_files(top: Path, files: Mapping[str, bytes | None], new_files: frozenset[str] = frozenset()) -> None:
    """Put ``files`` (None: delete) in the work tree, each through a temp file and a rename.
    Many (an import, a rules run): all written first and made durable with one sync of the
    desk's file system, not one fsync each (2 ms apiece: 20 s for an import of 10,000
    tickets); where that cannot be asked for, one fsync each."""
    sync = _filesystem_sync(top) if len(files) >= _MANY else None
    if sync is None:
        for path, data in files.items():
            target = top / path
            if data is None:
                target.unlink(missing_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(target, data, create_new=path in new_files)
        return
    temps: list[tuple[Path, Path, bool]] = []
    try:
        for path, data in files.items():
            if data is not None:
                target = top / path
                target.parent.mkdir(parents=True, exist_ok=True)
                temps.append((_temp_copy(target, data, durable=False), target, path in new_files))
        sync()
        for path, data in files.items():
            if data is None:
                (top / path).unlink(missing_ok=True)
        for temp, target, create_new in temps:
            _put(temp, target, create_new)
    finally:
        for temp, _, _ in temps:
            temp.unlink(missing_ok=True)


def commit_files(
    repo: git.Repo,
    files: Mapping[str, bytes | None],
    message: str,
    author: tuple[str, str],
    when: datetime,
    *,
    new_files: frozenset[str] = frozenset(),
    sign: bool | None = None,
) -> str:
    """Write ``files`` (repo-relative paths; None deletes) and commit exactly them
    (signed as ``sign`` says; None: as Git's config says). Returns the commit id."""
    branch, parent = git.head(repo)
    if branch is None:
        raise GitError("HEAD is detached; gitdesk commits to a branch", hint=git.detached_hint(repo))
    for path in files:
        _refuse_linked_parents(repo.top, path)
    try:
        commit = git.create_commit(repo, parent, files, message, author, git_date(when), sign=sign)
    except OSError as error:  # .git/gitdesk full or read-only: nothing is written yet
        raise _not_written("could not build the commit", error) from error
    return land(repo, parent, commit, files, message.splitlines()[0], new_files=new_files)


def commit_series(repo: git.Repo, steps: Sequence[git.CommitStep], reason: str,
                  advance: Callable[[int], None] | None = None) -> str | None:
    """Several commits on top of HEAD (e.g. an import's backdated history), landed at once:
    the work tree gets each file's last version. None when there was nothing to commit.
    ``advance(1)`` as each is handed to Git (thousands take a minute)."""
    branch, parent = git.head(repo)
    if branch is None:
        raise GitError("HEAD is detached; gitdesk commits to a branch", hint=git.detached_hint(repo))
    final: dict[str, bytes | None] = {}
    for step in steps:
        for path in step.files:
            _refuse_linked_parents(repo.top, path)
        final.update(step.files)
    if not steps:
        return None
    try:
        commit = git.fast_import(repo, parent, steps if advance is None else _counted(steps, advance))
    except OSError as error:  # fast-import's pipe, a full disk: nothing is written yet
        raise _not_written("could not build the commits", error) from error
    if commit is None:
        return None
    existing = {path for path in final if (repo.top / path).exists()}
    return land(repo, parent, commit, final, reason, new_files=frozenset(final) - existing)


def _counted(steps: Sequence[git.CommitStep], advance: Callable[[int], None]) -> Iterator[git.CommitStep]:
    for step in steps:
        yield step
        advance(1)


def land(repo: git.Repo, parent: str | None, commit: str, files: Mapping[str, bytes | None], reason: str,
         *, new_files: frozenset[str] = frozenset()) -> str:
    """Move HEAD from ``parent`` to ``commit`` and put ``files`` in the work tree, all or nothing."""
    old: dict[str, bytes | None] = {}
    journal = repo.state_dir / JOURNAL
    try:
        for path in files:
            target = repo.top / path
            old[path] = None if path in new_files else _read_or_none(target)
        _write_journal(journal, parent, commit, old, repo, files)
    except OSError as error:  # a full disk, a read-only .git: nothing is written yet
        journal.with_suffix(".tmp").unlink(missing_ok=True)
        raise _not_written("could not write the journal in .git/gitdesk", error) from error
    moved = False
    try:
        write_files(repo.top, files, new_files)
        git.move_head(repo, commit, parent, f"gitdesk: {reason}")
        moved = True
        git.refresh_index(repo, files)
    except BaseException as error:
        _roll_back(repo, old, files, commit if moved else None, parent)
        journal.unlink(missing_ok=True)
        if isinstance(error, OSError):  # a full disk, a name the file system refuses: rolled back, say so
            raise _not_written("could not write the files", error) from error
        raise
    journal.unlink(missing_ok=True)
    return commit


def _not_written(what: str, error: OSError) -> GitdeskError:
    """A write the machine refused (no space, too large, read-only), after everything was put back."""
    return GitdeskError(f"{what}: {error.strerror or error}",
                        hint="nothing was changed; free some disk space or fix the permissions, then run the "
                             "command again")


def _refuse_linked_parents(top: Path, path: str) -> None:
    """A folder on the way to a file we write must be a real folder inside the
    work tree, never a link a hostile commit planted (attachments/ -> /etc)."""
    paths.inside(top, path)


def _read_or_none(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except (FileNotFoundError, NotADirectoryError):
        return None


def _write_journal(journal: Path, parent: str | None, commit: str, old: Mapping[str, bytes | None],
                   repo: git.Repo, files: Mapping[str, bytes | None]) -> None:
    record = {
        "old_head": parent,
        "new_head": commit,
        "files": {
            path: {
                "old": None if data is None else base64.b64encode(data).decode(),
                "new": None if files[path] is None else git.blob_id(repo, files[path] or b""),
            }
            for path, data in old.items()
        },
    }
    temp = journal.with_suffix(".tmp")
    with open(temp, "w", encoding="utf-8") as handle:
        json.dump(record, handle)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temp, journal)


def _roll_back(repo: git.Repo, old: Mapping[str, bytes | None], files: Mapping[str, bytes | None],
               moved_to: str | None, parent: str | None) -> None:
    if moved_to is not None:
        try:
            if parent is None:
                git.run(repo, "update-ref", "-d", "HEAD", moved_to)
            else:
                git.move_head(repo, parent, moved_to, "gitdesk: roll back")
        except GitError:
            pass  # HEAD moved on again; leave it rather than lose someone else's commit
    for path, data in old.items():
        target = repo.top / path
        with contextlib.suppress(OSError):  # undo what can be undone; one stubborn file must not stop the rest
            current = _read_or_none(target)
            if current != files[path]:
                continue  # not ours any more
            if data is None:
                target.unlink(missing_ok=True)
            else:
                atomic_write(target, data)
    with contextlib.suppress(GitError):
        git.refresh_index(repo, [p for p in old if (repo.top / p).exists()])


def glob_escape(name: str) -> str:
    return "".join(f"[{char}]" if char in "*?[" else char for char in name)


def recover(repo: git.Repo, *, keep_journal: bool = False) -> str | None:
    """Finish or undo an action a killed process left half done. Call under the desk lock.

    Returns what was done ("completed" / "rolled back"), or None when there was nothing.
    Runs before every gitdesk writer and in the pre-commit hook: a kill after HEAD moved
    leaves the index holding the old versions, and a plain ``git commit`` would quietly
    commit them back. ``keep_journal`` when the index fixed is not the clone's own (a
    commit of named paths): the next recovery fixes the real one.
    """
    journal = repo.state_dir / JOURNAL
    try:
        record = json.loads(journal.read_text(encoding="utf-8"))
        if not isinstance(record, dict) or not isinstance(record.get("files", {}), dict):
            raise ValueError("not a journal")
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        with contextlib.suppress(OSError):  # unreadable or not ours: nothing in it can be trusted to act on
            journal.unlink(missing_ok=True)
        return None
    try:
        outcome = _recover(repo, record)
    except OSError as error:
        raise GitdeskError(f"could not finish an action an interrupted gitdesk left half done: "
                           f"{error.strerror or error}",
                           hint="free some disk space or fix the permissions, then run the command again; "
                                ".git/gitdesk/journal.json keeps what is needed") from error
    if not keep_journal:
        journal.unlink(missing_ok=True)
    return outcome


def _recover(repo: git.Repo, record: dict[str, Any]) -> str:
    _, current = git.head(repo)
    files: dict[str, dict[str, str | None]] = {}
    for path, states in record.get("files", {}).items():
        try:
            paths.inside(repo.top, path)  # the journal lives in .git, but a path is still only a name
        except UnsafePath:
            continue
        if isinstance(states, dict) and all(isinstance(states.get(k), (str, type(None))) for k in ("old", "new")):
            files[path] = states
    temps: list[str] = []
    for path in files:  # a write cut short leaves its temp file; the lock says its writer is gone
        target = repo.top / path
        with contextlib.suppress(OSError):
            for temp in target.parent.glob(f".{glob_escape(target.name)}.tmp-*"):
                temp.unlink(missing_ok=True)
                temps.append(temp.relative_to(repo.top).as_posix())
    if temps:  # a "git add -A" before this ran staged them: out of the commit under way too
        git.run(repo, "rm", "--cached", "-q", "--ignore-unmatch", "--", *(f":(literal){temp}" for temp in temps),
                check=False)
    if current is not None and current == record.get("new_head"):
        # The commit landed; the index may still hold the old versions. Give it the
        # committed ones, from the commit itself, not from the work tree.
        old_head = record.get("old_head")
        # (No old HEAD: the first commit, and a stale index simply lacks the files.)
        git.index_to_commit(repo, current, list(files), stale_tree=old_head if isinstance(old_head, str) else None)
        return "completed"
    if current != record.get("old_head"):
        # HEAD moved on since (a commit, a reset, a pull): nothing here is ours to undo. But
        # when the action landed and a commit was made on top (git commit with paths can
        # only fix its own temporary index), the index may still hold the versions from
        # before the action: a later commit would quietly take them back.
        new_head, old_head = record.get("new_head"), record.get("old_head")
        if current is not None and isinstance(new_head, str) and isinstance(old_head, str) \
                and git.is_ancestor(repo, new_head, current):
            git.index_to_commit(repo, current, list(files), stale_tree=old_head)
        return "left alone"
    restored: dict[str, str] = {}  # path -> the half-written blob a commit under way may have staged
    for path, states in files.items():
        target = repo.top / path
        data = _read_or_none(target)
        if states.get("new") is None:  # we deleted it: put it back if it is still gone
            if data is None and states.get("old") is not None:
                atomic_write(target, base64.b64decode(states["old"] or ""))
            continue
        if data is None or git.blob_id(repo, data) != states.get("new"):
            continue  # never written, or changed since: not ours to touch
        previous = states.get("old")
        if previous is None:
            target.unlink()
        else:
            atomic_write(target, base64.b64decode(previous))
        restored[path] = str(states["new"])
    if restored and current is not None:
        # A commit under way (git commit -a) may have staged the half-written files already.
        git.index_to_commit(repo, current, list(restored), stale_blobs=restored)
    return "rolled back"
