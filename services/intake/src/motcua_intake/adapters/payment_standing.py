"""Whether a dossier waits on its applicant's payment before it can be processed, as payment last
published it (payment owns invoices): while it does, intake shows national status 6 ("financial
obligation requested"); and how its fee was paid (the national portal's online flag). Written in the same transaction as the consumer's position; a later
position only ever wins."""
from __future__ import annotations

from typing import Any
from uuid import UUID

from psycopg_pool import ConnectionPool


def create_table(conn: Any, schema: str) -> None:
    conn.execute(f'CREATE TABLE IF NOT EXISTS "{schema}".payment_standing ('
                 "dossier_id uuid PRIMARY KEY, awaiting_payment boolean NOT NULL, position bigint NOT NULL)")
    # Added with the online flag (how the fee was paid; NULL: nothing paid): tables created before it gain it.
    conn.execute(f'ALTER TABLE "{schema}".payment_standing ADD COLUMN IF NOT EXISTS online_flag smallint')


class PaymentStanding:
    def __init__(self, pool: ConnectionPool, schema: str) -> None:
        self.pool = pool
        self.table = f'"{schema}".payment_standing'
        # (dossier_id, awaiting_payment, online_flag or None, position)
        self.upsert_sql = (
            f"INSERT INTO {self.table} AS s (dossier_id, awaiting_payment, online_flag, position) "
            "VALUES (%s, %s, %s, %s) "
            "ON CONFLICT (dossier_id) DO UPDATE SET awaiting_payment = EXCLUDED.awaiting_payment, "
            "online_flag = EXCLUDED.online_flag, position = EXCLUDED.position WHERE s.position < EXCLUDED.position")

    def awaiting(self, dossier_id: UUID) -> bool:
        return self.of(dossier_id)[0]

    def of(self, dossier_id: UUID) -> tuple[bool, int | None]:
        """(awaiting payment before processing?, how it was paid: 0 desk, 1 national platform, 2 local
        gateway; None: nothing paid)."""
        with self.pool.connection() as conn:
            row = conn.execute(f"SELECT awaiting_payment, online_flag FROM {self.table} WHERE dossier_id = %s",
                               (dossier_id,)).fetchone()
        return (bool(row[0]), row[1]) if row else (False, None)
