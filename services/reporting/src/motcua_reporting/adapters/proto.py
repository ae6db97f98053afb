"""Between reporting's plain data and motcua.audit.v1 messages."""
from __future__ import annotations

import json
from datetime import date, datetime, timezone
from typing import Any
from uuid import UUID

from google.protobuf.timestamp_pb2 import Timestamp

from motcua.audit.v1 import audit_pb2 as pb

from motcua_reporting.adapters.history_table import HistoryRow
from motcua_reporting.adapters.security_events import SecurityEventQuery, SecurityEventRow
from motcua_reporting.domain.dossier_state import DossierState


def timestamp(value: datetime | None) -> Timestamp | None:
    if value is None:
        return None
    stamp = Timestamp()
    stamp.FromDatetime(value)
    return stamp


def _json_default(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, bytes):
        return value.hex()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def history_event(row: HistoryRow) -> pb.HistoryEvent:
    return pb.HistoryEvent(
        recorded_at=timestamp(row.recorded_at), occurred_at=timestamp(row.occurred_at), service=row.service,
        event_type=row.event_type, actor=_actor(row.actor),
        data_json=json.dumps(row.data(), default=_json_default, ensure_ascii=False, sort_keys=True),
        is_read=row.is_read, position=row.position or 0, aggregate_id=str(row.originator_id),
        aggregate_version=row.originator_version, stored_hash=row.stored_hash, causation_id=row.causation_id)


def dossier_state(state: DossierState, as_of: datetime) -> pb.DossierState:
    return pb.DossierState(
        dossier_id=state.dossier_id, dossier_code=state.dossier_code, as_of=timestamp(as_of),
        national_status=state.national_status, status=state.status, procedure_code=state.procedure_code,
        unit_code=state.unit_code, due_at=timestamp(state.due_at), classification=state.classification,
        overdue=state.overdue, events_applied=state.events_applied, last_event_at=timestamp(state.last_event_at),
        result_sha256=state.result_sha256, end_reason=state.end_reason, progress_766=state.progress_766,
        operational_outcome=state.operational_outcome,
        steps=[pb.StepState(index=s["index"], name=s["name"], unit_code=s["unit_code"], status=s["status"],
                            started_at=timestamp(s["started_at"]), completed_at=timestamp(s["completed_at"]),
                            completed_by=s["completed_by"], assignee=s.get("assignee", "")) for s in state.steps])


def verification(result: dict) -> pb.VerifyHistoryResponse:
    broken = result.get("first_broken_link")
    return pb.VerifyHistoryResponse(
        intact=result["intact"],
        first_broken_link=pb.BrokenLink(
            service=broken["service"], position=broken["position"], kind=broken["kind"], detail=broken["detail"],
            aggregate_id=broken.get("originator_id", ""), aggregate_version=broken.get("originator_version", 0),
        ) if broken else None,
        services=[pb.ServiceVerification(service=s["service"], events_checked=s["events_checked"],
                                         checkpoints_checked=s["checkpoints_checked"],
                                         last_signed_position=s["last_signed_position"],
                                         unsigned_events=s["unsigned_events"]) for s in result["services"]])


def _actor(actor: dict) -> pb.Actor:
    return pb.Actor(**{k: str(v) for k, v in actor.items() if k in pb.Actor.DESCRIPTOR.fields_by_name})


def security_query(request: pb.ListSecurityEventsRequest) -> SecurityEventQuery:
    """The criteria of a request (lengths and ranges were checked by the edge, from the proto's options)."""
    return SecurityEventQuery(
        since=request.since.ToDatetime(tzinfo=timezone.utc) if request.HasField("since") else None,
        until=request.until.ToDatetime(tzinfo=timezone.utc) if request.HasField("until") else None,
        service=request.service, rpc=request.rpc, actor_kind=request.actor_kind)


def security_event(row: SecurityEventRow) -> pb.SecurityEvent:
    return pb.SecurityEvent(
        recorded_at=timestamp(row.recorded_at), first_at=timestamp(row.first_at), service=row.service, rpc=row.rpc,
        action=row.action, reason=row.reason, actor=_actor(row.actor), dossier_code=row.dossier_code,
        count=row.count, position=row.position)
