"""Workflow's reactions to other services' events."""
from __future__ import annotations


from typing import Callable

from motcua_common.events.consumer import UnitOfWork
from motcua_common.events.store import LoggedEvent
from motcua_common.observability.logs import bound, get_logger

from motcua_workflow.domain.case import PROCESSED, STOPPED, Case, WorkingTime
from motcua_workflow.domain.templates import ProcessTemplates

log = get_logger()


class IntakePolicies:
    """Workflow's reactions to intake: a received dossier gets exactly one processing case; a
    withdrawn one has its processing stopped."""

    handles = frozenset({"Dossier.Received", "Dossier.Withdrawn"})

    def __init__(self, province: str, templates: ProcessTemplates, calendar_of: Callable[[Case], WorkingTime]) -> None:
        self.province = province
        self.templates = templates
        self.calendar_of = calendar_of

    def __call__(self, event: LoggedEvent, work: UnitOfWork) -> None:
        if event.name == "Dossier.Withdrawn":
            self._stop_on_withdrawal(event, work)
        else:
            self._open_case(event, work)

    def _stop_on_withdrawal(self, event: LoggedEvent, work: UnitOfWork) -> None:
        case = work.get(Case.id_for(self.province, event.originator_id))
        if case is None or case.status in (PROCESSED, STOPPED):
            log.info("withdrawal_after_processing", upstream_position=event.position)
            return
        # The withdrawal's own time, not now: a replay gives the same classification.
        case.stop(f"Người nộp rút hồ sơ: {event.data['reason']}", now=event.data["timestamp"],
                  calendar=self.calendar_of(case), end_reason="withdrawn")
        work.add(case)

    def _open_case(self, event: LoggedEvent, work: UnitOfWork) -> None:
        data = event.data
        dossier_id = event.originator_id
        # No look-up for an existing case: the tracking check makes each event apply once, and the
        # case id derived from the dossier would make a second opening fail loudly, never silently.
        plan = self.templates.plan(data["procedure_code"], data["handling_unit_code"], data["deadline_working_days"])
        case = Case.open(self.province, dossier_id, data["code"], data["procedure_code"], data["handling_unit_code"],
                         received_at=data["received_at"], due_at=data["appointment_at"], plan=plan,
                         # After 15:00 the dossier reaches the unit at the next working day's start
                         # (stored data, not upcast: version-1 events have no forwarded_at).
                         opened_at=data.get("forwarded_at", data["received_at"]),
                         calendar_group=data.get("calendar_group"))
        work.add(case)
        with bound(dossier_code=data["code"]):
            log.info("case_opened", case_id=str(case.id), upstream_position=event.position)


