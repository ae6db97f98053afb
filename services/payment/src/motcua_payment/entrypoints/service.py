"""payment's nameko worker: applies intake's events (push wakes, pull completes) and serves payment's log."""
from __future__ import annotations

from nameko.rpc import RpcProxy
from nameko.timer import timer

from motcua_common.runtime.nameko_deps import (ALL_EVENTS, AppAndFollowers, AuditEndpoints, Built, ConsumerHealth,
                                               FollowsUpstreams, published_event_handler)


def _app_and_follower(settings):  # type: ignore[no-untyped-def]
    from motcua_payment.bootstrap import bootstrap, intake_follower, workflow_follower

    from motcua_payment.scheduler import ReconciliationSchedule

    app = bootstrap(settings)
    parts = AppAndFollowers(app, {"intake": intake_follower(app, settings),
                                 "workflow": workflow_follower(app, settings)})
    parts.schedule = ReconciliationSchedule()  # type: ignore[attr-defined]
    return parts


class PaymentService(FollowsUpstreams, AuditEndpoints, ConsumerHealth):
    name = "payment"
    parts = Built(_app_and_follower)
    intake = RpcProxy("intake")
    workflow = RpcProxy("workflow")

    @property
    def audited_app(self):  # type: ignore[no-untyped-def]
        return self.parts.app

    @published_event_handler("intake", ALL_EVENTS)
    def on_intake_event(self, notification: dict) -> None:
        self._on_push("intake", notification)

    @published_event_handler("workflow", ALL_EVENTS)
    def on_workflow_event(self, notification: dict) -> None:
        self._on_push("workflow", notification)

    @timer(interval=5.0, eager=True)
    def sweep_and_reconcile(self) -> None:
        """Time-driven work on the platform clock (tests move it instead of sleeping): every 15 minutes
        ask the gateway about payments still awaited 15 minutes after they started; once a day
        reconcile the day before against the gateway's statement file."""
        self.parts.schedule.run(self.parts.app)
