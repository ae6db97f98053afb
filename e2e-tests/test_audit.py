"""The auditor's path, black-box: a dossier taken from intake to result, then its history
streamed, its state asked as of a past instant, verified, exported and checked offline;
and an edited row in PostgreSQL found by verification at that event."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import uuid
from datetime import timedelta
from pathlib import Path

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from motcua.audit.v1 import audit_pb2 as apb
from motcua.intake.v1 import intake_pb2 as ipb
from motcua.workflow.v1 import workflow_pb2 as wpb
from motcua_testkit.plugin import REPO, wait_until

from e2e_testkit import submit_request, wait_for_case

pytestmark = pytest.mark.e2e
PLATFORM_ENV = {"MOTCUA_CHECKPOINT_SECONDS": "1"}
GRPCURL = shutil.which("grpcurl") or shutil.which("grpcurl", path=str(REPO / "build" / "tools" / "bin"))
AUDIT_CLI = str(Path(sys.executable).parent / "motcua-audit")


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
