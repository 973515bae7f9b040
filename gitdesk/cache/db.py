"""The disposable SQLite cache under ``.git/gitdesk/``.

Everything in it is derived from Git and can be deleted at any time: it is
rebuilt when missing, when its schema is not this gitdesk's, or when SQLite
finds it corrupt. It is never a source of truth, and nothing is written to
the work tree.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from gitdesk import git

if TYPE_CHECKING:
    from gitdesk.desk import Desk

FILE = "cache.sqlite"
SCHEMA_VERSION = "7"  # bump whenever the tables or what they hold change

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS commits (
    sha TEXT PRIMARY KEY, parents TEXT NOT NULL, time INTEGER NOT NULL,
    author TEXT NOT NULL, email TEXT NOT NULL, actor TEXT, verb TEXT, subject TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS events (
    commit_sha TEXT NOT NULL, ticket TEXT NOT NULL, seq INTEGER NOT NULL, time INTEGER NOT NULL,
    kind TEXT NOT NULL, field TEXT, before TEXT, after TEXT, who TEXT, detail TEXT
);
CREATE INDEX IF NOT EXISTS events_by_ticket ON events (ticket, time, seq);
CREATE INDEX IF NOT EXISTS events_by_commit ON events (commit_sha);
CREATE TABLE IF NOT EXISTS scanned_tips (sha TEXT PRIMARY KEY);
CREATE TABLE IF NOT EXISTS reachable (sha TEXT PRIMARY KEY, pos INTEGER NOT NULL);
"""


def path_of(repo: git.Repo, prefix: str = "") -> Path:
    """One cache per desk: a repository may hold desks in several folders."""
    if not prefix:
        return repo.state_dir / FILE
    import hashlib

    return repo.state_dir / f"cache-{hashlib.sha1(prefix.encode()).hexdigest()[:12]}.sqlite"


def _connect(path: Path) -> sqlite3.Connection:
    connection = sqlite3.connect(path, timeout=30, isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    return connection


def _usable(connection: sqlite3.Connection) -> bool:
    try:
        row = connection.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
    except sqlite3.DatabaseError:
        return False
    return row is not None and row[0] == SCHEMA_VERSION


def _remove(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)


def _open_if_usable(path: Path) -> sqlite3.Connection | None:
    """A connection to the cache at ``path`` if it holds this schema, else None (and closed)."""
    try:
        connection = _connect(path)
    except sqlite3.DatabaseError:
        return None
    if _usable(connection):
        return connection
    connection.close()
    return None


def connect(desk: Desk) -> contextlib.AbstractContextManager[sqlite3.Connection]:
    """The desk's cache (see ``open_cache``)."""
    return open_cache(desk.repo, desk.prefix)


@contextlib.contextmanager
def open_cache(repo: git.Repo, prefix: str = "") -> Iterator[sqlite3.Connection]:
    """The desk's cache, created or rebuilt from nothing when it is missing, foreign or corrupt."""
    from gitdesk.lock import desk_lock

    repo.state_dir.mkdir(parents=True, exist_ok=True)
    path = path_of(repo, prefix)
    connection = _open_if_usable(path)
    if connection is None:
        # Rebuilding deletes the file: never while another process is creating it.
        with desk_lock(repo.state_dir, name=path.name + ".lock"):
            connection = _open_if_usable(path)  # another process may have just built it
            if connection is None:
                _remove(path)
                connection = _connect(path)
                connection.executescript(SCHEMA)
                connection.execute("INSERT OR REPLACE INTO meta VALUES ('schema', ?)", (SCHEMA_VERSION,))
    try:
        yield connection
    finally:
        connection.close()


def get_meta(connection: sqlite3.Connection, key: str) -> str | None:
    row = connection.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return None if row is None else str(row[0])


def set_meta(connection: sqlite3.Connection, key: str, value: str) -> None:
    connection.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))
