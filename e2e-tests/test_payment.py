"""Payment in the running platform (issue #12): a dossier received at the desk for a procedure with a
fee gets its invoice from intake's published DossierReceived, with the amount of fees.yaml; the desk
official of the receiving unit records the cash once; another commune's official may not."""
from __future__ import annotations

import uuid

import grpc
import pytest

from motcua.payment.v1 import payment_pb2 as ppb
from motcua_testkit.plugin import wait_until

from e2e_testkit import submit_request

pytestmark = pytest.mark.e2e

SIGNATURE = "2.000884"  # chứng thực chữ ký: 10.000 đồng at the desk (fees.yaml), received at 000.31.01.H45


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
    assert paid.version == invoice.version + 1

    with pytest.raises(grpc.RpcError) as second:  # another receipt for a paid invoice
        payment.RecordCashPayment(ppb.RecordCashPaymentRequest(
            idempotency_key=uuid.uuid4().hex, dossier_id=dossier.id, expected_version=paid.version,
            amount_vnd=10_000, receipt_number="BL-0000124"))
    assert second.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert invoice_of(payment, dossier.id) == paid


def test_a_dossier_whose_procedure_charges_nothing_gets_no_invoice(intake, workflow, as_user):
    from motcua.workflow.v1 import workflow_pb2 as wpb

    dossier = intake.SubmitDossier(submit_request()).dossier  # 1.004873: no schedule in fees.yaml
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
