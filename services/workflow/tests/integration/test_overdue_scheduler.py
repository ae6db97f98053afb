"""Due times pass without any event: the scheduler records them once, and the queue shows them."""
from __future__ import annotations

from datetime import timedelta

import pytest

from motcua_testkit.plugin import wait_until

from workflow_testkit import OFFICIAL, submit_dossiers

pytestmark = pytest.mark.integration


@pytest.fixture
def settable_apps(province):  # type: ignore[no-untyped-def]
    operator = province.use_settable_clock()
    from motcua_intake.bootstrap import bootstrap as intake_bootstrap
    from motcua_intake.bootstrap import setup_schema as intake_schema
    from motcua_workflow.bootstrap import bootstrap as workflow_bootstrap
    from motcua_workflow.bootstrap import intake_follower
    from motcua_workflow.bootstrap import setup_schema as workflow_schema

    settings = province.settings()
    intake_schema(settings)
    workflow_schema(settings)
    intake, workflow = intake_bootstrap(settings), workflow_bootstrap(settings)
    yield intake, workflow, intake_follower(workflow, settings), operator
    intake.close()
    workflow.close()


def test_the_scheduler_marks_each_late_case_once_and_the_queue_shows_it(settable_apps):
    intake, workflow, follower, clock = settable_apps
    dossiers = submit_dossiers(intake, 3, procedure="1.004873")  # 3 working days
    follower.catch_up(lambda start, limit: intake.read_notifications(start, limit))
    paused = workflow.get_case(dossier_id=dossiers[2]["id"])
    workflow.request_supplement("k-pause", paused.id, paused.version, "Thiếu giấy tờ", OFFICIAL)
    assert workflow.mark_overdue_cases() == 0  # nothing is due yet

    moved = clock.advance(timedelta(days=14))
    wait_until(lambda: workflow.clock.now() >= moved, 5, "the app's clock to read the moved province clock")
    assert workflow.mark_overdue_cases() == 2  # the paused one's clock stands still
    assert workflow.mark_overdue_cases() == 0  # a second tick (or a restarted scheduler) marks nothing

    rows, _ = workflow.list_cases("000.31.01.H45", None, 50, "")
    flags = {str(r["dossier_id"]): r["overdue"] for r in rows}
    assert flags == {str(dossiers[0]["id"]): True, str(dossiers[1]["id"]): True, str(dossiers[2]["id"]): False}
    events = [n for n in workflow.recorder.select_notifications(start=1, limit=1000)
              if n.topic.endswith(":Case.MarkedOverdue")]
    assert len(events) == 2
    assert workflow.decode(events[0]).envelope["actor"]["subject"] == "workflow.overdue-scheduler"
    assert workflow.overdue_by_unit() == {"000.31.01.H45": 2}


def test_due_soon_is_recorded_once_per_due_time_and_again_after_an_apology(settable_apps):
    intake, workflow, follower, clock = settable_apps
    dossiers = submit_dossiers(intake, 2, procedure="1.004873")  # 3 working days = 24 working hours
    follower.catch_up(lambda start, limit: intake.read_notifications(start, limit))
    window = timedelta(hours=8)
    assert workflow.mark_due_soon_cases(window) == 0  # 24 working hours left

    cases = [workflow.get_case(dossier_id=d["id"]) for d in dossiers]
    case = cases[0]
    # Both due within 4 working hours of the later one's due time (they were submitted a moment
    # apart: in office hours their due times differ by that moment, after hours they are equal).
    latest = max(c.due_at for c in cases)
    moved = clock.set(max(workflow.calendar.subtract_working_time(latest, timedelta(hours=4)), clock.now()))
    wait_until(lambda: workflow.clock.now() >= moved, 5, "the app's clock to read the moved province clock")
    assert workflow.mark_due_soon_cases(window) == 2
    assert workflow.mark_due_soon_cases(window) == 0  # never twice for the same due time
    marked = [workflow.decode(n) for n in workflow.recorder.select_notifications(start=1, limit=1000)
              if n.topic.endswith(":Case.MarkedDueSoon")]
    assert {e.originator_id: e.due_at for e in marked} == {c.id: c.due_at for c in cases}  # each for its own
    for event in marked:
        left = workflow.calendar.working_time_between(event.marked_at, event.due_at)
        assert event.working_seconds_left == left.total_seconds() and timedelta(0) < left <= timedelta(hours=4)

    case = workflow.get_case(case.id)
    workflow.extend_deadline("k-apology", case.id, case.version, case.due_at + timedelta(days=2), "Cần xác minh",
                             OFFICIAL)
    assert workflow.mark_due_soon_cases(window) == 0  # the new appointment is far away
    later = clock.set(workflow.calendar.subtract_working_time(case.due_at + timedelta(days=2), timedelta(hours=2)))
    wait_until(lambda: workflow.clock.now() >= later, 5, "the moved clock")
    assert workflow.mark_due_soon_cases(window) == 1  # due soon again, for its new due time
