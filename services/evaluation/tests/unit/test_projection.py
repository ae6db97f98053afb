"""Per-dossier facts folded from intake's, workflow's and payment's published protobuf events."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from uuid import uuid4

from google.protobuf import timestamp_pb2

from motcua.intake.events.v1 import events_pb2 as intake
from motcua.payment.events.v1 import events_pb2 as payment
from motcua.workflow.events.v1 import events_pb2 as workflow

from motcua_common.events.published import PublishedEvent

from motcua_evaluation.adapters.methodology_file import load_methodology
from motcua_evaluation.domain.facts import Pause
from motcua_evaluation.domain.projection import fold
from motcua_evaluation.domain.scorecard import Period, compute

T0 = datetime(2026, 11, 2, 2, 0, tzinfo=timezone.utc)  # 09:00 in Vietnam
UNIT = "000.31.01.H45"


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def ts(hours: float) -> timestamp_pb2.Timestamp:
    value = timestamp_pb2.Timestamp()
    value.FromDatetime(at(hours))
    return value


class Log:
    """Published events as a consumer receives them, each recorded at the hour it is given."""

    def __init__(self) -> None:
        self.events: list[PublishedEvent] = []

    def add(self, upstream: str, dossier_id: str, message, recorded: float) -> None:
        self.events.append(PublishedEvent(
            upstream=upstream, id=f"{upstream}:{len(self.events)}", source=f"motcua/test/{upstream}",
            type=message.DESCRIPTOR.full_name, time=at(recorded), subject=dossier_id, position=len(self.events) + 1,
            previous_position=len(self.events), actor={}, causation="", traceparent="", dossier_code="C-" + dossier_id[:4],
            stored_hash="", occurred_at=None, data=message.SerializeToString()))


def received(log: Log, dossier_id: str, hours: float = 0, due_hours: float = 5 * 24, channel: str = "online") -> None:
    log.add("intake", dossier_id, intake.DossierReceived(
        dossier_id=dossier_id, code="C1", procedure_code="1.004873", receiving_agency_code=UNIT,
        handling_unit_code=UNIT, channel=channel, applicant=intake.Applicant(subject_id="s-1", kind="citizen"),
        components=[intake.Component(code="TO_KHAI", digitised=True, reused_from="C0"),
                    intake.Component(code="CCCD", digitised=False)],
        received_at=ts(hours), appointment_at=ts(due_hours)), hours)
    log.add("workflow", dossier_id, workflow.CaseOpened(
        dossier_id=dossier_id, unit_code=UNIT, received_at=ts(hours), due_at=ts(due_hours), national_status=4,
        opened_at=ts(hours)), hours + 0.1)


def test_a_dossiers_whole_life_becomes_its_facts():
    log, d = Log(), str(uuid4())
    received(log, d)
    log.add("payment", d, payment.InvoiceIssued(dossier_id=d, total_vnd=10_000, procedure_code="1.004873"), 0.2)
    log.add("payment", d, payment.InvoicePaid(method="gateway", amount_vnd=10_000, paid_at=ts(1), online_flag=1), 1)
    log.add("workflow", d, workflow.CaseSupplementRequested(requested_at=ts(24)), 24)
    log.add("workflow", d, workflow.CaseResumed(resumed_at=ts(48), due_at=ts(6 * 24)), 48)
    log.add("workflow", d, workflow.DeadlineExtended(previous_due_at=ts(6 * 24), new_due_at=ts(9 * 24)), 50)
    log.add("workflow", d, workflow.CaseProcessed(processed_at=ts(7 * 24), classification="late",
                                                  end_reason="processed"), 7 * 24)
    log.add("workflow", d, workflow.ResultSigned(sha256="ab" * 32, signed_at=ts(7 * 24 - 1)), 7 * 24)
    log.add("workflow", d, workflow.ResultReturned(method="desk", returned_at=ts(8 * 24)), 8 * 24)
    f = fold(log.events)[d]
    assert (f.unit_code, f.channel, f.procedure_code, f.applicant_subject) == (UNIT, "online", "1.004873", "s-1")
    assert (f.received_at, f.due_at, f.due_before_extension) == (at(0), at(9 * 24), at(6 * 24))
    assert f.pauses == [Pause(at(24), at(48))]
    assert (f.ended_at, f.end_reason, f.result_returned_at, f.result_signed_at) == (
        at(7 * 24), "processed", at(8 * 24), at(7 * 24 - 1))
    assert (f.components_total, f.components_digitised, f.components_reused) == (2, 1, 1)
    assert (f.fee_vnd, f.paid_at, f.paid_online_flag, f.invoice_cancelled) == (10_000, at(1), 1, False)


def test_a_withdrawal_ends_the_dossier_when_the_applicant_withdrew_whichever_upstream_comes_first():
    d = str(uuid4())
    intake_log, workflow_log = Log(), Log()
    received(intake_log, d)
    intake_log.add("intake", d, intake.DossierWithdrawn(dossier_id=d, withdrawn_at=ts(30)), 30)
    workflow_log.add("workflow", d, workflow.CaseStopped(reason="Người nộp rút hồ sơ", stopped_at=ts(31),
                                                         classification="on_time"), 31)
    workflow_log.add("payment", d, payment.InvoiceCancelled(reason="rút hồ sơ"), 31)
    for events in (intake_log.events + workflow_log.events, workflow_log.events + intake_log.events):
        f = fold(events)[d]
        assert (f.ended_at, f.end_reason, f.invoice_cancelled) == (at(30), "withdrawn", True)


def test_a_refused_registration_ends_refused_and_was_never_received():
    log, d = Log(), str(uuid4())
    log.add("intake", d, intake.DossierRegistered(dossier_id=d, code="C2", receiving_agency_code=UNIT, channel="desk",
                                                   registered_at=ts(0), missing_component_codes=["TO_KHAI"]), 0)
    log.add("intake", d, intake.DossierRefused(dossier_id=d, reason="Thiếu tờ khai", refused_at=ts(2)), 2)
    f = fold(log.events)[d]
    assert (f.unit_code, f.registered_at, f.received_at, f.ended_at, f.end_reason) == (UNIT, at(0), None, at(2), "refused")


def test_as_of_keeps_only_the_events_recorded_by_then():
    log, d = Log(), str(uuid4())
    received(log, d)
    log.add("workflow", d, workflow.CaseProcessed(processed_at=ts(72), end_reason="processed"), 72)
    assert fold(log.events, as_of=at(71)).get(d).ended_at is None
    assert fold(log.events, as_of=at(72)).get(d).ended_at == at(72)
    assert fold(log.events, as_of=at(-1)) == {}


def test_events_it_does_not_follow_are_ignored():
    log, d = Log(), str(uuid4())
    log.add("workflow", d, workflow.StepStarted(index=1, started_at=ts(1)), 1)
    assert fold(log.events) == {}


def test_the_scorecard_scores_the_folded_facts_of_a_period_as_it_stood_at_its_end():
    """Two dossiers received 2 Nov: A processed on day 3 (due day 5), B still open at the end of
    November although due on day 5; B is processed in December, which does not change November."""
    log, a, b = Log(), str(uuid4()), str(uuid4())
    received(log, a)
    received(log, b, channel="desk")
    log.add("workflow", a, workflow.CaseProcessed(processed_at=ts(72), end_reason="processed"), 72)
    december = (datetime(2026, 12, 3, tzinfo=timezone.utc) - T0).total_seconds() / 3600
    log.add("workflow", b, workflow.CaseProcessed(processed_at=ts(december), end_reason="processed"), december)
    month = Period(datetime(2026, 10, 31, 17, tzinfo=timezone.utc), datetime(2026, 11, 30, 17, tzinfo=timezone.utc))
    methodology = load_methodology().in_force(month.end.date())
    for facts in (fold(log.events, as_of=month.end).values(), fold(log.events).values()):
        progress = compute(methodology, facts, month, units=[UNIT]).indicator("progress", "on_time")
        assert (progress.numerator, progress.denominator, progress.points, progress.shortfall_ids) == (1, 2, 10.0, (b,))
