"""Full-text search and "has anyone solved this before?" over the ticket index.

SQLite FTS5 with BM25 ranking over title, description, conversation,
internal notes and resolution (porter stemming, so "rollers" finds
"roller"). Queries are words (all must match), "quoted phrases" and prefix*
terms; anything else a user types is quoted, never read as FTS syntax.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from gitdesk import listing, workflow
from gitdesk.cache import db, index
from gitdesk.desk import Desk
from gitdesk.errors import ConfigError, GitdeskError, ValidationError
from gitdesk.model import Ticket, imported_without_resolution
from gitdesk.paths import ticket_path
from gitdesk.text import asset_key

if TYPE_CHECKING:
    from gitdesk.knowledge import embedding, meaning

START, END = "\x02", "\x03"  # highlight markers inside snippets; render turns them into bold
COLUMNS = ("title", "description", "conversation", "notes", "resolution")
WEIGHTS = "0, 8.0, 3.0, 1.5, 1.0, 4.0"  # bm25 weights: name (unindexed), then COLUMNS in order
SHOWN_FIRST = ("title", "resolution", "description", "conversation", "notes")
RESOLVED = ("resolved", "closed")
_TOKEN = re.compile(r'"([^"]*)"|(\S+)')
_WORD = re.compile(r"\w+", re.UNICODE)
_UNSPACED = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")  # kana and CJK ideographs
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


MAX_TERMS = 32


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
            # Chinese and Japanese are written without spaces, so the index holds a clause as one
            # word ("打印机无法连接"): a word typed in those scripts finds the clauses it begins.
            terms.append(f'"{part}"' + ("*" if prefix or _UNSPACED.match(part) else ""))
    if not terms:
        raise ValidationError(f"nothing to search for in {text!r}", hint="give a word, a \"phrase\" or a prefix*")
    terms = list(dict.fromkeys(terms))  # a repeated word finds nothing more
    if len(terms) > MAX_TERMS:  # ranking costs each match once per term: a pasted log took minutes
        raise ValidationError(f"too many words to search for ({len(terms)}; at most {MAX_TERMS})",
                              hint="search for the telling words, or use gitdesk similar --text for a whole "
                                   "description")
    return " ".join(terms)


def _rows(connection: sqlite3.Connection, match: str, batch: int) -> Iterator[tuple[int, str, str, str | None, float]]:
    """(rowid, front, entries, resolution, score) of the matching tickets, best first. Ranked
    by bm25 alone first, the rows read only for the best of each batch: with snippets in the
    same query SQLite made one for every match (0.6 s for a word in 98,000 tickets)."""
    offset = 0
    while True:
        top = connection.execute(f"SELECT rowid, bm25(ticket_text, {WEIGHTS}) AS score FROM ticket_text "
                                 "WHERE ticket_text MATCH ? ORDER BY score LIMIT ? OFFSET ?",
                                 (match, batch, offset)).fetchall()
        rows = {row[0]: row[1:] for row in connection.execute(
            "SELECT rowid, front, entries, resolution FROM tickets WHERE problem IS NULL AND rowid IN "
            "(SELECT value FROM json_each(?))", (json.dumps([rowid for rowid, _ in top]),))} if top else {}
        for rowid, score in top:
            if rowid in rows:
                front, entries, resolution = rows[rowid]
                yield rowid, front, entries, resolution, score
        if len(top) < batch:
            return
        offset += batch


def _snippets(connection: sqlite3.Connection, match: str, rowid: int) -> tuple[str, ...]:
    """Each column's snippet of one matching ticket, the matched words marked."""
    columns = ", ".join(f"snippet(ticket_text, {i + 1}, '{START}', '{END}', '…', 12)" for i in range(len(COLUMNS)))
    row = connection.execute(f"SELECT {columns} FROM ticket_text WHERE ticket_text MATCH ? AND rowid = ?",
                             (match, rowid)).fetchone()
    return tuple(str(value or "") for value in (row or ("",) * len(COLUMNS)))


def _best_snippet(snippets: tuple[str, ...]) -> tuple[str, str]:
    from gitdesk.ticketfile import as_written

    by_column = dict(zip(COLUMNS, snippets, strict=True))
    for column in SHOWN_FIRST:
        if START in (by_column[column] or ""):
            # "<!--" as written, not the file's "\<!--"; judged without the match markers
            return as_written(by_column[column], ignoring=START + END), column
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
        index.full_text(desk, connection)
        try:
            for rowid, front, entries, resolution, score in _rows(connection, match, max(limit * 4, 50)):
                ticket = index.ticket_from_row(front, entries, resolution)
                if not listing.select([ticket], filters, desk.config):
                    continue
                snippet, where = _best_snippet(_snippets(connection, match, rowid))
                hits.append(Hit(ticket, -float(score), snippet, where, where == "notes"))
                if len(hits) >= limit:
                    break
        except sqlite3.OperationalError as error:
            raise ValidationError(f"cannot search for {text!r}: {error}") from None
    return hits


# --- similar tickets ---------------------------------------------------------------------

LAYERS = ("words", "desk", "model")


@dataclass(frozen=True, slots=True)
class Similar:
    ticket: Ticket
    score: float
    resolution_line: str
    signals: dict[str, float] | None = None  # each signal's cosine (desk and model layers)
    matched: tuple[str, ...] = ()  # what it shares with the query, weightiest first (desk and model layers)

    def as_record(self) -> dict[str, object]:
        record: dict[str, object] = {
            "id": self.ticket.id, "title": self.ticket.title, "status": self.ticket.status,
            "score": round(self.score, 4), "resolution": self.resolution_line, "path": ticket_path(self.ticket.id)}
        if self.signals is not None:
            record["signals"] = {name: round(value, 4) for name, value in self.signals.items()}
            record["matched"] = list(self.matched)
        return record


@dataclass(frozen=True, slots=True)
class Suggestions:
    """What ``similar`` found: the tickets above the threshold, best first."""
    found: list[Similar]
    layer: str  # words | desk | model: the ranking that was used
    threshold: float
    best: float | None = None  # the best score, shown or not (None: no candidate at all)
    warning: str | None = None  # why the configured model was not used (one line)

    def meta(self) -> dict[str, object]:
        return {"layer": self.layer, "threshold": self.threshold,
                "best": None if self.best is None else round(self.best, 4)}


@dataclass(frozen=True, slots=True)
class Fusion:
    """How the signals are weighed into one score (0 to 1 before the boosts), and the
    boosts for the same category and the same asset. Tuned on the tuning half of the
    paraphrase set (bench/relevance.py --tune); see docs/search.md."""
    words: float
    concepts: float
    learned: float
    model: float
    bm25: float
    category: float  # the score is multiplied by 1 + this for the same category
    asset: float
    threshold: float

    def replace(self, changes: dict[str, float] | None) -> Fusion:
        from dataclasses import replace

        return replace(self, **(changes or {}))


# Chosen by `python bench/relevance.py --tune desk|model --tune-on tune,held-out,fresh` on
# every half but fresh2 (bench/RESULTS.md has fresh2's figures); the model layer's for
# three models at once, as a team may name any. The learned co-occurrence
# signal earned no weight there (192 resolved tickets teach it too little), so it is
# computed only when a weight asks for it (`bench/relevance.py --layers learned`).
DESK_FUSION = Fusion(words=0.0, concepts=0.1, learned=0.0, model=0.0, bm25=0.35, category=0.3, asset=0.1,
                     threshold=0.08)
MODEL_FUSION = Fusion(words=0.0, concepts=0.2, learned=0.0, model=0.2, bm25=0.5, category=0.3, asset=0.2,
                      threshold=0.15)
FULL_SCAN = 3000  # desks with at most this many resolved tickets compare every one of them
CANDIDATES = 120  # larger desks: the best of a full-text search for the query and its concepts


def _terms(text: str, limit: int = 40) -> list[str]:
    seen: dict[str, None] = {}
    for word in _WORD.findall(text.lower()):
        if len(word) >= 3 and word not in STOPWORDS and not word.isdigit():
            seen.setdefault(word, None)
    return list(seen)[:limit]


def _source(ticket: Ticket | None, text: str | None) -> str:
    return text if text is not None else (f"{ticket.title}\n{ticket.title}\n{ticket.description}" if ticket else "")


def similar(desk: Desk, *, ticket: Ticket | None = None, text: str | None = None, limit: int = 5,
            just_written: Sequence[str] = (), layer: str | None = None, model: str | None = None,
            threshold: float | None = None, weights: dict[str, float] | None = None,
            fresh: bool = True, candidates: int = CANDIDATES) -> Suggestions:
    """The resolved tickets most like ``ticket`` (or ``text``) that score at least the
    threshold, boosted for the same category and asset, duplicates folded.

    ``layer`` picks the ranking: ``words`` (BM25 alone, as before meaning was added),
    ``desk`` (BM25 fused with the desk's learned layer and the vocabulary) or
    ``model`` (also the configured embedding model). By default the model layer is
    used when the desk names a model, else the desk layer; a model that cannot be
    loaded falls back to the desk layer with a ``warning``. ``model`` names a model
    directory instead of the config's (for benchmarks); ``threshold`` and
    ``weights`` override the tuned ones.

    ``just_written`` names ticket files this process has just written: they are
    indexed directly and the full freshness check is skipped (a suggestion list
    right after ``new`` need not pay for scanning the whole desk). Without ``fresh``
    the cache is used as it is, and a desk that has never learned gets nothing (for
    ``show``, which must stay instant)."""
    from gitdesk.knowledge import meaning

    source = _source(ticket, text)
    if not _terms(source) and not meaning.tokens(source):
        raise ValidationError("nothing to compare with", hint="give a ticket with a title, or --text TEXT")
    warning: str | None = None
    loaded: embedding.Model | None = None
    if layer is None:
        layer = "model" if (model or desk.config.search.model) else "desk"
    if layer == "model":
        try:
            loaded = _model(desk, model)
        except GitdeskError as error:
            warning, layer = str(error), "desk"
    fusion = (MODEL_FUSION if layer == "model" else DESK_FUSION).replace(weights)
    given, threshold = threshold, _threshold(desk, fusion, threshold)
    with db.connect(desk) as connection:
        vocab = meaning.vocabulary(desk)
        if not fresh and (layer == "words" or meaning.behind(connection, vocab) > STALE):
            return Suggestions([], layer, threshold, None, warning)
        if fresh and just_written and db.get_meta(connection, "index_refreshed_ns"):
            index.update(desk, connection, just_written)
        elif fresh:  # never built yet, or asked for explicitly: the full check
            index.refresh(desk, connection)
        index.full_text(desk, connection)
        if layer == "words":
            found = _by_words(connection, ticket, source)
            best = found[0].score if found else None
            return Suggestions(_fixes(connection, found)[:limit], "words", 0.0, best, warning)
        meaning.refresh(desk, connection, vocab)
        try:
            found, why = _fused(desk, connection, vocab, ticket, text, source, fusion, loaded, max(60, limit),
                                candidates)
        except ConfigError as error:  # the model loaded, then failed on a text: rank as if it had not loaded
            if loaded is None:
                raise
            warning, layer, fusion = str(error), "desk", DESK_FUSION.replace(weights)
            threshold = _threshold(desk, fusion, given)
            found, why = _fused(desk, connection, vocab, ticket, text, source, fusion, None, max(60, limit),
                                candidates)
        families = _fixes(connection, found)
        shown = why.explained(connection, [item for item in families if item.score >= threshold][:limit])
    best = families[0].score if families else None
    return Suggestions(shown, layer, threshold, best, warning)


def _threshold(desk: Desk, fusion: Fusion, given: float | None) -> float:
    """The threshold asked for, else the desk's, else the layer's tuned one."""
    if given is not None:
        return given
    return desk.config.search.threshold if desk.config.search.threshold is not None else fusion.threshold


SOLVED_BEFORE = 3  # what `show` lists for an open ticket
SHOW_CANDIDATES = 40  # show compares fewer candidates: it must stay instant
STALE = 200  # show lists nothing rather than relearn more tickets than this


def solved_before(desk: Desk, ticket: Ticket) -> Suggestions | None:
    """What `show` lists under an open ticket: the few resolved tickets most like it
    (above the threshold), from the cache as it is and without the model, so that
    `show` stays instant; None for a finished ticket or one with nothing to compare."""
    if workflow.is_done(desk.config, ticket.status):
        return None
    try:
        return similar(desk, ticket=ticket, limit=SOLVED_BEFORE, layer="desk", fresh=False,
                       candidates=SHOW_CANDIDATES)
    except GitdeskError:
        return None


def _model(desk: Desk, override: str | None) -> embedding.Model:
    from gitdesk.knowledge import embedding

    if override is not None:
        desk = _with_model(desk, override)
    loaded = embedding.load(desk)
    if loaded is None:
        raise GitdeskError("no model is configured", hint="set search.model in .gitdesk/config.yml")
    return loaded


def _with_model(desk: Desk, directory: str) -> Desk:
    """The desk as if its config named ``directory`` as the model (benchmarks)."""
    import copy
    from dataclasses import replace

    other = copy.copy(desk)
    other.config = replace(desk.config, search=replace(desk.config.search, model=directory))
    return other


def _by_words(connection: sqlite3.Connection, ticket: Ticket | None, source: str) -> list[Similar]:
    """BM25 alone: the query's words against titles, descriptions and resolutions."""
    terms = _terms(source)
    if not terms:
        return []
    match = _any_of(terms)
    rows = connection.execute(
        f"SELECT t.front, t.entries, t.resolution, bm25(ticket_text, {WEIGHTS}) FROM ticket_text "
        "JOIN tickets t ON t.name = ticket_text.name WHERE ticket_text MATCH ? AND t.problem IS NULL "
        f"AND t.status IN ({','.join('?' * len(RESOLVED))}) AND t.resolution IS NOT NULL "
        "ORDER BY bm25(ticket_text, " + WEIGHTS + ") LIMIT 200", (match, *RESOLVED)).fetchall()
    scored: list[Similar] = []
    for front, entries, resolution, score in rows:
        candidate = index.ticket_from_row(front, entries, resolution)
        if ticket is not None and ticket.id in (candidate.id, candidate.duplicate_of):
            continue  # itself, or a duplicate of it: its "answer" points back here
        value = -float(score)
        if ticket is not None:
            if ticket.asset and candidate.asset and asset_key(ticket.asset) == asset_key(candidate.asset):
                value *= 1.6
            if ticket.category and candidate.category == ticket.category:
                value *= 1.3
        scored.append(Similar(candidate, value, _first_line(resolution)))
    return scored


def _first_line(resolution: str | None) -> str:
    """The line that says what worked: the first with words, not a table's rows, a code fence
    or a heading's marks ("| setting | old | new |" says nothing alone); else the first line."""
    lines = [line.strip() for line in (resolution or "").splitlines() if line.strip()]
    telling = (line.lstrip("#").strip() for line in lines
               if not line.startswith(("|", "```", "~~~")) and any(char.isalpha() for char in line.lstrip("#")))
    return next(telling, lines[0] if lines else "")


def _any_of(words: Sequence[str]) -> str:
    """An FTS5 match for any of ``words`` (plain words, as ``_terms`` gives them) in the
    parts of a ticket that say what the problem was and what fixed it."""
    return "{title description resolution} : (" + " OR ".join(f'"{word}"' for word in words) + ")"


def _solved() -> str:
    """FROM … WHERE for full-text matches among the tickets that could be offered: during
    an outage hundreds of open tickets share the query's words, and would fill every place
    in a limit."""
    from gitdesk.knowledge import meaning

    return "FROM ticket_text JOIN tickets t ON t.rowid = ticket_text.rowid WHERE ticket_text MATCH ? AND " + \
        meaning.ELIGIBLE


def _bm25(connection: sqlite3.Connection, words: Sequence[str], limit: int) -> dict[str, float]:
    """Solved tickets naming any of ``words``, name -> BM25 (higher is better), the best
    ``limit`` of them."""
    if not words:
        return {}
    match = _any_of(words)
    rows = connection.execute(
        f"SELECT t.name, bm25(ticket_text, {WEIGHTS}) AS score {_solved()} "
        "ORDER BY score LIMIT ?", (match, limit)).fetchall()
    return {str(name): -float(score) for name, score in rows}


def _own_bm25(connection: sqlite3.Connection, words: Sequence[str], ticket: Ticket) -> float | None:
    """The query ticket's own BM25 for ``words`` (None when it is not indexed): what a
    perfect match scores, the yardstick for the candidates'."""
    if not words:
        return None
    match = _any_of(words)
    row = connection.execute(
        f"SELECT bm25(ticket_text, {WEIGHTS}) FROM ticket_text WHERE ticket_text MATCH ? AND rowid = "
        "(SELECT rowid FROM tickets WHERE name = ?)", (match, f"{ticket.id}.md")).fetchone()
    return None if row is None else -float(row[0])


def _newest(connection: sqlite3.Connection, words: Sequence[str], limit: int) -> list[str]:
    """The newest solved tickets naming any of ``words``, unranked: FTS reads them in order
    and stops at ``limit`` (for words that are everywhere, where ranking all matches would
    cost seconds and tell little)."""
    if not words:
        return []
    match = _any_of(words)
    return [str(row[0]) for row in connection.execute(
        f"SELECT t.name {_solved()} ORDER BY ticket_text.rowid DESC LIMIT ?", (match, limit))]


def _selective(connection: sqlite3.Connection, words: Sequence[str], total: int) -> tuple[list[str], list[str]]:
    """``words`` split into those rare enough to rank by and the rest (by how many
    resolved tickets use each word's stem)."""
    from gitdesk.knowledge import meaning

    weights = meaning.Weights(connection)
    stems = {word: "".join(meaning.tokens(word)) for word in words}  # as tickets' terms are kept: "wi-fi" is wifi
    weights.need(stems.values())
    cap = max(50, total // 10)
    rare = [word for word in words if weights.df(stems[word]) <= cap]
    return rare, [word for word in words if word not in rare]


@dataclass(frozen=True, slots=True)
class _Why:
    """What is needed to say what a suggestion shares with the query, kept until the few shown
    are known (working it out for every candidate would read 60 tickets' texts for five)."""
    query: meaning.Bag
    vocab: meaning.Vocabulary
    weights: meaning.Weights
    bags: dict[str, tuple[str, meaning.Bag]]  # ticket id -> (its index name, its bag)
    texts: dict[str, str]  # by index name, when the model layer has read them already

    def explained(self, connection: sqlite3.Connection, shown: list[Similar]) -> list[Similar]:
        from dataclasses import replace

        from gitdesk.knowledge import meaning

        # the words as each ticket writes them (the index's tickets carry no description)
        texts = self.texts or _texts(connection, [self.bags[item.ticket.id][0] for item in shown
                                                  if item.ticket.id in self.bags])
        explained = []
        for item in shown:
            if item.ticket.id in self.bags:  # a solved ticket shown for its duplicate's score: by its own words
                name, bag = self.bags[item.ticket.id]
                item = replace(item, matched=meaning.shared(self.query, bag, texts.get(name, ""), self.vocab,
                                                            self.weights))
            explained.append(item)
        return explained


def _fused(desk: Desk, connection: sqlite3.Connection, vocab: meaning.Vocabulary, ticket: Ticket | None,
           text: str | None, source: str, fusion: Fusion, model: embedding.Model | None,
           keep: int = 60, cap: int = CANDIDATES) -> tuple[list[Similar], _Why]:
    """Every candidate scored by the fused signals, boosted, best first (not yet folded), and
    what ``_Why`` needs to explain the ones shown."""
    from gitdesk.knowledge import embedding, meaning

    if ticket is not None:
        parts = {"title": ticket.title, "description": ticket.description}
        if ticket.resolution and ticket.status in RESOLVED:
            parts["resolution"] = ticket.resolution
    else:
        parts = {"description": text or ""}
    query = meaning.bag(vocab, parts)
    words = _terms(source, 20)
    words += [word for word in meaning.expansion_words(vocab, query) if word not in words]
    total = meaning.count(connection)
    if total <= FULL_SCAN:
        ranked_by = words
        bm25 = _bm25(connection, words, CANDIDATES)
        candidates = meaning.docs(connection)
    else:  # large desks: candidates by the words that tell tickets apart
        rare, common = _selective(connection, words, total)
        ranked_by = rare
        bm25 = _bm25(connection, rare, 3 * cap)
        names = list(bm25)
        if len(names) < cap:  # one incidental rare word ("tuesday") must not choose alone
            names += [name for name in _newest(connection, common[:5], 3 * cap) if name not in bm25]
        order = {name: position for position, name in enumerate(names)}  # best BM25 first
        candidates = sorted(meaning.docs(connection, names), key=lambda doc: order[doc.name])[:cap]
    if ticket is not None:
        candidates = [doc for doc in candidates if ticket.id not in (doc.id, doc.duplicate_of)]
    weights = meaning.Weights(connection, total)
    if not candidates:
        return [], _Why(query, vocab, weights, {}, {})
    learn = desk.config.search.learn and fusion.learned > 0
    signals = meaning.compare(connection, query, candidates, learn=learn, weights=weights)
    closeness: dict[str, float] = {}
    texts: dict[str, str] = {}
    if model is not None:
        texts = _texts(connection, [doc.name for doc in candidates])
        closeness = embedding.similarities(
            connection, model, source.strip(), {doc.name: (doc.stamp, texts.get(doc.name, "")) for doc in candidates},
            embedding.baseline(connection, model, total, lambda size: _sample(connection, total, size)))
    # BM25 has no scale of its own: relative to the best match, times how much that best
    # match shares the query's words, so that a query like nothing on the desk does not
    # lend its best (poor) match a full BM25 score.
    top_bm25 = max(bm25.values(), default=0.0)
    best = max(bm25, key=lambda name: bm25[name], default=None)
    own = _own_bm25(connection, ranked_by, ticket) if ticket is not None else None
    if own is not None and own > top_bm25:  # a ticket's own words are the best match there is
        top_bm25, best = own, None
    top_bm25 = top_bm25 or 1.0
    scale = signals[best].words if best in signals else max((found.words for found in signals.values()), default=0.0)
    # A query that shares no word with any candidate but names two concepts or more (one in
    # another language, say) is judged on its meaning alone: BM25, silent for every candidate,
    # says nothing about it. A vague query ("ne marche pas": one concept) keeps it, and so
    # stays under the threshold rather than meeting every ticket that is "not working".
    silent = len(query.concepts) >= 2 and not any(found.words for found in signals.values())
    scored: list[tuple[float, meaning.Doc, dict[str, float]]] = []
    for doc in candidates:
        found = signals[doc.name]
        parts_of = {"words": found.words, "concepts": found.concepts}
        if not silent:
            parts_of["bm25"] = max(0.0, bm25.get(doc.name, 0.0)) / top_bm25 * scale
        if learn:
            parts_of["learned"] = found.learned
        if model is not None:
            parts_of["model"] = closeness.get(doc.name, 0.0)
        weight_sum = sum(getattr(fusion, name) for name in parts_of) or 1.0
        value = sum(getattr(fusion, name) * part for name, part in parts_of.items()) / weight_sum
        if ticket is not None:
            if ticket.asset and doc.asset and asset_key(ticket.asset) == asset_key(doc.asset):
                value *= 1 + fusion.asset
            if ticket.category and doc.category == ticket.category:
                value *= 1 + fusion.category
        scored.append((value, doc, parts_of))
    scored.sort(key=lambda item: (-item[0], item[1].id))
    shown = scored[:keep]
    tickets = _tickets(connection, [doc.name for _, doc, _ in shown])
    return ([Similar(tickets[doc.name], value, _first_line(tickets[doc.name].resolution), parts_of)
             for value, doc, parts_of in shown if doc.name in tickets],
            _Why(query, vocab, weights, {doc.id: (doc.name, doc.bag) for _, doc, _ in shown}, texts))


def _texts(connection: sqlite3.Connection, names: Sequence[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for start in range(0, len(names), 500):
        chunk = list(names[start:start + 500])
        for name, title, description, resolution in connection.execute(
                "SELECT t.name, x.title, x.description, t.resolution FROM tickets t JOIN ticket_text x "
                f"ON x.rowid = t.rowid WHERE t.name IN ({','.join('?' * len(chunk))})", chunk):
            found[str(name)] = f"{title}\n{description}\n{resolution or ''}"[:2000]
    return found


def _sample(connection: sqlite3.Connection, total: int, size: int) -> list[str]:
    """The texts of ``size`` learned tickets spread evenly over the desk."""
    step = max(1, total // size)
    names = [str(row[0]) for row in connection.execute("SELECT name FROM meaning_docs ORDER BY name")][::step]
    return list(_texts(connection, names[:size]).values())


def _solved_of(connection: sqlite3.Connection, ids: Sequence[str]) -> list[Ticket]:
    """The tickets of ``ids`` that are solved with a resolution note, as candidates are."""
    from gitdesk.knowledge import meaning

    found: list[Ticket] = []
    for start in range(0, len(ids), 500):
        chunk = list(ids[start:start + 500])
        found += [index.ticket_from_row(*row) for row in connection.execute(
            f"SELECT t.front, t.entries, t.resolution FROM tickets t WHERE t.id IN ({','.join('?' * len(chunk))}) "
            f"AND {meaning.ELIGIBLE}", chunk)]
    return found


def _tickets(connection: sqlite3.Connection, names: Sequence[str]) -> dict[str, Ticket]:
    found: dict[str, Ticket] = {}
    for start in range(0, len(names), 500):
        chunk = list(names[start:start + 500])
        for name, front, entries, resolution in connection.execute(
                f"SELECT name, front, entries, resolution FROM tickets WHERE name IN ({','.join('?' * len(chunk))})",
                chunk):
            found[str(name)] = index.ticket_from_row(front, entries, resolution)
    return found


def _fixes(connection: sqlite3.Connection, scored: Sequence[Similar]) -> list[Similar]:
    """``scored`` folded into families (``_fold``), without those whose resolution says nothing
    that fixed anything (an import's "Closed in … before the import.")."""
    return [item for item in _fold(connection, scored) if not imported_without_resolution(item.ticket.resolution)]


def _fold(connection: sqlite3.Connection, scored: Sequence[Similar]) -> list[Similar]:
    """A duplicate folds into the ticket it duplicates: the family keeps its best score and
    is shown by the original, a candidate or not (a duplicate's own resolution only points
    there). A duplicate whose original holds no answer now (reopened, rejected, gone) is
    none either: it is left out."""
    by_id = {found.ticket.id: found for found in scored}
    elsewhere = {found.ticket.duplicate_of for found in scored} - set(by_id) - {None}
    originals = {ticket.id: Similar(ticket, 0.0, _first_line(ticket.resolution))
                 for ticket in _solved_of(connection, sorted(str(item) for item in elsewhere))}
    families: dict[str, Similar] = {}
    for found in scored:
        family = found.ticket.duplicate_of or found.ticket.id
        shown = by_id.get(family) or originals.get(family)
        if shown is None:
            continue
        best = families.get(family)
        if best is None or found.score > best.score:
            families[family] = Similar(shown.ticket, found.score, shown.resolution_line, found.signals)
    return sorted(families.values(), key=lambda found: (-found.score, found.ticket.id))
