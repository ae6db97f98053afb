"""A fee schedule's one validation (motcua_common.province.fees), used by intake's catalogue and by payment:
a bad schedule is refused naming its field; the clock and refund defaults; a schedule survives being
stored as plain data (an event) and read back."""
from __future__ import annotations

from datetime import date

import pytest

from motcua_common.province.fees import (FeeScheduleError, parse_fee_schedule, parse_fee_schedules,
                                         schedule_on)

DEFAULT_FROM = date(2025, 7, 1)


def raw(**changes) -> dict:  # type: ignore[no-untyped-def]
    values = {"group": "Chứng thực", "due": "before_processing", "collector": "UBND xã", "source": "TT 226/2016",
              "items": [{"code": "LE_PHI", "kind": "le_phi", "name": "Lệ phí", "amount_vnd": 10_000,
                         "legal_basis": "TT 226/2016", "unit": "trường hợp"}],
              "exemptions": [{"code": "HO_NGHEO", "name": "Hộ nghèo", "legal_basis": "Luật X", "items": ["LE_PHI"]}]}
    values.update(changes)
    return values


@pytest.mark.parametrize("changes, field", [
    ({"due": "later"}, "s.due"),
    ({"group": ""}, "s.group"),
    ({"source": None}, "s.source"),
    ({"items": []}, "s.items"),
    ({"items": [{"code": "A", "kind": "tax", "name": "N", "legal_basis": "L", "amount_vnd": 1}]}, "s.items[0].kind"),
    ({"items": [{"code": "A", "kind": "phi", "name": "N", "legal_basis": "L", "amount_vnd": 2.5}]},
     "s.items[0].amount_vnd"),
    ({"items": [{"code": "A", "kind": "phi", "name": "N", "amount_vnd": 1}]}, "s.items[0].legal_basis"),
    ({"exemptions": [{"code": "E", "name": "N", "legal_basis": "L", "items": ["NOPE"]}]}, "s.exemptions[0].items"),
    ({"refund_on": {"withdrawn": "half"}}, "s.refund_on.withdrawn"),
    ({"refund_on": {"cancelled": "full"}}, "s.refund_on"),
    ({"due": "before_result", "clock_stops_while_unpaid": True}, "s.clock_stops_while_unpaid"),
    ({"clock_stops_while_unpaid": "yes"}, "s.clock_stops_while_unpaid"),
    ({"effective_from": "soon"}, "s.effective_from"),
])
def test_a_bad_schedule_is_refused_naming_its_field(changes, field):
    with pytest.raises(FeeScheduleError) as refused:
        parse_fee_schedule(raw(**changes), "s", "2.000884", DEFAULT_FROM)
    assert str(refused.value).startswith(field + ":")


def test_a_bad_procedure_code_is_refused():
    with pytest.raises(FeeScheduleError, match=r"s\.procedure"):
        parse_fee_schedule(raw(), "s", "2000884", DEFAULT_FROM)


@pytest.mark.parametrize("changes, stops", [
    ({}, True),  # the default: a fee due before processing holds the clock
    ({"due": "before_result"}, False),
    ({"clock_stops_while_unpaid": False}, False),
])
def test_a_fee_due_before_processing_stops_the_clock_unless_the_schedule_says_not(changes, stops):
    assert parse_fee_schedule(raw(**changes), "s", "2.000884", DEFAULT_FROM).clock_stops_while_unpaid is stops


def test_an_ending_not_listed_refunds_in_full():
    schedule = parse_fee_schedule(raw(refund_on={"withdrawn": "le_phi"}), "s", "2.000884", DEFAULT_FROM)
    assert (schedule.refund_rule("withdrawn"), schedule.refund_rule("refused")) == ("le_phi", "full")


def test_the_schedule_in_force_is_the_latest_that_took_effect_and_two_on_one_day_are_refused():
    schedules = parse_fee_schedules([raw(effective_from="2026-12-01"), raw(effective_from=date(2017, 1, 1))],
                                    "fee_schedules", "2.000884", DEFAULT_FROM)
    assert schedule_on(schedules, date(2016, 12, 31)) is None
    assert schedule_on(schedules, date(2026, 11, 30)).effective_from == date(2017, 1, 1)
    assert schedule_on(schedules, date(2026, 12, 1)).effective_from == date(2026, 12, 1)
    with pytest.raises(FeeScheduleError, match="same day"):
        parse_fee_schedules([raw(), raw()], "fee_schedules", "2.000884", DEFAULT_FROM)


def test_a_schedule_reads_back_from_its_record_unchanged():
    schedule = parse_fee_schedule(raw(refund_on={"withdrawn": "none"}), "s", "2.000884", DEFAULT_FROM)
    again = type(schedule).from_record(schedule.record())
    assert again == schedule and dict(again.refund_on) == {"withdrawn": "none"} and again.total_vnd == 10_000
