"""The published events evaluation follows, kept as received (bitemporal: each with the instant it
was recorded upstream), and the per-dossier facts folded from them.

The worker writes one row per followed event in the same transaction as the upstream's tracking
position (exactly once; a redelivery changes nothing). The facts of any instant are the fold of
the rows recorded by then (domain.projection.fold): the scorecard "as of" a past date reads the
same table. Snapshots for speed are not built yet.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Iterable
from uuid import UUID

from psycopg_pool import ConnectionPool

from motcua_evaluation.domain.facts import DossierFacts
from motcua_evaluation.domain.projection import APPLY, fold

TABLE = "followed_events"


@dataclass(frozen=True)
class FollowedEvent:
    """A stored row in the shape `projection.fold` reads (a published event's envelope and data)."""

    type: str
    subject: str
    time: datetime
    data: bytes
    dossier_code: str = ""


class FollowedEvents:
    def __init__(self, schema: str, table: str = TABLE) -> None:
        self.schema = schema
        self.insert_sql = (f'INSERT INTO "{schema}".{table} (upstream, position, dossier_id, type, recorded_at, '
                           "dossier_code, data) VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING")

    @staticmethod
    def create_table(conn: Any, schema: str) -> None:
        conn.execute(f'CREATE TABLE IF NOT EXISTS "{schema}".{TABLE} ('
                     "upstream text NOT NULL, position bigint NOT NULL, dossier_id uuid NOT NULL, type text NOT NULL, "
                     "recorded_at timestamptz NOT NULL, dossier_code text NOT NULL DEFAULT '', data bytea NOT NULL, "
                     "PRIMARY KEY (upstream, position))")
        conn.execute(f'CREATE INDEX IF NOT EXISTS {TABLE}_dossier ON "{schema}".{TABLE} (dossier_id, recorded_at)')

    @staticmethod
    def row_for(event: Any) -> tuple | None:
        """The row of a published event the projection folds; None for the others."""
        if event.type not in APPLY or not event.subject:
            return None
        return (event.upstream, event.position, UUID(event.subject), event.type, event.time, event.dossier_code,
                bytes(event.data))


class PostgresDossierFacts:
    """DossierFactsSource over the followed events (application.DossierFactsSource)."""

    def __init__(self, pool: ConnectionPool, schema: str) -> None:
        self.pool = pool
        self.table = f'"{schema}".{TABLE}'

    def _rows(self, where: str, params: tuple) -> Iterable[FollowedEvent]:
        with self.pool.connection() as conn:
            rows = conn.execute(f"SELECT type, dossier_id, recorded_at, data, dossier_code FROM {self.table} "
                                f"WHERE {where} ORDER BY upstream, position", params).fetchall()
        return [FollowedEvent(t, str(d), at, bytes(data), code) for t, d, at, data, code in rows]

    def get(self, dossier_id: UUID, as_of: datetime | None = None) -> DossierFacts | None:
        if as_of is None:
            rows = self._rows("dossier_id = %s", (dossier_id,))
        else:
            rows = self._rows("dossier_id = %s AND recorded_at <= %s", (dossier_id, as_of))
        return fold(rows).get(str(dossier_id))

    def all(self, as_of: datetime | None = None) -> list[DossierFacts]:
        rows = self._rows("TRUE", ()) if as_of is None else self._rows("recorded_at <= %s", (as_of,))
        return list(fold(rows).values())
