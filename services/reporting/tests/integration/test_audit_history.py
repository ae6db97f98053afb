"""Reporting's audit use cases on real PostgreSQL: history across services in order, reads
recorded, state as of past instants, verification against the sources' own stores,
and a signed export the offline verifier accepts (and refuses once changed)."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest

from motcua_common.audit.export import verify_document
from motcua_common.errors import InvalidArgument, NotFound
from motcua_common.audit.log import audit_signer, audit_trust

from reporting_testkit import AUDITOR, OFFICIAL

pytestmark = pytest.mark.integration


@pytest.fixture
def processed(services):  # type: ignore[no-untyped-def]
    dossier = services.submit()
    services.process(dossier, pause=True)
    return services, dossier


def test_history_runs_from_intake_to_result_in_order_across_services(processed):
    services, dossier = processed
    rows = services.reporting.history(AUDITOR, "", dossier["code"], include_reads=False)
    types = [(r.service, r.event_type) for r in rows]
    assert types[:3] == [("intake", "Dossier.Received"), ("intake", "DossierCode.Assigned"), ("workflow", "Case.Opened")]
    assert rows[0].position < rows[1].position  # one command's events: in log order
    assert ("workflow", "Case.SupplementRequested") in types and ("workflow", "Case.Resumed") in types
    assert types[-1] == ("workflow", "Case.Processed")
    assert [r.recorded_at for r in rows] == sorted(r.recorded_at for r in rows)
    received = rows[0]
    assert received.actor["subject"] == OFFICIAL.subject
    assert "applicant" in received.data() and "Trần Thị Bích" not in json.dumps(received.data(), default=str)
    assert not any(r.event_type.startswith("IdempotencyRecord") for r in rows)


def test_every_read_of_a_dossier_is_history_too(processed):
    services, dossier = processed
    services.intake.record_read(OFFICIAL, dossier["id"], dossier["code"], "intake.GetDossier")
    services.reporting.history(AUDITOR, str(dossier["id"]), "", include_reads=False)
    services.settle()
    reads = [r for r in services.reporting.history(AUDITOR, str(dossier["id"]), "", include_reads=True) if r.is_read]
    assert [(r.service, r.data()["what"], r.actor["subject"]) for r in reads] == [
        ("intake", "intake.GetDossier", OFFICIAL.subject),
        ("reporting", "audit.StreamHistory", AUDITOR.subject),
    ]


def test_state_as_of_an_instant_is_what_was_true_then(processed):
    services, dossier = processed
    rows = services.reporting.history(AUDITOR, "", dossier["code"], include_reads=False)
    at = {r.event_type: r.recorded_at for r in rows}

    received = services.reporting.state_at(AUDITOR, "", dossier["code"], at["Dossier.Received"])
    assert (received.status, received.national_status, received.steps) == ("received", 2, [])

    paused = services.reporting.state_at(AUDITOR, "", dossier["code"], at["Case.SupplementRequested"])
    assert (paused.status, paused.national_status) == ("paused", 5)
    assert paused.steps[0]["status"] == "in_progress" and paused.classification == ""

    finished = services.reporting.state_at(AUDITOR, "", dossier["code"], at["Case.Processed"] + timedelta(days=1))
    assert (finished.status, finished.national_status) == ("processed", 9)
    assert finished.classification in {"early", "on_time"}
    assert all(s["status"] == "completed" and s["completed_by"] == OFFICIAL.subject for s in finished.steps)
    assert finished.due_at == services.workflow.get_case(dossier_id=dossier["id"]).due_at

    with pytest.raises(NotFound, match="no history yet"):
        services.reporting.state_at(AUDITOR, "", dossier["code"], rows[0].recorded_at - timedelta(seconds=1))


def test_an_untouched_history_verifies_against_every_source(processed):
    services, dossier = processed
    services.sign_checkpoints()
    result = services.reporting.verify(AUDITOR, "", dossier["code"])
    assert result["intact"] and result["first_broken_link"] is None
    assert {s["service"] for s in result["services"]} == {"intake", "workflow"}
    assert all(s["checkpoints_checked"] >= 1 and s["events_checked"] > 0 for s in result["services"])


def test_an_edited_source_row_fails_verification_at_that_event(processed, province):
    services, dossier = processed
    services.sign_checkpoints()
    case = services.workflow.get_case(dossier_id=dossier["id"])
    position = province.query("SELECT notification_id FROM workflow.workflow_events WHERE originator_id = %s "
                              "AND originator_version = 4", (case.id,))[0][0]
    province.query("UPDATE workflow.workflow_events SET state = convert_to(replace(convert_from(state, 'UTF8'), "
                   "'canbo03', 'canbo99'), 'UTF8') WHERE notification_id = %s RETURNING 1", (position,))
    result = services.reporting.verify(AUDITOR, "", dossier["code"])
    assert not result["intact"]
    broken = result["first_broken_link"]
    assert (broken["service"], broken["position"], broken["kind"]) == ("workflow", position, "changed")
    assert broken["originator_id"] == str(case.id) and broken["originator_version"] == 4


def test_the_signed_export_verifies_offline_and_a_changed_one_does_not(processed):
    services, dossier = processed
    services.sign_checkpoints()
    filename, document = services.reporting.export(AUDITOR, "", dossier["code"], include_reads=False)
    assert filename == f"lich-su-ho-so-{dossier['code']}.json"
    trust = audit_trust(services.settings)
    check = verify_document(document, trust)
    assert check.ok, check.problems
    assert check.events == len(json.loads(document)["payload"]["events"]) > 5
    assert json.loads(document)["payload"]["verification"]["intact"] is True

    tampered = json.loads(document)
    tampered["payload"]["events"][2]["actor"]["subject"] = "someone-else"
    assert any("signature" in p for p in verify_document(json.dumps(tampered).encode(), trust).problems)


def test_bad_references_get_clear_errors(services):
    with pytest.raises(InvalidArgument, match="dossier_id"):
        services.reporting.history(AUDITOR, "not-a-uuid", "", include_reads=False)
    with pytest.raises(InvalidArgument, match="give the dossier's id or its code"):
        services.reporting.history(AUDITOR, "", "", include_reads=False)
    with pytest.raises(NotFound, match="no history for dossier 'H45.99-000000-0001'"):
        services.reporting.history(AUDITOR, "", "H45.99-000000-0001", include_reads=False)


def test_the_replay_command_rebuilds_histories_shows_progress_and_checks_equality(processed, province, processes):
    """Reporting rebuilds from intake's, workflow's, payment's, notification's and evaluation's logs through
    their workers, never their tables."""
    import subprocess
    import sys
    from pathlib import Path

    from motcua_testkit.plugin import service_command, wait_until
    from nameko.standalone.rpc import ClusterRpcProxy

    services, dossier = processed
    for service in ("intake", "workflow", "payment", "notification", "evaluation"):
        processes.start(f"{service}-worker", service_command(service, "worker"))

    def answering() -> bool:
        try:
            with ClusterRpcProxy({"AMQP_URI": province.env["MOTCUA_AMQP_URI"]}, timeout=2) as cluster:
                return cluster.intake.head_position() > 0 and cluster.workflow.head_position() > 0 \
                    and cluster.payment.head_position() >= 0 and cluster.notification.head_position() > 0 \
                    and cluster.evaluation.head_position() >= 0
        except Exception:  # noqa: BLE001 - not up yet
            return False

    wait_until(answering, 60, "intake's, workflow's, payment's, notification's and evaluation's workers to answer",
               interval=0.5)
    # notification's worker queues the dossier's notices (no provider here: they stay queued); once its
    # log stops growing, reporting's live history takes them in like the rest
    heads: list[int] = []

    def notification_settled() -> bool:
        heads.append(services.notification.head_position())
        return len(heads) >= 3 and heads[-1] == heads[-2] == heads[-3]

    wait_until(notification_settled, 60, "notification to queue the dossier's notices", interval=1.0)
    services.settle()
    command = [str(Path(sys.executable).parent / "motcua-replay"), "rebuild", "reporting"]
    live = province.query("SELECT * FROM reporting.dossier_history ORDER BY service, originator_id, originator_version")
    province.query("DELETE FROM reporting.dossier_history WHERE event_type = 'Case.Processed' RETURNING 1")

    check = subprocess.run([*command, "--check"], env=province.env, capture_output=True, text=True, timeout=120)
    assert check.returncode == 1, check.stderr
    assert "DIFFERENT from the live table (1 rows only in the rebuild, 0 only in the live table)" in check.stdout

    rebuilt = subprocess.run(command, env=province.env, capture_output=True, text=True, timeout=120)
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert "reporting.dossier_history" in rebuilt.stderr and "ev" in rebuilt.stderr  # the progress bar
    assert "events/s" in rebuilt.stdout and "swapped in" in rebuilt.stdout
    assert province.query("SELECT * FROM reporting.dossier_history "
                          "ORDER BY service, originator_id, originator_version") == live
    again = subprocess.run([*command, "--check"], env=province.env, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0 and "equal to the live table" in again.stdout


class _Context:
    """What the servicer reads from a gRPC call context."""

    def invocation_metadata(self):  # type: ignore[no-untyped-def]
        return (("x-motcua-actor-kind", "official"), ("x-motcua-actor-subject", "thanhtra01"))


def test_a_long_history_streams_in_pages_in_order(services):
    from motcua.audit.v1 import audit_pb2 as pb
    from motcua_reporting.entrypoints.grpc_server import STREAM_PAGE, AuditServicer

    dossier = services.submit()
    for _ in range(STREAM_PAGE + 20):
        services.intake.record_read(OFFICIAL, dossier["id"], dossier["code"], "intake.GetDossier")
    services.settle()
    from motcua_common.edge.access import serving_as
    from motcua_common.identity.authorisation import Principal

    with serving_as(Principal(kind="official", subject="thanhtra01", roles=frozenset({"inspector"}))):
        pages = list(AuditServicer(services.reporting).StreamHistory(
            pb.StreamHistoryRequest(dossier_code=dossier["code"], include_reads=True), _Context()))
    events = [e for page in pages for e in page.events]
    assert len(pages) == 2 and len(pages[0].events) == STREAM_PAGE
    # (the reads recorded by these two calls reach the history only when reporting follows its own log)
    assert len(events) == len(services.reporting.history(AUDITOR, "", dossier["code"], include_reads=True))
    assert [e.recorded_at.ToDatetime() for e in events] == sorted(e.recorded_at.ToDatetime() for e in events)


def test_payments_events_are_in_the_history_with_their_actors_and_verify_against_payment(services):
    dossier = services.submit("2.000884")  # a fee due before processing (fees.yaml)
    invoice = services.payment.invoice_of(dossier["id"])
    services.payment.record_cash_payment("pay-1", dossier["id"], invoice["version"], invoice["total_vnd"], "BL-0001",
                                         OFFICIAL)
    services.settle()
    rows = services.reporting.history(AUDITOR, "", dossier["code"], include_reads=False)
    payment = [(r.event_type, r.actor.get("subject") or r.actor.get("kind")) for r in rows if r.service == "payment"]
    assert ("Invoice.Issued", "payment.consumer") in payment and ("Invoice.Paid", OFFICIAL.subject) in payment
    workflow = [r.event_type for r in rows if r.service == "workflow"]
    assert workflow[-2:] == ["Case.ClockStoppedForPayment", "Case.ClockResumedAfterPayment"]
    services.sign_checkpoints()
    result = services.reporting.verify(AUDITOR, "", dossier["code"])
    assert result["intact"] and "payment" in {s["service"] for s in result["services"]}
