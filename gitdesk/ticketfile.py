"""The ticket file format: front matter, description, conversation, resolution.

``parse`` reads a file into a ``Ticket`` plus a ``Document`` that remembers
where everything sits; ``render`` writes a changed ticket back by splicing
only what changed into the original text (fields in place, entries appended,
the resolution section replaced), so an unchanged ticket renders to the very
same bytes and every change is a small diff.

The body's structure: the description runs to the first ``## Conversation``
or ``## Resolution`` heading; each of those two sections runs to the next
level-2 heading, so a team's own ``## See also`` after them is kept as it is.
Headings inside fenced code blocks do not count.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

from gitdesk import frontmatter
from gitdesk.clock import FIRST_YEAR, LAST_YEAR, as_utc, format_utc, parse_time
from gitdesk.errors import GitdeskError, TicketFormatError, TicketTooLarge
from gitdesk.model import FIELD_ORDER, KNOWN_FIELDS, REQUIRED_FIELDS, RESERVED_NAMES, Entry, Ticket
from gitdesk.text import clean_line

CONVERSATION = "Conversation"
RESOLUTION = "Resolution"
BOM = "\ufeff"
_SECTION = re.compile(r"^## (Conversation|Resolution)[ \t\r]*$")
_ENTRY = re.compile(r"^### (\S+) (\S+) — ([a-z][a-z0-9-]*)(?: (.*?))?[ \t\r]*$")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_CONFLICT = re.compile(r"^(<{7}|={7}|>{7}|\|{7})( |\r?$)")
# A line that opens an HTML block that can hide what follows where a Git host renders Markdown
# with HTML on: an unclosed "<!--" (or "<?", "<!DOCTYPE", "<![CDATA[", "<script", "<style")
# runs to the end of the file, "<details>" folds it away. Other tags ("<div>", "<b>") end at
# the next blank line at most, and are left as written.
_HTML_BLOCK = re.compile(r"^( {0,3})(<!--|<\?|<![A-Za-z\[]|</?(?i:script|style|textarea|pre|details|summary|dialog)"
                         r"(?:[\s/>]|$))")
_HTML_ESCAPED = re.compile(r"^( {0,3})\\(<.*)$", re.DOTALL)
_KNOWN_HEADING = re.compile(r"^## (Conversation|Resolution)$")
_LEVEL2 = re.compile(r"^##(?=[ \t]|$)")
_ENTRY_LIKE = re.compile(r"^### \S+ \S+ — ")
# A heading that begins with a date, as an entry's does: a hand-written entry gone wrong (check
# says so). "### 1. Restart" is a numbered heading of someone's text, not an attempt.
_ATTEMPTED_ENTRY = re.compile(r"^### \d{4}-\d\d-\d\d")
# Any heading that begins with a date (indented up to three spaces, ### to ######, spaces or a
# tab): in a description or resolution it would be read, and published, as that text, though a
# hand edit meant an entry ("###  2026-…", "#### 2026-…"). gitdesk escapes these in what it writes.
_DATED_HEADING = re.compile(r"^ {0,3}#{3,6}[ \t]+\d{4}-\d\d-\d\d")


@dataclass(frozen=True, slots=True)
class Document:
    """A parsed ticket file: the original text and where its parts are."""

    text: str  # newlines normalised to \n when the file uses CRLF throughout; no BOM
    newline: str  # "\r\n" when the file is CRLF throughout, else "\n" (mixed files stay as they are)
    bom: bool
    front: frontmatter.FrontMatter
    description_end: int
    conversation: tuple[int, int] | None  # (heading start, section end)
    resolution: tuple[int, int] | None
    open_fence_line: int | None  # a code fence the body never closes
    odd_headings: tuple[int, ...]  # lines that look like entry headings but are not
    path: str | None = None


def decode(data: bytes, path: str | None = None) -> str:
    """Bytes to text, refusing what a ticket must not be. A BOM is kept (parse handles it)."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise TicketFormatError(
            f"not valid UTF-8 (byte 0x{data[error.start]:02x})", path=path, line=line,
            hint="re-save the file as UTF-8",
        ) from None


def _normalise(text: str) -> tuple[str, str, bool]:
    bom = text.startswith(BOM)
    if bom:
        text = text[1:]
    crlf = "\r\n" in text and text.count("\r\n") == text.count("\n")
    return (text.replace("\r\n", "\n") if crlf else text), ("\r\n" if crlf else "\n"), bom


def parse(text: str, path: str | None = None) -> tuple[Ticket, Document]:
    normal, newline, bom = _normalise(text)
    _refuse_unreadable(normal, path)
    front = frontmatter.load(normal, path)
    ticket, layout, odd = _whole(normal, front, path)
    document = Document(normal, newline, bom, front, layout.description_end, layout.conversation,
                        layout.resolution, layout.open_fence_line, odd, path)
    return ticket, document


def parse_ticket(text: str, path: str | None = None) -> Ticket:
    """The whole ticket, with no ``Document`` to write it back (an export reads every file):
    the front matter as ``parse_front`` reads it, without positions; a problem is re-read
    with them to name its line."""
    normal, _, _ = _normalise(text)
    _refuse_unreadable(normal, path)
    data = frontmatter.load_data(normal, path)
    _, close_start, body_start = frontmatter.split(normal, path)
    try:
        return _whole(normal, frontmatter.FrontMatter(data, {}, body_start, close_start), path)[0]
    except TicketFormatError:
        return parse(text, path)[0]


def _refuse_unreadable(normal: str, path: str | None) -> None:
    _refuse_conflict_markers(normal, path)
    if "\x00" in normal:
        raise TicketFormatError("file contains NUL bytes", path=path, hint="tickets are plain text")


def _whole(normal: str, front: frontmatter.FrontMatter, path: str | None) -> tuple[Ticket, _Layout, tuple[int, ...]]:
    layout = _sections(normal, front.body_start, path)
    entries, conversation_text, odd = (_entries(normal, layout.conversation, path) if layout.conversation
                                       else ((), "", ()))
    ticket = _ticket(front, path)
    description = _clean(normal[front.body_start:layout.description_end])
    resolution = _clean(_section_text(normal, layout.resolution)) if layout.resolution else ""
    ticket = replace(ticket, description=description, entries=entries, resolution=resolution or None,
                     conversation_text=conversation_text, appendix=layout.appendix(normal))
    return ticket, layout, odd


def misplaced_entries(document: Document) -> list[TicketFormatError]:
    """A problem for each conversation entry heading (or heading that begins with a date, as
    one does) in the description or under ``## Resolution``, outside code fences: a hand edit
    that typed a note or reply where it is read, published in the knowledge base, and later
    rewritten, as that section's text (a new ticket has no ``## Conversation`` heading until
    its first entry). gitdesk escapes such lines in what it writes. ``check``, ``edit`` and
    every verb refuse them with these messages."""
    problems: list[TicketFormatError] = []
    parts = [("in the description", "description", document.front.body_start, document.description_end,
              "put a '## Conversation' heading above it" if document.conversation is None
              else "move it to the end of '## Conversation'")]
    if document.resolution is not None:
        parts.append(("under '## Resolution'", "resolution", *document.resolution,
                      "move it above '## Resolution', to the end of '## Conversation'"))
    for where, section, start, end, hint in parts:
        for line, whole in _entry_lines(document.text, start, end):
            if whole:
                problems.append(TicketFormatError(
                    f"a conversation entry {where} is read as {section} text", path=document.path,
                    line=line, hint=hint))
            else:
                problems.append(TicketFormatError(
                    f"a heading {where} begins with a date, as an entry's does, but is read as {section} text",
                    path=document.path, line=line,
                    hint="write an entry as '### 2026-11-20T09:40:00Z alice — note' under '## Conversation'; "
                         "for a heading of the text, begin the line with a backslash (\\###)"))
    return problems


def _entry_lines(text: str, start: int, end: int) -> list[tuple[int, bool]]:
    """The lines (outside code fences) from ``start`` to ``end`` that are entry headings (True)
    or begin with a date as one does (False), with their numbers."""
    found: list[tuple[int, bool]] = []
    fence: str | None = None
    line_number = text.count("\n", 0, start) + 1
    for line in text[start:end].split("\n"):
        outside = fence is None
        fence = _next_fence(line, fence)
        if outside and fence is None and "#" in line[:4]:
            match = _ENTRY.match(line)
            if match is not None and _is_time(match.group(1)):  # "### Windows 11 — reinstall" is a heading
                found.append((line_number, True))
            elif _DATED_HEADING.match(line):
                found.append((line_number, False))
        line_number += 1
    return found


def unstorable(value: Any, depth: int = 0) -> str | None:
    """What in a custom field's value JSON cannot hold (the index, reports and --format json
    all keep fields as JSON): a set, bytes, a number that is not finite; None if it is fine."""
    if value is None or isinstance(value, (str, bool, int, date)):
        return None
    if isinstance(value, float):
        return None if math.isfinite(value) else f"{value} (not a finite number)"
    if depth < 20 and isinstance(value, list):
        return next((found for item in value if (found := unstorable(item, depth + 1)) is not None), None)
    if depth < 20 and isinstance(value, dict):
        if not all(isinstance(key, str) for key in value):
            return "a mapping whose keys are not all text"
        return next((found for item in value.values() if (found := unstorable(item, depth + 1)) is not None), None)
    return "values nested too deep" if depth >= 20 else kind_of(value)


def kind_of(value: Any) -> str:
    """A YAML value's kind in people's words."""
    kinds: dict[type, str] = {bytes: "binary data", set: "a set", dict: "a mapping", list: "a list"}
    return kinds.get(type(value), f"a {type(value).__name__}")


def read_ticket(text: str, path: str | None = None) -> Ticket:
    """The whole ticket, for reading only (history, the index): no positions are
    kept, so the fast front-matter path applies. Errors are those of ``parse``."""
    normal, _, _ = _normalise(text)
    _refuse_conflict_markers(normal, path)
    if "\x00" in normal:
        raise TicketFormatError("file contains NUL bytes", path=path, hint="tickets are plain text")
    _, _, body_start = frontmatter.split(normal, path)
    data = frontmatter.load_data(normal, path)
    layout = _sections(normal, body_start, path)
    entries, conversation_text, _ = (_entries(normal, layout.conversation, path) if layout.conversation
                                     else ((), "", ()))
    resolution = _clean(_section_text(normal, layout.resolution)) if layout.resolution else ""
    body = {"description": _clean(normal[body_start:layout.description_end]), "entries": entries,
            "resolution": resolution or None, "conversation_text": conversation_text,
            "appendix": layout.appendix(normal)}  # given to the one Ticket made (replace would make two)
    try:
        return _ticket(frontmatter.FrontMatter(data, {}, body_start, 0), path, body)
    except TicketFormatError:  # again, with positions, to name the line
        return _ticket(frontmatter.load(normal, path), path, body)


def _clean(text: str) -> str:
    """Model text: no surrounding blank lines, no stray carriage returns."""
    if "\r" not in text:
        return text.strip("\n")
    return "\n".join(line.rstrip("\r") for line in text.split("\n")).strip("\n")


def _unfenced(text: str, start: int, end: int | None = None) -> bool:
    """No code fence can open in ``text[start:end]`` (every fence line holds one of these)."""
    return text.find("```", start, end) < 0 and text.find("~~~", start, end) < 0


def parse_front(text: str, path: str | None = None) -> Ticket:
    """Only the front matter, for listings: the body is not parsed, positions are
    not kept, and a problem is re-read with positions to name its line."""
    normal, _, _ = _normalise(text)
    _refuse_conflict_markers(normal, path)
    data = frontmatter.load_data(normal, path)
    try:
        return _ticket(frontmatter.FrontMatter(data, {}, 0, 0), path)
    except TicketFormatError:
        return _ticket(frontmatter.load(normal, path), path)


def claimed_id(head: bytes, key: str = "id") -> str | None:
    """What a ticket file that cannot be read claims for ``key`` (``id``, ``duplicate_of``): an
    ID-like value on that line of its front matter, read without YAML (its first 64 KB, a
    character cut at the end or bytes that are not UTF-8 notwithstanding). Upper case."""
    front = head[:65536].decode("utf-8", "replace").split("\n---", 1)[0]
    found = re.search(rf"^{re.escape(key)}:[ \t]*['\"]?([A-Za-z0-9-]+)", front, re.MULTILINE)
    return found.group(1).upper() if found else None


def parse_bytes(data: bytes, path: str | None = None) -> tuple[Ticket, Document]:
    return parse(decode(data, path), path)


def _next_fence(line: str, fence: str | None) -> str | None:
    """The code fence open after ``line`` (None outside one). As in CommonMark,
    a fence is closed by the same character repeated at least as often."""
    match = _FENCE.match(line)
    if match is None:
        return fence
    marker = match.group(1)
    if fence is None:
        return marker
    return None if marker[0] == fence[0] and len(marker) >= len(fence) else fence


def _refuse_conflict_markers(text: str, path: str | None) -> None:
    if "<<<<<<<" not in text and ">>>>>>>" not in text:
        return
    fence: str | None = None
    for number, line in enumerate(text.split("\n"), start=1):
        outside = fence is None
        fence = _next_fence(line, fence)
        if outside and fence is None and line[:1] in "<>" and _CONFLICT.match(line):
            raise TicketFormatError(
                "unresolved merge conflict markers", path=path, line=number,
                hint="resolve the conflict, remove the <<<<<<< ======= >>>>>>> lines, then commit",
            )


@dataclass(frozen=True, slots=True)
class _Layout:
    description_end: int
    conversation: tuple[int, int] | None
    resolution: tuple[int, int] | None
    open_fence_line: int | None
    others: tuple[tuple[int, int], ...] = ()  # every other level-2 section after the description

    def appendix(self, text: str) -> str:
        return "\n\n".join(part for part in (_clean(text[start:end]) for start, end in self.others) if part)


def _sections(text: str, body_start: int, path: str | None) -> _Layout:
    """Find the Conversation and Resolution sections outside code fences."""
    if _unfenced(text, body_start):
        found: dict[str, int] = {}
        level2: list[int] = []
        for position in _lines_starting(text, "##", body_start, len(text)):
            line = text[position:_line_end(text, position)]
            if _LEVEL2.match(line):
                level2.append(position)
                match = _SECTION.match(line)
                if match:
                    _once(found, match.group(1), position, text, path)
        return _layout(text, found, level2, None)
    return _sections_by_line(text, body_start, path)


def _once(found: dict[str, int], name: str, position: int, text: str, path: str | None) -> None:
    """Note where a section starts; a second one of the same name is refused: what it
    held would be read as neither (an entry there was once kept as loose text, unlisted)."""
    if name in found:
        raise TicketFormatError(f"a second '## {name}' section", path=path, line=text.count("\n", 0, position) + 1,
                                hint="move what it holds under the first one and delete this heading")
    found[name] = position


def _lines_starting(text: str, prefix: str, start: int, end: int) -> Iterator[int]:
    """Where the lines that start with ``prefix`` start, from ``start`` (a line's start) to ``end``.

    For a body with no code fence ("```" and "~~~" appear nowhere in it, so no line can open
    one): a string search finds the few headings much faster than a loop over every line,
    or than a multi-line regular expression, which tries every position."""
    if text.startswith(prefix, start, end):
        yield start
    needle = "\n" + prefix
    found = text.find(needle, start, end)
    while found >= 0:
        yield found + 1
        found = text.find(needle, found + 1, end)


def _line_end(text: str, position: int) -> int:
    newline = text.find("\n", position)
    return len(text) if newline < 0 else newline


def _sections_by_line(text: str, body_start: int, path: str | None) -> _Layout:
    """``_sections``, a line at a time, following code fences."""
    found: dict[str, int] = {}
    level2: list[int] = []  # every level-2 heading: each ends the section before it
    fence: str | None = None
    fence_line: int | None = None
    line_number = text.count("\n", 0, body_start) + 1
    position = body_start
    length = len(text)
    while position < length:
        newline = text.find("\n", position)
        end = length if newline < 0 else newline
        line = text[position:end]
        outside = fence is None
        fence = _next_fence(line, fence)
        if outside and fence is not None:
            fence_line = line_number
        if outside and fence is None and line.startswith("##") and _LEVEL2.match(line):
            level2.append(position)
            match = _SECTION.match(line)
            if match:
                _once(found, match.group(1), position, text, path)
        position = end + 1
        line_number += 1
    return _layout(text, found, level2, fence_line if fence is not None else None)


def _layout(text: str, found: dict[str, int], level2: list[int], open_fence_line: int | None) -> _Layout:
    length = len(text)
    spans: dict[str, tuple[int, int]] = {}
    for name, start in found.items():
        following = [p for p in level2 if p > start]
        spans[name] = (start, following[0] if following else length)
    description_end = min(found.values()) if found else length
    known = set(found.values())
    others = tuple((start, next((p for p in level2 if p > start), length)) for start in level2
                   if start >= description_end and start not in known)
    return _Layout(description_end, spans.get(CONVERSATION), spans.get(RESOLUTION), open_fence_line, others)


def _section_text(text: str, span: tuple[int, int]) -> str:
    start, end = span
    heading_end = text.find("\n", start, end)
    return "" if heading_end < 0 else text[heading_end + 1:end]


def _entries(text: str, span: tuple[int, int], path: str | None) -> tuple[tuple[Entry, ...], str, tuple[int, ...]]:
    """The entries of the Conversation section, the text before the first one,
    and the lines that look like entry headings but are not."""
    start, end = span
    if not _unfenced(text, start, end):
        return _entries_by_line(text, span, path)
    entries: list[Entry] = []
    odd: list[int] = []
    before_end: int | None = None
    current: tuple[datetime, str, str, str] | None = None
    first = body_start = _line_end(text, start) + 1  # the line after the section's heading
    counted = (0, 1)  # a position, and its line's number: counted on from there, not from the top each time

    def line_number(position: int) -> int:
        nonlocal counted
        counted = (position, counted[1] + text.count("\n", counted[0], position))
        return counted[1]

    for line_start in _lines_starting(text, "### ", first, end):
        line_end = min(_line_end(text, line_start), end)
        line = text[line_start:line_end]
        match = _ENTRY.match(line)
        if match is None:
            if _ATTEMPTED_ENTRY.match(line):
                odd.append(line_number(line_start))
            continue
        at = _entry_time(match.group(1), path, line_number(line_start))
        if current is None:
            before_end = line_start
        else:
            entries.append(Entry(current[0], current[1], current[2], _clean(text[body_start:line_start]),
                                 current[3]))
        current = (at, match.group(2), match.group(3), match.group(4) or "")
        body_start = line_end + 1
    if current is not None:
        entries.append(Entry(current[0], current[1], current[2], _clean(text[body_start:end]), current[3]))
    before = text[first:end if before_end is None else before_end]
    return tuple(entries), _clean(before), tuple(odd)


def _is_time(value: str) -> bool:
    try:
        parse_time(value)
    except GitdeskError:
        return False
    return True


def _entry_time(value: str, path: str | None, line: int) -> datetime:
    try:
        return parse_time(value)
    except GitdeskError:
        raise TicketFormatError(
            f"conversation entry has a bad time {value!r}", path=path, line=line,
            hint="entry headings look like '### 2026-11-20T09:40:00Z alice — reply'",
        ) from None


def _entries_by_line(text: str, span: tuple[int, int],
                     path: str | None) -> tuple[tuple[Entry, ...], str, tuple[int, ...]]:
    """``_entries``, a line at a time, following code fences."""
    start, end = span
    lines = text[start:end].split("\n")
    first_line = text.count("\n", 0, start) + 1
    entries: list[Entry] = []
    current: tuple[datetime, str, str, str] | None = None
    body: list[str] = []
    before: list[str] = []
    odd: list[int] = []
    fence: str | None = None

    def flush() -> None:
        if current is not None:
            at, author, kind, detail = current
            entries.append(Entry(at, author, kind, _clean("\n".join(body)), detail))

    for offset, line in enumerate(lines[1:], start=1):
        outside = fence is None
        fence = _next_fence(line, fence)
        match = _ENTRY.match(line) if outside and fence is None and line.startswith("### ") else None
        if match is None:
            if outside and fence is None and _ATTEMPTED_ENTRY.match(line):
                odd.append(first_line + offset)
            (body if current is not None else before).append(line)
            continue
        at = _entry_time(match.group(1), path, first_line + offset)
        flush()
        current = (at, match.group(2), match.group(3), match.group(4) or "")
        body = []
    flush()
    return tuple(entries), _clean("\n".join(before)), tuple(odd)


def _ticket(front: frontmatter.FrontMatter, path: str | None, body: Mapping[str, Any] | None = None) -> Ticket:
    data = front.data
    first_line = 2

    def line_of(key: str) -> int:
        span = front.spans.get(key)
        return span.line if span else first_line

    for key in REQUIRED_FIELDS:
        if data.get(key) in (None, ""):
            raise TicketFormatError(
                f"missing required field {key!r}", path=path, line=line_of(key) if key in data else 1,
                hint=f"add a line '{key}: …' to the front matter",
            )

    def text_field(key: str, required: bool = False) -> str | None:
        value = data.get(key)
        if value is None or (value == "" and not required):
            return None
        if not isinstance(value, str):
            kind, hint = frontmatter.not_text(key, value)
            raise TicketFormatError(f"{key} must be text, not {kind}", path=path, line=line_of(key), hint=hint)
        if "\n" in value and key != "title":
            raise TicketFormatError(f"{key} must be on one line", path=path, line=line_of(key),
                                    hint=f"write it on one line, without line breaks: {key}: VALUE")
        return value

    def list_field(key: str) -> tuple[str, ...]:
        value = data.get(key)
        if value is None:
            return ()
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise TicketFormatError(
                f"{key} must be a list of names", path=path, line=line_of(key),
                hint=f"write it as {key}: [first, second]",
            )
        return tuple(value)

    created = data["created"]
    if not isinstance(created, (datetime, date)) or not FIRST_YEAR <= created.year <= LAST_YEAR:
        raise TicketFormatError(
            "created must be a time like 2026-11-20T09:14:00Z (years 1970 to 9998)", path=path,
            line=line_of("created"),
        )
    created_at = as_utc(created)
    title = text_field("title", required=True) or ""
    if not clean_line(title):  # nothing a reader would see: invisible characters only
        raise TicketFormatError("title is empty", path=path, line=line_of("title"),
                                hint="write what the ticket is about on the title: line")
    if "\n" in title.strip() or "\r" in title.strip():
        raise TicketFormatError("the title must be one line", path=path, line=line_of("title"),
                                hint="write it on the title: line itself, without | or >")
    extra = {key: value for key, value in data.items() if key not in KNOWN_FIELDS}
    for key, value in extra.items():
        if key in RESERVED_NAMES or key.startswith("timings."):
            better = key.replace(".", "_") if "." in key else f"{key}_note"
            raise TicketFormatError(f"{key!r} cannot be a field: it names part of the ticket in its JSON record",
                                    path=path, line=line_of(key),
                                    hint=f"rename the field in the file, e.g. {better}, and commit it")
        problem = unstorable(value)
        if problem is not None:
            raise TicketFormatError(f"{key} holds {problem}, which a ticket's field cannot", path=path,
                                    line=line_of(key), hint="write it as text, a number, a date or a list of them")
    return Ticket(
        id=text_field("id", required=True) or "",
        title=title,
        status=text_field("status", required=True) or "",
        created=created_at,
        requester=text_field("requester", required=True) or "",
        priority=text_field("priority"),
        queue=text_field("queue"),
        assignee=text_field("assignee"),
        category=text_field("category"),
        asset=text_field("asset"),
        labels=list_field("labels"),
        duplicate_of=text_field("duplicate_of"),
        related=list_field("related"),
        extra=extra,
        **(body or {}),
    )


# --- writing ------------------------------------------------------------------


def _reads_as_structure(line: str) -> bool:
    """Whether a line of someone's text would read as an entry heading (or begin with a date
    as one does) or a conflict marker: ``escape_text`` escapes it, ``as_written`` gives it back."""
    return bool(_ENTRY_LIKE.match(line) or _DATED_HEADING.match(line) or _CONFLICT.match(line))


def escape_text(text: str, *, section: bool = True) -> str:
    """Make user text safe to place in a ticket body.

    Trailing whitespace goes first (so a heading cannot hide behind a
    non-breaking space). Lines that would read as an entry heading (or begin
    with a date as one does), a conflict marker or the start of an HTML block
    that can hide what follows (an unclosed ``<!--`` from a mail hides the
    rest of the file on a Git host) get a leading backslash, which Markdown shows literally.
    In an entry or the resolution (``section``), level-2 headings become
    level 3, since a level-2 heading would end the section; in a description
    only ``## Conversation`` and ``## Resolution`` are escaped. An unclosed
    code fence is closed so it cannot swallow what follows. A NUL (no ticket file may hold
    one: a byte an import or a pasted file brought) is dropped.
    """
    lines = text.replace("\x00", "").replace("\r\n", "\n").replace("\r", "\n").strip("\n").split("\n")
    fence: str | None = None
    out: list[str] = []
    for raw in lines:
        line = raw.rstrip()
        outside = fence is None
        fence = _next_fence(line, fence)
        if outside and fence is None:
            if _reads_as_structure(line):
                line = "\\" + line.lstrip(" ")  # "   #### 2026-…": its indent would keep it a heading
            elif found := _HTML_BLOCK.match(line):
                line = found.group(1) + "\\" + line[len(found.group(1)):]  # "\<" shows as "<"
            elif section and _LEVEL2.match(line):
                line = "#" + line  # "## 2026-11-30 before" is then a dated level-3 heading: escaped too
                line = "\\" + line if _ATTEMPTED_ENTRY.match(line) else line
            elif not section and _KNOWN_HEADING.match(line):
                line = "\\" + line
        out.append(line)
    if fence is not None:
        out.append(fence)
    return "\n".join(out).strip("\n")


def html_as_written(text: str) -> str:
    """``text`` with only the HTML escapes of ``escape_text`` taken back ("\\<!--" is "<!--"
    again): for a reader that shows every tag as text itself (the knowledge base)."""
    return _unescaped(text, html_only=True) if "\\<" in text else text


def as_written(text: str, *, ignoring: str = "") -> str:
    """Text ``escape_text`` made safe for the file, as its writer wrote it: for a mail and
    the terminal, where the backslash before "### 2026-12-01 update" would show (Markdown
    hides it). Level-2 headings stay level 3. ``ignoring``: characters put into the text
    since (a search snippet's match markers), left where they are and not judged."""
    return _unescaped(text, html_only=False, ignoring=ignoring) if "\\" in text else text


def _unescaped(text: str, *, html_only: bool, ignoring: str = "") -> str:
    fence: str | None = None
    out: list[str] = []
    for line in text.split("\n"):
        plain = line.translate({ord(char): None for char in ignoring}) if ignoring else line
        outside = fence is None
        fence = _next_fence(plain, fence)
        if outside and fence is None:
            if not html_only and plain.startswith("\\") and (
                    _reads_as_structure(plain[1:]) or _KNOWN_HEADING.match(plain[1:])):
                line = line[line.index("\\") + 1:]
            elif (escaped := _HTML_ESCAPED.match(plain)) and _HTML_BLOCK.match(escaped.group(1) + escaped.group(2)):
                at = line.index("\\")  # the escape leads its line, after blanks: no inserted character before it
                line = line[:at] + line[at + 1:]
        out.append(line)
    return "\n".join(out)


def entry_heading(entry: Entry) -> str:
    detail = f" {entry.detail}" if entry.detail else ""
    return f"### {format_utc(entry.at)} {entry.author} — {entry.kind}{detail}"


def entry_text(entry: Entry) -> str:
    return entry_heading(entry) + "\n" + (entry.text + "\n" if entry.text else "")


def new_text(ticket: Ticket) -> str:
    """The whole file for a brand-new ticket."""
    fields: dict[str, Any] = {name: ticket.field_value(name) for name in FIELD_ORDER}
    fields["labels"] = list(ticket.labels)
    if ticket.duplicate_of:
        fields["duplicate_of"] = ticket.duplicate_of
    if ticket.related:
        fields["related"] = list(ticket.related)
    fields.update(ticket.extra)
    text = frontmatter.new_text(fields)
    if ticket.description:
        text += ticket.description + "\n"
    for entry in ticket.entries:
        if entry is ticket.entries[0]:
            text += f"\n## {CONVERSATION}\n"
        text += "\n" + entry_text(entry)
    if ticket.resolution:
        text += f"\n## {RESOLUTION}\n" + ticket.resolution + "\n"
    return fits(text, ticket.id)


MAX_TICKET_BYTES = 2 * 1024 * 1024  # a ticket is text: 2 MB is hundreds of long mails


def fits(text: str, shown: str | None) -> str:
    """``text``, if every reader will read it: no larger than a ticket file may be, its
    fields within the front matter's limit. Writers check here, before anything is
    written, so that no action, import or mail makes a ticket nobody can open."""
    size = len(text.encode("utf-8"))
    named = f"{shown}: " if shown else ""
    if size > MAX_TICKET_BYTES:
        raise TicketTooLarge(f"{named}the ticket would be {size / 1024 / 1024:.1f} MB; a ticket file holds at "
                                f"most {MAX_TICKET_BYTES // 1024 // 1024} MB",
                                hint="attach long text (a log, a long mail) as a file instead")
    start, close, _ = frontmatter.split(text)
    if len(text[start:close].encode("utf-8")) > frontmatter.MAX_FRONT_MATTER:
        raise TicketTooLarge(f"{named}the ticket's fields would be larger than "
                                f"{frontmatter.MAX_FRONT_MATTER // 1024} KiB",
                                hint="shorten the longest field (labels, asset or a field of your own)")
    return text


def same_content(a: Ticket, b: Ticket) -> bool:
    """Whether two tickets say the same: fields, description, entries, resolution."""
    return (a.front_matter() == b.front_matter() and a.description == b.description
            and a.entries == b.entries and (a.resolution or None) == (b.resolution or None))


def updated_text(document: Document, old: Ticket, new: Ticket) -> str:
    """The file text for ``new``, spliced into the original of ``old``.

    Supports what actions do: field changes, entries appended at the end of
    the conversation, and the resolution set or replaced. An unchanged ticket
    gives back the original text byte for byte.
    """
    if new == old:
        return _denormalise(document.text, document)
    if new.description != old.description or new.entries[: len(old.entries)] != old.entries:
        raise ValueError("updated_text only appends entries; rewrite the file for other body changes")
    if new.resolution != old.resolution and not new.resolution:
        raise ValueError("updated_text cannot remove a resolution")
    added = new.entries[len(old.entries):]
    changing_body = bool(added) or new.resolution != old.resolution
    if changing_body and document.open_fence_line is not None:
        raise TicketFormatError(
            "the ticket has a code block (```) that is never closed", path=document.path,
            line=document.open_fence_line, hint="close it with gitdesk edit, then try again",
        )
    text, original = document.text, document  # how the file was written (CRLF, BOM) stays its own
    # Body edits first: they sit after the front matter, so its spans stay valid.
    # Re-parse between them so each edit sees where the sections now are.
    if new.resolution != old.resolution and new.resolution:
        text = _set_resolution(text, document, new.resolution)
        if added:
            document = parse(text, document.path)[1]
    if added:
        text = _append_entries(text, document, added)
    changes = _field_changes(old, new)
    if changes:
        text = frontmatter.splice(text, document.front, changes, document.path)
    fits(text, document.path)  # before parsing it back: the reader would refuse it
    reparsed, _ = parse(text, document.path)
    if not same_content(reparsed, new):
        raise AssertionError(f"{document.path}: ticket did not survive its own round trip")  # a bug
    return _denormalise(text, original)


def _denormalise(text: str, document: Document) -> str:
    if document.newline == "\r\n":
        text = text.replace("\n", "\r\n")
    return BOM + text if document.bom else text


def _field_changes(old: Ticket, new: Ticket) -> dict[str, Any]:
    before: Mapping[str, Any] = old.front_matter()
    after: Mapping[str, Any] = new.front_matter()
    changes: dict[str, Any] = {}
    for key in after:
        if key not in before or before[key] != after[key] or type(before[key]) is not type(after[key]):
            changes[key] = after[key]
    for key in before:
        if key not in after:
            changes[key] = frontmatter.REMOVE
    return changes


def _content_end(text: str, start: int, end: int) -> int:
    """Index after the last non-newline character in text[start:end]."""
    position = end
    while position > start and text[position - 1] == "\n":
        position -= 1
    return position


def _append_entries(text: str, document: Document, entries: tuple[Entry, ...]) -> str:
    rendered = "".join("\n" + entry_text(entry) for entry in entries).rstrip("\n")
    body_start = document.front.body_start
    if document.conversation is not None:
        start, end = document.conversation
        at = _content_end(text, start, end)
        return text[:at] + "\n" + rendered + _tail(text, at)
    if document.resolution is not None:
        start, _ = document.resolution
        at = _content_end(text, body_start, start)
    else:
        at = _content_end(text, body_start, len(text))
    lead = "\n" if at <= body_start else "\n\n"
    block = f"## {CONVERSATION}\n" + rendered
    return text[:at] + lead + block + _tail(text, at)


def _tail(text: str, at: int) -> str:
    rest = text[at:]
    if not rest.strip("\n"):
        return "\n"
    # Something follows (the Resolution section): keep one blank line before it.
    return "\n\n" + rest.lstrip("\n")


def _set_resolution(text: str, document: Document, resolution: str) -> str:
    if document.resolution is not None:
        start, end = document.resolution
        heading_end = text.find("\n", start, end)
        content_start = end if heading_end < 0 else heading_end + 1
        rest = text[end:]
        after = resolution + "\n" + ("\n" if rest else "")
        if heading_end < 0:
            return text[:start] + f"## {RESOLUTION}\n" + after + rest
        return text[:content_start] + after + rest
    at = _content_end(text, document.front.body_start, len(text))
    lead = "\n" if at <= document.front.body_start else "\n\n"
    return text[:at] + lead + f"## {RESOLUTION}\n" + resolution + "\n"


def rewritten_text(document: Document, old: Ticket, new: Ticket) -> str:
    """Like ``render``, but any body change is allowed: the description, the
    conversation (reordered, with text outside entries) and the resolution are
    rewritten where they changed. Used by merges; front matter is still
    spliced, so unchanged fields keep their exact text."""
    if new.description == old.description and new.conversation_text == old.conversation_text \
            and new.entries[: len(old.entries)] == old.entries \
            and (new.resolution or not old.resolution):
        return updated_text(document, old, new)
    text = document.text
    edits: list[tuple[int, int, str]] = []
    if new.description != old.description:
        end = document.description_end
        tail = "\n" if end < len(text) else ""
        edits.append((document.front.body_start, end, (new.description + "\n" if new.description else "") + tail))
    if new.entries != old.entries or new.conversation_text != old.conversation_text:
        if document.conversation is None:
            raise ValueError("no conversation section to rewrite")
        start, end = document.conversation
        heading_end = text.find("\n", start, end) + 1 or end
        parts = ([new.conversation_text + "\n"] if new.conversation_text else []) + [
            entry_text(entry) for entry in new.entries]
        tail = "\n" if end < len(text) else ""
        edits.append((heading_end, end, "\n" + "\n".join(parts) + tail))
    added_resolution: str | None = None
    if (new.resolution or None) != (old.resolution or None):
        if not new.resolution:
            raise ValueError("merges never remove a resolution")
        if document.resolution is None:  # resolved on the other side, answered on this one
            added_resolution = new.resolution
        else:
            start, end = document.resolution
            heading_end = text.find("\n", start, end) + 1 or end
            tail = "\n" if end < len(text) else ""
            edits.append((heading_end, end, new.resolution + "\n" + tail))
    for start, end, replacement in sorted(edits, key=lambda edit: edit[0], reverse=True):
        text = text[:start] + replacement + text[end:]
    if added_resolution is not None:  # after the other body edits, where the sections now are
        text = _set_resolution(text, parse(text, document.path)[1], added_resolution)
    changes = _field_changes(old, new)
    if changes:
        text = frontmatter.splice(text, document.front, changes, document.path)
    return _denormalise(text, document)
