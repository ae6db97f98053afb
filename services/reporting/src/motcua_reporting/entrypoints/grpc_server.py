"""reporting's gRPC edge: motcua.audit.v1.AuditService (its own process; never inside nameko/eventlet)."""
from __future__ import annotations

from datetime import timezone
from typing import Iterator

import grpc

from motcua.audit.v1 import audit_pb2 as pb
from motcua.audit.v1 import audit_pb2_grpc as pb_grpc
from motcua_common.errors import InvalidArgument
from typing import Any

from motcua_common.edge.access import Guard, caller
from motcua_common.edge.grpc_server import DossierCalls, run_edge, serves
from motcua_common.identity.authorisation import Target

from motcua_reporting.adapters.proto import dossier_state, history_event, security_event, security_query, verification
from motcua_reporting.application import ReportingApplication


STREAM_PAGE = 100  # events per streamed message


class AuditServicer(pb_grpc.AuditServiceServicer):
    def __init__(self, app: ReportingApplication) -> None:
        self.app = app

    def StreamHistory(self, request: pb.StreamHistoryRequest,
                      context: grpc.ServicerContext) -> Iterator[pb.StreamHistoryResponse]:
        # The read is recorded (by the use case) before the first message; each page is built as it is sent.
        rows = self.app.history(caller(), request.dossier_id, request.dossier_code,
                                request.include_reads)
        serves(rows[0].dossier_id, rows[0].dossier_code)
        for i in range(0, len(rows), STREAM_PAGE):
            yield pb.StreamHistoryResponse(events=[history_event(r) for r in rows[i:i + STREAM_PAGE]])

    def GetStateAt(self, request: pb.GetStateAtRequest, context: grpc.ServicerContext) -> pb.GetStateAtResponse:
        if not request.HasField("as_of"):
            raise InvalidArgument.single("as_of", "is required: the instant to show the dossier at")
        as_of = request.as_of.ToDatetime(tzinfo=timezone.utc)
        state = self.app.state_at(caller(), request.dossier_id, request.dossier_code, as_of)
        return pb.GetStateAtResponse(state=dossier_state(state, as_of))

    def VerifyHistory(self, request: pb.VerifyHistoryRequest,
                      context: grpc.ServicerContext) -> pb.VerifyHistoryResponse:
        return verification(self.app.verify(caller(), request.dossier_id, request.dossier_code))

    def ExportHistory(self, request: pb.ExportHistoryRequest,
                      context: grpc.ServicerContext) -> pb.ExportHistoryResponse:
        filename, document = self.app.export(caller(), request.dossier_id, request.dossier_code,
                                             request.include_reads)
        return pb.ExportHistoryResponse(document=document, filename=filename)

    def ListSecurityEvents(self, request: pb.ListSecurityEventsRequest,
                           context: grpc.ServicerContext) -> pb.ListSecurityEventsResponse:
        rows, token = self.app.list_security_events(security_query(request), request.page_size, request.page_token)
        return pb.ListSecurityEventsResponse(events=[security_event(r) for r in rows], next_page_token=token)


def guards(app: ReportingApplication) -> dict[str, Guard]:
    """How the edge authorises each RPC: on the unit the dossier is at now (access-policy.yaml)."""
    def located(request: Any) -> Target | None:
        found = app.access_target(request.dossier_id, request.dossier_code)
        return None if found is None else Target(unit=found[2], dossier_id=found[0], dossier_code=found[1])

    read, export = Guard("history.read", locate=located), Guard("history.export", locate=located)
    return {"StreamHistory": read, "GetStateAt": read, "VerifyHistory": read, "ExportHistory": export,
            "ListSecurityEvents": Guard("security_events.list")}


def servicers(app: ReportingApplication):  # type: ignore[no-untyped-def]
    def add(server: grpc.Server) -> None:
        pb_grpc.add_AuditServiceServicer_to_server(AuditServicer(app), server)

    # Reporting's audit use cases record their reads themselves (ReportingApplication.history);
    # security events concern callers, not a dossier's personal data: no read to record.
    calls = DossierCalls(pb.DESCRIPTOR.services_by_name["AuditService"].full_name,
                         others=frozenset({"StreamHistory", "GetStateAt", "VerifyHistory", "ExportHistory",
                                           "ListSecurityEvents"}),
                         guards=guards(app))
    return add, [pb.DESCRIPTOR.services_by_name["AuditService"].full_name], [calls]


def main() -> None:
    from motcua_reporting.bootstrap import bootstrap

    run_edge("reporting", 50056, servicers, bootstrap)


if __name__ == "__main__":
    main()
