"""No projection or consumer fails on a stored event its producer accepted (issue 17, 1b): PostgreSQL
text and jsonb refuse U+0000, so every projection write maps it to U+FFFD; the stored event keeps it."""
from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from workflow_testkit import OFFICIAL, submit_dossiers

pytestmark = pytest.mark.integration

NUL_REASON = "Cần xác minh\x00thêm"


def reader(app, with_audit: bool = False):  # type: ignore[no-untyped-def]
    return lambda start, limit: app.read_notifications(start, limit, with_audit)


def test_an_extension_reason_holding_nul_reaches_intake_reporting_and_the_read_model(apps):
    from motcua_intake.bootstrap import workflow_follower
    from motcua_reporting.bootstrap import bootstrap as reporting_bootstrap
    from motcua_reporting.bootstrap import followers as reporting_followers
    from motcua_reporting.bootstrap import setup_schema as reporting_schema

    intake, workflow, follower, settings = apps
    dossier = submit_dossiers(intake, 1)[0]
    follower.catch_up(reader(intake))
    case = workflow.get_case(dossier_id=dossier["id"])
    case = workflow.assign_step("a-nul", case.id, case.version, "can\x00bo02", OFFICIAL)
    case = workflow.extend_deadline("e-nul", case.id, case.version, case.due_at + timedelta(days=3), NUL_REASON,
                                    replace(OFFICIAL, subject="canbo\x0003"))  # jsonb in reporting's history
    stored = [n for n in workflow.recorder.select_notifications(start=1, limit=1000)
              if n.topic.endswith("Case.DeadlineExtended")]
    assert b"\\u0000" in stored[0].state  # the store keeps what was accepted

    intake_consumer = workflow_follower(intake, settings)
    intake_consumer.catch_up(reader(workflow))
    assert intake_consumer.position() == workflow.publication.last_position(workflow)
    assert intake.apologies.latest(dossier["id"])["reason"] == "Cần xác minh\ufffdthêm"
    assert "can\ufffdbo02" in {r[10] for r in workflow.read_model_rows()}

    reporting_schema(settings)
    reporting = reporting_bootstrap(settings)
    try:
        consumer = reporting_followers(reporting, settings)["workflow"]
        consumer.catch_up(reader(workflow, with_audit=True))  # reporting keeps each event's audit record
        assert consumer.position() == workflow.publication.last_position(workflow)
    finally:
        reporting.close()
