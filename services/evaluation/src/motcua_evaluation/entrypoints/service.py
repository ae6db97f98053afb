"""evaluation's nameko worker: keeps the published events of intake, workflow and payment that the
scorecard folds (push wakes, pull completes) and serves evaluation's log."""
from __future__ import annotations

from nameko.rpc import RpcProxy

from motcua_common.runtime.nameko_deps import (ALL_EVENTS, AppAndFollowers, AuditEndpoints, Built, ConsumerHealth,
                                               FollowsUpstreams, published_event_handler)


def _app_and_followers(settings):  # type: ignore[no-untyped-def]
    from motcua_evaluation.bootstrap import bootstrap, followers

    app = bootstrap(settings)
    return AppAndFollowers(app, followers(app, settings))


class EvaluationService(FollowsUpstreams, AuditEndpoints, ConsumerHealth):
    name = "evaluation"
    parts = Built(_app_and_followers)
    intake = RpcProxy("intake")
    workflow = RpcProxy("workflow")
    payment = RpcProxy("payment")

    @property
    def audited_app(self):  # type: ignore[no-untyped-def]
        return self.parts.app

    pull_on_push = True  # the events it keeps come from the pulled pages; a push only says up to where

    @published_event_handler("intake", ALL_EVENTS)
    def on_intake_event(self, notification: dict) -> None:
        self._on_push("intake", notification)

    @published_event_handler("workflow", ALL_EVENTS)
    def on_workflow_event(self, notification: dict) -> None:
        self._on_push("workflow", notification)

    @published_event_handler("payment", ALL_EVENTS)
    def on_payment_event(self, notification: dict) -> None:
        self._on_push("payment", notification)
