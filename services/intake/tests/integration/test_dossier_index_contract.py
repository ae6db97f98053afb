"""The in-memory dossier index the use-case unit tests run on (intake_memory.InMemoryDossierIndex)
answers SearchDossiers exactly as the PostgreSQL one (adapters.dossier_index.PostgresDossierIndex)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from motcua_common.config.clock import FixedClock
from motcua_common.events.in_memory import in_memory_env

from motcua_intake.application import DossierQuery, IntakeApplication
from intake_memory import InMemoryDossierIndex, InMemoryNumbering, InMemoryVault
from intake_testkit import OFFICIAL, command

pytestmark = pytest.mark.integration

START = datetime(2026, 11, 23, 1, 0, tzinfo=timezone.utc)


def scenario(app: IntakeApplication) -> dict:
    """Every change the index follows, then the searches SearchDossiers makes (ids left out: they differ)."""
    made = []
    for components in ([], None, [], None, []):
        made.append(app.submit_dossier(command(components=components) if components is not None else command(),
                                       OFFICIAL))
        app.clock.advance(timedelta(minutes=7))  # type: ignore[attr-defined]
    asked = app.request_supplement("k1", made[0]["id"], made[0]["version"], "Nộp tờ khai", OFFICIAL)
    app.refuse_dossier("k2", made[2]["id"], made[2]["version"], "Không thuộc thẩm quyền", OFFICIAL)
    app.supplement_dossier("k3", made[0]["id"], asked["version"], command().components, OFFICIAL)
    app.request_supplement("k4", made[4]["id"], made[4]["version"], "Nộp tờ khai", OFFICIAL)
    app.withdraw_dossier("k5", made[1]["id"], made[1]["version"], "Không cần nữa", OFFICIAL)

    def search(**criteria) -> list[tuple]:  # type: ignore[no-untyped-def]
        found, token = app.search_dossiers(DossierQuery(**criteria))
        while token:
            page, token = app.search_dossiers(DossierQuery(**criteria, page_token=token))
            found += page
        # ids, and applicants' subject ids (each vault keys its own), differ by construction
        return [tuple(v for k, v in sorted(d.items()) if k not in ("dossier_id", "pending_id", "applicant_subject"))
                for d in found]

    return {
        "all": search(page_size=2),
        "by_code": search(dossier_code=made[3]["code"][-4:]),
        "by_procedure_words": search(procedure="tinh trang hon nhan"),
        "by_unit": search(unit_code="000.31.01.H45"),
        "received": search(national_status=2), "withdrawn": search(national_status=7),
        "refused": search(national_status=3), "asked": search(national_status=5),
        "window": search(received_from=START + timedelta(minutes=5), received_until=START + timedelta(minutes=22)),
        "wildcards_are_text": search(dossier_code="%_"),
    }


def test_the_in_memory_index_answers_as_postgresql_does(intake_app):
    intake_app.clock = FixedClock(START)
    memory = IntakeApplication(env=in_memory_env(), province=intake_app.province, clock=FixedClock(START),
                               catalogue=intake_app.catalogue, calendar_for=intake_app.calendar_for,
                               numbering=InMemoryNumbering(), vault=InMemoryVault(),
                               code_format=intake_app.code_format, render_receipt=lambda *a: b"",
                               index=InMemoryDossierIndex())
    try:
        expected = scenario(intake_app)
        assert len(expected["all"]) == 5 and all(expected[k] for k in expected if k != "wildcards_are_text")
        assert scenario(memory) == expected
    finally:
        memory.close()
