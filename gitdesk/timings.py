"""Derived timings of a ticket: response, waiting, resolution, reopenings, time spent.

Status moves come from the audit log (Git history, through the cache), the
conversation from the ticket itself. Definitions, written once for reports
to reuse:

- first response: the first public entry (reply or question) by someone
  other than the requester;
- pending: time spent in the waiting status (``pending``), waiting on the
  requester; reported apart and excluded from resolution times;
- resolved at: the last move into a resolved status (``resolved``, or
  ``closed`` straight from an open one) of a ticket that is finished now;
  first resolved at: the first such move ever;
- resolution time: created → resolved at, minus pending time in between
  (first resolution time likewise, up to the first resolution);
- reopen count: moves from a finished status back to an unfinished one;
- escalation count: escalation entries; time spent: the sum of time entries.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from gitdesk import workflow
from gitdesk.durations import parse_duration
from gitdesk.errors import GitdeskError
from gitdesk.model import ESCALATION, QUESTION, REPLY, TIME, Config, Ticket

RESOLVED_STATUSES = (workflow.RESOLVED, workflow.CLOSED)


@dataclass(frozen=True, slots=True)
class TimeEntry:
    at: datetime
    author: str
    seconds: int
    text: str


@dataclass(frozen=True, slots=True)
class Timings:
    created: datetime
    first_response_at: datetime | None
    first_response_seconds: int | None
    pending_seconds: int
    first_resolved_at: datetime | None
    resolved_at: datetime | None
    first_resolution_seconds: int | None
    resolution_seconds: int | None
    reopen_count: int
    escalation_count: int
    time_spent_seconds: int
    time_entries: tuple[TimeEntry, ...]

    def as_dict(self) -> dict[str, object]:
        from gitdesk.clock import format_utc

        def when(value: datetime | None) -> str | None:
            return None if value is None else format_utc(value)

        return {
            "created": when(self.created),
            "first_response_at": when(self.first_response_at),
            "first_response_seconds": self.first_response_seconds,
            "pending_seconds": self.pending_seconds,
            "first_resolved_at": when(self.first_resolved_at),
            "resolved_at": when(self.resolved_at),
            "first_resolution_seconds": self.first_resolution_seconds,
            "resolution_seconds": self.resolution_seconds,
            "reopen_count": self.reopen_count,
            "escalation_count": self.escalation_count,
            "time_spent_seconds": self.time_spent_seconds,
            "time_entries": [{"at": when(e.at), "author": e.author, "seconds": e.seconds, "text": e.text}
                             for e in self.time_entries],
        }


def _seconds(delta: timedelta) -> int:
    return max(0, int(delta.total_seconds()))


def derive(config: Config, ticket: Ticket, statuses: Sequence[tuple[datetime, str]], now: datetime) -> Timings:
    """Timings of ``ticket`` from its status history ``[(when, status), …]`` (oldest first)."""
    history = list(statuses) or [(ticket.created, ticket.status)]
    if history[-1][1] != ticket.status:  # uncommitted or history-less: the file has the last word
        history.append((max(history[-1][0], ticket.created), ticket.status))
    intervals = [(at, (history[i + 1][0] if i + 1 < len(history) else now), status)
                 for i, (at, status) in enumerate(history)]

    def pending_until(end: datetime) -> int:
        total = 0
        for start, stop, status in intervals:
            if status == workflow.PENDING:
                total += _seconds(min(stop, end) - start)
        return total

    resolutions: list[datetime] = []
    reopens = 0
    previous: str | None = None
    for at, status in history:
        if previous is not None and workflow.is_done(config, previous) and not workflow.is_done(config, status):
            reopens += 1
        if status in RESOLVED_STATUSES and previous not in RESOLVED_STATUSES:
            resolutions.append(at)
        previous = status
    finished = workflow.is_done(config, ticket.status) and ticket.status in RESOLVED_STATUSES
    resolved_at = resolutions[-1] if finished and resolutions else None
    first_resolved_at = resolutions[0] if resolutions else None

    def resolution_time(end: datetime | None) -> int | None:
        if end is None:
            return None
        return max(0, _seconds(end - ticket.created) - pending_until(end))

    responses = [entry.at for entry in ticket.entries
                 if entry.kind in (REPLY, QUESTION) and not workflow.is_requester(config, ticket, entry.author)]
    first_response = min(responses) if responses else None
    entries = []
    for entry in ticket.entries:
        if entry.kind == TIME:
            try:
                seconds = int(parse_duration(entry.detail).total_seconds())
            except GitdeskError:
                continue  # a hand-written time entry that is not a duration
            entries.append(TimeEntry(entry.at, entry.author, seconds, entry.text))
    return Timings(
        created=ticket.created,
        first_response_at=first_response,
        first_response_seconds=None if first_response is None else _seconds(first_response - ticket.created),
        pending_seconds=pending_until(now),
        first_resolved_at=first_resolved_at,
        resolved_at=resolved_at,
        first_resolution_seconds=resolution_time(first_resolved_at),
        resolution_seconds=resolution_time(resolved_at),
        reopen_count=reopens,
        escalation_count=sum(1 for entry in ticket.entries if entry.kind == ESCALATION),
        time_spent_seconds=sum(entry.seconds for entry in entries),
        time_entries=tuple(entries),
    )
