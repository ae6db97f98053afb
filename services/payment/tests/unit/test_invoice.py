"""The invoice in memory: issued once per dossier, paid once however often, late or out of order the
payment is told, refunded at most what was paid and once per idempotency key; a refused command
stores nothing."""
from __future__ import annotations

import threading
from datetime import date, datetime, timedelta, timezone
from uuid import uuid4

import pytest

from motcua_common.province.working_calendar import VIETNAM_TZ

from motcua_common.config.clock import FixedClock
from motcua_common.errors import InvalidArgument, NotFound, RuleViolated
from motcua_common.events.context import Actor
from motcua_common.events.in_memory import in_memory_env, own_log

from motcua_payment.application import PaymentApplication
from motcua_payment.domain.fees import FeeBook, FeeItem, FeeSchedule
from motcua_payment.domain.invoice import ONLINE_FLAG_NATIONAL, GatewayResult

NOW = datetime(2026, 12, 1, 2, 0, tzinfo=timezone.utc)  # 09:00 in Vietnam
OFFICIAL = Actor(kind="official", subject="canbo01", role="one_stop_officer", unit="000.31.01.H45")
GATEWAY = Actor.system("payment.paygov-callback")
SCHEDULES = {s.procedure_code: s for s in [
    FeeSchedule("2.000884", "Chứng thực", date(2017, 1, 1), "before_processing", "UBND xã",
                (FeeItem("LE_PHI", "le_phi", "Lệ phí chứng thực chữ ký", 10_000, "TT 226/2016"),))]}
BOOK = FeeBook([])


@pytest.fixture
def app():
    app = PaymentApplication(env=in_memory_env(), province="test", clock=FixedClock(NOW))
    yield app
    app.close()


def issue(app: PaymentApplication, procedure: str = "2.000884") -> dict:
    dossier_id = uuid4()
    return app.issue_invoice(dossier_id, f"000.31.01.H45-261201-{dossier_id.int % 10000:04d}",
                             BOOK.charge(SCHEDULES.get(procedure), "online", NOW), OFFICIAL)


def stored(app: PaymentApplication) -> list[str]:
    return [e.name for e in own_log(app)]


def callback(invoice: dict, transaction: str = "T1", amount: int = 10_000, ok: bool = True,
             minutes: int = 0) -> GatewayResult:
    return GatewayResult(invoice["order_id"], amount, ok, "00" if ok else "24", transaction,
                         NOW + timedelta(minutes=minutes), ONLINE_FLAG_NATIONAL)


# -- issuing --------------------------------------------------------------------------------------
def test_an_invoice_is_issued_once_per_dossier_and_awaits_payment_as_national_status_6(app):
    dossier_id = uuid4()
    charge = BOOK.charge(SCHEDULES.get("2.000884"), "desk", NOW)
    first = app.issue_invoice(dossier_id, "X-261201-0001", charge, OFFICIAL)
    again = app.issue_invoice(dossier_id, "X-261201-0001", charge, OFFICIAL)
    assert first == again and first["total_vnd"] == 10_000 and first["national_status"] == 6
    assert app.invoice_id_for_order(first["order_id"]) == first["id"]
    assert stored(app) == ["Invoice.Issued", "OrderReference.Assigned"]


def test_a_dossier_that_owes_nothing_gets_no_invoice(app):
    with pytest.raises(RuleViolated) as refused:
        app.issue_invoice(uuid4(), "X", BOOK.charge(SCHEDULES.get("1.001193"), "online", NOW), OFFICIAL)
    assert refused.value.reason == "NO_FEE_DUE" and stored(app) == []


# -- paying ---------------------------------------------------------------------------------------
def test_cash_at_the_desk_records_the_receipt_number_and_ends_status_6(app):
    invoice = issue(app)
    paid = app.pay_cash(invoice["id"], 10_000, "BL-0000123", OFFICIAL)
    assert paid["status"] == "paid" and paid["national_status"] is None
    assert paid["payment"]["reference"] == "BL-0000123" and paid["payment"]["online_flag"] == 0


def test_a_callback_told_three_times_makes_one_payment(app):
    invoice = issue(app)
    answers = [app.record_gateway_result(callback(invoice, minutes=m), GATEWAY) for m in (0, 0, 30)]
    assert {a["status"] for a in answers} == {"paid"}
    assert stored(app).count("Invoice.Paid") == 1
    assert answers[0]["payment"]["online_flag"] == ONLINE_FLAG_NATIONAL


def test_concurrent_duplicate_callbacks_make_one_payment(app):
    invoice = issue(app)
    start = threading.Barrier(6)
    errors: list[BaseException] = []

    def deliver() -> None:
        start.wait()
        try:
            app.record_gateway_result(callback(invoice), GATEWAY)
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=deliver) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and stored(app).count("Invoice.Paid") == 1


def test_a_command_that_loses_a_race_is_decided_again_on_what_won(app, monkeypatch):
    from motcua_payment.domain.invoice import Invoice

    invoice = issue(app)
    decided = []
    pay = Invoice.pay

    def racing(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        decided.append(self.version)
        if len(decided) == 1:  # another delivery of the same callback is saved in between
            app.record_gateway_result(callback(invoice), GATEWAY)
        return pay(self, *args, **kwargs)

    monkeypatch.setattr(Invoice, "pay", racing)
    assert app.record_gateway_result(callback(invoice), GATEWAY)["status"] == "paid"
    assert decided == [1, 1, 2]  # lost the race at version 1, decided again on version 2: nothing new
    assert stored(app).count("Invoice.Paid") == 1


def test_a_failure_told_after_the_payment_changes_nothing(app):
    invoice = issue(app)
    app.record_gateway_result(callback(invoice, "T2"), GATEWAY)
    late = app.record_gateway_result(callback(invoice, "T1", ok=False, minutes=-5), GATEWAY)
    assert late["status"] == "paid" and "Invoice.PaymentFailed" not in stored(app)


def test_a_failed_attempt_is_recorded_once_and_a_later_success_pays(app):
    invoice = issue(app)
    for _ in range(2):
        app.record_gateway_result(callback(invoice, "T1", ok=False), GATEWAY)
    assert app.get_invoice(invoice["id"])["national_status"] == 6
    assert app.record_gateway_result(callback(invoice, "T2", minutes=3), GATEWAY)["status"] == "paid"
    assert stored(app).count("Invoice.PaymentFailed") == 1


@pytest.mark.parametrize("amount", [0, -10_000, 10_000.0, "10000"])
def test_a_cash_amount_that_is_not_whole_dong_is_refused_naming_the_field(app, amount):
    invoice = issue(app)
    with pytest.raises(InvalidArgument) as refused:
        app.pay_cash(invoice["id"], amount, "BL-10", OFFICIAL)
    assert refused.value.violations[0].field == "amount_vnd" and "Invoice.Paid" not in stored(app)


@pytest.mark.parametrize("amount", [9_999, 10_001])
def test_a_wrong_amount_is_refused_and_stores_nothing(app, amount):
    invoice = issue(app)
    before = stored(app)
    with pytest.raises(RuleViolated) as refused:
        app.record_gateway_result(callback(invoice, amount=amount), GATEWAY)
    assert refused.value.reason == "WRONG_AMOUNT" and stored(app) == before


def test_a_second_different_payment_is_held_as_a_double_payment_not_recorded_as_paid(app):
    invoice = issue(app)
    app.pay_cash(invoice["id"], 10_000, "BL-1", OFFICIAL)
    held = app.record_gateway_result(callback(invoice), GATEWAY)
    again = app.record_gateway_result(callback(invoice), GATEWAY)
    assert held["held"] == again["held"] == f"double_payment:{callback(invoice).transaction_no}"
    assert stored(app).count("Invoice.Paid") == 1 and app.get_invoice(invoice["id"])["payment"]["reference"] == "BL-1"
    assert stored(app).count("Reconciliation.DiscrepancyFound") == 1
    day = NOW.astimezone(VIETNAM_TZ).date()
    [found] = app.list_discrepancies(day, day)
    assert (found["kind"], found["statement_amount_vnd"], found["invoice_id"]) == ("double_payment", 10_000,
                                                                                   str(invoice["id"]))


def test_an_unknown_order_is_not_found_naming_the_field(app):
    with pytest.raises(NotFound) as missing:
        app.record_gateway_result(GatewayResult("HSKHONGCO", 1, True, "00", "T", NOW, 1), GATEWAY)
    assert missing.value.field == "order_id"


def test_a_cancelled_invoice_takes_no_payment(app):
    invoice = issue(app)
    app.cancel_invoice(invoice["id"], "Công dân rút hồ sơ", OFFICIAL)
    with pytest.raises(RuleViolated) as refused:
        app.pay_cash(invoice["id"], 10_000, "BL-2", OFFICIAL)
    assert refused.value.reason == "INVOICE_CANCELLED"
    assert app.get_invoice(invoice["id"])["national_status"] is None


# -- refunding ------------------------------------------------------------------------------------
def test_a_refund_and_its_repeat_make_one_refund(app):
    invoice = issue(app)
    app.pay_cash(invoice["id"], 10_000, "BL-3", OFFICIAL)
    first = app.refund(invoice["id"], "refund-1", 4_000, "Thu thừa", OFFICIAL)
    again = app.refund(invoice["id"], "refund-1", 4_000, "Thu thừa", OFFICIAL)
    assert first == again and first["refundable_vnd"] == 6_000
    assert stored(app).count("Invoice.Refunded") == 1


def test_partial_refunds_never_exceed_what_was_paid(app):
    invoice = issue(app)
    app.pay_cash(invoice["id"], 10_000, "BL-4", OFFICIAL)
    app.refund(invoice["id"], "r1", 6_000, "Một phần", OFFICIAL)
    with pytest.raises(RuleViolated) as refused:
        app.refund(invoice["id"], "r2", 4_001, "Quá số còn lại", OFFICIAL)
    assert refused.value.reason == "REFUND_EXCEEDS_REFUNDABLE"
    assert app.refund(invoice["id"], "r3", 4_000, "Phần còn lại", OFFICIAL)["refundable_vnd"] == 0


def test_a_reused_refund_key_for_another_amount_is_refused(app):
    invoice = issue(app)
    app.pay_cash(invoice["id"], 10_000, "BL-5", OFFICIAL)
    app.refund(invoice["id"], "r1", 1_000, "Lý do", OFFICIAL)
    with pytest.raises(RuleViolated) as refused:
        app.refund(invoice["id"], "r1", 2_000, "Lý do", OFFICIAL)
    assert refused.value.reason == "IDEMPOTENCY_KEY_REUSED"


def test_concurrent_repeats_of_one_refund_make_one_refund(app):
    invoice = issue(app)
    app.pay_cash(invoice["id"], 10_000, "BL-6", OFFICIAL)
    start = threading.Barrier(5)

    def ask() -> None:
        start.wait()
        app.refund(invoice["id"], "same-key", 10_000, "Hồ sơ bị từ chối", OFFICIAL)

    threads = [threading.Thread(target=ask) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert stored(app).count("Invoice.Refunded") == 1


@pytest.mark.parametrize("amount, reason, field", [(0, "x", "amount_vnd"), (-5, "x", "amount_vnd"),
                                                   (100, " ", "reason")])
def test_a_malformed_refund_is_refused_naming_the_field(app, amount, reason, field):
    invoice = issue(app)
    app.pay_cash(invoice["id"], 10_000, "BL-7", OFFICIAL)
    with pytest.raises(InvalidArgument) as refused:
        app.refund(invoice["id"], "k", amount, reason, OFFICIAL)
    assert refused.value.violations[0].field == field


def test_an_unpaid_invoice_has_nothing_to_refund(app):
    invoice = issue(app)
    with pytest.raises(RuleViolated) as refused:
        app.refund(invoice["id"], "k", 1_000, "x", OFFICIAL)
    assert refused.value.reason == "NOT_PAID"


def test_every_payment_event_names_its_actor_and_dossier(app):
    from motcua_common.events.store import make_transcoder

    invoice = issue(app)
    app.pay_cash(invoice["id"], 10_000, "BL-8", OFFICIAL)
    paid = [e for e in own_log(app) if e.name == "Invoice.Paid"][0]
    envelope = make_transcoder().decode(paid.state)["envelope"]
    assert envelope["actor"]["subject"] == "canbo01"
    assert envelope["correlation_id"] == str(invoice["dossier_id"])


# -- VietQR ---------------------------------------------------------------------------------------
def test_an_unpaid_invoice_has_a_vietqr_payload_for_its_amount_and_reference_and_a_paid_one_none(app):
    from motcua_payment.domain.vietqr import Beneficiary, field, parse

    invoice = issue(app)
    fields = parse(app.vietqr_payload(invoice["id"], Beneficiary("970403", "0011012345678")))
    assert (field(fields, "54"), field(fields, "62.01")) == ("10000", invoice["order_id"])
    app.pay_cash(invoice["id"], 10_000, "BL-9", OFFICIAL)
    with pytest.raises(RuleViolated):
        app.vietqr_payload(invoice["id"], Beneficiary("970403", "0011012345678"))
