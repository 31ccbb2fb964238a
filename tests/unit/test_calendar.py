"""The business calendar: weekends and public holidays are not business days; dates are local."""

from __future__ import annotations

import threading
from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from domain.calendar import (
    BusinessCalendar,
    calendar_for,
    end_of_day,
    local_date,
    start_of_day,
)

US = calendar_for("US")


def test_weekdays_are_business_days_and_weekends_are_not():
    assert US.is_business_day(date(2026, 3, 2))  # Monday
    assert US.is_business_day(date(2026, 3, 6))  # Friday
    assert not US.is_business_day(date(2026, 3, 7))  # Saturday
    assert not US.is_business_day(date(2026, 3, 8))  # Sunday


def test_thanksgiving_is_not_a_business_day():
    assert not US.is_business_day(date(2026, 11, 26))
    assert US.holiday_name(date(2026, 11, 26)) == "Thanksgiving Day"
    assert US.holiday_name(date(2026, 11, 25)) is None


def test_an_observed_holiday_is_not_a_business_day():
    # Independence Day 2026 is a Saturday; the federal holiday is observed on Friday 3 July.
    assert not US.is_business_day(date(2026, 7, 3))


def test_the_next_business_day_after_a_friday_is_the_monday():
    assert US.business_days_after(date(2026, 3, 6), 1) == date(2026, 3, 9)


def test_business_days_after_count_strictly_after_the_day():
    assert US.business_days_after(date(2026, 3, 2), 1) == date(2026, 3, 3)
    assert US.business_days_after(date(2026, 3, 2), 4) == date(2026, 3, 6)
    assert US.business_days_after(date(2026, 3, 2), 5) == date(2026, 3, 9)


def test_business_days_after_skip_thanksgiving():
    # Wed 25 Nov 2026: Thu 26 is Thanksgiving; Fri 27, Mon 30, Tue 1, Wed 2, Thu 3.
    assert US.business_days_after(date(2026, 11, 25), 1) == date(2026, 11, 27)
    assert US.business_days_after(date(2026, 11, 25), 4) == date(2026, 12, 2)
    assert US.business_days_after(date(2026, 11, 25), 5) == date(2026, 12, 3)


def test_business_days_after_need_at_least_one_day():
    with pytest.raises(ValueError):
        US.business_days_after(date(2026, 3, 2), 0)


def test_holidays_between_lists_weekday_holidays_after_start_up_to_end():
    assert US.holidays_between(date(2026, 12, 24), date(2027, 1, 4)) == [
        (date(2026, 12, 25), "Christmas Day"),
        (date(2027, 1, 1), "New Year's Day"),
    ]
    # Strictly after start, end inclusive.
    assert US.holidays_between(date(2026, 12, 25), date(2027, 1, 1)) == [(date(2027, 1, 1), "New Year's Day")]


def test_holidays_between_leaves_out_holidays_on_weekends():
    # 4 July 2026 is a Saturday: only the observed Friday is listed.
    assert US.holidays_between(date(2026, 7, 1), date(2026, 7, 6)) == [
        (date(2026, 7, 3), "Independence Day (observed)")
    ]


def test_a_state_holiday_counts_only_in_that_state():
    # Patriots' Day, Monday 20 April 2026, is a Massachusetts holiday, not a federal one.
    massachusetts = calendar_for("US", "MA")
    assert not massachusetts.is_business_day(date(2026, 4, 20))
    assert massachusetts.holiday_name(date(2026, 4, 20)) == "Patriots' Day"
    assert US.is_business_day(date(2026, 4, 20))


def test_another_country_has_its_own_holidays():
    britain = calendar_for("GB")
    canada = calendar_for("CA")
    assert not britain.is_business_day(date(2026, 12, 28))  # Boxing Day (observed)
    assert US.is_business_day(date(2026, 12, 28))
    assert not canada.is_business_day(date(2026, 7, 1))  # Canada Day
    assert US.is_business_day(date(2026, 7, 1))


def test_an_unknown_country_is_refused_with_a_clear_error():
    with pytest.raises(ValueError, match="XX"):
        BusinessCalendar("XX")


def test_an_unknown_subdivision_is_refused_with_a_clear_error():
    with pytest.raises(ValueError, match="US/ZZ"):
        calendar_for("US", "ZZ")


def test_calendars_are_shared_per_country_and_subdivision():
    assert calendar_for("US", "MA") is calendar_for("US", "MA")
    assert calendar_for("US") is not calendar_for("US", "MA")


def test_a_calendar_gives_the_same_answers_from_many_threads():
    calendar = BusinessCalendar("US")
    days = [date(year, 11, 26) for year in range(2000, 2040)]
    expected = [BusinessCalendar("US").is_business_day(day) for day in days]
    results: list[list[bool]] = []

    def read_all() -> None:
        results.append([calendar.is_business_day(day) for day in days])

    threads = [threading.Thread(target=read_all) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [expected] * 8


def test_the_local_date_is_not_the_utc_date_near_midnight():
    # 23:30 in Los Angeles is already the next day in UTC.
    instant = datetime(2026, 3, 2, 23, 30, tzinfo=ZoneInfo("America/Los_Angeles"))
    assert instant.astimezone(timezone.utc).date() == date(2026, 3, 3)
    assert local_date(instant, "America/Los_Angeles") == date(2026, 3, 2)
    assert local_date(instant, "UTC") == date(2026, 3, 3)


def test_a_day_starts_at_local_midnight_and_ends_just_before_the_next():
    new_york = ZoneInfo("America/New_York")
    assert start_of_day(date(2026, 12, 2), "America/New_York") == datetime(2026, 12, 2, tzinfo=new_york)
    assert end_of_day(date(2026, 12, 3), "America/New_York") == datetime(
        2026, 12, 3, 23, 59, 59, 999999, tzinfo=new_york
    )
    assert start_of_day(date(2026, 12, 2), "America/New_York") == datetime(2026, 12, 2, 5, tzinfo=timezone.utc)


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError, match="naive"):
        local_date(datetime(2026, 3, 2, 23, 30), "America/Los_Angeles")


def test_an_unknown_time_zone_is_refused():
    with pytest.raises(ValueError, match="Mars/Olympus"):
        local_date(datetime(2026, 3, 2, tzinfo=timezone.utc), "Mars/Olympus")
