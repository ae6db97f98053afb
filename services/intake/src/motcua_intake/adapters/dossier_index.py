"""The dossier index behind SearchDossiers: one row per dossier (code, procedure, receiving unit,
national status as intake knows it, dates; searched and shown with status 6 while payment's standing
says the fee due before processing is unpaid, the rule GetDossier applies), written in the same transaction as the dossier's
events and rebuildable from intake's log. No personal data: an applicant is only their
pseudonymous subject id, which the edge matches against a signed-in citizen's (own dossiers), and
the integrator client that submitted it (own_client)."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Iterable, Sequence
from uuid import UUID

from motcua_common.events.store import ReadModel
from motcua_common.province.search_text import fold

from motcua_intake.domain.payment_status import shown_status_sql

COLUMNS = ("dossier_id", "pending_id", "dossier_code", "procedure_code", "receiving_agency_code", "channel",
           "national_status", "received_at", "appointment_at", "version", "applicant_subject", "client")


def applicant_subject(e: Any) -> UUID | None:
    subject = (getattr(e, "applicant", None) or {}).get("subject_id")
    return UUID(str(subject)) if subject else None


def submitting_client(e: Any) -> str:
    """The integrator client that submitted the dossier (empty for officials and citizens)."""
    actor = (getattr(e, "envelope", None) or {}).get("actor") or {}
    return str(actor.get("client") or "") if actor.get("kind") == "integrator" else ""


def access_filter(reach: Any) -> tuple[list[str], list[Any]]:
    """SQL conditions limiting a search to what the caller may list (edge.access.listing())."""
    if reach is None or reach.everything:
        return [], []
    if reach.units:
        return ["receiving_agency_code = ANY(%s)"], [sorted(reach.units)]
    if reach.applicant:
        return ["applicant_subject = %s"], [UUID(reach.applicant)]
    if reach.client:
        return ["client = %s"], [reach.client]
    return ["false"], []


def within_reach(reach: Any, row: dict) -> bool:
    """The same rule as access_filter, for one row (the in-memory index)."""
    if reach is None or reach.everything:
        return True
    if reach.units:
        return row["receiving_agency_code"] in reach.units
    if reach.applicant:
        return str(row["applicant_subject"]) == reach.applicant
    if reach.client:
        return row["client"] == reach.client
    return False


class DossierIndex(ReadModel):
    def __init__(self, schema: str, table: str | None = None) -> None:
        self.table = table or f'"{schema}".dossier_index'
        self.tables = (self.table,)

    @staticmethod
    def create_table(conn: Any, schema: str) -> None:
        conn.execute(
            f'CREATE TABLE IF NOT EXISTS "{schema}".dossier_index ('
            "dossier_id uuid PRIMARY KEY, pending_id uuid UNIQUE, dossier_code text NOT NULL UNIQUE, "
            "procedure_code text NOT NULL, receiving_agency_code text NOT NULL, channel text NOT NULL, "
            "national_status integer NOT NULL, received_at timestamptz NOT NULL, appointment_at timestamptz, "
            "version bigint NOT NULL, applicant_subject uuid, client text NOT NULL DEFAULT '')")
        # Added with access control: indexes created before it gain the columns (`motcua-replay` fills them).
        conn.execute(f'ALTER TABLE "{schema}".dossier_index ADD COLUMN IF NOT EXISTS applicant_subject uuid, '
                     "ADD COLUMN IF NOT EXISTS client text NOT NULL DEFAULT ''")
        conn.execute(f'CREATE INDEX IF NOT EXISTS dossier_index_applicant ON "{schema}".dossier_index (applicant_subject)')
        conn.execute(f'CREATE INDEX IF NOT EXISTS dossier_index_received ON "{schema}".dossier_index '
                     "(received_at DESC, dossier_id DESC)")

    def statements(self, e: Any) -> Iterable[tuple[str, Sequence[Any]]]:
        name = type(e).__qualname__
        if name == "PendingDossier.Registered":
            yield (f"INSERT INTO {self.table} ({', '.join(COLUMNS)}) VALUES ({', '.join(['%s'] * len(COLUMNS))})",
                   (e.dossier_id, e.originator_id, e.code, e.procedure_code, e.receiving_agency_code, e.channel, 1,
                    e.registered_at, None, e.originator_version, applicant_subject(e), submitting_client(e)))
        elif name == "Dossier.Received":
            # A registered dossier that became complete keeps its row (and its registration time's place).
            yield (f"INSERT INTO {self.table} ({', '.join(COLUMNS)}) VALUES ({', '.join(['%s'] * len(COLUMNS))}) "
                   "ON CONFLICT (dossier_id) DO UPDATE SET national_status = 2, received_at = excluded.received_at, "
                   "appointment_at = excluded.appointment_at, version = excluded.version",
                   (e.originator_id, None, e.code, e.procedure_code, e.receiving_agency_code, e.channel, 2,
                    e.received_at, e.appointment_at, e.originator_version, applicant_subject(e),
                    submitting_client(e)))
        elif name == "Dossier.Withdrawn":
            yield (f"UPDATE {self.table} SET national_status = 7, version = %s WHERE dossier_id = %s",
                   (e.originator_version, e.originator_id))
        elif name.startswith("Dossier."):
            yield (f"UPDATE {self.table} SET version = %s WHERE dossier_id = %s", (e.originator_version, e.originator_id))
        elif name in ("PendingDossier.SupplementRequested", "PendingDossier.Refused"):
            status = 5 if name.endswith("SupplementRequested") else 3
            yield (f"UPDATE {self.table} SET national_status = %s, version = %s "
                   "WHERE pending_id = %s AND national_status <> 2",
                   (status, e.originator_version, e.originator_id))
        elif name.startswith("PendingDossier."):
            yield (f"UPDATE {self.table} SET version = %s WHERE pending_id = %s AND national_status <> 2",
                   (e.originator_version, e.originator_id))


def _like_escaped(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class PostgresDossierIndex(DossierIndex):
    """The dossier index as SearchDossiers queries it (application.DossierSearch)."""

    def __init__(self, pool: Any, schema: str) -> None:
        super().__init__(schema)
        self.pool = pool
        # National status 6 as GetDossier shows it (domain.payment_status), from payment's standing.
        self.payment_standing = f'"{schema}".payment_standing'
        self.shown_status = shown_status_sql("national_status", "awaiting_payment")

    def search(self, query: Any, procedure_codes: list[str] | None, after: tuple[datetime, UUID] | None,
               limit: int) -> list[dict]:
        where, params = ["true"], []  # type: ignore[var-annotated]
        if query.dossier_code:
            where.append("lower(dossier_code) LIKE %s ESCAPE '\\'")
            params.append(f"%{_like_escaped(fold(query.dossier_code.strip()))}%")
        if procedure_codes is not None:
            where.append("procedure_code = ANY(%s)")
            params.append(procedure_codes)
        if query.unit_code:
            where.append("receiving_agency_code = %s")
            params.append(query.unit_code)
        if query.national_status:
            where.append(f"{self.shown_status} = %s")
            params.append(query.national_status)
        if query.received_from is not None:
            where.append("received_at >= %s")
            params.append(query.received_from)
        if query.received_until is not None:
            where.append("received_at < %s")
            params.append(query.received_until)
        if after is not None:
            where.append("(received_at, dossier_id) < (%s, %s)")
            params += [after[0], after[1]]
        limits, values = access_filter(query.reach)
        where += limits
        params += values
        with self.pool.connection() as conn:
            shown = ", ".join(f"{self.shown_status} AS national_status" if c == "national_status" else c
                              for c in COLUMNS)
            rows = conn.execute(f"SELECT {shown} FROM {self.table} LEFT JOIN {self.payment_standing} "
                                "USING (dossier_id) "
                                f"WHERE {' AND '.join(where)} ORDER BY received_at DESC, dossier_id DESC LIMIT %s",
                                (*params, limit)).fetchall()
        return [dict(zip(COLUMNS, r)) for r in rows]

    def access_target(self, dossier_id: UUID | None = None, code: str = "") -> dict | None:
        """(unit, applicant subject, client, id, code) of one dossier, for the edge to decide on."""
        column, value = ("dossier_id", dossier_id) if dossier_id is not None else ("dossier_code", code)
        with self.pool.connection() as conn:
            row = conn.execute(f"SELECT {', '.join(COLUMNS)} FROM {self.table} WHERE {column} = %s",
                               (value,)).fetchone()
        return dict(zip(COLUMNS, row)) if row else None
