"""Durations as people type them: ``45m``, ``1h30m``, ``2d``, ``1.5h``."""

from __future__ import annotations

import re
from datetime import timedelta

from gitdesk.errors import ValidationError

MAXIMUM = timedelta(days=366)
_UNITS = {"w": 7 * 86400, "d": 86400, "h": 3600, "m": 60, "s": 1}
_PART = re.compile(r"(\d+(?:\.\d+)?)\s*([wdhms])")
_WHOLE = re.compile(r"^\s*(?:\d+(?:\.\d+)?\s*[wdhms]\s*)+$")


def parse_duration(text: str) -> timedelta:
    value = text.strip().lower()
    if re.fullmatch(r"\d+", value):  # a bare number is minutes, as people log time
        value += "m"
    if not _WHOLE.match(value):
        raise ValidationError(
            f"not a duration: {text!r}", hint="write it like 45m, 1h30m, 2h or 1d"
        )
    seconds = round(sum(float(number) * _UNITS[unit] for number, unit in _PART.findall(value)))
    if seconds < 1:
        raise ValidationError(f"duration must be at least a second: {text!r}")
    if seconds > MAXIMUM.total_seconds():
        raise ValidationError(f"duration is longer than a year: {text!r}", hint="write it like 45m, 1h30m, 2h or 1d")
    return timedelta(seconds=seconds)


def format_duration(value: timedelta) -> str:
    """``1h30m``: the form gitdesk writes; days only when whole days remain."""
    seconds = int(value.total_seconds())
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts) or "0m"
