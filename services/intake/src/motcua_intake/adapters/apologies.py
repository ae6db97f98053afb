"""What an apology letter needs from workflow's DeadlineExtended events, kept by intake (which
holds the applicant's data), written in the same transaction as the consumer's position."""
from __future__ import annotations

from typing import Any
from uuid import UUID

from psycopg_pool import ConnectionPool

FIELDS = ("previous_due_at", "new_due_at", "reason", "apologised_at", "official")


def create_table(conn: Any, schema: str) -> None:
    conn.execute(f'CREATE TABLE IF NOT EXISTS "{schema}".apologies ('
                 "dossier_id uuid NOT NULL, case_version bigint NOT NULL, previous_due_at timestamptz NOT NULL, "
                 "new_due_at timestamptz NOT NULL, reason text NOT NULL, apologised_at timestamptz NOT NULL, "
                 "official text NOT NULL, PRIMARY KEY (dossier_id, case_version))")


class Apologies:
    def __init__(self, pool: ConnectionPool, schema: str) -> None:
        self.pool = pool
        self.table = f'"{schema}".apologies'
        self.insert_sql = f"INSERT INTO {self.table} VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING"

    def latest(self, dossier_id: UUID) -> dict | None:
        with self.pool.connection() as conn:
            row = conn.execute(f"SELECT {', '.join(FIELDS)} FROM {self.table} WHERE dossier_id = %s "
                               "ORDER BY case_version DESC LIMIT 1", (dossier_id,)).fetchone()
        return dict(zip(FIELDS, row)) if row else None
