"""Against the sandbox gateway as its own process (infra/sandboxes/paygov_sandbox): the redirect
checks out, the signed callback is verified by payment's adapter and pays the invoice once even
when delivered three times at once, retried, or out of order; a tampered callback pays nothing;
the daily statement lists the payment."""
from __future__ import annotations

import http.client
import json
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from datetime import date, datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit
from uuid import uuid4

import pytest

from motcua_common.config.clock import FixedClock
from motcua_common.errors import MotcuaError, RuleViolated
from motcua_common.events.context import Actor
from motcua_common.events.in_memory import in_memory_env, own_log
from motcua_testkit.plugin import free_port, wait_until

from motcua_payment.adapters.paygov import CallbackRefused, PayGovConfig, answer, redirect_url, verify_callback
from motcua_payment.application import PaymentApplication
from motcua_payment.domain.fees import FeeBook, FeeItem, FeeSchedule

pytestmark = pytest.mark.integration

SANDBOXES = Path(__file__).resolve().parents[4] / "infra" / "sandboxes"
NOW = datetime(2026, 12, 1, 2, 0, tzinfo=timezone.utc)
SECRET = "khoa-bi-mat-thu-nghiem"
GATEWAY_ACTOR = Actor.system("payment.paygov-callback")
SCHEDULES = {s.procedure_code: s for s in [
    FeeSchedule("2.000884", "Chứng thực", date(2017, 1, 1), "before_processing", "UBND xã",
                (FeeItem("LE_PHI", "le_phi", "Lệ phí", 10_000, "TT 226/2016"),))]}
BOOK = FeeBook([])


class Merchant:
    """The merchant side as the future HTTP edge will be: verify, record, answer the gateway."""

    def __init__(self, app: PaymentApplication, config: PayGovConfig) -> None:
        self.app, self.config = app, config
        self.answers: list[dict] = []
        self.lock = threading.Lock()
        merchant = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802
                fields = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                reply = merchant.handle(fields)
                body = json.dumps(reply).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/paygov/callback"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def handle(self, fields: dict) -> dict:
        try:
            self.app.record_gateway_result(verify_callback(self.config, fields, datetime.now(timezone.utc)),
                                           GATEWAY_ACTOR)
            reply = answer(True)
        except CallbackRefused as refused:
            reply = answer(False, refused.reason)
        except RuleViolated as refused:
            reply = answer(False, refused.reason)
        except MotcuaError as refused:
            reply = answer(False, type(refused).__name__)
        with self.lock:
            self.answers.append(reply)
        return reply


@pytest.fixture
def world(tmp_path):
    app = PaymentApplication(env=in_memory_env(), province="test", clock=FixedClock(NOW))
    secret_file = tmp_path / "paygov.secret"
    secret_file.write_text(SECRET + "\n", encoding="utf-8")
    port = free_port()
    config = PayGovConfig(f"http://127.0.0.1:{port}/pay", "SANDBOX", "SANDBOX-ACCESS", SECRET)
    merchant = Merchant(app, config)
    sandbox = subprocess.Popen([sys.executable, "-m", "paygov_sandbox", "--port", str(port), "--secret-file",
                                str(secret_file), "--callback-url", merchant.url, "--retry-seconds", "0.1",
                                "--max-attempts", "4"], cwd=SANDBOXES, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"

    def up() -> bool:
        try:
            return urllib.request.urlopen(base + "/health", timeout=1).status == 200
        except OSError:
            return False

    wait_until(up, 20, "the sandbox gateway to listen")
    yield app, config, merchant, base, port
    sandbox.terminate()
    sandbox.wait(timeout=10)
    merchant.server.shutdown()
    app.close()


def post(base: str, path: str, body: dict) -> dict:
    request = urllib.request.Request(base + path, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def attempts(base: str) -> list[dict]:
    with urllib.request.urlopen(base + "/sandbox/attempts", timeout=10) as response:
        return json.loads(response.read())


def pay_through_the_page(config: PayGovConfig, port: int, invoice: dict, outcome: str = "success") -> dict:
    """Follow the redirect to the payment page, press the button, read where the browser returns."""
    url = redirect_url(config, invoice["order_id"], invoice["total_vnd"], "R-" + uuid4().hex[:8], "Le phi",
                       "http://motcua.invalid/tra-ve")
    page = urllib.request.urlopen(url, timeout=10)
    html = page.read().decode()
    assert page.status == 200 and invoice["order_id"] in html and str(invoice["total_vnd"]) in html
    form = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    form["outcome"] = outcome
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request("POST", "/pay/confirm", urlencode(form), {"Content-Type": "application/x-www-form-urlencoded"})
    response = connection.getresponse()
    assert response.status == 302
    returned = urlsplit(response.getheader("Location"))
    connection.close()
    assert returned.netloc == "motcua.invalid"
    return {k: v[0] for k, v in parse_qs(returned.query).items()}


def paid_events(app: PaymentApplication) -> int:
    return [e.name for e in own_log(app)].count("Invoice.Paid")


def issue(app: PaymentApplication) -> dict:
    return app.issue_invoice(uuid4(), "000.31.01.H45-261201-0001",
                             BOOK.charge(SCHEDULES.get("2.000884"), "online", NOW),
                             GATEWAY_ACTOR)


def test_a_callback_delivered_three_times_at_once_makes_one_payment(world):
    app, config, merchant, base, port = world
    invoice = issue(app)
    post(base, "/sandbox/faults", {"duplicate": 3, "concurrent": True})
    returned = pay_through_the_page(config, port, invoice)
    assert verify_callback(config, returned, datetime.now(timezone.utc)).succeeded  # the browser's return verifies too
    wait_until(lambda: len(merchant.answers) >= 3, 20, "three callbacks")
    assert merchant.answers == [answer(True)] * 3
    assert paid_events(app) == 1 and app.get_invoice(invoice["id"])["status"] == "paid"
    statement = urllib.request.urlopen(f"{base}/statement?date={returned['payDate'][:8]}", timeout=10).read().decode()
    assert f"{returned['transactionNo']},{invoice['order_id']},10000," in statement


def test_a_tampered_callback_pays_nothing_and_is_answered_failed_on_every_retry(world):
    app, config, merchant, base, port = world
    invoice = issue(app)
    post(base, "/sandbox/faults", {"tamper": True})
    pay_through_the_page(config, port, invoice)
    wait_until(lambda: len(attempts(base)) >= 4, 20, "the sandbox to exhaust its attempts")
    assert merchant.answers == [answer(False, "BAD_CHECKSUM")] * 4
    assert paid_events(app) == 0 and app.get_invoice(invoice["id"])["national_status"] == 6


def test_a_dropped_callback_is_retried_until_recorded_once(world):
    app, config, merchant, base, port = world
    invoice = issue(app)
    post(base, "/sandbox/faults", {"fail_first": 2})
    pay_through_the_page(config, port, invoice)
    wait_until(lambda: merchant.answers, 20, "the third attempt")
    assert [a["status"] for a in attempts(base)] == [-1, -1, 200] and paid_events(app) == 1


def test_callbacks_delivered_out_of_order_leave_the_invoice_paid(world):
    app, config, merchant, base, port = world
    invoice = issue(app)
    post(base, "/sandbox/faults", {"reorder": True})
    pay_through_the_page(config, port, invoice, outcome="cancel")
    post(base, "/sandbox/faults", {"reorder": True})
    pay_through_the_page(config, port, invoice)
    assert post(base, "/sandbox/release", {}) == {"released": 2}  # the success first, then the earlier failure
    assert merchant.answers == [answer(True), answer(True)]
    assert paid_events(app) == 1 and "Invoice.PaymentFailed" not in [e.name for e in own_log(app)]


def test_the_payment_page_refuses_a_redirect_with_a_forged_checksum(world):
    app, config, merchant, base, port = world
    url = redirect_url(config, "HS01", 10_000, "R1", "x", "http://motcua.invalid/")
    forged = url.replace("amount=10000", "amount=100")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(forged, timeout=10)
    assert refused.value.code == 403


def test_a_delayed_callback_sent_twice_in_a_row_still_makes_one_payment(world):
    app, config, merchant, base, port = world
    invoice = issue(app)
    post(base, "/sandbox/faults", {"delay_seconds": 0.3, "duplicate": 2, "concurrent": False})
    pay_through_the_page(config, port, invoice)
    wait_until(lambda: len(merchant.answers) >= 2, 20, "both late callbacks")
    assert merchant.answers == [answer(True)] * 2 and paid_events(app) == 1


def test_the_statement_can_be_told_to_miss_a_payment_and_to_list_one_only_the_gateway_knows(world):
    app, config, merchant, base, port = world
    kept, missed = issue(app), issue(app)
    kept_fields = pay_through_the_page(config, port, kept)
    missed_fields = pay_through_the_page(config, port, missed)
    day = kept_fields["payDate"][:8]
    surplus = {"transactionNo": "SBX-SURPLUS", "orderId": "HSKHONGCO", "amount": "5000", "errorCode": "00",
               "payDate": day + "120000", "paygate": "SANDBOX"}
    post(base, "/sandbox/faults", {"statement_omit": [missed_fields["transactionNo"]], "statement_extra": [surplus]})
    lines = urllib.request.urlopen(f"{base}/statement?date={day}", timeout=10).read().decode().splitlines()
    assert lines[0] == "transactionNo,orderId,amount,payDate,paygate"
    numbers = {line.split(",")[0] for line in lines[1:]}
    assert kept_fields["transactionNo"] in numbers and "SBX-SURPLUS" in numbers
    assert missed_fields["transactionNo"] not in numbers
