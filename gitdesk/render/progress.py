"""Progress for long work: a bar on a terminal's stderr, nothing when piped.

``bar`` fits ``gitdesk.desk.Progress``: the command line sets ``desk.progress
= bar`` and library code reports through it without knowing who shows it.
A bar appears only after half a second, so quick work never flickers.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

SHOW_AFTER = 0.5  # seconds


def enabled() -> bool:
    return sys.stderr.isatty()


@contextmanager
def bar(label: str, total: int | None = None) -> Iterator[Callable[[int], None]]:
    if not enabled():
        yield lambda amount: None
        return
    started = time.monotonic()
    state: dict[str, Any] = {"done": 0, "progress": None, "task": None}

    def advance(amount: int = 1) -> None:
        state["done"] += amount
        if state["progress"] is None:
            if time.monotonic() - started < SHOW_AFTER:
                return
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                TimeRemainingColumn(), console=Console(stderr=True), transient=True)
            progress.start()
            state["progress"], state["task"] = progress, progress.add_task(label, total=total)
        state["progress"].update(state["task"], completed=state["done"])

    try:
        yield advance
    finally:
        if state["progress"] is not None:
            state["progress"].stop()
