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

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from gitdesk import frontmatter, git, ticketfile
from gitdesk.clock import format_utc
from gitdesk.errors import GitdeskError
from gitdesk.model import WAITING, Entry, Ticket

# merged as sets, removals honoured (two agents closing duplicates into one ticket add to one list)
SET_FIELDS = ("labels", "related", "message_ids", WAITING)


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


EntryId = tuple[datetime, str, str, int]  # time, author, kind, and which one of that heading


def _identified(entries: Sequence[Entry]) -> dict[EntryId, Entry]:
    """Entries by what identifies one: its heading (``### <time> <author> — <kind>``). The
    same entry edited on two clones keeps its heading, so the two versions meet."""
    seen: Counter[tuple[datetime, str, str]] = Counter()
    identified: dict[EntryId, Entry] = {}
    for entry in entries:
        heading = entry.heading
        identified[(entry.at, entry.author, entry.kind, seen[heading])] = entry
        seen[heading] += 1
    return identified


def entry_label(identity: EntryId) -> str:
    """How a conflicting entry is named in messages: ``entry 2026-11-20T10:00:00Z alice — reply``."""
    at, author, kind, number = identity
    return f"entry {format_utc(at)} {author} — {kind}" + (f" #{number + 1}" if number else "")


def _merge_entries(base: Sequence[Entry], ours: Sequence[Entry],
                   theirs: Sequence[Entry]) -> tuple[tuple[Entry, ...], dict[str, Entry]]:
    """Entries from both sides, in time order, none twice; an entry deleted on one side
    stays deleted. The same entry edited differently on both sides is a conflict (ours
    is kept in place; theirs is returned by label), never two entries with one heading."""
    base_ids, ours_ids, theirs_ids = _identified(base), _identified(ours), _identified(theirs)
    merged: list[Entry] = []
    conflicts: dict[str, Entry] = {}
    for identity in list(ours_ids) + [i for i in theirs_ids if i not in ours_ids]:
        was, mine, other = base_ids.get(identity), ours_ids.get(identity), theirs_ids.get(identity)
        if mine is not None and other is not None:
            value, conflicted = _three_way(was, mine, other)
            if conflicted:
                conflicts[entry_label(identity)] = other
            merged.append(value)
        elif (kept := mine or other) is not None and kept != was:
            merged.append(kept)  # added on one side, or edited there while the other deleted it: kept
    return tuple(sorted(merged, key=lambda e: e.at)), conflicts  # stable: ours first among equal times


def merge_tickets(base: Ticket | None, ours: Ticket, theirs: Ticket) -> tuple[Ticket, dict[str, Any]]:
    """The merged ticket (ours wherever a field conflicts) and the conflicting fields
    with their values from theirs."""
    base_fields = base.front_matter() if base else {}
    ours_fields, theirs_fields = ours.front_matter(), theirs.front_matter()
    merged: dict[str, Any] = {}
    conflicts: dict[str, Any] = {}
    for key in list(ours_fields) + [k for k in theirs_fields if k not in ours_fields]:
        b, o, t = base_fields.get(key), ours_fields.get(key), theirs_fields.get(key)
        if key in SET_FIELDS and all(isinstance(value, (list, tuple)) for value in (b or [], o or [], t or [])):
            merged[key] = list(_merge_set(b or [], o or [], t or []))
            if not merged[key] and key == WAITING:
                merged.pop(key)  # everyone was told: the field goes, as the action that told them removed it
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
    entries, entry_conflicts = _merge_entries(base.entries if base else (), ours.entries, theirs.entries)
    conflicts.update(entry_conflicts)
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
        try:
            text = _mark_all(text, conflicts, path, marker_size)
        except (ValueError, GitdeskError):  # a merged ticket we cannot mark field by field: Git's way
            return _line_merge(base or "", ours, theirs, marker_size)
    return MergeResult(text, tuple(conflicts))


def _mark_all(text: str, conflicts: dict[str, Any], path: str | None, size: int) -> str:
    """Wrap each conflicting field's line (or section's text) in conflict markers:
    ours above, theirs below, nothing else touched."""
    ours_marker, middle, theirs_marker = "<" * size + " ours", "=" * size, ">" * size + " theirs"
    crlf = "\r\n" in text and text.count("\r\n") == text.count("\n")
    ticket, document = ticketfile.parse(text, path)
    normal = document.text
    edits: list[tuple[int, int, str]] = []
    entries = {name: value for name, value in conflicts.items() if isinstance(value, Entry)}
    if entries and document.conversation is not None:
        edits.append(_conversation_marked(normal, document.conversation, ticket, conflicts, entries,
                                          (ours_marker, middle, theirs_marker)))
    for name, theirs_value in conflicts.items():
        if isinstance(theirs_value, Entry) or (name == "conversation_text" and entries):
            continue  # marked with the whole conversation above
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


def _conversation_marked(text: str, section: tuple[int, int], ticket: Ticket, conflicts: dict[str, Any],
                         entries: dict[str, Entry], markers: tuple[str, str, str]) -> tuple[int, int, str]:
    """The conversation written out again with each conflicting entry as ours above, theirs
    below (headings included: a person sees whole entries and keeps one, or both)."""
    ours_marker, middle, theirs_marker = markers
    start, end = section
    heading_end = text.find("\n", start, end) + 1 or end
    parts = []
    if ticket.conversation_text or "conversation_text" in conflicts:
        if "conversation_text" in conflicts:
            parts.append(f"{ours_marker}\n{ticket.conversation_text}\n{middle}\n"
                         f"{conflicts['conversation_text'] or ''}\n{theirs_marker}\n")
        else:
            parts.append(ticket.conversation_text + "\n")
    for identity, entry in _identified(ticket.entries).items():
        theirs = entries.get(entry_label(identity))
        if theirs is None:
            parts.append(ticketfile.entry_text(entry))
        else:
            parts.append(f"{ours_marker}\n{ticketfile.entry_text(entry)}{middle}\n"
                         f"{ticketfile.entry_text(theirs)}{theirs_marker}\n")
    tail = "\n" if end < len(text) else ""
    return heading_end, end, "\n" + "\n".join(parts) + tail


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
    merged, conflicted = line_merge(base.encode("utf-8"), ours.encode("utf-8"), theirs.encode("utf-8"), marker_size)
    if merged is None:
        raise GitdeskError("git merge-file failed")
    return MergeResult(merged.decode("utf-8", "replace"), ("lines",) if conflicted else ())


def line_merge(base: bytes, ours: bytes, theirs: bytes, marker_size: int) -> tuple[bytes | None, bool]:
    """Git's line merge of three versions, bytes as they are: (merged, conflicted), or
    (None, True) when Git cannot merge them (binary files)."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="gitdesk-merge-") as directory:
        paths = []
        for name, data in (("ours", ours), ("base", base), ("theirs", theirs)):
            path = Path(directory) / name
            path.write_bytes(data)
            paths.append(path)
        merged, conflicts = git.merge_file_lines(paths[0], paths[1], paths[2], marker_size)
    if conflicts < 0:
        return None, True
    return merged, conflicts > 0


NOT_TEXT = "the whole file (not text: ours is kept)"


def _read_sides(base: Path, ours: Path, theirs: Path) -> tuple[bytes, bytes, bytes]:
    """The three versions Git hands a driver; a missing base is an empty one (added on both sides)."""
    try:
        base_data = base.read_bytes() if base.exists() else b""
        return base_data, ours.read_bytes(), theirs.read_bytes()
    except OSError as error:
        raise GitdeskError(f"cannot read {error.filename}: {error.strerror or error}",
                           hint="merge-file merges three existing files: BASE OURS THEIRS [PATH]") from None


def _write_ours(ours: Path, data: bytes) -> None:
    try:
        ours.write_bytes(data)
    except OSError as error:
        raise GitdeskError(f"cannot write the merge result to {ours}: {error.strerror or error}",
                           hint="free some disk space or fix the permissions, then merge again") from None


def merge_files(base: Path, ours: Path, theirs: Path, path: str | None = None, marker_size: int = 7) -> MergeResult:
    """Merge as Git's driver does: the result is written over ``ours``."""
    base_data, ours_data, theirs_data = _read_sides(base, ours, theirs)
    try:
        texts = [data.decode("utf-8") for data in (base_data, ours_data, theirs_data)]
    except UnicodeDecodeError:
        # Not UTF-8, so not a ticket: Git's line merge on the bytes, none of them replaced.
        return _merge_bytes(base_data, ours_data, theirs_data, ours, marker_size)
    result = merge_texts(texts[0] or None, texts[1], texts[2], path, marker_size)
    _write_ours(ours, result.text.encode("utf-8"))
    return result


def _merge_bytes(base: bytes, ours: bytes, theirs: bytes, ours_file: Path, marker_size: int) -> MergeResult:
    merged, conflicted = line_merge(base, ours, theirs, marker_size)
    if merged is None:  # binary: like Git, keep ours and call it a conflict
        return MergeResult(ours.decode("utf-8", "replace"), (NOT_TEXT,))
    _write_ours(ours_file, merged)
    return MergeResult(merged.decode("utf-8", "replace"), ("lines",) if conflicted else ())


# --- generated files (kb/) ---------------------------------------------------------------

STALE = "kb-stale"


def merge_generated(base: Path, ours: Path, theirs: Path, path: str | None, marker_size: int = 7,
                    start: Path | None = None) -> MergeResult:
    """The kb/ driver. A file gitdesk generated (it starts with the knowledge base's marker
    line, on both sides) in a desk's kb/ keeps ours and marks kb/ for a rebuild from the
    merged tickets. Anything else a ``.gitattributes`` line sends here (a hand-written page
    in kb/, the config, a ticket) merges line by line as Git would, conflicts marked:
    never one side kept silently."""
    base_data, ours_data, theirs_data = _read_sides(base, ours, theirs)
    repo = git.find_any(start or Path.cwd())
    if repo is not None and path is not None and _generated(repo, path, base_data, ours_data, theirs_data):
        mark_generated_stale(repo)
        return MergeResult(ours_data.decode("utf-8", "replace"), ())
    if repo is not None and path is not None and _one_digest(repo, path, base_data, ours_data, theirs_data):
        return MergeResult(ours_data.decode("utf-8", "replace"), ())
    return _merge_bytes(base_data, ours_data, theirs_data, ours, marker_size)


_DIGEST_NAME = re.compile(r"[0-9]{8}T[0-9]{6}Z-digest-[^/]+-[0-9a-f]{6}\.eml")


def _one_digest(repo: git.Repo, path: str, *versions: bytes) -> bool:
    """Whether both sides queued the same digest (``rules run`` on two clones whose unpushed
    work differed): one name, one Message-ID, so one is delivered; ours is kept, as either
    could be. Anything else under outbox/ merges line by line."""
    from gitdesk.mail.outbox import message_id_of
    from gitdesk.paths import CONFIG_PATH, OUTBOX

    base, ours, theirs = versions
    parts = path.split("/")
    if base or len(parts) < 2 or parts[-2] != OUTBOX or not _DIGEST_NAME.fullmatch(parts[-1]) \
            or any(part in ("", ".", "..") for part in parts):
        return False
    ours_id = message_id_of(ours)
    if ours_id is None or ours_id != message_id_of(theirs):
        return False
    return bool(git.index_entries(repo, ["".join(part + "/" for part in parts[:-2]) + CONFIG_PATH]))


def _generated(repo: git.Repo, path: str, *versions: bytes) -> bool:
    from gitdesk.knowledge.kb import KB, MARKER
    from gitdesk.paths import CONFIG_PATH

    marker = MARKER.encode("utf-8")
    base, ours, theirs = versions
    if not (ours.startswith(marker) and theirs.startswith(marker) and (not base or base.startswith(marker))):
        return False
    parts = path.split("/")
    if any(part in ("", ".", "..") for part in parts) or len(parts) < 2:
        return False
    # Under the kb/ folder of a desk: a desk's config sits beside that folder.
    for at, part in enumerate(parts[:-1]):
        if part == KB:
            prefix = "".join(p + "/" for p in parts[:at])
            if git.index_entries(repo, [prefix + CONFIG_PATH]):
                return True
    return False


def mark_generated_stale(repo: git.Repo) -> None:
    """A generated file met a merge: ours stands for now; the post-merge hook or sync rebuilds."""
    try:
        repo.state_dir.mkdir(parents=True, exist_ok=True)
        (repo.state_dir / STALE).write_text("a merge kept one side of kb/; rebuild it\n")
    except OSError as error:
        raise GitdeskError(f"cannot mark the knowledge base for a rebuild: {error.strerror or error}",
                           hint="run gitdesk kb build after the merge") from None
