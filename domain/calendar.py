"""The business calendar (weekdays minus public holidays) and local-date helpers for the follow-up rules."""

from __future__ import annotations

import functools
import threading
from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays

_SATURDAY = 5


class BusinessCalendar:
    """Monday to Friday, minus the public holidays of one country (and subdivision)."""

    def __init__(self, country: str = "US", subdivision: str | None = None) -> None:
        try:
            # Built once here only to reject an unknown country or subdivision early.
            holidays.country_holidays(country, subdiv=subdivision)
        except NotImplementedError as error:
            where = country if subdivision is None else f"{country}/{subdivision}"
            raise ValueError(f"no holiday calendar for {where!r}: {error}") from error
        self.country = country
        self.subdivision = subdivision
        # The holidays package expands years lazily by mutating itself on reads,
        # which is not safe to share between threads. Each year is built once,
        # under the lock, into a plain dict that is never changed afterwards.
        self._names_by_year: dict[int, dict[date, str]] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"BusinessCalendar(country={self.country!r}, subdivision={self.subdivision!r})"

    def _holidays_in(self, year: int) -> Mapping[date, str]:
        names = self._names_by_year.get(year)
        if names is None:
            with self._lock:
                names = self._names_by_year.get(year)
                if names is None:
                    names = dict(holidays.country_holidays(self.country, subdiv=self.subdivision, years=year))
                    self._names_by_year[year] = names
        return names

    def holiday_name(self, d: date) -> str | None:
        """The public holiday's name on that date (several joined by '; '), or None."""
        return self._holidays_in(d.year).get(d)

    def is_business_day(self, d: date) -> bool:
        return d.weekday() < _SATURDAY and self.holiday_name(d) is None

    def business_days_after(self, d: date, n: int) -> date:
        """The n-th business day strictly after d (n >= 1)."""
        if n < 1:
            raise ValueError(f"n must be at least 1, got {n}")
        day = d
        counted = 0
        while counted < n:
            day += timedelta(days=1)
            if self.is_business_day(day):
                counted += 1
        return day

    def holidays_between(self, start: date, end: date) -> list[tuple[date, str]]:
        """Holidays falling on weekdays strictly after start and up to end inclusive."""
        found: list[tuple[date, str]] = []
        day = start + timedelta(days=1)
        while day <= end:
            name = self.holiday_name(day)
            if name is not None and day.weekday() < _SATURDAY:
                found.append((day, name))
            day += timedelta(days=1)
        return found


@functools.lru_cache(maxsize=None)
def calendar_for(country: str = "US", subdivision: str | None = None) -> BusinessCalendar:
    """The shared calendar of a country and subdivision: holiday tables are costly to build."""
    return BusinessCalendar(country, subdivision)


def _zone(tz: str) -> ZoneInfo:
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ValueError(f"unknown time zone {tz!r}") from error


def _require_aware(instant: datetime, what: str = "instant") -> None:
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware, got naive {instant.isoformat()}")


def local_datetime(instant: datetime, tz: str) -> datetime:
    """The same instant, read on the clocks of an IANA time zone."""
    _require_aware(instant)
    return instant.astimezone(_zone(tz))


def local_date(instant: datetime, tz: str) -> date:
    """The calendar date of an instant in an IANA time zone."""
    return local_datetime(instant, tz).date()


def start_of_day(d: date, tz: str) -> datetime:
    """The first instant of a local date (00:00 in that zone)."""
    # fold=0 picks the earlier reading of an ambiguous midnight, and for a
    # midnight skipped by a DST jump it lands on the first instant that exists.
    return datetime.combine(d, time.min, tzinfo=_zone(tz))


def end_of_day(d: date, tz: str) -> datetime:
    """The last instant of a local date (23:59:59.999999 in that zone)."""
    # fold=1 picks the later reading if clocks go back just before midnight.
    return datetime.combine(d, time.max, tzinfo=_zone(tz)).replace(fold=1)
