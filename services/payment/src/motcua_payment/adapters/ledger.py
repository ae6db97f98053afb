"""The finance office's ledger: each receipt (who took it, where, which day in Vietnam time), each of
its items (phí / lệ phí, item code) and each refund, written in the events' transaction from the
invoice's `ReceiptIssued` and `Refunded` events and rebuildable from payment's log; and the two
reads kept from it: the daily cash close of a desk and the revenue by fee item."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any, Iterable, Sequence

from motcua_common.events.store import ReadModel
from motcua_common.province.working_calendar import VIETNAM_TZ

RECEIPT_COLUMNS = ("symbol", "number", "invoice_id", "dossier_code", "unit_code", "official", "method",
                   "amount_vnd", "issued_at", "issued_on")
LINE_COLUMNS = ("symbol", "number", "line_no", "item_code", "kind", "name", "amount_vnd", "unit_code", "issued_on")
REFUND_COLUMNS = ("invoice_id", "refund_key", "amount_vnd", "refunded_at", "refunded_on")
TABLES = {"receipts": RECEIPT_COLUMNS, "receipt_lines": LINE_COLUMNS, "refunds": REFUND_COLUMNS}


def vietnam_day(at: datetime) -> date:
    return at.astimezone(VIETNAM_TZ).date()


def create_tables(conn: Any, schema: str) -> None:
    conn.execute(
        f'CREATE TABLE IF NOT EXISTS "{schema}".receipts (symbol text NOT NULL, number bigint NOT NULL, '
        "invoice_id uuid NOT NULL UNIQUE, dossier_code text NOT NULL, unit_code text NOT NULL, official text NOT NULL, "
        "method text NOT NULL, amount_vnd bigint NOT NULL, issued_at timestamptz NOT NULL, issued_on date NOT NULL, "
        "PRIMARY KEY (symbol, number))")
    conn.execute(f'CREATE INDEX IF NOT EXISTS receipts_desk_day ON "{schema}".receipts (unit_code, issued_on)')
    conn.execute(
        f'CREATE TABLE IF NOT EXISTS "{schema}".receipt_lines (symbol text NOT NULL, number bigint NOT NULL, '
        "line_no int NOT NULL, item_code text NOT NULL, kind text NOT NULL, name text NOT NULL, "
        "amount_vnd bigint NOT NULL, unit_code text NOT NULL, issued_on date NOT NULL, "
        "PRIMARY KEY (symbol, number, line_no))")
    conn.execute(f'CREATE INDEX IF NOT EXISTS receipt_lines_day ON "{schema}".receipt_lines (issued_on)')
    conn.execute(
        f'CREATE TABLE IF NOT EXISTS "{schema}".refunds (invoice_id uuid NOT NULL, refund_key text NOT NULL, '
        "amount_vnd bigint NOT NULL, refunded_at timestamptz NOT NULL, refunded_on date NOT NULL, "
        "PRIMARY KEY (invoice_id, refund_key))")


class LedgerTable(ReadModel):
    """One of the ledger's tables (`kind` in TABLES), as the replay rebuilds it."""

    def __init__(self, schema: str, kind: str, table: str | None = None) -> None:
        self.kind = kind
        self.table = table or f'"{schema}".{kind}'
        self.tables = (self.table,)

    def _insert(self, row: Sequence[Any]) -> tuple[str, Sequence[Any]]:
        columns = TABLES[self.kind]
        return (f"INSERT INTO {self.table} ({', '.join(columns)}) VALUES ({', '.join(['%s'] * len(columns))})", row)

    def statements(self, e: Any) -> Iterable[tuple[str, Sequence[Any]]]:
        name = type(e).__qualname__
        if name == "Invoice.ReceiptIssued":
            day = vietnam_day(e.issued_at)
            if self.kind == "receipts":
                yield self._insert((e.symbol, e.number, e.originator_id, e.envelope.get("dossier_code", ""),
                                    e.unit_code, e.official, e.method, e.amount_vnd, e.issued_at, day))
            elif self.kind == "receipt_lines":
                for i, line in enumerate(e.lines, 1):
                    yield self._insert((e.symbol, e.number, i, line["item_code"], line["kind"], line.get("name", ""),
                                        line["amount_vnd"], e.unit_code, day))
        elif name == "Invoice.Refunded" and self.kind == "refunds":
            yield self._insert((e.originator_id, e.key, e.amount_vnd, e.refunded_at, vietnam_day(e.refunded_at)))


class LedgerTables(ReadModel):
    """All the ledger's tables, written together."""

    def __init__(self, schema: str) -> None:
        self.parts = [LedgerTable(schema, kind) for kind in TABLES]
        self.tables = tuple(p.table for p in self.parts)

    def statements(self, e: Any) -> Iterable[tuple[str, Sequence[Any]]]:
        for part in self.parts:
            yield from part.statements(e)


class PostgresLedger(LedgerTables):
    """The ledger as the application queries it."""

    def __init__(self, pool: Any, schema: str) -> None:
        super().__init__(schema)
        self.pool = pool
        self.schema = schema

    def cash_close(self, unit_code: str, official: str, day: date) -> dict:
        """Cash a desk (a unit, and one official of it when `official` is given) took on `day` (Vietnam time)."""
        where, params = "unit_code = %s AND issued_on = %s AND method = 'cash'", [unit_code, day]
        if official:
            where += " AND official = %s"
            params.append(official)
        with self.pool.connection() as conn:
            rows = conn.execute(
                f'SELECT symbol, count(*), coalesce(sum(amount_vnd), 0), min(number), max(number) '
                f'FROM "{self.schema}".receipts WHERE {where} GROUP BY symbol ORDER BY symbol', params).fetchall()
        series = [{"symbol": r[0], "count": r[1], "total_vnd": int(r[2]), "first_number": r[3], "last_number": r[4]}
                  for r in rows]
        return {"unit_code": unit_code, "official": official, "day": day, "series": series,
                "count": sum(s["count"] for s in series), "total_vnd": sum(s["total_vnd"] for s in series)}

    def revenue(self, unit_code: str, first_day: date, last_day: date) -> dict:
        """Collected by fee item (receipts of the range, any method) and refunded (refunds of the range),
        for one unit or (unit_code "") every unit."""
        unit_filter, params = ("AND unit_code = %s", [unit_code]) if unit_code else ("", [])
        with self.pool.connection() as conn:
            items = conn.execute(
                f'SELECT unit_code, kind, item_code, min(name), count(*), sum(amount_vnd) '
                f'FROM "{self.schema}".receipt_lines WHERE issued_on BETWEEN %s AND %s {unit_filter} '
                'GROUP BY unit_code, kind, item_code ORDER BY unit_code, kind, item_code',
                [first_day, last_day, *params]).fetchall()
            refunded = conn.execute(
                f'SELECT coalesce(sum(f.amount_vnd), 0), count(f.*) FROM "{self.schema}".refunds f '
                f'JOIN "{self.schema}".receipts r ON r.invoice_id = f.invoice_id '
                f'WHERE f.refunded_on BETWEEN %s AND %s {unit_filter.replace("unit_code", "r.unit_code")}',
                [first_day, last_day, *params]).fetchone()
        lines = [{"unit_code": r[0], "kind": r[1], "item_code": r[2], "name": r[3], "count": r[4],
                  "amount_vnd": int(r[5])} for r in items]
        return {"unit_code": unit_code, "from": first_day, "to": last_day, "items": lines,
                "collected_vnd": sum(line["amount_vnd"] for line in lines),
                "phi_vnd": sum(line["amount_vnd"] for line in lines if line["kind"] == "phi"),
                "le_phi_vnd": sum(line["amount_vnd"] for line in lines if line["kind"] == "le_phi"),
                "refunded_vnd": int(refunded[0]), "refunds": refunded[1]}
