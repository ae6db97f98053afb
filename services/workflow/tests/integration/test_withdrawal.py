"""A dossier withdrawn at intake has its processing stopped by workflow's policy."""
from __future__ import annotations

import pytest

from motcua_common.errors import RuleViolated

from workflow_testkit import OFFICIAL, submit_dossiers

pytestmark = pytest.mark.integration


def reader(intake):  # type: ignore[no-untyped-def]
    return lambda start, limit: intake.read_notifications(start, limit)


@pytest.mark.parametrize("same_page", [False, True])
def test_a_withdrawn_dossier_has_its_case_stopped(apps, same_page):
    intake, workflow, follower, _ = apps
    dossier = submit_dossiers(intake, 1)[0]
    if not same_page:
        follower.catch_up(reader(intake))  # the case is opened before the withdrawal arrives
    withdrawn = intake.withdraw_dossier("w-1", dossier["id"], dossier["version"], "Không còn nhu cầu", OFFICIAL)
    assert withdrawn["national_status"] == 7
    follower.catch_up(reader(intake))

    case = workflow.get_case(dossier_id=dossier["id"])
    assert case.status == "stopped" and case.national_status == 8 and case.classification == "early"
    assert (case.end_reason, case.outcome.progress_766, case.outcome.operational) == ("withdrawn", "on_time", "cancelled")
    rows, _ = workflow.list_cases(case.unit_code, "stopped", 50, "")  # the queue's read model says the same
    assert [(r["case_id"], r["end_reason"], r["classification"]) for r in rows] == [(case.id, "withdrawn", "early")]
    stopped = next(n for n in workflow.recorder.select_notifications(start=1, limit=100)
                   if n.topic.endswith(":Case.Stopped"))
    # the applicant's words are sealed in intake: the case says who stopped it, never why in their words
    assert workflow.decode(stopped).reason == "Người nộp rút hồ sơ"
    assert workflow.decode(stopped).envelope["causation_id"].startswith(f"intake:{dossier['id']}:")


def test_a_dossier_cannot_be_withdrawn_twice_and_a_retry_returns_the_first_result(apps):
    intake, _, _, _ = apps
    dossier = submit_dossiers(intake, 1)[0]
    first = intake.withdraw_dossier("w-2", dossier["id"], dossier["version"], "Rút", OFFICIAL)
    assert intake.withdraw_dossier("w-2", dossier["id"], dossier["version"], "Rút", OFFICIAL)["version"] == first["version"]
    with pytest.raises(RuleViolated, match="already withdrawn"):
        intake.withdraw_dossier("w-3", dossier["id"], first["version"], "Rút lần nữa", OFFICIAL)


def test_a_procedure_groups_calendar_follows_its_dossier_into_the_case(apps):
    """Construction permits (demo data) work Saturday mornings too: the case keeps that calendar."""
    from datetime import date, timedelta

    from workflow_testkit import submit_dossiers

    intake, workflow, follower, _ = apps
    dossier = submit_dossiers(intake, 1, procedure="1.013227")[0]
    follower.catch_up(lambda start, limit: intake.read_notifications(start, limit))
    case = workflow.get_case(dossier_id=dossier["id"])
    assert case.calendar_group == "construction"
    saturday = date(2026, 11, 28)
    assert saturday.weekday() == 5 and not workflow.calendar.is_working_day(saturday)
    assert workflow.calendar_of(case).sessions_on(saturday)  # the group's Saturday morning session
    total = sum(s["allotted_working_hours"] for s in case.steps)
    assert workflow.calendar_of(case).working_time_between(case.received_at, case.due_at) == timedelta(hours=total)
