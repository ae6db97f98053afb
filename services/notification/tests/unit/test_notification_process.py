"""Notification as a process, in memory: which published events queue which notices, for whom and on
which channels; redelivery queues nothing twice; opt-out is honoured except for legally required
notices; a message that failed for good falls back to the recipient's next channel; the receipts edge
checks the signature before anything is read."""
from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from uuid import UUID, uuid4

import pytest

from motcua.intake.events.v1 import events_pb2 as intake_events
from motcua.notification.events.v1 import events_pb2 as own_events
from motcua.workflow.events.v1 import events_pb2 as workflow_events
from motcua_common.config.clock import FixedClock
from motcua_common.events.consumer import UnitOfWork
from motcua_common.events.context import Actor, CommandContext, command_context
from motcua_common.events.in_memory import in_memory_env, own_log
from motcua_common.events.published import PublishedEvent, published_from_wire, timestamp
from motcua_common.events.store import ReadModel

from motcua_notification.adapters.province_data import ProvinceNames
from motcua_notification.adapters.published import publication
from motcua_notification.application import NotificationApplication
from motcua_notification.domain.message import FAILED, Message, RetryPolicy
from motcua_notification.domain.templates import TemplateBook
from motcua_notification.entrypoints.callback import receipt_callback
from motcua_notification.policies import (DossierNotYetKnown, FallbackPolicy, IntakePolicies, Notices,
                                          WorkflowPolicies)
from motcua_notification.ports import Accepted, SendFailed

DATA = Path(__file__).resolve().parents[4] / "infra/provinces/quang-tri"
NOW = datetime(2026, 12, 1, 2, 0, tzinfo=timezone.utc)
SUBJECT = "subject-1"
SYSTEM = Actor.system("notification.consumer")
SECRET = "receipts-secret"


class Dossiers(ReadModel):
    """The dossiers notification learnt of (the Postgres table in production)."""

    def __init__(self) -> None:
        self.rows: dict[str, dict] = {}

    def statements(self, domain_event):  # type: ignore[no-untyped-def]
        return []

    def dossier(self, dossier_id=None, dossier_code=""):  # type: ignore[no-untyped-def]
        return self.rows.get(str(dossier_id))


@pytest.fixture
def index() -> Dossiers:
    return Dossiers()


@pytest.fixture
def app(index):  # type: ignore[no-untyped-def]
    app = NotificationApplication(env=in_memory_env(), province="test", clock=FixedClock(NOW),
                                  templates=TemplateBook.from_file(DATA / "notification-templates.yaml"),
                                  retry=RetryPolicy(max_attempts=3, rng=lambda: 0.0), index=index,
                                  channel_order=("email", "sms", "zns"))
    app.publication = publication()
    yield app
    app.close()


def published(upstream: str, message, dossier_id: str, position: int = 1) -> PublishedEvent:  # type: ignore[no-untyped-def]
    return PublishedEvent(upstream, f"{upstream}:{uuid4()}:1", f"motcua/test/{upstream}", message.DESCRIPTOR.full_name,
                          NOW, dossier_id, position, position - 1, {}, "", "", "000.31.01.H45-261201-0001", "", NOW,
                          message.SerializeToString())


def received(dossier_id: str | None = None) -> PublishedEvent:
    dossier_id = dossier_id or str(uuid4())
    return published("intake", intake_events.DossierReceived(
        dossier_id=dossier_id, code="000.31.01.H45-261201-0001", procedure_code="1.004873",
        receiving_agency_code="000.31.01.H45", handling_unit_code="000.31.01.H45", channel="desk",
        applicant=intake_events.Applicant(subject_id=SUBJECT, kind="citizen"), received_at=timestamp(NOW),
        appointment_at=timestamp(NOW + timedelta(days=3))), dossier_id)


def apply(app: NotificationApplication, policy, event: PublishedEvent) -> UnitOfWork:  # type: ignore[no-untyped-def]
    work = UnitOfWork(app)
    with command_context(CommandContext(actor=SYSTEM, province="test", clock=app.clock)):
        policy(event, work)
    app.record(*work.aggregates)
    return work


def intake_policy(app: NotificationApplication, channels: tuple[str, ...] = ("email", "sms")) -> IntakePolicies:
    return IntakePolicies(Notices(app, channels), ProvinceNames.from_file(DATA / "catalogue.yaml"), "UPSERT")


def workflow_policy(app: NotificationApplication) -> WorkflowPolicies:
    return WorkflowPolicies(Notices(app, ("email", "sms")), ProvinceNames.from_file(DATA / "catalogue.yaml"),
                            "https://dvc.example/danh-gia/{dossier_code}")


def queued(app: NotificationApplication) -> list[tuple[str, str, str]]:
    return [(e.data["template_id"], e.data["recipient"], e.data["channel"]) for e in own_log(app)
            if e.name == "Message.Queued"]


def test_a_received_dossier_queues_its_notice_for_the_applicant_on_each_channel_and_keeps_the_dossier(app):
    event = received()
    work = apply(app, intake_policy(app), event)
    assert queued(app) == [("dossier_received", SUBJECT, "email"), ("dossier_received", SUBJECT, "sms")]
    [(sql, row)] = work.statements
    assert sql == "UPSERT" and row[1:] == ("000.31.01.H45-261201-0001", "1.004873", "000.31.01.H45", SUBJECT)
    message = app.get_message(Message.id_for("test", event.id, SUBJECT, "sms"))
    assert message["trigger_event_id"] == event.id and message["template_version"] == 1


def test_the_same_event_applied_again_queues_nothing_twice(app):
    event = received()
    policy = intake_policy(app)
    apply(app, policy, event)
    apply(app, policy, event)
    assert len(queued(app)) == 2


def test_an_opted_out_channel_gets_no_notice_unless_it_is_legally_required(app, index):
    dossier_id = str(uuid4())
    index.rows[dossier_id] = {"dossier_id": dossier_id, "dossier_code": "000.31.01.H45-261201-0001",
                              "procedure_code": "1.004873", "unit_code": "000.31.01.H45", "applicant": SUBJECT}
    app.opt_out(SUBJECT, "sms", Actor(kind="citizen", subject="congdan01"))
    apply(app, intake_policy(app), received(dossier_id))  # legally required: both channels all the same
    returned = published("workflow", workflow_events.ResultReturned(method="desk", returned_at=timestamp(NOW)),
                         dossier_id)
    apply(app, workflow_policy(app), returned)
    assert queued(app) == [("dossier_received", SUBJECT, "email"), ("dossier_received", SUBJECT, "sms"),
                           ("result_returned", SUBJECT, "email"), ("rating_request", SUBJECT, "email")]


def test_an_event_about_a_dossier_not_yet_known_is_retried_later_not_dropped(app):
    returned = published("workflow", workflow_events.ResultReturned(method="desk"), str(uuid4()))
    with pytest.raises(DossierNotYetKnown):
        apply(app, workflow_policy(app), returned)
    assert queued(app) == []


def test_the_apology_carries_the_new_date_in_vietnam_time(app, index):
    dossier_id = str(uuid4())
    index.rows[dossier_id] = {"dossier_id": dossier_id, "dossier_code": "000.31.01.H45-261201-0001",
                              "procedure_code": "1.004873", "unit_code": "000.31.01.H45", "applicant": SUBJECT}
    extended = published("workflow", workflow_events.DeadlineExtended(
        new_due_at=timestamp(datetime(2026, 12, 9, 20, 0, tzinfo=timezone.utc)), reason="cần xác minh thêm"),
        dossier_id)
    apply(app, workflow_policy(app), extended)
    message = app.get_message(Message.id_for("test", extended.id, SUBJECT, "email"))
    rendered = app.templates.render("overdue_apology", 1, "email", app.get_or_none(message["id"]).variables)
    assert "Ngày hẹn mới: 10/12/2026." in rendered.body


class Refusing:
    def send(self, outgoing):  # type: ignore[no-untyped-def]
        raise SendFailed("HTTP 400 INVALID_RECIPIENT", permanent=True)


class Accepting:
    def __init__(self) -> None:
        self.sent: list[str] = []

    def send(self, outgoing):  # type: ignore[no-untyped-def]
        self.sent.append(outgoing.reference)
        return Accepted(f"P-{len(self.sent)}")


class Contacts:
    def address(self, recipient, channel, dossier_id=None):  # type: ignore[no-untyped-def]
        return "0912345678"


def failed_event(app: NotificationApplication, message_id: UUID) -> PublishedEvent:
    """notification's own published MessageFailed of `message_id` (what its own follower reads)."""
    events = [published_from_wire("notification", w) for w in app.read_notifications(1, 100)]
    [failed] = [e for e in events if e.type == own_events.MessageFailed.DESCRIPTOR.full_name
                and e.message(own_events.MessageFailed).message_id == str(message_id)]
    return failed


def test_a_permanent_failure_falls_back_to_the_next_channel_the_recipient_allows(app):
    event = received()
    apply(app, intake_policy(app, ("sms",)), event)
    sms_id = Message.id_for("test", event.id, SUBJECT, "sms")
    assert app.send(sms_id, {"sms": Refusing()}, Contacts(), SYSTEM)["status"] == FAILED

    apply(app, FallbackPolicy(app), failed_event(app, sms_id))
    assert queued(app) == [("dossier_received", SUBJECT, "sms"), ("dossier_received", SUBJECT, "zns")]
    zns = app.get_message(Message.id_for("test", event.id, SUBJECT, "zns"))
    assert zns["status"] == "queued" and zns["trigger_event_id"] == event.id

    apply(app, FallbackPolicy(app), failed_event(app, sms_id))  # told again: nothing more
    assert len(queued(app)) == 2


def test_a_fallback_onto_an_opted_out_channel_only_for_a_legally_required_notice(app):
    event = received()
    apply(app, intake_policy(app, ("sms",)), event)
    sms_id = Message.id_for("test", event.id, SUBJECT, "sms")
    app.send(sms_id, {"sms": Refusing()}, Contacts(), SYSTEM)
    failed = app.get_or_none(sms_id)
    app.opt_out(SUBJECT, "zns", Actor(kind="citizen", subject="congdan01"))
    # dossier_received is legally required: the opted-out channel still carries it
    assert app.fallback_channel(failed, app.get_or_none) == "zns"
    failed.template_id = "result_returned"  # a notice the recipient may refuse
    assert app.fallback_channel(failed, app.get_or_none) is None


def sign(body: bytes) -> str:
    return hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()


def test_the_receipts_edge_checks_the_signature_before_anything_and_records_a_good_receipt_once(app):
    event = received()
    apply(app, intake_policy(app, ("sms",)), event)
    sms_id = Message.id_for("test", event.id, SUBJECT, "sms")
    app.send(sms_id, {"sms": Accepting()}, Contacts(), SYSTEM)
    body = json.dumps({"reference": f"{sms_id}.0", "message_id": "P-1", "status": "delivered", "reason": "",
                       "at": NOW.isoformat()}).encode()
    before = len(own_log(app))

    forged = receipt_callback(app, SECRET, body, sign(body + b" "))
    assert forged.status == 401 and len(own_log(app)) == before
    unknown = json.dumps({"reference": f"{uuid4()}.0", "status": "delivered", "at": NOW.isoformat()}).encode()
    assert receipt_callback(app, SECRET, unknown, sign(unknown)).status == 404
    assert receipt_callback(app, SECRET, b"{not json", sign(b"{not json")).status == 400

    assert receipt_callback(app, SECRET, body, sign(body)).status == 200
    assert receipt_callback(app, SECRET, body, sign(body)).status == 200
    assert app.get_message(sms_id)["status"] == "delivered"
    assert [e.name for e in own_log(app)][before:] == ["Message.Delivered"]


METRICS_SCRIPT = """
from datetime import datetime, timezone
from pathlib import Path
from opentelemetry import metrics
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.exporter.prometheus import PrometheusMetricReader
from prometheus_client import generate_latest, REGISTRY
metrics.set_meter_provider(MeterProvider(metric_readers=[PrometheusMetricReader()]))
from motcua_common.config.clock import FixedClock
from motcua_common.events.context import Actor
from motcua_common.events.in_memory import in_memory_env
from motcua_notification.application import NotificationApplication
from motcua_notification.domain.message import RetryPolicy
from motcua_notification.domain.templates import TemplateBook
from motcua_notification.ports import Accepted, SendFailed
from uuid import uuid4

class Down:
    def send(self, outgoing):
        raise SendFailed("HTTP 503", permanent=False)

class Contacts:
    def address(self, recipient, channel, dossier_id=None):
        return "0912345678"

app = NotificationApplication(env=in_memory_env(), province="test", clock=FixedClock(datetime(2026, 12, 1, tzinfo=timezone.utc)),
                              templates=TemplateBook.from_file(Path(%r)), retry=RetryPolicy(max_attempts=2, rng=lambda: 0.0))
system = Actor.system("test")
message = app.queue("intake:x:1", uuid4(), "X", "s-1", "sms", "result_returned",
                    {"dossier_code": "X", "procedure_name": "Y"}, system)
app.send(message["id"], {"sms": Down()}, Contacts(), system)
from datetime import timedelta
app.clock.advance(timedelta(days=1))
app.send(message["id"], {"sms": Down()}, Contacts(), system)
print(generate_latest(REGISTRY).decode())
"""


def test_queued_retried_and_given_up_messages_are_counted_by_channel(tmp_path):
    import subprocess
    import sys

    script = tmp_path / "metrics.py"
    script.write_text(METRICS_SCRIPT % str(DATA / "notification-templates.yaml"))
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr[-2000:]
    lines = [line for line in result.stdout.splitlines() if line.startswith("motcua_notification_")]

    def value(prefix: str, *labels: str) -> float:
        [line] = [line for line in lines if line.startswith(prefix) and all(label in line for label in labels)]
        return float(line.rsplit(" ", 1)[1])

    assert value("motcua_notification_messages_total", 'channel="sms"', 'status="queued"') == 1
    assert value("motcua_notification_retries_total", 'channel="sms"') == 1
    assert value("motcua_notification_give_ups_total", 'channel="sms"', 'reason="attempts"') == 1


def test_preferences_are_set_once_per_idempotency_key_and_a_reused_key_is_refused(app):
    from motcua_common.errors import RuleViolated

    citizen = Actor(kind="citizen", subject="congdan01")
    assert app.set_preferences("k-1", SUBJECT, ["sms", "zns"], [], citizen) == {"sms", "zns"}
    before = len(own_log(app))
    app.opt_in(SUBJECT, "sms", citizen)
    assert app.set_preferences("k-1", SUBJECT, ["sms", "zns"], [], citizen) == {"zns"}, "a retry acts no more"
    assert len(own_log(app)) == before + 1
    with pytest.raises(RuleViolated) as reused:
        app.set_preferences("k-1", SUBJECT, ["email"], [], citizen)
    assert reused.value.reason == "IDEMPOTENCY_KEY_REUSED" and app.opted_out(SUBJECT) == {"zns"}


def test_the_rating_request_links_to_the_returned_dossier_by_code_and_by_id(app, index):
    """The rating link fills in the dossier's code and id (evaluation's RateDossier takes the id)."""
    dossier_id = str(uuid4())
    index.rows[dossier_id] = {"dossier_id": dossier_id, "dossier_code": "000.31.01.H45-261201-0001",
                              "procedure_code": "1.004873", "unit_code": "000.31.01.H45", "applicant": SUBJECT}
    policy = WorkflowPolicies(Notices(app, ("email",)), ProvinceNames.from_file(DATA / "catalogue.yaml"),
                              "https://dvc.example/danh-gia?ma={dossier_code}&id={dossier_id}")
    returned = published("workflow", workflow_events.ResultReturned(method="desk", returned_at=timestamp(NOW)),
                         dossier_id)
    apply(app, policy, returned)
    [rating] = [e for e in own_log(app) if e.name == "Message.Queued" and e.data["template_id"] == "rating_request"]
    rendered = app.templates.render("rating_request", 1, "email", app.get_or_none(rating.originator_id).variables)
    assert f"https://dvc.example/danh-gia?ma=000.31.01.H45-261201-0001&id={dossier_id}" in rendered.body
