"""Whether a dossier waits on its applicant's payment before it can be processed, as payment last
published it (payment owns invoices): while it does, intake shows national status 6 ("financial
obligation requested"). Written in the same transaction as the consumer's position; a later
position only ever wins."""
from __future__ import annotations

from typing import Any
from uuid import UUID

from psycopg_pool import ConnectionPool


def create_table(conn: Any, schema: str) -> None:
    conn.execute(f'CREATE TABLE IF NOT EXISTS "{schema}".payment_standing ('
                 "dossier_id uuid PRIMARY KEY, awaiting_payment boolean NOT NULL, position bigint NOT NULL)")


class PaymentStanding:
    def __init__(self, pool: ConnectionPool, schema: str) -> None:
        self.pool = pool
        self.table = f'"{schema}".payment_standing'
        # (dossier_id, awaiting_payment, position)
        self.upsert_sql = (
            f"INSERT INTO {self.table} AS s (dossier_id, awaiting_payment, position) VALUES (%s, %s, %s) "
            "ON CONFLICT (dossier_id) DO UPDATE SET awaiting_payment = EXCLUDED.awaiting_payment, "
            "position = EXCLUDED.position WHERE s.position < EXCLUDED.position")

    def awaiting(self, dossier_id: UUID) -> bool:
        with self.pool.connection() as conn:
            row = conn.execute(f"SELECT awaiting_payment FROM {self.table} WHERE dossier_id = %s",
                               (dossier_id,)).fetchone()
        return bool(row and row[0])
