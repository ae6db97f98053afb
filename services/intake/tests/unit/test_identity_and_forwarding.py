"""Citizen identification numbers and the 15:00 forwarding rule."""
from __future__ import annotations

from datetime import date, datetime

import pytest

from motcua_common.province.working_calendar import VIETNAM_TZ, WorkingCalendar

from motcua_intake.domain.dossier import forwarding_time
from motcua_intake.domain.identity import citizen_id_problem

TODAY = date(2026, 11, 21)
CALENDAR = WorkingCalendar.from_data({})


@pytest.mark.parametrize("value", ["045090001234", "001190000001", "079200123456", "096305000001"])
def test_well_formed_numbers_pass(value):
    assert citizen_id_problem(value, TODAY) is None


@pytest.mark.parametrize("value, problem", [
    ("04509000123", "12 digits"),
    ("04509000123a", "12 digits"),
    ("003090001234", "003, which is not a province code"),
    ("045299001234", "year of birth (2099) in the future"),
    ("045" + "\u0661\u0669\u0660" * 3, "12 digits"),  # Arabic-Indic digits pass str.isdigit()
    ("04509000123\u00b2", "12 digits"),  # a superscript two passes str.isdigit() but not int()
    ("045090001234\n", "12 digits"),
])
def test_malformed_numbers_say_what_is_wrong(value, problem):
    assert problem in citizen_id_problem(value, TODAY)


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=VIETNAM_TZ)


def test_received_by_15_00_on_a_working_day_goes_on_at_once():
    assert forwarding_time(local(2026, 11, 20, 15, 0), CALENDAR) == local(2026, 11, 20, 15, 0)


def test_received_after_15_00_on_friday_goes_on_monday_morning():
    assert forwarding_time(local(2026, 11, 20, 15, 1), CALENDAR) == local(2026, 11, 23, 7, 0)


def test_received_online_on_a_sunday_goes_on_at_the_next_working_day_start():
    assert forwarding_time(local(2026, 11, 22, 10, 0), CALENDAR) == local(2026, 11, 23, 7, 0)


def test_received_before_tet_goes_on_when_the_office_reopens():
    # Tết 2026: off 14-22 Feb (DOMAIN.md); a dossier received on Friday 13 Feb after 15:00 waits for Monday 23 Feb
    assert forwarding_time(local(2026, 2, 13, 16, 0), CALENDAR) == local(2026, 2, 23, 7, 0)
