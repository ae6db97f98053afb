"""Payment's use cases: issue a dossier's invoice, record its payment (cash or a verified gateway
result), refund it, cancel it, read it."""
from __future__ import annotations

from typing import Any, Callable
from uuid import UUID

from eventsourcing.persistence import IntegrityError

from motcua_common.audit.access import AccessDenied, DossierRead
from motcua_common.audit.log import CHAIN
from motcua_common.config.clock import Clock
from motcua_common.errors import Conflict, InvalidArgument, NotFound, RuleViolated
from motcua_common.events.context import Actor, CommandContext, command_context, concerning
from motcua_common.events.idempotency import IdempotentRequest
from motcua_common.events.store import MotcuaApplication, ReadModel

from motcua_payment.domain.fees import Charge
from motcua_payment.domain.invoice import CASH, GATEWAY, ONLINE_FLAG_NONE, GatewayResult, Invoice, OrderReference
from motcua_payment.domain.vietqr import Beneficiary, dynamic_payload
from motcua_payment.adapters.paygov import PayGovConfig, redirect_url

ATTEMPTS = 3  # a command that lost a race (another callback saved first) is decided again on the new state


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
    }


class InvoiceIndex(ReadModel):
    """Invoice summaries kept in the events' transaction, and the look-up the use cases ask of them
    (adapters.read_model.PostgresInvoiceSummaries)."""

    def find(self, dossier_id: UUID | None = None, dossier_code: str = "") -> dict | None: ...


class PaymentApplication(MotcuaApplication):
    chain = CHAIN
    reads = DossierRead
    denials = AccessDenied
    name = "payment"

    def __init__(self, env: dict[str, str], *, province: str, clock: Clock, index: InvoiceIndex | None = None,
                 gateway: PayGovConfig | None = None, beneficiary: Beneficiary | None = None,
                 return_url: str = "") -> None:
        self.read_model = index  # type: ignore[assignment]  # kept in the events' transaction
        self.index = index
        super().__init__(env=env)
        self.province = province
        self.clock = clock
        self.gateway = gateway  # None: online payment is not configured here
        self.beneficiary = beneficiary  # None: no VietQR account configured
        self.return_url = return_url

    def _context(self, actor: Actor) -> CommandContext:
        return CommandContext(actor=actor, province=self.province, clock=self.clock)

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
        """The desk took the fee in cash: once per key; the invoice must be at `expected_version`."""
        invoice_id = Invoice.id_for(self.province, dossier_id)
        idempotent = IdempotentRequest(self, self.province, "RecordCashPayment", actor, idempotency_key,
                                       {"dossier_id": dossier_id, "expected_version": expected_version,
                                        "amount_vnd": amount_vnd, "receipt_number": receipt_number})
        if idempotent.answered:
            return self.get_invoice(invoice_id)
        if expected_version <= 0:
            raise InvalidArgument.single("expected_version", "is required: the invoice's version as you last read it")
        invoice = self.get_or_none(invoice_id)
        if not isinstance(invoice, Invoice):
            raise NotFound("dossier_id", f"dossier {dossier_id} has no invoice")
        if invoice.version != expected_version:
            raise Conflict(f"invoice is at version {invoice.version}, not {expected_version}: re-read it and retry")
        with command_context(self._context(actor)), concerning(invoice.dossier_id, dossier_code=invoice.dossier_code):
            invoice.pay(CASH, amount_vnd, receipt_number, self.clock.now(), ONLINE_FLAG_NONE)
            record = idempotent.record(invoice.id, invoice.version)
        try:
            self.record(invoice, record)
        except IntegrityError:
            raise Conflict("the invoice changed meanwhile: re-read it and retry") from None
        return invoice_view(invoice)

    def start_gateway_payment(self, dossier_id: UUID) -> dict:
        """Where to pay the invoice online: the gateway's redirect URL and a VietQR payload."""
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
            return self._change(invoice_id, actor, lambda invoice: invoice.pay(
                GATEWAY, result.amount_vnd, result.transaction_no, result.paid_at, result.online_flag))
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
        for _ in range(ATTEMPTS):
            invoice = self.get_existing(invoice_id, "invoice_id", "invoice")
            with command_context(self._context(actor)), concerning(invoice.dossier_id,
                                                                   dossier_code=invoice.dossier_code):
                decide(invoice)
            if not invoice.pending_events:
                return invoice_view(invoice)  # nothing new: a repeat, answered from what is stored
            try:
                self.record(invoice)
            except IntegrityError:
                continue
            return invoice_view(invoice)
        raise Conflict("the invoice kept changing meanwhile: re-read it and retry")
