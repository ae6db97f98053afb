"""Evaluation's published events (protos/motcua/evaluation/events/v1): its stored Rating events,
upcast, mapped to the contract other services and integrators read. The sealed comment is never
published: only whether there is one."""
from __future__ import annotations

from typing import Any

from motcua.evaluation.events.v1 import events_pb2 as pb
from motcua_common.audit.access import AccessDenied, DossierRead
from motcua_common.events.published import Publication, map_access_denied, map_dossier_read, timestamp

from motcua_evaluation.domain.rating import Rating


def _submitted(e: Any) -> pb.RatingSubmitted:
    return pb.RatingSubmitted(
        rating_id=str(e.originator_id), dossier_id=str(e.dossier_id), dossier_code=e.dossier_code,
        unit_code=e.unit_code, procedure_code=e.procedure_code, survey_version=e.survey_version,
        answers=[pb.RatingAnswer(criterion=code, level=int(level)) for code, level in e.answers.items()],
        dissatisfied=bool(e.dissatisfied), via=e.via, applicant_subject_id=e.applicant,
        has_comment=bool(e.sealed_comment), rated_at=timestamp(e.rated_at))


def publication() -> Publication:
    return Publication("evaluation", {
        Rating.Submitted: _submitted,
        DossierRead.Recorded: map_dossier_read,
        AccessDenied.Recorded: map_access_denied,
    })
