"""Black-box: a case assigned to officials, transferred to another unit and back, its result
signed with the unit's X.509 key and returned; bad requests refused naming what is wrong."""
from __future__ import annotations

import hashlib
import uuid
from datetime import timedelta

import grpc
import pytest

from motcua.workflow.v1 import workflow_pb2 as wpb

from e2e_testkit import bad_request_fields, submit_request, wait_for_case

pytestmark = pytest.mark.e2e
RESULT = "GIẤY XÁC NHẬN TÌNH TRẠNG HÔN NHÂN - kết quả điện tử".encode()


class CaseDriver:
    """Calls that act on one case, each with a fresh idempotency key and the case's current version."""

    def __init__(self, workflow, case: wpb.Case) -> None:  # type: ignore[no-untyped-def]
        self.workflow = workflow
        self.case = case

    def __call__(self, rpc: str, via=None, **fields) -> wpb.Case:  # type: ignore[no-untyped-def]
        """`via`: another official's workflow stub (as_user); by default, whose work the RPC is."""
        request_type = getattr(wpb, f"{rpc}Request")
        self.case = getattr(via or self.workflow, rpc)(request_type(
            idempotency_key=uuid.uuid4().hex, case_id=self.case.id, expected_version=self.case.version, **fields),
            ).case
        return self.case


@pytest.fixture
def driver(intake, workflow):  # type: ignore[no-untyped-def]
    dossier = intake.SubmitDossier(submit_request()).dossier
    return CaseDriver(workflow, wait_for_case(workflow, dossier.id))


def refused(call) -> grpc.RpcError:  # type: ignore[no-untyped-def]
    with pytest.raises(grpc.RpcError) as error:
        call()
    return error.value


def test_a_step_goes_to_an_official_whose_queue_shows_it(workflow, driver):
    case = driver("AssignStep", official="chuyenvien.a")
    assert case.steps[0].assignee == "chuyenvien.a"
    queue = workflow.ListCases(wpb.ListCasesRequest(assignee="chuyenvien.a", page_size=500)).cases
    assert [c.case_id for c in queue] == [case.id] and queue[0].assignee == "chuyenvien.a"
    driver("AssignStep", official="chuyenvien.b")
    assert not workflow.ListCases(wpb.ListCasesRequest(assignee="chuyenvien.a", page_size=500)).cases
    assert [c.case_id for c in workflow.ListCases(wpb.ListCasesRequest(assignee="chuyenvien.b")).cases] == [case.id]


def test_a_transferred_case_sits_in_the_other_units_queue_until_it_comes_back(workflow, driver, as_user):
    there = as_user("chuyenvien02", "workflow")  # a specialist of the unit it is transferred to
    case = driver("TransferCase", to_unit_code="000.00.10.H45", allotted_working_hours=8,
                  reason="Đề nghị Sở Tư pháp xác minh")
    assert case.transferred_to_unit == "000.00.10.H45" and case.national_status == 4
    other = there.ListCases(wpb.ListCasesRequest(unit_code="000.00.10.H45", page_size=500)).cases
    assert case.id in [c.case_id for c in other]
    # While it is there, it is that unit's: the home unit may not act on it, and there it must come back first.
    assert case.id not in [c.case_id for c in workflow.ListCases(
        wpb.ListCasesRequest(unit_code="000.31.01.H45", page_size=500)).cases]
    error = refused(lambda: driver("CompleteStep", step_index=0))
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED
    error = refused(lambda: driver("CompleteStep", via=there, step_index=0))
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION and "must come back" in error.details()

    case = driver("ReturnFromTransfer", via=there, note="Đã xác minh")
    assert case.transferred_to_unit == "" and len(case.transfers) == 1
    assert case.transfers[0].unit_code == "000.00.10.H45" and case.transfers[0].allotted_working_hours == 8
    assert not case.transfers[0].over_share
    assert case.id not in [c.case_id for c in there.ListCases(
        wpb.ListCasesRequest(unit_code="000.00.10.H45", page_size=500)).cases]
    assert case.id in [c.case_id for c in workflow.ListCases(
        wpb.ListCasesRequest(unit_code="000.31.01.H45", page_size=500)).cases]


def test_a_transfer_to_an_unknown_or_closed_unit_is_refused_and_changes_nothing(workflow, driver):
    before = driver.case
    unknown = refused(lambda: driver("TransferCase", to_unit_code="999.99.99.H99", allotted_working_hours=8,
                                     reason="x"))
    assert unknown.code() == grpc.StatusCode.NOT_FOUND and bad_request_fields(unknown) == ["to_unit_code"]
    closed = refused(lambda: driver("TransferCase", to_unit_code="000.31.00.H45", allotted_working_hours=8,
                                    reason="x"))
    assert closed.code() == grpc.StatusCode.NOT_FOUND and "closed on 2025-06-30" in closed.details()
    assert workflow.GetCase(wpb.GetCaseRequest(case_id=before.id)).case.version == before.version


def test_the_result_is_signed_verifiable_and_returned(workflow, driver):
    digest = hashlib.sha256(RESULT).hexdigest()
    document = wpb.ResultDocument(filename="ket-qua.pdf", media_type="application/pdf", content=RESULT, sha256=digest)
    early = refused(lambda: driver("SignResult", document=document))
    assert early.code() == grpc.StatusCode.FAILED_PRECONDITION and "last step" in early.details()
    for index in range(len(driver.case.steps)):
        driver("CompleteStep", step_index=index)
    mismatch = refused(lambda: driver("SignResult", document=wpb.ResultDocument(
        filename="ket-qua.pdf", media_type="application/pdf", content=RESULT, sha256="0" * 64)))
    assert mismatch.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert bad_request_fields(mismatch) == ["document.sha256"] and digest in mismatch.details()

    case = driver("SignResult", document=wpb.ResultDocument(
        filename="ket-qua.pdf", media_type="application/pdf", content=RESULT, sha256=digest))
    assert case.result.sha256 == digest and case.result.signature
    assert case.result.certificate_pem.startswith("-----BEGIN CERTIFICATE-----")
    other = "khác".encode() + RESULT
    second = refused(lambda: driver("SignResult", document=wpb.ResultDocument(
        filename="ket-qua-2.pdf", media_type="application/pdf", content=other, sha256=hashlib.sha256(other).hexdigest())))
    assert second.code() == grpc.StatusCode.FAILED_PRECONDITION and "signed already" in second.details()
    fetched = workflow.GetResult(wpb.GetResultRequest(case_id=case.id))
    assert fetched.document.content == RESULT and fetched.result.signed_by == "lanhdao01"

    genuine = workflow.VerifyResult(wpb.VerifyResultRequest(case_id=case.id, content=RESULT))
    assert genuine.valid and genuine.certificate_trusted and "CN=000.31.01.H45" in genuine.signer
    forged = workflow.VerifyResult(wpb.VerifyResultRequest(case_id=case.id, content=RESULT + " (sửa)".encode()))
    assert not forged.valid and not forged.matches and "SHA-256" in forged.detail

    unspecified = refused(lambda: driver("ReturnResult"))
    assert bad_request_fields(unspecified) == ["method"]
    case = driver("ReturnResult", method=wpb.RETURN_METHOD_POST)
    assert case.status == wpb.CASE_STATUS_RETURNED and case.national_status == 10
    assert case.return_method == wpb.RETURN_METHOD_POST
    again = refused(lambda: driver("ReturnResult", method=wpb.RETURN_METHOD_DESK))
    assert again.code() == grpc.StatusCode.FAILED_PRECONDITION
    paused = refused(lambda: driver("RequestSupplement", reason="Thiếu"))
    assert paused.code() == grpc.StatusCode.FAILED_PRECONDITION and "already returned" in paused.details()


def incomplete_request():  # type: ignore[no-untyped-def]
    request = submit_request()
    del request.components[:]
    return request


def test_an_incomplete_dossier_is_asked_for_its_components_and_received_when_they_arrive(intake, workflow):
    from motcua.intake.v1 import intake_pb2 as ipb

    dossier = intake.SubmitDossier(incomplete_request()).dossier
    assert dossier.national_status == 1 and not dossier.HasField("received_at")
    assert [c.code for c in dossier.missing_components] == ["TO_KHAI"]
    asked = intake.RequestIntakeSupplement(ipb.RequestIntakeSupplementRequest(
        idempotency_key=uuid.uuid4().hex, dossier_id=dossier.id, expected_version=dossier.version,
        reason="Bổ sung tờ khai")).dossier
    assert asked.national_status == 5
    form = intake.GetIntakeForm(ipb.GetIntakeFormRequest(code=dossier.code, form=ipb.INTAKE_FORM_SUPPLEMENT_REQUEST)).document
    assert form.content.startswith(b"%PDF") and form.filename == f"mau-02-{dossier.code}.pdf"
    with pytest.raises(grpc.RpcError) as no_case:
        workflow.GetCase(wpb.GetCaseRequest(dossier_id=dossier.id))
    assert no_case.value.code() == grpc.StatusCode.NOT_FOUND  # no processing, no clock, until complete

    received = intake.SupplementDossier(ipb.SupplementDossierRequest(
        idempotency_key=uuid.uuid4().hex, dossier_id=dossier.id, expected_version=asked.version,
        components=[ipb.Component(name="Tờ khai", sha256="cd" * 32, size_bytes=10, media_type="application/pdf",
                                  code="TO_KHAI")])).dossier
    assert received.national_status == 2 and received.HasField("appointment_at")
    case = wait_for_case(workflow, dossier.id)
    assert case.received_at == received.received_at


def test_a_refused_dossier_gets_form_03_and_bad_forms_are_refused(intake):
    from motcua.intake.v1 import intake_pb2 as ipb

    dossier = intake.SubmitDossier(incomplete_request()).dossier
    refused_dossier = intake.RefuseDossier(ipb.RefuseDossierRequest(
        idempotency_key=uuid.uuid4().hex, dossier_id=dossier.id, expected_version=dossier.version,
        reason="Hồ sơ không thuộc thẩm quyền giải quyết")).dossier
    assert refused_dossier.national_status == 3 and refused_dossier.refusal_reason.startswith("Hồ sơ không")
    form = intake.GetIntakeForm(ipb.GetIntakeFormRequest(dossier_id=dossier.id, form=ipb.INTAKE_FORM_REFUSAL)).document
    assert form.content.startswith(b"%PDF") and form.filename == f"mau-03-{dossier.code}.pdf"
    unspecified = refused(lambda: intake.GetIntakeForm(ipb.GetIntakeFormRequest(dossier_id=dossier.id)))
    assert bad_request_fields(unspecified) == ["form"]
    again = refused(lambda: intake.SupplementDossier(ipb.SupplementDossierRequest(
        idempotency_key=uuid.uuid4().hex, dossier_id=dossier.id, expected_version=refused_dossier.version,
        components=[ipb.Component(name="x", sha256="cd" * 32, size_bytes=1, code="TO_KHAI")])))
    assert again.code() == grpc.StatusCode.FAILED_PRECONDITION and "refused" in again.details()


def test_an_extension_gives_the_applicant_an_apology_letter_by_name(intake, workflow, driver, tmp_path):
    import subprocess

    from google.protobuf.timestamp_pb2 import Timestamp

    from motcua.intake.v1 import intake_pb2 as ipb
    from motcua_testkit.plugin import wait_until

    new_due = Timestamp()
    new_due.FromDatetime(driver.case.due_at.ToDatetime() + timedelta(days=2))
    driver("ExtendDeadline", new_due_at=new_due, reason="Cần lấy ý kiến cơ quan liên quan")

    def letter():  # type: ignore[no-untyped-def]
        try:
            return intake.GetIntakeForm(ipb.GetIntakeFormRequest(
                dossier_id=driver.case.dossier_id, form=ipb.INTAKE_FORM_APOLOGY)).document
        except grpc.RpcError as error:
            assert error.code() == grpc.StatusCode.FAILED_PRECONDITION, error  # not seen by intake yet
            return None

    document = wait_until(letter, 15, "intake to follow workflow's extension")
    assert document.filename == f"phieu-xin-loi-{driver.case.dossier_code}.pdf"
    path = tmp_path / document.filename
    path.write_bytes(document.content)
    text = " ".join(subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True,
                                   check=True).stdout.split())
    for expected in ("PHIẾU XIN LỖI VÀ HẸN LẠI NGÀY TRẢ KẾT QUẢ", "Lê Thị Hồng", driver.case.dossier_code,
                     "Cần lấy ý kiến cơ quan liên quan", "Thời gian hẹn trả kết quả mới"):
        assert expected in text, expected


def test_the_catalogue_speaks_the_language_asked_for_and_knows_its_dates(intake):
    from google.protobuf.timestamp_pb2 import Timestamp

    from motcua.intake.v1 import intake_pb2 as ipb

    english = {p.code: p for p in intake.ListProcedures(ipb.ListProceduresRequest(language="en")).procedures}
    assert (english["1.001193"].name, english["1.001193"].language) == ("Birth registration", "en")
    assert english["1.001193"].name_vi == "Đăng ký khai sinh"
    assert english["1.001193"].description.startswith("Registers a child's birth")
    assert english["2.000635"].language == "vi" and english["2.000635"].name == english["2.000635"].name_vi
    assert [c.code for c in english["1.004873"].components if c.required] == ["TO_KHAI"]
    assert english["1.001193"].effective_from == "2025-07-01"
    before = Timestamp()
    before.FromJsonString("2025-06-30T00:00:00Z")
    assert not intake.ListProcedures(ipb.ListProceduresRequest(as_of=before)).procedures  # before the 2025 catalogue
    with pytest.raises(grpc.RpcError) as bad:
        intake.ListProcedures(ipb.ListProceduresRequest(language="fr"))
    assert bad_request_fields(bad.value) == ["language"]
