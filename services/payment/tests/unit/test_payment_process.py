"""Payment as a process, in memory: intake's DossierReceived issues one invoice when the procedure's
schedule of the day charges something (with the unit and applicant the edge decides on); cash at the
desk is recorded once per idempotency key at the version read; the published events carry it."""
from __future__ import annotations

from datetime import date, datetime, timezone
from uuid import UUID, uuid4

import pytest

from motcua.intake.events.v1 import events_pb2 as intake_events
from motcua.payment.events.v1 import events_pb2 as payment_events
from motcua_common.config.clock import FixedClock
from motcua_common.errors import Conflict, InvalidArgument, NotFound, RuleViolated
from motcua_common.events.consumer import UnitOfWork
from motcua_common.events.context import Actor, CommandContext, command_context, concerning
from motcua_common.events.in_memory import in_memory_env, own_log
from motcua_common.events.published import PublishedEvent, timestamp

from motcua_testkit.fees import received_fee_fields

from motcua_payment.adapters.paygov import PayGovConfig
from motcua_payment.adapters.published import publication
from motcua_payment.application import PaymentApplication
from motcua_payment.domain.fees import FeeBook, FeeItem, FeeSchedule
from motcua_payment.domain.vietqr import Beneficiary, field, parse
from motcua_payment.policies import IntakePolicies

NOW = datetime(2026, 12, 1, 2, 0, tzinfo=timezone.utc)
DESK = Actor(kind="official", subject="canbo01", role="one_stop_officer", unit="000.31.01.H45")
SCHEDULES = {s.procedure_code: s for s in [
    FeeSchedule("2.000884", "Chứng thực", date(2017, 1, 1), "before_processing", "UBND xã",
                (FeeItem("LE_PHI", "le_phi", "Lệ phí chứng thực chữ ký", 10_000, "TT 226/2016"),))]}
BOOK = FeeBook([])
GATEWAY = PayGovConfig("https://pay.example/pay", "PARTNER", "ACCESS", "s3cret")


@pytest.fixture
def app():
    app = PaymentApplication(env=in_memory_env(), province="test", clock=FixedClock(NOW), gateway=GATEWAY,
                             beneficiary=Beneficiary("970436", "0011001234567"), return_url="https://dvc.example/paid")
    yield app
    app.close()


def received(procedure: str = "2.000884", position: int = 1, schedules: dict | None = None) -> PublishedEvent:
    dossier_id = uuid4()
    message = intake_events.DossierReceived(
        dossier_id=str(dossier_id), code=f"000.31.01.H45-261201-{position:04d}", procedure_code=procedure,
        receiving_agency_code="000.31.01.H45", handling_unit_code="000.31.01.H45", channel="desk",
        applicant=intake_events.Applicant(subject_id="subject-1", kind="citizen"), received_at=timestamp(NOW),
        **received_fee_fields((SCHEDULES if schedules is None else schedules).get(procedure)))
    return PublishedEvent("intake", f"intake:{dossier_id}:1", "motcua/test/intake",
                          message.DESCRIPTOR.full_name, NOW, str(dossier_id), position, position - 1, {}, "", "",
                          message.code, "", NOW, message.SerializeToString())


def apply(app: PaymentApplication, event: PublishedEvent) -> None:
    work = UnitOfWork(app)
    with command_context(CommandContext(actor=Actor.system("payment.consumer"), province="test",
                                        clock=app.clock)), \
            concerning(UUID(event.subject), causation_id=event.ref, dossier_code=event.dossier_code):
        IntakePolicies("test", BOOK)(event, work)
    app.record(*work.aggregates)


def test_a_received_dossier_that_owes_fees_gets_one_invoice_with_its_unit_and_applicant(app):
    event = received()
    apply(app, event)
    invoice = app.invoice_of(UUID(event.message(intake_events.DossierReceived).dossier_id))
    assert (invoice["total_vnd"], invoice["status"], invoice["due"]) == (10_000, "issued", "before_processing")
    assert (invoice["unit_code"], invoice["applicant"]) == ("000.31.01.H45", "subject-1")
    assert [e.name for e in own_log(app)] == ["Invoice.Issued", "OrderReference.Assigned"]


def test_a_procedure_without_a_fee_issues_nothing(app):
    apply(app, received("1.004873"))
    assert own_log(app) == []


def _issued(app: PaymentApplication) -> UUID:
    event = received()
    apply(app, event)
    return UUID(event.message(intake_events.DossierReceived).dossier_id)


def test_cash_is_recorded_once_per_key_and_only_at_the_version_read(app):
    dossier_id = _issued(app)
    version = app.invoice_for_dossier(dossier_id)["version"]
    stored = len(own_log(app))
    with pytest.raises(Conflict):
        app.record_cash_payment("k1", dossier_id, version + 1, 10_000, "BL-1", DESK)
    with pytest.raises(InvalidArgument):
        app.record_cash_payment("k1", dossier_id, 0, 10_000, "BL-1", DESK)
    with pytest.raises(RuleViolated):
        app.record_cash_payment("k1", dossier_id, version, 9_000, "BL-1", DESK)
    assert len(own_log(app)) == stored, "a refused command stores nothing"

    paid = app.record_cash_payment("k1", dossier_id, version, 10_000, "BL-1", DESK)
    assert paid == app.record_cash_payment("k1", dossier_id, version, 10_000, "BL-1", DESK)
    assert paid["status"] == "paid" and paid["payment"]["reference"] == "BL-1" and paid["version"] == version + 1
    assert [e.name for e in own_log(app)[stored:]] == ["Invoice.Paid", "IdempotencyRecord.Recorded"]
    with pytest.raises(RuleViolated):  # the same key for another request
        app.record_cash_payment("k1", dossier_id, version, 10_000, "BL-2", DESK)
    with pytest.raises(RuleViolated):  # a second, different payment
        app.record_cash_payment("k2", dossier_id, paid["version"], 10_000, "BL-2", DESK)
    with pytest.raises(NotFound):
        app.record_cash_payment("k3", uuid4(), 1, 10_000, "BL-3", DESK)


def test_a_gateway_payment_starts_with_the_redirect_url_and_the_vietqr_payload_of_the_invoice(app):
    dossier_id = _issued(app)
    started = app.start_gateway_payment(dossier_id)
    invoice = app.invoice_for_dossier(dossier_id)
    assert started["order_id"] == invoice["order_id"] and started["amount_vnd"] == 10_000
    assert started["redirect_url"].startswith("https://pay.example/pay?") and "amount=10000" in started["redirect_url"]
    fields = parse(started["vietqr_payload"])
    assert field(fields, "54") == "10000" and field(fields, "62.01") == invoice["order_id"]
    app.record_cash_payment("k1", dossier_id, invoice["version"], 10_000, "BL-1", DESK)
    with pytest.raises(RuleViolated):
        app.start_gateway_payment(dossier_id)


def test_payment_publishes_its_invoice_events(app):
    dossier_id = _issued(app)
    app.record_cash_payment("k1", dossier_id, 1, 10_000, "BL-1", DESK)
    events = publication().page(app, 1, 100)
    assert [e.type for e in events] == ["motcua.payment.events.v1.InvoiceIssued", "motcua.payment.events.v1.InvoicePaid"]
    issued = events[0].message(payment_events.InvoiceIssued)
    paid = events[1].message(payment_events.InvoicePaid)
    assert (issued.dossier_id, issued.total_vnd) == (str(dossier_id), 10_000)
    assert (paid.method, paid.amount_vnd, paid.reference, paid.online_flag) == ("cash", 10_000, "BL-1", 0)


def test_the_invoice_says_whether_its_procedure_stops_the_clock_until_paid(app):
    import dataclasses

    stopping = {code: dataclasses.replace(s, clock_stops_while_unpaid=True) for code, s in SCHEDULES.items()}
    event = received(schedules=stopping)
    work = UnitOfWork(app)
    with command_context(CommandContext(actor=Actor.system("payment.consumer"), province="test", clock=app.clock)), \
            concerning(UUID(event.subject), causation_id=event.ref, dossier_code=event.dossier_code):
        IntakePolicies("test", BOOK)(event, work)
    app.record(*work.aggregates)
    issued = publication().page(app, 1, 100)[0].message(payment_events.InvoiceIssued)
    assert issued.clock_stops_while_unpaid and issued.due == "before_processing"


def test_an_invoice_stored_before_the_flag_stops_the_clock_when_due_before_processing():
    import json
    from pathlib import Path

    from eventsourcing.persistence import StoredEvent
    from motcua_common.events.store import ChainingMapper, make_transcoder
    from motcua_payment.domain.invoice import Invoice

    data = json.loads((Path(__file__).parents[1] / "stored_events" / "Invoice.Issued.v2.json").read_text("utf-8"))
    event = ChainingMapper(transcoder=make_transcoder()).to_domain_event(StoredEvent(
        UUID(int=1), 2, data["topic"], json.dumps(data["stored_state"]).encode()))
    assert isinstance(event, Invoice.Issued) and event.due == "before_processing"
    assert event.clock_stops_while_unpaid is True


# -- the schedule comes with the event (the catalogue's, of the day the dossier was received) ---------
def test_a_dossier_received_before_a_new_schedule_is_charged_by_the_old_one_it_was_published_with(app):
    import dataclasses

    old = SCHEDULES["2.000884"]
    new = dataclasses.replace(old, effective_from=date(2026, 12, 1),
                              items=(dataclasses.replace(old.items[0], amount_vnd=25_000),))
    # Received on 30 Nov with the old schedule (what intake published), applied on 2 Dec: the old amount.
    event = received(schedules={"2.000884": old})
    later = received(position=2, schedules={"2.000884": new})
    apply(app, event)
    apply(app, later)
    totals = [app.invoice_of(UUID(e.message(intake_events.DossierReceived).dossier_id))["total_vnd"]
              for e in (event, later)]
    assert totals == [10_000, 25_000]


def test_a_dossier_received_before_schedules_were_published_is_charged_nothing(app):
    message = intake_events.DossierReceived(dossier_id=str(uuid4()), code="X-1", procedure_code="2.000884",
                                            channel="desk", received_at=timestamp(NOW))
    event = PublishedEvent("intake", "intake:x:1", "motcua/test/intake", message.DESCRIPTOR.full_name, NOW,
                           message.dossier_id, 1, 0, {}, "", "", message.code, "", NOW, message.SerializeToString())
    apply(app, event)
    assert own_log(app) == []


def test_the_invoice_keeps_the_published_refund_rule_for_a_later_ending(app):
    import dataclasses

    from motcua_payment.policies import end_invoice

    schedule = dataclasses.replace(SCHEDULES["2.000884"], refund_on={"withdrawn": "none"})
    event = received(schedules={"2.000884": schedule})
    apply(app, event)
    dossier_id = UUID(event.message(intake_events.DossierReceived).dossier_id)
    invoice = app.invoice_of(dossier_id)
    app.record_cash_payment(uuid4().hex, dossier_id, invoice["version"], 10_000, "BL-1", DESK)
    work = UnitOfWork(app)
    with command_context(CommandContext(actor=Actor.system("payment.consumer"), province="test", clock=app.clock)), \
            concerning(dossier_id, causation_id="x", dossier_code=""):
        end_invoice("test", BOOK, work, dossier_id, "withdrawn", NOW, "Hồ sơ đã được rút", event)
    app.record(*work.aggregates)
    assert app.invoice_of(dossier_id)["refunds"] in ([], {})
