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

import contextlib
import functools
import json
import os
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Any

from gitdesk import ids, listing, paths, ticketfile
from gitdesk.cache import db, gitstate, workers
from gitdesk.desk import Desk, folder_listed, holds_markdown, not_a_ticket, quiet, read_regular
from gitdesk.errors import GitdeskError, NotFound, ValidationError
from gitdesk.model import INTERNAL_KINDS, KNOWN_FIELDS, TIME, Entry, Ticket
from gitdesk.paths import TICKETS

RACY_NS = gitstate.RACY_NS

TABLES = """
CREATE TABLE IF NOT EXISTS tickets (
    rowid INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL, id TEXT,
    mtime_ns INTEGER NOT NULL, size INTEGER NOT NULL, ino INTEGER NOT NULL,
    status TEXT, queue TEXT, assignee TEXT, created INTEGER, problem TEXT,
    front TEXT, resolution TEXT, entries TEXT
);
CREATE INDEX IF NOT EXISTS tickets_by_status ON tickets (status);
CREATE INDEX IF NOT EXISTS tickets_with_problem ON tickets (name) WHERE problem IS NOT NULL;
CREATE INDEX IF NOT EXISTS tickets_by_duplicate_of ON tickets (json_extract(front, '$.duplicate_of'));
CREATE TABLE IF NOT EXISTS texts (
    rowid INTEGER PRIMARY KEY, name TEXT, title TEXT, description TEXT, conversation TEXT, notes TEXT,
    resolution TEXT
);
CREATE VIRTUAL TABLE IF NOT EXISTS ticket_text USING fts5(
    name UNINDEXED, title, description, conversation, notes, resolution,
    content = 'texts', content_rowid = 'rowid',
    tokenize = 'porter unicode61 remove_diacritics 2'
);
"""
# ticket_text.rowid is tickets.rowid: an FTS row is found (and deleted) by rowid, never by scanning.
# Small columns first, the long texts last: a row's later columns are read through its overflow
# pages, so a listing that needs no entries never reads them.
#
# The texts are kept in ``texts``; ``ticket_text`` is a full-text index over them (FTS5's external
# content). A cold build writes the texts only and leaves the index behind (TEXT_BEHIND): making it
# is a third of the build, and a listing never needs it; the first search makes it (``full_text``).
TEXT_BEHIND = "text_index_behind"  # meta key, present while ticket_text does not index every text
_TEXT_COLUMNS = "rowid, name, title, description, conversation, notes, resolution"


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
    front = ticket.front_matter()
    if all(type(key) is str and _no_mapping(value) for key, value in front.items()):
        # No mapping to walk (the usual case): the C encoder calls _special for the dates only.
        return _dump_front(front)
    return json.dumps(_encode(front), ensure_ascii=False, separators=(",", ":"))


def _no_mapping(value: Any) -> bool:
    # A mapping's keys are where the encoder and _encode differ (True becomes "true", not "True").
    kind = type(value)
    return kind is not dict and (kind not in (list, tuple) or all(_no_mapping(item) for item in value))


def _special(value: Any) -> Any:
    """``_encode`` of a value the JSON encoder cannot write itself."""
    if isinstance(value, (date, datetime)):
        return _encode(value)
    raise TypeError(f"{type(value).__name__} is not JSON")


_dump_front = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=_special).encode


def _entries(ticket: Ticket) -> str:
    # Facts about each entry; text only where timings report it (time entries).
    return json.dumps([[int(e.at.timestamp()), e.author, e.kind, e.detail, e.text if e.kind == TIME else ""]
                       for e in ticket.entries], ensure_ascii=False, separators=(",", ":"))


_NO_ENTRIES = "[]"
_read_json = json.JSONDecoder().raw_decode  # json.loads less its whitespace checks: rows hold compact JSON
_fromtimestamp = datetime.fromtimestamp


def _facts(entries: str) -> tuple[Entry, ...]:
    """A row's entry facts (no text), as stored by ``_entries``."""
    return tuple([Entry(_fromtimestamp(at, timezone.utc), author, kind, text, detail)
                  for at, author, kind, detail, text in _read_json(entries)[0]])


def ticket_from_row(front: str, entries: str, resolution: str | None) -> Ticket:
    """A Ticket as listings and timings see it: front matter, entry facts (no text), resolution.

    The row was validated when it was indexed, so it is rebuilt directly. A listing
    rebuilds thousands of them, so this is kept to the few calls it needs."""
    data = _read_json(front)[0]
    extra = {key: _decode(value) for key, value in data.items() if key not in KNOWN_FIELDS}
    facts = () if entries == _NO_ENTRIES else _facts(entries)
    get = data.get
    return Ticket(
        id=data["id"], title=data["title"], status=data["status"],
        created=datetime.fromisoformat(data["created"]["$dt"]), requester=data["requester"],
        priority=get("priority"), queue=get("queue"), assignee=get("assignee"), category=get("category"),
        asset=get("asset"), labels=tuple(get("labels") or ()), duplicate_of=get("duplicate_of"),
        related=tuple(get("related") or ()), extra=extra, entries=facts, resolution=resolution,
    )


# --- refreshing -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RefreshStats:
    read: int  # files (re)parsed
    removed: int
    total: int


def _scan_directory(desk: Desk) -> dict[str, os.stat_result]:
    directory = desk.tickets_dir
    paths.refuse_link(directory, TICKETS + "/", hint="replace it with a real directory")
    found: dict[str, os.stat_result] = {}
    try:
        with os.scandir(directory) as entries:
            for entry in entries:
                if entry.name.endswith(".md"):
                    found[entry.name] = entry.stat(follow_symlinks=False)
                elif folder_listed(entry):  # listed as a problem: its tickets are not read
                    found[entry.name + "/"] = entry.stat(follow_symlinks=False)
    except FileNotFoundError:
        pass
    return found


def _fingerprint(on_disk: dict[str, os.stat_result]) -> str:
    """A summary of the directory's stat data; equal summaries mean nothing changed
    (mtimes and inodes only move forward in practice, so changes never cancel out)."""
    count, mtimes, sizes, inodes = len(on_disk), 0, 0, 0
    for st in on_disk.values():
        mtimes += st.st_mtime_ns
        sizes += st.st_size
        inodes ^= st.st_ino
    return f"{count}:{mtimes}:{sizes}:{inodes}"


def _racy(on_disk: dict[str, os.stat_result], last: int) -> list[str]:
    return [name for name, st in on_disk.items() if st.st_mtime_ns >= last - RACY_NS]


@dataclass(frozen=True, slots=True)
class _Plan:
    """What a refresh writes: the files to (re)read and the names to drop; what to record."""

    on_disk: dict[str, os.stat_result]  # the stat of each file to read (after a full scan, of every file)
    changed: list[str]
    removed: list[str]
    fingerprint: str | None  # the whole directory's, after a full scan
    state: dict[str, Any] | None  # Git's view, to vouch for the files next time


BUILD_FROM = 500  # files to read that make a refresh a build: shown as progress, done by one process at a time
PARALLEL_FROM = 4000  # files to read that pay for worker processes (each row comes back pickled)
CHUNK = 400  # files per task for a worker, and per step of the progress
TEXT_STEP = 2000  # texts indexed per step of the progress when the full-text index is made
COMMIT_EVERY = 8000  # rows per transaction in a build: other writers get a turn, the WAL stays small
BUILD_CACHE_KIB = 64 * 1024  # SQLite's page cache while building (2 MiB by default)


def refresh(desk: Desk, connection: sqlite3.Connection) -> RefreshStats:
    """Make the index match the ticket files in the work tree.

    When Git's index file is the one seen at the last refresh, only files Git
    reports as differing from it now or then can differ from what was indexed:
    just those are compared. Anything else (a commit, a checkout, a first run)
    compares every file's stat.
    """
    connection.executescript(TABLES)
    generation = db.get_meta(connection, db.GENERATION)
    plan = _plan(desk, connection)
    if isinstance(plan, RefreshStats):
        return plan
    if len(plan.changed) < BUILD_FROM:
        return _write(desk, connection, plan)
    # Seconds of work: one process does it while others wait, then find it done.
    with db.building(desk, "index"):
        if db.get_meta(connection, db.GENERATION) != generation:  # written meanwhile: the plan may be stale
            plan = _plan(desk, connection)
        return plan if isinstance(plan, RefreshStats) else _write(desk, connection, plan)


def _plan(desk: Desk, connection: sqlite3.Connection) -> _Plan | RefreshStats:
    """What to write, or the stats of a refresh that found nothing to do."""
    paths.refuse_link(desk.tickets_dir, TICKETS + "/", hint="replace it with a real directory")
    last = int(db.get_meta(connection, "index_refreshed_ns") or 0)
    try:
        stored = json.loads(db.get_meta(connection, "index_git_state") or "null")
    except ValueError:
        stored = None
    state = gitstate.state(desk, stored)
    moved: list[str] | None = state.pop("moved", None) if state is not None else None
    if state is not None and isinstance(stored, dict) and (stored.get("index") == state["index"] or moved is not None):
        before: dict[str, str] = stored.get("dirty") or {}
        names = set(before) | set(state["dirty"])
        racy = {name for name, key in state["dirty"].items()
                if key != "gone" and int(key.split(":", 1)[0]) >= last - RACY_NS}
        suspects = (sorted(name for name in names if before.get(name) != state["dirty"].get(name)) + sorted(racy)
                    + (moved or []))
        if not suspects:
            if state != stored:  # the same files; the folder has settled since: list untracked ones less often
                db.set_meta(connection, "index_git_state", json.dumps(state))
            return RefreshStats(0, 0, -1)
        on_disk: dict[str, os.stat_result] = {}
        gone: list[str] = []
        for name in dict.fromkeys(suspects):
            if name.endswith("/") and not holds_markdown(desk.tickets_dir / name):
                gone.append(name)  # emptied (git mv leaves the folder), or no tickets in it: nothing to report
                continue
            try:
                on_disk[name] = os.stat(desk.tickets_dir / name, follow_symlinks=False)
            except FileNotFoundError:
                gone.append(name)
        return _Plan(on_disk, list(on_disk), gone, None, state)
    return _plan_by_stat(desk, connection, last, state)


def _plan_by_stat(desk: Desk, connection: sqlite3.Connection, last: int,
                  state: dict[str, Any] | None) -> _Plan | RefreshStats:
    """Compare every file's stat with what was indexed; read the ones that differ."""
    on_disk = _scan_directory(desk)
    fingerprint = _fingerprint(on_disk)
    racy = _racy(on_disk, last)
    if not racy and db.get_meta(connection, "index_fingerprint") == fingerprint:
        if state is not None:
            db.set_meta(connection, "index_git_state", json.dumps(state))
        return RefreshStats(0, 0, len(on_disk))
    stored = {name: (mtime, size, ino) for name, mtime, size, ino in
              connection.execute("SELECT name, mtime_ns, size, ino FROM tickets")}
    changed = sorted({name for name, st in on_disk.items()
                      if stored.get(name) != (st.st_mtime_ns, st.st_size, st.st_ino)} | set(racy))
    removed = [name for name in stored if name not in on_disk]
    return _Plan(on_disk, changed, removed, fingerprint, state)


def update(desk: Desk, connection: sqlite3.Connection, names: Sequence[str]) -> None:
    """Re-index files this process just wrote, without a directory scan. The next
    reader's check trusts Git again only if this process's own update of Git's index
    was the only change to it (``gitstate.after_own_write``); else it stats every file."""
    connection.executescript(TABLES)
    try:
        stored = json.loads(db.get_meta(connection, "index_git_state") or "null")
    except ValueError:
        stored = None
    directory = desk.tickets_dir
    on_disk = {}
    for name in names:
        try:
            on_disk[name] = os.stat(directory / name, follow_symlinks=False)
        except FileNotFoundError:
            continue
    _write(desk, connection, _Plan(on_disk, list(on_disk), [], None, None))
    carried = gitstate.after_own_write(desk, stored, set(names))
    if carried is not None:  # the next command trusts Git's list of changed files again
        db.set_meta(connection, "index_git_state", json.dumps(carried))


def written(desk: Desk, ticket_files: Sequence[str]) -> None:
    """Index ticket files this process has just committed, so that a shortcut that
    skips the full freshness check (suggestions right after ``new``) sees them.
    Only an index that exists is updated; the next full check would find them anyway."""
    names = [path.rsplit("/", 1)[-1] for path in ticket_files if path.startswith(TICKETS + "/")]
    if not names or not db.path_of(desk.repo, desk.prefix).exists():
        return
    try:
        with db.connect(desk) as connection:
            update(desk, connection, names)
    except sqlite3.Error as error:
        raise GitdeskError(f"the change is committed, but the index in .git/gitdesk could not be updated: {error}",
                           hint="the next gitdesk command rebuilds what it needs") from None


_Stat = tuple[str, int, int, int]  # name, mtime_ns, size, inode
_Parsed = tuple[str, "tuple[Any, ...] | None", "tuple[str, ...] | None"]  # name, tickets row, full-text row


def _parse_files(directory: str, id_prefix: str, files: list[_Stat]) -> list[_Parsed]:
    """The index rows of ticket files: a tickets row (its ``problem`` set for a file that
    cannot be read) and a full-text row (None for such a file); no rows for a file that is
    gone since the scan. Plain values in and out: this runs in worker processes too."""
    pattern = ids.id_pattern(id_prefix)
    parsed: list[_Parsed] = []
    for name, mtime_ns, size, ino in files:
        path = f"{TICKETS}/{name}"
        if not name.endswith(".md") or not pattern.match(name[:-3]):
            problem = str(not_a_ticket(name))
            parsed.append((name, (name, None, mtime_ns, size, ino, None, None, None, None, None, None, None,
                                  problem), None))
            continue
        try:
            data = read_regular(os.path.join(directory, name), path)
            ticket = ticketfile.read_ticket(ticketfile.decode(data, path), path)
            if ticket.id != name[:-3]:
                raise GitdeskError(f"file name says {name[:-3]} but its id is {ticket.id}", path=path,
                                   hint=f"put back id: {name[:-3]}")
        except NotFound:
            parsed.append((name, None, None))  # gone between the scan and the read: the next refresh sees it
            continue
        except GitdeskError as error:
            parsed.append((name, (name, None, mtime_ns, size, ino, None, None, None, None, None, None, None,
                                  str(error)), None))
            continue
        # Hand-written text between the entries is conversation, not symptoms: searched, never in kb/.
        public = "\n\n".join([*filter(None, [ticket.conversation_text]),
                               *(e.text for e in ticket.entries if e.kind not in INTERNAL_KINDS)])
        internal = "\n\n".join(e.text for e in ticket.entries if e.kind in INTERNAL_KINDS)
        parsed.append((name, (name, ticket.id, mtime_ns, size, ino, ticket.status, ticket.queue, ticket.assignee,
                              int(ticket.created.timestamp()), _front(ticket), _entries(ticket),
                              ticket.resolution, None),
                       (name, ticket.title, ticket.description, public, internal,
                        ticket.resolution or "")))
    return parsed


def _write(desk: Desk, connection: sqlite3.Connection, plan: _Plan) -> RefreshStats:
    """Index ``plan.changed`` and drop ``plan.removed``. ``plan.fingerprint`` is None after
    a partial scan (the next full check cannot be skipped by it); ``plan.state`` is None
    after a write-through, which cannot vouch for the rest of the desk.

    A build commits every few thousand rows, each file's old row replaced by its new one
    in the same transaction: a reader never misses a ticket, and what an interrupted
    build wrote is true (each row matches the stat it records), so it is only resumed.
    What vouches for the whole desk (fingerprint, Git's view) is written last."""
    started = time.time_ns()
    files = [(name, st.st_mtime_ns, st.st_size, st.st_ino) for name in plan.changed
             for st in (plan.on_disk[name],)]
    jobs = [files[start:start + CHUNK] for start in range(0, len(files), CHUNK)]
    parse = functools.partial(_parse_files, str(desk.tickets_dir), desk.config.id_prefix)
    building = len(files) >= BUILD_FROM
    read = 0
    with (desk.progress("Indexing tickets", len(files)) if building else quiet("") as advance,
          _bulk_writes(connection) if building else contextlib.nullcontext()):
        try:
            pending = 0
            if building and connection.execute("SELECT 1 FROM tickets LIMIT 1").fetchone() is None:
                db.set_meta(connection, TEXT_BEHIND, "1")  # a cold build: the first search makes it
            with workers.map_in_order(parse, jobs, parallel=len(files) >= PARALLEL_FROM) as results:
                for parsed in results:  # waiting for the workers outside a transaction: others may write
                    if not connection.in_transaction:
                        connection.execute("BEGIN IMMEDIATE")
                        text = db.get_meta(connection, TEXT_BEHIND) is None
                    read += _replace(connection, parsed, text)
                    pending += len(parsed)
                    if pending >= COMMIT_EVERY:
                        connection.execute("COMMIT")
                        pending = 0
                    advance(len(parsed))
            if not connection.in_transaction:
                connection.execute("BEGIN IMMEDIATE")
            _drop(connection, plan.removed, db.get_meta(connection, TEXT_BEHIND) is None)
            db.changed(connection)
            if plan.fingerprint is not None or plan.state is not None:
                db.set_meta(connection, "index_refreshed_ns", str(started))
            db.set_meta(connection, "index_fingerprint", plan.fingerprint or "")
            recorded = gitstate.as_recorded(desk, plan.state) if plan.state is not None else None
            db.set_meta(connection, "index_git_state", json.dumps(recorded) if recorded is not None else "")
            connection.execute("COMMIT")
        except BaseException:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            raise
    return RefreshStats(read, len(plan.removed), len(plan.on_disk))


@contextlib.contextmanager
def _bulk_writes(connection: sqlite3.Connection) -> Iterator[None]:
    """SQLite set for a build: a larger page cache, and no flush to the disk at each commit. A
    crash of gitdesk loses nothing (the build resumes); a machine that dies meanwhile may leave
    a damaged cache, which is disposable (docs/concepts.md)."""
    cache_size = connection.execute("PRAGMA cache_size").fetchone()[0]
    connection.execute(f"PRAGMA cache_size = -{BUILD_CACHE_KIB}")
    connection.execute("PRAGMA synchronous = OFF")
    try:
        yield
    finally:
        connection.execute(f"PRAGMA cache_size = {int(cache_size)}")
        connection.execute("PRAGMA synchronous = NORMAL")


def _drop(connection: sqlite3.Connection, names: Sequence[str], text: bool) -> None:
    """Delete the rows of ``names`` (a few hundred at a time: SQLite's limit on parameters),
    and their words from the full-text index when it is kept (``text``)."""
    for start in range(0, len(names), CHUNK):
        part = names[start:start + CHUNK]
        marks = ",".join("?" * len(part))
        rowids = [row for row in connection.execute(f"SELECT rowid FROM tickets WHERE name IN ({marks})", part)]
        connection.execute(f"DELETE FROM records WHERE id IN (SELECT id FROM tickets WHERE name IN ({marks}))", part)
        if text:  # an external-content index forgets a row by being told its words again
            connection.executemany(f"INSERT INTO ticket_text (ticket_text, {_TEXT_COLUMNS}) "
                                   f"SELECT 'delete', {_TEXT_COLUMNS} FROM texts WHERE rowid = ?", rowids)
        connection.executemany("DELETE FROM texts WHERE rowid = ?", rowids)
        connection.executemany("DELETE FROM tickets WHERE rowid = ?", rowids)


def _replace(connection: sqlite3.Connection, parsed: list[_Parsed], text: bool) -> int:
    """Write the rows of one chunk in place of what the index held for those files; the rows written."""
    if not parsed:
        return 0
    _drop(connection, [name for name, _, _ in parsed], text)
    # texts.rowid is tickets.rowid: both are given, so a chunk is two executemany calls
    first = connection.execute("SELECT COALESCE(MAX(rowid), 0) + 1 FROM tickets").fetchone()[0]
    rows: list[tuple[Any, ...]] = []
    texts: list[tuple[Any, ...]] = []
    for _, row, words in parsed:
        if row is not None:
            if words is not None:
                texts.append((first + len(rows), *words))
            rows.append((first + len(rows), *row))
    connection.executemany("INSERT INTO tickets (rowid, name, id, mtime_ns, size, ino, status, queue, assignee, "
                           "created, front, entries, resolution, problem) "
                           "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    connection.executemany(f"INSERT INTO texts ({_TEXT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)", texts)
    if text:
        connection.executemany(f"INSERT INTO ticket_text ({_TEXT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)", texts)
    connection.executemany("DELETE FROM records WHERE id = ?", [(row[2],) for row in rows if row[2] is not None])
    return len(rows)


def full_text(desk: Desk, connection: sqlite3.Connection) -> None:
    """Make the full-text index whole before a search: after a cold build it is made here, once,
    from the stored texts (seconds at 100,000 tickets, with progress)."""
    if db.get_meta(connection, TEXT_BEHIND) is None:
        return
    with db.building(desk, "index"):
        if db.get_meta(connection, TEXT_BEHIND) is None:  # made by another process meanwhile
            return
        total, top = connection.execute("SELECT COUNT(*), COALESCE(MAX(rowid), 0) FROM texts").fetchone()
        with (desk.progress("Indexing words for search", total) if total >= BUILD_FROM else quiet("") as advance,
              _bulk_writes(connection)):
            connection.execute("BEGIN IMMEDIATE")
            try:
                connection.execute("INSERT INTO ticket_text (ticket_text) VALUES ('delete-all')")
                for start in range(1, top + 1, TEXT_STEP):
                    advance(connection.execute(
                        f"INSERT INTO ticket_text ({_TEXT_COLUMNS}) SELECT {_TEXT_COLUMNS} FROM texts "
                        "WHERE rowid BETWEEN ? AND ?", (start, start + TEXT_STEP - 1)).rowcount)
                connection.execute("DELETE FROM meta WHERE key = ?", (TEXT_BEHIND,))
                connection.execute("COMMIT")
            except BaseException:
                connection.execute("ROLLBACK")
                raise


# --- reading --------------------------------------------------------------------------


Parse = Callable[[str, str, "str | None"], Ticket]  # ticket_from_row, or a memo of it (gitdesk serve keeps one)


def tickets(desk: Desk, connection: sqlite3.Connection, statuses: Sequence[str] | None = None,
            with_facts: bool = True, *, queue: str | None = None, assignee: str | None = None,
            unassigned: bool = False, refreshed: bool = False,
            parse: Parse | None = None) -> tuple[list[Ticket], list[GitdeskError]]:
    """Tickets from the index (refreshed first, unless the caller just did), narrowed by
    status, queue and assignee when given; the problems of unreadable files, as
    ``Desk.all_tickets`` reports them. Narrowing is a speed-up only: callers filter
    exactly afterwards. ``parse`` rebuilds a Ticket from a row (``ticket_from_row``
    unless given)."""
    rebuild = parse or ticket_from_row
    if not refreshed:
        refresh(desk, connection)
    # Without facts the entries are not even read (the longest column, stored last).
    query = f"SELECT front, {'entries' if with_facts else repr(_NO_ENTRIES)}, resolution, problem, name FROM tickets"
    clauses, params = _narrowing(statuses, queue, assignee, unassigned)
    if clauses:
        query += " WHERE (" + " AND ".join(clauses) + ") OR problem IS NOT NULL"
    found: list[Ticket] = []
    problems: list[GitdeskError] = []
    for front, entries, resolution, problem, _name in connection.execute(query + " ORDER BY name", params):
        if problem is not None:
            problems.append(GitdeskError(problem))
            continue
        found.append(rebuild(front, entries if with_facts else _NO_ENTRIES, resolution))
    return found, problems


def _narrowing(statuses: Sequence[str] | None, queue: str | None, assignee: str | None,
               unassigned: bool) -> tuple[list[str], list[str]]:
    """The WHERE clauses (and their parameters) that pick tickets by the index's columns:
    status, queue, assignee (a handle), or nobody assigned."""
    clauses: list[str] = []
    params: list[str] = []
    if statuses is not None:
        clauses.append(f"status IN ({','.join('?' * len(statuses))})")
        params += list(statuses)
    if queue is not None:
        clauses.append("queue = ?")
        params.append(queue)
    if assignee is not None:
        clauses.append("assignee = ?")
        params.append(assignee)
    if unassigned:
        clauses.append("(assignee IS NULL OR assignee = '')")
    return clauses, params


def unknown_statuses(connection: sqlite3.Connection, desk: Desk) -> list[GitdeskError]:
    """A problem for each ticket whose status the config does not know: no listing by
    status would show it, so it must not vanish without a word."""
    known = list(desk.config.statuses)
    # The statuses in use, from the status index alone (ms at 100,000 tickets); the rows
    # themselves are read only when one is unknown (reading them all took 0.06 to 0.26 s).
    used = {row[0] for row in connection.execute("SELECT DISTINCT status FROM tickets")}
    if not used - set(known) - {None}:
        return []
    rows = connection.execute(f"SELECT name, status FROM tickets WHERE problem IS NULL AND status NOT IN "
                              f"({','.join('?' * len(known))}) ORDER BY name", known).fetchall()
    return [ValidationError(f"status {status!r} is not one of this desk's, so no list shows it",
                            path=f"{TICKETS}/{name}", hint=f"set a known one with gitdesk edit {name[:-3]}; "
                                                           "gitdesk check lists every problem")
            for name, status in rows]


def entries_of(connection: sqlite3.Connection, ids: Sequence[str]) -> dict[str, tuple[Entry, ...]]:
    """The entry facts (no text) of tickets by id, as ``tickets`` gives them: for callers
    that listed many without facts and need them for a few."""
    found: dict[str, tuple[Entry, ...]] = {}
    rows = connection.execute("SELECT id, entries FROM tickets WHERE id IN (SELECT value FROM json_each(?))",
                              (json.dumps(list(ids)),))
    for ticket_id, entries in rows:
        found[ticket_id] = _facts(entries)
    return found


def ids_with_field(connection: sqlite3.Connection, name: str) -> list[str]:
    """The tickets whose front matter has ``name`` set (a rarely used field: the rest is not read)."""
    return [row[0] for row in connection.execute(
        "SELECT id FROM tickets WHERE problem IS NULL AND id IS NOT NULL AND json_extract(front, ?) IS NOT NULL "
        "ORDER BY id", (f'$."{name}"',))]


def duplicates_of(desk: Desk, ticket_id: str) -> list[str] | None:
    """The tickets whose ``duplicate_of`` names ``ticket_id``, from the index as the last command
    left it (``show`` stays instant: no look at every file; the verbs and hooks keep it up to
    date); None when the index was never built."""
    with db.connect(desk) as connection:
        if not db.get_meta(connection, "index_refreshed_ns"):
            return None
        return [row[0] for row in connection.execute(
            "SELECT id FROM tickets WHERE json_extract(front, '$.duplicate_of') = ? AND problem IS NULL "
            "AND id IS NOT NULL ORDER BY id", (ticket_id,))]


def all_ids(connection: sqlite3.Connection) -> list[str]:
    return [row[0] for row in connection.execute("SELECT id FROM tickets WHERE id IS NOT NULL ORDER BY id")]


def current_ids(desk: Desk) -> list[str]:
    """Every ticket's ID now (the index refreshed first): what an abbreviated ID must not
    be mistaken for."""
    with db.connect(desk) as connection:
        refresh(desk, connection)
        return all_ids(connection)


def ids_where(connection: sqlite3.Connection, names: Iterable[str]) -> list[str]:
    wanted = list(names)
    return [row[0] for row in connection.execute(
        f"SELECT id FROM tickets WHERE name IN ({','.join('?' * len(wanted))})", wanted)]


def query(desk: Desk, filters: listing.Filters, sort_key: str | None, *, with_facts: bool = True,
          with_ids: bool = False, parse: Parse | None = None) -> listing.Listing:
    """The tickets a listing shows, read through the index (refreshed from the work tree first).

    The index narrows by status; the exact filtering and sorting are the same
    ``select``/``sort`` used on tickets read straight from the files.
    """
    filters.validate(desk.config)
    statuses = None if listing.ALL in filters.statuses else list(filters.statuses or desk.config.open_statuses)
    with db.connect(desk) as connection:
        person = desk.config.person(filters.assignee) if filters.assignee else None
        found, problems = tickets(desk, connection, statuses, with_facts, queue=filters.queue,
                                        assignee=person.handle if person else None, unassigned=filters.unassigned,
                                        parse=parse)
        every_id = all_ids(connection) if with_ids else []  # 100,000 ids cost 0.08 s
        problems += unknown_statuses(connection, desk)
    chosen = listing.sort(listing.select(found, filters, desk.config), sort_key, desk.config)
    return listing.Listing(chosen, problems, every_id)


def query_ids(desk: Desk, filters: listing.Filters, sort_key: str | None) -> tuple[list[str], list[GitdeskError]]:
    """The IDs a listing shows, in order, and the problems it warns of: what ``query`` finds,
    read from the index's columns alone when the filters and the order allow (status,
    queue, assignee; by ID), so that no ticket is rebuilt."""
    found = _by_columns(desk, filters, sort_key, "id")
    if found is None:
        chosen = query(desk, filters, sort_key, with_facts=False)
        return [ticket.id for ticket in chosen.tickets], chosen.problems
    rows, problems, _ = found
    return [row[0] for row in rows], problems


def query_rows(desk: Desk, filters: listing.Filters, sort_key: str | None, *,
               with_ids: bool = False) -> tuple[list[Ticket] | list[listing.Row], list[GitdeskError], list[str]]:
    """What a listing's table shows: ``query``, but read from the index's columns as
    ``listing.Row`` when the filters and the order allow (0.1 s less for 12,000 rows than
    rebuilding each Ticket), and from ``query`` otherwise; with every ID when asked (to
    abbreviate IDs)."""
    # SQLite's JSON functions end a text at a NUL ("Hand\0written" read "Hand"): a title that
    # holds one (its JSON holds "\u0000") is read from the JSON in Python instead.
    found = _by_columns(desk, filters, sort_key, "id, status, json_extract(front, '$.priority'), queue, "
                                                 "assignee, created, json_extract(front, '$.title'), "
                                                 "CASE WHEN instr(front, '\\u0000') THEN front END",
                        with_ids=with_ids)
    if found is None:
        chosen = query(desk, filters, sort_key, with_facts=False, with_ids=with_ids)
        return chosen.tickets, chosen.problems, chosen.all_ids
    rows, problems, every = found
    return [listing.Row(ticket_id, status, priority, queue, assignee, _fromtimestamp(created, timezone.utc),
                        json.loads(front)["title"] if front else title)
            for ticket_id, status, priority, queue, assignee, created, title, front in rows], problems, every


def _by_columns(desk: Desk, filters: listing.Filters, sort_key: str | None, columns: str, *,
                with_ids: bool = False) -> tuple[list[tuple[Any, ...]], list[GitdeskError], list[str]] | None:
    """``columns`` of the tickets a listing shows, by ID, its problems (and every ID, when
    asked); None when the filters or the order need the whole ticket (requester, category,
    asset, labels, a team, a sort)."""
    if filters.requester or filters.category or filters.asset or filters.labels or filters.team or sort_key:
        return None
    filters.validate(desk.config)
    statuses = None if listing.ALL in filters.statuses else list(filters.statuses or desk.config.open_statuses)
    person = desk.config.person(filters.assignee) if filters.assignee else None
    clauses, params = _narrowing(statuses, filters.queue, person.handle if person else None, filters.unassigned)
    with db.connect(desk) as connection:
        refresh(desk, connection)
        problems: list[GitdeskError] = [GitdeskError(row[0]) for row in connection.execute(
            "SELECT problem FROM tickets WHERE problem IS NOT NULL ORDER BY name")]
        rows = connection.execute(f"SELECT {columns} FROM tickets WHERE {' AND '.join(['id IS NOT NULL', *clauses])} "
                                  "ORDER BY id", params).fetchall()
        problems += unknown_statuses(connection, desk)
        every = all_ids(connection) if with_ids else []
    return rows, problems, every
