"""What a ticket is about beyond its exact words: the desk's own layer of ``similar``.

Every resolved ticket with a resolution is kept in the cache as a bag of
features: light stems of its words (title counted twice, description once,
resolution half) and the concepts of the support vocabulary it names
(``resources/concepts.txt``, plus the desk's own ``.gitdesk/concepts.txt``).
Three signals compare a query with a ticket, each a cosine from 0 to 1:

- **words**: tf-idf over stems ("printers" meets "printing" and "printer");
- **concepts**: the vocabulary's concepts ("password" meets "Kennwort" and
  "credentials");
- **learned**: term associations learned from the desk's resolved tickets
  (words that keep appearing together, by normalised PMI), computed when
  asked from the stored bags of the tickets that the full-text index finds
  for a word, so nothing is trained ahead and every change is one row.

Everything lives in tables of the disposable cache (``meaning_*``). They
follow the ticket index: triggers note every ticket whose index row changes,
and ``refresh`` re-reads only those (a resolve is one ticket).
Nothing here is a source of truth; deleting the cache only costs a rebuild.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import re
import sqlite3
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources

from gitdesk import paths
from gitdesk.cache import db, workers
from gitdesk.desk import Desk

VERSION = "4"  # bump when stems, field weights or the stored bags change
RESOLVED = ("resolved", "closed")
FIELD_WEIGHTS = {"title": 2.0, "description": 1.0, "resolution": 0.5}
MAX_CONCEPTS_BYTES = 256 * 1024
DESK_CONCEPTS = ".gitdesk/concepts.txt"

TABLES = """
CREATE TABLE IF NOT EXISTS meaning_docs (
    doc INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL, stamp TEXT NOT NULL, id TEXT NOT NULL,
    category TEXT, asset TEXT, duplicate_of TEXT, bag TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS meaning_terms (term TEXT PRIMARY KEY, df INTEGER NOT NULL) WITHOUT ROWID;
DROP TABLE IF EXISTS meaning_postings;
"""
# Every change to the ticket index notes the ticket, so keeping up costs what changed.
TRIGGERS = """
CREATE TABLE IF NOT EXISTS meaning_dirty (name TEXT PRIMARY KEY) WITHOUT ROWID;
CREATE TRIGGER IF NOT EXISTS meaning_seen_insert AFTER INSERT ON tickets BEGIN
    INSERT OR IGNORE INTO meaning_dirty VALUES (NEW.name);
END;
CREATE TRIGGER IF NOT EXISTS meaning_seen_update AFTER UPDATE ON tickets BEGIN
    INSERT OR IGNORE INTO meaning_dirty VALUES (OLD.name);
    INSERT OR IGNORE INTO meaning_dirty VALUES (NEW.name);
END;
CREATE TRIGGER IF NOT EXISTS meaning_seen_delete AFTER DELETE ON tickets BEGIN
    INSERT OR IGNORE INTO meaning_dirty VALUES (OLD.name);
END;
"""
PARALLEL_FROM = 4000  # tickets to learn before the work is spread over the cores

_TOKEN = re.compile(r"[^\W_]+(?:['’\-][^\W_]+)*", re.UNICODE)
STOPWORDS = frozenset("""
a about after again against all also am an and any are as at be because been before being but by can
cannot could did do does doing done dont down each even every for from get gets getting got had has have
having he her here hers him his how i if im in into is it its ive just me more most my no nor not now of
off on once only or other our out over own please same she should so some still such than thank thanks
that the their them then there these they this those through to too under until up us very was we were
what when where which while who why will with would you your yours hi hello morning regards cheers since
today yesterday keep keeps kept anymore any more again also there yet one two already really just
der die das den dem des ein eine einen einem einer und oder ist sind war bin bitte ich mein meine meinen
mir mich wir uns sie es nicht kein keine auf mit fur von zu zum zur im am an aus bei nach seit wie was
auch aber noch schon nur sehr hallo danke gruss grusse guten tag
le la les un une des et ou est je mon ma mes ne pas pour avec dans sur bonjour merci
el los las una unos y o es mi mis no para con en por hola gracias
problem problems issue issues help need needs work works working since ago via
""".split())


# --- words ------------------------------------------------------------------------------


def fold(text: str) -> str:
    """Lower case without accents: "Störung" -> "storung", "Straße" -> "strasse"."""
    if text.isascii():
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(char for char in decomposed if not unicodedata.combining(char)).casefold()


@functools.lru_cache(maxsize=100_000)
def stem(word: str) -> str:
    """A light stem that joins the forms people write ("printers", "printing" -> "print",
    "jammed" -> "jam"); deliberately mild, so "printer" and "print" stay apart."""
    w = word
    if len(w) > 4 and w.endswith("ies"):
        w = w[:-3] + "y"
    elif len(w) > 4 and w.endswith(("sses", "shes", "ches", "xes")):
        w = w[:-2]
    elif len(w) > 3 and w.endswith("s") and not w.endswith(("ss", "us", "is")):
        w = w[:-1]
    if len(w) > 5 and w.endswith("ing"):
        w = w[:-3]
    elif len(w) > 4 and w.endswith("ed"):
        w = w[:-2]
    if len(w) > 4 and w.endswith("e"):
        w = w[:-1]
    if len(w) > 3 and w[-1] == w[-2] and w[-1] not in "lsz":
        w = w[:-1]
    return w


def tokens(text: str) -> list[str]:
    """Every word of ``text`` as a stem, stop words included (phrases need them)."""
    return [_normal(token) for token in _TOKEN.findall(fold(text))]


@functools.lru_cache(maxsize=200_000)
def _normal(token: str) -> str:
    return stem(token.replace("'", "").replace("’", "").replace("-", ""))


def _useful(token: str) -> bool:
    return len(token) > 1 and token not in STOPWORDS and not token.isdigit()


# --- the vocabulary ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Vocabulary:
    """Concepts: phrases (tuples of stems) that name the same thing, by first stem."""
    phrases: Mapping[str, tuple[tuple[tuple[str, ...], str], ...]]
    digest: str  # changes when the vocabulary does: stored bags are then made again
    words: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # concept -> its one-word names, as written
    labels: Mapping[str, str] = field(default_factory=dict)  # concept -> its first name, as written
    stems: Mapping[str, frozenset[str]] = field(default_factory=dict)  # concept -> the stems of all its names

    def concepts(self, stems: Sequence[str]) -> Counter[str]:
        found: Counter[str] = Counter()
        phrases = self.phrases
        if phrases.keys().isdisjoint(stems):
            return found
        for position, token in enumerate(stems):
            if token not in phrases:
                continue
            for phrase, concept in phrases[token]:
                if tuple(stems[position:position + len(phrase)]) == phrase:
                    found[concept] += 1
        return found


def parse_vocabulary(texts: Iterable[tuple[str, str]]) -> Vocabulary:
    """Vocabulary from ``(source, text)`` pairs: one concept per line, comma-separated
    words and phrases, ``#`` comments."""
    by_first: dict[str, list[tuple[tuple[str, ...], str]]] = {}
    words: dict[str, list[str]] = {}
    labels: dict[str, str] = {}
    stems: dict[str, set[str]] = {}
    digest = hashlib.sha1(VERSION.encode())
    for source, text in texts:
        digest.update(text.encode("utf-8", "surrogateescape"))
        for number, line in enumerate(text.splitlines(), start=1):
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            concept = f"~{source}:{number}"
            for entry in line.split(","):
                phrase = tuple(tokens(entry))
                if phrase:
                    labels.setdefault(concept, " ".join(entry.split()))
                    stems.setdefault(concept, set()).update(phrase)
                if phrase and (phrase, concept) not in by_first.setdefault(phrase[0], []):
                    by_first[phrase[0]].append((phrase, concept))
                if len(phrase) == 1 and _TOKEN.fullmatch(entry.strip()):
                    words.setdefault(concept, []).append(fold(entry.strip()))
    return Vocabulary({first: tuple(items) for first, items in by_first.items()}, digest.hexdigest()[:16],
                      {concept: tuple(names) for concept, names in words.items()}, labels,
                      {concept: frozenset(found) for concept, found in stems.items()})


@functools.lru_cache(maxsize=1)
def _builtin_text() -> str:
    folder = resources.files("gitdesk.knowledge").joinpath("resources")
    return folder.joinpath("concepts.txt").read_text(encoding="utf-8")


def vocabulary(desk: Desk | None) -> Vocabulary:
    """The built-in vocabulary plus the desk's own ``.gitdesk/concepts.txt`` (contained, size-limited)."""
    texts = [("builtin", _builtin_text())]
    if desk is not None:
        own = paths.inside(desk.root, DESK_CONCEPTS)
        if own.is_file():
            data = own.read_bytes()[:MAX_CONCEPTS_BYTES]
            texts.append(("desk", data.decode("utf-8", "replace")))
    return _parsed(tuple(texts))


@functools.lru_cache(maxsize=4)
def _parsed(texts: tuple[tuple[str, str], ...]) -> Vocabulary:
    return parse_vocabulary(texts)


# --- bags of features -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Bag:
    """Weighted stems and concepts of a text."""
    terms: dict[str, float] = field(default_factory=dict)
    concepts: dict[str, float] = field(default_factory=dict)

    def as_json(self) -> str:
        return json.dumps({"t": {k: round(v, 2) for k, v in self.terms.items()},
                           "c": {k: round(v, 2) for k, v in self.concepts.items()}}, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> Bag:
        data = json.loads(text)
        return cls(data["t"], data["c"])


def bag(vocab: Vocabulary, parts: Mapping[str, str]) -> Bag:
    """The bag of ``parts`` (``title``, ``description``, ``resolution``), each weighted."""
    terms: dict[str, float] = {}
    concepts: dict[str, float] = {}
    for part, text in parts.items():
        if not text:
            continue
        weight = FIELD_WEIGHTS.get(part, 1.0)
        stems = tokens(text)
        for token, times in Counter(stems).items():
            if _useful(token):
                terms[token] = terms.get(token, 0.0) + weight * times
        for concept, count in vocab.concepts(stems).items():
            concepts[concept] = concepts.get(concept, 0.0) + weight * count
    return Bag(terms, concepts)


# --- keeping the tables in step with the index -------------------------------------------

# What a ticket must be to be learned (and offered as solved before), as SQL over ``tickets t``.
ELIGIBLE = (f"t.status IN ({','.join(repr(status) for status in RESOLVED)}) AND t.resolution IS NOT NULL "
             "AND t.problem IS NULL")


@dataclass(frozen=True, slots=True)
class Learned:
    read: int  # tickets (re)learned
    removed: int
    total: int


def refresh(desk: Desk, connection: sqlite3.Connection, vocab: Vocabulary | None = None) -> Learned:
    """Bring the learned tables in step with the ticket index (which the caller has refreshed).

    Cheap when nothing changed (one look at the tickets the triggers noted); otherwise
    only those tickets are read again (a resolve is one ticket), and a new vocabulary
    relearns all. Large builds spread over the cores and show progress."""
    vocab = vocab or vocabulary(desk)
    connection.executescript(TABLES + TRIGGERS)
    version = f"{VERSION}:{vocab.digest}"
    stamp = "t.mtime_ns || ':' || t.size || ':' || t.ino"
    if db.get_meta(connection, "meaning_version") != version:  # never learned, or learned otherwise
        connection.execute("BEGIN IMMEDIATE")
        try:
            for table in ("meaning_docs", "meaning_terms", "meaning_dirty"):
                connection.execute(f"DELETE FROM {table}")
            db.set_meta(connection, "meaning_version", version)
            connection.execute("COMMIT")
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        dirty: list[str] = []
        changed = [row[0] for row in connection.execute(f"SELECT t.name FROM tickets t WHERE {ELIGIBLE}")]
        gone: list[str] = []
    else:
        dirty = [row[0] for row in connection.execute("SELECT name FROM meaning_dirty")]
        if not dirty:
            return Learned(0, 0, -1)
        changed, gone = [], []
        for start in range(0, len(dirty), 500):
            chunk = dirty[start:start + 500]
            marks = ",".join("?" * len(chunk))
            changed += [row[0] for row in connection.execute(
                f"SELECT t.name FROM tickets t LEFT JOIN meaning_docs m ON m.name = t.name "
                f"WHERE t.name IN ({marks}) AND {ELIGIBLE} AND (m.stamp IS NULL OR m.stamp != {stamp})", chunk)]
            gone += [row[0] for row in connection.execute(
                f"SELECT m.name FROM meaning_docs m LEFT JOIN tickets t ON t.name = m.name AND {ELIGIBLE} "
                f"WHERE m.name IN ({marks}) AND t.name IS NULL", chunk)]
    if not changed and not gone:
        connection.executemany("DELETE FROM meaning_dirty WHERE name = ?", [(name,) for name in dirty])
        return Learned(0, 0, -1)
    chunks = [changed[start:start + 1000] for start in range(0, len(changed), 1000)]
    learned = 0
    df: Counter[str] = Counter()
    connection.execute("BEGIN IMMEDIATE")
    try:
        for name in gone + changed:
            row = connection.execute("SELECT doc, bag FROM meaning_docs WHERE name = ?", (name,)).fetchone()
            if row is not None:
                old = Bag.from_json(row[1])
                df.subtract([*old.terms, *old.concepts])
                connection.execute("DELETE FROM meaning_docs WHERE doc = ?", (row[0],))
        jobs = _Jobs(connection, vocab, chunks, stamp)
        shown = len(changed) if len(changed) > 2000 else None
        with desk.progress("Learning from resolved tickets", shown) as advance, \
                workers.map_in_order(_bags, jobs, parallel=len(changed) >= PARALLEL_FROM) as results:
            for made in results:
                connection.executemany(
                    "INSERT INTO meaning_docs (name, stamp, id, category, asset, duplicate_of, bag) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?)", [row for row, _ in made])
                for _, features in made:
                    df.update(features)
                learned += len(made)
                advance(len(made))
        connection.executemany(
            "INSERT INTO meaning_terms VALUES (?, ?) ON CONFLICT(term) DO UPDATE SET df = df + excluded.df",
            [(term, count) for term, count in df.items() if count])
        connection.execute("DELETE FROM meaning_terms WHERE df <= 0")
        connection.executemany("DELETE FROM meaning_dirty WHERE name = ?", [(name,) for name in dirty])
        connection.execute("COMMIT")
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    total = connection.execute("SELECT count(*) FROM meaning_docs").fetchone()[0]
    return Learned(learned, len(gone), int(total))


def behind(connection: sqlite3.Connection, vocab: Vocabulary) -> int:
    """How many tickets ``refresh`` would read again (every indexed one when it would
    learn everything anew: a small desk that has never learned is learned from at once),
    without reading any."""
    found = connection.execute("SELECT 1 FROM sqlite_master WHERE name = 'meaning_dirty'").fetchone()
    if found is None or db.get_meta(connection, "meaning_version") != f"{VERSION}:{vocab.digest}":
        indexed = connection.execute("SELECT 1 FROM sqlite_master WHERE name = 'tickets'").fetchone()
        return int(connection.execute("SELECT count(*) FROM tickets").fetchone()[0]) if indexed else 1 << 40
    return int(connection.execute("SELECT count(*) FROM meaning_dirty").fetchone()[0])


Row = tuple[str, str, str, str | None, str | None, str | None, str]


def _rows(connection: sqlite3.Connection, names: Sequence[str], stamp: str) -> list[tuple[str, ...]]:
    return [tuple("" if value is None else str(value) for value in row) for row in connection.execute(
        f"SELECT t.name, {stamp}, t.front, x.title, x.description, t.resolution FROM tickets t "
        f"JOIN ticket_text x ON x.rowid = t.rowid WHERE t.name IN ({','.join('?' * len(names))})", list(names))]


class _Jobs(Sequence[tuple[Vocabulary, list[tuple[str, ...]]]]):
    """Chunks of ticket rows, read from the index only when a worker is about to take them."""

    def __init__(self, connection: sqlite3.Connection, vocab: Vocabulary, chunks: list[list[str]],
                 stamp: str) -> None:
        self.connection, self.vocab, self.chunks, self.stamp = connection, vocab, chunks, stamp

    def __len__(self) -> int:
        return len(self.chunks)

    def __getitem__(self, position: int) -> tuple[Vocabulary, list[tuple[str, ...]]]:  # type: ignore[override]
        return self.vocab, _rows(self.connection, self.chunks[position], self.stamp)


def _bags(job: tuple[Vocabulary, list[tuple[str, ...]]]) -> list[tuple[Row, list[str]]]:
    """The rows to store for one chunk of tickets, and the features each one has (for df)."""
    vocab, rows = job
    made: list[tuple[Row, list[str]]] = []
    for name, row_stamp, front, title, description, resolution in rows:
        data = json.loads(front) if front else {}
        new = bag(vocab, {"title": title, "description": description, "resolution": resolution})
        made.append(((name, row_stamp, str(data.get("id") or name[:-3]), _text(data.get("category")),
                      _text(data.get("asset")), _text(data.get("duplicate_of")), new.as_json()),
                     [*new.terms, *new.concepts]))
    return made


def _text(value: object) -> str | None:
    return None if value is None else str(value)


# --- comparing --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Doc:
    """A learned resolved ticket, as the ranking needs it."""
    doc: int
    name: str
    stamp: str
    id: str
    category: str | None
    asset: str | None
    duplicate_of: str | None
    bag: Bag


def docs(connection: sqlite3.Connection, names: Sequence[str] | None = None) -> list[Doc]:
    """Every learned ticket, or those of ``names``."""
    query = "SELECT doc, name, stamp, id, category, asset, duplicate_of, bag FROM meaning_docs"
    if names is None:
        rows = connection.execute(query).fetchall()
    else:
        rows = []
        for start in range(0, len(names), 500):
            chunk = list(names[start:start + 500])
            rows += connection.execute(query + f" WHERE name IN ({','.join('?' * len(chunk))})", chunk).fetchall()
    return [Doc(row[0], row[1], row[2], row[3], row[4], row[5], row[6], Bag.from_json(row[7])) for row in rows]


def count(connection: sqlite3.Connection) -> int:
    return int(connection.execute("SELECT count(*) FROM meaning_docs").fetchone()[0])


class Weights:
    """Inverse document frequencies, fetched as needed."""

    def __init__(self, connection: sqlite3.Connection, total: int | None = None) -> None:
        self.connection = connection
        self.total = count(connection) if total is None else total  # counting scans the table: once
        self._df: dict[str, int] = {}
        self._idf: dict[str, float] = {}

    def need(self, terms: Iterable[str]) -> None:
        missing = [term for term in set(terms) if term not in self._df]
        for start in range(0, len(missing), 900):
            chunk = missing[start:start + 900]
            found = dict(self.connection.execute(
                f"SELECT term, df FROM meaning_terms WHERE term IN ({','.join('?' * len(chunk))})", chunk))
            for term in chunk:
                self._df[term] = int(found.get(term, 0))

    def df(self, term: str) -> int:
        return self._df.get(term, 0)

    def idf(self, term: str) -> float:
        found = self._idf.get(term)
        if found is None:
            found = self._idf[term] = math.log(1 + (self.total + 1) / (self._df.get(term, 0) + 0.5))
        return found


def _vector(values: Mapping[str, float], weights: Weights) -> dict[str, float]:
    idf = weights.idf
    return {key: (1 + math.log(value) if value >= 1 else value) * idf(key)
            for key, value in values.items() if value > 0}


def cosine(left: Mapping[str, float], right: Mapping[str, float]) -> float:
    if len(left) > len(right):
        left, right = right, left
    dot = sum(value * right.get(key, 0.0) for key, value in left.items())
    if not dot:
        return 0.0
    norm = math.sqrt(sum(v * v for v in left.values())) * math.sqrt(sum(v * v for v in right.values()))
    return dot / norm if norm else 0.0


def associations(connection: sqlite3.Connection, weights: Weights, query: Mapping[str, float], *,
                 terms: int = 10, per_term: int = 8, sample: int = 300,
                 cache: dict[int, Bag] | None = None) -> dict[str, float]:
    """Words the desk's resolved tickets use together with the query's words (normalised
    PMI over the tickets that contain each query word, at most ``sample`` of them), weighted
    by the query word's weight: the learned expansion of the query."""
    total = weights.total
    if total < 20:
        return {}
    chosen = sorted((t for t in query if 2 <= weights.df(t) <= total / 4),
                    key=lambda t: query[t] * weights.idf(t), reverse=True)[:terms]
    cache = {} if cache is None else cache
    expanded: dict[str, float] = {}
    for term in chosen:
        found = [row[0] for row in connection.execute(
            "SELECT m.doc FROM ticket_text x JOIN meaning_docs m ON m.name = x.name "
            "WHERE ticket_text MATCH ? ORDER BY x.rowid DESC LIMIT ?",
            ('{title description resolution} : "' + term.replace('"', "") + '"*', sample))]
        missing = [doc for doc in found if doc not in cache]
        for start in range(0, len(missing), 500):
            chunk = missing[start:start + 500]
            for doc, text in connection.execute(
                    f"SELECT doc, bag FROM meaning_docs WHERE doc IN ({','.join('?' * len(chunk))})", chunk):
                cache[doc] = Bag.from_json(text)
        together: Counter[str] = Counter()
        for doc in found:
            together.update(cache[doc].terms.keys() if doc in cache else ())
        weights.need(together)
        scored = []
        n = len(found)
        for other, joint in together.items():
            if other == term or other in query or joint < 2:
                continue
            p_joint = joint / total
            pmi = math.log((joint / n) / max(weights.df(other) / total, 1e-9))
            npmi = pmi / -math.log(p_joint) if p_joint < 1 else 0.0
            if npmi > 0.2:
                scored.append((npmi, other))
        for npmi, other in sorted(scored, reverse=True)[:per_term]:
            expanded[other] = expanded.get(other, 0.0) + query[term] * npmi
    return expanded


@dataclass(frozen=True, slots=True)
class Signals:
    """How alike a query and a ticket are, by each signal (0 to 1)."""
    words: float  # the same words (stems)
    concepts: float  # the same words or the same concepts of the vocabulary
    learned: float  # the query's words and the words the desk uses with them


def compare(connection: sqlite3.Connection, query: Bag, candidates: Sequence[Doc], *, learn: bool = True,
            weights: Weights | None = None) -> dict[str, Signals]:
    """The signals of every candidate (by name) for ``query``.

    Concepts are compared in one space with the words (a concept is one more
    feature), so naming one common concept alone cannot make two tickets alike."""
    weights = weights or Weights(connection)
    weights.need([*query.terms, *query.concepts])
    for candidate in candidates:
        weights.need(candidate.bag.terms)
        weights.need(candidate.bag.concepts)
    q_terms = _vector(query.terms, weights)
    q_both = {**q_terms, **_vector(query.concepts, weights)}
    expanded = associations(connection, weights, query.terms) if learn else {}
    q_learned = {**q_terms, **{term: value * weights.idf(term) for term, value in expanded.items()}}
    found: dict[str, Signals] = {}
    for candidate in candidates:
        d_terms = _vector(candidate.bag.terms, weights)
        d_both = {**d_terms, **_vector(candidate.bag.concepts, weights)}
        words = cosine(q_terms, d_terms)
        found[candidate.name] = Signals(words, cosine(q_both, d_both),
                                        cosine(q_learned, d_terms) if expanded else words)
    return found


def shared(query: Bag, doc: Bag, text: str, vocab: Vocabulary, weights: Weights, most: int = 4) -> tuple[str, ...]:
    """What ``query`` and a candidate have in common, weightiest first, as the candidate's
    ``text`` writes it: a shared word ("jam" as "jams"), or a concept named in other words
    ("≈printer" where the query said "Kopierer")."""
    written: dict[str, str] = {}
    for word in _TOKEN.findall(unicodedata.normalize("NFC", text)):  # "re\u0301seau" is one word
        written.setdefault(_normal(fold(word)), word.lower())
    q = {**_vector(query.terms, weights), **_vector(query.concepts, weights)}
    d = {**_vector(doc.terms, weights), **_vector(doc.concepts, weights)}
    common = sorted((key for key in q if key in d), key=lambda key: (-q[key] * d[key], key))
    words = {key for key in common if not key.startswith("~")}
    shown: list[str] = []
    for key in common:
        if not key.startswith("~"):
            shown.append(written.get(key, key))
        elif key in vocab.labels and vocab.stems.get(key, frozenset()).isdisjoint(words):
            shown.append("≈" + vocab.labels[key])  # met in other words only: a shared word says it already
        if len(shown) == most:
            break
    return tuple(shown)


def expansion_words(vocab: Vocabulary, query: Bag, most: int = 24) -> list[str]:
    """Words the query's concepts stand for, as people write them (to find candidates
    by full-text search)."""
    words: dict[str, None] = {}
    for concept in sorted(query.concepts, key=lambda c: -query.concepts[c]):
        words.update(dict.fromkeys(vocab.words.get(concept, ())))
    return list(words)[:most]
