"""A dossier as it stood at an instant, folded from its history up to that instant.

It folds the services' published events (motcua.*.events.v1), never their stored JSON: the
producers keep them compatible, so every event ever published reads here. Events it does not
know (reads, a new service's events) are counted and otherwise ignored.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Any, Callable, Iterable

from google.protobuf.message import Message

from motcua.intake.events.v1 import events_pb2 as intake_events
from motcua.workflow.events.v1 import events_pb2 as workflow_events

from motcua_common.province.dossier_rules import (CASE_NATIONAL_STATUS, ON_TIME, NationalStatus, case_state_after, outcome,
                                         stop_end_reason_from_text)


@dataclass(frozen=True)
class HistoryEntry:
    service: str
    event_type: str  # the stored event's name, as the audit history shows it
    recorded_at: datetime
    data: dict[str, Any]  # the stored event's data (shown, never folded)
    is_read: bool = False
    published_type: str = ""
    published: bytes = b""


@dataclass
class DossierState:
    dossier_id: str = ""
    dossier_code: str = ""
    national_status: int = 0
    status: str = ""
    procedure_code: str = ""
    unit_code: str = ""
    steps: list[dict] = field(default_factory=list)
    due_at: datetime | None = None
    classification: str = ""  # the end against the appointment: early, on_time, late
    end_reason: str = ""  # processed, withdrawn, refused, stopped (dossier_rules.END_REASONS)
    overdue: bool = False
    result_sha256: str = ""  # the signed result document, once signed
    events_applied: int = 0
    last_event_at: datetime | None = None

    @property
    def progress_766(self) -> str:
        return outcome(self.end_reason, self.classification).progress_766

    @property
    def operational_outcome(self) -> str:
        return outcome(self.end_reason, self.classification).operational


def _case_moved(s: DossierState, transition: str) -> None:
    """The case's own transition table (one source with workflow's aggregate and read model), by
    the transition's name in dossier_rules.CASE_TRANSITIONS (the published message's, less "Case")."""
    state = case_state_after(transition)
    if state is not None:
        s.status, s.national_status = state, int(CASE_NATIONAL_STATUS[state])


def _time(ts: Any) -> datetime | None:
    return ts.ToDatetime(tzinfo=timezone.utc) if ts.ByteSize() else None


def _registered(s: DossierState, m: intake_events.DossierRegistered) -> None:
    s.dossier_code = m.code or s.dossier_code
    s.procedure_code = m.procedure_code
    s.status, s.national_status = "new", int(NationalStatus.NEW)


def _intake_supplement_requested(s: DossierState, m: intake_events.IntakeSupplementRequested) -> None:
    s.status, s.national_status = "supplement_requested", int(NationalStatus.SUPPLEMENT_REQUESTED)


def _refused(s: DossierState, m: intake_events.DossierRefused) -> None:
    """Refused at the desk: it ends there, never received, so no appointment was missed."""
    s.status, s.national_status = "refused", int(NationalStatus.NOT_RECEIVED)
    s.end_reason, s.classification = "refused", ON_TIME


def _received(s: DossierState, m: intake_events.DossierReceived) -> None:
    s.dossier_code = m.code or s.dossier_code
    s.procedure_code = m.procedure_code
    s.unit_code = m.handling_unit_code
    s.due_at = _time(m.appointment_at)
    s.status, s.national_status = "received", int(NationalStatus.RECEIVED)


def _withdrawn(s: DossierState, m: intake_events.DossierWithdrawn) -> None:
    s.status, s.national_status = "withdrawn", int(NationalStatus.WITHDRAWAL_REQUESTED)


def _opened(s: DossierState, m: workflow_events.CaseOpened) -> None:
    s.unit_code = m.unit_code or s.unit_code
    s.due_at = _time(m.due_at) or s.due_at
    opened_at = _time(m.opened_at)
    s.steps = [{"index": st.index, "name": st.name, "unit_code": st.unit_code,
                "status": "in_progress" if i == 0 else "pending", "started_at": opened_at if i == 0 else None,
                "completed_at": None, "completed_by": ""} for i, st in enumerate(m.steps)]
    _case_moved(s, "Opened")


def _step_started(s: DossierState, m: workflow_events.StepStarted) -> None:
    if 0 <= m.index < len(s.steps):
        s.steps[m.index] = {**s.steps[m.index], "status": "in_progress", "started_at": _time(m.started_at)}


def _step_completed(s: DossierState, m: workflow_events.StepCompleted) -> None:
    if 0 <= m.index < len(s.steps):
        s.steps[m.index] = {**s.steps[m.index], "status": "completed", "completed_at": _time(m.completed_at),
                            "completed_by": m.completed_by}


def _paused(s: DossierState, m: workflow_events.CaseSupplementRequested) -> None:
    _case_moved(s, "SupplementRequested")


def _resumed(s: DossierState, m: workflow_events.CaseResumed) -> None:
    _case_moved(s, "Resumed")
    s.due_at = _time(m.due_at) or s.due_at


def _extended(s: DossierState, m: workflow_events.DeadlineExtended) -> None:
    s.due_at = _time(m.new_due_at) or s.due_at


def _overdue(s: DossierState, m: workflow_events.CaseMarkedOverdue) -> None:
    s.overdue = True


def _stopped(s: DossierState, m: workflow_events.CaseStopped) -> None:
    _case_moved(s, "Stopped")
    s.classification = m.classification
    # Published without end_reason (stored version 1 before the field): the same rule as workflow's upcaster.
    s.end_reason = m.end_reason or stop_end_reason_from_text(m.reason)


def _processed(s: DossierState, m: workflow_events.CaseProcessed) -> None:
    _case_moved(s, "Processed")
    s.classification = m.classification
    s.end_reason = m.end_reason or "processed"


def _assigned(s: DossierState, m: workflow_events.StepAssigned) -> None:
    if 0 <= m.index < len(s.steps):
        s.steps[m.index] = {**s.steps[m.index], "assignee": m.official}


def _transferred(s: DossierState, m: workflow_events.CaseTransferredOut) -> None:
    s.unit_code = m.to_unit or s.unit_code


def _transfer_returned(s: DossierState, m: workflow_events.CaseTransferReturned) -> None:
    s.unit_code = m.home_unit or s.unit_code


def _result_signed(s: DossierState, m: workflow_events.ResultSigned) -> None:
    s.result_sha256 = m.sha256


def _result_returned(s: DossierState, m: workflow_events.ResultReturned) -> None:
    _case_moved(s, "ResultReturned")  # the end stays "processed": the first of the two


def _moved_after_payment(s: DossierState, m: workflow_events.CaseClockResumedAfterPayment) -> None:
    """The clock stood still while the fee was unpaid: the due time moved (the status is unchanged)."""
    s.due_at = _time(m.due_at) or s.due_at


_FOLDS: list[tuple[type[Message], Callable[[DossierState, Any], None]]] = [
    (intake_events.DossierRegistered, _registered),
    (intake_events.IntakeSupplementRequested, _intake_supplement_requested),
    (intake_events.DossierRefused, _refused),
    (intake_events.DossierReceived, _received),
    (intake_events.DossierWithdrawn, _withdrawn),
    (workflow_events.CaseOpened, _opened),
    (workflow_events.StepStarted, _step_started),
    (workflow_events.StepCompleted, _step_completed),
    (workflow_events.CaseSupplementRequested, _paused),
    (workflow_events.CaseResumed, _resumed),
    (workflow_events.DeadlineExtended, _extended),
    (workflow_events.CaseMarkedOverdue, _overdue),
    (workflow_events.CaseStopped, _stopped),
    (workflow_events.CaseProcessed, _processed),
    (workflow_events.StepAssigned, _assigned),
    (workflow_events.CaseTransferredOut, _transferred),
    (workflow_events.CaseTransferReturned, _transfer_returned),
    (workflow_events.ResultSigned, _result_signed),
    (workflow_events.ResultReturned, _result_returned),
    (workflow_events.CaseClockResumedAfterPayment, _moved_after_payment),
]
#: published type -> (message class, fold)
APPLY = {cls.DESCRIPTOR.full_name: (cls, fold) for cls, fold in _FOLDS}


def state_as_of(dossier_id: str, entries: Iterable[HistoryEntry], as_of: datetime) -> DossierState | None:
    """The state after every entry recorded at or before `as_of` (None: nothing was recorded yet)."""
    state = DossierState(dossier_id=dossier_id)
    for entry in entries:
        if entry.recorded_at > as_of:
            break
        if entry.is_read:
            continue
        known = APPLY.get(entry.published_type)
        if known is not None:
            cls, fold = known
            message = cls()
            message.ParseFromString(entry.published)
            fold(state, message)
        state.events_applied += 1
        state.last_event_at = entry.recorded_at
    if state.events_applied == 0:
        return None
    return replace(state, steps=[dict(s) for s in state.steps])
