"""Intake in full: a dossier lacking required components is registered, not received; the desk
asks for them (form 02) or refuses it (form 03); once complete it is received and its clock starts
then. Digitised components an applicant already gave are recorded as reused."""
from __future__ import annotations

from datetime import timedelta

import pytest

from motcua_common.errors import InvalidArgument, RuleViolated

from intake_testkit import OFFICIAL, command, pdf_text

pytestmark = pytest.mark.integration
TO_KHAI = {"name": "Tờ khai", "sha256": "e" * 64, "size_bytes": 5, "media_type": "application/pdf",
           "code": "TO_KHAI", "digitised": True}


def incomplete(intake_app, **changes):  # type: ignore[no-untyped-def]
    return intake_app.submit_dossier(command(components=[], **changes), OFFICIAL)


def test_a_dossier_without_its_required_components_is_registered_without_a_clock(intake_app):
    dossier = incomplete(intake_app)
    assert dossier["national_status"] == 1 and dossier["received_at"] is None and dossier["appointment_at"] is None
    assert [c["code"] for c in dossier["missing_components"]] == ["TO_KHAI"]
    assert intake_app.get_dossier(code=dossier["code"])["national_status"] == 1
    topics = [n.topic.rsplit(":", 1)[1] for n in intake_app.recorder.select_notifications(start=1, limit=100)]
    assert "Dossier.Received" not in topics and "PendingDossier.Registered" in topics
    with pytest.raises(RuleViolated, match="form 01 is issued on receipt"):
        intake_app.receipt_form(code=dossier["code"])


def test_the_supplementation_request_is_form_02_and_the_clock_starts_when_complete(intake_app, tmp_path):
    dossier = incomplete(intake_app)
    asked = intake_app.request_supplement("s-1", dossier["id"], dossier["version"], "Bổ sung tờ khai có chữ ký",
                                          OFFICIAL)
    assert asked["national_status"] == 5
    filename, content = intake_app.intake_form("supplement_request", dossier_id=dossier["id"])
    assert filename == f"mau-02-{dossier['code']}.pdf"
    _, text = pdf_text(content, tmp_path)
    for expected in ("PHIẾU YÊU CẦU BỔ SUNG, HOÀN THIỆN HỒ SƠ", dossier["code"], "Hoàng Văn Thái",
                     "Tờ khai cấp Giấy xác nhận tình trạng hôn nhân (theo mẫu)", "Bổ sung tờ khai có chữ ký",
                     "Thời hạn giải quyết hồ sơ được tính từ khi nhận đủ hồ sơ hợp lệ", "Phạm Thị Lan"):
        assert expected in text, expected
    assert "canbo07" not in text  # signed with the official's name, not the sign-in name

    before = intake_app.clock.now()
    received = intake_app.supplement_dossier("s-2", dossier["id"], asked["version"], [TO_KHAI], OFFICIAL)
    assert received["national_status"] == 2 and received["received_at"] >= before
    procedure = intake_app.catalogue.get("1.004873")
    calendar = intake_app.calendar_for(procedure.calendar_group)
    assert received["appointment_at"] == calendar.add_working_days(received["received_at"], 3)
    assert [c["code"] for c in received["components"]] == ["TO_KHAI"]
    with pytest.raises(RuleViolated, match="was received"):
        intake_app.refuse_dossier("s-3", dossier["id"], 3, "muộn", OFFICIAL)


def test_a_supplement_that_still_lacks_something_keeps_the_dossier_registered(intake_app):
    dossier = incomplete(intake_app, procedure_code="1.000656")  # death registration: two required components
    still = intake_app.supplement_dossier("p-1", dossier["id"], dossier["version"], [TO_KHAI], OFFICIAL)
    assert still["national_status"] == 1 and [c["code"] for c in still["missing_components"]] == ["GIAY_BAO_TU"]


def test_a_refusal_is_form_03_and_ends_intake(intake_app, tmp_path):
    dossier = incomplete(intake_app)
    with pytest.raises(InvalidArgument) as blank:
        intake_app.refuse_dossier("r-0", dossier["id"], dossier["version"], " ", OFFICIAL)
    assert blank.value.violations[0].field == "reason"
    refused = intake_app.refuse_dossier("r-1", dossier["id"], dossier["version"], "Không thuộc thẩm quyền", OFFICIAL)
    assert refused["national_status"] == 3
    _, text = pdf_text(intake_app.intake_form("refusal", code=dossier["code"])[1], tmp_path)
    for expected in ("PHIẾU TỪ CHỐI TIẾP NHẬN HỒ SƠ", dossier["code"], "Không thuộc thẩm quyền", "Hoàng Văn Thái"):
        assert expected in text, expected
    with pytest.raises(RuleViolated, match="was refused"):
        intake_app.supplement_dossier("r-2", dossier["id"], refused["version"], [TO_KHAI], OFFICIAL)
    with pytest.raises(RuleViolated, match="no supplementation was requested"):
        intake_app.intake_form("supplement_request", code=dossier["code"])


def test_a_component_the_applicant_already_had_digitised_is_recorded_as_reused(intake_app):
    first = intake_app.submit_dossier(command(components=[TO_KHAI]), OFFICIAL)
    second = intake_app.submit_dossier(command(components=[TO_KHAI]), OFFICIAL)
    other_person = intake_app.submit_dossier(command(components=[TO_KHAI], applicant=command().applicant.__class__(
        "Người Khác", "045090009999", "", "", "", "")), OFFICIAL)
    assert first["components"][0]["reused_from"] == ""
    assert second["components"][0]["reused_from"] == first["code"]
    assert other_person["components"][0]["reused_from"] == ""


def test_a_dossier_received_after_15_00_reaches_the_unit_the_next_working_day(intake_app):
    from motcua_common.province.working_calendar import VIETNAM_TZ

    now = intake_app.clock.now().astimezone(VIETNAM_TZ)
    friday = (now - timedelta(days=(now.weekday() - 4) % 7 + 7)).replace(hour=15, minute=30, second=0, microsecond=0)
    intake_app.max_backdating_working_days = 30  # a province entering a fortnight-old desk register
    late = intake_app.submit_dossier(command(received_at=friday), OFFICIAL)
    early = intake_app.submit_dossier(command(received_at=friday.replace(hour=14, minute=59)), OFFICIAL)
    calendar = intake_app.calendar_for(None)
    next_day = friday.date() + timedelta(days=1)
    while not calendar.is_working_day(next_day):
        next_day += timedelta(days=1)
    assert late["forwarded_at"] == calendar.sessions_on(next_day)[0][0]
    assert early["forwarded_at"] == early["received_at"]
