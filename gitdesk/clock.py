"""The one clock: every time gitdesk writes comes from here.

``GITDESK_NOW`` (ISO 8601) fixes it, so tests, the demo and imports can write
a believable, backdated history. Times in files are UTC with a ``Z``.
"""

from __future__ import annotations

import os
import re
from datetime import date, datetime, timezone

from gitdesk.errors import GitdeskError

_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def now() -> datetime:
    """The current time in UTC, whole seconds; ``GITDESK_NOW`` overrides it."""
    fixed = os.environ.get("GITDESK_NOW")
    if fixed:
        try:
            return parse_time(fixed)
        except GitdeskError as error:
            raise GitdeskError(
                f"GITDESK_NOW={fixed!r} is not an ISO 8601 time",
                hint="use e.g. 2026-11-20T09:14:00Z",
            ) from error
    return datetime.now(timezone.utc).replace(microsecond=0)


def parse_time(text: str) -> datetime:
    """Parse an ISO 8601 time or date; naive values are taken as UTC."""
    value = text.strip()
    if _DATE_ONLY.match(value):
        value += "T00:00:00"
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise GitdeskError(f"not an ISO 8601 time: {text!r}", hint="e.g. 2026-11-20T09:14:00Z") from None
    return as_utc(parsed)


def as_utc(value: datetime | date) -> datetime:
    """Normalise a YAML timestamp or date to an aware UTC datetime, whole seconds."""
    if not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc).replace(microsecond=0)


def format_utc(value: datetime) -> str:
    """``2026-11-20T09:14:00Z``: the one way gitdesk writes a time."""
    return as_utc(value).strftime("%Y-%m-%dT%H:%M:%SZ")


def git_date(value: datetime) -> str:
    """A date Git accepts unambiguously for GIT_AUTHOR_DATE / GIT_COMMITTER_DATE."""
    return f"{int(as_utc(value).timestamp())} +0000"
