"""Electronic result files, stored by content (SHA-256) and written in the same transaction as
the ResultSigned event that names them: a signed result never lacks its file."""
from __future__ import annotations

from typing import Any, Callable

from psycopg_pool import ConnectionPool


def create_table(conn: Any, schema: str) -> None:
    conn.execute(f'CREATE TABLE IF NOT EXISTS "{schema}".result_files ('
                 "sha256 text PRIMARY KEY, media_type text NOT NULL, size_bytes bigint NOT NULL, content bytea NOT NULL)")


class ResultFiles:
    def __init__(self, pool: ConnectionPool, schema: str) -> None:
        self.pool = pool
        self.table = f'"{schema}".result_files'

    def store_hook(self, sha256: str, media_type: str, content: bytes) -> Callable[[Any], None]:
        def store(curs: Any) -> None:
            curs.execute(f"INSERT INTO {self.table} VALUES (%s, %s, %s, %s) ON CONFLICT (sha256) DO NOTHING",
                         (sha256, media_type, len(content), content))
        return store

    def get(self, sha256: str) -> bytes | None:
        with self.pool.connection() as conn:
            row = conn.execute(f"SELECT content FROM {self.table} WHERE sha256 = %s", (sha256,)).fetchone()
        return bytes(row[0]) if row else None
