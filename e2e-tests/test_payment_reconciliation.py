"""The daily reconciliation in the running platform (issue #12): two dossiers are paid through the
sandbox gateway; its statement of the day omits one payment and lists one only the gateway knows;
once the day has ended (the platform clock moved on), the reconciliation records both the missing
and the surplus line, running it again records nothing new, and a leader resolves each with a
recorded decision (a repeated request answers the first). Black box: gRPC and the sandbox's HTTP."""
from __future__ import annotations

import uuid
from datetime import timedelta, timezone

import grpc
import pytest

from motcua.intake.v1 import intake_pb2 as ipb
from motcua.payment.v1 import payment_pb2 as ppb
from motcua_testkit.plugin import wait_until

from e2e_testkit import submit_request
from test_payment_gateway import pay_on_the_page, post_json, sandbox

pytestmark = pytest.mark.e2e

# The settable clock, read afresh by every process, so the test can end the day and act at once.
PLATFORM_ENV = {"MOTCUA_CLOCK": "settable", "MOTCUA_CLOCK_TTL_SECONDS": "0"}
VIETNAM = timezone(timedelta(hours=7))
SIGNATURE = "2.000884"  # chứng thực chữ ký: 10.000 đồng (catalogue.yaml)
OWNER = "congdan01"  # the citizen whose ID is 044190000101


def paid_online(intake, payment) -> tuple[ppb.Invoice, dict]:  # type: ignore[no-untyped-def]
    request = submit_request(procedure_code=SIGNATURE)
    request.applicant.CopyFrom(ipb.Applicant(full_name="Võ Thị Mai", citizen_id="044190000101", phone="0912345678"))
    dossier = intake.SubmitDossier(request).dossier

    def issued() -> ppb.Invoice | None:
        try:
            return payment.GetInvoice(ppb.GetInvoiceRequest(dossier_id=dossier.id)).invoice
        except grpc.RpcError:
            return None

    invoice = wait_until(issued, 20, "the invoice of the received dossier")
    started = payment.StartGatewayPayment(ppb.StartGatewayPaymentRequest(dossier_id=dossier.id))
    returned = pay_on_the_page(started.redirect_url)
    wait_until(lambda: payment.GetInvoice(ppb.GetInvoiceRequest(dossier_id=dossier.id)).invoice.status == "paid",
               20, "the callback to pay the invoice")
    return invoice, returned


def test_the_daily_reconciliation_of_a_statement_with_one_missing_and_one_surplus_line_records_both(
        platform, module_province, intake, as_user):
    from motcua_common.config.clock import SettableClock

    citizen, leader, inspector = as_user(OWNER, "payment"), as_user("lanhdao01", "payment"), \
        as_user("thanhtra01", "payment")
    kept_invoice, kept = paid_online(intake, citizen)
    missed_invoice, missed = paid_online(intake, citizen)
    day_text = kept["payDate"][:8]
    surplus = {"transactionNo": f"SBX-THUA-{uuid.uuid4().hex[:6]}", "orderId": "HS0000000000000000FF",
               "amount": "5000", "errorCode": "00", "payDate": day_text + "120000", "paygate": "SANDBOX"}
    post_json(sandbox(platform) + "/sandbox/faults", {"statement_omit": [missed["transactionNo"]],
                                                      "statement_extra": [surplus]})
    day = f"{day_text[:4]}-{day_text[4:6]}-{day_text[6:]}"

    with pytest.raises(grpc.RpcError) as early:  # the day has not ended yet
        leader.RunReconciliation(ppb.RunReconciliationRequest(idempotency_key=uuid.uuid4().hex, day=day))
    assert early.value.code() == grpc.StatusCode.INVALID_ARGUMENT

    clock = SettableClock(module_province.conninfo, ttl=0)
    clock.advance(timedelta(days=1, hours=2))  # the day has ended (the worker may reconcile it on its own too)
    run = leader.RunReconciliation(ppb.RunReconciliationRequest(idempotency_key=uuid.uuid4().hex, day=day))
    listed = leader.ListDiscrepancies(ppb.ListDiscrepanciesRequest(from_day=day, to_day=day)).discrepancies
    found = {d.kind: d for d in listed}
    assert set(found) == {"missing", "surplus"}, listed
    assert (found["missing"].reference, found["missing"].order_id, found["missing"].recorded_amount_vnd) == \
        (missed["transactionNo"], missed_invoice.order_id, 10_000)
    assert (found["missing"].invoice_id, found["missing"].statement_amount_vnd) == (missed_invoice.invoice_id, 0)
    assert (found["surplus"].reference, found["surplus"].statement_amount_vnd) == (surplus["transactionNo"], 5_000)
    assert run.matched >= 1 and kept["transactionNo"] not in {d.reference for d in listed}

    again = leader.RunReconciliation(ppb.RunReconciliationRequest(idempotency_key=uuid.uuid4().hex, day=day))
    assert again.recorded_now == 0 and len(again.discrepancies) == 2

    key = uuid.uuid4().hex
    resolve = ppb.ResolveDiscrepancyRequest(idempotency_key=key, day=day, discrepancy_id=found["surplus"].discrepancy_id,
                                            decision="refund_to_payer", note="Hoàn trả khoản chuyển thừa")
    first = leader.ResolveDiscrepancy(resolve).discrepancy
    assert (first.decision, first.resolved_by) == ("refund_to_payer", "lanhdao01")
    assert leader.ResolveDiscrepancy(resolve).discrepancy == first
    with pytest.raises(grpc.RpcError) as twice:
        leader.ResolveDiscrepancy(ppb.ResolveDiscrepancyRequest(
            idempotency_key=uuid.uuid4().hex, day=day, discrepancy_id=found["surplus"].discrepancy_id,
            decision="accepted", note="Khác"))
    assert twice.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    with pytest.raises(grpc.RpcError) as bad:
        leader.ResolveDiscrepancy(ppb.ResolveDiscrepancyRequest(
            idempotency_key=uuid.uuid4().hex, day=day, discrepancy_id=found["missing"].discrepancy_id,
            decision="", note="Thiếu"))
    assert bad.value.code() == grpc.StatusCode.INVALID_ARGUMENT

    still_open = inspector.ListDiscrepancies(ppb.ListDiscrepanciesRequest(from_day=day, to_day=day)).discrepancies
    assert [d.kind for d in still_open] == ["missing"]
    with pytest.raises(grpc.RpcError) as refused:  # the citizen may not see the province's accounts
        citizen.ListDiscrepancies(ppb.ListDiscrepanciesRequest(from_day=day, to_day=day))
    assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED


def test_a_payment_whose_callback_was_lost_is_found_by_the_worker_s_sweep_once_the_clock_has_moved_on(
        platform, module_province, intake, as_user):
    from motcua_common.config.clock import SettableClock

    citizen = as_user(OWNER, "payment")
    request = submit_request(procedure_code=SIGNATURE)
    request.applicant.CopyFrom(ipb.Applicant(full_name="Võ Thị Mai", citizen_id="044190000101", phone="0912345678"))
    dossier = intake.SubmitDossier(request).dossier
    wait_until(lambda: _invoice(citizen, dossier.id), 20, "the invoice of the received dossier")
    started = citizen.StartGatewayPayment(ppb.StartGatewayPaymentRequest(dossier_id=dossier.id))
    post_json(sandbox(platform) + "/sandbox/faults", {"drop_callback": True})
    returned = pay_on_the_page(started.redirect_url)
    clock = SettableClock(module_province.conninfo, ttl=0)
    clock.advance(timedelta(minutes=10))
    assert _invoice(citizen, dossier.id).status == "issued"  # no callback came; not yet asked
    clock.advance(timedelta(minutes=20))  # due at 15 minutes; swept every 15: asked by 30 minutes at the latest
    paid = wait_until(lambda: (i := _invoice(citizen, dossier.id)) and i.status == "paid" and i, 30,
                      "the worker's sweep to ask the gateway")
    assert (paid.payment.method, paid.payment.reference, paid.payment.online_flag) == \
        ("gateway", returned["transactionNo"], 1)


def _invoice(payment, dossier_id: str) -> ppb.Invoice | None:  # type: ignore[no-untyped-def]
    try:
        return payment.GetInvoice(ppb.GetInvoiceRequest(dossier_id=dossier_id)).invoice
    except grpc.RpcError:
        return None
