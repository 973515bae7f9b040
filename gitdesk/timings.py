"""The clocks of a ticket, computed in one place: first response, resolution,
waiting, reopenings, escalations and time logged.

Status, priority, queue and assignee changes come from the audit log (Git
history, through the cache), the conversation from the ticket itself. Every
report, ``show``, ``list`` and ``export`` reads its figures from here, so a
figure never reads two ways. Definitions (docs/reports.md has them for people):

- **first response**: the first public entry (reply or question) by someone
  other than the requester. Its clock runs from creation; waiting on the
  requester (``pending``) pauses it; it stops at the first response, or when the
  ticket is finished first (resolved, closed, rejected: a resolution reaches the
  requester too). Reopening does not restart it.
- **resolution**: a move from an unfinished status into ``resolved`` or
  ``closed``. Its clock runs from creation (or from a reopening, for a later
  resolution), paused while pending, and stops at the next move into any
  finished status (a rejection stops it without a resolution). Each
  resolution has its own time: a ticket resolved twice has two.
- **pending**: time in the ``pending`` status, measured apart.
- Clocks count on the calendar of the queue the ticket was in when the clock
  stopped (or at the moment judged, while it runs), and a clock's target is
  the one of the priority the ticket had then (``gitdesk.calendar``), unless
  the clock passed an earlier priority's target while that priority held:
  that breach stands (lowering the priority later does not undo it). A
  priority raised past its target counts only if it holds at the stop.
- A target is **decided** once: met when the clock stops in time, missed at
  the moment the target passed (its deadline). A breach belongs to the period
  its deadline falls in, whenever the ticket was answered.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from itertools import pairwise
from typing import NamedTuple

from gitdesk import workflow
from gitdesk.calendar import Calendar
from gitdesk.durations import parse_duration
from gitdesk.errors import GitdeskError
from gitdesk.model import (
    ESCALATION,
    IMPORTED_FROM,
    MAIL_SYSTEM,
    QUESTION,
    REPLY,
    RULES_AUTHOR,
    TIME,
    Config,
    Priority,
    Ticket,
)

RESOLVED_STATUSES = (workflow.RESOLVED, workflow.CLOSED)
TRACKED = ("status", "priority", "queue", "assignee")
FIRST_RESPONSE = "first_response"
RESOLUTION = "resolution"


class Change(NamedTuple):
    """One change of a tracked field, as the audit log has it (``before`` is None for a new ticket).
    A tuple, not a dataclass: a report makes one per change of the whole desk."""

    at: datetime
    field: str
    before: str | None
    after: str | None
    who: str | None = None


@dataclass(frozen=True, slots=True)
class TimeEntry:
    at: datetime
    author: str
    seconds: int
    text: str


@dataclass(frozen=True, slots=True)
class Escalation:
    at: datetime
    by: str
    source: str | None  # the queue it left, by the name it had then (None: intake)
    target: str | None  # the queue it went to (None: a person in the same queue)


@dataclass(frozen=True, slots=True)
class Measure:
    """One clock judged at a moment: how long it ran, against which target."""

    kind: str  # first_response | resolution
    started: datetime
    stopped: datetime | None  # None: still running (or paused) at the moment judged
    stop: str  # what stopped it: response, resolved, closed, rejected, …; running; paused
    seconds: float  # on the clock, up to the stop or the moment judged
    priority: str | None  # the priority it is judged by (a known one; None: no priority and no default)
    queue: str | None
    target: float | None  # seconds on the clock
    due: datetime | None  # when the target passes (passed, for a breach); None when met, paused or no target
    by: str | None = None  # who answered or resolved
    day: int = 86400  # a day on this clock, for showing it
    # Missed though the clock does not stand past the target: it reached it at closing time and
    # what stops it came later (an urgent ticket at 16:00 on Friday, answered on Monday), or it
    # passed it in an earlier queue or priority than the one it is measured by now.
    late: bool = False
    # False when it started or stopped at a date nobody knows (an import's source had none, or the
    # ticket's first commit has it already finished): it counts where it stopped, but its time is
    # in no median and its target is not judged.
    known: bool = True

    @property
    def breached(self) -> bool:
        return self.target is not None and (self.seconds > self.target or self.late)

    @property
    def decided(self) -> datetime | None:
        """When the target was decided: its deadline if missed, else the stop (None while open)."""
        if self.breached:
            return self.due
        return self.stopped if self.target is not None else None


_SAME = 0.5  # seconds: a clock within this of its target stands at it (sums of spans are floats)


@dataclass(frozen=True, slots=True)
class Resolution:
    at: datetime
    status: str
    by: str | None
    measure: Measure

    @property
    def seconds(self) -> float:
        return self.measure.seconds

    @property
    def timed(self) -> int | None:
        """Its seconds, rounded; None when a date it ran from or to is not known (``Measure.known``)."""
        return round(self.measure.seconds) if self.measure.known else None


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
    first_response_by: str | None = None
    resolutions: tuple[Resolution, ...] = ()
    next_due: Measure | None = None  # the running clock whose target comes next
    clock: str = "calendar"
    day: int = 86400
    unknown: tuple[str, ...] = field(default=())  # values from history the config does not know
    first_response_unknown: bool = False  # imported without its replies: when it was answered is not known
    resolution_unknown: str | None = None  # why the resolution shown has no time: a date no one knows
    next_due_in: NextDue | None = None  # next_due as listings show it, judged at the moment made

    def as_dict(self) -> dict[str, object]:
        from gitdesk.clock import format_utc

        def when(value: datetime | None) -> str | None:
            return None if value is None else format_utc(value)

        due = self.next_due
        return {
            "created": when(self.created),
            "clock": self.clock,
            "first_response_at": when(self.first_response_at),
            "first_response_by": self.first_response_by,
            "first_response_seconds": self.first_response_seconds,
            "pending_seconds": self.pending_seconds,
            "first_resolved_at": when(self.first_resolved_at),
            "resolved_at": when(self.resolved_at),
            "first_resolution_seconds": self.first_resolution_seconds,
            "resolution_seconds": self.resolution_seconds,
            "resolutions": [{"at": when(r.at), "status": r.status, "by": r.by, "seconds": r.timed}
                            for r in self.resolutions],
            "reopen_count": self.reopen_count,
            "escalation_count": self.escalation_count,
            "time_spent_seconds": self.time_spent_seconds,
            "time_entries": [{"at": when(e.at), "author": e.author, "seconds": e.seconds, "text": e.text}
                             for e in self.time_entries],
            "next_due": None if due is None else due.kind,
            "next_due_at": when(due.due if due is not None else None),
        }


@dataclass(frozen=True, slots=True)
class NextDue:
    """A ticket's next target as listings order and show it, with the clock it runs on."""

    kind: str  # first_response | resolution
    at: datetime  # when it falls due
    calendar: Calendar  # the ticket's clock: working time on a business desk

    def left(self, now: datetime) -> float:
        """Seconds on the ticket's clock from ``now`` to the target; below 0: overdue by that
        much (as the SLA report counts it). Worked out when shown: a board kept for minutes
        still counts down."""
        return self.calendar.elapsed(now, self.at) if self.at > now else -self.calendar.elapsed(self.at, now)


Due = NextDue | None  # None when no clock runs towards a target (paused, finished, none set, or met)


# The keys of ``Timings.as_dict``, for a CSV header that does not depend on the rows (a test
# holds the two together).
KEYS = ("created", "clock", "first_response_at", "first_response_by", "first_response_seconds", "pending_seconds",
        "first_resolved_at", "resolved_at", "first_resolution_seconds", "resolution_seconds", "resolutions",
        "reopen_count", "escalation_count", "time_spent_seconds", "time_entries", "next_due", "next_due_at")


def entry_seconds(detail: str) -> int | None:
    """A time entry's duration (``45m``), or None when a hand-written one is not a duration."""
    try:
        return int(parse_duration(detail).total_seconds())
    except GitdeskError:
        return None


class Clocks:
    """Everything timed about one ticket, from its file and its tracked fields' history."""

    def __init__(self, config: Config, ticket: Ticket, changes: Sequence[Change]) -> None:
        self.config = config
        self.ticket = ticket
        self.unknown: list[str] = []
        self._agents: dict[str, bool] = {}
        statuses = [(c.at, c.after or "", c.who) for c in changes if c.field == "status"]
        if not statuses or statuses[-1][1] != ticket.status:  # uncommitted or history-less: the file has the last word
            statuses.append((max(statuses[-1][0], ticket.created) if statuses else ticket.created, ticket.status, None))
        self._done = config.done_statuses
        undated = ticket.undated
        # A first finish at a date nobody knows: the import's (its source lacked a date), or one
        # the history never saw (below). It counts where it stands; its time counts nowhere.
        self._finish_unknown = "closed" in undated
        self._start_unknown = "created" in undated  # so a finish at the import itself is unknown too
        if statuses[0][0] > ticket.created and self.finished(statuses[0][1]):
            # First committed already finished, after its creation (a desk copied into a new
            # repository, a squashed pull request): when it finished is not known. It was being
            # worked on until its last activity, and finished from then on.
            at, status, who = statuses[0]
            last = max([ticket.created, *(entry.at for entry in ticket.entries if entry.at <= at)])
            statuses[0:1] = [(ticket.created, config.initial_status, None), (last, status, who)]
            self._finish_unknown = True
        self.statuses = statuses
        self._times = [at for at, _, _ in statuses]
        self._changes: dict[str, list[Change]] = {}
        for change in changes:
            if change.field != "status":
                self._changes.setdefault(change.field, []).append(change)
        self._first: tuple[datetime, str] | None = None
        self._first_known = False

    # --- values over time ----------------------------------------------------------

    def finished(self, status: str | None) -> bool:
        return status in self._done

    def status_at(self, moment: datetime) -> str | None:
        """The status at ``moment`` (after every change made then); None before creation."""
        if moment < self.ticket.created:
            return None
        index = bisect.bisect_right(self._times, moment)
        return self.statuses[index - 1][1] if index else self.statuses[0][1]

    def value_at(self, name: str, moment: datetime, *, before: bool = False) -> str | None:
        """A tracked field's value at ``moment`` (after the changes made then, or just before them)."""
        changes = self._changes.get(name, [])
        value = self.ticket.field_value(name)
        current = value if isinstance(value, str) else None
        if not changes:
            return current
        for change in changes:
            if change.at > moment or (before and change.at == moment):
                return change.before
        return current

    def priority_at(self, moment: datetime, *, before: bool = False) -> str | None:
        """The priority at ``moment`` (or just before the changes made then) checked against the
        config: an unknown one is noted and the default used (None when the desk has no default)."""
        value = self.value_at("priority", moment, before=before)
        if value in self.config.priorities:
            return value
        if value:
            self.unknown.append(f"priority {value!r}")
        return self.config.default_priority

    def queue_at(self, moment: datetime, *, before: bool = False) -> str | None:
        value = self.value_at("queue", moment, before=before)
        if value is None or value in self.config.queues:
            return value
        self.unknown.append(f"queue {value!r}")
        return None

    def tracked_changes(self) -> list[Change]:
        """Changes of the tracked fields other than the status (priority, queue, assignee)."""
        return [change for changes in self._changes.values() for change in changes]

    def changed_between(self, start: datetime, end: datetime) -> bool:
        """Whether the status changed (or was first set) from ``start`` to ``end``, both included."""
        index = bisect.bisect_left(self._times, start)
        return index < len(self._times) and self._times[index] <= end

    def unfinished_at(self, moment: datetime) -> bool:
        status = self.status_at(moment)
        return status is not None and not self.finished(status)

    def intervals(self, end: datetime) -> list[tuple[datetime, datetime, str]]:
        """(start, end, status) from creation up to ``end``. The first status holds from the
        ticket's creation, though its first commit came later (status_at reads it so too)."""
        found = []
        for number, (at, status, _) in enumerate(self.statuses):
            start = self.ticket.created if number == 0 else max(at, self.ticket.created)
            stop = self.statuses[number + 1][0] if number + 1 < len(self.statuses) else end
            stop = min(stop, end)
            if stop > start or (stop == start and number + 1 == len(self.statuses)):
                found.append((start, stop, status))
        return found

    def pending_spans(self, end: datetime) -> list[tuple[datetime, datetime]]:
        return [(a, b) for a, b, status in self.intervals(end) if status == workflow.PENDING and b > a]

    # --- events ---------------------------------------------------------------------

    def resolution_moments(self) -> list[tuple[datetime, str, str | None]]:
        """(when, status, who) of every move from an unfinished status into resolved or closed
        (a ticket created finished counts as resolved when created)."""
        found = []
        previous: str | None = None
        for at, status, who in self.statuses:
            if status in RESOLVED_STATUSES and (previous is None or not self.finished(previous)):
                found.append((at, status, who))
            previous = status
        return found

    def reopenings(self) -> list[datetime]:
        found, previous = [], None
        for at, status, _ in self.statuses:
            if previous is not None and self.finished(previous) and not self.finished(status):
                found.append(at)
            previous = status
        return found

    def finishes(self) -> list[tuple[datetime, str, str | None]]:
        """Every move from an unfinished status into a finished one."""
        found = []
        previous: str | None = None
        for at, status, who in self.statuses:
            if self.finished(status) and (previous is None or not self.finished(previous)):
                found.append((at, status, who))
            previous = status
        return found

    def first_response_entry(self) -> tuple[datetime, str] | None:
        """(when, author) of the first public reply or question by one of the desk's agents (a
        queue's member, an escalation target, a lead, a person marked agent) other than the
        requester. An internal note written in the same second never takes it, nor does the
        desk's own automated mail, nor a colleague in the Cc or a stranger writing in."""
        if self._first_known:  # asked for by every clock: the entries are read once
            return self._first
        best: tuple[datetime, str] | None = None
        for entry in self.ticket.entries:
            if entry.kind in (REPLY, QUESTION) and (best is None or entry.at < best[0]) \
                    and self._answers_for_the_desk(entry.author) \
                    and not workflow.is_requester(self.config, self.ticket, entry.author):
                best = (entry.at, entry.author)
        self._first, self._first_known = best, True
        return best

    def _answers_for_the_desk(self, author: str) -> bool:
        known = self._agents.get(author)
        if known is None:
            person = self.config.person(author) if author not in (RULES_AUTHOR, MAIL_SYSTEM) else None
            known = self._agents[author] = person is not None and self.config.is_agent(person.handle)
        return known

    def escalations(self) -> list[Escalation]:
        found = []
        for entry in self.ticket.entries:
            if entry.kind != ESCALATION:
                continue
            # By the names the queues had then: one renamed since keeps its past escalations.
            source = self.queue_at(entry.at, before=True) or self.value_at("queue", entry.at, before=True)
            named = entry.detail.removeprefix("to ").strip() if entry.detail.startswith("to ") else ""
            target = named if named in self.config.queues else \
                self.queue_at(entry.at) or self.value_at("queue", entry.at)
            found.append(Escalation(entry.at, entry.author, source, target if target != source else None))
        return found

    def time_entries(self) -> list[TimeEntry]:
        found = []
        for entry in self.ticket.entries:
            if entry.kind == TIME:
                seconds = entry_seconds(entry.detail)
                if seconds is not None:  # a hand-written time entry that is not a duration is left out
                    found.append(TimeEntry(entry.at, entry.author, seconds, entry.text))
        return found

    # --- clocks ---------------------------------------------------------------------

    def _targets(self, priority: str | None) -> Priority | None:
        return self.config.priorities.get(priority) if priority else None

    def _measure(self, kind: str, start: datetime, stopped: datetime | None, stop: str, as_of: datetime,
                 by: str | None) -> Measure:
        end = stopped if stopped is not None else as_of
        # A stopped clock ran in the queue it was in until the stop: answered, then moved to a queue
        # with a shorter working day in the same second, it is judged by the day it waited in.
        queue = self.queue_at(end, before=stopped is not None)
        clock = Calendar.for_queue(self.config, queue)
        running = self._running(start, end)
        pieces = self._pieces(running)
        seconds = sum(calendar.elapsed(a, b) for a, b, calendar in pieces)
        # A stopped clock ran under the priority it had until the stop: one raised in the very second
        # of the answer (reply, then set priority, by a script) did not make the answer late.
        priority = self.priority_at(end, before=stopped is not None)
        target = self._target(kind, clock, priority)
        due = None
        late = False
        missed = self._missed_before(kind, clock, pieces, start, end)
        if missed is not None:  # a breach a later priority change or move must not undo
            (priority, target, due), late = missed, True
        elif target is not None:
            reached = self._reached(pieces, target) if seconds >= target - _SAME else None
            if seconds > target or (reached is not None and end > reached):  # when it passed
                due, late = reached, seconds <= target
                # Passed by the new queue's measure only (its working day is shorter): the
                # earlier queue's own target had not passed (_missed_before), so it was
                # missed when it moved, not back in a week that counted nothing.
                moves = [change.at for change in self._changes.get("queue", ()) if start < change.at <= end]
                if due is not None and moves and due < max(moves):
                    due = min(moment for moment in moves if moment > due)
            elif stopped is None and self.status_at(as_of) != workflow.PENDING:
                # Reached this very second (at closing time): due now, not at the next opening.
                due = reached if reached is not None else clock.add(as_of, max(0.0, target - seconds))
        if stopped is None and self.status_at(as_of) == workflow.PENDING:
            stop = "paused"
        return Measure(kind, start, stopped, stop, seconds, priority, queue, target, due, by, clock.day_seconds, late)

    def _target(self, kind: str, clock: Calendar, priority: str | None) -> float | None:
        targets = self._targets(priority)
        span = None if targets is None else (targets.first_response if kind == FIRST_RESPONSE else targets.resolution)
        return None if span is None else clock.seconds(span)

    def _missed_before(self, kind: str, clock: Calendar, pieces: Sequence[tuple[datetime, datetime, Calendar]],
                       start: datetime, end: datetime) -> tuple[str | None, float, datetime] | None:
        """(priority, target, when) of the first moment the clock passed the target of the
        priority the ticket had at that moment, when the priority changed while it ran; None
        when it did not (the target at the end decides). An urgent ticket left unanswered for a
        day missed its target that day, however low its priority was set before the reply."""
        # A change at the stop itself counts too: lowered and answered in one commit, the clock ran
        # its whole span under the priority before.
        # A move to another queue (another calendar) must not undo a breach either: each piece is
        # measured on the calendar of the queue it was in (_pieces).
        if not any(start < change.at <= end
                   for name in ("priority", "queue") for change in self._changes.get(name, ())):
            return None
        moments = sorted({change.at for change in self._changes.get("priority", ()) if start < change.at <= end})
        used = 0.0
        held: tuple[str | None, datetime, float] | None = None  # the last priority: since when, used then
        for a, b, span_clock in pieces:
            cuts = [a, *(moment for moment in moments if a < moment < b), b]
            for low, high in pairwise(cuts):
                priority = self.priority_at(low)
                target = self._target(kind, span_clock, priority)
                length = span_clock.elapsed(low, high)
                # Raised past its target (two hours on the clock, then urgent): no breach at that
                # moment; it stands only if the priority still holds at the stop (below).
                # Reached at the very end of a span that is not the last (closing time, then a move):
                # the stop came later, so it was missed then too.
                if target is not None and used < target and (
                        target < used + length or (target <= used + length + _SAME and high < end)):
                    return priority, target, span_clock.add(low, target - used)
                if held is None or held[0] != priority:
                    held = (priority, low, used)
                used += length
        if held is not None:
            priority, since, then = held
            target = self._target(kind, clock, priority)
            if target is not None and then >= target and used > target:
                return priority, target, since  # missed when it was raised: in the period of the raise
        return None

    def _running(self, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
        """The spans from ``start`` to ``end`` in which a clock runs: not pending, not finished."""
        return [(max(a, start), b) for a, b, status in self.intervals(end)
                if b > start and status != workflow.PENDING and not self.finished(status)]

    def _pieces(self, running: Sequence[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime, Calendar]]:
        """``running`` cut where the ticket moved queue, each piece with the calendar of the queue
        it was in: time in Berlin's queue counts on Berlin's hours, then on New York's."""
        moves = sorted({change.at for change in self._changes.get("queue", ())})
        pieces = []
        for a, b in running:
            cuts = [a, *(moment for moment in moves if a < moment < b), b]
            pieces += [(low, high, Calendar.for_queue(self.config, self.queue_at(low)))
                       for low, high in pairwise(cuts) if high > low]
        return pieces

    @staticmethod
    def _reached(pieces: Sequence[tuple[datetime, datetime, Calendar]], seconds: float) -> datetime | None:
        left = seconds
        for a, b, calendar in pieces:
            length = calendar.elapsed(a, b)
            if length >= left:
                return calendar.add(a, left)
            left -= length
        return None

    def reached(self, measure: Measure, seconds: float, as_of: datetime) -> datetime | None:
        """When ``measure`` (judged at ``as_of``) had run ``seconds`` on its clock, walking the
        same spans (and queues' calendars) it was measured over; None if it had not by then. A
        rule's "80 % used"."""
        end = measure.stopped if measure.stopped is not None else as_of
        return self._reached(self._pieces(self._running(measure.started, end)), seconds)

    def first_response(self, as_of: datetime) -> Measure | None:
        """The first-response clock as it stood at ``as_of`` (None before the ticket existed)."""
        created = self.ticket.created
        if as_of < created:
            return None
        answered = self.first_response_entry()
        imported = IMPORTED_FROM in self.ticket.extra
        if imported and (answered is None or (self._start_unknown and answered[0] <= created)):
            # History brought in without its replies (a CSV row, an issue tracker's record), or
            # answered in a source that lacked the date it began: when it was first answered is
            # not known. One without a date that the desk answered is timed from its import.
            return None
        finished = self.finishes()
        stopped: datetime | None = None
        stop, by = "running", None
        if answered is not None and answered[0] <= as_of:
            stopped, stop, by = max(answered[0], created), "response", answered[1]
        if finished and finished[0][0] <= as_of and (stopped is None or finished[0][0] < stopped):
            stopped, stop, by = max(finished[0][0], created), finished[0][1], finished[0][2]
        measure = self._measure(FIRST_RESPONSE, created, stopped, stop, as_of, by)
        # Nor is a first-response target judged on an imported ticket at all: its history may lack
        # the answer, and a reply written after the import must not move a past month's figures.
        return replace(measure, target=None, due=None) if imported else measure

    def resolution_clocks(self, as_of: datetime) -> list[Measure]:
        """Every resolution clock up to ``as_of``: one per stint from creation or a reopening to
        the next finish, the last one still running if the ticket was unfinished then."""
        created = self.ticket.created
        if as_of < created:
            return []
        found: list[Measure] = []
        start: datetime | None = created
        previous: str | None = None
        for at, status, who in self.statuses:
            if at > as_of:
                break
            if previous is not None and self.finished(previous) and not self.finished(status):
                start = at
            elif self.finished(status) and (previous is None or not self.finished(previous)) and start is not None:
                measure = self._measure(RESOLUTION, start, max(at, start), status, as_of, who)
                if not found and (self._finish_unknown or (self._start_unknown and at <= self.ticket.created)):
                    measure = replace(measure, target=None, due=None, late=False, known=False)
                found.append(measure)
                start = None
            previous = status
        if start is not None:
            found.append(self._measure(RESOLUTION, start, None, "running", as_of, None))
        return found

    def resolutions(self, as_of: datetime) -> list[Resolution]:
        return [Resolution(m.stopped, m.stop, m.by, m) for m in self.resolution_clocks(as_of)
                if m.stopped is not None and m.stop in RESOLVED_STATUSES]

    def pending_seconds(self, as_of: datetime) -> float:
        clock = Calendar.for_queue(self.config, self.queue_at(as_of))
        return sum(clock.elapsed(a, b) for a, b in self.pending_spans(as_of))

    def timings(self, now: datetime) -> Timings:
        """The ticket's timings as they stand ``now`` (show, list, export)."""
        first = self.first_response(now)
        answered = first if first is not None and first.stop == "response" else None
        clocks = self.resolution_clocks(now)
        resolutions = [Resolution(m.stopped, m.stop, m.by, m) for m in clocks
                       if m.stopped is not None and m.stop in RESOLVED_STATUSES]
        finished_now = self.finished(self.ticket.status) and self.ticket.status in RESOLVED_STATUSES
        last = resolutions[-1] if finished_now and resolutions else None
        running = [m for m in (first, clocks[-1] if clocks else None)
                   if m is not None and m.stopped is None and m.due is not None]
        entries = self.time_entries()
        clock = Calendar.for_queue(self.config, self.ticket.queue)
        upcoming = min(running, key=lambda m: m.due or now) if running else None
        return Timings(
            created=self.ticket.created,
            first_response_at=answered.stopped if answered else None,
            first_response_seconds=round(answered.seconds) if answered else None,
            pending_seconds=round(self.pending_seconds(now)),
            first_resolved_at=resolutions[0].at if resolutions else None,
            resolved_at=last.at if last else None,
            first_resolution_seconds=resolutions[0].timed if resolutions else None,
            resolution_seconds=last.timed if last else None,
            reopen_count=sum(1 for at in self.reopenings() if at <= now),
            escalation_count=sum(1 for entry in self.ticket.entries if entry.kind == ESCALATION),
            time_spent_seconds=sum(entry.seconds for entry in entries),
            time_entries=tuple(entries),
            first_response_by=answered.by if answered else None,
            resolutions=tuple(resolutions),
            next_due=upcoming,
            next_due_in=NextDue(upcoming.kind, upcoming.due, Calendar.for_queue(self.config, upcoming.queue))
            if upcoming is not None and upcoming.due is not None else None,
            clock="business" if clock.business else "calendar",
            day=clock.day_seconds,
            unknown=tuple(dict.fromkeys(self.unknown)),
            first_response_unknown=first is None and now >= self.ticket.created,
            resolution_unknown=None if last is None or last.measure.known else (
                ("its source gave no closing date: the date is the last the source gave, a guess"
                 if "closed" in self.ticket.undated else "its source gave no creation date")
                if self.ticket.undated else "it was first committed already finished"),
        )

    def steady_until(self, now: datetime, timings: Timings) -> datetime:
        """Until when ``timings`` (made at ``now``) stay what they are: the first moment after
        ``now`` at which a target falls due or a future-dated entry or change takes effect
        (``STEADY`` when none does). All but the wait on the requester, which grows while it
        lasts (``cache.listed`` adds it when it reads a kept record)."""
        moments = [self.ticket.created, *(entry.at for entry in self.ticket.entries), *self._times,
                   *(change.at for changes in self._changes.values() for change in changes)]
        due = timings.next_due.due if timings.next_due is not None else None
        later = [moment for moment in (*moments, due) if moment is not None and moment > now]
        return min(later) if later else STEADY


STEADY = datetime.max.replace(tzinfo=timezone.utc)  # nothing changes them as time passes


def derive(config: Config, ticket: Ticket, changes: Iterable[Change | tuple[datetime, str]],
           now: datetime) -> Timings:
    """Timings of ``ticket`` from its tracked fields' history (oldest first). Plain
    ``(when, status)`` pairs are accepted for a history of statuses only."""
    listed = [item if isinstance(item, Change) else Change(item[0], "status", None, item[1]) for item in changes]
    return Clocks(config, ticket, listed).timings(now)
