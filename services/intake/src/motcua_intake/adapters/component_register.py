"""Components an applicant's dossiers already digitised, by content hash: a later dossier that
brings the same file records it as reused (Decree 45/2020: digitised once, reused after)."""
from __future__ import annotations

from typing import Any, Callable
from uuid import UUID

from psycopg_pool import ConnectionPool


def create_table(conn: Any, schema: str) -> None:
    conn.execute(f'CREATE TABLE IF NOT EXISTS "{schema}".digitised_components ('
                 "subject_id uuid NOT NULL, sha256 text NOT NULL, dossier_code text NOT NULL, "
                 "PRIMARY KEY (subject_id, sha256))")


class PostgresComponentRegister:
    def __init__(self, pool: ConnectionPool, schema: str) -> None:
        self.pool = pool
        self.table = f'"{schema}".digitised_components'

    def first_dossier_with(self, subject_id: UUID, sha256s: list[str]) -> dict[str, str]:
        with self.pool.connection() as conn:
            rows = conn.execute(f"SELECT sha256, dossier_code FROM {self.table} WHERE subject_id = %s "
                                "AND sha256 = ANY(%s)", (subject_id, sha256s)).fetchall()
        return dict(rows)

    def remember_hook(self, subject_id: UUID, dossier_code: str, sha256s: list[str]) -> Callable[[Any], None]:
        """Written in the dossier's insert transaction: remembered if and only if the dossier is stored."""
        def remember(curs: Any) -> None:
            curs.executemany(f"INSERT INTO {self.table} VALUES (%s, %s, %s) ON CONFLICT DO NOTHING",
                             [(subject_id, digest, dossier_code) for digest in sha256s])
        return remember
