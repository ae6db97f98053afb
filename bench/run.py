"""`make bench`: throughput and latency of the running stack on this machine (a benchmark, not a test).

Starts the platform on a province of its own (`bench`, its database emptied first),
measures, prints a table and writes JSON under bench/results/. Figures vary by
±10-25% on a shared machine: compare only runs made on the same machine.

Measured now:
  submit   SubmitDossier through the whole stack (gRPC edge -> application -> PostgreSQL),
           ghz with concurrent clients: requests/s, p50, p99
  drain    how fast workflow's consumer applies intake's events while and after they are submitted
  propagation  dossier received -> case opened (recorded_at of each, one clock), at a steady offered load
  echo     a bare grpcio unary echo server: the ceiling for Python gRPC here (ratios are against it)
  rebuild  a consumer rebuilding from position 0, against a raw sequential read of the same log
  history  AuditService.StreamHistory of random dossiers (each call also records the read): p50, p99
  verify   recomputing a service's whole log chain (events/s), and VerifyHistory calls (p50, p99)
"""
from __future__ import annotations

import argparse
import json
import os
import platform as host
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

import grpc
import psycopg
from grpc_health.v1 import health_pb2, health_pb2_grpc

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "libs" / "common" / "src"))

from motcua_common.runtime.platform_runner import platform_env, read_env_file  # noqa: E402
from motcua_common.config.settings import postgres_conninfo_from_env  # noqa: E402
from motcua_common.identity.dev_tokens import DevTokens  # noqa: E402
from motcua_common.audit.log import audit_signer, audit_trust
from motcua_intake.adapters import published as intake_published  # noqa: E402
from motcua_workflow.adapters import published as workflow_published  # noqa: E402

SUBMIT_BODY = ('{"idempotency_key": "{{.UUID}}", "procedure_code": "1.004873", "channel": "CHANNEL_DESK", '
               '"applicant": {"full_name": "Nguyễn Văn Bench", "citizen_id": "045090001234"}, '
               '"components": [{"name": "Tờ khai", "sha256": "' + "a" * 64 + '", "size_bytes": 1, '
               '"media_type": "application/pdf", "code": "TO_KHAI"}]}')


def reset_database(env: dict[str, str]) -> None:
    conninfo = postgres_conninfo_from_env(env)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        for schema in ("intake", "workflow", "reporting", "payment", "platform"):
            conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


def start_platform(env: dict[str, str], log_dir: Path) -> subprocess.Popen:
    log = open(log_dir / "platform.log", "w")  # noqa: SIM115
    runner = subprocess.Popen([sys.executable, "-m", "motcua_common.runtime.platform_runner", "--log-dir", str(log_dir)],
                              env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 120
    while "motcua is up" not in (log_dir / "platform.log").read_text():
        if runner.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"the platform did not start; see {log_dir / 'platform.log'}")
        time.sleep(0.2)
    return runner


def ghz(address: str, import_path: Path, proto: str, call: str, body: str, total: int, concurrency: int,
        metadata: str = "{}") -> dict:
    binary = shutil.which("ghz") or shutil.which("ghz", path=str(REPO / "build" / "tools" / "bin"))
    if binary is None:
        raise SystemExit("ghz is missing: `make tools` installs it with go install")
    out = subprocess.run(
        [binary, "--insecure", "--import-paths", str(import_path), "--proto", proto, "--call", call, "-d", body,
         "-m", metadata, "-n", str(total), "-c", str(concurrency), "--format", "json", address],
        capture_output=True, text=True, check=True).stdout
    return summarise(json.loads(out), concurrency)


def bench_echo(total: int, concurrency: int) -> dict:
    port = 51099
    server = subprocess.Popen([sys.executable, str(REPO / "bench" / "echo_server.py"), str(port)],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None and server.stdout.readline().strip() == "serving"
        args = (f"127.0.0.1:{port}", REPO / "bench", "echo.proto", "motcua.bench.v1.EchoService/Echo",
                '{"message": "xin chào"}')
        ghz(*args, 1000, concurrency)  # warm-up
        return ghz(*args, total, concurrency)
    finally:
        server.terminate()
        server.wait(10)


#: the local identity provider `make bench` starts (tokens as a client would get them)
TOKENS = DevTokens(REPO / ".local/idp/quang-tri")


def bearer(who: str) -> tuple[tuple[str, str]]:
    return (("authorization", f"Bearer {TOKENS.for_user(who)}"),)


def bench_submit(address: str, total: int, concurrency: int) -> dict:
    # the desk official of the unit that receives SUBMIT_BODY's procedure; a token fresh for this run
    return ghz(address, REPO / "protos", "motcua/intake/v1/intake.proto", "motcua.intake.v1.IntakeService/SubmitDossier",
               SUBMIT_BODY, total, concurrency, json.dumps({"authorization": f"Bearer {TOKENS.for_user('canbo01')}"}))


def summarise(report: dict, concurrency: int) -> dict:
    latencies = {d["percentage"]: d["latency"] / 1e6 for d in report.get("latencyDistribution") or []}
    return {"requests_per_second": round(report["rps"], 1), "p50_ms": round(latencies.get(50, 0), 2),
            "p99_ms": round(latencies.get(99, 0), 2), "count": report["count"],
            "errors": sum(report.get("statusCodeDistribution", {}).get(k, 0)
                          for k in report.get("statusCodeDistribution", {}) if k != "OK"),
            "status_codes": report.get("statusCodeDistribution", {}), "concurrency": concurrency}


def bench_overload(address: str, total: int, concurrency: int) -> dict:
    """SubmitDossier from more clients than the edge admits (MOTCUA_GRPC_MAX_IN_FLIGHT): the rest are
    shed with RESOURCE_EXHAUSTED, and health checks, never shed, keep answering (probed every 50 ms)."""
    latencies: list[float] = []
    failures: list[str] = []
    stop = threading.Event()

    def probe() -> None:
        with grpc.insecure_channel(address) as channel:
            stub = health_pb2_grpc.HealthStub(channel)
            while not stop.is_set():
                started = time.perf_counter()
                try:
                    stub.Check(health_pb2.HealthCheckRequest(), timeout=5)
                    latencies.append((time.perf_counter() - started) * 1000)
                except grpc.RpcError as error:
                    failures.append(error.code().name)
                stop.wait(0.05)

    prober = threading.Thread(target=probe, daemon=True)
    prober.start()
    try:
        submit = bench_submit(address, total, concurrency)
    finally:
        stop.set()
        prober.join(10)
    return {"submit": submit, "health": {**_percentiles(latencies), "max_ms": round(max(latencies, default=0), 2),
                                         "failures": failures}}


def published_head(conn: psycopg.Connection, service: str) -> int:
    """The position of a service's last published event: what an up-to-date consumer has tracked
    (stored events that are not published, e.g. idempotency records, leave holes in positions)."""
    topics = {"intake": intake_published, "workflow": workflow_published}[service].publication().topics
    return conn.execute(f"SELECT coalesce(max(notification_id), 0) FROM {service}.{service}_events "
                        "WHERE topic = ANY(%s)", (topics,)).fetchone()[0]


def wait_for_drain(env: dict[str, str], started: float) -> dict:
    """Wait until workflow has applied everything intake recorded; the consumer's catch-up rate."""
    conninfo = postgres_conninfo_from_env(env)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        head = published_head(conn, "intake")
        while True:
            row = conn.execute("SELECT notification_id FROM workflow.workflow_tracking "
                               "WHERE application_name = 'intake'").fetchone()
            if row and row[0] >= head:
                break
            if time.perf_counter() - started > 600:
                raise SystemExit("the consumer did not catch up within 10 minutes")
            time.sleep(0.05)
    elapsed = time.perf_counter() - started
    return {"events": head, "seconds_after_submit_started": round(elapsed, 2), "events_per_second": round(head / elapsed, 1)}


def wait_for_quiet_queues(env: dict[str, str], timeout: float = 300) -> float:
    """After a burst the consumer catches up by pulling, but the burst's pushes are still queued:
    wait until the relay has published everything and the vhost's queues are empty."""
    vhost = env["MOTCUA_AMQP_URI"].rsplit("/", 1)[1]
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        out = subprocess.run([*sudo, "rabbitmqctl", "-q", "list_queues", "-p", vhost, "messages"],
                             capture_output=True, text=True).stdout
        depths = [int(x) for x in out.split() if x.isdigit()]
        if depths and sum(depths) == 0:
            return time.perf_counter() - started
        time.sleep(0.5)
    raise SystemExit("queues did not drain")


def bench_propagation(env: dict[str, str], intake_address: str, rate: float, seconds: float) -> dict:
    """Submit at a steady rate, then read both services' stored events: propagation is Case.Opened's
    recorded_at minus Dossier.Received's (same platform clock), so measuring adds no load."""
    from motcua.intake.v1 import intake_pb2 as ipb
    from motcua.intake.v1 import intake_pb2_grpc

    intake = intake_pb2_grpc.IntakeServiceStub(grpc.insecure_channel(intake_address))
    ids: list[str] = []
    lock = threading.Lock()

    def one() -> None:
        request = ipb.SubmitDossierRequest(
            idempotency_key=uuid.uuid4().hex, procedure_code="1.004873", channel=ipb.CHANNEL_DESK,
            applicant=ipb.Applicant(full_name="Bench", citizen_id="045090001234"),
            components=[ipb.Component(name="Tờ khai", sha256="a" * 64, size_bytes=1, media_type="application/pdf",
                                      code="TO_KHAI")])
        dossier = intake.SubmitDossier(request, metadata=bearer("canbo01")).dossier
        with lock:
            ids.append(dossier.id)

    threads = []
    begin = time.perf_counter()
    for i in range(int(rate * seconds)):
        delay = begin + i / rate - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        thread = threading.Thread(target=one, daemon=True)
        thread.start()
        threads.append(thread)
    for thread in threads:
        thread.join(60)
    wait_for_drain(env, time.perf_counter())
    conninfo = postgres_conninfo_from_env(env)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        rows = conn.execute(
            "WITH received AS MATERIALIZED (SELECT originator_id AS dossier_id, "
            "  (convert_from(state, 'UTF8')::json->'timestamp'->>'_data_')::timestamptz AS at "
            "  FROM intake.intake_events WHERE topic LIKE '%%:Dossier.Received' AND originator_id = ANY(%s)), "
            "opened AS MATERIALIZED (SELECT (convert_from(state, 'UTF8')::json->'dossier_id'->>'_data_')::uuid AS dossier_id, "
            "  (convert_from(state, 'UTF8')::json->'timestamp'->>'_data_')::timestamptz AS at "
            "  FROM workflow.workflow_events WHERE topic LIKE '%%:Case.Opened') "
            "SELECT extract(epoch FROM opened.at - received.at) * 1000 FROM received JOIN opened USING (dossier_id)",
            ([uuid.UUID(i) for i in ids],)).fetchall()
    latencies = sorted(r[0] for r in rows)
    q = statistics.quantiles(latencies, n=100, method="inclusive") if len(latencies) >= 2 else [0.0] * 99
    return {"offered_per_second": rate, "measured": len(latencies), "p50_ms": round(float(q[49]), 1),
            "p99_ms": round(float(q[98]), 1)}


def bench_rebuild(env: dict[str, str]) -> dict:
    """A consumer rebuilding from position 0 (workflow's policy over intake's whole log, pages of 500,
    into a fresh schema) against a raw sequential read-and-decode of the same log."""
    from motcua_common.events.store import create_tables, make_transcoder
    from motcua_common.runtime.service_setup import make_pool
    from motcua_common.config.settings import Settings
    from motcua_intake.bootstrap import bootstrap as intake_bootstrap
    from motcua_workflow.adapters.read_model import CaseSummaries, PostgresCaseQueue
    from motcua_workflow.adapters.result_files import ResultFiles
    from motcua_workflow.application import WorkflowApplication
    from motcua_workflow.bootstrap import intake_follower

    settings = Settings.from_env(env)
    intake = intake_bootstrap(settings)
    transcoder = make_transcoder()
    started, position, raw = time.perf_counter(), 0, 0
    while page := intake.recorder.select_notifications(start=position + 1, limit=500):
        for notification in page:
            transcoder.decode(notification.state)
        raw += len(page)
        position = page[-1].id
    raw_seconds = time.perf_counter() - started

    schema = "bench_rebuild"
    with psycopg.connect(settings.postgres_conninfo(), autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    rebuild_env = {**settings.eventsourcing_env("workflow"), "POSTGRES_SCHEMA": schema}
    create_tables(WorkflowApplication, rebuild_env)
    with psycopg.connect(settings.postgres_conninfo(), autocommit=True) as conn:
        CaseSummaries.create_table(conn, schema)
    pool = make_pool(settings)
    app = WorkflowApplication(env=rebuild_env, province=settings.province, clock=intake.clock,
                              queue=PostgresCaseQueue(pool, schema), result_files=ResultFiles(pool, schema), pool=pool,
                              calendar=intake.calendar_for(None))
    follower = intake_follower(app, settings)
    started = time.perf_counter()
    applied = follower.catch_up(lambda start, limit: intake.read_notifications(start, limit))
    seconds = time.perf_counter() - started
    app.close()
    intake.close()
    return {"events": applied, "events_per_second": round(applied / seconds, 1),
            "raw_read_events_per_second": round(raw / raw_seconds, 1)}


def _percentiles(latencies: list[float]) -> dict:
    latencies = sorted(latencies)
    q = statistics.quantiles(latencies, n=100, method="inclusive") if len(latencies) >= 2 else [0.0] * 99
    return {"calls": len(latencies), "p50_ms": round(float(q[49]), 2), "p99_ms": round(float(q[98]), 2)}


def _dossier_codes(env: dict[str, str], limit: int) -> list[str]:
    with psycopg.connect(_conninfo(env), autocommit=True) as conn:
        return [r[0] for r in conn.execute(
            "SELECT DISTINCT dossier_code FROM reporting.dossier_history WHERE event_type = 'Case.Opened' LIMIT %s",
            (limit,)).fetchall()]


def _conninfo(env: dict[str, str]) -> str:
    return postgres_conninfo_from_env(env)


def bench_history(env: dict[str, str], calls: int, threads: int = 4) -> dict:
    """StreamHistory of random dossiers, read to the end, from `threads` clients at once."""
    import random

    from motcua.audit.v1 import audit_pb2, audit_pb2_grpc

    codes = _dossier_codes(env, 2000)
    metadata = bearer("thanhtra01")
    latencies: list[float] = []
    lock = threading.Lock()

    def client(n: int) -> None:
        with grpc.insecure_channel(env["MOTCUA_REPORTING_GRPC_ADDRESS"]) as channel:
            stub = audit_pb2_grpc.AuditServiceStub(channel)
            for _ in range(n):
                code = random.choice(codes)
                started = time.perf_counter()
                events = list(stub.StreamHistory(audit_pb2.StreamHistoryRequest(dossier_code=code), metadata=metadata))
                elapsed = (time.perf_counter() - started) * 1000
                assert events
                with lock:
                    latencies.append(elapsed)

    for _ in range(50):  # warm-up
        client(1)
    latencies.clear()
    workers = [threading.Thread(target=client, args=(calls // threads,)) for _ in range(threads)]
    started = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    seconds = time.perf_counter() - started
    return {**_percentiles(latencies), "dossiers": len(codes), "clients": threads,
            "calls_per_second": round(len(latencies) / seconds, 1)}


def bench_verification(env: dict[str, str], calls: int = 100) -> dict:
    """The whole intake log recomputed and checked (as `motcua-audit verify-log`), then VerifyHistory calls."""
    from motcua.audit.v1 import audit_pb2, audit_pb2_grpc
    from motcua_common.audit.log import LogVerifier, record_checkpoint
    from motcua_common.config.settings import Settings

    settings = Settings.from_env(env)
    with psycopg.connect(settings.postgres_conninfo(), autocommit=True) as conn:
        for service in ("intake", "workflow"):
            record_checkpoint(conn, service, service, settings.province, audit_signer(settings),
                              datetime.now(timezone.utc))
        started = time.perf_counter()
        report = LogVerifier(conn, "intake", "intake", settings.province, audit_trust(settings)).verify_all()
        seconds = time.perf_counter() - started
    assert report.broken is None, report.broken
    codes = _dossier_codes(env, calls)
    metadata = bearer("thanhtra01")
    latencies = []
    with grpc.insecure_channel(env["MOTCUA_REPORTING_GRPC_ADDRESS"]) as channel:
        stub = audit_pb2_grpc.AuditServiceStub(channel)
        for code in codes:
            started_call = time.perf_counter()
            result = stub.VerifyHistory(audit_pb2.VerifyHistoryRequest(dossier_code=code), metadata=metadata)
            latencies.append((time.perf_counter() - started_call) * 1000)
            assert result.intact, result
    return {"log_events": report.events_checked, "log_events_per_second": round(report.events_checked / seconds, 1),
            "verify_history": _percentiles(latencies)}


def wait_for_history(env: dict[str, str], timeout: float = 300.0) -> None:
    """Until reporting has applied every intake and workflow event (its followers' positions)."""
    deadline = time.monotonic() + timeout
    with psycopg.connect(_conninfo(env), autocommit=True) as conn:
        while time.monotonic() < deadline:
            heads = {s: published_head(conn, s) for s in ("intake", "workflow")}
            tracked = dict(conn.execute("SELECT application_name, notification_id FROM reporting.reporting_tracking")
                           .fetchall())
            if all(tracked.get(s, 0) >= head for s, head in heads.items()):
                return
            time.sleep(0.5)
    raise TimeoutError("reporting did not catch up with intake and workflow")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--env-file", type=Path, required=True)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--overload-concurrency", type=int, default=500,
                        help="clients for the overload figure (more than the edge admits)")
    parser.add_argument("--rate", type=float, default=200.0, help="offered load for the propagation figure")
    args = parser.parse_args()
    env = platform_env({**os.environ, **read_env_file(args.env_file),
                        "MOTCUA_DATA_DIR": str(REPO / "infra" / "provinces" / "quang-tri")}, REPO)
    env["MOTCUA_INTAKE_GRPC_ADDRESS"] = "127.0.0.1:51051"
    env["MOTCUA_WORKFLOW_GRPC_ADDRESS"] = "127.0.0.1:51052"
    env["MOTCUA_REPORTING_GRPC_ADDRESS"] = "127.0.0.1:51056"
    env["MOTCUA_LOG_LEVEL"] = "warning"
    # the edges verify tokens from the local identity provider; per-caller limits would only measure themselves
    env["MOTCUA_OIDC_ISSUER"], env["MOTCUA_OIDC_AUDIENCE"] = TOKENS.issuer, TOKENS.audience
    env["MOTCUA_RATE_LIMIT_CLIENT_PER_MINUTE"] = env["MOTCUA_RATE_LIMIT_CITIZEN_PER_MINUTE"] = "100000000"
    log_dir = REPO / "bench" / "results" / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    print("measuring the bare gRPC echo ceiling (ghz)...", flush=True)
    echo = bench_echo(args.requests * 3, args.concurrency)
    reset_database(env)
    runner = start_platform(env, log_dir)
    try:
        print("measuring SubmitDossier (ghz)...", flush=True)
        bench_submit(env["MOTCUA_INTAKE_GRPC_ADDRESS"], 300, args.concurrency)  # warm-up
        started = time.perf_counter()
        submit = bench_submit(env["MOTCUA_INTAKE_GRPC_ADDRESS"], args.requests, args.concurrency)
        print(f"measuring overload ({args.overload_concurrency} clients) with health probes...", flush=True)
        overload = bench_overload(env["MOTCUA_INTAKE_GRPC_ADDRESS"], args.requests, args.overload_concurrency)
        print("waiting for workflow to apply every intake event...", flush=True)
        drain = wait_for_drain(env, started)
        print("waiting for the burst's queued pushes to drain...", flush=True)
        drain["queued_pushes_drained_after_s"] = round(wait_for_quiet_queues(env), 1)
        print("measuring submit -> case propagation...", flush=True)
        propagation = bench_propagation(env, env["MOTCUA_INTAKE_GRPC_ADDRESS"], args.rate, 10)
        print("waiting for reporting to follow every event, then reading histories...", flush=True)
        wait_for_history(env)
        history = bench_history(env, calls=1000, threads=1)
        history_loaded = bench_history(env, calls=2000, threads=4)
        print("measuring verification...", flush=True)
        verification = bench_verification(env)
    finally:
        os.killpg(runner.pid, signal.SIGINT)
        runner.wait(30)
    print("measuring a consumer's rebuild from position 0...", flush=True)
    rebuild = bench_rebuild(env)
    result = {"measured_at": datetime.now(timezone.utc).isoformat(), "machine": {"cpus": os.cpu_count(),
              "python": host.python_version()}, "echo": echo, "submit_dossier": submit, "consumer_drain": drain, "rebuild": rebuild,
              "propagation": propagation, "overload": overload, "history": history, "history_4_clients": history_loaded,
              "verification": verification}
    out = REPO / "bench" / "results" / f"bench-{datetime.now(timezone.utc):%Y%m%dT%H%M%SZ}.json"
    out.write_text(json.dumps(result, indent=2))
    rows = [
        ("bare gRPC echo, requests/s (ceiling)", echo["requests_per_second"], "", "1.00"),
        ("SubmitDossier, requests/s", submit["requests_per_second"], ">= 50% of echo",
         f"{submit['requests_per_second'] / echo['requests_per_second']:.2f} of echo"),
        ("SubmitDossier p50 / p99, ms", f"{submit['p50_ms']} / {submit['p99_ms']}", "p99 < 50", ""),
        (f"overload @{overload['submit']['concurrency']} clients: shed (RESOURCE_EXHAUSTED) / served",
         f"{overload['submit']['status_codes'].get('ResourceExhausted', 0)} / "
         f"{overload['submit']['status_codes'].get('OK', 0)}", "", ""),
        ("health under overload p50 / p99 / max ms", f"{overload['health']['p50_ms']} / {overload['health']['p99_ms']}"
         f" / {overload['health']['max_ms']}", "max < 1000", f"{len(overload['health']['failures'])} failed"),
        ("consumer rebuild from 0, events/s", rebuild["events_per_second"], ">= 50,000",
         f"{rebuild['events_per_second'] / rebuild['raw_read_events_per_second']:.2f} of raw read"),
        ("raw sequential read of the log, events/s", rebuild["raw_read_events_per_second"], "", "1.00"),
        ("consumer while submitting, events/s", drain["events_per_second"], "", ""),
        (f"received -> case opened p50 / p99 ms @{propagation['offered_per_second']:.0f}/s",
         f"{propagation['p50_ms']} / {propagation['p99_ms']}", "p99 < 300 @200/s", ""),
        ("StreamHistory p50 / p99 ms (1 client)", f"{history['p50_ms']} / {history['p99_ms']}",
         "p99 < 10", f"{history['calls_per_second']} calls/s"),
        ("StreamHistory p50 / p99 ms (4 clients)", f"{history_loaded['p50_ms']} / {history_loaded['p99_ms']}",
         "", f"{history_loaded['calls_per_second']} calls/s"),
        ("log verification (whole chain), events/s", verification["log_events_per_second"], "", ""),
        ("VerifyHistory p50 / p99 ms", f"{verification['verify_history']['p50_ms']} / "
         f"{verification['verify_history']['p99_ms']}", "", ""),
    ]
    print(f"\n{'figure':<46}{'measured':>18}{'target':>18}   ratio")
    for name, value, target, ratio in rows:
        print(f"{name:<46}{str(value):>18}{target:>18}   {ratio}")
    print(f"\nwritten to {out.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
