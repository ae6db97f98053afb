"""Case summaries: the work-queue table behind ListCases, written in the same
transaction as the case's events and rebuildable from workflow's log."""
from __future__ import annotations

from typing import Any, Iterable, Sequence

from motcua_common.dossier_rules import case_state_after
from motcua_common.eventstore import ReadModel

COLUMNS = ("case_id", "dossier_id", "dossier_code", "procedure_code", "unit_code", "status", "due_at",
           "current_step", "version", "overdue", "assignee", "due_soon_for", "step_names", "end_reason",
           "classification")
FINISHED = ("processed", "stopped", "returned")  # not in an active queue


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
        name = type(e).__qualname__
        if name == "Case.Opened":
            yield (f"INSERT INTO {self.table} ({', '.join(COLUMNS)}) VALUES ({', '.join(['%s'] * len(COLUMNS))})",
                   (e.originator_id, e.dossier_id, e.dossier_code, e.procedure_code, e.unit_code,
                    case_state_after(name), e.due_at, 0, e.originator_version, False, "", None,
                    [s["name"] for s in e.steps], "", ""))
        elif name == "Case.StepStarted":
            yield (f"UPDATE {self.table} SET current_step = %s, assignee = '', version = %s WHERE case_id = %s",
                   (e.index, e.originator_version, e.originator_id))
        elif name == "Case.StepAssigned":
            yield (f"UPDATE {self.table} SET assignee = %s, version = %s WHERE case_id = %s",
                   (e.official, e.originator_version, e.originator_id))
        elif name == "Case.TransferredOut":
            yield (f"UPDATE {self.table} SET unit_code = %s, version = %s WHERE case_id = %s",
                   (e.to_unit, e.originator_version, e.originator_id))
        elif name == "Case.TransferReturned":
            yield (f"UPDATE {self.table} SET unit_code = %s, version = %s WHERE case_id = %s",
                   (e.home_unit, e.originator_version, e.originator_id))
        elif name == "Case.ResultReturned":
            yield (f"UPDATE {self.table} SET status = %s, assignee = '', version = %s WHERE case_id = %s",
                   (case_state_after(name), e.originator_version, e.originator_id))
        elif name == "Case.SupplementRequested":
            yield (f"UPDATE {self.table} SET status = %s, version = %s WHERE case_id = %s",
                   (case_state_after(name), e.originator_version, e.originator_id))
        elif name == "Case.Resumed":
            yield (f"UPDATE {self.table} SET status = %s, due_at = %s, version = %s WHERE case_id = %s",
                   (case_state_after(name), e.due_at, e.originator_version, e.originator_id))
        elif name == "Case.DeadlineExtended":
            yield (f"UPDATE {self.table} SET due_at = %s, version = %s WHERE case_id = %s",
                   (e.new_due_at, e.originator_version, e.originator_id))
        elif name == "Case.MarkedOverdue":
            yield (f"UPDATE {self.table} SET overdue = true, version = %s WHERE case_id = %s",
                   (e.originator_version, e.originator_id))
        elif name == "Case.MarkedDueSoon":
            yield (f"UPDATE {self.table} SET due_soon_for = %s, version = %s WHERE case_id = %s",
                   (e.due_at, e.originator_version, e.originator_id))
        elif name == "Case.Stopped":
            yield (f"UPDATE {self.table} SET status = %s, assignee = '', end_reason = %s, classification = %s, "
                   "version = %s WHERE case_id = %s",
                   (case_state_after(name), e.end_reason, e.classification, e.originator_version, e.originator_id))
        elif name == "Case.Processed":
            yield (f"UPDATE {self.table} SET status = %s, assignee = '', end_reason = 'processed', classification = %s, "
                   "version = %s WHERE case_id = %s",
                   (case_state_after(name), e.classification, e.originator_version, e.originator_id))
        elif name.startswith("Case."):
            yield (f"UPDATE {self.table} SET version = %s WHERE case_id = %s", (e.originator_version, e.originator_id))
