"""Intake's reactions to other services' events: workflow's and payment's published events
(motcua.workflow.events.v1, motcua.payment.events.v1), never their stored JSON."""
from __future__ import annotations

from datetime import datetime

from google.protobuf.message import Message

from motcua.payment.events.v1 import events_pb2 as payment_events
from motcua.workflow.events.v1 import events_pb2 as workflow_events
from motcua_common.events.consumer import UnitOfWork
from motcua_common.events.published import PublishedEvent, to_datetime

#: workflow's events that change a dossier's national status or its appointment (the due time)
STANDING = {m.DESCRIPTOR.full_name: m for m in (
    workflow_events.CaseOpened, workflow_events.CaseSupplementRequested, workflow_events.CaseResumed,
    workflow_events.DeadlineExtended, workflow_events.CaseStopped, workflow_events.CaseProcessed,
    workflow_events.ResultReturned, workflow_events.CaseClockResumedAfterPayment)}
DEADLINE_EXTENDED = workflow_events.DeadlineExtended.DESCRIPTOR.full_name


class WorkflowPolicies:
    """Workflow owns the case: intake keeps the national status and the appointment workflow
    publishes (so GetDossier agrees with GetCase), and when a unit extends a deadline, intake
    (which holds the applicant's data) keeps what the apology letter needs."""

    handles = frozenset(STANDING)

    def __init__(self, apology_sql: str, standing_sql: str) -> None:
        self.apology_sql = apology_sql
        self.standing_sql = standing_sql

    def __call__(self, event: PublishedEvent, work: UnitOfWork) -> None:
        message = event.message(STANDING[event.type])
        status = getattr(message, "national_status", 0) or None
        work.execute(self.standing_sql, (event.dossier_id, status, _new_appointment(message), event.position))
        if event.type == DEADLINE_EXTENDED:
            # The event's position in workflow's log orders a dossier's extensions (as its case version did).
            work.execute(self.apology_sql, (event.dossier_id, event.position, to_datetime(message.previous_due_at),
                                            to_datetime(message.new_due_at), message.reason,
                                            to_datetime(message.apologised_at),
                                            event.actor.get("subject") or event.actor.get("kind", "")))


def _new_appointment(message: Message) -> datetime | None:
    for field in ("due_at", "new_due_at"):
        if field in message.DESCRIPTOR.fields_by_name and message.HasField(field):
            return to_datetime(getattr(message, field))
    return None


INVOICE_ISSUED = payment_events.InvoiceIssued.DESCRIPTOR.full_name
#: payment's events after which nothing is owed before processing any more
SETTLED = frozenset(m.DESCRIPTOR.full_name for m in (payment_events.InvoicePaid, payment_events.InvoiceCancelled))
DUE_BEFORE_PROCESSING = "before_processing"
INVOICE_PAID = payment_events.InvoicePaid.DESCRIPTOR.full_name


class PaymentPolicies:
    """Payment owns the invoice: intake keeps whether the dossier waits on its applicant's payment
    before processing (the procedure's schedule says so on the invoice), to show national status 6
    until the invoice is paid or cancelled, and how it was paid (InvoicePaid's online flag)."""

    handles = frozenset({INVOICE_ISSUED, *SETTLED})

    def __init__(self, standing_sql: str) -> None:
        self.standing_sql = standing_sql

    def __call__(self, event: PublishedEvent, work: UnitOfWork) -> None:
        online_flag = None  # nothing paid (issued, or cancelled)
        if event.type == INVOICE_ISSUED:
            awaiting = event.message(payment_events.InvoiceIssued).due == DUE_BEFORE_PROCESSING
        else:
            awaiting = False
            if event.type == INVOICE_PAID:
                online_flag = event.message(payment_events.InvoicePaid).online_flag
        work.execute(self.standing_sql, (event.dossier_id, awaiting, online_flag, event.position))
