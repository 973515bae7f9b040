"""Results of slow, pure functions of text, kept between runs.

``kb build`` cleans the symptoms and resolution of every article it makes
(``kb.redact``: addresses, phone numbers, HTML, links out of kb/) and turns
every title into a file name; for 8,000 articles that was over a second of a
build after one more ticket was solved. Each result is kept under a digest of
its input, by the function's name, while this gitdesk's code is the same: an
upgrade or an edit of a checkout may change what the functions make, so it
drops them all. A call asks for all of a function's inputs at once (every
article's), so what it does not ask for is no longer wanted and is dropped.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Callable, Sequence
from typing import TypeVar

from gitdesk.cache import db

TABLE = ("CREATE TABLE IF NOT EXISTS memo (kind TEXT NOT NULL, key BLOB NOT NULL, value TEXT NOT NULL, "
         "PRIMARY KEY (kind, key)) WITHOUT ROWID")
_CODE = "memo_code"
T = TypeVar("T")


def every(connection: sqlite3.Connection, kind: str, function: Callable[[str], str],
          inputs: Sequence[str]) -> list[str]:
    """``function`` of each of ``inputs``, in order: kept results where there are, the rest
    made and kept (keeping is only a speed-up: a busy cache is left as it is)."""
    return keyed(connection, kind, function, inputs, lambda text: text)


def keyed(connection: sqlite3.Connection, kind: str, function: Callable[[T], str], inputs: Sequence[T],
          key: Callable[[T], str]) -> list[str]:
    """``function`` of each of ``inputs``, kept under ``key`` of the input: a text holding
    everything the function's result depends on (beside gitdesk's code)."""
    code = hashlib.sha1(db.code().encode()).hexdigest()
    connection.execute(TABLE)
    kept: dict[bytes, str] = {}
    if db.get_meta(connection, _CODE) == code:
        kept = {bytes(digest): value for digest, value in
                connection.execute("SELECT key, value FROM memo WHERE kind = ?", (kind,))}
    digests = [hashlib.sha1(key(item).encode("utf-8", "surrogatepass")).digest() for item in inputs]
    made: dict[bytes, str] = {}
    results = []
    for digest, item in zip(digests, inputs, strict=True):
        if digest in kept:
            results.append(kept[digest])
        else:
            if digest not in made:
                made[digest] = function(item)
            results.append(made[digest])
    stale = kept.keys() - set(digests)
    if made or stale:
        _keep(connection, code, kind, made, stale)
    return results


def key_of(parts: Sequence[object]) -> str:
    """One text of ``parts`` (each as ``str`` gives it) that no other parts give: each is
    preceded by its length. Faster than JSON on long texts."""
    return "".join(f"{len(text)}:{text}" for text in map(str, parts))


def _keep(connection: sqlite3.Connection, code: str, kind: str, made: dict[bytes, str], stale: set[bytes]) -> None:
    try:
        connection.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError:
        return
    try:
        if db.get_meta(connection, _CODE) != code:  # another gitdesk's results, or none yet
            connection.execute("DELETE FROM memo")
            db.set_meta(connection, _CODE, code)
        connection.executemany("DELETE FROM memo WHERE kind = ? AND key = ?", [(kind, key) for key in stale])
        connection.executemany("INSERT OR REPLACE INTO memo VALUES (?, ?, ?)",
                               [(kind, key, value) for key, value in made.items() if _storable(value)])
        connection.execute("COMMIT")
    except BaseException:
        connection.execute("ROLLBACK")
        raise


def _storable(value: str) -> bool:
    """SQLite keeps UTF-8: a lone surrogate (from bytes that were not) cannot be kept."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
