"""The fold from history to state: what was true at each instant, for every event it knows."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from motcua.events.v1 import events_pb2 as common
from motcua.intake.events.v1 import events_pb2 as intake
from motcua.workflow.events.v1 import events_pb2 as workflow
from motcua_common.events.published import timestamp
from motcua_reporting.domain.dossier_state import HistoryEntry, state_as_of

T0 = datetime(2026, 11, 23, 1, 0, tzinfo=timezone.utc)


def entry(service: str, recorded_at: datetime, message, is_read: bool = False) -> HistoryEntry:  # type: ignore[no-untyped-def]
    return HistoryEntry(service, type(message).__name__, recorded_at, {}, is_read, message.DESCRIPTOR.full_name,
                        message.SerializeToString())


STEPS = [workflow.Step(index=0, name="Tiếp nhận", unit_code="U1"), workflow.Step(index=1, name="Thẩm định", unit_code="U1")]
HISTORY = [
    entry("intake", T0, intake.DossierReceived(code="C-1", procedure_code="1.004873", handling_unit_code="U1",
                                               appointment_at=timestamp(T0 + timedelta(days=3)))),
    entry("workflow", T0 + timedelta(minutes=1), workflow.CaseOpened(unit_code="U1", steps=STEPS, national_status=4,
                                                                     due_at=timestamp(T0 + timedelta(days=3)),
                                                                     opened_at=timestamp(T0))),
    entry("workflow", T0 + timedelta(minutes=2), workflow.StepAssigned(index=0, official="cv01")),
    entry("intake", T0 + timedelta(minutes=3), common.DossierRead(what="intake.GetDossier"), True),
    entry("workflow", T0 + timedelta(minutes=4), workflow.CaseTransferredOut(to_unit="U2")),
    entry("workflow", T0 + timedelta(hours=1), workflow.CaseTransferReturned(home_unit="U1")),
    entry("workflow", T0 + timedelta(hours=2), workflow.StepCompleted(index=0, completed_by="cv01",
                                                                      completed_at=timestamp(T0 + timedelta(hours=2)))),
    entry("workflow", T0 + timedelta(hours=2), workflow.StepStarted(index=1, started_at=timestamp(T0 + timedelta(hours=2)))),
    entry("workflow", T0 + timedelta(hours=3), workflow.CaseSupplementRequested(national_status=5)),
    entry("workflow", T0 + timedelta(hours=5), workflow.CaseResumed(due_at=timestamp(T0 + timedelta(days=3, hours=2)),
                                                                    national_status=4)),
    entry("workflow", T0 + timedelta(hours=6), workflow.StepCompleted(index=1, completed_by="cv02")),
    entry("workflow", T0 + timedelta(hours=6), workflow.CaseProcessed(national_status=9)),  # no classification: ""
    entry("workflow", T0 + timedelta(hours=7), workflow.ResultSigned(sha256="ab" * 32)),
    entry("workflow", T0 + timedelta(hours=8), workflow.ResultReturned(method="post", national_status=10)),
]


def at(instant: datetime):  # type: ignore[no-untyped-def]
    return state_as_of("d-1", HISTORY, instant)


def test_nothing_before_the_first_event():
    assert at(T0 - timedelta(seconds=1)) is None


def test_received_then_opened_then_assigned():
    received = at(T0)
    assert (received.status, received.national_status, received.dossier_code, received.steps) == ("received", 2, "C-1", [])
    assigned = at(T0 + timedelta(minutes=3))
    assert (assigned.status, assigned.steps[0]["assignee"]) == ("in_progress", "cv01")
    assert assigned.events_applied == 3  # the read is history, not state


def test_the_unit_follows_a_transfer_and_its_return():
    assert at(T0 + timedelta(minutes=30)).unit_code == "U2"
    assert at(T0 + timedelta(hours=1)).unit_code == "U1"


def test_pause_resume_and_the_moved_due_time():
    paused = at(T0 + timedelta(hours=4))
    assert (paused.status, paused.national_status, paused.due_at) == ("paused", 5, T0 + timedelta(days=3))
    resumed = at(T0 + timedelta(hours=5))
    assert (resumed.status, resumed.due_at) == ("in_progress", T0 + timedelta(days=3, hours=2))


def test_processed_signed_and_returned():
    processed = at(T0 + timedelta(hours=6, minutes=30))
    assert (processed.status, processed.national_status, processed.classification) == ("processed", 9, "")
    assert [s["status"] for s in processed.steps] == ["completed", "completed"]
    returned = at(T0 + timedelta(days=1))
    assert (returned.status, returned.national_status, returned.result_sha256) == ("returned", 10, "ab" * 32)


def test_a_processed_dossier_ends_as_processed_and_counts_by_its_timing_in_both_views():
    history = [*HISTORY[:11], entry("workflow", T0 + timedelta(hours=6),
                                    workflow.CaseProcessed(classification="early", national_status=9,
                                                           end_reason="processed")), *HISTORY[12:]]
    returned = state_as_of("d-1", history, T0 + timedelta(days=1))
    assert (returned.end_reason, returned.classification) == ("processed", "early")
    assert (returned.progress_766, returned.operational_outcome) == ("on_time", "early")


def opened_then(*last: HistoryEntry) -> list[HistoryEntry]:
    return [*HISTORY[:2], *last]


def test_a_withdrawn_dossier_ends_withdrawn_counted_by_766_and_cancelled_in_operations():
    state = state_as_of("d-1", opened_then(
        entry("intake", T0 + timedelta(hours=1), intake.DossierWithdrawn(reason="Không có nhu cầu")),
        entry("workflow", T0 + timedelta(hours=1),
              workflow.CaseStopped(reason="Người nộp rút hồ sơ: Không có nhu cầu", classification="early",
                                   national_status=8, end_reason="withdrawn"))), T0 + timedelta(days=1))
    assert (state.status, state.national_status, state.end_reason) == ("stopped", 8, "withdrawn")
    assert (state.progress_766, state.operational_outcome) == ("on_time", "cancelled")


def test_a_stop_published_without_end_reason_reads_by_its_text_and_a_late_stop_is_late_for_766():
    withdrawn = state_as_of("d-1", opened_then(entry(
        "workflow", T0 + timedelta(hours=1),
        workflow.CaseStopped(reason="Người nộp rút hồ sơ: x", classification="early"))), T0 + timedelta(days=1))
    assert withdrawn.end_reason == "withdrawn"
    stopped = state_as_of("d-1", opened_then(entry(
        "workflow", T0 + timedelta(days=4),
        workflow.CaseStopped(reason="Dừng theo quy định", classification="late", end_reason="stopped"))),
        T0 + timedelta(days=5))
    assert (stopped.end_reason, stopped.progress_766, stopped.operational_outcome) == ("stopped", "late", "stopped")


def test_a_dossier_refused_at_intake_ends_refused_and_is_denied_in_operations():
    history = [
        entry("intake", T0, intake.DossierRegistered(code="C-2", procedure_code="1.004873")),
        entry("intake", T0 + timedelta(hours=1), intake.IntakeSupplementRequested(reason="Thiếu")),
        entry("intake", T0 + timedelta(hours=2), intake.DossierRefused(reason="Không đủ điều kiện")),
    ]
    asked = state_as_of("d-2", history, T0 + timedelta(hours=1))
    assert (asked.status, asked.national_status, asked.dossier_code) == ("supplement_requested", 5, "C-2")
    refused = state_as_of("d-2", history, T0 + timedelta(hours=3))
    assert (refused.status, refused.national_status, refused.end_reason) == ("refused", 3, "refused")
    assert (refused.progress_766, refused.operational_outcome) == ("on_time", "denied")


def test_the_due_time_moves_when_the_clock_resumes_after_payment_and_payments_events_count_as_history():
    from motcua.payment.events.v1 import events_pb2 as payment

    moved = T0 + timedelta(days=4)
    history = HISTORY[:2] + [
        entry("payment", T0 + timedelta(minutes=2), payment.InvoiceIssued(due="before_processing", total_vnd=10_000)),
        entry("workflow", T0 + timedelta(minutes=3), workflow.CaseClockStoppedForPayment(stopped_at=timestamp(T0))),
        entry("payment", T0 + timedelta(hours=1), payment.InvoicePaid(method="cash", amount_vnd=10_000)),
        entry("workflow", T0 + timedelta(hours=1), workflow.CaseClockResumedAfterPayment(due_at=timestamp(moved))),
    ]
    before = state_as_of("d-1", history, T0 + timedelta(minutes=30))
    after = state_as_of("d-1", history, T0 + timedelta(hours=1))
    assert before.due_at == T0 + timedelta(days=3) and before.status == "in_progress"
    assert after.due_at == moved and after.status == "in_progress" and after.events_applied == 6
