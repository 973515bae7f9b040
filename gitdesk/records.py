"""The records gitdesk hands to scripts: one shape per thing, shared by every view and export.

A ticket's record is its front-matter fields (as in the file) plus ``path``;
the whole record adds everything else the file says (description, the
conversation with every entry, the resolution, a team's own sections) and
the derived timings. ``gitdesk show --format json``, ``list --format json``
and ``gitdesk export`` all use these functions, so a key means the same
everywhere. The keys are a contract, documented in docs/json.md; ``SCHEMA``
changes when a key changes meaning or goes away (never for a new key).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta
from typing import Any

from gitdesk.clock import format_utc
from gitdesk.model import FIELD_ORDER, Entry, Ticket
from gitdesk.paths import ticket_path
from gitdesk.timings import KEYS as TIMING_KEYS
from gitdesk.timings import Timings

SCHEMA = 1  # a ticket's record also uses model.RESERVED_NAMES, which no field may take


def json_value(value: Any) -> Any:
    """A value as JSON holds it: times in UTC ISO 8601, durations in seconds."""
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, datetime):
        return format_utc(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, timedelta):
        return int(value.total_seconds())
    if isinstance(value, (list, tuple)):
        return [json_value(item) for item in value]
    if isinstance(value, Mapping):
        return {str(key): json_value(item) for key, item in value.items()}
    return str(value)


# The columns of every CSV of tickets, first and in this order, whatever the tickets hold.
TICKET_COLUMNS = (*FIELD_ORDER, "labels", "duplicate_of", "related", "path")
# A listing's records carry their timings: those columns too, as records.flat names them.
LISTED_COLUMNS = (*TICKET_COLUMNS, *sorted(f"timings.{key}" for key in TIMING_KEYS if key != "time_entries"))
EXPORT_COLUMNS = (*TICKET_COLUMNS, "description", "conversation_text", "conversation", "resolution", "appendix",
                  *LISTED_COLUMNS[len(TICKET_COLUMNS):])
HIT_COLUMNS = ("id", "status", "title", "score", "where", "internal", "snippet", "path")
LOG_COLUMNS = ("commit", "time", "who", "author", "action", "ticket", "changes")


def ticket_fields(ticket: Ticket, timings: Timings | None = None) -> dict[str, Any]:
    """The front-matter fields, in file order, plus ``path`` (and ``timings`` when given)."""
    record = {key: json_value(value) for key, value in ticket.front_matter().items()}
    record["path"] = ticket_path(ticket.id)
    if timings is not None:
        record["timings"] = timings.as_dict()
    return record


def entry(item: Entry) -> dict[str, Any]:
    return {"at": format_utc(item.at), "author": item.author, "kind": item.kind, "detail": item.detail,
            "internal": item.internal, "text": item.text}


def whole_ticket(ticket: Ticket, timings: Timings | None = None) -> dict[str, Any]:
    """Everything the ticket file says, and its timings: what show and export give."""
    record = ticket_fields(ticket, timings)
    record["description"] = ticket.description
    record["conversation_text"] = ticket.conversation_text
    record["conversation"] = [entry(item) for item in ticket.entries]
    record["resolution"] = ticket.resolution
    record["appendix"] = ticket.appendix
    return record


def flat(record: Mapping[str, Any]) -> dict[str, Any]:
    """A record with one value per column, for CSV: lists joined, the conversation as
    text (each entry under its heading), timings as ``timings.<name>`` columns."""
    row: dict[str, Any] = {}
    for key, value in record.items():
        if key == "timings" and isinstance(value, Mapping):
            row.update({f"timings.{name}": figure for name, figure in value.items() if name != "time_entries"})
        elif key == "conversation" and isinstance(value, list):
            row[key] = "\n\n".join(_entry_text(item) for item in value)
        elif isinstance(value, list):
            row[key] = value  # csv_cell joins it (or writes it as JSON if it holds records)
        elif isinstance(value, Mapping):
            row.update({f"{key}.{name}": item for name, item in value.items()})
        else:
            row[key] = value
    return row


def _entry_text(item: Mapping[str, Any]) -> str:
    detail = f" {item['detail']}" if item.get("detail") else ""
    return f"{item['at']} {item['author']} — {item['kind']}{detail}\n{item['text']}".rstrip("\n")


def tickets(found: Iterable[Ticket], timings: Mapping[str, Timings] | None = None) -> list[dict[str, Any]]:
    return [ticket_fields(ticket, None if timings is None else timings[ticket.id]) for ticket in found]
