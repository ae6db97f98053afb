"""The composition root: environment -> objects. Nothing is built at import time."""
from __future__ import annotations

import sys
from typing import Any

from motcua_common.config.settings import Settings
from motcua_common.events.consumer import UpstreamFollower
from motcua_common.privacy.sealing import SubjectVault
from motcua_common.runtime.service_setup import make_clock, make_pool, setup_service_schema

from motcua_evaluation.adapters import published
from motcua_evaluation.adapters.followed_events import TABLE, FollowedEvents, PostgresDossierFacts
from motcua_evaluation.adapters.methodology_file import load_methodology
from motcua_evaluation.application import EvaluationApplication
from motcua_evaluation.policies import KeepFollowedEvents

SERVICE = "evaluation"
#: the services whose published events the scorecard folds
UPSTREAMS = ("intake", "workflow", "payment")


def bootstrap(settings: Settings | None = None) -> EvaluationApplication:
    settings = settings or Settings.from_env()
    pool = make_pool(settings)
    app = EvaluationApplication(env=settings.eventsourcing_env(SERVICE), province=settings.province,
                                clock=make_clock(settings), methodology=load_methodology(),
                                facts=PostgresDossierFacts(pool, SERVICE),
                                vault=SubjectVault(pool, SERVICE, settings.subject_kek, settings.province))
    app.publication = published.publication()
    return app


def followers(app: EvaluationApplication, settings: Settings) -> dict[str, UpstreamFollower]:
    """One follower per upstream (each applies its upstream's events strictly in order)."""
    policy = KeepFollowedEvents(FollowedEvents(SERVICE))
    return {upstream: UpstreamFollower(app, upstream, policy, clock=app.clock, province=settings.province)
            for upstream in UPSTREAMS}


def _own_tables(conn, schema: str) -> None:  # type: ignore[no-untyped-def]
    FollowedEvents.create_table(conn, schema)
    SubjectVault.create_table(conn, schema)


def setup_schema(settings: Settings | None = None) -> None:
    setup_service_schema(settings or Settings.from_env(), SERVICE, EvaluationApplication, _own_tables)


def followed_events_target(sources: list) -> Any:
    """The rebuild of `followed_events` from the upstreams' published logs (`sources`), by the same
    rows the live policy writes, compared with the positions evaluation's followers applied."""
    from motcua_common.events.replay import ReplayTarget

    tables: dict[str, FollowedEvents] = {}

    def project(event, table):  # type: ignore[no-untyped-def]
        target = tables.setdefault(table, FollowedEvents(SERVICE, table.split(".", 1)[1]))
        row = target.row_for(event)
        return [(target.insert_sql, row)] if row is not None else []

    def live_positions(conn):  # type: ignore[no-untyped-def]
        return dict(conn.execute(f'SELECT application_name, notification_id FROM "{SERVICE}".{SERVICE}_tracking')
                    .fetchall())

    return ReplayTarget(name=f"{SERVICE}.{TABLE}", schema=SERVICE, table=TABLE, key=("upstream", "position"),
                        sources=sources, project=project, live_positions=live_positions)


def replay_targets(settings: Settings) -> list:
    """What `motcua-replay rebuild evaluation` rebuilds: the kept events, from intake's, workflow's and
    payment's published logs (pulled through their workers, as the followers pull)."""
    from motcua_common.events.replay import UpstreamLog

    return [followed_events_target([UpstreamLog(u, settings.amqp_uri) for u in UPSTREAMS])]


if __name__ == "__main__" and sys.argv[1:] == ["setup-schema"]:
    setup_schema()
