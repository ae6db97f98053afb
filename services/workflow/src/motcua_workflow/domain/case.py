"""The processing case of one dossier: its steps, current step and due time."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from eventsourcing.domain import event

from motcua_common.domain import MotcuaAggregate
from motcua_common.errors import InvalidArgument, RuleViolated
from motcua_common.ids import deterministic_id

IN_PROGRESS, PROCESSED = "in_progress", "processed"
NATIONAL_STATUS = {IN_PROGRESS: 4, PROCESSED: 9}


@dataclass(frozen=True)
class StepPlan:
    code: str
    name: str
    role: str
    unit_code: str
    allotted_working_hours: float


class Case(MotcuaAggregate):
    @staticmethod
    def id_for(province: str, dossier_id: UUID) -> UUID:
        """One case per dossier: the id is derived from the dossier, so a second opening cannot be saved."""
        return deterministic_id(province, "case", str(dossier_id))

    @classmethod
    def open(cls, province: str, dossier_id: UUID, dossier_code: str, procedure_code: str, unit_code: str,
             received_at: datetime, due_at: datetime, plan: list[StepPlan], opened_at: datetime) -> "Case":
        if not plan:
            raise RuleViolated("NO_PROCESS_TEMPLATE", f"procedure {procedure_code} has no process steps")
        steps = [
            {"index": i, "code": s.code, "name": s.name, "role": s.role, "unit_code": s.unit_code,
             "allotted_working_hours": s.allotted_working_hours, "status": "pending",
             "started_at": None, "completed_at": None, "completed_by": ""}
            for i, s in enumerate(plan)
        ]
        steps[0] = {**steps[0], "status": "in_progress", "started_at": opened_at}
        return cls(id=cls.id_for(province, dossier_id), dossier_id=dossier_id, dossier_code=dossier_code,
                   procedure_code=procedure_code, unit_code=unit_code, received_at=received_at, due_at=due_at,
                   steps=steps)

    @event("Opened")
    def __init__(self, id: UUID, dossier_id: UUID, dossier_code: str, procedure_code: str, unit_code: str,
                 received_at: datetime, due_at: datetime, steps: list[dict]) -> None:
        self.dossier_id = dossier_id
        self.dossier_code = dossier_code
        self.procedure_code = procedure_code
        self.unit_code = unit_code
        self.received_at = received_at
        self.due_at = due_at
        self.steps = steps
        self.current_step = 0
        self.status = IN_PROGRESS

    @property
    def national_status(self) -> int:
        return NATIONAL_STATUS[self.status]

    def complete_step(self, index: int, by: str, note: str, now: datetime) -> None:
        if self.status != IN_PROGRESS:
            raise RuleViolated("CASE_CLOSED", f"case of dossier {self.dossier_code} is already {self.status}")
        if not 0 <= index < len(self.steps):
            raise InvalidArgument.single("step_index", f"must be between 0 and {len(self.steps) - 1}")
        if index != self.current_step:
            state = "already completed" if index < self.current_step else "not started yet"
            raise RuleViolated("STEP_NOT_CURRENT", f"step {index} is {state}; the current step is {self.current_step}")
        if len(note) > 2000:
            raise InvalidArgument.single("note", "must be at most 2000 characters")
        self._complete_step(index=index, completed_by=by, note=note, completed_at=now)
        if index + 1 < len(self.steps):
            self._start_step(index=index + 1, started_at=now)
        else:
            self._finish(processed_at=now)

    @event("StepCompleted")
    def _complete_step(self, index: int, completed_by: str, note: str, completed_at: datetime) -> None:
        self.steps[index] = {**self.steps[index], "status": "completed", "completed_at": completed_at,
                             "completed_by": completed_by}

    @event("StepStarted")
    def _start_step(self, index: int, started_at: datetime) -> None:
        self.steps[index] = {**self.steps[index], "status": "in_progress", "started_at": started_at}
        self.current_step = index

    @event("Processed")
    def _finish(self, processed_at: datetime) -> None:
        self.status = PROCESSED
        self.processed_at = processed_at
