"""The issue's yardstick: a dossier taken through every path with grpcurl alone: registered
incomplete, asked for a supplement, completed, assigned, transferred and back, paused and
resumed, extended with an apology, signed, verified and returned; then audited."""
from __future__ import annotations

import base64
import hashlib
import json
import shutil
import subprocess
import uuid
from datetime import datetime, timedelta

import pytest

from motcua_testkit.identities import DEFAULT_CALLERS
from motcua_testkit.plugin import REPO, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.skipif(
    (shutil.which("grpcurl") or shutil.which("grpcurl", path=str(REPO / "build" / "tools" / "bin"))) is None,
    reason="grpcurl is installed by `make tools` (go install); Go is missing here")]
GRPCURL = shutil.which("grpcurl") or shutil.which("grpcurl", path=str(REPO / "build" / "tools" / "bin"))
RESULT = "Giấy xác nhận tình trạng hôn nhân số 123/2026".encode()


class Grpcurl:
    """grpcurl with a token from the identity provider: `who`'s, or the demo user whose work the RPC is."""

    def __init__(self, platform: dict, identity_provider) -> None:  # type: ignore[type-arg,no-untyped-def]
        self.platform = platform
        self.identity_provider = identity_provider

    def bearer(self, method: str, who: str = "") -> list[str]:
        token = self.identity_provider.token(who or DEFAULT_CALLERS[method])
        return ["-H", f"authorization: Bearer {token}"]

    def __call__(self, service: str, method: str, body: dict, who: str = "") -> dict:
        package = {"intake": "intake", "workflow": "workflow", "reporting": "audit"}[service]
        name = {"intake": "IntakeService", "workflow": "WorkflowService", "reporting": "AuditService"}[service]
        done = subprocess.run(
            [GRPCURL, "-plaintext", *self.bearer(method, who),
             "-d", json.dumps(body), self.platform[service], f"motcua.{package}.v1.{name}/{method}"],
            capture_output=True, text=True, timeout=30)
        assert done.returncode == 0, f"{method}: {done.stderr}"
        return json.loads(done.stdout) if done.stdout.strip().startswith("{") and method != "StreamHistory" \
            else {"raw": done.stdout}


def key() -> str:
    return uuid.uuid4().hex


def test_a_dossier_through_every_path_with_grpcurl_alone(platform, identity_provider):
    call = Grpcurl(platform, identity_provider)
    applicant = {"full_name": "Vũ Thị Mai", "citizen_id": "045195004321"}
    dossier = call("intake", "SubmitDossier", {"idempotency_key": key(), "procedure_code": "1.004873",
                                               "channel": "CHANNEL_ONLINE", "applicant": applicant})["dossier"]
    assert dossier["national_status"] == 1 and dossier["missing_components"][0]["code"] == "TO_KHAI"
    dossier = call("intake", "RequestIntakeSupplement", {"idempotency_key": key(), "dossier_id": dossier["id"],
                                                         "expected_version": dossier["version"],
                                                         "reason": "Nộp tờ khai"})["dossier"]
    dossier = call("intake", "SupplementDossier", {"idempotency_key": key(), "dossier_id": dossier["id"],
                                                   "expected_version": dossier["version"], "components": [
                                                       {"name": "Tờ khai", "sha256": "ef" * 32, "size_bytes": 9,
                                                        "media_type": "application/pdf", "code": "TO_KHAI"}]})["dossier"]
    assert dossier["national_status"] == 2

    def case_call(rpc: str, who: str = "", **fields) -> dict:  # type: ignore[no-untyped-def]
        return call("workflow", rpc, {"idempotency_key": key(), "case_id": case["id"],
                                      "expected_version": case["version"], **fields}, who)["case"]

    case = wait_until(lambda: _case(call, dossier["id"]), 15, "workflow to open the case")
    case = case_call("AssignStep", official="chuyenvien01")
    case = case_call("TransferCase", to_unit_code="000.00.10.H45", allotted_working_hours=8, reason="Xác minh")
    assert case["transferred_to_unit"] == "000.00.10.H45"
    # While it is there, the case is the other unit's: one of its officials sends it back.
    case = case_call("ReturnFromTransfer", who="chuyenvien02", note="Đã xác minh")
    case = case_call("RequestSupplement", reason="Bổ sung bản sao")
    assert case["national_status"] == 5
    case = case_call("ResumeCase")
    # Two days after the current appointment: within the bound (the procedure's deadline once more).
    new_due = datetime.fromisoformat(case["due_at"].replace("Z", "+00:00")) + timedelta(days=2)
    case = case_call("ExtendDeadline", new_due_at=new_due.isoformat().replace("+00:00", "Z"),
                     reason="Cần thêm thời gian")
    for index in range(len(case["steps"])):
        case = case_call("CompleteStep", step_index=index)
    assert case["status"] == "CASE_STATUS_PROCESSED"
    content = base64.b64encode(RESULT).decode()
    case = case_call("SignResult", document={
        "filename": "ket-qua.pdf", "media_type": "application/pdf", "content": content,
        "sha256": hashlib.sha256(RESULT).hexdigest()})
    verified = call("workflow", "VerifyResult", {"case_id": case["id"], "content": content})
    assert verified["valid"] is True
    case = case_call("ReturnResult", method="RETURN_METHOD_DESK")
    assert case["national_status"] == 10

    apology = wait_until(lambda: _form(call, dossier["code"], "INTAKE_FORM_APOLOGY"), 15, "the apology letter")
    assert base64.b64decode(apology["document"]["content"]).startswith(b"%PDF")
    streamed = wait_until(lambda: (lambda out: out if '"Case.ResultReturned"' in out else None)(
        call("reporting", "StreamHistory", {"dossier_code": dossier["code"]})["raw"]), 15, "the history")
    for event in ("PendingDossier.Registered", "PendingDossier.SupplementRequested", "Dossier.Received",
                  "Case.TransferredOut", "Case.Resumed", "Case.DeadlineExtended", "Case.ResultSigned"):
        assert f'"{event}"' in streamed, event


def _case(call: Grpcurl, dossier_id: str) -> dict | None:
    done = subprocess.run([GRPCURL, "-plaintext", *call.bearer("GetCase"), "-d", json.dumps({"dossier_id": dossier_id}),
                           call.platform["workflow"],
                           "motcua.workflow.v1.WorkflowService/GetCase"], capture_output=True, text=True, timeout=30)
    return json.loads(done.stdout)["case"] if done.returncode == 0 else None


def _form(call: Grpcurl, code: str, form: str) -> dict | None:
    done = subprocess.run([GRPCURL, "-plaintext", *call.bearer("GetIntakeForm"), "-d", json.dumps({"code": code, "form": form}),
                           call.platform["intake"], "motcua.intake.v1.IntakeService/GetIntakeForm"],
                          capture_output=True, text=True, timeout=30)
    return json.loads(done.stdout) if done.returncode == 0 else None
