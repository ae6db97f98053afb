"""The shared facts: national statuses, channels, the case's transitions, and both reports' views of an end."""
from __future__ import annotations

import pytest

from motcua_common.province.dossier_rules import (CASE_NATIONAL_STATUS, CHANNELS, Channel, NationalStatus, case_state_after,
                                         outcome, stop_end_reason_from_text)


def test_national_status_and_channel_codes_are_the_portals():
    assert [int(s) for s in NationalStatus] == list(range(1, 11))
    assert (Channel.DESK, Channel.ONLINE, Channel.POST) == (1, 2, 3) and CHANNELS == ("desk", "online", "post")
    assert {k: int(v) for k, v in CASE_NATIONAL_STATUS.items()} == {
        "in_progress": 4, "paused": 5, "processed": 9, "stopped": 8, "returned": 10}


def test_the_case_moves_only_on_the_events_that_move_it():
    assert case_state_after("Case.Opened") == "in_progress"
    assert case_state_after("Case.SupplementRequested") == "paused"
    assert case_state_after("Resumed") == "in_progress"
    assert case_state_after("Case.Stopped") == "stopped"
    assert case_state_after("Case.Processed") == "processed"
    assert case_state_after("Case.ResultReturned") == "returned"
    assert case_state_after("Case.StepAssigned") is None


@pytest.mark.parametrize("end_reason, timing, progress_766, operational", [
    ("processed", "early", "on_time", "early"),
    ("processed", "late", "late", "late"),
    ("result_returned", "on_time", "on_time", "on_time"),
    ("withdrawn", "early", "on_time", "cancelled"),  # counted by 766, apart in operations
    ("withdrawn", "late", "late", "cancelled"),
    ("refused", "early", "on_time", "denied"),
    ("stopped", "on_time", "on_time", "stopped"),
    ("", "", "", ""),  # still open
])
def test_both_views_of_an_end(end_reason, timing, progress_766, operational):
    assert (outcome(end_reason, timing).progress_766, outcome(end_reason, timing).operational) == (progress_766, operational)


def test_a_stop_recorded_before_end_reasons_is_known_by_its_text():
    assert stop_end_reason_from_text("Người nộp rút hồ sơ: Không có nhu cầu") == "withdrawn"
    assert stop_end_reason_from_text("Dừng theo quy định") == "stopped"
