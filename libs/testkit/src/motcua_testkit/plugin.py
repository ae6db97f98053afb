"""pytest fixtures shared by every service's tests (registered in the root conftest.py).

Integration tests get database and broker state private to the test: a fresh
PostgreSQL database and a fresh RabbitMQ vhost, dropped afterwards. Processes are
started exactly as `make run` starts them, with their JSON logs kept for assertions.
"""
from __future__ import annotations

import base64
import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import psycopg
import pytest

from motcua_common.config.clock import SettableClock
from motcua_common.config.services import service as service_processes
from motcua_common.config.settings import Settings, postgres_conninfo, postgres_conninfo_from_env
from motcua_common.province.organisation import Organisation

REPO = Path(__file__).resolve().parents[4]
DEMO_DATA = REPO / "infra" / "provinces" / "quang-tri"


def _sudo() -> list[str]:
    return [] if os.geteuid() == 0 else ["sudo"]


def rabbitmqctl(*args: str) -> str:
    result = subprocess.run([*_sudo(), "rabbitmqctl", "-q", *args], capture_output=True, text=True, timeout=120)
    if result.returncode != 0:
        raise RuntimeError(f"rabbitmqctl {' '.join(args)} failed: {result.stderr or result.stdout}")
    return result.stdout


def test_credentials() -> dict[str, str]:
    path = Path(os.environ.get("MOTCUA_TEST_ENV_FILE", REPO / ".local" / "test.env"))
    if not path.exists():
        pytest.fail(f"{path} is missing: run the tests with `make test`, which provisions the test accounts")
    return dict(line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)


def wait_until(predicate: Callable[[], object], timeout: float, what: str, interval: float = 0.05) -> object:
    """Poll observable state until it holds (with a deadline), never a blind sleep."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


@dataclass
class ProvinceEnv:
    env: dict[str, str]
    admin_conninfo: str

    @property
    def conninfo(self) -> str:
        return postgres_conninfo_from_env(self.env)

    def use_settable_clock(self):  # type: ignore[no-untyped-def]
        """Switch this province to the settable clock; returns an operator's handle on it."""
        self.env["MOTCUA_CLOCK"] = "settable"
        return SettableClock(self.conninfo, ttl=0)

    def settings(self):  # type: ignore[no-untyped-def]
        return Settings.from_env(self.env)

    def query(self, sql: str, params: tuple = ()) -> list[tuple]:
        with psycopg.connect(self.conninfo, autocommit=True) as conn:
            return conn.execute(sql, params).fetchall()


@pytest.fixture
def province() -> Iterator[ProvinceEnv]:
    """A province of its own: database and vhost private to this test."""
    yield from private_province()


@pytest.fixture(scope="module")
def module_province() -> Iterator[ProvinceEnv]:
    """A private province shared by one module's tests (each test makes its own ids)."""
    yield from private_province()


def private_province() -> Iterator[ProvinceEnv]:
    creds = test_credentials()
    suffix = uuid.uuid4().hex[:10]
    dbname, vhost = f"motcua_t_{suffix}", f"motcua-t-{suffix}"
    admin = postgres_conninfo("127.0.0.1", 5432, creds["MOTCUA_TEST_PG_USER"], creds["MOTCUA_TEST_PG_PASSWORD"],
                              "postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{dbname}"')
    rabbitmqctl("add_vhost", vhost)
    rabbitmqctl("set_permissions", "-p", vhost, creds["MOTCUA_TEST_AMQP_USER"], ".*", ".*", ".*")
    env = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONUNBUFFERED": "1",
        "MOTCUA_ENVIRONMENT": "test",
        "MOTCUA_PROVINCE": f"test-{suffix}",
        "MOTCUA_PG_HOST": "127.0.0.1",
        "MOTCUA_PG_PORT": "5432",
        "MOTCUA_PG_USER": creds["MOTCUA_TEST_PG_USER"],
        "MOTCUA_PG_PASSWORD": creds["MOTCUA_TEST_PG_PASSWORD"],
        "MOTCUA_PG_DBNAME": dbname,
        "MOTCUA_AMQP_URI": f"amqp://{creds['MOTCUA_TEST_AMQP_USER']}:{creds['MOTCUA_TEST_AMQP_PASSWORD']}@127.0.0.1:5672/{vhost}",
        "MOTCUA_SUBJECT_KEK": base64.b64encode(os.urandom(32)).decode(),
        "MOTCUA_AUDIT_SIGNING_KEY": base64.b64encode(os.urandom(32)).decode(),
        "MOTCUA_DATA_DIR": str(DEMO_DATA),
        "MOTCUA_CLOCK": "system",
        "MOTCUA_LOG_LEVEL": "info",
        "MOTCUA_METRICS_BASE_PORT": "0",
        "MOTCUA_UNIT_KEYS_DIR": unit_keys_dir(),
    }
    yield ProvinceEnv(env=env, admin_conninfo=admin)
    try:
        rabbitmqctl("delete_vhost", vhost)
    except RuntimeError:
        pass
    try:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
    except psycopg.Error:
        pass


_unit_keys: list[str] = []


def unit_keys_dir() -> str:
    """Result-signing keys for the demo province's units, issued once per test session."""
    if not _unit_keys:
        import tempfile

        # lazy: only tests that start workflow's processes need its signing keys, and the kit
        # serves every service's tests
        from motcua_workflow.adapters.unit_signing import issue_unit_keys

        directory = Path(tempfile.mkdtemp(prefix="motcua-unit-keys-"))
        issue_unit_keys(directory, "motcua test", [u.code for u in Organisation.load(DEMO_DATA / "units.yaml").units()])
        _unit_keys.append(str(directory))
    return _unit_keys[0]


def json_lines(path: Path) -> list[dict]:
    """The JSON lines of a process's output (logs and console spans), skipping anything else."""
    entries = []
    for line in path.read_text(errors="replace").splitlines() if path.exists() else []:
        if line.startswith("{"):
            try:
                entries.append(json.loads(line))
            except ValueError:
                pass
    return entries


@dataclass
class Processes:
    """Platform processes started as `make run` starts them, with their logs kept per process."""

    env: dict[str, str]
    log_dir: Path
    children: dict[str, subprocess.Popen] = field(default_factory=dict)

    def start(self, name: str, command: list[str]) -> subprocess.Popen:
        log = open(self.log_dir / f"{name}.log", "a")  # noqa: SIM115 - closed with the process
        child = subprocess.Popen(command, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self.children[name] = child
        return child

    def kill9(self, name: str) -> int:
        child = self.children[name]
        os.killpg(child.pid, signal.SIGKILL)
        return child.wait(10)

    def stop(self, name: str) -> None:
        child = self.children.pop(name)
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGTERM)
            try:
                child.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(child.pid, signal.SIGKILL)
                child.wait()

    def stop_all(self) -> None:
        for name in list(self.children):
            self.stop(name)

    def log_events(self, name: str) -> list[dict]:
        return json_lines(self.log_dir / f"{name}.log")

    def log_text(self, name: str) -> str:
        path = self.log_dir / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def saw(self, name: str, event: str) -> bool:
        return any(e.get("event") == event for e in self.log_events(name))


@pytest.fixture
def processes(province: ProvinceEnv, tmp_path: Path) -> Iterator[Processes]:
    procs = Processes(env=province.env, log_dir=tmp_path)
    yield procs
    procs.stop_all()


PY = sys.executable


def service_command(service: str, process: str) -> list[str]:
    """The command of one process, from the platform's one list of services and processes."""
    return service_processes(service).command(process, PY)


def free_port() -> int:
    return free_ports(1)[0]


def free_ports(count: int) -> list[int]:
    """`count` distinct free ports: every socket stays bound until all are chosen (ports asked for one
    at a time may come back twice once each socket is closed)."""
    import socket

    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def unique(prefix: str = "") -> str:
    return f"{prefix}{uuid.uuid4().hex[:12]}"


NON_DIGITS = re.compile(r"\D")


def run_in_patched_child(script: str, *paths: str, timeout: float = 120) -> dict:
    """Run `script` in a child Python with eventlet's monkey patching (nameko's entrypoint_hook and
    entrypoint_waiter need it; a test process must not have it: psycopg, grpcio) and return the
    JSON object it prints last. `paths` go on the child's PYTHONPATH (e.g. a service's tests/)."""
    import json
    import os
    import subprocess
    import sys

    env = {**os.environ, "PYTHONPATH": os.pathsep.join([*paths, os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-W", "ignore", "-c", "import eventlet; eventlet.monkey_patch()\n" + script],
                          env=env, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise AssertionError(f"the child failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])
