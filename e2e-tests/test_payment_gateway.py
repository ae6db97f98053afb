"""Paying online through the sandbox gateway in the running platform (issue #12): the citizen who owns
a fee-bearing dossier starts a gateway payment, pays on the sandbox's page; a callback tampered after
signing is refused on every attempt and records nothing; the genuine callback, delivered twice at once,
pays the invoice once. Meanwhile intake shows the dossier at national status 6 (financial obligation
requested), learnt from payment's published events, and its own status again once paid."""
from __future__ import annotations

import http.client
import json
import urllib.request
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from motcua.intake.v1 import intake_pb2 as ipb
from motcua.payment.v1 import payment_pb2 as ppb
from motcua_testkit.plugin import wait_until

from e2e_testkit import submit_request

pytestmark = pytest.mark.e2e

SIGNATURE = "2.000884"  # chứng thực chữ ký: 10.000 đồng, due before processing (fees.yaml)
OWNER = "congdan01"  # the citizen whose ID is 044190000101


def sandbox(platform) -> str:  # type: ignore[no-untyped-def]
    return f"http://127.0.0.1:{platform['env']['MOTCUA_PAYGOV_SANDBOX_PORT']}"


def post_json(url: str, body: dict) -> dict:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def attempts(platform) -> list[dict]:  # type: ignore[no-untyped-def]
    with urllib.request.urlopen(sandbox(platform) + "/sandbox/attempts", timeout=10) as response:
        return json.loads(response.read())


def pay_on_the_page(redirect_url: str) -> dict:
    """What the payer's browser does: open the gateway's page, press "Thanh toán", follow the return."""
    page = urllib.request.urlopen(redirect_url, timeout=10)
    assert page.status == 200 and "Thanh toán" in page.read().decode()
    url = urlsplit(redirect_url)
    form = {k: v[0] for k, v in parse_qs(url.query).items()} | {"outcome": "success"}
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
    connection.request("POST", "/pay/confirm", urlencode(form), {"Content-Type": "application/x-www-form-urlencoded"})
    response = connection.getresponse()
    assert response.status == 302
    returned = response.getheader("Location")
    connection.close()
    back = urllib.request.urlopen(returned, timeout=10)  # payment's return page records nothing
    assert back.status == 200 and "thanh toán" in back.read().decode()
    return {k: v[0] for k, v in parse_qs(urlsplit(returned).query).items()}


def test_a_gateway_payment_called_back_tampered_then_twice_is_recorded_once(platform, intake, as_user):
    request = submit_request(procedure_code=SIGNATURE)  # at the desk, for the citizen who then pays online
    request.applicant.CopyFrom(ipb.Applicant(full_name="Võ Thị Mai", citizen_id="044190000101", phone="0912345678"))
    dossier = intake.SubmitDossier(request).dossier
    payment = as_user(OWNER, "payment")

    def issued() -> ppb.Invoice | None:
        try:
            return payment.GetInvoice(ppb.GetInvoiceRequest(dossier_id=dossier.id)).invoice
        except Exception:  # noqa: BLE001 - not issued yet
            return None

    invoice = wait_until(issued, 20, "the invoice of the received dossier")
    assert (invoice.status, invoice.total_vnd) == ("issued", 10_000)
    wait_until(lambda: national_status(intake, dossier.id) == 6, 20, "intake to show the fee awaited (6)")

    started = payment.StartGatewayPayment(ppb.StartGatewayPaymentRequest(dossier_id=dossier.id))
    assert started.redirect_url.startswith(sandbox(platform) + "/pay?")
    assert (started.order_id, started.amount_vnd) == (invoice.order_id, 10_000)
    # the start is recorded (the 15-minute sweep asks the gateway about it if no callback comes), once
    payment.StartGatewayPayment(ppb.StartGatewayPaymentRequest(dossier_id=dossier.id))
    started_invoice = payment.GetInvoice(ppb.GetInvoiceRequest(dossier_id=dossier.id)).invoice
    assert (started_invoice.status, started_invoice.version) == ("issued", invoice.version + 1)
    invoice = started_invoice

    post_json(sandbox(platform) + "/sandbox/faults", {"tamper": True})
    tampered = pay_on_the_page(started.redirect_url)
    wait_until(lambda: len([a for a in attempts(platform) if a["transactionNo"] == tampered["transactionNo"]]) >= 5,
               20, "the sandbox to exhaust its attempts at the tampered callback")
    answers = [a["answer"] for a in attempts(platform) if a["transactionNo"] == tampered["transactionNo"]]
    assert answers == [{"error_code": "FAILED", "error_message": "BAD_CHECKSUM"}] * 5
    assert payment.GetInvoice(ppb.GetInvoiceRequest(dossier_id=dossier.id)).invoice == invoice

    post_json(sandbox(platform) + "/sandbox/faults", {"duplicate": 2, "concurrent": True})
    genuine = pay_on_the_page(started.redirect_url)
    wait_until(lambda: len([a for a in attempts(platform) if a["transactionNo"] == genuine["transactionNo"]]) >= 2,
               20, "both copies of the genuine callback")
    answers = [a["answer"] for a in attempts(platform) if a["transactionNo"] == genuine["transactionNo"]]
    assert answers == [{"error_code": "SUCCESSFUL", "error_message": ""}] * 2
    paid = payment.GetInvoice(ppb.GetInvoiceRequest(dossier_id=dossier.id)).invoice
    assert (paid.status, paid.payment.method, paid.payment.amount_vnd, paid.payment.reference) == \
        ("paid", "gateway", 10_000, genuine["transactionNo"])
    assert paid.version == invoice.version + 2, "one payment and one receipt, however many callbacks"
    receipt = payment.GetReceipt(ppb.GetReceiptRequest(dossier_id=dossier.id))
    assert (receipt.receipt.symbol, receipt.receipt.official) == ("1C26TQT", "") and receipt.pdf.startswith(b"%PDF")
    wait_until(lambda: national_status(intake, dossier.id) in (2, 4), 20, "intake to show the dossier's own status")


def national_status(intake, dossier_id: str) -> int:  # type: ignore[no-untyped-def]
    return intake.GetDossier(ipb.GetDossierRequest(dossier_id=dossier_id)).dossier.national_status
