"""Business time: when a desk works, and durations measured on its clock.

A ``Calendar`` is either round the clock (calendar time: a day is 24 hours)
or a business calendar: a time zone (IANA, through ``zoneinfo``), working
hours per weekday in local wall-clock time (so 09:00 stays 09:00 across a
daylight-saving change), and holidays (dates, or a country's public holidays
through the ``holidays`` package). On a business calendar:

- ``elapsed(start, end)`` is the working time between two moments, in seconds;
- ``seconds(span)`` is the length of a target such as ``1d4h``: ``h``, ``m``
  and ``s`` are working hours, minutes and seconds, a ``d`` is one working
  day (``day_seconds``: the calendar's usual working day, e.g. 9 hours for
  08:00-17:00) and a ``w`` one working week (the working days of a week);
- ``add(start, span)`` is the moment that much working time after ``start``
  (a deadline); ``add(start, span) <= end`` exactly when
  ``elapsed(start, end) >= seconds(span)``;
- ``format(seconds)`` writes working time in working days and hours.

The desk's calendar is ``sla:`` in ``.gitdesk/config.yml``; a queue may have
its own (``sla.queues``). ``Calendar.for_queue(config, queue)`` is the one way
to get the calendar a ticket in a queue is measured by.
"""

from __future__ import annotations

import bisect
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from typing import TYPE_CHECKING, ClassVar

from gitdesk.durations import Span, format_duration
from gitdesk.errors import ConfigError
from gitdesk.model import WEEKDAYS, BusinessHours
from gitdesk.text import closest

if TYPE_CHECKING:
    from gitdesk.model import Config

_EPOCH = date(2001, 1, 1)  # a Monday: weeks are counted from it
_MAX_DAYS = 366 * 30  # how far add() walks before it gives up (a calendar with almost no working time)


def zone(name: str) -> tzinfo:
    """The time zone called ``name`` (IANA, e.g. ``Europe/Berlin``); UTC for ``UTC``."""
    if name.upper() in ("UTC", "Z", "ETC/UTC"):
        return timezone.utc
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"unknown time zone {name!r}", hint=zone_hint(name)) from None


def zone_hint(name: str) -> str:
    from zoneinfo import available_timezones

    close = closest(name, sorted(available_timezones()))
    return (f"did you mean {close}? " if close else "") + "use an IANA name such as Europe/Berlin"


def country_holidays(code: str, years: Iterable[int]) -> set[date]:
    """The public holidays of ``DE`` or ``DE-BY`` (country, then region) in ``years``."""
    import holidays

    country, _, region = code.partition("-")
    found = holidays.country_holidays(country, subdiv=region or None, years=list(years))
    return set(found)


def check_country(code: str) -> str | None:
    """Why ``code`` is not a country (or country-region) the holidays package knows, or None."""
    import holidays

    country, _, region = code.partition("-")
    supported = holidays.list_supported_countries()
    if country not in supported:
        close = closest(country.upper(), sorted(supported), cutoff=0.5)
        return f"unknown country {country!r}" + (f" (did you mean {close}?)" if close else "")
    if region and region not in supported[country]:
        return f"unknown region {region!r} of {country} (known: {', '.join(supported[country][:12])}…)"
    return None


@dataclass(frozen=True, slots=True)
class _Day:
    spans: tuple[tuple[int, int], ...]  # seconds after local midnight
    seconds: int


class Calendar:
    """Time as a desk counts it: round the clock, or working time on a business calendar."""

    _cache: ClassVar[dict[tuple[int, str | None, str | None], tuple[Config, Calendar]]] = {}

    def __init__(self, hours: BusinessHours | None = None) -> None:
        self.hours = hours
        self.business = hours is not None
        self.zone: tzinfo = zone(hours.timezone) if hours is not None else timezone.utc
        days = hours.hours if hours is not None else ()
        self._days = [_Day(tuple((a * 60, b * 60) for a, b in spans), sum(b - a for a, b in spans) * 60)
                      for spans in days]
        self._before = [0]  # working seconds of a week before each weekday
        for day in self._days:
            self._before.append(self._before[-1] + day.seconds)
        self.week_seconds = self._before[-1] if hours is not None else 7 * 86400
        if hours is not None and not self.week_seconds:
            raise ConfigError("a business calendar needs working hours on at least one day",
                              hint="set sla.business_hours and sla.business_days")
        lengths = Counter(day.seconds for day in self._days if day.seconds)
        # The usual working day: the most common length (the longer one on a tie).
        self.day_seconds = max(lengths, key=lambda n: (lengths[n], n)) if lengths else 86400
        self._dates = frozenset(date.fromisoformat(d) for d in hours.holidays) if hours is not None else frozenset()
        self._years: dict[int, list[date]] = {}

    @classmethod
    def for_queue(cls, config: Config, queue: str | None, clock: str | None = None) -> Calendar:
        """The calendar a ticket in ``queue`` is measured by: the queue's own business
        hours (``sla.queues``), else the desk's; round the clock unless ``clock``
        (default: ``sla.clock``) is ``business``. Queues the config does not know get the
        desk's calendar. Built once per config and queue."""
        chosen = clock or config.sla.clock
        name = queue if queue in config.sla.queues else None
        key = (id(config), name, chosen)
        cached = cls._cache.get(key)
        if cached is not None and cached[0] is config:
            return cached[1]
        if len(cls._cache) > 64:
            cls._cache.clear()
        hours = config.sla.queues[name] if name is not None else config.sla.hours
        made = cls(hours if chosen == "business" else None)
        cls._cache[key] = (config, made)
        return made

    # --- holidays -----------------------------------------------------------------

    def _holidays_of(self, year: int) -> list[date]:
        found = self._years.get(year)
        if found is None:
            dates = {d for d in self._dates if d.year == year}
            for code in self.hours.countries if self.hours is not None else ():
                dates |= country_holidays(code, [year])
            found = sorted(dates)
            self._years[year] = found
        return found

    def is_holiday(self, day: date) -> bool:
        if not self.business:
            return False
        listed = self._holidays_of(day.year)
        at = bisect.bisect_left(listed, day)
        return at < len(listed) and listed[at] == day

    def holidays_between(self, first: date, last: date) -> list[date]:
        """Holidays from ``first`` to ``last``, both included."""
        found: list[date] = []
        for year in range(first.year, last.year + 1):
            listed = self._holidays_of(year)
            found += listed[bisect.bisect_left(listed, first):bisect.bisect_right(listed, last)]
        return found

    # --- measuring ------------------------------------------------------------------

    def _local(self, moment: datetime) -> datetime:
        return moment.astimezone(self.zone).replace(tzinfo=None)

    def _within(self, weekday: int, second: float) -> float:
        """Working seconds of a weekday before ``second`` after midnight."""
        return sum(max(0, min(b, second) - a) for a, b in self._days[weekday].spans)

    def _cumulative(self, local: datetime) -> float:
        """Working seconds from the epoch to a local wall-clock time, holidays not taken off."""
        days = (local.date() - _EPOCH).days
        weeks, weekday = divmod(days, 7)
        second = local.hour * 3600 + local.minute * 60 + local.second + local.microsecond / 1e6
        return weeks * self.week_seconds + self._before[weekday] + self._within(weekday, second)

    def elapsed(self, start: datetime, end: datetime) -> float:
        """Time from ``start`` to ``end`` on this clock, in seconds (0 if end is not later)."""
        if end <= start:
            return 0.0
        if not self.business:
            return (end - start).total_seconds()
        first, last = self._local(start), self._local(end)
        total = self._cumulative(last) - self._cumulative(first)
        for day in self.holidays_between(first.date(), last.date()):
            weekday = day.weekday()
            low = self._within(weekday, _second(first)) if day == first.date() else 0.0
            high = self._within(weekday, _second(last)) if day == last.date() else float(self._days[weekday].seconds)
            total -= max(0.0, high - low)
        return max(0.0, total)

    def seconds(self, span: Span | timedelta) -> float:
        """How long a target such as ``1d4h`` is on this clock (working days are ``day_seconds``)."""
        if isinstance(span, timedelta):
            return span.total_seconds()
        if not self.business:
            return span.calendar().total_seconds()
        return span.weeks * self.week_seconds + span.days * self.day_seconds + span.seconds

    def add(self, start: datetime, span: Span | timedelta | float) -> datetime:
        """The moment ``span`` (a target, a timedelta, or seconds on this clock) after ``start``."""
        wanted = span if isinstance(span, (int, float)) else self.seconds(span)
        if not self.business:
            return start + timedelta(seconds=wanted)
        local = self._local(start)
        day = local.date()
        second = float(_second(local))
        left = float(wanted)
        for _ in range(_MAX_DAYS):
            if not self.is_holiday(day):
                for a, b in self._days[day.weekday()].spans:
                    begin = max(a, second)
                    if begin >= b:
                        continue
                    if left <= b - begin:
                        return self._utc(day, begin + left)
                    left -= b - begin
            day += timedelta(days=1)
            second = 0.0
        raise ConfigError("the business calendar has no working time for years ahead",
                          hint="check sla.business_hours, sla.business_days and sla.holidays")

    def _utc(self, day: date, second: float) -> datetime:
        local = datetime.combine(day, time()) + timedelta(seconds=second)
        return local.replace(tzinfo=self.zone).astimezone(timezone.utc)

    def works_on(self, day: date) -> bool:
        """Whether ``day`` has working hours (round the clock: every day does)."""
        return not self.business or (bool(self._days[day.weekday()].seconds) and not self.is_holiday(day))

    def is_open(self, moment: datetime) -> bool:
        """Whether ``moment`` is working time."""
        if not self.business:
            return True
        local = self._local(moment)
        if self.is_holiday(local.date()):
            return False
        second = _second(local)
        return any(a <= second < b for a, b in self._days[local.weekday()].spans)

    # --- showing ------------------------------------------------------------------

    def format(self, seconds: float | None) -> str:
        """Time on this clock for people: ``2d4h``, where a business day is one working day."""
        return format_duration(seconds, day=self.day_seconds)

    def describe(self) -> str:
        """One line: ``calendar time`` or ``business hours: 08:00-17:00 Mon-Fri (Europe/Berlin)…``."""
        if self.hours is None:
            return "calendar time (a day is 24 hours)"
        groups: dict[tuple[tuple[int, int], ...], list[str]] = {}
        for weekday, spans in enumerate(self.hours.hours):
            if spans:
                groups.setdefault(spans, []).append(WEEKDAYS[weekday].title())
        hours = "; ".join(", ".join(_span(a, b) for a, b in spans) + " " + _days(names)
                          for spans, names in groups.items())
        holidays = [*self.hours.countries, *self.hours.holidays]
        return (f"business hours {hours} ({self.hours.timezone})"
                + (f", holidays {', '.join(holidays)}" if holidays else "")
                + f"; a working day is {format_duration(self.day_seconds)}")


def _second(local: datetime) -> float:
    return local.hour * 3600 + local.minute * 60 + local.second + local.microsecond / 1e6


def _span(start: int, end: int) -> str:
    return f"{start // 60:02d}:{start % 60:02d}-{end // 60:02d}:{end % 60:02d}"


def _days(names: list[str]) -> str:
    ordered = [day.title() for day in WEEKDAYS]
    if len(names) > 2 and ordered.index(names[-1]) - ordered.index(names[0]) == len(names) - 1:
        return f"{names[0]}-{names[-1]}"
    return ", ".join(names)
