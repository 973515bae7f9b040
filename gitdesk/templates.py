"""Ticket drafts for ``$EDITOR``: built from ``.gitdesk/templates/`` and read back.

A template is Markdown with optional front matter (defaults such as
``priority`` or ``labels``). ``<category>.md`` is used for that category,
else ``default.md``, else a built-in one.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gitdesk import frontmatter
from gitdesk.errors import GitdeskError, TicketFormatError
from gitdesk.model import KNOWN_FIELDS

TEMPLATES = ".gitdesk/templates"
DRAFT_FIELDS = ("title", "requester", "queue", "priority", "category", "asset", "labels", "assignee")
_BUILTIN = """\
---
title:
---
What happened, and what did you expect? Include error messages, the machine
or system involved, and what you already tried.
"""
_HELP = "# Fill in the title and the description. An empty title cancels.\n"


@dataclass(frozen=True, slots=True)
class Draft:
    fields: dict[str, Any]
    body: str


def template_text(root: Path, category: str | None) -> str:
    directory = root / TEMPLATES
    for name in ([f"{category}.md"] if category else []) + ["default.md"]:
        candidate = directory / name
        if candidate.is_file() and not candidate.is_symlink():
            return candidate.read_text(encoding="utf-8")
    return _BUILTIN


def draft_text(root: Path, given: dict[str, Any]) -> str:
    """The text to open in the editor: template defaults overlaid by what was given."""
    template = template_text(root, given.get("category"))
    try:
        front = frontmatter.load(template, TEMPLATES)
        defaults, body = front.data, template[front.body_start:]
    except TicketFormatError:
        defaults, body = {}, template
    fields = {name: defaults.get(name) for name in DRAFT_FIELDS}
    fields.update({key: value for key, value in defaults.items() if key not in DRAFT_FIELDS
                   and key not in KNOWN_FIELDS})
    fields.update({key: value for key, value in given.items() if value not in (None, (), [])})
    head = frontmatter.new_text(fields)
    return head[:4] + _HELP + head[4:] + body


def read_draft(text: str) -> Draft:
    """Parse what came back from the editor."""
    normal = text.replace("\r\n", "\n")
    front = frontmatter.load(normal, "draft")
    fields = dict(front.data)
    for forbidden in ("id", "status", "created"):
        if forbidden in fields:
            raise GitdeskError(f"a new ticket cannot set {forbidden}; gitdesk fills it in", path="draft")
    labels = fields.get("labels") or []
    if not isinstance(labels, list):
        raise TicketFormatError("labels must be a list", path="draft", hint="write labels: [a, b]")
    return Draft(fields, normal[front.body_start:].strip("\n"))
