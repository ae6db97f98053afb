"""Messages in memory: one per (triggering event, recipient, channel); queued -> sent -> delivered, or
retried with backoff and jitter up to a bounded number of attempts, or failed for good with the reason;
receipts told twice, late or early change nothing twice; opted-out channels respected except for
legally required notices; a refused command stores nothing."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from uuid import uuid4

import pytest

from motcua_common.config.clock import FixedClock
from motcua_common.errors import InvalidArgument, NotFound, RuleViolated
from motcua_common.events.context import Actor
from motcua_common.events.in_memory import in_memory_env, own_log

from motcua_notification.application import NotificationApplication
from motcua_notification.domain.message import RetryPolicy
from motcua_notification.domain.templates import TemplateBook
from motcua_notification.ports import Accepted, Outgoing, Receipt, SendFailed

PROVINCE_FILE = Path(__file__).resolve().parents[4] / "infra/provinces/quang-tri/notification-templates.yaml"
NOW = datetime(2026, 12, 1, 2, 0, tzinfo=timezone.utc)
WORKER = Actor.system("notification.worker")
CITIZEN = Actor(kind="citizen", subject="cd-0001")
RECEIVED = {"dossier_code": "X-261201-0001", "procedure_name": "Chứng thực", "appointment_date": date(2026, 12, 8)}


class FakeChannel:
    """A provider that deduplicates on the reference, failing as told."""

    def __init__(self) -> None:
        self.accepted: dict[str, str] = {}
        self.sends: list[Outgoing] = []
        self.failures: list[SendFailed] = []

    def send(self, outgoing: Outgoing) -> Accepted:
        self.sends.append(outgoing)
        if self.failures:
            raise self.failures.pop(0)
        provider_id = self.accepted.setdefault(outgoing.reference, f"P{len(self.accepted) + 1}")
        return Accepted(provider_id)


class Book:
    def __init__(self, **addresses: str) -> None:
        self.addresses = addresses

    def address(self, recipient: str, channel: str, dossier_id: object = None) -> str | None:
        return self.addresses.get(channel)


CONTACTS = Book(sms="0912345678", email="a@example.vn", zns="0912345678")


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
def app(clock):
    app = NotificationApplication(env=in_memory_env(), province="test", clock=clock,
                                  templates=TemplateBook.from_file(PROVINCE_FILE),
                                  retry=RetryPolicy(max_attempts=3, base=timedelta(seconds=30), rng=lambda: 0.5))
    yield app
    app.close()


@pytest.fixture
def sms() -> FakeChannel:
    return FakeChannel()


def queue(app, template: str = "dossier_received", channel: str = "sms", variables: dict | None = None,
          trigger: str | None = None, recipient: str = "cd-0001") -> dict:
    return app.queue(trigger or f"intake:{uuid4()}", uuid4(), "X-261201-0001", recipient, channel, template,
                     variables or RECEIVED, WORKER)


def stored(app) -> list[str]:
    return [e.name for e in own_log(app)]


def receipt(message: dict, outcome: str = "delivered", reference: str | None = None) -> Receipt:
    return Receipt(reference or message["reference"], message["provider_message_id"] or "P1", outcome,
                   "" if outcome == "delivered" else "handset off", NOW)


# -- queueing -------------------------------------------------------------------------------------
def test_one_message_per_trigger_recipient_and_channel_under_redelivery(app):
    trigger, dossier = "intake:42", uuid4()
    first = app.queue(trigger, dossier, "X", "cd-0001", "sms", "dossier_received", RECEIVED, WORKER)
    again = app.queue(trigger, dossier, "X", "cd-0001", "sms", "dossier_received", RECEIVED, WORKER)
    email = app.queue(trigger, dossier, "X", "cd-0001", "email", "dossier_received", RECEIVED, WORKER)
    assert first == again and email["id"] != first["id"]
    assert (first["template_id"], first["template_version"], first["status"]) == ("dossier_received", 1, "queued")
    assert stored(app) == ["Message.Queued", "Message.Queued"]


def test_the_client_reference_is_deterministic_across_applications(clock):
    books = TemplateBook.from_file(PROVINCE_FILE)
    ids = []
    for _ in range(2):
        other = NotificationApplication(env=in_memory_env(), province="test", clock=clock, templates=books)
        ids.append(other.queue("intake:7", uuid4(), "X", "cd-1", "sms", "dossier_received", RECEIVED, WORKER)["reference"])
        other.close()
    assert ids[0] == ids[1]


@pytest.mark.parametrize(("template", "variables", "error"), [
    ("no_such_template", RECEIVED, NotFound),
    ("dossier_received", {"dossier_code": "X"}, InvalidArgument),
])
def test_an_unknown_or_unrenderable_template_queues_nothing(app, template, variables, error):
    with pytest.raises(error):
        queue(app, template=template, variables=variables)
    assert stored(app) == []


@pytest.mark.parametrize(("channel", "variables", "field"), [
    ("fax", RECEIVED, "channel"),
    ("sms", {**RECEIVED, "procedure_name": {"ten": "P"}}, "variables.procedure_name"),
    ("sms", {**RECEIVED, "procedure_name": 1.5}, "variables.procedure_name"),
])
def test_a_bad_channel_or_variable_is_refused_naming_the_field_and_stores_nothing(app, channel, variables, field):
    with pytest.raises(InvalidArgument) as refused:
        queue(app, channel=channel, variables=variables)
    assert refused.value.violations[0].field == field and stored(app) == []


def test_an_opted_out_channel_gets_nothing_but_legally_required_notices(app):
    app.opt_out("cd-0001", "sms", CITIZEN)
    with pytest.raises(RuleViolated) as refused:
        queue(app, template="result_returned", variables={"dossier_code": "X", "procedure_name": "P"})
    assert refused.value.reason == "RECIPIENT_OPTED_OUT"
    assert queue(app)["status"] == "queued"  # the receipt notice is legally required
    assert stored(app) == ["Preferences.Started", "Preferences.OptedOut", "Message.Queued"]
    app.opt_in("cd-0001", "sms", CITIZEN)
    assert queue(app, template="result_returned", variables={"dossier_code": "X", "procedure_name": "P"})


def test_opting_out_twice_records_once(app):
    app.opt_out("cd-0001", "zns", CITIZEN)
    app.opt_out("cd-0001", "zns", CITIZEN)
    assert stored(app).count("Preferences.OptedOut") == 1


# -- sending --------------------------------------------------------------------------------------
def test_sent_then_delivered_with_the_provider_id_and_no_contact_in_any_event(app, sms):
    message = queue(app)
    sent = app.send(message["id"], {"sms": sms}, CONTACTS, WORKER)
    assert sent["status"] == "sent" and sent["provider_message_id"] == "P1"
    assert sms.sends[0].reference == message["reference"] and sms.sends[0].address == "0912345678"
    delivered = app.record_receipt(receipt(sent), WORKER)
    assert delivered["status"] == "delivered"
    assert stored(app) == ["Message.Queued", "Message.Sent", "Message.Delivered"]
    assert all(b"0912345678" not in e.state for e in own_log(app))


def test_a_receipt_told_twice_records_once(app, sms):
    sent = app.send(queue(app)["id"], {"sms": sms}, CONTACTS, WORKER)
    app.record_receipt(receipt(sent), WORKER)
    app.record_receipt(receipt(sent), WORKER)
    app.record_receipt(receipt(sent, "permanent_failure"), WORKER)  # late and contradicting: the end stands
    assert stored(app) == ["Message.Queued", "Message.Sent", "Message.Delivered"]


def test_a_receipt_before_the_sent_record_delivers_once_and_the_late_sent_record_changes_nothing(app, sms):
    message = queue(app)
    early = app.record_receipt(Receipt(message["reference"], "P1", "delivered", "", NOW), WORKER)
    assert early["status"] == "delivered"
    app.send(message["id"], {"sms": sms}, CONTACTS, WORKER)  # not due any more: nothing is sent
    assert sms.sends == [] and stored(app) == ["Message.Queued", "Message.Delivered"]


def test_a_receipt_for_an_unknown_message_is_not_found(app):
    with pytest.raises(NotFound):
        app.record_receipt(Receipt(f"{uuid4()}.0", "P1", "delivered", "", NOW), WORKER)
    with pytest.raises(InvalidArgument):
        app.record_receipt(Receipt("not-a-reference", "P1", "delivered", "", NOW), WORKER)


def test_a_crash_after_the_provider_accepted_resends_the_same_reference_and_gets_the_first_id(app, sms):
    message = queue(app)

    class Crash(BaseException):
        pass

    class CrashAfterAccept:
        def send(self, outgoing: Outgoing) -> Accepted:
            sms.send(outgoing)
            raise Crash  # the process dies before the outcome is recorded

    with pytest.raises(Crash):
        app.send(message["id"], {"sms": CrashAfterAccept()}, CONTACTS, WORKER)
    assert stored(app) == ["Message.Queued"]
    again = app.send(message["id"], {"sms": sms}, CONTACTS, WORKER)
    assert again["provider_message_id"] == "P1" and len(sms.accepted) == 1
    assert {s.reference for s in sms.sends} == {message["reference"]}


def test_a_temporary_failure_waits_an_exponential_backoff_with_jitter_then_retries(app, sms, clock):
    message = queue(app)
    sms.failures = [SendFailed("503"), SendFailed("503")]
    first = app.send(message["id"], {"sms": sms}, CONTACTS, WORKER)
    assert first["status"] == "retrying" and first["next_attempt_at"] == NOW + timedelta(seconds=22.5)
    assert app.send(message["id"], {"sms": sms}, CONTACTS, WORKER)["attempts"] == 1  # not due yet: not sent
    assert len(sms.sends) == 1
    clock.advance(timedelta(seconds=23))
    second = app.send(message["id"], {"sms": sms}, CONTACTS, WORKER)
    assert second["next_attempt_at"] == clock.now() + timedelta(seconds=45)  # 60 s halved and jittered
    clock.advance(timedelta(seconds=45))
    assert app.send(message["id"], {"sms": sms}, CONTACTS, WORKER)["status"] == "sent"
    assert {s.reference for s in sms.sends} == {message["reference"]}  # the same send: the answer may be lost


def test_a_provider_retry_after_is_waited_at_least(app, sms):
    sms.failures = [SendFailed("rate limited", retry_after=timedelta(minutes=5))]
    retrying = app.send(queue(app)["id"], {"sms": sms}, CONTACTS, WORKER)
    assert retrying["next_attempt_at"] == NOW + timedelta(minutes=5)


def test_after_the_last_attempt_the_message_fails_for_good_saying_why(app, sms, clock):
    message = queue(app)
    sms.failures = [SendFailed("503")] * 3
    for _ in range(3):
        result = app.send(message["id"], {"sms": sms}, CONTACTS, WORKER)
        clock.advance(timedelta(hours=1))
    assert result["status"] == "failed" and result["failure_reason"] == "gave up after 3 attempts: 503"
    assert app.send(message["id"], {"sms": sms}, CONTACTS, WORKER)["status"] == "failed" and len(sms.sends) == 3


def test_a_permanent_failure_ends_at_once(app, sms):
    sms.failures = [SendFailed("invalid phone number", permanent=True)]
    failed = app.send(queue(app)["id"], {"sms": sms}, CONTACTS, WORKER)
    assert (failed["status"], failed["failure_reason"]) == ("failed", "invalid phone number")


def test_no_contact_on_file_fails_without_sending(app, sms):
    failed = app.send(queue(app)["id"], {"sms": sms}, Book(email="a@example.vn"), WORKER)
    assert failed["status"] == "failed" and sms.sends == []


def test_a_temporary_failure_receipt_makes_the_retry_a_new_send_and_its_late_duplicate_changes_nothing(
        app, sms, clock):
    message = queue(app)
    sent = app.send(message["id"], {"sms": sms}, CONTACTS, WORKER)
    app.record_receipt(receipt(sent, "temporary_failure"), WORKER)
    app.record_receipt(receipt(sent, "temporary_failure"), WORKER)
    app.record_receipt(receipt(sent, "delivered"), WORKER)  # about the first send, which failed
    clock.advance(timedelta(minutes=1))
    resent = app.send(message["id"], {"sms": sms}, CONTACTS, WORKER)
    assert resent["reference"] != sent["reference"] and resent["provider_message_id"] == "P2"
    assert app.record_receipt(receipt(resent), WORKER)["status"] == "delivered"
    assert stored(app) == ["Message.Queued", "Message.Sent", "Message.FailedTemporarily", "Message.Sent",
                           "Message.Delivered"]


def test_a_permanent_failure_receipt_ends_the_message(app, sms):
    sent = app.send(queue(app)["id"], {"sms": sms}, CONTACTS, WORKER)
    failed = app.record_receipt(receipt(sent, "permanent_failure"), WORKER)
    assert (failed["status"], failed["failure_reason"]) == ("failed", "handset off")


def test_backoff_grows_exponentially_is_capped_and_jittered():
    policy = RetryPolicy(base=timedelta(seconds=10), cap=timedelta(seconds=60), rng=lambda: 1.0)
    assert [policy.delay(n).total_seconds() for n in (1, 2, 3, 4, 5)] == [10, 20, 40, 60, 60]
    low = RetryPolicy(base=timedelta(seconds=10), rng=lambda: 0.0)
    assert low.delay(3) == timedelta(seconds=20)


def test_a_retry_after_a_failure_receipt_follows_the_platform_clock_not_the_providers(app, sms):
    sent = app.send(queue(app)["id"], {"sms": sms}, CONTACTS, WORKER)
    told = Receipt(sent["reference"], "P1", "temporary_failure", "handset off", NOW + timedelta(days=2))
    assert app.record_receipt(told, WORKER)["next_attempt_at"] == NOW + timedelta(seconds=22.5)
