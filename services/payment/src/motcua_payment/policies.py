"""Payment's reactions to other services' events: intake's published events
(motcua.intake.events.v1), never intake's stored JSON."""
from __future__ import annotations

from uuid import UUID

from motcua.intake.events.v1 import events_pb2 as intake_events
from motcua_common.events.consumer import UnitOfWork
from motcua_common.events.published import PublishedEvent, to_datetime
from motcua_common.observability.logs import bound, get_logger

from motcua_payment.domain.fees import FeeBook
from motcua_payment.domain.invoice import Invoice, OrderReference

log = get_logger()

RECEIVED = intake_events.DossierReceived.DESCRIPTOR.full_name


class IntakePolicies:
    """A received dossier whose procedure charges something (by the fee schedule of the day it was
    received) gets exactly one invoice."""

    handles = frozenset({RECEIVED})

    def __init__(self, province: str, fees: FeeBook) -> None:
        self.province = province
        self.fees = fees

    def __call__(self, event: PublishedEvent, work: UnitOfWork) -> None:
        received = event.message(intake_events.DossierReceived)
        charge = self.fees.charge(received.procedure_code, received.channel, to_datetime(received.received_at))
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
