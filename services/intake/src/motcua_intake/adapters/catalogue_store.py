"""Which procedures the event store holds catalogue entries for, and a version number bumped by
every import (in the import's transaction), so running processes notice a new catalogue cheaply."""
from __future__ import annotations

from typing import Any, Callable

from psycopg_pool import ConnectionPool


def create_tables(conn: Any, schema: str) -> None:
    conn.execute(f'CREATE TABLE IF NOT EXISTS "{schema}".catalogue_codes (code text PRIMARY KEY)')
    conn.execute(f'CREATE TABLE IF NOT EXISTS "{schema}".catalogue_version ('
                 "id int PRIMARY KEY CHECK (id = 1), version bigint NOT NULL)")


class CatalogueStore:
    def __init__(self, pool: ConnectionPool, schema: str) -> None:
        self.pool = pool
        self.schema = schema

    def version(self) -> int:
        with self.pool.connection() as conn:
            row = conn.execute(f'SELECT version FROM "{self.schema}".catalogue_version WHERE id = 1').fetchone()
        return row[0] if row else 0

    def codes(self) -> list[str]:
        with self.pool.connection() as conn:
            return [r[0] for r in conn.execute(f'SELECT code FROM "{self.schema}".catalogue_codes ORDER BY code')]

    def import_hook(self, codes: list[str]) -> Callable[[Any], None]:
        def record(curs: Any) -> None:
            curs.executemany(f'INSERT INTO "{self.schema}".catalogue_codes VALUES (%s) ON CONFLICT DO NOTHING',
                             [(c,) for c in codes])
            curs.execute(f'INSERT INTO "{self.schema}".catalogue_version VALUES (1, 1) '
                         "ON CONFLICT (id) DO UPDATE SET version = catalogue_version.version + 1")
        return record
