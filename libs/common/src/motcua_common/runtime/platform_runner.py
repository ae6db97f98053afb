"""Run the whole platform locally: set up schemas, start every service's processes
(gRPC edge, nameko worker, relay, HTTP callback edge) and the sandboxes standing in for outside
systems (the PayGov gateway, unless MOTCUA_PAYGOV_URL names a real one; an SMTP server, unless
MOTCUA_SMTP_ADDRESS names one; the SMS and ZNS gateways, unless MOTCUA_SMS_GATEWAY_URL /
MOTCUA_ZNS_URL name real ones), wait until each gRPC
server reports SERVING and each HTTP edge answers, print the endpoints, and stop everything on
Ctrl-C. A process that dies is restarted.

    motcua-platform [--env-file .local/quang-tri.env]
"""
from __future__ import annotations

import argparse
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from motcua_common.config.services import PROCESSES, SERVICES, ServiceProcesses, service  # noqa: F401 - re-exported
from motcua_common.config.settings import process_environment, read_env_file  # noqa: F401 - tools import read_env_file here
from motcua_common.runtime.provisioning import service_env

def platform_env(base: dict[str, str], repo: Path) -> dict[str, str]:
    env = dict(base)
    if "MOTCUA_AMQP_URI" not in env and "MOTCUA_AMQP_USER" in env:
        env["MOTCUA_AMQP_URI"] = (f"amqp://{env['MOTCUA_AMQP_USER']}:{env['MOTCUA_AMQP_PASSWORD']}"
                                  f"@127.0.0.1:5672/{env['MOTCUA_AMQP_VHOST']}")
    env.setdefault("MOTCUA_DATA_DIR", str(repo / "infra" / "provinces" / env.get("MOTCUA_PROVINCE", "quang-tri")))
    for service in SERVICES:
        env.setdefault(service.address_variable, f"127.0.0.1:{service.port}")
        if service.callback_port:
            env.setdefault(service.callback_variable, f"127.0.0.1:{service.callback_port}")
    env.setdefault("MOTCUA_NOTIFICATION_RATING_URL", local_rating_url(env))
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


PAYGOV_SANDBOX = "paygov-sandbox"
DEFAULT_PAYGOV_SANDBOX_PORT = 18080


def paygov_sandbox(env: dict[str, str], repo: Path, state_dir: Path) -> dict[str, list[str]]:
    """Unless MOTCUA_PAYGOV_URL names a gateway, stand the sandbox gateway in for it: payment's
    MOTCUA_PAYGOV_* settings are set in `env` to the sandbox (MOTCUA_PAYGOV_SANDBOX_PORT, 18080 by
    default) with a secret generated once into `state_dir`, and the sandbox's command is returned."""
    if env.get("MOTCUA_PAYGOV_URL"):
        return {}
    port = int(env.get("MOTCUA_PAYGOV_SANDBOX_PORT") or DEFAULT_PAYGOV_SANDBOX_PORT)
    env["MOTCUA_PAYGOV_SANDBOX_PORT"] = str(port)
    secret_file = Path(env.get("MOTCUA_PAYGOV_SECRET_FILE") or state_dir / "paygov-sandbox.secret")
    if not secret_file.exists():
        secret_file.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(secret_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as out:
            out.write(secrets.token_hex(32) + "\n")
    callback = env[service("payment").callback_variable]
    env.update({"MOTCUA_PAYGOV_URL": f"http://127.0.0.1:{port}/pay", "MOTCUA_PAYGOV_PARTNER_CODE": "SANDBOX",
                "MOTCUA_PAYGOV_ACCESS_KEY": "SANDBOX-ACCESS", "MOTCUA_PAYGOV_SECRET_FILE": str(secret_file)})
    env.setdefault("MOTCUA_PAYMENT_RETURN_URL", f"http://{callback}/paygov/return")
    return {PAYGOV_SANDBOX: [sys.executable, "-m", "paygov_sandbox", "--port", str(port),
                             "--secret-file", str(secret_file), "--callback-url", f"http://{callback}/paygov/callback",
                             "--retry-seconds", env.get("MOTCUA_PAYGOV_SANDBOX_RETRY_SECONDS", "5")]}


BANK_SANDBOX = "bank-sandbox"
SANDBOX_ACCOUNT = ("970436", "0011001234567")  # made up: the sandbox bank's collecting account (BIN, number)


def bank_sandbox(env: dict[str, str], state_dir: Path) -> dict[str, list[str]]:
    """Opt-in (MOTCUA_BANK_SANDBOX_PORT set, no MOTCUA_BANK_SECRET_FILE): the sandbox bank that posts
    signed credit notifications of VietQR transfers to payment's `POST /bank/credit`; payment's
    MOTCUA_BANK_SECRET_FILE (generated once into `state_dir`) and, unless set, its VietQR account."""
    if not env.get("MOTCUA_BANK_SANDBOX_PORT") or env.get("MOTCUA_BANK_SECRET_FILE"):
        return {}
    secret_file = state_dir / "bank-sandbox.secret"
    if not secret_file.exists():
        secret_file.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(secret_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as out:
            out.write(secrets.token_hex(32) + "\n")
    env.setdefault("MOTCUA_VIETQR_BANK_BIN", SANDBOX_ACCOUNT[0])
    env.setdefault("MOTCUA_VIETQR_ACCOUNT", SANDBOX_ACCOUNT[1])
    env["MOTCUA_BANK_SECRET_FILE"] = str(secret_file)
    callback = env[service("payment").callback_variable]
    return {BANK_SANDBOX: [sys.executable, "-m", "bank_sandbox", "--port", env["MOTCUA_BANK_SANDBOX_PORT"],
                           "--secret-file", str(secret_file), "--notify-url", f"http://{callback}/bank/credit",
                           "--account", env["MOTCUA_VIETQR_ACCOUNT"]]}


def sandbox_env(env: dict[str, str]) -> dict[str, str]:
    """A sandbox stands for an outside system: it gets no platform credentials."""
    return {"PATH": env.get("PATH", os.defpath), "PYTHONUNBUFFERED": "1"}


def http_addresses(env: dict[str, str]) -> dict[str, str]:
    """The HTTP edges and sandboxes to wait for (name -> host:port), each answering GET /health."""
    addresses = {f"{s.name}-callback": env[s.callback_variable] for s in SERVICES if s.callback_port}
    if env.get("MOTCUA_PAYGOV_SANDBOX_PORT") and "127.0.0.1" in env.get("MOTCUA_PAYGOV_URL", ""):
        addresses[PAYGOV_SANDBOX] = f"127.0.0.1:{env['MOTCUA_PAYGOV_SANDBOX_PORT']}"
    if env.get("MOTCUA_BANK_SANDBOX_PORT") and env.get("MOTCUA_BANK_SECRET_FILE", "").endswith("bank-sandbox.secret"):
        addresses[BANK_SANDBOX] = f"127.0.0.1:{env['MOTCUA_BANK_SANDBOX_PORT']}"
    for name, (variable, port_variable, _) in MESSAGING_SANDBOXES.items():
        if env.get(port_variable) and env.get(variable, "") == f"http://127.0.0.1:{env[port_variable]}":
            addresses[name] = f"127.0.0.1:{env[port_variable]}"
    return addresses


def setup_schemas(env: dict[str, str]) -> None:
    """Each service's tables, created with its own credentials (runtime.provisioning) where it has them."""
    for service in SERVICES:
        subprocess.run([sys.executable, "-m", f"{service.package}.bootstrap", "setup-schema"],
                       env=service_env(env, service.name), check=True)
    # The province's catalogue as events (records nothing when the file did not change).
    subprocess.run([sys.executable, "-m", "motcua_intake.bootstrap", "import-catalogue"],
                   env=service_env(env, "intake"), check=True)


def check_ports_free(env: dict[str, str]) -> None:
    for service in SERVICES:
        for variable in [service.address_variable] + ([service.callback_variable] if service.callback_port else []):
            host, port = env[variable].rsplit(":", 1)
            _check_port_free(host, int(port), service.name, variable)


def _check_port_free(host: str, port: int, what: str, variable: str) -> None:
    import socket

    with socket.socket() as probe:
        if probe.connect_ex((host, port)) == 0:
            raise SystemExit(f"{what}: {host}:{port} is already in use (is another motcua running?). "
                             f"Stop it, or set {variable}.")


def wait_answering(address: str, timeout: float = 60.0) -> None:
    """Until GET /health at host:port answers 200."""
    import urllib.request

    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"http://{address}/health", timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"the HTTP server at {address} did not answer")
        time.sleep(0.2)


def wait_serving(address: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    with grpc.insecure_channel(address) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        while True:
            try:
                if stub.Check(health_pb2.HealthCheckRequest(), timeout=1).status == health_pb2.HealthCheckResponse.SERVING:
                    return
            except grpc.RpcError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"gRPC server at {address} did not become SERVING")
            time.sleep(0.2)


class Supervisor:
    def __init__(self, env: dict[str, str], log_dir: Path | None, output: IO[str] | None = None,
                 sandboxes: dict[str, list[str]] | None = None, sandboxes_dir: Path | None = None) -> None:
        self.env = env
        self.log_dir = log_dir
        self.output = output
        self.commands = {name: cmd for s in SERVICES for name, cmd in s.commands().items()}
        self.sandboxes = dict(sandboxes or {})  # name -> command, run from sandboxes_dir
        self.sandboxes_dir = sandboxes_dir
        self.commands.update(self.sandboxes)
        self.children: dict[str, subprocess.Popen] = {}
        self.restarts: dict[str, int] = {}
        self._output_lock = threading.Lock()
        self._copiers: list[threading.Thread] = []

    def start(self, name: str) -> subprocess.Popen:
        if name in self.sandboxes:
            env, cwd = sandbox_env(self.env), self.sandboxes_dir
        else:
            service_name, process = name.rsplit("-", 1)
            service = next(s for s in SERVICES if s.name == service_name)
            env = {**service_env(self.env, service_name), "MOTCUA_METRICS_PORT": str(service.metrics_port(int(self.env.get("MOTCUA_METRICS_BASE_PORT", "9100")), process))}
            cwd = None
        if self.log_dir is not None:
            self.log_dir.mkdir(parents=True, exist_ok=True)
            stdout: IO[str] | int = open(self.log_dir / f"{name}.log", "a")  # noqa: SIM115 - lives as long as the child
        else:
            stdout = subprocess.PIPE  # merged below a line at a time: children sharing one output glue records
        child = subprocess.Popen(self.commands[name], env=env, stdout=stdout, stderr=subprocess.STDOUT,
                                 start_new_session=True, cwd=cwd)
        if child.stdout is not None:
            copier = threading.Thread(target=self._copy_lines, args=(child.stdout,), name=f"{name}-output", daemon=True)
            copier.start()
            self._copiers.append(copier)
        self.children[name] = child
        return child

    def _copy_lines(self, source: IO[bytes]) -> None:
        """One child's output into the merged output, whole lines only."""
        for line in iter(source.readline, b""):
            self.say(line.decode(errors="replace").rstrip("\n"))
        source.close()

    def say(self, line: str) -> None:
        """One whole line on the merged output (the runner's own lines too)."""
        with self._output_lock:
            out = self.output or sys.stdout
            out.write(line + "\n")
            out.flush()

    def start_all(self) -> None:
        for name in self.commands:
            self.start(name)

    def watch_once(self) -> None:
        for name, child in list(self.children.items()):
            code = child.poll()
            if code is not None:
                self.restarts[name] = self.restarts.get(name, 0) + 1
                self.say(f"!! {name} exited with {code}; restarting (restart {self.restarts[name]})")
                time.sleep(min(5, 0.5 * self.restarts[name]))
                self.start(name)

    def stop_all(self, grace: float = 10.0) -> None:
        for child in self.children.values():
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + grace
        for child in self.children.values():
            try:
                child.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.say(f"!! {self._name_of(child)} did not stop within {grace:.0f} s; killing it")
                child.kill()
                child.wait()
        for copier in self._copiers:
            copier.join(5)

    def _name_of(self, child: subprocess.Popen) -> str:
        return next((name for name, c in self.children.items() if c is child), str(child.pid))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="motcua-platform", description=__doc__.split("\n\n")[0])
    parser.add_argument("--env-file", type=Path, help="a province's environment file (see infra/local)")
    parser.add_argument("--log-dir", type=Path, default=None, help="write each process's log to a file here")
    args = parser.parse_args(argv)
    repo = Path(__file__).resolve().parents[5]
    env = platform_env(process_environment(args.env_file), repo)
    check_ports_free(env)
    if not Path(env["MOTCUA_DATA_DIR"]).is_dir():
        raise SystemExit(f"no province data at {env['MOTCUA_DATA_DIR']}: create it (see infra/provinces/) "
                         "or set MOTCUA_DATA_DIR")
    sandboxes = paygov_sandbox(env, repo, args.log_dir or repo / ".local")
    if sandboxes:
        _check_port_free("127.0.0.1", int(env["MOTCUA_PAYGOV_SANDBOX_PORT"]), "the PayGov sandbox",
                         "MOTCUA_PAYGOV_SANDBOX_PORT")
    sandboxes.update(bank_sandbox(env, args.log_dir or repo / ".local"))
    messaging = messaging_sandboxes(env, args.log_dir or repo / ".local")
    for name in messaging:
        variable = MESSAGING_PORT_VARIABLES[name]
        _check_port_free("127.0.0.1", int(env[variable]), f"the {name}", variable)
    sandboxes.update(messaging)
    print(f"==> province {env.get('MOTCUA_PROVINCE')}: creating schemas", flush=True)
    setup_schemas(env)
    supervisor = Supervisor(env, args.log_dir, sandboxes=sandboxes, sandboxes_dir=repo / "infra" / "sandboxes")
    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    supervisor.start_all()
    try:
        for service in SERVICES:
            wait_serving(env[service.address_variable])
        for address in http_addresses(env).values():
            wait_answering(address)
        supervisor.say("==> motcua is up. gRPC endpoints (health and reflection on each):")
        base = int(env.get("MOTCUA_METRICS_BASE_PORT", "9100"))
        for service in SERVICES:
            ports = ", ".join(str(service.metrics_port(base, p)) for p in ("grpc", "worker", "relay")) if base else "off"
            supervisor.say(f"    {service.name:<10} {env[service.address_variable]:<18} metrics: {ports}")
        for name, address in http_addresses(env).items():
            supervisor.say(f"    {name:<16} http://{address}")
        supervisor.say("    try: grpcurl -plaintext localhost:50051 list      (Ctrl-C stops everything)")
        while not stopping:
            supervisor.watch_once()
            time.sleep(0.5)
    finally:
        supervisor.say("==> stopping")
        supervisor.stop_all()
    return 0


SMTP_SANDBOX = "smtp-sandbox"
DEFAULT_SMTP_SANDBOX_PORT = 1025
#: the messaging gateways' sandboxes: name -> (URL variable, port variable, (protocol, default port))
MESSAGING_SANDBOXES = {
    "sms-sandbox": ("MOTCUA_SMS_GATEWAY_URL", "MOTCUA_SMS_SANDBOX_PORT", ("sms", 18090)),
    "zns-sandbox": ("MOTCUA_ZNS_URL", "MOTCUA_ZNS_SANDBOX_PORT", ("zns", 18091)),
}
MESSAGING_PORT_VARIABLES = {SMTP_SANDBOX: "MOTCUA_SMTP_SANDBOX_PORT",
                            **{name: port for name, (_, port, _) in MESSAGING_SANDBOXES.items()}}
SANDBOX_API_KEY = "SANDBOX-KEY"


def _generated_secret(path: Path) -> Path:
    """A secret generated once into `path` (0600), kept across runs."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as out:
            out.write(secrets.token_hex(32) + "\n")
    return path


def messaging_sandboxes(env: dict[str, str], state_dir: Path) -> dict[str, list[str]]:
    """Stand-ins for notification's providers where none is configured: an SMTP server (aiosmtpd, its
    own process, delivering into the maildir MOTCUA_SMTP_MAILDIR, `state_dir`/maildir by default, on
    MOTCUA_SMTP_SANDBOX_PORT, 1025 by default) unless MOTCUA_SMTP_ADDRESS is set, and the SMS and ZNS
    sandbox gateways (MOTCUA_SMS_SANDBOX_PORT 18090, MOTCUA_ZNS_SANDBOX_PORT 18091) unless
    MOTCUA_SMS_GATEWAY_URL / MOTCUA_ZNS_URL are set; their receipts are signed with a secret generated
    once into `state_dir` and called back to notification's receipts edge. `env` gets the settings."""
    commands: dict[str, list[str]] = {}
    if not env.get("MOTCUA_SMTP_ADDRESS"):
        port = int(env.get("MOTCUA_SMTP_SANDBOX_PORT") or DEFAULT_SMTP_SANDBOX_PORT)
        maildir = Path(env.get("MOTCUA_SMTP_MAILDIR") or state_dir / "maildir")
        env.update({"MOTCUA_SMTP_SANDBOX_PORT": str(port), "MOTCUA_SMTP_MAILDIR": str(maildir),
                    "MOTCUA_SMTP_ADDRESS": f"127.0.0.1:{port}"})
        commands[SMTP_SANDBOX] = [sys.executable, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{port}",
                                  "-c", "aiosmtpd.handlers.Mailbox", str(maildir)]
    callback = env[service("notification").callback_variable]
    for name, (variable, port_variable, (protocol, default_port)) in MESSAGING_SANDBOXES.items():
        if env.get(variable):
            continue
        port = int(env.get(port_variable) or default_port)
        secret = Path(env.get("MOTCUA_MESSAGING_RECEIPTS_SECRET_FILE") or state_dir / "messaging-receipts.secret")
        env.update({port_variable: str(port), variable: f"http://127.0.0.1:{port}",
                    "MOTCUA_MESSAGING_RECEIPTS_SECRET_FILE": str(_generated_secret(secret))})
        env.setdefault("MOTCUA_SMS_API_KEY" if protocol == "sms" else "MOTCUA_ZNS_ACCESS_TOKEN", SANDBOX_API_KEY)
        if protocol == "sms":
            env.setdefault("MOTCUA_SMS_BRANDNAME", "UBND-QTRI")
        commands[name] = [sys.executable, "-m", "messaging_sandbox", "--protocol", protocol, "--port", str(port),
                          "--secret-file", str(secret), "--callback-url", f"http://{callback}/notification/receipts",
                          "--api-key", SANDBOX_API_KEY,
                          "--retry-seconds", env.get("MOTCUA_MESSAGING_SANDBOX_RETRY_SECONDS", "5")]
    return commands



def local_rating_url(env: dict[str, str]) -> str:
    """The rating link notification sends after a result is returned, when none is configured: the
    local evaluation edge's RateDossier for the dossier (`{dossier_id}` filled in by notification);
    there is no rating web page locally, so the link names the RPC a client calls (see
    services/evaluation/README.md). A province sets its portal's page instead."""
    return (f"grpc://{env[service('evaluation').address_variable]}/motcua.evaluation.v1.EvaluationService/"
            "RateDossier?dossier_id={dossier_id}")


if __name__ == "__main__":
    sys.exit(main())
