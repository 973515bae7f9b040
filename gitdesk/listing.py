"""Filtering and sorting tickets for ``gitdesk list`` (and later, search)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, TypeVar

from gitdesk.clock import as_utc
from gitdesk.errors import GitdeskError, ValidationError
from gitdesk.model import KNOWN_FIELDS, Config, Ticket
from gitdesk.text import asset_key
from gitdesk.timings import Due
from gitdesk.workflow import is_requester

ALL = "all"


@dataclass(frozen=True, slots=True)
class Filters:
    statuses: tuple[str, ...] = ()  # empty: every unfinished status
    queue: str | None = None
    assignee: str | None = None
    unassigned: bool = False
    requester: str | None = None
    category: str | None = None
    asset: str | None = None
    labels: tuple[str, ...] = ()
    team: str | None = None  # assigned to one of this team's people (people: ... team:)

    def validate(self, config: Config) -> None:
        for status in self.statuses:
            if status != ALL and status not in config.statuses:
                raise ValidationError(f"unknown status {status!r}",
                                      hint=f"expected one of: {', '.join(config.statuses)}, or all")
        if self.queue is not None and self.queue not in config.queues:
            raise ValidationError(f"unknown queue {self.queue!r}",
                                  hint=f"expected one of: {', '.join(config.queues)}")
        if self.category is not None and config.categories and self.category not in config.categories:
            raise ValidationError(f"unknown category {self.category!r}",
                                  hint=f"expected one of: {', '.join(config.categories)}")
        if self.assignee is not None and config.person(self.assignee) is None:
            raise ValidationError(f"unknown person {self.assignee!r}",
                                  hint=f"known people: {', '.join(config.people)}")
        if self.assignee is not None and self.unassigned:
            raise ValidationError("--assignee, --mine and --unassigned exclude each other")
        if self.team is not None and self.team not in config.teams:
            raise ValidationError(f"unknown team {self.team!r}", hint=f"teams: {', '.join(config.teams) or '(none)'}")


def select(tickets: Iterable[Ticket], filters: Filters, config: Config) -> list[Ticket]:
    filters.validate(config)
    if ALL in filters.statuses:
        statuses: set[str] | None = None
    else:
        statuses = set(filters.statuses or config.open_statuses)
    assignee = config.person(filters.assignee).handle if filters.assignee else None  # type: ignore[union-attr]
    chosen = []
    for ticket in tickets:
        if statuses is not None and ticket.status not in statuses:
            continue
        if filters.queue is not None and ticket.queue != filters.queue:
            continue
        if assignee is not None and ticket.assignee != assignee:
            continue
        if filters.unassigned and ticket.assignee:
            continue
        if filters.team is not None:
            holder = config.people.get(ticket.assignee or "")
            if holder is None or holder.team != filters.team:
                continue
        if filters.requester is not None and not is_requester(config, ticket, filters.requester):
            continue
        if filters.category is not None and ticket.category != filters.category:
            continue
        if filters.asset is not None and asset_key(ticket.asset or "") != asset_key(filters.asset):
            continue
        if filters.labels and not set(filters.labels) <= set(ticket.labels):
            continue
        chosen.append(ticket)
    return chosen


def sort(tickets: list[Ticket], key: str | None, config: Config) -> list[Ticket]:
    """Sort by a field; ``-field`` for descending. Priority and status sort in config order."""
    if not key:
        return sorted(tickets, key=lambda ticket: ticket.id)
    descending = key.startswith("-")
    name = key.lstrip("-").strip().lower()
    if name in ("age", "created"):  # by the created time (IDs only roughly follow it: clocks, imports), then id
        return sorted(tickets, key=lambda ticket: (ticket.created, ticket.id), reverse=descending)
    if name == "due":
        raise ValidationError("cannot sort by due here", hint="gitdesk list --sort due puts the next target first")
    orders = {"priority": list(config.priorities), "status": list(config.statuses)}

    def value(ticket: Ticket) -> tuple[int, Any]:
        # (kind, value): numbers, then times, then text, then empty; never compares across kinds.
        raw = ticket.field_value(name)
        if name in orders:
            order = orders[name]
            return (0, order.index(raw)) if raw in order else (4, 0)
        if raw in (None, "", ()):
            return (4, 0)
        if isinstance(raw, (int, float)) and not isinstance(raw, bool):
            return (0, float(raw))
        if isinstance(raw, (datetime, date)):
            return (1, as_utc(raw).timestamp())
        return (2, str(raw).casefold())

    if name not in KNOWN_FIELDS and not any(name in ticket.extra for ticket in tickets) and tickets:
        raise ValidationError(f"cannot sort by {name!r}: no ticket has that field",
                              hint="sort by id, created, status, priority, queue, assignee, category, title…")
    ordered = sorted(tickets, key=lambda ticket: ticket.id)
    return sorted(ordered, key=value, reverse=descending)


def wants_due(key: str | None) -> bool:
    """Whether ``--sort`` asks for the most urgent first (``due``, or ``-due`` for the least)."""
    return key is not None and key.lstrip("-").strip().lower() == "due"


_Listed = TypeVar("_Listed", Ticket, "Row")  # what a listing's table shows a row of


def by_due(tickets: Sequence[_Listed], dues: Mapping[str, Due], key: str) -> list[_Listed]:
    """The most urgent first: by when the next target falls due (overdue ones first, the most
    overdue on top); tickets with no running target (paused, finished, none set) after, oldest first."""
    def urgency(ticket: _Listed) -> tuple[int, float, float, str]:
        due = dues[ticket.id]
        return (0, due.at.timestamp(), 0.0, ticket.id) if due else (1, 0.0, ticket.created.timestamp(), ticket.id)

    ordered = sorted(tickets, key=urgency)
    return ordered[::-1] if key.startswith("-") else ordered


def overdue(tickets: Sequence[_Listed], dues: Mapping[str, Due], now: datetime) -> list[_Listed]:
    """The tickets whose next target is already past, in the order given: a target met late
    is history, a paused clock (waiting on the requester) is not running."""
    def missed(ticket: _Listed) -> bool:
        due = dues[ticket.id]
        return due is not None and due.at <= now

    return [ticket for ticket in tickets if missed(ticket)]


@dataclass(frozen=True, slots=True)
class Row:
    """What a listing's table shows of a ticket, read from the index's columns."""

    id: str
    status: str
    priority: str | None
    queue: str | None
    assignee: str | None
    created: datetime
    title: str


@dataclass(frozen=True, slots=True)
class Listing:
    tickets: list[Ticket]  # chosen and sorted
    problems: list[GitdeskError]  # files that could not be read
    all_ids: list[str]  # every ticket in the desk, for abbreviating IDs (when asked for)
