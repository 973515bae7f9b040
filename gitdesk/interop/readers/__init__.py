"""Readers for other tools' exports. Each turns its input into ``importing.Record``s
and ``importing.Skip``s, and never writes anything: ``gitdesk.importing`` does that."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from gitdesk import clock
from gitdesk.errors import GitdeskError

if TYPE_CHECKING:
    from gitdesk.interop.importing import Record, Skip

def parse_when(value: Any) -> datetime | None:
    """A date or time from an export (a string, or a YAML date or time), in UTC; None when
    missing or not a date (the reader says what it could not carry over)."""
    if isinstance(value, (datetime, date)):
        try:
            return clock.as_utc(value)
        except (OverflowError, ValueError):  # 0001-01-01T00:00:00+01:00 is before the first moment
            return None
    if value is None or not str(value).strip():
        return None
    try:
        return clock.parse_time(str(value))
    except GitdeskError:
        return None


def guarded(position: str, read: Callable[..., Record | Skip], *args: Any) -> Record | Skip:
    """One record read by ``read``; a value of a shape no reader expected (a number where a
    list belongs, a date past 9999) skips that record with the reason, never the import."""
    from gitdesk.interop.importing import Skip

    try:
        return read(*args)
    except (ValueError, TypeError, AttributeError, KeyError, OverflowError, RecursionError) as error:
        return Skip(position, f"cannot be read: {type(error).__name__}: {' '.join(str(error).split())[:200]}")
