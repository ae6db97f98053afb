"""Payment's reactions to other services' events: intake's published events
(motcua.intake.events.v1), never intake's stored JSON."""
from __future__ import annotations

from datetime import date
from uuid import UUID

from motcua.intake.events.v1 import events_pb2 as intake_events
from motcua.workflow.events.v1 import events_pb2 as workflow_events
from motcua_common.events.consumer import UnitOfWork
from motcua_common.events.published import PublishedEvent, to_datetime
from motcua_common.observability.logs import bound, get_logger

from motcua_common.province.fees import REFUND_FULL, Exemption, FeeItem, FeeSchedule

from motcua_payment.domain.fees import FeeBook, refund_due
from motcua_payment.domain.invoice import CANCELLED, Invoice, OrderReference

log = get_logger()

RECEIVED = intake_events.DossierReceived.DESCRIPTOR.full_name
WITHDRAWN = intake_events.DossierWithdrawn.DESCRIPTOR.full_name
REFUSED = intake_events.DossierRefused.DESCRIPTOR.full_name


def schedule_of(received: intake_events.DossierReceived) -> FeeSchedule | None:
    """The catalogue's fee schedule published with a received dossier (the one in force on the day it was
    received). None when it charges nothing: no items that day, or a DossierReceived published before
    intake recorded schedules (`fee_schedule_recorded` false; see the README's rule)."""
    if not received.fee_schedule_recorded or not received.fee_items:
        return None
    return FeeSchedule(
        received.procedure_code, received.fee_group,
        date.fromisoformat(received.fee_schedule_from) if received.fee_schedule_from else date.min,
        received.fee_due, received.fee_collector,
        tuple(FeeItem(i.code, i.kind, i.name, int(i.amount_vnd), i.legal_basis, i.unit) for i in received.fee_items),
        tuple(Exemption(x.code, x.name, x.legal_basis, tuple(x.item_codes)) for x in received.fee_exemptions),
        refund_on=dict(received.refund_on), clock_stops_while_unpaid=received.clock_stops_while_unpaid)


class IntakePolicies:
    """A received dossier whose procedure charges something (by the catalogue's fee schedule of the day it
    was received, published in its DossierReceived, and payment's discount rules) gets exactly one invoice."""

    handles = frozenset({RECEIVED, WITHDRAWN, REFUSED})

    def __init__(self, province: str, fees: FeeBook) -> None:
        self.province = province
        self.fees = fees

    def __call__(self, event: PublishedEvent, work: UnitOfWork) -> None:
        if event.type in (WITHDRAWN, REFUSED):
            self.on_dossier_ended(event, work)
            return
        received = event.message(intake_events.DossierReceived)
        if not received.fee_schedule_recorded:
            # Published before intake recorded the schedule with the dossier: nothing is charged (stated rule).
            log.warning("dossier_received_without_fee_schedule", dossier_id=received.dossier_id,
                        procedure_code=received.procedure_code, upstream_position=event.position)
            return
        charge = self.fees.charge(schedule_of(received), received.channel, to_datetime(received.received_at),
                                  procedure_code=received.procedure_code)
        if charge.total_vnd <= 0:
            return
        # No look-up for an existing invoice: the tracking check makes each event apply once, and the
        # id derived from the dossier would make a second issue fail loudly, never silently.
        invoice = Invoice.issue(self.province, UUID(received.dossier_id), received.code, charge,
                                unit_code=received.receiving_agency_code, applicant=received.applicant.subject_id)
        work.add(invoice)
        work.add(OrderReference(id=OrderReference.id_for(self.province, invoice.order_id),
                                order_id=invoice.order_id, invoice_id=invoice.id))
        with bound(dossier_code=received.code):
            log.info("invoice_issued", invoice_id=str(invoice.id), total_vnd=charge.total_vnd,
                     upstream_position=event.position)

    def on_dossier_ended(self, event: PublishedEvent, work: UnitOfWork) -> None:
        """A withdrawn or refused dossier's invoice: cancelled while unpaid; once paid, refunded by its
        procedure's `refund_on` rule (catalogue.yaml) of the schedule it was charged by."""
        if event.type == WITHDRAWN:
            ended = event.message(intake_events.DossierWithdrawn)
            ending, at, reason = "withdrawn", to_datetime(ended.withdrawn_at), "Hồ sơ đã được rút"
        else:
            ended = event.message(intake_events.DossierRefused)
            ending, at, reason = "refused", to_datetime(ended.refused_at), "Hồ sơ bị từ chối tiếp nhận"
        end_invoice(self.province, self.fees, work, UUID(ended.dossier_id), ending, at, reason, event)


def end_invoice(province: str, fees: FeeBook, work: UnitOfWork, dossier_id: UUID, ending: str, at, reason: str,  # type: ignore[no-untyped-def]
                event: PublishedEvent) -> None:
    """A dossier ended without a result: its invoice is cancelled while unpaid; once paid, refunded by its
    procedure's `refund_on` rule for `ending` of the schedule it was charged by (recorded on the invoice), keyed by the
    upstream event so a replayed page cannot refund twice."""
    invoice = work.get(Invoice.id_for(province, dossier_id))
    if invoice is None or invoice.status == CANCELLED:
        return
    with bound(dossier_code=invoice.dossier_code):
        if invoice.payment is None:
            invoice.cancel(reason)
            work.add(invoice)
            log.info("invoice_cancelled", ending=ending, upstream_position=event.position)
            return
        # The charged schedule's rule, recorded on the invoice (older invoices: in full).
        rule = invoice.refund_on.get(ending, REFUND_FULL)
        amount = min(refund_due(rule, invoice.lines), invoice.refundable_vnd)
        if amount > 0:
            invoice.refund(f"{ending}:{event.id}"[:128], amount, f"{reason} (hoàn theo quy định: {rule})", at)
            work.add(invoice)
        log.info("invoice_refunded_on_ending", ending=ending, rule=rule, amount_vnd=amount,
                 upstream_position=event.position)


STOPPED = workflow_events.CaseStopped.DESCRIPTOR.full_name


class WorkflowPolicies:
    """A dossier refused during processing (workflow's CaseStopped with end_reason "stopped") ends its
    invoice as intake's DossierRefused does: cancelled while unpaid, refunded by the procedure's
    `refund_on` rule for "refused" once paid. A withdrawn case ("withdrawn") is left to intake's
    DossierWithdrawn, which payment follows already (one ending, one refund)."""

    handles = frozenset({STOPPED})

    def __init__(self, province: str, fees: FeeBook) -> None:
        self.province = province
        self.fees = fees

    def __call__(self, event: PublishedEvent, work: UnitOfWork) -> None:
        stopped = event.message(workflow_events.CaseStopped)
        if stopped.end_reason != "stopped" or not event.dossier_id:
            return
        end_invoice(self.province, self.fees, work, UUID(str(event.dossier_id)), "refused",
                    to_datetime(stopped.stopped_at), "Hồ sơ bị từ chối trong quá trình giải quyết", event)
