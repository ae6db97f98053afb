"""Invoice summaries: who may see and pay a dossier's invoice (its receiving unit, its applicant),
found by dossier id or code. Written in the same transaction as the invoice's events and rebuildable
from payment's log."""
from __future__ import annotations

from typing import Any, Iterable, Sequence
from uuid import UUID

from motcua_common.events.store import ReadModel

COLUMNS = ("invoice_id", "dossier_id", "dossier_code", "unit_code", "applicant", "status", "version")


class InvoiceSummaries(ReadModel):
    def __init__(self, schema: str, table: str | None = None) -> None:
        self.table = table or f'"{schema}".invoice_summaries'
        self.tables = (self.table,)

    @staticmethod
    def create_table(conn: Any, schema: str) -> None:
        conn.execute(
            f'CREATE TABLE IF NOT EXISTS "{schema}".invoice_summaries ('
            "invoice_id uuid PRIMARY KEY, dossier_id uuid NOT NULL UNIQUE, dossier_code text NOT NULL UNIQUE, "
            "unit_code text NOT NULL, applicant text NOT NULL, status text NOT NULL, version bigint NOT NULL)")

    def statements(self, e: Any) -> Iterable[tuple[str, Sequence[Any]]]:
        name = type(e).__qualname__
        if name == "Invoice.Issued":
            row = (e.originator_id, e.dossier_id, e.dossier_code, e.unit_code, e.applicant, "issued",
                   e.originator_version)
            yield (f"INSERT INTO {self.table} ({', '.join(COLUMNS)}) VALUES ({', '.join(['%s'] * len(COLUMNS))})", row)
        elif name.startswith("Invoice."):
            status = {"Invoice.Paid": "paid", "Invoice.Cancelled": "cancelled"}.get(name)
            changes = {"version": e.originator_version, **({"status": status} if status else {})}
            yield (f"UPDATE {self.table} SET {', '.join(f'{c} = %s' for c in changes)} WHERE invoice_id = %s",
                   (*changes.values(), e.originator_id))


class PostgresInvoiceSummaries(InvoiceSummaries):
    """The summaries table as the application queries it."""

    def __init__(self, pool: Any, schema: str) -> None:
        super().__init__(schema)
        self.pool = pool

    def find(self, dossier_id: UUID | None = None, dossier_code: str = "") -> dict | None:
        column, value = ("dossier_id", dossier_id) if dossier_id is not None else ("dossier_code", dossier_code)
        with self.pool.connection() as conn:
            row = conn.execute(f"SELECT {', '.join(COLUMNS)} FROM {self.table} WHERE {column} = %s",
                               (value,)).fetchone()
        return dict(zip(COLUMNS, row)) if row else None
