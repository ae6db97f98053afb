"""The services of the platform and the processes each runs (gRPC edge, nameko worker, relay, and
for some an HTTP edge for outside systems' callbacks):
the one list the local runner, the test kit, replay and the chart (checked by charts/tests) follow."""
from __future__ import annotations

import sys
from dataclasses import dataclass


# Every service runs these processes: its gRPC edge, its nameko worker, its relay.
PROCESSES = ("grpc", "worker", "relay")
# A service that outside systems call back over HTTP also runs its HTTP edge (entrypoints/callback.py).
CALLBACK = "callback"


@dataclass(frozen=True)
class ServiceProcesses:
    """One service's processes: the single list the local runner, the test kit
    (motcua_testkit.plugin.service_command) and the chart (checked by charts/tests) follow."""

    name: str
    package: str
    port: int
    callback_port: int = 0  # its HTTP edge for outside systems' callbacks (0: none)

    @property
    def processes(self) -> tuple[str, ...]:
        return PROCESSES + ((CALLBACK,) if self.callback_port else ())

    @property
    def callback_variable(self) -> str:
        return f"MOTCUA_{self.name.upper()}_CALLBACK_ADDRESS"

    @property
    def address_variable(self) -> str:
        return f"MOTCUA_{self.name.upper()}_GRPC_ADDRESS"

    def metrics_port(self, base: int, process: str) -> int:
        """Prometheus port of one process: base + 10 x the service's place + 1 (grpc), 2 (worker), 3 (relay)."""
        if not base:
            return 0
        return base + 10 * SERVICES.index(self) + (PROCESSES + (CALLBACK,)).index(process) + 1

    def command(self, process: str, python: str = sys.executable) -> list[str]:
        return {
            "grpc": [python, "-m", f"{self.package}.entrypoints.grpc_server"],
            "worker": [python, "-m", "motcua_common.runtime.nameko_main",
                       f"{self.package}.entrypoints.service:{self.name.capitalize()}Service"],
            "relay": [python, "-m", f"{self.package}.entrypoints.relay"],
            CALLBACK: [python, "-m", f"{self.package}.entrypoints.callback"],
        }[process]

    def commands(self) -> dict[str, list[str]]:
        return {f"{self.name}-{process}": self.command(process) for process in self.processes}


# The services of the platform. Metrics ports follow the place in this list: a new service goes
# last, so no port moves.
SERVICES = [
    ServiceProcesses("intake", "motcua_intake", 50051),
    ServiceProcesses("workflow", "motcua_workflow", 50052),
    ServiceProcesses("reporting", "motcua_reporting", 50056),
    ServiceProcesses("payment", "motcua_payment", 50053, callback_port=8053),
    ServiceProcesses("notification", "motcua_notification", 50054, callback_port=8054),
    ServiceProcesses("evaluation", "motcua_evaluation", 50055),
]


def service(name: str) -> ServiceProcesses:
    return next(s for s in SERVICES if s.name == name)
