"""The composition root: environment -> objects. Nothing is built at import time."""
from __future__ import annotations

import sys
from pathlib import Path

from motcua_common.platform import calendars, make_clock, make_pool, setup_service_schema
from motcua_common.privacy import SubjectVault
from motcua_common.settings import Settings

from motcua_intake.adapters.catalogue_file import load_catalogue
from motcua_intake.adapters.numbering import PostgresDossierNumbering
from motcua_intake.application import IntakeApplication

SERVICE = "intake"


def bootstrap(settings: Settings | None = None) -> IntakeApplication:
    settings = settings or Settings.from_env()
    catalogue, code_format = load_catalogue(Path(settings.data_dir) / "catalogue.yaml")
    pool = make_pool(settings)
    return IntakeApplication(
        env=settings.eventsourcing_env(SERVICE),
        province=settings.province,
        clock=make_clock(settings),
        catalogue=catalogue,
        calendar_for=calendars(settings),
        numbering=PostgresDossierNumbering(pool, SERVICE),
        vault=SubjectVault(pool, SERVICE, settings.subject_kek, settings.province),
        code_format=code_format,
    )


def _own_tables(conn, schema: str) -> None:  # type: ignore[no-untyped-def]
    SubjectVault.create_table(conn, schema)
    PostgresDossierNumbering.create_table(conn, schema)


def setup_schema(settings: Settings | None = None) -> None:
    setup_service_schema(settings or Settings.from_env(), SERVICE, IntakeApplication, _own_tables)


if __name__ == "__main__" and sys.argv[1:] == ["setup-schema"]:
    setup_schema()
