"""The disposable ticket index: front matter, text and conversation facts of
every ticket file, in SQLite (with an FTS5 full-text table), under ``.git/``.

It mirrors the work tree, not a commit: ``list``, ``show`` and ``search``
must see files as they are, hand edits included. Freshness is checked the
way Git checks its own index: every file's size, mtime and inode against
what was recorded, and any file modified within the last two seconds of the
previous refresh is re-read regardless (the "racy" case, where a second edit
in the same clock tick would keep the mtime). Unchanged files cost one stat;
a changed file costs one parse. Deleting, corrupting or replacing the index
with another version's only costs a rebuild.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timezone
from typing import Any

from gitdesk import ticketfile
from gitdesk.desk import TICKETS, Desk, read_regular
from gitdesk.errors import GitdeskError, TicketFormatError, UnsafePath
from gitdesk.model import INTERNAL_KINDS, TIME, Entry, Ticket

RACY_NS = 2_000_000_000

TABLES = """
CREATE TABLE IF NOT EXISTS tickets (
    name TEXT PRIMARY KEY, id TEXT, mtime_ns INTEGER NOT NULL, size INTEGER NOT NULL, ino INTEGER NOT NULL,
    status TEXT, queue TEXT, assignee TEXT, created INTEGER,
    front TEXT, entries TEXT, resolution TEXT, problem TEXT
);
CREATE INDEX IF NOT EXISTS tickets_by_status ON tickets (status);
CREATE VIRTUAL TABLE IF NOT EXISTS ticket_text USING fts5(
    name UNINDEXED, title, description, conversation, notes, resolution,
    tokenize = 'porter unicode61 remove_diacritics 2'
);
"""


# --- values in and out of JSON, keeping dates ------------------------------------------


def _encode(value: Any) -> Any:
    if isinstance(value, datetime):
        return {"$dt": value.isoformat()}
    if isinstance(value, date):
        return {"$d": value.isoformat()}
    if isinstance(value, (list, tuple)):
        return [_encode(item) for item in value]
    if isinstance(value, dict):
        return {str(key): _encode(item) for key, item in value.items()}
    return value


def _decode(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {"$dt"}:
            return datetime.fromisoformat(value["$dt"])
        if set(value) == {"$d"}:
            return date.fromisoformat(value["$d"])
        return {key: _decode(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_decode(item) for item in value]
    return value


def _front(ticket: Ticket) -> str:
    return json.dumps(_encode(ticket.front_matter()), ensure_ascii=False, separators=(",", ":"))


def _entries(ticket: Ticket) -> str:
    # Facts about each entry; text only where timings report it (time entries).
    return json.dumps([[int(e.at.timestamp()), e.author, e.kind, e.detail, e.text if e.kind == TIME else ""]
                       for e in ticket.entries], ensure_ascii=False, separators=(",", ":"))


def ticket_from_row(front: str, entries: str, resolution: str | None) -> Ticket:
    """A Ticket as listings and timings see it: front matter, entry facts (no text), resolution."""
    data = _decode(json.loads(front))
    parsed = ticketfile.ticket_from_data(data)
    facts = tuple(Entry(datetime.fromtimestamp(at, timezone.utc), author, kind, text, detail)
                  for at, author, kind, detail, text in json.loads(entries))
    return replace(parsed, entries=facts, resolution=resolution)


# --- refreshing -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RefreshStats:
    read: int  # files (re)parsed
    removed: int
    total: int


def _scan_directory(desk: Desk) -> dict[str, os.stat_result]:
    directory = desk.tickets_dir
    if directory.is_symlink():
        raise UnsafePath("tickets/ is a symbolic link; gitdesk never follows links",
                         path=TICKETS, hint="replace it with a real directory")
    found: dict[str, os.stat_result] = {}
    try:
        with os.scandir(directory) as entries:
            for entry in entries:
                if entry.name.endswith(".md"):
                    found[entry.name] = entry.stat(follow_symlinks=False)
    except FileNotFoundError:
        pass
    return found


def refresh(desk: Desk, connection: sqlite3.Connection) -> RefreshStats:
    """Make the index match the ticket files in the work tree."""
    connection.executescript(TABLES)
    on_disk = _scan_directory(desk)
    stored = {name: (mtime, size, ino) for name, mtime, size, ino in
              connection.execute("SELECT name, mtime_ns, size, ino FROM tickets")}
    from gitdesk.cache import get_meta, set_meta

    last = int(get_meta(connection, "index_refreshed_ns") or 0)
    started = time.time_ns()
    changed = [name for name, st in on_disk.items()
               if stored.get(name) != (st.st_mtime_ns, st.st_size, st.st_ino) or st.st_mtime_ns >= last - RACY_NS]
    removed = [name for name in stored if name not in on_disk]
    if not changed and not removed:
        return RefreshStats(0, 0, len(on_disk))
    pattern = re.compile(rf"^{re.escape(desk.config.id_prefix)}-[0-9A-HJKMNP-TV-Z]{{18}}\.md$")
    rows: list[tuple[Any, ...]] = []
    texts: list[tuple[str, ...]] = []
    directory = str(desk.tickets_dir)
    for name in changed:
        st = on_disk[name]
        path = f"{TICKETS}/{name}"
        problem: str | None = None
        ticket: Ticket | None = None
        if not pattern.match(name):
            problem = str(TicketFormatError("is not named like a ticket of this desk, so it is not listed",
                                            path=path, hint="gitdesk check explains"))
        else:
            try:
                data = read_regular(os.path.join(directory, name), path)
                ticket = ticketfile.read_ticket(ticketfile.decode(data, path), path)
                if ticket.id != name[:-3]:
                    raise GitdeskError(f"file name says {name[:-3]} but its id is {ticket.id}", path=path,
                                       hint=f"put back id: {name[:-3]}")
            except GitdeskError as error:
                problem, ticket = str(error), None
            except FileNotFoundError:
                continue  # gone between the scan and the read: the next refresh sees it
        if ticket is None:
            rows.append((name, None, st.st_mtime_ns, st.st_size, st.st_ino, None, None, None, None, None, None,
                         None, problem))
            continue
        rows.append((name, ticket.id, st.st_mtime_ns, st.st_size, st.st_ino, ticket.status, ticket.queue,
                     ticket.assignee, int(ticket.created.timestamp()), _front(ticket), _entries(ticket),
                     ticket.resolution, None))
        public = "\n\n".join(e.text for e in ticket.entries if e.kind not in INTERNAL_KINDS)
        internal = "\n\n".join(e.text for e in ticket.entries if e.kind in INTERNAL_KINDS)
        texts.append((name, ticket.title, ticket.description + "\n" + ticket.conversation_text, public, internal,
                      ticket.resolution or ""))
    connection.execute("BEGIN IMMEDIATE")
    try:
        gone = removed + changed
        connection.executemany("DELETE FROM tickets WHERE name = ?", [(name,) for name in gone])
        connection.executemany("DELETE FROM ticket_text WHERE name = ?", [(name,) for name in gone])
        connection.executemany("INSERT INTO tickets VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
        connection.executemany("INSERT INTO ticket_text VALUES (?, ?, ?, ?, ?, ?)", texts)
        set_meta(connection, "index_refreshed_ns", str(started))
        connection.execute("COMMIT")
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    return RefreshStats(len(rows), len(removed), len(on_disk))


# --- reading --------------------------------------------------------------------------


def tickets(desk: Desk, connection: sqlite3.Connection, statuses: Sequence[str] | None = None,
            with_facts: bool = True) -> tuple[list[Ticket], list[GitdeskError]]:
    """Tickets from the index (refreshed first), optionally only some statuses;
    the problems of unreadable files, as ``Desk.all_tickets`` reports them."""
    refresh(desk, connection)
    query = "SELECT front, entries, resolution, problem, name FROM tickets"
    params: list[str] = []
    if statuses is not None:
        query += f" WHERE status IN ({','.join('?' * len(statuses))}) OR problem IS NOT NULL"
        params = list(statuses)
    found: list[Ticket] = []
    problems: list[GitdeskError] = []
    for front, entries, resolution, problem, _name in connection.execute(query + " ORDER BY name", params):
        if problem is not None:
            problems.append(GitdeskError(problem))
            continue
        found.append(ticket_from_row(front, entries if with_facts else "[]", resolution))
    return found, problems


def all_ids(connection: sqlite3.Connection) -> list[str]:
    return [row[0] for row in connection.execute("SELECT id FROM tickets WHERE id IS NOT NULL ORDER BY id")]


def ids_where(connection: sqlite3.Connection, names: Iterable[str]) -> list[str]:
    wanted = list(names)
    return [row[0] for row in connection.execute(
        f"SELECT id FROM tickets WHERE name IN ({','.join('?' * len(wanted))})", wanted)]
