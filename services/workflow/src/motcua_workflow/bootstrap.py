"""The composition root: environment -> objects. Nothing is built at import time."""
from __future__ import annotations

import sys
from pathlib import Path

from motcua_common.consumer import UpstreamFollower
from motcua_common.platform import calendars, make_clock, make_pool, setup_service_schema
from motcua_common.settings import Settings

from motcua_workflow.adapters.read_model import CaseSummaries
from motcua_workflow.adapters.templates_file import load_templates
from motcua_workflow.application import WorkflowApplication
from motcua_workflow.policies import IntakePolicies

SERVICE = "workflow"


def bootstrap(settings: Settings | None = None) -> WorkflowApplication:
    settings = settings or Settings.from_env()
    return WorkflowApplication(env=settings.eventsourcing_env(SERVICE), province=settings.province,
                               clock=make_clock(settings), pool=make_pool(settings), schema=SERVICE,
                               calendar=calendars(settings)(None))


def intake_follower(app: WorkflowApplication, settings: Settings) -> UpstreamFollower:
    templates = load_templates(Path(settings.data_dir) / "process_templates.yaml")
    return UpstreamFollower(app, "intake", IntakePolicies(settings.province, templates, app.calendar),
                            clock=app.clock, province=settings.province)


def setup_schema(settings: Settings | None = None) -> None:
    setup_service_schema(settings or Settings.from_env(), SERVICE, WorkflowApplication, CaseSummaries.create_table)


def rebuild_read_model() -> None:
    """Replay workflow's log from position 0 into its read models, printing progress and the rate."""
    import time

    app = bootstrap()
    head = app.head_position()
    started = time.monotonic()
    done = app.rebuild_read_model(progress=lambda n: print(f"\r{n}/{head} events", end="", flush=True))
    seconds = max(time.monotonic() - started, 1e-9)
    print(f"\nrebuilt from {done} events in {seconds:.1f}s ({done / seconds:.0f} events/s)")


if __name__ == "__main__" and sys.argv[1:] == ["setup-schema"]:
    setup_schema()
elif __name__ == "__main__" and sys.argv[1:] == ["rebuild-read-model"]:
    rebuild_read_model()
