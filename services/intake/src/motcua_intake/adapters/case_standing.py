"""A dossier's national status and current appointment as workflow last published them (one
fact: workflow owns the case), kept by intake so GetDossier says what GetCase says. Written
in the same transaction as the consumer's position; a later position only ever wins."""
from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from psycopg_pool import ConnectionPool


def create_table(conn: Any, schema: str) -> None:
    conn.execute(f'CREATE TABLE IF NOT EXISTS "{schema}".case_standing ('
                 "dossier_id uuid PRIMARY KEY, national_status integer, appointment_at timestamptz, "
                 "position bigint NOT NULL)")


class CaseStanding:
    def __init__(self, pool: ConnectionPool, schema: str) -> None:
        self.pool = pool
        self.table = f'"{schema}".case_standing'
        # (dossier_id, national_status or None, appointment_at or None, position)
        self.upsert_sql = (
            f"INSERT INTO {self.table} AS s (dossier_id, national_status, appointment_at, position) "
            "VALUES (%s, %s, %s, %s) ON CONFLICT (dossier_id) DO UPDATE SET "
            "national_status = COALESCE(EXCLUDED.national_status, s.national_status), "
            "appointment_at = COALESCE(EXCLUDED.appointment_at, s.appointment_at), position = EXCLUDED.position "
            "WHERE s.position < EXCLUDED.position")

    def of(self, dossier_id: UUID) -> tuple[int | None, datetime | None] | None:
        with self.pool.connection() as conn:
            row = conn.execute(f"SELECT national_status, appointment_at FROM {self.table} WHERE dossier_id = %s",
                               (dossier_id,)).fetchone()
        return (row[0], row[1]) if row else None
