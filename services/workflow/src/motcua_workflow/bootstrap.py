"""The composition root: environment -> objects. Nothing is built at import time."""
from __future__ import annotations

import sys
from pathlib import Path

from motcua_common.events.replay import own_read_model
from motcua_common.events.consumer import UpstreamFollower
from motcua_common.runtime.service_setup import calendars, make_clock, make_pool, setup_service_schema
from motcua_common.config.settings import Settings

from motcua_common.province.organisation import Organisation

from motcua_workflow.adapters import published
from motcua_workflow.adapters import result_files
from motcua_workflow.adapters.read_model import CaseSummaries, PostgresCaseQueue
from motcua_workflow.adapters.result_files import ResultFiles
from motcua_workflow.adapters.unit_signing import UnitKeys, issue_unit_keys
from motcua_workflow.adapters.templates_file import load_templates
from motcua_workflow.application import WorkflowApplication
from motcua_workflow.policies import IntakePolicies, PaymentPolicies

SERVICE = "workflow"


def bootstrap(settings: Settings | None = None) -> WorkflowApplication:
    settings = settings or Settings.from_env()
    units = Path(settings.data_dir) / "units.yaml"
    pool = make_pool(settings)
    app = WorkflowApplication(env=settings.eventsourcing_env(SERVICE), province=settings.province,
                               clock=make_clock(settings), queue=PostgresCaseQueue(pool, SERVICE),
                               result_files=ResultFiles(pool, SERVICE), pool=pool,
                               calendar=calendars(settings)(None), calendar_for=calendars(settings),
                               organisation=Organisation.load(units) if units.exists() else Organisation([]),
                               unit_keys=UnitKeys(Path(settings.unit_keys_dir) if settings.unit_keys_dir else None),
                               procedure_names=procedure_names(Path(settings.data_dir) / "catalogue.yaml"))
    app.publication = published.publication()
    return app


def procedure_names(path: Path) -> dict[str, str]:
    """Procedure names for the work queue, from the province's catalogue data (the last record
    of a code wins). Workflow keeps no catalogue of its own: a missing file gives no names."""
    import yaml

    if not path.exists():
        return {}
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return {str(p["code"]): p["name"] for p in data.get("procedures") or [] if "code" in p and "name" in p}


def intake_follower(app: WorkflowApplication, settings: Settings) -> UpstreamFollower:
    templates = load_templates(Path(settings.data_dir) / "process_templates.yaml")
    return UpstreamFollower(app, "intake", IntakePolicies(settings.province, templates, app.calendar_of),
                            clock=app.clock, province=settings.province)


def payment_follower(app: WorkflowApplication, settings: Settings) -> UpstreamFollower:
    """Payment's published events: a fee due before processing stops the case's clock until paid."""
    return UpstreamFollower(app, "payment", PaymentPolicies(settings.province, app.calendar_of),
                            clock=app.clock, province=settings.province)


def _own_tables(conn, schema: str) -> None:  # type: ignore[no-untyped-def]
    CaseSummaries.create_table(conn, schema)
    result_files.create_table(conn, schema)


def setup_schema(settings: Settings | None = None) -> None:
    setup_service_schema(settings or Settings.from_env(), SERVICE, WorkflowApplication, _own_tables)


def issue_keys(directory: str, units_file: str, province: str) -> None:
    """Development and test keys: a province CA and one certificate per unit in units.yaml."""
    organisation = Organisation.load(Path(units_file))
    written = issue_unit_keys(Path(directory), f"motcua {province}", [u.code for u in organisation.units()])
    print(f"==> issued {len(written)} unit result-signing certificates in {directory}")


def replay_targets(settings: Settings) -> list:
    """What `motcua-replay rebuild workflow` rebuilds: the work queue, from workflow's own log."""
    return [own_read_model(SERVICE, "case_summaries", ("case_id",), lambda table: CaseSummaries(SERVICE, table))]


if __name__ == "__main__" and sys.argv[1:] == ["setup-schema"]:
    setup_schema()
elif __name__ == "__main__" and sys.argv[1:2] == ["issue-unit-keys"]:
    if len(sys.argv) != 5:
        raise SystemExit("usage: python -m motcua_workflow.bootstrap issue-unit-keys <directory> <units.yaml> <province>")
    issue_keys(*sys.argv[2:5])
