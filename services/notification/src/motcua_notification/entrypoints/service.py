"""notification's nameko worker: follows intake's, workflow's and payment's published events (push
wakes, pull completes) and its own (a message failed for good tries the next channel), sends the
messages that are due (the scheduler: the platform clock decides what is due, so retries follow it),
and serves notification's log."""
from __future__ import annotations

from nameko.rpc import RpcProxy
from nameko.timer import timer

from motcua_common.runtime.nameko_deps import (ALL_EVENTS, PULL_TIMEOUT_SECONDS, AppAndFollowers, AuditEndpoints,
                                               Built, ConsumerHealth, Every, FollowsUpstreams, bounded,
                                               published_event_handler)

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


class NotificationService(FollowsUpstreams, AuditEndpoints, ConsumerHealth):
    name = "notification"
    parts = Built(_parts)
    intake = RpcProxy("intake")
    workflow = RpcProxy("workflow")
    payment = RpcProxy("payment")

    @property
    def audited_app(self):  # type: ignore[no-untyped-def]
        return self.parts.app

    @published_event_handler("intake", ALL_EVENTS)
    def on_intake_event(self, notification: dict) -> None:
        self._on_push("intake", notification)

    @published_event_handler("workflow", ALL_EVENTS)
    def on_workflow_event(self, notification: dict) -> None:
        self._on_push("workflow", notification)

    @published_event_handler("payment", ALL_EVENTS)
    def on_payment_event(self, notification: dict) -> None:
        self._on_push("payment", notification)

    @published_event_handler("notification", ALL_EVENTS)
    def on_own_event(self, notification: dict) -> None:
        self._on_push("notification", notification)

    @timer(interval=0.5, eager=True)
    def send_due(self) -> None:
        """The scheduler: one attempt for each message due by the platform clock."""
        from motcua_common.events.context import Actor

        from motcua_notification.adapters.contacts import IntakeContacts

        if not self.parts.send_every.due():
            return
        contacts = IntakeContacts(bounded(self.intake.applicant_contact, PULL_TIMEOUT_SECONDS))
        self.parts.app.send_due(self.parts.channels, contacts, Actor.system("notification.scheduler"))
