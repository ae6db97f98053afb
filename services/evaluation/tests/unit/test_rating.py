"""Ratings in memory: once per dossier after its result was returned, by its applicant, on every
criterion of the survey; the comment sealed, never in the stored event; the scorecard counts them."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from uuid import UUID, uuid4

import pytest

from motcua_common.config.clock import FixedClock
from motcua_common.errors import InvalidArgument, NotFound, PermissionDenied, RuleViolated
from motcua_common.events.context import Actor
from motcua_common.events.in_memory import in_memory_env, own_log
from motcua_common.privacy.sealing import SubjectErased

from motcua_evaluation.adapters.methodology_file import load_methodology
from motcua_evaluation.application import EvaluationApplication
from motcua_evaluation.domain.facts import DossierFacts
from motcua_evaluation.domain.scorecard import Period

NOW = datetime(2026, 11, 20, 2, 0, tzinfo=timezone.utc)
UNIT = "000.31.01.H45"
CRITERIA = ("total_time", "agencies_contacted", "contacts_to_complete", "publicity", "staff_attitude",
            "result_conformity", "feedback_handling", "online_handling", "fees_publicity")
PLEASED = {c: 2 for c in CRITERIA}
COMMENT = "Cán bộ Nguyễn Văn Bình hướng dẫn tận tình"


class Vault:
    def __init__(self) -> None:
        self.sealed: dict[str, tuple[UUID, dict]] = {}
        self.erased: set[UUID] = set()

    def seal(self, subject_id: UUID, data: dict) -> str:
        token = uuid4().hex
        self.sealed[token] = (subject_id, dict(data))
        return token

    def unseal(self, subject_id: UUID, sealed: str) -> dict:
        if subject_id in self.erased:
            raise SubjectErased(str(subject_id))
        owner, data = self.sealed[sealed]
        assert owner == subject_id
        return dict(data)


class Facts:
    def __init__(self) -> None:
        self.by_id: dict[UUID, DossierFacts] = {}

    def get(self, dossier_id: UUID, as_of=None) -> DossierFacts | None:
        return self.by_id.get(dossier_id)

    def all(self, as_of=None):
        return list(self.by_id.values())


@pytest.fixture
def world():
    facts, vault = Facts(), Vault()
    app = EvaluationApplication(env=in_memory_env(), province="test", clock=FixedClock(NOW),
                                methodology=load_methodology(), facts=facts, vault=vault)
    yield app, facts, vault
    app.close()


class Rater(str):
    """The applicant's subject id, and the citizen's token's actor (whose sub is not that id)."""

    @property
    def actor(self) -> Actor:
        return Actor(kind="citizen", subject="sub-" + self[:8])


def dossier(facts: Facts, returned: bool = True, late: bool = False) -> tuple[UUID, "Rater"]:
    dossier_id, subject = uuid4(), str(uuid4())
    received = NOW - timedelta(days=10)
    facts.by_id[dossier_id] = DossierFacts(
        dossier_id=str(dossier_id), dossier_code=f"{UNIT}-261110-{dossier_id.int % 10000:04d}", unit_code=UNIT,
        procedure_code="1.004873", channel="online", applicant_subject=subject, received_at=received,
        due_at=received + timedelta(days=3 if late else 9), due_before_extension=received + timedelta(days=3 if late else 9),
        ended_at=received + timedelta(days=5), end_reason="processed",
        result_returned_at=received + timedelta(days=6) if returned else None)
    return dossier_id, Rater(subject)


def test_the_applicant_rates_a_returned_dossier_and_the_comment_is_sealed_not_stored_in_clear(world):
    app, facts, vault = world
    dossier_id, citizen = dossier(facts)
    rating = app.rate_dossier("k1", dossier_id, PLEASED, "online", COMMENT, citizen.actor, citizen)
    assert (rating["dissatisfied"], rating["survey_version"], rating["has_comment"]) == (False, "khao-sat-2018", True)
    stored = [e for e in own_log(app) if e.name == "Rating.Submitted"]
    assert len(stored) == 1 and "Nguyễn" not in stored[0].state.decode() and "Nguy" not in stored[0].state.decode()
    assert app.rating_of(dossier_id)["comment"] == COMMENT


def test_a_comment_is_unreadable_once_the_applicant_is_erased(world):
    app, facts, vault = world
    dossier_id, citizen = dossier(facts)
    app.rate_dossier("k1", dossier_id, PLEASED, "online", COMMENT, citizen.actor, citizen)
    vault.erased.add(UUID(citizen))
    view = app.rating_of(dossier_id)
    assert (view["comment"], view["has_comment"], view["answers"]) == (None, True, PLEASED)


def test_a_second_rating_of_a_dossier_is_refused_and_a_repeated_request_answers_the_first(world):
    app, facts, _ = world
    dossier_id, citizen = dossier(facts)
    first = app.rate_dossier("k1", dossier_id, PLEASED, "online", "", citizen.actor, citizen)
    assert app.rate_dossier("k1", dossier_id, PLEASED, "online", "", citizen.actor, citizen)["id"] == first["id"]
    with pytest.raises(RuleViolated) as again:
        app.rate_dossier("k2", dossier_id, {**PLEASED, "staff_attitude": 0}, "online", "", citizen.actor, citizen)
    assert again.value.reason == "ALREADY_RATED"
    with pytest.raises(RuleViolated) as reused:
        app.rate_dossier("k1", dossier_id, {**PLEASED, "staff_attitude": 0}, "online", "", citizen.actor, citizen)
    assert reused.value.reason == "IDEMPOTENCY_KEY_REUSED"
    assert [e.name for e in own_log(app)] == ["Rating.Submitted", "IdempotencyRecord.Recorded"]


def test_a_dossier_is_rated_only_once_its_result_was_returned(world):
    app, facts, _ = world
    dossier_id, citizen = dossier(facts, returned=False)
    with pytest.raises(RuleViolated) as refused:
        app.rate_dossier("k1", dossier_id, PLEASED, "online", "", citizen.actor, citizen)
    assert refused.value.reason == "RESULT_NOT_RETURNED" and own_log(app) == []


def test_only_the_applicant_or_a_kiosk_acting_for_the_applicant_rates(world):
    app, facts, _ = world
    dossier_id, citizen = dossier(facts)
    with pytest.raises(PermissionDenied):
        app.rate_dossier("k1", dossier_id, PLEASED, "online", "", citizen.actor, str(uuid4()))
    with pytest.raises(InvalidArgument):
        app.rate_dossier("k2", dossier_id, PLEASED, "kiosk", "", Actor(kind="integrator", subject="kiosk-01"), "")
    kiosk = Actor(kind="integrator", subject="kiosk-01", client="kiosk-01", on_behalf_of=citizen)
    assert app.rate_dossier("k3", dossier_id, PLEASED, "kiosk", "", kiosk, citizen)["via"] == "kiosk"
    with pytest.raises(NotFound):
        app.rate_dossier("k4", uuid4(), PLEASED, "online", "", citizen.actor, citizen)


def test_every_criterion_is_answered_with_a_level_of_the_survey_and_nothing_else(world):
    app, facts, _ = world
    dossier_id, citizen = dossier(facts)
    answers = {**PLEASED, "publicity": 3, "extra": 1}
    del answers["total_time"]
    with pytest.raises(InvalidArgument) as bad:
        app.rate_dossier("k1", dossier_id, answers, "online", "", citizen.actor, citizen)
    assert sorted(v.field for v in bad.value.violations) == ["answers.extra", "answers.publicity", "answers.total_time"]
    with pytest.raises(InvalidArgument) as control:
        app.rate_dossier("k2", dossier_id, PLEASED, "online", "xin\x00chào", citizen.actor, citizen)
    assert control.value.violations[0].field == "comment"
    with pytest.raises(InvalidArgument):
        app.rate_dossier("k3", dossier_id, PLEASED, "fax", "", citizen.actor, citizen)
    assert own_log(app) == []


def test_the_scorecard_counts_a_dissatisfied_rating_as_disliked(world):
    """Two dossiers on time; one rated with a criterion "Không hài lòng" (0): R = 1 − 1/2, satisfaction
    = min(6, 6 × 0.5 / 0.9) = 3.33; before the rating, 6."""
    app, facts, _ = world
    month = Period(datetime(2026, 10, 31, 17, tzinfo=timezone.utc), datetime(2026, 11, 30, 17, tzinfo=timezone.utc))
    first, citizen = dossier(facts)
    dossier(facts)
    assert app.scorecard(month, units=[UNIT]).indicator("satisfaction", "dossier_satisfaction").points == 6.0
    app.rate_dossier("k1", first, {**PLEASED, "staff_attitude": 0}, "online", "", citizen.actor, citizen)
    figure = app.scorecard(month, units=[UNIT]).indicator("satisfaction", "dossier_satisfaction")
    assert (figure.numerator, figure.denominator, figure.points, figure.shortfall_ids) == (1, 2, 3.33, (str(first),))
    # as the province saw it a minute before the rating
    earlier = app.scorecard(month, units=[UNIT], as_of=NOW - timedelta(minutes=1))
    assert earlier.indicator("satisfaction", "dossier_satisfaction").points == 6.0


def test_a_rating_is_published_without_its_comment(world):
    from motcua.evaluation.events.v1 import events_pb2 as pb
    from motcua_common.events.published import published_from_wire

    from motcua_evaluation.adapters.published import publication

    app, facts, _ = world
    app.publication = publication()
    dossier_id, citizen = dossier(facts)
    app.rate_dossier("k1", dossier_id, {**PLEASED, "publicity": 1}, "notification_link", COMMENT, citizen.actor, citizen)
    [wire] = app.read_notifications(1, 10)
    event = published_from_wire("evaluation", wire)
    message = event.message(pb.RatingSubmitted)
    assert (event.subject, message.dossier_id, message.via, message.has_comment, message.dissatisfied) == (
        str(dossier_id), str(dossier_id), "notification_link", True, False)
    assert {a.criterion: a.level for a in message.answers} == {**PLEASED, "publicity": 1}
    assert message.applicant_subject_id == citizen
    assert "Nguy" not in str(wire) and b"Nguy" not in event.data
