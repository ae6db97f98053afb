"""proto <-> workflow mapping."""
from __future__ import annotations

from typing import Any
from uuid import UUID

from google.protobuf.timestamp_pb2 import Timestamp

from motcua.workflow.v1 import workflow_pb2 as pb
from motcua_common.province.dossier_rules import outcome
from motcua_common.errors import InvalidArgument

from motcua_workflow.domain.case import Case

CASE_STATUS = {"in_progress": pb.CASE_STATUS_IN_PROGRESS, "processed": pb.CASE_STATUS_PROCESSED,
               "paused": pb.CASE_STATUS_PAUSED, "stopped": pb.CASE_STATUS_STOPPED,
               "returned": pb.CASE_STATUS_RETURNED}
RETURN_METHOD = {"": pb.RETURN_METHOD_UNSPECIFIED, "desk": pb.RETURN_METHOD_DESK, "post": pb.RETURN_METHOD_POST,
                 "online": pb.RETURN_METHOD_ONLINE}
RETURN_METHOD_NAMES = {v: k for k, v in RETURN_METHOD.items()}
CLASSIFICATION = {"": pb.CLASSIFICATION_UNSPECIFIED, "early": pb.CLASSIFICATION_EARLY,
                  "on_time": pb.CLASSIFICATION_ON_TIME, "late": pb.CLASSIFICATION_LATE}
CASE_STATUS_NAMES = {v: k for k, v in CASE_STATUS.items()}
END_REASON = {"": pb.END_REASON_UNSPECIFIED, "processed": pb.END_REASON_PROCESSED,
              "withdrawn": pb.END_REASON_WITHDRAWN, "stopped": pb.END_REASON_STOPPED}
PROGRESS_OUTCOME = {"": pb.PROGRESS_OUTCOME_UNSPECIFIED, "on_time": pb.PROGRESS_OUTCOME_ON_TIME,
                    "late": pb.PROGRESS_OUTCOME_LATE}
OPERATIONAL_OUTCOME = {"": pb.OPERATIONAL_OUTCOME_UNSPECIFIED, "early": pb.OPERATIONAL_OUTCOME_EARLY,
                       "on_time": pb.OPERATIONAL_OUTCOME_ON_TIME, "late": pb.OPERATIONAL_OUTCOME_LATE,
                       "cancelled": pb.OPERATIONAL_OUTCOME_CANCELLED, "denied": pb.OPERATIONAL_OUTCOME_DENIED,
                       "stopped": pb.OPERATIONAL_OUTCOME_STOPPED}


def end_fields(end_reason: str, classification: str) -> dict:
    """The end reason and both reports' views of it, as proto fields."""
    views = outcome(end_reason, classification)
    return {"end_reason": END_REASON[end_reason], "classification": CLASSIFICATION[classification],
            "progress_766": PROGRESS_OUTCOME[views.progress_766],
            "operational_outcome": OPERATIONAL_OUTCOME[views.operational]}
STEP_STATUS = {"pending": pb.STEP_STATUS_PENDING, "in_progress": pb.STEP_STATUS_IN_PROGRESS,
               "completed": pb.STEP_STATUS_COMPLETED}


def parse_uuid(value: str, field: str) -> UUID:
    try:
        return UUID(value)
    except ValueError:
        raise InvalidArgument.single(field, "is not a UUID") from None


def timestamp(value: Any) -> Timestamp | None:
    if value is None:
        return None
    ts = Timestamp()
    ts.FromDatetime(value)
    return ts


def case_to_proto(case: Case) -> pb.Case:
    return pb.Case(
        id=str(case.id), dossier_id=str(case.dossier_id), dossier_code=case.dossier_code,
        procedure_code=case.procedure_code, unit_code=case.unit_code, status=CASE_STATUS[case.status],
        national_status=case.national_status, received_at=timestamp(case.received_at), due_at=timestamp(case.due_at),
        current_step=case.current_step, version=case.version, **end_fields(case.end_reason, case.classification),
        supplement_requests=case.supplement_requests, overdue=case.overdue,
        committed_due_at=timestamp(case.committed_due_at), extensions=case.extensions,
        steps=[pb.Step(index=s["index"], code=s["code"], name=s["name"], unit_code=s["unit_code"], role=s["role"],
                       allotted_working_hours=s["allotted_working_hours"], status=STEP_STATUS[s["status"]],
                       started_at=timestamp(s["started_at"]), completed_at=timestamp(s["completed_at"]),
                       completed_by=s["completed_by"], assignee=s.get("assignee", "")) for s in case.steps],
        transferred_to_unit=case.transferred_to,
        transfers=[pb.Transfer(unit_code=t["unit_code"], allotted_working_hours=t["allotted_working_hours"],
                               used_working_hours=t["used_working_hours"], over_share=t["over_share"],
                               transferred_at=timestamp(t["transferred_at"]), returned_at=timestamp(t["returned_at"]))
                   for t in case.transfers],
        result=signed_result_to_proto(case.result) if case.result else None,
        returned_at=timestamp(case.returned_at), return_method=RETURN_METHOD[case.return_method],
    )


def signed_result_to_proto(result: dict) -> pb.SignedResult:
    return pb.SignedResult(sha256=result["sha256"], size_bytes=result["size_bytes"], media_type=result["media_type"],
                           filename=result["filename"], signature=result["signature"],
                           certificate_pem=result["certificate_pem"], signed_by=result["signed_by"],
                           signed_at=timestamp(result["signed_at"]))


def summary_to_proto(row: dict) -> pb.CaseSummary:
    return pb.CaseSummary(
        case_id=str(row["case_id"]), dossier_id=str(row["dossier_id"]), dossier_code=row["dossier_code"],
        procedure_code=row["procedure_code"], unit_code=row["unit_code"], status=CASE_STATUS[row["status"]],
        due_at=timestamp(row["due_at"]), current_step=row["current_step"], version=row["version"],
        overdue=row["overdue"], assignee=row["assignee"], procedure_name=row.get("procedure_name", ""),
        step_name=row.get("step_name", ""), **end_fields(row["end_reason"], row["classification"]),
    )
