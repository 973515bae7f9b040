"""Readers for other tools' exports. Each turns its input into ``importing.Record``s
and ``importing.Skip``s, and never writes anything: ``gitdesk.importing`` does that."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime, timezone
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
    text = " ".join(str(value).split())
    try:
        return clock.parse_time(text)
    except GitdeskError:
        pass
    for other in _OTHER_FORMS:
        try:
            found = other(text)
        except (ValueError, TypeError, IndexError, OverflowError, GitdeskError):
            continue
        if found is not None and clock.FIRST_YEAR <= found.year <= clock.LAST_YEAR:
            return found
    return None


def _zone_word(text: str) -> datetime | None:
    """Zammad's "2024-03-01 08:00:00 UTC", or a zone's name ("… 09:05:00 CET")."""
    plain = re.sub(r"\s+(?:UTC|GMT|Z)$", "", text, flags=re.IGNORECASE)
    if plain != text:
        return clock.parse_time(plain + "Z")
    named = re.fullmatch(r"(.+?)\s+([A-Z]{3,4})", text)
    if named and named.group(2) in _ZONES:
        offset = _ZONES[named.group(2)]
        return clock.parse_time(f"{_loose(named.group(1)) or named.group(1)}{offset[:3]}:{offset[3:]}")
    return None


_LOOSE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})[ T](\d{1,2}):(\d{2})(?::(\d{2}))?")


def _loose(text: str) -> str | None:
    """"2026-03-05 9:05" as gitdesk writes it ("2026-03-05T09:05:00"), or None."""
    found = _LOOSE.fullmatch(text)
    if not found:
        return None
    year, month, day, hour, minute, second = found.groups()
    return f"{year}-{int(month):02d}-{int(day):02d}T{int(hour):02d}:{minute}:{second or '00'}"


def _loose_time(text: str) -> datetime | None:
    loose = _loose(text)
    return clock.parse_time(loose + "Z") if loose else None


def _worded(text: str) -> datetime | None:
    """"5 Mar 2026", "Mar 5, 2026", "5 March 2026 14:05" (English month names, UTC)."""
    for form in ("%d %b %Y", "%b %d, %Y", "%d %B %Y", "%B %d, %Y", "%d %b %Y %H:%M", "%b %d, %Y %H:%M",
                 "%d %B %Y %H:%M", "%B %d, %Y %H:%M", "%b %d %Y", "%d-%b-%Y", "%d-%b-%Y %H:%M"):
        try:
            return clock.as_utc(datetime.strptime(text, form).replace(tzinfo=timezone.utc))
        except ValueError:
            continue
    return None


_SLASHED = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})(?:,? (\d{1,2}):(\d{2})(?::(\d{2}))?)?")


def ambiguous(text: str) -> bool:
    """Whether ``text`` is a slashed date either way round ("03/05/2026": 3 May or 5 March)."""
    found = _SLASHED.fullmatch(" ".join(text.split()))
    return found is not None and int(found.group(1)) <= 12 and int(found.group(2)) <= 12 \
        and int(found.group(1)) != int(found.group(2))


def _slashed(text: str) -> datetime | None:
    """"13/05/2026 14:05" or "05/13/2026": read only when one part is past 12 (which is the
    day then says itself); "03/05/2026" could be either, and is not guessed."""
    found = _SLASHED.fullmatch(text)
    if not found:
        return None
    first, second, year, hour, minute, seconds = found.groups()
    if int(first) > 12 >= int(second) or int(first) == int(second):  # 01/01/2026 reads the same both ways
        day, month = first, second
    elif int(second) > 12 >= int(first):
        day, month = second, first
    else:
        return None
    return clock.as_utc(datetime(int(year), int(month), int(day), int(hour or 0), int(minute or 0),
                                 int(seconds or 0), tzinfo=timezone.utc))


def _ctime(text: str) -> datetime | None:
    """Request Tracker's default "Fri Jan 05 14:03:22 2024" (in UTC, as RT keeps its times)."""
    return clock.as_utc(datetime.strptime(text, "%a %b %d %H:%M:%S %Y").replace(tzinfo=timezone.utc))


# Zone names mail dates carry that Python's parser does not know (it would read them as UTC).
_ZONES = {"CET": "+0100", "CEST": "+0200", "EET": "+0200", "EEST": "+0300", "WET": "+0000", "WEST": "+0100",
          "BST": "+0100", "JST": "+0900", "AEST": "+1000", "AEDT": "+1100"}  # not IST: India, Ireland, Israel
_KNOWN_ZONES = frozenset("UT UTC GMT Z EST EDT CST CDT MST MDT PST PDT".split())  # RFC 822's, which Python reads


_OFFSET_NAMED = re.compile(r"\b(?:GMT|UTC)\s*([+-])(\d{1,2})(?::?(\d\d))?$", re.IGNORECASE)
# Java's Date.toString() (Jira and other exports): "Thu Mar 05 14:00:00 CEST 2026".
_JAVA = re.compile(r"^(\w{3}) (\w{3}) (\d{1,2}) (\d\d:\d\d:\d\d) (\S+) (\d{4})$")


def _mail_date(text: str) -> datetime | None:
    """A mail's date, "Fri, 05 Jan 2024 14:03:22 +0000" (or a zone's name: EST, CEST; or
    GMT+1), or Java's "Thu Mar 05 14:00:00 CEST 2026"."""
    from email.utils import parsedate_to_datetime, parsedate_tz

    java = _JAVA.match(text)
    if java:
        day, month, date, time, zone_given, year = java.groups()
        text = f"{day}, {date} {month} {year} {time} {zone_given}"
    text = _OFFSET_NAMED.sub(lambda found: f"{found.group(1)}{int(found.group(2)):02d}{found.group(3) or '00'}", text)
    zone = text.rsplit(" ", 1)[-1].upper()
    if zone in _ZONES:
        text = f"{text.rsplit(' ', 1)[0]} {_ZONES[zone]}"
    elif zone.isalpha() and zone not in _KNOWN_ZONES:
        return None  # a zone nobody here knows (Python's parser would read it as UTC): not a guess
    if parsedate_tz(text) is None:
        return None
    found = parsedate_to_datetime(text)
    return clock.as_utc(found if found.tzinfo else found.replace(tzinfo=timezone.utc))


_OTHER_FORMS: tuple[Callable[[str], datetime | None], ...] = (_zone_word, _loose_time, _ctime, _mail_date, _worded,
                                                             _slashed)


def guarded(position: str, read: Callable[..., Record | Skip], *args: Any) -> Record | Skip:
    """One record read by ``read``; a value of a shape no reader expected (a number where a
    list belongs, a date past 9999) skips that record with the reason, never the import."""
    from gitdesk.interop.importing import Skip

    try:
        return read(*args)
    except (ValueError, TypeError, AttributeError, KeyError, OverflowError, RecursionError) as error:
        return Skip(position, f"cannot be read: {type(error).__name__}: {' '.join(str(error).split())[:200]}")
