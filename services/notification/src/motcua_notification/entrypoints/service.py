"""notification's nameko worker: follows intake's, workflow's and payment's published events (push
wakes, pull completes) and its own (a message failed for good tries the next channel), sends the
messages that are due (the scheduler: the platform clock decides what is due, so retries follow it),
and serves notification's log."""
from __future__ import annotations

from nameko.rpc import RpcProxy, rpc
from nameko.timer import timer

from motcua_common.runtime.nameko_deps import (ALL_EVENTS, PULL_TIMEOUT_SECONDS, AppAndFollowers, AuditEndpoints, Built,
                                               ConsumerHealth, Every, bounded, published_event_handler)

UPSTREAMS = ("intake", "workflow", "payment")


class _Parts(AppAndFollowers):
    def __init__(self, app, followers, channels, send_every) -> None:  # type: ignore[no-untyped-def]
        super().__init__(app, followers)
        self.channels = channels
        self.send_every = send_every


def _parts(settings):  # type: ignore[no-untyped-def]
    from motcua_notification.bootstrap import bootstrap, channels, followers

    app = bootstrap(settings)
    return _Parts(app, followers(app, settings), channels(settings), Every(settings.notification_send_interval_seconds))


class NotificationService(AuditEndpoints, ConsumerHealth):
    name = "notification"
    parts = Built(_parts)
    intake = RpcProxy("intake")
    workflow = RpcProxy("workflow")
    payment = RpcProxy("payment")

    @property
    def audited_app(self):  # type: ignore[no-untyped-def]
        return self.parts.app

    def _read_page(self, upstream: str):  # type: ignore[no-untyped-def]
        if upstream == self.name:
            return self.parts.app.read_notifications
        return bounded(getattr(self, upstream).read_notifications, PULL_TIMEOUT_SECONDS)

    @published_event_handler("intake", ALL_EVENTS)
    def on_intake_event(self, notification: dict) -> None:
        self.parts.followers["intake"].on_push(notification, read_page=self._read_page("intake"))

    @published_event_handler("workflow", ALL_EVENTS)
    def on_workflow_event(self, notification: dict) -> None:
        self.parts.followers["workflow"].on_push(notification, read_page=self._read_page("workflow"))

    @published_event_handler("payment", ALL_EVENTS)
    def on_payment_event(self, notification: dict) -> None:
        self.parts.followers["payment"].on_push(notification, read_page=self._read_page("payment"))

    @published_event_handler("notification", ALL_EVENTS)
    def on_own_event(self, notification: dict) -> None:
        self.parts.followers["notification"].on_push(notification, read_page=self._read_page("notification"))

    @timer(interval=2.0, eager=True)
    def poll_upstreams(self) -> None:
        for upstream, follower in self.parts.followers.items():
            follower.catch_up(read_page=self._read_page(upstream))

    @timer(interval=0.5, eager=True)
    def send_due(self) -> None:
        """The scheduler: one attempt for each message due by the platform clock."""
        from motcua_common.events.context import Actor

        from motcua_notification.adapters.contacts import IntakeContacts

        if not self.parts.send_every.due():
            return
        contacts = IntakeContacts(bounded(self.intake.applicant_contact, PULL_TIMEOUT_SECONDS))
        self.parts.app.send_due(self.parts.channels, contacts, Actor.system("notification.scheduler"))

    @rpc
    def read_notifications(self, start: int, limit: int, with_audit: bool = False) -> list[dict]:
        """Published events from `start` (motcua_common.events.published); `with_audit` adds the stored events (reporting)."""
        return self.parts.app.read_notifications(start, limit, with_audit)

    @rpc
    def tracked_position(self, upstream: str) -> int:
        follower = self.parts.followers.get(upstream)
        return follower.position() if follower is not None else 0
