"""The whole desk as data: ``gitdesk export json|csv``.

Every ticket with everything its file says (front matter, description, text
written in the conversation outside any entry, every entry including internal
notes, the resolution, a team's own sections) and its derived timings: the
same record ``gitdesk show --format json`` gives (``records.whole_ticket``).
An export is for backups, migrations and spreadsheets: it is not filtered for
privacy, so keep it where the desk itself is kept.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from gitdesk import records
from gitdesk.cache import history
from gitdesk.desk import Desk
from gitdesk.errors import GitdeskError
from gitdesk.model import Ticket
from gitdesk.timings import Timings


def scores(desk: Desk) -> tuple[list[dict[str, Any]], list[GitdeskError]]:
    """Every piece of feedback (kept apart from tickets, in feedback/), oldest first, and the
    files that could not be read: a migration out must not lose the weekly review's data."""
    from gitdesk import feedback

    found, problems = feedback.load_all(desk)
    return [item.as_record() for item in sorted(found, key=lambda item: (item.at, item.path))], problems


@dataclass(frozen=True, slots=True)
class Tickets:
    """Every ticket, oldest first, with its timings: each whole record is made as it is
    written (at 100,000 tickets, all of them at once held gigabytes)."""

    tickets: list[Ticket]
    timings: dict[str, Timings]

    def __len__(self) -> int:
        return len(self.tickets)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for ticket in self.tickets:
            yield records.whole_ticket(ticket, self.timings[ticket.id])


def tickets(desk: Desk, now: datetime) -> tuple[Tickets, list[GitdeskError]]:
    """Every ticket's whole record, oldest first, and the files that could not be read."""
    found, problems = desk.all_tickets()  # the whole text of every file: the index keeps only facts
    found.sort(key=lambda ticket: ticket.id)
    return Tickets(found, history.timings(desk, found, now)), problems
