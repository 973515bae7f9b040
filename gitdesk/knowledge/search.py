"""Full-text search and "has anyone solved this before?" over the ticket index.

SQLite FTS5 with BM25 ranking over title, description, conversation,
internal notes and resolution (porter stemming, so "rollers" finds
"roller"). Queries are words (all must match), "quoted phrases" and prefix*
terms; anything else a user types is quoted, never read as FTS syntax.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from gitdesk import listing
from gitdesk.cache import db, index
from gitdesk.desk import Desk
from gitdesk.errors import ValidationError
from gitdesk.model import Ticket
from gitdesk.paths import ticket_path

START, END = "\x02", "\x03"  # highlight markers inside snippets; render turns them into bold
COLUMNS = ("title", "description", "conversation", "notes", "resolution")
WEIGHTS = "0, 8.0, 3.0, 1.5, 1.0, 4.0"  # bm25 weights: name (unindexed), then COLUMNS in order
SHOWN_FIRST = ("title", "resolution", "description", "conversation", "notes")
RESOLVED = ("resolved", "closed")
_TOKEN = re.compile(r'"([^"]*)"|(\S+)')
_WORD = re.compile(r"\w+", re.UNICODE)
STOPWORDS = frozenset("""
a about after again all also am an and any are as at be because been before being but by can cannot
could did do does doing done dont down each even every for from get gets getting got had has have
having he her here hers him his how i if in into is it its just me more most my no nor not now of
off on once only or other our out over own please same she should so some still such than thank
thanks that the their them then there these they this those through to too under until up us very
was we were what when where which while who why will with would you your yours hi hello morning
regards cheers since today yesterday again keeps keep
""".split())


@dataclass(frozen=True, slots=True)
class Hit:
    ticket: Ticket
    score: float  # higher is better
    snippet: str  # with START/END around matched words
    where: str  # the column the snippet comes from
    internal: bool  # matched only in internal notes

    def as_record(self) -> dict[str, object]:
        return {"id": self.ticket.id, "status": self.ticket.status, "title": self.ticket.title,
                "score": round(self.score, 4), "where": self.where, "internal": self.internal,
                "snippet": marked(self.snippet), "path": ticket_path(self.ticket.id)}


def marked(snippet: str, start: str = "**", end: str = "**") -> str:
    """A snippet with its highlight markers as ``start``/``end`` (Markdown bold by default)."""
    return snippet.replace(START, start).replace(END, end)


def fts_query(text: str) -> str:
    """What a person typed, as a safe FTS5 query: words, "phrases", prefix*."""
    terms = []
    for phrase, word in _TOKEN.findall(text):
        if phrase:
            words = _WORD.findall(phrase)
            if words:
                terms.append('"' + " ".join(words) + '"')
            continue
        prefix = word.endswith("*")
        for part in _WORD.findall(word):
            terms.append(f'"{part}"' + ("*" if prefix else ""))
    if not terms:
        raise ValidationError(f"nothing to search for in {text!r}", hint="give a word, a \"phrase\" or a prefix*")
    return " ".join(terms)


def _rows(connection: sqlite3.Connection, match: str, batch: int) -> Iterator[tuple[object, ...]]:
    snippets = ", ".join(f"snippet(ticket_text, {i + 1}, '{START}', '{END}', '…', 12)" for i in range(len(COLUMNS)))
    sql = (f"SELECT t.front, t.entries, t.resolution, bm25(ticket_text, {WEIGHTS}) AS score, {snippets} "
           "FROM ticket_text JOIN tickets t ON t.name = ticket_text.name "
           "WHERE ticket_text MATCH ? AND t.problem IS NULL ORDER BY score LIMIT ? OFFSET ?")
    offset = 0
    while True:
        rows = connection.execute(sql, (match, batch, offset)).fetchall()
        yield from rows
        if len(rows) < batch:
            return
        offset += batch


def _best_snippet(snippets: tuple[str, ...]) -> tuple[str, str]:
    by_column = dict(zip(COLUMNS, snippets, strict=True))
    for column in SHOWN_FIRST:
        if START in (by_column[column] or ""):
            return by_column[column], column
    return by_column["title"], "title"


def search(desk: Desk, text: str, filters: listing.Filters, *, limit: int = 20,
           include_internal: bool = True, columns: Sequence[str] | None = None) -> list[Hit]:
    """Tickets matching ``text`` that pass ``filters``, best first; ``columns`` limits
    which parts of a ticket may match (the knowledge base searches only what it shows)."""
    filters.validate(desk.config)
    match = fts_query(text)
    allowed = [c for c in (columns or COLUMNS) if include_internal or c != "notes"]
    if len(allowed) < len(COLUMNS):  # requesters never match on what they must not see
        match = "{" + " ".join(allowed) + "} : (" + match + ")"
    hits: list[Hit] = []
    with db.connect(desk) as connection:
        index.refresh(desk, connection)
        try:
            for row in _rows(connection, match, max(limit * 4, 50)):
                front, entries, resolution, score = row[0], row[1], row[2], row[3]
                ticket = index.ticket_from_row(str(front), str(entries), resolution if resolution is None
                                               else str(resolution))
                if not listing.select([ticket], filters, desk.config):
                    continue
                snippet, where = _best_snippet(tuple(str(value or "") for value in row[4:]))
                hits.append(Hit(ticket, -float(str(score)), snippet, where, where == "notes"))
                if len(hits) >= limit:
                    break
        except sqlite3.OperationalError as error:
            raise ValidationError(f"cannot search for {text!r}: {error}") from None
    return hits


# --- similar tickets ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Similar:
    ticket: Ticket
    score: float
    resolution_line: str

    def as_record(self) -> dict[str, object]:
        return {"id": self.ticket.id, "title": self.ticket.title, "status": self.ticket.status,
                "score": round(self.score, 4), "resolution": self.resolution_line,
                "path": ticket_path(self.ticket.id)}


def _terms(text: str, limit: int = 40) -> list[str]:
    seen: dict[str, None] = {}
    for word in _WORD.findall(text.lower()):
        if len(word) >= 3 and word not in STOPWORDS and not word.isdigit():
            seen.setdefault(word, None)
    return list(seen)[:limit]


def similar(desk: Desk, *, ticket: Ticket | None = None, text: str | None = None, limit: int = 5,
            just_written: Sequence[str] = ()) -> list[Similar]:
    """The resolved tickets most like ``ticket`` (or ``text``): text similarity by BM25,
    boosted for the same category and more for the same asset, duplicates folded.

    ``just_written`` names ticket files this process has just written: they are
    indexed directly and the full freshness check is skipped (a suggestion list
    right after ``new`` need not pay for scanning the whole desk)."""
    source = text if text is not None else (f"{ticket.title}\n{ticket.title}\n{ticket.description}"
                                            if ticket else "")
    terms = _terms(source)
    if not terms:
        raise ValidationError("nothing to compare with", hint="give a ticket with a title, or --text TEXT")
    match = "{title description resolution} : (" + " OR ".join(f'"{term}"' for term in terms) + ")"
    scored: list[Similar] = []
    with db.connect(desk) as connection:
        if just_written and db.get_meta(connection, "index_refreshed_ns"):
            index.update(desk, connection, just_written)
        else:  # never built yet, or asked for explicitly: the full check
            index.refresh(desk, connection)
        rows = connection.execute(
            f"SELECT t.front, t.entries, t.resolution, bm25(ticket_text, {WEIGHTS}) FROM ticket_text "
            "JOIN tickets t ON t.name = ticket_text.name WHERE ticket_text MATCH ? AND t.problem IS NULL "
            f"AND t.status IN ({','.join('?' * len(RESOLVED))}) AND t.resolution IS NOT NULL "
            "ORDER BY bm25(ticket_text, " + WEIGHTS + ") LIMIT 200", (match, *RESOLVED)).fetchall()
    for front, entries, resolution, score in rows:
        candidate = index.ticket_from_row(front, entries, resolution)
        if ticket is not None and candidate.id == ticket.id:
            continue
        value = -float(score)
        if ticket is not None:
            if ticket.asset and candidate.asset and ticket.asset.casefold() == candidate.asset.casefold():
                value *= 1.6
            if ticket.category and candidate.category == ticket.category:
                value *= 1.3
        first_line = next((line.strip() for line in (resolution or "").splitlines() if line.strip()), "")
        scored.append(Similar(candidate, value, first_line))
    # A duplicate folds into the ticket it duplicates: the family keeps its best
    # score and is shown by the original when the original is a candidate too.
    by_id = {found.ticket.id: found for found in scored}
    families: dict[str, Similar] = {}
    for found in scored:
        family = found.ticket.duplicate_of if found.ticket.duplicate_of in by_id else found.ticket.id
        shown = by_id[family]
        best = families.get(family)
        if best is None or found.score > best.score:
            families[family] = Similar(shown.ticket, found.score, shown.resolution_line)
    return sorted(families.values(), key=lambda found: found.score, reverse=True)[:limit]
