"""The desk lock: one writer at a time per clone.

The lock is ``.git/gitdesk/lock``, taken through the ``filelock`` library so
it works wherever Python runs: an ``flock`` on POSIX and a ``msvcrt`` lock on
Windows, both dropped by the kernel when the holder dies (a killed process
never leaves the desk stuck); where neither exists, ``lock.soft``, a file
holding the owner's pid and host, which the next writer clears once that
process is gone.

The lock is re-entrant within a thread (``gitdesk sync`` rebuilds the
knowledge base while it holds it) and exclusive between threads and
processes. The holder's pid goes in a note beside the lock, only to name it
in the timeout message.
"""

from __future__ import annotations

import contextlib
import os
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType

from gitdesk.errors import GitdeskError, LockTimeout

DEFAULT_TIMEOUT = 60.0
POLL = 0.02  # seconds between tries while another writer holds the lock


def _filelock() -> ModuleType:
    # Imported here: only writers pay for it (~15 ms), never `gitdesk list` or `--help`.
    with warnings.catch_warnings():
        # Without fcntl, filelock warns that only its lock file is available; that lock
        # is the one we want there, and a warning would reach the user's terminal.
        warnings.simplefilter("ignore")
        import filelock
    return filelock


@contextmanager
def desk_lock(directory: Path, timeout: float = DEFAULT_TIMEOUT, name: str = "lock") -> Iterator[None]:
    filelock = _filelock()
    path = directory / name
    if sys.platform != "win32" and not filelock.has_fcntl:
        # The lock file of a kernel lock stays behind, empty, and an empty file reads
        # as a live holder to the lock-file kind: the two kinds never share a name.
        path = directory / f"{name}.soft"
    holder = directory / f"{name}.holder"
    try:
        directory.mkdir(parents=True, exist_ok=True)
        # One lock object per path in this process: re-entrant in one thread, and the
        # same options every time (filelock refuses a second object that differs).
        lock = filelock.FileLock(path, is_singleton=True, poll_interval=POLL)
        lock.acquire(timeout=timeout)
    except filelock.Timeout:
        raise LockTimeout(
            f"another gitdesk process ({_holder(holder)}) has been writing to this desk for over {timeout:.0f}s",
            hint="wait for it to finish, or stop it; the lock frees itself when it exits",
        ) from None
    except OSError as error:
        raise GitdeskError(f"cannot take the desk lock {path}: {error.strerror or error}",
                           hint="make .git/gitdesk and the files in it writable for you (and free some disk space), "
                                "then run the command again") \
            from None
    try:
        _note_holder(holder)
        yield
    finally:
        lock.release()


def _note_holder(holder: Path) -> None:
    with contextlib.suppress(OSError):  # only a name for a message; never a reason to fail
        holder.write_text(f"{os.getpid()}\n", encoding="utf-8")


def _holder(holder: Path) -> str:
    try:
        pid = holder.read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        pid = ""
    return f"pid {pid}" if pid.isdigit() else "pid unknown"
