"""Payment's use cases: issue a dossier's invoice, record its payment (cash or a verified gateway
result), refund it, cancel it, read it."""
from __future__ import annotations

import random
import threading
import time
from dataclasses import replace
from datetime import date, timedelta
from typing import Any, Callable
from uuid import UUID

from eventsourcing.persistence import IntegrityError

from motcua_common.audit.access import AccessDenied, DossierRead
from motcua_common.audit.log import CHAIN
from motcua_common.config.clock import Clock
from motcua_common.errors import Conflict, InvalidArgument, MotcuaError, NotFound, RuleViolated
from motcua_common.events.context import Actor, CommandContext, command_context, concerning
from motcua_common.events.idempotency import IdempotentRequest
from motcua_common.events.ids import platform_id
from motcua_common.events.store import MotcuaApplication, ReadModel
from motcua_common.observability.logs import get_logger
from motcua_common.province.working_calendar import VIETNAM_TZ

from motcua_payment.domain.fees import Charge, FeeBook, receipt_template_on, vietnam_day
from motcua_payment.domain.invoice import CASH, GATEWAY, ONLINE_FLAG_NONE, GatewayResult, Invoice, OrderReference
from motcua_payment.domain.receipts import ReceiptSeries
from motcua_payment.domain.vietqr import Beneficiary, dynamic_payload
from motcua_payment.adapters.bank import CreditNotice as BankCreditNotice
from motcua_payment.adapters.paygov import CallbackRefused, GatewayUnavailable, PayGovConfig, redirect_url
from motcua_payment.domain.invoice import BANK_TRANSFER, ONLINE_FLAG_LOCAL
from motcua_payment.domain.reconciliation import (ACCEPTED, CREDIT_ALREADY_PAID, CREDIT_AMOUNT_MISMATCH, CREDIT_INVOICE_CANCELLED,
                                                  CREDIT_UNKNOWN_BILL, BankCredit, Reconciliation)

ATTEMPTS = 5  # a command that lost a race (another callback, or a payment taking a receipt number) is decided again


def invoice_view(invoice: Invoice) -> dict:
    payment = invoice.payment
    return {
        "id": invoice.id, "dossier_id": invoice.dossier_id, "dossier_code": invoice.dossier_code,
        "procedure_code": invoice.procedure_code, "order_id": invoice.order_id, "status": invoice.status,
        "total_vnd": invoice.total_vnd, "due": invoice.due, "collector": invoice.collector,
        "received_on": invoice.received_on, "lines": [dict(line) for line in invoice.lines],
        "national_status": int(invoice.national_status) if invoice.national_status else None,
        "payment": None if payment is None else dict(payment.__dict__),
        "refunded_vnd": invoice.refunded_vnd, "refundable_vnd": invoice.refundable_vnd,
        "refunds": [dict(r.__dict__) for r in invoice.refunds.values()],
        "unit_code": invoice.unit_code, "applicant": invoice.applicant, "version": invoice.version,
        "receipt": None if invoice.receipt is None else {**invoice.receipt.__dict__,
                                                         "printed_number": invoice.receipt.printed_number},
    }


class InvoiceIndex(ReadModel):
    """Invoice summaries kept in the events' transaction, and the look-up the use cases ask of them
    (adapters.read_model.PostgresInvoiceSummaries)."""

    def find(self, dossier_id: UUID | None = None, dossier_code: str = "") -> dict | None: ...


class Ledger(ReadModel):
    """Receipts, their items and refunds kept in the events' transaction, and the finance office's
    reads of them (adapters.ledger.PostgresLedger)."""

    def cash_close(self, unit_code: str, official: str, day: date) -> dict: ...

    def revenue(self, unit_code: str, first_day: date, last_day: date) -> dict: ...


class PaymentApplication(MotcuaApplication):
    chain = CHAIN
    reads = DossierRead
    denials = AccessDenied
    name = "payment"

    def __init__(self, env: dict[str, str], *, province: str, clock: Clock, index: InvoiceIndex | None = None,
                 gateway: PayGovConfig | None = None, beneficiary: Beneficiary | None = None,
                 return_url: str = "", fees: FeeBook | None = None, ledger: "Ledger | None" = None,
                 gateway_ledger: "GatewayLedger | None" = None, gateway_client: Any = None,
                 bank: Any = None) -> None:
        # kept in the events' transaction
        models = [m for m in (index, ledger, gateway_ledger) if m is not None]
        self.read_model = models[0] if len(models) == 1 else (ReadModels(*models) if models else None)  # type: ignore[assignment]
        self.index = index
        self.ledger = ledger  # receipts, their items and refunds (the cash close and the revenue read it)
        self.gateway_ledger = gateway_ledger  # gateway payments by state and day (the sweep and the reconciliation)
        self.gateway_client = gateway_client  # adapters.paygov.PayGovClient: the query and the statement
        self.bank = bank  # adapters.bank.BankConfig: the bank's credit notifications are verified with it
        self.fees = fees  # the discount rules and receipt templates (fees.yaml)
        # Payments in one process take receipt numbers one at a time (the series is one aggregate: racing
        # for it only costs retries); other processes' races are caught by the series' version.
        self._numbering = threading.RLock()
        super().__init__(env=env)
        self.province = province
        self.clock = clock
        self.gateway = gateway  # None: online payment is not configured here
        self.beneficiary = beneficiary  # None: no VietQR account configured
        self.return_url = return_url

    def _context(self, actor: Actor) -> CommandContext:
        return CommandContext(actor=actor, province=self.province, clock=self.clock)

    def _accounts_context(self, actor: Actor) -> CommandContext:
        """Facts about the province's accounts, not one dossier, correlate on the platform's id."""
        return CommandContext(actor=actor, province=self.province, clock=self.clock,
                              correlation_id=platform_id(self.province))

    # -- reading --------------------------------------------------------------------------------
    def get_invoice(self, invoice_id: UUID) -> dict:
        return invoice_view(self.get_existing(invoice_id, "invoice_id", "invoice"))

    def invoice_for_dossier(self, dossier_id: UUID) -> dict | None:
        invoice = self.get_or_none(Invoice.id_for(self.province, dossier_id))
        return None if invoice is None else invoice_view(invoice)

    def access_target(self, dossier_id: UUID | None = None, dossier_code: str = "") -> dict | None:
        """The invoice's summary (unit, applicant) the edge decides a call on; None if there is none."""
        if self.index is None:
            return None
        return self.index.find(dossier_id=dossier_id, dossier_code=dossier_code)

    def invoice_of(self, dossier_id: UUID | None = None, dossier_code: str = "") -> dict:
        """A dossier's invoice by its id or code (NOT_FOUND while it has none)."""
        if dossier_id is None and dossier_code and self.index is not None:
            row = self.index.find(dossier_code=dossier_code)
            dossier_id = row["dossier_id"] if row else None
            if dossier_id is None:
                raise NotFound("dossier_code", f"dossier {dossier_code!r} has no invoice")
        if dossier_id is None:
            raise InvalidArgument.single("dossier_id", "give the dossier's id or its code (dossier_code)")
        view = self.invoice_for_dossier(dossier_id)
        if view is None:
            raise NotFound("dossier_id", f"dossier {dossier_id} has no invoice")
        return view

    def record_cash_payment(self, idempotency_key: str, dossier_id: UUID, expected_version: int, amount_vnd: int,
                            receipt_number: str, actor: Actor) -> dict:
        """The desk took the fee in cash: once per key; the invoice must be at `expected_version`.
        `receipt_number` is the desk's own reference (kept as the payment's reference); the receipt's
        number is taken from the series of the template in force, in the same transaction."""
        invoice_id = Invoice.id_for(self.province, dossier_id)
        for attempt in range(ATTEMPTS):
            if attempt:
                _back_off(attempt)
            with self._numbering:
                answer = self._record_cash_attempt(idempotency_key, dossier_id, invoice_id, expected_version,
                                                   amount_vnd, receipt_number, actor)
            if answer is not None:
                return answer
        raise Conflict("the invoice changed meanwhile: re-read it and retry")

    def _record_cash_attempt(self, idempotency_key: str, dossier_id: UUID, invoice_id: UUID, expected_version: int,
                             amount_vnd: int, receipt_number: str, actor: Actor) -> dict | None:
        """One try of record_cash_payment: its answer, or None when a concurrent save won (try again)."""
        idempotent = IdempotentRequest(self, self.province, "RecordCashPayment", actor, idempotency_key,
                                       {"dossier_id": dossier_id, "expected_version": expected_version,
                                        "amount_vnd": amount_vnd, "receipt_number": receipt_number})
        if idempotent.answered:
            return self.get_invoice(invoice_id)
        if expected_version <= 0:
            raise InvalidArgument.single("expected_version",
                                         "is required: the invoice's version as you last read it")
        invoice = self.get_or_none(invoice_id)
        if not isinstance(invoice, Invoice):
            raise NotFound("dossier_id", f"dossier {dossier_id} has no invoice")
        if invoice.version != expected_version:
            raise Conflict(f"invoice is at version {invoice.version}, not {expected_version}: re-read it and retry")
        with command_context(self._context(actor)), concerning(invoice.dossier_id,
                                                               dossier_code=invoice.dossier_code):
            invoice.pay(CASH, amount_vnd, receipt_number, self.clock.now(), ONLINE_FLAG_NONE)
            series = self._receipt_for(invoice, actor)
            record = idempotent.record(invoice.id, invoice.version)
        try:
            self.record(invoice, record, *series)
        except IntegrityError:
            return None  # the invoice, the key or the receipt series moved meanwhile: decided again
        return invoice_view(invoice)

    def start_gateway_payment(self, dossier_id: UUID, actor: Actor | None = None) -> dict:
        """Where to pay the invoice online: the gateway's redirect URL and a VietQR payload. The first
        start is recorded (Invoice.GatewayPaymentStarted): the sweep asks the gateway about it later."""
        invoice = self.get_or_none(Invoice.id_for(self.province, dossier_id))
        if not isinstance(invoice, Invoice):
            raise NotFound("dossier_id", f"dossier {dossier_id} has no invoice")
        if not invoice.awaiting_payment:
            raise RuleViolated("NOT_AWAITING_PAYMENT", f"invoice {invoice.order_id} is {invoice.status}")
        if self.gateway is None:
            raise RuleViolated("GATEWAY_NOT_CONFIGURED", "online payment is not configured in this province")
        url = redirect_url(self.gateway, invoice.order_id, invoice.total_vnd, invoice.order_id,
                           f"Thanh toan phi, le phi ho so {invoice.dossier_code}", self.return_url)
        payload = self.vietqr_payload(invoice.id, self.beneficiary) if self.beneficiary is not None else ""
        now = self.clock.now()
        if actor is not None and (invoice.gateway_started_at is None or now - invoice.gateway_started_at >= SWEEP_FOR):
            self._change(invoice.id, actor, lambda current: current.start_gateway_payment(now, SWEEP_FOR))
        return {"redirect_url": url, "vietqr_payload": payload, "order_id": invoice.order_id,
                "amount_vnd": invoice.total_vnd}

    def invoice_id_for_order(self, order_id: str) -> UUID:
        reference = self.get_or_none(OrderReference.id_for(self.province, order_id))
        if reference is None:
            raise NotFound("order_id", f"no invoice has the reference {order_id!r}")
        return reference.invoice_id

    def vietqr_payload(self, invoice_id: UUID, beneficiary: Beneficiary) -> str:
        """The dynamic VietQR payload that pays what the invoice still awaits, its reference as bill number."""
        invoice = self.get_existing(invoice_id, "invoice_id", "invoice")
        if not invoice.awaiting_payment:
            raise RuleViolated("NOT_AWAITING_PAYMENT", f"invoice {invoice.order_id} is {invoice.status}")
        return dynamic_payload(beneficiary, invoice.total_vnd, invoice.order_id, "Thanh toan phi, le phi")

    # -- commands -------------------------------------------------------------------------------
    def issue_invoice(self, dossier_id: UUID, dossier_code: str, charge: Charge, actor: Actor) -> dict:
        """The dossier's invoice for its charge; issued once (a repeat answers the first invoice)."""
        existing = self.get_or_none(Invoice.id_for(self.province, dossier_id))
        if existing is not None:
            return invoice_view(existing)
        with command_context(self._context(actor)), concerning(dossier_id, dossier_code=dossier_code):
            invoice = Invoice.issue(self.province, dossier_id, dossier_code, charge)
            reference = OrderReference(id=OrderReference.id_for(self.province, invoice.order_id),
                                       order_id=invoice.order_id, invoice_id=invoice.id)
        try:
            self.record(invoice, reference)
        except IntegrityError:  # issued meanwhile by a concurrent delivery of the same fact
            return self.get_invoice(invoice.id)
        return invoice_view(invoice)

    def pay_cash(self, invoice_id: UUID, amount_vnd: int, receipt_number: str, actor: Actor) -> dict:
        """An official took the fee at the desk and wrote receipt `receipt_number`."""
        return self._change(invoice_id, actor, lambda invoice: invoice.pay(
            CASH, amount_vnd, receipt_number, self.clock.now(), ONLINE_FLAG_NONE))

    def record_gateway_result(self, result: GatewayResult, actor: Actor) -> dict:
        """A verified gateway callback: one payment however often, late or out of order it comes."""
        invoice_id = self.invoice_id_for_order(result.order_id)
        if result.succeeded:
            try:
                return self._change(invoice_id, actor, lambda invoice: invoice.pay(
                    GATEWAY, result.amount_vnd, result.transaction_no, result.paid_at, result.online_flag))
            except RuleViolated as refused:
                if refused.reason != "ALREADY_PAID":
                    raise
                return self._hold_double_payment(invoice_id, result, actor)
        return self._change(invoice_id, actor, lambda invoice: invoice.fail(
            result.transaction_no, result.error_code, result.paid_at))

    def refund(self, invoice_id: UUID, key: str, amount_vnd: int, reason: str, actor: Actor) -> dict:
        """Refund part or all of the payment; a repeated `key` is answered with the first refund."""
        return self._change(invoice_id, actor, lambda invoice: invoice.refund(key, amount_vnd, reason,
                                                                              self.clock.now()))

    def cancel_invoice(self, invoice_id: UUID, reason: str, actor: Actor) -> dict:
        return self._change(invoice_id, actor, lambda invoice: invoice.cancel(reason))

    def _change(self, invoice_id: UUID, actor: Actor, decide: Callable[[Invoice], Any]) -> dict:
        """Load, decide, save; a save that lost a race is decided again on what won it."""
        for attempt in range(ATTEMPTS):
            if attempt:
                _back_off(attempt)
            with self._numbering:
                invoice = self.get_existing(invoice_id, "invoice_id", "invoice")
                with command_context(self._context(actor)), concerning(invoice.dossier_id,
                                                                       dossier_code=invoice.dossier_code):
                    decide(invoice)
                    series = self._receipt_for(invoice, actor)
                if not invoice.pending_events:
                    return invoice_view(invoice)  # nothing new: a repeat, answered from what is stored
                try:
                    self.record(invoice, *series)
                except IntegrityError:
                    continue
                return invoice_view(invoice)
        raise Conflict("the invoice kept changing meanwhile: re-read it and retry")

    # -- receipts -------------------------------------------------------------------------------
    def _receipt_for(self, invoice: Invoice, actor: Actor) -> list[ReceiptSeries]:
        """A newly paid invoice's receipt, numbered from its template's series: the series to save with
        the invoice (nothing when the invoice is not newly paid or no template is in force)."""
        newly_paid = any(isinstance(e, Invoice.Paid) for e in invoice.pending_events)
        if not newly_paid or invoice.receipt is not None or self.fees is None:
            return []
        now = self.clock.now()
        template = receipt_template_on(self.fees, vietnam_day(now))
        if template is None:
            return []
        series = self.get_or_none(ReceiptSeries.id_for(self.province, template.symbol))
        if series is None:
            series = ReceiptSeries.open(self.province, template.form, template.symbol)
        number = series.take(invoice.id)
        invoice.issue_receipt(template.form, template.symbol, number, now,
                              actor.subject if invoice.payment.method == CASH else "")
        return [series]

    def receipt_of(self, dossier_id: UUID | None = None, dossier_code: str = "") -> dict:
        """A paid dossier's receipt with what it prints (FAILED_PRECONDITION while it has none)."""
        view = self.invoice_of(dossier_id, dossier_code)
        if view["receipt"] is None:
            raise RuleViolated("NO_RECEIPT", f"invoice {view['order_id']} has no receipt: it is {view['status']}")
        template = None
        if self.fees is not None:
            template = next((t for t in self.fees.receipt_templates if t.symbol == view["receipt"]["symbol"]), None)
        return {**view, "issuer": template.issuer if template else "", "place": template.place if template else ""}

    # -- refunds --------------------------------------------------------------------------------
    def refund_payment(self, idempotency_key: str, dossier_id: UUID, amount_vnd: int, reason: str,
                       actor: Actor) -> dict:
        """Refund part or all of a dossier's payment; a repeated key answers the first refund."""
        invoice_id = Invoice.id_for(self.province, dossier_id)
        if self.get_or_none(invoice_id) is None:
            raise NotFound("dossier_id", f"dossier {dossier_id} has no invoice")
        view = self.refund(invoice_id, idempotency_key, amount_vnd, reason, actor)
        return {"invoice": view, "refund": next(r for r in view["refunds"] if r["key"] == idempotency_key)}

    # -- the finance office's reads -------------------------------------------------------------
    def cash_close(self, unit_code: str, official: str, day: date) -> dict:
        if not unit_code:
            raise InvalidArgument.single("unit_code", "is required: the desk's unit")
        if self.ledger is None:
            raise RuleViolated("LEDGER_UNAVAILABLE", "the cash ledger is not kept here")
        return self.ledger.cash_close(unit_code, official, day)

    def revenue(self, unit_code: str, first_day: date, last_day: date) -> dict:
        if last_day < first_day:
            raise InvalidArgument.single("to_date", "is before from_date")
        if (last_day - first_day).days > 366:
            raise InvalidArgument.single("to_date", "a report covers at most 367 days")
        if self.ledger is None:
            raise RuleViolated("LEDGER_UNAVAILABLE", "the revenue ledger is not kept here")
        return self.ledger.revenue(unit_code, first_day, last_day)


    # -- reconciliation: the 15-minute sweep, the daily statement, the bank's credits ----------------
    def sweep_pending_gateway_payments(self) -> int:
        """Ask the gateway about each payment started at least SWEEP_AFTER (and at most SWEEP_FOR) ago and
        still awaited, and
        record its answer exactly as its callback would be (one payment however it arrives). Returns
        how many answers changed an invoice; a gateway that fails is asked again at the next sweep."""
        if self.gateway_client is None or self.gateway_ledger is None:
            return 0
        now = self.clock.now()
        changed = 0
        for invoice_id, order_id in self.gateway_ledger.pending_started_between(now - SWEEP_FOR, now - SWEEP_AFTER):
            try:
                result = self.gateway_client.query(order_id, now)
            except (GatewayUnavailable, CallbackRefused) as failed:
                _log.warning("gateway_query_failed", order_id=order_id, reason=str(failed)[:200])
                continue
            if result is None:
                continue
            before = self.get_invoice(invoice_id)["version"]
            try:
                after = self.record_gateway_result(result, SWEEP_ACTOR)
            except MotcuaError as refused:
                _log.warning("gateway_query_refused", order_id=order_id, reason=type(refused).__name__,
                             detail=getattr(refused, "reason", ""))
                continue
            if after["version"] != before:
                changed += 1
                _log.info("gateway_query_recorded", order_id=order_id, succeeded=result.succeeded)
        return changed

    def _reconciliation(self, day: date) -> Reconciliation:
        existing = self.get_or_none(Reconciliation.id_for(self.province, day))
        return existing if isinstance(existing, Reconciliation) else Reconciliation.open(self.province, day)

    def run_reconciliation(self, idempotency_key: str, day: date, actor: Actor) -> dict:
        """An official (or an operator) reconciles `day` now; once per key (a repeat answers the day's state)."""
        idempotent = IdempotentRequest(self, self.province, "RunReconciliation", actor, idempotency_key,
                                       {"day": day.isoformat()})
        if idempotent.answered:
            with command_context(self._accounts_context(actor)):
                reconciliation = self._reconciliation(day)
            return reconciliation_view(reconciliation) | {"recorded_now": 0, "statement_lines": 0}
        return self.reconcile_day(day, actor, idempotent)

    def reconcile_day(self, day: date, actor: Actor, idempotent: IdempotentRequest | None = None) -> dict:
        """Match the gateway's statement of `day` (Vietnam time) with the gateway payments recorded
        for that day; each finding is recorded once (running a day again records nothing new)."""
        if self.gateway_client is None or self.gateway_ledger is None:
            raise RuleViolated("GATEWAY_NOT_CONFIGURED", "online payment is not configured in this province")
        if day >= self.clock.now().astimezone(VIETNAM_TZ).date():
            raise InvalidArgument.single("day", "must be a day that has ended (Vietnam time)")
        try:
            statement = self.gateway_client.statement(day)
        except GatewayUnavailable as failed:
            raise RuleViolated("GATEWAY_UNAVAILABLE", f"the gateway's statement could not be read: {failed}") from None
        except CallbackRefused as refused:
            raise RuleViolated("STATEMENT_MALFORMED", str(refused)) from None
        recorded = self.gateway_ledger.gateway_payments_on(day)
        for _ in range(ATTEMPTS):
            with command_context(self._accounts_context(actor)):
                reconciliation = self._reconciliation(day)
                added = reconciliation.reconcile(statement, recorded, self.clock.now())
                aggregates: list = [reconciliation] if reconciliation.pending_events else []
                if idempotent is not None:
                    aggregates.append(idempotent.record(reconciliation.id, reconciliation.version))
            if aggregates:
                try:
                    self.record(*aggregates)
                except IntegrityError:
                    continue
            return reconciliation_view(reconciliation) | {"recorded_now": added, "statement_lines": len(statement)}
        raise Conflict("the reconciliation kept changing meanwhile: run it again")

    def record_bank_credit(self, notice: BankCreditNotice, actor: Actor) -> dict:
        """A verified credit to the collecting account: the invoice named by its bill number is paid
        when the amount is exactly the invoice's; anything else is held for an official as a
        discrepancy of the day it arrived. A notification told again changes nothing."""
        credit_id = BankCredit.id_for(self.province, notice.reference)
        for attempt in range(ATTEMPTS):
            if attempt:
                _back_off(attempt)
            with self._numbering:  # a paid credit takes a receipt number, as every payment does
                answer = self._record_bank_credit_attempt(credit_id, notice, actor)
            if answer is not None:
                return answer
        raise Conflict("the credit's invoice kept changing meanwhile: the bank will tell it again")

    def _record_bank_credit_attempt(self, credit_id: UUID, notice: BankCreditNotice, actor: Actor) -> dict | None:
        """One decision on a credit; None when its save lost a race (decided again on what won it)."""
        known = self.get_or_none(credit_id)
        if isinstance(known, BankCredit):
            return bank_credit_view(known)
        day = notice.credited_at.astimezone(VIETNAM_TZ).date()
        invoice: Invoice | None = None
        if notice.bill_number:
            reference = self.get_or_none(OrderReference.id_for(self.province, notice.bill_number))
            if reference is not None:
                invoice = self.get_existing(reference.invoice_id, "invoice_id", "invoice")
        held_as = CREDIT_UNKNOWN_BILL if invoice is None else ""
        # the credit, and the payment or the hold, correlate on the invoice's dossier when there is one
        about = self._accounts_context(actor) if invoice is None else replace(
            self._context(actor), correlation_id=invoice.dossier_id, dossier_code=invoice.dossier_code)
        with command_context(about):
            if invoice is not None:
                try:
                    invoice.pay(BANK_TRANSFER, notice.amount_vnd, notice.reference, notice.credited_at,
                                ONLINE_FLAG_LOCAL)
                except RuleViolated as refused:
                    held_as = CREDIT_HELD_AS.get(refused.reason, CREDIT_AMOUNT_MISMATCH)
            aggregates: list = [invoice] if invoice is not None and invoice.pending_events else []
            if invoice is not None and not held_as:
                aggregates += self._receipt_for(invoice, actor)
            found = ""
            if held_as:
                reconciliation = self._reconciliation(day)
                found = reconciliation.hold_credit(
                    held_as, notice.reference, notice.bill_number, notice.amount_vnd,
                    invoice.total_vnd if invoice is not None else 0, str(invoice.id) if invoice else "",
                    self.clock.now())
                aggregates.append(reconciliation)
            credit = BankCredit(id=credit_id, bank_reference=notice.reference, bill_number=notice.bill_number,
                                amount_vnd=notice.amount_vnd, credited_at=notice.credited_at,
                                outcome=BankCredit.HELD if held_as else BankCredit.PAID,
                                invoice_id=str(invoice.id) if invoice is not None else "", discrepancy_id=found,
                                day=day)
        try:
            self.record(*aggregates, credit)
        except IntegrityError:
            return None  # told twice at once, or the invoice changed meanwhile: decide again
        return bank_credit_view(credit)

    def list_discrepancies(self, first_day: date, last_day: date, include_resolved: bool = False) -> list[dict]:
        """The discrepancies found on each day from `first_day` to `last_day` (at most MAX_DAYS)."""
        if last_day < first_day:
            raise InvalidArgument.single("to_day", "must not be before from_day")
        if (last_day - first_day).days >= MAX_DAYS:
            raise InvalidArgument.single("to_day", f"at most {MAX_DAYS} days at once")
        found = []
        day = first_day
        while day <= last_day:
            reconciliation = self.get_or_none(Reconciliation.id_for(self.province, day))
            if isinstance(reconciliation, Reconciliation):
                found += [dict(d, day=day, version=reconciliation.version)
                          for d in reconciliation.discrepancies.values() if include_resolved or not d["decision"]]
            day += timedelta(days=1)
        return found

    def resolve_discrepancy(self, idempotency_key: str, day: date, discrepancy_id: str, decision: str, note: str,
                            actor: Actor) -> dict:
        """An official's recorded decision on a discrepancy; once per key (a repeat answers the first)."""
        idempotent = IdempotentRequest(self, self.province, "ResolveDiscrepancy", actor, idempotency_key,
                                       {"day": day.isoformat(), "discrepancy_id": discrepancy_id,
                                        "decision": decision, "note": note})
        reconciliation_id = Reconciliation.id_for(self.province, day)
        if idempotent.answered:
            return self._discrepancy(reconciliation_id, day, discrepancy_id)
        with self._numbering:  # accepting a held credit pays its invoice, which takes a receipt number
            reconciliation = self.get_or_none(reconciliation_id)
            if not isinstance(reconciliation, Reconciliation):
                raise NotFound("day", f"no reconciliation on {day.isoformat()}")
            with command_context(self._accounts_context(actor)):
                decided = reconciliation.resolve(discrepancy_id, decision, note, actor.subject or actor.kind,
                                                 self.clock.now())
                record = idempotent.record(reconciliation.id, reconciliation.version)
            paid = self._pay_accepted_credit(reconciliation.discrepancies[discrepancy_id], actor) \
                if decided and decision == ACCEPTED else []
            try:
                self.record(reconciliation, *paid, record)
            except IntegrityError:
                raise Conflict("the reconciliation or the invoice changed meanwhile: re-read it and retry") from None
        return self._discrepancy(reconciliation_id, day, discrepancy_id)

    def _pay_accepted_credit(self, discrepancy: dict, actor: Actor) -> list:
        """An official accepted a held bank credit: while its invoice still awaits payment, the credit pays
        it (when its amount is the invoice's) and takes a receipt like every payment. The invoice and the
        receipt series to save with the decision (nothing for another kind, or an invoice no longer awaiting)."""
        if not discrepancy["kind"].startswith("credit_") or not discrepancy["invoice_id"]:
            return []
        invoice = self.get_existing(UUID(discrepancy["invoice_id"]), "discrepancy_id", "invoice")
        if not invoice.awaiting_payment:
            return []
        credited = int(discrepancy["statement_amount_vnd"])
        if credited != invoice.total_vnd:
            raise RuleViolated("CREDIT_AMOUNT_DIFFERS",
                               f"the credit {discrepancy['reference']} is {credited} đồng, invoice {invoice.order_id} "
                               f"is for {invoice.total_vnd}: it cannot pay it (decide refund_to_payer)")
        credit = self.get_or_none(BankCredit.id_for(self.province, discrepancy["reference"]))
        paid_at = credit.credited_at if isinstance(credit, BankCredit) else self.clock.now()
        with command_context(self._context(actor)), concerning(invoice.dossier_id, dossier_code=invoice.dossier_code):
            invoice.pay(BANK_TRANSFER, credited, discrepancy["reference"], paid_at, ONLINE_FLAG_LOCAL)
            series = self._receipt_for(invoice, actor)
        return [invoice, *series]

    def _hold_double_payment(self, invoice_id: UUID, result: GatewayResult, actor: Actor) -> dict:
        """A second, different successful gateway payment of a paid invoice: held for an official as a
        `double_payment` discrepancy of the day it was paid (never a second payment, never lost); the
        invoice's view with `held` naming the discrepancy. Told again, nothing new is held."""
        day = result.paid_at.astimezone(VIETNAM_TZ).date()
        for attempt in range(ATTEMPTS):
            if attempt:
                _back_off(attempt)
            invoice = self.get_existing(invoice_id, "invoice_id", "invoice")
            with command_context(replace(self._context(actor), correlation_id=invoice.dossier_id,
                                         dossier_code=invoice.dossier_code)):
                reconciliation = self._reconciliation(day)
                found = reconciliation.hold_double_payment(result.transaction_no, invoice.order_id, result.amount_vnd,
                                                           invoice.total_vnd, str(invoice.id), self.clock.now())
            if reconciliation.pending_events:
                try:
                    self.record(reconciliation)
                except IntegrityError:
                    continue
                _log.warning("double_payment_held", order_id=invoice.order_id, discrepancy=found,
                             amount_vnd=result.amount_vnd)
            return invoice_view(invoice) | {"held": found}
        raise Conflict("the day's reconciliation kept changing meanwhile: the gateway will tell it again")

    def _discrepancy(self, reconciliation_id: UUID, day: date, discrepancy_id: str) -> dict:
        reconciliation = self.get_existing(reconciliation_id, "day", "reconciliation")
        return dict(reconciliation.discrepancies[discrepancy_id], day=day, version=reconciliation.version)



def _back_off(attempt: int) -> None:
    """A short, jittered pause before deciding again (another process won the race for the same aggregate)."""
    time.sleep(random.uniform(0, 0.01 * 2 ** attempt))


# -- reconciliation, module level (kept after the class so the merge stays simple) ---------------------
_log = get_logger()
SWEEP_AFTER = timedelta(minutes=15)  # a payment still awaited this long after its start is asked about
SWEEP_FOR = timedelta(days=2)  # ... until this long after it (an abandoned payment is not asked about forever)
SWEEP_ACTOR = Actor.system("payment.gateway-sweep")
RECONCILIATION_ACTOR = Actor.system("payment.daily-reconciliation")
MAX_DAYS = 62
#: why an invoice refused a bank credit -> the discrepancy it is held as
CREDIT_HELD_AS = {"WRONG_AMOUNT": CREDIT_AMOUNT_MISMATCH, "ALREADY_PAID": CREDIT_ALREADY_PAID,
                  "INVOICE_CANCELLED": CREDIT_INVOICE_CANCELLED, "PAYMENT_AMOUNT_CHANGED": CREDIT_AMOUNT_MISMATCH}


class GatewayLedger(ReadModel):
    """Gateway payments by state and day, kept in the events' transaction
    (adapters.read_model.PostgresGatewayLedger)."""

    def pending_started_between(self, earliest: Any, latest: Any) -> list[tuple[UUID, str]]: ...

    def gateway_payments_on(self, day: date) -> list: ...


class ReadModels(ReadModel):
    """Several read models kept in the same transaction."""

    def __init__(self, *models: ReadModel | None) -> None:
        self.models = [m for m in models if m is not None]
        self.tables = tuple(t for m in self.models for t in m.tables)

    def statements(self, domain_event: Any):  # type: ignore[no-untyped-def]
        for model in self.models:
            yield from model.statements(domain_event)

    def hook_for(self, domain_events: Any):  # type: ignore[no-untyped-def]
        hooks = [hook for model in self.models if (hook := model.hook_for(domain_events)) is not None]
        if not hooks:
            return None
        return lambda curs: [hook(curs) for hook in hooks]


def reconciliation_view(reconciliation: Reconciliation) -> dict:
    return {"day": reconciliation.day, "matched": len(reconciliation.matched),
            "discrepancies": [dict(d) for d in reconciliation.discrepancies.values()],
            "open": len(reconciliation.open_discrepancies), "version": reconciliation.version}


def bank_credit_view(credit: BankCredit) -> dict:
    return {"reference": credit.bank_reference, "bill_number": credit.bill_number, "amount_vnd": credit.amount_vnd,
            "outcome": credit.outcome, "invoice_id": credit.invoice_id, "discrepancy_id": credit.discrepancy_id,
            "day": credit.day}
