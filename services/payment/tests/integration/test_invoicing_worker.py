"""Payment's worker on a private province (PostgreSQL): intake's DossierReceived issues one invoice per
dossier that owes fees, however often the event is delivered or the log pulled again; the invoice
summaries (unit, applicant: what the edge decides on) are written with the events and rebuild equal."""
from __future__ import annotations

import uuid

import pytest

from motcua_common.events.context import Actor
from motcua_common.events.published import wire_position

pytestmark = pytest.mark.integration

DESK = Actor(kind="official", subject="canbo01", role="one_stop_officer", unit="000.31.01.H45", client="test")


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
    payment = payment_bootstrap(settings)
    yield intake, payment, intake_follower(payment, settings), settings
    intake.close()
    payment.close()


def submit(intake, procedure: str) -> dict:  # type: ignore[no-untyped-def]
    from motcua_intake.application import ApplicantInput, SubmitDossier

    return intake.submit_dossier(SubmitDossier(
        idempotency_key=uuid.uuid4().hex, procedure_code=procedure, channel="desk",
        applicant=ApplicantInput("Nguyễn Văn A", "045090012345", "", "", "", ""),
        components=[{"name": "Tờ khai", "sha256": "a" * 64, "size_bytes": 10, "media_type": "application/pdf",
                     "code": "TO_KHAI"}]), DESK)


def issued(payment) -> list[str]:  # type: ignore[no-untyped-def]
    return [str(payment.decode(n).dossier_id) for n in payment.recorder.select_notifications(start=1, limit=1000)
            if n.topic.endswith(":Invoice.Issued")]


def test_each_received_dossier_that_owes_fees_gets_one_invoice_however_often_it_is_delivered(apps):
    from motcua_common.events.replay import Replayer
    from motcua_payment.bootstrap import replay_targets

    intake, payment, follower, settings = apps
    charged = [submit(intake, "2.000884"), submit(intake, "2.000815")]
    free = submit(intake, "1.004873")
    read = lambda start, limit: intake.read_notifications(start, limit)  # noqa: E731

    follower.catch_up(read)
    wires = intake.read_notifications(1, 1000)
    for wire in wires:  # every event delivered again, as the broker may
        follower.on_push(wire, read)
    follower.catch_up(read)

    assert sorted(issued(payment)) == sorted(str(d["id"]) for d in charged)
    assert follower.position() == wire_position(wires[-1])
    signature = payment.invoice_of(dossier_code=charged[0]["code"])
    assert (signature["total_vnd"], signature["unit_code"]) == (10_000, "000.31.01.H45")
    assert payment.invoice_of(charged[1]["id"])["total_vnd"] == 2_000 + 1_000  # two page tiers, one of each
    row = payment.access_target(dossier_code=charged[0]["code"])
    assert (row["unit_code"], row["applicant"], row["status"]) == ("000.31.01.H45", signature["applicant"], "issued")
    assert signature["applicant"]  # the applicant's subject id, as intake publishes it
    assert payment.access_target(dossier_id=free["id"]) is None

    payment.record_cash_payment("k1", charged[0]["id"], signature["version"], 10_000, "BL-1", DESK)
    assert payment.access_target(dossier_id=charged[0]["id"])["status"] == "paid"
    assert Replayer(settings.postgres_conninfo(), replay_targets(settings)[0]).run(check_only=True).equal
