"""Process templates: how a procedure's deadline is shared between its steps."""
from __future__ import annotations

from dataclasses import dataclass

from motcua_common.province.working_calendar import HOURS_PER_WORKING_DAY

from motcua_workflow.domain.case import StepPlan


@dataclass(frozen=True)
class StepTemplate:
    code: str
    name: str
    role: str
    unit: str  # "handling" or a unit code
    share: float


class ProcessTemplates:
    def __init__(self, default: list[StepTemplate], by_procedure: dict[str, list[StepTemplate]]) -> None:
        self._default = default
        self._by_procedure = by_procedure

    def plan(self, procedure_code: str, handling_unit: str, deadline_working_days: float) -> list[StepPlan]:
        total_hours = deadline_working_days * HOURS_PER_WORKING_DAY
        return [
            StepPlan(code=t.code, name=t.name, role=t.role,
                     unit_code=handling_unit if t.unit == "handling" else t.unit,
                     allotted_working_hours=round(total_hours * t.share, 2))
            for t in self._by_procedure.get(procedure_code, self._default)
        ]
