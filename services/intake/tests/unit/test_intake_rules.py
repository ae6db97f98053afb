"""Intake's rules on what a caller may state: the reception time, and how often the desk asks for more."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from uuid import uuid4

import pytest

from motcua_common.config.clock import FixedClock
from motcua_common.events.context import Actor, CommandContext, command_context, concerning
from motcua_common.errors import InvalidArgument, RuleViolated
from motcua_common.province.working_calendar import WorkingCalendar

from motcua_intake.domain.dossier import MAX_INTAKE_SUPPLEMENT_REQUESTS, PendingDossier, check_reception_time

NOW = datetime(2026, 11, 26, 3, 0, tzinfo=timezone.utc)  # Thursday 10:00 in Vietnam
CALENDAR = WorkingCalendar.from_data({})


def refused_field(received_at: datetime, channel: str, bound: float = 3) -> str:
    with pytest.raises(InvalidArgument) as error:
        check_reception_time(received_at, NOW, channel, CALENDAR, bound)
    return error.value.violations[0].field + ": " + error.value.violations[0].description


@pytest.mark.parametrize("channel", ["desk", "post"])
def test_a_desk_or_postal_intake_may_state_an_earlier_time_within_the_provinces_bound(channel):
    check_reception_time(NOW - timedelta(days=1), NOW, channel, CALENDAR, 3)
    assert "at most 3 working days" in refused_field(NOW - timedelta(days=400), channel)
    assert "at most 1 working days" in refused_field(NOW - timedelta(days=3), channel, bound=1)


def test_an_online_submission_is_received_when_it_arrives():
    check_reception_time(NOW - timedelta(seconds=30), NOW, "online", CALENDAR, 3)  # within the clock's skew
    assert refused_field(NOW - timedelta(hours=2), "online").startswith("received_at: only a desk or postal")


@pytest.mark.parametrize("channel", ["desk", "post", "online"])
def test_no_intake_is_received_in_the_future(channel):
    check_reception_time(NOW + timedelta(seconds=30), NOW, channel, CALENDAR, 3)
    assert refused_field(NOW + timedelta(minutes=5), channel) == "received_at: cannot be in the future"


@pytest.fixture
def pending():
    dossier_id = uuid4()
    ctx = CommandContext(Actor(kind="official", subject="canbo"), "test", FixedClock(NOW))
    with command_context(ctx), concerning(dossier_id):
        yield PendingDossier(id=PendingDossier.id_for("test", dossier_id), dossier_id=dossier_id, code="X-1",
                             procedure_code="1.004873", receiving_agency_code="A", channel="desk", applicant={},
                             components=[], missing=[{"code": "TO_KHAI", "name": "Tờ khai"}], registered_at=NOW)


def test_a_second_supplement_request_waits_for_the_answer_to_the_first(pending):
    pending.request_supplement("Thiếu tờ khai", NOW)
    with pytest.raises(RuleViolated, match="waits for the answer"):
        pending.request_supplement("Thiếu tờ khai", NOW)
    assert pending.supplement_requests == 1


def test_the_desk_asks_for_a_supplement_at_most_twice_then_refuses(pending):
    for _ in range(MAX_INTAKE_SUPPLEMENT_REQUESTS):
        pending.request_supplement("Thiếu tờ khai", NOW)
        pending.supplement([{"code": "OTHER"}], missing_after=pending.missing, now=NOW)  # still incomplete
    with pytest.raises(RuleViolated, match="refuse it"):
        pending.request_supplement("Vẫn thiếu tờ khai", NOW)
    assert pending.supplement_requests == MAX_INTAKE_SUPPLEMENT_REQUESTS
    pending.refuse("Không bổ sung đủ", NOW)
    assert pending.national_status == 3
