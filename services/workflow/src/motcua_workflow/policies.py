"""Workflow's reactions to other services' events: intake's and payment's published events
(motcua.intake.events.v1, motcua.payment.events.v1), never their stored JSON."""
from __future__ import annotations


from typing import Callable
from uuid import UUID

from motcua.intake.events.v1 import events_pb2 as intake_events
from motcua.payment.events.v1 import events_pb2 as payment_events
from motcua_common.events.consumer import UnitOfWork
from motcua_common.observability.logs import bound, get_logger
from motcua_common.events.published import PublishedEvent, to_datetime

from motcua_workflow.domain.case import PROCESSED, STOPPED, Case, WorkingTime
from motcua_workflow.domain.fee_standing import FeeStanding
from motcua_workflow.domain.templates import ProcessTemplates

log = get_logger()

RECEIVED = intake_events.DossierReceived.DESCRIPTOR.full_name
WITHDRAWN = intake_events.DossierWithdrawn.DESCRIPTOR.full_name


class IntakePolicies:
    """Workflow's reactions to intake: a received dossier gets exactly one processing case; a
    withdrawn one has its processing stopped."""

    handles = frozenset({RECEIVED, WITHDRAWN})

    def __init__(self, province: str, templates: ProcessTemplates, calendar_of: Callable[[Case], WorkingTime]) -> None:
        self.province = province
        self.templates = templates
        self.calendar_of = calendar_of

    def __call__(self, event: PublishedEvent, work: UnitOfWork) -> None:
        if event.type == WITHDRAWN:
            self._stop_on_withdrawal(event, event.message(intake_events.DossierWithdrawn), work)
        else:
            self._open_case(event, event.message(intake_events.DossierReceived), work)

    def _stop_on_withdrawal(self, event: PublishedEvent, withdrawn: intake_events.DossierWithdrawn,
                            work: UnitOfWork) -> None:
        case = work.get(Case.id_for(self.province, event.dossier_id))
        if case is None or case.status in (PROCESSED, STOPPED):
            log.info("withdrawal_after_processing", upstream_position=event.position)
            return
        # The withdrawal's own time, not now: a replay gives the same classification.
        # Since reasons are sealed in intake (the applicant's words), only old withdrawals carry one.
        reason = f"Người nộp rút hồ sơ: {withdrawn.reason}" if withdrawn.reason else "Người nộp rút hồ sơ"
        case.stop(reason, now=to_datetime(withdrawn.withdrawn_at),
                  calendar=self.calendar_of(case), end_reason="withdrawn")
        work.add(case)

    def _open_case(self, event: PublishedEvent, received: intake_events.DossierReceived, work: UnitOfWork) -> None:
        # No look-up for an existing case: the tracking check makes each event apply once, and the
        # case id derived from the dossier would make a second opening fail loudly, never silently.
        plan = self.templates.plan(received.procedure_code, received.handling_unit_code,
                                   received.deadline_working_days)
        case = Case.open(self.province, UUID(received.dossier_id), received.code, received.procedure_code,
                         received.handling_unit_code, received_at=to_datetime(received.received_at),
                         due_at=to_datetime(received.appointment_at), plan=plan,
                         # After 15:00 the dossier reaches the unit at the next working day's start.
                         opened_at=to_datetime(received.forwarded_at),
                         calendar_group=received.calendar_group or None)
        take_up_fee_standing(case, work.get(FeeStanding.id_for(self.province, case.dossier_id)),
                             self.calendar_of(case))
        work.add(case)
        with bound(dossier_code=received.code):
            log.info("case_opened", case_id=str(case.id), upstream_position=event.position)


def take_up_fee_standing(case: Case, standing: FeeStanding | None, calendar: WorkingTime) -> None:
    """A case opened after payment's events about its fee: the clock stands still from when the fee
    was owed (never before reception), and ran again from when it was settled, as if the case had
    been there to hear them."""
    if standing is None or not standing.clock_stops:
        return
    case.stop_clock_for_payment(standing.owed_since)
    if standing.settled_at is not None:
        case.resume_clock_after_payment(standing.settled_at, standing.settled_by, calendar)


INVOICE_ISSUED = payment_events.InvoiceIssued.DESCRIPTOR.full_name
INVOICE_PAID = payment_events.InvoicePaid.DESCRIPTOR.full_name
INVOICE_CANCELLED = payment_events.InvoiceCancelled.DESCRIPTOR.full_name


class PaymentPolicies:
    """Workflow's reactions to payment: an invoice due before processing whose procedure says so stops
    the case's clock until it is paid or cancelled; any unpaid invoice holds the result back (the
    use case asks the standing). Payment's events may come before the case is opened: the fee's
    standing is kept per dossier and the case takes it up when it opens."""

    handles = frozenset({INVOICE_ISSUED, INVOICE_PAID, INVOICE_CANCELLED})

    def __init__(self, province: str, calendar_of: Callable[[Case], WorkingTime]) -> None:
        self.province = province
        self.calendar_of = calendar_of

    def __call__(self, event: PublishedEvent, work: UnitOfWork) -> None:
        if event.dossier_id is None:
            return
        occurred_at = event.occurred_at or event.time
        standing = work.get(FeeStanding.id_for(self.province, event.dossier_id))
        case = work.get(Case.id_for(self.province, event.dossier_id))
        if event.type == INVOICE_ISSUED:
            if standing is not None:
                log.info("second_invoice_ignored", upstream_position=event.position)
                return
            issued = event.message(payment_events.InvoiceIssued)
            # The event's own time, never now: a replay gives the same due time.
            standing = FeeStanding.owe(self.province, event.dossier_id, issued.invoice_id, issued.due,
                                       issued.clock_stops_while_unpaid, owed_since=occurred_at)
            work.add(standing)
            if case is not None and standing.clock_stops and case.stop_clock_for_payment(standing.owed_since):
                work.add(case)
            return
        if standing is None:
            log.warning("settlement_without_invoice", upstream_position=event.position)
            return
        if event.type == INVOICE_PAID:
            paid = event.message(payment_events.InvoicePaid)
            settled_by, at = "paid", (to_datetime(paid.paid_at) if paid.HasField("paid_at") else occurred_at)
        else:
            settled_by, at = "cancelled", occurred_at
        if not standing.settle(settled_by, at):
            return
        work.add(standing)
        if case is not None and case.resume_clock_after_payment(standing.settled_at, settled_by,
                                                                self.calendar_of(case)):
            work.add(case)
