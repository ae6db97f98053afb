"""The gRPC edge every service shares: it decodes requests itself, validates them before any
handler runs, sheds what exceeds its in-flight limit (never health checks) and carries the
caller's deadline to the handler."""
from __future__ import annotations

import threading
import unicodedata

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_status import rpc_status

from motcua.workflow.v1 import workflow_pb2
from motcua_common.events import deadlines
from motcua_common.edge.admission import Admission, InFlightLimit
from motcua_common.edge.grpc_server import SPARE_THREADS, create_server
from motcua_testkit.plugin import wait_until

SERVICE = "test.v1.EdgeProbe"


class Probe:
    """Handlers of a test service taking a real request type (GetCaseRequest)."""

    def __init__(self) -> None:
        self.seen: list[workflow_pb2.GetCaseRequest] = []
        self.release = threading.Event()
        self.deadline_seen: list[float | None] = []

    def echo(self, request: workflow_pb2.GetCaseRequest, context: grpc.ServicerContext) -> workflow_pb2.GetCaseResponse:
        self.seen.append(request)
        self.deadline_seen.append(deadlines.current())
        return workflow_pb2.GetCaseResponse(case=workflow_pb2.Case(dossier_code=request.dossier_code))

    def hold(self, request: workflow_pb2.GetCaseRequest, context: grpc.ServicerContext) -> workflow_pb2.GetCaseResponse:
        assert self.release.wait(30)
        return workflow_pb2.GetCaseResponse()


def serve(probe: Probe, limit: InFlightLimit):  # type: ignore[no-untyped-def]
    def handler(behaviour):  # type: ignore[no-untyped-def]
        return grpc.unary_unary_rpc_method_handler(
            behaviour, request_deserializer=workflow_pb2.GetCaseRequest.FromString,
            response_serializer=workflow_pb2.GetCaseResponse.SerializeToString)

    def register(server: grpc.Server) -> list[str]:
        server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(
            SERVICE, {"Echo": handler(probe.echo), "Hold": handler(probe.hold)}),))
        return [SERVICE]

    server, port, _ = create_server("127.0.0.1:0", register, max_in_flight=limit.limit,
                                    admission=Admission([limit]))
    server.start()
    return server, port


@pytest.fixture
def edge():  # type: ignore[no-untyped-def]
    probe, limit = Probe(), InFlightLimit(3)
    server, port = serve(probe, limit)
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        yield probe, limit, channel
    probe.release.set()
    server.stop(0)


def raw_call(channel: grpc.Channel, method: str, payload: bytes, timeout: float = 10) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as error:
        channel.unary_unary(f"/{SERVICE}/{method}")(payload, timeout=timeout)
    return error.value


def violations(error: grpc.RpcError) -> list[str]:
    bad = error_details_pb2.BadRequest()
    assert rpc_status.from_call(error).details[0].Unpack(bad)
    return [v.field for v in bad.field_violations]


@pytest.mark.parametrize("payload", [
    b"\x1a\x02\xff\xfe",          # dossier_code (field 3) holding invalid UTF-8
    b"\x1a\x05ab",                # dossier_code cut short
    b"\x1a",                      # a tag and nothing after it
    b"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff",  # a varint that never ends
    b"\x0f",                      # wire type 7 does not exist
])
def test_bytes_that_do_not_decode_are_invalid_argument_not_internal(edge, payload):
    probe, _, channel = edge
    error = raw_call(channel, "Echo", payload)
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert violations(error) == ["request"]
    assert probe.seen == []


def test_a_request_is_validated_before_its_handler_runs(edge):
    probe, _, channel = edge
    request = workflow_pb2.GetCaseRequest(dossier_code="000.31.01.H45-261203-0001\x00")
    error = raw_call(channel, "Echo", request.SerializeToString())
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert violations(error) == ["dossier_code"]
    assert probe.seen == []


def test_the_handler_sees_normalised_text(edge):
    probe, _, channel = edge
    decomposed = unicodedata.normalize("NFD", "Quảng Trị")
    answer = channel.unary_unary(f"/{SERVICE}/Echo", response_deserializer=workflow_pb2.GetCaseResponse.FromString)(
        workflow_pb2.GetCaseRequest(dossier_code=decomposed).SerializeToString(), timeout=10)
    assert answer.case.dossier_code == unicodedata.normalize("NFC", decomposed) != decomposed


def test_the_callers_deadline_reaches_the_handler(edge):
    probe, _, channel = edge
    call = channel.unary_unary(f"/{SERVICE}/Echo", response_deserializer=workflow_pb2.GetCaseResponse.FromString)
    call(workflow_pb2.GetCaseRequest().SerializeToString(), timeout=30)
    call(workflow_pb2.GetCaseRequest().SerializeToString())
    with_deadline, without = probe.deadline_seen
    assert with_deadline is not None and without is None


def test_work_beyond_the_in_flight_limit_is_shed_and_health_still_answers(edge):
    probe, limit, channel = edge
    hold = channel.unary_unary(f"/{SERVICE}/Hold", response_deserializer=workflow_pb2.GetCaseResponse.FromString)
    held = [hold.future(b"", timeout=60) for _ in range(limit.limit)]
    wait_until(lambda: limit.in_flight == limit.limit, 10, "the held calls to be admitted")

    # more calls than the pool has spare threads: each is refused at once, none waits for a slot
    for _ in range(SPARE_THREADS + 2):
        error = raw_call(channel, "Hold", b"")
        assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    retry = error_details_pb2.RetryInfo()
    assert rpc_status.from_call(error).details[0].Unpack(retry) and retry.retry_delay.ToNanoseconds() > 0

    health = health_pb2_grpc.HealthStub(channel)
    for _ in range(SPARE_THREADS + 2):  # never shed, and not starved of threads by the held calls
        assert health.Check(health_pb2.HealthCheckRequest(), timeout=10).status == health_pb2.HealthCheckResponse.SERVING

    probe.release.set()
    assert all(f.result(timeout=30) == workflow_pb2.GetCaseResponse() for f in held)
    wait_until(lambda: limit.in_flight == 0, 10, "the slots to be released")
    channel.unary_unary(f"/{SERVICE}/Echo")(b"", timeout=10)  # served again


def test_a_refused_call_releases_its_slot(edge):
    probe, limit, channel = edge
    for _ in range(limit.limit * 3):
        assert raw_call(channel, "Echo", b"\x1a").code() == grpc.StatusCode.INVALID_ARGUMENT
    assert limit.in_flight == 0


def test_the_limit_counts_calls_not_threads():
    limit = InFlightLimit(2)
    from motcua_common.edge.admission import Call
    from motcua_common.errors import Overloaded

    first, second = limit.admit(Call("/a/b")), limit.admit(Call("/a/b"))
    with pytest.raises(Overloaded):
        limit.admit(Call("/a/b"))
    first()
    limit.admit(Call("/a/b"))
    second()
    assert limit.in_flight == 1
