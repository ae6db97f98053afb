"""The daily reconciliation of what payment recorded against what its partners say, and the
discrepancies an official resolves.

One Reconciliation per day (Vietnam time; a deterministic id): each line of the gateway's statement
for that day is matched with the gateway payment recorded under the same transaction number, or
found missing (recorded here, not on the statement), surplus (on the statement, not recorded here)
or mismatched (same transaction, another amount or order). Each finding is recorded once: running
the day again with the same statement records nothing new. The bank's credit notifications that
could not pay an invoice (VietQR: unknown bill, another amount, an invoice already paid or
cancelled) are held here too, on the day they arrived, so an official sees them in one list. Every
discrepancy stays open until an official records a decision about it.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from uuid import UUID

from eventsourcing.domain import event

from motcua_common.errors import InvalidArgument, NotFound, RuleViolated
from motcua_common.events.domain import MotcuaAggregate
from motcua_common.events.ids import deterministic_id

# What a discrepancy is
MISSING = "missing"  # recorded here (a gateway payment), absent from the gateway's statement
SURPLUS = "surplus"  # on the gateway's statement, no payment recorded here
AMOUNT_MISMATCH = "amount_mismatch"  # same transaction, another amount
ORDER_MISMATCH = "order_mismatch"  # same transaction, another order
CREDIT_UNKNOWN_BILL = "credit_unknown_bill"  # a bank credit whose bill number names no invoice
CREDIT_AMOUNT_MISMATCH = "credit_amount_mismatch"  # a bank credit of another amount than the invoice's
CREDIT_ALREADY_PAID = "credit_already_paid"  # a bank credit for an invoice paid otherwise (a double payment)
CREDIT_INVOICE_CANCELLED = "credit_invoice_cancelled"  # a bank credit for a cancelled invoice
DOUBLE_PAYMENT = "double_payment"  # a second, different successful gateway payment of a paid invoice
KINDS = (MISSING, SURPLUS, AMOUNT_MISMATCH, ORDER_MISMATCH, CREDIT_UNKNOWN_BILL, CREDIT_AMOUNT_MISMATCH,
         CREDIT_ALREADY_PAID, CREDIT_INVOICE_CANCELLED, DOUBLE_PAYMENT)
# What an official decided
ACCEPTED = "accepted"  # explained; the record stands as it is
REFUND_TO_PAYER = "refund_to_payer"  # the money goes back to the payer (outside this record)
CORRECTED_BY_PARTNER = "corrected_by_partner"  # the gateway or bank corrected its side
WRITTEN_OFF = "written_off"  # closed without recovery, on the official's authority
DECISIONS = (ACCEPTED, REFUND_TO_PAYER, CORRECTED_BY_PARTNER, WRITTEN_OFF)
MAX_NOTE = 500


@dataclass(frozen=True)
class StatementLine:
    """One line of a partner's statement (adapters.paygov.parse_statement makes them)."""

    transaction_no: str
    order_id: str
    amount_vnd: int
    paid_at: datetime


@dataclass(frozen=True)
class RecordedPayment:
    """A gateway payment recorded here (the invoice's Paid event with method gateway)."""

    transaction_no: str
    order_id: str
    amount_vnd: int
    invoice_id: UUID


def discrepancy_id(kind: str, reference: str) -> str:
    """Stable within a day: the same finding found again is the same discrepancy."""
    return f"{kind}:{reference}"


class Reconciliation(MotcuaAggregate):
    @staticmethod
    def id_for(province: str, day: date) -> UUID:
        return deterministic_id(province, "reconciliation", day.isoformat())

    class Opened(MotcuaAggregate.Created):
        day: date

    @classmethod
    def open(cls, province: str, day: date) -> "Reconciliation":
        return cls(id=cls.id_for(province, day), day=day)

    @event(Opened)
    def __init__(self, id: UUID, day: date) -> None:
        self.day = day
        self.matched: dict[str, int] = {}  # transaction number -> amount
        self.discrepancies: dict[str, dict] = {}

    # -- reading --------------------------------------------------------------------------------
    @property
    def open_discrepancies(self) -> list[dict]:
        return [d for d in self.discrepancies.values() if d["decision"] == ""]

    # -- the gateway's statement ----------------------------------------------------------------
    def reconcile(self, statement: list[StatementLine], recorded: list[RecordedPayment], at: datetime) -> int:
        """Match the day's statement with the day's recorded gateway payments; records each finding
        not recorded before and returns how many were recorded now."""
        lines: dict[str, StatementLine] = {}
        for line in statement:
            earlier = lines.get(line.transaction_no)
            if earlier is not None and earlier != line:
                raise InvalidArgument.single("statement", f"transaction {line.transaction_no} appears twice, "
                                                          "with different content")
            lines[line.transaction_no] = line
        ours = {p.transaction_no: p for p in recorded}
        before = len(self.pending_events)
        for number in sorted(lines.keys() | ours.keys()):
            line, payment = lines.get(number), ours.get(number)
            if line is not None and payment is not None:
                if (line.amount_vnd, line.order_id) == (payment.amount_vnd, payment.order_id):
                    if number not in self.matched:
                        self._line_matched(transaction_no=number, order_id=line.order_id, amount_vnd=line.amount_vnd)
                    continue
                kind = AMOUNT_MISMATCH if line.amount_vnd != payment.amount_vnd else ORDER_MISMATCH
            elif payment is None and discrepancy_id(DOUBLE_PAYMENT, number) in self.discrepancies:
                continue  # held already as a double payment (the gateway told it): not a surplus besides
            else:
                kind = MISSING if payment is not None else SURPLUS
            self._find(kind, number, order_id=(payment or line).order_id,  # type: ignore[union-attr]
                       statement_amount_vnd=line.amount_vnd if line else 0,
                       recorded_amount_vnd=payment.amount_vnd if payment else 0,
                       invoice_id=str(payment.invoice_id) if payment else "", found_at=at)
        return len(self.pending_events) - before

    @event("LineMatched")
    def _line_matched(self, transaction_no: str, order_id: str, amount_vnd: int) -> None:
        self.matched[transaction_no] = amount_vnd

    # -- a bank credit that paid nothing ---------------------------------------------------------
    def hold_credit(self, kind: str, bank_reference: str, bill_number: str, credited_vnd: int, invoice_total_vnd: int,
                    invoice_id: str, at: datetime) -> str:
        """Hold a bank credit for an official; the discrepancy's id (held once however often told)."""
        if kind not in KINDS or not kind.startswith("credit_"):
            raise ValueError(f"not a credit discrepancy: {kind}")
        self._find(kind, bank_reference, order_id=bill_number, statement_amount_vnd=credited_vnd,
                   recorded_amount_vnd=invoice_total_vnd, invoice_id=invoice_id, found_at=at)
        return discrepancy_id(kind, bank_reference)

    def hold_double_payment(self, transaction_no: str, order_id: str, amount_vnd: int, invoice_total_vnd: int,
                            invoice_id: str, at: datetime) -> str:
        """Hold a second, different successful gateway payment of a paid invoice for an official (the
        money reached the province and paid nothing); the discrepancy's id (held once however often told)."""
        self._find(DOUBLE_PAYMENT, transaction_no, order_id=order_id, statement_amount_vnd=amount_vnd,
                   recorded_amount_vnd=invoice_total_vnd, invoice_id=invoice_id, found_at=at)
        return discrepancy_id(DOUBLE_PAYMENT, transaction_no)

    def _find(self, kind: str, reference: str, *, order_id: str, statement_amount_vnd: int, recorded_amount_vnd: int,
              invoice_id: str, found_at: datetime) -> None:
        found = discrepancy_id(kind, reference)
        if found in self.discrepancies:
            return
        self._discrepancy_found(day=self.day, discrepancy_id=found, kind=kind, reference=reference, order_id=order_id,
                                statement_amount_vnd=statement_amount_vnd, recorded_amount_vnd=recorded_amount_vnd,
                                invoice_id=invoice_id, found_at=found_at)

    @event("DiscrepancyFound")
    def _discrepancy_found(self, day: date, discrepancy_id: str, kind: str, reference: str, order_id: str,
                           statement_amount_vnd: int, recorded_amount_vnd: int, invoice_id: str,
                           found_at: datetime) -> None:
        self.discrepancies[discrepancy_id] = {
            "discrepancy_id": discrepancy_id, "kind": kind, "reference": reference, "order_id": order_id,
            "statement_amount_vnd": statement_amount_vnd, "recorded_amount_vnd": recorded_amount_vnd,
            "invoice_id": invoice_id, "found_at": found_at, "decision": "", "note": "", "resolved_at": None,
            "resolved_by": ""}

    # -- an official's decision -------------------------------------------------------------------
    def resolve(self, found: str, decision: str, note: str, resolved_by: str, at: datetime) -> bool:
        """Record the decision; False when this same decision was recorded before (a repeat)."""
        discrepancy = self.discrepancies.get(found)
        if discrepancy is None:
            raise NotFound("discrepancy_id", f"no discrepancy {found!r} on {self.day.isoformat()}")
        if decision not in DECISIONS:
            raise InvalidArgument.single("decision", f"must be one of {', '.join(DECISIONS)}")
        if not note.strip() or len(note) > MAX_NOTE or not note.isprintable():
            raise InvalidArgument.single("note", f"is required: at most {MAX_NOTE} printable characters")
        if discrepancy["decision"]:
            if (discrepancy["decision"], discrepancy["note"]) == (decision, note):
                return False
            raise RuleViolated("ALREADY_RESOLVED", f"discrepancy {found} was resolved as {discrepancy['decision']} "
                                                   f"by {discrepancy['resolved_by']}")
        self._discrepancy_resolved(day=self.day, discrepancy_id=found, decision=decision, note=note, resolved_by=resolved_by,
                                   resolved_at=at)
        amount = owed_to_payer(discrepancy)
        if decision == REFUND_TO_PAYER and amount > 0:
            # money that reached the province's accounts and paid nothing goes back: an obligation
            # recorded (and published) with the decision, never a silent change of an invoice
            self._refund_owed(day=self.day, discrepancy_id=found, kind=discrepancy["kind"],
                              reference=discrepancy["reference"], order_id=discrepancy["order_id"],
                              invoice_id=discrepancy["invoice_id"], amount_vnd=amount, reason=note, owed_at=at)
        return True

    @event("DiscrepancyResolved")
    def _discrepancy_resolved(self, day: date, discrepancy_id: str, decision: str, note: str, resolved_by: str,
                              resolved_at: datetime) -> None:
        self.discrepancies[discrepancy_id].update(decision=decision, note=note, resolved_by=resolved_by,
                                                  resolved_at=resolved_at)


    @event("RefundOwed")
    def _refund_owed(self, day: date, discrepancy_id: str, kind: str, reference: str, order_id: str, invoice_id: str,
                     amount_vnd: int, reason: str, owed_at: datetime) -> None:
        self.refunds_owed[discrepancy_id] = amount_vnd

    @property
    def refunds_owed(self) -> dict[str, int]:
        """Discrepancy id -> the đồng owed back to the payer by an official's `refund_to_payer`."""
        if "_refunds_owed" not in self.__dict__:
            self._refunds_owed: dict[str, int] = {}
        return self._refunds_owed


#: what paid nothing here although the money reached the province: a held bank credit, a statement surplus
HELD_MONEY = (SURPLUS, CREDIT_UNKNOWN_BILL, CREDIT_AMOUNT_MISMATCH, CREDIT_ALREADY_PAID, CREDIT_INVOICE_CANCELLED,
              DOUBLE_PAYMENT)


def owed_to_payer(discrepancy: dict) -> int:
    """What goes back to the payer when an official decides `refund_to_payer` (0: no money is held)."""
    return int(discrepancy["statement_amount_vnd"]) if discrepancy["kind"] in HELD_MONEY else 0


class BankCredit(MotcuaAggregate):
    """One per bank transaction (deterministic id): a credit notification told again is answered with
    what was decided the first time, never applied twice."""

    PAID, HELD = "paid", "held"

    @staticmethod
    def id_for(province: str, bank_reference: str) -> UUID:
        return deterministic_id(province, "bank-credit", bank_reference)

    @event("Received")
    def __init__(self, id: UUID, bank_reference: str, bill_number: str, amount_vnd: int, credited_at: datetime,
                 outcome: str, invoice_id: str, discrepancy_id: str, day: date) -> None:
        self.bank_reference = bank_reference
        self.bill_number = bill_number
        self.amount_vnd = amount_vnd
        self.credited_at = credited_at
        self.outcome = outcome
        self.invoice_id = invoice_id
        self.discrepancy_id = discrepancy_id
        self.day = day
