"""Intake's published events (protos/motcua/intake/events/v1): its stored events, upcast, mapped
to the contract other services and integrators read. The only place that knows both shapes."""
from __future__ import annotations

from typing import Any

from motcua.intake.events.v1 import events_pb2 as pb
from motcua_common.audit.access import AccessDenied, DossierRead
from motcua_common.events.published import Publication, map_access_denied, map_dossier_read, timestamp

from motcua_intake.domain.dossier import Dossier, DossierCode, PendingDossier


def _applicant(applicant: dict) -> pb.Applicant:
    # The sealed data stays with intake: only the subject id and its kind are published.
    return pb.Applicant(subject_id=applicant.get("subject_id", ""), kind=applicant.get("kind", ""))


def _components(components: list[dict]) -> list[pb.Component]:
    return [pb.Component(code=c.get("code", ""), sha256=c.get("sha256", ""), size_bytes=int(c.get("size_bytes", 0)),
                         media_type=c.get("media_type", ""), digitised=bool(c.get("digitised", False)),
                         reused_from=c.get("reused_from", "") or "") for c in components]


def _received(e: Any) -> pb.DossierReceived:
    return pb.DossierReceived(
        dossier_id=str(e.originator_id), code=e.code, procedure_code=e.procedure_code,
        receiving_agency_code=e.receiving_agency_code, handling_unit_code=e.handling_unit_code, channel=e.channel,
        applicant=_applicant(e.applicant), components=_components(e.components),
        received_at=timestamp(e.received_at), appointment_at=timestamp(e.appointment_at),
        deadline_working_days=float(e.deadline_working_days), forwarded_at=timestamp(e.forwarded_at),
        calendar_group=e.calendar_group or "", **_fee_schedule(e.fee_schedule))


def _fee_schedule(schedule: dict | None) -> dict:
    """The recorded fee schedule as DossierReceived's fee fields (None: received before it was recorded)."""
    if schedule is None:
        return {}
    if not schedule:
        return {"fee_schedule_recorded": True}
    return {"fee_schedule_recorded": True, "fee_due": schedule["due"], "fee_collector": schedule["collector"],
            "fee_group": schedule["group"], "fee_schedule_from": schedule["effective_from"],
            "clock_stops_while_unpaid": bool(schedule.get("clock_stops_while_unpaid", False)),
            "refund_on": dict(schedule.get("refund_on", {})),
            "fee_items": [pb.FeeItem(code=i["code"], kind=i["kind"], name=i["name"], unit=i.get("unit", ""),
                                     amount_vnd=int(i["amount_vnd"]), legal_basis=i["legal_basis"])
                          for i in schedule.get("items", ())],
            "fee_exemptions": [pb.FeeExemption(code=x["code"], name=x["name"], legal_basis=x["legal_basis"],
                                               item_codes=list(x.get("items", ())))
                               for x in schedule.get("exemptions", ())]}


def _withdrawn(e: Any) -> pb.DossierWithdrawn:
    # The applicant's reason is personal data, sealed in intake: published only from events stored
    # before it was sealed (version 1), never from new ones.
    return pb.DossierWithdrawn(dossier_id=str(e.originator_id), reason=e.reason, withdrawn_at=timestamp(e.timestamp))


def _registered(e: Any) -> pb.DossierRegistered:
    return pb.DossierRegistered(
        dossier_id=str(e.dossier_id), code=e.code, procedure_code=e.procedure_code,
        receiving_agency_code=e.receiving_agency_code, channel=e.channel, applicant=_applicant(e.applicant),
        components=_components(e.components), missing_component_codes=[m.get("code", "") for m in e.missing],
        registered_at=timestamp(e.registered_at))


def _dossier_id(e: Any) -> str:
    return e.envelope.get("correlation_id", "")


def _supplement_requested(e: Any) -> pb.IntakeSupplementRequested:
    return pb.IntakeSupplementRequested(dossier_id=_dossier_id(e), reason=e.reason,
                                        missing_component_codes=[m.get("code", "") for m in e.missing],
                                        requested_at=timestamp(e.requested_at))


def _supplemented(e: Any) -> pb.DossierSupplemented:
    return pb.DossierSupplemented(dossier_id=_dossier_id(e), components=_components(e.components),
                                  missing_component_codes=[m.get("code", "") for m in e.missing],
                                  supplemented_at=timestamp(e.supplemented_at))


def publication() -> Publication:
    return Publication("intake", {
        DossierCode.Assigned: lambda e: pb.DossierCodeAssigned(dossier_id=str(e.dossier_id), code=e.code),
        Dossier.Received: _received,
        Dossier.Withdrawn: _withdrawn,
        PendingDossier.Registered: _registered,
        PendingDossier.SupplementRequested: _supplement_requested,
        PendingDossier.Supplemented: _supplemented,
        PendingDossier.Completed: lambda e: pb.DossierCompleted(dossier_id=_dossier_id(e),
                                                                completed_at=timestamp(e.completed_at)),
        PendingDossier.Refused: lambda e: pb.DossierRefused(dossier_id=_dossier_id(e), reason=e.reason,
                                                            refused_at=timestamp(e.refused_at)),
        DossierRead.Recorded: map_dossier_read,
        AccessDenied.Recorded: map_access_denied,
    })
