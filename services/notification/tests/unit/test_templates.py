"""Templates: versioned, Vietnamese first, rendered strictly in the sandbox, mapped to the providers'
registered templates; SMS text without diacritics where the gateway needs it, its segments counted."""
from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from motcua_common.errors import InvalidArgument, NotFound, RuleViolated

from motcua_notification.domain.sms_text import GSM7, UCS2, measure, without_diacritics
from motcua_notification.domain.templates import TemplateBook

PROVINCE_FILE = Path(__file__).resolve().parents[4] / "infra/provinces/quang-tri/notification-templates.yaml"
RECEIVED = {"dossier_code": "000.31.01.H45-261201-0001", "procedure_name": "Chứng thực chữ ký",
            "appointment_date": date(2026, 12, 8)}


@pytest.fixture(scope="module")
def book() -> TemplateBook:
    return TemplateBook.from_file(PROVINCE_FILE)


def one(text: dict, sms: dict | None = None, zns: dict | None = None, version: int = 1,
        variables: list[str] | None = None) -> TemplateBook:
    raw: dict = {"version": version, "variables": variables or ["code"], "text": text}
    if sms:
        raw["sms"] = sms
    if zns:
        raw["zns"] = zns
    return TemplateBook.from_data({"templates": {"t": {"audience": "citizen", "versions": [raw]}}})


def test_the_province_file_has_every_notice_the_issue_names(book):
    assert set(book.ids()) >= {"dossier_received", "supplement_requested", "payment_due", "result_ready",
                               "result_returned", "overdue_apology", "rating_request", "official_due_soon",
                               "official_overdue"}


def test_every_citizen_notice_renders_on_every_channel_it_is_registered_for(book):
    variables = {**RECEIVED, "missing_items": ["Tờ khai"], "amount_vnd": 150_000, "how_to_pay": "Quét mã VietQR",
                 "pickup_place": "Bộ phận Một cửa", "reason": "chờ xác minh", "new_appointment_date": "2026-12-15",
                 "rating_url": "https://dichvucong.quangtri.gov.vn/danh-gia/1", "due_date": date(2026, 12, 8),
                 "working_days_late": 2}
    for template_id in book.ids():
        template = book.latest(template_id)
        for channel in template.channels:
            rendered = book.render(template_id, template.version, channel, variables)
            assert rendered.body and rendered.subject and (rendered.template_id, rendered.version) == (
                template_id, template.version)


def test_received_notice_names_code_procedure_and_appointment_in_vietnamese(book):
    rendered = book.render("dossier_received", 1, "email", RECEIVED)
    assert rendered.language == "vi" and rendered.subject == "Đã tiếp nhận hồ sơ 000.31.01.H45-261201-0001"
    assert "Chứng thực chữ ký" in rendered.body and "08/12/2026" in rendered.body


def test_another_language_where_the_province_gives_one_else_vietnamese(book):
    assert book.render("dossier_received", 1, "email", RECEIVED, language="en").subject.startswith("Application")
    assert book.render("result_ready", 1, "email", {**RECEIVED, "pickup_place": "Một cửa"},
                       language="en").language == "vi"


def test_a_missing_variable_is_an_error_naming_it_never_blank_text(book):
    with pytest.raises(InvalidArgument) as refused:
        book.render("dossier_received", 1, "email", {"dossier_code": "X", "procedure_name": "P"})
    assert refused.value.violations[0].field == "variables.appointment_date"


def test_a_variable_missing_inside_a_value_fails_at_render_time():
    book = one({"vi": {"subject": "{{ code.so }}", "body": "b"}})
    with pytest.raises(InvalidArgument, match="does not render"):
        book.render("t", 1, "email", {"code": {}})


def test_a_template_reaching_outside_the_sandbox_does_not_render():
    book = one({"vi": {"subject": "{{ code.__class__.__mro__[1].__subclasses__() }}", "body": "b"}})
    with pytest.raises(InvalidArgument, match="does not render"):
        book.render("t", 1, "email", {"code": "x"})


def test_a_template_using_an_undeclared_variable_is_refused_when_loaded():
    with pytest.raises(ValueError, match="undeclared variables \\['secret'\\]"):
        one({"vi": {"subject": "{{ secret }}", "body": "b"}})


def test_a_template_without_vietnamese_is_refused_when_loaded():
    with pytest.raises(ValueError, match="no Vietnamese"):
        one({"en": {"subject": "s", "body": "b"}})


def test_unknown_template_or_version_is_not_found(book):
    with pytest.raises(NotFound):
        book.latest("no_such_template")
    with pytest.raises(NotFound):
        book.render("dossier_received", 99, "email", RECEIVED)


def test_the_latest_version_is_used_and_older_ones_still_render():
    data = {"templates": {"t": {"audience": "citizen", "versions": [
        {"version": 1, "variables": ["code"], "text": {"vi": {"subject": "cũ {{ code }}", "body": "b"}}},
        {"version": 2, "variables": ["code"], "text": {"vi": {"subject": "mới {{ code }}", "body": "b"}}}]}}}
    book = TemplateBook.from_data(data)
    assert book.latest("t").version == 2
    assert book.render("t", 1, "email", {"code": "X"}).subject == "cũ X"


def test_a_channel_the_version_is_not_registered_for_is_refused(book):
    with pytest.raises(RuleViolated) as refused:
        book.render("official_overdue", 1, "sms", {})
    assert refused.value.reason == "CHANNEL_NOT_AVAILABLE"


def test_zns_sends_the_registered_template_id_with_its_parameters(book):
    rendered = book.render("payment_due", 1, "zns", {"dossier_code": "X", "amount_vnd": 150_000,
                                                     "how_to_pay": "Chuyển khoản"})
    assert rendered.provider_template_id == "301003"
    assert rendered.parameters == {"ma_ho_so": "X", "so_tien": "150000", "cach_nop": "Chuyển khoản"}


def test_brandname_sms_is_sent_without_diacritics_and_counted_in_gsm7_segments(book):
    rendered = book.render("dossier_received", 1, "sms", RECEIVED)
    assert rendered.provider_template_id == "QT-TIEPNHAN-01"
    assert rendered.body == ("UBND tinh Quang Tri: da tiep nhan ho so 000.31.01.H45-261201-0001, "
                             "hen tra ngay 08/12/2026.")
    assert (rendered.sms.encoding, rendered.sms.segments) == (GSM7, 1)


def test_sms_with_diacritics_kept_where_the_gateway_allows_is_ucs2():
    book = one({"vi": {"subject": "s", "body": "b"}}, sms={"provider_template_id": "S1", "text": "Hồ sơ {{ code }}"})
    book.sms_ascii_only = False
    assert book.render("t", 1, "sms", {"code": "X"}).sms.encoding == UCS2


def test_every_vietnamese_letter_loses_its_diacritics():
    assert without_diacritics("Đà Nẵng, Quảng Trị: ặ ẫ ờ ữ ỵ ĐƯỜNG") == "Da Nang, Quang Tri: a a o u y DUONG"


@pytest.mark.parametrize(("text", "encoding", "segments"), [
    ("a" * 160, GSM7, 1), ("a" * 161, GSM7, 2), ("a" * 306, GSM7, 2), ("a" * 307, GSM7, 3),
    ("€" * 80, GSM7, 1), ("€" * 81, GSM7, 2),  # an extension character takes two septets
    ("ơ" * 70, UCS2, 1), ("ơ" * 71, UCS2, 2), ("ơ" * 134, UCS2, 2), ("ơ" * 135, UCS2, 3),
])
def test_segments_are_counted_as_gateways_bill_them(text, encoding, segments):
    measured = measure(text)
    assert (measured.encoding, measured.segments) == (encoding, segments)
