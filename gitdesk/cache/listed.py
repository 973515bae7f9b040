"""Ticket records kept ready for listings: ``list --format json`` at 100,000 tickets.

A ticket's record (``records.ticket_fields`` with its timings) stays the same
until its file, its history or the config changes, or until a moment at which
its timings move (a target falls due, a future-dated entry takes effect). So
the record is kept in the cache as the JSON text a listing prints, with that
moment. A ticket waiting on the requester is kept with the wait as it was when
made, and the wait since (on the ticket's clock) is added when it is read.
The index drops a ticket's record when it re-reads the file, the history when a
commit that changed the ticket becomes part of HEAD; a different config (or
gitdesk's code) drops them all. Computing the timings of 12,000 open tickets
took 1.5 s of a 2 s listing; read from here it takes a few milliseconds.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from gitdesk import listing, records, workflow
from gitdesk.cache import db, history, index
from gitdesk.calendar import Calendar
from gitdesk.model import Ticket
from gitdesk.paths import CONFIG_PATH
from gitdesk.timings import STEADY, Clocks, Due, NextDue

if TYPE_CHECKING:
    from gitdesk.desk import Desk

_KEY = "records_key"
_FOREVER = 2**62


def _dumps(record: object) -> str:
    return json.dumps(record, ensure_ascii=False, separators=(",", ":"))


def _key(desk: Desk) -> str:
    """What every kept record was made with: the config file and this gitdesk's code."""
    try:
        config = (desk.root / CONFIG_PATH).read_bytes()
    except OSError:
        config = b""
    return hashlib.sha1(config + b"\0" + db.code().encode() + b"\0" + str(records.SCHEMA).encode()).hexdigest()


def ticket_records(desk: Desk, ids: Sequence[str], now: datetime) -> list[str]:
    """The records of ``ids`` (in that order) as compact JSON texts, with their timings at
    ``now``: read from the cache where still good, made (and kept) where not. The IDs come
    from the index just refreshed (``index.query_ids``), so it is not refreshed again."""
    key = _key(desk)
    wanted = _dumps(list(ids))
    moment = int(now.timestamp())
    with db.connect(desk) as connection:
        history.refresh(desk, connection)
        if db.get_meta(connection, _KEY) != key:
            connection.execute("BEGIN IMMEDIATE")
            connection.execute("DELETE FROM records")
            db.set_meta(connection, _KEY, key)
            connection.execute("COMMIT")
        generation = db.get_meta(connection, db.GENERATION)
        found: dict[str, str] = {}
        for ticket_id, record, until in connection.execute(
                "SELECT id, record, until FROM records WHERE id IN (SELECT value FROM json_each(?))", (wanted,)):
            if until <= moment:
                continue
            shown = record if record.startswith("{") else _waited(desk, record, now)
            if shown is not None:
                found[ticket_id] = shown
        missing = [ticket_id for ticket_id in ids if ticket_id not in found]
        stale = [index.ticket_from_row(front, entries, resolution) for front, entries, resolution in
                 connection.execute("SELECT front, entries, resolution FROM tickets WHERE id IN "
                                    "(SELECT value FROM json_each(?))", (_dumps(missing),))] if missing else []
        if stale:
            made = _make(desk, stale, now)
            found.update((ticket_id, text) for ticket_id, (text, _, _) in made.items())
            _keep(connection, generation, key, made)
    return [found[ticket_id] for ticket_id in ids if ticket_id in found]


def due_rows(desk: Desk, texts: Sequence[str], now: datetime) -> list[tuple[listing.Row, Due, str]]:
    """What ``list --sort due`` and ``--overdue`` need of each record: its table row, its
    next target judged ``now`` on the ticket's clock, and the record itself (for JSON and CSV)."""
    found = []
    for text in texts:
        record = json.loads(text)
        timings = record["timings"]
        row = listing.Row(record["id"], record["status"], record.get("priority"), record.get("queue"),
                          record.get("assignee"), _moment(record["created"]), record.get("title") or "")
        kind, at = timings["next_due"], timings["next_due_at"]
        due = NextDue(kind, _moment(at), Calendar.for_queue(desk.config, row.queue)) if kind and at else None
        found.append((row, due, text))
    return found


def _moment(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _waited(desk: Desk, kept: str, now: datetime) -> str | None:
    """A waiting ticket's record, kept as "MADE<tab>SECONDS<tab>RECORD" (when it was made, its
    wait then, unrounded), with the wait grown to ``now`` on the clock of the ticket's queue:
    the same sum ``Clocks.pending_seconds`` makes, its last span ending now. None for a
    ``now`` before it was made (a clock set back): it is made again."""
    made, waited, text = kept.split("\t", 2)
    start = datetime.fromtimestamp(float(made), timezone.utc)
    if now < start:
        return None
    record = json.loads(text)
    clock = Calendar.for_queue(desk.config, record.get("queue"))
    record["timings"]["pending_seconds"] = round(float(waited) + clock.elapsed(start, now))
    return _dumps(record)


def _make(desk: Desk, tickets: Sequence[Ticket], now: datetime) -> dict[str, tuple[str, int, str]]:
    """Each ticket's record at ``now``, until when it holds, and what to keep of it."""
    changes = history.tracked_changes(desk, [ticket.id for ticket in tickets])
    made: dict[str, tuple[str, int, str]] = {}
    for ticket in tickets:
        clocks = Clocks(desk.config, ticket, changes.get(ticket.id, ()))
        timings = clocks.timings(now)
        until = clocks.steady_until(now, timings)
        kept = _FOREVER if until == STEADY else int(until.timestamp())
        text = _dumps(records.ticket_fields(ticket, timings))
        if clocks.status_at(now) == workflow.PENDING:
            # Kept with the moment it was made and the wait then (the record's figure is rounded).
            made[ticket.id] = (text, kept, f"{now.timestamp()!r}\t{clocks.pending_seconds(now)!r}\t{text}")
        else:
            made[ticket.id] = (text, kept, text)
    return made


def _keep(connection: sqlite3.Connection, generation: str | None, key: str,
          made: dict[str, tuple[str, int, str]]) -> None:
    """Store what was made, unless the index, the history or the config changed meanwhile
    (what was made may be of the old state; the next listing makes it again)."""
    rows = [(ticket_id, until, stored) for ticket_id, (_, until, stored) in made.items()]
    if not rows:
        return
    try:
        connection.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError:
        return  # busy: keeping is only a speed-up
    try:
        if db.get_meta(connection, db.GENERATION) == generation and db.get_meta(connection, _KEY) == key:
            connection.executemany("INSERT OR REPLACE INTO records VALUES (?, ?, ?)", rows)
        connection.execute("COMMIT")
    except BaseException:
        connection.execute("ROLLBACK")
        raise
