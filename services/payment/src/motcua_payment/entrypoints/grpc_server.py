"""payment's gRPC edge (its own process; never inside nameko/eventlet)."""
from __future__ import annotations

from typing import Any

import grpc

from motcua.payment.v1 import payment_pb2 as pb
from motcua.payment.v1 import payment_pb2_grpc as pb_grpc
from motcua_common.edge.access import Guard, caller
from motcua_common.edge.grpc_server import DossierCalls, event_stream_calls, run_edge, serves
from motcua_common.errors import InvalidArgument
from motcua_common.events.event_stream import EVENT_STREAM_SERVICE, add_event_stream
from motcua_common.identity.authorisation import Target
from motcua_common.observability.logs import bound, get_logger

from motcua_payment.adapters.proto import (cash_close_to_proto, discrepancy_to_proto, invoice_to_proto, parse_day,
                                           parse_uuid, receipt_to_proto, reconciliation_to_proto, refund_to_proto,
                                           revenue_to_proto)
from motcua_payment.adapters.receipt_pdf import receipt_pdf
from motcua_payment.adapters.spreadsheet import revenue_xlsx
from motcua_payment.application import PaymentApplication

log = get_logger()
SERVICE_NAME = pb.DESCRIPTOR.services_by_name["PaymentService"].full_name


class PaymentServicer(pb_grpc.PaymentServiceServicer):
    def __init__(self, app: PaymentApplication) -> None:
        self.app = app

    def GetInvoice(self, request: pb.GetInvoiceRequest, context: grpc.ServicerContext) -> pb.GetInvoiceResponse:
        dossier_id, dossier_code = _dossier_ref(request)
        view = self.app.invoice_of(dossier_id, dossier_code)
        serves(view["dossier_id"], view["dossier_code"])
        return pb.GetInvoiceResponse(invoice=invoice_to_proto(view))

    def RecordCashPayment(self, request: pb.RecordCashPaymentRequest,
                          context: grpc.ServicerContext) -> pb.RecordCashPaymentResponse:
        view = self.app.record_cash_payment(request.idempotency_key, parse_uuid(request.dossier_id, "dossier_id"),
                                            request.expected_version, request.amount_vnd, request.receipt_number,
                                            caller())
        with bound(dossier_code=view["dossier_code"]):
            log.info("cash_payment_recorded", version=view["version"])
        return pb.RecordCashPaymentResponse(invoice=invoice_to_proto(view))

    def StartGatewayPayment(self, request: pb.StartGatewayPaymentRequest,
                            context: grpc.ServicerContext) -> pb.StartGatewayPaymentResponse:
        started = self.app.start_gateway_payment(parse_uuid(request.dossier_id, "dossier_id"), caller())
        return pb.StartGatewayPaymentResponse(**started)

    def GetReceipt(self, request: pb.GetReceiptRequest, context: grpc.ServicerContext) -> pb.GetReceiptResponse:
        dossier_id, dossier_code = _dossier_ref(request)
        receipt = self.app.receipt_of(dossier_id, dossier_code)
        serves(receipt["dossier_id"], receipt["dossier_code"])
        return pb.GetReceiptResponse(receipt=receipt_to_proto(receipt["receipt"]), invoice=invoice_to_proto(receipt),
                                     pdf=receipt_pdf(receipt))

    def RefundPayment(self, request: pb.RefundPaymentRequest,
                      context: grpc.ServicerContext) -> pb.RefundPaymentResponse:
        done = self.app.refund_payment(request.idempotency_key, parse_uuid(request.dossier_id, "dossier_id"),
                                       request.amount_vnd, request.reason, caller())
        with bound(dossier_code=done["invoice"]["dossier_code"]):
            log.info("refund_answered", amount_vnd=done["refund"]["amount_vnd"], version=done["invoice"]["version"])
        return pb.RefundPaymentResponse(refund=refund_to_proto(done["refund"]), invoice=invoice_to_proto(done["invoice"]),
                                        refundable_vnd=done["invoice"]["refundable_vnd"])

    def GetCashClose(self, request: pb.GetCashCloseRequest, context: grpc.ServicerContext) -> pb.GetCashCloseResponse:
        closed = self.app.cash_close(request.unit_code, request.official, parse_day(request.day, "day"))
        return cash_close_to_proto(closed)

    def GetRevenue(self, request: pb.GetRevenueRequest, context: grpc.ServicerContext) -> pb.GetRevenueResponse:
        report = self.app.revenue(request.unit_code, parse_day(request.from_date, "from_date"),
                                  parse_day(request.to_date, "to_date"))
        answer = revenue_to_proto(report)
        if request.spreadsheet:
            answer.xlsx = revenue_xlsx(report)
        return answer

    def RunReconciliation(self, request: pb.RunReconciliationRequest,
                          context: grpc.ServicerContext) -> pb.RunReconciliationResponse:
        view = self.app.run_reconciliation(request.idempotency_key, parse_day(request.day, "day"), caller())
        log.info("reconciliation_run", day=request.day, recorded_now=view["recorded_now"], open=view["open"])
        return reconciliation_to_proto(view)

    def ListDiscrepancies(self, request: pb.ListDiscrepanciesRequest,
                          context: grpc.ServicerContext) -> pb.ListDiscrepanciesResponse:
        found = self.app.list_discrepancies(parse_day(request.from_day, "from_day"),
                                            parse_day(request.to_day, "to_day"), request.include_resolved)
        return pb.ListDiscrepanciesResponse(discrepancies=[discrepancy_to_proto(d) for d in found])

    def ResolveDiscrepancy(self, request: pb.ResolveDiscrepancyRequest,
                           context: grpc.ServicerContext) -> pb.ResolveDiscrepancyResponse:
        resolved = self.app.resolve_discrepancy(request.idempotency_key, parse_day(request.day, "day"),
                                                request.discrepancy_id, request.decision, request.note, caller())
        log.info("discrepancy_resolved", day=request.day, kind=resolved["kind"], decision=resolved["decision"])
        return pb.ResolveDiscrepancyResponse(discrepancy=discrepancy_to_proto(resolved))


def _dossier_ref(request: pb.GetInvoiceRequest) -> tuple:
    """(dossier id, dossier code) of a request that names its dossier by either."""
    if request.dossier_id and request.dossier_code:
        raise InvalidArgument.single("dossier_code", "give either dossier_id or dossier_code, not both")
    if not request.dossier_id and not request.dossier_code:
        raise InvalidArgument.single("dossier_id", "give the dossier's id or its code (dossier_code)")
    return (parse_uuid(request.dossier_id, "dossier_id") if request.dossier_id else None), request.dossier_code


def servicers(app: PaymentApplication):  # type: ignore[no-untyped-def]
    def add(server: grpc.Server) -> None:
        pb_grpc.add_PaymentServiceServicer_to_server(PaymentServicer(app), server)
        add_event_stream(server, app)  # integrators follow the published events

    return add, [SERVICE_NAME, EVENT_STREAM_SERVICE], [dossier_calls(app), event_stream_calls()]


def guards(app: PaymentApplication | None) -> dict[str, Guard]:
    """How the edge authorises each RPC: on the unit that received the dossier and its applicant,
    from payment's invoice summaries (access-policy.yaml)."""
    def locate(request: Any) -> Target | None:
        dossier_id, dossier_code = _dossier_ref(request) if "dossier_code" in request.DESCRIPTOR.fields_by_name \
            else (parse_uuid(request.dossier_id, "dossier_id"), "")
        row = app.access_target(dossier_id=dossier_id, dossier_code=dossier_code) if app is not None else None
        return None if row is None else Target(unit=row["unit_code"], applicant=row["applicant"],
                                               dossier_id=row["dossier_id"], dossier_code=row["dossier_code"])

    def locate_unit(request: Any) -> Target:
        """The finance reads are about one unit's desk: decided on that unit."""
        if not request.unit_code:
            raise InvalidArgument.single("unit_code", "is required: the unit whose desk or revenue to read")
        return Target(unit=request.unit_code)

    return {
        "GetInvoice": Guard("payment.read", locate=locate),
        "RecordCashPayment": Guard("payment.record_cash", locate=locate),
        "StartGatewayPayment": Guard("payment.pay_online", locate=locate),
        "GetReceipt": Guard("payment.read", locate=locate),
        "RefundPayment": Guard("payment.refund", locate=locate),
        "GetCashClose": Guard("payment.cash_close", locate=locate_unit),
        "GetRevenue": Guard("payment.revenue", locate=locate_unit),
        # about the province's accounts, not one dossier (access-policy.yaml: about platform)
        "RunReconciliation": Guard("payment.reconcile"),
        "ListDiscrepancies": Guard("payment.discrepancies_read"),
        "ResolveDiscrepancy": Guard("payment.resolve_discrepancy"),
    }


def dossier_calls(app: PaymentApplication) -> DossierCalls:
    """The reads of a dossier the edge records and how it authorises each RPC (DossierCalls)."""
    return DossierCalls(SERVICE_NAME, reads={"GetInvoice": "payment.GetInvoice", "GetReceipt": "payment.GetReceipt"},
                        others=frozenset({"RecordCashPayment", "StartGatewayPayment", "RefundPayment", "GetCashClose",
                                          "GetRevenue", "RunReconciliation", "ListDiscrepancies",
                                          "ResolveDiscrepancy"}),
                        record_read=app.record_read, guards=guards(app))


def main() -> None:
    from motcua_payment.bootstrap import bootstrap

    run_edge("payment", 50053, servicers, bootstrap)


if __name__ == "__main__":
    main()
