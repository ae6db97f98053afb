"""Hostile input against every RPC of every service the platform serves.

The RPCs are discovered through server reflection on each edge, so RPCs and services added
later are fuzzed without touching this file. A property-based fuzzer (hypothesis) builds
requests from the descriptors: valid-looking, malformed (random bytes, truncated encodings,
invalid UTF-8, control characters, out-of-range timestamps, non-finite numbers, undefined enum
values, deep repeats) and oversized. It fails on any INTERNAL or UNKNOWN answer, a hang (every
call has a deadline), a crashed platform process, or an event stored by a refused call. The
cases named in issue 17 are also plain tests below.
"""
from __future__ import annotations

import base64
import math
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import psycopg
import pytest
from google.protobuf import descriptor_pool, message_factory
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.timestamp_pb2 import Timestamp
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import ProtoReflectionDescriptorDatabase
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from motcua.audit.v1 import audit_pb2 as apb
from motcua.intake.v1 import intake_pb2 as ipb
from motcua.workflow.v1 import workflow_pb2 as wpb

from e2e_testkit import bad_request_fields
from motcua_testkit.identities import DEFAULT_CALLERS

pytestmark = pytest.mark.e2e

CALL_DEADLINE = 10.0  # seconds: an answer later than this is a hang
FORBIDDEN = {grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN, grpc.StatusCode.DEADLINE_EXCEEDED,
             grpc.StatusCode.UNAVAILABLE}
SKIPPED_SERVICES = {"grpc.reflection.v1alpha.ServerReflection", "grpc.reflection.v1.ServerReflection"}
SKIPPED_METHODS = {"/grpc.health.v1.Health/Watch"}  # answers forever, by design
#: streams that stay open by design when the request asks to follow (field name): the caller's
#: deadline is how it stops them, so there DEADLINE_EXCEEDED is the normal end, not a hang
FOLLOWING = {"/motcua.events.v1.EventStreamService/Subscribe": "follow"}
FOLLOW_DEADLINE = 2.0
MAX_MESSAGE = 4 * 1024 * 1024


@dataclass(frozen=True)
class Rpc:
    address: str
    path: str  # /package.Service/Method
    input_type: Any  # message class
    server_streaming: bool
    client_streaming: bool

    def __repr__(self) -> str:
        return self.path


def discover(addresses: list[str]) -> list[Rpc]:
    """Every method of every service each edge serves, with request classes from reflection."""
    rpcs = []
    for address in addresses:
        with grpc.insecure_channel(address) as channel:
            database = ProtoReflectionDescriptorDatabase(channel)
            pool = descriptor_pool.DescriptorPool(database)
            for name in sorted(set(database.get_services()) - SKIPPED_SERVICES):
                service = pool.FindServiceByName(name)
                for method in service.methods:
                    if f"/{service.full_name}/{method.name}" in SKIPPED_METHODS:
                        continue
                    rpcs.append(Rpc(address, f"/{service.full_name}/{method.name}",
                                    message_factory.GetMessageClass(method.input_type),
                                    method.server_streaming, method.client_streaming))
    return rpcs


def edges(platform: dict) -> list[str]:
    return sorted(v for k, v in platform.items() if isinstance(v, str) and k not in ("log_dir",) and ":" in v)


@pytest.fixture(scope="module")
def rpcs(platform) -> list[Rpc]:  # type: ignore[no-untyped-def]
    found = discover(edges(platform))
    names = {r.path for r in found}
    # the services of today, as a floor: discovery must not silently shrink
    assert {"/motcua.intake.v1.IntakeService/SubmitDossier", "/motcua.workflow.v1.WorkflowService/ListCases",
            "/motcua.audit.v1.AuditService/StreamHistory", "/grpc.health.v1.Health/Check",
            "/motcua.payment.v1.PaymentService/RefundPayment", "/motcua.payment.v1.PaymentService/ResolveDiscrepancy",
            "/motcua.notification.v1.NotificationService/SetPreferences",
            "/motcua.evaluation.v1.EvaluationService/RateDossier"} <= names
    return found


@pytest.fixture(scope="module")
def channels(platform):  # type: ignore[no-untyped-def]
    opened = {address: grpc.insecure_channel(address, options=[("grpc.max_send_message_length", 2 * MAX_MESSAGE)])
              for address in edges(platform)}
    yield opened
    for channel in opened.values():
        channel.close()


@pytest.fixture(scope="module")
def stored(platform):  # type: ignore[no-untyped-def]
    """The highest position of every service's events table (a refused call must move none)."""
    e = platform["env"]
    conn = psycopg.connect(f"host={e['MOTCUA_PG_HOST']} port={e['MOTCUA_PG_PORT']} user={e['MOTCUA_PG_USER']} "
                           f"password={e['MOTCUA_PG_PASSWORD']} dbname={e['MOTCUA_PG_DBNAME']}", autocommit=True)
    tables = [f'"{schema}"."{table}"' for schema, table in conn.execute(
        "SELECT table_schema, table_name FROM information_schema.columns WHERE table_name LIKE '%\\_events' "
        "AND column_name = 'notification_id'").fetchall()]  # the event stores, not projections named *_events
    assert tables, "no events tables found"
    # A refusal records only its security event (AccessDenied): anything else stored by a refused call is a defect.
    query = " UNION ALL ".join(f"SELECT '{t}', coalesce(max(notification_id), 0) FROM {t} "
                               "WHERE topic NOT LIKE '%AccessDenied%'" for t in tables)

    def positions() -> dict[str, int]:
        return dict(conn.execute(query).fetchall())

    yield positions
    conn.close()


def follows(rpc: Rpc, payload: bytes) -> bool:
    """A request to a following stream that asks it to stay open."""
    field = FOLLOWING.get(rpc.path)
    if field is None:
        return False
    request = rpc.input_type()
    try:
        request.ParseFromString(payload)
    except Exception:  # noqa: BLE001 - malformed: the server refuses it
        return False
    return bool(getattr(request, field))


def call(channels: dict, rpc: Rpc, payload: bytes, metadata: tuple = ()) -> tuple[grpc.StatusCode, grpc.RpcError | None]:
    channel = channels[rpc.address]
    following = follows(rpc, payload)
    deadline = FOLLOW_DEADLINE if following else CALL_DEADLINE
    try:
        if rpc.client_streaming:
            method = channel.stream_stream if rpc.server_streaming else channel.stream_unary
            answer = method(rpc.path)(iter([payload]), timeout=deadline, metadata=metadata)
        else:
            method = channel.unary_stream if rpc.server_streaming else channel.unary_unary
            answer = method(rpc.path)(payload, timeout=deadline, metadata=metadata)
        if rpc.server_streaming:
            for _ in answer:
                pass
        return grpc.StatusCode.OK, None
    except grpc.RpcError as error:
        if following and error.code() == grpc.StatusCode.DEADLINE_EXCEEDED:
            return grpc.StatusCode.OK, None  # it followed until the caller stopped it
        return error.code(), error


def check_call(channels: dict, stored: Any, rpc: Rpc, payload: bytes, metadata: tuple = ()) -> grpc.StatusCode:
    before = stored()
    code, error = call(channels, rpc, payload, metadata)
    assert code not in FORBIDDEN, f"{rpc.path} answered {code.name}: {error.details() if error else ''}"
    if code != grpc.StatusCode.OK:
        assert stored() == before, f"{rpc.path} refused with {code.name} but stored events"
    return code


# -- requests built from the descriptors ---------------------------------------------------------

TEXT_SAMPLES = ["", "Nguyễn Văn An", "Nguye\u0302\u0303n", "000.31.01.H45", "1.004873", "a\x00b", "\x00", "x\n",
                "\t", "\u202e", "\ud7ff", "\U0010ffff", "045" + "\u0661" * 9, "%s%n", "'; DROP TABLE x;--",
                "../../etc/passwd", "\u2028", "\x85", "\x7f", "04509000123\u00b2", "0912345678\n"]
BIG_INTS = [0, 1, -1, 2**31 - 1, -(2**31), 2**63 - 1, -(2**63)]


def text() -> st.SearchStrategy[str]:
    return st.one_of(st.sampled_from(TEXT_SAMPLES), st.text(max_size=40),
                     st.uuids().map(str), st.text(alphabet=st.characters(max_codepoint=0x1f), max_size=5),
                     st.integers(100, 5000).map(lambda n: "ễ" * n))


def scalar(field: FieldDescriptor) -> st.SearchStrategy[Any]:
    t = field.type
    if t == FieldDescriptor.TYPE_STRING:
        return text()
    if t == FieldDescriptor.TYPE_BYTES:
        return st.binary(max_size=64)
    if t == FieldDescriptor.TYPE_BOOL:
        return st.booleans()
    if t in (FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT):
        return st.one_of(st.sampled_from([math.nan, math.inf, -math.inf, 0.0, -0.0, 1e308]), st.floats(width=32))
    if t == FieldDescriptor.TYPE_ENUM:
        return st.one_of(st.sampled_from([v.number for v in field.enum_type.values]), st.integers(-3, 1000))
    if t in (FieldDescriptor.TYPE_INT32, FieldDescriptor.TYPE_SINT32, FieldDescriptor.TYPE_SFIXED32):
        return st.one_of(st.sampled_from(BIG_INTS[:5]), st.integers(-5, 600))
    if t in (FieldDescriptor.TYPE_UINT32, FieldDescriptor.TYPE_FIXED32):
        return st.integers(0, 2**32 - 1)
    if t in (FieldDescriptor.TYPE_UINT64, FieldDescriptor.TYPE_FIXED64):
        return st.integers(0, 2**64 - 1)
    return st.one_of(st.sampled_from(BIG_INTS), st.integers(-5, 100))


def timestamp() -> st.SearchStrategy[tuple[int, int]]:
    return st.tuples(st.one_of(st.integers(-(2**63), 2**63 - 1), st.integers(1_600_000_000, 1_900_000_000),
                               st.sampled_from([-62135596801, 253402300800, 253402300799, 0])),
                     st.one_of(st.integers(-(2**31), 2**31 - 1), st.integers(0, 999_999_999)))


@st.composite
def message_values(draw: Any, descriptor: Any, depth: int = 0) -> dict[str, Any]:
    """A dict of field -> value (or list) for a message of `descriptor`, some fields left out."""
    values: dict[str, Any] = {}
    for field in descriptor.fields:
        if not draw(st.booleans()):
            continue
        single = _value(field, depth)
        if field.is_repeated:
            size = draw(st.one_of(st.integers(0, 3), st.just(300)) if depth == 0 else st.integers(0, 2))
            values[field.name] = [draw(single) for _ in range(min(size, 3))] * (size // 3 if size > 3 else 1)
        else:
            values[field.name] = draw(single)
    return values


def _value(field: FieldDescriptor, depth: int) -> st.SearchStrategy[Any]:
    if field.type != FieldDescriptor.TYPE_MESSAGE:
        return scalar(field)
    if field.message_type.full_name == "google.protobuf.Timestamp":
        return timestamp().map(lambda sn: ("ts", sn))
    if field.message_type.GetOptions().map_entry:
        key, value = field.message_type.fields_by_name["key"], field.message_type.fields_by_name["value"]
        if value.type == FieldDescriptor.TYPE_MESSAGE:
            return st.just(None)
        return st.tuples(scalar(key), scalar(value)).map(lambda kv: ("kv", kv))
    if depth >= 3:
        return st.just(("msg", {}))
    return message_values(field.message_type, depth + 1).map(lambda v: ("msg", v))


def build(message: Any, values: dict[str, Any]) -> None:
    for name, value in values.items():
        field = message.DESCRIPTOR.fields_by_name[name]
        items = value if field.is_repeated else [value]
        for item in items:
            _set(message, field, item)


def _set(message: Any, field: FieldDescriptor, item: Any) -> None:
    if item is None:
        return
    if field.type != FieldDescriptor.TYPE_MESSAGE:
        if field.is_repeated:
            getattr(message, field.name).append(item)
        else:
            setattr(message, field.name, item)
        return
    kind, content = item
    target = getattr(message, field.name)
    if kind == "kv":
        target[content[0]] = content[1]
        return
    if field.is_repeated:
        target = target.add()
    if kind == "ts":
        target.seconds, target.nanos = content
    else:
        target.SetInParent()
        build(target, content)


@st.composite
def payloads(draw: Any, rpc: Rpc) -> bytes:
    """Bytes on the wire: a descriptor-built message, or a malformed or oversized one."""
    message = rpc.input_type()
    build(message, draw(message_values(message.DESCRIPTOR)))
    encoded = message.SerializeToString()
    kind = draw(st.sampled_from(["message"] * 12 + ["random", "truncated", "bad_utf8"] * 2 + ["oversized", "huge_text"]))
    if kind == "random":
        return draw(st.binary(max_size=200))
    if kind == "truncated":
        return encoded[:draw(st.integers(0, max(len(encoded) - 1, 0)))] if encoded else b"\x0a\x05ab"
    if kind == "bad_utf8":
        strings = [f for f in message.DESCRIPTOR.fields if f.type == FieldDescriptor.TYPE_STRING]
        number = draw(st.sampled_from(strings)).number if strings else 1
        bad = draw(st.sampled_from([b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"a\x80b"]))
        return encoded + _tag(number, 2) + bytes([len(bad)]) + bad
    if kind == "oversized":
        return encoded + _tag(15000, 2) + _varint(MAX_MESSAGE + 10) + b"\x00" * (MAX_MESSAGE + 10)
    if kind == "huge_text":
        strings = [f for f in message.DESCRIPTOR.fields if f.type == FieldDescriptor.TYPE_STRING]
        number = draw(st.sampled_from(strings)).number if strings else 1
        size = MAX_MESSAGE - 4096
        return encoded + _tag(number, 2) + _varint(size) + b"a" * size
    return encoded


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _tag(number: int, wire_type: int) -> bytes:
    return _varint(number << 3 | wire_type)


@pytest.fixture(scope="module")
def callers(identity_provider) -> list[tuple]:  # type: ignore[no-untyped-def]
    """Whom the fuzzer calls as: nobody, real tokens of each kind from the identity provider, a real
    token whose signature was altered, garbage, and identity claimed in metadata beside a valid token."""
    def bearer(who: str) -> tuple:
        return identity_provider.metadata(who)

    header, payload, signature = identity_provider.token("canbo01").split(".")
    forged = f"{header}.{payload}.{signature[:-4]}AAAA"
    return [(), bearer("canbo01"), bearer("lanhdao01"), bearer("congdan01"), bearer("thanhtra01"),
            bearer("sre01"), bearer("client:cong-dvc-quoc-gia"), (("authorization", f"Bearer {forged}"),),
            (("authorization", "Bearer not-a-token"),), (("authorization", "Basic Y2FuYm86eA=="),),
            (*bearer("canbo01"), ("x-motcua-actor-kind", "system")),
            (*bearer("client:cong-dvc-quoc-gia"), ("x-motcua-on-behalf-of", "044190000101"))]


@pytest.fixture(scope="module")
def desk(identity_provider) -> tuple:  # type: ignore[no-untyped-def]
    return identity_provider.metadata("canbo01")


@settings(max_examples=200, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example,
                                 HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_no_rpc_answers_internal_hangs_or_stores_on_refusal(platform, rpcs, channels, stored, callers, data):
    rpc = data.draw(st.sampled_from(rpcs), label="rpc")
    payload = data.draw(payloads(rpc), label="payload")
    check_call(channels, stored, rpc, payload, data.draw(st.sampled_from(callers), label="caller"))


def test_every_rpc_survives_each_kind_of_malformed_bytes(rpcs, channels, stored):
    """Every RPC at least once with each malformed encoding, whatever hypothesis drew above."""
    broken = (b"\x0a\x05ab", b"\xff" * 11, b"\x0f")  # cut short, a varint that never ends, wire type 7
    schema_dependent = (b"\x0a\x02\xff\xfe", b"\x0a\x01\x00")  # field 1: invalid UTF-8, NUL
    for rpc in rpcs:
        for payload in broken + schema_dependent:
            code = check_call(channels, stored, rpc, payload)
            if payload in broken:
                assert code == grpc.StatusCode.INVALID_ARGUMENT, (rpc, payload, code)


# -- the cases named in issue 17, item 2 ---------------------------------------------------------

def rpc_named(rpcs: list[Rpc], path: str) -> Rpc:
    return next(r for r in rpcs if r.path == path)


def refused_fields(channels: dict, stored: Any, rpc: Rpc, request: Any, identity_provider: Any) -> list[str]:
    """The fields named by the refusal of a call made by the demo user whose work the RPC is."""
    caller = identity_provider.metadata(DEFAULT_CALLERS[rpc.path.rsplit("/", 1)[-1]])
    before = stored()
    code, error = call(channels, rpc, request.SerializeToString(), caller)
    assert code == grpc.StatusCode.INVALID_ARGUMENT, f"{rpc.path}: {code.name} {error.details() if error else ''}"
    assert stored() == before
    return bad_request_fields(error)


TOO_LATE = Timestamp(seconds=253402300800)  # 10000-01-01
BAD_NANOS = Timestamp(seconds=1_800_000_000, nanos=-1)


@pytest.mark.parametrize("path, request_, field", [
    ("/motcua.intake.v1.IntakeService/ListProcedures", ipb.ListProceduresRequest(as_of=TOO_LATE), "as_of"),
    ("/motcua.intake.v1.IntakeService/ListProcedures", ipb.ListProceduresRequest(as_of=BAD_NANOS), "as_of"),
    ("/motcua.intake.v1.IntakeService/SubmitDossier", ipb.SubmitDossierRequest(received_at=TOO_LATE), "received_at"),
    ("/motcua.intake.v1.IntakeService/SubmitDossier", ipb.SubmitDossierRequest(
        received_at=Timestamp(seconds=-62135596801)), "received_at"),
    ("/motcua.workflow.v1.WorkflowService/ExtendDeadline", wpb.ExtendDeadlineRequest(
        idempotency_key="k", case_id=str(uuid.uuid4()), new_due_at=TOO_LATE), "new_due_at"),
    ("/motcua.workflow.v1.WorkflowService/ExtendDeadline", wpb.ExtendDeadlineRequest(
        new_due_at=Timestamp(seconds=253402300799)), "new_due_at"),  # 9999-12-31: beyond the field's bound
    ("/motcua.audit.v1.AuditService/GetStateAt", apb.GetStateAtRequest(dossier_code="x", as_of=BAD_NANOS), "as_of"),
    ("/motcua.audit.v1.AuditService/GetStateAt", apb.GetStateAtRequest(dossier_code="x", as_of=TOO_LATE), "as_of"),
    ("/motcua.workflow.v1.WorkflowService/GetCase", wpb.GetCaseRequest(dossier_code="000.31.01.H45-261203-0001\x00"),
     "dossier_code"),
    ("/motcua.workflow.v1.WorkflowService/ListCases", wpb.ListCasesRequest(unit_code="000.31.01.H45\x00"), "unit_code"),
    ("/motcua.workflow.v1.WorkflowService/ListCases", wpb.ListCasesRequest(assignee="canbo\x0001"), "assignee"),
    ("/motcua.workflow.v1.WorkflowService/AssignStep", wpb.AssignStepRequest(
        idempotency_key="k", case_id=str(uuid.uuid4()), expected_version=1, official="chuyenvien\x0001"), "official"),
    ("/motcua.workflow.v1.WorkflowService/ExtendDeadline", wpb.ExtendDeadlineRequest(
        idempotency_key="k", case_id=str(uuid.uuid4()), expected_version=1,
        new_due_at=Timestamp(seconds=1_900_000_000), reason="Chờ xác minh\x00"), "reason"),
    ("/motcua.audit.v1.AuditService/StreamHistory", apb.StreamHistoryRequest(dossier_code="\x00"), "dossier_code"),
    ("/motcua.audit.v1.AuditService/GetStateAt", apb.GetStateAtRequest(dossier_code="a\x00"), "dossier_code"),
    ("/motcua.audit.v1.AuditService/VerifyHistory", apb.VerifyHistoryRequest(dossier_code="a\x00"), "dossier_code"),
    ("/motcua.audit.v1.AuditService/ExportHistory", apb.ExportHistoryRequest(dossier_code="a\x00"), "dossier_code"),
])
def test_each_named_case_is_invalid_argument_naming_its_field(rpcs, channels, stored, identity_provider, path,
                                                             request_, field):
    assert field in refused_fields(channels, stored, rpc_named(rpcs, path), request_, identity_provider)


@pytest.mark.parametrize("token", [
    "garbage", "!!!", base64.urlsafe_b64encode(b"x|y").decode(),
    base64.urlsafe_b64encode(b"not a time|" + str(uuid.uuid4()).encode()).decode(),
    base64.urlsafe_b64encode(b"2026-12-03T08:00:00|" + str(uuid.uuid4()).encode()).decode(),  # no time zone
    base64.urlsafe_b64encode(b"\xff\xfe|x").decode(),
    base64.urlsafe_b64encode(b"2026-12-03T08:00:00+00:00\x00|" + str(uuid.uuid4()).encode()).decode(),
    base64.urlsafe_b64encode(b"a|b|c").decode(),
])
def test_a_forged_page_token_is_invalid_argument_naming_it(rpcs, channels, stored, identity_provider, token):
    rpc = rpc_named(rpcs, "/motcua.workflow.v1.WorkflowService/ListCases")
    assert refused_fields(channels, stored, rpc, wpb.ListCasesRequest(unit_code="000.31.01.H45", page_token=token),
                          identity_provider) == ["page_token"]


@pytest.mark.parametrize("payload", [b"\x12\x02\xff\xfe", b"\x12\x05ab"])  # procedure_code: invalid UTF-8; cut short
def test_bytes_that_do_not_decode_are_invalid_argument(rpcs, channels, stored, desk, payload):
    rpc = rpc_named(rpcs, "/motcua.intake.v1.IntakeService/SubmitDossier")
    before = stored()
    code, error = call(channels, rpc, payload, desk)
    assert code == grpc.StatusCode.INVALID_ARGUMENT and bad_request_fields(error) == ["request"]
    assert stored() == before


# -- last, because it stores: well-formed requests with one hostile field ------------------------

def _string_paths(message: Any, prefix: tuple = ()) -> list[tuple]:
    paths = []
    for field in message.DESCRIPTOR.fields:
        if field.type == FieldDescriptor.TYPE_STRING and not field.is_repeated:
            paths.append((*prefix, field.name))
        elif field.type == FieldDescriptor.TYPE_MESSAGE and not field.is_repeated and message.HasField(field.name):
            paths += _string_paths(getattr(message, field.name), (*prefix, field.name))
        elif field.type == FieldDescriptor.TYPE_MESSAGE and field.is_repeated:
            for i, item in enumerate(getattr(message, field.name)):
                paths += _string_paths(item, (*prefix, field.name, i))
    return paths


def _replace(message: Any, path: tuple, value: str) -> None:
    target = message
    for step in path[:-1]:
        target = target[step] if isinstance(step, int) else getattr(target, step)
    setattr(target, path[-1], value)


@settings(max_examples=60, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_a_well_formed_submission_with_one_hostile_field_is_never_internal(rpcs, channels, desk, data):
    from e2e_testkit import submit_request

    request = submit_request()
    path = data.draw(st.sampled_from(_string_paths(request)), label="field")
    _replace(request, path, data.draw(text(), label="value"))
    rpc = rpc_named(rpcs, "/motcua.intake.v1.IntakeService/SubmitDossier")
    code, error = call(channels, rpc, request.SerializeToString(), desk)
    assert code not in FORBIDDEN, f"{path}: {code.name} {error.details() if error else ''}"


def test_after_all_of_it_no_platform_process_crashed_and_every_edge_serves(platform, rpcs):
    log = (Path(platform["log_dir"]) / "platform.log").read_text()
    assert " exited with " not in log, log[-3000:]
    for address in edges(platform):
        with grpc.insecure_channel(address) as channel:
            answer = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=5)
            assert answer.status == health_pb2.HealthCheckResponse.SERVING
