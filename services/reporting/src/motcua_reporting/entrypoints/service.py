"""reporting's nameko worker: follows every service's events into dossier histories (push wakes,
pull completes), serves reporting's own log, signs its checkpoints."""
from __future__ import annotations

from nameko.events import event_handler
from nameko.rpc import RpcProxy, rpc
from nameko.timer import timer

from motcua_common.runtime.nameko_deps import (ALL_EVENTS, PULL_TIMEOUT_SECONDS, AppAndFollowers, AuditEndpoints, Built,
                                      ConsumerHealth, bounded)


def _app_and_followers(settings):  # type: ignore[no-untyped-def]
    from motcua_reporting.bootstrap import bootstrap, followers

    app = bootstrap(settings)
    return AppAndFollowers(app, followers(app, settings))


class ReportingService(AuditEndpoints, ConsumerHealth):
    name = "reporting"
    parts = Built(_app_and_followers)
    intake = RpcProxy("intake")
    workflow = RpcProxy("workflow")

    @property
    def audited_app(self):  # type: ignore[no-untyped-def]
        return self.parts.app

    def _read_page(self, upstream: str):  # type: ignore[no-untyped-def]
        if upstream == self.name:
            return self.parts.app.read_notifications
        return bounded(getattr(self, upstream).read_notifications, PULL_TIMEOUT_SECONDS)

    @event_handler("intake", ALL_EVENTS)
    def on_intake_event(self, notification: dict) -> None:
        self.parts.followers["intake"].on_push(notification, read_page=self._read_page("intake"))

    @event_handler("workflow", ALL_EVENTS)
    def on_workflow_event(self, notification: dict) -> None:
        self.parts.followers["workflow"].on_push(notification, read_page=self._read_page("workflow"))

    @event_handler("reporting", ALL_EVENTS)
    def on_own_event(self, notification: dict) -> None:
        self.parts.followers["reporting"].on_push(notification, read_page=self._read_page("reporting"))

    @timer(interval=2.0, eager=True)
    def poll_upstreams(self) -> None:
        for upstream, follower in self.parts.followers.items():
            follower.catch_up(read_page=self._read_page(upstream))

    @rpc
    def read_notifications(self, start: int, limit: int) -> list[dict]:
        return self.parts.app.read_notifications(start, limit)

    @rpc
    def tracked_position(self, upstream: str) -> int:
        follower = self.parts.followers.get(upstream)
        return follower.position() if follower else 0
