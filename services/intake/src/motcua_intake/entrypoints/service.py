"""intake's nameko worker: serves intake's notification log to consumers that pull, and follows
workflow's events (a deadline extension gives the applicant an apology letter from intake) and
payment's (a dossier awaiting payment before processing shows national status 6)."""
from __future__ import annotations

from nameko.rpc import RpcProxy, rpc

from motcua_common.runtime.nameko_deps import (ALL_EVENTS, AppAndFollowers, AuditEndpoints, Built, ConsumerHealth,
                                               FollowsUpstreams, published_event_handler)


def _app_and_follower(settings):  # type: ignore[no-untyped-def]
    from motcua_intake.bootstrap import bootstrap, payment_follower, workflow_follower

    app = bootstrap(settings)
    return AppAndFollowers(app, {"workflow": workflow_follower(app, settings),
                                 "payment": payment_follower(app, settings)})


class IntakeService(FollowsUpstreams, AuditEndpoints, ConsumerHealth):
    name = "intake"
    parts = Built(_app_and_follower)
    workflow = RpcProxy("workflow")
    payment = RpcProxy("payment")

    @property
    def audited_app(self):  # type: ignore[no-untyped-def]
        return self.parts.app

    @published_event_handler("workflow", ALL_EVENTS)
    def on_workflow_event(self, notification: dict) -> None:
        self._on_push("workflow", notification)

    @published_event_handler("payment", ALL_EVENTS)
    def on_payment_event(self, notification: dict) -> None:
        self._on_push("payment", notification)

    @rpc
    def applicant_contact(self, dossier_id: str, subject_id: str, channel: str) -> str | None:
        """notification asks for the applicant's address when it sends (never kept in its events)."""
        from uuid import UUID

        try:
            return self.parts.app.applicant_contact(UUID(dossier_id), subject_id, channel)
        except ValueError:
            return None
