"""evaluation's gRPC edge (its own process; never inside nameko/eventlet)."""
from __future__ import annotations

from typing import Any

import grpc

from motcua.evaluation.v1 import evaluation_pb2 as pb
from motcua.evaluation.v1 import evaluation_pb2_grpc as pb_grpc
from motcua_common.edge.access import Guard, caller, caller_principal
from motcua_common.edge.grpc_server import DossierCalls, run_edge, serves
from motcua_common.errors import InvalidArgument
from motcua_common.identity.authorisation import Target
from motcua_common.observability.logs import bound, get_logger

from motcua_evaluation.adapters.proto import (answers_from, instant, parse_uuid, rating_to_proto,
                                              scorecard_to_proto)
from motcua_evaluation.application import EvaluationApplication
from motcua_evaluation.domain.scorecard import COMMUNE, Period

log = get_logger()
SERVICE_NAME = pb.DESCRIPTOR.services_by_name["EvaluationService"].full_name
UNIT_LEVELS = ("", COMMUNE)


class EvaluationServicer(pb_grpc.EvaluationServiceServicer):
    def __init__(self, app: EvaluationApplication) -> None:
        self.app = app

    def RateDossier(self, request: pb.RateDossierRequest, context: grpc.ServicerContext) -> pb.RateDossierResponse:
        actor = caller()
        principal = caller_principal()
        # the applicant rating: a citizen's own pseudonym, or the citizen a kiosk or portal acts for
        applicant = principal.applicant if principal is not None and principal.kind == "citizen" else actor.on_behalf_of
        view = self.app.rate_dossier(request.idempotency_key, parse_uuid(request.dossier_id, "dossier_id"),
                                     answers_from(request.answers), request.via, request.comment, actor, applicant)
        with bound(dossier_code=view["dossier_code"]):
            log.info("dossier_rated", dissatisfied=view["dissatisfied"], via=view["via"])
        serves(view["dossier_id"], view["dossier_code"])
        return pb.RateDossierResponse(rating=rating_to_proto(view))

    def GetRating(self, request: pb.GetRatingRequest, context: grpc.ServicerContext) -> pb.GetRatingResponse:
        view = self.app.rating_of(parse_uuid(request.dossier_id, "dossier_id"))
        serves(view["dossier_id"], view["dossier_code"])
        return pb.GetRatingResponse(rating=rating_to_proto(view))

    def GetScorecard(self, request: pb.GetScorecardRequest, context: grpc.ServicerContext) -> pb.GetScorecardResponse:
        if request.unit_level not in UNIT_LEVELS:
            raise InvalidArgument.single("unit_level", f"must be empty or {COMMUNE!r}")
        period = Period(instant(request, "period_start", True), instant(request, "period_end", True))
        as_of = instant(request, "as_of", False) or self.app.clock.now()
        card = self.app.scorecard(period, units=list(request.unit_codes), unit_level=request.unit_level,
                                  methodology=request.methodology, as_of=as_of)
        return scorecard_to_proto(card, as_of)


def servicers(app: EvaluationApplication):  # type: ignore[no-untyped-def]
    def add(server: grpc.Server) -> None:
        pb_grpc.add_EvaluationServiceServicer_to_server(EvaluationServicer(app), server)

    return add, [SERVICE_NAME], [dossier_calls(app)]


def guards(app: EvaluationApplication | None) -> dict[str, Guard]:
    """How the edge authorises each RPC: a rating on the dossier's handling unit and applicant (from
    evaluation's facts), the scorecard as a statistic (access-policy.yaml)."""
    def locate(request: Any) -> Target | None:
        facts = app.access_target(parse_uuid(request.dossier_id, "dossier_id")) if app is not None else None
        return None if facts is None else Target(**facts)

    return {
        "RateDossier": Guard("evaluation.rate", locate=locate, on_behalf_action="evaluation.rate_on_behalf"),
        "GetRating": Guard("evaluation.read_rating", locate=locate),
        "GetScorecard": Guard("statistics.read"),
    }


def dossier_calls(app: EvaluationApplication) -> DossierCalls:
    """The reads of a dossier the edge records (a rating's comment is personal data) and the guards."""
    return DossierCalls(SERVICE_NAME, reads={"GetRating": "evaluation.GetRating"},
                        others=frozenset({"RateDossier", "GetScorecard"}), record_read=app.record_read,
                        guards=guards(app))


def main() -> None:
    from motcua_evaluation.bootstrap import bootstrap

    run_edge("evaluation", 50055, servicers, bootstrap)


if __name__ == "__main__":
    main()
