"""reporting's nameko worker: follows every service's events into dossier histories (push wakes,
pull completes), serves reporting's own log, signs its checkpoints."""
from __future__ import annotations

from nameko.rpc import RpcProxy

from motcua_common.runtime.nameko_deps import (ALL_EVENTS, PULL_TIMEOUT_SECONDS, AppAndFollowers, AuditEndpoints,
                                               Built, ConsumerHealth, FollowsUpstreams, bounded,
                                               published_event_handler)


def _app_and_followers(settings):  # type: ignore[no-untyped-def]
    from motcua_reporting.bootstrap import bootstrap, followers

    app = bootstrap(settings)
    return AppAndFollowers(app, followers(app, settings))


class ReportingService(FollowsUpstreams, AuditEndpoints, ConsumerHealth):
    name = "reporting"
    parts = Built(_app_and_followers)
    intake = RpcProxy("intake")
    workflow = RpcProxy("workflow")
    payment = RpcProxy("payment")
    notification = RpcProxy("notification")
    evaluation = RpcProxy("evaluation")

    @property
    def audited_app(self):  # type: ignore[no-untyped-def]
        return self.parts.app

    def _read_page(self, upstream: str):  # type: ignore[no-untyped-def]
        """Pages with each event's audit record (the stored event), which the history keeps."""
        if upstream == self.name:
            read = self.parts.app.read_notifications
        else:
            read = bounded(getattr(self, upstream).read_notifications, PULL_TIMEOUT_SECONDS)
        return lambda start, limit: read(start, limit, True)

    # A push has no audit record: it only wakes the pull up to its position (never waiting for the
    # in-order lock: whoever holds it pulls up to the position before letting go).
    pull_on_push = True

    @published_event_handler("intake", ALL_EVENTS)
    def on_intake_event(self, notification: dict) -> None:
        self._on_push("intake", notification)

    @published_event_handler("workflow", ALL_EVENTS)
    def on_workflow_event(self, notification: dict) -> None:
        self._on_push("workflow", notification)

    @published_event_handler("reporting", ALL_EVENTS)
    def on_own_event(self, notification: dict) -> None:
        self._on_push("reporting", notification)

    @published_event_handler("notification", ALL_EVENTS)
    def on_notification_event(self, notification: dict) -> None:
        self._on_push("notification", notification)

    @published_event_handler("evaluation", ALL_EVENTS)
    def on_evaluation_event(self, notification: dict) -> None:
        self._on_push("evaluation", notification)

    @published_event_handler("payment", ALL_EVENTS)
    def on_payment_event(self, notification: dict) -> None:
        self._on_push("payment", notification)
