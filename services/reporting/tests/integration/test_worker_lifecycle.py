"""Workers started in any order, then stopped (issues 10.8 and 17.5, 17.13): a worker whose
upstream is not running yet says so in one warning line a consumer, no traceback, and catches up
once it runs; every line each worker writes is one JSON record with service and process; on
SIGTERM (what the runner sends on Ctrl-C) each worker stops by itself within the runner's grace."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest

from motcua_testkit.plugin import service_command, wait_until

pytestmark = pytest.mark.integration

RUNNER_GRACE_SECONDS = 10  # motcua_common.runtime.platform_runner.Supervisor.stop_all


@pytest.fixture
def schemas(province):  # type: ignore[no-untyped-def]
    from motcua_intake.bootstrap import setup_schema as intake_schema
    from motcua_payment.bootstrap import setup_schema as payment_schema
    from motcua_reporting.bootstrap import setup_schema as reporting_schema
    from motcua_workflow.bootstrap import setup_schema as workflow_schema

    settings = province.settings()
    for setup in (intake_schema, workflow_schema, reporting_schema, payment_schema):
        setup(settings)


def records(processes, name):  # type: ignore[no-untyped-def]
    lines = processes.log_text(name).splitlines()
    loose = [line for line in lines if not line.startswith("{")]
    assert not loose, f"{name} wrote lines that are not JSON records: {loose[:5]}"
    return [json.loads(line) for line in lines]


def test_workers_started_in_the_wrong_order_warn_once_then_follow_and_stop_cleanly(schemas, processes):
    processes.start("reporting-worker", service_command("reporting", "worker"))
    wait_until(lambda: sum(e.get("event") == "upstream_unavailable" for e in processes.log_events("reporting-worker"))
               == 5, 60, "reporting to notice intake, workflow, payment, notification and evaluation are not running")
    processes.start("workflow-worker", service_command("workflow", "worker"))
    processes.start("intake-worker", service_command("intake", "worker"))
    processes.start("payment-worker", service_command("payment", "worker"))

    def available(name, upstream):  # type: ignore[no-untyped-def]
        return any(e.get("event") == "upstream_available" and e.get("upstream") == upstream
                   for e in processes.log_events(name))

    wait_until(lambda: all(available("reporting-worker", u) for u in ("intake", "workflow", "payment")), 60,
               "reporting to pull from intake, workflow and payment once they run")

    health = subprocess.run([sys.executable, "-m", "motcua_common.edge.healthcheck", "--worker", "reporting"],
                            env=processes.env, capture_output=True, text=True, timeout=60)
    assert health.returncode == 0, health.stderr
    detail = json.loads(health.stdout)
    assert detail["status"] == "SERVING"
    assert {name: c["status"] for name, c in detail["consumers"].items()} == {
        "intake": "applying", "workflow": "applying", "reporting": "applying", "payment": "applying",
        "notification": "applying", "evaluation": "applying"}

    # Each stops before the upstreams it follows where it can; workflow and payment follow each other, so
    # one of them may see the other go away: a new outage, warned of once.
    for name in ("reporting-worker", "workflow-worker", "payment-worker", "intake-worker"):
        child = processes.children[name]
        os.killpg(child.pid, signal.SIGTERM)
        assert child.wait(RUNNER_GRACE_SECONDS) == 0, f"{name} must stop by itself on SIGTERM"

    for name in ("reporting-worker", "workflow-worker", "intake-worker", "payment-worker"):
        assert "Traceback" not in processes.log_text(name), name
        lines = records(processes, name)
        assert lines and all(r["service"] == name.split("-")[0] and r["process"] == "worker" for r in lines)
        # one warning per outage, not one per retry: an upstream is said unavailable again only after it
        # was said available
        for upstream in {r.get("upstream") for r in lines if r["event"] == "upstream_unavailable"}:
            said = [r["event"] for r in lines if r.get("upstream") == upstream
                    and r["event"] in ("upstream_unavailable", "upstream_available")]
            assert all(not (a == b == "upstream_unavailable") for a, b in zip(said, said[1:])), \
                f"{name}: one warning per outage of {upstream}, not one per retry: {said}"
        others = [r["event"] for r in lines if r["level"] in ("warning", "error") and r["event"] != "upstream_unavailable"]
        assert not others, f"{name} warned at start-up: {others[:3]}"
