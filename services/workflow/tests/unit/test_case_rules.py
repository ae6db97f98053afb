"""A case's steps are completed one at a time, in order, and a processed case is closed."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from uuid import uuid4

import pytest

from motcua_common.config.clock import FixedClock
from motcua_common.events.context import Actor, CommandContext, command_context, concerning
from motcua_common.errors import InvalidArgument, RuleViolated
from motcua_testkit.plugin import DEMO_DATA

from motcua_workflow.adapters.templates_file import load_templates
from motcua_common.province.working_calendar import VIETNAM_TZ, WorkingCalendar

from motcua_workflow.domain.case import EARLY, LATE, ON_TIME, PAUSED, PROCESSED, Case, classify

START = datetime(2026, 11, 23, 1, 0, tzinfo=timezone.utc)  # Monday 08:00 in Vietnam
CLOCK = FixedClock(START)
CALENDAR = WorkingCalendar.from_data({})
SAMPLES = Path(__file__).parents[1] / "stored_events"


def local(y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=VIETNAM_TZ)


@pytest.fixture
def case():
    dossier_id = uuid4()
    plan = load_templates(DEMO_DATA / "process_templates.yaml").plan("1.004873", "000.31.01.H45", 3)
    ctx = CommandContext(Actor(kind="system", subject="test"), "test", CLOCK)
    with command_context(ctx), concerning(dossier_id):
        # received Monday 23 Nov 08:00; 3 working days, with Tuesday 24 Nov a holiday: due Friday 27 Nov 08:00
        yield Case.open("test", dossier_id, "X-261123-0001", "1.004873", "000.31.01.H45",
                        START, CALENDAR.add_working_days(START, 3), plan, START)


def test_a_case_opens_on_its_first_step_with_the_deadline_shared_between_steps(case):
    assert case.current_step == 0 and case.steps[0]["status"] == "in_progress"
    assert sum(s["allotted_working_hours"] for s in case.steps) == pytest.approx(24)
    assert case.national_status == 4


def test_completing_the_current_step_starts_the_next(case):
    case.complete_step(0, by="canbo", note="", now=CLOCK.now(), calendar=CALENDAR)
    assert case.steps[0]["status"] == "completed" and case.current_step == 1
    assert case.steps[1]["status"] == "in_progress"


def test_a_step_cannot_be_completed_twice_or_before_its_turn(case):
    case.complete_step(0, by="canbo", note="", now=CLOCK.now(), calendar=CALENDAR)
    with pytest.raises(RuleViolated, match="already completed"):
        case.complete_step(0, by="canbo", note="", now=CLOCK.now(), calendar=CALENDAR)
    with pytest.raises(RuleViolated, match="not started yet"):
        case.complete_step(2, by="canbo", note="", now=CLOCK.now(), calendar=CALENDAR)
    with pytest.raises(InvalidArgument):
        case.complete_step(9, by="canbo", note="", now=CLOCK.now(), calendar=CALENDAR)


def test_completing_the_last_step_processes_the_case_and_closes_it(case):
    for i in range(len(case.steps)):
        case.complete_step(i, by="canbo", note="", now=CLOCK.now(), calendar=CALENDAR)
    assert case.status == PROCESSED and case.national_status == 9
    with pytest.raises(RuleViolated, match="already processed"):
        case.complete_step(len(case.steps) - 1, by="canbo", note="", now=CLOCK.now(), calendar=CALENDAR)


def test_the_case_id_is_derived_from_the_dossier_so_a_second_opening_cannot_be_stored():
    from eventsourcing.application import Application
    from eventsourcing.persistence import IntegrityError

    dossier_id = uuid4()
    assert Case.id_for("quang-tri", dossier_id) == Case.id_for("quang-tri", dossier_id)
    assert Case.id_for("quang-tri", dossier_id) != Case.id_for("quang-ngai", dossier_id)
    plan = load_templates(DEMO_DATA / "process_templates.yaml").plan("1.004873", "000.31.01.H45", 3)
    store = Application(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})  # the in-memory recorder
    ctx = CommandContext(Actor(kind="system", subject="test"), "quang-tri", CLOCK)
    with command_context(ctx), concerning(dossier_id):
        first, second = (Case.open("quang-tri", dossier_id, code, "1.004873", "000.31.01.H45", START,
                                   CALENDAR.add_working_days(START, 3), plan, START) for code in ("X-1", "X-2"))
    store.save(first)
    with pytest.raises(IntegrityError):
        store.save(second)
    assert store.repository.get(first.id).dossier_code == "X-1"  # the first opening stands, alone
    assert len(list(store.recorder.select_notifications(start=1, limit=10))) == 1


def test_a_supplement_request_stops_the_clock_and_resuming_moves_the_due_time_by_the_working_time_paused(case):
    due = case.due_at
    assert due == local(2026, 11, 27, 8)
    case.request_supplement("Thiếu bản sao giấy khai sinh", now=local(2026, 11, 25, 16))  # Wednesday 16:00
    assert case.status == PAUSED and case.national_status == 5
    case.resume(now=local(2026, 11, 30, 9), calendar=CALENDAR)  # the next Monday 09:00
    # paused: Wed 16:00-17:00 (1 h), Thu and Fri (16 h), Mon 07:00-09:00 (2 h) = 19 working hours
    assert case.due_at == CALENDAR.add_working_time(due, timedelta(hours=19)) == local(2026, 12, 1, 11)
    assert case.status == "in_progress"


def test_a_paused_case_cannot_advance_and_cannot_be_paused_twice(case):
    case.request_supplement("Thiếu tờ khai", now=CLOCK.now())
    with pytest.raises(RuleViolated, match="resume it first"):
        case.complete_step(0, by="canbo", note="", now=CLOCK.now(), calendar=CALENDAR)
    with pytest.raises(RuleViolated, match="already waits"):
        case.request_supplement("again", now=CLOCK.now())


def test_resuming_a_case_that_is_not_paused_is_refused(case):
    with pytest.raises(RuleViolated, match="not waiting"):
        case.resume(now=CLOCK.now(), calendar=CALENDAR)


def test_a_second_supplement_request_makes_the_dossier_late_even_if_finished_in_time(case):
    for _ in range(2):
        case.request_supplement("Thiếu giấy tờ", now=START)
        case.resume(now=START, calendar=CALENDAR)
    for i in range(len(case.steps)):
        case.complete_step(i, by="canbo", note="", now=START + timedelta(hours=1), calendar=CALENDAR)
    assert case.classification == LATE


@pytest.mark.parametrize("finished, expected", [
    (local(2026, 11, 25, 16), EARLY),     # the day before
    (local(2026, 11, 26, 7, 30), ON_TIME),  # within the half-day that holds the due time (07:00-11:30)
    (local(2026, 11, 26, 8), ON_TIME),    # at the due time
    (local(2026, 11, 26, 8, 1), LATE),
])
def test_a_finished_dossier_is_classified_against_its_due_time(finished, expected):
    assert classify(finished, local(2026, 11, 26, 8), CALENDAR, late_by_rule=False) == expected


def test_a_processed_event_stored_before_classification_existed_still_reads():
    event = load_sample("Case.Processed.v1.json")
    assert isinstance(event, Case.Processed) and event.classification == ""


def test_a_case_is_marked_overdue_once_and_only_while_its_clock_runs(case):
    assert not case.mark_overdue(case.due_at)  # at the due time it is not yet late
    after = case.due_at + timedelta(minutes=1)
    assert case.mark_overdue(after) and case.overdue
    assert not case.mark_overdue(after + timedelta(hours=1))  # never twice


def test_a_paused_case_is_not_marked_overdue(case):
    case.request_supplement("Thiếu giấy tờ", now=START)
    assert not case.mark_overdue(case.due_at + timedelta(days=30))


def test_an_apology_sets_a_new_appointment_but_a_dossier_finished_after_its_commitment_is_late(case):
    committed = case.due_at
    new_appointment = committed + timedelta(days=2)
    case.extend(new_appointment, "Cần xác minh thêm với cơ quan liên quan", now=START, calendar=CALENDAR)
    assert case.due_at == new_appointment and case.committed_due_at == committed and case.extensions == 1
    finished = committed + timedelta(days=1)  # before the new appointment, after the commitment
    for i in range(len(case.steps)):
        case.complete_step(i, by="canbo", note="", now=finished, calendar=CALENDAR)
    assert case.classification == LATE


@pytest.mark.parametrize("new_due, reason, field", [
    (lambda c: c.due_at - timedelta(hours=1), "lý do", "new_due_at"),
    (lambda c: c.due_at + timedelta(days=1), "  ", "reason"),
    (lambda c: datetime(9999, 12, 31, tzinfo=timezone.utc), "lý do", "new_due_at"),
])
def test_a_bad_extension_is_refused_naming_the_field(case, new_due, reason, field):
    with pytest.raises(InvalidArgument) as error:
        case.extend(new_due(case), reason, now=START, calendar=CALENDAR)
    assert error.value.violations[0].field == field


def test_a_pause_after_an_apology_moves_both_the_appointment_and_the_commitment(case):
    committed = case.committed_due_at
    case.extend(case.due_at + timedelta(days=2), "Cần xác minh", now=START, calendar=CALENDAR)
    appointment = case.due_at
    case.request_supplement("Thiếu giấy tờ", now=local(2026, 11, 25, 16))
    case.resume(now=local(2026, 11, 30, 9), calendar=CALENDAR)
    assert case.committed_due_at == CALENDAR.add_working_time(committed, timedelta(hours=19))
    assert case.due_at == CALENDAR.add_working_time(appointment, timedelta(hours=19))


def test_a_resumed_event_stored_before_extensions_existed_still_reads():
    event = load_sample("Case.Resumed.v1.json")
    assert isinstance(event, Case.Resumed) and event.committed_due_at == event.due_at


def test_every_event_shape_workflow_ever_stored_still_loads():
    from motcua_common.audit.access import AccessDenied, DossierRead
    from motcua_common.events.idempotency import IdempotencyRecord
    from motcua_common.events.stored_contract import check_contract

    from motcua_workflow.domain.fee_standing import FeeStanding

    assert check_contract([Case, FeeStanding, IdempotencyRecord, DossierRead, AccessDenied], SAMPLES) == []


def load_sample(name: str):  # type: ignore[no-untyped-def]
    from eventsourcing.persistence import StoredEvent

    from motcua_common.events.store import ChainingMapper, make_transcoder
    from motcua_common.events.stored_contract import load_samples

    sample = next(s for s in load_samples(SAMPLES) if s.path.name == name)
    return ChainingMapper(transcoder=make_transcoder()).to_domain_event(
        StoredEvent(uuid4(), 3, sample.topic, sample.state))


def test_stopping_ends_the_case_classifies_it_and_closes_it(case):
    case.stop("Người nộp rút hồ sơ", now=START + timedelta(hours=1), calendar=CALENDAR)
    assert case.status == "stopped" and case.national_status == 8 and case.classification == EARLY
    with pytest.raises(RuleViolated, match="already stopped"):
        case.complete_step(0, by="canbo", note="", now=START, calendar=CALENDAR)
    with pytest.raises(RuleViolated):
        case.stop("again", now=START, calendar=CALENDAR)


def test_a_case_stopped_while_paused_is_judged_when_its_clock_stopped(case):
    case.request_supplement("Thiếu giấy tờ", now=case.due_at - timedelta(hours=1))
    case.stop("Quá hạn bổ sung", now=case.due_at + timedelta(days=30), calendar=CALENDAR)
    assert case.classification != LATE


# -- assignment, inter-agency transfer, the signed result and its return ----------------------------

def finish(case) -> None:  # type: ignore[no-untyped-def]
    for i in range(case.current_step, len(case.steps)):
        case.complete_step(i, by="canbo", note="", now=local(2026, 11, 25, 9), calendar=CALENDAR)


def test_the_current_step_is_assigned_and_reassigned_and_a_new_step_starts_unassigned(case):
    case.assign("chuyenvien01", by="lanhdao", now=START)
    assert case.assignee == "chuyenvien01"
    with pytest.raises(RuleViolated, match="already assigned"):
        case.assign("chuyenvien01", by="lanhdao", now=START)
    case.assign("chuyenvien02", by="lanhdao", now=START)
    assert case.assignee == "chuyenvien02" and case.steps[0]["assignee"] == "chuyenvien02"
    case.complete_step(0, by="chuyenvien02", note="", now=START, calendar=CALENDAR)
    assert case.assignee == ""
    with pytest.raises(InvalidArgument) as blank:
        case.assign("  ", by="lanhdao", now=START)
    assert blank.value.violations[0].field == "official"


def test_a_transfer_holds_the_steps_until_the_case_comes_back_and_measures_the_share(case):
    case.transfer("000.00.10.H45", 8, "Xác minh thông tin hộ tịch", now=local(2026, 11, 23, 9))
    assert case.current_unit == "000.00.10.H45" and case.national_status == 4
    with pytest.raises(RuleViolated, match="must come back"):
        case.complete_step(0, by="canbo", note="", now=local(2026, 11, 23, 10), calendar=CALENDAR)
    with pytest.raises(RuleViolated, match="must come back"):
        case.transfer("000.31.02.H45", 4, "again", now=local(2026, 11, 23, 10))
    used = CALENDAR.working_time_between(local(2026, 11, 23, 9), local(2026, 11, 25, 10)).total_seconds() / 3600
    case.return_from_transfer("Đã xác minh", now=local(2026, 11, 25, 10), calendar=CALENDAR)
    assert case.current_unit == "000.31.01.H45"
    assert case.transfers == [{"unit_code": "000.00.10.H45", "allotted_working_hours": 8, "used_working_hours": used,
                               "over_share": used > 8, "transferred_at": local(2026, 11, 23, 9),
                               "returned_at": local(2026, 11, 25, 10)}]
    with pytest.raises(RuleViolated, match="not at another unit"):
        case.return_from_transfer("", now=local(2026, 11, 25, 11), calendar=CALENDAR)


@pytest.mark.parametrize("to_unit, hours, reason, field", [
    ("000.31.01.H45", 8, "x", "to_unit_code"),
    ("000.00.10.H45", 0, "x", "allotted_working_hours"),
    ("000.00.10.H45", 8, " ", "reason"),
])
def test_a_bad_transfer_is_refused_naming_the_field(case, to_unit, hours, reason, field):
    with pytest.raises(InvalidArgument) as error:
        case.transfer(to_unit, hours, reason, now=START)
    assert error.value.violations[0].field == field


def test_a_paused_case_cannot_be_transferred(case):
    case.request_supplement("Thiếu giấy tờ", now=START)
    with pytest.raises(RuleViolated, match="resume it first"):
        case.transfer("000.00.10.H45", 8, "Xác minh", now=START)


SIGNED = {"sha256": "ab" * 32, "size_bytes": 10, "media_type": "application/pdf", "filename": "ket-qua.pdf"}


def test_a_result_is_returned_only_once_signed_and_processed(case):
    with pytest.raises(RuleViolated, match="finish processing first"):
        case.return_result("desk", now=START)
    finish(case)
    with pytest.raises(RuleViolated, match="no signed result"):
        case.return_result("desk", now=START)
    case.sign_result(SIGNED, "c2ln", "-----BEGIN CERTIFICATE-----", signed_by="lanhdao", now=START)
    with pytest.raises(InvalidArgument) as bad:
        case.return_result("fax", now=START)
    assert bad.value.violations[0].field == "method"
    case.return_result("post", now=local(2026, 11, 26, 9))
    assert (case.status, case.national_status, case.return_method) == ("returned", 10, "post")
    with pytest.raises(RuleViolated, match="returned already"):
        case.return_result("desk", now=START)
    with pytest.raises(RuleViolated, match="already returned"):
        case.sign_result(SIGNED, "c2ln", "pem", signed_by="lanhdao", now=START)


def test_a_stopped_case_cannot_be_signed(case):
    case.stop("Dừng theo quy định", now=START, calendar=CALENDAR)
    with pytest.raises(RuleViolated, match="already stopped"):
        case.sign_result(SIGNED, "c2ln", "pem", signed_by="lanhdao", now=START)


# -- how a case ended, as both reports count it -----------------------------------------------------

def test_a_withdrawn_case_records_its_end_reason_and_is_counted_apart_from_processed_ones(case):
    case.stop("Người nộp rút hồ sơ: Không có nhu cầu", now=START + timedelta(hours=1), calendar=CALENDAR,
              end_reason="withdrawn")
    assert (case.end_reason, case.classification) == ("withdrawn", EARLY)
    assert (case.outcome.progress_766, case.outcome.operational) == ("on_time", "cancelled")


def test_a_processed_case_is_counted_by_its_timing_in_both_views(case):
    finish(case)
    assert (case.end_reason, case.classification) == ("processed", EARLY)
    assert (case.outcome.progress_766, case.outcome.operational) == ("on_time", "early")


def test_a_stopped_case_after_its_due_time_is_late_for_766_and_stopped_for_operations(case):
    case.stop("Dừng theo quy định", now=case.due_at + timedelta(days=1), calendar=CALENDAR)
    assert (case.end_reason, case.classification) == ("stopped", LATE)
    assert (case.outcome.progress_766, case.outcome.operational) == ("late", "stopped")


def test_an_open_case_has_no_end_and_no_outcome(case):
    assert (case.end_reason, case.outcome.progress_766, case.outcome.operational) == ("", "", "")


def test_a_stop_stored_before_end_reasons_existed_reads_as_a_withdrawal_by_its_text():
    event = load_sample("Case.Stopped.v1.json")
    assert isinstance(event, Case.Stopped) and event.end_reason == "withdrawn"


# -- steps' times and the signed result ----------------------------------------------------------

def test_a_step_taken_up_before_its_forwarding_time_never_shows_a_start_after_its_completion():
    dossier_id = uuid4()
    plan = load_templates(DEMO_DATA / "process_templates.yaml").plan("1.004873", "000.31.01.H45", 3)
    received = local(2026, 11, 23, 16)  # after 15:00: forwarded at the next working day's start
    forwarded = local(2026, 11, 24, 7)  # where the forwarding rule put the first step's start
    ctx = CommandContext(Actor(kind="system", subject="test"), "test", CLOCK)
    with command_context(ctx), concerning(dossier_id):
        case = Case.open("test", dossier_id, "X-261123-0002", "1.004873", "000.31.01.H45", received,
                         CALENDAR.add_working_days(received, 3), plan, forwarded)
        completed = local(2026, 11, 23, 16, 30)
        case.complete_step(0, by="canbo", note="", now=completed, calendar=CALENDAR)
    assert case.steps[0]["started_at"] <= case.steps[0]["completed_at"] == completed
    assert case.steps[1]["started_at"] == completed


def test_a_result_is_signed_only_after_the_last_step(case):
    with pytest.raises(RuleViolated, match="complete its last step"):
        case.sign_result(SIGNED, "c2ln", "pem", signed_by="lanhdao", now=START)
    assert case.result is None


def test_a_second_signature_is_refused_and_the_first_stays(case):
    finish(case)
    case.sign_result(SIGNED, "c2ln", "pem", signed_by="lanhdao", now=START)
    with pytest.raises(RuleViolated, match="signed already"):
        case.sign_result({**SIGNED, "sha256": "cd" * 32}, "other", "pem", signed_by="lanhdao2", now=START)
    assert (case.result["sha256"], case.result["signed_by"]) == ("ab" * 32, "lanhdao")


def test_an_apology_may_set_at_most_the_procedures_deadline_again_after_the_committed_due_time(case):
    bound = case.extension_bound(CALENDAR)
    assert bound == CALENDAR.add_working_time(case.committed_due_at, timedelta(hours=24))  # 3 working days
    with pytest.raises(InvalidArgument) as error:
        case.extend(bound + timedelta(seconds=1), "Cần xác minh", now=START, calendar=CALENDAR)
    assert error.value.violations[0].field == "new_due_at" and case.extensions == 0
    case.extend(bound, "Cần xác minh", now=START, calendar=CALENDAR)
    assert case.due_at == bound
