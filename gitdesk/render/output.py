"""The one output path: records out as a table, JSON or CSV.

Tables fit the terminal: identifiers, statuses and numbers are never cut;
a column marked ``shrink`` (a title) gives way first, and when the figures
alone are wider than the terminal each row becomes a short block instead.
Piped, a table is plain aligned text with nothing cut, for grep and awk.
JSON is an object with a ``schema`` version: indented on a terminal, compact
(and fast: the C encoder) when piped. CSV cells that a spreadsheet would run
as a formula are quoted.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import os
import re
import shutil
import sys
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import IO, Any

import click

from gitdesk.text import one_line, visible

GAP = "  "
INDENT = "    "
MIN_SHRUNK = 28  # a title cut shorter says too little ("Need access to the …" twice): it goes on a line of its own


def is_terminal() -> bool:
    return sys.stdout.isatty()


def notes_on_terminal() -> bool:
    return sys.stderr.isatty()


def width() -> int:
    return shutil.get_terminal_size((100, 24)).columns


def colour() -> bool:
    return is_terminal() and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"


def bold(text: str) -> str:
    return f"\x1b[1m{text}\x1b[0m" if colour() else text


def dim(text: str) -> str:
    return f"\x1b[2m{text}\x1b[0m" if colour() else text


# --- text width -----------------------------------------------------------------


def cells(text: str) -> int:
    """How many terminal columns ``text`` takes (wide East Asian characters take two)."""
    if text.isascii():
        return len(text)
    total = 0
    for char in text:
        if unicodedata.combining(char):
            continue
        total += 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1
    return total


def cut(text: str, room: int) -> str:
    """``text`` in at most ``room`` columns, with … where it was cut."""
    if cells(text) <= room:
        return text
    out, used = [], 0
    for char in text:
        size = cells(char)
        if used + size > room - 1:
            break
        out.append(char)
        used += size
    return "".join(out) + "…"


def wrap(text: str, width: int, first: str = "", later: str = "") -> list[str]:
    """``text`` wrapped to ``width`` terminal columns (wide characters count two), each line
    after ``first`` or ``later`` indentation. A word too long for a line gets one of its own,
    whole (an outbox file's name), unless it holds wide characters: CJK text has no spaces
    to wrap at, so it is broken between characters."""
    lines: list[str] = []
    line, used, words = first, cells(first), 0  # words: how many the line holds after its indent
    for word in text.split():
        size = cells(word)
        if size + (1 if words else 0) <= width - used:
            line, used, words = (f"{line} {word}" if words else line + word), used + size + (1 if words else 0), \
                words + 1
            continue
        if words:
            lines.append(line)
            line, used, words = later, cells(later), 0
        if size > width - used and any(unicodedata.east_asian_width(char) in ("W", "F") for char in word):
            for char in word:
                if used + cells(char) > width and words:
                    lines.append(line)
                    line, used, words = later, cells(later), 0
                line, used, words = line + char, used + cells(char), words + 1
            continue
        line, used, words = line + word, used + size, 1
    if words or not lines:
        lines.append(line)
    return lines


def pad(text: str, size: int, right: bool = False) -> str:
    space = " " * max(0, size - cells(text))
    return space + text if right else text + space


# --- tables ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Column:
    """A table column: its header, how a record shows in it, and how it gives way.

    ``fit``: ``keep`` is never cut (ids, statuses, numbers); ``shrink`` is cut to
    fit with … (titles; a terminal only); ``wrap`` goes whole under its row when it does
    not fit beside it (a reason); ``chart`` is dropped when there is no room."""

    header: str
    show: Callable[[Any], str]
    fit: str = "keep"
    right: bool = False
    spoken: str = ""  # how a cell reads where a row is listed as prose ("{}" is the value; see _blocks)


def table(columns: Sequence[Column], records: Sequence[Any]) -> None:
    """Records as an aligned table that fits the terminal (or plain text when piped)."""
    # Column by column: a listing has 100,000 cells, and each column is one comprehension.
    by_column = [[one_line(show(record)) for record in records] for show in (column.show for column in columns)]
    rows = list(zip(*by_column, strict=True)) if by_column else []
    headers = [column.header for column in columns]
    # Taller than the terminal (a list of 15,000 tickets): through the pager, as show is.
    page("\n".join(table_lines(columns, headers, rows, width() if is_terminal() else None)) + "\n")


def _widths(texts: Sequence[str]) -> list[int]:
    """Each text's width in columns; a column all in ASCII (most are) is measured by len alone."""
    if "".join(texts).isascii():
        return list(map(len, texts))
    return [cells(text) for text in texts]


def _natural(headers: Sequence[str], widths: Sequence[Sequence[int]]) -> list[int]:
    """Each column's width with nothing cut: its widest cell or its header."""
    return [max([cells(header), *widths[index]]) for index, header in enumerate(headers)]


def table_width(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> int:
    """A table's width with nothing cut or dropped: more than the room, and ``table_lines``
    gives way (a chart column is the first to go)."""
    natural = _natural(headers, [_widths([row[index] for row in rows]) for index in range(len(headers))])
    return sum(natural) + len(GAP) * (len(natural) - 1)


def table_lines(columns: Sequence[Column], headers: Sequence[str], rows: Sequence[Sequence[str]],
                room: int | None) -> list[str]:
    texts = [[row[index] for row in rows] for index in range(len(headers))]
    widths = [_widths(column) for column in texts]  # measured once
    natural = _natural(headers, widths)
    shown = list(range(len(columns)))

    def total(indexes: Sequence[int], sizes: Sequence[int]) -> int:
        return sum(sizes[index] for index in indexes) + len(GAP) * (len(indexes) - 1)

    sizes = list(natural)
    below: list[int] = []  # columns shown on a line of their own under each row
    if room is not None and total(shown, sizes) > room:
        shown = [index for index in shown if columns[index].fit != "chart"]
        wrapped = [index for index in shown if columns[index].fit == "wrap"]
        if wrapped and total(shown, sizes) > room:  # a reason read whole, under its row
            shown, below = [index for index in shown if index not in wrapped], wrapped
        fixed = [index for index in shown if columns[index].fit != "shrink"]
        flexible = [index for index in shown if columns[index].fit == "shrink"]
        spare = room - total(fixed, sizes) - len(GAP) * len(flexible)
        wanted = sum(natural[index] for index in flexible)
        if total(shown, sizes) <= room:
            pass
        elif flexible and spare >= MIN_SHRUNK * len(flexible):
            for index in flexible:  # titles give way, in proportion to their natural width
                sizes[index] = min(natural[index], max(MIN_SHRUNK, spare * natural[index] // max(1, wanted)))
        elif flexible and fixed and total(fixed, sizes) <= room:
            shown, below = fixed, flexible + below  # too narrow for a readable title beside the rest: put it under
        else:
            return _blocks(columns, headers, rows, room)
    last = shown[-1]
    laid_out = []
    for index in shown:
        size, right, alone = sizes[index], columns[index].right, index == last and not columns[index].right
        column, measured = texts[index], widths[index]
        if any(width > size for width in measured):
            column = [cut(text, size) if width > size else text for text, width in zip(column, measured, strict=True)]
            measured = _widths(column)
        if alone:
            laid_out.append(column)
        elif right:
            laid_out.append([" " * (size - width) + text for text, width in zip(column, measured, strict=True)])
        else:
            laid_out.append([text + " " * (size - width) for text, width in zip(column, measured, strict=True)])
    header = [cut(headers[index], sizes[index]) for index in shown]
    header = [text if index == last and not columns[index].right else
              pad(text, sizes[index], columns[index].right) for text, index in zip(header, shown, strict=True)]
    lines = [bold(GAP.join(header).rstrip())]
    joined = [GAP.join(parts).rstrip() for parts in zip(*laid_out, strict=True)]
    if room is None or not below:
        return lines + joined
    for line, row in zip(joined, rows, strict=True):
        if line.strip():  # a continuation row (the next change of one commit) has nothing beside it
            lines.append(line)
        # Wrapped, not cut: an ID or a reason at its end is what the reader needs.
        lines += [INDENT + part for index in below if row[index]
                  for part in wrap(row[index], room - len(INDENT), "", "")]
    return lines


def _blocks(columns: Sequence[Column], headers: Sequence[str], rows: Sequence[Sequence[str]],
            room: int) -> list[str]:
    """Rows too wide for the terminal as blocks: the first cell on its own line, then
    ``header value`` pairs wrapped to the width. Nothing is cut."""
    lines: list[str] = []
    # Rows with the same first cell as the row before share its heading (the comments of one
    # category), each then marked "-" so one ends where the next begins. No first cell: a
    # continuation of the row before (the next change of one commit).
    heads: list[str] = []  # each row's heading: its first cell, or its row's for a continuation
    for row in rows:
        heads.append(row[0] or (heads[-1] if heads else ""))
    starts = [index for index, row in enumerate(rows) if row[0] or not index]
    shared: set[int] = set()
    for _, run in itertools.groupby(starts, key=heads.__getitem__):
        following = list(run)
        if len(following) > 1:
            shared.update(following)
    marked = False
    for index, row in enumerate(rows):
        if row[0] or not index:
            if row[0] and (not index or row[0] != heads[index - 1]):
                lines.append(bold(row[0]))
            marked = index in shared
            start, indent = ("  - ", "    ") if marked else ("  ", "  ")
        else:  # a continuation: under its row, as that row's later lines
            start = indent = "    " if marked else "  "
        pairs = [columns[column].spoken.replace("{}", row[column]) if columns[column].spoken
                 else f"{headers[column]} {row[column]}" for column in range(1, len(columns))
                 if columns[column].fit != "chart" and row[column] not in ("", "-")]
        current, lead = "", start
        for pair in pairs:
            candidate = f"{current} · {pair}" if current else f"{lead}{pair}"
            if cells(candidate) > room and current:
                lines.append(current)
                lead = indent
                candidate = f"{lead}{pair}"
            if cells(candidate) > room:  # one pair longer than a line (a reason): wrapped, not run off
                lines += wrap(pair, room, lead, lead + "  ")
                lead, candidate = indent, ""
            current = candidate
        if current:
            lines.append(current)
    return lines


def bar(value: float, top: float, size: int = 20) -> str:
    """A horizontal bar in eighth blocks: a chart people read at a glance."""
    if top <= 0 or value <= 0:
        return ""
    eighths = max(1, round(value / top * size * 8))
    return "█" * (eighths // 8) + ("▏▎▍▌▋▊▉"[eighths % 8 - 1] if eighths % 8 else "")


# --- JSON and CSV -------------------------------------------------------------------


def write_json(data: Mapping[str, Any], output: io.TextIOBase | None = None) -> None:
    """An object with its schema version first; indented for people, compact for programs."""
    from gitdesk.records import SCHEMA  # here: hooks print through this module and need no records

    document = {"schema": SCHEMA, **data}
    pretty = output is None and is_terminal()
    text = json.dumps(document, ensure_ascii=False, indent=2 if pretty else None,
                      separators=None if pretty else (",", ":"))
    if output is None:
        click.echo(text)
    else:
        output.write(text + "\n")


def write_json_texts(key: str, texts: Sequence[str]) -> None:
    """Records already in compact JSON (a listing's, from the cache) under ``key``: joined
    as they are, not decoded and encoded again; on a terminal indented, as ``write_json``."""
    if is_terminal():
        write_json({key: [json.loads(text) for text in texts]})
        return
    from gitdesk.records import SCHEMA

    head = json.dumps({"schema": SCHEMA, key: []}, ensure_ascii=False, separators=(",", ":"))[:-3]
    click.echo(head + "[" + ",".join(texts) + "]}")


def csv_text(records: Sequence[Mapping[str, Any]], leading: Sequence[str] = ()) -> str:
    buffer = io.StringIO()
    write_csv(records, buffer, leading)
    return buffer.getvalue()


def write_csv(records: Sequence[Mapping[str, Any]], handle: io.TextIOBase | IO[str],
              leading: Sequence[str] = ()) -> None:
    """One row per record under a header of every key any record has, written as it goes.
    ``leading``: the columns every such file has, first and always (an empty result too), the
    others after them by name, so that a script's column 12 stays column 12 whatever one
    ticket holds (a cc, a custom field); without it, in the order the records give them."""
    columns: dict[str, None] = dict.fromkeys(leading)
    others: dict[str, None] = {}
    for record in records:
        others.update(dict.fromkeys(key for key in record if key not in columns))
    # The record's own parts ("timings.…") before the keys a ticket may or may not hold.
    columns.update(dict.fromkeys(sorted(others, key=lambda key: ("." not in key, key)) if leading else others))
    writer = csv.writer(handle, lineterminator="\n")
    # The header too: a custom field's name comes from a ticket file, and may be "=HYPERLINK(…)".
    writer.writerow([csv_cell(name) for name in columns])
    for record in records:
        writer.writerow([csv_cell(record.get(name)) for name in columns])


def stream_json(meta: Mapping[str, Any], key: str, records: Iterable[Mapping[str, Any]],
                handle: io.TextIOBase | IO[str]) -> None:
    """``write_json({**meta, key: records})`` for programs (compact), byte for byte, with each
    record encoded and written as it comes: none is held once written."""
    from gitdesk.records import SCHEMA

    head = json.dumps({"schema": SCHEMA, **meta, key: []}, ensure_ascii=False, separators=(",", ":"))
    handle.write(head[:-2])  # up to the list's "["
    encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    for number, record in enumerate(records):
        handle.write(("," if number else "") + encode(record))
    handle.write("]}\n")


_NUMBER = re.compile(r"^[+-]?\d+(\.\d+)?$")


def csv_cell(value: Any) -> Any:
    """A cell a spreadsheet shows as text: control characters written out (never data anyone
    wants), and a leading = + - @ tab or CR quoted so a hostile title is not run as a formula."""
    if value is None:
        return ""
    kind = type(value)
    if kind is int or kind is float:  # most cells, first: Mapping is an abstract class, slow to test
        return value
    if kind is not str and (isinstance(value, Mapping) or (
            isinstance(value, (list, tuple)) and any(isinstance(item, (Mapping, list, tuple)) for item in value))):
        value = json.dumps(value, ensure_ascii=False, default=str)  # as --format json has it, not Python's repr
    elif isinstance(value, (list, tuple)):
        value = "; ".join(map(str, value))
    if isinstance(value, bool):  # as JSON writes it, not Python's False
        return "true" if value else "false"
    if not isinstance(value, str):
        return value
    text = visible(value)
    if text[:1] in ("=", "+", "-", "@", "\t", "\r") and not _NUMBER.match(text):
        return "'" + text
    return text


# --- the one path -------------------------------------------------------------------


def emit(fmt: str, key: str, records: Sequence[Mapping[str, Any]], *, columns: Sequence[Column] = (),
         rows: Sequence[Any] | None = None, text: Callable[[], None] | None = None,
         meta: Mapping[str, Any] | None = None, flat: Callable[[Mapping[str, Any]], Mapping[str, Any]] | None = None,
         csv_columns: Sequence[str] = ()) -> None:
    """Records as JSON (``{"schema": …, **meta, key: records}``), CSV (one row per
    record, ``flat`` making each one value per column, ``csv_columns`` first and always) or a table of ``columns``
    over ``rows`` (the records themselves unless given); ``text`` replaces the table
    for views that are not tables (a ticket, a report)."""
    if fmt == "json":
        write_json({**(meta or {}), key: records})
    elif fmt == "csv":
        click.echo(csv_text([flat(record) if flat else record for record in records], csv_columns), nl=False)
    elif text is not None:
        text()
    else:
        table(columns, records if rows is None else rows)


# --- messages --------------------------------------------------------------------


def info(message: str, *, whole: bool = False) -> None:
    """A line for people on stdout: on a terminal, wrapped to its width like ``note``; ``whole``
    keeps it as it is (a list of paths, each to copy)."""
    click.echo(fitted(visible(message), width() if is_terminal() and not whole else 0))


def note(message: str) -> None:
    """A line for people on stderr, so piped output stays data; on a terminal, wrapped to its
    width (continued lines indented), so no summary runs past the edge."""
    click.echo(fitted(visible(message), _note_width() if notes_on_terminal() else 0), err=True)


def fitted(text: str, room: int) -> str:
    """``text`` wrapped to ``room`` columns, continued lines indented; as it is when ``room``
    is 0 (piped: one line to grep) or too narrow to wrap into."""
    if room < 40:
        return text
    return "\n".join(part for line in text.split("\n") for part in (
        wrap(line, room, _lead(line), _lead(line) + "  ") if cells(line) > room else [line]))


def _note_width() -> int:
    """The width of the terminal stderr writes to (stdout may be piped while stderr is not)."""
    if os.environ.get("COLUMNS", "").isdigit():
        return int(os.environ["COLUMNS"])
    try:
        return os.get_terminal_size(sys.stderr.fileno()).columns
    except (OSError, ValueError):
        return width()


def _lead(line: str) -> str:
    return line[:len(line) - len(line.lstrip(" "))]


def warnings(problems: Sequence[Any], most: int = 10) -> None:
    for problem in problems[:most]:
        note(f"gitdesk: warning: {problem}; skipped")
    if len(problems) > most:
        note(f"gitdesk: warning: and {len(problems) - most} more files skipped (gitdesk check lists them all)")


def rules_not_applied(problem: str | None) -> None:
    """The warning for a ticket event the desk's rules could not act on (``EventRules.problem``)."""
    if problem:
        note(f"gitdesk: warning: the desk's rules were not applied: {problem} (the ticket says so; "
             "gitdesk check --all names every problem in .gitdesk/rules.yml)")


def hook_messages(messages: Sequence[str]) -> None:
    """What a hook or a merge driver says, one line each, on stderr (Git shows it)."""
    room = _note_width() if notes_on_terminal() else 0  # git hands the hook the person's terminal
    for message in messages:
        click.echo(fitted(one_line(message), room), err=True)


def error(message: str) -> None:
    note(f"gitdesk: error: {message}")


def page(text: str) -> None:
    """Long text through a pager on a terminal (GITDESK_NO_PAGER turns it off)."""
    height = shutil.get_terminal_size().lines
    if is_terminal() and text.count("\n") > height - 2 and not os.environ.get("GITDESK_NO_PAGER"):
        # None lets click decide with the pager: it sets LESS=-R when LESS is unset, and strips
        # the colours for a pager that would show their codes raw; True would always keep them.
        click.echo_via_pager(text, color=None if colour() else False)
    else:
        click.echo(text, nl=False)
