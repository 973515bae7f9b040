"""Parsing spread over the machine's cores, for the cold builds of the cache.

Reading ticket files is pure Python (the GIL holds threads to one core),
so large builds hand chunks of work to a few worker processes and take the
results back in order: the rows written are the same as a serial pass
would give. Small jobs never start a pool at all.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from itertools import islice
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from concurrent.futures import Future

# multiprocessing and concurrent.futures are imported where a pool starts: every command
# imports this module (through the cache), and only cold builds use them (20 ms saved).

AHEAD = 6  # jobs in flight per worker
Job = TypeVar("Job")
Result = TypeVar("Result")


def cores() -> int:
    """The cores this process may run on (a container or taskset may allow fewer than the machine has)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - macOS, Windows
        return os.cpu_count() or 1


def _can_fork() -> bool:
    """Workers are forked: they start in milliseconds with everything imported, and the
    entry point is never run again (spawn would re-run ``python -m gitdesk``). Only on
    Linux (macOS's system frameworks break under fork) and from a single thread (a fork
    copies another thread's held locks, never their release)."""
    return sys.platform.startswith("linux") and threading.active_count() == 1


def _start_worker() -> None:
    # Ctrl-C reaches every process in the terminal's group: the parent stops the work,
    # the workers must not each print a traceback.
    import multiprocessing

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # A forked worker shares the parent's open files, its desk lock among them: if the
    # parent is killed, the worker must not wait for work forever and keep the lock held.
    parent = multiprocessing.parent_process()
    if parent is not None:
        threading.Thread(target=_exit_with, args=(parent.sentinel,), daemon=True).start()


def _exit_with(parent_sentinel: int) -> None:
    import multiprocessing.connection

    multiprocessing.connection.wait([parent_sentinel])
    os._exit(1)


@contextlib.contextmanager
def map_in_order(function: Callable[[Job], Result], jobs: Sequence[Job], *,
                 parallel: bool) -> Iterator[Iterator[Result]]:
    """``function(job)`` for every job, in order. With ``parallel`` and more than one core
    the jobs run in worker processes (``function`` and the jobs must pickle), a few ahead
    of the caller so the caller's own work (writing SQLite) overlaps with theirs. Leaving
    the ``with`` block early cancels what has not started and waits for the rest."""
    workers = min(cores(), len(jobs))
    if not parallel or workers < 2 or not _can_fork():
        yield map(function, jobs)
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_start_worker) as pool:
        # Enough in flight that the workers keep going while the caller writes a slow chunk (a
        # commit, a merge of the full-text index), few enough that results wait in memory briefly.
        queued = iter(jobs)
        waiting: deque[Future[Result]] = deque(pool.submit(function, job) for job in islice(queued, AHEAD * workers))

        def results() -> Iterator[Result]:
            while waiting:
                result = waiting.popleft().result()
                waiting.extend(pool.submit(function, job) for job in islice(queued, 1))
                yield result

        try:
            yield results()
        finally:
            for future in waiting:
                future.cancel()
