"""Progress for long work: a bar on a terminal's stderr, nothing when piped.

``bar`` fits ``gitdesk.desk.Progress``: the command line sets ``desk.progress
= bar`` and library code reports through it without knowing who shows it.
A bar appears after half a second, so quick work never flickers, and a long
first step shows a bar (with a spinner) before anything is counted.
"""

from __future__ import annotations

import sys
import threading
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
    lock = threading.Lock()
    state: dict[str, Any] = {"done": 0, "progress": None, "task": None, "over": False}

    def show() -> None:  # after SHOW_AFTER, advanced or not: a first step may itself be long
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            SpinnerColumn,
            TextColumn,
            TimeRemainingColumn,
        )

        with lock:
            if state["over"]:
                return
            progress = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                TimeRemainingColumn(), console=Console(stderr=True), transient=True)
            progress.start()
            state["progress"] = progress
            state["task"] = progress.add_task(label, total=total, completed=state["done"])

    def advance(amount: int = 1) -> None:
        with lock:
            state["done"] += amount
            if state["progress"] is not None:
                state["progress"].update(state["task"], completed=state["done"])

    timer = threading.Timer(SHOW_AFTER, show)
    timer.daemon = True
    timer.start()
    try:
        yield advance
    finally:
        timer.cancel()
        with lock:
            state["over"] = True
            if state["progress"] is not None:
                state["progress"].stop()
