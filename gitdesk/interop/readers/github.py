"""GitHub issues: the JSON ``gh issue list --json number,title,body,state,labels,
assignees,author,createdAt,closedAt,comments`` prints, a dump made with fewer
fields, or the REST API's issue objects (``/repos/O/R/issues``)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from gitdesk import frontmatter
from gitdesk.errors import ValidationError
from gitdesk.interop.importing import Comment, Record, Skip
from gitdesk.interop.readers import guarded, parse_when

NOREPLY = "users.noreply.github.com"


def _text(value: Any) -> str:
    """A text field of the export; anything else (a list, an object) is no text, not its repr."""
    return value if isinstance(value, str) else ""


def _login(value: Any) -> str | None:
    if isinstance(value, dict):
        login = value.get("login")
        return login if isinstance(login, str) and login else None
    return str(value) if isinstance(value, str) and value else None


def _person(login: str | None, handles: frozenset[str]) -> str | None:
    """A GitHub login as a requester or author: a desk handle when one matches,
    else GitHub's no-reply address for that login."""
    if login is None:
        return None
    if login in handles:
        return login
    safe = re.sub(r"[^A-Za-z0-9-]", "", login)
    return f"{safe}@{NOREPLY}" if safe else None


def _labels(value: Any) -> list[str]:
    names = []
    for label in value if isinstance(value, list) else []:
        name = label.get("name") if isinstance(label, dict) else label
        if isinstance(name, str) and name.strip():
            names.append(name)
    return names


def _repository(issue: dict[str, Any]) -> str | None:
    for key in ("repository_url", "html_url", "url"):
        match = re.search(r"github\.com/(?:repos/)?([\w.-]+/[\w.-]+)", str(issue.get(key) or ""))
        if match:
            return match.group(1)
    return None


def records(path: Path, handles: frozenset[str] = frozenset(), repository: str | None = None,
            ) -> Iterator[Record | Skip]:
    try:
        data = json.loads(path.read_bytes().decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError, RecursionError) as error:  # [[[[… nested past Python's stack
        raise ValidationError(f"{path.name} is not a JSON export: {frontmatter.short(error)}",
                              hint="make it with: gh issue list --state all --json number,title,body,...") from None
    if isinstance(data, dict) and isinstance(data.get("tickets"), list) and "exported_at" in data:
        raise ValidationError(f"{path.name} is gitdesk's own export, which gitdesk import does not read back",
                              hint="to move or copy a desk, clone its repository (git clone --mirror)")
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list):
        raise ValidationError(f"{path.name}: expected a list of issues")
    for number, issue in enumerate(data, 1):
        yield guarded(f"item {number}", _record, issue, f"item {number}", handles, repository)


def _record(issue: Any, position: str, handles: frozenset[str], repository: str | None) -> Record | Skip:
    if not isinstance(issue, dict):
        return Skip(position, "not an issue object")
    if "pull_request" in issue:
        return Skip(f"#{issue.get('number', '?')}", "a pull request, not an issue")
    issue_number = issue.get("number")
    title = issue.get("title")
    if not isinstance(issue_number, int) or isinstance(issue_number, bool) or not isinstance(title, str) \
            or not title.strip():
        return Skip(position, "no number or no title")
    repo = repository or _repository(issue)
    key = f"github:{repo}#{issue_number}" if repo else f"github#{issue_number}"
    record = Record(key=key, position=f"#{issue_number}", title=title, body=_text(issue.get("body")))
    record.requester = _person(_login(issue.get("author") or issue.get("user")), handles)
    record.created = parse_when(issue.get("createdAt") or issue.get("created_at"))
    record.closed = parse_when(issue.get("closedAt") or issue.get("closed_at"))
    for field, value in (("createdAt", record.created), ("closedAt", record.closed)):
        given = issue.get(field) or issue.get(field.replace("At", "_at"))
        if given and value is None:  # a date nobody can read: not "now", and not "never closed"
            return Skip(position, f"{field} {str(given)[:40]!r} is not a date")
    state = str(issue.get("state") or "").lower()
    reason = str(issue.get("stateReason") or issue.get("state_reason") or "").lower()
    if state == "closed":
        record.status = "rejected" if reason in ("not_planned", "duplicate") else "closed"
        if "stateReason" not in issue and "state_reason" not in issue:
            record.notes.append("no stateReason in the export: closed as solved (add stateReason to gh's "
                                "--json fields to tell \"not planned\" apart)")
    elif not state:
        record.notes.append("no state in the export: imported as open")
    listed = issue.get("assignees")
    assignees = [login for login in (_login(a) for a in (listed if isinstance(listed, list) else [])) if login]
    if not assignees and _login(issue.get("assignee")):
        assignees = [str(_login(issue.get("assignee")))]
    if assignees:
        record.assignee, record.also_assigned = assignees[0], assignees[1:]
    record.labels = _labels(issue.get("labels"))
    comments = issue.get("comments")
    if isinstance(comments, int) and not isinstance(comments, bool):
        if comments:
            record.notes.append(f"{comments} comments not in the export (REST issue objects carry a count)")
    elif isinstance(comments, list):
        for comment in comments:
            if isinstance(comment, dict) and _text(comment.get("body")).strip():
                record.comments.append(Comment(parse_when(comment.get("createdAt") or comment.get("created_at")),
                                               _person(_login(comment.get("author") or comment.get("user")),
                                                       handles),
                                               _text(comment["body"])))
    return record
