"""The edge does what every call on a dossier needs, declared once per service (DossierCalls): it names
the dossier on the span, records a read before the response (or a stream's first message) leaves, refuses
to answer a read it cannot record, refuses an incomplete declaration, and hands a stream on as it comes."""
from __future__ import annotations

import threading
import uuid
from pathlib import Path

import grpc
import pytest

from motcua.audit.v1 import audit_pb2
from motcua.workflow.v1 import workflow_pb2
from motcua_common.edge import grpc_server
from motcua_common.errors import Unavailable
from motcua_common.edge.access import Gate, Guard
from motcua_common.edge.grpc_server import DossierCalls, create_server, serves
from motcua_common.identity.authorisation import Policy, Principal, Target
from motcua_common.identity.tokens import TokenRefused
from motcua_common.province.organisation import Organisation

WORKFLOW = "motcua.workflow.v1.WorkflowService"
AUDIT = "motcua.audit.v1.AuditService"
DOSSIER_ID, CODE = str(uuid.uuid4()), "000.31.01.H45-261123-0001"
WORKFLOW_OTHERS = frozenset({"ListCases", "RequestSupplement", "ResumeCase", "ExtendDeadline", "StopProcessing",
                             "AssignStep", "TransferCase", "ReturnFromTransfer", "SignResult", "ReturnResult",
                             "VerifyResult", "CompleteStep"})


UNIT = "000.31.01.H45"
DATA = Path(__file__).resolve().parents[4] / "infra/provinces/quang-tri"
OFFICIAL = Principal(kind="official", subject="tt01", roles=frozenset({"specialist", "leader"}), unit=UNIT)


class TokenTable:
    """Stands in for the token verifier: these tests are about what the edge does with a verified
    caller (tokens themselves are tested against the real identity provider)."""

    def verify(self, token: str) -> Principal:
        if token != "token-of-tt01":
            raise TokenRefused("unknown token")
        return OFFICIAL


def at_unit(request) -> Target:  # type: ignore[no-untyped-def]
    return Target(unit=UNIT)


GATE = Gate(TokenTable(), Policy.load(DATA / "access-policy.yaml"), Organisation.load(DATA / "units.yaml"),
            pseudonym=lambda citizen_id: "p-" + citizen_id)


def guards(service: str, reads: set[str], action: str) -> dict[str, Guard]:
    methods = DossierCalls(service).methods()
    return {m: Guard(action if m in reads else "case.act", locate=at_unit) for m in methods}


class Edge:
    """A server with a few real RPCs of workflow and audit, their reads recorded in a list."""

    def __init__(self) -> None:
        self.reads: list[tuple] = []
        self.record_fails = False
        self.first_page_sent = threading.Event()
        self.release = threading.Event()
        self.stream_finished = threading.Event()

    def record_read(self, actor, dossier_id, dossier_code, what) -> None:  # type: ignore[no-untyped-def]
        if self.record_fails:
            raise Unavailable("the event store is unavailable")
        self.reads.append((actor.subject, dossier_id, dossier_code, what))

    # handlers
    def get_case(self, request, context):  # type: ignore[no-untyped-def]
        return workflow_pb2.GetCaseResponse(case=workflow_pb2.Case(dossier_id=DOSSIER_ID, dossier_code=CODE))

    def get_result(self, request, context):  # type: ignore[no-untyped-def]
        if request.dossier_code != "forgets":
            serves(DOSSIER_ID, CODE)  # the response carries no dossier
        return workflow_pb2.GetResultResponse()

    def complete_step(self, request, context):  # type: ignore[no-untyped-def]
        return workflow_pb2.CompleteStepResponse(case=workflow_pb2.Case(dossier_id=DOSSIER_ID, dossier_code=CODE))

    def stream_history(self, request, context):  # type: ignore[no-untyped-def]
        serves(DOSSIER_ID, CODE)
        yield audit_pb2.StreamHistoryResponse(events=[audit_pb2.HistoryEvent(service="intake", position=1)])
        self.first_page_sent.set()
        assert self.release.wait(30)  # the rest of the history is not ready yet
        yield audit_pb2.StreamHistoryResponse(events=[audit_pb2.HistoryEvent(service="workflow", position=2)])
        self.stream_finished.set()

    def register(self, server: grpc.Server) -> list[str]:
        def unary(behaviour, request, response):  # type: ignore[no-untyped-def]
            return grpc.unary_unary_rpc_method_handler(behaviour, request.FromString, response.SerializeToString)

        server.add_generic_rpc_handlers((
            grpc.method_handlers_generic_handler(WORKFLOW, {
                "GetCase": unary(self.get_case, workflow_pb2.GetCaseRequest, workflow_pb2.GetCaseResponse),
                "GetResult": unary(self.get_result, workflow_pb2.GetResultRequest, workflow_pb2.GetResultResponse),
                "CompleteStep": unary(self.complete_step, workflow_pb2.CompleteStepRequest,
                                      workflow_pb2.CompleteStepResponse)}),
            grpc.method_handlers_generic_handler(AUDIT, {
                "StreamHistory": grpc.unary_stream_rpc_method_handler(
                    self.stream_history, audit_pb2.StreamHistoryRequest.FromString,
                    audit_pb2.StreamHistoryResponse.SerializeToString)}),
        ))
        return [WORKFLOW, AUDIT]

    def calls(self) -> list[DossierCalls]:
        return [DossierCalls(WORKFLOW, reads={"GetCase": "workflow.GetCase", "GetResult": "workflow.GetResult"},
                             others=WORKFLOW_OTHERS, record_read=self.record_read,
                             guards=guards(WORKFLOW, {"GetCase", "GetResult"}, "dossier.read")),
                DossierCalls(AUDIT, reads={"StreamHistory": "audit.StreamHistory"},
                             others=frozenset({"GetStateAt", "VerifyHistory", "ExportHistory", "ListSecurityEvents"}),
                             record_read=self.record_read, guards=guards(AUDIT, {"StreamHistory"}, "history.read"))]


@pytest.fixture
def marked(monkeypatch):
    codes: list[str] = []
    monkeypatch.setattr(grpc_server, "mark_dossier", codes.append)
    return codes


@pytest.fixture
def edge():
    edge = Edge()
    server, port, _ = create_server("127.0.0.1:0", edge.register, max_workers=4, dossier_calls=edge.calls(),
                                    gate=GATE)
    server.start()
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        yield edge, channel
    edge.release.set()
    server.stop(0)


def call(channel: grpc.Channel, service: str, rpc: str, request, response_type):  # type: ignore[no-untyped-def]
    return channel.unary_unary(f"/{service}/{rpc}", request_serializer=type(request).SerializeToString,
                               response_deserializer=response_type.FromString)(
        request, metadata=(("authorization", "Bearer token-of-tt01"),), timeout=10)


def test_a_read_is_recorded_with_the_callers_actor_and_the_dossier_of_the_response(edge, marked):
    edge, channel = edge
    call(channel, WORKFLOW, "GetCase", workflow_pb2.GetCaseRequest(dossier_code=CODE), workflow_pb2.GetCaseResponse)
    assert edge.reads == [("tt01", uuid.UUID(DOSSIER_ID), CODE, "workflow.GetCase")]
    assert marked == [CODE]


def test_a_read_whose_response_has_no_dossier_is_recorded_from_what_the_handler_named(edge):
    edge, channel = edge
    call(channel, WORKFLOW, "GetResult", workflow_pb2.GetResultRequest(dossier_code=CODE),
         workflow_pb2.GetResultResponse)
    assert edge.reads == [("tt01", uuid.UUID(DOSSIER_ID), CODE, "workflow.GetResult")]


def test_a_read_that_names_no_dossier_is_not_answered(edge):
    edge, channel = edge
    with pytest.raises(grpc.RpcError) as error:
        call(channel, WORKFLOW, "GetResult", workflow_pb2.GetResultRequest(dossier_code="forgets"),
             workflow_pb2.GetResultResponse)
    assert error.value.code() == grpc.StatusCode.INTERNAL and edge.reads == []


def test_a_read_that_cannot_be_recorded_is_not_answered(edge):
    edge, channel = edge
    edge.record_fails = True
    with pytest.raises(grpc.RpcError) as error:
        call(channel, WORKFLOW, "GetCase", workflow_pb2.GetCaseRequest(dossier_code=CODE), workflow_pb2.GetCaseResponse)
    assert error.value.code() == grpc.StatusCode.UNAVAILABLE


def test_a_command_marks_its_dossier_and_records_no_read(edge, marked):
    edge, channel = edge
    call(channel, WORKFLOW, "CompleteStep", workflow_pb2.CompleteStepRequest(), workflow_pb2.CompleteStepResponse)
    assert (edge.reads, marked) == ([], [CODE])


def test_a_stream_hands_on_its_first_page_before_the_rest_exists_and_after_the_read_is_recorded(edge):
    edge, channel = edge
    stream = channel.unary_stream(f"/{AUDIT}/StreamHistory",
                                  request_serializer=audit_pb2.StreamHistoryRequest.SerializeToString,
                                  response_deserializer=audit_pb2.StreamHistoryResponse.FromString)(
        audit_pb2.StreamHistoryRequest(dossier_code=CODE), metadata=(("authorization", "Bearer token-of-tt01"),), timeout=30)
    first = next(stream)
    assert [e.position for e in first.events] == [1]
    assert not edge.stream_finished.is_set()  # the handler is still blocked after its first page
    assert edge.reads == [("tt01", uuid.UUID(DOSSIER_ID), CODE, "audit.StreamHistory")]  # once, before it left
    edge.release.set()
    assert [[e.position for e in page.events] for page in stream] == [[2]]
    assert len(edge.reads) == 1


def test_an_incomplete_declaration_is_refused_naming_the_rpc():
    edge = Edge()
    calls = [DossierCalls(WORKFLOW, reads={"GetCase": "workflow.GetCase"}, others=WORKFLOW_OTHERS,
                          record_read=edge.record_read)]
    with pytest.raises(ValueError, match="GetResult"):
        create_server("127.0.0.1:0", edge.register, max_workers=2, dossier_calls=calls)


def test_declared_reads_need_something_that_records_them():
    with pytest.raises(ValueError, match="records"):
        DossierCalls(AUDIT, reads={"StreamHistory": "audit.StreamHistory"},
                     others=frozenset({"GetStateAt", "VerifyHistory", "ExportHistory", "ListSecurityEvents"})).check_complete()
