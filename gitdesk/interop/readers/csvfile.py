"""Tickets from a spreadsheet: one row each, columns matched to fields by name
(or by ``--map FIELD=COLUMN``). UTF-8 (with or without BOM), or Windows-1252 as
Excel writes it; comma, semicolon or tab separated."""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta, timezone
from pathlib import Path

from gitdesk.errors import ValidationError
from gitdesk.interop.importing import Comment, Record, Skip
from gitdesk.interop.readers import ambiguous, guarded, parse_when
from gitdesk.model import IMPORTED_ACTOR

# Column names as the tools teams leave write them (Request Tracker, Zammad, osTicket, Zendesk,
# Freshdesk, a spreadsheet), each field's in order of preference (BY_CONTENT's: all are read).
FIELDS: dict[str, tuple[str, ...]] = {
    "key": ("key", "id", "number", "ticket", "ticket id", "ticket number", "ticket #", "ticket no", "issue", "#"),
    "title": ("title", "subject", "summary", "name"),
    "body": ("body", "description", "details", "text", "message"),
    "requester": ("requester", "requestors", "requestor", "email", "e-mail", "e mail", "from email",
                  "requester email", "customer email", "contact email", "from", "reporter", "requested by",
                  "customer", "contact"),
    # The name a requester is greeted by (gitdesk's own export): never part of a key-less row's identity.
    "requester_name": ("requester_name", "requester name"),
    "status": ("status", "state", "current status", "ticket status"),
    "priority": ("priority", "urgency"),
    "queue": ("queue", "team", "group", "department", "help topic"),
    "assignee": ("assignee", "assigned to", "owner", "agent", "assigned agent", "assigned"),
    "category": ("category", "type"),
    "asset": ("asset", "machine", "device", "system", "computer"),
    "labels": ("labels", "tags", "label", "tag"),
    "created": ("created", "created at", "created_at", "created on", "date created", "creation date",
                "create date", "opened", "date", "submitted"),
    "closed": ("closed", "closed at", "closed_at", "closed on", "date closed", "close date", "solved at",
               "resolved", "resolved at", "resolved_at", "resolved on", "completed",
               "timings.resolved_at"),  # gitdesk's own export
    "resolution": ("resolution", "solution", "fix", "resolution note"),
    "comments": ("comments", "notes", "history", "conversation"),
    "kb_title": ("kb_title", "article title"),  # gitdesk's own export: an article's published title
}
STATUS_WORDS: dict[str, tuple[str, ...]] = {
    "new": ("new", "unassigned", "triage", "untriaged", "draft"),
    "open": ("open", "opened", "todo", "to do", "in progress", "in-progress", "assigned", "active", "working",
             "reopened", "started"),
    "pending": ("pending", "waiting", "on hold", "on-hold", "waiting for customer", "awaiting reply",
                "stalled", "pending reminder", "pending close", "awaiting customer"),
    "resolved": ("resolved", "fixed", "solved"),
    "closed": ("closed", "done", "complete", "completed", "finished", "archived"),
    "rejected": ("rejected", "wontfix", "won't fix", "spam", "cancelled", "canceled", "invalid", "duplicate",
                 "declined", "merged", "deleted"),
}


def _text(path: Path) -> tuple[str, str | None]:
    raw = path.read_bytes()
    if raw[:2] in (b"\xff\xfe", b"\xfe\xff"):  # Excel's "Unicode Text": UTF-16 with its byte order mark
        try:
            return raw.decode("utf-16"), None
        except UnicodeDecodeError:
            raise ValidationError(f"{path.name} starts as UTF-16 but cannot be read as it",
                                  hint="save it from the spreadsheet as CSV UTF-8, then import it again") from None
    try:
        return raw.decode("utf-8-sig"), None
    except UnicodeDecodeError:
        return raw.decode("cp1252", errors="replace"), "not UTF-8: read as Windows-1252"


# Fields told by what a cell holds, of all their columns present: the requester's address and
# name (Zendesk's Requester is a name, Requester email the address), and the first cell that is
# a date (RT's Resolved is one; a spreadsheet's Resolved may say yes).
BY_CONTENT = ("requester", "closed")


def _first_columns(header: list[str]) -> dict[str, int]:
    """Each column name (folded) and where it is; a name twice: the first column (said)."""
    folded: dict[str, int] = {}
    for index, name in enumerate(header):
        folded.setdefault(name.strip().casefold(), index)
    return folded


def _others(header: list[str], columns: Mapping[str, int], mapping: Mapping[str, str]) -> dict[str, list[int]]:
    """For each field read by content and not named with --map, its other columns present."""
    first = _first_columns(header)
    return {field: [first[name] for name in FIELDS[field] if name in first and first[name] != columns[field]]
            for field in BY_CONTENT if field in columns and field not in mapping}


def _columns(header: list[str], mapping: Mapping[str, str]) -> dict[str, int]:
    folded = _first_columns(header)
    found: dict[str, int] = {}
    for field, column in mapping.items():
        if field not in FIELDS:
            raise ValidationError(f"--map {field}={column}: unknown field {field!r}",
                                  hint=f"fields: {', '.join(FIELDS)}")
        if column.strip().casefold() not in folded:
            raise ValidationError(f"--map {field}={column}: no column {column!r}",
                                  hint=f"columns: {', '.join(header)}")
        found[field] = folded[column.strip().casefold()]
    for field, names in FIELDS.items():
        if field not in found:
            for name in names:
                if name in folded:
                    found[field] = folded[name]
                    break
    return found


def _rows(reader: Iterator[list[str]], name: str) -> Iterator[list[str]]:
    """The reader's rows; a row the csv module cannot read stops the import with its line. The
    reader is strict: leniently, one unclosed quote swallowed every later row into one field."""
    try:
        yield from reader
    except csv.Error as error:
        line = getattr(reader, "line_num", "?")
        raise ValidationError(f"{name}: line {line}: {error}", hint="nothing was imported; fix that line") from None


def status_of(word: str, statuses: Mapping[str, object]) -> str | None:
    folded = " ".join(word.casefold().replace("_", " ").replace("\u2019", "'").split())
    if folded in statuses:
        return folded
    for status, words in STATUS_WORDS.items():
        if folded in words and status in statuses:
            return status
    return None


def records(path: Path, statuses: Mapping[str, object], mapping: Mapping[str, str] | None = None,
            source: str | None = None) -> Iterator[Record | Skip]:
    """The rows of a CSV file as records; ``source`` names the system it came from, so that
    two systems' keys (both count 1, 2, 3…) are two tickets (imported_from csv:SOURCE:KEY)."""
    if source is not None and not re.fullmatch(r"[a-z0-9][a-z0-9-]{0,39}", source):
        raise ValidationError(f"--source {source!r} is not a short name",
                              hint="use lowercase letters, digits and dashes, like --source facilities")
    text, encoding_note = _text(path)
    said = [encoding_note] if encoding_note else []  # of the whole file: told with its first ticket
    if "\x00" in text:  # no ticket may hold one (and Python 3.10's csv module stops at it)
        said.append(f"{text.count(chr(0))} NUL characters dropped")
        text = text.replace("\x00", "")
    sample = text[:8192]
    try:  # only the separator is guessed: the sniffer's quoting guesses break Excel's "" escapes
        delimiter = csv.Sniffer().sniff(sample.split("\n", 1)[0], delimiters=",;\t").delimiter
    except csv.Error:
        delimiter = ","
    csv.field_size_limit(max(csv.field_size_limit(), 16 * 1024 * 1024))  # the default 128 KiB cuts real bodies
    rows = _rows(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True), path.name)
    header = next(rows, None)
    if not header:
        raise ValidationError(f"{path.name} is empty: expected a header row and one row per ticket")
    columns = _columns(header, mapping or {})
    if "title" not in columns:
        raise ValidationError(f"{path.name}: no title column",
                              hint=f"name one with --map title=COLUMN (columns: {', '.join(header)})")
    others = _others(header, columns, mapping or {})
    read = {*columns.values(), *(index for indexes in others.values() for index in indexes)}
    unread = [name.strip() for index, name in enumerate(header) if index not in read and name.strip()]
    folded = [name.strip().casefold() for name in header]
    twice = sorted({header[index].strip() for index in columns.values() if folded.count(folded[index]) > 1})
    if twice:
        said.append(f"column {twice[0]!r} is in the header twice: the first read")
    if unread:  # a column the names above miss is no silent loss
        shown = ", ".join(repr(name) for name in unread[:8]) + (", …" if len(unread) > 8 else "")
        said.append(f"columns not read: {shown} (name a field's column with --map FIELD=COLUMN)")
    file_note = "; ".join(said) or None
    seen: dict[str, str] = {}
    for number, row in enumerate(rows, 2):
        if any(cell.strip() for cell in row):
            # What is said of the whole file goes with its first ticket, whichever row that is.
            item = guarded(f"row {number}", _record, row, number, columns, statuses, file_note, seen, others)
            if isinstance(item, Record):
                file_note = None
            if source is not None and item.key:  # two systems' keys told apart: csv:SOURCE:KEY
                keyed = f"csv:{source}:{item.key.removeprefix('csv:')}"
                if isinstance(item, Record):
                    item.key = keyed
                else:
                    item = Skip(item.position, item.reason, keyed)
            yield item


def _digest(*parts: str) -> str:
    return hashlib.sha1("\x1f".join(parts).encode()).hexdigest()[:12]


def _record(row: list[str], number: int, columns: Mapping[str, int], statuses: Mapping[str, object],
            file_note: str | None, seen: dict[str, str], others: Mapping[str, list[int]]) -> Record | Skip:
    position = f"row {number}"

    def cell(field: str) -> str:
        index = columns.get(field)
        return row[index].strip() if index is not None and index < len(row) else ""

    def cells(field: str) -> list[str]:
        return [cell(field), *(row[index].strip() for index in others.get(field, ()) if index < len(row))]

    title = cell("title")
    if not title:
        return Skip(position, "no title")
    key = cell("key")
    if not key:  # no key column: the ticket's title, date and requester say which ticket a row is ...
        key = _digest(title, cell("created"), cell("requester"))
        text = _digest(cell("body"))  # what the requester wrote: not a status or an assignee a newer dump changes
        if seen.setdefault(key, text) != text:  # ... but two rows alike in those and not in their text
            key += "-" + text[:6]  # are two tickets (the same on every import: still skipped the next time)
    record = Record(key=f"csv:{key}", position=position, title=title, body=_as_text(cell("body")))
    if record.body != cell("body"):
        record.notes.append("the description was HTML: read as text")
    record.requester = _requester(cells("requester"), record) or None
    name = " ".join(cell("requester_name").split())
    if record.requester == IMPORTED_ACTOR:  # gitdesk's own export of a requester not known, and their name
        record.requester_name = name or None
    elif name and record.requester and "@" in record.requester and "<" not in record.requester:
        record.requester = _requester([record.requester, name], record)  # "Name" <address>
    elif name and not record.requester:
        record.notes.append(f"requester name {name!r} without an address beside it: not kept")
    created = "" if _no_date(cell("created")) else cell("created")
    closed = [value for value in cells("closed") if not _no_date(value) and value.casefold() not in _NOT_CLOSED]
    record.created = parse_when(created)
    record.closed = next((when for when in map(parse_when, closed) if when is not None), None)
    for field, given, value in (("created", created, record.created), ("closed", closed[0] if closed else "",
                                                                       record.closed)):
        if given and value is None:  # a date nobody can read: not "now", and not "never closed"
            why = "could be day/month or month/day" if ambiguous(given) else "is not a date"
            return Skip(position, f"{field} {given!r} {why} (write it like 2026-03-01 or 2026-03-01 14:05)",
                        record.key)
    if cell("status"):
        record.status = status_of(cell("status"), statuses)
        if record.status is None:
            record.notes.append(f"status {cell('status')!r} means nothing here: imported as open")
    elif record.closed is not None:
        record.status = "closed" if "closed" in statuses else None
    for field in ("priority", "queue", "assignee", "category", "asset", "resolution", "kb_title"):
        setattr(record, field, cell(field) or None)
    if record.resolution:
        record.resolution = _as_text(record.resolution)
    if record.priority:
        record.priority = record.priority.casefold()
    if record.category:
        record.category = record.category.casefold()
    record.labels = [label for label in cell("labels").replace(";", ",").split(",") if label.strip()]
    if cell("comments"):
        record.comments.append(Comment(None, None, _as_text(cell("comments"))))
    if file_note:
        record.notes.append(file_note)
    return record


# What a spreadsheet writes in a date's cell for "none" (and, for a closing, a flag's yes or no).
# Request Tracker writes "Not set"; MySQL-backed desks (osTicket) a zero date 0000-00-00; RT's
# database the epoch (1970-01-01, in any form or zone: no ticket was made then).
_NO_DATE = frozenset({"n/a", "na", "-", "—", "–", "0", "none", "null", "nil", "never", "not set"})
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


# Other systems' "no date": MySQL's zero date, .NET's DateTime.MinValue, Excel's day zero.
_ZERO_DATES = ("0000-00-00", "0001-01-01", "1899-12-30", "1899-12-31", "1900-01-00")


def _no_date(text: str) -> bool:
    """Whether a date's cell says there is none: a word for none, a zero date, the epoch (in
    any form or zone: "Jan 1, 1970", "1969-12-31 19:00:00 EST" are it too)."""
    if text.casefold() in _NO_DATE or text.startswith(_ZERO_DATES):
        return True
    if "1970" not in text and "1969" not in text:
        return False
    when = parse_when(text)
    if when is None:  # the epoch west of Greenwich, before the first moment gitdesk reads: 31 December 1969
        return "1969" in text and any(day in text for day in ("12-31", "12/31", "31.12", "31/12", "Dec 31", "31 Dec"))
    return abs(when - _EPOCH) <= timedelta(hours=14)  # the widest offset from UTC


_NOT_CLOSED = frozenset({"yes", "no", "y", "n", "true", "false", "x", "open"})


def _requester(cells: list[str], record: Record) -> str:
    """The requester from the cells of its columns: the first real address (a cell may hold
    several, or a name with an @ in it), with the name a cell without one gives."""
    from email.utils import getaddresses

    from gitdesk import workflow

    address = name = ""
    for value in cells:
        found = [(named, given) for named, given in getaddresses([value]) if workflow.is_email(given)]
        if found and not address:
            (named, address), more = found[0], len(found) - 1
            name = name or named
            if more:
                record.notes.append(f"{more} more {'address' if more == 1 else 'addresses'} in {value!r}: "
                                    "the first is the requester")
        elif value and not found and not name:
            name = value
    name = " ".join(name.replace("<", " ").replace(">", " ").replace('"', " ").split())
    return f'"{name}" <{address}>' if address and name else address or name


# Zendesk, Freshdesk and osTicket export a description as the HTML their editor wrote: a cell
# that is one HTML block from its first character to its last ("<div class=…>…</div>", "<p>…</p>",
# pretty-printed or not): the same tag opens and closes it, and the opening one hugs what it
# holds. Anything else is text, whatever tags it names or holds ("<div> and </div> show in my
# signature", "<i>Italic</i> buttons do nothing"): a guess there loses people's words.
_HTML_CELL = re.compile(r"\s*(?:<!doctype html[^<>]*>\s*)?<(html|body|p|div|table|ul|ol|h[1-6])\b[^<>]*>"
                        r"(?=[^\s<]|\s*<).*</\1>\s*", re.IGNORECASE | re.DOTALL)


def _as_text(value: str) -> str:
    """A cell as text: an HTML document read as mail intake reads an HTML mail (tags gone,
    paragraphs kept), other text as it is."""
    if not _HTML_CELL.fullmatch(value):
        return value
    from gitdesk.mail import html

    return html.to_text(value)
