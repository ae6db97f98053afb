"""payment's HTTP edge for PayGov's callback (entrypoints/callback.py), in memory: verified before
anything is recorded, recorded once however often it comes, answered as the protocol says."""
from __future__ import annotations

import json
from datetime import date, datetime, timezone
from uuid import uuid4

import pytest

from motcua_common.config.clock import FixedClock
from motcua_common.events.context import Actor
from motcua_common.events.in_memory import in_memory_env, own_log
from motcua_common.province.working_calendar import VIETNAM_TZ

from motcua_payment.adapters.paygov import PayGovConfig, answer, callback_checksum, format_pay_date
from motcua_payment.application import PaymentApplication
from motcua_payment.domain.fees import FeeBook, FeeItem, FeeSchedule
from motcua_payment.entrypoints.callback import paygov_callback

NOW = datetime(2026, 12, 1, 2, 0, tzinfo=timezone.utc)
SECRET = "khoa-bi-mat-thu-nghiem"
SCHEDULES = {s.procedure_code: s for s in [
    FeeSchedule("2.000884", "Chứng thực", date(2017, 1, 1), "before_processing", "UBND xã",
                (FeeItem("LE_PHI", "le_phi", "Lệ phí", 10_000, "TT 226/2016"),))]}
BOOK = FeeBook([])


@pytest.fixture
def app():
    app = PaymentApplication(env=in_memory_env(), province="test", clock=FixedClock(NOW),
                             gateway=PayGovConfig("http://gateway.invalid/pay", "P", "A", SECRET))
    yield app
    app.close()


def issue(app: PaymentApplication) -> dict:
    return app.issue_invoice(uuid4(), "000.31.01.H45-261201-0001",
                             BOOK.charge(SCHEDULES.get("2.000884"), "online", NOW),
                             Actor.system("test"))


def callback(invoice: dict, secret: str = SECRET, **changes: str) -> bytes:
    fields = {"orderId": invoice["order_id"], "amount": str(invoice["total_vnd"]), "errorCode": "00",
              "transactionNo": "SBX0001", "payDate": format_pay_date(NOW), "requestCode": invoice["order_id"],
              "orderInfo": "Le phi", "paygate": "SANDBOX", "type": "1", "transactionCode": "TC1"}
    fields["checksum"] = callback_checksum(secret, fields)
    return json.dumps(fields | changes).encode()


def events(app: PaymentApplication) -> list[str]:
    return [e.name for e in own_log(app)]


def test_a_callback_told_three_times_pays_once_and_is_acknowledged_each_time(app):
    invoice = issue(app)
    replies = [paygov_callback(app, callback(invoice)) for _ in range(3)]
    assert [(r.status, json.loads(r.body)) for r in replies] == [(200, answer(True))] * 3
    assert events(app).count("Invoice.Paid") == 1 and app.get_invoice(invoice["id"])["status"] == "paid"


def test_a_callback_changed_after_signing_records_nothing(app):
    invoice = issue(app)
    before = events(app)
    reply = paygov_callback(app, callback(invoice, amount="1000"))
    assert json.loads(reply.body) == answer(False, "BAD_CHECKSUM")
    assert events(app) == before


def test_a_callback_signed_with_another_secret_records_nothing(app):
    invoice = issue(app)
    before = events(app)
    assert json.loads(paygov_callback(app, callback(invoice, secret="khac")).body) == answer(False, "BAD_CHECKSUM")
    assert events(app) == before


def test_a_callback_for_an_unknown_order_is_answered_failed(app):
    reply = paygov_callback(app, callback({"order_id": "HS" + "0" * 18, "total_vnd": 10_000}))
    assert json.loads(reply.body) == answer(False, "UNKNOWN_ORDER")


@pytest.mark.parametrize("body", [b"not json", b"[1, 2]", b""])
def test_a_body_that_is_not_a_json_object_is_refused(app, body):
    reply = paygov_callback(app, body)
    assert (reply.status, json.loads(reply.body)) == (400, answer(False, "MALFORMED_BODY"))


def test_a_wrong_amount_with_a_valid_checksum_is_refused_by_the_invoice(app):
    invoice = issue(app)
    before = events(app)
    reply = paygov_callback(app, callback({**invoice, "total_vnd": 9_000}))
    assert json.loads(reply.body) == answer(False, "WRONG_AMOUNT") and events(app) == before


def test_a_payment_told_for_a_withdrawn_dossiers_cancelled_invoice_is_answered_failed_with_the_reason(app):
    invoice = issue(app)
    app.cancel_invoice(invoice["id"], "Hồ sơ đã được rút", Actor.system("payment.consumer"))
    before = events(app)
    reply = paygov_callback(app, callback(invoice))
    assert json.loads(reply.body) == answer(False, "INVOICE_CANCELLED")
    assert events(app) == before


def test_a_second_different_successful_callback_is_held_as_a_double_payment_and_acknowledged(app):
    invoice = issue(app)
    paygov_callback(app, callback(invoice))
    second = callback(invoice, transactionNo="SBX0002")
    second = json.dumps(json.loads(second) | {"checksum": callback_checksum(
        SECRET, {k: v for k, v in json.loads(second).items() if k != "checksum"})}).encode()
    replies = [paygov_callback(app, second) for _ in range(2)]
    assert [(r.status, json.loads(r.body)) for r in replies] == [(200, answer(True))] * 2  # the gateway stops retrying
    assert events(app).count("Invoice.Paid") == 1 and events(app).count("Reconciliation.DiscrepancyFound") == 1
    day = NOW.astimezone(VIETNAM_TZ).date()
    [held] = app.list_discrepancies(day, day)
    assert (held["kind"], held["reference"]) == ("double_payment", "SBX0002")


METRICS_SCRIPT = """
import json, sys, urllib.request
from datetime import datetime, timezone, date
from uuid import uuid4
from motcua_common.config.clock import FixedClock
from motcua_common.events.context import Actor
from motcua_common.events.in_memory import in_memory_env
from motcua_common.observability.logs import configure
from motcua_payment.adapters import bank
from motcua_payment.adapters.paygov import PayGovConfig, callback_checksum, format_pay_date
from motcua_payment.application import PaymentApplication
from motcua_payment.domain.fees import FeeBook, FeeItem, FeeSchedule
from motcua_payment.entrypoints.callback import bank_credit, paygov_callback

configure(service="payment", process="callback")  # as the edge's main(): metrics on MOTCUA_METRICS_PORT
NOW = datetime(2026, 12, 1, 2, 0, tzinfo=timezone.utc)
schedule = FeeSchedule("2.000884", "C", date(2017, 1, 1), "before_processing", "X",
                       (FeeItem("LE_PHI", "le_phi", "L", 10_000, "TT"),))
book = FeeBook([])
app = PaymentApplication(env=in_memory_env(), province="test", clock=FixedClock(NOW),
                         gateway=PayGovConfig("http://gateway.invalid/pay", "P", "A", "s"),
                         bank=bank.BankConfig("001", "b"))
invoice = app.issue_invoice(uuid4(), "X-1", book.charge(schedule, "online", NOW), Actor.system("t"))
def signed(number, secret="s"):
    fields = {"orderId": invoice["order_id"], "amount": "10000", "errorCode": "00", "transactionNo": number,
              "payDate": format_pay_date(NOW), "requestCode": invoice["order_id"], "orderInfo": "L", "paygate": "S",
              "type": "1", "transactionCode": "TC"}
    fields["checksum"] = callback_checksum(secret, fields)
    return json.dumps(fields).encode()
paygov_callback(app, signed("T1"))
paygov_callback(app, signed("T2"))
for _ in range(3):
    paygov_callback(app, signed("T3", secret="forged"))
bank_credit(app, b"not json")
print(urllib.request.urlopen("http://127.0.0.1:%d/metrics" % int(sys.argv[1]), timeout=10).read().decode())
"""


def test_the_edge_counts_callbacks_and_bank_credits_by_outcome_on_its_metrics_port(tmp_path):
    import os
    import socket
    import subprocess
    import sys

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    script = tmp_path / "metrics.py"
    script.write_text(METRICS_SCRIPT)
    result = subprocess.run([sys.executable, str(script), str(port)], capture_output=True, text=True, timeout=60,
                            env={**os.environ, "MOTCUA_METRICS_PORT": str(port)})
    assert result.returncode == 0, result.stderr[-2000:]
    lines = [line for line in result.stdout.splitlines() if line.startswith("motcua_payment_")]

    def value(prefix: str, *labels: str) -> float:
        [line] = [line for line in lines if line.startswith(prefix) and all(label in line for label in labels)]
        return float(line.rsplit(" ", 1)[1])

    assert value("motcua_payment_callbacks_total", 'outcome="recorded"', 'reason="PAID"') == 1
    assert value("motcua_payment_callbacks_total", 'outcome="held"', 'reason="DOUBLE_PAYMENT"') == 1
    assert value("motcua_payment_callbacks_total", 'outcome="refused"', 'reason="BAD_CHECKSUM"') == 3
    assert value("motcua_payment_bank_credits_total", 'outcome="refused"') == 1
