"""Payment's published events (protos/motcua/payment/events/v1): its stored Invoice events, upcast,
mapped to the contract other services and integrators read. The only place that knows both shapes."""
from __future__ import annotations

from typing import Any

from motcua.payment.events.v1 import events_pb2 as pb
from motcua_common.audit.access import AccessDenied, DossierRead
from motcua_common.events.published import Publication, map_access_denied, map_dossier_read, timestamp

from motcua_payment.domain.invoice import Invoice
from motcua_payment.domain.receipts import printed_number
from motcua_payment.domain.reconciliation import Reconciliation


def _issued(e: Any) -> pb.InvoiceIssued:
    return pb.InvoiceIssued(invoice_id=str(e.originator_id), dossier_id=str(e.dossier_id),
                            dossier_code=e.dossier_code, procedure_code=e.procedure_code, order_id=e.order_id,
                            total_vnd=int(e.total_vnd), due=e.due, collector=e.collector,
                            clock_stops_while_unpaid=bool(e.clock_stops_while_unpaid))


def publication() -> Publication:
    return Publication("payment", {
        Invoice.Issued: _issued,
        Invoice.Paid: lambda e: pb.InvoicePaid(method=e.method, amount_vnd=int(e.amount_vnd), reference=e.reference,
                                               paid_at=timestamp(e.paid_at), online_flag=int(e.online_flag)),
        Invoice.PaymentFailed: lambda e: pb.InvoicePaymentFailed(transaction_no=e.transaction_no,
                                                                 error_code=e.error_code,
                                                                 failed_at=timestamp(e.failed_at)),
        Invoice.Refunded: lambda e: pb.InvoiceRefunded(amount_vnd=int(e.amount_vnd), reason=e.reason,
                                                       refunded_at=timestamp(e.refunded_at)),
        Invoice.Cancelled: lambda e: pb.InvoiceCancelled(reason=e.reason),
        Invoice.ReceiptIssued: lambda e: pb.InvoiceReceiptIssued(form=e.form, symbol=e.symbol,
                                                                 number=printed_number(e.number),
                                                                 issued_at=timestamp(e.issued_at), method=e.method,
                                                                 amount_vnd=int(e.amount_vnd)),
        Reconciliation.DiscrepancyFound: _discrepancy_found,
        Reconciliation.DiscrepancyResolved: lambda e: pb.DiscrepancyResolved(
            day=e.day.isoformat(), discrepancy_id=e.discrepancy_id, decision=e.decision, note=e.note,
            resolved_at=timestamp(e.resolved_at)),
        Reconciliation.RefundOwed: lambda e: pb.DiscrepancyRefundOwed(
            day=e.day.isoformat(), discrepancy_id=e.discrepancy_id, kind=e.kind, reference=e.reference,
            order_id=e.order_id, invoice_id=e.invoice_id, amount_vnd=int(e.amount_vnd), reason=e.reason,
            owed_at=timestamp(e.owed_at)),
        DossierRead.Recorded: map_dossier_read,
        AccessDenied.Recorded: map_access_denied,
    })


def _discrepancy_found(e: Any) -> pb.DiscrepancyFound:
    return pb.DiscrepancyFound(day=e.day.isoformat(), discrepancy_id=e.discrepancy_id, kind=e.kind,
                               reference=e.reference, order_id=e.order_id,
                               statement_amount_vnd=int(e.statement_amount_vnd),
                               recorded_amount_vnd=int(e.recorded_amount_vnd), invoice_id=e.invoice_id,
                               found_at=timestamp(e.found_at))
