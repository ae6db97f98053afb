"""Ratings and scorecards as motcua.evaluation.v1 messages, and requests as domain values."""
from __future__ import annotations

from datetime import datetime, timezone
from uuid import UUID

from google.protobuf.timestamp_pb2 import Timestamp

from motcua.evaluation.v1 import evaluation_pb2 as pb
from motcua_common.errors import FieldViolation, InvalidArgument

from motcua_evaluation.domain.scorecard import NO_DATA, NO_DOSSIERS, NOT_APPLICABLE, SCORED, Scorecard

STATUS = {SCORED: pb.INDICATOR_STATUS_SCORED, NO_DATA: pb.INDICATOR_STATUS_NO_DATA,
          NO_DOSSIERS: pb.INDICATOR_STATUS_NO_DOSSIERS, NOT_APPLICABLE: pb.INDICATOR_STATUS_NOT_APPLICABLE}


def parse_uuid(value: str, field: str) -> UUID:
    if not value:
        raise InvalidArgument.single(field, "is required")
    try:
        return UUID(value)
    except ValueError:
        raise InvalidArgument.single(field, "is not a UUID") from None


def timestamp(value: datetime | None) -> Timestamp | None:
    if value is None:
        return None
    ts = Timestamp()
    ts.FromDatetime(value.astimezone(timezone.utc))
    return ts


def instant(message: pb.GetScorecardRequest, field: str, required: bool) -> datetime | None:
    if not message.HasField(field):
        if required:
            raise InvalidArgument.single(field, "is required")
        return None
    return getattr(message, field).ToDatetime(tzinfo=timezone.utc)


def answers_from(answers) -> dict[str, int]:  # type: ignore[no-untyped-def]
    found: dict[str, int] = {}
    repeated = []
    for index, answer in enumerate(answers):
        if answer.criterion in found:
            repeated.append(FieldViolation(f"answers[{index}].criterion", f"{answer.criterion} is answered twice"))
        found[answer.criterion] = answer.level
    if repeated:
        raise InvalidArgument(repeated)
    return found


def rating_to_proto(view: dict) -> pb.Rating:
    return pb.Rating(rating_id=str(view["id"]), dossier_id=str(view["dossier_id"]), dossier_code=view["dossier_code"],
                     unit_code=view["unit_code"], survey_version=view["survey_version"],
                     answers=[pb.RatingAnswer(criterion=c, level=v) for c, v in view["answers"].items()],
                     dissatisfied=view["dissatisfied"], via=view["via"], rated_at=timestamp(view["rated_at"]),
                     has_comment=view["has_comment"], comment=view["comment"] or "")


def scorecard_to_proto(card: Scorecard, as_of: datetime | None) -> pb.GetScorecardResponse:
    groups = []
    for g in card.groups:
        indicators = [pb.Indicator(code=i.code, name=i.name, status=STATUS[i.status], max_points=i.max_points,
                                   formula=i.formula, points=i.points or 0.0, numerator=i.numerator or 0,
                                   denominator=i.denominator or 0, ratio=i.ratio or 0.0,
                                   numerator_dossier_ids=list(i.numerator_ids),
                                   shortfall_dossier_ids=list(i.shortfall_ids), missing_inputs=list(i.missing_inputs),
                                   methodology=i.methodology)
                      for i in g.indicators]
        groups.append(pb.Group(code=g.code, name=g.name, max_points=g.max_points, points=g.points,
                               points_scored_out_of=g.points_scored_out_of, indicators=indicators))
    return pb.GetScorecardResponse(methodology=card.methodology, period_start=timestamp(card.period.start),
                                   period_end=timestamp(card.period.end), unit_codes=list(card.units), groups=groups,
                                   total=card.total, points_scored_out_of=card.points_scored_out_of,
                                   as_of=timestamp(as_of))
