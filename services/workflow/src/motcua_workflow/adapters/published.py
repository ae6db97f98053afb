"""Workflow's published events (protos/motcua/workflow/events/v1): its stored Case events, upcast,
mapped to the contract other services and integrators read. The only place that knows both
shapes; it also says the national status and the due time each event leaves the dossier with."""
from __future__ import annotations

from typing import Any

from motcua.workflow.events.v1 import events_pb2 as pb
from motcua_common.audit.access import AccessDenied, DossierRead
from motcua_common.province.dossier_rules import (CASE_NATIONAL_STATUS, IN_PROGRESS, PAUSED, PROCESSED, RETURNED, STOPPED,
                                         stop_end_reason_from_text)
from motcua_common.events.published import Publication, map_access_denied, map_dossier_read, timestamp

from motcua_workflow.domain.case import Case

NATIONAL_STATUS = {state: int(status) for state, status in CASE_NATIONAL_STATUS.items()}


def _opened(e: Any) -> pb.CaseOpened:
    steps = [pb.Step(index=int(s.get("index", i)), code=s.get("code", ""), name=s.get("name", ""),
                     role=s.get("role", ""), unit_code=s.get("unit_code", ""),
                     allotted_working_hours=float(s.get("allotted_working_hours") or 0))
             for i, s in enumerate(e.steps)]
    started = e.steps[0].get("started_at") if e.steps else None
    return pb.CaseOpened(case_id=str(e.originator_id), dossier_id=str(e.dossier_id), dossier_code=e.dossier_code,
                         procedure_code=e.procedure_code, unit_code=e.unit_code, received_at=timestamp(e.received_at),
                         due_at=timestamp(e.due_at), steps=steps, calendar_group=e.calendar_group or "",
                         national_status=NATIONAL_STATUS[IN_PROGRESS], opened_at=timestamp(started))


def _stop_end_reason(e: Any) -> str:
    # Version-2 stops carry it (the upcaster gives version 1 one); the text rule is the fallback.
    return getattr(e, "end_reason", "") or stop_end_reason_from_text(e.reason)


def publication() -> Publication:
    return Publication("workflow", {
        Case.Opened: _opened,
        Case.StepStarted: lambda e: pb.StepStarted(index=e.index, started_at=timestamp(e.started_at)),
        Case.StepCompleted: lambda e: pb.StepCompleted(index=e.index, completed_by=e.completed_by,
                                                       completed_at=timestamp(e.completed_at)),
        Case.StepAssigned: lambda e: pb.StepAssigned(index=e.index, official=e.official, previous=e.previous or "",
                                                     assigned_by=e.assigned_by, assigned_at=timestamp(e.assigned_at)),
        Case.SupplementRequested: lambda e: pb.CaseSupplementRequested(
            reason=e.reason, requested_at=timestamp(e.requested_at), national_status=NATIONAL_STATUS[PAUSED]),
        Case.Resumed: lambda e: pb.CaseResumed(resumed_at=timestamp(e.resumed_at),
                                               paused_working_seconds=float(e.paused_working_seconds),
                                               due_at=timestamp(e.due_at), national_status=NATIONAL_STATUS[IN_PROGRESS]),
        Case.DeadlineExtended: lambda e: pb.DeadlineExtended(
            previous_due_at=timestamp(e.previous_due_at), new_due_at=timestamp(e.new_due_at), reason=e.reason,
            apologised_at=timestamp(e.apologised_at)),
        Case.MarkedOverdue: lambda e: pb.CaseMarkedOverdue(marked_at=timestamp(e.marked_at), due_at=timestamp(e.due_at)),
        Case.MarkedDueSoon: lambda e: pb.CaseMarkedDueSoon(marked_at=timestamp(e.marked_at), due_at=timestamp(e.due_at),
                                                           working_seconds_left=float(e.working_seconds_left)),
        Case.Stopped: lambda e: pb.CaseStopped(reason=e.reason, stopped_at=timestamp(e.stopped_at),
                                               classification=e.classification,
                                               national_status=NATIONAL_STATUS[STOPPED],
                                               end_reason=_stop_end_reason(e)),
        Case.Processed: lambda e: pb.CaseProcessed(processed_at=timestamp(e.processed_at),
                                                   classification=e.classification,
                                                   national_status=NATIONAL_STATUS[PROCESSED],
                                                   end_reason="processed"),
        Case.TransferredOut: lambda e: pb.CaseTransferredOut(
            from_unit=e.from_unit, to_unit=e.to_unit, allotted_working_hours=float(e.allotted_working_hours),
            reason=e.reason, transferred_at=timestamp(e.transferred_at)),
        Case.TransferReturned: lambda e: pb.CaseTransferReturned(
            unit=e.unit, home_unit=e.home_unit, allotted_working_hours=float(e.allotted_working_hours),
            used_working_hours=float(e.used_working_hours), returned_at=timestamp(e.returned_at)),
        Case.ResultSigned: lambda e: pb.ResultSigned(sha256=e.sha256, size_bytes=int(e.size_bytes),
                                                     media_type=e.media_type, signed_by=e.signed_by,
                                                     signed_at=timestamp(e.signed_at)),
        Case.ResultReturned: lambda e: pb.ResultReturned(method=e.method, returned_at=timestamp(e.returned_at),
                                                         national_status=NATIONAL_STATUS[RETURNED]),
        Case.ClockStoppedForPayment: lambda e: pb.CaseClockStoppedForPayment(stopped_at=timestamp(e.stopped_at)),
        Case.ClockResumedAfterPayment: lambda e: pb.CaseClockResumedAfterPayment(
            resumed_at=timestamp(e.resumed_at), paused_working_seconds=float(e.paused_working_seconds),
            due_at=timestamp(e.due_at), settled_by=e.settled_by),
        DossierRead.Recorded: map_dossier_read,
        AccessDenied.Recorded: map_access_denied,
    })
