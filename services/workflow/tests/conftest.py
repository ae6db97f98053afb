"""Fixtures for workflow's tests: intake and workflow applications in-process on a private province."""
from __future__ import annotations


import pytest



@pytest.fixture
def apps(province):  # type: ignore[no-untyped-def]
    from motcua_intake.bootstrap import bootstrap as intake_bootstrap
    from motcua_intake.bootstrap import setup_schema as intake_schema
    from motcua_workflow.bootstrap import bootstrap as workflow_bootstrap
    from motcua_workflow.bootstrap import intake_follower
    from motcua_workflow.bootstrap import setup_schema as workflow_schema

    settings = province.settings()
    intake_schema(settings)
    workflow_schema(settings)
    intake = intake_bootstrap(settings)
    workflow = workflow_bootstrap(settings)
    yield intake, workflow, intake_follower(workflow, settings), settings
    intake.close()
    workflow.close()


