"""A citizen's rating of how a dossier was handled, on the national satisfaction survey's criteria.

Rules stated here:
- A dossier is rated once its result was returned (national status 10), by its applicant (at the
  desk's kiosk, online, or through the link in a notification, acting for the applicant).
- Once per dossier: the rating's id is derived from the dossier, so a second rating cannot be
  stored. A second, different rating is refused (FAILED_PRECONDITION `ALREADY_RATED`); the same
  request repeated with its idempotency key is answered with the first rating. A rating is a
  fact the scorecard counted: replacing it would change a published period silently.
- Every criterion of the survey in force is answered with one of its levels; nothing else.
- The optional comment is the applicant's own words (personal data): it is sealed under the
  applicant's subject key (crypto-shredding: erasing the person makes it unreadable) and never
  stored in clear in the hash-chained event.
"""
from __future__ import annotations

import unicodedata
from datetime import datetime
from typing import Callable
from uuid import UUID

from eventsourcing.domain import event

from motcua_common.errors import FieldViolation, InvalidArgument
from motcua_common.events.domain import MotcuaAggregate
from motcua_common.events.ids import deterministic_id

from motcua_evaluation.domain.methodology import RatingSurvey

KIOSK, ONLINE, NOTIFICATION_LINK = "kiosk", "online", "notification_link"
VIAS = (KIOSK, ONLINE, NOTIFICATION_LINK)
MAX_COMMENT = 2000


def clean_comment(text: str) -> str:
    """The comment in Unicode NFC, trimmed; multi-line free text allows newline and tab only."""
    text = unicodedata.normalize("NFC", text or "").strip()
    if len(text) > MAX_COMMENT:
        raise InvalidArgument.single("comment", f"must be at most {MAX_COMMENT} characters")
    if any(unicodedata.category(c) == "Cc" and c not in "\n\t" for c in text):
        raise InvalidArgument.single("comment", "must not contain control characters (newline and tab are allowed)")
    return text


def check_answers(survey: RatingSurvey, answers: dict[str, int]) -> dict[str, int]:
    """Every criterion of the survey answered with one of its levels (field violations name each)."""
    violations = []
    levels = sorted(survey.level_values)
    for code in survey.criterion_codes:
        if code not in answers:
            violations.append(FieldViolation(f"answers.{code}", "is required: answer every criterion of the survey"))
        elif isinstance(answers[code], bool) or answers[code] not in survey.level_values:
            violations.append(FieldViolation(f"answers.{code}", f"must be one of the levels {levels}"))
    for code in sorted(set(answers) - set(survey.criterion_codes)):
        violations.append(FieldViolation(f"answers.{code}", f"is not a criterion of survey {survey.version}"))
    if violations:
        raise InvalidArgument(violations)
    return {code: int(answers[code]) for code in survey.criterion_codes}


class Rating(MotcuaAggregate):
    @staticmethod
    def id_for(province: str, dossier_id: UUID) -> UUID:
        """One rating per dossier: a second one for the same dossier cannot be saved."""
        return deterministic_id(province, "rating", str(dossier_id))

    class Submitted(MotcuaAggregate.Created):
        dossier_id: UUID
        dossier_code: str
        unit_code: str
        procedure_code: str
        survey_version: str
        answers: dict
        dissatisfied: bool
        via: str
        applicant: str  # the applicant's pseudonymous subject id
        sealed_comment: str  # "" without a comment; else sealed under the applicant's key
        rated_at: datetime

    @classmethod
    def submit(cls, province: str, dossier_id: UUID, dossier_code: str, unit_code: str, procedure_code: str,
               survey: RatingSurvey, answers: dict[str, int], via: str, applicant: str, comment: str,
               seal: Callable[[str], str], rated_at: datetime) -> "Rating":
        if via not in VIAS:
            raise InvalidArgument.single("via", f"must be one of {VIAS}")
        checked = check_answers(survey, answers)
        text = clean_comment(comment)
        return cls(id=cls.id_for(province, dossier_id), dossier_id=dossier_id, dossier_code=dossier_code,
                   unit_code=unit_code, procedure_code=procedure_code, survey_version=survey.version,
                   answers=checked, dissatisfied=survey.dissatisfied(checked), via=via, applicant=applicant,
                   sealed_comment=seal(text) if text else "", rated_at=rated_at)

    @event(Submitted)
    def __init__(self, id: UUID, dossier_id: UUID, dossier_code: str, unit_code: str, procedure_code: str,
                 survey_version: str, answers: dict, dissatisfied: bool, via: str, applicant: str,
                 sealed_comment: str, rated_at: datetime) -> None:
        self.dossier_id = dossier_id
        self.dossier_code = dossier_code
        self.unit_code = unit_code
        self.procedure_code = procedure_code
        self.survey_version = survey_version
        self.answers = dict(answers)
        self.dissatisfied = dissatisfied
        self.via = via
        self.applicant = applicant
        self.sealed_comment = sealed_comment
        self.rated_at = rated_at
