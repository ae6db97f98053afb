"""Workflow's use cases in memory: the work queue and the result files held in dicts, changed by the
same mapping of events to rows the PostgreSQL adapters apply in the events' transaction
(application.CaseQueue, ResultStore)."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Callable, Sequence
from uuid import UUID, uuid4

from motcua_common.events.context import Actor, CommandContext, command_context, concerning

from motcua_common.province.dossier_rules import IN_PROGRESS

from motcua_workflow.adapters.read_model import COLUMNS, FINISHED, opened_row, summary_changes
from motcua_workflow.domain.case import Case


class InMemoryCaseQueue:
    def __init__(self) -> None:
        self.summaries: dict[UUID, dict] = {}

    def hook_for(self, domain_events: Sequence[Any]) -> Callable[[Any], None] | None:
        cases = [e for e in domain_events if type(e).__qualname__.startswith("Case.")]
        if not cases:
            return None
        return lambda _cursor: [self._apply(e) for e in cases]  # type: ignore[func-returns-value]

    def _apply(self, e: Any) -> None:
        row = opened_row(e)
        if row is not None:
            self.summaries[e.originator_id] = row
            return
        self.summaries[e.originator_id].update(summary_changes(e))

    def case_id_for(self, dossier_code: str) -> UUID | None:
        return next((s["case_id"] for s in self.summaries.values() if s["dossier_code"] == dossier_code), None)

    def access_target(self, case_id: UUID | None = None, dossier_code: str = "") -> dict | None:
        found = (self.summaries.get(case_id) if case_id is not None
                 else next((s for s in self.summaries.values() if s["dossier_code"] == dossier_code), None))
        return dict(found) if found else None

    def page(self, *, unit_code: str, assignee: str, status: str | None, include_finished: bool,
             after: tuple[datetime, UUID] | None, limit: int, units: frozenset[str] | None = None) -> list[dict]:
        def wanted(s: dict) -> bool:
            return ((not unit_code or s["unit_code"] == unit_code) and (not assignee or s["assignee"] == assignee)
                    and (units is None or s["unit_code"] in units)
                    and (s["status"] == status if status else include_finished or s["status"] not in FINISHED)
                    and (after is None or (s["due_at"], s["case_id"]) > after))

        found = sorted((s for s in self.summaries.values() if wanted(s)), key=lambda s: (s["due_at"], s["case_id"]))
        return [dict(s) for s in found[:limit]]

    def _open(self) -> list[dict]:
        return sorted((s for s in self.summaries.values() if s["status"] == IN_PROGRESS), key=lambda s: s["due_at"])

    def overdue_candidates(self, now: datetime, limit: int) -> list[UUID]:
        return [s["case_id"] for s in self._open() if not s["overdue"] and s["due_at"] < now][:limit]

    def due_soon_candidates(self, now: datetime, horizon: datetime, limit: int) -> list[UUID]:
        return [s["case_id"] for s in self._open()
                if not s["overdue"] and now < s["due_at"] < horizon and s["due_soon_for"] != s["due_at"]][:limit]

    def overdue_by_unit(self, now: datetime) -> dict[str, int]:
        counts: dict[str, int] = {}
        for s in self._open():
            if s["due_at"] < now:
                counts[s["unit_code"]] = counts.get(s["unit_code"], 0) + 1
        return counts

    def rows(self) -> list[tuple]:
        return [tuple(s[c] for c in COLUMNS) for _, s in sorted(self.summaries.items())]


class InMemoryResultStore:
    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}

    def store_hook(self, sha256: str, media_type: str, content: bytes) -> Callable[[Any], None]:
        return lambda _cursor: self.files.setdefault(sha256, content)  # type: ignore[func-returns-value]

    def get(self, sha256: str) -> bytes | None:
        return self.files.get(sha256)


def open_test_case(app: Any, plan: list, calendar: Any, due_in_days: int, unit: str,
                   dossier_id: UUID | None = None) -> Case:
    """A case as workflow's intake policy opens it (the policy itself is tested with the consumer)."""
    dossier_id = dossier_id or uuid4()
    now = app.clock.now()
    with command_context(CommandContext(Actor.system("test"), app.province, app.clock)), concerning(dossier_id):
        case = Case.open(app.province, dossier_id, f"{unit}-261123-{dossier_id.int % 10000:04d}", "1.004873", unit,
                         now, calendar.add_working_days(now, due_in_days), plan, now)
    app.record(case)
    return case
