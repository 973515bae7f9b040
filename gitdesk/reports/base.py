"""What every report shares: periods, facts loaded once, cells that carry the
ticket IDs behind their numbers, statistics with their n, and SLA clocks.

Definitions (also in docs/reports.md; each report prints the ones it uses):
times are UTC; a period includes its start and excludes its end; the median
is the middle value (the mean of the two middle ones for an even count); the
90th percentile is the nearest-rank value (the ceil(0.9·n)-th smallest).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from gitdesk import timings, workflow
from gitdesk.cache import db, history, index
from gitdesk.calendar import Calendar
from gitdesk.desk import Desk
from gitdesk.durations import format_duration
from gitdesk.errors import ValidationError
from gitdesk.model import Config, Ticket
from gitdesk.timings import RESOLVED_STATUSES, Timings

DAY = timedelta(days=1)


# --- periods --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Period:
    since: datetime
    until: datetime  # excluded, unless the period runs up to now
    label: str
    # A report "until now" must count what happened this very second (clocks tick in seconds).
    through: bool = False

    def __contains__(self, moment: datetime) -> bool:
        return self.since <= moment < self.until or (self.through and moment == self.until)


def _midnight(value: datetime) -> datetime:
    return value.astimezone(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)


def window(since: datetime | None, until: datetime | None, granularity: str | None, now: datetime) -> Period:
    """The whole range a report covers; defaults: the last four weeks, three months
    (with --period month), or 30 days, ending now."""
    end = until or now
    if since is None:
        if granularity == "month":
            first = _midnight(end).replace(day=1)
            start = _add_months(first, -2)
        elif granularity == "week":
            start = _midnight(end) - timedelta(days=_midnight(end).weekday()) - 3 * timedelta(weeks=1)
        else:
            start = end - timedelta(days=30)
    else:
        start = since
    if start >= end:
        raise ValidationError("the period is empty: --since must come before --until")
    return Period(start, end, f"{_show(start)} to {_show(end, end=True)}", through=until is None)


def _show(moment: datetime, *, end: bool = False) -> str:
    """A date for a period's label; an end at midnight reads as the day before, inclusive."""
    moment = moment.astimezone(timezone.utc)
    if moment == _midnight(moment):
        return (moment - DAY if end else moment).strftime("%Y-%m-%d")
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def _add_months(moment: datetime, months: int) -> datetime:
    month = moment.month - 1 + months
    return moment.replace(year=moment.year + month // 12, month=month % 12 + 1, day=1)


def periods(whole: Period, granularity: str | None) -> list[Period]:
    """The calendar weeks (Monday first) or months that cover ``whole``, clipped to it."""
    if granularity is None:
        return [whole]
    if granularity not in ("week", "month"):
        raise ValidationError(f"unknown period {granularity!r}", hint="use week or month")
    found = []
    if granularity == "week":
        start = _midnight(whole.since) - timedelta(days=_midnight(whole.since).weekday())
    else:
        start = _midnight(whole.since).replace(day=1)
    while start < whole.until:
        if granularity == "week":
            end, label = start + timedelta(weeks=1), f"week of {start.strftime('%Y-%m-%d')}"
        else:
            end, label = _add_months(start, 1), start.strftime("%Y-%m")
        found.append(Period(max(start, whole.since), min(end, whole.until), label,
                            through=whole.through and end >= whole.until))
        start = end
    return found


# --- cells and sections -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Cell:
    """A figure in a report: what kind of figure it is, its value, and the tickets behind it.

    The text people read is made from the kind in ``gitdesk.render``; JSON carries all
    three (``{"kind": "count", "value": 4, "ids": [...]}``). Kinds: ``text``, ``count``,
    ``number``, ``duration`` (seconds), ``durations`` (median, p90, n), ``rate`` (rate,
    count, of), ``change`` (a signed count), ``ticket`` and ``date``."""

    kind: str
    value: Any
    ids: tuple[str, ...] = ()
    day: int = 86400  # a day's seconds when durations are shown: 24 hours, or one working day

    def as_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "value": self.value, "ids": list(self.ids)}

    @property
    def text(self) -> str:
        """What people read, made from the kind at output time (never stored)."""
        value = self.value
        if value is None:
            return "-"
        if self.kind == "duration":
            return format_duration(value, day=self.day)
        if self.kind == "durations":
            if not value["n"]:
                return "-"
            return (f"{format_duration(value['median'], day=self.day)} / "
                    f"{format_duration(value['p90'], day=self.day)} (n={value['n']})")
        if self.kind == "rate":
            return f"{value['rate']:.0%} ({value['count']}/{value['of']})"
        if self.kind == "change":
            return f"{value:+d}"
        if self.kind == "number":
            return f"{value:.1f}" if isinstance(value, float) else str(value)
        return str(value)

    @property
    def magnitude(self) -> float:
        """The number a chart draws for this cell (0 when it has none)."""
        value = self.value
        if isinstance(value, dict):
            value = value.get("median", value.get("rate"))
        return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else 0.0


def text(value: str | None) -> Cell:
    return Cell("text", value)


def count(ids: Iterable[str]) -> Cell:
    listed = tuple(sorted(set(ids)))
    return Cell("count", len(listed), listed)


def number(value: float | None, ids: Iterable[str] = ()) -> Cell:
    """A plain figure such as an average score (two decimals kept, one shown)."""
    return Cell("number", None if value is None else round(value, 2), tuple(sorted(set(ids))))


def duration(seconds: float | None, ids: Iterable[str] = (), *, day: int = 86400) -> Cell:
    return Cell("duration", None if seconds is None else round(seconds), tuple(sorted(set(ids))), day)


def change(value: int) -> Cell:
    return Cell("change", value)


def ticket(ticket_id: str) -> Cell:
    return Cell("ticket", ticket_id, (ticket_id,))


def day(moment: datetime) -> Cell:
    return Cell("date", moment.strftime("%Y-%m-%d"))


def median(values: Sequence[float]) -> float | None:
    ordered = sorted(values)
    if not ordered:
        return None
    middle = len(ordered) // 2
    return float(ordered[middle]) if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def percentile90(values: Sequence[float]) -> float | None:
    ordered = sorted(values)
    if not ordered:
        return None
    return float(ordered[max(0, math.ceil(0.9 * len(ordered)) - 1)])


def stat(samples: dict[str, float], *, day: int = 86400) -> Cell:
    """Median and 90th percentile of durations (seconds), with n and the tickets behind them.
    A sample's key is a ticket id, or ``id@time`` when a ticket gives several."""
    values = list(samples.values())
    mid, p90 = median(values), percentile90(values)
    return Cell("durations", {"median": None if mid is None else round(mid), "p90": None if p90 is None
                              else round(p90), "n": len(values)},
                tuple(sorted({key.split("@", 1)[0] for key in samples})), day)


def rate(part: Iterable[str], whole: Iterable[str]) -> Cell:
    numerator, denominator = sorted(set(part)), sorted(set(whole))
    if not denominator:
        return Cell("rate", None)
    return Cell("rate", {"rate": round(len(numerator) / len(denominator), 4), "count": len(numerator),
                         "of": len(denominator)}, tuple(numerator))


@dataclass(frozen=True, slots=True)
class Column:
    key: str  # stable, for scripts
    label: str  # for people


def columns(*names: str | tuple[str, str]) -> list[Column]:
    """Columns from labels (the key is the label with underscores) or (key, label) pairs."""
    return [Column(*name) if isinstance(name, tuple) else Column(name.replace(" ", "_"), name) for name in names]


@dataclass
class Section:
    key: str
    title: str
    columns: list[Column]
    rows: list[list[Cell]] = field(default_factory=list)
    chart: int | None = None  # a column whose numbers get a bar in terminal output
    note: str = ""


@dataclass
class Report:
    name: str
    title: str
    period: Period
    sections: list[Section]
    findings: list[str]
    definitions: list[str]
    scope: str = ""  # e.g. "queue it-helpdesk"


# --- facts --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Scope:
    queue: str | None = None
    team: str | None = None


class Facts:
    """Everything a report needs, read once: tickets (with conversation facts),
    their status and assignee histories, and their timings."""

    def __init__(self, desk: Desk, now: datetime, scope: Scope) -> None:
        self.desk = desk
        self.config: Config = desk.config
        self.now = now
        if scope.queue is not None and scope.queue not in desk.config.queues:
            raise ValidationError(f"unknown queue {scope.queue!r}",
                                  hint=f"expected one of: {', '.join(desk.config.queues)}")
        teams = {person.team for person in desk.config.people.values() if person.team}
        if scope.team is not None and scope.team not in teams:
            raise ValidationError(f"unknown team {scope.team!r}", hint=f"teams: {', '.join(sorted(teams))}")
        with db.connect(desk) as connection:
            found, _ = index.tickets(desk, connection)
        self.all = found
        self.tickets = [t for t in found if self._in_scope(t, scope)]
        self.scope = scope
        self._histories: dict[str, list[tuple[datetime, str]]] = {}
        self._resolutions: dict[str, list[datetime]] = {}

    # Read from the audit log only when a report asks: each costs a pass over the cache.
    @functools.cached_property
    def _status_log(self) -> tuple[dict[str, list[tuple[datetime, str]]], dict[str, list[history.StatusChange]]]:
        return history.status_log(self.desk)

    @property
    def statuses(self) -> dict[str, list[tuple[datetime, str]]]:
        return self._status_log[0]

    @property
    def status_changes(self) -> dict[str, list[history.StatusChange]]:
        return self._status_log[1]

    @functools.cached_property
    def timings(self) -> dict[str, Timings]:
        return {t.id: timings.derive(self.config, t, self.statuses.get(t.id, ()), self.now) for t in self.tickets}

    def _in_scope(self, ticket: Ticket, scope: Scope) -> bool:
        if scope.queue is not None and ticket.queue != scope.queue:
            return False
        return scope.team is None or self.team_of(ticket.assignee) == scope.team

    def team_of(self, who: str | None) -> str | None:
        person = self.config.person(who) if who else None
        return person.team if person else None

    def history(self, ticket: Ticket) -> list[tuple[datetime, str]]:
        """(when, status) from creation on; the file has the last word on the status now."""
        events = self._histories.get(ticket.id)
        if events is None:
            events = list(self.statuses.get(ticket.id, ()))
            if not events or events[-1][1] != ticket.status:
                events.append((max(events[-1][0], ticket.created) if events else ticket.created, ticket.status))
            self._histories[ticket.id] = events
        return events

    def status_at(self, ticket: Ticket, moment: datetime) -> str | None:
        """The ticket's status at ``moment`` (None before it existed)."""
        if ticket.created > moment:
            return None
        events = self.history(ticket)
        if events[-1][0] <= moment:  # most tickets stopped changing long before: no walk
            return events[-1][1]
        current: str | None = None
        for at, status in events:
            if at > moment:
                break
            current = status
        return current or self.history(ticket)[0][1]

    def unfinished_at(self, ticket: Ticket, moment: datetime) -> bool:
        status = self.status_at(ticket, moment)
        return status is not None and not workflow.is_done(self.config, status)

    def resolutions(self, ticket: Ticket) -> list[datetime]:
        """Every move into a resolved status (not from another resolved one)."""
        found = self._resolutions.get(ticket.id)  # asked once per ticket per period: worth keeping
        if found is None:
            found, previous = [], None
            for at, status in self.history(ticket):
                if status in RESOLVED_STATUSES and previous not in RESOLVED_STATUSES:
                    found.append(at)
                previous = status
            self._resolutions[ticket.id] = found
        return found

    def reopenings(self, ticket: Ticket) -> list[datetime]:
        found, previous = [], None
        for at, status in self.history(ticket):
            if previous is not None and workflow.is_done(self.config, previous) \
                    and not workflow.is_done(self.config, status):
                found.append(at)
            previous = status
        return found

    def resolver(self, ticket: Ticket, moment: datetime) -> str | None:
        """Who moved the ticket into a resolved status at ``moment``."""
        for at, _before, after, who in self.status_changes.get(ticket.id, ()):
            if at == moment and after in RESOLVED_STATUSES:
                return who
        return ticket.assignee

    def pending_intervals(self, ticket: Ticket) -> list[tuple[datetime, datetime]]:
        events = self.history(ticket)
        spans = []
        for number, (at, status) in enumerate(events):
            if status == workflow.PENDING:
                end = events[number + 1][0] if number + 1 < len(events) else self.now
                spans.append((at, end))
        return spans


# --- SLA clocks ----------------------------------------------------------------------


def elapsed(start: datetime, end: datetime, clock: Calendar,
            excluded: Sequence[tuple[datetime, datetime]] = ()) -> float:
    """Time between two moments on ``clock``, minus ``excluded`` spans."""
    total = clock.elapsed(start, end)
    for a, b in excluded:
        a, b = max(a, start), min(b, end)
        if b > a:
            total -= clock.elapsed(a, b)
    return max(0.0, total)
