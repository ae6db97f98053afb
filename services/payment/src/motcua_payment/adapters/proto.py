"""Invoice views (application.invoice_view) as motcua.payment.v1 messages."""
from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

from google.protobuf.timestamp_pb2 import Timestamp

from motcua.payment.v1 import payment_pb2 as pb
from motcua_common.errors import InvalidArgument

from motcua_payment.domain.receipts import printed_number


def parse_uuid(value: str, field: str) -> UUID:
    try:
        return UUID(value)
    except ValueError:
        raise InvalidArgument.single(field, "is not a UUID") from None


def invoice_to_proto(view: dict) -> pb.Invoice:
    payment = view.get("payment")
    paid = None
    if payment:
        paid_at = Timestamp()
        paid_at.FromDatetime(payment["paid_at"])
        paid = pb.Payment(method=payment["method"], amount_vnd=payment["amount_vnd"], reference=payment["reference"],
                          paid_at=paid_at, online_flag=payment["online_flag"])
    lines = [pb.InvoiceLine(item_code=line.get("item_code", ""), kind=line.get("kind", ""), name=line.get("name", ""),
                            legal_basis=line.get("legal_basis", ""), quantity=int(line.get("quantity", 0)),
                            base_vnd=int(line.get("base_vnd", 0)), discount_vnd=int(line.get("discount_vnd", 0)),
                            amount_vnd=int(line.get("amount_vnd", 0)), discount_rule=line.get("discount_rule", ""),
                            exempt_by=line.get("exempt_by", ""))
             for line in view["lines"]]
    return pb.Invoice(invoice_id=str(view["id"]), dossier_id=str(view["dossier_id"]), dossier_code=view["dossier_code"],
                      procedure_code=view["procedure_code"], order_id=view["order_id"], status=view["status"],
                      total_vnd=view["total_vnd"], due=view["due"], collector=view["collector"], lines=lines,
                      payment=paid, refunded_vnd=view["refunded_vnd"], version=view["version"])


def parse_day(value: str, field: str) -> date:
    """A day written YYYY-MM-DD (INVALID_ARGUMENT naming `field` otherwise)."""
    try:
        if len(value) != 10:
            raise ValueError(value)
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidArgument.single(field, "is required: a day written YYYY-MM-DD") from None


def _timestamp(at: datetime | None) -> Timestamp | None:
    if at is None:
        return None
    stamp = Timestamp()
    stamp.FromDatetime(at)
    return stamp


def receipt_to_proto(receipt: dict) -> pb.Receipt:
    return pb.Receipt(form=receipt["form"], symbol=receipt["symbol"], number=receipt["printed_number"],
                      issued_at=_timestamp(receipt["issued_at"]), official=receipt["official"])


def refund_to_proto(refund: dict) -> pb.Refund:
    return pb.Refund(idempotency_key=refund["key"], amount_vnd=refund["amount_vnd"], reason=refund["reason"],
                     refunded_at=_timestamp(refund["refunded_at"]))


def cash_close_to_proto(closed: dict) -> pb.GetCashCloseResponse:
    return pb.GetCashCloseResponse(
        unit_code=closed["unit_code"], official=closed["official"], day=closed["day"].isoformat(),
        count=closed["count"], total_vnd=closed["total_vnd"],
        series=[pb.CashCloseSeries(symbol=s["symbol"], count=s["count"], total_vnd=s["total_vnd"],
                                   first_number=printed_number(s["first_number"]),
                                   last_number=printed_number(s["last_number"])) for s in closed["series"]])


def revenue_to_proto(report: dict) -> pb.GetRevenueResponse:
    return pb.GetRevenueResponse(
        lines=[pb.RevenueLine(**line) for line in report["items"]], collected_vnd=report["collected_vnd"],
        phi_vnd=report["phi_vnd"], le_phi_vnd=report["le_phi_vnd"], refunded_vnd=report["refunded_vnd"],
        refunds=report["refunds"])


def discrepancy_to_proto(d: dict) -> pb.Discrepancy:
    return pb.Discrepancy(discrepancy_id=d["discrepancy_id"], day=d["day"].isoformat(), kind=d["kind"],
                          reference=d["reference"], order_id=d["order_id"],
                          statement_amount_vnd=d["statement_amount_vnd"], recorded_amount_vnd=d["recorded_amount_vnd"],
                          invoice_id=d["invoice_id"], found_at=_timestamp(d["found_at"]), decision=d["decision"],
                          note=d["note"], resolved_by=d["resolved_by"], resolved_at=_timestamp(d["resolved_at"]))


def reconciliation_to_proto(view: dict) -> pb.RunReconciliationResponse:
    return pb.RunReconciliationResponse(
        day=view["day"].isoformat(), statement_lines=view["statement_lines"], matched=view["matched"],
        recorded_now=view["recorded_now"],
        discrepancies=[discrepancy_to_proto(dict(d, day=view["day"])) for d in view["discrepancies"]])
