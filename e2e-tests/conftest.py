"""Start the platform the way `make run` does (motcua-platform), on a private province, and
hand tests gRPC channels only."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from typing import Iterator

import grpc
import pytest

from motcua_testkit.plugin import free_port, wait_until


@pytest.fixture(scope="module")
def platform(request, module_province, tmp_path_factory) -> Iterator[dict[str, str]]:  # type: ignore[no-untyped-def]
    tmp_path = tmp_path_factory.mktemp("platform")
    env = {**module_province.env, **getattr(request.module, "PLATFORM_ENV", {})}
    env["MOTCUA_INTAKE_GRPC_ADDRESS"] = f"127.0.0.1:{free_port()}"
    env["MOTCUA_WORKFLOW_GRPC_ADDRESS"] = f"127.0.0.1:{free_port()}"
    env["MOTCUA_REPORTING_GRPC_ADDRESS"] = f"127.0.0.1:{free_port()}"
    log_path = tmp_path / "platform.log"
    with open(log_path, "w") as log:
        runner = subprocess.Popen([sys.executable, "-m", "motcua_common.runtime.platform_runner", "--log-dir", str(tmp_path)],
                                  env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    def up() -> bool:
        if runner.poll() is not None:
            raise AssertionError("the platform runner exited")
        return "motcua is up" in log_path.read_text()

    try:
        wait_until(up, 90, "the platform to start", interval=0.1)
    except AssertionError as error:
        runner.kill()
        pytest.fail(f"the platform did not start ({error}):\n{log_path.read_text()[-3000:]}")
    yield {"intake": env["MOTCUA_INTAKE_GRPC_ADDRESS"], "workflow": env["MOTCUA_WORKFLOW_GRPC_ADDRESS"],
           "reporting": env["MOTCUA_REPORTING_GRPC_ADDRESS"], "log_dir": str(tmp_path), "env": env}
    os.killpg(runner.pid, signal.SIGINT)
    try:
        runner.wait(30)
    except subprocess.TimeoutExpired:
        os.killpg(runner.pid, signal.SIGKILL)


@pytest.fixture(scope="module")
def intake(platform):  # type: ignore[no-untyped-def]
    from motcua.intake.v1 import intake_pb2_grpc

    with grpc.insecure_channel(platform["intake"]) as channel:
        yield intake_pb2_grpc.IntakeServiceStub(channel)


@pytest.fixture(scope="module")
def workflow(platform):  # type: ignore[no-untyped-def]
    from motcua.workflow.v1 import workflow_pb2_grpc

    with grpc.insecure_channel(platform["workflow"]) as channel:
        yield workflow_pb2_grpc.WorkflowServiceStub(channel)


@pytest.fixture(scope="module")
def audit(platform):  # type: ignore[no-untyped-def]
    from motcua.audit.v1 import audit_pb2_grpc

    with grpc.insecure_channel(platform["reporting"]) as channel:
        yield audit_pb2_grpc.AuditServiceStub(channel)
