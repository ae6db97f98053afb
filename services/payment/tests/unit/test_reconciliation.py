"""Reconciliation, in memory: the 15-minute sweep asks the gateway about payments still awaited 15
minutes after they started (platform clock) and records its answer as a callback would; the daily
reconciliation records each statement line matched, missing, surplus or mismatched once; an
official resolves each discrepancy with a recorded decision; the bank's VietQR credits pay the
invoice their bill number names when the amount is exact, and are held for an official otherwise."""
from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone
from uuid import UUID, uuid4

import pytest

from motcua.payment.events.v1 import events_pb2 as payment_events
from motcua_common.config.clock import FixedClock
from motcua_common.errors import InvalidArgument, NotFound, RuleViolated
from motcua_common.events.context import Actor
from motcua_common.events.in_memory import in_memory_env, own_log
from motcua_common.province.working_calendar import VIETNAM_TZ

from motcua_payment.adapters import bank
from motcua_payment.adapters.paygov import (CallbackRefused, GatewayUnavailable, PayGovConfig, callback_checksum,
                                            format_pay_date, parse_statement, verify_callback)
from motcua_payment.adapters.published import publication
from motcua_payment.application import PaymentApplication
from motcua_payment.domain.fees import FeeBook, FeeItem, FeeSchedule, ReceiptTemplate
from motcua_payment.domain.invoice import GATEWAY, Invoice
from motcua_payment.domain.reconciliation import (AMOUNT_MISMATCH, CREDIT_ALREADY_PAID, CREDIT_AMOUNT_MISMATCH,
                                                  CREDIT_UNKNOWN_BILL, MISSING, SURPLUS, RecordedPayment,
                                                  StatementLine)
from motcua_payment.entrypoints.callback import bank_credit
from motcua_payment.scheduler import ReconciliationSchedule

NOW = datetime(2026, 12, 1, 2, 0, tzinfo=timezone.utc)  # 09:00 in Vietnam
SECRET = "khoa-bi-mat-thu-nghiem"
BANK_SECRET = "khoa-ngan-hang"
ACCOUNT = "0011001234567"
GATEWAY_CONFIG = PayGovConfig("http://gateway.invalid/pay", "P", "A", SECRET)
LEADER = Actor(kind="official", subject="lanhdao01", role="leader", unit="000.31.01.H45")
SCHEDULES = {s.procedure_code: s for s in [
    FeeSchedule("2.000884", "Chứng thực", date(2017, 1, 1), "before_processing", "UBND xã",
                (FeeItem("LE_PHI", "le_phi", "Lệ phí", 10_000, "TT 226/2016"),))]}
BOOK = FeeBook([],
               (ReceiptTemplate("01BLP0-001", "1C26TQT", date(2026, 1, 1), "UBND tỉnh Quảng Trị", "Đông Hà"),))


class Ledger:
    """The gateway ledger read from the invoices themselves (PostgresGatewayLedger in production)."""

    tables = ()

    def __init__(self) -> None:
        self.app: PaymentApplication | None = None

    def hook_for(self, events):  # type: ignore[no-untyped-def]
        return None

    def _invoices(self) -> list[Invoice]:
        ids = [e.originator_id for e in own_log(self.app) if e.name == "Invoice.Issued"]
        return [self.app.repository.get(UUID(str(i))) for i in ids]  # type: ignore[union-attr]

    def pending_started_between(self, earliest: datetime, latest: datetime) -> list[tuple[UUID, str]]:
        return [(i.id, i.order_id) for i in self._invoices()
                if i.awaiting_payment and i.gateway_started_at is not None and earliest <= i.gateway_started_at <= latest]

    def gateway_payments_on(self, day: date) -> list[RecordedPayment]:
        return [RecordedPayment(i.payment.reference, i.order_id, i.payment.amount_vnd, i.id) for i in self._invoices()
                if i.payment and i.payment.method == GATEWAY and i.payment.paid_at.astimezone(VIETNAM_TZ).date() == day]


class Gateway:
    """The gateway as the PayGov client sees it: signed answers to queries, and statements."""

    def __init__(self) -> None:
        self.answers: dict[str, dict] = {}
        self.statements: dict[date, list[StatementLine]] = {}
        self.asked: list[str] = []
        self.down = False

    def pays(self, invoice: dict, number: str, at: datetime = NOW, error_code: str = "00", amount: int = 0) -> dict:
        fields = {"orderId": invoice["order_id"], "amount": str(amount or invoice["total_vnd"]), "errorCode": error_code,
                  "transactionNo": number, "payDate": format_pay_date(at), "requestCode": invoice["order_id"],
                  "orderInfo": "Le phi", "paygate": "SANDBOX", "type": "1", "transactionCode": "TC" + number}
        fields["checksum"] = callback_checksum(SECRET, fields)
        self.answers[invoice["order_id"]] = fields
        return fields

    def query(self, order_id: str, now: datetime):  # type: ignore[no-untyped-def]
        self.asked.append(order_id)
        if self.down:
            raise GatewayUnavailable("connection refused")
        fields = self.answers.get(order_id)
        return None if fields is None else verify_callback(GATEWAY_CONFIG, fields, now)

    def statement(self, day: date) -> list[StatementLine]:
        if self.down:
            raise GatewayUnavailable("connection refused")
        return list(self.statements.get(day, []))


@pytest.fixture
def world():
    clock = FixedClock(NOW)
    ledger, gateway = Ledger(), Gateway()
    app = PaymentApplication(env=in_memory_env(), province="test", clock=clock, gateway=GATEWAY_CONFIG, fees=BOOK,
                             gateway_ledger=ledger, gateway_client=gateway, bank=bank.BankConfig(ACCOUNT, BANK_SECRET))
    ledger.app = app
    yield app, clock, gateway
    app.close()


def issue(app: PaymentApplication) -> dict:
    return app.issue_invoice(uuid4(), f"000.31.01.H45-261201-{uuid4().int % 10_000:04d}",
                             BOOK.charge(SCHEDULES.get("2.000884"), "online", NOW), Actor.system("test"))


def names(app: PaymentApplication) -> list[str]:
    return [e.name for e in own_log(app)]


def started(app: PaymentApplication, invoice: dict) -> None:
    app.start_gateway_payment(invoice["dossier_id"], Actor(kind="citizen", subject="cd1"))


# -- the start and the sweep -----------------------------------------------------------------------
def test_starting_a_gateway_payment_is_recorded_once_however_often_the_payer_starts(world):
    app, clock, gateway = world
    invoice = issue(app)
    started(app, invoice)
    clock.advance(timedelta(minutes=3))
    started(app, invoice)
    assert names(app).count("Invoice.GatewayPaymentStarted") == 1


def test_the_sweep_asks_only_about_payments_still_awaited_fifteen_minutes_after_their_start(world):
    app, clock, gateway = world
    early, late, never = issue(app), issue(app), issue(app)
    started(app, early)
    clock.advance(timedelta(minutes=10))
    started(app, late)
    clock.advance(timedelta(minutes=5))  # early: 15 minutes; late: 5 minutes; never: not started
    app.sweep_pending_gateway_payments()
    assert gateway.asked == [early["order_id"]]


def test_an_abandoned_payment_is_asked_about_for_two_days_and_again_when_the_payer_comes_back(world):
    app, clock, gateway = world
    invoice = issue(app)
    started(app, invoice)
    clock.advance(timedelta(days=2, minutes=1))
    app.sweep_pending_gateway_payments()
    assert gateway.asked == []
    started(app, invoice)
    clock.advance(timedelta(minutes=15))
    app.sweep_pending_gateway_payments()
    assert gateway.asked == [invoice["order_id"]] and names(app).count("Invoice.GatewayPaymentStarted") == 2


def test_the_sweep_records_what_the_gateway_says_as_its_callback_would_once(world):
    app, clock, gateway = world
    invoice = issue(app)
    started(app, invoice)
    gateway.pays(invoice, "SBX1")
    clock.advance(timedelta(minutes=15))
    assert app.sweep_pending_gateway_payments() == 1
    paid = app.get_invoice(invoice["id"])
    assert (paid["status"], paid["payment"]["reference"], paid["payment"]["online_flag"]) == ("paid", "SBX1", 1)
    # the late callback of the same payment changes nothing; nor does the next sweep ask again
    app.record_gateway_result(verify_callback(GATEWAY_CONFIG, gateway.answers[invoice["order_id"]], clock.now()),
                              Actor.system("payment.paygov-callback"))
    clock.advance(timedelta(minutes=15))
    assert app.sweep_pending_gateway_payments() == 0 and gateway.asked == [invoice["order_id"]]
    assert names(app).count("Invoice.Paid") == 1
    actor = [json.loads(e.state)["envelope"]["actor"]["subject"] for e in own_log(app) if e.name == "Invoice.Paid"]
    assert actor == ["payment.gateway-sweep"]


def test_the_sweep_records_a_failure_the_gateway_reports_and_keeps_asking(world):
    app, clock, gateway = world
    invoice = issue(app)
    started(app, invoice)
    gateway.pays(invoice, "SBX2", error_code="24")
    clock.advance(timedelta(minutes=16))
    app.sweep_pending_gateway_payments()
    assert names(app).count("Invoice.PaymentFailed") == 1 and app.get_invoice(invoice["id"])["status"] == "issued"
    app.sweep_pending_gateway_payments()
    assert names(app).count("Invoice.PaymentFailed") == 1 and len(gateway.asked) == 2


def test_a_gateway_that_does_not_answer_records_nothing_and_the_sweep_goes_on(world):
    app, clock, gateway = world
    invoice = issue(app)
    started(app, invoice)
    gateway.down = True
    clock.advance(timedelta(minutes=20))
    assert app.sweep_pending_gateway_payments() == 0
    assert app.get_invoice(invoice["id"])["status"] == "issued"


def test_a_forged_answer_to_the_query_records_nothing(world):
    app, clock, gateway = world
    invoice = issue(app)
    started(app, invoice)
    gateway.pays(invoice, "SBX3")["amount"] = "1"  # changed after signing
    clock.advance(timedelta(minutes=15))
    assert app.sweep_pending_gateway_payments() == 0 and "Invoice.Paid" not in names(app)


def test_the_schedule_sweeps_every_fifteen_minutes_of_the_platform_clock(world):
    app, clock, gateway = world
    invoice = issue(app)
    started(app, invoice)
    schedule = ReconciliationSchedule()
    clock.advance(timedelta(minutes=15))
    schedule.run(app)
    schedule.run(app)  # the timer ticks again at once: not yet due
    assert gateway.asked == [invoice["order_id"]]
    clock.advance(timedelta(minutes=15))
    schedule.run(app)
    assert gateway.asked == [invoice["order_id"]] * 2


def test_the_schedule_reconciles_the_day_before_once_and_again_after_a_failure(world):
    app, clock, gateway = world
    schedule = ReconciliationSchedule()
    yesterday = NOW.astimezone(VIETNAM_TZ).date() - timedelta(days=1)
    gateway.statements[yesterday] = [StatementLine("SBX-X", "HSKHONGCO", 5_000, NOW - timedelta(days=1))]
    gateway.down = True
    schedule.run(app)
    assert app.list_discrepancies(yesterday, yesterday) == []
    gateway.down = False
    clock.advance(timedelta(minutes=16))
    schedule.run(app)
    schedule.run(app)
    assert [d["kind"] for d in app.list_discrepancies(yesterday, yesterday)] == [SURPLUS]
    assert names(app).count("Reconciliation.DiscrepancyFound") == 1


# -- the daily statement ---------------------------------------------------------------------------
def paid_through_gateway(app: PaymentApplication, gateway: Gateway, number: str) -> dict:
    invoice = issue(app)
    app.record_gateway_result(verify_callback(GATEWAY_CONFIG, gateway.pays(invoice, number), NOW),
                              Actor.system("payment.paygov-callback"))
    return invoice


def line(invoice: dict, number: str, amount: int = 0) -> StatementLine:
    return StatementLine(number, invoice["order_id"], amount or invoice["total_vnd"], NOW)


def test_the_daily_reconciliation_records_matched_missing_surplus_and_mismatched_lines(world):
    app, clock, gateway = world
    day = NOW.astimezone(VIETNAM_TZ).date()
    matched, missing, mismatched = (paid_through_gateway(app, gateway, n) for n in ("T1", "T2", "T3"))
    gateway.statements[day] = [line(matched, "T1"), line(mismatched, "T3", amount=9_000),
                               StatementLine("T9", "HSKHONGCO", 5_000, NOW)]
    clock.advance(timedelta(days=1))
    view = app.reconcile_day(day, LEADER)
    assert view["matched"] == 1 and view["recorded_now"] == 4
    found = {d["kind"]: d for d in app.list_discrepancies(day, day)}
    assert set(found) == {MISSING, SURPLUS, AMOUNT_MISMATCH}
    assert (found[MISSING]["reference"], found[MISSING]["recorded_amount_vnd"], found[MISSING]["statement_amount_vnd"]) \
        == ("T2", 10_000, 0)
    assert (found[SURPLUS]["reference"], found[SURPLUS]["statement_amount_vnd"]) == ("T9", 5_000)
    assert (found[AMOUNT_MISMATCH]["statement_amount_vnd"], found[AMOUNT_MISMATCH]["recorded_amount_vnd"]) \
        == (9_000, 10_000)
    assert found[MISSING]["invoice_id"] == str(missing["id"])


def test_running_a_day_twice_records_nothing_new(world):
    app, clock, gateway = world
    day = NOW.astimezone(VIETNAM_TZ).date()
    paid_through_gateway(app, gateway, "T1")
    gateway.statements[day] = [StatementLine("T9", "HSKHONGCO", 5_000, NOW)]
    clock.advance(timedelta(days=1))
    app.reconcile_day(day, LEADER)
    before = len(own_log(app))
    again = app.reconcile_day(day, LEADER)
    assert again["recorded_now"] == 0 and len(own_log(app)) == before


def test_a_day_that_has_not_ended_cannot_be_reconciled(world):
    app, clock, gateway = world
    with pytest.raises(InvalidArgument):
        app.reconcile_day(NOW.astimezone(VIETNAM_TZ).date(), LEADER)


def test_an_unreachable_gateway_is_a_clear_refusal_that_records_nothing(world):
    app, clock, gateway = world
    gateway.down = True
    before = len(own_log(app))
    with pytest.raises(RuleViolated) as refused:
        app.reconcile_day(date(2026, 11, 30), LEADER)
    assert refused.value.reason == "GATEWAY_UNAVAILABLE" and len(own_log(app)) == before


def test_the_run_through_the_api_takes_an_idempotency_key(world):
    app, clock, gateway = world
    day = date(2026, 11, 30)
    gateway.statements[day] = [StatementLine("T9", "HSKHONGCO", 5_000, NOW)]
    first = app.run_reconciliation("k-run-1", day, LEADER)
    gateway.statements[day].append(StatementLine("T8", "HSKHONGCO2", 6_000, NOW))
    repeat = app.run_reconciliation("k-run-1", day, LEADER)  # answered, not run again
    assert first["recorded_now"] == 1 and repeat["recorded_now"] == 0 and len(repeat["discrepancies"]) == 1
    assert app.run_reconciliation("k-run-2", day, LEADER)["recorded_now"] == 1


def test_a_statement_with_one_transaction_told_twice_differently_is_refused(world):
    app, clock, gateway = world
    day = date(2026, 11, 30)
    gateway.statements[day] = [StatementLine("T9", "HS1", 5_000, NOW), StatementLine("T9", "HS1", 6_000, NOW)]
    with pytest.raises(InvalidArgument):
        app.reconcile_day(day, LEADER)


# -- the official's decision -----------------------------------------------------------------------
def surplus_day(app: PaymentApplication, gateway: Gateway) -> tuple[date, str]:
    day = date(2026, 11, 30)
    gateway.statements[day] = [StatementLine("T9", "HSKHONGCO", 5_000, NOW)]
    app.reconcile_day(day, LEADER)
    return day, app.list_discrepancies(day, day)[0]["discrepancy_id"]


def test_an_official_resolves_a_discrepancy_with_a_recorded_decision_once_per_key(world):
    app, clock, gateway = world
    day, found = surplus_day(app, gateway)
    resolved = app.resolve_discrepancy("k1", day, found, "refund_to_payer", "Hoàn trả cho người nộp", LEADER)
    again = app.resolve_discrepancy("k1", day, found, "refund_to_payer", "Hoàn trả cho người nộp", LEADER)
    assert (resolved["decision"], resolved["resolved_by"]) == ("refund_to_payer", "lanhdao01") and again == resolved
    assert names(app).count("Reconciliation.DiscrepancyResolved") == 1
    assert app.list_discrepancies(day, day) == []
    assert [d["decision"] for d in app.list_discrepancies(day, day, include_resolved=True)] == ["refund_to_payer"]


def test_a_resolved_discrepancy_cannot_be_decided_otherwise(world):
    app, clock, gateway = world
    day, found = surplus_day(app, gateway)
    app.resolve_discrepancy("k1", day, found, "accepted", "Đã đối chiếu", LEADER)
    with pytest.raises(RuleViolated) as refused:
        app.resolve_discrepancy("k2", day, found, "written_off", "Khác", LEADER)
    assert refused.value.reason == "ALREADY_RESOLVED"


@pytest.mark.parametrize("decision,note,error", [("approved", "Lý do", InvalidArgument), ("accepted", " ", InvalidArgument),
                                                 ("accepted", "x" * 501, InvalidArgument)])
def test_a_decision_needs_a_known_choice_and_a_note(world, decision, note, error):
    app, clock, gateway = world
    day, found = surplus_day(app, gateway)
    with pytest.raises(error):
        app.resolve_discrepancy("k1", day, found, decision, note, LEADER)


def test_an_unknown_discrepancy_or_day_is_not_found(world):
    app, clock, gateway = world
    day, found = surplus_day(app, gateway)
    with pytest.raises(NotFound):
        app.resolve_discrepancy("k1", day, "surplus:KHONG", "accepted", "Lý do", LEADER)
    with pytest.raises(NotFound):
        app.resolve_discrepancy("k2", date(2026, 1, 1), found, "accepted", "Lý do", LEADER)


def test_listing_is_bounded_and_ordered_by_day(world):
    app, clock, gateway = world
    with pytest.raises(InvalidArgument):
        app.list_discrepancies(date(2026, 1, 1), date(2026, 12, 31))
    with pytest.raises(InvalidArgument):
        app.list_discrepancies(date(2026, 2, 1), date(2026, 1, 1))


def test_discrepancies_and_decisions_are_published(world):
    app, clock, gateway = world
    day, found = surplus_day(app, gateway)
    app.resolve_discrepancy("k1", day, found, "accepted", "Đã đối chiếu", LEADER)
    app.publication = publication()
    published = {e.type: e for e in (app.publication.page(app, 1, 100))}
    found_event = payment_events.DiscrepancyFound.FromString(published["motcua.payment.events.v1.DiscrepancyFound"].data)
    decided = payment_events.DiscrepancyResolved.FromString(published["motcua.payment.events.v1.DiscrepancyResolved"].data)
    assert (found_event.day, found_event.kind, found_event.statement_amount_vnd) == (day.isoformat(), SURPLUS, 5_000)
    assert (decided.discrepancy_id, decided.decision) == (found, "accepted")


# -- the bank's credits (VietQR) ---------------------------------------------------------------------
def credit(invoice: dict | None, reference: str, amount: int = 0, secret: str = BANK_SECRET,
           tamper: dict | None = None) -> bytes:
    data: dict = {"reference": reference, "accountNumber": ACCOUNT, "amount": amount or (invoice or {}).get("total_vnd"),
                  "currency": "VND", "description": f"CT DEN:{reference} {(invoice or {}).get('order_id', 'HSKHONG')} "
                                                    "Thanh toan phi le phi",
                  "transactionDateTime": NOW.astimezone(VIETNAM_TZ).strftime("%Y-%m-%d %H:%M:%S")}
    signed = bank.signature(secret, data)
    data.update(tamper or {})  # changed after signing, as an attacker would
    return json.dumps({"data": data, "signature": signed}).encode()


def test_a_credit_of_the_exact_amount_pays_the_invoice_its_bill_number_names_as_a_local_transfer(world):
    app, clock, gateway = world
    invoice = issue(app)
    reply = bank_credit(app, credit(invoice, "FT001"))
    assert (reply.status, json.loads(reply.body)["code"]) == (200, "00")
    paid = app.get_invoice(invoice["id"])
    assert (paid["status"], paid["payment"]["method"], paid["payment"]["reference"], paid["payment"]["online_flag"]) \
        == ("paid", "bank_transfer", "FT001", 2)


def test_a_paid_bank_credit_takes_the_next_receipt_number_and_a_held_one_takes_none(world):
    app, clock, gateway = world
    first, second = issue(app), issue(app)
    bank_credit(app, credit(first, "FT010"))
    bank_credit(app, credit(second, "FT011", amount=9_000))  # held: pays nothing, so no receipt
    bank_credit(app, credit(second, "FT012"))
    assert names(app).count("Invoice.ReceiptIssued") == 2
    assert [app.get_invoice(i["id"])["receipt"]["number"] for i in (first, second)] == [1, 2]


def test_a_credit_told_again_changes_nothing(world):
    app, clock, gateway = world
    invoice = issue(app)
    for _ in range(3):
        assert bank_credit(app, credit(invoice, "FT001")).status == 200
    assert names(app).count("Invoice.Paid") == 1 and names(app).count("BankCredit.Received") == 1


def test_a_credit_of_another_amount_is_held_for_an_official_never_accepted(world):
    app, clock, gateway = world
    invoice = issue(app)
    assert bank_credit(app, credit(invoice, "FT002", amount=9_000)).status == 200
    assert app.get_invoice(invoice["id"])["status"] == "issued"
    [held] = app.list_discrepancies(NOW.astimezone(VIETNAM_TZ).date(), NOW.astimezone(VIETNAM_TZ).date())
    assert (held["kind"], held["reference"], held["statement_amount_vnd"], held["recorded_amount_vnd"],
            held["invoice_id"]) == (CREDIT_AMOUNT_MISMATCH, "FT002", 9_000, 10_000, str(invoice["id"]))
    bank_credit(app, credit(invoice, "FT002", amount=9_000))
    assert names(app).count("Reconciliation.DiscrepancyFound") == 1


def test_a_credit_naming_no_invoice_is_held_too(world):
    app, clock, gateway = world
    assert bank_credit(app, credit(None, "FT003", amount=7_000)).status == 200
    [held] = app.list_discrepancies(NOW.astimezone(VIETNAM_TZ).date(), NOW.astimezone(VIETNAM_TZ).date())
    assert (held["kind"], held["statement_amount_vnd"], held["invoice_id"]) == (CREDIT_UNKNOWN_BILL, 7_000, "")


def test_a_second_credit_for_a_paid_invoice_is_held_as_a_double_payment(world):
    app, clock, gateway = world
    invoice = issue(app)
    bank_credit(app, credit(invoice, "FT004"))
    bank_credit(app, credit(invoice, "FT005"))
    assert names(app).count("Invoice.Paid") == 1
    kinds = [d["kind"] for d in app.list_discrepancies(NOW.astimezone(VIETNAM_TZ).date(),
                                                       NOW.astimezone(VIETNAM_TZ).date())]
    assert kinds == [CREDIT_ALREADY_PAID]


def test_a_credit_changed_after_signing_records_nothing(world):
    app, clock, gateway = world
    invoice = issue(app)
    before = len(own_log(app))
    reply = bank_credit(app, credit(invoice, "FT006", amount=9_000, tamper={"amount": 10_000}))
    assert (reply.status, json.loads(reply.body)["desc"]) == (401, "BAD_SIGNATURE") and len(own_log(app)) == before


def test_a_credit_signed_with_another_secret_or_to_another_account_records_nothing(world):
    app, clock, gateway = world
    invoice = issue(app)
    before = len(own_log(app))
    assert bank_credit(app, credit(invoice, "FT007", secret="khac")).status == 401
    data = {"reference": "FT008", "accountNumber": "999", "amount": 10_000, "description": invoice["order_id"],
            "transactionDateTime": "2026-12-01 09:00:00"}
    body = json.dumps({"data": data, "signature": bank.signature(BANK_SECRET, data)}).encode()
    assert json.loads(bank_credit(app, body).body)["desc"] == "WRONG_ACCOUNT"
    assert bank_credit(app, b"not json").status == 400
    too_long = bank_credit(app, credit(invoice, "FT" + "9" * 70))
    assert (too_long.status, json.loads(too_long.body)["desc"]) == (400, "MALFORMED_FIELD")
    assert len(own_log(app)) == before


def test_the_bill_number_is_read_from_the_bank_field_or_the_transfer_content():
    assert bank.bill_number("", "ct den 123 hs0a1b2c3d4e5f6a7b8c thanh toan") == "HS0A1B2C3D4E5F6A7B8C"
    assert bank.bill_number("HS0A1B2C3D4E5F6A7B8C", "khong co") == "HS0A1B2C3D4E5F6A7B8C"
    assert bank.bill_number("", "chuyen tien") == ""


# -- the statement file ------------------------------------------------------------------------------
def test_the_statement_file_parses_and_a_broken_one_is_refused_naming_the_line():
    lines = parse_statement("transactionNo,orderId,amount,payDate,paygate\nT1,HS1,10000,20261201090000,SANDBOX\n")
    assert lines == [StatementLine("T1", "HS1", 10_000, datetime(2026, 12, 1, 2, 0, tzinfo=timezone.utc))]
    with pytest.raises(CallbackRefused) as refused:
        parse_statement("transactionNo,orderId,amount,payDate,paygate\nT1,HS1,-5,20261201090000,SANDBOX\n")
    assert refused.value.field == "statement line 2"
    with pytest.raises(CallbackRefused):
        parse_statement("<html>Bảo trì</html>")


# -- the gRPC edge's mapping ---------------------------------------------------------------------------
def test_the_edge_maps_discrepancies_and_refuses_a_malformed_day(world):
    from motcua.payment.v1 import payment_pb2 as pb
    from motcua_payment.entrypoints.grpc_server import PaymentServicer

    app, clock, gateway = world
    day, found = surplus_day(app, gateway)
    servicer = PaymentServicer(app)
    listed = servicer.ListDiscrepancies(pb.ListDiscrepanciesRequest(from_day="2026-11-30", to_day="2026-11-30"), None)
    [one] = listed.discrepancies
    assert (one.discrepancy_id, one.day, one.kind, one.statement_amount_vnd, one.decision) == \
        (found, "2026-11-30", SURPLUS, 5_000, "") and not one.HasField("resolved_at")
    for bad in ("", "30/11/2026", "2026-13-01", "2026-11-30T00"):
        with pytest.raises(InvalidArgument) as refused:
            servicer.ListDiscrepancies(pb.ListDiscrepanciesRequest(from_day=bad, to_day="2026-11-30"), None)
        assert [v.field for v in refused.value.violations] == ["from_day"]


# -- a decision acts (issue #12): accepted pays a held credit's invoice, refund_to_payer owes the money --
def held_credit(app: PaymentApplication, invoice: dict | None, reference: str, amount: int = 0) -> tuple[date, str]:
    bank_credit(app, credit(invoice, reference, amount=amount))
    day = NOW.astimezone(VIETNAM_TZ).date()
    [held] = [d for d in app.list_discrepancies(day, day) if d["reference"] == reference]
    return day, held["discrepancy_id"]


def test_accepting_a_held_credit_of_the_invoice_amount_pays_it_with_a_receipt_once(world, monkeypatch):
    app, clock, gateway = world
    invoice = issue(app)
    # held although of the right amount (e.g. the invoice refused it while a concurrent change was saved)
    monkeypatch.setattr(Invoice, "pay", lambda *a, **k: (_ for _ in ()).throw(RuleViolated("WRONG_AMOUNT", "x")))
    day, found = held_credit(app, invoice, "FT100")
    monkeypatch.undo()
    assert app.get_invoice(invoice["id"])["status"] == "issued"
    resolved = app.resolve_discrepancy("k1", day, found, "accepted", "Đã xác minh với ngân hàng", LEADER)
    again = app.resolve_discrepancy("k1", day, found, "accepted", "Đã xác minh với ngân hàng", LEADER)
    paid = app.get_invoice(invoice["id"])
    assert resolved["decision"] == "accepted" and again == resolved
    assert (paid["status"], paid["payment"]["method"], paid["payment"]["reference"], paid["payment"]["amount_vnd"],
            paid["payment"]["online_flag"], paid["receipt"]["number"]) == ("paid", "bank_transfer", "FT100", 10_000, 2, 1)
    assert names(app).count("Invoice.Paid") == 1 and names(app).count("Invoice.ReceiptIssued") == 1


def test_accepting_a_held_credit_of_another_amount_is_refused_and_records_nothing(world):
    app, clock, gateway = world
    invoice = issue(app)
    day, found = held_credit(app, invoice, "FT101", amount=9_000)
    before = len(own_log(app))
    with pytest.raises(RuleViolated) as refused:
        app.resolve_discrepancy("k1", day, found, "accepted", "Chấp nhận", LEADER)
    assert refused.value.reason == "CREDIT_AMOUNT_DIFFERS" and len(own_log(app)) == before
    assert app.get_invoice(invoice["id"])["status"] == "issued" and app.list_discrepancies(day, day)[0]["decision"] == ""


def test_accepting_a_double_payment_credit_records_the_decision_and_pays_nothing_again(world):
    app, clock, gateway = world
    invoice = issue(app)
    bank_credit(app, credit(invoice, "FT102"))
    day, found = held_credit(app, invoice, "FT103")
    app.resolve_discrepancy("k1", day, found, "accepted", "Đã giải trình", LEADER)
    assert app.get_invoice(invoice["id"])["payment"]["reference"] == "FT102"
    assert names(app).count("Invoice.Paid") == 1


def test_refund_to_payer_on_a_held_credit_or_a_surplus_owes_the_money_once_and_publishes_it(world):
    app, clock, gateway = world
    invoice = issue(app)
    day, found = held_credit(app, invoice, "FT104", amount=9_000)
    app.resolve_discrepancy("k1", day, found, "refund_to_payer", "Hoàn trả cho người nộp", LEADER)
    app.resolve_discrepancy("k2", day, found, "refund_to_payer", "Hoàn trả cho người nộp", LEADER)  # the same decision
    surplus, line = surplus_day(app, gateway)
    app.resolve_discrepancy("k3", surplus, line, "refund_to_payer", "Hoàn trả", LEADER)
    assert names(app).count("Reconciliation.RefundOwed") == 2
    assert app.get_invoice(invoice["id"])["status"] == "issued" and app.get_invoice(invoice["id"])["refunds"] == []
    app.publication = publication()
    owed = [payment_events.DiscrepancyRefundOwed.FromString(e.data) for e in app.publication.page(app, 1, 100)
            if e.type == "motcua.payment.events.v1.DiscrepancyRefundOwed"]
    assert [(o.discrepancy_id, o.reference, o.amount_vnd, o.invoice_id) for o in owed] == [
        (found, "FT104", 9_000, str(invoice["id"])), (line, "T9", 5_000, "")]


def test_other_decisions_owe_nothing(world):
    app, clock, gateway = world
    day, found = surplus_day(app, gateway)
    app.resolve_discrepancy("k1", day, found, "written_off", "Đã xử lý", LEADER)
    assert "Reconciliation.RefundOwed" not in names(app)


def test_a_double_payment_held_from_the_gateway_is_not_also_a_surplus_of_the_statement(world):
    app, clock, gateway = world
    invoice = paid_through_gateway(app, gateway, "T1")
    second = verify_callback(GATEWAY_CONFIG, gateway.pays(invoice, "T2"), NOW)
    held = app.record_gateway_result(second, Actor.system("test"))
    day = NOW.astimezone(VIETNAM_TZ).date()
    gateway.statements[day] = [line(invoice, "T1"), line(invoice, "T2")]
    clock._now = NOW + timedelta(days=1)  # type: ignore[attr-defined]
    app.reconcile_day(day, LEADER)
    assert [d["discrepancy_id"] for d in app.list_discrepancies(day, day)] == [held["held"]]
    app.resolve_discrepancy("k1", day, held["held"], "refund_to_payer", "Hoàn khoản nộp trùng", LEADER)
    assert names(app).count("Reconciliation.RefundOwed") == 1
