"""National status 6 from payment's published events (policies.PaymentPolicies): while payment says
the applicant must pay before processing, GetDossier shows 6 ("financial obligation requested");
once paid or cancelled, the dossier's own status again. In memory: the policy's statements applied
to an in-memory standing, read by the application."""
from __future__ import annotations

from datetime import datetime, timezone
from uuid import uuid4

import pytest
from google.protobuf.message import Message

from motcua.payment.events.v1 import events_pb2 as payment_events
from motcua_common.config.clock import FixedClock
from motcua_common.events.consumer import UnitOfWork
from motcua_common.events.in_memory import in_memory_env
from motcua_common.events.published import PublishedEvent
from motcua_common.province.working_calendar import WorkingCalendar
from motcua_testkit.plugin import DEMO_DATA

from motcua_intake.adapters.catalogue_file import load_catalogue
from motcua_intake.application import IntakeApplication
from motcua_intake.policies import PaymentPolicies
from motcua_intake.application import DossierQuery
from intake_memory import InMemoryDossierIndex, InMemoryNumbering, InMemoryPaymentStanding, InMemoryVault
from intake_testkit import OFFICIAL, command

NOW = datetime(2026, 11, 23, 1, 0, tzinfo=timezone.utc)


@pytest.fixture
def world():
    catalogue, code_format = load_catalogue(DEMO_DATA / "catalogue.yaml")
    standing = InMemoryPaymentStanding()
    app = IntakeApplication(env=in_memory_env(), province="test", clock=FixedClock(NOW), catalogue=catalogue,
                            calendar_for=lambda group: WorkingCalendar.from_data({}), numbering=InMemoryNumbering(),
                            vault=InMemoryVault(), code_format=code_format, render_receipt=lambda *a: b"",
                            payment_standing=standing, index=InMemoryDossierIndex(standing))
    yield app, standing
    app.close()


def published(dossier_id, position: int, message: Message) -> PublishedEvent:  # type: ignore[no-untyped-def]
    return PublishedEvent(upstream="payment", id=uuid4().hex, source="payment", type=message.DESCRIPTOR.full_name,
                          time=NOW, subject=str(dossier_id), position=position, previous_position=position - 1,
                          actor={}, causation="", traceparent="", dossier_code="", stored_hash="", occurred_at=NOW,
                          data=message.SerializeToString())


def follow(app: IntakeApplication, standing: InMemoryPaymentStanding, *events: PublishedEvent) -> None:
    policy = PaymentPolicies("upsert")
    work = UnitOfWork(app)
    for event in events:
        if event.type in policy.handles:
            policy(event, work)
    standing.apply(work.statements)


def issued(due: str) -> payment_events.InvoiceIssued:
    return payment_events.InvoiceIssued(invoice_id=uuid4().hex, total_vnd=10_000, due=due)


def test_a_dossier_awaiting_payment_before_processing_shows_6_until_paid(world):
    app, standing = world
    dossier = app.submit_dossier(command(), OFFICIAL)
    received = app.get_dossier(dossier["id"])["national_status"]
    assert received == 2
    follow(app, standing, published(dossier["id"], 1, issued("before_processing")))
    assert app.get_dossier(dossier["id"])["national_status"] == 6
    follow(app, standing, published(dossier["id"], 2, payment_events.InvoicePaymentFailed(error_code="24")))
    assert app.get_dossier(dossier["id"])["national_status"] == 6, "a failed attempt leaves it owed"
    follow(app, standing, published(dossier["id"], 3, payment_events.InvoicePaid(method="gateway", amount_vnd=10_000)))
    assert app.get_dossier(dossier["id"])["national_status"] == received


def test_a_fee_due_before_the_result_does_not_hold_processing(world):
    app, standing = world
    dossier = app.submit_dossier(command(), OFFICIAL)
    follow(app, standing, published(dossier["id"], 1, issued("before_result")))
    assert app.get_dossier(dossier["id"])["national_status"] == 2


def test_a_cancelled_invoice_is_owed_no_more(world):
    app, standing = world
    dossier = app.submit_dossier(command(), OFFICIAL)
    follow(app, standing, published(dossier["id"], 1, issued("before_processing")),
           published(dossier["id"], 2, payment_events.InvoiceCancelled(reason="rút hồ sơ")))
    assert app.get_dossier(dossier["id"])["national_status"] == 2


def test_an_older_event_told_again_does_not_undo_a_later_one(world):
    app, standing = world
    dossier = app.submit_dossier(command(), OFFICIAL)
    follow(app, standing, published(dossier["id"], 1, issued("before_processing")),
           published(dossier["id"], 2, payment_events.InvoicePaid(method="cash", amount_vnd=10_000)))
    follow(app, standing, published(dossier["id"], 1, issued("before_processing")))
    assert app.get_dossier(dossier["id"])["national_status"] == 2


def test_a_withdrawal_or_a_stop_is_shown_over_an_unpaid_fee(world):
    app, standing = world
    dossier = app.submit_dossier(command(), OFFICIAL)
    follow(app, standing, published(dossier["id"], 1, issued("before_processing")))
    assert app._awaiting_payment_status(dossier["id"], 8) == 8
    assert app._awaiting_payment_status(dossier["id"], 7) == 7


def searched_status(app: IntakeApplication, dossier: dict, national_status: int = 0) -> list[int]:
    rows, _ = app.search_dossiers(DossierQuery(dossier_code=dossier["code"], national_status=national_status))
    return [r["national_status"] for r in rows]


def test_search_shows_and_finds_6_while_the_fee_before_processing_is_unpaid(world):
    app, standing = world
    dossier = app.submit_dossier(command(), OFFICIAL)
    follow(app, standing, published(dossier["id"], 1, issued("before_processing")))
    assert searched_status(app, dossier) == [6]
    assert searched_status(app, dossier, national_status=6) == [6]
    assert searched_status(app, dossier, national_status=2) == []
    follow(app, standing, published(dossier["id"], 2, payment_events.InvoicePaid(method="cash", amount_vnd=10_000)))
    assert searched_status(app, dossier) == [2]
    assert searched_status(app, dossier, national_status=6) == []


def test_search_and_get_dossier_apply_one_rule():
    from motcua_intake.domain.payment_status import shown_status

    assert [shown_status(s, True) for s in range(1, 11)] == [1, 6, 3, 6, 5, 6, 7, 8, 9, 10]
    assert [shown_status(s, False) for s in range(1, 11)] == list(range(1, 11))


@pytest.mark.parametrize("method, flag", [("gateway", 1), ("gateway", 2), ("cash", 0)])
def test_get_dossier_says_how_the_fee_was_paid_as_the_national_portal_counts_it(world, method, flag):
    from motcua_intake.adapters.proto import dossier_to_proto

    app, standing = world
    dossier = app.submit_dossier(command(), OFFICIAL)
    follow(app, standing, published(dossier["id"], 1, issued("before_result")))
    assert app.get_dossier(dossier["id"])["payment_online_flag"] is None
    assert not dossier_to_proto(app.get_dossier(dossier["id"])).HasField("payment_online_flag")
    follow(app, standing, published(dossier["id"], 2, payment_events.InvoicePaid(method=method, amount_vnd=10_000,
                                                                                 online_flag=flag)))
    shown = dossier_to_proto(app.get_dossier(dossier["id"]))
    assert shown.HasField("payment_online_flag") and shown.payment_online_flag == flag


def test_a_cancelled_invoice_leaves_no_payment_flag(world):
    app, standing = world
    dossier = app.submit_dossier(command(), OFFICIAL)
    follow(app, standing, published(dossier["id"], 1, issued("before_processing")),
           published(dossier["id"], 2, payment_events.InvoiceCancelled(reason="rút hồ sơ")))
    assert app.get_dossier(dossier["id"])["payment_online_flag"] is None
