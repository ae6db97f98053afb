"""Against the SMS and ZNS sandboxes as their own processes (infra/sandboxes/messaging_sandbox): a
message is sent, the signed receipt comes back over HTTP and moves the message to delivered once
however often it comes; a gateway that fails twice then accepts yields one delivered message; a
crash between the gateway accepting and the platform recording resends the same reference and finds
the first message id, and the gateway holds one message; rate limits are waited out."""
from __future__ import annotations

import json
import subprocess
import sys
import threading
import urllib.request
from datetime import date, datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from uuid import uuid4

import pytest

from motcua_common.config.clock import FixedClock
from motcua_common.errors import MotcuaError
from motcua_common.events.context import Actor
from motcua_common.events.in_memory import in_memory_env, own_log
from motcua_testkit.plugin import free_port, wait_until

from motcua_notification.adapters.receipts import SIGNATURE_HEADER, ReceiptRefused, parse_receipt
from motcua_notification.adapters.sms_brandname import BrandnameSms
from motcua_notification.adapters.zalo_zns import ZaloZns
from motcua_notification.application import NotificationApplication
from motcua_notification.domain.message import RetryPolicy
from motcua_notification.domain.templates import TemplateBook
from motcua_notification.ports import Outgoing

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[4]
SANDBOXES = ROOT / "infra" / "sandboxes"
TEMPLATES = ROOT / "infra/provinces/quang-tri/notification-templates.yaml"
NOW = datetime(2026, 12, 1, 2, 0, tzinfo=timezone.utc)
SECRET = "khoa-ky-bien-nhan"
KEY = "khoa-api-thu-nghiem"
WORKER = Actor.system("notification.worker")
GATEWAY = Actor.system("notification.receipt-callback")
RECEIVED = {"dossier_code": "000.31.01.H45-261201-0001", "procedure_name": "Chứng thực chữ ký",
            "appointment_date": date(2026, 12, 8)}


class Contacts:
    def address(self, recipient: str, channel: str, dossier_id: object = None) -> str | None:
        return "0912345678"


class ReceiptEdge:
    """The receiving side as the future HTTP edge will be: verify, record, answer."""

    def __init__(self, app: NotificationApplication) -> None:
        self.app = app
        self.answers: list[int] = []
        edge = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                status = edge.handle(body, self.headers.get(SIGNATURE_HEADER, ""))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/receipts"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def handle(self, body: bytes, signature: str) -> int:
        try:
            self.app.record_receipt(parse_receipt(body, signature, SECRET), GATEWAY)
            status = 200
        except ReceiptRefused:
            status = 401
        except MotcuaError:
            status = 422
        self.answers.append(status)
        return status

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
def app(clock):
    app = NotificationApplication(env=in_memory_env(), province="test", clock=clock,
                                  templates=TemplateBook.from_file(TEMPLATES),
                                  retry=RetryPolicy(max_attempts=4, rng=lambda: 0.5))
    yield app
    app.close()


@pytest.fixture
def edge(app):
    edge = ReceiptEdge(app)
    yield edge
    edge.close()


class Sandbox:
    def __init__(self, protocol: str, callback_url: str, tmp_path: Path, *extra: str) -> None:
        secret_file = tmp_path / f"{protocol}.secret"
        secret_file.write_text(SECRET, encoding="utf-8")
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "messaging_sandbox", "--protocol", protocol, "--port", str(port),
             "--secret-file", str(secret_file), "--callback-url", callback_url, "--api-key", KEY,
             "--retry-seconds", "0.1", *extra], cwd=SANDBOXES, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        wait_until(self._healthy, 20, f"the {protocol} sandbox to listen")

    def _healthy(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(f"sandbox exited: {self.process.stderr.read().decode()}")
        try:
            return self.get("/health")["status"] == "ok"
        except OSError:
            return False

    def get(self, path: str) -> object:
        with urllib.request.urlopen(self.url + path, timeout=5) as answer:
            return json.loads(answer.read())

    def faults(self, **faults: object) -> None:
        request = urllib.request.Request(self.url + "/sandbox/faults", data=json.dumps(faults).encode(),
                                         method="POST", headers={"Content-Type": "application/json"})
        urllib.request.urlopen(request, timeout=5).close()

    def release(self) -> None:
        urllib.request.urlopen(urllib.request.Request(self.url + "/sandbox/release", data=b"{}", method="POST"),
                               timeout=5).close()

    def messages(self) -> list[dict]:
        return self.get("/sandbox/messages")  # type: ignore[return-value]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        self.process.stderr.close()


@pytest.fixture
def sms(edge, tmp_path):
    sandbox = Sandbox("sms", edge.url, tmp_path, "--rate-limit", "3")
    yield sandbox
    sandbox.stop()


@pytest.fixture
def zns(edge, tmp_path):
    sandbox = Sandbox("zns", edge.url, tmp_path)
    yield sandbox
    sandbox.stop()


def queue(app, channel: str = "sms", template: str = "dossier_received", variables: dict | None = None) -> dict:
    return app.queue(f"intake:{uuid4()}", uuid4(), RECEIVED["dossier_code"], "cd-0001", channel, template,
                     variables or RECEIVED, WORKER)


def stored(app) -> list[str]:
    return [e.name for e in own_log(app)]


def status_becomes(app, message: dict, status: str) -> dict:
    return wait_until(lambda: (m := app.get_message(message["id"]))["status"] == status and m, 20,
                      f"message {message['id']} to be {status}")


# -- SMS ------------------------------------------------------------------------------------------
def test_sms_is_sent_without_diacritics_and_its_receipt_delivers_it(app, sms):
    sms.faults(hold_receipts=True)  # so that "sent" is recorded before the receipt comes
    message = queue(app)
    channel = BrandnameSms(sms.url, KEY, "UBND-QTRI")
    assert app.send(message["id"], {"sms": channel}, Contacts(), WORKER)["status"] == "sent"
    sms.release()
    delivered = status_becomes(app, message, "delivered")
    [held] = sms.messages()
    assert held["reference"] == message["reference"] and held["message_id"] == delivered["provider_message_id"]
    assert held["template_id"] == "QT-TIEPNHAN-01" and held["params"]["ngay_hen"] == "08/12/2026"
    assert held["content"].startswith("UBND tinh Quang Tri: da tiep nhan ho so") and held["segments"] == 1
    assert stored(app) == ["Message.Queued", "Message.Sent", "Message.Delivered"]


def test_a_receipt_called_back_three_times_delivers_once(app, sms, edge):
    sms.faults(duplicate_receipts=2)
    message = queue(app)
    app.send(message["id"], {"sms": BrandnameSms(sms.url, KEY, "UBND-QTRI")}, Contacts(), WORKER)
    wait_until(lambda: edge.answers.count(200) == 3, 20, "three copies of the receipt to be answered")
    assert stored(app).count("Message.Delivered") == 1


def test_a_gateway_that_fails_twice_then_accepts_yields_one_delivered_message(app, sms, clock):
    sms.faults(fail_sends=2, hold_receipts=True)
    message = queue(app)
    channel = BrandnameSms(sms.url, KEY, "UBND-QTRI")
    for _ in range(2):
        assert app.send(message["id"], {"sms": channel}, Contacts(), WORKER)["status"] == "retrying"
        clock.advance(timedelta(hours=1))
    assert app.send(message["id"], {"sms": channel}, Contacts(), WORKER)["status"] == "sent"
    sms.release()
    status_becomes(app, message, "delivered")
    assert len(sms.messages()) == 1
    assert stored(app) == ["Message.Queued", "Message.FailedTemporarily", "Message.FailedTemporarily",
                           "Message.Sent", "Message.Delivered"]


def test_a_crash_after_the_gateway_accepted_resends_the_same_reference_and_the_gateway_holds_one(app, sms):
    sms.faults(hold_receipts=True)
    message = queue(app)
    channel = BrandnameSms(sms.url, KEY, "UBND-QTRI")
    rendered = app.templates.render("dossier_received", 1, "sms", RECEIVED)
    first = channel.send(Outgoing(message["reference"], "0912345678", rendered))  # then the process died
    assert stored(app) == ["Message.Queued"]
    again = app.send(message["id"], {"sms": channel}, Contacts(), WORKER)
    assert again["provider_message_id"] == first.provider_message_id and len(sms.messages()) == 1
    sms.release()
    status_becomes(app, message, "delivered")


def test_a_rate_limited_send_waits_at_least_the_gateways_retry_after(app, sms):
    channel = BrandnameSms(sms.url, KEY, "UBND-QTRI")
    results = [app.send(queue(app)["id"], {"sms": channel}, Contacts(), WORKER) for _ in range(4)]
    limited = results[-1]
    assert {r["status"] for r in results[:3]} <= {"sent", "delivered"} and limited["status"] == "retrying"
    assert limited["failure_reason"].startswith("rate limited")
    assert limited["next_attempt_at"] >= NOW + timedelta(seconds=30)  # the window is 60 s, > the 15 s backoff


def test_a_temporary_failure_receipt_is_retried_as_a_new_send_and_then_delivered(app, sms, clock):
    sms.faults(receipts=["temporary_failure"])
    message = queue(app)
    channel = BrandnameSms(sms.url, KEY, "UBND-QTRI")
    app.send(message["id"], {"sms": channel}, Contacts(), WORKER)
    status_becomes(app, message, "retrying")
    clock.advance(timedelta(hours=1))
    app.send(message["id"], {"sms": channel}, Contacts(), WORKER)
    delivered = status_becomes(app, message, "delivered")
    assert [m["receipt"] for m in sms.messages()] == ["temporary_failure", "delivered"]
    assert delivered["provider_message_id"] == sms.messages()[1]["message_id"]


def test_a_permanent_failure_receipt_fails_the_message_with_the_reason(app, sms):
    sms.faults(receipts=["permanent_failure"])
    message = queue(app)
    app.send(message["id"], {"sms": BrandnameSms(sms.url, KEY, "UBND-QTRI")}, Contacts(), WORKER)
    assert status_becomes(app, message, "failed")["failure_reason"] == "number not in service"


def test_text_with_diacritics_is_refused_by_a_gateway_that_requires_none(app, sms):
    app.templates.sms_ascii_only = False
    message = queue(app)
    failed = app.send(message["id"], {"sms": BrandnameSms(sms.url, KEY, "UBND-QTRI")}, Contacts(), WORKER)
    assert failed["status"] == "failed" and "UNICODE_NOT_ALLOWED" in failed["failure_reason"]
    assert sms.messages() == []


def test_a_receipt_with_a_bad_signature_records_nothing(app, edge):
    message = queue(app)
    body = json.dumps({"reference": message["reference"], "message_id": "X", "status": "delivered",
                       "at": NOW.isoformat()}).encode()
    assert edge.handle(body, "0" * 64) == 401
    assert stored(app) == ["Message.Queued"]


def test_a_stopped_gateway_is_a_temporary_failure(app, sms):
    sms.stop()
    retrying = app.send(queue(app)["id"], {"sms": BrandnameSms(sms.url, KEY, "UBND-QTRI")}, Contacts(), WORKER)
    assert retrying["status"] == "retrying" and "unreachable" in retrying["failure_reason"]


# -- ZNS ------------------------------------------------------------------------------------------
def test_zns_sends_the_registered_template_with_its_parameters_and_is_delivered(app, zns):
    message = queue(app, channel="zns")
    app.send(message["id"], {"zns": ZaloZns(zns.url, KEY)}, Contacts(), WORKER)
    delivered = status_becomes(app, message, "delivered")
    [held] = zns.messages()
    assert held["phone"] == "84912345678" and held["template_id"] == "301001"
    assert held["params"] == {"ma_ho_so": RECEIVED["dossier_code"], "ten_thu_tuc": "Chứng thực chữ ký",
                              "ngay_hen": "08/12/2026"}
    assert (held["reference"], held["message_id"]) == (message["reference"], delivered["provider_message_id"])


def test_zns_resend_with_the_same_tracking_id_answers_the_first_message_id(app, zns):
    zns.faults(hold_receipts=True)
    message = queue(app, channel="zns")
    channel = ZaloZns(zns.url, KEY)
    rendered = app.templates.render("dossier_received", 1, "zns", RECEIVED)
    first = channel.send(Outgoing(message["reference"], "0912345678", rendered))
    again = app.send(message["id"], {"zns": channel}, Contacts(), WORKER)
    assert again["provider_message_id"] == first.provider_message_id and len(zns.messages()) == 1


def test_zns_with_a_wrong_access_token_fails_for_good(app, zns):
    failed = app.send(queue(app, channel="zns")["id"], {"zns": ZaloZns(zns.url, "sai")}, Contacts(), WORKER)
    assert failed["status"] == "failed" and "-124" in failed["failure_reason"]
