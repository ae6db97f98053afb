"""Invariants 1 and 2 under faults, intake -> workflow, with real processes, PostgreSQL and RabbitMQ.

Every test checks that its fault really happened (a process killed with work
outstanding, the broker refused and reconnected, the database restarted and
refused some submissions), then that every acknowledged dossier has exactly one case.
"""
from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
import uuid

import psycopg
import pytest

from motcua_testkit.plugin import rabbitmqctl, service_command, wait_until

from workflow_testkit import OFFICIAL, case_counts, dossier_ids, submit_dossiers

pytestmark = pytest.mark.integration

PLATFORM = [("intake", "worker"), ("workflow", "worker"), ("intake", "relay")]


def start(processes, parts=PLATFORM):  # type: ignore[no-untyped-def]
    for service, kind in parts:
        processes.start(f"{service}-{kind}", service_command(service, kind))


def relay_position(province) -> int:  # type: ignore[no-untyped-def]
    rows = province.query("SELECT position FROM intake.relay_position WHERE relay = 'intake-relay'")
    return rows[0][0] if rows else 0


def tracked_position(province) -> int:  # type: ignore[no-untyped-def]
    rows = province.query("SELECT notification_id FROM workflow.workflow_tracking WHERE application_name = 'intake'")
    return rows[0][0] if rows else 0


def every_dossier_has_one_case(intake, workflow) -> bool:  # type: ignore[no-untyped-def]
    counts = case_counts(workflow)
    return set(counts) == dossier_ids(intake) and set(counts.values()) <= {1}


class BackgroundSubmitter(threading.Thread):
    """Submits dossiers one after another; a failed submission is retried with the same key."""

    def __init__(self, intake, count: int) -> None:  # type: ignore[no-untyped-def]
        super().__init__(daemon=True)
        self.intake, self.count = intake, count
        self.acknowledged: list[dict] = []
        self.failures = 0

    def run(self) -> None:
        from motcua_intake.application import ApplicantInput, SubmitDossier

        for i in range(self.count):
            command = SubmitDossier(
                idempotency_key=uuid.uuid4().hex, procedure_code="1.004194", channel="online",
                applicant=ApplicantInput(f"Trần Thị {i}", f"0451950{i:05d}", "", "", "", ""), components=[])
            deadline = time.monotonic() + 90
            while True:
                try:
                    self.acknowledged.append(self.intake.submit_dossier(command, OFFICIAL))
                    break
                except Exception:
                    self.failures += 1
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.2)


def kill_mid_stream_and_restart(intake, processes, name: str, position) -> None:  # type: ignore[no-untyped-def]
    """Kill -9 `name` while submissions run and it has events left, then start it again."""
    service, kind = name.split("-")
    submitter = BackgroundSubmitter(intake, 400)
    submitter.start()
    wait_until(lambda: position() > 0, 60, f"{name} to make progress")
    code = processes.kill9(name)
    at_kill = position()
    submitter.join(120)
    assert code == -9
    assert at_kill < intake.head_position(), f"{name} must die with events left to handle"
    processes.start(name, service_command(service, kind))


def test_relay_killed_mid_stream_then_restarted_loses_and_duplicates_nothing(apps, province, processes):
    intake, workflow, _, _ = apps
    start(processes)
    kill_mid_stream_and_restart(intake, processes, "intake-relay", lambda: relay_position(province))
    wait_until(lambda: relay_position(province) == intake.head_position(), 60, "the restarted relay to catch up")
    wait_until(lambda: every_dossier_has_one_case(intake, workflow), 60, "a case for every dossier")
    assert len(case_counts(workflow)) == 400


def test_consumer_killed_mid_stream_then_restarted_loses_and_duplicates_nothing(apps, province, processes):
    intake, workflow, _, _ = apps
    start(processes)
    kill_mid_stream_and_restart(intake, processes, "workflow-worker", lambda: tracked_position(province))
    wait_until(lambda: every_dossier_has_one_case(intake, workflow) and len(case_counts(workflow)) == 400,
               90, "a case for every dossier after the restart")
    assert tracked_position(province) == intake.publication.last_position(intake)


def test_broker_stopped_during_submissions_then_started_loses_and_duplicates_nothing(apps, province, processes):
    intake, workflow, _, _ = apps
    start(processes)
    submit_dossiers(intake, 20)
    wait_until(lambda: every_dossier_has_one_case(intake, workflow), 60, "cases before the outage")

    rabbitmqctl("stop_app")
    try:
        submit_dossiers(intake, 40)  # intake accepts dossiers while the broker is down
        wait_until(lambda: processes.saw("intake-relay", "broker_unavailable"), 60, "the relay to notice the outage")
    finally:
        rabbitmqctl("start_app")
        rabbitmqctl("await_startup")

    wait_until(lambda: processes.saw("intake-relay", "broker_reconnected"), 60, "the relay to reconnect")
    wait_until(lambda: every_dossier_has_one_case(intake, workflow) and len(case_counts(workflow)) == 60,
               120, "a case for every dossier after the outage")
    assert relay_position(province) == intake.head_position()


def _postmaster_started(province) -> object:  # type: ignore[no-untyped-def]
    return province.query("SELECT pg_postmaster_start_time()")[0][0]


def _restart_postgres() -> None:
    version = sorted(os.listdir("/etc/postgresql"))[-1]
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    subprocess.run([*sudo, "pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "restart", "-m", "fast"],
                   check=True, timeout=120)


def test_database_restarted_during_submissions_loses_nothing_acknowledged(apps, province, processes):
    intake, workflow, _, _ = apps
    start(processes)
    before = _postmaster_started(province)
    submitter = BackgroundSubmitter(intake, 600)
    submitter.start()
    wait_until(lambda: len(submitter.acknowledged) >= 20, 60, "some acknowledged submissions")

    _restart_postgres()
    submitter.join(180)

    wait_until(lambda: _try(lambda: _postmaster_started(province)) not in (None, before), 60, "PostgreSQL to be back")
    assert submitter.failures > 0, "some submissions must have been refused while the database restarted"
    assert len(submitter.acknowledged) == 600
    for dossier in submitter.acknowledged:
        assert intake.get_dossier(dossier_id=dossier["id"])["code"] == dossier["code"]
    wait_until(lambda: _try(lambda: every_dossier_has_one_case(intake, workflow) and len(case_counts(workflow)) == 600),
               120, "a case for every acknowledged dossier")


def _try(fn):  # type: ignore[no-untyped-def]
    try:
        return fn()
    except (psycopg.Error, Exception):
        return None


def test_a_consumer_whose_upstream_worker_dies_mid_pull_keeps_answering_and_recovers(apps, province, processes):
    """Issue 17, 5: intake's worker freezes (its answers to workflow's pulls are lost with it), then is
    killed. Meanwhile workflow still answers RPCs and applies pushed events (pushes do not queue on the
    lock a hanging pull holds); once a new intake worker runs, workflow pulls again and catches up."""
    from nameko.standalone.rpc import ClusterRpcProxy

    intake, workflow, _, settings = apps
    start(processes)
    submit_dossiers(intake, 3)
    wait_until(lambda: every_dossier_has_one_case(intake, workflow) and len(case_counts(workflow)) == 3, 60,
               "cases before the fault")

    def count(event: str) -> int:  # about intake (workflow also follows payment, not running here)
        return sum(e.get("event") == event and e.get("upstream") == "intake"
                   for e in processes.log_events("workflow-worker"))

    # workflow warns once if its first pull came before intake's worker ran, then says it is available
    wait_until(lambda: processes.saw("intake-worker", "worker_started")
               and count("upstream_unavailable") == count("upstream_available"), 60, "intake's worker to answer pulls")
    before = count("upstream_unavailable")
    frozen = processes.children["intake-worker"]
    os.killpg(frozen.pid, signal.SIGSTOP)
    wait_until(lambda: count("upstream_unavailable") > before, 60, "workflow's pull to be lost with the frozen worker")
    submit_dossiers(intake, 30)  # pushed by the relay while workflow's pulls hang

    with ClusterRpcProxy({"AMQP_URI": settings.amqp_uri, "serializer": "json"}, timeout=5) as cluster:
        assert cluster.workflow.head_position() > 0, "workflow must keep slots for other services' calls"
    wait_until(lambda: every_dossier_has_one_case(intake, workflow) and len(case_counts(workflow)) == 33, 60,
               "pushed events applied while the upstream is frozen")

    available = count("upstream_available")
    processes.kill9("intake-worker")
    processes.start("intake-worker", service_command("intake", "worker"))
    wait_until(lambda: count("upstream_available") > available, 60, "workflow to pull again")
    wait_until(lambda: tracked_position(province) == intake.publication.last_position(intake), 60, "workflow to catch up")
    assert "Traceback" not in processes.log_text("workflow-worker")

    # Ctrl-C while a pull hangs: the runner's SIGTERM stops the worker within its grace (10 s).
    before = count("upstream_unavailable")
    os.killpg(processes.children["intake-worker"].pid, signal.SIGSTOP)
    wait_until(lambda: count("upstream_unavailable") > before, 60, "a pull to hang again")
    submit_dossiers(intake, 5)
    consumer = processes.children["workflow-worker"]
    os.killpg(consumer.pid, signal.SIGTERM)
    assert consumer.wait(10) == 0
    processes.kill9("intake-worker")  # frozen: SIGTERM would wait for it in vain
