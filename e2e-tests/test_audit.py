"""The auditor's path, black-box: a dossier taken from intake to result, then its history
streamed, its state asked as of a past instant, verified, exported and checked offline;
and an edited row in PostgreSQL found by verification at that event."""
from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from motcua.audit.v1 import audit_pb2 as apb
from motcua.evaluation.v1 import evaluation_pb2 as vpb
from motcua.intake.v1 import intake_pb2 as ipb
from motcua.workflow.v1 import workflow_pb2 as wpb
from motcua_testkit.plugin import REPO, wait_until

from e2e_testkit import submit_request, wait_for_case

pytestmark = pytest.mark.e2e
PLATFORM_ENV = {"MOTCUA_CHECKPOINT_SECONDS": "1"}
GRPCURL = shutil.which("grpcurl") or shutil.which("grpcurl", path=str(REPO / "build" / "tools" / "bin"))
AUDIT_CLI = str(Path(sys.executable).parent / "motcua-audit")
VIETNAM = timedelta(hours=7)  # a month of the scorecard starts at midnight in Vietnam
#: every criterion of the survey in force (decision-766.yaml's rating_survey)
SURVEY = ("total_time", "agencies_contacted", "contacts_to_complete", "publicity", "staff_attitude",
          "result_conformity", "feedback_handling", "online_handling", "fees_publicity")


def stamp(moment: datetime) -> Timestamp:
    out = Timestamp()
    out.FromDatetime(moment)
    return out


def history(audit, code: str, include_reads: bool = False) -> list[apb.HistoryEvent]:  # type: ignore[no-untyped-def]
    return [e for r in audit.StreamHistory(apb.StreamHistoryRequest(dossier_code=code,
                                                                          include_reads=include_reads)) for e in r.events]


@pytest.fixture(scope="module")
def finished(intake, workflow, audit):  # type: ignore[no-untyped-def]
    """A dossier received, paused and resumed, extended with an apology, processed; reporting has it all."""
    dossier = intake.SubmitDossier(submit_request()).dossier
    case = wait_for_case(workflow, dossier.id)

    def command(rpc, request_type, **fields):  # type: ignore[no-untyped-def]
        return rpc(request_type(idempotency_key=uuid.uuid4().hex, case_id=case.id,
                                expected_version=current.version, **fields)).case

    current = case
    current = command(workflow.RequestSupplement, wpb.RequestSupplementRequest, reason="Thiếu bản sao")
    current = command(workflow.ResumeCase, wpb.ResumeCaseRequest)
    new_due = Timestamp()
    new_due.FromDatetime(current.due_at.ToDatetime() + timedelta(days=2))  # within the bound
    current = command(workflow.ExtendDeadline, wpb.ExtendDeadlineRequest, new_due_at=new_due, reason="Cần xác minh")
    for index in range(len(current.steps)):
        current = command(workflow.CompleteStep, wpb.CompleteStepRequest, step_index=index, note="xong")
    intake.GetDossier(ipb.GetDossierRequest(code=dossier.code))
    wait_until(lambda: any(e.event_type == "Case.Processed" for e in history(audit, dossier.code)), 15,
               "reporting to follow the case to its result")
    return dossier, current


def test_the_history_streams_from_intake_to_result_across_services_in_order(audit, finished):
    dossier, case = finished
    events = history(audit, dossier.code)
    kinds = [(e.service, e.event_type) for e in events]
    # notification's messages about the dossier are part of its history too, and may come later
    processing = [k for k in kinds if k[0] != "notification"]
    assert processing[0] == ("intake", "Dossier.Received") and processing[-1] == ("workflow", "Case.Processed")
    for expected in ("Case.Opened", "Case.SupplementRequested", "Case.Resumed", "Case.DeadlineExtended",
                     "Case.StepCompleted"):
        assert ("workflow", expected) in kinds
    assert [e.recorded_at.ToDatetime() for e in events] == sorted(e.recorded_at.ToDatetime() for e in events)
    received = events[0]
    assert (received.actor.kind, received.actor.subject) == ("official", "canbo01")
    assert json.loads(received.data_json)["procedure_code"] == "1.004873"
    assert "Lê Thị Hồng" not in received.data_json  # personal data stays sealed
    extended = next(e for e in events if e.event_type == "Case.DeadlineExtended")
    assert json.loads(extended.data_json)["reason"] == "Cần xác minh"
    assert len({e.stored_hash for e in events}) == len(events)


def test_reads_are_part_of_the_history_when_asked_for(audit, finished):
    dossier, _ = finished
    reads = wait_until(lambda: [e for e in history(audit, dossier.code, include_reads=True) if e.is_read
                                and json.loads(e.data_json)["what"] == "intake.GetDossier"], 10, "the read")
    assert (reads[0].service, reads[0].actor.subject) == ("intake", "canbo01")
    audited = wait_until(lambda: [e for e in history(audit, dossier.code, include_reads=True)
                                  if e.is_read and e.service == "reporting"], 10, "the auditor's own reads")
    assert audited[0].actor.subject == "thanhtra01"
    assert not any(e.is_read for e in history(audit, dossier.code))


def test_the_state_as_of_a_past_instant_is_what_was_true_then(audit, finished):
    dossier, case = finished
    events = history(audit, dossier.code)
    paused_at = next(e.recorded_at for e in events if e.event_type == "Case.SupplementRequested")
    then = audit.GetStateAt(apb.GetStateAtRequest(dossier_code=dossier.code, as_of=paused_at)).state
    assert (then.status, then.national_status, then.classification) == ("paused", 5, "")
    assert then.steps[0].status == "in_progress"
    now = Timestamp()
    now.GetCurrentTime()
    final = audit.GetStateAt(apb.GetStateAtRequest(dossier_id=dossier.id, as_of=now)).state
    assert (final.status, final.national_status) == ("processed", 9)
    assert final.due_at == case.due_at  # the apology's new appointment
    assert final.classification == {wpb.CLASSIFICATION_EARLY: "early", wpb.CLASSIFICATION_ON_TIME: "on_time",
                                    wpb.CLASSIFICATION_LATE: "late"}[case.classification]
    # Processed: both reports count it by its timing.
    assert (final.end_reason, final.operational_outcome) == ("processed", final.classification)
    assert final.progress_766 == ("late" if final.classification == "late" else "on_time")
    assert (then.end_reason, then.progress_766, then.operational_outcome) == ("", "", "")  # not ended yet


def test_bad_audit_requests_are_refused_clearly(audit, finished):
    dossier, _ = finished
    with pytest.raises(grpc.RpcError) as missing:
        audit.GetStateAt(apb.GetStateAtRequest(dossier_code=dossier.code))
    assert missing.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "as_of" in missing.value.details()
    with pytest.raises(grpc.RpcError) as unknown:
        list(audit.StreamHistory(apb.StreamHistoryRequest(dossier_code="KHONG-CO")))
    assert unknown.value.code() == grpc.StatusCode.NOT_FOUND


@pytest.mark.skipif(GRPCURL is None, reason="grpcurl is installed by `make tools` (go install); Go is missing here")
def test_an_auditor_needs_only_grpcurl(platform, finished, identity_provider):
    dossier, _ = finished
    bearer = f"authorization: Bearer {identity_provider.token('thanhtra01')}"

    def call(method: str, body: dict) -> str:
        done = subprocess.run([GRPCURL, "-plaintext", "-H", bearer, "-d", json.dumps(body),
                               platform["reporting"], f"motcua.audit.v1.AuditService/{method}"],
                              capture_output=True, text=True, timeout=30)
        assert done.returncode == 0, done.stderr
        return done.stdout

    streamed = call("StreamHistory", {"dossierCode": dossier.code})
    assert '"event_type": "Dossier.Received"' in streamed and '"event_type": "Case.Processed"' in streamed
    state = call("GetStateAt", {"dossierCode": dossier.code, "asOf": "2099-01-01T00:00:00Z"})
    assert '"status": "processed"' in state
    wait_until(lambda: '"intact": true' in call("VerifyHistory", {"dossierCode": dossier.code}), 15,
               "verification over signed checkpoints")


def test_the_signed_export_verifies_offline_with_the_published_key(audit, finished, platform, tmp_path):
    dossier, _ = finished
    exported = audit.ExportHistory(apb.ExportHistoryRequest(dossier_code=dossier.code))
    path = tmp_path / exported.filename
    path.write_bytes(exported.document)
    public_key = subprocess.run([AUDIT_CLI, "public-key"], env=platform["env"], capture_output=True, text=True,
                                check=True).stdout.split()[0]
    offline = {"PATH": "/usr/bin:/bin"}  # no database, no broker, no platform settings
    ok = subprocess.run([AUDIT_CLI, "verify-export", str(path), "--public-key", public_key], env=offline,
                        capture_output=True, text=True)
    assert ok.returncode == 0 and "VERIFIED" in ok.stdout, ok.stdout + ok.stderr

    document = json.loads(exported.document)
    document["payload"]["events"][1]["event_type"] = "Dossier.Rejected"
    path.write_text(json.dumps(document))
    changed = subprocess.run([AUDIT_CLI, "verify-export", str(path), "--public-key", public_key], env=offline,
                             capture_output=True, text=True)
    assert changed.returncode == 1 and "NOT VERIFIED" in changed.stdout


def failure_reasons(error: grpc.RpcError) -> list[str]:
    """The reasons of a FAILED_PRECONDITION (its PreconditionFailure detail)."""
    status = rpc_status.from_call(error)
    reasons = []
    for detail in status.details if status else []:
        failure = error_details_pb2.PreconditionFailure()
        if detail.Unpack(failure):
            reasons += [v.type for v in failure.violations]
    return reasons


def test_the_citizen_rates_a_returned_dossier_once_and_the_scorecard_and_history_show_it(intake, workflow, audit,
                                                                                          as_user):
    """Evaluation in the running platform (issue #14): a dossier received, processed, its result signed
    and returned; its applicant rates it with their own token (one criterion "Không hài lòng"), a second
    rating is refused (ALREADY_RATED); the unit's scorecard for the month counts the dossier in the
    rating indicator's denominator and, disliked, among the dossiers that cost points; the dossier's
    history shows the rating with the citizen as its actor, never the comment."""
    request = submit_request()
    request.applicant.CopyFrom(ipb.Applicant(full_name="Võ Thị Mai", citizen_id="044190000101", phone="0912345678"))
    dossier = intake.SubmitDossier(request).dossier  # at the desk, for congdan01
    case = wait_for_case(workflow, dossier.id)

    def command(rpc, request_type, **fields):  # type: ignore[no-untyped-def]
        return rpc(request_type(idempotency_key=uuid.uuid4().hex, case_id=case.id, expected_version=case.version,
                                **fields)).case

    for index in range(len(case.steps)):
        case = command(workflow.CompleteStep, wpb.CompleteStepRequest, step_index=index, note="xong")
    content = "GIẤY XÁC NHẬN - kết quả điện tử".encode()
    case = command(workflow.SignResult, wpb.SignResultRequest, document=wpb.ResultDocument(
        filename="ket-qua.pdf", media_type="application/pdf", content=content, sha256=hashlib.sha256(content).hexdigest()))
    case = command(workflow.ReturnResult, wpb.ReturnResultRequest, method=wpb.RETURN_METHOD_DESK)

    citizen, leader = as_user("congdan01", "evaluation"), as_user("lanhdao01", "evaluation")
    month_start = (datetime.now(timezone.utc) + VIETNAM).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    month_end = (month_start + timedelta(days=32)).replace(day=1)
    scorecard = vpb.GetScorecardRequest(period_start=stamp(month_start - VIETNAM), period_end=stamp(month_end - VIETNAM),
                                        unit_codes=[case.unit_code])

    def satisfaction() -> vpb.Indicator:
        groups = leader.GetScorecard(scorecard).groups
        return next(i for g in groups for i in g.indicators if i.code == "dossier_satisfaction")

    def rate(key: str, **levels: int) -> vpb.RateDossierRequest:
        return vpb.RateDossierRequest(idempotency_key=key, dossier_id=dossier.id, via="notification_link",
                                      comment="Phải chờ lâu ở quầy", answers=[
                                          vpb.RatingAnswer(criterion=c, level=levels.get(c, 2)) for c in SURVEY])

    def rated() -> vpb.Rating | None:
        try:
            return citizen.RateDossier(rate("rate-1", staff_attitude=0)).rating
        except grpc.RpcError as error:  # evaluation has not learnt the return yet
            if failure_reasons(error) != ["RESULT_NOT_RETURNED"]:
                raise
            return None

    wait_until(lambda: dossier.id in satisfaction().numerator_dossier_ids, 20,
               "evaluation to count the returned dossier, on time and not yet rated")
    rating = wait_until(rated, 20, "evaluation to learn the result was returned")
    assert (rating.dossier_code, rating.dissatisfied, rating.via, rating.has_comment) == (
        dossier.code, True, "notification_link", True)
    assert citizen.RateDossier(rate("rate-1", staff_attitude=0)).rating.rating_id == rating.rating_id  # same key
    with pytest.raises(grpc.RpcError) as second:
        citizen.RateDossier(rate("rate-2"))
    assert second.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert failure_reasons(second.value) == ["ALREADY_RATED"]
    assert leader.GetRating(vpb.GetRatingRequest(dossier_id=dossier.id)).rating.comment == "Phải chờ lâu ở quầy"

    indicator = satisfaction()
    assert indicator.status == vpb.INDICATOR_STATUS_SCORED
    assert dossier.id in indicator.shortfall_dossier_ids and dossier.id not in indicator.numerator_dossier_ids
    assert indicator.numerator == len(indicator.numerator_dossier_ids)
    assert indicator.denominator >= indicator.numerator + 1  # this dossier is counted, among those that cost points

    def rating_in_history() -> apb.HistoryEvent | None:
        return next((e for e in history(audit, dossier.code)
                     if (e.service, e.event_type) == ("evaluation", "Rating.Submitted")), None)

    event = wait_until(rating_in_history, 20, "reporting to follow evaluation's rating")
    assert event.actor.kind == "citizen"
    assert "Phải chờ lâu" not in event.data_json  # the comment is personal data: sealed


def test_an_edited_stored_event_fails_verification_at_that_event(audit, finished, module_province):
    """Last in this module: it breaks the workflow log the other tests read."""
    dossier, case = finished
    wait_until(lambda: audit.VerifyHistory(apb.VerifyHistoryRequest(dossier_code=dossier.code)).intact, 15, "an intact verification first")
    position = module_province.query(
        "SELECT notification_id FROM workflow.workflow_events WHERE originator_id = %s AND originator_version = 2",
        (uuid.UUID(case.id),))[0][0]
    module_province.query("UPDATE workflow.workflow_events SET state = convert_to(replace(convert_from(state, 'UTF8'), "
                          "'Thiếu bản sao', 'Đủ hồ sơ'), 'UTF8') WHERE notification_id = %s RETURNING 1", (position,))
    result = audit.VerifyHistory(apb.VerifyHistoryRequest(dossier_code=dossier.code))
    assert not result.intact
    broken = result.first_broken_link
    assert (broken.service, broken.position, broken.kind) == ("workflow", position, "changed")
    assert (broken.aggregate_id, broken.aggregate_version) == (case.id, 2)
