"""The demo province's identities for tests: the local identity provider started once per test run
(infra/local/idp.sh, as `make run` starts it) and gRPC channels that send a real token from it.

Which demo user calls which RPC by default follows how a day's work goes in one commune
(000.31.01.H45): the desk official receives and returns, the specialist processes, the leader
assigns, extends and signs, the inspector reads histories. A test that needs someone else says so
(`channel_as`). Tokens are never minted by a test: they come from the running IdP over HTTP.
"""
from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import grpc
import pytest

from motcua_common.identity.dev_tokens import DevTokens

REPO = Path(__file__).resolve().parents[4]
PROVINCE = "quang-tri"
STATE = REPO / ".local/idp" / PROVINCE

#: RPC name -> the demo user who makes it in the default channels (integrator clients prefixed "client:")
DEFAULT_CALLERS = {
    **dict.fromkeys(("SubmitDossier", "GetDossier", "WithdrawDossier", "RequestIntakeSupplement",
                     "SupplementDossier", "RefuseDossier", "GetReceiptForm", "GetIntakeForm", "SearchDossiers",
                     "ListProcedures", "ListUnits", "ReturnResult", "GetInvoice", "RecordCashPayment"), "canbo01"),
    **dict.fromkeys(("GetCase", "ListCases", "CompleteStep", "RequestSupplement", "ResumeCase", "StopProcessing",
                     "TransferCase", "GetResult", "VerifyResult"), "chuyenvien01"),
    **dict.fromkeys(("AssignStep", "ExtendDeadline", "SignResult"), "lanhdao01"),
    **dict.fromkeys(("StreamHistory", "GetStateAt", "VerifyHistory", "ExportHistory", "ListSecurityEvents"),
                    "thanhtra01"),
    "StartGatewayPayment": "congdan01",
    "Subscribe": "client:he-thong-bao-cao",
}


@dataclass
class IdentityProvider:
    tokens: DevTokens

    @property
    def env(self) -> dict[str, str]:
        """What an edge needs to verify this provider's tokens."""
        return {"MOTCUA_OIDC_ISSUER": self.tokens.issuer, "MOTCUA_OIDC_AUDIENCE": self.tokens.audience}

    def token(self, who: str) -> str:
        return self.tokens.for_client(who[7:]) if who.startswith("client:") else self.tokens.for_user(who)

    def metadata(self, who: str) -> tuple[tuple[str, str]]:
        return (("authorization", f"Bearer {self.token(who)}"),)


class _Bearer(grpc.UnaryUnaryClientInterceptor, grpc.UnaryStreamClientInterceptor):
    """Adds `authorization: Bearer <token>` of whoever `who(rpc)` names, unless the call sends its own."""

    def __init__(self, provider: IdentityProvider, who: Callable[[str], str | None]) -> None:
        self.provider, self.who = provider, who

    def _details(self, details: Any) -> Any:
        metadata = list(details.metadata or ())
        caller = self.who(details.method.rsplit("/", 1)[-1])
        if caller and not any(k == "authorization" for k, _ in metadata):
            metadata += self.provider.metadata(caller)
        return _Details(details.method, details.timeout, metadata, details.credentials,
                        getattr(details, "wait_for_ready", None), getattr(details, "compression", None))

    def intercept_unary_unary(self, continuation, details, request):  # type: ignore[no-untyped-def]
        return continuation(self._details(details), request)

    def intercept_unary_stream(self, continuation, details, request):  # type: ignore[no-untyped-def]
        return continuation(self._details(details), request)


class _Details(grpc.ClientCallDetails):
    def __init__(self, method, timeout, metadata, credentials, wait_for_ready, compression):  # type: ignore[no-untyped-def]
        self.method, self.timeout, self.metadata = method, timeout, metadata
        self.credentials, self.wait_for_ready, self.compression = credentials, wait_for_ready, compression


def channel_as(provider: IdentityProvider, address: str, who: str | None = None) -> grpc.Channel:
    """A channel to `address` whose calls carry `who`'s token (None: DEFAULT_CALLERS by RPC)."""
    chooser = (lambda rpc: who) if who else DEFAULT_CALLERS.get
    return grpc.intercept_channel(grpc.insecure_channel(address), _Bearer(provider, chooser))


def _idp(command: str) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", "infra/local/idp.sh", command], cwd=REPO, capture_output=True, text=True,
                          timeout=600, env={**os.environ, "PROVINCE": PROVINCE})


@pytest.fixture(scope="session")
def identity_provider() -> Iterator[IdentityProvider]:
    """The local identity provider with the demo realm; started here (and stopped after) unless running."""
    was_running = _idp("status").returncode == 0
    started = _idp("start")
    if started.returncode != 0:
        pytest.fail(f"the identity provider did not start:\n{started.stdout[-2000:]}\n{started.stderr[-2000:]}")
    yield IdentityProvider(DevTokens(STATE))
    if not was_running:
        _idp("stop")
