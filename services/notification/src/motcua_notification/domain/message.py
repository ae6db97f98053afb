"""One message: to one recipient, on one channel, because of one triggering event.

Its id is deterministic (uuid5 of province, triggering event, recipient, channel), so a redelivered or
replayed event finds the message it already queued. Providers deduplicate on the reference a send
carries (`reference`: the message id and the send round): a send repeated after a crash between the
provider accepting it and the platform recording it is answered with the first provider id. The round
moves on only when the provider reports that an accepted send ended in a temporary failure, so the
retry is a new send for the provider too.

    queued --send accepted--> sent --receipt--> delivered
       |  \\                    \\--receipt: temporary--> retrying (round + 1) --> ... sent
       |   \\--send failed: temporary--> retrying (same round; when the provider's answer was lost it
       |                                 may hold the send: the same reference finds it)
       \\--permanent failure, or the last attempt failed--> failed (permanently, with the reason)

A receipt told twice, late (for an earlier round, or after the message ended) or before the platform
recorded the send changes nothing twice. Retries wait an exponential backoff with jitter, decided when
the failure is recorded (the event carries the time of the next attempt) so a rebuild decides nothing.
"""
from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Callable
from uuid import UUID

from eventsourcing.domain import event

from motcua_common.errors import InvalidArgument
from motcua_common.events.domain import MotcuaAggregate
from motcua_common.events.ids import deterministic_id

from motcua_notification.domain.templates import CHANNELS

QUEUED, SENT, RETRYING, DELIVERED, FAILED = "queued", "sent", "retrying", "delivered", "failed"
FINAL = (DELIVERED, FAILED)
DELIVERED_RECEIPT, TEMPORARY_RECEIPT, PERMANENT_RECEIPT = "delivered", "temporary_failure", "permanent_failure"
RECEIPTS = (DELIVERED_RECEIPT, TEMPORARY_RECEIPT, PERMANENT_RECEIPT)
MAX_REASON = 200


class RetryPolicy:
    """Exponential backoff with "equal jitter": attempt n waits between half and all of base * 2^(n-1),
    capped; after `max_attempts` failed attempts the message gives up."""

    def __init__(self, max_attempts: int = 5, base: timedelta = timedelta(seconds=30),
                 cap: timedelta = timedelta(hours=1), rng: Callable[[], float] = random.random) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self.max_attempts, self.base, self.cap, self.rng = max_attempts, base, cap, rng

    def delay(self, attempt: int) -> timedelta:
        ceiling = min(self.cap, self.base * 2 ** (attempt - 1))
        return ceiling / 2 + (ceiling / 2) * self.rng()


class Message(MotcuaAggregate):
    @staticmethod
    def id_for(province: str, trigger_event_id: str, recipient: str, channel: str) -> UUID:
        return deterministic_id(province, "message", trigger_event_id, recipient, channel)

    class Queued(MotcuaAggregate.Created):
        trigger_event_id: str
        dossier_id: UUID
        dossier_code: str
        recipient: str  # the recipient's subject id: contacts are looked up when sending, never stored
        channel: str
        template_id: str
        template_version: int
        language: str
        variables: dict
        max_attempts: int

    @classmethod
    def queue(cls, province: str, trigger_event_id: str, dossier_id: UUID, dossier_code: str, recipient: str,
              channel: str, template_id: str, template_version: int, language: str, variables: dict,
              max_attempts: int) -> "Message":
        if not trigger_event_id or len(trigger_event_id) > 100:
            raise InvalidArgument.single("trigger_event_id", "is required: at most 100 characters")
        if not recipient or len(recipient) > 100:
            raise InvalidArgument.single("recipient", "is required: at most 100 characters")
        if channel not in CHANNELS:
            raise InvalidArgument.single("channel", f"must be one of {CHANNELS}")
        return cls(id=cls.id_for(province, trigger_event_id, recipient, channel),
                   trigger_event_id=trigger_event_id, dossier_id=dossier_id, dossier_code=dossier_code,
                   recipient=recipient, channel=channel, template_id=template_id,
                   template_version=template_version, language=language, variables=variables,
                   max_attempts=max_attempts)

    @event(Queued)
    def __init__(self, id: UUID, trigger_event_id: str, dossier_id: UUID, dossier_code: str, recipient: str,
                 channel: str, template_id: str, template_version: int, language: str, variables: dict,
                 max_attempts: int) -> None:
        self.trigger_event_id = trigger_event_id
        self.dossier_id = dossier_id
        self.dossier_code = dossier_code
        self.recipient = recipient
        self.channel = channel
        self.template_id = template_id
        self.template_version = template_version
        self.language = language
        self.variables = variables
        self.max_attempts = max_attempts
        self.status = QUEUED
        self.round = 0
        self.attempts = 0  # failed attempts so far
        self.next_attempt_at: datetime | None = None  # None: now
        self.provider_message_id = ""
        self.sent_at: datetime | None = None
        self.delivered_at: datetime | None = None
        self.failure_reason = ""

    # -- reading ----------------------------------------------------------------------------------
    @property
    def reference(self) -> str:
        """What the provider deduplicates on for the current send (the client reference of this round)."""
        return f"{self.id}.{self.round}"

    @staticmethod
    def parse_reference(reference: str) -> tuple[UUID, int]:
        try:
            message_id, round_ = reference.rsplit(".", 1)
            return UUID(message_id), int(round_)
        except ValueError:
            raise InvalidArgument.single("reference", f"is not a message reference: {reference[:60]!r}") from None

    def due(self, now: datetime) -> bool:
        return self.status in (QUEUED, RETRYING) and (self.next_attempt_at is None or self.next_attempt_at <= now)

    # -- sending ----------------------------------------------------------------------------------
    def record_sent(self, reference: str, provider_message_id: str, at: datetime) -> bool:
        """The provider accepted the send under `reference`; False when already known (or no longer news)."""
        _, round_ = self.parse_reference(reference)
        if self.status in FINAL or round_ != self.round or self.status == SENT:
            return False
        self._sent(reference=reference, provider_message_id=provider_message_id[:100], sent_at=at)
        return True

    @event("Sent")
    def _sent(self, reference: str, provider_message_id: str, sent_at: datetime) -> None:
        self.status = SENT
        self.provider_message_id = provider_message_id
        self.sent_at = sent_at

    def record_send_failure(self, reason: str, permanent: bool, now: datetime, policy: RetryPolicy,
                            retry_after: timedelta | None = None) -> bool:
        """A send the provider did not accept (or whose answer was lost): retry the same reference later,
        or give up. False when the message is no longer sending."""
        if self.status not in (QUEUED, RETRYING):
            return False
        self._failed(reason, permanent, now, policy, retry_after, new_round=False)
        return True

    def record_receipt(self, reference: str, provider_message_id: str, outcome: str, reason: str,
                       at: datetime, now: datetime, policy: RetryPolicy) -> bool:
        """A provider's delivery receipt (`at`: when the provider says it happened); False when it
        changes nothing (told twice, late, or for an earlier send). A retry is scheduled from the
        platform's clock (`now`), not the provider's."""
        if outcome not in RECEIPTS:
            raise InvalidArgument.single("status", f"must be one of {RECEIPTS}")
        _, round_ = self.parse_reference(reference)
        if self.status in FINAL or round_ != self.round:
            return False
        if outcome == DELIVERED_RECEIPT:
            self._delivered(reference=reference, provider_message_id=provider_message_id[:100], delivered_at=at)
        else:
            self._failed(reason, outcome == PERMANENT_RECEIPT, now, policy, None, new_round=True)
        return True

    def _failed(self, reason: str, permanent: bool, now: datetime, policy: RetryPolicy,
                retry_after: timedelta | None, new_round: bool) -> None:
        attempt = self.attempts + 1
        reason = (reason or "unknown")[:MAX_REASON]
        if permanent:
            self._failed_permanently(reference=self.reference, attempt=attempt, reason=reason)
        elif attempt >= self.max_attempts:
            self._failed_permanently(reference=self.reference, attempt=attempt,
                                     reason=f"gave up after {attempt} attempts: {reason}"[:MAX_REASON])
        else:
            wait = max(policy.delay(attempt), retry_after or timedelta(0))
            self._failed_temporarily(reference=self.reference, attempt=attempt, reason=reason,
                                     retry_at=now + wait, new_round=new_round)

    @event("Delivered")
    def _delivered(self, reference: str, provider_message_id: str, delivered_at: datetime) -> None:
        self.status = DELIVERED
        self.provider_message_id = provider_message_id or self.provider_message_id
        self.delivered_at = delivered_at

    @event("FailedTemporarily")
    def _failed_temporarily(self, reference: str, attempt: int, reason: str, retry_at: datetime,
                            new_round: bool) -> None:
        self.status = RETRYING
        self.attempts = attempt
        self.failure_reason = reason
        self.next_attempt_at = retry_at
        if new_round:
            self.round += 1
            self.provider_message_id = ""

    @event("FailedPermanently")
    def _failed_permanently(self, reference: str, attempt: int, reason: str) -> None:
        self.status = FAILED
        self.attempts = attempt
        self.failure_reason = reason


class Preferences(MotcuaAggregate):
    """A recipient's opted-out channels (legally required notices are sent all the same)."""

    @staticmethod
    def id_for(province: str, recipient: str) -> UUID:
        return deterministic_id(province, "notification-preferences", recipient)

    @event("Started")
    def __init__(self, id: UUID, recipient: str) -> None:
        self.recipient = recipient
        self.opted_out: set[str] = set()

    def opt_out(self, channel: str) -> bool:
        if channel not in CHANNELS:
            raise InvalidArgument.single("channel", f"must be one of {CHANNELS}")
        if channel in self.opted_out:
            return False
        self._opted_out(channel=channel)
        return True

    @event("OptedOut")
    def _opted_out(self, channel: str) -> None:
        self.opted_out.add(channel)

    def opt_in(self, channel: str) -> bool:
        if channel not in CHANNELS:
            raise InvalidArgument.single("channel", f"must be one of {CHANNELS}")
        if channel not in self.opted_out:
            return False
        self._opted_in(channel=channel)
        return True

    @event("OptedIn")
    def _opted_in(self, channel: str) -> None:
        self.opted_out.discard(channel)
