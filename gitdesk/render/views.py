"""How each kind of result looks: a ticket list, one ticket, a report, search hits…

Every view hands its records to ``output.emit`` (JSON, CSV or a table) and
only writes its own text for what is not a table. Everything shown from a
ticket goes through ``one_line``/``visible``: ticket files are untrusted.
"""

from __future__ import annotations

import functools
import json
import os
import re
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Protocol

import click

from gitdesk import records, templates, ticketfile
from gitdesk.durations import HOURS_ONLY, format_age, format_duration
from gitdesk.errors import GitdeskError
from gitdesk.model import REQUESTER_NAME, WAITING
from gitdesk.render import output
from gitdesk.render.output import (
    Column,
    bar,
    bold,
    csv_text,
    dim,
    emit,
    note,
    page,
    stream_json,
    table_lines,
    width,
    write_csv,
    write_json,
)
from gitdesk.text import counted, one_line, visible

if TYPE_CHECKING:
    from gitdesk.actions import Outcome
    from gitdesk.cache.history import LogEntry
    from gitdesk.githooks.check import Finding
    from gitdesk.interop.importing import ImportResult
    from gitdesk.knowledge.kb import KbHit
    from gitdesk.knowledge.search import Hit, Suggestions
    from gitdesk.listing import Row
    from gitdesk.mail.delivery import DeliveryResult
    from gitdesk.mail.intake import IntakeResult
    from gitdesk.model import Entry, Ticket
    from gitdesk.reports.base import Report
    from gitdesk.rules.engine import Plan, RunReport
    from gitdesk.rules.spec import Rule
    from gitdesk.templates import Canned
    from gitdesk.timings import Due, Timings


def local_time(value: datetime, *, zone: bool = False) -> str:
    """``value`` in this machine's time zone; ``zone`` names that zone, once per view: the
    other times of a ticket read in it ("Europe/Berlin", not "CEST", which a winter time of
    the same view is not)."""
    local = value.astimezone()
    shown = local.strftime("%Y-%m-%d %H:%M")
    if not zone:
        return shown
    named = _zone_name()
    if named and _names(named, local):
        return f"{shown} {named}"
    abbreviation, offset = local.strftime("%Z"), local.utcoffset()
    if not named and abbreviation.isalpha() and not (abbreviation in ("UTC", "GMT") and offset):
        return f"{shown} {abbreviation}"
    return f"{shown} UTC{local.strftime('%z')[:3]}:{local.strftime('%z')[3:]}"  # TZ=UTC+3 is called "UTC"


@functools.lru_cache(maxsize=1)
def _zone_name() -> str | None:
    """The machine's zone as people name it (``TZ=Europe/Berlin``, a path into zoneinfo, or
    where /etc/localtime points), or None when it has no such name (``TZ=CET-1CEST,…``)."""
    given = os.environ.get("TZ")
    name = os.path.realpath("/etc/localtime") if given is None else given.lstrip(":")
    if "zoneinfo/" in name:
        name = name.split("zoneinfo/", 1)[1]
    name = name.removeprefix("posix/")
    if name.startswith("Etc/"):
        return None  # "Etc/GMT+3" is three hours behind: its offset says it plainly
    return name if re.fullmatch(r"[A-Za-z][A-Za-z0-9_+-]*(?:/[A-Za-z0-9_+-]+)+", name) else None


def _names(zone: str, local: datetime) -> bool:
    """Whether ``zone`` is a zone this machine knows and ``local`` reads in it: a mistyped
    TZ=Europe/Berln is UTC to the C library, and must not be labelled Berlin."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return local.astimezone(ZoneInfo(zone)).utcoffset() == local.utcoffset()
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return False


def _item(key: Any) -> Callable[[Any], str]:
    """A column's cell: item ``key`` of a row or record, shown."""
    return lambda row: field_text(row[key])


def field_text(value: Any) -> str:
    """A field's value in a table cell or a ticket's page: a list of words as ``a,b``; a
    custom field holding a mapping or nested list as the JSON ``--format json`` gives."""
    if value in (None, "", (), []):
        return "-"
    nested = isinstance(value, dict) or (isinstance(value, (list, tuple))
                                         and any(isinstance(item, (dict, list, tuple)) for item in value))
    if nested:
        return json.dumps(value, ensure_ascii=False, default=str)
    if isinstance(value, (list, tuple)):
        return ",".join(str(item) for item in value)
    return str(value)


# --- ticket lists --------------------------------------------------------------------


def ticket_list(tickets: Sequence[Ticket | Row], now: datetime, *, shown_ids: Mapping[str, str] | None = None,
                dues: Mapping[str, Due] | None = None, hide: Iterable[str] = ()) -> None:
    """``gitdesk list``: a table that fits (titles give way); ``ticket_records`` gives JSON/CSV.

    ``shown_ids`` abbreviates IDs on a terminal (unique prefixes, as Git shows hashes);
    ``hide`` drops columns a filter made the same on every row (``--queue``, ``--mine``);
    ``dues`` adds when each ticket's next target falls due (``--sort due``)."""
    ids = shown_ids or {}
    columns = [Column("ID", lambda t: ids.get(t.id, t.id)), Column("STATUS", lambda t: field_text(t.status)),
               Column("PRIORITY", lambda t: field_text(t.priority)), Column("QUEUE", lambda t: field_text(t.queue)),
               Column("ASSIGNEE", lambda t: field_text(t.assignee)),
               Column("AGE", lambda t: format_age((now - t.created).total_seconds()), right=True),
               Column("TITLE", lambda t: field_text(t.title), fit="shrink")]
    if dues is not None:
        columns.insert(-1, Column("DUE", lambda t: due_words(dues[t.id], now, short=True)))
    hidden = {name.upper() for name in hide}
    emit("table", "tickets", [], columns=[column for column in columns if column.header not in hidden], rows=tickets)
    if output.is_terminal():
        note(counted(len(tickets), "ticket"))


def ticket_records(texts: Sequence[str], fmt: str) -> None:
    """``gitdesk list --format json|csv`` from records kept as JSON text (``cache.listed``)."""
    if fmt == "json":
        output.write_json_texts("tickets", texts)
    else:
        emit(fmt, "tickets", [json.loads(text) for text in texts], flat=records.flat,
             csv_columns=records.LISTED_COLUMNS)


# --- one ticket ---------------------------------------------------------------------

_KINDS = {
    "note": ("INTERNAL NOTE", "33"),
    "question": ("QUESTION", "36"),
    "escalation": ("ESCALATION", "31"),
    "reply": ("reply", "32"),
    "reopen": ("REOPENED", "35"),
    "rejection": ("REJECTED", "35"),
    "time": ("TIME LOGGED", "2"),
}
# Plumbing that people do not need to read in the field list (it is in the JSON).
_PLUMBING = frozenset({"message_ids"})


def ticket_facts(ticket: Ticket, now: datetime, shown: Callable[[str], Any],
                 duplicates: Sequence[str] = ()) -> list[tuple[str, Any]]:
    """A ticket's fields as ``show`` and the web desk list them, each extra field's value made
    ``shown`` (a table cell, a page's text): the requester with the name mail knows them by,
    not the plumbing (the mail thread, the duplicates' bookkeeping, a name already shown).
    ``duplicates``: the tickets closed as duplicates of this one."""
    ago = format_age((now - ticket.created).total_seconds())
    known_name = templates.name_to_greet(ticket.extra.get(REQUESTER_NAME))
    facts: list[tuple[str, Any]] = [
        ("status", ticket.status), ("priority", ticket.priority), ("queue", ticket.queue),
        ("assignee", ticket.assignee or "unassigned"),
        ("requester", f"{known_name} <{ticket.requester}>" if known_name else ticket.requester),
        ("category", ticket.category), ("asset", ticket.asset),
        ("labels", ", ".join(ticket.labels) or None), ("duplicate of", ticket.duplicate_of),
        ("related", ", ".join(ticket.related) or None),
        ("duplicates", _duplicates(ticket, duplicates)),
        ("created", f"{local_time(ticket.created, zone=True)} ({'just now' if ago == 'now' else ago + ' ago'})"),
    ]
    return facts + [(key, shown(records.json_value(value))) for key, value in ticket.extra.items()
                    if key not in _PLUMBING and key != WAITING and not (key == REQUESTER_NAME and known_name)]


def _duplicates(ticket: Ticket, linked: Sequence[str]) -> str | None:
    """Every duplicate of the ticket, and what those that wait for its answer are told."""
    value = ticket.extra.get(WAITING)
    waiting = [str(item) for item in value] if isinstance(value, list) else []
    every = list(dict.fromkeys([*linked, *waiting]))
    if not every:
        return None
    if not waiting:
        return ", ".join(every)
    said = ", ".join(every) if every == waiting else f"{', '.join(every)}; waiting: {', '.join(waiting)}"
    if ticket.status == "rejected":  # no answer will come (docs/kb.md)
        return said + " (not told: answer them on their tickets)"
    if ticket.status in ("resolved", "closed"):  # solved by a rule, a hand edit or on another clone
        return said + " (not told yet: the next gitdesk rules run tells them, unless a rule finished it unsolved)"
    return said + " (told the answer when this is solved)"


def _paint(text: str, code: str) -> str:
    from gitdesk.render.output import colour

    return f"\x1b[1;{code}m{text}\x1b[0m" if colour() else text


_DUE_NAMES = {"first_response": "first response", "resolution": "resolution"}


def due_text(derived: Timings, now: datetime, *, short: bool = False) -> str:
    """When the next target falls due: ``first response due 2026-11-21 09:00 (in 3h)``, or overdue."""
    return due_words(derived.next_due_in, now, short=short)


def due_words(due: Due, now: datetime, *, short: bool = False) -> str:
    """``due_text`` of a target; ``short``: the DUE column's ``FR in 3h``."""
    if due is None:
        return "-" if short else ""
    # Time to the deadline on the ticket's clock (working time on a business desk, as the SLA
    # report counts "took" and targets), its two largest units rounded as every duration shown
    # ("late 6d22h", not "late 6d"); whole minutes, so a deadline this minute is "now".
    left = due.left(now)
    late = due.at <= now
    working = " working time" if due.calendar.business else ""
    if abs(left) >= 30:
        span = format_duration(round(abs(left) / 60) * 60, day=due.calendar.day_seconds)
        when = f"{span}{working} overdue" if late else f"in {span}{working}"
        short_when = f"late {span}" if late else f"in {span}"
    elif late and (now - due.at).total_seconds() >= 30:  # missed at closing time: no working time since
        when, short_when = "overdue, no working time since", "late"
    else:
        when, short_when = ("now overdue" if late else "in now"), ("late now" if late else "in now")
    if short:
        return f"{'FR' if due.kind == 'first_response' else 'RES'} {short_when}"
    return f"{_DUE_NAMES.get(due.kind, due.kind)} due {local_time(due.at)} ({when})"


def timing_lines(derived: Timings, now: datetime, status: str | None = None) -> list[tuple[str, str]]:
    """The timings ``show`` lists, as (name, text): first response, next target, waiting…
    (the web desk shows the same lines). ``status``: the ticket's, for one finished unanswered."""
    working = " working time" if derived.clock == "business" else ""

    def shown(seconds: float | None) -> str:
        return format_duration(seconds, day=derived.day)

    # Resolved before anyone replied: the resolution answered (it was mailed), and its target stopped there.
    unanswered = ("not known: imported without its replies" if derived.first_response_unknown else
                  "none: its resolution was the first answer" if derived.first_resolved_at else
                  f"none: {status} without a reply" if status in ("rejected", "closed") else "none yet")
    lines = [("first response", f"{shown(derived.first_response_seconds)}{working} after creation"
              + (f", by {derived.first_response_by}" if derived.first_response_by else "")
              if derived.first_response_at else unanswered)]
    due = due_text(derived, now)
    if due:
        lines.append(("next target", due))
    if derived.pending_seconds:  # a total: on an open ticket it is time the requester took, not a wait now
        lines.append(("waiting", f"{shown(derived.pending_seconds)}{working} on the requester so far")
                     if status == "pending" else
                     ("waited", f"{shown(derived.pending_seconds)}{working} on the requester in all"))
    if derived.resolved_at:
        since = " since the reopening" if derived.reopen_count and len(derived.resolutions) > 1 else ""
        lines.append(("resolved", f"{local_time(derived.resolved_at)}, "
                                  f"{shown(derived.resolution_seconds)}{working}{since} excluding waiting"
                      if derived.resolution_seconds is not None else
                      f"{local_time(derived.resolved_at)}: how long it took is not known "
                      f"({derived.resolution_unknown or 'a date is missing'})"))
    if derived.reopen_count:
        lines.append(("reopened", counted(derived.reopen_count, "time")))
    if derived.escalation_count:
        lines.append(("escalated", counted(derived.escalation_count, "time")))
    if derived.time_spent_seconds:
        lines.append(("time spent", format_duration(derived.time_spent_seconds, day=HOURS_ONLY)))
    return lines


def resolution_heading(derived: Timings | None) -> str:
    """What the resolution note is headed: reopened, the note still in the file answers no
    longer, and must not be read as the current answer (show and the web desk)."""
    if derived is not None and derived.first_resolved_at is not None and derived.resolved_at is None:
        return "Resolution (before it was reopened)"
    return "Resolution"


def ticket_detail(ticket: Ticket, now: datetime, fmt: str, derived: Timings | None = None,
                  solved: Suggestions | None = None, articles: Mapping[str, str | None] | None = None,
                  duplicates: Sequence[str] | None = None) -> None:
    """``gitdesk show``: the fields, the timings and the whole thread, internal parts marked;
    under an open ticket, what solved problems like it and their knowledge-base articles.
    ``duplicates``: the tickets closed as duplicates of it (None: not known, no index yet)."""
    articles = articles or {}
    found = solved.found if solved is not None else []
    if fmt == "json":
        write_json({"ticket": records.whole_ticket(ticket, derived), "duplicates": duplicates,
                    "solved_before": [{**item.as_record(), "article": articles.get(item.ticket.id)}
                                      for item in found],
                    # show ranks with the desk layer (it must stay instant), whatever the desk's model
                    "solved_before_layer": solved.layer if solved is not None else None,
                    "solved_before_threshold": solved.threshold if solved is not None else None})
        return
    room = width() if output.is_terminal() else None
    lines = [*_title_lines(visible(ticket.id), one_line(ticket.title), room), ""]
    facts = ticket_facts(ticket, now, field_text, duplicates or ())
    if derived is not None:
        facts += timing_lines(derived, now, ticket.status)
    for name, value in facts:
        if value:
            label, shown = f"{one_line(name) + ':':<15} ", one_line(str(value))  # a long name keeps its space
            if room is not None and len(label) == 16 and output.cells(shown) > room - 16 >= 20:  # lists of IDs, labels
                first, *rest = output.wrap(shown, room - 16)
                if max(output.cells(part) for part in (first, *rest)) > room - 16:
                    # One word too long to follow the label (a long address): whole, on a line of its own.
                    lines += [dim(label.rstrip()), *(("  " if output.cells(part) <= room - 2 else "") + part
                                                     for part in output.wrap(shown, room - 2))]
                else:
                    lines += [dim(label) + first, *(" " * 16 + part for part in rest)]
            else:
                lines.append(dim(label) + shown)
    lines += ["", _wrapped_text(ticket.description or "(no description)", room)]
    if ticket.conversation_text:
        lines += ["", _wrapped_text(ticket.conversation_text, room)]
    for entry in ticket.entries:
        lines += ["", _entry_heading(entry, room)]
        if entry.text:
            lines.append(_wrapped_text(entry.text, room))
    if ticket.resolution:
        heading = resolution_heading(derived)
        colour = "32" if heading == "Resolution" else "33"
        lines += ["", _paint(heading, colour), _wrapped_text(ticket.resolution, room)]
    if ticket.appendix:
        lines += ["", _wrapped_text(ticket.appendix, room)]
    if found:
        lines += ["", _paint("Solved before (what worked)", "32")]
        for item in found:
            lead, title = f"  {visible(item.ticket.id)}  {item.score:.2f}  ", one_line(item.ticket.title)
            lines += output.wrap(title, room, lead, " " * output.cells(lead)) if room else [lead + title]
            if item.resolution_line:
                worked = one_line(item.resolution_line)
                worked = worked if len(worked) <= 150 else worked[:150].rsplit(" ", 1)[0] + " …"
                lines += output.wrap(worked, room, "      → ", "        ") if room else [f"      → {worked}"]
            if articles.get(item.ticket.id):
                path = one_line(str(articles[item.ticket.id]))  # a path is never cut: less indent if need be
                indent = 6 if room is None or len(path) + 6 <= room else max(0, min(6, room - len(path)))
                lines.append(dim(" " * indent + path))
    page("\n".join(lines) + "\n")


def _wrapped_text(text: str, room: int | None) -> str:
    """Ticket text made visible and, on a terminal, wrapped at words to its width; code
    (fenced or indented) and tables keep their lines."""
    shown = visible(ticketfile.as_written(text))
    if room is None:
        return shown
    import textwrap

    out: list[str] = []
    fenced = False
    for line in shown.split("\n"):
        if line.lstrip().startswith(("```", "~~~")):
            fenced = not fenced
        keep = fenced or line.startswith(("    ", "\t", "|")) or len(line) <= room
        if keep:
            out.append(line)
            continue
        indent = line[:len(line) - len(line.lstrip())]
        bullet = indent + line.lstrip()[:2] if line.lstrip()[:2] in ("- ", "* ", "> ") else indent
        out += textwrap.wrap(line, width=room, subsequent_indent=" " * len(bullet), break_long_words=False,
                             break_on_hyphens=False) or [line]
    return "\n".join(out)


def entry_label(entry: Entry) -> str:
    """What kind of entry this is, as ``show`` names it (INTERNAL NOTE, QUESTION, ESCALATION…)."""
    label = _KINDS.get(entry.kind, (entry.kind, "1"))[0]
    return one_line(label + (f" {entry.detail}" if entry.detail else ""))


def _entry_heading(entry: Entry, room: int | None = None) -> str:
    label, code = _KINDS.get(entry.kind, (entry.kind, "1"))
    when, author = local_time(entry.at), one_line(entry.author)
    kind = one_line(label + (f" {entry.detail}" if entry.detail else ""))
    heading = f"── {dim(when)}  {author}  " + _paint(kind, code)
    if entry.internal:
        plain = f"── {when}  {author}  {kind}"
        long, short = "  (internal: not visible to the requester)", "  (internal)"
        if room is None or len(plain + long) <= room:
            heading += _paint(long, "33")
        elif len(plain + short) <= room or not label.startswith("INTERNAL"):
            heading += _paint(short, "33")
        # else: "INTERNAL NOTE rule first-response-missed" says it, and the line fits its terminal
    return heading


# --- actions ----------------------------------------------------------------------


def outcome(result: Outcome, fmt: str = "table", similar: Suggestions | None = None,
            similar_note: str | None = None) -> None:
    if fmt == "json":
        document: dict[str, Any] = {"action": result.verb, "id": result.ticket.id, "commit": result.commit,
                                    "changes": list(result.changes), "ticket": records.ticket_fields(result.ticket)}
        if similar is not None:
            document["similar"] = [item.as_record() for item in similar.found]
            document["similar_threshold"] = similar.threshold
            document["similar_layer"] = similar.layer
            document["similar_best"] = similar.best  # "nothing close enough" told from "nothing at all"
            if similar.warning:
                document["similar_warning"] = similar.warning
        write_json(document)
        return
    # Mail plumbing (the thread's Message-IDs) is in the commit message, not worth a reader's line here.
    shown = [one_line(line) for line in result.changes if not line.startswith("message_ids:")]
    head = f"Created {result.ticket.id}" if result.verb == "new" else f"{result.ticket.id}: {result.verb}"
    line = head + (f" ({'; '.join(shown)})" if shown else "") + f" [{result.commit[:7]}]"
    if output.is_terminal() and output.cells(line) > output.width():  # piped, it stays one line to grep
        click.echo("\n".join([f"{head} [{result.commit[:7]}]", *wrapped(shown, output.width())]))
    else:
        click.echo(line)
    if similar is not None and similar.found:  # with its warning, if any
        similar_tickets(similar, "table", "Similar resolved tickets (what worked before):")
        return
    if similar is not None and similar.best is not None:
        click.echo(nothing_similar(similar))
    elif similar_note:
        click.echo(similar_note)
    if similar is not None and similar.warning:
        note(f"gitdesk: warning: {similar.warning}; ranked without the model")


def _title_lines(ticket_id: str, title: str, room: int | None) -> list[str]:
    """``ID  title`` in bold; on a terminal too narrow for both, the title wraps under itself
    (or, narrower still, under the ID)."""
    indent = len(ticket_id) + 2
    if room is None or indent + output.cells(title) <= room:
        return [bold(ticket_id) + "  " + bold(title)]
    if room - indent < 20:
        return [bold(ticket_id), *(bold(part) for part in output.wrap(title, room))]
    parts = output.wrap(title, room - indent)
    return [bold(ticket_id) + "  " + bold(parts[0]), *(" " * indent + bold(part) for part in parts[1:])]


def wrapped(lines: Sequence[str], width: int) -> list[str]:
    """``lines`` indented under a heading and wrapped to ``width`` columns; a word longer than
    the room (an outbox file's name) gets a line of its own, never cut."""
    return [part for text in lines for part in output.wrap(text, width, output.GAP, output.INDENT)]


# --- finding -----------------------------------------------------------------------


def _highlighted(snippet: str, room: int | None = None) -> str:
    """A search snippet with its matches marked; in ``room`` columns, if given (the marks
    take none on a terminal)."""
    from gitdesk.knowledge.search import END, START

    clean = one_line(snippet.replace(START, "\x02").replace(END, "\x03"))  # markers survive one_line
    if not output.colour():  # the marks are text, and take room like text
        clean = clean.replace("\\x02", "**").replace("\\x03", "**")
        return clean if room is None else _fit(clean, room)
    if room is not None:
        clean = _cut_marked(clean, room)
    return clean.replace("\\x02", "\x1b[1;7m").replace("\\x03", "\x1b[0m")


def _cut_marked(text: str, room: int) -> str:
    """``text`` (with ``\\x02``/``\\x03`` marks around matches, which a terminal shows as
    colour, taking no room) in ``room`` columns, with … where it was cut and a mark left
    open closed."""
    plain = text.replace("\\x02", "").replace("\\x03", "")
    if output.cells(plain) <= room:
        return text
    kept: list[str] = []
    used, marked, at = 0, False, 0
    while at < len(text):
        mark = text[at:at + 4]
        if mark in ("\\x02", "\\x03"):
            kept.append(mark)
            marked, at = mark == "\\x02", at + 4
            continue
        width = output.cells(text[at])
        if used + width > room - 1:
            break
        kept.append(text[at])
        used, at = used + width, at + 1
    return "".join(kept) + ("\\x03" if marked else "") + "…"


def _found(count: int, more: bool, one: str, many: str) -> str:
    """'3 matches', or with ``more``: '20 matches; there are more (-n to show more)'."""
    return counted(count, one, many) + ("; there are more (-n to show more)" if more else "")


def search_hits(hits: Sequence[Hit], fmt: str, *, more: bool = False) -> None:
    def text() -> None:
        room = width() if output.is_terminal() else None
        for hit in hits:
            head = f"{hit.ticket.id}  {hit.ticket.status:<8}  {one_line(hit.ticket.title)}"
            where = "internal note" if hit.internal else hit.where
            click.echo(bold(head) if room is None else bold(_fit(head, room)))
            tail = f"  [{where}]"
            snippet = _highlighted(hit.snippet, None if room is None else max(10, room - 4 - output.cells(tail)))
            click.echo(f"    {snippet}" + dim(tail))
        if output.is_terminal() or not hits or more:  # piped: "0 matches", "there are more" on stderr
            note(_found(len(hits), more, "match", "matches"))

    emit(fmt, "hits", [hit.as_record() for hit in hits], text=text, csv_columns=records.HIT_COLUMNS,
         meta={"more": more})
    if fmt == "csv" and more:
        note(_found(len(hits), more, "match", "matches"))


def _fit(text: str, room: int) -> str:
    from gitdesk.render.output import cut

    return cut(text, room)


def nothing_similar(found: Suggestions) -> str:
    """The line that says no solved ticket is close enough (rather than offering an unrelated one)."""
    best = "" if found.best is None else f"best {found.best:.2f}, "
    return f"No solved ticket is similar enough ({best}threshold {found.threshold:.2f})."


def similar_tickets(found: Suggestions, fmt: str, heading: str | None = None) -> None:
    def text() -> None:
        if heading and found.found:
            click.echo(heading)
        room = width() if output.is_terminal() else None
        for item in found.found:
            head = f"  {item.ticket.id}  {item.ticket.status:<8}  {item.score:.2f}  "
            title = one_line(item.ticket.title)
            click.echo(head + (title if room is None else _fit(title, max(10, room - len(head)))))
            if item.resolution_line:
                line = f"      → {one_line(item.resolution_line)}"
                click.echo(_fit(line, 150 if room is None else room))
            if item.matched:  # why it is here: a near miss shows itself by sharing little
                line = f"      shares: {', '.join(one_line(word) for word in item.matched)}"
                click.echo(dim(_fit(line, 150 if room is None else room)))
        if not found.found:
            note(nothing_similar(found) if found.best is not None else "No solved ticket shares anything with it.")
        if found.warning:
            note(f"gitdesk: warning: {found.warning}; ranked without the model")

    emit(fmt, "similar", [item.as_record() for item in found.found], text=text, meta=found.meta())
    if fmt == "json" and found.warning:
        note(f"gitdesk: warning: {found.warning}; ranked without the model")


def kb_hits(hits: Sequence[KbHit], fmt: str, *, more: bool = False, query: str = "") -> None:
    def text() -> None:
        room = width() if output.is_terminal() else None
        for hit in hits:
            title = f"{one_line(hit.article.title)}  ({one_line(hit.article.category)})"
            click.echo(bold(title if room is None else _fit(title, room)))
            click.echo(f"    {hit.article.path}")  # whole, on its own line: a path is never cut
            click.echo(f"    {_highlighted(hit.snippet, None if room is None else max(10, room - 4))}")
        note(_found(len(hits), more, "article", "articles"))  # as search says "0 matches": nothing found is said
        if not hits and query:  # the words must match here; the problem told in other words is found there
            import shlex

            note(f"Solved tickets like it, in other words: gitdesk similar --text {shlex.quote(query)}")

    emit(fmt, "articles", [hit.as_record() for hit in hits], text=text, meta={"more": more})


# --- reports ----------------------------------------------------------------------


def report_record(built: Report) -> dict[str, Any]:
    return {
        "report": built.name, "title": built.title, "scope": built.scope or None,
        "period": {"since": records.json_value(built.period.since), "until": records.json_value(built.period.until),
                   "label": built.period.label},
        "findings": built.findings,
        "evidence": [list(ids) for ids in built.evidence],
        "sections": [{"key": s.key, "title": s.title,
                      "columns": [{"key": c.key, "label": c.label} for c in s.columns],
                      "rows": [{c.key: cell.as_json() for c, cell in zip(s.columns, row, strict=True)}
                               for row in s.rows]} for s in built.sections],
        "definitions": built.definitions,
        "source": built.source or None,
        "unreadable": built.unreadable,  # ticket files in no figure: they could not be read
    }


SHOWN_IDS = 6  # a finding's tickets shown after it on screen and in Markdown; JSON has them all


def _finding(text: str, ids: Sequence[str]) -> str:
    """A finding with the tickets behind it, unless the sentence names them all already."""
    missing = [ticket_id for ticket_id in ids if ticket_id not in text]
    if not missing:
        return text
    shown = ", ".join(ids[:SHOWN_IDS]) + (f" and {len(ids) - SHOWN_IDS} more" if len(ids) > SHOWN_IDS else "")
    return f"{text} [{shown}]"


def report(built: Report, fmt: str) -> None:
    if fmt == "json":
        write_json(report_record(built))
        return
    if fmt == "csv":  # one table: every section's columns, the ticket ids last
        rows: list[dict[str, Any]] = []
        keys: dict[str, None] = {"section": None}
        for section in built.sections:
            keys.update(dict.fromkeys(column.key for column in section.columns))
            for row in section.rows:
                line: dict[str, Any] = {"section": section.key}
                # None is an empty cell: "-" came out as "'-" (guarded against formulas), literally
                line.update({column.key: "" if cell.text == "-" else cell.text
                             for column, cell in zip(section.columns, row, strict=True)})
                line["ids"] = "; ".join(sorted({i for cell in row for i in cell.ids}))  # lists, as json.md says
                rows.append(line)
        click.echo(csv_text([{key: row.get(key) for key in [*keys, "ids"]} for row in rows]), nl=False)
        return
    if fmt == "md":
        click.echo("\n".join(_report_markdown(built)))
        return
    room = width() if output.is_terminal() else None
    lines = [bold(f"{built.title}: {built.period.label}" + (f" ({built.scope})" if built.scope else ""))]
    lines += [line for finding, ids in zip(built.findings, built.evidence, strict=True)
              for line in _wrapped(one_line(_finding(finding, ids)), "  • ", room)]
    for section in built.sections:
        lines += ["", bold(section.title)]
        if not section.rows:
            lines.append("  (none)")
            continue
        columns = [Column(column.label, _item(index), right=index > 0 and _numeric(section, index),
                          spoken=column.spoken) for index, column in enumerate(section.columns)]
        shown = [[one_line(cell.text) for cell in row] for row in section.rows]
        headers = [column.label for column in section.columns]
        if section.chart is not None:
            values = [row[section.chart].magnitude for row in section.rows]
            top = max(values, default=0)
            columns.append(Column("", lambda cells: cells[-1], fit="chart"))
            headers.append("")
            shown = [[*cells, bar(value, top)] for cells, value in zip(shown, values, strict=True)]
        lines += table_lines(columns, headers, shown, room)
        if section.chart is not None and room is not None and output.table_width(headers, shown) > room:
            lines += _chart_below(section, shown, room)  # the table had no room for its bars
    lines += ["", bold("Definitions")]
    lines += [line for item in built.definitions for line in _wrapped(item, "  - ", room)]
    if built.source:
        lines += [line for line in _wrapped(f"Source: {built.source}", "  ", room)]
    output.page("\n".join(lines) + "\n")  # taller than the terminal: the pager, as tables are


def _chart_below(section: Any, shown: Sequence[Sequence[str]], room: int) -> list[str]:
    """A report table's chart on lines of its own, when the table had no room for it: each
    row's name, its bar and its figure ("2026-W45  ████████▌  12"), so an 80-column terminal
    shows the chart a wide one shows beside the table."""
    index = section.chart
    names = [row[0] for row in shown]
    figures = [row[index] for row in shown]
    values = [row[index].magnitude for row in section.rows]
    figure_room = max(map(output.cells, figures), default=0)
    # A name (a period, an address) is cut only when a ten-cell bar would not fit beside it whole.
    name_room = max(min(max(map(output.cells, names), default=0), room - figure_room - 8 - 10), room // 3)
    size = max(5, min(30, room - name_room - figure_room - 8))
    top = max(values, default=0)
    lines = ["", f"  {section.columns[index].label}:"]
    for name, figure, value in zip(names, figures, values, strict=True):
        shown_name = output.cut(name, name_room) if output.cells(name) > name_room else name
        lines.append(f"  {output.pad(shown_name, name_room, False)}  {output.pad(bar(value, top, size), size, False)}"
                     f"  {figure}")
    return lines


def _wrapped(text: str, bullet: str, room: int | None) -> list[str]:
    """A paragraph under a bullet, wrapped to the terminal (one line when piped)."""
    if room is None:
        return [bullet + text]
    import textwrap

    return textwrap.wrap(text, width=max(40, room - 1), initial_indent=bullet, subsequent_indent=" " * len(bullet),
                         break_long_words=False, break_on_hyphens=False) or [bullet]


def _numeric(section: Any, index: int) -> bool:
    return all(row[index].kind in ("count", "number", "change") for row in section.rows)


def _report_markdown(built: Report) -> list[str]:
    lines = [f"# {built.title}", "", f"Period: {built.period.label}" + (f"; {built.scope}" if built.scope else ""), ""]
    if built.findings:
        lines += [f"- {visible(_finding(finding, ids))}" for finding, ids in zip(built.findings, built.evidence,
                                                                                   strict=True)] + [""]
    for section in built.sections:
        lines += [f"## {section.title}", ""]
        if not section.rows:
            lines += ["_None._", ""]
            continue
        lines.append("| " + " | ".join(column.label for column in section.columns) + " |")
        lines.append("| " + " | ".join("---" for _ in section.columns) + " |")
        for row in section.rows:
            lines.append("| " + " | ".join(one_line(cell.text).replace("|", "\\|") for cell in row) + " |")
        lines.append("")
    lines += ["## Definitions", ""] + [f"- {item}" for item in built.definitions]
    return lines + (["", f"Source: {built.source}"] if built.source else [])


# --- canned replies --------------------------------------------------------------


def canned_replies(found: Sequence[Canned], fmt: str) -> None:
    records_ = [{"name": item.name, "path": item.path, "first_line": item.first_line, "sets": dict(item.fields)}
                for item in found]
    columns = [Column("NAME", _item("name")),
               Column("SETS", lambda r: "; ".join(f"{k}: {field_text(v)}" for k, v in r["sets"].items()) or "-"),
               Column("FIRST LINE", _item("first_line"), fit="wrap")]  # whole: it is what a reply says
    emit(fmt, "replies", records_, columns=columns, flat=records.flat)
    if fmt == "table" and not found:
        note("No canned replies yet: write one in .gitdesk/replies/NAME.md (see docs/mail.md)")


# --- the audit log ----------------------------------------------------------------


def log_entries(entries: Sequence[LogEntry], fmt: str, *, with_ticket: bool,
                shown_ids: Mapping[str, str] | None = None) -> None:
    """``gitdesk log``; ``shown_ids`` abbreviates the IDs, as ``list`` does on a terminal,
    so that what happened has room at 80 columns."""
    from gitdesk.cache.history import record

    if fmt == "table" and not entries:  # a header over nothing reads as a broken table
        note("No changes.")
        return
    ids = shown_ids or {}
    rows: list[dict[str, str]] = []
    for entry in entries:
        # A mail thread's Message-IDs are plumbing: in the JSON, not in a reader's table.
        changes = [change for change in entry.changes if not change.startswith("message_ids:")] or entry.changes
        row = {"when": local_time(entry.time), "commit": entry.commit[:7], "who": entry.who,
               "ticket": ids.get(entry.ticket, entry.ticket) if entry.ticket else "", "what": "; ".join(changes)}
        if not output.is_terminal() or len(changes) < 2:
            rows.append(row)
            continue
        # On a terminal each change of a commit gets its own line, so none is cut to "queu…".
        rows.append({**row, "what": changes[0]})
        rows += [{"when": "", "commit": "", "who": "", "ticket": "", "what": change} for change in changes[1:]]
    columns = [Column("WHEN", lambda r: r["when"]), Column("COMMIT", lambda r: r["commit"]),
               Column("WHO", lambda r: r["who"])]
    if with_ticket:
        columns.append(Column("TICKET", lambda r: r["ticket"]))
    columns.append(Column("WHAT", lambda r: r["what"], fit="wrap"))  # an escalation's reason, a link's IDs: whole
    emit(fmt, "entries", [record(entry) for entry in entries], columns=columns, rows=rows,
         csv_columns=records.LOG_COLUMNS)


# --- mail out -------------------------------------------------------------------


def mail_send(result: DeliveryResult, fmt: str) -> None:
    """The run as a list of outbox files (all of them on a dry run, else what needs a look)."""
    records = [item.as_record() for item in result.items]
    counts = result.counts()
    meta = {"branch": result.branch, "upstream": result.upstream, "dry_run": result.dry_run,
            "commits": result.commits, "counts": counts}
    quiet = ("sent", "recorded")  # a table of a thousand "sent" rows says less than the count
    rows = records if result.dry_run or len(records) <= 20 else [r for r in records if r["outcome"] not in quiet]
    columns = (Column("FILE", lambda r: str(r["file"])), Column("OUTCOME", lambda r: str(r["outcome"])),
               Column("TICKET", lambda r: str(r["ticket"] or "-")),
               Column("TO", lambda r: ", ".join(map(str, r["to"])) or "-", fit="wrap"),
               Column("DETAIL", lambda r: str(r["detail"]), fit="wrap"))
    emit(fmt, "messages", records, columns=columns if rows else (), rows=rows,
         text=None if rows else (lambda: None), meta=meta)
    if fmt != "table":
        return
    shown = ", ".join(f"{number} {outcome}" for outcome, number in counts.items() if number) or "nothing queued"
    commits = f" [{', '.join(commit[:7] for commit in result.commits)}]" if result.commits else ""
    where = f"{result.branch}" + (f", coordinated through {result.upstream}" if result.upstream else "")
    if result.dry_run:
        note(f"Dry run on {where}: {shown}; nothing was sent or changed")
    else:
        note(f"Mail send on {where}: {shown}{commits}")


# --- rules ---------------------------------------------------------------------------


def rules_overview(rules: Sequence[Rule], plan: Plan, fmt: str) -> None:
    """Each rule: when it acts, what it does, what is due now and what comes next."""
    from gitdesk.clock import format_utc

    due: dict[str, list[str]] = {}
    for item in plan.due:
        due.setdefault(item.rule.name, []).append(item.ticket.id if item.ticket else "desk")
    held: dict[str, list[dict[str, str]]] = {}
    for item, why in plan.held:
        held.setdefault(item.rule.name, []).append({"ticket": item.ticket.id if item.ticket else "desk", "why": why})
    records: list[dict[str, Any]] = []
    for rule in rules:
        upcoming = plan.upcoming.get(rule.name)
        records.append({"name": rule.name, "when": rule.trigger.describe(), "if": rule.conditions.describe(),
                        "to": list(rule.to),
                        "do": [step.describe(None) for step in rule.steps], "line": rule.line,
                        "due_now": due.get(rule.name, []), "held": held.get(rule.name, []),
                        "next": None if upcoming is None else {"at": format_utc(upcoming.at),
                                                               "ticket": upcoming.ticket_id}})

    def next_of(record: Mapping[str, Any]) -> str:
        now, waiting = record["due_now"], record["held"]
        if now or waiting:
            return ", ".join(part for part in (
                (f"{len(now)} due now" if len(now) > 1 or now[0] != "desk" else "due now") if now else "",
                f"{len(waiting)} held back" if waiting else "") if part)
        upcoming = plan.upcoming.get(str(record["name"]))
        if upcoming is None or rule_is_event(record):
            return "on the event" if rule_is_event(record) else "nothing waiting"
        return desk_time(upcoming.at) + (f" {upcoming.ticket_id}" if upcoming.ticket_id else "")

    def desk_time(at: datetime) -> str:
        """In the desk's zone, named, when it is not this machine's: "every Monday at 07:00"
        next to a NEXT of 06:00 read as a mistake."""
        if plan.zone is None or at.astimezone(plan.zone).utcoffset() == at.astimezone().utcoffset():
            return local_time(at)
        return at.astimezone(plan.zone).strftime("%Y-%m-%d %H:%M %Z")

    def rule_is_event(record: Mapping[str, Any]) -> bool:
        return str(record["when"]).startswith("when a ticket")

    columns = (Column("RULE", lambda r: str(r["name"])),
               Column("WHEN", lambda r: str(r["when"]) + (f" if {r['if']}" if r["if"] else ""), fit="shrink"),
               # A step's own words (a resolve's message, a note) run to a paragraph: the table shows
               # their start, piped too (JSON has them whole), so NEXT stays in reach.
               Column("DO", lambda r: "; ".join(output.cut(step, STEP_WORDS) for step in r["do"]), fit="shrink"),
               Column("NEXT", next_of))

    def text() -> None:
        if not records:
            click.echo("No rules: write them in .gitdesk/rules.yml (docs/automations.md).")
            return
        output.table(columns, records)
        waiting = sum(len(r["due_now"]) for r in records)
        back = sum(len(r["held"]) for r in records)
        note(f"{counted(len(records), 'rule')}; {counted(waiting, 'action')} due now"
             + (f", {back} held back (the requester not asked, or the mail unsent or undeliverable)"
                if back else "")
             + ("; gitdesk rules run --dry-run shows them" if waiting or back else ""))

    emit(fmt, "rules", records, text=text)


STEP_WORDS = 48  # columns of a rule step the listing shows


def rules_run(report: RunReport, fmt: str) -> None:
    """What a run did (or would do): per rule, with ticket IDs."""
    from gitdesk.rules.engine import summary

    records = [item.as_record() for item in report.done]

    def outcome(record: Mapping[str, Any]) -> str:
        if record["error"]:
            return "failed"
        if record["skipped"]:
            return "skipped"
        return "would do" if report.dry_run else "done"

    def detail(record: Mapping[str, Any]) -> str:
        return str(record["error"] or record["skipped"] or "; ".join(record["what"]))

    columns = (Column("RULE", lambda r: str(r["rule"])), Column("TICKET", lambda r: str(r["ticket"] or "desk")),
               Column("OUTCOME", outcome), Column("WHAT", detail, fit="wrap"))

    def text() -> None:
        if records:
            output.table(columns, records)
        note(summary(report) + (" Nothing was changed." if report.dry_run else ""))

    emit(fmt, "actions", records, text=text,
         meta={"dry_run": report.dry_run, "unreadable": [str(problem) for problem in report.unreadable]})


# --- checks and hooks -------------------------------------------------------------


def findings(found: Sequence[Finding], fmt: str) -> None:
    """Check findings: one line each on stdout, a count on stderr; or JSON."""
    def text() -> None:
        room = output.width() if output.is_terminal() else 0
        for finding in found:
            click.echo(output.fitted(str(finding), room))  # one visible line each when piped
        note(f"gitdesk check: {counted(len(found), 'problem')}" if found else "gitdesk check: no problems found")

    emit(fmt, "problems", [finding.as_dict() for finding in found], text=text)


# --- intake, import, export --------------------------------------------------------

ROUTINE_SHOWN = 100  # more items than this: a terminal lists only the ones that need a look


def _batch(fmt: str, key: str, items: Sequence[Mapping[str, Any]], meta: Mapping[str, Any],
           columns: Sequence[tuple[str, str]], notable: Any, hidden: Any = None) -> bool:
    """Per-item outcomes of a batch; for a long one, the table shows only ``notable``
    items, and never ``hidden`` ones (counted in the summary, listed in JSON). True when the
    caller should print its summary line (table form)."""
    listed = [item for item in items if hidden is None or not hidden(item)]
    shown = [item for item in listed if len(listed) <= ROUTINE_SHOWN or notable(item)]
    table_columns = [Column(header, _item(name),
                            fit="wrap" if index == len(columns) - 1 else "keep")  # the detail is the point
                     for index, (name, header) in enumerate(columns)]
    emit(fmt, key, items, meta=meta, columns=table_columns, rows=shown if shown else None,
         text=(lambda: None) if not shown else None)
    return fmt == "table"


def _taken_before(item: Mapping[str, Any]) -> bool:
    return bool(item["outcome"] == "skipped" and item["detail"] == "already taken in")


def intake_result(result: IntakeResult, fmt: str) -> None:
    counts = result.counts()
    items = [item.as_record() for item in result.items]
    if _batch(fmt, "messages", items, {"source": result.source, "commits": result.commits, "counts": counts},
              (("position", "MESSAGE"), ("outcome", "OUTCOME"), ("ticket", "TICKET"), ("from", "FROM"),
               ("detail", "DETAIL")), lambda r: r["outcome"] in ("skipped", "failed"), hidden=_taken_before):
        commits = f" [{', '.join(c[:7] for c in result.commits)}]" if result.commits else ""
        before = sum(1 for item in items if _taken_before(item))  # a mailbox that keeps its mail: every run
        said = [text for number, text in (
            (counts["new"], counted(counts["new"], "new ticket")),
            (counts["reply"], counted(counts["reply"], "reply", "replies")),
            (counts["feedback"], f"{counts['feedback']} feedback"),
            (counts["bounce"], counted(counts["bounce"], "bounce")),
            (counts["skipped"] - before, f"{counts['skipped'] - before} skipped"),
            (before, f"{before} taken in before"), (counts["failed"], f"{counts['failed']} not taken in"))
            if number]  # only what happened: the line fits 80 columns
        note(f"Intake from {result.source}: {', '.join(said) or 'no messages'}{commits}")


def import_result(result: ImportResult, fmt: str) -> None:
    items = [item.as_record() for item in result.items]
    meta = {"source": result.source, "commit": result.commit, "commits": result.commits,
            "counts": {"imported": result.count("imported"), "skipped": result.count("skipped")}}
    if _batch(fmt, "items", items, meta, (("position", "ITEM"), ("outcome", "OUTCOME"), ("ticket", "TICKET"),
                                          ("detail", "DETAIL")),
              lambda r: r["outcome"] == "skipped" or "; " in str(r["detail"])):
        where = f" in {counted(result.commits, 'commit')} [{result.commit[:7]}]" if result.commit else ""
        note(f"Import from {result.source}: {counted(result.count('imported'), 'ticket')} imported{where}, "
             f"{result.count('skipped')} skipped")


class Records(Protocol):
    """Records counted up front and made one by one as they are read (``export.Tickets``)."""

    def __len__(self) -> int: ...

    def __iter__(self) -> Iterator[Mapping[str, Any]]: ...


def export(found: Records, kind: str, target: Path | None, exported_at: str,
           scores: Sequence[Mapping[str, Any]] = (), left_out: Sequence[str] = ()) -> None:
    """``gitdesk export``: every ticket's whole record (and in JSON, every score), to standard
    output or a file, each record written as it is made. CSV is one row per ticket: feedback
    has no place in it. ``left_out``: the files that could not be read (``--skip-unreadable``)."""
    meta = {"exported_at": exported_at, "left_out": list(left_out), "feedback": list(scores)}
    if target is None:
        if kind == "json" and output.is_terminal():  # indented for people to read
            write_json({**meta, "tickets": list(found)})
        else:
            _export_to(sys.stdout, kind, found, meta)
        return
    try:
        with open(target, "w", encoding="utf-8", newline="") as handle:
            _export_to(handle, kind, found, meta)
    except OSError as error:
        raise GitdeskError(f"cannot write {target}: {error.strerror or error}",
                           hint="give a file in a folder that exists and you may write to") from None
    note(f"Exported {counted(len(found), 'ticket')} to {target}")


def _export_to(handle: IO[str], kind: str, found: Iterable[Mapping[str, Any]], meta: Mapping[str, Any]) -> None:
    if kind == "json":
        stream_json(meta, "tickets", found, handle)
    else:  # the header needs every record's columns first: the flat rows are kept, not the records
        write_csv([records.flat(record) for record in found], handle, records.EXPORT_COLUMNS)
