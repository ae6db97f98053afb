"""notification's own tables: message summaries (what the scheduler sends next, a dossier's message
history), kept in the messages' transaction and rebuildable from notification's log; and the dossiers
it learnt from intake's published events (code, procedure, unit, applicant's subject id), written with
the follower's tracking record."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Iterable, Sequence
from uuid import UUID

from motcua_common.events.store import ReadModel

COLUMNS = ("message_id", "dossier_id", "dossier_code", "recipient", "channel", "template_id", "template_version",
           "trigger_event_id", "status", "attempts", "next_attempt_at", "failure_reason", "queued_at", "sent_at",
           "delivered_at", "version")
DOSSIER_COLUMNS = ("dossier_id", "dossier_code", "procedure_code", "unit_code", "applicant")


class MessageSummaries(ReadModel):
    def __init__(self, schema: str, table: str | None = None) -> None:
        self.table = table or f'"{schema}".message_summaries'
        self.tables = (self.table,)

    @staticmethod
    def create_table(conn: Any, schema: str) -> None:
        conn.execute(
            f'CREATE TABLE IF NOT EXISTS "{schema}".message_summaries ('
            "message_id uuid PRIMARY KEY, dossier_id uuid NOT NULL, dossier_code text NOT NULL, "
            "recipient text NOT NULL, channel text NOT NULL, template_id text NOT NULL, "
            "template_version int NOT NULL, trigger_event_id text NOT NULL, status text NOT NULL, "
            "attempts int NOT NULL, next_attempt_at timestamptz, failure_reason text NOT NULL, "
            "queued_at timestamptz NOT NULL, sent_at timestamptz, delivered_at timestamptz, version bigint NOT NULL)")
        conn.execute(f'CREATE INDEX IF NOT EXISTS message_summaries_due ON "{schema}".message_summaries '
                     "(next_attempt_at) WHERE status IN ('queued', 'retrying')")
        conn.execute(f'CREATE INDEX IF NOT EXISTS message_summaries_dossier ON "{schema}".message_summaries '
                     "(dossier_id)")
        conn.execute(
            f'CREATE TABLE IF NOT EXISTS "{schema}".dossiers (dossier_id uuid PRIMARY KEY, dossier_code text NOT NULL, '
            "procedure_code text NOT NULL, unit_code text NOT NULL, applicant text NOT NULL)")

    def _update(self, e: Any, **changes: Any) -> tuple[str, Sequence[Any]]:
        changes["version"] = e.originator_version
        return (f"UPDATE {self.table} SET {', '.join(f'{c} = %s' for c in changes)} WHERE message_id = %s",
                (*changes.values(), e.originator_id))

    def statements(self, e: Any) -> Iterable[tuple[str, Sequence[Any]]]:
        name = type(e).__qualname__
        if name == "Message.Queued":
            row = (e.originator_id, e.dossier_id, e.dossier_code, e.recipient, e.channel, e.template_id,
                   e.template_version, e.trigger_event_id, "queued", 0, None, "", e.timestamp, None, None,
                   e.originator_version)
            yield (f"INSERT INTO {self.table} ({', '.join(COLUMNS)}) VALUES ({', '.join(['%s'] * len(COLUMNS))}) "
                   "ON CONFLICT (message_id) DO NOTHING", row)
        elif name == "Message.Sent":
            yield self._update(e, status="sent", sent_at=e.sent_at)
        elif name == "Message.Delivered":
            yield self._update(e, status="delivered", delivered_at=e.delivered_at)
        elif name == "Message.FailedTemporarily":
            yield self._update(e, status="retrying", attempts=e.attempt, next_attempt_at=e.retry_at,
                               failure_reason=e.reason)
        elif name == "Message.FailedPermanently":
            yield self._update(e, status="failed", attempts=e.attempt, next_attempt_at=None, failure_reason=e.reason)


class PostgresMessageSummaries(MessageSummaries):
    """The summaries and dossiers tables as the application queries them."""

    def __init__(self, pool: Any, schema: str) -> None:
        super().__init__(schema)
        self.pool = pool
        self.dossiers_table = f'"{schema}".dossiers'

    def due(self, now: datetime, limit: int) -> list[UUID]:
        with self.pool.connection() as conn:
            rows = conn.execute(f"SELECT message_id FROM {self.table} WHERE status IN ('queued', 'retrying') "
                                "AND (next_attempt_at IS NULL OR next_attempt_at <= %s) "
                                "ORDER BY next_attempt_at NULLS FIRST, queued_at LIMIT %s", (now, limit)).fetchall()
        return [row[0] for row in rows]

    def of_dossier(self, dossier_id: UUID) -> list[dict]:
        with self.pool.connection() as conn:
            rows = conn.execute(f"SELECT {', '.join(COLUMNS)} FROM {self.table} WHERE dossier_id = %s "
                                "ORDER BY queued_at, channel", (dossier_id,)).fetchall()
        return [dict(zip(COLUMNS, row)) for row in rows]

    def dossier(self, dossier_id: UUID | None = None, dossier_code: str = "") -> dict | None:
        column, value = ("dossier_id", dossier_id) if dossier_id is not None else ("dossier_code", dossier_code)
        with self.pool.connection() as conn:
            row = conn.execute(f"SELECT {', '.join(DOSSIER_COLUMNS)} FROM {self.dossiers_table} WHERE {column} = %s",
                               (value,)).fetchone()
        return dict(zip(DOSSIER_COLUMNS, row)) if row else None

    def count_by_status(self) -> dict[tuple[str, str], int]:
        with self.pool.connection() as conn:
            rows = conn.execute(f"SELECT channel, status, count(*) FROM {self.table} GROUP BY channel, status").fetchall()
        return {(channel, status): int(n) for channel, status, n in rows}


def dossier_upsert(schema: str) -> str:
    """The statement a follower writes a dossier it learnt of with (DOSSIER_COLUMNS as parameters)."""
    return (f'INSERT INTO "{schema}".dossiers ({", ".join(DOSSIER_COLUMNS)}) VALUES (%s, %s, %s, %s, %s) '
            "ON CONFLICT (dossier_id) DO UPDATE SET dossier_code = EXCLUDED.dossier_code, "
            "procedure_code = EXCLUDED.procedure_code, unit_code = EXCLUDED.unit_code")
