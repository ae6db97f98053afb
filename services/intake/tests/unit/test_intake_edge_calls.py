"""Every RPC of intake's gRPC service is declared to the edge (DossierCalls), so a new read RPC
cannot be added without saying what it records."""
from __future__ import annotations

from types import SimpleNamespace

from motcua_intake.entrypoints.grpc_server import dossier_calls


def test_every_rpc_is_declared_and_the_reads_are_recorded_by_the_app():
    recorded = []
    calls = dossier_calls(SimpleNamespace(record_read=lambda *read: recorded.append(read)))  # type: ignore[arg-type]
    calls.check_complete()
    calls.record_read("actor", "id", "code", "what")
    assert recorded == [("actor", "id", "code", "what")]
    assert all(what.startswith("intake.") and what.endswith(rpc) for rpc, what in calls.reads.items())
