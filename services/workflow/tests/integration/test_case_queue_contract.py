"""The in-memory work queue the use-case unit tests run on (workflow_memory.InMemoryCaseQueue) answers
exactly as the PostgreSQL one (adapters.read_model.PostgresCaseQueue) after the same commands."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from uuid import uuid4

import pytest

from motcua_common.config.clock import FixedClock
from motcua_common.events.context import Actor
from motcua_common.events.in_memory import in_memory_env
from motcua_common.runtime.service_setup import calendars
from motcua_testkit.plugin import DEMO_DATA
from motcua_common.province.working_calendar import WorkingCalendar

from motcua_workflow.adapters.templates_file import load_templates
from motcua_workflow.application import WorkflowApplication
from workflow_memory import InMemoryCaseQueue, InMemoryResultStore, open_test_case

pytestmark = pytest.mark.integration

START = datetime(2026, 11, 23, 1, 0, tzinfo=timezone.utc)
CALENDAR = WorkingCalendar.from_data({})
UNIT, OTHER_UNIT = "000.31.01.H45", "000.31.02.H45"
OFFICIAL = Actor(kind="official", subject="cv01", role="specialist", unit=UNIT)
PLAN = load_templates(DEMO_DATA / "process_templates.yaml").plan("1.004873", UNIT, 3)


def scenario(app: WorkflowApplication, dossier_ids: list) -> dict:
    """Every kind of change the queue follows, then every query the use cases ask of it."""
    cases = [open_test_case(app, PLAN, CALENDAR, days, UNIT, dossier_id)
             for days, dossier_id in zip((1, 2, 3, 5, 8, 13), dossier_ids)]
    done = app.complete_step("k1", cases[0].id, 0, cases[0].version, "", OFFICIAL)
    app.assign_step("k2", done.id, done.version, "cv07", OFFICIAL)
    paused = app.request_supplement("k3", cases[1].id, cases[1].version, "Thiếu bản vẽ", OFFICIAL)
    app.transfer("k4", cases[2].id, cases[2].version, OTHER_UNIT, 8, "Xin ý kiến", OFFICIAL)
    app.extend_deadline("k5", cases[3].id, cases[3].version, cases[3].due_at + timedelta(days=4), "Xác minh", OFFICIAL)
    app.stop_processing("k6", cases[4].id, cases[4].version, "Rút hồ sơ", OFFICIAL)
    app.clock.advance(timedelta(days=1))
    app.resume("k7", paused.id, paused.version, OFFICIAL)
    app.clock.advance(timedelta(days=2))
    marked = (app.mark_overdue_cases(), app.mark_due_soon_cases(timedelta(hours=16)))
    first, token = app.list_cases(UNIT, None, 2, "")
    second, _ = app.list_cases(UNIT, None, 2, token)
    return {
        "rows": app.read_model_rows(),
        "marked": marked,
        "pages": [c["case_id"] for c in first + second],
        "other_unit": [c["case_id"] for c in app.list_cases(OTHER_UNIT, None, 50, "")[0]],
        "official": [c["case_id"] for c in app.list_cases("", None, 50, "", assignee="cv07")[0]],
        "finished": [c["case_id"] for c in app.list_cases(UNIT, None, 50, "", include_finished=True)[0]],
        "stopped": [c["case_id"] for c in app.list_cases(UNIT, "stopped", 50, "")[0]],
        "overdue_by_unit": app.overdue_by_unit(),
        "by_code": app.get_case(dossier_code=cases[5].dossier_code).id,
    }


def test_the_in_memory_queue_answers_as_postgresql_does(province):
    from motcua_workflow.bootstrap import bootstrap, setup_schema

    settings = province.settings()
    setup_schema(settings)
    dossier_ids = [uuid4() for _ in range(6)]
    postgres = bootstrap(settings)
    postgres.clock = FixedClock(START)
    memory = WorkflowApplication(env=in_memory_env(), province=settings.province, clock=FixedClock(START),
                                 queue=InMemoryCaseQueue(), result_files=InMemoryResultStore(),
                                 calendar=calendars(settings)(None), calendar_for=calendars(settings),
                                 organisation=postgres.organisation, procedure_names=postgres.procedure_names)
    try:
        expected = scenario(postgres, dossier_ids)
        assert expected["marked"] != (0, 0) and expected["stopped"]  # the scenario exercises what it claims
        assert scenario(memory, dossier_ids) == expected
    finally:
        postgres.close()
        memory.close()
