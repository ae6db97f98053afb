"""The composition root: environment -> objects. Nothing is built at import time."""
from __future__ import annotations

import sys

from motcua_common.audit.access import AccessDenied, DossierRead
from motcua_common.events.consumer import UpstreamFollower
from motcua_common.runtime.service_setup import make_clock, make_pool, setup_service_schema
from motcua_common.events.published import Publication, map_access_denied, map_dossier_read
from motcua_common.config.settings import Settings
from motcua_common.audit.log import audit_signer, audit_trust

from motcua_reporting.adapters import history_table
from motcua_reporting.adapters.history_table import HistoryTable, PostgresHistories
from motcua_reporting.adapters import security_events
from motcua_reporting.adapters.security_events import PostgresSecurityEvents, SecurityEventsTable
from motcua_reporting.adapters.source_logs import SourceLogs
from motcua_reporting.application import FOLLOWED, ReportingApplication
from motcua_reporting.policies import RecordHistory

SERVICE = "reporting"
UPSTREAMS = FOLLOWED


def bootstrap(settings: Settings | None = None) -> ReportingApplication:
    settings = settings or Settings.from_env()
    pool = make_pool(settings)
    app = ReportingApplication(env=settings.eventsourcing_env(SERVICE), province=settings.province,
                                clock=make_clock(settings),
                                histories=PostgresHistories(pool, HistoryTable(SERVICE)),
                                security_events=PostgresSecurityEvents(pool, SecurityEventsTable(SERVICE)),
                                signer=audit_signer(settings), trust=audit_trust(settings),
                                verify_source=SourceLogs(settings.amqp_uri).verify)
    app.publication = publication()
    return app


def publication() -> Publication:
    """Reporting publishes only the reads and the refusals it records (its own followers keep them too)."""
    return Publication(SERVICE, {DossierRead.Recorded: map_dossier_read, AccessDenied.Recorded: map_access_denied})


def followers(app: ReportingApplication, settings: Settings) -> dict[str, UpstreamFollower]:
    policy = RecordHistory(HistoryTable(SERVICE), SecurityEventsTable(SERVICE))
    return {upstream: UpstreamFollower(app, upstream, policy, clock=app.clock, province=settings.province)
            for upstream in UPSTREAMS}


def setup_schema(settings: Settings | None = None) -> None:
    def create_tables(conn, schema):  # type: ignore[no-untyped-def]
        history_table.create_table(conn, schema)
        security_events.create_table(conn, schema)

    setup_service_schema(settings or Settings.from_env(), SERVICE, ReportingApplication, create_tables)


def replay_targets(settings: Settings) -> list:
    """What `motcua-replay rebuild reporting` rebuilds: dossier histories and security events, from
    every followed log."""
    from motcua_common.events.replay import OwnPublishedLog, ReplayTarget, UpstreamLog

    tables: dict[str, HistoryTable] = {}

    def project(event, table):  # type: ignore[no-untyped-def]
        history = tables.setdefault(table, HistoryTable(SERVICE, table.split(".", 1)[1]))
        row = history.row_for(event)
        return [(history.insert_sql, row)] if row is not None else []

    def live_positions(conn):  # type: ignore[no-untyped-def]
        # What the live table reflects is what reporting's followers applied, not the sources' heads.
        return dict(conn.execute(f'SELECT application_name, notification_id FROM "{SERVICE}".reporting_tracking')
                    .fetchall())

    denials: dict[str, SecurityEventsTable] = {}

    def project_denial(event, table):  # type: ignore[no-untyped-def]
        target = denials.setdefault(table, SecurityEventsTable(SERVICE, table.split(".", 1)[1]))
        row = target.row_for(event)
        return [(target.insert_sql, row)] if row is not None else []

    def sources() -> list:
        # Rows keep the published form, which only each producer maps: the others' through
        # their workers' pull, reporting's own through its own mapping.
        return [OwnPublishedLog(bootstrap(settings)) if u == SERVICE else UpstreamLog(u, settings.amqp_uri)
                for u in UPSTREAMS]

    return [ReplayTarget(name="reporting.dossier_history", schema=SERVICE, table="dossier_history",
                         key=("service", "originator_id", "originator_version"), sources=sources(),
                         project=project, live_positions=live_positions),
            ReplayTarget(name="reporting.security_events", schema=SERVICE, table="security_events",
                         key=("service", "position"), sources=sources(),
                         project=project_denial, live_positions=live_positions)]


if __name__ == "__main__" and sys.argv[1:] == ["setup-schema"]:
    setup_schema()
