"""Receipts and the finance office's ledger on a private province (PostgreSQL): two payment processes
(two applications, as the gRPC edge and the callback edge are) paying at once take consecutive,
distinct numbers of one series; the cash close of a desk and the revenue by fee item are read from the
ledger written in the payments' transactions, and rebuild equal from payment's log."""
from __future__ import annotations

import threading
import uuid
from datetime import date

import pytest

from motcua_common.events.context import Actor
from motcua_common.province.working_calendar import VIETNAM_TZ

pytestmark = pytest.mark.integration

DESK = Actor(kind="official", subject="canbo01", role="one_stop_officer", unit="000.31.01.H45", client="test")
OTHER_DESK = Actor(kind="official", subject="canbo02", role="one_stop_officer", unit="000.31.01.H45", client="test")


@pytest.fixture
def apps(province):  # type: ignore[no-untyped-def]
    from motcua_intake.bootstrap import bootstrap as intake_bootstrap
    from motcua_intake.bootstrap import setup_schema as intake_schema
    from motcua_payment.bootstrap import bootstrap as payment_bootstrap
    from motcua_payment.bootstrap import intake_follower
    from motcua_payment.bootstrap import setup_schema as payment_schema

    settings = province.settings()
    intake_schema(settings)
    payment_schema(settings)
    intake = intake_bootstrap(settings)
    payment, other = payment_bootstrap(settings), payment_bootstrap(settings)
    yield intake, payment, other, intake_follower(payment, settings), settings
    for app in (intake, payment, other):
        app.close()


def invoiced(intake, payment, follower, procedure: str, count: int) -> list:  # type: ignore[no-untyped-def]
    from motcua_intake.application import ApplicantInput, SubmitDossier

    ids = []
    for _ in range(count):
        dossier = intake.submit_dossier(SubmitDossier(
            idempotency_key=uuid.uuid4().hex, procedure_code=procedure, channel="desk",
            applicant=ApplicantInput("Nguyễn Văn A", "045090012345", "", "", "", ""),
            components=[{"name": "Tờ khai", "sha256": "a" * 64, "size_bytes": 10, "media_type": "application/pdf",
                         "code": "TO_KHAI"}]), DESK)
        ids.append(uuid.UUID(str(dossier["id"])))
    follower.catch_up(lambda start, limit: intake.read_notifications(start, limit))
    return ids


def test_two_processes_paying_at_once_take_consecutive_distinct_numbers_and_the_ledger_adds_up(apps):
    from motcua_common.events.replay import Replayer
    from motcua_payment.bootstrap import replay_targets

    intake, payment, other, follower, settings = apps
    dossiers = invoiced(intake, payment, follower, "2.000884", 6)
    start = threading.Barrier(len(dossiers))
    numbers, errors = [], []

    def pay(app, actor, dossier_id) -> None:  # type: ignore[no-untyped-def]
        invoice = app.invoice_for_dossier(dossier_id)
        start.wait()
        try:
            paid = app.record_cash_payment(uuid.uuid4().hex, dossier_id, invoice["version"], invoice["total_vnd"],
                                           "QUAY", actor)
            numbers.append(paid["receipt"]["number"])
        except Exception as error:  # noqa: BLE001 - asserted below
            errors.append(error)

    threads = [threading.Thread(target=pay, args=(payment if i % 2 else other, DESK if i < 4 else OTHER_DESK, d))
               for i, d in enumerate(dossiers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert sorted(numbers) == list(range(1, 7))

    day = payment.invoice_for_dossier(dossiers[0])["receipt"]["issued_at"].astimezone(VIETNAM_TZ).date()
    unit = payment.cash_close("000.31.01.H45", "", day)
    assert (unit["count"], unit["total_vnd"]) == (6, 60_000)
    assert [(s["symbol"], s["first_number"], s["last_number"]) for s in unit["series"]] == [("1C26TQT", 1, 6)]
    mine = payment.cash_close("000.31.01.H45", "canbo02", day)
    assert (mine["count"], mine["total_vnd"]) == (2, 20_000)
    assert payment.cash_close("000.31.02.H45", "", day)["count"] == 0
    assert payment.cash_close("000.31.01.H45", "", date(2020, 1, 1))["count"] == 0

    payment.refund_payment("r1", dossiers[0], 4_000, "Thu thừa", DESK)
    revenue = payment.revenue("000.31.01.H45", day, day)
    assert [(line["kind"], line["item_code"], line["count"], line["amount_vnd"]) for line in revenue["items"]] == \
        [("le_phi", "LE_PHI_CHUNG_THUC_CHU_KY", 6, 60_000)]
    assert (revenue["le_phi_vnd"], revenue["phi_vnd"], revenue["refunded_vnd"]) == (60_000, 0, 4_000)
    assert payment.revenue("", day, day)["collected_vnd"] == 60_000
    assert payment.revenue("000.31.02.H45", day, day)["collected_vnd"] == 0

    for target in replay_targets(settings):
        assert Replayer(settings.postgres_conninfo(), target).run(check_only=True).equal, target.name
