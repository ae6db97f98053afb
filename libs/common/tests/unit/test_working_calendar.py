"""The working-day calendar: national holidays (lunar ones in UTC+7), swapped days,
province closures and extra sessions, and working-time arithmetic."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from motcua_common.province.working_calendar import VIETNAM_TZ, CalendarDataError, WorkingCalendar

DEFAULT = WorkingCalendar.from_data({})
LAND = WorkingCalendar.from_data({"extra_sessions": [{"group": "land", "weekday": "saturday", "hours": [["07:30", "11:30"]]}]},
                                 group="land")


def local(y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=VIETNAM_TZ)


@pytest.mark.parametrize("day", [date(2026, 2, 16), date(2026, 2, 17), date(2026, 2, 20),  # Tết 2026
                                 date(2026, 4, 27),  # Hùng Kings, observed on Monday
                                 date(2026, 4, 30), date(2026, 5, 1), date(2026, 9, 1), date(2026, 9, 2),
                                 date(2026, 8, 31)])  # the day off swapped for Saturday 22 August
def test_public_holidays_are_not_working_days(day):
    assert not DEFAULT.is_working_day(day)


def test_a_swapped_saturday_is_a_working_day():
    assert DEFAULT.is_working_day(date(2026, 8, 22))
    assert not DEFAULT.is_working_day(date(2026, 8, 29))


def test_lunar_new_year_is_taken_in_vietnam_time():
    assert DEFAULT.holiday_name(date(2030, 2, 2)) is not None  # Tết 2030 is 2 Feb in UTC+7 (3 Feb in UTC+8)
    assert "Tết" in (DEFAULT.holiday_name(date(2026, 2, 17)) or "")


def test_one_working_day_ends_at_the_same_clock_time_the_next_working_day():
    assert DEFAULT.add_working_days(local(2026, 11, 19, 9, 15), 1) == local(2026, 11, 20, 9, 15)


def test_deadlines_skip_weekends_and_holidays():
    # Friday 13 Feb 2026 at 10:00 + 2 working days: Tết closes 16-20 Feb, so Tuesday 24 Feb 10:00.
    assert DEFAULT.add_working_days(local(2026, 2, 13, 10), 2) == local(2026, 2, 24, 10)
    # Friday 21 Aug 2026 at 14:00 + 1 working day: Saturday 22 Aug is a make-up working day.
    assert DEFAULT.add_working_days(local(2026, 8, 21, 14), 1) == local(2026, 8, 22, 14)


def test_work_received_outside_office_hours_starts_at_the_next_session():
    assert DEFAULT.add_working_time(local(2026, 11, 20, 20), timedelta(hours=1)) == local(2026, 11, 23, 8)
    assert DEFAULT.add_working_time(local(2026, 11, 19, 12), timedelta(hours=1)) == local(2026, 11, 19, 14, 30)


def test_a_procedure_groups_extra_session_counts_only_for_that_group():
    friday_afternoon = local(2026, 11, 20, 16)
    assert LAND.add_working_time(friday_afternoon, timedelta(hours=2)) == local(2026, 11, 21, 8, 30)
    assert DEFAULT.add_working_time(friday_afternoon, timedelta(hours=2)) == local(2026, 11, 23, 8)


def test_a_province_closure_is_not_a_working_day():
    closed = WorkingCalendar.from_data({"closures": [{"date": "2026-11-20", "reason": "bão"}]})
    assert not closed.is_working_day(date(2026, 11, 20))
    assert closed.add_working_days(local(2026, 11, 19, 9), 1) == local(2026, 11, 23, 9)


@pytest.mark.parametrize("data, message", [
    ({"office_hours": [["11:00", "08:00"]]}, "ends before it starts"),
    ({"office_hours": [["07:00", "12:00"], ["11:00", "17:00"]]}, "overlap"),
    ({"office_hours": [["7h", "12:00"]]}, "not a time"),
    ({"extra_sessions": [{"weekday": "caturday", "hours": [["08:00", "09:00"]]}]}, "weekday"),
])
def test_bad_calendar_data_is_refused_with_the_place_named(data, message):
    with pytest.raises(CalendarDataError, match=message):
        WorkingCalendar.from_data(data)


instants = st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2031, 12, 31),
                        timezones=st.just(timezone.utc))
amounts = st.integers(min_value=1, max_value=60 * 8 * 40).map(lambda m: timedelta(minutes=m))


def in_a_session(calendar: WorkingCalendar, instant: datetime) -> bool:
    local_time = instant.astimezone(VIETNAM_TZ)
    return any(s < local_time <= e for s, e in calendar.sessions_on(local_time.date()))


@settings(max_examples=300, deadline=None)
@given(instants, amounts)
def test_adding_working_time_never_ends_on_a_holiday_or_outside_office_hours(start, amount):
    end = DEFAULT.add_working_time(start, amount)
    assert DEFAULT.is_working_day(end.astimezone(VIETNAM_TZ).date())
    assert in_a_session(DEFAULT, end)


@settings(max_examples=300, deadline=None)
@given(instants, amounts)
def test_the_working_time_between_start_and_due_is_what_was_added(start, amount):
    assert DEFAULT.working_time_between(start, DEFAULT.add_working_time(start, amount)) == amount


@settings(max_examples=300, deadline=None)
@given(instants, amounts)
def test_adding_then_subtracting_returns_to_the_start_of_work(start, amount):
    begun = DEFAULT.add_working_time(start, timedelta(0))  # the first working instant at or after start
    end = DEFAULT.add_working_time(begun, amount)
    back = DEFAULT.subtract_working_time(end, amount)
    assert DEFAULT.working_time_between(back, begun) == timedelta(0)
    assert DEFAULT.working_time_between(begun, back) == timedelta(0)


@settings(max_examples=200, deadline=None)
@given(instants, amounts, instants, st.integers(min_value=1, max_value=60 * 24 * 10).map(lambda m: timedelta(minutes=m)))
def test_a_pause_moves_the_due_time_by_exactly_the_working_time_inside_it(start, amount, pause_start, pause_length):
    due = DEFAULT.add_working_time(start, amount)
    pause_end = pause_start + pause_length
    paused = DEFAULT.working_time_between(max(start, pause_start), min(due, pause_end)) if pause_start < due else timedelta(0)
    moved = DEFAULT.add_working_time(due, paused)
    assert DEFAULT.working_time_between(due, moved) == paused
