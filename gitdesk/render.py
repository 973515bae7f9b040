"""Every print, table and colour gitdesk makes.

On a terminal: ``rich`` tables that fit the width, colour (off with
``NO_COLOR``), long output through a pager. Piped: plain aligned text
without colour or truncation, so ``grep`` and ``awk`` work. ``json`` and
``csv`` are stable contracts for scripts: front-matter keys plus ``path``.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

import click

from gitdesk.text import counted, one_line, visible

if TYPE_CHECKING:
    from rich.console import Console

    from gitdesk.actions import Outcome
    from gitdesk.cache.history import LogEntry
    from gitdesk.errors import GitdeskError
    from gitdesk.interop.importing import ImportResult
    from gitdesk.knowledge.kb import KbHit
    from gitdesk.knowledge.search import Hit, Similar
    from gitdesk.mail.intake import IntakeResult
    from gitdesk.model import Config, Entry, Ticket
    from gitdesk.reports.base import Report
    from gitdesk.timings import Timings

FORMATS = ("table", "json", "csv")


def is_terminal() -> bool:
    return sys.stdout.isatty()


def _console(*, width: int | None = None) -> Console:
    from rich.console import Console

    return Console(highlight=False, soft_wrap=False, width=width)


# --- values -------------------------------------------------------------------


def json_value(value: Any) -> Any:
    from gitdesk.clock import format_utc

    if isinstance(value, datetime):
        return format_utc(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, timedelta):
        return int(value.total_seconds())
    if isinstance(value, (list, tuple)):
        return [json_value(item) for item in value]
    if isinstance(value, Mapping):
        return {str(key): json_value(item) for key, item in value.items()}
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def ticket_record(ticket: Ticket, path: str) -> dict[str, Any]:
    record = {key: json_value(value) for key, value in ticket.front_matter().items()}
    record["path"] = path
    return record


def local_time(value: datetime) -> str:
    return value.astimezone().strftime("%Y-%m-%d %H:%M")


def age(value: datetime, now: datetime) -> str:
    seconds = max(0, int((now - value).total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return "now"


def _ago(value: datetime, now: datetime) -> str:
    text = age(value, now)
    return "just now" if text == "now" else f"{text} ago"


def _cell(value: Any) -> str:
    if value in (None, "", (), []):
        return "-"
    if isinstance(value, (list, tuple)):
        return one_line(",".join(str(item) for item in value))
    return one_line(str(value))


# --- listings -----------------------------------------------------------------

LIST_COLUMNS = ("id", "status", "priority", "queue", "assignee", "age", "title")


def ticket_list(tickets: Sequence[Ticket], fmt: str, now: datetime, all_ids: Iterable[str] = (),
                timings: Mapping[str, Timings] | None = None) -> None:
    from gitdesk.paths import TICKETS

    if fmt in ("json", "csv"):
        records = [ticket_record(ticket, f"{TICKETS}/{ticket.id}.md") for ticket in tickets]
        if timings is not None:
            for record, ticket in zip(records, tickets, strict=True):
                derived = timings[ticket.id].as_dict()
                if fmt == "json":
                    record["timings"] = derived
                else:  # CSV stays flat: the figures, without the list of time entries
                    record.update({f"timings.{key}": value for key, value in derived.items()
                                   if key != "time_entries"})
        if fmt == "json":
            click.echo(json.dumps(records, ensure_ascii=False, indent=2))
        else:
            write_csv(records)
        return
    shown = {ticket.id: ticket.id for ticket in tickets}
    if is_terminal():  # abbreviated like Git's hashes; piped output keeps whole IDs
        from gitdesk.ids import abbreviations

        shown = abbreviations([*all_ids, *shown])
    rows = [[_cell(shown[ticket.id]), _cell(ticket.status), _cell(ticket.priority), _cell(ticket.queue),
             _cell(ticket.assignee), age(ticket.created, now), _cell(ticket.title)] for ticket in tickets]
    # (every cell goes through _cell: a hand-edited file can put anything in any field)
    table([c.upper() for c in LIST_COLUMNS], rows, flexible=len(LIST_COLUMNS) - 1)
    if is_terminal():
        click.echo(counted(len(tickets), "ticket"), err=True)


def write_csv(records: Sequence[Mapping[str, Any]]) -> None:
    click.echo(csv_text(records), nl=False)


def csv_text(records: Sequence[Mapping[str, Any]]) -> str:
    columns: dict[str, None] = {}
    for record in records:
        columns.update(dict.fromkeys(record))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(columns), lineterminator="\n")
    writer.writeheader()
    for record in records:
        writer.writerow({key: _csv_cell(value) for key, value in record.items()})
    return buffer.getvalue()


_NUMBER = re.compile(r"^[+-]?\d+(\.\d+)?$")


def _csv_cell(value: Any) -> Any:
    """A cell a spreadsheet shows as text: control characters written out (never data anyone
    wants), and a leading = + - @ tab or CR quoted so a hostile title is not run as a formula."""
    if value is None:
        return ""
    if isinstance(value, list):
        value = "; ".join(map(str, value))
    if not isinstance(value, str):
        return value
    text = visible(value)
    if text[:1] in ("=", "+", "-", "@", "\t", "\r") and not _NUMBER.match(text):
        return "'" + text
    return text


def table(headers: Sequence[str], rows: Sequence[Sequence[str]], *, flexible: int) -> None:
    """A table: rich on a terminal (column ``flexible`` is truncated to fit), plain when piped."""
    if not is_terminal():
        widths = [max([len(h)] + [len(row[i]) for row in rows]) for i, h in enumerate(headers)]
        last = len(headers) - 1
        lines = ["  ".join([*(cell.ljust(widths[i]) for i, cell in enumerate(line[:last])), *line[last:]]).rstrip()
                 for line in [list(headers), *rows]]
        click.echo("\n".join(lines))  # one write: a listing of 10,000 rows is not 10,000 calls
        return
    from rich import box
    from rich.table import Table
    from rich.text import Text

    console = _console()
    natural = [max([len(header)] + [len(row[index]) for row in rows]) for index, header in enumerate(headers)]
    # SIMPLE_HEAD puts three characters between columns (padding, an invisible rule, padding).
    spare = console.width - sum(w for i, w in enumerate(natural) if i != flexible) - 3 * (len(headers) - 1)
    room = max(10, spare)  # every column but ``flexible`` keeps its full width; that one gives way
    grid = Table(box=box.SIMPLE_HEAD, pad_edge=False, header_style="bold", show_edge=False)
    for header in headers:
        grid.add_column(header, no_wrap=True)
    for row in rows:
        cells = [cell if index != flexible or len(cell) <= room else cell[: room - 1] + "…"
                 for index, cell in enumerate(row)]
        grid.add_row(*[Text(cell) for cell in cells])
    console.print(grid)


# --- one ticket -----------------------------------------------------------------

_KIND_STYLE = {
    "note": ("INTERNAL NOTE", "bold yellow"),
    "question": ("QUESTION", "bold cyan"),
    "escalation": ("ESCALATION", "bold red"),
    "reply": ("reply", "bold green"),
    "reopen": ("REOPENED", "bold magenta"),
    "rejection": ("REJECTED", "bold magenta"),
    "time": ("time logged", "dim"),
}


def duration(seconds: int | None) -> str:
    """45m, 3h10m, 2d4h: short, for people."""
    if seconds is None:
        return "-"
    minutes = seconds // 60
    days, minutes = divmod(minutes, 1440)
    hours, minutes = divmod(minutes, 60)
    if days:
        return f"{days}d{hours}h" if hours else f"{days}d"
    if hours:
        return f"{hours}h{minutes:02d}m" if minutes else f"{hours}h"
    return f"{minutes}m" if minutes or seconds >= 60 else f"{seconds}s"


def _timing_lines(derived: Timings) -> list[tuple[str, str]]:
    lines = [("first response", f"{duration(derived.first_response_seconds)} after creation"
              if derived.first_response_at else "none yet")]
    if derived.pending_seconds:
        lines.append(("waiting", f"{duration(derived.pending_seconds)} on the requester"))
    if derived.resolved_at:
        lines.append(("resolved", f"{local_time(derived.resolved_at)}, "
                                  f"{duration(derived.resolution_seconds)} excluding waiting"))
    if derived.reopen_count:
        lines.append(("reopened", counted(derived.reopen_count, "time")))
    if derived.escalation_count:
        lines.append(("escalated", counted(derived.escalation_count, "time")))
    if derived.time_spent_seconds:
        lines.append(("time spent", duration(derived.time_spent_seconds)))
    return lines


def ticket_detail(ticket: Ticket, config: Config, path: str, now: datetime, fmt: str = "table",
                  derived: Timings | None = None) -> None:
    if fmt == "json":
        record = ticket_record(ticket, path)
        if derived is not None:
            record["timings"] = derived.as_dict()
        record["description"] = ticket.description
        record["conversation"] = [
            {"at": json_value(e.at), "author": e.author, "kind": e.kind, "detail": e.detail,
             "internal": e.internal, "text": e.text} for e in ticket.entries
        ]
        record["resolution"] = ticket.resolution
        record["conversation_text"] = ticket.conversation_text
        click.echo(json.dumps(record, ensure_ascii=False, indent=2))
        return
    from rich.text import Text

    out = Text()
    out.append(visible(ticket.id), "bold")
    out.append("  ")
    out.append(one_line(ticket.title) + "\n", "bold")
    facts = [
        ("status", ticket.status), ("priority", ticket.priority), ("queue", ticket.queue),
        ("assignee", ticket.assignee or "unassigned"), ("requester", ticket.requester),
        ("category", ticket.category), ("asset", ticket.asset),
        ("labels", ", ".join(ticket.labels) or None), ("duplicate of", ticket.duplicate_of),
        ("related", ", ".join(ticket.related) or None),
        ("created", f"{local_time(ticket.created)} ({_ago(ticket.created, now)})"),
    ]
    facts += [(key, _cell(json_value(value))) for key, value in ticket.extra.items()]
    if derived is not None:
        facts += _timing_lines(derived)
    for name, value in facts:
        if value:
            out.append(f"{one_line(name) + ':':<16}", "dim")
            out.append(f"{one_line(str(value))}\n")
    out.append("\n")
    out.append(visible(ticket.description or "(no description)") + "\n")
    if ticket.conversation_text:
        out.append("\n")
        out.append(visible(ticket.conversation_text) + "\n")
    for entry in ticket.entries:
        out.append("\n")
        out.append_text(_entry_heading(entry))
        if entry.text:
            out.append(visible(entry.text) + "\n")
    if ticket.resolution:
        out.append("\nResolution\n", "bold green")
        out.append(visible(ticket.resolution) + "\n")
    _emit(out)


def _entry_heading(entry: Entry) -> Any:
    from rich.text import Text

    label, style = _KIND_STYLE.get(entry.kind, (entry.kind, "bold"))
    heading = Text("── ")
    heading.append(local_time(entry.at), "dim")
    heading.append(f"  {one_line(entry.author)}  ")
    heading.append(one_line(label + (f" {entry.detail}" if entry.detail else "")), style)
    if entry.internal and entry.kind != "time":
        heading.append("  (internal: not visible to the requester)", "yellow")
    heading.append("\n")
    return heading


def _emit(text: Any) -> None:
    """Print rich Text; through a pager on a terminal when taller than the screen."""
    if not is_terminal():
        click.echo(text.plain, nl=False)
        return
    console = _console()
    with console.capture() as capture:
        console.print(text, end="")
    rendered = capture.get()
    height = shutil.get_terminal_size().lines
    if rendered.count("\n") > height - 2 and not os.environ.get("GITDESK_NO_PAGER"):
        click.echo_via_pager(rendered, color=not os.environ.get("NO_COLOR"))
    else:
        click.echo(rendered, nl=False)


# --- search -------------------------------------------------------------------------


def _marked(snippet: str, bold: bool) -> Any:
    """A snippet with its highlight markers as bold text (terminal) or **markdown** (elsewhere)."""
    from gitdesk.knowledge.search import END, START

    clean = one_line(snippet.replace(START, "\x02").replace(END, "\x03"))  # markers survive `visible`
    if not bold:
        return clean.replace("\\x02", "**").replace("\\x03", "**")
    from rich.text import Text

    text = Text()
    for index, part in enumerate(re.split(r"\\x0[23]", clean)):
        text.append(part, "bold reverse" if index % 2 else "")
    return text


def search_hits(hits: Sequence[Hit], fmt: str) -> None:
    if fmt in ("json", "csv"):
        records = [{"id": hit.ticket.id, "status": hit.ticket.status, "title": hit.ticket.title,
                    "score": round(hit.score, 4), "where": hit.where, "internal": hit.internal,
                    "snippet": _marked(hit.snippet, False), "path": f"tickets/{hit.ticket.id}.md"} for hit in hits]
        if fmt == "json":
            click.echo(json.dumps(records, ensure_ascii=False, indent=2))
        else:
            write_csv(records)
        return
    terminal = is_terminal()
    console = _console() if terminal else None
    for hit in hits:
        head = f"{hit.ticket.id}  {hit.ticket.status:<8}  {one_line(hit.ticket.title)}"
        where = "internal note" if hit.internal else hit.where
        if console is not None:
            from rich.text import Text

            line = Text("    ")
            line.append_text(_marked(hit.snippet, True))
            line.append(f"  [{where}]", "yellow" if hit.internal else "dim")
            console.print(Text(head, "bold"), soft_wrap=False, overflow="ellipsis", no_wrap=True)
            console.print(line, overflow="ellipsis", no_wrap=True)
        else:
            click.echo(head)
            click.echo(f"    {_marked(hit.snippet, False)}  [{where}]")
    if terminal:
        click.echo(counted(len(hits), "match", "matches"), err=True)


def kb_hits(hits: Sequence[KbHit], fmt: str) -> None:
    if fmt == "json":
        click.echo(json.dumps([{"title": hit.article.title, "path": hit.article.path, "category": hit.article.category,
                                "tickets": [t.id for t in hit.article.tickets], "score": round(hit.score, 4),
                                "snippet": _marked(hit.snippet, False)} for hit in hits], ensure_ascii=False, indent=2))
        return
    for hit in hits:
        click.echo(f"{one_line(hit.article.title)}  ({hit.article.category})")
        click.echo(f"    {hit.article.path}")
        click.echo(f"    {_marked(hit.snippet, False)}")


def similar_tickets(found: Sequence[Similar], fmt: str, heading: str | None = None) -> None:
    if fmt == "json":
        click.echo(json.dumps([similar_record(item) for item in found], ensure_ascii=False, indent=2))
        return
    if heading and found:
        click.echo(heading)
    for item in found:
        click.echo(f"  {item.ticket.id}  {item.ticket.status:<8}  {one_line(item.ticket.title)}")
        if item.resolution_line:
            click.echo(f"      → {one_line(item.resolution_line)[:150]}")


def similar_record(item: Similar) -> dict[str, Any]:
    return {"id": item.ticket.id, "title": item.ticket.title, "status": item.ticket.status,
            "score": round(item.score, 4), "resolution": item.resolution_line, "path": f"tickets/{item.ticket.id}.md"}


# --- reports ------------------------------------------------------------------------


def report(built: Report, fmt: str) -> None:
    if fmt == "json":
        click.echo(json.dumps({
            "report": built.name, "title": built.title, "scope": built.scope or None,
            "period": {"since": json_value(built.period.since), "until": json_value(built.period.until)},
            "sections": [{"title": s.title, "columns": s.columns,
                          "rows": [{column: cell.as_json() for column, cell in zip(s.columns, row, strict=True)}
                                   for row in s.rows]} for s in built.sections],
            "findings": built.findings, "definitions": built.definitions,
        }, ensure_ascii=False, indent=2))
        return
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        for section in built.sections:
            writer.writerow(["section", *section.columns, "ids"])
            for row in section.rows:
                ids = sorted({i for cell in row for i in cell.ids})
                writer.writerow([section.title, *[visible(cell.text) for cell in row], " ".join(ids)])
        click.echo(buffer.getvalue(), nl=False)
        return
    if fmt == "md":
        lines = [f"# {built.title}", "", f"Period: {built.period.label}" + (f"; {built.scope}" if built.scope else ""),
                 ""]
        if built.findings:
            lines += [f"- {visible(finding)}" for finding in built.findings] + [""]
        for section in built.sections:
            lines += [f"## {section.title}", ""]
            if not section.rows:
                lines += ["_None._", ""]
                continue
            lines.append("| " + " | ".join(section.columns) + " |")
            lines.append("| " + " | ".join("---" for _ in section.columns) + " |")
            for row in section.rows:
                lines.append("| " + " | ".join(one_line(cell.text).replace("|", "\\|") for cell in row) + " |")
            lines.append("")
        lines += ["## Definitions", ""] + [f"- {item}" for item in built.definitions]
        click.echo("\n".join(lines))
        return
    click.echo(f"{built.title}: {built.period.label}" + (f" ({built.scope})" if built.scope else ""))
    for finding in built.findings:
        click.echo(f"  • {one_line(finding)}")
    for section in built.sections:
        click.echo("")
        click.echo(section.title)
        if not section.rows:
            click.echo("  (none)")
            continue
        headers = list(section.columns)
        rows = [[one_line(cell.text) for cell in row] for row in section.rows]
        if section.chart is not None:
            values = [row[section.chart].value if isinstance(row[section.chart].value, (int, float)) else 0
                      for row in section.rows]
            top = max(values) if values else 0
            headers.append("")
            for cells, value in zip(rows, values, strict=True):
                cells.append(bar(value, top))
        table(headers, rows, flexible=len(headers) - 1)
    click.echo("")
    click.echo("Definitions")
    for item in built.definitions:
        click.echo(f"  - {item}")


def bar(value: float, top: float, width: int = 20) -> str:
    """A horizontal bar in eighth blocks: charts people read at a glance in a terminal."""
    if top <= 0 or value <= 0:
        return ""
    eighths = max(1, round(value / top * width * 8))
    return "█" * (eighths // 8) + ("▏▎▍▌▋▊▉"[eighths % 8 - 1] if eighths % 8 else "")


# --- the audit log ----------------------------------------------------------------


def log_entries(entries: Sequence[LogEntry], fmt: str, *, with_ticket: bool) -> None:
    if fmt in ("json", "csv"):
        records = [{"commit": e.commit, "time": json_value(e.time), "who": e.who, "author": e.author,
                    "action": e.action, "ticket": e.ticket, "changes": list(e.changes)} for e in entries]
        if fmt == "json":
            click.echo(json.dumps(records, ensure_ascii=False, indent=2))
        else:
            write_csv(records)
        return
    headers = ["WHEN", "COMMIT", "WHO"] + (["TICKET"] if with_ticket else []) + ["WHAT"]
    rows = []
    for entry in entries:
        row = [local_time(entry.time), entry.commit[:7], one_line(entry.who)]
        if with_ticket:
            row.append(entry.ticket)
        row.append(one_line("; ".join(entry.changes)))
        rows.append(row)
    table(headers, rows, flexible=len(headers) - 1)


# --- actions ------------------------------------------------------------------


def outcome(result: Outcome, fmt: str = "table", similar: Sequence[Similar] | None = None) -> None:
    if fmt == "json":
        record: dict[str, Any] = {
            "action": result.verb, "id": result.ticket.id, "commit": result.commit,
            "changes": list(result.changes), "ticket": ticket_record(result.ticket, result.path),
        }
        if similar is not None:
            record["similar"] = [similar_record(item) for item in similar]
        click.echo(json.dumps(record, ensure_ascii=False, indent=2))
        return
    summary = one_line("; ".join(result.changes))
    head = f"Created {result.ticket.id}" if result.verb == "new" else f"{result.ticket.id}: {result.verb}"
    click.echo(f"{head}" + (f" ({summary})" if summary else "") + f" [{result.commit[:7]}]")
    if similar:
        similar_tickets(similar, "table", "Similar resolved tickets (what worked before):")


def findings(found: Sequence[Any], fmt: str) -> None:
    """Check findings: one line each on stdout, a count on stderr; or JSON."""
    if fmt == "json":
        click.echo(json.dumps([finding.as_dict() for finding in found], ensure_ascii=False, indent=2))
        return
    for finding in found:
        click.echo(str(finding))  # Finding.__str__ is already one visible line
    if found:
        click.echo(f"gitdesk check: {counted(len(found), 'problem')}", err=True)


def hook_messages(messages: Iterable[str]) -> None:
    for message in messages:
        click.echo(one_line(message), err=True)


def warnings(problems: Iterable[GitdeskError], most: int = 10) -> None:
    listed = list(problems)
    for problem in listed[:most]:
        click.echo(f"gitdesk: warning: {problem}; skipped", err=True)
    if len(listed) > most:
        click.echo(f"gitdesk: warning: and {len(listed) - most} more files skipped (gitdesk check lists them all)",
                   err=True)


# --- intake, import -----------------------------------------------------------

ROUTINE_SHOWN = 100  # more messages than this: a terminal lists only what needs a look


def _outcomes(fmt: str, summary: Mapping[str, Any], key: str, records: Sequence[Mapping[str, Any]],
              columns: Sequence[tuple[str, str]], notable: Callable[[Mapping[str, Any]], bool]) -> bool:
    """Per-item outcomes of a batch (intake, import): JSON with ``summary``, CSV, or a table
    that, for a long batch, shows only the ``notable`` items. True when a summary line should follow."""
    if fmt == "json":
        click.echo(json.dumps({**summary, key: list(records)}, ensure_ascii=False, indent=2))
        return False
    if fmt == "csv":
        write_csv(records)
        return False
    routine = len(records) > ROUTINE_SHOWN
    rows = [[_cell(record[name]) for name, _ in columns] for record in records if not routine or notable(record)]
    if rows:
        table([header for _, header in columns], rows, flexible=len(columns) - 1)
    return True


def intake_result(result: IntakeResult, fmt: str) -> None:
    records = [{"position": item.position, "outcome": item.outcome, "ticket": item.ticket, "from": item.sender,
                "message_id": item.message_id, "detail": item.detail} for item in result.items]
    counts = {outcome: result.count(outcome) for outcome in ("new", "reply", "feedback", "bounce", "skipped",
                                                              "failed")}
    summary = {"source": result.source, "commits": result.commits, "counts": counts}
    columns = (("position", "MESSAGE"), ("outcome", "OUTCOME"), ("ticket", "TICKET"), ("from", "FROM"),
               ("detail", "DETAIL"))
    if _outcomes(fmt, summary, "messages", records, columns, lambda r: r["outcome"] in ("skipped", "failed")):
        commits = f" [{', '.join(c[:7] for c in result.commits)}]" if result.commits else ""
        click.echo(visible(f"Intake from {result.source}: {counted(counts['new'], 'new ticket')}, "
                           f"{counted(counts['reply'], 'reply', 'replies')}, "
                           f"{counts['feedback']} feedback, {counted(counts['bounce'], 'bounce')}, "
                           f"{counts['skipped']} skipped, "
                           f"{counts['failed']} not taken in{commits}"), err=True)


def import_result(result: ImportResult, fmt: str) -> None:
    records = [{"position": item.position, "key": item.key, "outcome": item.outcome, "ticket": item.ticket,
                "detail": item.detail} for item in result.items]
    summary = {"source": result.source, "commit": result.commit, "commits": result.commits,
               "counts": {"imported": result.count("imported"), "skipped": result.count("skipped")}}
    columns = (("position", "ITEM"), ("outcome", "OUTCOME"), ("ticket", "TICKET"), ("detail", "DETAIL"))
    if _outcomes(fmt, summary, "items", records, columns,
                 lambda r: r["outcome"] == "skipped" or "; " in str(r["detail"])):
        where = f" in {counted(result.commits, 'commit')} [{result.commit[:7]}]" if result.commit else ""
        click.echo(visible(f"Import from {result.source}: {counted(result.count('imported'), 'ticket')} "
                           f"imported{where}, {result.count('skipped')} skipped"), err=True)


def export_records(records: Sequence[Mapping[str, Any]], kind: str, output: Any) -> None:
    """Export records as JSON or CSV, to standard output or a file."""
    if output is None:
        if kind == "json":
            click.echo(json.dumps(list(records), ensure_ascii=False, indent=2))
        else:
            write_csv(records)
        return
    with open(output, "w", encoding="utf-8", newline="") as handle:
        if kind == "json":
            json.dump(list(records), handle, ensure_ascii=False, indent=2)
            handle.write("\n")
        else:
            handle.write(csv_text(records))
    click.echo(f"Exported {counted(len(records), 'ticket')} to {output}", err=True)


class Progress:
    """A progress line on a terminal's stderr for long work; silent when piped."""

    def __init__(self, label: str, total: int | None = None) -> None:
        self.label = label
        self.total = total
        self._progress: Any = None
        self._task: Any = None

    def __enter__(self) -> Progress:
        if sys.stderr.isatty():
            from rich.console import Console
            from rich.progress import Progress as RichProgress

            self._progress = RichProgress(console=Console(stderr=True), transient=True)
            self._progress.start()
            self._task = self._progress.add_task(self.label, total=self.total)
        return self

    def advance(self, amount: int = 1) -> None:
        if self._progress is not None:
            self._progress.advance(self._task, amount)

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()


def error(message: str) -> None:
    click.echo(f"gitdesk: error: {message}", err=True)


def info(message: str) -> None:
    click.echo(visible(message))
