"""A dossier as it stood at an instant, folded from its history up to that instant.

Reporting's own view, built from the events' stored data (before upcasting), so it
reads every version of an event: fields added later are optional here. Events it does
not know (reads, a new service's events) are counted and otherwise ignored.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Iterable

from motcua_common.province.dossier_rules import (CASE_NATIONAL_STATUS, ON_TIME, NationalStatus, case_state_after, outcome,
                                         stop_end_reason_from_text)


@dataclass(frozen=True)
class HistoryEntry:
    service: str
    event_type: str
    recorded_at: datetime
    data: dict[str, Any]
    is_read: bool = False


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


def _case_moved(s: DossierState, event_type: str) -> None:
    """The case's own transition table (one source with workflow's aggregate and read model)."""
    state = case_state_after(event_type)
    if state is not None:
        s.status, s.national_status = state, int(CASE_NATIONAL_STATUS[state])


def _registered(s: DossierState, d: dict) -> None:
    s.dossier_code = d.get("code", s.dossier_code)
    s.procedure_code = d.get("procedure_code", "")
    s.status, s.national_status = "new", int(NationalStatus.NEW)


def _intake_supplement_requested(s: DossierState, d: dict) -> None:
    s.status, s.national_status = "supplement_requested", int(NationalStatus.SUPPLEMENT_REQUESTED)


def _refused(s: DossierState, d: dict) -> None:
    """Refused at the desk: it ends there, never received, so no appointment was missed."""
    s.status, s.national_status = "refused", int(NationalStatus.NOT_RECEIVED)
    s.end_reason, s.classification = "refused", ON_TIME


def _received(s: DossierState, d: dict) -> None:
    s.dossier_code = d.get("code", s.dossier_code)
    s.procedure_code = d.get("procedure_code", "")
    s.unit_code = d.get("handling_unit_code", "")
    s.due_at = d.get("appointment_at")
    s.status, s.national_status = "received", int(NationalStatus.RECEIVED)


def _withdrawn(s: DossierState, d: dict) -> None:
    s.status, s.national_status = "withdrawn", int(NationalStatus.WITHDRAWAL_REQUESTED)


def _opened(s: DossierState, d: dict) -> None:
    s.unit_code = d.get("unit_code", s.unit_code)
    s.due_at = d.get("due_at", s.due_at)
    s.steps = [{"index": st.get("index", i), "name": st.get("name", ""), "unit_code": st.get("unit_code", ""),
                "status": st.get("status", "pending"), "started_at": st.get("started_at"),
                "completed_at": st.get("completed_at"), "completed_by": st.get("completed_by", "")}
               for i, st in enumerate(d.get("steps", []))]
    _case_moved(s, "Case.Opened")


def _step(status: str, time_field: str) -> Any:
    def apply(s: DossierState, d: dict) -> None:
        index = d.get("index", -1)
        if 0 <= index < len(s.steps):
            change = {"status": status, f"{time_field}": d.get(time_field)}
            if status == "completed":
                change["completed_by"] = d.get("completed_by", "")
            s.steps[index] = {**s.steps[index], **change}
    return apply


def _paused(s: DossierState, d: dict) -> None:
    _case_moved(s, "Case.SupplementRequested")


def _resumed(s: DossierState, d: dict) -> None:
    _case_moved(s, "Case.Resumed")
    s.due_at = d.get("due_at", s.due_at)


def _extended(s: DossierState, d: dict) -> None:
    s.due_at = d.get("new_due_at", s.due_at)


def _overdue(s: DossierState, d: dict) -> None:
    s.overdue = True


def _stopped(s: DossierState, d: dict) -> None:
    _case_moved(s, "Case.Stopped")
    s.classification = d.get("classification", "")
    # Version 1 had no end_reason: the same rule as workflow's upcaster.
    s.end_reason = d.get("end_reason") or stop_end_reason_from_text(d.get("reason", ""))


def _processed(s: DossierState, d: dict) -> None:
    _case_moved(s, "Case.Processed")
    s.classification = d.get("classification", "")
    s.end_reason = "processed"


def _assigned(s: DossierState, d: dict) -> None:
    index = d.get("index", -1)
    if 0 <= index < len(s.steps):
        s.steps[index] = {**s.steps[index], "assignee": d.get("official", "")}


def _transferred(s: DossierState, d: dict) -> None:
    s.unit_code = d.get("to_unit", s.unit_code)


def _transfer_returned(s: DossierState, d: dict) -> None:
    s.unit_code = d.get("home_unit", s.unit_code)


def _result_signed(s: DossierState, d: dict) -> None:
    s.result_sha256 = d.get("sha256", "")


def _result_returned(s: DossierState, d: dict) -> None:
    _case_moved(s, "Case.ResultReturned")  # the end stays "processed": the first of the two


APPLY = {
    "PendingDossier.Registered": _registered,
    "PendingDossier.SupplementRequested": _intake_supplement_requested,
    "PendingDossier.Refused": _refused,
    "Dossier.Received": _received,
    "Dossier.Withdrawn": _withdrawn,
    "Case.Opened": _opened,
    "Case.StepStarted": _step("in_progress", "started_at"),
    "Case.StepCompleted": _step("completed", "completed_at"),
    "Case.SupplementRequested": _paused,
    "Case.Resumed": _resumed,
    "Case.DeadlineExtended": _extended,
    "Case.MarkedOverdue": _overdue,
    "Case.Stopped": _stopped,
    "Case.Processed": _processed,
    "Case.StepAssigned": _assigned,
    "Case.TransferredOut": _transferred,
    "Case.TransferReturned": _transfer_returned,
    "Case.ResultSigned": _result_signed,
    "Case.ResultReturned": _result_returned,
}


def state_as_of(dossier_id: str, entries: Iterable[HistoryEntry], as_of: datetime) -> DossierState | None:
    """The state after every entry recorded at or before `as_of` (None: nothing was recorded yet)."""
    state = DossierState(dossier_id=dossier_id)
    for entry in entries:
        if entry.recorded_at > as_of:
            break
        if entry.is_read:
            continue
        apply = APPLY.get(entry.event_type)
        if apply is not None:
            apply(state, entry.data)
        state.events_applied += 1
        state.last_event_at = entry.recorded_at
    if state.events_applied == 0:
        return None
    return replace(state, steps=[dict(s) for s in state.steps])
