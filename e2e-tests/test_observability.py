"""Issue "See and measure it", black box: one trace per dossier across processes, trace ids
in every process's logs, no personal data in logs or spans, metrics endpoints per process."""
from __future__ import annotations

import json
import re
import urllib.request
import uuid
from pathlib import Path

import grpc
import pytest

from motcua.intake.v1 import intake_pb2 as ipb
from motcua.workflow.v1 import workflow_pb2 as wpb

from motcua_testkit.plugin import free_port, json_lines, wait_until

pytestmark = pytest.mark.e2e

METRICS_BASE = (free_port() // 100) * 100 % 50000 + 10000  # a block of ports unlikely to be taken
PLATFORM_ENV = {"MOTCUA_TRACES_EXPORTER": "console", "MOTCUA_LOG_LEVEL": "debug",
                "MOTCUA_METRICS_BASE_PORT": str(METRICS_BASE),
                # the overdue gauge's test moves time past a due date (it runs last: time only moves on)
                "MOTCUA_CLOCK": "settable", "MOTCUA_CLOCK_TTL_SECONDS": "0"}
PERSONAL = {"full_name": "Vũ Thị Bích Ngọc", "citizen_id": "045301234567", "phone": "0903123456",
            "email": "ngoc.vu@example.vn", "address": "Số 7 ngõ 15 phố Hàng Bạc"}


def lines(log_dir: str, process: str) -> list[dict]:
    return json_lines(Path(log_dir) / f"{process}.log")


def trace_ids_in(log_dir: str, process: str) -> tuple[set[str], set[str]]:
    """(trace ids on log lines, trace ids of spans) printed by one process."""
    logged, spans = set(), set()
    for entry in lines(log_dir, process):
        if "trace_id" in entry and "event" in entry:
            logged.add(entry["trace_id"])
        elif "context" in entry and "trace_id" in entry["context"]:
            spans.add(entry["context"]["trace_id"].removeprefix("0x"))
    return logged, spans


@pytest.fixture(scope="module")
def submitted(platform, as_user):  # type: ignore[no-untyped-def]
    # 1.004222 is received at commune 000.31.02.H45: its desk official submits, the inspector looks
    intake, workflow = as_user("canbo07", "intake"), as_user("thanhtra01", "workflow")
    dossier = intake.SubmitDossier(ipb.SubmitDossierRequest(
        idempotency_key=uuid.uuid4().hex, procedure_code="1.004222", channel=ipb.CHANNEL_ONLINE,
        applicant=ipb.Applicant(**PERSONAL))).dossier
    def case_opened() -> bool:
        try:
            return bool(workflow.GetCase(wpb.GetCaseRequest(dossier_id=dossier.id)).case.id)
        except grpc.RpcError:
            return False

    wait_until(case_opened, 15, "workflow to open the case")
    # Spans are printed as they end; the consumer's ends just after its commit, so wait for it.
    wait_until(lambda: any("consume motcua.intake.events.v1.DossierReceived" in e.get("name", "")
                           and (e.get("attributes") or {}).get("motcua.dossier_code") == dossier.code
                           for e in lines(platform["log_dir"], "workflow-worker")), 15, "the consumer's span")
    return dossier


def test_one_trace_follows_a_dossier_through_intake_the_relay_and_the_consumer(platform, submitted):
    received = next(e for e in lines(platform["log_dir"], "intake-grpc")
                    if e.get("event") == "dossier_received" and e.get("dossier_code") == submitted.code)
    trace_id = received["trace_id"]
    for process in ("intake-grpc", "intake-relay", "workflow-worker"):
        logged, spans = trace_ids_in(platform["log_dir"], process)
        assert trace_id in logged, f"{process} logged nothing in the dossier's trace"
        assert trace_id in spans, f"{process} printed no span of the dossier's trace"


def test_the_trace_has_the_grpc_call_the_use_case_and_the_event_store(platform, submitted):
    received = next(e for e in lines(platform["log_dir"], "intake-grpc")
                    if e.get("event") == "dossier_received" and e.get("dossier_code") == submitted.code)
    names = {e["name"] for e in lines(platform["log_dir"], "intake-grpc")
             if "context" in e and e["context"]["trace_id"].removeprefix("0x") == received["trace_id"]}
    assert {"motcua.intake.v1.IntakeService/SubmitDossier", "intake.submit_dossier", "eventstore.record"} <= names


def test_spans_concerning_the_dossier_carry_its_code(platform, submitted):
    coded = [e for process in ("intake-grpc", "intake-relay", "workflow-worker")
             for e in lines(platform["log_dir"], process)
             if "context" in e and (e.get("attributes") or {}).get("motcua.dossier_code") == submitted.code]
    names = {e["name"] for e in coded}
    assert any(n.startswith("motcua.intake.v1.IntakeService/SubmitDossier") for n in names)
    assert any("relay publish motcua.intake.events.v1.DossierReceived" in n for n in names)
    assert any("consume motcua.intake.events.v1.DossierReceived" in n for n in names)


def test_no_personal_data_appears_in_any_log_or_span(platform, submitted):
    everything = "".join(p.read_text(errors="replace") for p in Path(platform["log_dir"]).glob("*.log"))
    assert submitted.code in everything  # the logs are there and name the dossier...
    for value in PERSONAL.values():     # ...but never the person
        assert value not in everything
        assert json.dumps(value)[1:-1] not in everything  # nor its JSON-escaped form


def scrape(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        return response.read().decode()


def test_every_process_answers_on_its_metrics_endpoint_with_the_metrics_to_alert_on(platform, submitted):
    intake_grpc, intake_worker, intake_relay = (scrape(METRICS_BASE + n) for n in (1, 2, 3))
    workflow_grpc, workflow_worker = scrape(METRICS_BASE + 11), scrape(METRICS_BASE + 12)
    assert re.search(r'rpc_server_duration_milliseconds_count\{.*rpc_method="SubmitDossier".*\} [1-9]', intake_grpc)
    assert 'rpc_grpc_status_code="OK"' in intake_grpc
    assert re.search(r'motcua_events_appended_total\{.*type="Dossier.Received".*\} [1-9]', intake_grpc)
    assert re.search(r"motcua_relay_backlog\{.*\} 0", intake_relay)
    assert re.search(r'motcua_consumer_lag\{.*upstream="intake".*\} 0', workflow_worker)
    assert re.search(r'motcua_events_appended_total\{.*type="Case.Opened".*\} [1-9]', workflow_worker)
    assert "python_gc_objects_collected_total" in intake_worker and "rpc_server_duration" in workflow_grpc


def test_reporting_exports_lag_for_every_upstream_and_workers_their_stuck_gauges(platform, submitted):
    reporting_worker, workflow_worker = scrape(METRICS_BASE + 22), scrape(METRICS_BASE + 12)
    for upstream in ("intake", "workflow", "reporting"):
        assert re.search(rf'motcua_consumer_lag\{{.*upstream="{upstream}".*\}} ', reporting_worker), upstream
        assert re.search(rf'motcua_consumer_stuck_position\{{.*upstream="{upstream}".*\}} 0', reporting_worker)
    assert re.search(r'motcua_consumer_stuck_since\{.*upstream="intake".*\} 0', workflow_worker)


def test_the_overdue_gauge_is_served_by_workflows_edge(platform, submitted, as_user, module_province):
    from datetime import timedelta, timezone

    from motcua_common.config.clock import SettableClock

    case = as_user("thanhtra01", "workflow").GetCase(wpb.GetCaseRequest(dossier_id=submitted.id)).case
    gauge = re.compile(r'^motcua_cases_overdue\{[^}]*unit_code="%s"[^}]*\} (\S+)$' % re.escape(case.unit_code), re.M)
    assert [float(v) for v in gauge.findall(scrape(METRICS_BASE + 11))] in ([], [0.0])  # nothing overdue yet
    clock = SettableClock(module_province.conninfo, ttl=0)
    clock.set(case.due_at.ToDatetime(tzinfo=timezone.utc) + timedelta(days=1))
    # The module's only case is now past its due time: the gauge counts exactly it.
    assert [float(v) for v in gauge.findall(scrape(METRICS_BASE + 11))] == [1.0]
    log = (Path(platform["log_dir"]) / "workflow-grpc.log").read_text()
    assert "Callback failed" not in log  # what the OpenTelemetry SDK logs when a gauge's callback raises
    assert "Traceback" not in log  # and expected refusals (NOT_FOUND while waiting for a case) leave none
