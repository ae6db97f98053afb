"""gRPC server bootstrap shared by every service's edge process.

`create_server(address, ...)` returns (server, port) without starting to serve,
so tests bind port 0. Health checking, reflection and graceful shutdown are
always on. One interceptor (EdgeInterceptor) is the edge: it decodes each request
itself (undecodable bytes -> INVALID_ARGUMENT), sheds what exceeds the admission
limits (RESOURCE_EXHAUSTED; motcua_common.edge.admission), validates every field
(motcua_common.edge.validation), carries the caller's deadline to the event store
(motcua_common.events.deadlines) and maps application errors to status codes:
not found -> NOT_FOUND, rule violated -> FAILED_PRECONDITION, bad field ->
INVALID_ARGUMENT with google.rpc.BadRequest, conflict -> ABORTED, store or
broker or a needed service unreachable -> UNAVAILABLE (the caller may retry with its idempotency key),
overloaded -> RESOURCE_EXHAUSTED with google.rpc.RetryInfo, deadline passed before storing -> DEADLINE_EXCEEDED.

The edge also does what every call on a dossier needs (DossierCalls, declared once per service):
it names the dossier on the call's span and, for a read, records who read it before the response
(or a stream's first message) leaves. A service's RPCs must all be declared, so a new read RPC
cannot be added without saying what it reads.
"""
from __future__ import annotations

import contextlib
import contextvars
import signal
import threading
import time
from concurrent import futures
from pathlib import Path
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator, Mapping
from uuid import UUID

import grpc
from eventsourcing.persistence import InterfaceError, OperationalError
from google.protobuf import any_pb2, descriptor_pool, duration_pb2
from google.protobuf.message import Message
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from grpc_status import rpc_status

from motcua_common.events import deadlines
from motcua_common.events.event_stream import EVENT_STREAM_SERVICE
from motcua_common.edge import access
from motcua_common.edge.access import Gate, Guard
from motcua_common.edge.admission import Admission, Call, CallerRateLimits, InFlightLimit, TokenBuckets
from motcua_common.events.context import Actor
from motcua_common.errors import (Conflict, DeadlineExceeded, InvalidArgument, MotcuaError, NotFound, Overloaded,
                                  PermissionDenied, RuleViolated, Unauthenticated, Unavailable)
from motcua_common.observability.logs import configure, get_logger
from motcua_common.config.settings import DEFAULT_GRPC_MAX_IN_FLIGHT, ConfigurationError, Settings
from motcua_common.identity.authorisation import Policy
from motcua_common.identity.tokens import TokenVerifier
from motcua_common.privacy.sealing import subject_id_for
from motcua_common.province.organisation import Organisation
from motcua_common.observability.telemetry import context_from_metadata, mark_dossier, meter, tracer
from motcua_common.edge.transport import server_credentials
from motcua_common.edge.validation import validate_request
from opentelemetry.trace import SpanKind, Status, StatusCode

log = get_logger()

#: (actor, dossier id, dossier code, what) -> None: records a read (MotcuaApplication.record_read)
ReadRecorder = Callable[[Actor, UUID, str, str], None]


@dataclass(frozen=True)
class DossierCalls:
    """What each RPC of one gRPC service does with a dossier, for the edge to act on.

    `reads`: RPC name -> what the read record says (e.g. "intake.GetDossier"); the edge records
    the read, with the caller's actor, before the response leaves, and refuses to answer (INTERNAL)
    if the call named no dossier. `others`: every other RPC (commands, lists, reads the application
    records itself). The dossier is found in the response (`dossier`, `case` or `state`), or is the
    one the handler named with `serves()`. `guards`: RPC name -> how the edge authorises it
    (motcua_common.edge.access.Guard); an edge with a Gate refuses to start unless every RPC has one.
    """

    service: str
    reads: Mapping[str, str] = field(default_factory=dict)
    others: frozenset[str] = frozenset()
    record_read: ReadRecorder | None = None
    guards: Mapping[str, Guard] = field(default_factory=dict)

    def methods(self) -> set[str]:
        return {m.name for m in descriptor_pool.Default().FindServiceByName(self.service).methods}

    def check_complete(self) -> None:
        """Refuse a declaration that misses (or invents) an RPC of the service."""
        methods = self.methods()
        declared = set(self.reads) | set(self.others)
        if methods != declared or set(self.reads) & set(self.others):
            raise ValueError(f"{self.service}: declare every RPC once in DossierCalls (reads or others); "
                             f"undeclared: {sorted(methods - declared)}, unknown: {sorted(declared - methods)}")
        if self.reads and self.record_read is None:
            raise ValueError(f"{self.service}: reads are declared but nothing records them")

    def check_guarded(self) -> None:
        """Refuse a service with an RPC the edge would not know how to authorise."""
        methods = self.methods()
        if set(self.guards) != methods:
            raise ValueError(f"{self.service}: give every RPC a Guard (motcua_common.edge.access); "
                             f"unguarded: {sorted(methods - set(self.guards))}, "
                             f"unknown: {sorted(set(self.guards) - methods)}")


_served: contextvars.ContextVar[list | None] = contextvars.ContextVar("motcua_served_dossier", default=None)


def serves(dossier_id: Any, dossier_code: str) -> None:
    """Name the dossier this call serves, when its response does not carry it (a form, a file)."""
    holder = _served.get()
    if holder is not None:
        holder[:] = [str(dossier_id), dossier_code]


def dossier_in(message: Any) -> tuple[str, str] | None:
    """(dossier id, code) of a response that carries its dossier, its case or its state."""
    fields = getattr(getattr(message, "DESCRIPTOR", None), "fields_by_name", {})
    for name in ("dossier", "case", "state"):
        if name in fields and fields[name].message_type is not None and message.HasField(name):
            inner = getattr(message, name)
            inner_fields = inner.DESCRIPTOR.fields_by_name
            if "dossier_code" in inner_fields:
                return inner.dossier_id, inner.dossier_code
            if "code" in inner_fields and "id" in inner_fields:
                return inner.id, inner.code
    return None


class _DossierCall:
    """One call's dossier: named by the handler (serves) or found in its first response."""

    def __init__(self, rpc: str, calls: DossierCalls | None, context: grpc.ServicerContext) -> None:
        self.rpc, self.calls, self.context = rpc, calls, context
        self.named: list = []
        self.done = False
        _served.set(self.named)

    def answered(self, response: Any) -> None:
        """Before `response` leaves: mark the span and record the read (once per call)."""
        if self.done:
            return
        self.done = True
        ref = tuple(self.named) or dossier_in(response)
        what = self.calls.reads.get(self.rpc) if self.calls is not None else None
        if ref and ref[1]:
            mark_dossier(ref[1])
        if what is None:
            return
        if not ref or not ref[0]:
            raise RuntimeError(f"read RPC {self.rpc} answered without naming its dossier: the read cannot be recorded")
        self.calls.record_read(access.caller(), UUID(ref[0]), ref[1], what)  # type: ignore[union-attr,misc]


def _status_for(error: MotcuaError) -> status_pb2.Status:
    detail = any_pb2.Any()
    if isinstance(error, InvalidArgument):
        detail.Pack(error_details_pb2.BadRequest(field_violations=[
            error_details_pb2.BadRequest.FieldViolation(field=v.field, description=v.description)
            for v in error.violations
        ]))
        return status_pb2.Status(code=code_pb2.INVALID_ARGUMENT, message=str(error), details=[detail])
    if isinstance(error, NotFound):
        detail.Pack(error_details_pb2.BadRequest(field_violations=[
            error_details_pb2.BadRequest.FieldViolation(field=error.field, description=str(error))
        ]))
        return status_pb2.Status(code=code_pb2.NOT_FOUND, message=str(error), details=[detail])
    if isinstance(error, RuleViolated):
        detail.Pack(error_details_pb2.PreconditionFailure(violations=[
            error_details_pb2.PreconditionFailure.Violation(type=error.reason, description=str(error))
        ]))
        return status_pb2.Status(code=code_pb2.FAILED_PRECONDITION, message=str(error), details=[detail])
    if isinstance(error, Unauthenticated):
        return status_pb2.Status(code=code_pb2.UNAUTHENTICATED, message=str(error))
    if isinstance(error, PermissionDenied):
        return status_pb2.Status(code=code_pb2.PERMISSION_DENIED, message=str(error))
    if isinstance(error, Conflict):
        return status_pb2.Status(code=code_pb2.ABORTED, message=str(error))
    if isinstance(error, Unavailable):
        return status_pb2.Status(code=code_pb2.UNAVAILABLE, message=str(error))
    if isinstance(error, Overloaded):
        retry = duration_pb2.Duration()
        retry.FromNanoseconds(int(error.retry_after * 1e9))
        detail.Pack(error_details_pb2.RetryInfo(retry_delay=retry))
        return status_pb2.Status(code=code_pb2.RESOURCE_EXHAUSTED, message=str(error), details=[detail])
    if isinstance(error, DeadlineExceeded):
        return status_pb2.Status(code=code_pb2.DEADLINE_EXCEEDED, message=str(error))
    return status_pb2.Status(code=code_pb2.INTERNAL, message="internal error")


_rpc_duration = meter().create_histogram(
    "rpc.server.duration", unit="ms", description="gRPC server call duration, by method and status code")

#: open to every caller without a token: an orchestrator's probes, and tools discovering the API
OPEN_SERVICES = frozenset({"grpc.health.v1.Health", "grpc.reflection.v1alpha.ServerReflection",
                           "grpc.reflection.v1.ServerReflection"})
#: never shed: an orchestrator must see a saturated edge as alive
UNSHED_METHODS = frozenset({"/grpc.health.v1.Health/Check"})
#: threads beyond the admission limit, so health checks and refusals never wait for a busy thread
#: (a call waiting for a pool thread is not yet seen by any interceptor)
SPARE_THREADS = 8


class _Undecodable:
    """What the edge's deserializer hands on instead of raising (grpc would answer INTERNAL)."""

    __slots__ = ("type_name",)

    def __init__(self, type_name: str) -> None:
        self.type_name = type_name


def _decoding(deserializer: Callable[[bytes], Any] | None) -> Callable[[bytes], Any] | None:
    if deserializer is None:
        return None
    type_name = getattr(getattr(deserializer, "__self__", None), "DESCRIPTOR", None)
    type_name = type_name.full_name if type_name is not None else "request"

    def decode(data: bytes) -> Any:
        try:
            return deserializer(data)
        except Exception:  # noqa: BLE001 - any undecodable input is the caller's
            return _Undecodable(type_name)

    return decode


def _checked(request: Any) -> Any:
    """The decoded, validated request (strings normalised in place)."""
    if isinstance(request, _Undecodable):
        raise InvalidArgument.single(
            "request", f"is not a valid {request.type_name} message (bad encoding, invalid UTF-8 or truncated)")
    if isinstance(request, Message):
        validate_request(request)
    return request


class _EdgeCall:
    """One call through the edge: tracing, admission, the caller's deadline, error mapping."""

    def __init__(self, method: str, context: grpc.ServicerContext, admission: Admission) -> None:
        self.method = method
        _, self.service, self.rpc = method.split("/")
        self.context = context
        self.admission = admission

    @contextlib.contextmanager
    def serve(self) -> Iterator[None]:
        context, method = self.context, self.method
        started = time.perf_counter()
        status = "OK"
        metadata = tuple(context.invocation_metadata() or ())
        parent = context_from_metadata(metadata)
        # Exceptions are recorded by hand below: an expected refusal (NOT_FOUND...) is no stack trace.
        with tracer().start_as_current_span(method.lstrip("/"), context=parent, kind=SpanKind.SERVER,
                                            attributes={"rpc.system": "grpc", "rpc.service": self.service,
                                                        "rpc.method": self.rpc},
                                            record_exception=False, set_status_on_exception=False) as span:
            try:
                admitted = (contextlib.nullcontext() if method in UNSHED_METHODS
                            else self.admission.admitted(Call(method, metadata)))
                with admitted, deadlines.call_deadline(context.time_remaining()):
                    yield
            except MotcuaError as error:
                mapped = _status_for(error)
                status = _CODE_NAMES.get(mapped.code, "UNKNOWN")
                context.abort_with_status(rpc_status.to_status(mapped))
            except (OperationalError, InterfaceError) as error:
                status = "UNAVAILABLE"
                log.warning("store_unavailable", method=method, error=str(error)[:300])
                context.abort(grpc.StatusCode.UNAVAILABLE,
                              "the event store is unavailable; retry with the same idempotency key")
            except Exception as error:
                if context.code() is not None:  # already aborted by the handler
                    raise
                status = "INTERNAL"
                span.record_exception(error)
                log.exception("unhandled_error", method=method)
                context.abort(grpc.StatusCode.INTERNAL, "internal error")
            finally:
                span.set_attribute("rpc.grpc.status_code", status)
                if status != "OK":
                    span.set_status(Status(StatusCode.ERROR, status))
                _rpc_duration.record((time.perf_counter() - started) * 1000,
                                     {"rpc.service": self.service, "rpc.method": self.rpc,
                                      "rpc.grpc.status_code": status})


@contextlib.contextmanager
def _authorised(gate: Gate | None, rpc: str, calls: DossierCalls | None, request: Any,
                context: grpc.ServicerContext) -> Iterator[None]:
    """The call's verified access, for the handler to read (caller(), listing()), while it runs."""
    if gate is None:  # an edge built without authentication (library tests only; run_edge always has one)
        decided = access.CallAccess(None, "")
    else:
        guard = calls.guards.get(rpc) if calls is not None else None
        if guard is None:
            raise PermissionDenied(f"{rpc} is not open to callers")
        decided = gate.admit(rpc, guard, request, tuple(context.invocation_metadata() or ()), context.peer() or "")
    token = access.enter(decided)
    try:
        yield
    finally:
        access.leave(token)


def _guard_unary(behaviour: Callable, method: str, admission: Admission, calls: DossierCalls | None,
                 gate: Gate | None) -> Callable:
    def guarded(request: Any, context: grpc.ServicerContext) -> Any:
        edge = _EdgeCall(method, context, admission)
        with edge.serve():
            request = _checked(request)
            with _authorised(gate, edge.rpc, calls, request, context):
                dossier = _DossierCall(edge.rpc, calls, context)
                response = behaviour(request, context)
                dossier.answered(response)
                return response

    return guarded


def _guard_stream(behaviour: Callable, method: str, admission: Admission, calls: DossierCalls | None,
                  gate: Gate | None) -> Callable:
    """Each message is handed on as the handler yields it (never collected first); the first one
    leaves only after the dossier's read is recorded."""
    def guarded(request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
        edge = _EdgeCall(method, context, admission)
        with edge.serve():
            request = _checked(request)
            with _authorised(gate, edge.rpc, calls, request, context):
                dossier = _DossierCall(edge.rpc, calls, context)
                for response in behaviour(request, context):
                    dossier.answered(response)
                    yield response

    return guarded


def _guard_request_stream(behaviour: Callable, method: str, admission: Admission, streaming: bool) -> Callable:
    def requests(iterator: Iterator[Any]) -> Iterator[Any]:
        for request in iterator:
            yield _checked(request)

    if streaming:
        def guarded(request_iterator: Iterator[Any], context: grpc.ServicerContext) -> Iterator[Any]:
            with _EdgeCall(method, context, admission).serve():
                yield from behaviour(requests(request_iterator), context)
    else:
        def guarded(request_iterator: Iterator[Any], context: grpc.ServicerContext) -> Any:  # type: ignore[misc]
            with _EdgeCall(method, context, admission).serve():
                return behaviour(requests(request_iterator), context)

    return guarded


_CODE_NAMES = {c.value[0]: c.name for c in grpc.StatusCode}


class EdgeInterceptor(grpc.ServerInterceptor):
    """Every call: decoded by the edge itself, admitted (or shed), validated (motcua_common.edge.validation),
    traced, its deadline carried to the event store, and its errors mapped to status codes."""

    def __init__(self, admission: Admission | None = None, dossier_calls: Iterable[DossierCalls] = (),
                 gate: Gate | None = None) -> None:
        self.admission = admission or Admission()
        self.dossier_calls = {calls.service: calls for calls in dossier_calls}
        self.gate = gate

    def intercept_service(self, continuation: Callable, handler_call_details: Any) -> Any:
        handler = continuation(handler_call_details)
        if handler is None:
            return None
        method, admission, gate = handler_call_details.method, self.admission, self.gate
        service = method.split("/")[1] if method.count("/") == 2 else ""
        calls = self.dossier_calls.get(service)
        if service in OPEN_SERVICES:
            gate = None  # health and reflection are open to every caller
        decode = _decoding(handler.request_deserializer)
        serialize = handler.response_serializer
        if handler.unary_unary is not None:
            return grpc.unary_unary_rpc_method_handler(
                _guard_unary(handler.unary_unary, method, admission, calls, gate), decode, serialize)
        if handler.unary_stream is not None:
            return grpc.unary_stream_rpc_method_handler(
                _guard_stream(handler.unary_stream, method, admission, calls, gate), decode, serialize)
        if handler.stream_unary is not None:
            return grpc.stream_unary_rpc_method_handler(
                _guard_request_stream(handler.stream_unary, method, admission, streaming=False), decode, serialize)
        if handler.stream_stream is not None:
            return grpc.stream_stream_rpc_method_handler(
                _guard_request_stream(handler.stream_stream, method, admission, streaming=True), decode, serialize)
        return handler


def create_server(
    address: str,
    register: Callable[[grpc.Server], Iterable[str]],
    max_workers: int | None = None,
    max_in_flight: int = DEFAULT_GRPC_MAX_IN_FLIGHT,
    admission: Admission | None = None,
    dossier_calls: Iterable[DossierCalls] = (),
    gate: Gate | None = None,
    credentials: grpc.ServerCredentials | None = None,
) -> tuple[grpc.Server, int, health.HealthServicer]:
    """Build a server with the services `register` adds (it returns their full names).

    `dossier_calls` declares, per service, which RPCs read a dossier (the edge records those reads);
    a declaration missing an RPC is refused here, before serving.

    At most `max_in_flight` calls are served at once (health checks aside); more are refused
    with RESOURCE_EXHAUSTED. `admission` replaces that policy chain (e.g. to add rate limits).
    The thread pool holds SPARE_THREADS more than the limit unless `max_workers` says otherwise.

    `gate` authenticates and authorises every call but health and reflection (motcua_common.edge.access);
    with a gate, every RPC of every registered service must have a Guard.
    `credentials` (motcua_common.edge.transport.server_credentials) makes the port TLS; None: plaintext.
    """
    admission = admission or Admission([InFlightLimit(max_in_flight)])
    dossier_calls = list(dossier_calls)
    for calls in dossier_calls:
        calls.check_complete()
        if gate is not None:
            calls.check_guarded()
            gate.check_guards(calls.service, calls.guards)
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=max_workers or max_in_flight + SPARE_THREADS),
        interceptors=[EdgeInterceptor(admission, dossier_calls, gate)],
        options=[("grpc.max_receive_message_length", 4 * 1024 * 1024), ("grpc.so_reuseport", 0)],
    )
    names = list(register(server))
    if gate is not None:
        declared = {calls.service for calls in dossier_calls}
        for name in names:
            if name not in declared:
                raise ValueError(f"{name} is served without DossierCalls and Guards: the edge cannot authorise it")
            if any(m.client_streaming for m in descriptor_pool.Default().FindServiceByName(name).methods):
                raise ValueError(f"{name} has a client-streaming RPC: the edge authorises single requests only")
    health_servicer = health.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    for name in names:
        health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    health_servicer.set("", health_pb2.HealthCheckResponse.SERVING)
    reflection.enable_server_reflection([*names, health.SERVICE_NAME, reflection.SERVICE_NAME], server)
    port = (server.add_insecure_port(address) if credentials is None
            else server.add_secure_port(address, credentials))
    if port == 0:
        raise OSError(f"could not bind gRPC address {address}")
    return server, port, health_servicer


def event_stream_calls() -> DossierCalls:
    """How the edge treats EventStreamService/Subscribe: integrators granted `events.subscribe` follow it."""
    return DossierCalls(EVENT_STREAM_SERVICE, others=frozenset({"Subscribe"}),
                        guards={"Subscribe": Guard("events.subscribe")})


def gate_from_settings(settings: Settings, record_denial: Any = None) -> Gate:
    """The edge's gate: tokens from the configured issuer, the province's policy and organisation."""
    if not settings.oidc_issuer:
        raise ConfigurationError("MOTCUA_OIDC_ISSUER is not set: an edge serves only callers with verified tokens "
                                 "(`make run` starts a local identity provider and sets it)")
    data = Path(settings.data_dir)
    return Gate(TokenVerifier.from_settings(settings), Policy.load(data / "access-policy.yaml"),
                Organisation.load(data / "units.yaml"),
                lambda citizen_id: str(subject_id_for(settings.subject_kek, settings.province, "citizen", citizen_id)),
                record_denial,
                CallerRateLimits(clients=TokenBuckets(settings.rate_limit_client_per_minute,
                                                      burst=max(10, settings.rate_limit_client_per_minute // 6)),
                                 citizens=TokenBuckets(settings.rate_limit_citizen_per_minute,
                                                       burst=max(10, settings.rate_limit_citizen_per_minute // 6))))


def serve_until_signalled(server: grpc.Server, health_servicer: health.HealthServicer, grace: float = 5.0) -> None:
    """Serve; on SIGTERM/SIGINT report NOT_SERVING, finish in-flight calls, then stop."""
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    server.start()
    stop.wait()
    health_servicer.enter_graceful_shutdown()
    server.stop(grace).wait()


def run_edge(service: str, default_port: int, servicer_and_names: Callable[[Any], tuple],
             bootstrap: Callable[[Any], Any]) -> None:
    """The main() of every service's gRPC edge process: settings, logs, bootstrap, serve until signalled.

    `servicer_and_names(app)` returns a function that adds the servicers to a server, their full
    names and their DossierCalls.
    """
    settings = Settings.from_env()
    configure(service=service, process="grpc", level=settings.log_level)
    address = settings.grpc_address(service, default_port)
    app = bootstrap(settings)
    add, names, dossier_calls = servicer_and_names(app)

    def register(server: grpc.Server) -> list[str]:
        add(server)
        return names

    credentials = server_credentials(settings)
    server, port, health_servicer = create_server(address, register, max_in_flight=settings.grpc_max_in_flight,
                                                  dossier_calls=dossier_calls, credentials=credentials,
                                                  gate=gate_from_settings(settings, getattr(app, "record_denial", None)))
    log.info("grpc_serving", address=address, port=port, tls=credentials is not None,
             client_auth=settings.grpc_tls_client_auth)
    serve_until_signalled(server, health_servicer)
