"""Reconciliation against the sandboxes as their own processes (infra/sandboxes/paygov_sandbox and
bank_sandbox), payment composed by its bootstrap on a private province (PostgreSQL, settable clock),
its HTTP callback edge serving both: a payment whose callback was lost is found by the sweep once the
platform clock is 15 minutes on; the daily statement with a missing, a surplus and a mismatched line
records each once; the bank's VietQR credits pay once however often told, and are held otherwise."""
from __future__ import annotations

import http.client
import json
import subprocess
import sys
import threading
import urllib.request
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit
from uuid import uuid4

import pytest

from motcua_common.events.context import Actor
from motcua_common.province.working_calendar import VIETNAM_TZ
from motcua_testkit.plugin import free_port, wait_until

pytestmark = pytest.mark.integration

SANDBOXES = Path(__file__).resolve().parents[4] / "infra" / "sandboxes"
ACCOUNT = "0011001234567"
CITIZEN = Actor(kind="citizen", subject="cd-1")
LEADER = Actor(kind="official", subject="lanhdao01", role="leader", unit="000.31.01.H45")


def _up(base: str) -> bool:
    try:
        return urllib.request.urlopen(base + "/health", timeout=1).status == 200
    except OSError:
        return False


def post(base: str, path: str, body: dict) -> dict:
    request = urllib.request.Request(base + path, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def get(base: str, path: str) -> list:
    with urllib.request.urlopen(base + path, timeout=10) as response:
        return json.loads(response.read())


@pytest.fixture
def world(province, tmp_path):  # type: ignore[no-untyped-def]
    from motcua_payment.bootstrap import bootstrap, setup_schema
    from motcua_payment.entrypoints.callback import create_server

    (tmp_path / "paygov.secret").write_text("khoa-cong-thanh-toan\n", encoding="utf-8")
    (tmp_path / "bank.secret").write_text("khoa-ngan-hang\n", encoding="utf-8")
    gateway_port, bank_port = free_port(), free_port()
    clock = province.use_settable_clock()
    province.env.update({"MOTCUA_PAYGOV_URL": f"http://127.0.0.1:{gateway_port}/pay",
                         "MOTCUA_PAYGOV_PARTNER_CODE": "SANDBOX", "MOTCUA_PAYGOV_ACCESS_KEY": "SANDBOX-ACCESS",
                         "MOTCUA_PAYGOV_SECRET_FILE": str(tmp_path / "paygov.secret"),
                         "MOTCUA_VIETQR_BANK_BIN": "970436", "MOTCUA_VIETQR_ACCOUNT": ACCOUNT,
                         "MOTCUA_BANK_SECRET_FILE": str(tmp_path / "bank.secret"),
                         "MOTCUA_PAYMENT_RETURN_URL": "http://motcua.invalid/paygov/return",
                         "MOTCUA_CLOCK_TTL_SECONDS": "0"})  # the app sees each move of the clock at once
    settings = province.settings()
    setup_schema(settings)
    app = bootstrap(settings)
    edge = create_server(app, "127.0.0.1:0")
    threading.Thread(target=edge.serve_forever, daemon=True).start()
    edge_url = f"http://127.0.0.1:{edge.server_address[1]}"
    processes = [
        subprocess.Popen([sys.executable, "-m", "paygov_sandbox", "--port", str(gateway_port), "--secret-file",
                          str(tmp_path / "paygov.secret"), "--callback-url", edge_url + "/paygov/callback",
                          "--retry-seconds", "0.1", "--max-attempts", "3"], cwd=SANDBOXES),
        subprocess.Popen([sys.executable, "-m", "bank_sandbox", "--port", str(bank_port), "--secret-file",
                          str(tmp_path / "bank.secret"), "--notify-url", edge_url + "/bank/credit", "--account",
                          ACCOUNT, "--retry-seconds", "0.1", "--max-attempts", "3"], cwd=SANDBOXES)]
    gateway, bank = f"http://127.0.0.1:{gateway_port}", f"http://127.0.0.1:{bank_port}"
    wait_until(lambda: _up(gateway) and _up(bank), 20, "the sandboxes to listen")
    yield app, clock, gateway, bank, settings
    for process in processes:
        process.terminate()
        process.wait(timeout=10)
    edge.shutdown()
    app.close()


def issue(app) -> dict:  # type: ignore[no-untyped-def]
    from datetime import date

    from motcua_payment.domain.fees import FeeBook, FeeItem, FeeSchedule

    schedules = {s.procedure_code: s for s in [
        FeeSchedule("2.000884", "Chứng thực", date(2017, 1, 1), "before_processing", "UBND xã",
                    (FeeItem("LE_PHI", "le_phi", "Lệ phí", 10_000, "TT 226/2016"),))]}
    book = FeeBook([])
    return app.issue_invoice(uuid4(), f"000.31.01.H45-261201-{uuid4().int % 10_000:04d}",
                             book.charge(schedules.get("2.000884"), "online", app.clock.now()), Actor.system("test"))


def pay(app, invoice: dict, gateway: str, outcome: str = "success") -> dict:  # type: ignore[no-untyped-def]
    """Start the payment as the payer would (recorded), then press the sandbox page's button."""
    started = app.start_gateway_payment(invoice["dossier_id"], CITIZEN)
    form = {k: v[0] for k, v in parse_qs(urlsplit(started["redirect_url"]).query).items()}
    assert urllib.request.urlopen(started["redirect_url"], timeout=10).status == 200
    form["outcome"] = outcome
    port = urlsplit(gateway).port
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request("POST", "/pay/confirm", urlencode(form), {"Content-Type": "application/x-www-form-urlencoded"})
    response = connection.getresponse()
    assert response.status == 302
    fields = {k: v[0] for k, v in parse_qs(urlsplit(response.getheader("Location")).query).items()}
    connection.close()
    return fields


def test_a_payment_whose_callback_was_lost_is_recorded_by_the_sweep_fifteen_minutes_after_its_start(world):
    app, clock, gateway, bank, settings = world
    invoice = issue(app)
    post(gateway, "/sandbox/faults", {"drop_callback": True})
    fields = pay(app, invoice, gateway)
    clock.advance(timedelta(minutes=14))
    assert app.sweep_pending_gateway_payments() == 0 and app.get_invoice(invoice["id"])["status"] == "issued"
    clock.advance(timedelta(minutes=1))
    assert app.sweep_pending_gateway_payments() == 1
    paid = app.get_invoice(invoice["id"])
    assert (paid["status"], paid["payment"]["reference"]) == ("paid", fields["transactionNo"])
    assert app.sweep_pending_gateway_payments() == 0  # no longer pending: not asked again
    assert get(gateway, "/sandbox/attempts") == []  # no callback ever arrived: the query alone paid it


def test_the_sweep_and_a_late_callback_make_one_payment(world):
    app, clock, gateway, bank, settings = world
    invoice = issue(app)
    post(gateway, "/sandbox/faults", {"reorder": True})  # the callback is held until released
    pay(app, invoice, gateway)
    clock.advance(timedelta(minutes=15))
    assert app.sweep_pending_gateway_payments() == 1
    assert post(gateway, "/sandbox/release", {}) == {"released": 1}
    wait_until(lambda: get(gateway, "/sandbox/attempts"), 20, "the late callback")
    assert get(gateway, "/sandbox/attempts")[0]["answer"]["error_code"] == "SUCCESSFUL"
    paid_events = [n for n in app.recorder.select_notifications(start=1, limit=1000) if n.topic.endswith("Invoice.Paid")]
    assert len(paid_events) == 1


def test_the_daily_statement_with_missing_surplus_and_mismatched_lines_records_each_once(world):
    from motcua_common.events.replay import Replayer
    from motcua_payment.bootstrap import replay_targets

    app, clock, gateway, bank, settings = world
    matched, missing, mismatched = issue(app), issue(app), issue(app)
    paid = {name: pay(app, invoice, gateway) for name, invoice in
            (("matched", matched), ("missing", missing), ("mismatched", mismatched))}
    wait_until(lambda: all(app.get_invoice(i["id"])["status"] == "paid" for i in (matched, missing, mismatched)),
               20, "the three callbacks")
    day_text = paid["matched"]["payDate"][:8]
    surplus = {"transactionNo": "SBX-THUA-1", "orderId": "HSKHONGCOTRONGHETHONG", "amount": "5000",
               "errorCode": "00", "payDate": day_text + "120000", "paygate": "SANDBOX"}
    post(gateway, "/sandbox/faults", {"statement_omit": [paid["missing"]["transactionNo"]],
                                      "statement_extra": [surplus],
                                      "statement_amount": {paid["mismatched"]["transactionNo"]: "9000"}})
    clock.advance(timedelta(days=1))
    day = clock.now().astimezone(VIETNAM_TZ).date() - timedelta(days=1)
    assert day.strftime("%Y%m%d") == day_text
    view = app.reconcile_day(day, LEADER)
    assert (view["statement_lines"], view["matched"], view["recorded_now"]) == (3, 1, 4)
    found = {d["kind"]: d for d in app.list_discrepancies(day, day)}
    assert found["missing"]["reference"] == paid["missing"]["transactionNo"]
    assert (found["surplus"]["reference"], found["surplus"]["statement_amount_vnd"]) == ("SBX-THUA-1", 5_000)
    assert (found["amount_mismatch"]["statement_amount_vnd"], found["amount_mismatch"]["recorded_amount_vnd"]) \
        == (9_000, 10_000)
    assert app.reconcile_day(day, LEADER)["recorded_now"] == 0
    for target in replay_targets(settings):
        assert Replayer(settings.postgres_conninfo(), target).run(check_only=True).equal, target.name


def test_a_bank_credit_of_the_exact_amount_told_three_times_pays_once(world):
    app, clock, gateway, bank, settings = world
    invoice = issue(app)
    post(bank, "/sandbox/faults", {"duplicate": 3})
    post(bank, "/transfer", {"amount": 10_000, "description": f"{invoice['order_id']} Thanh toan phi le phi"})
    wait_until(lambda: len(get(bank, "/sandbox/attempts")) >= 3, 20, "three notifications")
    assert [a["status"] for a in get(bank, "/sandbox/attempts")] == [200] * 3
    paid = app.get_invoice(invoice["id"])
    assert (paid["status"], paid["payment"]["method"], paid["payment"]["online_flag"]) == ("paid", "bank_transfer", 2)
    assert len([n for n in app.recorder.select_notifications(start=1, limit=1000)
                if n.topic.endswith("Invoice.Paid")]) == 1


def test_bank_credits_of_another_amount_or_no_bill_are_held_and_a_tampered_one_is_refused(world):
    app, clock, gateway, bank, settings = world
    invoice = issue(app)
    post(bank, "/transfer", {"amount": 9_000, "billNumber": invoice["order_id"], "description": "Thanh toan"})
    post(bank, "/transfer", {"amount": 4_000, "description": "chuyen tien khong ghi ma"})
    post(bank, "/sandbox/faults", {"tamper": True})
    post(bank, "/transfer", {"amount": 10_000, "description": invoice["order_id"]})
    wait_until(lambda: len(get(bank, "/sandbox/attempts")) >= 5, 20, "the notifications and the retries")
    today = clock.now().astimezone(VIETNAM_TZ).date()
    kinds = sorted(d["kind"] for d in app.list_discrepancies(today - timedelta(days=1), today))
    assert kinds == ["credit_amount_mismatch", "credit_unknown_bill"]
    assert app.get_invoice(invoice["id"])["status"] == "issued"
    refused = [a for a in get(bank, "/sandbox/attempts") if a["status"] == 401]
    assert len(refused) == 3 and refused[0]["answer"]["desc"] == "BAD_SIGNATURE"
