"""nameko DependencyProviders and entrypoint helpers shared by every service's worker."""
from __future__ import annotations

import time
from datetime import timedelta
from typing import Any, Callable

from nameko.events import EventHandler
from nameko.extensions import DependencyProvider
from nameko.rpc import rpc
from nameko.timer import timer

from motcua_common.config.settings import Settings
from motcua_common.events.published import wire_from_amqp, wire_position
from motcua_common.audit.log import audit_signer, audit_trust


class Built(DependencyProvider):
    """Builds one object per worker process with `factory(settings)` (e.g. the Application)."""

    def __init__(self, factory: Callable[[Settings], Any]) -> None:
        self.factory = factory
        self.instance: Any = None

    def setup(self) -> None:
        self.instance = self.factory(Settings.from_env())

    def stop(self) -> None:
        close = getattr(self.instance, "close", None)
        if callable(close):
            close()

    def get_dependency(self, worker_ctx: Any) -> Any:
        return self.instance


class AppAndFollowers:
    """What a worker builds once per process: its application and a follower per upstream it consumes."""

    def __init__(self, app: Any, followers: dict[str, Any]) -> None:
        self.app = app
        self.followers = followers

    def close(self) -> None:
        self.app.close()


ALL_EVENTS = "#"  # a topic binding: every event of an upstream, so its consumer sees every position


class PublishedEventHandler(EventHandler):
    """A nameko event handler for published events (CloudEvents binary mode: attributes in the
    AMQP headers, the protobuf message as the body): the method receives their wire form
    (motcua_common.events.published.published_from_wire reads it)."""

    def handle_message(self, body: Any, message: Any) -> None:
        super().handle_message(wire_from_amqp(message.headers or {}, body), message)


published_event_handler = PublishedEventHandler.decorator

#: nameko configuration for workers that receive published events (the body stays bytes)
PUBLISHED_EVENTS_CONFIG = {
    "SERIALIZERS": {"protobuf": {"encoder": "motcua_common.events.published.raw_bytes",
                                 "decoder": "motcua_common.events.published.raw_bytes",
                                 "content_type": "application/protobuf", "content_encoding": "binary"}},
    "ACCEPT": ["json", "protobuf"],
}
#: one pull attempt; a page of 500 is answered in milliseconds, so a longer wait means the answer is lost
PULL_TIMEOUT_SECONDS = 2.0
PULL_ATTEMPTS = 2


def bounded(call: Callable[..., Any], seconds: float, attempts: int = PULL_ATTEMPTS) -> Callable[..., Any]:
    """An RPC call that gives up after `seconds` and asks again, `attempts` times in all.

    nameko RPC waits forever for a reply, a request sent before the target's queue
    exists is dropped, and a reply dies with the worker that was preparing it; the
    retry reaches a live worker. Pulls are reads, so asking twice is harmless.
    """
    import eventlet

    def timed(*args: Any, **kwargs: Any) -> Any:
        for attempt in range(1, attempts + 1):
            try:
                with eventlet.Timeout(seconds):
                    return call(*args, **kwargs)
            except eventlet.Timeout:
                if attempt == attempts:
                    raise
        raise AssertionError("unreachable")

    return timed


class ConsumerHealth:
    """Mixed into a worker that follows upstreams (its `parts` is an AppAndFollowers): what
    `python -m motcua_common.edge.healthcheck --worker <service>` asks for."""

    @rpc
    def health(self) -> dict:
        consumers = {name: follower.health() for name, follower in self.parts.followers.items()}  # type: ignore[attr-defined]
        stuck = any(c["status"] == "stuck" for c in consumers.values())
        return {"status": "NOT_SERVING" if stuck else "SERVING", "consumers": consumers}


class FollowsUpstreams:
    """Mixed into a worker that follows other services' logs (its `parts` is an AppAndFollowers keyed
    by upstream, and it has an RpcProxy attribute named as each upstream): a push wakes the pull, a
    timer completes it, and the worker serves its own log to its consumers. Each worker still declares
    its `published_event_handler`s (which upstreams it hears from is part of its contract) and
    forwards them to `_on_push`."""

    #: True: a push only says up to where to pull (the consumer needs what a push lacks, e.g. the
    #: audit record); False: the pushed event is applied when it is next
    pull_on_push = False

    def _read_page(self, upstream: str) -> Any:
        if upstream == self.name:  # type: ignore[attr-defined]
            return self.parts.app.read_notifications  # type: ignore[attr-defined]
        return bounded(getattr(self, upstream).read_notifications, PULL_TIMEOUT_SECONDS)

    def _on_push(self, upstream: str, notification: dict) -> None:
        follower = self.parts.followers[upstream]  # type: ignore[attr-defined]
        if self.pull_on_push:
            follower.wake(wire_position(notification), read_page=self._read_page(upstream))
        else:
            follower.on_push(notification, read_page=self._read_page(upstream))

    @timer(interval=2.0, eager=True)
    def poll_upstreams(self) -> None:
        for upstream, follower in self.parts.followers.items():  # type: ignore[attr-defined]
            follower.catch_up(read_page=self._read_page(upstream))

    @rpc
    def read_notifications(self, start: int, limit: int, with_audit: bool = False) -> list[dict]:
        """Published events from `start` (motcua_common.events.published); `with_audit` adds the stored
        events (reporting)."""
        return self.parts.app.read_notifications(start, limit, with_audit)  # type: ignore[attr-defined]

    @rpc
    def tracked_position(self, upstream: str) -> int:
        follower = self.parts.followers.get(upstream)  # type: ignore[attr-defined]
        return follower.position() if follower is not None else 0


class _AuditKeys:
    def __init__(self, settings: Settings) -> None:
        self.signer = audit_signer(settings)
        self.trust = audit_trust(settings)
        self.checkpoint_events = settings.checkpoint_events
        self.checkpoint_age = timedelta(seconds=settings.checkpoint_seconds)


class Every:
    """Lets work run at most once per `seconds` (monotonic time): a nameko timer's interval is
    fixed when its class is defined, so timers tick often and a setting decides how often work runs."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._last = float("-inf")

    def due(self) -> bool:
        now = time.monotonic()
        if now - self._last < self.seconds:
            return False
        self._last = now
        return True


class AuditEndpoints:
    """Mixed into every service's nameko class: the service signs checkpoints of its own log and
    verifies its own store for reporting's audit calls (verification never reads a copy)."""

    audit_keys = Built(_AuditKeys)

    @property
    def audited_app(self) -> Any:
        raise NotImplementedError

    @rpc
    def verify_history(self, originator_ids: list[str], positions: list[int]) -> dict:
        from uuid import UUID

        return self.audited_app.verify_history(self.audit_keys.trust, [UUID(i) for i in originator_ids], positions)

    @timer(interval=1.0)
    def sign_checkpoint(self) -> None:
        """Every MOTCUA_CHECKPOINT_EVENTS events, or MOTCUA_CHECKPOINT_SECONDS after the last one."""
        self.audited_app.sign_checkpoint(self.audit_keys.signer, min_events=self.audit_keys.checkpoint_events,
                                         max_age=self.audit_keys.checkpoint_age)

    @rpc
    def head_position(self) -> int:
        """The last position of this service's log (for consumers and rebuilds that pull)."""
        return self.audited_app.head_position()

    @rpc
    def sign_checkpoint_now(self) -> int:
        """For operators and tests: sign the head now; returns the signed position (0: nothing new)."""
        checkpoint = self.audited_app.sign_checkpoint(self.audit_keys.signer)
        return checkpoint.position if checkpoint else 0
