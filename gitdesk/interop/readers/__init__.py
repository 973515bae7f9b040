"""Readers for other tools' exports. Each turns its input into ``importing.Record``s
and ``importing.Skip``s, and never writes anything: ``gitdesk.importing`` does that."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gitdesk.interop.importing import Record, Skip

_FORMATS = ("%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S.%f%z", "%Y-%m-%d %H:%M:%S%z", "%Y-%m-%d %H:%M:%S",
            "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d", "%d.%m.%Y %H:%M", "%d.%m.%Y")


def parse_when(value: Any) -> datetime | None:
    """A date or time as exports write them (ISO 8601, with or without zone or time), in UTC."""
    if isinstance(value, datetime):
        moment = value
    elif value is None or not str(value).strip():
        return None
    else:
        text = re.sub(r"Z$", "+0000", str(value).strip())
        text = re.sub(r"([+-]\d\d):(\d\d)$", r"\1\2", text)
        for pattern in _FORMATS:
            try:
                moment = datetime.strptime(text, pattern)
                break
            except ValueError:
                continue
        else:
            if hasattr(value, "isoformat"):  # a YAML date
                return datetime(value.year, value.month, value.day, tzinfo=timezone.utc)
            return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    try:
        return moment.astimezone(timezone.utc)
    except OverflowError:  # 0001-01-01T00:00:00+01:00 is before the first representable moment
        return None


def guarded(position: str, read: Callable[..., Record | Skip], *args: Any) -> Record | Skip:
    """One record read by ``read``; a value of a shape no reader expected (a number where a
    list belongs, a date past 9999) skips that record with the reason, never the import."""
    from gitdesk.interop.importing import Skip

    try:
        return read(*args)
    except (ValueError, TypeError, AttributeError, KeyError, OverflowError, RecursionError) as error:
        return Skip(position, f"cannot be read: {type(error).__name__}: {' '.join(str(error).split())[:200]}")
