"""Reporting's copy of every dossier's events across services (a projection; the source
services' logs stay the record of truth, and verification reads those)."""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Iterable
from uuid import UUID

from motcua_common.events.store import LoggedEvent, make_transcoder, storable, stored_event_hash

from motcua_reporting.domain.dossier_state import HistoryEntry

#: stored but not history: bookkeeping every command leaves behind
NOT_HISTORY_PREFIXES = ("IdempotencyRecord.", "CatalogueEntry.")
READ_EVENT = "DossierRead.Recorded"
COLUMNS = ("service", "originator_id", "originator_version", "position", "dossier_id", "dossier_code", "topic",
           "event_type", "recorded_at", "occurred_at", "actor", "causation_id", "is_read", "state", "stored_hash")
_transcoder = make_transcoder()


def create_table(conn: Any, schema: str) -> None:
    conn.execute(
        f'CREATE TABLE IF NOT EXISTS "{schema}".dossier_history ('
        "service text NOT NULL, originator_id uuid NOT NULL, originator_version bigint NOT NULL, position bigint, "
        "dossier_id uuid NOT NULL, dossier_code text NOT NULL, topic text NOT NULL, event_type text NOT NULL, "
        "recorded_at timestamptz NOT NULL, occurred_at timestamptz, actor jsonb NOT NULL, causation_id text NOT NULL, "
        "is_read boolean NOT NULL, state bytea NOT NULL, stored_hash text NOT NULL, "
        "PRIMARY KEY (service, originator_id, originator_version))")
    conn.execute(f'CREATE INDEX IF NOT EXISTS dossier_history_by_dossier ON "{schema}".dossier_history '
                 "(dossier_id, recorded_at, service, position)")
    conn.execute(f'CREATE INDEX IF NOT EXISTS dossier_history_by_code ON "{schema}".dossier_history (dossier_code)')


class HistoryTable:
    def __init__(self, schema: str, table: str = "dossier_history") -> None:
        self.table = f'"{schema}".{table}'
        self.insert_sql = (f"INSERT INTO {self.table} ({', '.join(COLUMNS)}) VALUES ({', '.join(['%s'] * len(COLUMNS))}) "
                           "ON CONFLICT DO NOTHING")

    def row_for(self, event: LoggedEvent) -> tuple | None:
        """The history row of an upstream event, or None if it concerns no dossier or is bookkeeping."""
        if event.name.startswith(NOT_HISTORY_PREFIXES):
            return None
        envelope = event.envelope
        dossier = envelope.get("correlation_id")
        if not dossier:
            return None
        data = event.data
        return (event.upstream, event.originator_id, event.originator_version, event.position, UUID(dossier),
                envelope.get("dossier_code", ""), event.topic, event.name, data["timestamp"],
                envelope.get("occurred_at"), json.dumps(storable(envelope.get("actor", {}))), envelope.get("causation_id", ""),
                event.name == READ_EVENT, event.state, stored_event_hash(event.topic, event.state))

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

    def data(self) -> dict:
        """The event's stored data without the envelope and the store's own fields."""
        data = _transcoder.decode(bytes(self.state))
        return {k: v for k, v in data.items() if k not in ("envelope", "timestamp", "originator_topic")}

    def entry(self) -> HistoryEntry:
        return HistoryEntry(self.service, self.event_type, self.recorded_at, self.data(), self.is_read)


def as_entries(rows: Iterable[HistoryRow]) -> list[HistoryEntry]:
    return [r.entry() for r in rows]
