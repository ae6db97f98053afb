"""AuditService.ListSecurityEvents through the edge: criteria checked from the proto's field
options (the field named), forged page tokens refused, rows mapped with their actor and count."""
from __future__ import annotations

import base64
from datetime import datetime, timedelta, timezone

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from motcua.audit.v1 import audit_pb2, audit_pb2_grpc
from motcua_common.audit.log import Signer, TrustedKeys
from motcua_common.config.clock import FixedClock
from motcua_common.edge.grpc_server import create_server
from motcua_common.events.in_memory import in_memory_env

from motcua_reporting.adapters.security_events import SecurityEventRow
from motcua_reporting.application import ReportingApplication
from motcua_reporting.entrypoints.grpc_server import servicers
from reporting_memory import InMemoryHistories

AT = datetime(2026, 12, 3, 8, 0, tzinfo=timezone.utc)
GET = "motcua.intake.v1.IntakeService/GetDossier"


class Recorded:
    """Three denials, newest first, as the table pages them."""

    def __init__(self) -> None:
        self.rows = [SecurityEventRow("intake", 10 - n, AT - timedelta(minutes=n), AT - timedelta(minutes=n, seconds=50),
                                      GET, "dossier.read", "no token", {"kind": "anonymous", "subject": ""},
                                      "anonymous", "", 1 + n) for n in range(3)]
        self.asked: list = []

    def page(self, query, after, limit):  # type: ignore[no-untyped-def]
        self.asked.append((query, after, limit))
        return [r for r in self.rows if after is None or r.after < after][:limit]


@pytest.fixture
def stub():  # type: ignore[no-untyped-def]
    signer = Signer(b"\x01" * 32)
    recorded = Recorded()
    app = ReportingApplication(env=in_memory_env(), province="test", clock=FixedClock(AT),
                               histories=InMemoryHistories(), signer=signer, trust=TrustedKeys([signer.public_key]),
                               verify_source=lambda *a: {}, security_events=recorded)
    add, names, calls = servicers(app)

    def register(server):  # type: ignore[no-untyped-def]
        add(server)
        return names

    server, port, _ = create_server("127.0.0.1:0", register, max_workers=2, dossier_calls=calls)
    server.start()
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        yield audit_pb2_grpc.AuditServiceStub(channel), recorded
    server.stop(0)
    app.close()


def refused_fields(call, request) -> list[str]:  # type: ignore[no-untyped-def]
    with pytest.raises(grpc.RpcError) as raised:
        call(request, timeout=10)
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    bad = error_details_pb2.BadRequest()
    assert rpc_status.from_call(raised.value).details[0].Unpack(bad)
    return [v.field for v in bad.field_violations]


def test_pages_of_security_events_carry_who_what_why_and_how_many(stub):
    service, recorded = stub
    first = service.ListSecurityEvents(audit_pb2.ListSecurityEventsRequest(page_size=2, service="intake"), timeout=10)
    assert [(e.service, e.rpc, e.action, e.reason, e.actor.kind, e.count, e.position) for e in first.events] == [
        ("intake", GET, "dossier.read", "no token", "anonymous", 1, 10),
        ("intake", GET, "dossier.read", "no token", "anonymous", 2, 9)]
    assert first.events[0].recorded_at.ToDatetime(tzinfo=timezone.utc) == AT
    assert first.events[0].first_at.ToDatetime(tzinfo=timezone.utc) == AT - timedelta(seconds=50)
    second = service.ListSecurityEvents(audit_pb2.ListSecurityEventsRequest(
        page_size=2, service="intake", page_token=first.next_page_token), timeout=10)
    assert [e.position for e in second.events] == [8] and second.next_page_token == ""
    assert recorded.asked[0][0].service == "intake"


def test_evaluations_denials_are_listed_by_its_name(stub):
    """evaluation is followed: its refusals may be asked for by service."""
    service, recorded = stub
    service.ListSecurityEvents(audit_pb2.ListSecurityEventsRequest(page_size=2, service="evaluation"), timeout=10)
    assert recorded.asked[0][0].service == "evaluation"


@pytest.mark.parametrize(("request_fields", "field"), [
    ({"rpc": "x" * 201}, "rpc"),
    ({"service": "s" * 33}, "service"),
    ({"page_token": "t" * 201}, "page_token"),
    ({"page_token": "forged"}, "page_token"),
    ({"page_token": base64.urlsafe_b64encode(b"yesterday|intake|3").decode()}, "page_token"),
    ({"page_token": base64.urlsafe_b64encode(b"2026-12-03T08:00:00+00:00|payroll|3").decode()}, "page_token"),
    ({"page_token": base64.urlsafe_b64encode(b"2026-12-03T08:00:00+00:00|intake|99999999999999999999").decode()},
     "page_token"),
    ({"page_token": base64.urlsafe_b64encode(b"2026-12-03T08:00:00|intake|3").decode()}, "page_token"),  # no zone
    ({"page_token": base64.urlsafe_b64encode(b"\xff\xfe|x|1").decode()}, "page_token"),
    ({"since": Timestamp(seconds=int(AT.timestamp())), "until": Timestamp(seconds=int(AT.timestamp()))}, "until"),
    ({"service": "payroll"}, "service"),  # not a followed service
    ({"actor_kind": "robot"}, "actor_kind"),
    ({"page_size": 500}, "page_size"),
    ({"since": Timestamp(seconds=int(datetime(1980, 1, 1, tzinfo=timezone.utc).timestamp()))}, "since"),
])
def test_bad_criteria_are_invalid_argument_naming_the_field(stub, request_fields, field):
    service, recorded = stub
    assert refused_fields(service.ListSecurityEvents, audit_pb2.ListSecurityEventsRequest(**request_fields)) == [field]
    assert recorded.asked == []
