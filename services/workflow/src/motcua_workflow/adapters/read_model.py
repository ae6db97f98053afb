"""Case summaries: the work-queue table behind ListCases, written in the same
transaction as the case's events and rebuildable from workflow's log."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Iterable, Sequence
from uuid import UUID

from motcua_common.province.dossier_rules import CLOSED_CASE_STATES, IN_PROGRESS, case_state_after
from motcua_common.events.store import ReadModel

COLUMNS = ("case_id", "dossier_id", "dossier_code", "procedure_code", "unit_code", "status", "due_at",
           "current_step", "version", "overdue", "assignee", "due_soon_for", "step_names", "end_reason",
           "classification")
FINISHED = tuple(sorted(CLOSED_CASE_STATES))  # not in an active queue


class CaseSummaries(ReadModel):
    def __init__(self, schema: str, table: str | None = None) -> None:
        self.table = table or f'"{schema}".case_summaries'
        self.tables = (self.table,)

    @staticmethod
    def create_table(conn: Any, schema: str) -> None:
        conn.execute(
            f'CREATE TABLE IF NOT EXISTS "{schema}".case_summaries ('
            "case_id uuid PRIMARY KEY, dossier_id uuid NOT NULL UNIQUE, dossier_code text NOT NULL UNIQUE, "
            "procedure_code text NOT NULL, unit_code text NOT NULL, status text NOT NULL, "
            "due_at timestamptz NOT NULL, current_step integer NOT NULL, version bigint NOT NULL)"
        )
        # Added after the first release of the table: existing databases gain it here.
        conn.execute(f'ALTER TABLE "{schema}".case_summaries ADD COLUMN IF NOT EXISTS overdue boolean NOT NULL DEFAULT false')
        conn.execute(f'ALTER TABLE "{schema}".case_summaries ADD COLUMN IF NOT EXISTS assignee text NOT NULL DEFAULT \'\'')
        conn.execute(f'ALTER TABLE "{schema}".case_summaries ADD COLUMN IF NOT EXISTS due_soon_for timestamptz')
        # Rows written before this column have no step names until `motcua-replay rebuild workflow`.
        conn.execute(f'ALTER TABLE "{schema}".case_summaries ADD COLUMN IF NOT EXISTS step_names text[] NOT NULL '
                     "DEFAULT '{}'")
        # Why and how a case ended (rebuild the table from the log to fill them for cases ended before).
        conn.execute(f'ALTER TABLE "{schema}".case_summaries ADD COLUMN IF NOT EXISTS end_reason text NOT NULL DEFAULT \'\'')
        conn.execute(f'ALTER TABLE "{schema}".case_summaries ADD COLUMN IF NOT EXISTS classification text NOT NULL DEFAULT \'\'')
        conn.execute(
            f'CREATE INDEX IF NOT EXISTS case_summaries_queue ON "{schema}".case_summaries (unit_code, status, due_at, case_id)'
        )
        conn.execute(f'CREATE INDEX IF NOT EXISTS case_summaries_by_official ON "{schema}".case_summaries '
                     "(assignee, status, due_at, case_id)")

    def statements(self, e: Any) -> Iterable[tuple[str, Sequence[Any]]]:
        row = opened_row(e)
        if row is not None:
            yield (f"INSERT INTO {self.table} ({', '.join(COLUMNS)}) VALUES ({', '.join(['%s'] * len(COLUMNS))})",
                   tuple(row[c] for c in COLUMNS))
            return
        changes = summary_changes(e)
        if changes:
            yield (f"UPDATE {self.table} SET {', '.join(f'{c} = %s' for c in changes)} WHERE case_id = %s",
                   (*changes.values(), e.originator_id))


def opened_row(e: Any) -> dict | None:
    """A new case's summary row (None for any other event)."""
    if type(e).__qualname__ != "Case.Opened":
        return None
    return dict(zip(COLUMNS, (e.originator_id, e.dossier_id, e.dossier_code, e.procedure_code, e.unit_code,
                              case_state_after("Case.Opened"), e.due_at, 0, e.originator_version, False, "", None,
                              [s["name"] for s in e.steps], "", "")))


def summary_changes(e: Any) -> dict:
    """What a case event changes in its summary row: the one mapping behind the table and the
    in-memory queue of the unit tests."""
    name = type(e).__qualname__
    if not name.startswith("Case.") or name == "Case.Opened":
        return {}
    state = case_state_after(name)
    changes: dict = {}
    if name == "Case.StepStarted":
        changes = {"current_step": e.index, "assignee": ""}
    elif name == "Case.StepAssigned":
        changes = {"assignee": e.official}
    elif name == "Case.TransferredOut":
        changes = {"unit_code": e.to_unit}
    elif name == "Case.TransferReturned":
        changes = {"unit_code": e.home_unit}
    elif name == "Case.Resumed":
        changes = {"status": state, "due_at": e.due_at}
    elif name == "Case.ClockResumedAfterPayment":
        changes = {"due_at": e.due_at}
    elif name == "Case.DeadlineExtended":
        changes = {"due_at": e.new_due_at}
    elif name == "Case.MarkedOverdue":
        changes = {"overdue": True}
    elif name == "Case.MarkedDueSoon":
        changes = {"due_soon_for": e.due_at}
    elif name == "Case.Stopped":
        changes = {"status": state, "assignee": "", "end_reason": e.end_reason, "classification": e.classification}
    elif name == "Case.Processed":
        changes = {"status": state, "assignee": "", "end_reason": "processed", "classification": e.classification}
    elif state is not None:  # e.g. ResultReturned, SupplementRequested
        changes = {"status": state}
        if name == "Case.ResultReturned":
            changes["assignee"] = ""
    changes["version"] = e.originator_version
    return changes


class PostgresCaseQueue(CaseSummaries):
    """The case summaries table as the use cases query it (application.CaseQueue)."""

    def __init__(self, pool: Any, schema: str) -> None:
        super().__init__(schema)
        self.pool = pool

    def case_id_for(self, dossier_code: str) -> UUID | None:
        with self.pool.connection() as conn:
            row = conn.execute(f"SELECT case_id FROM {self.table} WHERE dossier_code = %s", (dossier_code,)).fetchone()
        return row[0] if row else None

    def access_target(self, case_id: UUID | None = None, dossier_code: str = "") -> dict | None:
        """One case's summary (by case id or dossier code), for the edge to decide on; None if none."""
        column, value = ("case_id", case_id) if case_id is not None else ("dossier_code", dossier_code)
        with self.pool.connection() as conn:
            row = conn.execute(f"SELECT {', '.join(COLUMNS)} FROM {self.table} WHERE {column} = %s",
                               (value,)).fetchone()
        return dict(zip(COLUMNS, row)) if row else None

    def page(self, *, unit_code: str, assignee: str, status: str | None, include_finished: bool,
             after: tuple[datetime, UUID] | None, limit: int, units: frozenset[str] | None = None) -> list[dict]:
        """`units`: only cases at these units (what the caller may see); None: every unit."""
        where, params = [], []  # type: ignore[var-annotated]
        if units is not None:
            where.append("unit_code = ANY(%s)")
            params.append(sorted(units))
        if unit_code:
            where.append("unit_code = %s")
            params.append(unit_code)
        if assignee:
            where.append("assignee = %s")
            params.append(assignee)
        if status:
            where.append("status = %s")
            params.append(status)
        elif not include_finished:
            where.append("status <> ALL(%s)")
            params.append(list(FINISHED))
        if after is not None:
            where.append("(due_at > %s OR (due_at = %s AND case_id > %s))")
            params.extend([after[0], after[0], after[1]])
        with self.pool.connection() as conn:
            rows = conn.execute(
                f"SELECT {', '.join(COLUMNS)} FROM {self.table} WHERE {' AND '.join(where) or 'true'} "
                "ORDER BY due_at, case_id LIMIT %s", (*params, limit)).fetchall()
        return [dict(zip(COLUMNS, r)) for r in rows]

    def overdue_candidates(self, now: datetime, limit: int) -> list[UUID]:
        with self.pool.connection() as conn:
            return [r[0] for r in conn.execute(
                f"SELECT case_id FROM {self.table} WHERE status = %s AND NOT overdue "
                "AND due_at < %s ORDER BY due_at LIMIT %s", (IN_PROGRESS, now, limit)).fetchall()]

    def due_soon_candidates(self, now: datetime, horizon: datetime, limit: int) -> list[UUID]:
        with self.pool.connection() as conn:
            return [r[0] for r in conn.execute(
                f"SELECT case_id FROM {self.table} WHERE status = %s AND NOT overdue "
                "AND due_at > %s AND due_at < %s AND due_soon_for IS DISTINCT FROM due_at ORDER BY due_at LIMIT %s",
                (IN_PROGRESS, now, horizon, limit)).fetchall()]

    def overdue_by_unit(self, now: datetime) -> dict[str, int]:
        with self.pool.connection() as conn:
            return dict(conn.execute(f"SELECT unit_code, count(*) FROM {self.table} "
                                     "WHERE status = %s AND due_at < %s GROUP BY unit_code",
                                     (IN_PROGRESS, now)).fetchall())

    def rows(self) -> list[tuple]:
        with self.pool.connection() as conn:
            return conn.execute(f"SELECT {', '.join(COLUMNS)} FROM {self.table} ORDER BY case_id").fetchall()
