"""Reporting's copy of every dossier's events across services (a projection; the source
services' logs stay the record of truth, and verification reads those).

Each row keeps both forms of an event: the published one (type and protobuf bytes), which
the state-as-of folds, and the stored one (the audit record the producer hash-chained and
signed), which the history shows and exports for verification."""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Iterable
from uuid import UUID

from motcua_common.events.store import make_transcoder, storable
from motcua_common.events.published import PublishedEvent

from motcua_reporting.domain.dossier_state import HistoryEntry

READ_EVENT = "motcua.events.v1.DossierRead"
#: refused calls are security events (adapters.security_events), never part of a dossier's history
DENIAL_EVENT = "motcua.events.v1.AccessDenied"
COLUMNS = ("service", "originator_id", "originator_version", "position", "dossier_id", "dossier_code", "topic",
           "event_type", "recorded_at", "occurred_at", "actor", "causation_id", "is_read", "state", "stored_hash",
           "published_type", "published_data")
_transcoder = make_transcoder()


def create_table(conn: Any, schema: str) -> None:
    conn.execute(
        f'CREATE TABLE IF NOT EXISTS "{schema}".dossier_history ('
        "service text NOT NULL, originator_id uuid NOT NULL, originator_version bigint NOT NULL, position bigint, "
        "dossier_id uuid NOT NULL, dossier_code text NOT NULL, topic text NOT NULL, event_type text NOT NULL, "
        "recorded_at timestamptz NOT NULL, occurred_at timestamptz, actor jsonb NOT NULL, causation_id text NOT NULL, "
        "is_read boolean NOT NULL, state bytea NOT NULL, stored_hash text NOT NULL, "
        "PRIMARY KEY (service, originator_id, originator_version))")
    # Added with the published contract: tables created before it get the columns (empty).
    conn.execute(f'ALTER TABLE "{schema}".dossier_history ADD COLUMN IF NOT EXISTS published_type text NOT NULL '
                 "DEFAULT '', ADD COLUMN IF NOT EXISTS published_data bytea NOT NULL DEFAULT ''::bytea")
    conn.execute(f'CREATE INDEX IF NOT EXISTS dossier_history_by_dossier ON "{schema}".dossier_history '
                 "(dossier_id, recorded_at, service, position)")
    conn.execute(f'CREATE INDEX IF NOT EXISTS dossier_history_by_code ON "{schema}".dossier_history (dossier_code)')


class HistoryTable:
    def __init__(self, schema: str, table: str = "dossier_history") -> None:
        self.table = f'"{schema}".{table}'
        self.insert_sql = (f"INSERT INTO {self.table} ({', '.join(COLUMNS)}) VALUES ({', '.join(['%s'] * len(COLUMNS))}) "
                           "ON CONFLICT DO NOTHING")

    def row_for(self, event: PublishedEvent) -> tuple | None:
        """The history row of a published event read with its audit record (None: it concerns no dossier)."""
        if not event.subject or event.type == DENIAL_EVENT:
            return None
        stored = event.audit_record()
        return (event.upstream, stored.originator_id, stored.originator_version, event.position,
                UUID(event.subject), event.dossier_code, stored.topic, stored.name, event.time, event.occurred_at,
                json.dumps(storable(event.actor)), event.causation, event.type == READ_EVENT, stored.state,
                event.stored_hash, event.type, event.data)

    def dossier_id_for(self, conn: Any, code: str) -> UUID | None:
        row = conn.execute(f"SELECT dossier_id FROM {self.table} WHERE dossier_code = %s LIMIT 1", (code,)).fetchone()
        return row[0] if row else None

    def rows(self, conn: Any, dossier_id: UUID, include_reads: bool = True) -> list["HistoryRow"]:
        reads = "" if include_reads else "AND NOT is_read"
        cursor = conn.execute(
            f"SELECT {', '.join(COLUMNS)} FROM {self.table} WHERE dossier_id = %s {reads} "
            "ORDER BY recorded_at, service, position NULLS LAST, originator_version", (dossier_id,))
        return [HistoryRow(*r) for r in cursor.fetchall()]


class PostgresHistories:
    """The history table as the application reads it (application.DossierHistories)."""

    def __init__(self, pool: Any, table: HistoryTable) -> None:
        self.pool = pool
        self.table = table

    def dossier_id_for(self, code: str) -> UUID | None:
        with self.pool.connection() as conn:
            return self.table.dossier_id_for(conn, code)

    def has_history(self, dossier_id: UUID) -> bool:
        with self.pool.connection() as conn:
            return conn.execute(f"SELECT 1 FROM {self.table.table} WHERE dossier_id = %s LIMIT 1",
                                (dossier_id,)).fetchone() is not None

    def rows(self, dossier_id: UUID, include_reads: bool = True) -> list["HistoryRow"]:
        with self.pool.connection() as conn:
            return self.table.rows(conn, dossier_id, include_reads)


@dataclass(frozen=True)
class HistoryRow:
    service: str
    originator_id: UUID
    originator_version: int
    position: int | None
    dossier_id: UUID
    dossier_code: str
    topic: str
    event_type: str
    recorded_at: datetime
    occurred_at: datetime | None
    actor: dict
    causation_id: str
    is_read: bool
    state: bytes
    stored_hash: str
    published_type: str
    published_data: bytes

    def data(self) -> dict:
        """The event's stored data without the envelope and the store's own fields."""
        data = _transcoder.decode(bytes(self.state))
        return {k: v for k, v in data.items() if k not in ("envelope", "timestamp", "originator_topic")}

    def entry(self) -> HistoryEntry:
        return HistoryEntry(self.service, self.event_type, self.recorded_at, self.data(), self.is_read,
                            self.published_type, bytes(self.published_data))


def as_entries(rows: Iterable[HistoryRow]) -> list[HistoryEntry]:
    return [r.entry() for r in rows]
