"""The merge driver for ticket files: a three-way merge that understands tickets.

Git calls it (``merge.gitdesk.driver``) with the common ancestor, our version
and theirs. Front-matter fields merge one by one: a field changed on one
side takes that side's value; labels and related tickets merge as sets
(removals honoured); conversation entries from both sides are kept, in time
order, none twice. Only a field that got two different values is a real
conflict, and only that field's line is wrapped in ordinary conflict markers,
so ``gitdesk check`` and people see exactly what to decide.

Anything that does not parse as a ticket (a half-resolved file, a broken
side) falls back to Git's own line merge, so the driver never loses text.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from gitdesk import frontmatter, git, ticketfile
from gitdesk.errors import GitdeskError
from gitdesk.model import Entry, Ticket

SET_FIELDS = ("labels", "related", "message_ids")  # merged as sets, removals honoured


@dataclass(frozen=True, slots=True)
class MergeResult:
    text: str
    conflicts: tuple[str, ...]  # what conflicted: field names, "description", "resolution"


def _three_way(base: Any, ours: Any, theirs: Any) -> tuple[Any, bool]:
    """(value, conflicted) for one value changed on zero, one or two sides."""
    if ours == theirs:
        return ours, False
    if ours == base:
        return theirs, False
    if theirs == base:
        return ours, False
    return ours, True


def _merge_set(base: Sequence[str], ours: Sequence[str], theirs: Sequence[str]) -> tuple[str, ...]:
    removed = {item for item in base if item not in ours or item not in theirs}
    merged = list(ours) + [item for item in theirs if item not in ours]
    return tuple(item for item in merged if item not in removed)


def _entry_key(entry: Entry) -> tuple[Any, ...]:
    return (entry.at, entry.author, entry.kind, entry.detail, entry.text)


def _merge_entries(base: Sequence[Entry], ours: Sequence[Entry], theirs: Sequence[Entry]) -> tuple[Entry, ...]:
    ours_keys = {_entry_key(e) for e in ours}
    theirs_keys = {_entry_key(e) for e in theirs}
    dropped = {_entry_key(e) for e in base if _entry_key(e) not in ours_keys or _entry_key(e) not in theirs_keys}
    merged = list(ours) + [e for e in theirs if _entry_key(e) not in ours_keys]
    kept = [e for e in merged if _entry_key(e) not in dropped]
    return tuple(sorted(kept, key=lambda e: e.at))  # stable: ours first among equal times


def merge_tickets(base: Ticket | None, ours: Ticket, theirs: Ticket) -> tuple[Ticket, dict[str, Any]]:
    """The merged ticket (ours wherever a field conflicts) and the conflicting fields
    with their values from theirs."""
    base_fields = base.front_matter() if base else {}
    ours_fields, theirs_fields = ours.front_matter(), theirs.front_matter()
    merged: dict[str, Any] = {}
    conflicts: dict[str, Any] = {}
    for key in list(ours_fields) + [k for k in theirs_fields if k not in ours_fields]:
        b, o, t = base_fields.get(key), ours_fields.get(key), theirs_fields.get(key)
        if key in SET_FIELDS:
            merged[key] = list(_merge_set(b or [], o or [], t or []))
            continue
        value, conflicted = _three_way(b, o, t)
        if conflicted:
            conflicts[key] = t
        if key in ours_fields or value is not None:
            merged[key] = value
    for key in base_fields:
        if key not in ours_fields and key not in theirs_fields:
            merged.pop(key, None)
    result = _ticket_from(ours, merged)
    body: dict[str, Any] = {}
    for part in ("description", "conversation_text", "resolution"):
        value, conflicted = _three_way(getattr(base, part) if base else None, getattr(ours, part),
                                       getattr(theirs, part))
        if conflicted:
            conflicts[part] = getattr(theirs, part)
        body[part] = value
    entries = _merge_entries(base.entries if base else (), ours.entries, theirs.entries)
    return replace(result, entries=entries, **body), conflicts


def _ticket_from(template: Ticket, fields: dict[str, Any]) -> Ticket:
    from gitdesk.model import KNOWN_FIELDS

    known = {key: value for key, value in fields.items() if key in KNOWN_FIELDS}
    for key in ("labels", "related"):
        known[key] = tuple(known.get(key) or ())
    extra = {key: value for key, value in fields.items() if key not in KNOWN_FIELDS}
    return replace(template, **known, extra=extra)


def merge_texts(base: str | None, ours: str, theirs: str, path: str | None = None,
                marker_size: int = 7) -> MergeResult:
    try:
        base_ticket = ticketfile.parse(base, path)[0] if base else None
        ours_ticket, ours_doc = ticketfile.parse(ours, path)
        theirs_ticket = ticketfile.parse(theirs, path)[0]
    except GitdeskError:
        return _line_merge(base or "", ours, theirs, marker_size)
    merged, conflicts = merge_tickets(base_ticket, ours_ticket, theirs_ticket)
    try:
        text = ticketfile.rewritten_text(ours_doc, ours_ticket, merged)
    except (ValueError, GitdeskError):
        return _line_merge(base or "", ours, theirs, marker_size)
    if conflicts:
        text = _mark_all(text, conflicts, path, marker_size)
    return MergeResult(text, tuple(conflicts))


def _mark_all(text: str, conflicts: dict[str, Any], path: str | None, size: int) -> str:
    """Wrap each conflicting field's line (or section's text) in conflict markers:
    ours above, theirs below, nothing else touched."""
    ours_marker, middle, theirs_marker = "<" * size + " ours", "=" * size, ">" * size + " theirs"
    crlf = "\r\n" in text and text.count("\r\n") == text.count("\n")
    ticket, document = ticketfile.parse(text, path)
    normal = document.text
    edits: list[tuple[int, int, str]] = []
    for name, theirs_value in conflicts.items():
        if name in ("description", "conversation_text", "resolution"):
            region = _region(document, ticket, name)
            if region is None:
                continue
            start, end = region
            ours_text = normal[start:end].strip("\n")
            tail = "\n" if end < len(normal) else ""
            edits.append((start, end, f"{ours_marker}\n{ours_text}\n{middle}\n{theirs_value or ''}\n"
                                      f"{theirs_marker}\n{tail}"))
            continue
        theirs_line = f"{name}: {frontmatter.dump_value(theirs_value)}".rstrip()
        span = document.front.spans.get(name)
        if span is None:
            at = document.front.close_start
            edits.append((at, at, f"{ours_marker}\n{middle}\n{theirs_line}\n{theirs_marker}\n"))
            continue
        line_start = normal.rfind("\n", 0, span.start) + 1
        line_end = normal.find("\n", span.end)
        line_end = len(normal) if line_end < 0 else line_end
        ours_line = normal[line_start:line_end]
        edits.append((line_start, line_end, f"{ours_marker}\n{ours_line}\n{middle}\n{theirs_line}\n{theirs_marker}"))
    for start, end, replacement in sorted(edits, key=lambda edit: edit[0], reverse=True):
        normal = normal[:start] + replacement + normal[end:]
    if crlf:
        normal = normal.replace("\n", "\r\n")
    return ("\ufeff" + normal) if document.bom else normal


def _region(document: ticketfile.Document, ticket: Ticket, name: str) -> tuple[int, int] | None:
    text = document.text
    if name == "description":
        return document.front.body_start, document.description_end
    section = document.resolution if name == "resolution" else document.conversation
    if section is None:
        return None
    heading_end = text.find("\n", section[0]) + 1
    if name == "resolution":
        return heading_end, section[1]
    value = ticket.conversation_text
    at = text.find(value, heading_end) if value else -1
    return (at, at + len(value)) if at >= 0 else None


def _line_merge(base: str, ours: str, theirs: str, marker_size: int) -> MergeResult:
    """Git's own line merge, for files that are not (yet) valid tickets."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="gitdesk-merge-") as directory:
        paths = []
        for name, text in (("ours", ours), ("base", base), ("theirs", theirs)):
            path = Path(directory) / name
            path.write_text(text, encoding="utf-8")
            paths.append(path)
        merged, conflicts = git.merge_file_lines(paths[0], paths[1], paths[2], marker_size)
    if conflicts < 0:
        raise GitdeskError("git merge-file failed")
    text = merged.decode("utf-8", "replace")
    return MergeResult(text, ("lines",) if conflicts else ())


def merge_files(base: Path, ours: Path, theirs: Path, path: str | None = None, marker_size: int = 7) -> MergeResult:
    """Merge as Git's driver does: the result is written over ``ours``."""
    def read(p: Path) -> str:
        data = p.read_bytes()
        return data.decode("utf-8", "replace")

    base_text = read(base) if base.exists() and base.stat().st_size else None
    result = merge_texts(base_text, read(ours), read(theirs), path, marker_size)
    ours.write_text(result.text, encoding="utf-8", newline="")
    return result


STALE = "kb-stale"


def mark_generated_stale(start: Path) -> None:
    """A generated file met a merge: ours stands for now; the post-merge hook rebuilds."""

    repo = git.find_any(start)
    if repo is not None:
        repo.state_dir.mkdir(parents=True, exist_ok=True)
        (repo.state_dir / STALE).write_text("a merge kept one side of kb/; rebuild it\n")
