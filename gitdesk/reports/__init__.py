"""Reports that make the case: queues, workload, training, assets, sla, feedback."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator
from datetime import datetime

from gitdesk.desk import Desk
from gitdesk.errors import ValidationError
from gitdesk.reports.base import Facts, Report, Scope, periods, window

NAMES = ("queues", "workload", "training", "assets", "sla", "feedback")
FROM_FILES_ONLY = ("training",)  # every other report reads the history, and refuses a shallow clone
FEW_TICKETS = ("feedback", "assets")  # these read the history of the tickets they show only (Facts.read_history)


def build(desk: Desk, name: str, *, since: datetime | None, until: datetime | None, period: str | None,
          scope: Scope, now: datetime) -> Report:
    """One report over ``since``..``until`` (defaults: see ``base.window``)."""
    with _collector_paused():
        return _build(desk, name, since=since, until=until, period=period, scope=scope, now=now)


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cycle collector paused while a report is made. A report holds a large heap of
    long-lived objects without cycles (every ticket, change and clock), which each full
    collection would walk again: a fifth of the time of a report over 10,000 tickets."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _build(desk: Desk, name: str, *, since: datetime | None, until: datetime | None, period: str | None,
           scope: Scope, now: datetime) -> Report:
    if name not in NAMES:
        raise ValidationError(f"unknown report {name!r}", hint=f"reports: {', '.join(NAMES)}")
    whole = window(since, until, period, now)
    buckets = periods(whole, period)
    # Judged at the period's end, or now if it runs on: what has not happened yet is not counted
    # (a target due tomorrow is not missed, a day to come holds no capacity).
    facts = Facts(desk, min(now, whole.until), scope)
    if name not in (*FROM_FILES_ONLY, *FEW_TICKETS):
        facts.read_history()
    from gitdesk.reports import assets, feedback, queues, sla, training, workload

    if name == "queues":
        report = queues.build(facts, whole)
    elif name == "workload":
        report = workload.build(facts, whole, buckets)
    elif name == "training":
        report = training.build(facts, whole)
    elif name == "assets":
        report = assets.build(facts, whole)
    elif name == "sla":
        report = sla.build(facts, whole)
    else:
        report = feedback.build(facts, whole, buckets if period else periods(whole, "week"))
    parts = [f"queue {scope.queue}" if scope.queue else "", f"team {scope.team}" if scope.team else ""]
    report.scope = ", ".join(part for part in parts if part)
    report.definitions += [f"Not known to the config (reported, not used as such): {value}."
                           for value in facts.unknown_values()]
    report.source = source(facts, report.files)
    report.unreadable = len(facts.unreadable)
    return report


def left_out(unreadable: int) -> str:
    """What a report says of the ticket files it could not read: in no figure, never unsaid."""
    from gitdesk.text import counted

    one = unreadable == 1
    return (f"{counted(unreadable, 'ticket file')} could not be read and {'is' if one else 'are'} in no figure "
            f"(gitdesk check names {'it' if one else 'them'})")


def source(facts: Facts, files: int | None = None) -> str:
    """Where a report's figures come from, in one line."""
    from gitdesk import git
    from gitdesk.text import counted

    _, head = git.head(facts.desk.repo)
    commit = f"commit {head[:10]}" if head else "no commit yet"
    edited = facts.uncommitted()
    if head and edited:  # the figures are the files as they are, not the commit alone
        commit += f" with uncommitted edits to {counted(edited, 'ticket file')}"
    files = len(facts.everything) if files is None else files
    history = f"and {'its' if files == 1 else 'their'} Git history" if facts.history_read else "(no history needed)"
    left = len(facts.unreadable)
    unreadable = (f", {left} of them unreadable and in no figure (gitdesk check names "
                  f"{'it' if left == 1 else 'them'})") if left else ""
    return (f"{counted(files, 'ticket file')} in tickets/ ({len(facts.all) + left} in the desk"
            f"{unreadable}) {history}, as of {commit}; the index and history cache under .git/gitdesk are rebuilt "
            "from them.")
