"""Evaluation's use cases: rate a dossier, read its rating, compute a unit's scorecard for a period."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Iterable, Protocol
from uuid import UUID
from zoneinfo import ZoneInfo

from eventsourcing.persistence import IntegrityError

from motcua_common.audit.access import AccessDenied, DossierRead
from motcua_common.audit.log import CHAIN
from motcua_common.config.clock import Clock
from motcua_common.errors import InvalidArgument, NotFound, PermissionDenied, RuleViolated
from motcua_common.events.context import Actor, CommandContext, command_context, concerning
from motcua_common.events.idempotency import IdempotentRequest
from motcua_common.events.store import MotcuaApplication
from motcua_common.privacy.sealing import SubjectErased

from motcua_evaluation.domain.facts import DossierFacts
from motcua_evaluation.domain.methodology import MethodologyBook
from motcua_evaluation.domain.projection import with_rating
from motcua_evaluation.domain.rating import Rating
from motcua_evaluation.domain.scorecard import Period, Scorecard, compute

VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")


class DossierFactsSource(Protocol):
    """The per-dossier facts projected from the published events (domain.projection)."""

    def get(self, dossier_id: UUID, as_of: datetime | None = None) -> DossierFacts | None: ...

    def all(self, as_of: datetime | None = None) -> Iterable[DossierFacts]:
        """Every dossier's facts from the events recorded by `as_of` (None: every event so far)."""


class Vault(Protocol):
    """Seals personal data under a subject's own key (motcua_common.privacy.sealing.SubjectVault)."""

    def seal(self, subject_id: UUID, data: dict) -> str: ...

    def unseal(self, subject_id: UUID, sealed: str) -> dict: ...


def rating_view(rating: Rating, comment: str | None) -> dict:
    return {"id": rating.id, "dossier_id": rating.dossier_id, "dossier_code": rating.dossier_code,
            "unit_code": rating.unit_code, "survey_version": rating.survey_version, "answers": dict(rating.answers),
            "dissatisfied": rating.dissatisfied, "via": rating.via, "rated_at": rating.rated_at,
            "has_comment": bool(rating.sealed_comment), "comment": comment, "version": rating.version}


class EvaluationApplication(MotcuaApplication):
    chain = CHAIN
    reads = DossierRead
    denials = AccessDenied
    name = "evaluation"

    def __init__(self, env: dict[str, str], *, province: str, clock: Clock, methodology: MethodologyBook,
                 facts: DossierFactsSource, vault: Vault) -> None:
        super().__init__(env=env)
        self.province = province
        self.clock = clock
        self.methodology = methodology
        self.facts = facts
        self.vault = vault

    def _context(self, actor: Actor) -> CommandContext:
        return CommandContext(actor=actor, province=self.province, clock=self.clock)

    def access_target(self, dossier_id: UUID) -> dict | None:
        """What the edge decides a call about a dossier on: its handling unit and applicant (None: a
        dossier evaluation has not seen)."""
        facts = self.facts.get(dossier_id)
        if facts is None:
            return None
        return {"unit": facts.unit_code, "applicant": facts.applicant_subject, "dossier_id": dossier_id,
                "dossier_code": facts.dossier_code}

    # -- ratings --------------------------------------------------------------------------------
    def rate_dossier(self, idempotency_key: str, dossier_id: UUID, answers: dict[str, int], via: str,
                     comment: str, actor: Actor, applicant: str) -> dict:
        """The applicant rates a dossier whose result was returned; once per dossier (a repeat of the
        same request with its key is answered with the first rating, another rating is refused).
        `applicant`: the pseudonymous subject id of the person rating, as the edge verified it (a
        citizen's own, or the one a kiosk or portal acts for); it must be the dossier's applicant."""
        idempotent = IdempotentRequest(self, self.province, "RateDossier", actor, idempotency_key,
                                       {"dossier_id": dossier_id, "answers": answers, "via": via, "comment": comment,
                                        "applicant": applicant})
        if idempotent.answered:
            return self.rating_of(dossier_id, with_comment=False)
        facts = self.facts.get(dossier_id)
        if facts is None:
            raise NotFound("dossier_id", f"dossier {dossier_id} is not known to evaluation")
        if not applicant:
            raise InvalidArgument.single("applicant", "a rating is the applicant's: name the applicant it is for")
        if applicant != facts.applicant_subject:
            raise PermissionDenied("only the dossier's applicant rates it")
        if facts.result_returned_at is None:
            raise RuleViolated("RESULT_NOT_RETURNED", f"dossier {facts.dossier_code} is rated once its result "
                                                      "was returned")
        if self.get_or_none(Rating.id_for(self.province, dossier_id)) is not None:
            raise RuleViolated("ALREADY_RATED", f"dossier {facts.dossier_code} was already rated: a rating is "
                                                "given once and not replaced")
        now = self.clock.now()
        survey = self.methodology.in_force(now.astimezone(VIETNAM).date()).survey
        with command_context(self._context(actor)), concerning(dossier_id, dossier_code=facts.dossier_code):
            rating = Rating.submit(self.province, dossier_id, facts.dossier_code, facts.unit_code,
                                   facts.procedure_code, survey, answers, via, applicant, comment,
                                   lambda text: self.vault.seal(UUID(applicant), {"comment": text}), now)
            record = idempotent.record(rating.id, rating.version)
        try:
            self.record(rating, record)
        except IntegrityError:  # rated meanwhile by a concurrent request
            raise RuleViolated("ALREADY_RATED", f"dossier {facts.dossier_code} was already rated") from None
        return rating_view(rating, None)

    def rating_of(self, dossier_id: UUID, with_comment: bool = True) -> dict:
        """A dossier's rating; its comment unsealed when asked (None once the applicant was erased)."""
        rating = self.get_or_none(Rating.id_for(self.province, dossier_id))
        if not isinstance(rating, Rating):
            raise NotFound("dossier_id", f"dossier {dossier_id} has no rating")
        comment = None
        if with_comment and rating.sealed_comment:
            try:
                comment = self.vault.unseal(UUID(rating.applicant), rating.sealed_comment)["comment"]
            except SubjectErased:
                comment = None
        return rating_view(rating, comment)

    # -- the scorecard --------------------------------------------------------------------------
    def scorecard(self, period: Period, units: Iterable[str] = (), unit_level: str = "",
                  methodology: str = "", as_of: datetime | None = None) -> Scorecard:
        """The scorecard of `units` (none: the province) for `period`, by the methodology in force on
        the period's last day in Vietnam (or the version named), each dossier's rating included; as
        the province saw it at `as_of` (the events and ratings recorded by then; None: now). The
        period is judged at its end either way."""
        if period.end <= period.start:
            raise InvalidArgument.single("period", "must end after it starts")
        as_of = as_of or self.clock.now()
        chosen = (self.methodology.named(methodology) if methodology
                  else self.methodology.in_force(_last_day(period)))
        facts = [self._with_rating(f, as_of) for f in self.facts.all(as_of)]
        return compute(chosen, facts, period, units=units, unit_level=unit_level)

    def _with_rating(self, facts: DossierFacts, as_of: datetime) -> DossierFacts:
        rating = self.get_or_none(Rating.id_for(self.province, UUID(facts.dossier_id)))
        if rating is None or rating.rated_at > as_of:
            return facts
        return with_rating(facts, rating.rated_at, rating.dissatisfied)


def _last_day(period: Period) -> date:
    """The period's last day in Vietnam (its end is exclusive)."""
    return (period.end - timedelta(microseconds=1)).astimezone(VIETNAM).date()
