"""What every report shares: periods, facts loaded once, cells that carry the
ticket IDs behind their numbers, statistics with their n, and SLA clocks.

Definitions (also in docs/reports.md; each report prints the ones it uses):
times are UTC; a period includes its start and excludes its end; the median
is the middle value (the mean of the two middle ones for an even count); the
90th percentile is the nearest-rank value (the ceil(0.9·n)-th smallest).
"""

from __future__ import annotations

import bisect
import functools
import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from gitdesk import git, workflow
from gitdesk.cache import db, history, index
from gitdesk.calendar import Calendar
from gitdesk.desk import Desk
from gitdesk.durations import format_duration
from gitdesk.errors import ValidationError
from gitdesk.model import Config, Ticket
from gitdesk.timings import (
    RESOLUTION,
    RESOLVED_STATUSES,
    Change,
    Clocks,
    Escalation,
    Measure,
    Resolution,
    TimeEntry,
    Timings,
)

DAY = timedelta(days=1)


# --- periods --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Period:
    since: datetime
    until: datetime  # excluded, unless the period runs up to now
    label: str
    # A report "until now" must count what happened this very second (clocks tick in seconds).
    through: bool = False
    partial_start: bool = False  # a calendar week or month that the report's start cuts into
    partial_end: bool = False  # … or its end (--until, or now)

    def __contains__(self, moment: datetime) -> bool:
        return self.since <= moment < self.until or (self.through and moment == self.until)


def _midnight(value: datetime) -> datetime:
    return value.astimezone(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)


def window(since: datetime | None, until: datetime | None, granularity: str | None, now: datetime) -> Period:
    """The whole range a report covers; defaults: the last four weeks, three months
    (with --period month), or 30 days (today and the 29 whole UTC days before it), ending
    now. Each starts at a UTC midnight, so a report gives the same figures at 08:00 as at 17:00."""
    end = until or now
    if since is None:
        if granularity == "month":
            first = _midnight(end).replace(day=1)
            start = _add_months(first, -2)
        elif granularity == "week":
            start = _midnight(end) - timedelta(days=_midnight(end).weekday()) - 3 * timedelta(weeks=1)
        else:
            start = _midnight(end) - timedelta(days=29)
    else:
        start = since
    if start >= end:
        if until is None:  # no --until: the period ends now, and --since is later
            raise ValidationError(f"the period is empty: --since {_show(start)} is in the future",
                                  hint="give a start before today, or --until too")
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


WEEK_OF = "week of "  # the label of a week, before the date of its Monday


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
            end, label = start + timedelta(weeks=1), f"{WEEK_OF}{start.strftime('%Y-%m-%d')}"
        else:
            end, label = _add_months(start, 1), start.strftime("%Y-%m")
        found.append(Period(max(start, whole.since), min(end, whole.until), label,
                            through=whole.through and end >= whole.until, partial_start=start < whole.since,
                            partial_end=end > whole.until))
        start = end
    return found


# --- cells and sections -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Cell:
    """A figure in a report: what kind of figure it is, its value, and the tickets behind it.

    The text people read is made from the kind in ``gitdesk.render``; JSON carries all
    three (``{"kind": "count", "value": 4, "ids": [...]}``). Kinds: ``text``, ``count``,
    ``number``, ``duration`` (seconds), ``durations`` (median, p90, n), ``rate`` (rate,
    count, of), ``change`` (a signed count), ``ticket``, ``date`` and ``time`` (a moment: UTC
    ISO 8601 in JSON, "2026-11-04 08:00 UTC" for people)."""

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
            return f"{_percent(value['count'], value['of'])}% ({value['count']:g}/{value['of']:g})"  # 0.75/53
        if self.kind == "change":
            return f"{value:+d}"
        if self.kind == "time":  # "2026-11-04T08:00:00Z"
            return f"{value[:10]} {value[11:16]} UTC"
        if self.kind == "number":
            return figure(value) if isinstance(value, float) else str(value)
        return str(value)

    @property
    def magnitude(self) -> float:
        """The number a chart draws for this cell (0 when it has none)."""
        value = self.value
        if isinstance(value, dict):
            value = value.get("median", value.get("rate"))
        return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else 0.0


def _percent(count: float, of: float) -> int:
    """``count`` of ``of`` in whole percent, half up as a manager rounds by hand, from the two
    figures shown beside it (1 of 8 is 13 %, 23 of 40 is 58 %: floats and round() said 12 and 57)."""
    from decimal import ROUND_HALF_UP, Decimal

    if not of:
        return 0
    return int((Decimal(str(count)) * 100 / Decimal(str(of))).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def text(value: str | None) -> Cell:
    return Cell("text", value)


NO_CATEGORY = "(no category)"  # a ticket without one, where figures are by category


def count(ids: Iterable[str]) -> Cell:
    listed = tuple(sorted(set(ids)))
    return Cell("count", len(listed), listed)


def figure(value: float) -> str:
    """An average as a manager can check it: 4.0, 0.8, 1.25 (two decimals when the second
    counts: 5 tickets against an average of 1.25 are "4.0 times" it, not 1.2)."""
    shown = f"{value:.2f}"
    return shown[:-1] if shown.endswith("0") else shown


def number(value: float | None, ids: Iterable[str] = ()) -> Cell:
    """A plain figure such as an average score (two decimals kept and shown when they count)."""
    return Cell("number", None if value is None else round(value, 2), tuple(sorted(set(ids))))


def duration(seconds: float | None, ids: Iterable[str] = (), *, day: int = 86400) -> Cell:
    return Cell("duration", None if seconds is None else round(seconds), tuple(sorted(set(ids))), day)


def events(ids: Sequence[str]) -> Cell:
    """A count of events (a ticket resolved twice counts twice), with the tickets behind them."""
    return Cell("count", len(ids), tuple(sorted(set(ids))))


def change(value: int) -> Cell:
    return Cell("change", value)


def ticket(ticket_id: str) -> Cell:
    return Cell("ticket", ticket_id, (ticket_id,))


def moment(value: datetime | None) -> Cell:
    from gitdesk.clock import format_utc

    return Cell("time", format_utc(value) if value is not None else None)


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


def resolution_times(resolved: Iterable[tuple[Ticket, Resolution]]) -> dict[str, float]:
    """``stat``'s samples of resolutions: each one's seconds by ``id@time`` (a ticket resolved
    twice gives two); one whose time is not known (``Measure.known``) gives none."""
    return {f"{ticket.id}@{done.at.isoformat()}": done.seconds for ticket, done in resolved if done.measure.known}


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
    # How a cell reads on its own, where a narrow terminal lists a row's cells as prose: "{}"
    # is the value ("{} scored 2" reads "1 scored 2", where "2 1" said nothing). Empty: "label value".
    spoken: str = ""


def columns(*names: str | tuple[str, str] | tuple[str, str, str]) -> list[Column]:
    """Columns from labels (the key is the label with underscores) or (key, label[, spoken])."""
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
    findings: list[str]  # sentences a manager can paste
    definitions: list[str]
    scope: str = ""  # e.g. "queue it-helpdesk"
    evidence: list[tuple[str, ...]] = field(default_factory=list)  # the tickets behind each finding
    source: str = ""  # where the figures come from
    files: int | None = None  # ticket files the figures come from, where not the scope's (see feedback)
    unreadable: int = 0  # ticket files that could not be read, so are in no figure

    def __post_init__(self) -> None:
        self.evidence += [()] * (len(self.findings) - len(self.evidence))


class Findings:
    """Sentences with the tickets behind each, in the order they were said."""

    def __init__(self) -> None:
        self.texts: list[str] = []
        self.ids: list[tuple[str, ...]] = []

    def say(self, text: str, ids: Iterable[str] = ()) -> None:
        self.texts.append(text)
        self.ids.append(tuple(sorted(set(ids))))


class Timeline:
    """Events in time order, so that a period's are found by bisection instead of a pass over
    every ticket; each comes back in the order its ticket was given (then its own order)."""

    def __init__(self, events: list[tuple[datetime, int, int, Any]]) -> None:
        events.sort(key=lambda event: (event[0], event[1], event[2]))
        self.moments = [event[0] for event in events]
        self.events = events

    def within(self, period: Period) -> list[Any]:
        start = bisect.bisect_left(self.moments, period.since)
        end = (bisect.bisect_right if period.through else bisect.bisect_left)(self.moments, period.until)
        chosen = self.events[start:end]
        chosen.sort(key=lambda event: (event[1], event[2]))
        return [event[3] for event in chosen]


# --- facts --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Scope:
    queue: str | None = None
    team: str | None = None


class Facts:
    """Everything a report needs, read once: the tickets, their clocks (``timings.Clocks``)
    and each figure, computed here and nowhere else, so every report shows the same
    figure for the same period and scope the same way."""

    def __init__(self, desk: Desk, now: datetime, scope: Scope) -> None:
        self.desk = desk
        self.config: Config = desk.config
        self.now = now
        if scope.queue is not None and scope.queue not in desk.config.queues:
            raise ValidationError(f"unknown queue {scope.queue!r}",
                                  hint=f"expected one of: {', '.join(desk.config.queues)}")
        if scope.team is not None and scope.team not in desk.config.teams:
            raise ValidationError(f"unknown team {scope.team!r}", hint=f"teams: {', '.join(desk.config.teams)}")
        # Started now, read at the end (a tenth of a second at 100,000 tickets): the ticket files
        # a hand edit changed since the commit, so the report's source says they were counted.
        self._status = git.start(desk.repo, "--literal-pathspecs", "status", "--porcelain", "-z",
                                 "--untracked-files=all", "--no-renames", "--", desk.repo_path("tickets/"))
        with db.connect(desk) as connection:
            found, unreadable = index.tickets(desk, connection)
        self.all = found
        self.unreadable = unreadable  # files the figures cannot count: said, as list says it
        self.by_id = {t.id: t for t in found}
        self.scope = scope
        self.everything = [t for t in found if self._in_scope(t, scope)]  # noise included
        self.tickets = [t for t in self.everything if not self.noise(t)]  # the demand
        self.in_scope = {t.id for t in self.everything}
        self._clocks: dict[str, Clocks] = {}
        self._measures: dict[tuple[str, datetime], list[Measure]] = {}
        # Each read once per ticket: several sections (periods, teams, people) ask for them.
        self._resolutions: dict[str, list[Resolution]] = {}
        self._time_entries: dict[str, list[TimeEntry]] = {}
        self._reopenings: dict[str, list[datetime]] = {}
        self._first_entries: dict[str, datetime | None] = {}
        self._course: dict[str, list[datetime]] = {}
        self._per_set: dict[tuple[str, int], tuple[Sequence[Ticket], Any]] = {}
        self._decides: dict[tuple[str, datetime, datetime], bool] = {}
        self._settled: dict[str, tuple[datetime, list[datetime | None]]] = {}
        self.history_read = False
        self._changes: dict[str, list[Change]] | None = None
        self._active: dict[tuple[datetime, datetime], list[Ticket]] = {}
        self.clock = Calendar.for_queue(self.config, scope.queue)

    def uncommitted(self) -> int:
        """How many ticket files differ from the commit (staged, not staged or untracked)."""
        out, _ = self._status.communicate()
        return sum(1 for entry in out.split(b"\0") if entry.endswith(b".md")) if self._status.returncode == 0 else 0

    @property
    def changes(self) -> dict[str, list[Change]]:
        """Every ticket's changes from the audit log, read only when a report asks (it costs a
        pass over the cache)."""
        if self._changes is None:
            history.require_full(self.desk)
            self._changes = history.tracked_changes(self.desk)
        return self._changes

    def active(self, period: Period) -> list[Ticket]:
        """The tickets (demand) any figure of ``period`` can be about: unfinished at its start, or
        changed or written to within it. The others were finished before and left alone, so no
        figure of the period or of any part of it counts them; a report with many parts loops over
        these only."""
        key = (period.since, period.until)
        found = self._active.get(key)
        if found is None:
            found = self._active[key] = [
                t for t in self.tickets if t.created <= period.until and not self._done_before(t, period.since)
                and (self.clocks(t).unfinished_at(period.since) or self.clocks(t).changed_between(period.since,
                                                                                                  period.until)
                     or any(entry.at in period for entry in t.entries))]
        return found

    def _done_before(self, ticket: Ticket, moment: datetime) -> bool:
        """Whether the ticket was finished before ``moment`` and nothing has happened to it since,
        told without making its clocks: on a desk with years of closed tickets, most of them."""
        if ticket.status not in self.config.done_statuses or ticket.created >= moment:
            return False
        changes = None if self._changes is None else self._changes.get(ticket.id)
        if changes is None or changes[-1].at >= moment:  # (changes are in time order)
            return False
        return all(entry.at < moment for entry in ticket.entries)

    def read_history(self, ticket_ids: Sequence[str] | None = None) -> None:
        """Read the audit log now (a shallow clone is refused before any work): all of it, or only
        that of ``ticket_ids`` for a report that needs a few tickets' (feedback)."""
        self.history_read = True
        if ticket_ids is None:
            self.changes  # noqa: B018
            return
        history.require_full(self.desk)
        wanted = [i for i in ticket_ids if i in self.by_id and i not in self._clocks]
        if self._changes is not None or not wanted:
            return
        found = history.tracked_changes(self.desk, wanted)
        for ticket_id in wanted:
            self._clocks[ticket_id] = Clocks(self.config, self.by_id[ticket_id], found.get(ticket_id, ()))

    def clocks(self, ticket: Ticket) -> Clocks:
        found = self._clocks.get(ticket.id)
        if found is None:
            found = self._clocks[ticket.id] = Clocks(self.config, ticket, self.changes.get(ticket.id, ()))
        return found

    @functools.cached_property
    def timings(self) -> dict[str, Timings]:
        return {t.id: self.clocks(t).timings(self.now) for t in self.tickets}

    def _in_scope(self, ticket: Ticket, scope: Scope) -> bool:
        if scope.queue is not None and ticket.queue != scope.queue:
            return False
        return scope.team is None or self.team_of(ticket.assignee) == scope.team

    def team_of(self, who: str | None) -> str | None:
        person = self.config.person(who) if who else None
        return person.team if person else None

    def person(self, who: str | None) -> str:
        """A person's handle where config knows them, else what was written."""
        person = self.config.person(who) if who else None
        return person.handle if person else (who or "(unknown)")

    # --- noise --------------------------------------------------------------------

    def noise(self, ticket: Ticket) -> str | None:
        """Why a ticket is not demand: ``rejected`` (spam, refused) or ``duplicate`` (of
        another ticket); None for demand. Judged by what the ticket is now: a ticket later
        found to be spam was spam all along."""
        if ticket.status == workflow.REJECTED:
            return "rejected"
        if ticket.duplicate_of:
            return "duplicate"
        return None

    def left_out(self, period: Period) -> dict[str, list[str]]:
        """Noise created in ``period``, by reason: what a report leaves out."""
        found: dict[str, list[str]] = {}
        for ticket in self.everything:
            reason = self.noise(ticket)
            if reason and ticket.created in period:
                found.setdefault(reason, []).append(ticket.id)
        return found

    def left_out_sentence(self, period: Period) -> str | None:
        found = self.left_out(period)
        if not found:
            return None
        parts = [f"{len(ids)} " + ("rejected (spam or refused)" if reason == "rejected" else
                                   "duplicate" if len(ids) == 1 else "duplicates")
                 + f" ({', '.join(sorted(ids))})" for reason, ids in sorted(found.items())]
        return ("Left out as noise, not demand: " + "; ".join(parts) + ".")

    # --- states -------------------------------------------------------------------

    def status_at(self, ticket: Ticket, moment: datetime) -> str | None:
        return self.clocks(ticket).status_at(moment)

    def unfinished_at(self, ticket: Ticket, moment: datetime) -> bool:
        return self.clocks(ticket).unfinished_at(moment)

    def queue_at(self, ticket: Ticket, moment: datetime) -> str | None:
        return self.clocks(ticket).queue_at(moment)

    def resolutions(self, ticket: Ticket) -> list[Resolution]:
        found = self._resolutions.get(ticket.id)
        if found is None:
            clocks = self.clocks(ticket)
            if clocks.finished(clocks.statuses[-1][1]):  # its clocks read the same now as when they stopped:
                # the ones ``measures`` keeps (a report asks for both; each cost a full measure)
                found = [Resolution(m.stopped, m.stop, m.by, m) for m in self.measures(ticket, self.now)
                         if m.kind == RESOLUTION and m.stopped is not None and m.stop in RESOLVED_STATUSES]
            else:
                found = clocks.resolutions(self.now)
            self._resolutions[ticket.id] = found
        return found

    def reopenings(self, ticket: Ticket) -> list[datetime]:
        found = self._reopenings.get(ticket.id)
        if found is None:
            found = self._reopenings[ticket.id] = self.clocks(ticket).reopenings()
        return found

    # --- the figures: each defined once (docs/reports.md) ---------------------------

    def _per_tickets(self, what: str, tickets: Iterable[Ticket] | None, make: Callable[[Sequence[Ticket]], Any]) -> Any:
        """``make(tickets)``, made once per list of tickets: a report with many periods passes the
        same list for each. Kept with the list itself, so that its id cannot be reused."""
        chosen = self.tickets if tickets is None else tickets
        if not isinstance(chosen, (list, tuple)):
            chosen = list(chosen)
        kept = self._per_set.get((what, id(chosen)))
        if kept is None or kept[0] is not chosen:
            kept = self._per_set[(what, id(chosen))] = (chosen, make(chosen))
        return kept[1]

    def _timeline(self, what: str, tickets: Iterable[Ticket] | None) -> Timeline:
        """The events ``what`` of ``tickets`` in time order."""
        timeline: Timeline = self._per_tickets(what, tickets, lambda chosen: Timeline(
            [(moment, order, number, payload) for order, ticket in enumerate(chosen)
             for number, (moment, payload) in enumerate(self._events(what, ticket))]))
        return timeline

    def _events(self, what: str, ticket: Ticket) -> list[tuple[datetime, Any]]:
        if what == "opened":
            return [(ticket.created, ticket.id)]
        if what == "resolved":
            return [(resolution.at, (ticket, resolution)) for resolution in self.resolutions(ticket)]
        if what == "reopened":
            return [(at, (ticket, at)) for at in self.reopenings(ticket)]
        if what == "answered":
            answered = self._answered(ticket)
            # A clock stopped by the response stopped then (or at creation, for a reply dated before it).
            return [] if answered is None else [(max(answered, ticket.created), ticket)]
        if what == "escalations":
            return [(escalation.at, (ticket, escalation)) for escalation in self.clocks(ticket).escalations()]
        return [(entry.at, (ticket, entry)) for entry in self.entries_of_time(ticket)]  # time logged

    def opened(self, period: Period, tickets: Iterable[Ticket] | None = None) -> list[str]:
        """Tickets created in the period."""
        found: list[str] = self._timeline("opened", tickets).within(period)
        return found

    def resolved(self, period: Period, tickets: Iterable[Ticket] | None = None) -> list[tuple[Ticket, Resolution]]:
        """Every resolution in the period (a ticket resolved twice counts twice)."""
        return [(ticket, resolution) for ticket, resolution in self._timeline("resolved", tickets).within(period)
                if ticket.created <= period.until]

    def reopened(self, period: Period, tickets: Iterable[Ticket] | None = None) -> list[tuple[Ticket, datetime]]:
        """Every reopening in the period."""
        found: list[tuple[Ticket, datetime]] = self._timeline("reopened", tickets).within(period)
        return found

    def backlog(self, moment: datetime, tickets: Iterable[Ticket] | None = None, *, through: bool = False) -> list[str]:
        """Tickets not finished just before ``moment`` (a stock): a period includes its start and
        excludes its end, so what happens at the stroke of ``moment`` (a ticket resolved at
        midnight) is the next period's, in its counts and not yet in this one's closing stock.
        ``through``: a period that runs to now holds its end (``Period.through``), its stock too."""
        # Asked at every period's end for every ticket: after its last status change, a ticket's
        # status is its last one, so only tickets still changing then need their clocks read.
        before = moment if through else moment - timedelta(microseconds=1)  # times are whole seconds
        return [ticket.id for ticket, clocks, created, last, done in self._ends(tickets)
                if created <= before and (clocks.unfinished_at(before) if last >= before else not done)]

    def _ends(self, tickets: Iterable[Ticket] | None) -> list[tuple[Ticket, Clocks, datetime, datetime, bool]]:
        """Each ticket with its clocks, its creation, its last status change and whether that change
        finished it: what a loop over periods needs to pass over, cheaply, the tickets a period
        cannot concern (created after it, or finished for good before it)."""
        def make(chosen: Sequence[Ticket]) -> list[tuple[Ticket, Clocks, datetime, datetime, bool]]:
            found = []
            for ticket in chosen:
                clocks = self.clocks(ticket)
                last_at, last_status, _ = clocks.statuses[-1]
                found.append((ticket, clocks, ticket.created, last_at, clocks.finished(last_status)))
            return found
        ends: list[tuple[Ticket, Clocks, datetime, datetime, bool]] = self._per_tickets("ends", tickets, make)
        return ends

    def _may_be_alive(self, period: Period, tickets: Iterable[Ticket] | None) -> Iterator[Ticket]:
        """The tickets for which ``_alive`` may be true in ``period``: the others were created after
        it, or finished for good before it (no status change from its start on)."""
        since, until = period.since, period.until
        for ticket, _, created, last, done in self._ends(tickets):
            if created <= until and not (done and last < since):
                yield ticket

    def _may_decide_in(self, period: Period, tickets: Iterable[Ticket] | None) -> Iterator[Ticket]:
        """The tickets for which ``_deciding`` may be true in ``period``: ``_may_be_alive`` less
        the unfinished tickets that have settled before it. After its last moment (``_moments``)
        such a ticket's clocks run on unbroken, so a period starting later can only see a target
        pass that was due then; one waiting on the requester sees none. Asked once per ticket,
        not once per ticket and period (a year by month has thousands of these on a big desk)."""
        since, until = period.since, period.until
        for ticket in self._may_be_alive(period, tickets):
            clocks = self.clocks(ticket)
            if clocks.finished(clocks.statuses[-1][1]):
                yield ticket
                continue
            settled = self._course_end(ticket, clocks)
            if since <= settled[0] or any(due is None or since - DAY <= due <= until + DAY for due in settled[1]):
                yield ticket

    def _course_end(self, ticket: Ticket, clocks: Clocks) -> tuple[datetime, list[datetime | None]]:
        """An unfinished ticket's last moment, and when its running clocks' targets fall due after it
        (None: not known, so any period may see it); none while it waits on the requester."""
        found = self._settled.get(ticket.id)
        if found is None:
            last = self._moments(ticket)[-1]
            dues: list[datetime | None] = [] if clocks.statuses[-1][1] == workflow.PENDING else [
                m.due for m in self.measures(ticket, last)
                if m.stopped is None and m.target is not None and not m.breached]
            found = self._settled[ticket.id] = (last, dues)
        return found

    def measures(self, ticket: Ticket, as_of: datetime) -> list[Measure]:
        """The ticket's first-response and resolution clocks, judged at ``as_of``."""
        clocks = self.clocks(ticket)
        last_at, last_status, _ = clocks.statuses[-1]
        if as_of > last_at and clocks.finished(last_status):
            # Finished for good by then: every clock had stopped and every target was decided, so
            # the clocks read the same at any later moment (a report by month asks twelve times).
            as_of = last_at
        key = (ticket.id, as_of)
        found = self._measures.get(key)
        if found is None:
            first = clocks.first_response(as_of)
            found = ([first] if first is not None else []) + clocks.resolution_clocks(as_of)
            self._measures[key] = found
        return found

    def _judged(self, period: Period) -> datetime:
        # Just before the end, as the backlog is: what happens at the stroke of it is the next period's
        # (for a period that runs to now, there is no next one: it holds its end).
        return min(period.until - (timedelta(0) if period.through else timedelta(microseconds=1)), self.now)

    def _alive(self, ticket: Ticket, period: Period) -> bool:
        """Whether any clock of the ticket can stop or pass its target in the period."""
        if ticket.created > period.until:
            return False
        clocks = self.clocks(ticket)
        if clocks.unfinished_at(period.since):
            return True
        return clocks.changed_between(period.since, period.until)

    def _deciding(self, ticket: Ticket, period: Period) -> bool:
        """Whether a clock of the ticket can stop, or a target pass, in the period. A ticket left
        waiting through the period, with nothing changed in it, paused (pending) or with every
        target it still runs against already missed before, cannot: its clocks need not be read
        again (on a desk with old forgotten tickets, that is most of them in every period)."""
        key = (ticket.id, period.since, period.until)
        found = self._decides.get(key)
        if found is None:
            found = self._decides[key] = self._alive(ticket, period) and self._may_decide(ticket, period)
        return found

    def _may_decide(self, ticket: Ticket, period: Period) -> bool:
        clocks = self.clocks(ticket)
        if not clocks.unfinished_at(period.since):
            return True
        # A status, priority, queue or assignee changed, or the first response came, in the period:
        # the clocks or their targets may read otherwise.
        moments = self._moments(ticket)
        after = bisect.bisect_left(moments, period.since)
        if after < len(moments) and moments[after] <= period.until:
            return True
        if clocks.status_at(period.since) == workflow.PENDING:
            return False  # paused all through the period: no clock runs, so no target can pass
        # Nothing changed from the last change before the period to its end: the clocks running then
        # run on unbroken, on the same targets, so each passes its target when it said it would then
        # (``due``). That moment is the same for every later period, so its clocks are read once; a
        # day's margin either side leaves the exact dating to ``decided``.
        last = moments[after - 1] if after else period.since  # history may start later (a file committed late)
        return any(m.stopped is None and m.target is not None and not m.breached
                   and (m.due is None or period.since - DAY <= m.due <= period.until + DAY)
                   for m in self.measures(ticket, last))

    def _moments(self, ticket: Ticket) -> list[datetime]:
        """Every moment the ticket's clocks can change course, in order: its status changes, its other
        tracked changes, its first response. Read once per ticket."""
        found = self._course.get(ticket.id)
        if found is None:
            clocks = self.clocks(ticket)
            answered = self._answered(ticket)
            found = self._course[ticket.id] = sorted(
                [at for at, _, _ in clocks.statuses] + [change.at for change in clocks.tracked_changes()]
                + ([answered] if answered is not None else []))
        return found

    def first_responses(self, period: Period, tickets: Iterable[Ticket] | None = None) -> list[tuple[Ticket, Measure]]:
        """First responses made in the period (the clock stopped by a public reply or question)."""
        found = []
        for ticket in self._timeline("answered", tickets).within(period):  # no other can have stopped in it
            first = self.measures(ticket, self._judged(period))[:1]
            if first and first[0].stop == "response" and first[0].stopped is not None and first[0].stopped in period:
                found.append((ticket, first[0]))
        return found

    def _answered(self, ticket: Ticket) -> datetime | None:
        """When the ticket's first response was written (None if never), read once."""
        if ticket.id not in self._first_entries:
            found = self.clocks(ticket).first_response_entry()
            self._first_entries[ticket.id] = found[0] if found is not None else None
        return self._first_entries[ticket.id]

    def decided(self, period: Period, tickets: Iterable[Ticket] | None = None) -> list[tuple[Ticket, Measure]]:
        """Every target decided in the period: met (the clock stopped in time, in the period)
        or missed (the target passed in the period, whenever the clock stopped)."""
        found = []
        judged = self._judged(period)
        for ticket in self._may_decide_in(period, tickets):
            if not self._deciding(ticket, period):
                continue
            for measure in self.measures(ticket, judged):
                moment = measure.decided
                if moment is not None and moment in period:
                    found.append((ticket, measure))
        return found

    def breaches(self, period: Period, tickets: Iterable[Ticket] | None = None) -> list[tuple[Ticket, Measure]]:
        """Targets missed in the period (dated by when the target passed)."""
        return [(t, m) for t, m in self.decided(period, tickets) if m.breached]

    def running(self, moment: datetime, tickets: Iterable[Ticket] | None = None) -> list[tuple[Ticket, Measure]]:
        """Clocks still running at ``moment`` (not yet decided), with when they fall due."""
        found = []
        for ticket in self.tickets if tickets is None else tickets:
            if ticket.created > moment or not self.unfinished_at(ticket, moment):
                continue
            for measure in self.measures(ticket, moment):
                if measure.stopped is None and not measure.breached:
                    found.append((ticket, measure))
        return found

    def escalations(self, period: Period, tickets: Iterable[Ticket] | None = None) -> list[tuple[Ticket, Escalation]]:
        """Escalation entries dated in the period, with the queues they left and went to."""
        found: list[tuple[Ticket, Escalation]] = self._timeline("escalations", tickets).within(period)
        return found

    def time_logged(self, period: Period, tickets: Iterable[Ticket] | None = None) -> list[tuple[Ticket, TimeEntry]]:
        """Time entries dated in the period."""
        found: list[tuple[Ticket, TimeEntry]] = self._timeline("time", tickets).within(period)
        return found

    def entries_of_time(self, ticket: Ticket) -> list[TimeEntry]:
        """A ticket's time entries (all of them), read once."""
        found = self._time_entries.get(ticket.id)
        if found is None:
            found = self._time_entries[ticket.id] = self.clocks(ticket).time_entries()
        return found

    def pending(self, period: Period, tickets: Iterable[Ticket] | None = None) -> dict[str, float]:
        """Time waiting on the requester within the period, per ticket, on each ticket's clock."""
        found: dict[str, float] = {}
        end = self._judged(period)
        for ticket in self._may_be_alive(period, tickets):
            if not self._alive(ticket, period):
                continue
            clocks = self.clocks(ticket)
            spans = [(max(a, period.since), min(b, end)) for a, b in clocks.pending_spans(end)]
            clock = Calendar.for_queue(self.config, clocks.queue_at(end))
            seconds = sum(clock.elapsed(a, b) for a, b in spans if b > a)
            if seconds:
                found[ticket.id] = seconds
        return found

    def unknown_values(self) -> list[str]:
        """Priorities and queues met in history that the config does not know (reported, never used as keys)."""
        found: dict[str, list[str]] = {}
        for ticket_id, clocks in self._clocks.items():
            for value in clocks.unknown:
                found.setdefault(value, []).append(ticket_id)
        return [f"unknown {value} on {', '.join(sorted(set(ids)))}: the default used" for value, ids in found.items()]


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
