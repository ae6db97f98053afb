"""intake's gRPC edge (its own process; never inside nameko/eventlet)."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any
from uuid import UUID

import grpc

from motcua.intake.v1 import intake_pb2 as pb
from motcua.intake.v1 import intake_pb2_grpc as pb_grpc
from motcua_common.errors import InvalidArgument
from motcua_common.events.event_stream import EVENT_STREAM_SERVICE, add_event_stream
from dataclasses import replace

from motcua_common.edge.access import Guard, caller, listing
from motcua_common.edge.grpc_server import DossierCalls, event_stream_calls, run_edge, serves
from motcua_common.errors import NotFound
from motcua_common.identity.authorisation import Target
from motcua_common.observability.logs import bound, get_logger

from motcua_intake.adapters.proto import (components_from_proto, dossier_to_proto, procedure_to_proto,
                                          dossier_summary_to_proto, search_from_proto, submit_from_proto,
                                          unit_to_proto)
from motcua_common.province.working_calendar import VIETNAM_TZ

from motcua_intake.application import IntakeApplication
from motcua_intake.domain.catalogue import LANGUAGES

log = get_logger()


class IntakeServicer(pb_grpc.IntakeServiceServicer):
    def __init__(self, app: IntakeApplication) -> None:
        self.app = app

    def _named_dossier(self, request: Any) -> UUID:
        """The id of the dossier a command names by id or by code."""
        ref = _dossier_ref(request)
        return ref["dossier_id"] if "dossier_id" in ref else self.app.dossier_id_for(ref["code"])

    def ListProcedures(self, request: pb.ListProceduresRequest, context: grpc.ServicerContext) -> pb.ListProceduresResponse:
        language, on = _language_and_day(request)
        # The fee schedule shown is the one in force on the day asked (today when not asked).
        fee_day = on or datetime.now(VIETNAM_TZ).date()
        return pb.ListProceduresResponse(procedures=[procedure_to_proto(p, language, fee_day)
                                                     for p in self.app.list_procedures(on)])

    def SearchDossiers(self, request: pb.SearchDossiersRequest,
                       context: grpc.ServicerContext) -> pb.SearchDossiersResponse:
        rows, token = self.app.search_dossiers(replace(search_from_proto(request), reach=listing()))
        return pb.SearchDossiersResponse(dossiers=[dossier_summary_to_proto(r) for r in rows], next_page_token=token)

    def ListUnits(self, request: pb.ListUnitsRequest, context: grpc.ServicerContext) -> pb.ListUnitsResponse:
        language, on = _language_and_day(request)
        units = self.app.list_units(on, request.include_closed)
        return pb.ListUnitsResponse(units=[unit_to_proto(u, self.app.organisation, language) for u in units])

    def SubmitDossier(self, request: pb.SubmitDossierRequest, context: grpc.ServicerContext) -> pb.SubmitDossierResponse:
        command = submit_from_proto(request)
        dossier = self.app.submit_dossier(command, caller())
        with bound(dossier_code=dossier["code"]):
            # A retry answered from its idempotency record received nothing new.
            log.info("dossier_replayed" if dossier.get("replayed") else "dossier_received",
                     procedure_code=dossier["procedure_code"], channel=dossier["channel"])
        return pb.SubmitDossierResponse(dossier=dossier_to_proto(dossier))

    def GetDossier(self, request: pb.GetDossierRequest, context: grpc.ServicerContext) -> pb.GetDossierResponse:
        dossier = self.app.get_dossier(**_dossier_ref(request))
        return pb.GetDossierResponse(dossier=dossier_to_proto(dossier))

    def WithdrawDossier(self, request: pb.WithdrawDossierRequest,
                        context: grpc.ServicerContext) -> pb.WithdrawDossierResponse:
        dossier = self.app.withdraw_dossier(request.idempotency_key, self._named_dossier(request),
                                            request.expected_version, request.reason, caller())
        return pb.WithdrawDossierResponse(dossier=dossier_to_proto(dossier))

    def GetReceiptForm(self, request: pb.GetReceiptFormRequest,
                       context: grpc.ServicerContext) -> pb.GetReceiptFormResponse:
        ref = _dossier_ref(request)
        dossier = self.app.get_dossier(**ref)
        serves(dossier["id"], dossier["code"])
        filename, content = self.app.receipt_form(dossier_id=dossier["id"])
        return pb.GetReceiptFormResponse(document=pb.Document(filename=filename, media_type="application/pdf",
                                                              content=content))


    def RequestIntakeSupplement(self, request: pb.RequestIntakeSupplementRequest,
                                context: grpc.ServicerContext) -> pb.RequestIntakeSupplementResponse:
        dossier = self.app.request_supplement(request.idempotency_key, self._named_dossier(request),
                                              request.expected_version, request.reason, caller())
        return pb.RequestIntakeSupplementResponse(dossier=dossier_to_proto(dossier))

    def SupplementDossier(self, request: pb.SupplementDossierRequest,
                          context: grpc.ServicerContext) -> pb.SupplementDossierResponse:
        components = components_from_proto(request.components)
        dossier = self.app.supplement_dossier(request.idempotency_key, self._named_dossier(request),
                                              request.expected_version, components, caller())
        return pb.SupplementDossierResponse(dossier=dossier_to_proto(dossier))

    def RefuseDossier(self, request: pb.RefuseDossierRequest, context: grpc.ServicerContext) -> pb.RefuseDossierResponse:
        dossier = self.app.refuse_dossier(request.idempotency_key, self._named_dossier(request),
                                          request.expected_version, request.reason, caller())
        return pb.RefuseDossierResponse(dossier=dossier_to_proto(dossier))

    def GetIntakeForm(self, request: pb.GetIntakeFormRequest, context: grpc.ServicerContext) -> pb.GetIntakeFormResponse:
        forms = {pb.INTAKE_FORM_SUPPLEMENT_REQUEST: "supplement_request", pb.INTAKE_FORM_REFUSAL: "refusal",
                 pb.INTAKE_FORM_APOLOGY: "apology"}
        if request.form not in forms:
            raise InvalidArgument.single("form", "choose INTAKE_FORM_SUPPLEMENT_REQUEST, INTAKE_FORM_REFUSAL or "
                                                 "INTAKE_FORM_APOLOGY")
        ref = _dossier_ref(request)
        dossier = self.app.get_dossier(**ref)
        serves(dossier["id"], dossier["code"])
        filename, content = self.app.intake_form(forms[request.form], dossier_id=dossier["id"])
        return pb.GetIntakeFormResponse(document=pb.Document(filename=filename, media_type="application/pdf",
                                                             content=content))


def _dossier_ref(request: Any) -> dict:
    """A dossier named by `dossier_id` or `dossier_code` (`code`, its older name, where a request has it)."""
    code = request.dossier_code or getattr(request, "code", "")
    if request.dossier_id and code:
        raise InvalidArgument.single("dossier_code", "give either dossier_id or dossier_code, not both")
    if request.dossier_id:
        try:
            return {"dossier_id": UUID(request.dossier_id)}
        except ValueError:
            raise InvalidArgument.single("dossier_id", "is not a UUID") from None
    if len(code) > 64:
        raise InvalidArgument.single("dossier_code", "must be at most 64 characters")
    if not code:
        raise InvalidArgument.single("dossier_id", "give the dossier's id or its code (dossier_code)")
    return {"code": code}


def _target(row: dict | None) -> Target | None:
    if row is None:
        return None
    return Target(unit=row["receiving_agency_code"], applicant=str(row["applicant_subject"] or ""),
                  client=row["client"], dossier_id=row["dossier_id"], dossier_code=row["dossier_code"])


def guards(app: IntakeApplication) -> dict[str, Guard]:
    """How the edge authorises each RPC (access-policy.yaml names the actions)."""
    def named(request: Any) -> Target | None:
        ref = _dossier_ref(request)
        return _target(app.access_target(dossier_id=ref.get("dossier_id"), code=ref.get("code", "")))

    def submitted(request: pb.SubmitDossierRequest) -> Target:
        # Decided on the unit that receives the procedure and on the applicant (a citizen submits for
        # themselves). The request is checked first, and the catalogue is public: an unknown
        # procedure is NOT_FOUND for anyone.
        submit_from_proto(request)
        procedure = app.catalogue.get(request.procedure_code)
        if procedure is None:
            raise NotFound("procedure_code", f"procedure {request.procedure_code!r} is not in this province's catalogue")
        return Target(unit=procedure.receiving_agency_code, applicant=app.applicant_subject(request.applicant))

    read = Guard("dossier.read", locate=named)
    return {
        "ListProcedures": Guard("catalogue.read"), "ListUnits": Guard("catalogue.read"),
        "SearchDossiers": Guard("dossier.list", listing=True),
        "SubmitDossier": Guard("dossier.submit", locate=submitted, on_behalf_action="dossier.submit_on_behalf"),
        "GetDossier": read, "GetReceiptForm": read, "GetIntakeForm": read,
        "WithdrawDossier": Guard("dossier.withdraw", locate=named),
        "RequestIntakeSupplement": Guard("dossier.request_supplement", locate=named),
        "SupplementDossier": Guard("dossier.supplement", locate=named),
        "RefuseDossier": Guard("dossier.refuse", locate=named),
    }


def dossier_calls(app: IntakeApplication) -> DossierCalls:
    """The reads of a dossier the edge records and how it authorises each RPC (DossierCalls)."""
    return DossierCalls(
        pb.DESCRIPTOR.services_by_name["IntakeService"].full_name,
        reads={"GetDossier": "intake.GetDossier", "GetReceiptForm": "intake.GetReceiptForm",
               "GetIntakeForm": "intake.GetIntakeForm"},
        others=frozenset({"ListProcedures", "SearchDossiers", "ListUnits", "SubmitDossier", "WithdrawDossier",
                          "RequestIntakeSupplement", "SupplementDossier", "RefuseDossier"}),
        record_read=app.record_read, guards=guards(app))


def _language_and_day(request) -> tuple:  # type: ignore[no-untyped-def]
    """A listing's language (Vietnamese by default) and the day, in Vietnam, it is asked `as_of` (None: today)."""
    language = request.language or "vi"
    if language not in LANGUAGES:
        raise InvalidArgument.single("language", f"must be one of {', '.join(LANGUAGES)}")
    on = None
    if request.HasField("as_of"):
        on = request.as_of.ToDatetime(tzinfo=timezone.utc).astimezone(VIETNAM_TZ).date()
    return language, on


def servicers(app: IntakeApplication):  # type: ignore[no-untyped-def]
    def add(server: grpc.Server) -> None:
        pb_grpc.add_IntakeServiceServicer_to_server(IntakeServicer(app), server)
        add_event_stream(server, app)  # integrators follow the published events

    return add, [pb.DESCRIPTOR.services_by_name["IntakeService"].full_name, EVENT_STREAM_SERVICE],\
        [dossier_calls(app), event_stream_calls()]


def main() -> None:
    from motcua_intake.bootstrap import bootstrap

    run_edge("intake", 50051, servicers, bootstrap)


if __name__ == "__main__":
    main()
