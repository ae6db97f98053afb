"""Notification's use cases: set a recipient's preferences, queue a message, send it through its
channel, record the provider's delivery receipt, read it. No gRPC edge, worker or relay yet (see the
README)."""
from __future__ import annotations

from datetime import date
from typing import Any, Callable, Mapping
from uuid import UUID

from eventsourcing.persistence import IntegrityError

from motcua_common.audit.access import AccessDenied, DossierRead
from motcua_common.audit.log import CHAIN
from motcua_common.config.clock import Clock
from motcua_common.errors import Conflict, InvalidArgument, NotFound, RuleViolated
from motcua_common.events.context import Actor, CommandContext, command_context, concerning
from motcua_common.events.idempotency import IdempotentRequest
from motcua_common.events.ids import platform_id
from motcua_common.events.store import MotcuaApplication, ReadModel
from motcua_common.observability.logs import get_logger
from motcua_common.observability.telemetry import meter

from motcua_notification.domain.message import FAILED, Message, Preferences, RetryPolicy
from motcua_notification.domain.templates import CHANNELS, DEFAULT_LANGUAGE, TemplateBook
from motcua_notification.ports import Channel, Contacts, Outgoing, Receipt, SendFailed

ATTEMPTS = 3  # a save that lost a race (a receipt saved first) is decided again on the new state


def _storable(value: Any) -> bool:
    """Variables are stored in the Queued event: only values the event store keeps as they are."""
    if isinstance(value, list):
        return all(isinstance(item, str) for item in value)
    return isinstance(value, (str, int, date)) and not isinstance(value, bool)


def message_view(m: Message) -> dict:
    return {
        "id": m.id, "reference": m.reference, "trigger_event_id": m.trigger_event_id, "dossier_id": m.dossier_id,
        "dossier_code": m.dossier_code, "recipient": m.recipient, "channel": m.channel,
        "template_id": m.template_id, "template_version": m.template_version, "language": m.language,
        "status": m.status, "attempts": m.attempts, "next_attempt_at": m.next_attempt_at,
        "provider_message_id": m.provider_message_id, "sent_at": m.sent_at, "delivered_at": m.delivered_at,
        "failure_reason": m.failure_reason,
    }


log = get_logger()
_messages = meter().create_counter("motcua.notification.messages",
                                   description="messages recorded in each state, by channel and status")
_retries = meter().create_counter("motcua.notification.retries",
                                  description="failed attempts a retry was scheduled for, by channel")
_give_ups = meter().create_counter("motcua.notification.give_ups",
                                   description="messages that failed for good, by channel and why")
_delivery_seconds = meter().create_histogram("motcua.notification.delivery_latency", unit="s",
                                             description="from queued to the provider's delivered receipt")
#: the status each stored Message event puts the message in
STATUS_OF = {"Queued": "queued", "Sent": "sent", "Delivered": "delivered", "FailedTemporarily": "retrying",
             "FailedPermanently": "failed"}


def _give_up_reason(reason: str) -> str:
    """attempts (every retry failed), no_contact (the recipient gave no address for the channel: the
    next channel is tried; not a fault) or permanent (the provider refused it)."""
    if reason.startswith("gave up"):
        return "attempts"
    return "no_contact" if reason.endswith("contact on file") else "permanent"


def _count(message: Message, events: list) -> None:
    """The notification metrics of one message's events, once they are stored."""
    labels = {"channel": message.channel}
    for e in events:
        status = STATUS_OF.get(type(e).__name__)
        if status is None:
            continue
        _messages.add(1, {**labels, "status": status})
        if status == "retrying":
            _retries.add(1, labels)
        elif status == "failed":
            _give_ups.add(1, {**labels, "reason": _give_up_reason(e.reason)})
        elif status == "delivered":
            _delivery_seconds.record(max(0.0, (e.delivered_at - message.created_on).total_seconds()), labels)


class MessageIndex(ReadModel):
    """Message summaries kept in the messages' transaction, and the dossiers learnt from intake
    (adapters.tables.PostgresMessageSummaries)."""

    def due(self, now: Any, limit: int) -> list[UUID]: ...
    def of_dossier(self, dossier_id: UUID) -> list[dict]: ...
    def dossier(self, dossier_id: UUID | None = None, dossier_code: str = "") -> dict | None: ...


class NotificationApplication(MotcuaApplication):
    chain = CHAIN
    reads = DossierRead
    denials = AccessDenied
    name = "notification"

    def __init__(self, env: dict[str, str], *, province: str, clock: Clock, templates: TemplateBook,
                 retry: RetryPolicy | None = None, index: MessageIndex | None = None,
                 channel_order: tuple[str, ...] = ()) -> None:
        self.read_model = index  # type: ignore[assignment]  # kept in the events' transaction
        self.index = index
        self.channel_order = channel_order  # the order channels are tried in after a permanent failure
        super().__init__(env=env)
        self.province = province
        self.clock = clock
        self.templates = templates
        self.retry = retry or RetryPolicy()

    def _context(self, actor: Actor) -> CommandContext:
        return CommandContext(actor=actor, province=self.province, clock=self.clock)

    def record(self, *aggregates: Any, **kwargs: Any) -> list:
        """Save (MotcuaApplication.record), then count what was saved in the notification metrics."""
        counted = [a for a in aggregates if isinstance(a, Message) and a.pending_events]
        snapshot = [(a, list(a.pending_events)) for a in counted]
        recordings = super().record(*aggregates, **kwargs)
        for aggregate, events in snapshot:
            _count(aggregate, events)
        return recordings

    # -- reading ----------------------------------------------------------------------------------
    def get_message(self, message_id: UUID) -> dict:
        return message_view(self.get_existing(message_id, "message_id", "message"))

    def opted_out(self, recipient: str) -> set[str]:
        prefs = self.get_or_none(Preferences.id_for(self.province, recipient))
        return set() if prefs is None else set(prefs.opted_out)

    # -- preferences ------------------------------------------------------------------------------
    def opt_out(self, recipient: str, channel: str, actor: Actor) -> set[str]:
        return self._prefs(recipient, actor, lambda p: p.opt_out(channel))

    def opt_in(self, recipient: str, channel: str, actor: Actor) -> set[str]:
        return self._prefs(recipient, actor, lambda p: p.opt_in(channel))

    def _prefs(self, recipient: str, actor: Actor, decide: Callable[[Preferences], Any]) -> set[str]:
        for _ in range(ATTEMPTS):
            prefs_id = Preferences.id_for(self.province, recipient)
            with command_context(self._context(actor)), concerning(platform_id(self.province)):
                prefs = self.get_or_none(prefs_id) or Preferences(id=prefs_id, recipient=recipient)
                decide(prefs)
            if not prefs.pending_events:
                return set(prefs.opted_out)
            try:
                self.record(prefs)
            except IntegrityError:
                continue
            return set(prefs.opted_out)
        raise Conflict("the preferences kept changing meanwhile: re-read them and retry")

    # -- queueing ---------------------------------------------------------------------------------
    def queue(self, trigger_event_id: str, dossier_id: UUID, dossier_code: str, recipient: str, channel: str,
              template_id: str, variables: Mapping[str, Any], actor: Actor,
              language: str = DEFAULT_LANGUAGE) -> dict:
        """The message for (trigger, recipient, channel): queued once (a repeat answers the first).
        Refused, with nothing stored, for an unknown template, one that does not render, or a channel
        the recipient opted out of (unless the notice is legally required)."""
        if channel not in CHANNELS:
            raise InvalidArgument.single("channel", f"must be one of {CHANNELS}")
        existing = self.get_or_none(Message.id_for(self.province, trigger_event_id, recipient, channel))
        if existing is not None:
            return message_view(existing)
        for name, value in variables.items():
            if not _storable(value):
                raise InvalidArgument.single(f"variables.{name}", "must be text, a whole number, a date or a list "
                                                                  "of text")
        template = self.templates.latest(template_id)
        rendered = self.templates.render(template_id, template.version, channel, variables, language)
        if channel in self.opted_out(recipient) and not template.legally_required:
            raise RuleViolated("RECIPIENT_OPTED_OUT", f"the recipient opted out of {channel} messages")
        with command_context(self._context(actor)), concerning(dossier_id, causation_id=trigger_event_id,
                                                               dossier_code=dossier_code):
            message = Message.queue(self.province, trigger_event_id, dossier_id, dossier_code, recipient, channel,
                                    template_id, template.version, rendered.language,
                                    {name: variables[name] for name in template.variables},
                                    self.retry.max_attempts)
        try:
            self.record(message)
        except IntegrityError:  # queued meanwhile by a concurrent delivery of the same event
            return self.get_message(message.id)
        return message_view(message)

    # -- sending ----------------------------------------------------------------------------------
    def send(self, message_id: UUID, channels: Mapping[str, Channel], contacts: Contacts, actor: Actor) -> dict:
        """One attempt to send a due message; a message not due (sent, ended, waiting to retry) is left as
        it is. The send carries the message's reference, so repeating it after a crash before the
        outcome was recorded gives the provider the same reference (it answers the first send)."""
        message = self.get_existing(message_id, "message_id", "message")
        now = self.clock.now()
        if not message.due(now):
            return message_view(message)
        reference = message.reference
        address = contacts.address(message.recipient, message.channel, dossier_id=message.dossier_id)
        if address is None:
            return self._change(message_id, actor, lambda m: m.record_send_failure(
                f"no {m.channel} contact on file", True, now, self.retry))
        rendered = self.templates.render(message.template_id, message.template_version, message.channel,
                                         message.variables, message.language)
        try:
            accepted = channels[message.channel].send(Outgoing(reference, address, rendered))
        except SendFailed as failed:
            return self._change(message_id, actor, lambda m: m.record_send_failure(
                failed.reason, failed.permanent, self.clock.now(), self.retry, failed.retry_after))
        return self._change(message_id, actor, lambda m: m.record_sent(
            reference, accepted.provider_message_id, self.clock.now()))

    def record_receipt(self, receipt: Receipt, actor: Actor) -> dict:
        """A verified delivery receipt: one effect however often, late or early it comes."""
        message_id, _ = Message.parse_reference(receipt.reference)
        if self.get_or_none(message_id) is None:
            raise NotFound("reference", f"no message has the reference {receipt.reference!r}")
        return self._change(message_id, actor, lambda m: m.record_receipt(
            receipt.reference, receipt.provider_message_id, receipt.outcome, receipt.reason, receipt.at,
            self.clock.now(), self.retry))

    def _change(self, message_id: UUID, actor: Actor, decide: Callable[[Message], Any]) -> dict:
        for _ in range(ATTEMPTS):
            message = self.get_existing(message_id, "message_id", "message")
            with command_context(self._context(actor)), concerning(message.dossier_id,
                                                                   dossier_code=message.dossier_code):
                decide(message)
            if not message.pending_events:
                return message_view(message)
            try:
                self.record(message)
            except IntegrityError:
                continue
            return message_view(message)
        raise Conflict("the message kept changing meanwhile: re-read it and retry")

    # -- serving (worker, edges) --------------------------------------------------------------------
    def prepare(self, trigger_event_id: str, dossier_id: UUID, dossier_code: str, recipient: str, channel: str,
                template_id: str, variables: Mapping[str, Any], existing: Callable[[UUID], Any] | None = None,
                language: str = DEFAULT_LANGUAGE, causation_id: str = "") -> Message | None:
        """The new message for (trigger, recipient, channel), not yet saved (a follower saves it with its
        tracking record); None when it was queued before. Refused like `queue`. The caller holds the
        command context (the follower's)."""
        if channel not in CHANNELS:
            raise InvalidArgument.single("channel", f"must be one of {CHANNELS}")
        message_id = Message.id_for(self.province, trigger_event_id, recipient, channel)
        if (existing or self.get_or_none)(message_id) is not None:
            return None
        for name, value in variables.items():
            if not _storable(value):
                raise InvalidArgument.single(f"variables.{name}", "must be text, a whole number, a date or a list "
                                                                  "of text")
        template = self.templates.latest(template_id)
        rendered = self.templates.render(template_id, template.version, channel, variables, language)
        if channel in self.opted_out(recipient) and not template.legally_required:
            raise RuleViolated("RECIPIENT_OPTED_OUT", f"the recipient opted out of {channel} messages")
        with concerning(dossier_id, causation_id=causation_id or trigger_event_id, dossier_code=dossier_code):
            return Message.queue(self.province, trigger_event_id, dossier_id, dossier_code, recipient, channel,
                                 template_id, template.version, rendered.language,
                                 {name: variables[name] for name in template.variables}, self.retry.max_attempts)

    def channels_for(self, template_id: str, recipient: str, wanted: tuple[str, ...]) -> list[str]:
        """Of the `wanted` channels, those the template can be sent on and the recipient did not opt out
        of (every one of them for a legally required notice)."""
        template = self.templates.latest(template_id)
        out = set() if template.legally_required else self.opted_out(recipient)
        return [c for c in wanted if c in template.channels and c not in out]

    def fallback_channel(self, message: Message, existing: Callable[[UUID], Any]) -> str | None:
        """After `message` failed for good: the next channel of `channel_order` the template has, the
        recipient allows and that carries no message of the same trigger yet; None: none is left."""
        if message.status != FAILED or message.channel not in self.channel_order:
            return None
        after = self.channel_order[self.channel_order.index(message.channel) + 1:]
        for channel in self.channels_for(message.template_id, message.recipient, after):
            if existing(Message.id_for(self.province, message.trigger_event_id, message.recipient, channel)) is None:
                return channel
        return None

    def due_messages(self, limit: int = 50) -> list[UUID]:
        if self.index is None:
            return []
        return self.index.due(self.clock.now(), limit)

    def send_due(self, channels: Mapping[str, Channel], contacts: Contacts, actor: Actor,
                 limit: int = 50) -> list[dict]:
        """One attempt for each message due now (the scheduler's tick); a message that cannot be sent
        now (its channel is not configured, its contact cannot be looked up) is left for the next tick."""
        results = []
        for message_id in self.due_messages(limit):
            message = self.get_or_none(message_id)
            if message is None or message.channel not in channels:
                continue
            try:
                results.append(self.send(message_id, channels, contacts, actor))
            except Exception:  # noqa: BLE001 - one message's trouble must not stop the others; retried next tick
                log.exception("message_send_failed", message_id=str(message_id), channel=message.channel)
        return results

    def messages_of(self, dossier_id: UUID) -> list[dict]:
        return [] if self.index is None else self.index.of_dossier(dossier_id)

    def dossier(self, dossier_id: UUID | None = None, dossier_code: str = "") -> dict | None:
        """What notification learnt of a dossier from intake (code, procedure, unit, applicant)."""
        return None if self.index is None else self.index.dossier(dossier_id=dossier_id, dossier_code=dossier_code)

    def preview(self, template_id: str, version: int, channel: str, variables: Mapping[str, Any],
                language: str = DEFAULT_LANGUAGE) -> dict:
        if channel not in CHANNELS:
            raise InvalidArgument.single("channel", f"must be one of {CHANNELS}")
        template = self.templates.get(template_id, version) if version else self.templates.latest(template_id)
        rendered = self.templates.render(template_id, template.version, channel, variables, language)
        return {"template_id": template_id, "version": template.version, "rendered": rendered}

    def rendered(self, message_id: UUID) -> Any:
        """A message's text as the in-app channel shows it (the email text of its template version)."""
        message = self.get_existing(message_id, "message_id", "message")
        return self.templates.render(message.template_id, message.template_version, "email", message.variables,
                                     message.language)

    def set_preferences(self, idempotency_key: str, recipient: str, opt_out: list[str], opt_in: list[str],
                        actor: Actor) -> set[str]:
        """Opt `recipient` out of and back into channels, once per key (a retry answers the preferences
        as they are; a key reused for other channels is refused)."""
        idempotent = IdempotentRequest(self, self.province, "SetPreferences", actor, idempotency_key,
                                       {"recipient": recipient, "opt_out": sorted(opt_out), "opt_in": sorted(opt_in)})
        if idempotent.answered:
            return self.opted_out(recipient)
        for _ in range(ATTEMPTS):
            prefs_id = Preferences.id_for(self.province, recipient)
            with command_context(self._context(actor)), concerning(platform_id(self.province)):
                prefs = self.get_or_none(prefs_id) or Preferences(id=prefs_id, recipient=recipient)
                for channel in opt_out:
                    prefs.opt_out(channel)
                for channel in opt_in:
                    prefs.opt_in(channel)
                record = idempotent.record(prefs.id, prefs.version)
            try:
                self.record(prefs, record)
            except IntegrityError:
                if self.get_or_none(idempotent.record_id) is not None:  # the same request, saved meanwhile
                    return self.opted_out(recipient)
                continue
            return set(prefs.opted_out)
        raise Conflict("the preferences kept changing meanwhile: re-read them and retry")
