"""Whatever the order of sends, provider answers and receipts (duplicated, late, early): at most one
Delivered, nothing after the message ends, at most one Sent per send round, and never more failed
attempts than allowed."""
from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from uuid import uuid4

from hypothesis import given, settings, strategies as st

from motcua_common.config.clock import FixedClock
from motcua_common.events.context import Actor
from motcua_common.events.in_memory import in_memory_env, own_log

from motcua_notification.application import NotificationApplication
from motcua_notification.domain.message import RetryPolicy
from motcua_notification.domain.templates import TemplateBook
from motcua_notification.ports import Accepted, Outgoing, Receipt, SendFailed

TEMPLATES = TemplateBook.from_file(Path(__file__).resolve().parents[4]
                                   / "infra/provinces/quang-tri/notification-templates.yaml")
NOW = datetime(2026, 12, 1, 2, 0, tzinfo=timezone.utc)
WORKER = Actor.system("notification.worker")
RECEIVED = {"dossier_code": "X", "procedure_name": "P", "appointment_date": date(2026, 12, 8)}
MAX_ATTEMPTS = 3

steps = st.lists(st.one_of(
    st.tuples(st.just("send"), st.sampled_from(["accept", "temporary", "permanent"])),
    st.tuples(st.just("receipt"), st.sampled_from(["delivered", "temporary_failure", "permanent_failure"]),
              st.integers(min_value=-1, max_value=1)),  # the round told: earlier, current, later
    st.tuples(st.just("wait"),)), max_size=25)


class Scripted:
    def __init__(self) -> None:
        self.answer = "accept"
        self.ids: dict[str, str] = {}

    def send(self, outgoing: Outgoing) -> Accepted:
        if self.answer == "temporary":
            raise SendFailed("503")
        if self.answer == "permanent":
            raise SendFailed("invalid", permanent=True)
        return Accepted(self.ids.setdefault(outgoing.reference, f"P{len(self.ids)}"))


class Contacts:
    def address(self, recipient: str, channel: str, dossier_id: object = None) -> str:
        return "0912345678"


@settings(max_examples=60, deadline=None)
@given(steps)
def test_any_interleaving_of_sends_and_receipts_keeps_the_message_consistent(script):
    clock = FixedClock(NOW)
    app = NotificationApplication(env=in_memory_env(), province="test", clock=clock, templates=TEMPLATES,
                                  retry=RetryPolicy(max_attempts=MAX_ATTEMPTS))
    try:
        message = app.queue(f"t:{uuid4()}", uuid4(), "X", "cd-1", "sms", "dossier_received", RECEIVED, WORKER)
        channel = Scripted()
        for step in script:
            if step[0] == "send":
                channel.answer = step[1]
                app.send(message["id"], {"sms": channel}, Contacts(), WORKER)
            elif step[0] == "receipt":
                current = app.get_message(message["id"])
                round_ = int(current["reference"].rsplit(".", 1)[1]) + step[2]
                if round_ >= 0:
                    app.record_receipt(Receipt(f"{message['id']}.{round_}", "P", step[1], "x", NOW), WORKER)
            else:
                clock.advance(timedelta(hours=2))
        names = [e.name for e in own_log(app)]
        final = [i for i, name in enumerate(names) if name in ("Message.Delivered", "Message.FailedPermanently")]
        assert len(final) <= 1 and (not final or final[0] == len(names) - 1)
        counts = Counter(names)
        assert counts["Message.Sent"] <= counts["Message.FailedTemporarily"] + 1
        assert app.get_message(message["id"])["attempts"] <= MAX_ATTEMPTS
    finally:
        app.close()
