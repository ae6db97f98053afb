"""Dossier numbers: a counter per receiving agency per day, in intake's schema.

The number is taken in its own short transaction before the dossier is saved
(a failed save leaves a gap, never a duplicate); the code is then part of the
stored event, so replays never consult this table.
"""
from __future__ import annotations

from psycopg_pool import ConnectionPool


class PostgresDossierNumbering:
    def __init__(self, pool: ConnectionPool, schema: str) -> None:
        self._pool = pool
        self._table = f'"{schema}".dossier_counters'

    @staticmethod
    def create_table(conn, schema: str) -> None:  # type: ignore[no-untyped-def]
        conn.execute(
            f'CREATE TABLE IF NOT EXISTS "{schema}".dossier_counters ('
            "agency_code text NOT NULL, day date NOT NULL, last_number integer NOT NULL, "
            "PRIMARY KEY (agency_code, day))"
        )

    def next_number(self, agency_code: str, day: str) -> int:
        with self._pool.connection() as conn:
            row = conn.execute(
                f"INSERT INTO {self._table} (agency_code, day, last_number) VALUES (%s, %s, 1) "
                "ON CONFLICT (agency_code, day) DO UPDATE SET last_number = dossier_counters.last_number + 1 "
                "RETURNING last_number",
                (agency_code, day),
            ).fetchone()
        return int(row[0])
