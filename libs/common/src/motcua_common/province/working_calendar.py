"""Working time in a province: office sessions, national holidays (lunar ones in
UTC+7), swapped days, and the province's own closures and extra sessions.

All arithmetic is in working time: `add_working_hours(t, 8)` is one working
day later at the same clock time, because the default sessions sum to 8 hours.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from typing import Iterable, Iterator

import holidays

VIETNAM_TZ = timezone(timedelta(hours=7), "ICT")  # no daylight saving since 1975
HOURS_PER_WORKING_DAY = 8
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


class CalendarDataError(ValueError):
    pass


def _parse_time(text: str, where: str) -> time:
    try:
        return time.fromisoformat(text)
    except ValueError as exc:
        raise CalendarDataError(f"{where}: {text!r} is not a time like 07:30") from exc


def _parse_sessions(raw: Iterable, where: str) -> tuple[tuple[time, time], ...]:
    sessions = []
    for i, pair in enumerate(raw):
        start, end = _parse_time(pair[0], f"{where}[{i}]"), _parse_time(pair[1], f"{where}[{i}]")
        if end <= start:
            raise CalendarDataError(f"{where}[{i}]: session ends before it starts")
        sessions.append((start, end))
    sessions.sort()
    for (s1, e1), (s2, _) in zip(sessions, sessions[1:]):
        if s2 < e1:
            raise CalendarDataError(f"{where}: sessions overlap")
    return tuple(sessions)


@dataclass(frozen=True)
class WorkingCalendar:
    office_hours: tuple[tuple[time, time], ...]
    closures: frozenset[date] = frozenset()
    extra_working_days: frozenset[date] = frozenset()
    extra_sessions: dict[str, tuple[tuple[time, time], ...]] = field(default_factory=dict)  # weekday -> sessions
    use_national_holidays: bool = True

    @classmethod
    def from_data(cls, data: dict, group: str | None = None) -> "WorkingCalendar":
        """Build from a province's calendar data; `group` adds that procedure group's extra sessions."""
        office = _parse_sessions(data.get("office_hours", [["07:00", "11:30"], ["13:30", "17:00"]]), "office_hours")
        extra: dict[str, tuple[tuple[time, time], ...]] = {}
        for i, item in enumerate(data.get("extra_sessions", [])):
            if group is not None and item.get("group") not in (None, group):
                continue
            if group is None and item.get("group") is not None:
                continue
            weekday = str(item.get("weekday", "")).lower()
            if weekday not in WEEKDAYS:
                raise CalendarDataError(f"extra_sessions[{i}].weekday: {weekday!r} is not a weekday name")
            extra[weekday] = _parse_sessions(item["hours"], f"extra_sessions[{i}].hours")
        return cls(
            office_hours=office,
            closures=frozenset(date.fromisoformat(str(c["date"])) for c in data.get("closures", [])),
            extra_working_days=frozenset(date.fromisoformat(str(c["date"])) for c in data.get("extra_working_days", [])),
            extra_sessions=extra,
            use_national_holidays=data.get("national_holidays", True),
        )

    # -- days ---------------------------------------------------------------
    def holiday_name(self, day: date) -> str | None:
        if day in self.closures:
            return "closure"
        if self.use_national_holidays:
            return _national_holidays(day.year).get(day)
        return None

    def is_working_day(self, day: date) -> bool:
        if day in self.closures:
            return False
        if day in self.extra_working_days or (self.use_national_holidays and day in _swapped_workdays(day.year)):
            return True
        if self.holiday_name(day):
            return False
        return day.weekday() < 5

    def sessions_on(self, day: date) -> list[tuple[datetime, datetime]]:
        sessions: tuple[tuple[time, time], ...] = ()
        if self.is_working_day(day):
            sessions = self.office_hours
        elif not self.holiday_name(day):
            sessions = self.extra_sessions.get(WEEKDAYS[day.weekday()], ())
        return [
            (datetime.combine(day, s, VIETNAM_TZ), datetime.combine(day, e, VIETNAM_TZ)) for s, e in sessions
        ]

    def _sessions_from(self, start: datetime) -> Iterator[tuple[datetime, datetime]]:
        local = start.astimezone(VIETNAM_TZ)
        day = local.date()
        for _ in range(3660):  # ten years of days: a bound, so bad data cannot loop forever
            for s, e in self.sessions_on(day):
                if e > local:
                    yield max(s, local), e
            day += timedelta(days=1)
        raise CalendarDataError("no working session within ten years")

    def _sessions_before(self, end: datetime) -> Iterator[tuple[datetime, datetime]]:
        local = end.astimezone(VIETNAM_TZ)
        day = local.date()
        for _ in range(3660):
            for s, e in reversed(self.sessions_on(day)):
                if s < local:
                    yield s, min(e, local)
            day -= timedelta(days=1)
        raise CalendarDataError("no working session within ten years")

    # -- working-time arithmetic ----------------------------------------------
    def add_working_time(self, start: datetime, amount: timedelta) -> datetime:
        if amount < timedelta(0):
            return self.subtract_working_time(start, -amount)
        remaining = amount
        for s, e in self._sessions_from(start):
            if remaining <= e - s:
                return (s + remaining).astimezone(timezone.utc)
            remaining -= e - s
        raise AssertionError("unreachable")

    def subtract_working_time(self, end: datetime, amount: timedelta) -> datetime:
        remaining = amount
        for s, e in self._sessions_before(end):
            if remaining <= e - s:
                return (e - remaining).astimezone(timezone.utc)
            remaining -= e - s
        raise AssertionError("unreachable")

    def add_working_days(self, start: datetime, days: float) -> datetime:
        return self.add_working_time(start, timedelta(hours=HOURS_PER_WORKING_DAY * days))

    def working_time_between(self, start: datetime, end: datetime) -> timedelta:
        if end <= start:
            return timedelta(0)
        total = timedelta(0)
        for s, e in self._sessions_from(start):
            if s >= end:
                break
            total += min(e, end) - s
        return total


@lru_cache(maxsize=64)
def _national_holidays(year: int) -> holidays.HolidayBase:
    return holidays.Vietnam(years=year, language="vi")


@lru_cache(maxsize=64)
def _swapped_workdays(year: int) -> frozenset[date]:
    return frozenset(d for d in _national_holidays(year).weekend_workdays if d.year == year)
