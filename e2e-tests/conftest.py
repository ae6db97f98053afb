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

from motcua_testkit.identities import channel_as
from motcua_testkit.plugin import free_ports, wait_until


@pytest.fixture(scope="module")
def platform(request, module_province, identity_provider, tmp_path_factory) -> Iterator[dict[str, str]]:  # type: ignore[no-untyped-def]
    tmp_path = tmp_path_factory.mktemp("platform")
    # Tests call far faster than people do: per-caller rate limits are tested on their own.
    generous = {"MOTCUA_RATE_LIMIT_CLIENT_PER_MINUTE": "1000000", "MOTCUA_RATE_LIMIT_CITIZEN_PER_MINUTE": "1000000"}
    env = {**module_province.env, **identity_provider.env, **generous, **getattr(request.module, "PLATFORM_ENV", {})}
    # every port at once, so no two of them coincide
    ports = iter(free_ports(12))
    for address in ("INTAKE_GRPC", "WORKFLOW_GRPC", "REPORTING_GRPC", "PAYMENT_GRPC", "PAYMENT_CALLBACK",
                    "NOTIFICATION_GRPC", "NOTIFICATION_CALLBACK", "EVALUATION_GRPC"):
        env[f"MOTCUA_{address}_ADDRESS"] = f"127.0.0.1:{next(ports)}"
    # the runner starts the sandbox gateway, an SMTP server and the messaging sandboxes there
    for sandbox in ("PAYGOV", "SMTP", "SMS", "ZNS"):
        env[f"MOTCUA_{sandbox}_SANDBOX_PORT"] = str(next(ports))
    env["MOTCUA_SMTP_MAILDIR"] = str(tmp_path / "maildir")
    env.setdefault("MOTCUA_MESSAGING_SANDBOX_RETRY_SECONDS", "0.2")
    env.setdefault("MOTCUA_PAYGOV_SANDBOX_RETRY_SECONDS", "0.2")
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
           "reporting": env["MOTCUA_REPORTING_GRPC_ADDRESS"], "payment": env["MOTCUA_PAYMENT_GRPC_ADDRESS"],
           "notification": env["MOTCUA_NOTIFICATION_GRPC_ADDRESS"], "evaluation": env["MOTCUA_EVALUATION_GRPC_ADDRESS"],
           "log_dir": str(tmp_path), "env": env,
           "runner_pid": runner.pid}
    os.killpg(runner.pid, signal.SIGINT)
    try:
        runner.wait(30)
    except subprocess.TimeoutExpired:
        os.killpg(runner.pid, signal.SIGKILL)


# The stubs' calls carry a real token from the identity provider: by default the demo user whose
# work the RPC is (motcua_testkit.identities.DEFAULT_CALLERS); `as_user` gives someone else's.
@pytest.fixture(scope="module")
def intake(platform, identity_provider):  # type: ignore[no-untyped-def]
    from motcua.intake.v1 import intake_pb2_grpc

    with channel_as(identity_provider, platform["intake"]) as channel:
        yield intake_pb2_grpc.IntakeServiceStub(channel)


@pytest.fixture(scope="module")
def workflow(platform, identity_provider):  # type: ignore[no-untyped-def]
    from motcua.workflow.v1 import workflow_pb2_grpc

    with channel_as(identity_provider, platform["workflow"]) as channel:
        yield workflow_pb2_grpc.WorkflowServiceStub(channel)


@pytest.fixture(scope="module")
def audit(platform, identity_provider):  # type: ignore[no-untyped-def]
    from motcua.audit.v1 import audit_pb2_grpc

    with channel_as(identity_provider, platform["reporting"]) as channel:
        yield audit_pb2_grpc.AuditServiceStub(channel)


@pytest.fixture(scope="module")
def as_user(platform, identity_provider):  # type: ignore[no-untyped-def]
    """as_user("canbo02", "intake") -> that service's stub whose calls carry canbo02's token."""
    from motcua.audit.v1 import audit_pb2_grpc
    from motcua.evaluation.v1 import evaluation_pb2_grpc
    from motcua.intake.v1 import intake_pb2_grpc
    from motcua.notification.v1 import notification_pb2_grpc
    from motcua.payment.v1 import payment_pb2_grpc
    from motcua.workflow.v1 import workflow_pb2_grpc

    stubs = {"notification": notification_pb2_grpc.NotificationServiceStub, "intake": intake_pb2_grpc.IntakeServiceStub, "workflow": workflow_pb2_grpc.WorkflowServiceStub,
             "reporting": audit_pb2_grpc.AuditServiceStub, "payment": payment_pb2_grpc.PaymentServiceStub,
             "evaluation": evaluation_pb2_grpc.EvaluationServiceStub}
    channels: list[grpc.Channel] = []

    def stub(who: str, service: str):  # type: ignore[no-untyped-def]
        channels.append(channel_as(identity_provider, platform[service], who))
        return stubs[service](channels[-1])

    yield stub
    for channel in channels:
        channel.close()
