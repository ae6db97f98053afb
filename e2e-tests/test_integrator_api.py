"""Black-box: what an integrator needs besides the commands: a dossier named by its code
everywhere, a search of dossiers, the list of units, queue rows that say what is waiting, and
finished cases kept out of active queues."""
from __future__ import annotations

import hashlib
import uuid
from datetime import datetime, timezone

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from motcua.intake.v1 import intake_pb2 as ipb
from motcua.workflow.v1 import workflow_pb2 as wpb

from e2e_testkit import bad_request_fields, submit_request, wait_for_case

pytestmark = pytest.mark.e2e
RESULT = "GIẤY XÁC NHẬN TÌNH TRẠNG HÔN NHÂN - bản điện tử".encode()


def refused(call) -> grpc.RpcError:  # type: ignore[no-untyped-def]
    with pytest.raises(grpc.RpcError) as error:
        call()
    return error.value


def ts(value: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(value)
    return stamp


def incomplete(intake) -> ipb.Dossier:  # type: ignore[no-untyped-def]
    request = submit_request()
    del request.components[:]
    return intake.SubmitDossier(request).dossier


def test_intake_commands_take_the_dossier_code(intake):
    dossier = incomplete(intake)
    asked = intake.RequestIntakeSupplement(ipb.RequestIntakeSupplementRequest(
        idempotency_key=uuid.uuid4().hex, dossier_code=dossier.code, expected_version=dossier.version,
        reason="Nộp tờ khai")).dossier
    assert asked.id == dossier.id and asked.national_status == 5
    received = intake.SupplementDossier(ipb.SupplementDossierRequest(
        idempotency_key=uuid.uuid4().hex, dossier_code=dossier.code, expected_version=asked.version,
        components=[ipb.Component(name="Tờ khai", sha256="cd" * 32, size_bytes=10, media_type="application/pdf",
                                  code="TO_KHAI")])).dossier
    assert received.national_status == 2
    withdrawn = intake.WithdrawDossier(ipb.WithdrawDossierRequest(
        idempotency_key=uuid.uuid4().hex, dossier_code=dossier.code, expected_version=received.version,
        reason="Không còn nhu cầu")).dossier
    assert withdrawn.national_status == 7
    assert intake.GetDossier(ipb.GetDossierRequest(dossier_code=dossier.code)).dossier.id == dossier.id

    other = incomplete(intake)
    refusal = intake.RefuseDossier(ipb.RefuseDossierRequest(
        idempotency_key=uuid.uuid4().hex, dossier_code=other.code, expected_version=other.version,
        reason="Không thuộc thẩm quyền")).dossier
    assert refusal.national_status == 3
    form = intake.GetIntakeForm(ipb.GetIntakeFormRequest(dossier_code=other.code, form=ipb.INTAKE_FORM_REFUSAL))
    assert form.document.content.startswith(b"%PDF")


def test_a_dossier_named_twice_or_by_an_unknown_code_is_refused(intake):
    dossier = incomplete(intake)
    both = refused(lambda: intake.RefuseDossier(ipb.RefuseDossierRequest(
        idempotency_key=uuid.uuid4().hex, dossier_id=dossier.id, dossier_code=dossier.code,
        expected_version=dossier.version, reason="x")))
    assert both.code() == grpc.StatusCode.INVALID_ARGUMENT and bad_request_fields(both) == ["dossier_code"]
    unknown = refused(lambda: intake.RefuseDossier(ipb.RefuseDossierRequest(
        idempotency_key=uuid.uuid4().hex, dossier_code="000.31.01.H45-000101-9999", expected_version=1,
        reason="x")))
    assert unknown.code() == grpc.StatusCode.NOT_FOUND
    assert intake.GetDossier(ipb.GetDossierRequest(dossier_id=dossier.id)).dossier.version == 1


def test_search_finds_dossiers_by_code_procedure_words_unit_status_and_date_in_pages(intake):
    first = intake.SubmitDossier(submit_request()).dossier
    before = first.received_at  # the platform's clock, not this machine's
    second = intake.SubmitDossier(submit_request()).dossier
    pending = incomplete(intake)

    def codes(**criteria) -> list[str]:  # type: ignore[no-untyped-def]
        return [d.dossier_code for d in intake.SearchDossiers(ipb.SearchDossiersRequest(
            received_from=before, page_size=200, **criteria)).dossiers]

    assert codes() == [pending.code, second.code, first.code]  # newest first
    assert codes(dossier_code=first.code.lower()) == [first.code]
    # The procedure's name is "Cấp Giấy xác nhận tình trạng hôn nhân": no diacritics, any case.
    assert codes(procedure="TINH TRANG hon nhan") == [pending.code, second.code, first.code]
    assert codes(procedure="1.004873") == [pending.code, second.code, first.code]
    assert codes(procedure="khai sinh") == []
    assert codes(unit_code="000.31.01.H45", national_status=1) == [pending.code]
    assert codes(national_status=2) == [second.code, first.code]
    assert codes(received_until=before) == []
    found = intake.SearchDossiers(ipb.SearchDossiersRequest(dossier_code=first.code)).dossiers[0]
    assert found.procedure_name == "Cấp Giấy xác nhận tình trạng hôn nhân" and found.dossier_id == first.id
    assert found.appointment_at == first.appointment_at and found.channel == ipb.CHANNEL_DESK

    pages, token = [], ""
    while True:
        page = intake.SearchDossiers(ipb.SearchDossiersRequest(received_from=before, page_size=1,
                                                               page_token=token))
        pages += [d.dossier_code for d in page.dossiers]
        token = page.next_page_token
        if not token:
            break
    assert pages == [pending.code, second.code, first.code]
    forged = refused(lambda: intake.SearchDossiers(ipb.SearchDossiersRequest(page_token="bm90IGEgdG9rZW4=")))
    assert forged.code() == grpc.StatusCode.INVALID_ARGUMENT and bad_request_fields(forged) == ["page_token"]
    nul = refused(lambda: intake.SearchDossiers(ipb.SearchDossiersRequest(dossier_code="000\x00")))
    assert nul.code() == grpc.StatusCode.INVALID_ARGUMENT and bad_request_fields(nul) == ["dossier_code"]


def test_units_in_force_with_their_level_parent_and_dates(intake):
    today = {u.code: u for u in intake.ListUnits(ipb.ListUnitsRequest()).units}
    assert today["000.31.01.H45"].name == "UBND phường Đồng Hới" and today["000.31.01.H45"].level == "commune"
    assert today["000.31.01.H45"].valid_from == "2025-07-01" and not today["000.31.01.H45"].valid_until
    assert set(today["000.31.01.H45"].predecessor_codes) == {"000.31.00.H45", "000.31.90.H45"}
    assert "000.31.90.H45" not in today  # closed in 2025
    every = {u.code: u for u in intake.ListUnits(ipb.ListUnitsRequest(include_closed=True)).units}
    assert every["000.31.90.H45"].parent_code == "000.31.00.H45"
    assert every["000.31.90.H45"].valid_until == "2025-06-30"
    assert list(every["000.31.90.H45"].successor_codes) == ["000.31.01.H45"]
    in_2024 = {u.code for u in intake.ListUnits(ipb.ListUnitsRequest(
        as_of=ts(datetime(2024, 6, 1, tzinfo=timezone.utc)))).units}
    assert "000.31.90.H45" in in_2024 and "000.31.01.H45" not in in_2024


def test_queue_rows_name_the_procedure_and_step_and_finished_cases_leave_the_queue(intake, workflow):
    dossier = intake.SubmitDossier(submit_request()).dossier
    case = wait_for_case(workflow, dossier.id)
    unit = case.unit_code

    def queue(**options) -> dict[str, wpb.CaseSummary]:  # type: ignore[no-untyped-def]
        rows = workflow.ListCases(wpb.ListCasesRequest(unit_code=unit, page_size=500, **options)).cases
        return {row.case_id: row for row in rows}

    row = queue()[case.id]
    assert row.procedure_name == "Cấp Giấy xác nhận tình trạng hôn nhân"
    assert row.step_name == case.steps[0].name and row.step_name
    for index in range(len(case.steps)):
        case = workflow.CompleteStep(wpb.CompleteStepRequest(idempotency_key=uuid.uuid4().hex, case_id=case.id,
                                                             step_index=index, expected_version=case.version)).case
        if index == 0:
            assert queue()[case.id].step_name == case.steps[1].name
    assert case.status == wpb.CASE_STATUS_PROCESSED
    assert case.id not in queue()
    assert queue(include_finished=True)[case.id].step_name == ""
    assert case.id in queue(status=wpb.CASE_STATUS_PROCESSED)


def test_a_result_is_fetched_and_verified_by_the_dossier_code(intake, workflow):
    dossier = intake.SubmitDossier(submit_request()).dossier
    case = wait_for_case(workflow, dossier.id)
    for index in range(len(case.steps)):
        case = workflow.CompleteStep(wpb.CompleteStepRequest(idempotency_key=uuid.uuid4().hex, case_id=case.id,
                                                             step_index=index, expected_version=case.version)).case
    workflow.SignResult(wpb.SignResultRequest(
        idempotency_key=uuid.uuid4().hex, case_id=case.id, expected_version=case.version,
        document=wpb.ResultDocument(filename="kq.pdf", media_type="application/pdf", content=RESULT,
                                    sha256=hashlib.sha256(RESULT).hexdigest())))
    verified = workflow.VerifyResult(wpb.VerifyResultRequest(dossier_code=dossier.code, content=RESULT))
    assert verified.valid
    assert not workflow.VerifyResult(wpb.VerifyResultRequest(dossier_code=dossier.code, content=b"forged")).valid
    assert workflow.GetResult(wpb.GetResultRequest(dossier_code=dossier.code)).document.content == RESULT
    both = refused(lambda: workflow.VerifyResult(wpb.VerifyResultRequest(case_id=case.id, dossier_code=dossier.code,
                                                                         content=RESULT)))
    assert both.code() == grpc.StatusCode.INVALID_ARGUMENT and bad_request_fields(both) == ["dossier_code"]
    unknown = refused(lambda: workflow.VerifyResult(wpb.VerifyResultRequest(dossier_code="nope", content=RESULT)))
    assert unknown.code() == grpc.StatusCode.NOT_FOUND
    nul = refused(lambda: workflow.VerifyResult(wpb.VerifyResultRequest(dossier_code="x\x00", content=RESULT)))
    assert nul.code() == grpc.StatusCode.INVALID_ARGUMENT and bad_request_fields(nul) == ["dossier_code"]


def test_a_component_states_its_paper_form_and_quantity_and_the_receipt_prints_them(intake, tmp_path):
    import subprocess

    request = submit_request()
    request.components[0].paper_form = ipb.PAPER_FORM_ORIGINAL
    request.components[0].quantity = 2
    dossier = intake.SubmitDossier(request).dossier
    assert (dossier.components[0].paper_form, dossier.components[0].quantity) == (ipb.PAPER_FORM_ORIGINAL, 2)
    read = intake.GetDossier(ipb.GetDossierRequest(dossier_code=dossier.code)).dossier
    assert (read.components[0].paper_form, read.components[0].quantity) == (ipb.PAPER_FORM_ORIGINAL, 2)
    path = tmp_path / "phieu.pdf"
    path.write_bytes(intake.GetReceiptForm(ipb.GetReceiptFormRequest(dossier_code=dossier.code)).document.content)
    text = " ".join(subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True,
                                   check=True).stdout.split())
    assert "Tờ khai - Bản chính, số lượng: 02" in text and "Mẫu số 01" in text

    bad = submit_request()
    bad.components[0].quantity = -1
    error = refused(lambda: intake.SubmitDossier(bad))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT and bad_request_fields(error) == ["components[0].quantity"]
