"""The one clock: every time gitdesk writes comes from here.

``GITDESK_NOW`` (ISO 8601) fixes it, so tests, the demo and imports can write
a believable, backdated history. Times in files are UTC with a ``Z``.
"""

from __future__ import annotations

import os
import re
from datetime import date, datetime, timedelta, timezone

from gitdesk.errors import GitdeskError, ValidationError

# The one date parser: ISO 8601 as people and exports write it (date; T or a space;
# minutes, seconds and a fraction optional; Z, +HH:MM, +HHMM or no zone, which is
# UTC), and the day-first dotted dates of European spreadsheets. A regex, not
# fromisoformat, so every Python version accepts exactly the same strings.
_ISO = re.compile(r"(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,]\d{1,9})?)?"
                  r"\s*(Z|[+-]\d{2}(?::?\d{2})?)?)?", re.IGNORECASE)
_CANONICAL = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})Z")  # a subset of _ISO
_DOTTED = re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4})(?:[ T](\d{2}):(\d{2})(?::(\d{2}))?)?")
FIRST_YEAR, LAST_YEAR = 1970, 9998  # what Git dates and every later sum can hold


def now() -> datetime:
    """The current time in UTC, whole seconds; ``GITDESK_NOW`` overrides it."""
    fixed = os.environ.get("GITDESK_NOW")
    if fixed:
        try:
            return parse_time(fixed)
        except GitdeskError as error:
            raise GitdeskError(f"GITDESK_NOW: {error.message}", hint="set it like 2026-11-20T09:14:00Z, or unset it")\
                from None
    return datetime.now(timezone.utc).replace(microsecond=0)


def within_second(moment: datetime) -> datetime:
    """``moment`` (whole seconds, as tickets keep time) with the current millisecond when it is
    the current second on a running clock: tickets made one after another in one second then
    get IDs that differ early, not only in their last characters. A fixed clock keeps it."""
    if os.environ.get("GITDESK_NOW"):
        return moment
    current = datetime.now(timezone.utc)
    if current.replace(microsecond=0) == moment:
        return current
    if timedelta(0) < current - moment < timedelta(minutes=1):
        # The second passed since ``moment`` was read (a wait for the desk lock): its last
        # millisecond, so the ID sorts after those minted earlier in that second, not before.
        return moment + timedelta(milliseconds=999)
    return moment  # a time not now (an import's): its whole second


def parse_time(text: str) -> datetime:
    """A time or date as ISO 8601 (or ``20.11.2026 09:14``) in UTC, whole seconds."""
    canonical = _CANONICAL.fullmatch(text)
    if canonical is not None:  # as gitdesk writes times: a quarter of the cost (a cold build parses 300,000)
        try:
            parts = [int(part) for part in canonical.groups()]
            moment = datetime(parts[0], parts[1], parts[2], parts[3], parts[4], parts[5], tzinfo=timezone.utc)
        except ValueError:
            pass  # the general way below gives the error
        else:
            if FIRST_YEAR <= moment.year <= LAST_YEAR:
                return moment
    value = text.strip()
    iso = _ISO.fullmatch(value)
    dotted = None if iso else _DOTTED.fullmatch(value)
    try:
        if iso:
            year, month, day, hour, minute, second, zone = iso.groups()
        elif dotted:
            day, month, year, hour, minute, second = dotted.groups()
            zone = None
        else:
            raise ValueError(value)
        moment = datetime(int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0),
                          tzinfo=_zone(zone))
    except ValueError:
        raise ValidationError(f"not a date or time: {text!r}", hint="write it like 2026-11-20 or 2026-11-20T09:14:00Z")\
            from None
    if not FIRST_YEAR <= moment.year <= LAST_YEAR:
        raise ValidationError(f"{text!r} is out of range", hint=f"use a date from {FIRST_YEAR} to {LAST_YEAR}")
    return as_utc(moment)


def _zone(text: str | None) -> timezone:
    if not text or text.upper() == "Z":
        return timezone.utc
    digits = text[1:].replace(":", "")
    offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:] or 0))
    if offset >= timedelta(hours=24):
        raise ValueError(text)
    return timezone(-offset if text[0] == "-" else offset)


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
