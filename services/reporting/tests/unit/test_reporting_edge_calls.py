"""Every RPC of the audit service is declared to the edge (DossierCalls); its reads are recorded by
the audit use cases themselves, so the edge records none."""
from __future__ import annotations

from types import SimpleNamespace

from motcua_reporting.entrypoints.grpc_server import servicers


def test_every_rpc_is_declared_and_the_edge_records_no_read_of_its_own():
    _, names, [calls] = servicers(SimpleNamespace())  # type: ignore[arg-type]
    calls.check_complete()
    assert calls.service in names and calls.reads == {}
