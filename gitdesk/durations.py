"""Durations as people type them: ``45m``, ``1h30m``, ``2d``, ``1.5h``.

``parse_duration`` reads one as calendar time (a day is 24 hours: time logged,
windows). ``parse_span`` keeps the weeks, days and the rest apart, so a
business calendar can read ``1d`` as one working day (``gitdesk.calendar``).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import timedelta

from gitdesk.errors import ValidationError

MAXIMUM = timedelta(days=366)
_UNITS = {"w": 7 * 86400, "d": 86400, "h": 3600, "m": 60, "s": 1}
_PART = re.compile(r"(\d+(?:\.\d+)?)\s*([wdhms])")
_WHOLE = re.compile(r"^\s*(?:\d+(?:\.\d+)?\s*[wdhms]\s*)+$")


@dataclass(frozen=True, slots=True)
class Span:
    """A duration as written: weeks, days and the rest (hours, minutes, seconds) apart.

    On the calendar clock a day is 24 hours; on a business calendar a day is one
    working day and a week one working week (``Calendar.seconds``)."""

    weeks: float = 0.0
    days: float = 0.0
    seconds: float = 0.0
    text: str = ""

    def calendar(self) -> timedelta:
        """The span in calendar time (a day is 24 hours)."""
        return timedelta(seconds=round(self.weeks * 7 * 86400 + self.days * 86400 + self.seconds))


@functools.lru_cache(maxsize=1024)  # reports read every time entry; a desk logs the same few values
def parse_span(text: str, *, unit_required: bool = False) -> Span:
    """``text`` as a span. A bare number is minutes, as people log time; where a setting says
    how long to wait (``unit_required``), "for: 7" meant days to its writer and is refused."""
    value = text.strip().lower()
    if re.fullmatch(r"\d+", value):
        if unit_required:
            raise ValidationError(f"{text.strip()!r} has no unit",
                                  hint=f"write {value}d for days, {value}h for hours or {value}m for minutes")
        value += "m"
    if not _WHOLE.match(value):
        raise ValidationError(
            f"not a duration: {text!r}", hint="write it like 45m, 1h30m, 2h or 1d"
        )
    weeks = days = rest = 0.0
    for number, unit in _PART.findall(value):
        if unit == "w":
            weeks += float(number)
        elif unit == "d":
            days += float(number)
        else:
            rest += float(number) * _UNITS[unit]
    span = Span(weeks, days, rest, text.strip())
    seconds = weeks * 7 * 86400 + days * 86400 + rest  # before a timedelta, which overflows on 99999999999w
    if seconds < 1:
        raise ValidationError(f"duration must be at least a second: {text!r}")
    if seconds > MAXIMUM.total_seconds():
        raise ValidationError(f"duration is longer than a year: {text!r}",
                              hint="write at most 52w" if unit_required else "write it like 45m, 1h30m, 2h or 1d")
    return span


def parse_duration(text: str) -> timedelta:
    """A duration in calendar time (a day is 24 hours)."""
    return parse_span(text).calendar()


# A "day" no duration reaches: logged work is written and shown in hours and minutes ("28h",
# never "1d4h", which a reader takes for one working day and four hours).
HOURS_ONLY = 10**12


def format_duration(value: timedelta | float | None, *, exact: bool = False, day: int = 86400) -> str:
    """How gitdesk writes every duration, in files and on screen: ``45m``, ``1h03m``, ``2d4h``.

    Units are d (``day`` seconds: 24 hours, or one working day of a business
    calendar), h, m and, under a minute, s; minutes after hours take two digits.
    For people the two largest units are kept, rounded to the nearest
    (``2d4h40m`` shows as ``2d5h``: a figure quoted is off by half a unit at
    most, never a whole one); ``exact`` keeps them all (``2d4h05m``), for what
    is written into ticket files."""
    if value is None:
        return "-"
    seconds = max(0, round(value.total_seconds() if isinstance(value, timedelta) else value))
    if not exact and seconds >= day:  # days and hours: the hours rounded within the (working) day
        days, rest = divmod(seconds, day)
        rest = (rest + 1800) // 3600 * 3600
        seconds = (days + 1) * day if rest >= day else days * day + rest
    elif not exact and seconds >= 60:
        seconds = (seconds + 30) // 60 * 60
    if seconds < 60:
        return f"{seconds}s"
    minutes = seconds // 60
    days, minutes = divmod(minutes, max(1, day // 60))
    hours, minutes = divmod(minutes, 60)
    parts = [(days, "d", "{}"), (hours, "h", "{}"), (minutes, "m", "{:02d}" if days or hours else "{}")]
    while parts and not parts[0][0]:
        parts.pop(0)
    if not exact:
        parts = parts[:2]
    while parts and not parts[-1][0]:
        parts.pop()
    text = "".join(fmt.format(count) + unit for count, unit, fmt in parts)
    if exact and seconds % 60:
        text += f"{seconds % 60:02d}s"
    return text


def format_age(seconds: float) -> str:
    """``5d``, ``3h``, ``12m`` or ``now``: how old something is, in its largest unit."""
    whole = max(0, int(seconds))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if whole >= size:
            return f"{whole // size}{unit}"
    return "now"
