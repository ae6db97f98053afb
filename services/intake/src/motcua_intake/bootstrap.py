"""The composition root: environment -> objects. Nothing is built at import time."""
from __future__ import annotations

import sys
from pathlib import Path

from motcua_common.events.replay import own_read_model
from motcua_common.events.consumer import UpstreamFollower
from motcua_common.province.organisation import Organisation
from motcua_common.runtime.service_setup import calendars, make_clock, make_pool, setup_service_schema
from motcua_common.privacy.sealing import SubjectVault
from motcua_common.config.settings import Settings

from motcua_intake.adapters import case_standing
from motcua_intake.adapters.case_standing import CaseStanding
from motcua_intake.adapters import payment_standing
from motcua_intake.adapters.payment_standing import PaymentStanding
from motcua_intake.adapters import published
from motcua_intake.adapters.catalogue_file import load_catalogue
from motcua_intake.adapters import apologies, catalogue_store, component_register
from motcua_intake.adapters.catalogue_store import CatalogueStore
from motcua_intake.adapters.apologies import Apologies
from motcua_intake.adapters.component_register import PostgresComponentRegister
from motcua_intake.adapters.dossier_index import DossierIndex, PostgresDossierIndex
from motcua_intake.adapters.form_data import FormData
from motcua_intake.adapters.forms import apology, receipt_and_appointment, refusal, supplement_request
from motcua_intake.adapters.numbering import PostgresDossierNumbering
from motcua_intake.application import IntakeApplication
from motcua_intake.policies import PaymentPolicies, WorkflowPolicies

SERVICE = "intake"


def bootstrap(settings: Settings | None = None) -> IntakeApplication:
    settings = settings or Settings.from_env()
    catalogue, code_format = load_catalogue(Path(settings.data_dir) / "catalogue.yaml")
    pool = make_pool(settings)
    units = Path(settings.data_dir) / "units.yaml"
    app = IntakeApplication(
        env=settings.eventsourcing_env(SERVICE),
        province=settings.province,
        clock=make_clock(settings),
        catalogue=catalogue,
        calendar_for=calendars(settings),
        numbering=PostgresDossierNumbering(pool, SERVICE),
        vault=SubjectVault(pool, SERVICE, settings.subject_kek, settings.province),
        code_format=code_format,
        render_receipt=receipt_and_appointment,
        forms={"supplement_request": supplement_request, "refusal": refusal, "apology": apology},
        components=PostgresComponentRegister(pool, SERVICE),
        apologies=Apologies(pool, SERVICE),
        standing=CaseStanding(pool, SERVICE),
        payment_standing=PaymentStanding(pool, SERVICE),
        catalogue_store=CatalogueStore(pool, SERVICE),
        organisation=Organisation.load(units) if units.exists() else Organisation([]),
        form_data=FormData.load(Path(settings.data_dir)),
        index=PostgresDossierIndex(pool, SERVICE), pool=pool,
        max_backdating_working_days=settings.max_backdating_working_days,
    )
    app.publication = published.publication()
    return app


def workflow_follower(app: IntakeApplication, settings: Settings) -> UpstreamFollower:
    return UpstreamFollower(app, "workflow", WorkflowPolicies(app.apologies.insert_sql, app.standing.upsert_sql),
                            clock=app.clock,
                            province=settings.province)


def payment_follower(app: IntakeApplication, settings: Settings) -> UpstreamFollower:
    return UpstreamFollower(app, "payment", PaymentPolicies(app.payment_standing.upsert_sql), clock=app.clock,
                            province=settings.province)


def _own_tables(conn, schema: str) -> None:  # type: ignore[no-untyped-def]
    DossierIndex.create_table(conn, schema)
    payment_standing.create_table(conn, schema)
    apologies.create_table(conn, schema)
    case_standing.create_table(conn, schema)
    catalogue_store.create_tables(conn, schema)
    SubjectVault.create_table(conn, schema)
    PostgresDossierNumbering.create_table(conn, schema)
    component_register.create_table(conn, schema)


def setup_schema(settings: Settings | None = None) -> None:
    setup_service_schema(settings or Settings.from_env(), SERVICE, IntakeApplication, _own_tables)


def rotate_subject_kek() -> None:
    """Re-wrap intake's subject keys: current key in MOTCUA_SUBJECT_KEK, new one in MOTCUA_SUBJECT_KEK_NEW."""
    import base64

    from motcua_common.config.settings import process_environment

    new_kek = base64.b64decode(process_environment().get("MOTCUA_SUBJECT_KEK_NEW", ""), validate=True)
    if len(new_kek) != 32:
        raise SystemExit("MOTCUA_SUBJECT_KEK_NEW must decode to 32 bytes")
    app = bootstrap()
    print(f"re-wrapped {app.vault.rewrap_all(new_kek)} subject keys; now set MOTCUA_SUBJECT_KEK to the new key")


def import_catalogue(path: str | None = None) -> None:
    """Record the province's catalogue file as events (only what changed since the last import)."""
    from motcua_common.events.context import Actor

    settings = Settings.from_env()
    file = Path(path) if path else Path(settings.data_dir) / "catalogue.yaml"
    catalogue, _ = load_catalogue(file)
    app = bootstrap(settings)
    counts = app.import_catalogue(catalogue, Actor.system("intake.import-catalogue"))
    print(f"==> catalogue {file}: " + ", ".join(f"{n} {what}" for what, n in counts.items()))
    app.close()


def replay_targets(settings: Settings) -> list:
    """What `motcua-replay rebuild intake` rebuilds: the dossier index, from intake's own log
    (also how a database older than the index fills it)."""
    return [own_read_model(SERVICE, "dossier_index", ("dossier_id",), lambda table: DossierIndex(SERVICE, table))]


if __name__ == "__main__" and sys.argv[1:] == ["setup-schema"]:
    setup_schema()
elif __name__ == "__main__" and sys.argv[1:2] == ["import-catalogue"]:
    import_catalogue(sys.argv[2] if len(sys.argv) > 2 else None)
elif __name__ == "__main__" and sys.argv[1:] == ["rotate-subject-kek"]:
    rotate_subject_kek()
