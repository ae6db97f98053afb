"""The runner merges its processes' outputs a whole line at a time (issue 17, 5): records written
concurrently, each in several writes, never end up glued together or split."""
from __future__ import annotations

import json
import sys
import time

from motcua_common.runtime.platform_runner import Supervisor

WRITER = r'''
import json, os, sys, time
name, start = sys.argv[1], float(sys.argv[2])
while time.time() < start:  # all begin together
    time.sleep(0.001)
for i in range(400):
    record = json.dumps({"event": "line", "process": name, "i": i, "padding": "x" * (i * 37 % 5000)}).encode()
    half = len(record) // 2
    os.write(1, record[:half])          # a record in two writes, as print() does it
    time.sleep(0.0002)
    os.write(1, record[half:] + b"\n")
'''


def test_concurrent_records_are_merged_as_whole_lines(tmp_path):
    output = open(tmp_path / "merged.log", "w+")  # noqa: SIM115 - a real file, as a terminal or a pipe would be
    supervisor = Supervisor(env={"MOTCUA_METRICS_BASE_PORT": "0"}, log_dir=None, output=output)
    names = ["intake-grpc", "workflow-worker", "reporting-relay"]
    start = str(time.time() + 1.5)
    supervisor.commands = {name: [sys.executable, "-c", WRITER, name, start] for name in names}
    supervisor.start_all()
    for child in supervisor.children.values():
        assert child.wait(60) == 0
    supervisor.stop_all()

    output.seek(0)
    records = [json.loads(line) for line in output.read().splitlines()]  # a glued line fails here
    assert sorted((r["process"], r["i"]) for r in records) == sorted((n, i) for n in names for i in range(400))


def test_the_paygov_sandbox_stands_in_with_a_private_generated_secret(tmp_path):
    """Without MOTCUA_PAYGOV_URL the runner starts the sandbox gateway and points payment at it."""
    from pathlib import Path

    from motcua_common.runtime.platform_runner import PAYGOV_SANDBOX, paygov_sandbox

    env = {"MOTCUA_PAYMENT_CALLBACK_ADDRESS": "127.0.0.1:8053", "MOTCUA_PAYGOV_SANDBOX_PORT": "18181"}
    commands = paygov_sandbox(env, tmp_path, tmp_path / "state")
    secret = Path(env["MOTCUA_PAYGOV_SECRET_FILE"])
    assert secret.parent == tmp_path / "state" and len(secret.read_text().strip()) == 64
    assert secret.stat().st_mode & 0o777 == 0o600
    assert env["MOTCUA_PAYGOV_URL"] == "http://127.0.0.1:18181/pay"
    command = commands[PAYGOV_SANDBOX]
    assert command[command.index("--secret-file") + 1] == str(secret)
    assert command[command.index("--callback-url") + 1] == "http://127.0.0.1:8053/paygov/callback"
    again = {"MOTCUA_PAYMENT_CALLBACK_ADDRESS": "127.0.0.1:8053"}
    paygov_sandbox(again, tmp_path, tmp_path / "state")
    assert again["MOTCUA_PAYGOV_SECRET_FILE"] == str(secret), "the secret is generated once"


def test_a_configured_gateway_starts_no_sandbox(tmp_path):
    from motcua_common.runtime.platform_runner import paygov_sandbox

    env = {"MOTCUA_PAYGOV_URL": "https://paygov.example.vn/pay", "MOTCUA_PAYMENT_CALLBACK_ADDRESS": "0.0.0.0:8053"}
    assert paygov_sandbox(dict(env), tmp_path, tmp_path) == {} and not list(tmp_path.iterdir())


def test_the_bank_sandbox_is_opt_in_and_gives_payment_its_generated_secret_and_account(tmp_path):
    from motcua_common.runtime.platform_runner import BANK_SANDBOX, bank_sandbox, http_addresses

    env = {"MOTCUA_PAYMENT_CALLBACK_ADDRESS": "127.0.0.1:8053"}
    assert bank_sandbox(dict(env), tmp_path) == {} and not list(tmp_path.iterdir())
    env["MOTCUA_BANK_SANDBOX_PORT"] = "18081"
    commands = bank_sandbox(env, tmp_path / "state")
    secret = tmp_path / "state" / "bank-sandbox.secret"
    assert env["MOTCUA_BANK_SECRET_FILE"] == str(secret) and oct(secret.stat().st_mode & 0o777) == "0o600"
    assert env["MOTCUA_VIETQR_ACCOUNT"] and "http://127.0.0.1:8053/bank/credit" in commands[BANK_SANDBOX]
    assert http_addresses({**env, "MOTCUA_PAYMENT_CALLBACK_ADDRESS": "127.0.0.1:8053",
                           "MOTCUA_NOTIFICATION_CALLBACK_ADDRESS": "127.0.0.1:8054"}).get(BANK_SANDBOX) == \
        "127.0.0.1:18081"
    real = {**env, "MOTCUA_BANK_SECRET_FILE": "/run/secrets/bank"}
    assert bank_sandbox(real, tmp_path) == {}


def test_notifications_providers_are_stood_in_for_by_an_smtp_server_and_the_messaging_sandboxes(tmp_path):
    """Without provider settings the runner starts aiosmtpd (into a maildir) and the SMS and ZNS
    sandboxes, receipts signed with one generated secret and sent to notification's receipts edge."""
    from motcua_common.config.settings import Settings
    from motcua_common.runtime.platform_runner import SMTP_SANDBOX, messaging_sandboxes

    env = {"MOTCUA_NOTIFICATION_CALLBACK_ADDRESS": "127.0.0.1:8054", "MOTCUA_SMS_SANDBOX_PORT": "18190"}
    commands = messaging_sandboxes(env, tmp_path / "state")
    assert sorted(commands) == ["sms-sandbox", SMTP_SANDBOX, "zns-sandbox"]
    assert env["MOTCUA_SMTP_ADDRESS"] == "127.0.0.1:1025" and env["MOTCUA_SMTP_MAILDIR"] == str(tmp_path / "state/maildir")
    assert commands[SMTP_SANDBOX][-3:] == ["-c", "aiosmtpd.handlers.Mailbox", str(tmp_path / "state/maildir")]
    assert (env["MOTCUA_SMS_GATEWAY_URL"], env["MOTCUA_ZNS_URL"]) == ("http://127.0.0.1:18190", "http://127.0.0.1:18091")
    secret = env["MOTCUA_MESSAGING_RECEIPTS_SECRET_FILE"]
    for name in ("sms-sandbox", "zns-sandbox"):
        command = commands[name]
        assert command[command.index("--secret-file") + 1] == secret
        assert command[command.index("--callback-url") + 1] == "http://127.0.0.1:8054/notification/receipts"
    settings = Settings.from_env({**env, "MOTCUA_PROVINCE": "p", "MOTCUA_PG_USER": "u", "MOTCUA_PG_PASSWORD": "x",
                                  "MOTCUA_PG_DBNAME": "d", "MOTCUA_AMQP_URI": "amqp://", "MOTCUA_DATA_DIR": "/",
                                  "MOTCUA_SUBJECT_KEK": "A" * 43 + "=", "MOTCUA_AUDIT_SIGNING_KEY": "A" * 43 + "="})
    assert settings.sms_api_key == "SANDBOX-KEY" and settings.smtp_address == "127.0.0.1:1025"


def test_configured_providers_start_no_messaging_sandbox(tmp_path):
    from motcua_common.runtime.platform_runner import messaging_sandboxes

    env = {"MOTCUA_NOTIFICATION_CALLBACK_ADDRESS": "0.0.0.0:8054", "MOTCUA_SMTP_ADDRESS": "mail.example.vn:25",
           "MOTCUA_SMS_GATEWAY_URL": "https://sms.example.vn", "MOTCUA_ZNS_URL": "https://zns.example.vn"}
    assert messaging_sandboxes(dict(env), tmp_path) == {} and not list(tmp_path.iterdir())


def test_make_run_sends_rating_requests_linking_to_the_evaluation_edge_unless_a_page_is_configured(tmp_path):
    from motcua_common.runtime.platform_runner import platform_env

    env = platform_env({"MOTCUA_EVALUATION_GRPC_ADDRESS": "127.0.0.1:50155"}, tmp_path)
    assert env["MOTCUA_NOTIFICATION_RATING_URL"] == (
        "grpc://127.0.0.1:50155/motcua.evaluation.v1.EvaluationService/RateDossier?dossier_id={dossier_id}")
    assert platform_env({}, tmp_path)["MOTCUA_NOTIFICATION_RATING_URL"].startswith("grpc://127.0.0.1:50055/")
    configured = {"MOTCUA_NOTIFICATION_RATING_URL": "https://dichvucong.example.vn/danh-gia/{dossier_code}"}
    assert platform_env(configured, tmp_path)["MOTCUA_NOTIFICATION_RATING_URL"] == configured[
        "MOTCUA_NOTIFICATION_RATING_URL"]

