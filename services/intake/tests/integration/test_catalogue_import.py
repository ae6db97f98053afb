"""The catalogue as events: an import records only what changed, each version from its date, so
the catalogue in force on any past date is known, and a running intake picks up a new import."""
from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from motcua_common.events.context import Actor
from motcua_common.errors import NotFound

from motcua_intake.domain.catalogue import Catalogue

from intake_testkit import OFFICIAL, command

pytestmark = pytest.mark.integration
IMPORTER = Actor.system("test.import-catalogue")


@pytest.fixture
def file_catalogue():  # type: ignore[no-untyped-def]
    from motcua_testkit.plugin import DEMO_DATA
    from motcua_intake.adapters.catalogue_file import load_catalogue

    return load_catalogue(DEMO_DATA / "catalogue.yaml")[0]


def catalogue_events(app) -> list[str]:  # type: ignore[no-untyped-def]
    return [n.topic.rsplit(":", 1)[1] for n in app.recorder.select_notifications(start=1, limit=10_000)
            if ":CatalogueEntry." in n.topic]


def test_a_second_import_of_the_same_file_records_nothing(intake_app, file_catalogue):
    first = intake_app.import_catalogue(file_catalogue, IMPORTER)
    assert first == {"published": 23, "changed": 0, "withdrawn": 0, "unchanged": 0}
    assert intake_app.import_catalogue(file_catalogue, IMPORTER)["unchanged"] == 23
    assert catalogue_events(intake_app) == ["CatalogueEntry.Published"] * 23
    assert intake_app.list_procedures() == file_catalogue.all()  # read back from the events


def test_a_change_takes_effect_from_its_date_and_the_past_keeps_the_old_version(intake_app, file_catalogue):
    from motcua_common.province.working_calendar import VIETNAM_TZ

    intake_app.import_catalogue(file_catalogue, IMPORTER)
    today = intake_app.clock.now().astimezone(VIETNAM_TZ).date()  # the province's date
    old = file_catalogue.get("1.004873")
    new_date = today + timedelta(days=30)
    changed = replace(old, deadline_working_days=2, effective_from=new_date)
    withdrawn = "1.001193"
    edited = Catalogue([changed, *[p for p in file_catalogue.all() if p.code not in (old.code, withdrawn)]])
    assert intake_app.import_catalogue(edited, IMPORTER) == {"published": 0, "changed": 1, "withdrawn": 1,
                                                             "unchanged": 21}
    catalogue = intake_app.catalogue
    assert catalogue.get("1.004873", on=today).deadline_working_days == 3
    assert catalogue.get("1.004873", on=new_date).deadline_working_days == 2
    assert catalogue.get(withdrawn, on=today - timedelta(days=1)) is not None
    assert catalogue.get(withdrawn, on=today) is None
    with pytest.raises(NotFound, match="not in this province's catalogue"):
        intake_app.submit_dossier(command(procedure_code=withdrawn, components=[]), OFFICIAL)
    # A postal dossier received before the withdrawal is judged by the catalogue of its day.
    yesterday = intake_app.clock.now() - timedelta(days=1)
    posted = intake_app.submit_dossier(command(procedure_code=withdrawn, components=[], channel="post",
                                               received_at=yesterday), OFFICIAL)
    assert posted["procedure_code"] == withdrawn


def test_names_come_in_the_language_asked_for(intake_app, file_catalogue):
    intake_app.import_catalogue(file_catalogue, IMPORTER)
    birth = intake_app.catalogue.get("1.001193")
    assert (birth.name_in("en"), birth.name_in("ko"), birth.name_in("vi")) == ("Birth registration", "출생 등록",
                                                                              "Đăng ký khai sinh")
    assert intake_app.catalogue.get("2.000635").name_in("ja") == intake_app.catalogue.get("2.000635").name


def test_a_retry_gets_its_first_answer_even_after_the_procedure_was_withdrawn(intake_app, file_catalogue):
    intake_app.import_catalogue(file_catalogue, IMPORTER)
    first = intake_app.submit_dossier(command(key="retry-1", procedure_code="1.000894", components=[]), OFFICIAL)
    intake_app.import_catalogue(Catalogue([p for p in file_catalogue.all() if p.code != "1.000894"]), IMPORTER)
    again = intake_app.submit_dossier(command(key="retry-1", procedure_code="1.000894", components=[]), OFFICIAL)
    assert again["id"] == first["id"] and again["code"] == first["code"]
