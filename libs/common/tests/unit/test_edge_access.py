"""The edge's gate (motcua_common.edge.access) through a real gRPC server: who gets in, what a refusal
answers and records, and what the handler sees. The token verifier is a table here (these tests are
about the gate); tokens themselves are tested against the real identity provider."""
from __future__ import annotations

import uuid
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from motcua.workflow.v1 import workflow_pb2
from motcua_common.edge.access import Gate, Guard, caller, listing
from motcua_common.edge.grpc_server import DossierCalls, create_server
from motcua_common.errors import NotFound
from motcua_common.identity.authorisation import Policy, Principal, Target
from motcua_common.identity.tokens import KeySourceUnavailable, TokenRefused
from motcua_common.province.organisation import Organisation

WORKFLOW = "motcua.workflow.v1.WorkflowService"
DATA = Path(__file__).resolve().parents[4] / "infra/provinces/quang-tri"
HERE, ELSEWHERE = "000.31.01.H45", "000.31.02.H45"
CASE_HERE, CASE_ELSEWHERE, NO_CASE = (str(uuid.uuid4()) for _ in range(3))
PRINCIPALS = {
    "specialist": Principal(kind="official", subject="cv01", roles=frozenset({"specialist"}), unit=HERE),
    "inspector": Principal(kind="official", subject="tt01", roles=frozenset({"inspector"})),
    "citizen": Principal(kind="citizen", subject="sub-1", citizen_id="044190000101"),
    "portal": Principal(kind="integrator", subject="cong-dvc", client="cong-dvc",
                        scopes=frozenset({"dossier.read_status"})),
}


class TokenTable:
    def __init__(self) -> None:
        self.keys_unavailable = False

    def verify(self, token: str) -> Principal:
        if self.keys_unavailable:
            raise KeySourceUnavailable("the issuer's keys could not be fetched")
        if not token.startswith("token-of-") or token[9:] not in PRINCIPALS:
            raise TokenRefused("the token's signature does not verify")
        return PRINCIPALS[token[9:]]


class Edge:
    def __init__(self) -> None:
        self.denials: list[tuple] = []
        self.served: list[tuple] = []
        self.tokens = TokenTable()

    def record_denial(self, actor, rpc, action, reason, dossier_id, dossier_code):  # type: ignore[no-untyped-def]
        self.denials.append((actor.kind, actor.subject, rpc, action, reason, dossier_id, dossier_code))

    def locate(self, request) -> Target | None:  # type: ignore[no-untyped-def]
        return {CASE_HERE: Target(unit=HERE, dossier_code="here-1"),
                CASE_ELSEWHERE: Target(unit=ELSEWHERE, dossier_code="elsewhere-1")}.get(request.case_id)

    def complete_step(self, request, context):  # type: ignore[no-untyped-def]
        if request.case_id == NO_CASE:
            raise NotFound("case_id", "no such case")
        self.served.append(("CompleteStep", caller().subject, caller().kind))
        return workflow_pb2.CompleteStepResponse()

    def list_cases(self, request, context):  # type: ignore[no-untyped-def]
        reach = listing()
        self.served.append(("ListCases", reach.everything, tuple(sorted(reach.units))))
        return workflow_pb2.ListCasesResponse()

    def register(self, server: grpc.Server) -> list[str]:
        def unary(behaviour, request, response):  # type: ignore[no-untyped-def]
            return grpc.unary_unary_rpc_method_handler(behaviour, request.FromString, response.SerializeToString)

        server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(WORKFLOW, {
            "CompleteStep": unary(self.complete_step, workflow_pb2.CompleteStepRequest,
                                  workflow_pb2.CompleteStepResponse),
            "ListCases": unary(self.list_cases, workflow_pb2.ListCasesRequest, workflow_pb2.ListCasesResponse)}),))
        return [WORKFLOW]

    def calls(self, **guards: Guard) -> list[DossierCalls]:
        methods = DossierCalls(WORKFLOW).methods()
        every = {m: Guard("case.act", locate=self.locate) for m in methods}
        every["ListCases"] = Guard("case.queue", listing=True)
        every.update(guards)
        return [DossierCalls(WORKFLOW, others=frozenset(methods), guards=every)]

    def gate(self) -> Gate:
        return Gate(self.tokens, Policy.load(DATA / "access-policy.yaml"), Organisation.load(DATA / "units.yaml"),
                    pseudonym=lambda citizen_id: "p-" + citizen_id, record_denial=self.record_denial)


@pytest.fixture
def edge():
    edge = Edge()
    server, port, _ = create_server("127.0.0.1:0", edge.register, max_workers=4, dossier_calls=edge.calls(),
                                    gate=edge.gate())
    server.start()
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        yield edge, channel
    server.stop(0)


def complete(channel, case_id: str, *metadata: tuple[str, str]):  # type: ignore[no-untyped-def]
    return channel.unary_unary(f"/{WORKFLOW}/CompleteStep",
                               request_serializer=workflow_pb2.CompleteStepRequest.SerializeToString,
                               response_deserializer=workflow_pb2.CompleteStepResponse.FromString)(
        workflow_pb2.CompleteStepRequest(case_id=case_id), metadata=metadata, timeout=10)


def as_(who: str) -> tuple[str, str]:
    return ("authorization", f"Bearer token-of-{who}")


def refused(call) -> grpc.RpcError:  # type: ignore[no-untyped-def]
    with pytest.raises(grpc.RpcError) as error:
        call()
    return error.value


def test_the_actor_comes_from_the_verified_token(edge):
    edge, channel = edge
    complete(channel, CASE_HERE, as_("specialist"))
    assert edge.served == [("CompleteStep", "cv01", "official")] and edge.denials == []


def test_no_token_is_unauthenticated_and_the_refusal_is_recorded_without_running_the_handler(edge):
    edge, channel = edge
    error = refused(lambda: complete(channel, CASE_HERE))
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED and "access token" in error.details()
    assert edge.served == []
    assert [(d[0], d[2], d[3]) for d in edge.denials] == [("anonymous", "CompleteStep", "case.act")]


@pytest.mark.parametrize("header", ["Bearer token-of-nobody", "Basic dXNlcjpwYXNz", "Bearer ", "token-of-specialist"])
def test_a_bad_token_or_header_is_unauthenticated(edge, header):
    edge, channel = edge
    error = refused(lambda: complete(channel, CASE_HERE, ("authorization", header)))
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED and edge.served == []


def test_keys_that_cannot_be_fetched_are_unavailable_not_the_callers_fault(edge):
    edge, channel = edge
    edge.tokens.keys_unavailable = True
    assert refused(lambda: complete(channel, CASE_HERE, as_("specialist"))).code() == grpc.StatusCode.UNAVAILABLE


@pytest.mark.parametrize("claim", [("x-motcua-actor-kind", "system"), ("x-motcua-actor-subject", "lanhdao01")])
def test_identity_claimed_in_metadata_is_refused_even_with_a_valid_token(edge, claim):
    edge, channel = edge
    error = refused(lambda: complete(channel, CASE_HERE, as_("specialist"), claim))
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED and claim[0] in error.details()
    assert edge.served == [] and len(edge.denials) == 1


def test_an_official_cannot_act_on_another_units_case_and_the_denial_names_the_dossier(edge):
    edge, channel = edge
    error = refused(lambda: complete(channel, CASE_ELSEWHERE, as_("specialist")))
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED and "not at the official's unit" in error.details()
    assert edge.served == []
    assert [(d[1], d[3], d[6]) for d in edge.denials] == [("cv01", "case.act", "elsewhere-1")]


def test_a_read_only_inspector_cannot_act(edge):
    edge, channel = edge
    error = refused(lambda: complete(channel, CASE_HERE, as_("inspector")))
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED and edge.served == []


def test_an_unknown_case_is_not_found_for_an_official_but_looks_like_a_strangers_to_a_citizen(edge):
    edge, channel = edge
    assert refused(lambda: complete(channel, NO_CASE, as_("specialist"))).code() == grpc.StatusCode.NOT_FOUND
    unknown = refused(lambda: complete(channel, NO_CASE, as_("citizen")))
    strangers = refused(lambda: complete(channel, CASE_ELSEWHERE, as_("citizen")))
    assert unknown.code() == strangers.code() == grpc.StatusCode.PERMISSION_DENIED


def test_a_list_is_given_the_callers_reach(edge):
    edge, channel = edge
    list_cases = channel.unary_unary(f"/{WORKFLOW}/ListCases",
                                     request_serializer=workflow_pb2.ListCasesRequest.SerializeToString,
                                     response_deserializer=workflow_pb2.ListCasesResponse.FromString)
    list_cases(workflow_pb2.ListCasesRequest(unit_code=HERE), metadata=(as_("specialist"),), timeout=10)
    assert edge.served == [("ListCases", False, (HERE,))]
    error = refused(lambda: list_cases(workflow_pb2.ListCasesRequest(unit_code=HERE), metadata=(as_("citizen"),),
                                       timeout=10))
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED


def test_on_behalf_of_is_refused_where_the_rpc_is_not_done_for_a_citizen(edge):
    edge, channel = edge
    error = refused(lambda: complete(channel, CASE_HERE, as_("portal"), ("x-motcua-on-behalf-of", "044190000101")))
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED and edge.served == []


def test_health_needs_no_token(edge):
    _, channel = edge
    answer = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=10)
    assert answer.status == health_pb2.HealthCheckResponse.SERVING


def test_a_server_with_an_unguarded_rpc_or_an_unknown_action_does_not_start():
    edge = Edge()
    calls = edge.calls()
    unguarded = [DossierCalls(WORKFLOW, others=calls[0].others,
                              guards={k: v for k, v in calls[0].guards.items() if k != "GetCase"})]
    with pytest.raises(ValueError, match="GetCase"):
        create_server("127.0.0.1:0", edge.register, max_workers=2, dossier_calls=unguarded, gate=edge.gate())
    with pytest.raises(ValueError, match="case.fly"):
        create_server("127.0.0.1:0", edge.register, max_workers=2,
                      dossier_calls=edge.calls(GetCase=Guard("case.fly")), gate=edge.gate())


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_caller_over_its_rate_is_refused_with_a_retry_hint_while_others_go_on():
    from google.rpc import error_details_pb2
    from grpc_status import rpc_status

    from motcua_common.edge.admission import CallerRateLimits, TokenBuckets

    clock = Clock()
    edge = Edge()
    gate = edge.gate()
    gate.rate_limits = CallerRateLimits(clients=TokenBuckets(60, burst=2, clock=clock),
                                        citizens=TokenBuckets(6, burst=1, clock=clock))
    server, port, _ = create_server("127.0.0.1:0", edge.register, max_workers=4, dossier_calls=edge.calls(), gate=gate)
    server.start()
    try:
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            complete(channel, CASE_HERE, as_("specialist"))
            complete(channel, CASE_HERE, as_("specialist"))
            over = refused(lambda: complete(channel, CASE_HERE, as_("specialist")))
            assert over.code() == grpc.StatusCode.RESOURCE_EXHAUSTED and len(edge.served) == 2
            hint = error_details_pb2.RetryInfo()
            assert rpc_status.from_call(over).details[0].Unpack(hint) and hint.retry_delay.seconds == 1
            # another caller is not held back by this one; a citizen has a budget of its own
            assert refused(lambda: complete(channel, CASE_HERE, as_("inspector"))).code() == \
                grpc.StatusCode.PERMISSION_DENIED
            refused(lambda: complete(channel, CASE_HERE, as_("citizen")))
            assert refused(lambda: complete(channel, CASE_HERE, as_("citizen"))).code() == \
                grpc.StatusCode.RESOURCE_EXHAUSTED
            clock.now += 1.0  # one call's worth of the official's rate (60 a minute)
            complete(channel, CASE_HERE, as_("specialist"))
            assert len(edge.served) == 3
    finally:
        server.stop(0)
