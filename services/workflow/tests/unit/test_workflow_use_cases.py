"""Workflow's use cases in memory (eventsourcing's POPO recorder, an in-memory work queue and result
store): each command records its events, refuses what the rules forbid, and answers a retry once."""
from __future__ import annotations

import hashlib
from datetime import datetime, timedelta, timezone
from uuid import uuid4

import pytest

from motcua_common.config.clock import FixedClock
from motcua_common.events.context import Actor
from motcua_common.errors import Conflict, InvalidArgument, NotFound, RuleViolated
from motcua_common.events.in_memory import in_memory_env, own_log
from motcua_common.province.organisation import Organisation
from motcua_testkit.plugin import DEMO_DATA
from motcua_workflow.adapters.unit_signing import UnitKeys, issue_unit_keys
from motcua_common.province.working_calendar import WorkingCalendar

from motcua_workflow.adapters.read_model import COLUMNS
from motcua_workflow.adapters.templates_file import load_templates
from motcua_workflow.application import WorkflowApplication
from motcua_workflow.domain.case import Case
from workflow_memory import InMemoryCaseQueue, InMemoryResultStore, open_test_case

START = datetime(2026, 11, 23, 1, 0, tzinfo=timezone.utc)  # Monday 08:00 in Vietnam
CALENDAR = WorkingCalendar.from_data({})
UNIT = "000.31.01.H45"
OTHER_UNIT = "000.31.02.H45"
OFFICIAL = Actor(kind="official", subject="cv01", role="specialist", unit=UNIT)
PLAN = load_templates(DEMO_DATA / "process_templates.yaml").plan("1.004873", UNIT, 3)


def make_app(clock: FixedClock, unit_keys: UnitKeys | None = None) -> WorkflowApplication:
    return WorkflowApplication(env=in_memory_env(), province="test", clock=clock, queue=InMemoryCaseQueue(),
                               result_files=InMemoryResultStore(), calendar=CALENDAR,
                               organisation=Organisation.load(DEMO_DATA / "units.yaml"), unit_keys=unit_keys,
                               procedure_names={"1.004873": "Cấp giấy phép xây dựng"})


@pytest.fixture
def clock():
    return FixedClock(START)


@pytest.fixture
def app(clock):
    app = make_app(clock)
    yield app
    app.close()


def open_case(app: WorkflowApplication, due_in_days: int = 3, unit: str = UNIT) -> Case:
    return open_test_case(app, PLAN, CALENDAR, due_in_days, unit)


def stored_types(app: WorkflowApplication) -> list[str]:
    return [e.name for e in own_log(app)]


def key() -> str:
    return f"k-{uuid4()}"


# -- reading cases ------------------------------------------------------------------------------
def test_a_case_is_found_by_its_id_its_dossier_or_its_code(app):
    case = open_case(app)
    assert app.get_case(case.id).dossier_code == case.dossier_code
    assert app.get_case(dossier_id=case.dossier_id).id == case.id
    assert app.get_case(dossier_code=case.dossier_code).id == case.id


def test_an_unknown_case_or_code_is_not_found_naming_the_field(app):
    with pytest.raises(NotFound) as by_id:
        app.get_case(uuid4())
    with pytest.raises(NotFound) as by_code:
        app.get_case(dossier_code="KHONG-CO")
    assert (by_id.value.field, by_code.value.field) == ("case_id", "dossier_code")


def test_a_case_must_be_named(app):
    with pytest.raises(InvalidArgument) as refused:
        app.get_case()
    assert [v.field for v in refused.value.violations] == ["case_id"]


def test_the_queue_pages_by_due_time_with_the_step_and_procedure_names(app):
    later, sooner, elsewhere = open_case(app, 5), open_case(app, 2), open_case(app, 1, unit=OTHER_UNIT)
    first, token = app.list_cases(UNIT, None, 1, "")
    second, last_token = app.list_cases(UNIT, None, 1, token)
    assert [c["case_id"] for c in first + second] == [sooner.id, later.id]
    assert last_token == ""
    assert first[0]["step_name"] == PLAN[0].name and first[0]["procedure_name"] == "Cấp giấy phép xây dựng"
    assert elsewhere.id not in [c["case_id"] for c in first + second]


def test_an_officials_queue_holds_the_cases_assigned_to_them(app):
    mine, _ = open_case(app), open_case(app)
    app.assign_step(key(), mine.id, mine.version, "cv07", OFFICIAL)
    items, _ = app.list_cases("", None, 50, "", assignee="cv07")
    assert [c["case_id"] for c in items] == [mine.id]


@pytest.mark.parametrize("unit, size, token, field", [
    ("", 10, "", "unit_code"),
    (UNIT, 501, "", "page_size"),
    (UNIT, 10, "bm90IGEgdG9rZW4=", "page_token"),
])
def test_a_bad_queue_request_is_refused_naming_the_field(app, unit, size, token, field):
    with pytest.raises(InvalidArgument) as refused:
        app.list_cases(unit, None, size, token)
    assert [v.field for v in refused.value.violations] == [field]


def test_finished_cases_leave_the_active_queue(app):
    case = open_case(app)
    app.stop_processing(key(), case.id, case.version, "Công dân rút hồ sơ", OFFICIAL)
    assert app.list_cases(UNIT, None, 50, "")[0] == []
    assert [c["case_id"] for c in app.list_cases(UNIT, None, 50, "", include_finished=True)[0]] == [case.id]


# -- commands: idempotency and versions ------------------------------------------------------------
def test_completing_the_current_step_records_it_and_starts_the_next(app):
    case = open_case(app)
    done = app.complete_step(key(), case.id, 0, case.version, "Đã kiểm tra", OFFICIAL)
    assert done.current_step == 1 and done.version > case.version
    assert sorted(stored_types(app)[1:]) == ["Case.StepCompleted", "Case.StepStarted", "IdempotencyRecord.Recorded"]
    assert app.read_model_rows()[0][COLUMNS.index("current_step")] == 1


def test_a_retried_command_answers_once_and_records_nothing_more(app):
    case = open_case(app)
    retry_key = key()
    first = app.complete_step(retry_key, case.id, 0, case.version, "", OFFICIAL)
    head = app.head_position()
    again = app.complete_step(retry_key, case.id, 0, case.version, "", OFFICIAL)
    assert (again.id, again.version) == (first.id, first.version)
    assert app.head_position() == head


def test_a_key_reused_for_another_request_is_refused(app):
    case = open_case(app)
    reused = key()
    app.assign_step(reused, case.id, case.version, "cv07", OFFICIAL)
    with pytest.raises(RuleViolated) as refused:
        app.assign_step(reused, case.id, case.version, "cv08", OFFICIAL)
    assert refused.value.reason == "IDEMPOTENCY_KEY_REUSED"


def test_a_stale_version_is_a_conflict_and_stores_nothing(app):
    case = open_case(app)
    head = app.head_position()
    with pytest.raises(Conflict):
        app.complete_step(key(), case.id, 0, case.version + 1, "", OFFICIAL)
    with pytest.raises(InvalidArgument) as missing:
        app.complete_step(key(), case.id, 0, 0, "", OFFICIAL)
    assert [v.field for v in missing.value.violations] == ["expected_version"]
    assert app.head_position() == head


def test_a_rule_broken_stores_nothing(app):
    case = open_case(app)
    head = app.head_position()
    with pytest.raises(RuleViolated) as refused:
        app.complete_step(key(), case.id, 2, case.version, "", OFFICIAL)
    assert refused.value.reason == "STEP_NOT_CURRENT"
    assert app.head_position() == head
    assert app.get_case(case.id).version == case.version


# -- the clock: supplements, extensions, transfers -------------------------------------------------
def test_a_supplement_pauses_the_case_and_resuming_moves_its_due_time(app, clock):
    case = open_case(app)
    paused = app.request_supplement(key(), case.id, case.version, "Thiếu bản vẽ", OFFICIAL)
    assert app.list_cases(UNIT, "paused", 50, "")[0][0]["case_id"] == case.id
    clock.advance(timedelta(days=7))  # a whole working week waiting on the applicant
    resumed = app.resume(key(), case.id, paused.version, OFFICIAL)
    assert resumed.due_at > case.due_at  # by the working time spent waiting (the domain's rule)
    assert app.list_cases(UNIT, None, 50, "")[0][0]["due_at"] == resumed.due_at
    with pytest.raises(RuleViolated):
        app.resume(key(), case.id, resumed.version, OFFICIAL)


def test_extending_the_deadline_moves_the_queue_row(app):
    case = open_case(app)
    new_due = case.due_at + timedelta(days=5)
    extended = app.extend_deadline(key(), case.id, case.version, new_due, "Cần xác minh thêm", OFFICIAL)
    assert extended.due_at == new_due
    assert app.list_cases(UNIT, None, 50, "")[0][0]["due_at"] == new_due
    with pytest.raises(InvalidArgument) as refused:
        app.extend_deadline(key(), case.id, extended.version, new_due, "lại", OFFICIAL)
    assert [v.field for v in refused.value.violations] == ["new_due_at"]


def test_a_transfer_moves_the_case_to_the_other_units_queue_and_back(app):
    case = open_case(app)
    out = app.transfer(key(), case.id, case.version, OTHER_UNIT, 8, "Xin ý kiến", OFFICIAL)
    assert [c["case_id"] for c in app.list_cases(OTHER_UNIT, None, 50, "")[0]] == [case.id]
    back = app.return_from_transfer(key(), case.id, out.version, "Đã có ý kiến", OFFICIAL)
    assert back.transferred_to == ""
    assert [c["case_id"] for c in app.list_cases(UNIT, None, 50, "")[0]] == [case.id]


def test_a_transfer_to_an_unknown_unit_is_not_found_and_stores_nothing(app):
    case = open_case(app)
    head = app.head_position()
    with pytest.raises(NotFound) as refused:
        app.transfer(key(), case.id, case.version, "000.99.99.H45", 8, "Xin ý kiến", OFFICIAL)
    assert refused.value.field == "to_unit_code"
    assert app.head_position() == head


# -- results ------------------------------------------------------------------------------------
def finish(app: WorkflowApplication, case: Case) -> Case:
    for index in range(len(PLAN)):
        case = app.complete_step(key(), case.id, index, case.version, "", OFFICIAL)
    return case


def test_a_signed_result_is_stored_with_its_event_returned_and_verified(tmp_path, clock):
    issue_unit_keys(tmp_path, "motcua test", [UNIT])
    clock.advance(datetime.now(timezone.utc) - START)  # within the certificates' validity
    app = make_app(clock, UnitKeys(tmp_path))
    case = finish(app, open_case(app))
    content = b"%PDF-1.7 ket qua"
    digest = hashlib.sha256(content).hexdigest()
    signed = app.sign_result(key(), case.id, case.version, "ket-qua.pdf", "application/pdf", content, digest,
                             OFFICIAL)
    assert app.result_of(case.id)[1] == content
    check = app.verify_result(None, content, dossier_code=case.dossier_code)[1]
    assert check.matches and check.signature_valid and check.certificate_trusted
    assert not app.verify_result(case.id, content + b"x")[1].matches
    returned = app.return_result(key(), case.id, signed.version, "desk", OFFICIAL)
    assert returned.returned_at is not None
    assert app.list_cases(UNIT, "returned", 50, "")[0][0]["case_id"] == case.id
    app.close()


@pytest.mark.parametrize("change, field", [
    ({"sha256": "0" * 64}, "document.sha256"),
    ({"media_type": "text/html"}, "document.media_type"),
    ({"filename": " "}, "document.filename"),
    ({"content": b""}, "document.content"),
])
def test_a_bad_result_file_is_refused_naming_the_field_and_stores_nothing(app, change, field):
    case = open_case(app)
    content = change.get("content", b"%PDF-1.7")
    document = {"filename": "kq.pdf", "media_type": "application/pdf", "content": content,
                "sha256": hashlib.sha256(content).hexdigest(), **change}
    head = app.head_position()
    with pytest.raises(InvalidArgument) as refused:
        app.sign_result(key(), case.id, case.version, document["filename"], document["media_type"],
                        document["content"], document["sha256"], OFFICIAL)
    assert [v.field for v in refused.value.violations] == [field]
    assert app.head_position() == head and app.result_files.files == {}


def test_no_result_yet_is_not_found(app):
    case = open_case(app)
    with pytest.raises(NotFound):
        app.result_of(case.id)
    with pytest.raises(NotFound):
        app.verify_result(case.id, b"x")


# -- the schedulers ------------------------------------------------------------------------------
def test_overdue_cases_are_marked_once_and_counted_per_unit(app, clock):
    due_soon, later, paused = open_case(app, 1), open_case(app, 30), open_case(app, 1)
    app.request_supplement(key(), paused.id, paused.version, "Thiếu giấy tờ", OFFICIAL)
    assert app.mark_overdue_cases() == 0
    clock.advance(timedelta(days=3))
    assert app.mark_overdue_cases() == 1  # the paused one's clock stands still
    assert app.mark_overdue_cases() == 0
    assert app.get_case(due_soon.id).overdue and not app.get_case(later.id).overdue
    assert app.overdue_by_unit() == {UNIT: 1}


def test_due_soon_is_marked_once_per_due_time(app, clock):
    case = open_case(app, 2)
    window = timedelta(hours=8)
    assert app.mark_due_soon_cases(window) == 0
    four_hours_left = CALENDAR.add_working_time(START, CALENDAR.working_time_between(START, case.due_at)
                                                - timedelta(hours=4))
    clock.advance(four_hours_left - START)
    assert app.mark_due_soon_cases(window) == 1
    assert app.mark_due_soon_cases(window) == 0
    assert app.get_case(case.id).due_soon_for == case.due_at
