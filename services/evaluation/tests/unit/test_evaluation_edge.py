"""evaluation's gRPC edge through a real server and the province's access policy: who may rate,
read a rating and see the scorecard; bad input gets INVALID_ARGUMENT with a BadRequest detail and
rules FAILED_PRECONDITION, never INTERNAL. Tokens come from a table here (the gate is tested in
libs/common; tokens against the real identity provider)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from uuid import NAMESPACE_URL, uuid4, uuid5

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from google.rpc import error_details_pb2, status_pb2

from motcua.evaluation.v1 import evaluation_pb2 as pb
from motcua.evaluation.v1 import evaluation_pb2_grpc as pb_grpc
from motcua_common.config.clock import FixedClock
from motcua_common.edge.access import Gate
from motcua_common.edge.grpc_server import create_server
from motcua_common.events.in_memory import in_memory_env, own_log
from motcua_common.identity.authorisation import Policy, Principal
from motcua_common.identity.tokens import TokenRefused
from motcua_common.province.organisation import Organisation

from motcua_evaluation.adapters.methodology_file import load_methodology
from motcua_evaluation.application import EvaluationApplication
from motcua_evaluation.domain.facts import DossierFacts
from motcua_evaluation.entrypoints.grpc_server import servicers

DATA = Path(__file__).resolve().parents[4] / "infra/provinces/quang-tri"
NOW = datetime(2026, 11, 20, 2, 0, tzinfo=timezone.utc)
HERE, ELSEWHERE = "000.31.01.H45", "000.31.02.H45"
CITIZEN_ID, OTHER_ID = "044190000101", "044190000102"
PRINCIPALS = {
    "citizen": Principal(kind="citizen", subject="sub-1", citizen_id=CITIZEN_ID),
    "stranger": Principal(kind="citizen", subject="sub-2", citizen_id=OTHER_ID),
    "leader": Principal(kind="official", subject="lanhdao01", roles=frozenset({"leader"}), unit=HERE),
    "leader-elsewhere": Principal(kind="official", subject="lanhdao07", roles=frozenset({"leader"}), unit=ELSEWHERE),
    "sre": Principal(kind="official", subject="sre01", roles=frozenset({"sre"})),
    "kiosk": Principal(kind="integrator", subject="kiosk-01", client="kiosk-01",
                       scopes=frozenset({"evaluation.rate_on_behalf"})),
}
CRITERIA = ("total_time", "agencies_contacted", "contacts_to_complete", "publicity", "staff_attitude",
            "result_conformity", "feedback_handling", "online_handling", "fees_publicity")


def pseudonym(citizen_id: str) -> str:
    return str(uuid5(NAMESPACE_URL, f"citizen|{citizen_id}"))


class TokenTable:
    def verify(self, token: str) -> Principal:
        if not token.startswith("token-of-") or token[9:] not in PRINCIPALS:
            raise TokenRefused("the token's signature does not verify")
        return PRINCIPALS[token[9:]]


class Facts:
    def __init__(self) -> None:
        self.by_id = {}

    def get(self, dossier_id, as_of=None):  # type: ignore[no-untyped-def]
        return self.by_id.get(dossier_id)

    def all(self, as_of=None):  # type: ignore[no-untyped-def]
        return list(self.by_id.values())


class Vault:
    def __init__(self) -> None:
        self.sealed = {}

    def seal(self, subject_id, data):  # type: ignore[no-untyped-def]
        token = uuid4().hex
        self.sealed[token] = dict(data)
        return token

    def unseal(self, subject_id, sealed):  # type: ignore[no-untyped-def]
        return dict(self.sealed[sealed])


@pytest.fixture
def edge():
    facts = Facts()
    app = EvaluationApplication(env=in_memory_env(), province="test", clock=FixedClock(NOW),
                                methodology=load_methodology(), facts=facts, vault=Vault())
    add, names, calls = servicers(app)

    def register(server):  # type: ignore[no-untyped-def]
        add(server)
        return names

    gate = Gate(TokenTable(), Policy.load(DATA / "access-policy.yaml"), Organisation.load(DATA / "units.yaml"),
                pseudonym=pseudonym, record_denial=app.record_denial)
    server, port, _ = create_server("127.0.0.1:0", register, max_workers=4, dossier_calls=calls, gate=gate)
    server.start()
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        yield app, facts, pb_grpc.EvaluationServiceStub(channel)
    server.stop(0)
    app.close()


def returned_dossier(facts: Facts, applicant_id: str = CITIZEN_ID, unit: str = HERE) -> str:
    dossier_id = uuid4()
    received = NOW - timedelta(days=10)
    facts.by_id[dossier_id] = DossierFacts(
        dossier_id=str(dossier_id), dossier_code=f"{unit}-261110-0001", unit_code=unit, procedure_code="1.004873",
        channel="online", applicant_subject=pseudonym(applicant_id), received_at=received,
        due_at=received + timedelta(days=9), due_before_extension=received + timedelta(days=9),
        ended_at=received + timedelta(days=5), end_reason="processed", result_returned_at=received + timedelta(days=6))
    return str(dossier_id)


def as_(who: str, *more: tuple[str, str]) -> tuple:
    return (("authorization", f"Bearer token-of-{who}"), *more)


def rate(dossier_id: str, key: str = "k1", **changes: int) -> pb.RateDossierRequest:
    answers = [pb.RatingAnswer(criterion=c, level=changes.get(c, 2)) for c in CRITERIA]
    return pb.RateDossierRequest(idempotency_key=key, dossier_id=dossier_id, answers=answers, via="online",
                                 comment="Cán bộ hướng dẫn tận tình")


def refused(call) -> grpc.RpcError:  # type: ignore[no-untyped-def]
    with pytest.raises(grpc.RpcError) as error:
        call()
    return error.value


def bad_fields(error: grpc.RpcError) -> list[str]:
    status = status_pb2.Status.FromString(dict(error.trailing_metadata())["grpc-status-details-bin"])
    request = error_details_pb2.BadRequest()
    [detail] = [d for d in status.details if d.Is(request.DESCRIPTOR)]
    detail.Unpack(request)
    return sorted(v.field for v in request.field_violations)


def test_the_applicant_rates_their_returned_dossier_and_a_second_rating_is_refused(edge):
    app, facts, stub = edge
    dossier_id = returned_dossier(facts)
    rating = stub.RateDossier(rate(dossier_id), metadata=as_("citizen"), timeout=10).rating
    assert (rating.dossier_id, rating.has_comment, rating.comment, len(rating.answers)) == (dossier_id, True, "", 9)
    again = refused(lambda: stub.RateDossier(rate(dossier_id, "k2", staff_attitude=0), metadata=as_("citizen"),
                                             timeout=10))
    assert again.code() == grpc.StatusCode.FAILED_PRECONDITION and "already rated" in again.details()


def test_someone_elses_dossier_cannot_be_rated_but_a_kiosk_rates_for_the_citizen_it_names(edge):
    app, facts, stub = edge
    dossier_id = returned_dossier(facts)
    assert refused(lambda: stub.RateDossier(rate(dossier_id), metadata=as_("stranger"), timeout=10)).code() == \
        grpc.StatusCode.PERMISSION_DENIED
    assert refused(lambda: stub.RateDossier(rate(dossier_id), metadata=as_("leader"), timeout=10)).code() == \
        grpc.StatusCode.PERMISSION_DENIED
    wrong = as_("kiosk", ("x-motcua-on-behalf-of", OTHER_ID))
    assert refused(lambda: stub.RateDossier(rate(dossier_id), metadata=wrong, timeout=10)).code() == \
        grpc.StatusCode.PERMISSION_DENIED
    kiosk = as_("kiosk", ("x-motcua-on-behalf-of", CITIZEN_ID))
    assert stub.RateDossier(rate(dossier_id), metadata=kiosk, timeout=10).rating.dossier_id == dossier_id


def test_the_units_leader_reads_the_rating_with_its_comment_and_the_read_is_recorded(edge):
    app, facts, stub = edge
    dossier_id = returned_dossier(facts)
    stub.RateDossier(rate(dossier_id), metadata=as_("citizen"), timeout=10)
    rating = stub.GetRating(pb.GetRatingRequest(dossier_id=dossier_id), metadata=as_("leader"), timeout=10).rating
    assert rating.comment == "Cán bộ hướng dẫn tận tình"
    assert "DossierRead.Recorded" in [e.name for e in own_log(app)]
    for who in ("leader-elsewhere", "sre", "stranger"):
        error = refused(lambda: stub.GetRating(pb.GetRatingRequest(dossier_id=dossier_id), metadata=as_(who),
                                               timeout=10))
        assert error.code() == grpc.StatusCode.PERMISSION_DENIED, who


def test_bad_input_is_invalid_argument_naming_the_fields_and_nothing_is_recorded(edge):
    app, facts, stub = edge
    dossier_id = returned_dossier(facts)
    request = rate(dossier_id, publicity=5)
    del request.answers[0]
    error = refused(lambda: stub.RateDossier(request, metadata=as_("citizen"), timeout=10))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert bad_fields(error) == ["answers.publicity", "answers.total_time"]
    error = refused(lambda: stub.RateDossier(rate("not-a-uuid"), metadata=as_("citizen"), timeout=10))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT and bad_fields(error) == ["dossier_id"]
    assert not [e for e in own_log(app) if e.name == "Rating.Submitted"]


def test_a_rating_before_the_result_is_returned_is_failed_precondition(edge):
    app, facts, stub = edge
    dossier_id = returned_dossier(facts)
    facts.by_id[next(iter(facts.by_id))].result_returned_at = None
    error = refused(lambda: stub.RateDossier(rate(dossier_id), metadata=as_("citizen"), timeout=10))
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION and "RESULT_NOT_RETURNED" in str(
        status_pb2.Status.FromString(dict(error.trailing_metadata())["grpc-status-details-bin"]))


def ts(value: datetime) -> Timestamp:
    out = Timestamp()
    out.FromDatetime(value)
    return out


def test_a_leader_sees_the_units_scorecard_with_no_data_named_and_a_citizen_does_not(edge):
    app, facts, stub = edge
    returned_dossier(facts)
    request = pb.GetScorecardRequest(period_start=ts(datetime(2026, 10, 31, 17)), period_end=ts(datetime(2026, 11, 30, 17)),
                                     unit_codes=[HERE])
    card = stub.GetScorecard(request, metadata=as_("leader"), timeout=10)
    progress = {i.code: i for g in card.groups for i in g.indicators}["on_time"]
    assert (progress.status, progress.numerator, progress.denominator, progress.points) == (
        pb.INDICATOR_STATUS_SCORED, 1, 1, 20.0)
    synced = {i.code: i for g in card.groups for i in g.indicators}["dossiers_synced"]
    assert (synced.status, list(synced.missing_inputs)) == (pb.INDICATOR_STATUS_NO_DATA, ["national_portal_sync"])
    assert card.methodology == "766-2022-portal-v1" and list(card.unit_codes) == [HERE]
    assert refused(lambda: stub.GetScorecard(request, metadata=as_("citizen"), timeout=10)).code() == \
        grpc.StatusCode.PERMISSION_DENIED
    backwards = pb.GetScorecardRequest(period_start=ts(datetime(2026, 11, 30, 17)), period_end=ts(datetime(2026, 10, 31, 17)))
    error = refused(lambda: stub.GetScorecard(backwards, metadata=as_("leader"), timeout=10))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT and bad_fields(error) == ["period"]
    error = refused(lambda: stub.GetScorecard(pb.GetScorecardRequest(), metadata=as_("leader"), timeout=10))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT and bad_fields(error) == ["period_start"]
