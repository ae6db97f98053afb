"""Payment's effect on the case (policies.PaymentPolicies, from payment's published events): a fee due
before processing whose procedure says so stops the case's clock until it is paid or cancelled, and the
due time moves by exactly the working time it stood still, as after a supplement; an unpaid invoice
holds the result back (FEE_UNPAID). Payment's events may arrive before the case is opened."""
from __future__ import annotations

import hashlib
from datetime import datetime, timedelta, timezone
from uuid import UUID, uuid4

import pytest
from google.protobuf.message import Message

from motcua.intake.events.v1 import events_pb2 as intake_events
from motcua.payment.events.v1 import events_pb2 as payment_events
from motcua_common.config.clock import FixedClock
from motcua_common.errors import RuleViolated
from motcua_common.events.consumer import UnitOfWork
from motcua_common.events.context import Actor, CommandContext, command_context, concerning
from motcua_common.events.in_memory import in_memory_env, own_log
from motcua_common.events.published import PublishedEvent, timestamp
from motcua_common.province.working_calendar import WorkingCalendar
from motcua_testkit.plugin import DEMO_DATA

from motcua_workflow.adapters import published
from motcua_workflow.adapters.templates_file import load_templates
from motcua_workflow.adapters.unit_signing import UnitKeys, issue_unit_keys
from motcua_workflow.application import WorkflowApplication
from motcua_workflow.domain.case import Case
from motcua_workflow.policies import IntakePolicies, PaymentPolicies
from workflow_memory import InMemoryCaseQueue, InMemoryResultStore

START = datetime(2026, 11, 23, 1, 0, tzinfo=timezone.utc)  # Monday 08:00 in Vietnam
CALENDAR = WorkingCalendar.from_data({})
UNIT = "000.31.01.H45"
OFFICIAL = Actor(kind="official", subject="cv01", role="specialist", unit=UNIT)
TEMPLATES = load_templates(DEMO_DATA / "process_templates.yaml")
DAY = timedelta(hours=8)  # one working day


def make_app(clock: FixedClock, unit_keys: UnitKeys | None = None) -> WorkflowApplication:
    app = WorkflowApplication(env=in_memory_env(), province="test", clock=clock, queue=InMemoryCaseQueue(),
                              result_files=InMemoryResultStore(), calendar=CALENDAR, unit_keys=unit_keys)
    app.publication = published.publication()
    return app


@pytest.fixture
def app():
    app = make_app(FixedClock(START))
    yield app
    app.close()


class Dossier:
    """One dossier's upstream events, as intake and payment publish them."""

    def __init__(self) -> None:
        self.id = uuid4()
        self.code = f"{UNIT}-261123-{self.id.int % 10000:04d}"
        self.position = {"intake": 0, "payment": 0}

    def _event(self, upstream: str, message: Message, at: datetime) -> PublishedEvent:
        self.position[upstream] += 1
        p = self.position[upstream]
        return PublishedEvent(upstream, f"{upstream}:{self.id}:{p}", f"motcua/test/{upstream}",
                              message.DESCRIPTOR.full_name, at, str(self.id), p, p - 1, {}, "", "", self.code, "",
                              at, message.SerializeToString())

    def received(self, at: datetime = START) -> PublishedEvent:
        return self._event("intake", intake_events.DossierReceived(
            dossier_id=str(self.id), code=self.code, procedure_code="1.004873", receiving_agency_code=UNIT,
            handling_unit_code=UNIT, channel="desk", received_at=timestamp(at),
            appointment_at=timestamp(CALENDAR.add_working_days(at, 3)), forwarded_at=timestamp(at),
            deadline_working_days=3), at)

    def issued(self, at: datetime = START, due: str = "before_processing", clock_stops: bool = True) -> PublishedEvent:
        return self._event("payment", payment_events.InvoiceIssued(
            invoice_id=uuid4().hex, dossier_id=str(self.id), dossier_code=self.code, total_vnd=10_000, due=due,
            clock_stops_while_unpaid=clock_stops), at)

    def paid(self, at: datetime) -> PublishedEvent:
        return self._event("payment", payment_events.InvoicePaid(method="gateway", amount_vnd=10_000,
                                                                 paid_at=timestamp(at), online_flag=1), at)

    def cancelled(self, at: datetime) -> PublishedEvent:
        return self._event("payment", payment_events.InvoiceCancelled(reason="rút hồ sơ"), at)

    def case(self, app: WorkflowApplication) -> Case:
        return app.get_case(dossier_id=self.id)


def apply(app: WorkflowApplication, *events: PublishedEvent) -> None:
    """Each event as the consumer applies it: the policy of its upstream, then one save."""
    for event in events:
        policy = (IntakePolicies("test", TEMPLATES, app.calendar_of) if event.upstream == "intake"
                  else PaymentPolicies("test", app.calendar_of))
        if event.type not in policy.handles:
            continue
        work = UnitOfWork(app)
        with command_context(CommandContext(actor=Actor.system("workflow.consumer"), province="test",
                                            clock=app.clock)), \
                concerning(UUID(event.subject), causation_id=event.ref, dossier_code=event.dossier_code):
            policy(event, work)
        app.record(*work.aggregates)


def case_events(app: WorkflowApplication) -> list[str]:
    return [e.name for e in own_log(app) if e.name.startswith("Case.")]


def test_the_due_time_moves_by_the_working_time_the_fee_was_awaited(app):
    dossier = Dossier()
    apply(app, dossier.received(), dossier.issued())
    due = dossier.case(app).due_at
    assert dossier.case(app).unpaid_since == START
    apply(app, dossier.paid(CALENDAR.add_working_time(START, 1.5 * DAY)))
    case = dossier.case(app)
    assert case.due_at == CALENDAR.add_working_time(due, 1.5 * DAY)
    assert case.committed_due_at == case.due_at and case.unpaid_since is None
    assert case_events(app)[-2:] == ["Case.ClockStoppedForPayment", "Case.ClockResumedAfterPayment"]
    resumed = [e for e in own_log(app) if e.name == "Case.ClockResumedAfterPayment"][0]
    assert resumed.data["paused_working_seconds"] == 1.5 * DAY.total_seconds()


def test_a_cancelled_invoice_restarts_the_clock_as_a_payment_does(app):
    dossier = Dossier()
    apply(app, dossier.received(), dossier.issued())
    due = dossier.case(app).due_at
    apply(app, dossier.cancelled(CALENDAR.add_working_time(START, DAY)))
    assert dossier.case(app).due_at == CALENDAR.add_working_time(due, DAY)


@pytest.mark.parametrize("due, clock_stops", [("before_processing", False), ("before_result", False)])
def test_a_fee_whose_procedure_does_not_stop_the_clock_leaves_the_due_time(app, due, clock_stops):
    dossier = Dossier()
    apply(app, dossier.received(), dossier.issued(due=due, clock_stops=clock_stops))
    due_at = dossier.case(app).due_at
    apply(app, dossier.paid(CALENDAR.add_working_time(START, DAY)))
    assert dossier.case(app).due_at == due_at
    assert "Case.ClockStoppedForPayment" not in case_events(app)


def test_payment_events_before_the_case_opens_are_taken_up_when_it_opens(app):
    dossier = Dossier()
    paid_at = CALENDAR.add_working_time(START, 2 * DAY)
    apply(app, dossier.issued(), dossier.paid(paid_at), dossier.received())
    case = dossier.case(app)
    assert case.due_at == CALENDAR.add_working_time(CALENDAR.add_working_days(START, 3), 2 * DAY)
    assert case.unpaid_since is None


def test_an_invoice_before_the_case_stops_its_clock_from_the_start_until_paid(app):
    dossier = Dossier()
    apply(app, dossier.issued(), dossier.received())
    assert dossier.case(app).unpaid_since == START
    apply(app, dossier.paid(CALENDAR.add_working_time(START, DAY)))
    assert dossier.case(app).due_at == CALENDAR.add_working_time(CALENDAR.add_working_days(START, 3), DAY)


def test_a_wait_never_starts_before_the_dossier_was_received(app):
    dossier = Dossier()
    issued_at = START - timedelta(days=3)
    apply(app, dossier.issued(at=issued_at), dossier.received())
    assert dossier.case(app).unpaid_since == START


def test_a_payment_told_twice_moves_the_due_time_once(app):
    dossier = Dossier()
    apply(app, dossier.received(), dossier.issued())
    paid = dossier.paid(CALENDAR.add_working_time(START, DAY))
    apply(app, paid)
    due = dossier.case(app).due_at
    apply(app, dossier.paid(CALENDAR.add_working_time(START, 3 * DAY)))
    assert dossier.case(app).due_at == due
    assert case_events(app).count("Case.ClockResumedAfterPayment") == 1


def test_a_supplement_wait_overlapping_the_fee_wait_is_counted_once(app):
    dossier = Dossier()
    apply(app, dossier.received(), dossier.issued())
    due = dossier.case(app).due_at
    case = dossier.case(app)
    app.clock.advance(timedelta(days=1))  # Tuesday 08:00: a supplement is requested while the fee is still unpaid
    case = app.request_supplement("k1", case.id, case.version, "Thiếu bản sao", OFFICIAL)
    app.clock.advance(timedelta(days=1))  # Wednesday: the supplement arrives, the fee is still unpaid
    case = app.resume("k2", case.id, case.version, OFFICIAL)
    assert case.due_at == due, "the fee wait, begun first, counts this time"
    apply(app, dossier.paid(CALENDAR.add_working_time(START, 3 * DAY)))
    assert dossier.case(app).due_at == CALENDAR.add_working_time(due, 3 * DAY)


def test_a_fee_paid_during_a_supplement_wait_is_counted_up_to_the_supplement(app):
    dossier = Dossier()
    apply(app, dossier.received(), dossier.issued())
    due = dossier.case(app).due_at
    case = dossier.case(app)
    app.clock.advance(timedelta(days=1))
    requested_at = app.clock.now()
    case = app.request_supplement("k1", case.id, case.version, "Thiếu bản sao", OFFICIAL)
    apply(app, dossier.paid(CALENDAR.add_working_time(START, 1.5 * DAY)))
    fee_wait = CALENDAR.working_time_between(START, requested_at)
    assert dossier.case(app).due_at == CALENDAR.add_working_time(due, fee_wait), "counted up to the supplement"
    app.clock.advance(timedelta(days=1))
    case = app.resume("k2", dossier.case(app).id, dossier.case(app).version, OFFICIAL)
    both = CALENDAR.working_time_between(START, app.clock.now())
    assert case.due_at == CALENDAR.add_working_time(due, both)


def test_no_overdue_mark_while_the_clock_stands_still_for_the_fee(app):
    dossier = Dossier()
    apply(app, dossier.received(), dossier.issued())
    app.clock.advance(timedelta(days=30))
    assert app.mark_overdue_cases() == 0
    assert not dossier.case(app).mark_overdue(app.clock.now())


def _processed_and_signed(tmp_path) -> tuple[WorkflowApplication, Dossier, Case]:  # type: ignore[no-untyped-def]
    issue_unit_keys(tmp_path, "motcua test", [UNIT])
    app = make_app(FixedClock(datetime.now(timezone.utc).replace(microsecond=0)), UnitKeys(tmp_path))
    dossier = Dossier()
    now = app.clock.now()
    apply(app, dossier.received(now), dossier.issued(now, due="before_result", clock_stops=False))
    case = dossier.case(app)
    for index in range(len(case.steps)):
        case = app.complete_step(uuid4().hex, case.id, index, case.version, "", OFFICIAL)
    content = b"%PDF-1.7 ket qua"
    case = app.sign_result(uuid4().hex, case.id, case.version, "ket-qua.pdf", "application/pdf", content,
                           hashlib.sha256(content).hexdigest(), OFFICIAL)
    return app, dossier, case


def test_the_result_is_not_returned_while_the_fee_is_unpaid(tmp_path):
    app, dossier, case = _processed_and_signed(tmp_path)
    head = app.head_position()
    with pytest.raises(RuleViolated) as refused:
        app.return_result(uuid4().hex, case.id, case.version, "desk", OFFICIAL)
    assert refused.value.reason == "FEE_UNPAID"
    assert app.head_position() == head
    apply(app, dossier.paid(app.clock.now()))
    returned = app.return_result(uuid4().hex, case.id, case.version, "desk", OFFICIAL)
    assert returned.returned_at is not None
    app.close()


def test_the_result_is_returned_once_the_invoice_is_cancelled(tmp_path):
    app, dossier, case = _processed_and_signed(tmp_path)
    apply(app, dossier.cancelled(app.clock.now()))
    assert app.return_result(uuid4().hex, case.id, case.version, "desk", OFFICIAL).returned_at is not None
    app.close()


def test_the_moved_due_time_is_published_for_intake_and_integrators(app):
    dossier = Dossier()
    apply(app, dossier.received(), dossier.issued(), dossier.paid(CALENDAR.add_working_time(START, DAY)))
    page = app.read_notifications(1, 50)
    types = [n["ce_type"] for n in page] if page and "ce_type" in page[0] else [str(n) for n in page]
    assert any("CaseClockResumedAfterPayment" in t for t in types)
