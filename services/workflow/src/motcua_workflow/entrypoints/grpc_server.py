"""workflow's gRPC edge (its own process; never inside nameko/eventlet)."""
from __future__ import annotations

from datetime import timezone

import grpc

from motcua.workflow.v1 import workflow_pb2 as pb
from motcua.workflow.v1 import workflow_pb2_grpc as pb_grpc
from motcua_common.errors import InvalidArgument
from motcua_common.events.event_stream import EVENT_STREAM_SERVICE, add_event_stream
from typing import Any

from motcua_common.edge.access import Guard, caller, listing
from motcua_common.edge.grpc_server import DossierCalls, event_stream_calls, run_edge, serves
from motcua_common.identity.authorisation import Target
from motcua_common.observability.logs import bound, get_logger
from motcua_common.observability.telemetry import meter
from opentelemetry.metrics import Observation

from motcua_workflow.adapters.proto import (CASE_STATUS_NAMES, RETURN_METHOD_NAMES, case_to_proto, parse_uuid,
                                            signed_result_to_proto, summary_to_proto)
from motcua_workflow.application import WorkflowApplication

log = get_logger()


class WorkflowServicer(pb_grpc.WorkflowServiceServicer):
    def __init__(self, app: WorkflowApplication) -> None:
        self.app = app

    def GetCase(self, request: pb.GetCaseRequest, context: grpc.ServicerContext) -> pb.GetCaseResponse:
        if len(request.dossier_code) > 64:
            raise InvalidArgument.single("dossier_code", "must be at most 64 characters")
        case = self.app.get_case(
            case_id=parse_uuid(request.case_id, "case_id") if request.case_id else None,
            dossier_id=parse_uuid(request.dossier_id, "dossier_id") if request.dossier_id else None,
            dossier_code=request.dossier_code,
        )
        return pb.GetCaseResponse(case=case_to_proto(case))

    def ListCases(self, request: pb.ListCasesRequest, context: grpc.ServicerContext) -> pb.ListCasesResponse:
        if len(request.unit_code) > 64:
            raise InvalidArgument.single("unit_code", "must be at most 64 characters")
        if len(request.assignee) > 200:
            raise InvalidArgument.single("assignee", "must be at most 200 characters")
        if request.status and request.status not in CASE_STATUS_NAMES:
            raise InvalidArgument.single("status", "is not a CaseStatus value")
        reach = listing()
        rows, token = self.app.list_cases(request.unit_code, CASE_STATUS_NAMES.get(request.status),
                                          request.page_size, request.page_token, assignee=request.assignee,
                                          include_finished=request.include_finished,
                                          units=None if reach.everything else reach.units)
        return pb.ListCasesResponse(cases=[summary_to_proto(r) for r in rows], next_page_token=token)

    def CompleteStep(self, request: pb.CompleteStepRequest, context: grpc.ServicerContext) -> pb.CompleteStepResponse:
        case = self.app.complete_step(
            idempotency_key=request.idempotency_key,
            case_id=parse_uuid(request.case_id, "case_id"),
            step_index=request.step_index,
            expected_version=request.expected_version,
            note=request.note,
            actor=caller(),
        )
        with bound(dossier_code=case.dossier_code):
            log.info("step_completed", step_index=request.step_index, version=case.version)
        return pb.CompleteStepResponse(case=case_to_proto(case))


    def RequestSupplement(self, request: pb.RequestSupplementRequest,
                          context: grpc.ServicerContext) -> pb.RequestSupplementResponse:
        case = self.app.request_supplement(request.idempotency_key, parse_uuid(request.case_id, "case_id"),
                                           request.expected_version, request.reason, caller())
        return pb.RequestSupplementResponse(case=case_to_proto(case))

    def ResumeCase(self, request: pb.ResumeCaseRequest, context: grpc.ServicerContext) -> pb.ResumeCaseResponse:
        case = self.app.resume(request.idempotency_key, parse_uuid(request.case_id, "case_id"),
                               request.expected_version, caller())
        return pb.ResumeCaseResponse(case=case_to_proto(case))

    def ExtendDeadline(self, request: pb.ExtendDeadlineRequest,
                       context: grpc.ServicerContext) -> pb.ExtendDeadlineResponse:
        if not request.HasField("new_due_at"):
            raise InvalidArgument.single("new_due_at", "is required")
        case = self.app.extend_deadline(request.idempotency_key, parse_uuid(request.case_id, "case_id"),
                                        request.expected_version,
                                        request.new_due_at.ToDatetime(tzinfo=timezone.utc), request.reason,
                                        caller())
        return pb.ExtendDeadlineResponse(case=case_to_proto(case))

    def StopProcessing(self, request: pb.StopProcessingRequest,
                       context: grpc.ServicerContext) -> pb.StopProcessingResponse:
        case = self.app.stop_processing(request.idempotency_key, parse_uuid(request.case_id, "case_id"),
                                        request.expected_version, request.reason, caller())
        return pb.StopProcessingResponse(case=case_to_proto(case))


    def AssignStep(self, request: pb.AssignStepRequest, context: grpc.ServicerContext) -> pb.AssignStepResponse:
        case = self.app.assign_step(request.idempotency_key, parse_uuid(request.case_id, "case_id"),
                                    request.expected_version, request.official, caller())
        return pb.AssignStepResponse(case=case_to_proto(case))

    def TransferCase(self, request: pb.TransferCaseRequest, context: grpc.ServicerContext) -> pb.TransferCaseResponse:
        if len(request.to_unit_code) > 64:
            raise InvalidArgument.single("to_unit_code", "must be at most 64 characters")
        case = self.app.transfer(request.idempotency_key, parse_uuid(request.case_id, "case_id"),
                                 request.expected_version, request.to_unit_code, request.allotted_working_hours,
                                 request.reason, caller())
        return pb.TransferCaseResponse(case=case_to_proto(case))

    def ReturnFromTransfer(self, request: pb.ReturnFromTransferRequest,
                           context: grpc.ServicerContext) -> pb.ReturnFromTransferResponse:
        case = self.app.return_from_transfer(request.idempotency_key, parse_uuid(request.case_id, "case_id"),
                                             request.expected_version, request.note, caller())
        return pb.ReturnFromTransferResponse(case=case_to_proto(case))

    def SignResult(self, request: pb.SignResultRequest, context: grpc.ServicerContext) -> pb.SignResultResponse:
        document = request.document
        case = self.app.sign_result(request.idempotency_key, parse_uuid(request.case_id, "case_id"),
                                    request.expected_version, document.filename, document.media_type,
                                    document.content, document.sha256, caller())
        return pb.SignResultResponse(case=case_to_proto(case))

    def ReturnResult(self, request: pb.ReturnResultRequest, context: grpc.ServicerContext) -> pb.ReturnResultResponse:
        if request.method not in RETURN_METHOD_NAMES or not request.method:
            raise InvalidArgument.single("method", "choose RETURN_METHOD_DESK, RETURN_METHOD_POST or RETURN_METHOD_ONLINE")
        case = self.app.return_result(request.idempotency_key, parse_uuid(request.case_id, "case_id"),
                                      request.expected_version, RETURN_METHOD_NAMES[request.method],
                                      caller())
        return pb.ReturnResultResponse(case=case_to_proto(case))

    def GetResult(self, request: pb.GetResultRequest, context: grpc.ServicerContext) -> pb.GetResultResponse:
        case, content = self.app.result_of(*_case_ref(request))
        serves(case.dossier_id, case.dossier_code)
        result = case.result or {}
        return pb.GetResultResponse(
            document=pb.ResultDocument(filename=result["filename"], media_type=result["media_type"], content=content,
                                       sha256=result["sha256"]),
            result=signed_result_to_proto(result))

    def VerifyResult(self, request: pb.VerifyResultRequest, context: grpc.ServicerContext) -> pb.VerifyResultResponse:
        if not request.content:
            raise InvalidArgument.single("content", "give the document to check")
        case_id, dossier_code = _case_ref(request)
        case, check = self.app.verify_result(case_id, request.content, dossier_code=dossier_code)
        serves(case.dossier_id, case.dossier_code)
        return pb.VerifyResultResponse(valid=check.matches and check.signature_valid and check.certificate_trusted,
                                       matches=check.matches, signature_valid=check.signature_valid,
                                       certificate_trusted=check.certificate_trusted, signer=check.signer,
                                       detail=check.detail)


def _case_ref(request: pb.GetResultRequest | pb.VerifyResultRequest) -> tuple:
    """(case id, dossier code) of a request that names its case by either."""
    if request.case_id and request.dossier_code:
        raise InvalidArgument.single("dossier_code", "give either case_id or dossier_code, not both")
    if len(request.dossier_code) > 64 or any(ord(c) < 32 for c in request.dossier_code):
        raise InvalidArgument.single("dossier_code", "must be at most 64 characters, without control characters")
    if not request.case_id and not request.dossier_code:
        raise InvalidArgument.single("case_id", "give the case's id or the dossier's code (dossier_code)")
    return (parse_uuid(request.case_id, "case_id") if request.case_id else None), request.dossier_code


def servicers(app: WorkflowApplication):  # type: ignore[no-untyped-def]
    meter().create_observable_gauge(
        "motcua.cases.overdue", description="open cases past their due time, by unit",
        callbacks=[lambda _options: [Observation(n, {"unit_code": unit}) for unit, n in app.overdue_by_unit().items()]])

    def add(server: grpc.Server) -> None:
        pb_grpc.add_WorkflowServiceServicer_to_server(WorkflowServicer(app), server)
        add_event_stream(server, app)  # integrators follow the published events

    return add, [pb.DESCRIPTOR.services_by_name["WorkflowService"].full_name, EVENT_STREAM_SERVICE],\
        [dossier_calls(app), event_stream_calls()]


def guards(app: WorkflowApplication) -> dict[str, Guard]:
    """How the edge authorises each RPC: on the unit the case is at now (access-policy.yaml)."""
    def target(row: dict | None) -> Target | None:
        return None if row is None else Target(unit=row["unit_code"], dossier_id=row["dossier_id"],
                                               dossier_code=row["dossier_code"])

    def by_case(request: Any) -> Target | None:
        return target(app.access_target(case_id=parse_uuid(request.case_id, "case_id")))

    def by_any(request: Any) -> Target | None:
        fields = request.DESCRIPTOR.fields_by_name
        case_id = parse_uuid(request.case_id, "case_id") if request.case_id else None
        dossier_id = (parse_uuid(request.dossier_id, "dossier_id")
                      if "dossier_id" in fields and request.dossier_id else None)
        if case_id is None and dossier_id is None and not request.dossier_code:
            raise InvalidArgument.single("case_id", "give the case's id, the dossier's id or the dossier's code")
        return target(app.access_target(case_id=case_id, dossier_id=dossier_id, dossier_code=request.dossier_code))

    def on_case(action: str) -> Guard:
        return Guard(action, locate=by_case)

    return {
        "GetCase": Guard("dossier.read_status", locate=by_any), "ListCases": Guard("case.queue", listing=True),
        "CompleteStep": on_case("case.act"), "RequestSupplement": on_case("case.act"),
        "ResumeCase": on_case("case.act"), "StopProcessing": on_case("case.act"),
        "ExtendDeadline": on_case("case.approve"), "AssignStep": on_case("case.assign"),
        "TransferCase": on_case("case.transfer"), "ReturnFromTransfer": on_case("case.transfer"),
        "SignResult": on_case("result.sign"), "ReturnResult": on_case("result.return"),
        "GetResult": Guard("dossier.read", locate=by_any), "VerifyResult": Guard("result.verify", locate=by_any),
    }


def dossier_calls(app: WorkflowApplication) -> DossierCalls:
    """The reads of a dossier the edge records and how it authorises each RPC (DossierCalls)."""
    return DossierCalls(
        pb.DESCRIPTOR.services_by_name["WorkflowService"].full_name,
        reads={"GetCase": "workflow.GetCase", "GetResult": "workflow.GetResult"},
        others=frozenset({"ListCases", "CompleteStep", "RequestSupplement", "ResumeCase", "ExtendDeadline",
                          "StopProcessing", "AssignStep", "TransferCase", "ReturnFromTransfer", "SignResult",
                          "ReturnResult", "VerifyResult"}),
        record_read=app.record_read, guards=guards(app))


def main() -> None:
    from motcua_workflow.bootstrap import bootstrap

    run_edge("workflow", 50052, servicers, bootstrap)


if __name__ == "__main__":
    main()
