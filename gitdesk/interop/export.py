"""The whole desk as data: ``gitdesk export json|csv``.

Every ticket with everything in its file (front matter, description, the whole
conversation including internal notes, the resolution) and its derived
timings. An export is for backups, migrations and spreadsheets: it is not
filtered for privacy, so keep it where the desk itself is kept.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from gitdesk.cache import history
from gitdesk.desk import Desk
from gitdesk.errors import GitdeskError
from gitdesk.paths import TICKETS


def records(desk: Desk, now: datetime, *, flat: bool = False) -> tuple[list[dict[str, Any]], list[GitdeskError]]:
    """One record per ticket, oldest first (``flat`` for CSV: one value per column),
    and the files that could not be read."""
    from gitdesk.clock import format_utc
    from gitdesk.render import json_value, ticket_record

    tickets, problems = desk.all_tickets()  # the whole text of every file: the index keeps only facts
    tickets.sort(key=lambda ticket: ticket.id)
    derived = history.timings(desk, tickets, now)
    found = []
    for ticket in tickets:
        record = ticket_record(ticket, f"{TICKETS}/{ticket.id}.md")
        record["description"] = ticket.description
        conversation = [{"at": format_utc(e.at), "author": e.author, "kind": e.kind, "detail": e.detail,
                         "text": e.text} for e in ticket.entries]
        record["resolution"] = ticket.resolution
        figures = derived[ticket.id].as_dict()
        if flat:
            record["conversation"] = "\n\n".join(
                f"{e['at']} {e['author']} — {e['kind']}{' ' + e['detail'] if e['detail'] else ''}\n{e['text']}"
                for e in conversation)
            record.update({f"timings.{key}": value for key, value in figures.items() if key != "time_entries"})
        else:
            record["conversation"] = conversation
            record["timings"] = figures
        found.append({key: json_value(value) for key, value in record.items()})
    return found, problems
