"""The disposable SQLite cache under ``.git/gitdesk/``.

Everything in it is derived from Git and can be deleted at any time: it is
built when missing, rebuilt in place when its schema is not this gitdesk's,
and deleted only when SQLite finds it corrupt. It is never a source of truth,
and nothing is written to the work tree.
"""

from __future__ import annotations

import contextlib
import functools
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from gitdesk import git, paths
from gitdesk.errors import GitdeskError

if TYPE_CHECKING:
    from gitdesk.desk import Desk

FILE = "cache.sqlite"
SCHEMA_VERSION = "20"  # bump whenever the tables or what they hold change

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS commits (
    id INTEGER PRIMARY KEY, sha TEXT UNIQUE NOT NULL, parents TEXT NOT NULL, time INTEGER NOT NULL,
    author TEXT NOT NULL, email TEXT NOT NULL, actor TEXT, verb TEXT, subject TEXT NOT NULL,
    pos INTEGER  -- a topological position when reachable from HEAD now, else NULL
);
CREATE TABLE IF NOT EXISTS events (
    commit_id INTEGER NOT NULL, ticket TEXT NOT NULL, seq INTEGER NOT NULL, time INTEGER NOT NULL,
    kind TEXT NOT NULL, field TEXT, before TEXT, after TEXT, who TEXT, detail TEXT
);
CREATE INDEX IF NOT EXISTS events_by_ticket ON events (ticket, time, seq);
CREATE INDEX IF NOT EXISTS events_by_commit ON events (commit_id);
CREATE TABLE IF NOT EXISTS scanned_tips (sha TEXT PRIMARY KEY);
-- Since when each ticket version has had each tracked field's value (gitdesk.cache.history._Producers),
-- by a blob ID prefix and the commit that made it.
CREATE TABLE IF NOT EXISTS versions (
    blob INTEGER NOT NULL, commit_id INTEGER NOT NULL, status INTEGER NOT NULL, priority INTEGER NOT NULL,
    queue INTEGER NOT NULL, assignee INTEGER NOT NULL, PRIMARY KEY (blob, commit_id)
) WITHOUT ROWID;
-- Tracked-field changes a merge threw away (gitdesk.cache.merges): left out of figures
-- while the merge is reachable.
CREATE TABLE IF NOT EXISTS overridden (
    commit_sha TEXT NOT NULL, ticket TEXT NOT NULL, field TEXT NOT NULL, merge_sha TEXT NOT NULL
);
-- Ticket records ready for listings (gitdesk.cache.listed): the JSON a listing shows,
-- good until ``until`` (unix seconds) unless the file, its history or the config change.
CREATE TABLE IF NOT EXISTS records (id TEXT PRIMARY KEY, until INTEGER NOT NULL, record TEXT NOT NULL);
"""


def path_of(repo: git.Repo, prefix: str = "") -> Path:
    """One cache per desk: a repository may hold desks in several folders."""
    return paths.state_file(repo, prefix, FILE)


TIMEOUT = 30.0  # seconds to wait for another process's hold on the cache file


def _connect(path: Path) -> sqlite3.Connection:
    connection = sqlite3.connect(path, timeout=TIMEOUT, isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    connection.execute("PRAGMA mmap_size=1073741824")  # reads without a system call per page
    return connection


def _busy(error: sqlite3.Error) -> bool:
    """SQLITE_BUSY or SQLITE_LOCKED: another connection holds the database (after our timeout)."""
    code = getattr(error, "sqlite_errorcode", None)  # Python 3.11+; before it, the message says
    if code is not None:
        return code & 0xFF in (5, 6)  # SQLITE_BUSY, SQLITE_LOCKED (extended codes keep them in the low byte)
    return "locked" in str(error) or "busy" in str(error)


@functools.cache  # the code this process runs: read once (a kb build asks four times, a web desk each page)
def code() -> str:
    """This gitdesk's code: the name, size, time and inode of each of its modules. It changes
    with an upgrade (new files) and with an edit of a checkout, where the version may not.
    Reading the version instead cost 30 ms of a 0.5 s listing (``importlib.metadata``)."""
    import os

    import gitdesk

    stats: list[str] = []
    folders = [os.path.dirname(os.path.abspath(gitdesk.__file__))]
    try:
        while folders:
            with os.scandir(folders.pop()) as entries:
                for entry in entries:
                    if entry.is_dir(follow_symlinks=False) and entry.name != "__pycache__":
                        folders.append(entry.path)
                    elif entry.name.endswith(".py"):
                        found = entry.stat()
                        stats.append(f"{entry.path}:{found.st_size}:{found.st_mtime_ns}:{found.st_ino}")
    except OSError:  # not a folder of files (a zip): the version says what it can
        return str(gitdesk.__version__)
    return "\n".join(sorted(stats))


def _still_busy() -> GitdeskError:
    return GitdeskError("the cache in .git/gitdesk stayed locked by another process for over 30 seconds",
                        hint="wait for the other gitdesk command to finish, then run this one again")


_READY, _STALE, _CORRUPT = "ready", "stale", "corrupt"


def _inspect(path: Path) -> tuple[str, sqlite3.Connection | None]:
    """What the file at ``path`` holds: this schema (ready), nothing yet or another schema
    (stale), or something SQLite cannot read (corrupt, and no connection). A busy database
    is waited for, never taken for a corrupt one."""
    import time

    # SQLite answers "busy" at once, without its timeout, to a connection that would switch a
    # file another connection is creating to WAL: several first commands at once (a CI run
    # starting four) must wait for each other here, as long as the timeout says.
    deadline = time.monotonic() + TIMEOUT
    while True:
        try:
            return _inspect_once(path)
        except _Busy:
            if time.monotonic() > deadline:
                raise _still_busy() from None
            time.sleep(0.05)


class _Busy(Exception):
    pass


def _inspect_once(path: Path) -> tuple[str, sqlite3.Connection | None]:
    try:
        connection = _connect(path)
    except sqlite3.DatabaseError as error:
        if _busy(error):
            raise _Busy from None
        return _CORRUPT, None
    try:
        row = connection.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
    except sqlite3.DatabaseError as error:
        if str(error).startswith("no such table"):  # a new, empty file
            return _STALE, connection
        connection.close()
        if _busy(error):
            raise _Busy from None
        return _CORRUPT, None
    return (_READY if row is not None and row[0] == SCHEMA_VERSION else _STALE), connection


def _remove(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)


def _create(connection: sqlite3.Connection) -> None:
    """This schema in place of whatever the file holds, in one transaction. The file is
    never deleted: a process that has it open (another gitdesk that has just created it)
    sees the old tables or the new ones. Deleting a SQLite file in use would corrupt
    what that process sees (its WAL would be the new file's)."""
    connection.execute("BEGIN IMMEDIATE")
    try:
        tables = connection.execute("SELECT name, sql FROM sqlite_master WHERE type = 'table' "
                                    "AND name NOT LIKE 'sqlite_%'").fetchall()
        # Virtual tables first: dropping one drops its shadow tables.
        tables.sort(key=lambda table: not str(table[1] or "").upper().startswith("CREATE VIRTUAL"))
        for name, _sql in tables:
            connection.execute('DROP TABLE IF EXISTS "{}"'.format(str(name).replace('"', '""')))
        for statement in SCHEMA.split(";"):
            if statement.strip():
                connection.execute(statement)
        connection.execute("INSERT OR REPLACE INTO meta VALUES ('schema', ?)", (SCHEMA_VERSION,))
        connection.execute("COMMIT")
    except BaseException:
        connection.execute("ROLLBACK")
        raise


def connect(desk: Desk) -> contextlib.AbstractContextManager[sqlite3.Connection]:
    """The desk's cache (see ``open_cache``)."""
    return open_cache(desk.repo, desk.prefix)


@contextlib.contextmanager
def open_cache(repo: git.Repo, prefix: str = "") -> Iterator[sqlite3.Connection]:
    """The desk's cache: created when missing, emptied when it holds another schema,
    deleted and made again only when SQLite finds it corrupt."""
    from gitdesk.lock import desk_lock

    try:
        repo.cache_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise GitdeskError(f"cannot keep the cache in {repo.cache_dir}: {error.strerror or error}",
                           hint=f"{repo.state_dir} cannot be written by you (or the clone is another user's), so "
                                "the cache goes to your own cache folder: set XDG_CACHE_HOME to a folder you may "
                                "write") from None
    path = path_of(repo, prefix)
    state, connection = _inspect(path)
    if state != _READY or connection is None:
        if connection is not None:
            connection.close()
        # One process makes the schema; the others wait for it and then find it made.
        with desk_lock(repo.cache_dir, name=path.name + ".lock"):
            state, connection = _inspect(path)
            if connection is None:  # corrupt: no one can be reading it, so only now is a file deleted
                _remove(path)
                connection = _connect(path)
                state = _STALE
            if state == _STALE:
                _create(connection)
    try:
        yield connection
    finally:
        connection.close()


BUILD_WAIT = 600.0  # seconds to wait for another process's build before giving up


def building(desk: Desk, part: str) -> contextlib.AbstractContextManager[None]:
    """Held while a process builds ``part`` of the cache ("index", "history"): another
    process that needs the same waits, then finds it done instead of doing it again."""
    from gitdesk.lock import desk_lock

    return desk_lock(desk.repo.cache_dir, BUILD_WAIT, name=f"{path_of(desk.repo, desk.prefix).name}.{part}.lock")


def get_meta(connection: sqlite3.Connection, key: str) -> str | None:
    row = connection.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return None if row is None else str(row[0])


def set_meta(connection: sqlite3.Connection, key: str, value: str) -> None:
    connection.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))


GENERATION = "generation"


def changed(connection: sqlite3.Connection) -> None:
    """Note, inside the transaction that changes what the index or the history holds, that
    it changed: a reader that computed something from the old state then does not store it."""
    connection.execute("INSERT INTO meta VALUES (?, '1') ON CONFLICT(key) DO UPDATE SET value = value + 1",
                       (GENERATION,))
