"""Black-box tests: the platform as `make run` starts it, driven only through gRPC."""
from __future__ import annotations

import re
import shutil
import subprocess
import uuid

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import ProtoReflectionDescriptorDatabase

from motcua.intake.v1 import intake_pb2 as ipb
from motcua.workflow.v1 import workflow_pb2 as wpb
from motcua_testkit.plugin import REPO, wait_until

from e2e_testkit import CODE, bad_request_fields, submit_request, wait_for_case

pytestmark = pytest.mark.e2e
# The settable clock, read afresh by every process, so a test can move time and act at once.
PLATFORM_ENV = {"MOTCUA_CLOCK": "settable", "MOTCUA_CLOCK_TTL_SECONDS": "0"}


@pytest.fixture(scope="module")
def clock(platform, module_province):  # type: ignore[no-untyped-def]
    from motcua_common.config.clock import SettableClock

    return SettableClock(module_province.conninfo, ttl=0)


def province_calendar():  # type: ignore[no-untyped-def]
    import yaml

    from motcua_testkit.plugin import DEMO_DATA
    from motcua_common.province.working_calendar import WorkingCalendar

    return WorkingCalendar.from_data(yaml.safe_load((DEMO_DATA / "calendar.yaml").read_text(encoding="utf-8")))


def evening(day, calendar):  # type: ignore[no-untyped-def]
    """18:00 (after office hours) on `day`, Vietnam time."""
    from datetime import datetime, time

    from motcua_common.province.working_calendar import VIETNAM_TZ

    return datetime.combine(day, time(18, 0), tzinfo=VIETNAM_TZ)


def test_every_server_has_health_and_reflection(platform):
    for name, service in (("intake", "motcua.intake.v1.IntakeService"), ("workflow", "motcua.workflow.v1.WorkflowService"),
                          ("reporting", "motcua.audit.v1.AuditService"),
                          ("payment", "motcua.payment.v1.PaymentService"),
                          ("evaluation", "motcua.evaluation.v1.EvaluationService")):
        with grpc.insecure_channel(platform[name]) as channel:
            health = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=service))
            assert health.status == health_pb2.HealthCheckResponse.SERVING
            services = set(ProtoReflectionDescriptorDatabase(channel).get_services())
            assert {service, "grpc.health.v1.Health"} <= services


def test_the_catalogue_lists_real_procedures_with_their_sources(intake):
    procedures = intake.ListProcedures(ipb.ListProceduresRequest()).procedures
    assert len(procedures) >= 20
    assert all(p.source and re.match(r"^\d\.\d{6}$", p.code) and p.deadline_working_days > 0 for p in procedures)


def test_a_submitted_dossier_gets_code_and_appointment_and_workflow_opens_its_case(intake, workflow):
    dossier = intake.SubmitDossier(submit_request()).dossier
    assert CODE.match(dossier.code)
    assert dossier.appointment_at.ToDatetime() > dossier.received_at.ToDatetime()
    assert dossier.national_status == 2

    case = wait_for_case(workflow, dossier.id)
    assert case.dossier_code == dossier.code
    assert case.due_at == dossier.appointment_at
    assert [s.code for s in case.steps] == ["TIEP_NHAN", "THAM_DINH", "PHE_DUYET", "TRA_KET_QUA"]
    assert case.steps[0].status == wpb.STEP_STATUS_IN_PROGRESS
    assert intake.GetDossier(ipb.GetDossierRequest(code=dossier.code)).dossier.id == dossier.id


def test_a_retried_submission_returns_the_first_dossier_and_a_reused_key_is_refused(intake):
    key = uuid.uuid4().hex
    first = intake.SubmitDossier(submit_request(key)).dossier
    again = intake.SubmitDossier(submit_request(key)).dossier
    assert again.id == first.id and again.code == first.code

    with pytest.raises(grpc.RpcError) as refused:
        intake.SubmitDossier(submit_request(key, procedure_code="2.000815"))
    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION


@pytest.mark.parametrize("changes, code, field", [
    ({"procedure_code": "9.999999"}, grpc.StatusCode.NOT_FOUND, "procedure_code"),
    ({"procedure_code": ""}, grpc.StatusCode.INVALID_ARGUMENT, "procedure_code"),
    ({"idempotency_key": ""}, grpc.StatusCode.INVALID_ARGUMENT, "idempotency_key"),
    ({"channel": ipb.CHANNEL_UNSPECIFIED}, grpc.StatusCode.INVALID_ARGUMENT, "channel"),
    ({"procedure_code": "1" * 40}, grpc.StatusCode.INVALID_ARGUMENT, "procedure_code"),
])
def test_bad_submissions_are_refused_naming_the_field(intake, changes, code, field):
    with pytest.raises(grpc.RpcError) as error:
        intake.SubmitDossier(submit_request(**changes))
    assert error.value.code() == code
    assert field in bad_request_fields(error.value)


def test_a_submission_without_applicant_or_with_a_malformed_one_names_each_field(intake):
    request = submit_request()
    request.ClearField("applicant")
    with pytest.raises(grpc.RpcError) as missing:
        intake.SubmitDossier(request)
    assert missing.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "applicant" in bad_request_fields(missing.value)

    request = submit_request()
    request.applicant.citizen_id = "12345"
    request.applicant.full_name = "  "  # (an over-long name is refused at the edge, before these domain checks)
    request.components[0].sha256 = "not-a-hash"
    with pytest.raises(grpc.RpcError) as malformed:
        intake.SubmitDossier(request)
    assert {"applicant.citizen_id", "applicant.full_name", "components[0].sha256"} <= set(bad_request_fields(malformed.value))


def test_malformed_and_unknown_ids_are_refused(intake, workflow):
    with pytest.raises(grpc.RpcError) as malformed:
        intake.GetDossier(ipb.GetDossierRequest(dossier_id="not-a-uuid"))
    assert malformed.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(grpc.RpcError) as unknown:
        workflow.GetCase(wpb.GetCaseRequest(case_id=str(uuid.uuid4())))
    assert unknown.value.code() == grpc.StatusCode.NOT_FOUND


def test_an_official_takes_a_case_through_every_step(intake, workflow):
    dossier = intake.SubmitDossier(submit_request()).dossier
    case = wait_for_case(workflow, dossier.id)
    for index in range(len(case.steps)):
        case = workflow.CompleteStep(wpb.CompleteStepRequest(
            idempotency_key=uuid.uuid4().hex, case_id=case.id, step_index=index, expected_version=case.version)).case
    assert case.status == wpb.CASE_STATUS_PROCESSED and case.national_status == 9
    assert all(s.completed_by == "chuyenvien01" for s in case.steps)

    processed = workflow.ListCases(wpb.ListCasesRequest(unit_code="000.31.01.H45", status=wpb.CASE_STATUS_PROCESSED))
    assert case.id in [c.case_id for c in processed.cases]


def test_stale_versions_and_repeated_steps_are_refused(intake, workflow):
    dossier = intake.SubmitDossier(submit_request()).dossier
    case = wait_for_case(workflow, dossier.id)
    done = workflow.CompleteStep(wpb.CompleteStepRequest(
        idempotency_key=uuid.uuid4().hex, case_id=case.id, step_index=0, expected_version=case.version)).case

    with pytest.raises(grpc.RpcError) as stale:
        workflow.CompleteStep(wpb.CompleteStepRequest(
            idempotency_key=uuid.uuid4().hex, case_id=case.id, step_index=1, expected_version=case.version))
    assert stale.value.code() == grpc.StatusCode.ABORTED
    with pytest.raises(grpc.RpcError) as twice:
        workflow.CompleteStep(wpb.CompleteStepRequest(
            idempotency_key=uuid.uuid4().hex, case_id=case.id, step_index=0, expected_version=done.version))
    assert twice.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert workflow.GetCase(wpb.GetCaseRequest(case_id=case.id)).case.version == done.version


def test_work_queue_pages_are_ordered_by_due_time(intake, workflow):
    for procedure in ("1.000894", "1.004873", "2.000815"):
        wait_for_case(workflow, intake.SubmitDossier(submit_request(procedure_code=procedure)).dossier.id)
    seen, token = [], ""
    while True:
        page = workflow.ListCases(wpb.ListCasesRequest(unit_code="000.31.01.H45", page_size=1, page_token=token))
        seen += [c.due_at.ToDatetime() for c in page.cases]
        token = page.next_page_token
        if not token:
            break
    assert len(seen) >= 2 and seen == sorted(seen)


GRPCURL = shutil.which("grpcurl") or shutil.which("grpcurl", path=str(REPO / "build" / "tools" / "bin"))


@pytest.mark.skipif(GRPCURL is None, reason="grpcurl is installed by `make tools` (go install); Go is missing here")
def test_grpcurl_lists_services_and_submits_a_dossier(platform, identity_provider):
    listed = subprocess.run([GRPCURL, "-plaintext", platform["intake"], "list"], capture_output=True, text=True, check=True)
    assert "motcua.intake.v1.IntakeService" in listed.stdout and "grpc.health.v1.Health" in listed.stdout
    body = ('{"idempotency_key": "%s", "procedure_code": "1.001193", "channel": "CHANNEL_ONLINE", '
            '"applicant": {"full_name": "Võ Thị Mai", "citizen_id": "044190000101"}}' % uuid.uuid4().hex)
    # A citizen submits their own dossier, signed in (congdan01's citizen ID is the applicant's).
    bearer = f"authorization: Bearer {identity_provider.token('congdan01')}"
    submitted = subprocess.run([GRPCURL, "-plaintext", "-H", bearer, "-d", body,
                                platform["intake"], "motcua.intake.v1.IntakeService/SubmitDossier"],
                               capture_output=True, text=True, check=True)
    assert '"code": "000.31.01.H45-' in submitted.stdout and '"appointment_at"' not in submitted.stdout
    # Without the components the procedure requires, it is registered (status 1), and no deadline runs.
    assert '"national_status": 1' in submitted.stdout and '"code": "GIAY_CHUNG_SINH"' in submitted.stdout


def test_the_receipt_form_comes_as_a_pdf_over_grpc(intake):
    dossier = intake.SubmitDossier(submit_request()).dossier
    document = intake.GetReceiptForm(ipb.GetReceiptFormRequest(code=dossier.code)).document
    assert document.media_type == "application/pdf" and document.content.startswith(b"%PDF")
    assert document.filename == f"phieu-tiep-nhan-{dossier.code}.pdf"
    with pytest.raises(grpc.RpcError) as unknown:
        intake.GetReceiptForm(ipb.GetReceiptFormRequest(code="000.31.01.H45-000000-9999"))
    assert unknown.value.code() == grpc.StatusCode.NOT_FOUND


def test_a_supplement_pauses_the_case_and_resuming_moves_its_due_time(intake, workflow, clock):
    from datetime import timedelta

    from motcua_common.province.working_calendar import VIETNAM_TZ

    calendar = province_calendar()
    dossier = intake.SubmitDossier(submit_request()).dossier
    case = wait_for_case(workflow, dossier.id)
    # Paused and resumed after office hours (the clock is moved there), one working day apart:
    # the clock stood still for exactly that day's working time, whatever the time of the run.
    now = clock.now().astimezone(VIETNAM_TZ)
    pause_at = evening(now.date(), calendar)
    if pause_at <= now + timedelta(minutes=1):
        pause_at = evening(now.date() + timedelta(days=1), calendar)
    resume_day = pause_at.date() + timedelta(days=1)
    while not calendar.is_working_day(resume_day):
        resume_day += timedelta(days=1)
    resume_at = evening(resume_day, calendar)
    clock.set(pause_at)
    paused = workflow.RequestSupplement(wpb.RequestSupplementRequest(
        idempotency_key=uuid.uuid4().hex, case_id=case.id, expected_version=case.version,
        reason="Thiếu bản sao giấy khai sinh")).case
    assert paused.status == wpb.CASE_STATUS_PAUSED and paused.national_status == 5
    with pytest.raises(grpc.RpcError) as refused:
        workflow.CompleteStep(wpb.CompleteStepRequest(idempotency_key=uuid.uuid4().hex, case_id=case.id,
                                                      step_index=0, expected_version=paused.version))
    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION

    clock.set(resume_at)
    resumed = workflow.ResumeCase(wpb.ResumeCaseRequest(idempotency_key=uuid.uuid4().hex, case_id=case.id,
                                                        expected_version=paused.version)).case
    assert resumed.status == wpb.CASE_STATUS_IN_PROGRESS
    stood_still = calendar.working_time_between(pause_at, resume_at)
    assert stood_still == timedelta(hours=8)  # one full working day
    old_due = case.due_at.ToDatetime(tzinfo=VIETNAM_TZ)
    assert resumed.due_at.ToDatetime(tzinfo=VIETNAM_TZ) == calendar.add_working_time(old_due, stood_still)
    assert resumed.committed_due_at == resumed.due_at
    queue = workflow.ListCases(wpb.ListCasesRequest(unit_code="000.31.01.H45", status=wpb.CASE_STATUS_IN_PROGRESS,
                                                    page_size=500))
    assert resumed.id in [c.case_id for c in queue.cases]

    done = resumed
    for index in range(len(done.steps)):
        done = workflow.CompleteStep(wpb.CompleteStepRequest(
            idempotency_key=uuid.uuid4().hex, case_id=case.id, step_index=index, expected_version=done.version)).case
    assert done.status == wpb.CASE_STATUS_PROCESSED
    assert done.classification == wpb.CLASSIFICATION_EARLY and done.supplement_requests == 1


def test_an_apology_sets_a_new_appointment_and_keeps_the_commitment(intake, workflow):
    from google.protobuf.timestamp_pb2 import Timestamp

    dossier = intake.SubmitDossier(submit_request()).dossier
    case = wait_for_case(workflow, dossier.id)
    later = Timestamp(seconds=case.due_at.seconds + 2 * 86400)  # within the bound: 3 more working days
    extended = workflow.ExtendDeadline(wpb.ExtendDeadlineRequest(
        idempotency_key=uuid.uuid4().hex, case_id=case.id, expected_version=case.version, new_due_at=later,
        reason="Cần xác minh thêm với cơ quan liên quan")).case
    assert extended.due_at == later and extended.committed_due_at == case.due_at and extended.extensions == 1
    with pytest.raises(grpc.RpcError) as earlier:
        workflow.ExtendDeadline(wpb.ExtendDeadlineRequest(
            idempotency_key=uuid.uuid4().hex, case_id=case.id, expected_version=extended.version,
            new_due_at=case.due_at, reason="x"))
    assert earlier.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "new_due_at" in bad_request_fields(earlier.value)
    with pytest.raises(grpc.RpcError) as far:
        workflow.ExtendDeadline(wpb.ExtendDeadlineRequest(
            idempotency_key=uuid.uuid4().hex, case_id=case.id, expected_version=extended.version,
            new_due_at=Timestamp(seconds=253402214400), reason="x"))  # 9999-12-31
    assert far.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "new_due_at" in bad_request_fields(far.value)
    assert workflow.GetCase(wpb.GetCaseRequest(case_id=case.id)).case.version == extended.version


def test_withdrawing_a_dossier_stops_its_case(intake, workflow):
    dossier = intake.SubmitDossier(submit_request()).dossier
    wait_for_case(workflow, dossier.id)
    withdrawn = intake.WithdrawDossier(ipb.WithdrawDossierRequest(
        idempotency_key=uuid.uuid4().hex, dossier_id=dossier.id, expected_version=dossier.version,
        reason="Người nộp không còn nhu cầu")).dossier
    assert withdrawn.national_status == 7
    case = wait_until(lambda: (lambda c: c if c.status == wpb.CASE_STATUS_STOPPED else None)(
        workflow.GetCase(wpb.GetCaseRequest(dossier_id=dossier.id)).case), 10, "the case to be stopped")
    # Ended by the applicant, not processed: 766 counts it on time, operations count it apart.
    assert (case.end_reason, case.progress_766, case.operational_outcome) == (
        wpb.END_REASON_WITHDRAWN, wpb.PROGRESS_OUTCOME_ON_TIME, wpb.OPERATIONAL_OUTCOME_CANCELLED)
    assert case.national_status == 8
