"""Notification in the running platform (issue #13): a dossier received at the desk sends its receipt
notice by email (into the SMTP server the runner started) and by SMS (the messaging sandbox), the
SMS's delivery receipt comes back signed and delivers it, and the dossier's audit history shows
queued -> sent -> delivered; retries follow the platform clock; a worker killed between the gateway
accepting and the platform recording leaves the gateway holding one message."""
from __future__ import annotations

import json
import mailbox
import os
import signal
import urllib.request
import uuid
from datetime import timedelta
from email import policy
from email.parser import BytesParser
from pathlib import Path

import grpc
import pytest

from motcua.audit.v1 import audit_pb2 as apb
from motcua.notification.v1 import notification_pb2 as npb
from motcua_common.config.clock import SettableClock
from motcua_common.config.settings import postgres_conninfo_from_env
from motcua_testkit.plugin import wait_until

from e2e_testkit import submit_request

pytestmark = pytest.mark.e2e

# The settable clock, read afresh by every process: retries wait on it, the test moves it.
PLATFORM_ENV = {"MOTCUA_CLOCK": "settable", "MOTCUA_CLOCK_TTL_SECONDS": "0"}
APPLICANT_EMAIL = "le.thi.hong@example.vn"


class Sandbox:
    """The messaging sandbox the runner started (its test API: faults, messages)."""

    def __init__(self, platform: dict, protocol: str) -> None:
        self.base = f"http://127.0.0.1:{platform['env'][f'MOTCUA_{protocol.upper()}_SANDBOX_PORT']}"

    def _call(self, path: str, body: dict | None = None) -> object:
        request = urllib.request.Request(self.base + path, method="POST" if body is not None else "GET",
                                         data=json.dumps(body).encode() if body is not None else None,
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=5) as answer:
            return json.loads(answer.read())

    def faults(self, **faults: object) -> None:
        self._call("/sandbox/faults", faults)

    def messages(self, dossier_code: str) -> list[dict]:
        return [m for m in self._call("/sandbox/messages") if m.get("params", {}).get("ma_ho_so") == dossier_code]

    def release(self) -> None:
        self._call("/sandbox/release", {})


@pytest.fixture(scope="module")
def sms(platform) -> Sandbox:  # type: ignore[no-untyped-def]
    return Sandbox(platform, "sms")


@pytest.fixture(scope="module")
def desk(as_user):  # type: ignore[no-untyped-def]
    return as_user("canbo01", "notification")


@pytest.fixture(scope="module")
def clock(platform) -> SettableClock:  # type: ignore[no-untyped-def]
    return SettableClock(postgres_conninfo_from_env(platform["env"]), ttl=0)


def mails_about(platform: dict, dossier_code: str) -> list:
    maildir = Path(platform["env"]["MOTCUA_SMTP_MAILDIR"])
    if not (maildir / "new").exists():
        return []
    parsed = [BytesParser(policy=policy.default).parsebytes(bytes(m)) for m in mailbox.Maildir(maildir, create=False)]
    return [m for m in parsed if dossier_code in str(m["Subject"])]


def messages(desk, dossier_code: str) -> dict[str, npb.Message]:  # type: ignore[no-untyped-def]
    """The dossier's messages by channel ({} until notification has applied the dossier's receipt)."""
    try:
        listed = desk.ListMessages(npb.ListMessagesRequest(dossier_code=dossier_code)).messages
    except grpc.RpcError as error:
        if error.code() == grpc.StatusCode.NOT_FOUND:
            return {}
        raise
    return {m.channel: m for m in listed}


def submit(intake):  # type: ignore[no-untyped-def]
    request = submit_request()
    request.applicant.email = APPLICANT_EMAIL
    return intake.SubmitDossier(request).dossier


def test_a_received_dossier_sends_its_notice_by_email_and_sms_and_the_history_shows_its_delivery(
        platform, intake, desk, sms, audit):  # type: ignore[no-untyped-def]
    sms.faults(receipt_delay_seconds=1)  # a handset takes a moment: the receipt follows the answer
    dossier = submit(intake)

    [mail] = wait_until(lambda: mails_about(platform, dossier.code), 30, "the receipt notice in the SMTP server")
    assert mail["To"] == APPLICANT_EMAIL and mail["Subject"] == f"Đã tiếp nhận hồ sơ {dossier.code}"
    assert "Ngày hẹn trả kết quả:" in mail.get_content()
    [texted] = wait_until(lambda: sms.messages(dossier.code), 30, "the receipt notice in the SMS sandbox")
    assert texted["phone"] == "0912345678" and texted["template_id"] == "QT-TIEPNHAN-01"
    assert "da tiep nhan ho so" in texted["content"]  # without diacritics, as the gateway requires

    delivered = wait_until(lambda: messages(desk, dossier.code).get("sms", npb.Message()).status == "delivered"
                           and messages(desk, dossier.code), 30, "the SMS's delivery receipt")
    assert delivered["email"].status == "sent" and delivered["sms"].template_id == "dossier_received"

    def sms_history() -> list[str]:
        events = [e for r in audit.StreamHistory(apb.StreamHistoryRequest(dossier_code=dossier.code))
                  for e in r.events]
        return [e.event_type for e in events if e.aggregate_id == delivered["sms"].message_id]

    assert wait_until(lambda: sms_history() == ["Message.Queued", "Message.Sent", "Message.Delivered"]
                      and sms_history(), 30, "queued -> sent -> delivered in the dossier's history")

    # the in-app channel: the notice once (however many channels carried it), resumable after it
    [shown] = list(desk.StreamMessages(npb.StreamMessagesRequest(dossier_code=dossier.code)))
    assert shown.subject == f"Đã tiếp nhận hồ sơ {dossier.code}" and shown.message.template_id == "dossier_received"
    assert list(desk.StreamMessages(npb.StreamMessagesRequest(dossier_code=dossier.code,
                                                              after_message_id=shown.message.message_id))) == []

    # an opt-out given at the counter holds for the applicant (legally required notices go all the same)
    opt_out = npb.SetPreferencesRequest(idempotency_key=uuid.uuid4().hex, dossier_code=dossier.code, opt_out=["zns"])
    assert list(desk.SetPreferences(opt_out).opted_out) == ["zns"] == list(desk.SetPreferences(opt_out).opted_out)
    assert list(desk.GetPreferences(npb.GetPreferencesRequest(dossier_id=dossier.id)).opted_out) == ["zns"]


def test_a_gateway_failing_twice_then_accepting_yields_one_delivered_message(
        intake, desk, sms, clock):  # type: ignore[no-untyped-def]
    sms.faults(fail_sends=2)
    dossier = submit(intake)

    def attempts_failed(n: int) -> bool:
        found = messages(desk, dossier.code).get("sms")
        return found is not None and found.status == "retrying" and found.attempts == n

    wait_until(lambda: attempts_failed(1), 30, "the first refused send")
    clock.advance(timedelta(minutes=2))  # the backoff waits on the platform clock, not on the test
    wait_until(lambda: attempts_failed(2), 30, "the second refused send")
    clock.advance(timedelta(minutes=2))
    wait_until(lambda: messages(desk, dossier.code)["sms"].status == "delivered", 30, "the third send's delivery")
    assert len(sms.messages(dossier.code)) == 1


def _children(parent: int, needle: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == parent and needle in cmdline:
            found.append(int(entry.name))
    return found


def test_a_worker_killed_after_the_gateway_accepted_and_before_recording_sends_once(
        platform, intake, desk, sms):  # type: ignore[no-untyped-def]
    worker = "motcua_notification.entrypoints.service"
    [pid] = _children(platform["runner_pid"], worker)
    sms.faults(answer_delay_seconds=8, hold_receipts=True)  # accepted and kept, answered late
    dossier = submit(intake)
    wait_until(lambda: sms.messages(dossier.code), 30, "the gateway to accept the notice")
    assert wait_until(lambda: messages(desk, dossier.code).get("sms"), 10, "the message").status == "queued", \
        "the platform has not recorded the send"

    os.kill(pid, signal.SIGKILL)
    sms.faults(hold_receipts=True)  # the restarted worker's resend is answered at once
    wait_until(lambda: [p for p in _children(platform["runner_pid"], worker) if p != pid], 30,
               "the runner to restart the worker")
    wait_until(lambda: messages(desk, dossier.code)["sms"].status == "sent", 60, "the resend to be recorded")
    sms.faults()
    sms.release()
    wait_until(lambda: messages(desk, dossier.code)["sms"].status == "delivered", 30, "the held receipt")
    [held] = sms.messages(dossier.code)
    assert held["reference"].endswith(".0")
