"""The desk lock: one writer at a time per clone.

An ``flock`` on ``.git/gitdesk/lock``: the kernel drops it when the holder
dies, so a crashed or killed process can never leave the desk stuck, and
there is no stale lock to detect by guesswork. The holder's pid is written
into the file only to name it in the timeout message.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from gitdesk.errors import LockTimeout

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

DEFAULT_TIMEOUT = 60.0


@contextmanager
def desk_lock(directory: Path, timeout: float = DEFAULT_TIMEOUT, name: str = "lock") -> Iterator[None]:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    handle = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        _acquire(handle, path, timeout)
        os.ftruncate(handle, 0)
        os.write(handle, f"{os.getpid()}\n".encode())
        try:
            yield
        finally:
            if fcntl is not None:
                fcntl.flock(handle, fcntl.LOCK_UN)
    finally:
        os.close(handle)


def _acquire(handle: int, path: Path, timeout: float) -> None:
    if fcntl is None:  # pragma: no cover - no flock: fall back to no locking
        return
    deadline = time.monotonic() + timeout
    delay = 0.005
    while True:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                holder = path.read_text(errors="replace").strip() or "unknown"
                raise LockTimeout(
                    f"another gitdesk process (pid {holder}) has been writing to this desk for over {timeout:.0f}s",
                    hint="wait for it to finish, or stop it; the lock frees itself when it exits",
                ) from None
            time.sleep(delay)
            delay = min(delay * 2, 0.1)
