"""Email through a real SMTP server (aiosmtpd, started as its own process with its Mailbox handler):
the mail arrives with the rendered Vietnamese subject and body and a Message-ID made from the
message's reference; a server that is not there is a temporary failure."""
from __future__ import annotations

import mailbox
import smtplib
import subprocess
import sys
from datetime import date, datetime, timezone
from email import policy
from email.parser import BytesParser
from pathlib import Path
from uuid import uuid4

import pytest

from motcua_common.config.clock import FixedClock
from motcua_common.events.context import Actor
from motcua_common.events.in_memory import in_memory_env, own_log
from motcua_testkit.plugin import free_port, wait_until

from motcua_notification.adapters.email_smtp import SmtpEmail
from motcua_notification.application import NotificationApplication
from motcua_notification.domain.templates import TemplateBook

pytestmark = pytest.mark.integration

TEMPLATES = Path(__file__).resolve().parents[4] / "infra/provinces/quang-tri/notification-templates.yaml"
NOW = datetime(2026, 12, 1, 2, 0, tzinfo=timezone.utc)
WORKER = Actor.system("notification.worker")
RECEIVED = {"dossier_code": "000.31.01.H45-261201-0001", "procedure_name": "Chứng thực chữ ký",
            "appointment_date": date(2026, 12, 8)}


class Contacts:
    def address(self, recipient: str, channel: str, dossier_id: object = None) -> str | None:
        return "cong.dan@example.vn"


@pytest.fixture
def app():
    app = NotificationApplication(env=in_memory_env(), province="test", clock=FixedClock(NOW),
                                  templates=TemplateBook.from_file(TEMPLATES))
    yield app
    app.close()


def _listening(port: int, process: subprocess.Popen) -> bool:
    if process.poll() is not None:
        raise AssertionError(f"aiosmtpd exited: {process.stderr.read().decode()}")
    try:
        with smtplib.SMTP("127.0.0.1", port, timeout=2) as smtp:
            return smtp.noop()[0] == 250
    except OSError:
        return False


@pytest.fixture
def smtp_server(tmp_path):
    maildir = tmp_path / "maildir"
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{port}",
                                "-c", "aiosmtpd.handlers.Mailbox", str(maildir)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wait_until(lambda: _listening(port, process), 20, "aiosmtpd to listen")
    yield port, maildir
    process.terminate()
    process.wait(timeout=10)
    process.stderr.close()


def test_an_email_arrives_in_the_smtp_server_with_its_vietnamese_text_and_reference(app, smtp_server):
    port, maildir = smtp_server
    message = app.queue(f"intake:{uuid4()}", uuid4(), RECEIVED["dossier_code"], "cd-0001", "email",
                        "dossier_received", RECEIVED, WORKER)
    channel = SmtpEmail("127.0.0.1", port, "Một cửa Quảng Trị <khong-tra-loi@quangtri.gov.vn>", "quangtri.gov.vn")
    sent = app.send(message["id"], {"email": channel}, Contacts(), WORKER)
    assert sent["status"] == "sent" and sent["provider_message_id"] == f"<{message['reference']}@quangtri.gov.vn>"
    [raw] = wait_until(lambda: [bytes(m) for m in mailbox.Maildir(maildir, create=False)] if maildir.exists()
                       else [], 20, "the mail to arrive")
    mail = BytesParser(policy=policy.default).parsebytes(raw)
    assert mail["Subject"] == "Đã tiếp nhận hồ sơ 000.31.01.H45-261201-0001"
    assert mail["To"] == "cong.dan@example.vn" and mail["Message-ID"] == sent["provider_message_id"]
    assert "Ngày hẹn trả kết quả: 08/12/2026." in mail.get_content()
    assert [e.name for e in own_log(app)] == ["Message.Queued", "Message.Sent"]


def test_an_smtp_server_that_is_not_there_is_a_temporary_failure(app):
    message = app.queue(f"intake:{uuid4()}", uuid4(), "X", "cd-0001", "email", "dossier_received", RECEIVED, WORKER)
    channel = SmtpEmail("127.0.0.1", free_port(), "khong-tra-loi@quangtri.gov.vn", "quangtri.gov.vn", timeout=2)
    retrying = app.send(message["id"], {"email": channel}, Contacts(), WORKER)
    assert retrying["status"] == "retrying" and "unreachable" in retrying["failure_reason"]
