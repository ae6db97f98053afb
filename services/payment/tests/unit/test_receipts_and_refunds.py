"""Receipts, refunds and the end of a dossier, in memory (issue #12 item 4): every recorded payment takes
the next number of its template's gapless series in the same save, never skipped or taken twice (even
by payments racing each other); the receipt prints as a Vietnamese PDF; refunds answer a repeated key
with the first refund and never exceed what remains; a withdrawn or refused dossier's invoice is
cancelled while unpaid and refunded by its procedure's rule once paid."""
from __future__ import annotations

import subprocess
import threading
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from uuid import UUID, uuid4

import pytest
from eventsourcing.persistence import IntegrityError

from motcua.intake.events.v1 import events_pb2 as intake_events
from motcua.workflow.events.v1 import events_pb2 as workflow_events
from motcua.payment.events.v1 import events_pb2 as payment_events
from motcua_common.config.clock import FixedClock
from motcua_common.errors import InvalidArgument, NotFound, RuleViolated
from motcua_common.events.consumer import UnitOfWork
from motcua_common.events.context import Actor, CommandContext, command_context, concerning
from motcua_common.events.in_memory import in_memory_env, own_log
from motcua_common.events.published import PublishedEvent, timestamp

from motcua_testkit.fees import received_fee_fields

from motcua_payment.adapters.fees_file import FeeDataError, load_fee_book
from motcua_payment.adapters.published import publication
from motcua_payment.adapters.receipt_pdf import in_words, receipt_pdf
from motcua_payment.application import PaymentApplication
from motcua_payment.domain.fees import (FeeBook, FeeItem, FeeSchedule, ReceiptTemplate, receipt_template_on,
                                        refund_due)
from motcua_payment.domain.invoice import GATEWAY, ONLINE_FLAG_NATIONAL, GatewayResult, Invoice
from motcua_payment.domain.receipts import ReceiptSeries
from motcua_payment.policies import IntakePolicies, WorkflowPolicies

NOW = datetime(2026, 12, 1, 2, 0, tzinfo=timezone.utc)
DESK = Actor(kind="official", subject="canbo01", role="one_stop_officer", unit="000.31.01.H45")
GATEWAY_ACTOR = Actor.system("payment.callback")
TEMPLATES = (ReceiptTemplate("01BLP0-001", "1C26TQT", date(2026, 1, 1), "UBND tỉnh Quảng Trị", "Đông Hà"),
             ReceiptTemplate("01BLP0-001", "1C27TQT", date(2027, 1, 1), "UBND tỉnh Quảng Trị", "Đông Hà"))
SIGNATURE = FeeSchedule("2.000884", "Chứng thực", date(2017, 1, 1), "before_processing", "UBND xã Đông Lễ",
                        (FeeItem("LE_PHI", "le_phi", "Lệ phí chứng thực chữ ký", 10_000, "TT 226/2016"),),
                        refund_on={"withdrawn": "full", "refused": "none"})
EXTRACT = FeeSchedule("2.000635", "Hộ tịch", date(2017, 1, 1), "before_result", "UBND xã",
                      (FeeItem("PHI_TRA_CUU", "phi", "Phí tra cứu", 8_000, "TT 281/2016"),
                       FeeItem("LE_PHI_CAP", "le_phi", "Lệ phí cấp bản sao", 5_000, "TT 281/2016")),
                      refund_on={"withdrawn": "le_phi"})
SCHEDULES = {s.procedure_code: s for s in [SIGNATURE, EXTRACT]}
BOOK = FeeBook([], TEMPLATES)


class Clock(FixedClock):
    def advance(self, delta: timedelta) -> None:
        self._now = self._now + delta  # type: ignore[attr-defined]


@pytest.fixture
def app():
    app = PaymentApplication(env=in_memory_env(), province="test", clock=FixedClock(NOW), fees=BOOK)
    yield app
    app.close()


def published(app: PaymentApplication, message, position: int) -> PublishedEvent:  # type: ignore[no-untyped-def]
    return PublishedEvent("intake", f"intake:{message.dossier_id}:{position}", "motcua/test/intake",
                          message.DESCRIPTOR.full_name, NOW, message.dossier_id, position, position - 1, {}, "", "",
                          "", "", NOW, message.SerializeToString())


def apply(app: PaymentApplication, event: PublishedEvent) -> None:
    work = UnitOfWork(app)
    with command_context(CommandContext(actor=Actor.system("payment.consumer"), province="test", clock=app.clock)), \
            concerning(UUID(event.subject), causation_id=event.ref, dossier_code=event.dossier_code):
        IntakePolicies("test", BOOK)(event, work)
    app.record(*work.aggregates)


def issued(app: PaymentApplication, procedure: str = "2.000884") -> UUID:
    dossier_id = uuid4()
    apply(app, published(app, intake_events.DossierReceived(
        dossier_id=str(dossier_id), code=f"000.31.01.H45-261201-{dossier_id.hex[:4]}", procedure_code=procedure,
        receiving_agency_code="000.31.01.H45", handling_unit_code="000.31.01.H45", channel="desk",
        applicant=intake_events.Applicant(subject_id="subject-1", kind="citizen"), received_at=timestamp(NOW),
        **received_fee_fields(SCHEDULES.get(procedure))), 1))
    return dossier_id


def pay_cash(app: PaymentApplication, dossier_id: UUID, key: str = "") -> dict:
    invoice = app.invoice_for_dossier(dossier_id)
    return app.record_cash_payment(key or uuid4().hex, dossier_id, invoice["version"], invoice["total_vnd"],
                                   "QUAY-1", DESK)


def gateway_result(app: PaymentApplication, dossier_id: UUID, transaction_no: str = "T1") -> GatewayResult:
    invoice = app.invoice_for_dossier(dossier_id)
    return GatewayResult(invoice["order_id"], invoice["total_vnd"], True, "00", transaction_no, NOW,
                         ONLINE_FLAG_NATIONAL)


def series_numbers(app: PaymentApplication, symbol: str = "1C26TQT") -> list[int]:
    series = app.get_or_none(ReceiptSeries.id_for("test", symbol))
    return [] if series is None else sorted(series.holders)


# -- the series --------------------------------------------------------------------------------
def test_each_payment_takes_the_next_number_of_its_templates_series_in_the_same_save(app):
    first, second = issued(app), issued(app)
    paid = pay_cash(app, first)
    assert (paid["receipt"]["symbol"], paid["receipt"]["number"], paid["receipt"]["printed_number"]) == \
        ("1C26TQT", 1, "0000001")
    assert paid["receipt"]["official"] == "canbo01"
    assert sorted(e.name for e in own_log(app)[-5:]) == ["IdempotencyRecord.Recorded", "Invoice.Paid",
                                                         "Invoice.ReceiptIssued", "ReceiptSeries.Opened",
                                                         "ReceiptSeries.Taken"]
    online = app.record_gateway_result(gateway_result(app, second), GATEWAY_ACTOR)
    assert (online["receipt"]["number"], online["receipt"]["official"]) == (2, "")
    assert series_numbers(app) == [1, 2]


def test_a_repeated_payment_takes_no_second_number(app):
    first = issued(app)
    version = app.invoice_for_dossier(first)["version"]
    for _ in range(2):  # the same request again: answered
        app.record_cash_payment("k1", first, version, 10_000, "QUAY-1", DESK)
    result = gateway_result(app, issued(app))
    for _ in range(3):  # a callback delivered three times
        app.record_gateway_result(result, GATEWAY_ACTOR)
    assert series_numbers(app) == [1, 2]
    assert [e.name for e in own_log(app)].count("Invoice.ReceiptIssued") == 2


def test_a_refused_payment_takes_no_number(app):
    dossier_id = issued(app)
    invoice = app.invoice_for_dossier(dossier_id)
    with pytest.raises(RuleViolated):
        app.record_cash_payment("k", dossier_id, invoice["version"], 1, "QUAY-1", DESK)  # wrong amount
    assert series_numbers(app) == []
    assert pay_cash(app, dossier_id)["receipt"]["number"] == 1


def test_a_payment_whose_save_fails_takes_no_number_and_the_next_payment_gets_it(app, monkeypatch):
    first, second = issued(app), issued(app)
    record = app.record
    failures = iter([True])

    def failing_once(*aggregates, **kwargs):  # type: ignore[no-untyped-def]
        if any(isinstance(a, ReceiptSeries) for a in aggregates) and next(failures, False):
            raise IntegrityError("lost a race")  # another payment saved the series first
        return record(*aggregates, **kwargs)

    monkeypatch.setattr(app, "record", failing_once)
    assert pay_cash(app, first)["receipt"]["number"] == 1  # decided again, then saved
    assert pay_cash(app, second)["receipt"]["number"] == 2
    assert series_numbers(app) == [1, 2]


def test_concurrent_payments_get_consecutive_distinct_numbers(app):
    dossiers = [issued(app) for _ in range(8)]
    start = threading.Barrier(len(dossiers))
    answers, errors = [], []

    def pay(dossier_id: UUID) -> None:
        start.wait()
        try:
            answers.append(app.record_gateway_result(gateway_result(app, dossier_id, f"T-{dossier_id.hex[:6]}"),
                                                     GATEWAY_ACTOR)["receipt"]["number"])
        except Exception as error:  # noqa: BLE001 - collected and asserted below
            errors.append(error)

    threads = [threading.Thread(target=pay, args=(d,)) for d in dossiers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert sorted(answers) == list(range(1, 9)) == series_numbers(app)
    holders = app.get_or_none(ReceiptSeries.id_for("test", "1C26TQT")).holders
    assert {holders[n] for n in answers} == {Invoice.id_for("test", d) for d in dossiers}


def test_a_new_years_template_starts_its_own_series_at_one(app):
    pay_cash(app, issued(app))
    app.clock = FixedClock(datetime(2026, 12, 31, 17, 0, tzinfo=timezone.utc))  # 1 Jan 2027, 00:00 in Vietnam
    paid = pay_cash(app, issued(app))
    assert (paid["receipt"]["symbol"], paid["receipt"]["number"]) == ("1C27TQT", 1)
    assert receipt_template_on(BOOK, date(2025, 12, 31)) is None


def test_the_receipt_is_published(app):
    pay_cash(app, issued(app))
    events = [e for e in publication().page(app, 1, 100) if e.type.endswith("InvoiceReceiptIssued")]
    message = events[0].message(payment_events.InvoiceReceiptIssued)
    assert (message.symbol, message.number, message.method, message.amount_vnd) == ("1C26TQT", "0000001", "cash", 10_000)


# -- the PDF ---------------------------------------------------------------------------------------
def test_the_receipt_pdf_shows_its_symbol_number_amount_and_items_in_vietnamese(app, tmp_path: Path):
    dossier_id = issued(app, "2.000635")
    pay_cash(app, dossier_id)
    receipt = app.receipt_of(dossier_id)
    path = tmp_path / "bien-lai.pdf"
    path.write_bytes(receipt_pdf(receipt))
    text = " ".join(subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True,
                                   check=True).stdout.split())
    for expected in ("BIÊN LAI THU PHÍ, LỆ PHÍ", "Ký hiệu: 1C26TQT", "Số: 0000001", "13.000 đồng",
                     "Mười ba nghìn đồng", "Phí tra cứu", "Lệ phí cấp bản sao", "8.000 đồng", "5.000 đồng",
                     receipt["dossier_code"], "Đông Hà, ngày 01 tháng 12 năm 2026", "canbo01"):
        assert expected in text, expected
    assert "subject-1" not in text  # no payer data on the receipt


def test_an_unpaid_invoice_has_no_receipt(app):
    with pytest.raises(RuleViolated, match="no receipt"):
        app.receipt_of(issued(app))


def test_amounts_in_words_follow_vietnamese_usage():
    assert in_words(10_000) == "Mười nghìn đồng"
    assert in_words(125_000) == "Một trăm hai mươi lăm nghìn đồng"
    assert in_words(1_005_000) == "Một triệu không trăm lẻ năm nghìn đồng"
    assert in_words(21) == "Hai mươi mốt đồng"
    assert in_words(24) == "Hai mươi tư đồng"


# -- refunds ---------------------------------------------------------------------------------------
def test_a_refund_answers_its_repeat_with_the_first_result_and_never_exceeds_what_remains(app):
    dossier_id = issued(app)
    pay_cash(app, dossier_id)
    first = app.refund_payment("r1", dossier_id, 4_000, "Thu thừa", DESK)
    assert (first["refund"]["amount_vnd"], first["invoice"]["refundable_vnd"]) == (4_000, 6_000)
    again = app.refund_payment("r1", dossier_id, 4_000, "Thu thừa", DESK)
    assert again == first
    assert [e.name for e in own_log(app)].count("Invoice.Refunded") == 1
    with pytest.raises(RuleViolated) as above:
        app.refund_payment("r2", dossier_id, 6_001, "Hoàn", DESK)
    assert above.value.reason == "REFUND_EXCEEDS_REFUNDABLE"
    with pytest.raises(RuleViolated):  # the same key for another refund
        app.refund_payment("r1", dossier_id, 1_000, "Thu thừa", DESK)
    with pytest.raises(InvalidArgument):
        app.refund_payment("r3", dossier_id, 0, "Hoàn", DESK)
    with pytest.raises(InvalidArgument):
        app.refund_payment("", dossier_id, 1_000, "Hoàn", DESK)
    with pytest.raises(NotFound):
        app.refund_payment("r4", uuid4(), 1_000, "Hoàn", DESK)
    assert app.refund_payment("r5", dossier_id, 6_000, "Hoàn phần còn lại", DESK)["invoice"]["refundable_vnd"] == 0


def test_an_unpaid_invoice_cannot_be_refunded(app):
    with pytest.raises(RuleViolated) as refused:
        app.refund_payment("r1", issued(app), 1_000, "Hoàn", DESK)
    assert refused.value.reason == "NOT_PAID"


# -- the end of a dossier ---------------------------------------------------------------------------
def withdrawn(dossier_id: UUID, position: int = 2) -> PublishedEvent:
    return published(None, intake_events.DossierWithdrawn(dossier_id=str(dossier_id), withdrawn_at=timestamp(NOW)),
                     position)  # type: ignore[arg-type]


def refused(dossier_id: UUID, position: int = 2) -> PublishedEvent:
    return published(None, intake_events.DossierRefused(dossier_id=str(dossier_id), reason="Thiếu giấy tờ",
                                                        refused_at=timestamp(NOW)), position)  # type: ignore[arg-type]


def test_a_withdrawn_dossiers_unpaid_invoice_is_cancelled_and_a_later_payment_refused(app):
    dossier_id = issued(app)
    apply(app, withdrawn(dossier_id))
    invoice = app.invoice_for_dossier(dossier_id)
    assert invoice["status"] == "cancelled"
    with pytest.raises(RuleViolated) as late:
        app.record_gateway_result(gateway_result(app, dossier_id), GATEWAY_ACTOR)
    assert late.value.reason == "INVOICE_CANCELLED"
    assert series_numbers(app) == []


def test_a_withdrawn_dossiers_paid_invoice_is_refunded_by_its_procedures_rule(app):
    full, lephi = issued(app, "2.000884"), issued(app, "2.000635")
    pay_cash(app, full)
    pay_cash(app, lephi)
    apply(app, withdrawn(full))
    apply(app, withdrawn(lephi))
    assert app.invoice_for_dossier(full)["refunded_vnd"] == 10_000  # withdrawn: full
    assert app.invoice_for_dossier(lephi)["refunded_vnd"] == 5_000  # withdrawn: le_phi (the phí is kept)
    assert app.invoice_for_dossier(lephi)["status"] == "paid"


def test_a_refused_dossiers_paid_invoice_follows_its_refused_rule(app):
    none, default = issued(app, "2.000884"), issued(app, "2.000635")
    pay_cash(app, none)
    pay_cash(app, default)
    stored = len(own_log(app))
    apply(app, refused(none))
    assert len(own_log(app)) == stored  # refused: none
    apply(app, refused(default))
    assert app.invoice_for_dossier(default)["refunded_vnd"] == 13_000  # no refused rule: in full


def test_an_ending_told_twice_refunds_once_and_a_dossier_without_invoice_changes_nothing(app):
    dossier_id = issued(app)
    pay_cash(app, dossier_id)
    event = withdrawn(dossier_id)
    apply(app, event)
    apply(app, event)  # a redelivery past the tracking check: the refund's key is the upstream event
    assert app.invoice_for_dossier(dossier_id)["refunded_vnd"] == 10_000
    stored = len(own_log(app))
    apply(app, withdrawn(uuid4()))
    assert len(own_log(app)) == stored


def test_refund_rules_take_everything_only_the_le_phi_or_nothing():
    lines = [{"kind": "phi", "amount_vnd": 8_000}, {"kind": "le_phi", "amount_vnd": 5_000}]
    assert (refund_due("full", lines), refund_due("le_phi", lines), refund_due("none", lines)) == (13_000, 5_000, 0)


# -- fees.yaml ----------------------------------------------------------------------------------------
def _book(tmp_path: Path, extra: str) -> FeeBook:
    path = tmp_path / "fees.yaml"
    path.write_text(extra, encoding="utf-8")
    return load_fee_book(path)


def test_fees_yaml_gives_receipt_templates_and_refuses_bad_ones(tmp_path: Path):
    """(Refund rules are the catalogue's schedules': their validation is tested in libs/common.)"""
    book = _book(tmp_path, """receipt_templates:
  - {form: "01BLP0-001", symbol: "1C26TQT", effective_from: 2026-01-01}
""")
    assert receipt_template_on(book, date(2026, 5, 1)).symbol == "1C26TQT"
    with pytest.raises(FeeDataError, match="symbol"):
        _book(tmp_path, "receipt_templates:\n  - {form: F, symbol: 'bad symbol'}\n")
    with pytest.raises(FeeDataError, match="listed twice"):
        _book(tmp_path, "receipt_templates:\n  - {form: F, symbol: 1C26TQT}\n  - {form: G, symbol: 1C26TQT}\n")


def test_the_provinces_fees_yaml_loads_with_its_receipt_templates():
    from motcua_testkit.plugin import DEMO_DATA

    book = load_fee_book(DEMO_DATA / "fees.yaml")
    assert receipt_template_on(book, date(2026, 12, 4)).symbol == "1C26TQT"


# -- the ledger's rows ------------------------------------------------------------------------------
def test_the_ledger_counts_a_receipt_on_its_day_in_vietnam_time_with_each_item_and_its_refunds(app):
    from motcua_payment.adapters.ledger import LedgerTables

    app.clock = FixedClock(datetime(2026, 12, 1, 17, 30, tzinfo=timezone.utc))  # 00:30 on 2 Dec in Vietnam
    dossier_id = issued(app, "2.000635")
    pay_cash(app, dossier_id)
    app.refund_payment("r1", dossier_id, 5_000, "Hoàn lệ phí", DESK)
    ledger = LedgerTables("payment")
    rows = [(sql.split()[2], params) for n in app.recorder.select_notifications(start=1, limit=100)
            for sql, params in ledger.statements(app.mapper.to_domain_event(n))]
    receipts = [p for table, p in rows if table == '"payment".receipts']
    lines = [p for table, p in rows if table == '"payment".receipt_lines']
    refunds = [p for table, p in rows if table == '"payment".refunds']
    assert [(r[0], r[1], r[4], r[5], r[6], r[7], r[9]) for r in receipts] == \
        [("1C26TQT", 1, "000.31.01.H45", "canbo01", "cash", 13_000, date(2026, 12, 2))]
    assert [(line[3], line[4], line[6], line[8]) for line in lines] == \
        [("PHI_TRA_CUU", "phi", 8_000, date(2026, 12, 2)), ("LE_PHI_CAP", "le_phi", 5_000, date(2026, 12, 2))]
    assert [(r[1], r[2], r[4]) for r in refunds] == [("r1", 5_000, date(2026, 12, 2))]


def test_finance_reads_refuse_a_missing_unit_a_reversed_or_too_long_range_and_a_malformed_day(app):
    from motcua_payment.adapters.proto import parse_day

    with pytest.raises(InvalidArgument):
        app.cash_close("", "", date(2026, 12, 1))
    with pytest.raises(InvalidArgument):
        app.revenue("000.31.01.H45", date(2026, 12, 2), date(2026, 12, 1))
    with pytest.raises(InvalidArgument):
        app.revenue("000.31.01.H45", date(2025, 1, 1), date(2026, 12, 1))
    assert parse_day("2026-12-01", "day") == date(2026, 12, 1)
    for bad in ("", "01/12/2026", "2026-13-01", "2026-1-1"):
        with pytest.raises(InvalidArgument):
            parse_day(bad, "day")


def test_the_revenue_spreadsheet_has_a_row_per_unit_and_item_and_the_totals_as_numbers():
    from io import BytesIO

    from openpyxl import load_workbook

    from motcua_payment.adapters.spreadsheet import revenue_xlsx

    report = {"unit_code": "000.31.01.H45", "from": date(2026, 12, 1), "to": date(2026, 12, 31),
              "items": [{"unit_code": "000.31.01.H45", "kind": "le_phi", "item_code": "LE_PHI_CAP",
                         "name": "Lệ phí cấp bản sao", "count": 3, "amount_vnd": 15_000},
                        {"unit_code": "000.31.01.H45", "kind": "phi", "item_code": "PHI_TRA_CUU",
                         "name": "Phí tra cứu", "count": 2, "amount_vnd": 16_000}],
              "collected_vnd": 31_000, "phi_vnd": 16_000, "le_phi_vnd": 15_000, "refunded_vnd": 5_000, "refunds": 1}
    rows = list(load_workbook(BytesIO(revenue_xlsx(report))).active.iter_rows(values_only=True))
    assert rows[0][0] == "Báo cáo thu phí, lệ phí từ ngày 01/12/2026 đến ngày 31/12/2026"
    assert rows[3] == ("000.31.01.H45", "Lệ phí", "LE_PHI_CAP", "Lệ phí cấp bản sao", 3, 15_000)
    assert rows[4][1:] == ("Phí", "PHI_TRA_CUU", "Phí tra cứu", 2, 16_000)
    assert [(r[3], r[5]) for r in rows[5:]] == [("Tổng phí", 16_000), ("Tổng lệ phí", 15_000), ("Tổng thu", 31_000),
                                                ("Đã hoàn trả", 5_000)]


# -- a dossier refused during processing (workflow's CaseStopped) ------------------------------------
def case_stopped(dossier_id: UUID, end_reason: str = "stopped", position: int = 7) -> PublishedEvent:
    message = workflow_events.CaseStopped(reason="Không đủ điều kiện", stopped_at=timestamp(NOW),
                                          classification="ON_TIME", national_status=8, end_reason=end_reason)
    return PublishedEvent("workflow", f"workflow:{dossier_id}:{position}", "motcua/test/workflow",
                          message.DESCRIPTOR.full_name, NOW, str(dossier_id), position, position - 1, {}, "", "",
                          "", "", NOW, message.SerializeToString())


def apply_workflow(app: PaymentApplication, event: PublishedEvent) -> None:
    work = UnitOfWork(app)
    with command_context(CommandContext(actor=Actor.system("payment.consumer"), province="test", clock=app.clock)), \
            concerning(UUID(event.subject), causation_id=event.ref, dossier_code=event.dossier_code):
        WorkflowPolicies("test", BOOK)(event, work)
    app.record(*work.aggregates)


def test_a_case_stopped_during_processing_cancels_its_unpaid_invoice(app):
    dossier_id = issued(app)
    apply_workflow(app, case_stopped(dossier_id))
    assert app.invoice_for_dossier(dossier_id)["status"] == "cancelled"


def test_a_case_stopped_during_processing_refunds_a_paid_invoice_by_its_refused_rule_once(app):
    none, default = issued(app, "2.000884"), issued(app, "2.000635")
    pay_cash(app, none)
    pay_cash(app, default)
    stored = len(own_log(app))
    apply_workflow(app, case_stopped(none))
    assert len(own_log(app)) == stored  # the signature procedure refunds nothing when refused
    event = case_stopped(default)
    apply_workflow(app, event)
    apply_workflow(app, event)  # a redelivery: the refund's key is the upstream event
    invoice = app.invoice_for_dossier(default)
    assert invoice["refunded_vnd"] == 13_000 and len(invoice["refunds"]) == 1  # no refused rule: in full


def test_a_withdrawn_case_is_left_to_intakes_dossier_withdrawn(app):
    dossier_id = issued(app)
    pay_cash(app, dossier_id)
    stored = len(own_log(app))
    apply_workflow(app, case_stopped(dossier_id, end_reason="withdrawn"))
    assert len(own_log(app)) == stored
