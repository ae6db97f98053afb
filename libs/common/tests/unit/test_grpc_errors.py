"""One error mapping for every gRPC server: each application error becomes its status code,
bad fields are named in google.rpc.BadRequest, and nothing else leaks."""
from __future__ import annotations

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from motcua_common.errors import Conflict, FieldViolation, InvalidArgument, NotFound, RuleViolated
from motcua_common.edge.grpc_server import create_server

ERRORS = {
    "invalid": InvalidArgument([FieldViolation("applicant.citizen_id", "must be 12 digits"),
                                FieldViolation("channel", "is required")]),
    "missing": NotFound("procedure_code", "procedure 9.999999 is not in the catalogue"),
    "rule": RuleViolated("STEP_NOT_CURRENT", "step 2 is not started yet"),
    "conflict": Conflict("case is at version 4, not 3"),
    "bug": ZeroDivisionError("secret internals"),
}


@pytest.fixture(scope="module")
def channel():
    def behaviour(request: bytes, context: grpc.ServicerContext) -> bytes:
        raise ERRORS[request.decode()]

    def register(server: grpc.Server) -> list[str]:
        handler = grpc.method_handlers_generic_handler(
            "test.v1.FailService", {"Fail": grpc.unary_unary_rpc_method_handler(behaviour)})
        server.add_generic_rpc_handlers((handler,))
        return ["test.v1.FailService"]

    server, port, _ = create_server("127.0.0.1:0", register, max_workers=2)
    server.start()
    with grpc.insecure_channel(f"127.0.0.1:{port}") as ch:
        yield ch
    server.stop(0)


def call(channel, kind: str) -> grpc.RpcError:  # type: ignore[no-untyped-def]
    with pytest.raises(grpc.RpcError) as error:
        channel.unary_unary("/test.v1.FailService/Fail")(kind.encode(), timeout=5)
    return error.value


def test_a_bad_field_is_invalid_argument_naming_every_field(channel):
    error = call(channel, "invalid")
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    details = rpc_status.from_call(error).details
    bad = error_details_pb2.BadRequest()
    assert details[0].Unpack(bad)
    assert [v.field for v in bad.field_violations] == ["applicant.citizen_id", "channel"]


@pytest.mark.parametrize("kind, code", [("missing", grpc.StatusCode.NOT_FOUND),
                                        ("rule", grpc.StatusCode.FAILED_PRECONDITION),
                                        ("conflict", grpc.StatusCode.ABORTED)])
def test_each_application_error_has_its_status(channel, kind, code):
    assert call(channel, kind).code() == code


def test_an_unexpected_error_is_internal_without_its_details(channel):
    error = call(channel, "bug")
    assert error.code() == grpc.StatusCode.INTERNAL
    assert "secret" not in (error.details() or "")
