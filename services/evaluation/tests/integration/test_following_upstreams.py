"""Evaluation's followers on a private province (PostgreSQL): intake's published events become
per-dossier facts once however often they are delivered; the facts as of an earlier instant leave
out what was recorded after it; a rating is refused until the result was returned."""
from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from motcua_common.errors import RuleViolated
from motcua_common.events.context import Actor

pytestmark = pytest.mark.integration

DESK = Actor(kind="official", subject="canbo01", role="one_stop_officer", unit="000.31.01.H45", client="test")


@pytest.fixture
def apps(province):  # type: ignore[no-untyped-def]
    from motcua_evaluation.bootstrap import bootstrap as evaluation_bootstrap
    from motcua_evaluation.bootstrap import followers
    from motcua_evaluation.bootstrap import setup_schema as evaluation_schema
    from motcua_intake.bootstrap import bootstrap as intake_bootstrap
    from motcua_intake.bootstrap import setup_schema as intake_schema

    settings = province.settings()
    intake_schema(settings)
    evaluation_schema(settings)
    intake = intake_bootstrap(settings)
    evaluation = evaluation_bootstrap(settings)
    yield intake, evaluation, followers(evaluation, settings)["intake"]
    intake.close()
    evaluation.close()


def submit(intake, channel: str) -> dict:  # type: ignore[no-untyped-def]
    from motcua_intake.application import ApplicantInput, SubmitDossier

    return intake.submit_dossier(SubmitDossier(
        idempotency_key=uuid.uuid4().hex, procedure_code="1.004873", channel=channel,
        applicant=ApplicantInput("Nguyễn Văn A", "045090012345", "", "", "", ""),
        components=[{"name": "Tờ khai", "sha256": uuid.uuid4().hex * 2, "size_bytes": 10,
                     "media_type": "application/pdf", "code": "TO_KHAI"}]), DESK)


def test_intakes_events_become_facts_once_however_often_delivered_and_as_of_an_instant(apps):
    intake, evaluation, follower = apps
    read = lambda start, limit: intake.read_notifications(start, limit)  # noqa: E731
    first = submit(intake, "desk")
    follower.catch_up(read)
    between = evaluation.clock.now()
    second = submit(intake, "online")
    for wire in intake.read_notifications(1, 1000):  # every event delivered again, as the broker may
        follower.on_push(wire, read)
    follower.catch_up(read)

    facts = {f.dossier_id: f for f in evaluation.facts.all()}
    assert set(facts) == {str(first["id"]), str(second["id"])}
    mine = facts[str(second["id"])]
    assert (mine.channel, mine.unit_code, mine.procedure_code, mine.components_total) == (
        "online", "000.31.01.H45", "1.004873", 1)
    assert mine.received_at is not None and mine.due_at > mine.received_at and mine.applicant_subject
    with evaluation.facts.pool.connection() as conn:
        rows = conn.execute("SELECT count(*) FROM evaluation.followed_events").fetchone()[0]
    assert rows == len([w for w in intake.read_notifications(1, 1000)
                        if w["ce_type"].endswith(("DossierReceived", "DossierRegistered"))])
    assert {f.dossier_id for f in evaluation.facts.all(as_of=between)} == {str(first["id"])}
    assert evaluation.facts.get(second["id"], as_of=between - timedelta(days=1)) is None

    citizen = Actor(kind="citizen", subject="sub-of-the-applicant")
    with pytest.raises(RuleViolated) as early:
        evaluation.rate_dossier("k1", second["id"], {}, "online", "", citizen, mine.applicant_subject)
    assert early.value.reason == "RESULT_NOT_RETURNED"


def test_the_kept_events_rebuild_from_the_upstreams_log_equal_to_the_live_table(apps):
    from motcua_common.events.replay import OwnPublishedLog, Replayer
    from motcua_evaluation.bootstrap import followed_events_target

    intake, evaluation, follower = apps
    submit(intake, "desk")
    submit(intake, "post")
    follower.catch_up(lambda start, limit: intake.read_notifications(start, limit))
    conninfo = evaluation.facts.pool.conninfo
    # intake's published log, read as the rebuild reads an upstream's (here from intake's own app)
    result = Replayer(conninfo, followed_events_target([OwnPublishedLog(intake)])).run(check_only=True)
    assert result.equal and result.events >= 2
    with evaluation.facts.pool.connection() as conn:
        conn.execute("DELETE FROM evaluation.followed_events WHERE position = (SELECT min(position) "
                     "FROM evaluation.followed_events)")
    broken = Replayer(conninfo, followed_events_target([OwnPublishedLog(intake)])).run(check_only=True)
    assert not broken.equal and broken.missing_from_live == 1
