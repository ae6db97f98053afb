"""Payment in the running platform (issue #12): a dossier received at the desk for a procedure with a
fee gets its invoice from intake's published DossierReceived, with the amount of the catalogue's schedule it carries; the desk
official of the receiving unit records the cash once; another commune's official may not."""
from __future__ import annotations

import uuid

import grpc
import pytest

from motcua.payment.v1 import payment_pb2 as ppb
from motcua_testkit.plugin import wait_until

from e2e_testkit import submit_request

pytestmark = pytest.mark.e2e

SIGNATURE = "2.000884"  # chứng thực chữ ký: 10.000 đồng at the desk (catalogue.yaml), received at 000.31.01.H45


def invoice_of(payment, dossier_id: str) -> ppb.Invoice | None:  # type: ignore[no-untyped-def]
    try:
        return payment.GetInvoice(ppb.GetInvoiceRequest(dossier_id=dossier_id)).invoice
    except grpc.RpcError as error:
        if error.code() == grpc.StatusCode.NOT_FOUND:
            return None
        raise


def test_a_desk_dossier_with_a_fee_is_invoiced_and_its_cash_recorded_once(intake, as_user):
    payment = as_user("canbo01", "payment")
    dossier = intake.SubmitDossier(submit_request(procedure_code=SIGNATURE)).dossier

    invoice = wait_until(lambda: invoice_of(payment, dossier.id), 20, "the invoice of the received dossier")
    assert (invoice.status, invoice.total_vnd, invoice.dossier_code) == ("issued", 10_000, dossier.code)
    assert [(line.item_code, line.amount_vnd) for line in invoice.lines] == [("LE_PHI_CHUNG_THUC_CHU_KY", 10_000)]
    assert payment.GetInvoice(ppb.GetInvoiceRequest(dossier_code=dossier.code)).invoice == invoice

    other_commune = as_user("canbo07", "payment")
    cash = ppb.RecordCashPaymentRequest(idempotency_key=uuid.uuid4().hex, dossier_id=dossier.id,
                                        expected_version=invoice.version, amount_vnd=10_000,
                                        receipt_number="BL-0000123")
    with pytest.raises(grpc.RpcError) as refused:
        other_commune.RecordCashPayment(cash)
    assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
    with pytest.raises(grpc.RpcError) as unseen:
        other_commune.GetInvoice(ppb.GetInvoiceRequest(dossier_id=dossier.id))
    assert unseen.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert invoice_of(payment, dossier.id) == invoice, "a refused command stores nothing"

    paid = payment.RecordCashPayment(cash).invoice
    again = payment.RecordCashPayment(cash).invoice
    assert paid == again == invoice_of(payment, dossier.id)
    assert (paid.status, paid.payment.method, paid.payment.amount_vnd, paid.payment.reference) == \
        ("paid", "cash", 10_000, "BL-0000123")
    assert paid.version == invoice.version + 2  # Paid, then ReceiptIssued (its number) in the same save

    with pytest.raises(grpc.RpcError) as second:  # another receipt for a paid invoice
        payment.RecordCashPayment(ppb.RecordCashPaymentRequest(
            idempotency_key=uuid.uuid4().hex, dossier_id=dossier.id, expected_version=paid.version,
            amount_vnd=10_000, receipt_number="BL-0000124"))
    assert second.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert invoice_of(payment, dossier.id) == paid


def test_a_dossier_whose_procedure_charges_nothing_gets_no_invoice(intake, workflow, as_user):
    from motcua.workflow.v1 import workflow_pb2 as wpb

    dossier = intake.SubmitDossier(submit_request()).dossier  # 1.004873: no fee schedule in the catalogue
    inspector = as_user("thanhtra01", "workflow")
    wait_until(lambda: _case_exists(inspector, wpb, dossier.id), 20, "workflow to open the case")
    # payment follows the same events; a later invoiced dossier shows it has passed this one
    later = intake.SubmitDossier(submit_request(procedure_code=SIGNATURE)).dossier
    payment = as_user("thanhtra01", "payment")
    wait_until(lambda: invoice_of(payment, later.id), 20, "the later dossier's invoice")
    assert invoice_of(payment, dossier.id) is None


def _case_exists(workflow, wpb, dossier_id: str) -> bool:  # type: ignore[no-untyped-def]
    try:
        return bool(workflow.GetCase(wpb.GetCaseRequest(dossier_id=dossier_id)).case.id)
    except grpc.RpcError:
        return False


def _pdf_text(pdf: bytes, tmp_path) -> str:  # type: ignore[no-untyped-def]
    import subprocess

    path = tmp_path / "bien-lai.pdf"
    path.write_bytes(pdf)
    return " ".join(subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True,
                                   check=True).stdout.split())


def _vietnam_day(stamp) -> str:  # type: ignore[no-untyped-def]
    from motcua_common.province.working_calendar import VIETNAM_TZ

    return stamp.ToDatetime().replace(tzinfo=__import__("datetime").timezone.utc).astimezone(VIETNAM_TZ).date().isoformat()


def test_a_cash_payment_gets_a_numbered_receipt_pdf_counted_in_the_desks_cash_close_and_revenue(intake, as_user,
                                                                                                   tmp_path):
    payment = as_user("canbo01", "payment")
    dossier = intake.SubmitDossier(submit_request(procedure_code=SIGNATURE)).dossier
    invoice = wait_until(lambda: invoice_of(payment, dossier.id), 20, "the invoice of the received dossier")
    with pytest.raises(grpc.RpcError) as unpaid:
        payment.GetReceipt(ppb.GetReceiptRequest(dossier_id=dossier.id))
    assert unpaid.value.code() == grpc.StatusCode.FAILED_PRECONDITION

    paid = payment.RecordCashPayment(ppb.RecordCashPaymentRequest(
        idempotency_key=uuid.uuid4().hex, dossier_id=dossier.id, expected_version=invoice.version,
        amount_vnd=10_000, receipt_number="QUAY-01")).invoice
    answer = payment.GetReceipt(ppb.GetReceiptRequest(dossier_code=dossier.code))
    receipt = answer.receipt
    assert (receipt.symbol, receipt.official, len(receipt.number)) == ("1C26TQT", "canbo01", 7)
    assert answer.invoice == paid
    text = _pdf_text(answer.pdf, tmp_path)
    for expected in ("BIÊN LAI THU PHÍ, LỆ PHÍ", f"Ký hiệu: {receipt.symbol}", f"Số: {receipt.number}",
                     "10.000 đồng", "Mười nghìn đồng", "Lệ phí chứng thực chữ ký", dossier.code):
        assert expected in text, expected
    assert "Nguyễn" not in text  # the receipt names no payer

    day = _vietnam_day(receipt.issued_at)
    close = payment.GetCashClose(ppb.GetCashCloseRequest(unit_code="000.31.01.H45", official="canbo01", day=day))
    series = {s.symbol: s for s in close.series}["1C26TQT"]
    assert series.last_number == receipt.number and close.count >= 1 and close.total_vnd >= 10_000
    with pytest.raises(grpc.RpcError) as elsewhere:  # another commune's desk official
        as_user("canbo07", "payment").GetCashClose(ppb.GetCashCloseRequest(unit_code="000.31.01.H45", day=day))
    assert elsewhere.value.code() == grpc.StatusCode.PERMISSION_DENIED
    with pytest.raises(grpc.RpcError) as bad_day:
        payment.GetCashClose(ppb.GetCashCloseRequest(unit_code="000.31.01.H45", day="04/12/2026"))
    assert bad_day.value.code() == grpc.StatusCode.INVALID_ARGUMENT

    revenue = as_user("lanhdao01", "payment").GetRevenue(ppb.GetRevenueRequest(unit_code="000.31.01.H45",
                                                                               from_date=day, to_date=day,
                                                                               spreadsheet=True))
    assert revenue.xlsx.startswith(b"PK")  # an .xlsx (zip) file
    lines = {(line.unit_code, line.item_code): line for line in revenue.lines}
    assert lines[("000.31.01.H45", "LE_PHI_CHUNG_THUC_CHU_KY")].amount_vnd >= 10_000
    assert revenue.le_phi_vnd >= 10_000 and revenue.collected_vnd == revenue.phi_vnd + revenue.le_phi_vnd
    with pytest.raises(grpc.RpcError) as no_unit:
        as_user("lanhdao01", "payment").GetRevenue(ppb.GetRevenueRequest(from_date=day, to_date=day))
    assert no_unit.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(grpc.RpcError) as desk_revenue:  # the desk official does not read the revenue
        payment.GetRevenue(ppb.GetRevenueRequest(unit_code="000.31.01.H45", from_date=day, to_date=day))
    assert desk_revenue.value.code() == grpc.StatusCode.PERMISSION_DENIED


def test_a_refund_and_its_repeat_leave_one_refund_never_above_what_remains(intake, as_user):
    payment = as_user("canbo01", "payment")
    dossier = intake.SubmitDossier(submit_request(procedure_code=SIGNATURE)).dossier
    invoice = wait_until(lambda: invoice_of(payment, dossier.id), 20, "the invoice of the received dossier")
    payment.RecordCashPayment(ppb.RecordCashPaymentRequest(
        idempotency_key=uuid.uuid4().hex, dossier_id=dossier.id, expected_version=invoice.version,
        amount_vnd=10_000, receipt_number="QUAY-02"))
    refund = ppb.RefundPaymentRequest(idempotency_key=uuid.uuid4().hex, dossier_id=dossier.id, amount_vnd=4_000,
                                      reason="Thu thừa")
    with pytest.raises(grpc.RpcError) as elsewhere:
        as_user("canbo07", "payment").RefundPayment(refund)
    assert elsewhere.value.code() == grpc.StatusCode.PERMISSION_DENIED
    first = payment.RefundPayment(refund)
    again = payment.RefundPayment(refund)
    assert first == again
    assert (first.refund.amount_vnd, first.refundable_vnd, first.invoice.refunded_vnd) == (4_000, 6_000, 4_000)
    with pytest.raises(grpc.RpcError) as above:
        payment.RefundPayment(ppb.RefundPaymentRequest(idempotency_key=uuid.uuid4().hex, dossier_id=dossier.id,
                                                       amount_vnd=6_001, reason="Hoàn"))
    assert above.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    with pytest.raises(grpc.RpcError) as bad:
        payment.RefundPayment(ppb.RefundPaymentRequest(idempotency_key=uuid.uuid4().hex, dossier_id=dossier.id,
                                                       amount_vnd=1_000, reason=""))
    assert bad.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert invoice_of(payment, dossier.id).refunded_vnd == 4_000


def test_a_withdrawn_dossiers_invoice_is_cancelled_unpaid_and_refunded_paid(intake, as_user):
    from motcua.intake.v1 import intake_pb2 as ipb

    payment = as_user("canbo01", "payment")
    unpaid = intake.SubmitDossier(submit_request(procedure_code=SIGNATURE)).dossier
    paid = intake.SubmitDossier(submit_request(procedure_code=SIGNATURE)).dossier
    wait_until(lambda: invoice_of(payment, unpaid.id), 20, "the first invoice")
    invoice = wait_until(lambda: invoice_of(payment, paid.id), 20, "the second invoice")
    payment.RecordCashPayment(ppb.RecordCashPaymentRequest(
        idempotency_key=uuid.uuid4().hex, dossier_id=paid.id, expected_version=invoice.version,
        amount_vnd=10_000, receipt_number="QUAY-03"))
    for dossier in (unpaid, paid):
        intake.WithdrawDossier(ipb.WithdrawDossierRequest(idempotency_key=uuid.uuid4().hex, dossier_id=dossier.id,
                                                          expected_version=dossier.version, reason="Không cần nữa"))
    cancelled = wait_until(lambda: (i := invoice_of(payment, unpaid.id)) and i.status == "cancelled" and i, 20,
                           "the unpaid invoice to be cancelled")
    assert cancelled.refunded_vnd == 0
    refunded = wait_until(lambda: (i := invoice_of(payment, paid.id)) and i.refunded_vnd == 10_000 and i, 20,
                          "the paid invoice to be refunded in full (catalogue.yaml: withdrawn: full)")
    assert refunded.status == "paid"
    with pytest.raises(grpc.RpcError) as late:  # cash for the cancelled invoice
        payment.RecordCashPayment(ppb.RecordCashPaymentRequest(
            idempotency_key=uuid.uuid4().hex, dossier_id=unpaid.id, expected_version=cancelled.version,
            amount_vnd=10_000, receipt_number="QUAY-04"))
    assert late.value.code() == grpc.StatusCode.FAILED_PRECONDITION


def test_a_dossier_refused_during_processing_has_its_invoice_cancelled_unpaid_and_refunded_paid(intake, workflow,
                                                                                                 as_user):
    """workflow's CaseStopped (end_reason "stopped") is followed by payment's worker (catalogue.yaml: refused: full)."""
    from motcua.workflow.v1 import workflow_pb2 as wpb

    from e2e_testkit import wait_for_case

    payment = as_user("canbo01", "payment")
    unpaid = intake.SubmitDossier(submit_request(procedure_code=SIGNATURE)).dossier
    paid = intake.SubmitDossier(submit_request(procedure_code=SIGNATURE)).dossier
    wait_until(lambda: invoice_of(payment, unpaid.id), 20, "the first invoice")
    invoice = wait_until(lambda: invoice_of(payment, paid.id), 20, "the second invoice")
    payment.RecordCashPayment(ppb.RecordCashPaymentRequest(
        idempotency_key=uuid.uuid4().hex, dossier_id=paid.id, expected_version=invoice.version,
        amount_vnd=10_000, receipt_number="QUAY-05"))
    for dossier in (unpaid, paid):
        case = wait_for_case(workflow, dossier.id)
        workflow.StopProcessing(wpb.StopProcessingRequest(idempotency_key=uuid.uuid4().hex, case_id=case.id,
                                                          expected_version=case.version,
                                                          reason="Hồ sơ không đủ điều kiện giải quyết"))
    cancelled = wait_until(lambda: (i := invoice_of(payment, unpaid.id)) and i.status == "cancelled" and i, 20,
                           "the unpaid invoice to be cancelled")
    assert cancelled.refunded_vnd == 0
    refunded = wait_until(lambda: (i := invoice_of(payment, paid.id)) and i.refunded_vnd == 10_000 and i, 20,
                          "the paid invoice to be refunded in full (catalogue.yaml: refused: full)")
    assert refunded.status == "paid"


def test_the_catalogue_api_shows_the_fee_schedule_in_force_with_its_items(intake):
    from motcua.intake.v1 import intake_pb2 as ipb

    procedures = {p.code: p for p in intake.ListProcedures(ipb.ListProceduresRequest()).procedures}
    signature = procedures[SIGNATURE]
    assert [(i.code, i.kind, i.unit, i.amount_vnd) for i in signature.fee_schedule.items] == [
        ("LE_PHI_CHUNG_THUC_CHU_KY", "le_phi", "trường hợp", 10_000)]
    assert signature.fee_schedule.items[0].legal_basis.startswith("Thông tư 226/2016/TT-BTC")
    assert (signature.fee_schedule.due, signature.fee_vnd) == ("before_processing", 10_000)  # fee_vnd: deprecated
    assert not procedures["1.004873"].HasField("fee_schedule") and procedures["1.004873"].fee_vnd == 0
