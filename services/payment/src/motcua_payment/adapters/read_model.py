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


LEDGER_COLUMNS = ("invoice_id", "order_id", "status", "started_at", "transaction_no", "amount_vnd", "paid_on")


class GatewayLedgerTable(ReadModel):
    """Each invoice's gateway payment: when the payer was first sent to the gateway (the sweep asks
    about those still awaited 15 minutes later) and the gateway payment recorded, by its day in
    Vietnam time (the daily reconciliation matches the gateway's statement with them)."""

    def __init__(self, schema: str, table: str | None = None) -> None:
        self.table = table or f'"{schema}".gateway_ledger'
        self.tables = (self.table,)

    @staticmethod
    def create_table(conn: Any, schema: str) -> None:
        conn.execute(
            f'CREATE TABLE IF NOT EXISTS "{schema}".gateway_ledger ('
            "invoice_id uuid PRIMARY KEY, order_id text NOT NULL, status text NOT NULL, started_at timestamptz, "
            "transaction_no text, amount_vnd bigint, paid_on date)")
        conn.execute(f'CREATE INDEX IF NOT EXISTS gateway_ledger_pending ON "{schema}".gateway_ledger (started_at) '
                     "WHERE status = 'issued' AND started_at IS NOT NULL")
        conn.execute(f'CREATE INDEX IF NOT EXISTS gateway_ledger_paid_on ON "{schema}".gateway_ledger (paid_on)')

    def statements(self, e: Any) -> Iterable[tuple[str, Sequence[Any]]]:
        from motcua_common.province.working_calendar import VIETNAM_TZ

        name = type(e).__qualname__
        if name == "Invoice.Issued":
            yield (f"INSERT INTO {self.table} (invoice_id, order_id, status) VALUES (%s, %s, 'issued')",
                   (e.originator_id, e.order_id))
        elif name == "Invoice.GatewayPaymentStarted":
            yield f"UPDATE {self.table} SET started_at = %s WHERE invoice_id = %s", (e.started_at, e.originator_id)
        elif name == "Invoice.Paid":
            if e.method == "gateway":
                yield (f"UPDATE {self.table} SET status = 'paid', transaction_no = %s, amount_vnd = %s, paid_on = %s "
                       "WHERE invoice_id = %s", (e.reference, int(e.amount_vnd),
                                                 e.paid_at.astimezone(VIETNAM_TZ).date(), e.originator_id))
            else:
                yield f"UPDATE {self.table} SET status = 'paid' WHERE invoice_id = %s", (e.originator_id,)
        elif name == "Invoice.Cancelled":
            yield f"UPDATE {self.table} SET status = 'cancelled' WHERE invoice_id = %s", (e.originator_id,)


class PostgresGatewayLedger(GatewayLedgerTable):
    def __init__(self, pool: Any, schema: str) -> None:
        super().__init__(schema)
        self.pool = pool

    def pending_started_between(self, earliest: Any, latest: Any) -> list[tuple[UUID, str]]:
        with self.pool.connection() as conn:
            rows = conn.execute(f"SELECT invoice_id, order_id FROM {self.table} WHERE status = 'issued' "
                                "AND started_at BETWEEN %s AND %s ORDER BY started_at", (earliest, latest)).fetchall()
        return [(row[0], row[1]) for row in rows]

    def gateway_payments_on(self, day: Any) -> list:
        from motcua_payment.domain.reconciliation import RecordedPayment

        with self.pool.connection() as conn:
            rows = conn.execute(f"SELECT transaction_no, order_id, amount_vnd, invoice_id FROM {self.table} "
                                "WHERE paid_on = %s AND transaction_no IS NOT NULL ORDER BY transaction_no",
                                (day,)).fetchall()
        return [RecordedPayment(row[0], row[1], int(row[2]), row[3]) for row in rows]
