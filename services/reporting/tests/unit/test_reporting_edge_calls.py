"""Every RPC of the audit service is declared to the edge (DossierCalls); its reads are recorded by
the audit use cases themselves, so the edge records none. StreamHistory pages through the edge."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from types import SimpleNamespace
from uuid import uuid4

import grpc

from motcua.audit.v1 import audit_pb2, audit_pb2_grpc
from motcua_common.audit.log import Signer, TrustedKeys
from motcua_common.config.clock import FixedClock
from motcua_common.edge.grpc_server import create_server
from motcua_common.events.in_memory import in_memory_env

from motcua_reporting.application import ReportingApplication
from motcua_reporting.entrypoints.grpc_server import STREAM_PAGE, servicers
from reporting_memory import InMemoryHistories, history_row


def test_every_rpc_is_declared_and_the_edge_records_no_read_of_its_own():
    _, names, [calls] = servicers(SimpleNamespace())  # type: ignore[arg-type]
    calls.check_complete()
    assert calls.service in names and calls.reads == {}


def test_stream_history_pages_a_long_history_through_the_edge_and_records_one_read():
    start = datetime(2026, 11, 23, 1, 0, tzinfo=timezone.utc)
    dossier_id = uuid4()
    rows = [history_row("workflow", "Case.StepAssigned", start + timedelta(seconds=n), dossier_id, "C-1", n)
            for n in range(1, 2 * STREAM_PAGE + 2)]
    signer = Signer(b"\x01" * 32)
    app = ReportingApplication(env=in_memory_env(), province="test", clock=FixedClock(start),
                               histories=InMemoryHistories(rows), signer=signer,
                               trust=TrustedKeys([signer.public_key]), verify_source=lambda *a: {})
    add, names, calls = servicers(app)

    def register(server):  # type: ignore[no-untyped-def]
        add(server)
        return names

    server, port, _ = create_server("127.0.0.1:0", register, max_workers=2, dossier_calls=calls)
    server.start()
    try:
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            pages = list(audit_pb2_grpc.AuditServiceStub(channel).StreamHistory(
                audit_pb2.StreamHistoryRequest(dossier_code="C-1"), timeout=10))
    finally:
        server.stop(0)
    assert [len(p.events) for p in pages] == [STREAM_PAGE, STREAM_PAGE, 1]
    assert [e.position for p in pages for e in p.events] == list(range(1, 2 * STREAM_PAGE + 2))
    assert app.head_position() == 1  # one DossierRead.Recorded, by the use case (the edge adds none)
    app.close()
