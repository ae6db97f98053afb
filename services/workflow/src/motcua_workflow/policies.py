"""Workflow's reactions to other services' events."""
from __future__ import annotations

from uuid import UUID

from motcua_common.consumer import UnitOfWork
from motcua_common.eventstore import LoggedEvent
from motcua_common.logs import bound, get_logger

from motcua_workflow.domain.case import Case
from motcua_workflow.domain.templates import ProcessTemplates

log = get_logger()


class OpenCaseOnReceipt:
    """A dossier received at intake gets exactly one processing case."""

    handles = frozenset({"Dossier.Received"})

    def __init__(self, province: str, templates: ProcessTemplates) -> None:
        self.province = province
        self.templates = templates

    def __call__(self, event: LoggedEvent, work: UnitOfWork) -> None:
        data = event.data
        dossier_id = event.originator_id
        # No look-up for an existing case: the tracking check makes each event apply once, and the
        # case id derived from the dossier would make a second opening fail loudly, never silently.
        plan = self.templates.plan(data["procedure_code"], data["handling_unit_code"], data["deadline_working_days"])
        case = Case.open(self.province, dossier_id, data["code"], data["procedure_code"], data["handling_unit_code"],
                         received_at=data["received_at"], due_at=data["appointment_at"], plan=plan,
                         opened_at=data["received_at"])
        work.add(case)
        with bound(dossier_code=data["code"]):
            log.info("case_opened", case_id=str(case.id), upstream_position=event.position)


