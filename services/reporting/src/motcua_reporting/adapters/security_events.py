"""Reporting's security events: the calls every service's edge refused (published as
motcua.events.v1.AccessDenied), one row per event, kept apart from the dossier histories (a
denial is about a caller, and may name no dossier or one that does not exist). A projection like
the history: written with the upstream's tracking position, rebuilt by `motcua-replay`."""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from motcua.events.v1 import events_pb2 as envelope_pb
from motcua_common.events.published import PublishedEvent
from motcua_common.events.store import storable

DENIAL_EVENT = envelope_pb.AccessDenied.DESCRIPTOR.full_name
COLUMNS = ("service", "position", "recorded_at", "first_at", "rpc", "action", "reason", "actor", "actor_kind",
           "dossier_code", "count")


def create_table(conn: Any, schema: str) -> None:
    conn.execute(
        f'CREATE TABLE IF NOT EXISTS "{schema}".security_events ('
        "service text NOT NULL, position bigint NOT NULL, recorded_at timestamptz NOT NULL, "
        "first_at timestamptz NOT NULL, rpc text NOT NULL, action text NOT NULL, reason text NOT NULL, "
        "actor jsonb NOT NULL, actor_kind text NOT NULL, dossier_code text NOT NULL, count bigint NOT NULL, "
        "PRIMARY KEY (service, position))")
    conn.execute(f'CREATE INDEX IF NOT EXISTS security_events_newest_first ON "{schema}".security_events '
                 "(recorded_at DESC, service DESC, position DESC)")


@dataclass(frozen=True)
class SecurityEventQuery:
    """Every criterion given must match (empty / None: any)."""

    since: datetime | None = None
    until: datetime | None = None
    service: str = ""
    rpc: str = ""
    actor_kind: str = ""


@dataclass(frozen=True)
class SecurityEventRow:
    service: str
    position: int
    recorded_at: datetime
    first_at: datetime
    rpc: str
    action: str
    reason: str
    actor: dict
    actor_kind: str
    dossier_code: str
    count: int

    @property
    def after(self) -> tuple[datetime, str, int]:
        """Where the next page (older events) starts."""
        return self.recorded_at, self.service, self.position


class SecurityEventsTable:
    def __init__(self, schema: str, table: str = "security_events") -> None:
        self.table = f'"{schema}".{table}'
        self.insert_sql = (f"INSERT INTO {self.table} ({', '.join(COLUMNS)}) VALUES ({', '.join(['%s'] * len(COLUMNS))}) "
                           "ON CONFLICT DO NOTHING")

    def row_for(self, event: PublishedEvent) -> tuple | None:
        """The row of a published denial (None: any other event)."""
        if event.type != DENIAL_EVENT:
            return None
        denial = event.message(envelope_pb.AccessDenied)
        return storable((event.upstream, event.position, event.time, event.occurred_at or event.time, denial.rpc,
                         denial.action, denial.reason, json.dumps(storable(event.actor)),
                         str(event.actor.get("kind", "")), event.dossier_code, denial.count))

    def page(self, conn: Any, query: SecurityEventQuery, after: tuple[datetime, str, int] | None,
             limit: int) -> list[SecurityEventRow]:
        """Newest first: at most `limit` rows matching `query`, older than `after`."""
        where, params = [], []
        for column, value in (("service", query.service), ("rpc", query.rpc), ("actor_kind", query.actor_kind)):
            if value:
                where.append(f"{column} = %s")
                params.append(value)
        if query.since is not None:
            where.append("recorded_at >= %s")
            params.append(query.since)
        if query.until is not None:
            where.append("recorded_at < %s")
            params.append(query.until)
        if after is not None:
            where.append("(recorded_at, service, position) < (%s, %s, %s)")
            params.extend(after)
        cursor = conn.execute(
            f"SELECT {', '.join(COLUMNS)} FROM {self.table} {'WHERE ' + ' AND '.join(where) if where else ''} "
            "ORDER BY recorded_at DESC, service DESC, position DESC LIMIT %s", (*params, limit))
        return [SecurityEventRow(*r) for r in cursor.fetchall()]


class PostgresSecurityEvents:
    """The table as the application reads it (application.SecurityEvents)."""

    def __init__(self, pool: Any, table: SecurityEventsTable) -> None:
        self.pool = pool
        self.table = table

    def page(self, query: SecurityEventQuery, after: tuple[datetime, str, int] | None,
             limit: int) -> list[SecurityEventRow]:
        with self.pool.connection() as conn:
            return self.table.page(conn, query, after, limit)
