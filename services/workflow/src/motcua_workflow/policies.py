"""Workflow's reactions to other services' events: intake's published events
(motcua.intake.events.v1), never intake's stored JSON."""
from __future__ import annotations


from typing import Callable
from uuid import UUID

from motcua.intake.events.v1 import events_pb2 as intake_events
from motcua_common.events.consumer import UnitOfWork
from motcua_common.observability.logs import bound, get_logger
from motcua_common.events.published import PublishedEvent, to_datetime

from motcua_workflow.domain.case import PROCESSED, STOPPED, Case, WorkingTime
from motcua_workflow.domain.templates import ProcessTemplates

log = get_logger()

RECEIVED = intake_events.DossierReceived.DESCRIPTOR.full_name
WITHDRAWN = intake_events.DossierWithdrawn.DESCRIPTOR.full_name


class IntakePolicies:
    """Workflow's reactions to intake: a received dossier gets exactly one processing case; a
    withdrawn one has its processing stopped."""

    handles = frozenset({RECEIVED, WITHDRAWN})

    def __init__(self, province: str, templates: ProcessTemplates, calendar_of: Callable[[Case], WorkingTime]) -> None:
        self.province = province
        self.templates = templates
        self.calendar_of = calendar_of

    def __call__(self, event: PublishedEvent, work: UnitOfWork) -> None:
        if event.type == WITHDRAWN:
            self._stop_on_withdrawal(event, event.message(intake_events.DossierWithdrawn), work)
        else:
            self._open_case(event, event.message(intake_events.DossierReceived), work)

    def _stop_on_withdrawal(self, event: PublishedEvent, withdrawn: intake_events.DossierWithdrawn,
                            work: UnitOfWork) -> None:
        case = work.get(Case.id_for(self.province, event.dossier_id))
        if case is None or case.status in (PROCESSED, STOPPED):
            log.info("withdrawal_after_processing", upstream_position=event.position)
            return
        # The withdrawal's own time, not now: a replay gives the same classification.
        # Since reasons are sealed in intake (the applicant's words), only old withdrawals carry one.
        reason = f"Người nộp rút hồ sơ: {withdrawn.reason}" if withdrawn.reason else "Người nộp rút hồ sơ"
        case.stop(reason, now=to_datetime(withdrawn.withdrawn_at),
                  calendar=self.calendar_of(case), end_reason="withdrawn")
        work.add(case)

    def _open_case(self, event: PublishedEvent, received: intake_events.DossierReceived, work: UnitOfWork) -> None:
        # No look-up for an existing case: the tracking check makes each event apply once, and the
        # case id derived from the dossier would make a second opening fail loudly, never silently.
        plan = self.templates.plan(received.procedure_code, received.handling_unit_code,
                                   received.deadline_working_days)
        case = Case.open(self.province, UUID(received.dossier_id), received.code, received.procedure_code,
                         received.handling_unit_code, received_at=to_datetime(received.received_at),
                         due_at=to_datetime(received.appointment_at), plan=plan,
                         # After 15:00 the dossier reaches the unit at the next working day's start.
                         opened_at=to_datetime(received.forwarded_at),
                         calendar_group=received.calendar_group or None)
        work.add(case)
        with bound(dossier_code=received.code):
            log.info("case_opened", case_id=str(case.id), upstream_position=event.position)
