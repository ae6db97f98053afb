"""workflow's nameko worker: applies intake's and payment's events (push wakes, pull completes) and
serves workflow's log."""
from __future__ import annotations

from datetime import timedelta

from nameko.rpc import RpcProxy
from nameko.timer import timer

from motcua_common.observability.logs import get_logger
from motcua_common.runtime.nameko_deps import (ALL_EVENTS, AppAndFollowers, AuditEndpoints, Built, ConsumerHealth,
                                               Every, FollowsUpstreams, published_event_handler)

log = get_logger()


def workflow_parts(app, followers: dict, overdue_scan_seconds: float = 0.0,  # type: ignore[no-untyped-def]
                   due_soon_working_hours: float = 8.0) -> AppAndFollowers:
    """The application, its followers and the schedulers' pacing (one place, for the worker and its tests)."""
    parts = AppAndFollowers(app, followers)
    parts.overdue_scan = Every(overdue_scan_seconds)  # type: ignore[attr-defined]
    parts.due_soon_scan = Every(overdue_scan_seconds)  # type: ignore[attr-defined]
    parts.due_soon_window = timedelta(hours=due_soon_working_hours)  # type: ignore[attr-defined]
    return parts


def _app_and_follower(settings):  # type: ignore[no-untyped-def]
    from motcua_workflow.bootstrap import bootstrap, intake_follower, payment_follower

    app = bootstrap(settings)
    return workflow_parts(app, {"intake": intake_follower(app, settings), "payment": payment_follower(app, settings)},
                          settings.overdue_scan_seconds,
                          settings.due_soon_working_hours)


class WorkflowService(FollowsUpstreams, AuditEndpoints, ConsumerHealth):
    name = "workflow"
    parts = Built(_app_and_follower)
    intake = RpcProxy("intake")
    payment = RpcProxy("payment")

    @property
    def audited_app(self):  # type: ignore[no-untyped-def]
        return self.parts.app

    @published_event_handler("intake", ALL_EVENTS)
    def on_intake_event(self, notification: dict) -> None:
        self._on_push("intake", notification)

    @published_event_handler("payment", ALL_EVENTS)
    def on_payment_event(self, notification: dict) -> None:
        self._on_push("payment", notification)

    @timer(interval=1.0, eager=True)
    def mark_overdue_cases(self) -> None:
        """Due times pass without any event: a scheduler records them every MOTCUA_OVERDUE_SCAN_SECONDS
        (its state lives in the store, so it survives restarts, and a case is marked once however often it runs)."""
        if not self.parts.overdue_scan.due():
            return
        marked = self.parts.app.mark_overdue_cases()
        if marked:
            log.info("cases_marked_overdue", count=marked)

    @timer(interval=1.0, eager=True)
    def mark_due_soon_cases(self) -> None:
        """Due-soon events: once per due time, when less than MOTCUA_DUE_SOON_WORKING_HOURS are left."""
        if not self.parts.due_soon_scan.due():
            return
        marked = self.parts.app.mark_due_soon_cases(self.parts.due_soon_window)
        if marked:
            log.info("cases_marked_due_soon", count=marked)
