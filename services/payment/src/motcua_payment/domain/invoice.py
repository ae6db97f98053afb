"""The invoice of one dossier: what it owes, its one payment, and its refunds.

One invoice per dossier (a deterministic id). It is paid once, at the desk in cash (with the
receipt number the official wrote) or through a gateway (with the gateway's transaction number):
the same payment told again, however late or out of order, changes nothing; a failure told after
the payment changes nothing either. Refunds carry an idempotency key: a repeated key is answered
with the first refund, and no refund takes more than what remains refundable.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from uuid import UUID

from eventsourcing.domain import event

from motcua_common.errors import InvalidArgument, RuleViolated
from motcua_common.events.domain import MotcuaAggregate
from motcua_common.events.idempotency import check_key
from motcua_common.events.ids import deterministic_id
from motcua_common.province.dossier_rules import NationalStatus

from motcua_payment.domain.fees import Charge
from motcua_payment.domain.receipts import printed_number

CASH, GATEWAY, BANK_TRANSFER = "cash", "gateway", "bank_transfer"
METHODS = (CASH, GATEWAY, BANK_TRANSFER)
# How the national portal counts an online payment (DuocThanhToanTrucTuyen): through the national
# payment platform (1) or a local gateway (2); a desk payment is not online (0).
ONLINE_FLAG_NONE, ONLINE_FLAG_NATIONAL, ONLINE_FLAG_LOCAL = 0, 1, 2
ISSUED, PAID, CANCELLED = "issued", "paid", "cancelled"
MAX_REFERENCE = 64
MAX_REASON = 500


def _reference(value: str, field: str) -> str:
    if not value or len(value) > MAX_REFERENCE or not value.isprintable():
        raise InvalidArgument.single(field, f"is required: at most {MAX_REFERENCE} printable characters")
    return value


def _whole_dong(amount: object) -> bool:
    return isinstance(amount, int) and not isinstance(amount, bool) and amount > 0


@dataclass(frozen=True)
class Payment:
    method: str
    amount_vnd: int
    reference: str  # the receipt number (cash) or the gateway's transaction number
    paid_at: datetime
    online_flag: int


@dataclass(frozen=True)
class Refund:
    key: str
    amount_vnd: int
    reason: str
    refunded_at: datetime


@dataclass(frozen=True)
class Receipt:
    form: str  # the template's number (mẫu số)
    symbol: str  # ký hiệu: one gapless series per symbol
    number: int
    issued_at: datetime
    official: str  # who took the cash at the desk ("" for a gateway payment)

    @property
    def printed_number(self) -> str:
        return printed_number(self.number)

    @property
    def label(self) -> str:
        return f"{self.symbol}/{self.printed_number}"


@dataclass(frozen=True)
class GatewayResult:
    """A gateway's verified statement about one order (adapters.paygov.verify_callback makes it)."""

    order_id: str
    amount_vnd: int
    succeeded: bool
    error_code: str
    transaction_no: str
    paid_at: datetime
    online_flag: int


class Invoice(MotcuaAggregate):
    @staticmethod
    def id_for(province: str, dossier_id: UUID) -> UUID:
        """One invoice per dossier: a second issue for the same dossier cannot be saved."""
        return deterministic_id(province, "invoice", str(dossier_id))

    @staticmethod
    def order_id_for(invoice_id: UUID) -> str:
        """The short reference the gateway and the bank transfer carry (VietQR's bill number)."""
        return "HS" + invoice_id.hex[:18].upper()

    class Issued(MotcuaAggregate.Created):
        """Version 2 added the dossier's receiving unit and its applicant's pseudonymous subject id
        (who may read and pay it); version-1 invoices have neither (""). Version 3 added
        `clock_stops_while_unpaid` (the schedule's: the case's clock stands still until paid); before
        it, a fee due before processing stopped the clock (the data's default). Version 4 added
        `refund_on`, the charged schedule's refund rule per ending (published with the dossier's
        DossierReceived); older invoices upcast to {}: an ending refunds in full."""

        class_version = 4
        dossier_id: UUID
        dossier_code: str
        procedure_code: str
        channel: str
        received_on: date
        due: str
        collector: str
        lines: list[dict]
        total_vnd: int
        order_id: str
        unit_code: str
        applicant: str
        clock_stops_while_unpaid: bool
        refund_on: dict

        @staticmethod
        def upcast_v1_v2(state: dict) -> None:
            state["unit_code"] = ""
            state["applicant"] = ""

        @staticmethod
        def upcast_v2_v3(state: dict) -> None:
            state["clock_stops_while_unpaid"] = state["due"] == "before_processing"

        @staticmethod
        def upcast_v3_v4(state: dict) -> None:
            state["refund_on"] = {}

    @classmethod
    def issue(cls, province: str, dossier_id: UUID, dossier_code: str, charge: Charge, unit_code: str = "",
              applicant: str = "") -> "Invoice":
        if charge.total_vnd <= 0:
            raise RuleViolated("NO_FEE_DUE", f"dossier {dossier_code} owes nothing: no invoice is issued")
        invoice_id = cls.id_for(province, dossier_id)
        return cls(id=invoice_id, dossier_id=dossier_id, dossier_code=dossier_code,
                   procedure_code=charge.procedure_code, channel=charge.channel, received_on=charge.received_on,
                   due=charge.due, collector=charge.collector, lines=[line.as_dict() for line in charge.lines],
                   total_vnd=charge.total_vnd, order_id=cls.order_id_for(invoice_id), unit_code=unit_code,
                   applicant=applicant, clock_stops_while_unpaid=charge.clock_stops_while_unpaid,
                   refund_on=dict(charge.refund_on))

    @event(Issued)
    def __init__(self, id: UUID, dossier_id: UUID, dossier_code: str, procedure_code: str, channel: str,
                 received_on: date, due: str, collector: str, lines: list[dict], total_vnd: int,
                 order_id: str, unit_code: str = "", applicant: str = "", clock_stops_while_unpaid: bool = False,
                 refund_on: dict | None = None) -> None:
        self.dossier_id = dossier_id
        self.refund_on = dict(refund_on or {})  # ending -> refund rule (REFUND_RULES); absent: full
        self.clock_stops_while_unpaid = clock_stops_while_unpaid
        self.unit_code = unit_code  # the unit that received the dossier (its desk takes the cash)
        self.applicant = applicant
        self.dossier_code = dossier_code
        self.procedure_code = procedure_code
        self.channel = channel
        self.received_on = received_on
        self.due = due
        self.collector = collector
        self.lines = lines
        self.total_vnd = total_vnd
        self.order_id = order_id
        self.status = ISSUED
        self.payment: Payment | None = None
        self.failed_transactions: list[str] = []
        self.refunds: dict[str, Refund] = {}
        self.cancel_reason = ""

    # -- reading --------------------------------------------------------------------------------
    @property
    def refunded_vnd(self) -> int:
        return sum(r.amount_vnd for r in self.refunds.values())

    @property
    def refundable_vnd(self) -> int:
        return (self.payment.amount_vnd if self.payment else 0) - self.refunded_vnd

    @property
    def awaiting_payment(self) -> bool:
        return self.status == ISSUED

    @property
    def national_status(self) -> NationalStatus | None:
        """6 (financial obligation requested) while the applicant's payment is awaited; afterwards the
        dossier's status is workflow's again."""
        return NationalStatus.FINANCIAL_OBLIGATION_REQUESTED if self.awaiting_payment else None

    # -- paying ---------------------------------------------------------------------------------
    def pay(self, method: str, amount_vnd: int, reference: str, paid_at: datetime, online_flag: int) -> bool:
        """Record the payment; False when this same payment was already recorded (nothing changes)."""
        if method not in METHODS:
            raise InvalidArgument.single("method", f"must be one of {METHODS}")
        _reference(reference, "receipt_number" if method == CASH else "transaction_no")
        if not _whole_dong(amount_vnd):
            raise InvalidArgument.single("amount_vnd", "must be a whole number of đồng above 0")
        if self.payment is not None and (self.payment.method, self.payment.reference) == (method, reference):
            if self.payment.amount_vnd != amount_vnd:
                raise RuleViolated("PAYMENT_AMOUNT_CHANGED", f"{reference} was recorded with another amount")
            return False
        if self.status == CANCELLED:
            raise RuleViolated("INVOICE_CANCELLED", f"invoice {self.order_id} was cancelled: {self.cancel_reason}")
        if self.status == PAID:
            raise RuleViolated("ALREADY_PAID", f"invoice {self.order_id} was already paid ({self.payment.reference})")
        if amount_vnd != self.total_vnd:
            raise RuleViolated("WRONG_AMOUNT", f"invoice {self.order_id} is for {self.total_vnd} đồng, "
                                               f"not {amount_vnd}")
        self._paid(method=method, amount_vnd=amount_vnd, reference=reference, paid_at=paid_at,
                   online_flag=online_flag)
        return True

    @event("Paid")
    def _paid(self, method: str, amount_vnd: int, reference: str, paid_at: datetime, online_flag: int) -> None:
        self.payment = Payment(method, amount_vnd, reference, paid_at, online_flag)
        self.status = PAID

    def fail(self, transaction_no: str, error_code: str, failed_at: datetime) -> bool:
        """Record a gateway's failed attempt; False (nothing changes) when it is already known, or when
        the invoice is no longer awaiting payment (a failure told late or out of order)."""
        _reference(transaction_no, "transaction_no")
        if not self.awaiting_payment or transaction_no in self.failed_transactions:
            return False
        self._payment_failed(transaction_no=transaction_no, error_code=error_code[:16], failed_at=failed_at)
        return True

    @event("PaymentFailed")
    def _payment_failed(self, transaction_no: str, error_code: str, failed_at: datetime) -> None:
        self.failed_transactions.append(transaction_no)

    # -- refunding ------------------------------------------------------------------------------
    def refund(self, key: str, amount_vnd: int, reason: str, refunded_at: datetime) -> Refund:
        """The refund under `key`: recorded now, or the first one when the key was used before."""
        check_key(key)
        earlier = self.refunds.get(key)
        if earlier is not None:
            if (earlier.amount_vnd, earlier.reason) != (amount_vnd, reason):
                raise RuleViolated("IDEMPOTENCY_KEY_REUSED", "this idempotency_key was used for another refund")
            return earlier
        if not _whole_dong(amount_vnd):
            raise InvalidArgument.single("amount_vnd", "must be a whole number of đồng above 0")
        if not reason.strip() or len(reason) > MAX_REASON:
            raise InvalidArgument.single("reason", f"is required: at most {MAX_REASON} characters")
        if self.payment is None:
            raise RuleViolated("NOT_PAID", f"invoice {self.order_id} has no payment to refund")
        if amount_vnd > self.refundable_vnd:
            raise RuleViolated("REFUND_EXCEEDS_REFUNDABLE",
                               f"only {self.refundable_vnd} đồng of invoice {self.order_id} remain refundable")
        self._refunded(key=key, amount_vnd=amount_vnd, reason=reason, refunded_at=refunded_at)
        return self.refunds[key]

    @event("Refunded")
    def _refunded(self, key: str, amount_vnd: int, reason: str, refunded_at: datetime) -> None:
        self.refunds[key] = Refund(key, amount_vnd, reason, refunded_at)

    # -- cancelling -----------------------------------------------------------------------------
    def cancel(self, reason: str) -> bool:
        """Cancel an unpaid invoice (the dossier was withdrawn or refused); False if already cancelled."""
        if self.status == CANCELLED:
            return False
        if self.status == PAID:
            raise RuleViolated("ALREADY_PAID", f"invoice {self.order_id} is paid: refund it instead")
        if not reason.strip() or len(reason) > MAX_REASON:
            raise InvalidArgument.single("reason", f"is required: at most {MAX_REASON} characters")
        self._cancelled(reason=reason)
        return True

    @event("Cancelled")
    def _cancelled(self, reason: str) -> None:
        self.status = CANCELLED
        self.cancel_reason = reason

    # -- the receipt ----------------------------------------------------------------------------
    @property
    def receipt(self) -> "Receipt | None":
        return getattr(self, "_receipt", None)  # invoices stored before receipts existed have none

    def issue_receipt(self, form: str, symbol: str, number: int, issued_at: datetime, official: str) -> None:
        """The payment's electronic receipt (biên lai), numbered `number` in `symbol`'s series; once."""
        if self.payment is None:
            raise RuleViolated("NOT_PAID", f"invoice {self.order_id} has no payment to give a receipt for")
        if self.receipt is not None:
            raise RuleViolated("RECEIPT_ISSUED", f"invoice {self.order_id} has receipt {self.receipt.label}")
        self._receipt_issued(form=form, symbol=symbol, number=number, issued_at=issued_at, official=official,
                             method=self.payment.method, amount_vnd=self.payment.amount_vnd,
                             unit_code=self.unit_code,
                             lines=[{k: line.get(k) for k in ("item_code", "kind", "name", "amount_vnd")}
                                    for line in self.lines])

    class ReceiptIssued(MotcuaAggregate.Event):
        """The payment's receipt: its template, symbol and number, and what the cash close and the revenue
        report read (who took it at which unit, the method, the amount and each item's share)."""

        form: str
        symbol: str
        number: int
        issued_at: datetime
        official: str
        method: str
        amount_vnd: int
        unit_code: str
        lines: list[dict]

    @event(ReceiptIssued)
    def _receipt_issued(self, form: str, symbol: str, number: int, issued_at: datetime, official: str, method: str,
                        amount_vnd: int, unit_code: str, lines: list[dict]) -> None:
        self._receipt = Receipt(form, symbol, number, issued_at, official)

    # -- online payment started (the 15-minute sweep asks the gateway about it) -----------------------
    gateway_started_at: datetime | None = None  # invoices issued before this event existed: never started

    def start_gateway_payment(self, started_at: datetime, renew_after: timedelta = timedelta(days=2)) -> bool:
        """Note that the payer was sent to the gateway; False (nothing recorded) when a start was noted
        less than `renew_after` ago: the sweep counts from that start, and a payer who opens the page
        twice pays once. A payer back after longer starts anew (the sweep stops asking after that)."""
        if not self.awaiting_payment:
            raise RuleViolated("NOT_AWAITING_PAYMENT", f"invoice {self.order_id} is {self.status}")
        if self.gateway_started_at is not None and started_at - self.gateway_started_at < renew_after:
            return False
        self._gateway_payment_started(started_at=started_at)
        return True

    @event("GatewayPaymentStarted")
    def _gateway_payment_started(self, started_at: datetime) -> None:
        self.gateway_started_at = started_at


class OrderReference(MotcuaAggregate):
    """Finds an invoice from the reference a gateway or a bank transfer carries back; saved with the
    invoice, so two invoices can never share one reference."""

    @staticmethod
    def id_for(province: str, order_id: str) -> UUID:
        return deterministic_id(province, "order-reference", order_id)

    @event("Assigned")
    def __init__(self, id: UUID, order_id: str, invoice_id: UUID) -> None:
        self.order_id = order_id
        self.invoice_id = invoice_id
