"""A fee due before processing stops the case's clock in the running platform (issue #12): a dossier
received at the desk after office hours for a procedure whose fee is due before processing (catalogue.yaml:
the clock stops while unpaid, by default) shows national status 6 while its case's clock stands still;
the desk takes the cash one working day later, and the case's due time (and intake's appointment)
moves by exactly that working day. The dossier then says it was paid at the desk (online flag 0), and
its audit history holds payment's events with their actors and workflow's clock events.
Everything between the services travels as published events (no RPC chains)."""
from __future__ import annotations

import uuid
from datetime import datetime, time, timedelta

import pytest

from motcua.audit.v1 import audit_pb2 as apb
from motcua.intake.v1 import intake_pb2 as ipb
from motcua.payment.v1 import payment_pb2 as ppb
from motcua.workflow.v1 import workflow_pb2 as wpb
from motcua_testkit.plugin import wait_until

from e2e_testkit import submit_request, wait_for_case

pytestmark = pytest.mark.e2e
# The settable clock, read afresh by every process, so the test can move time and act at once.
PLATFORM_ENV = {"MOTCUA_CLOCK": "settable", "MOTCUA_CLOCK_TTL_SECONDS": "0"}
SIGNATURE = "2.000884"  # chứng thực chữ ký: 10.000 đồng due before processing (catalogue.yaml)


@pytest.fixture(scope="module")
def clock(platform, module_province):  # type: ignore[no-untyped-def]
    from motcua_common.config.clock import SettableClock

    return SettableClock(module_province.conninfo, ttl=0)


def province_calendar():  # type: ignore[no-untyped-def]
    import yaml

    from motcua_common.province.working_calendar import WorkingCalendar
    from motcua_testkit.plugin import DEMO_DATA

    return WorkingCalendar.from_data(yaml.safe_load((DEMO_DATA / "calendar.yaml").read_text(encoding="utf-8")))


def next_working_evening(after: datetime, calendar) -> datetime:  # type: ignore[no-untyped-def]
    """18:00 (after office hours), Vietnam time, on the first working day whose evening is after `after`."""
    from motcua_common.province.working_calendar import VIETNAM_TZ

    day = after.astimezone(VIETNAM_TZ).date()
    while True:
        evening = datetime.combine(day, time(18, 0), tzinfo=VIETNAM_TZ)
        if evening > after + timedelta(minutes=1) and calendar.is_working_day(day):
            return evening
        day += timedelta(days=1)


def searched_status(intake, code: str) -> list[int]:  # type: ignore[no-untyped-def]
    return [d.national_status for d in intake.SearchDossiers(ipb.SearchDossiersRequest(dossier_code=code)).dossiers]


def history(audit, code: str) -> list[apb.HistoryEvent]:  # type: ignore[no-untyped-def]
    return [e for r in audit.StreamHistory(apb.StreamHistoryRequest(dossier_code=code)) for e in r.events]


def test_the_case_clock_stands_still_until_the_fee_is_paid_and_the_history_shows_it(intake, workflow, audit,
                                                                                    as_user, clock):
    from motcua_common.province.working_calendar import VIETNAM_TZ

    calendar = province_calendar()
    received_at = next_working_evening(clock.now(), calendar)
    clock.set(received_at)
    dossier = intake.SubmitDossier(submit_request(procedure_code=SIGNATURE)).dossier
    case = wait_for_case(workflow, dossier.id)
    wait_until(lambda: intake.GetDossier(ipb.GetDossierRequest(dossier_id=dossier.id)).dossier.national_status == 6,
               20, "intake to show the fee awaited (6)")
    wait_until(lambda: "Case.ClockStoppedForPayment" in [e.event_type for e in history(audit, dossier.code)], 20,
               "workflow to stop the case's clock (as reporting's history shows)")
    assert not intake.GetDossier(ipb.GetDossierRequest(dossier_id=dossier.id)).dossier.HasField("payment_online_flag")
    assert searched_status(intake, dossier.code) == [6], "SearchDossiers shows 6 as GetDossier does"

    paid_at = next_working_evening(received_at, calendar)  # one whole working day later
    clock.set(paid_at)
    desk = as_user("canbo01", "payment")
    invoice = desk.GetInvoice(ppb.GetInvoiceRequest(dossier_id=dossier.id)).invoice
    desk.RecordCashPayment(ppb.RecordCashPaymentRequest(
        idempotency_key=uuid.uuid4().hex, dossier_id=dossier.id, expected_version=invoice.version,
        amount_vnd=invoice.total_vnd, receipt_number="BL-0000777"))

    stood_still = calendar.working_time_between(received_at, paid_at)
    assert stood_still == timedelta(hours=8)
    old_due = case.due_at.ToDatetime(tzinfo=VIETNAM_TZ)
    moved = calendar.add_working_time(old_due, stood_still)

    def resumed() -> wpb.Case | None:
        now = workflow.GetCase(wpb.GetCaseRequest(dossier_id=dossier.id)).case
        return now if now.due_at != case.due_at else None

    after = wait_until(resumed, 20, "workflow to restart the clock on InvoicePaid")
    assert after.due_at.ToDatetime(tzinfo=VIETNAM_TZ) == moved
    assert after.committed_due_at == after.due_at and after.status == wpb.CASE_STATUS_IN_PROGRESS

    def shown() -> ipb.Dossier | None:
        d = intake.GetDossier(ipb.GetDossierRequest(dossier_id=dossier.id)).dossier
        return d if d.national_status != 6 and d.appointment_at == after.due_at else None

    shown_dossier = wait_until(shown, 20, "intake to show the dossier's own status and the moved appointment")
    assert shown_dossier.HasField("payment_online_flag") and shown_dossier.payment_online_flag == 0  # at the desk
    assert searched_status(intake, dossier.code) != [6]

    def payment_history() -> list[tuple[str, str, str]] | None:
        rows = [(e.service, e.event_type, e.actor.subject or e.actor.kind) for e in history(audit, dossier.code)]
        return rows if ("workflow", "Case.ClockResumedAfterPayment", "workflow.consumer") in rows else None

    rows = wait_until(payment_history, 20, "reporting to follow payment's and workflow's events")
    assert ("payment", "Invoice.Issued", "payment.consumer") in rows
    assert ("payment", "Invoice.Paid", "canbo01") in rows
    assert ("workflow", "Case.ClockStoppedForPayment", "workflow.consumer") in rows
