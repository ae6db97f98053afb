"""evaluation's nameko worker: keeps the published events of intake, workflow and payment that the
scorecard folds (push wakes, pull completes) and serves evaluation's log."""
from __future__ import annotations

from nameko.rpc import RpcProxy, rpc
from nameko.timer import timer

from motcua_common.events.published import wire_position
from motcua_common.runtime.nameko_deps import (ALL_EVENTS, PULL_TIMEOUT_SECONDS, AppAndFollowers, AuditEndpoints, Built,
                                               ConsumerHealth, bounded, published_event_handler)


def _app_and_followers(settings):  # type: ignore[no-untyped-def]
    from motcua_evaluation.bootstrap import bootstrap, followers

    app = bootstrap(settings)
    return AppAndFollowers(app, followers(app, settings))


class EvaluationService(AuditEndpoints, ConsumerHealth):
    name = "evaluation"
    parts = Built(_app_and_followers)
    intake = RpcProxy("intake")
    workflow = RpcProxy("workflow")
    payment = RpcProxy("payment")

    @property
    def audited_app(self):  # type: ignore[no-untyped-def]
        return self.parts.app

    def _read_page(self, upstream: str):  # type: ignore[no-untyped-def]
        return bounded(getattr(self, upstream).read_notifications, PULL_TIMEOUT_SECONDS)

    def _on_push(self, upstream: str, notification: dict) -> None:
        self.parts.followers[upstream].wake(wire_position(notification), read_page=self._read_page(upstream))

    @published_event_handler("intake", ALL_EVENTS)
    def on_intake_event(self, notification: dict) -> None:
        self._on_push("intake", notification)

    @published_event_handler("workflow", ALL_EVENTS)
    def on_workflow_event(self, notification: dict) -> None:
        self._on_push("workflow", notification)

    @published_event_handler("payment", ALL_EVENTS)
    def on_payment_event(self, notification: dict) -> None:
        self._on_push("payment", notification)

    @timer(interval=2.0, eager=True)
    def poll_upstreams(self) -> None:
        for upstream, follower in self.parts.followers.items():
            follower.catch_up(read_page=self._read_page(upstream))

    @rpc
    def read_notifications(self, start: int, limit: int, with_audit: bool = False) -> list[dict]:
        """Published events from `start` (none yet: ratings are published once the relay exists)."""
        return self.parts.app.read_notifications(start, limit, with_audit)

    @rpc
    def tracked_position(self, upstream: str) -> int:
        follower = self.parts.followers.get(upstream)
        return follower.position() if follower else 0
