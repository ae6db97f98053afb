"""Intake's use cases in memory (eventsourcing's POPO recorder and in-memory adapters): each command
records its events, refuses bad input naming the field and storing nothing, and answers a retry once."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from uuid import UUID, uuid4

import pytest

from motcua_common.config.clock import FixedClock
from motcua_common.errors import Conflict, InvalidArgument, NotFound, RuleViolated
from motcua_common.privacy.sealing import SubjectErased
from motcua_common.events.in_memory import in_memory_env, own_log
from motcua_common.province.organisation import Organisation
from motcua_testkit.plugin import DEMO_DATA
from motcua_common.province.working_calendar import WorkingCalendar

from motcua_intake.adapters.catalogue_file import load_catalogue
from motcua_intake.adapters.form_data import FormData
from motcua_intake.application import DossierQuery, IntakeApplication
from motcua_intake.domain.catalogue import Catalogue
from intake_memory import (InMemoryApologies, InMemoryCatalogueStore, InMemoryComponentRegister,
                           InMemoryDossierIndex, InMemoryNumbering, InMemoryVault)
from intake_testkit import OFFICIAL, command

START = datetime(2026, 11, 23, 1, 0, tzinfo=timezone.utc)  # Monday 08:00 in Vietnam
CALENDAR = WorkingCalendar.from_data({})
CATALOGUE, CODE_FORMAT = load_catalogue(DEMO_DATA / "catalogue.yaml")
DIGITISED = {"name": "Tờ khai", "sha256": "d" * 64, "size_bytes": 1, "media_type": "application/pdf",
             "code": "TO_KHAI", "digitised": True}


class Renderer:
    """A form renderer that remembers what it was asked to print."""

    def __init__(self) -> None:
        self.calls: list[tuple] = []

    def __call__(self, dossier: dict, procedure, official: str, issued_at: datetime) -> bytes:  # type: ignore[no-untyped-def]
        self.calls.append((dossier, procedure.code, official, issued_at))
        return b"%PDF-1.7 " + dossier["code"].encode()


@pytest.fixture
def clock():
    return FixedClock(START)


@pytest.fixture
def app(clock):
    app = IntakeApplication(
        env=in_memory_env(), province="test", clock=clock, catalogue=CATALOGUE, calendar_for=lambda group: CALENDAR,
        numbering=InMemoryNumbering(), vault=InMemoryVault(), code_format=CODE_FORMAT, render_receipt=Renderer(),
        forms={"supplement_request": Renderer(), "refusal": Renderer(), "apology": Renderer()},
        components=InMemoryComponentRegister(), apologies=InMemoryApologies(),
        organisation=Organisation.load(DEMO_DATA / "units.yaml"), index=InMemoryDossierIndex(),
        form_data=FormData(officials={OFFICIAL.subject: "Nguyễn Thị Lan"}))
    yield app
    app.close()


def stored(app: IntakeApplication) -> list:
    return own_log(app)


def incomplete(app: IntakeApplication) -> dict:
    return app.submit_dossier(command(components=[]), OFFICIAL)


# -- the catalogue and the organisation ----------------------------------------------------------
def test_procedures_and_units_in_force_are_listed(app):
    assert "1.004873" in [p.code for p in app.list_procedures()]
    units = app.list_units()
    assert [u.code for u in units] == sorted(u.code for u in units)
    assert len(app.list_units(include_closed=True)) > len(units)  # closed units only when asked for


def test_an_import_publishes_new_procedures_once_and_the_catalogue_follows_it(clock):
    store = InMemoryCatalogueStore()
    app = IntakeApplication(env=in_memory_env(), province="test", clock=clock, catalogue=Catalogue([]),
                            calendar_for=lambda group: CALENDAR, numbering=InMemoryNumbering(),
                            vault=InMemoryVault(), code_format=CODE_FORMAT, render_receipt=Renderer(),
                            catalogue_store=store)
    assert app.list_procedures() == []
    first = app.import_catalogue(CATALOGUE, OFFICIAL)
    assert first["published"] == len(CATALOGUE.all()) and store.version() == 1
    assert sorted(p.code for p in app.list_procedures()) == sorted(p.code for p in CATALOGUE.all())
    head = app.head_position()
    again = app.import_catalogue(CATALOGUE, OFFICIAL)
    assert again == {"published": 0, "changed": 0, "withdrawn": 0, "unchanged": len(CATALOGUE.all())}
    assert (app.head_position(), store.version()) == (head, 1)
    app.close()


def test_without_a_catalogue_store_an_import_is_refused(app):
    with pytest.raises(RuleViolated):
        app.import_catalogue(CATALOGUE, OFFICIAL)


# -- submission ---------------------------------------------------------------------------------
def test_a_complete_dossier_is_received_with_its_code_and_appointment(app):
    dossier = app.submit_dossier(command(), OFFICIAL)
    assert dossier["code"] == "000.31.01.H45-261123-0001"
    assert dossier["national_status"] == 2 and dossier["appointment_at"] > dossier["received_at"] == START
    assert dossier["applicant"]["full_name"] == "Hoàng Văn Thái"
    events = stored(app)
    assert sorted(e.name for e in events) == ["Dossier.Received", "DossierCode.Assigned", "IdempotencyRecord.Recorded"]
    assert all("Hoàng Văn Thái" not in bytes(e.state).decode() for e in events)  # sealed, never in clear
    assert app.submit_dossier(command(), OFFICIAL)["code"].endswith("-0002")


def test_a_retried_submission_answers_the_first_dossier_and_stores_nothing_more(app):
    first = app.submit_dossier(command("same-key"), OFFICIAL)
    head = app.head_position()
    again = app.submit_dossier(command("same-key"), OFFICIAL)
    assert (again["id"], again["code"]) == (first["id"], first["code"])
    assert app.head_position() == head


def test_a_key_reused_for_another_submission_is_refused(app):
    app.submit_dossier(command("reused"), OFFICIAL)
    with pytest.raises(RuleViolated) as refused:
        app.submit_dossier(command("reused", channel="post"), OFFICIAL)
    assert refused.value.reason == "IDEMPOTENCY_KEY_REUSED"


@pytest.mark.parametrize("changes, error, field", [
    ({"channel": "fax"}, InvalidArgument, "channel"),
    ({"received_at": START + timedelta(hours=1)}, InvalidArgument, "received_at"),
    ({"procedure_code": "9.999999"}, NotFound, "procedure_code"),
])
def test_a_bad_submission_is_refused_naming_the_field_and_stores_nothing(app, changes, error, field):
    with pytest.raises(error) as refused:
        app.submit_dossier(command(**changes), OFFICIAL)
    fields = [v.field for v in refused.value.violations] if error is InvalidArgument else [refused.value.field]
    assert fields == [field]
    assert app.head_position() == 0


def test_a_component_this_applicant_already_digitised_is_marked_reused(app):
    first = app.submit_dossier(command(components=[DIGITISED]), OFFICIAL)
    second = app.submit_dossier(command(components=[DIGITISED]), OFFICIAL)
    assert first["components"][0]["reused_from"] == ""
    assert second["components"][0]["reused_from"] == first["code"]


# -- reading dossiers -----------------------------------------------------------------------------
def test_a_dossier_is_found_by_id_or_code(app):
    dossier = app.submit_dossier(command(), OFFICIAL)
    assert app.get_dossier(dossier_id=dossier["id"])["code"] == dossier["code"]
    assert app.get_dossier(code=dossier["code"])["id"] == dossier["id"]
    assert app.dossier_id_for(dossier["code"]) == dossier["id"]


def test_an_unknown_dossier_is_not_found_naming_the_field(app):
    with pytest.raises(NotFound) as by_code:
        app.get_dossier(code="KHONG-CO")
    with pytest.raises(NotFound) as by_id:
        app.get_dossier(dossier_id=uuid4())
    with pytest.raises(InvalidArgument):
        app.get_dossier()
    assert (by_code.value.field, by_id.value.field) == ("dossier_code", "dossier_id")


def test_an_erased_applicant_is_shown_without_personal_data(app):
    dossier = app.submit_dossier(command(), OFFICIAL)
    app.vault.erase(app.vault.subject_id("citizen", "045088001122"))
    assert app.get_dossier(dossier_id=dossier["id"])["applicant"] == {}


def test_the_receipt_names_the_official_who_received_the_dossier(app):
    dossier = app.submit_dossier(command(), OFFICIAL)
    filename, content = app.receipt_form(dossier_id=dossier["id"])
    assert filename == f"phieu-tiep-nhan-{dossier['code']}.pdf" and content.startswith(b"%PDF")
    printed, procedure_code, received_by, _ = app.render_receipt.calls[0]
    assert (printed["code"], procedure_code) == (dossier["code"], "1.004873")
    assert received_by == "Nguyễn Thị Lan"  # the actor of Dossier.Received, by their display name


def test_an_incomplete_dossier_has_no_receipt(app):
    pending = incomplete(app)
    with pytest.raises(RuleViolated) as refused:
        app.receipt_form(dossier_id=pending["id"])
    assert refused.value.reason == "NOT_RECEIVED"


def test_search_pages_newest_first_and_filters_by_status(app, clock):
    first = app.submit_dossier(command(), OFFICIAL)
    clock.advance(timedelta(minutes=5))
    second = app.submit_dossier(command(), OFFICIAL)
    clock.advance(timedelta(minutes=5))
    pending = incomplete(app)
    page, token = app.search_dossiers(DossierQuery(page_size=2))
    rest, last = app.search_dossiers(DossierQuery(page_size=2, page_token=token))
    assert [d["dossier_code"] for d in page + rest] == [pending["code"], second["code"], first["code"]]
    assert last == ""
    found, _ = app.search_dossiers(DossierQuery(national_status=1))
    assert [d["dossier_code"] for d in found] == [pending["code"]]
    by_code, _ = app.search_dossiers(DossierQuery(dossier_code=first["code"][-6:]))
    assert [d["dossier_id"] for d in by_code] == [first["id"]]
    assert by_code[0]["procedure_name"]


@pytest.mark.parametrize("query, field", [
    (DossierQuery(page_size=201), "page_size"),
    (DossierQuery(page_token="bm90IGEgdG9rZW4="), "page_token"),
])
def test_a_bad_search_is_refused_naming_the_field(app, query, field):
    with pytest.raises(InvalidArgument) as refused:
        app.search_dossiers(query)
    assert [v.field for v in refused.value.violations] == [field]


# -- incomplete dossiers: supplementation, refusal ---------------------------------------------------
def test_an_incomplete_dossier_is_registered_asked_for_more_and_received_when_complete(app, clock):
    pending = incomplete(app)
    assert (pending["national_status"], pending["received_at"]) == (1, None)
    asked = app.request_supplement("ask-1", pending["id"], pending["version"], "Nộp tờ khai", OFFICIAL)
    assert asked["national_status"] == 5
    name, _ = app.intake_form("supplement_request", dossier_id=pending["id"])
    assert name == f"mau-02-{pending['code']}.pdf"
    clock.advance(timedelta(days=1))
    received = app.supplement_dossier("add-1", pending["id"], asked["version"], command().components, OFFICIAL)
    assert received["national_status"] == 2 and received["received_at"] == START + timedelta(days=1)
    assert app.search_dossiers(DossierQuery(dossier_code=pending["code"]))[0][0]["national_status"] == 2
    with pytest.raises(RuleViolated) as refused:
        app.refuse_dossier("late", pending["id"], received["version"], "Không", OFFICIAL)
    assert refused.value.reason == "DOSSIER_RECEIVED"


def test_a_refused_dossier_has_form_03_and_takes_no_more_commands(app):
    pending = incomplete(app)
    refused = app.refuse_dossier("no-1", pending["id"], pending["version"], "Không thuộc thẩm quyền", OFFICIAL)
    assert refused["national_status"] == 3
    assert app.intake_form("refusal", dossier_id=pending["id"])[0] == f"mau-03-{pending['code']}.pdf"
    head = app.head_position()
    with pytest.raises(RuleViolated):
        app.request_supplement("ask-2", pending["id"], refused["version"], "Nộp thêm", OFFICIAL)
    assert app.head_position() == head


def test_form_03_of_a_dossier_never_refused_is_refused(app):
    pending = incomplete(app)
    with pytest.raises(RuleViolated) as refused:
        app.intake_form("refusal", dossier_id=pending["id"])
    assert refused.value.reason == "NOT_REFUSED"


def test_a_retried_supplement_request_answers_once(app):
    pending = incomplete(app)
    first = app.request_supplement("ask-1", pending["id"], pending["version"], "Nộp tờ khai", OFFICIAL)
    head = app.head_position()
    again = app.request_supplement("ask-1", pending["id"], pending["version"], "Nộp tờ khai", OFFICIAL)
    assert again["version"] == first["version"] and app.head_position() == head


def test_a_stale_or_missing_version_stores_nothing(app):
    pending = incomplete(app)
    head = app.head_position()
    with pytest.raises(Conflict):
        app.request_supplement("ask-1", pending["id"], pending["version"] + 1, "Nộp tờ khai", OFFICIAL)
    with pytest.raises(InvalidArgument) as missing:
        app.refuse_dossier("no-1", pending["id"], 0, "Không", OFFICIAL)
    assert [v.field for v in missing.value.violations] == ["expected_version"]
    with pytest.raises(NotFound):
        app.request_supplement("ask-2", uuid4(), 1, "Nộp tờ khai", OFFICIAL)
    assert app.head_position() == head


# -- withdrawal and apologies --------------------------------------------------------------------
def test_a_withdrawn_dossier_says_so_in_its_status_and_the_index(app):
    dossier = app.submit_dossier(command(), OFFICIAL)
    withdrawn = app.withdraw_dossier("w-1", dossier["id"], dossier["version"], "Không cần nữa", OFFICIAL)
    assert withdrawn["national_status"] == 7
    assert app.search_dossiers(DossierQuery(national_status=7))[0][0]["dossier_id"] == dossier["id"]
    assert "Dossier.Withdrawn" in [e.name for e in stored(app)]


def test_the_applicants_withdrawal_reason_is_stored_sealed_under_their_key_never_in_clear(app):
    dossier = app.submit_dossier(command(), OFFICIAL)
    app.withdraw_dossier("w-1", dossier["id"], dossier["version"], "Tôi đã chuyển nơi cư trú", OFFICIAL)
    withdrawn = next(e for e in app.events.get(dossier["id"]) if type(e).__qualname__ == "Dossier.Withdrawn")
    assert withdrawn.reason == "" and "chuyển nơi" not in str(vars(withdrawn))
    subject = UUID(app.get_or_none(dossier["id"]).applicant["subject_id"])
    assert app.vault.unseal(subject, withdrawn.sealed_reason) == {"withdrawal_reason": "Tôi đã chuyển nơi cư trú"}
    app.vault.erase(subject)  # erasure reaches it like the rest of the applicant's data
    with pytest.raises(SubjectErased):
        app.vault.unseal(subject, withdrawn.sealed_reason)


def test_withdrawing_at_a_stale_version_is_a_conflict_and_stores_nothing(app):
    dossier = app.submit_dossier(command(), OFFICIAL)
    head = app.head_position()
    with pytest.raises(Conflict):
        app.withdraw_dossier("w-1", dossier["id"], dossier["version"] + 1, "Không cần nữa", OFFICIAL)
    with pytest.raises(NotFound):
        app.withdraw_dossier("w-2", uuid4(), 1, "Không cần nữa", OFFICIAL)
    assert app.head_position() == head


def test_the_apology_letter_needs_an_extension_intake_has_seen(app):
    dossier = app.submit_dossier(command(), OFFICIAL)
    with pytest.raises(RuleViolated) as refused:
        app.intake_form("apology", dossier_id=dossier["id"])
    assert refused.value.reason == "NO_EXTENSION"
    app.apologies.by_dossier[dossier["id"]] = [{
        "previous_due_at": dossier["appointment_at"], "new_due_at": dossier["appointment_at"] + timedelta(days=5),
        "reason": "Cần xác minh", "apologised_at": START, "official": "canbo07"}]
    name, _ = app.intake_form("apology", dossier_id=dossier["id"])
    assert name == f"phieu-xin-loi-{dossier['code']}.pdf"
    printed, _, official, _ = app.forms["apology"].calls[0]
    assert (printed["apology"]["reason"], official) == ("Cần xác minh", "Nguyễn Thị Lan")


def test_notification_gets_the_applicants_address_for_a_channel_only_for_that_dossiers_applicant(app):
    dossier = app.submit_dossier(command(), OFFICIAL)
    subject = str(app.vault.subject_id("citizen", "045088001122"))
    assert app.applicant_contact(dossier["id"], subject, "email") == "thai@example.vn"
    assert app.applicant_contact(dossier["id"], subject, "sms") == "0987654321"
    assert app.applicant_contact(dossier["id"], subject, "zns") == "0987654321"
    assert app.applicant_contact(dossier["id"], "someone-else", "email") is None
    assert app.applicant_contact(uuid4(), subject, "email") is None
    pending = incomplete(app)
    assert app.applicant_contact(pending["id"], subject, "sms") == "0987654321"
    app.vault.erase(UUID(subject))
    assert app.applicant_contact(dossier["id"], subject, "email") is None  # erased: no more messages
