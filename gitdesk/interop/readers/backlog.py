"""Backlog.md task files: ``backlog/tasks``, ``backlog/drafts`` and
``backlog/completed``, nested folders included; Markdown with YAML front matter
(id, title, status, assignee, labels, priority, created_date) and sections
(Description, Acceptance Criteria, Implementation Plan, Implementation Notes)."""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from gitdesk import frontmatter
from gitdesk.errors import GitdeskError, NotFound
from gitdesk.interop.importing import Record, Skip
from gitdesk.interop.readers import guarded, parse_when

FOLDERS = ("tasks", "drafts", "completed")
PRIORITIES = {"high": "high", "medium": "normal", "low": "low"}
_SECTION = re.compile(r"^##\s+(.+?)\s*$", re.MULTILINE)
_FILE_ID = re.compile(r"^(task-[\w.]+)(?:\s+-\s+(.*))?$", re.IGNORECASE)


def _sections(body: str) -> tuple[str, dict[str, str]]:
    """Text before the first section, and each ``## Name`` section's text (markers removed)."""
    body = re.sub(r"<!--\s*SECTION:[^>]*-->", "", body)
    parts = _SECTION.split(body)
    sections = {parts[i].strip().casefold(): parts[i + 1].strip() for i in range(1, len(parts) - 1, 2)}
    return parts[0].strip(), sections


def _names(value: Any) -> list[str]:
    if isinstance(value, (str, int, float)):
        value = [value]
    if not isinstance(value, list):
        return []
    return [name for name in (_scalar(item).strip().lstrip("@") for item in value) if name]


def _root(path: Path) -> Path:
    if not path.is_dir():
        raise NotFound(f"no such folder: {path}")
    if (path / "backlog").is_dir():
        return path / "backlog"
    return path


def records(path: Path) -> Iterator[Record | Skip]:
    root = _root(path)
    if not any((root / folder).is_dir() for folder in FOLDERS):
        raise NotFound(f"no Backlog.md tasks in {path}", hint="give the project folder or its backlog/ folder")
    for folder in FOLDERS:
        for file in sorted((root / folder).rglob("*.md")) if (root / folder).is_dir() else []:
            position = str(file.relative_to(root))
            link = _link_on_the_way(path, file)
            if link is not None:
                yield Skip(position, f"{link} is a symbolic link: not followed")
            elif file.is_file():
                yield guarded(position, _record, file, folder, position)


def _link_on_the_way(given: Path, file: Path) -> str | None:
    """The first symbolic link between the folder given and ``file``, if any: ``backlog/tasks``
    made a link in a cloned project would import whatever Markdown it reaches."""
    parts = file.relative_to(given).parts
    for count in range(1, len(parts) + 1):
        if given.joinpath(*parts[:count]).is_symlink():
            return "/".join(parts[:count])
    return None


def _scalar(value: object) -> str:
    """A field's text, or "" for what is not one (a list, a mapping, ``!!set``, ``!!binary``):
    its repr (``{'a'}``) would otherwise become the ticket's title or ID."""
    if isinstance(value, bool) or (isinstance(value, float) and not math.isfinite(value)):
        return ""  # YAML's yes/no and .nan: not what the task's author wrote as its title or ID
    return str(value) if isinstance(value, (str, int, float)) else ""


# Backlog.md's own markers around a section's text ("<!-- AC:BEGIN -->"): not the task's words.
_MARKERS = re.compile(r"^[ \t]*<!--\s*(?:AC|DOD|SECTION)?[A-Z:_ -]*(?:BEGIN|END)[A-Z:_ -]*\s*-->[ \t]*\n?",
                      re.MULTILINE)


def _record(file: Path, folder: str, position: str) -> Record | Skip:
    try:
        text = file.read_bytes().decode("utf-8-sig").replace("\r\n", "\n")
    except UnicodeDecodeError:
        return Skip(position, "not UTF-8")
    stem_match = _FILE_ID.match(file.stem)
    notes = []
    if text.startswith("---\n") and "\n---" in text[3:]:
        end = text.index("\n---", 3)
        try:
            data = frontmatter.load_mapping(text[4:end + 1], position)
        except GitdeskError as error:
            return Skip(position, f"front matter: {error.message}"
                        + (f" (line {error.line + 1})" if error.line else ""))
        if not isinstance(data, dict):
            return Skip(position, "front matter is not a mapping of fields")
        body = text[end + 4:].lstrip("-").lstrip("\n")
    else:
        data, body = {}, text
    lead, sections = _sections(_MARKERS.sub("", body))
    task_id = (_scalar(data.get("id")) or (stem_match.group(1) if stem_match else file.stem)).strip()
    title = _scalar(data.get("title")).strip()
    if not title:
        heading = re.search(r"^#\s+(.+)$", body, re.MULTILINE)
        title = heading.group(1).strip() if heading else (stem_match.group(2) if stem_match and stem_match.group(2)
                                                         else file.stem)
        if not data:
            notes.append(f"no front matter: the id from the file name, the title from its "
                         f"{'heading' if heading else 'file name'}")
    if lead.startswith("# "):  # the task's own heading (its title): what follows it is the text
        lead = lead.partition("\n")[2].strip("\n")
    description = "\n\n".join(part for part in (
        lead,
        sections.get("description", ""),
        *(f"**{name.title()}**\n\n{sections[name]}" for name in ("acceptance criteria", "implementation plan")
          if sections.get(name))) if part)
    record = Record(key=f"backlog:{task_id.lower()}", position=position, title=title, body=description)
    for field in ("created_date", "updated_date"):  # a date nobody can read: not "now", and not "never"
        if data.get(field) not in (None, "") and parse_when(data.get(field)) is None:
            return Skip(position, f"{field} {_scalar(data.get(field)) or data.get(field)!r} is not a date")
    status = _scalar(data.get("status")).strip().casefold()
    if folder == "completed" or status == "done":
        record.status = "closed"
        record.resolution = sections.get("implementation notes") or "Done in Backlog.md."
        record.closed = parse_when(data.get("updated_date"))  # none: the import says so, and when it dates it
    else:
        if sections.get("implementation notes"):  # work under way: kept where the agent reads on
            record.body = "\n\n".join(part for part in (
                record.body, f"**Implementation Notes**\n\n{sections['implementation notes']}") if part)
        if folder == "drafts":
            record.status = "new"
            record.labels.append("draft")
    assignees = _names(data.get("assignee"))
    if assignees and folder == "drafts":  # given to someone, it would leave intake as their open work
        notes.append(f"a draft: stays in intake, unassigned (the source named {assignees[0]})")
    elif assignees:
        record.assignee = assignees[0]
    reporters = _names(data.get("reporter"))
    record.requester = reporters[0] if reporters else None
    record.created = parse_when(data.get("created_date"))
    record.priority = PRIORITIES.get(_scalar(data.get("priority")).casefold()) if data.get("priority") else None
    record.labels += _names(data.get("labels"))
    record.notes += notes
    return record
