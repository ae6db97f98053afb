"""The Decision 766 scorecard of a unit (or a set of units) for a period, from per-dossier facts.

Every indicator is `min(P, P × R / T)` for a ratio R that its measure computes from the facts
(weights P and thresholds T are the methodology's data). Each figure carries its numerator,
denominator, the formula, the points, the methodology version, and the dossiers behind it: those
counted in the numerator and those that cost points (`shortfall_ids`), so a leader can ask which
dossiers cost the unit its points. An indicator whose inputs have no source yet is "no data"
(never a made-up value); one with an empty denominator is "no dossiers"; one that does not apply
at commune level is "not applicable". The total adds the scored indicators only, and says out of
how many points (`points_scored_out_of`).

The period is judged at its end (DOMAIN.md "Time"): a dossier not ended before `period.end` is
open then; the facts should be folded from the events recorded up to the instant the scorecard
is asked "as of" (domain.projection). Pure functions: no I/O.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from fractions import Fraction
from typing import Callable, Iterable

from motcua_evaluation.domain.facts import (ONLINE, ONLINE_PAYMENT_FLAGS, REFUSED, RESOLVED_END_REASONS,
                                            WITHDRAWN, DossierFacts)
from motcua_evaluation.domain.methodology import Indicator, Methodology

SCORED, NO_DATA, NO_DOSSIERS, NOT_APPLICABLE = "scored", "no_data", "no_dossiers", "not_applicable"
COMMUNE = "commune"

#: the inputs the platform has a source for today (published events of intake, workflow, payment
#: and evaluation's own ratings); an indicator needing any other input is "no data"
AVAILABLE_INPUTS = frozenset({"dossier_lifecycle", "payments", "results", "ratings"})


@dataclass(frozen=True)
class Period:
    """[start, end): UTC instants (a month in Vietnam time starts at 17:00 UTC the day before)."""

    start: datetime
    end: datetime
    label: str = ""


@dataclass(frozen=True)
class Measured:
    """What a measure found: R = numerator / denominator (or `ratio` when it is not a plain share)."""

    numerator: int
    denominator: int
    numerator_ids: tuple[str, ...] = ()
    shortfall_ids: tuple[str, ...] = ()
    ratio: Fraction | None = None
    detail: dict = field(default_factory=dict)


@dataclass(frozen=True)
class IndicatorFigure:
    methodology: str
    group: str
    code: str
    name: str
    status: str
    max_points: float
    formula: str
    points: float | None = None
    numerator: int | None = None
    denominator: int | None = None
    ratio: float | None = None
    numerator_ids: tuple[str, ...] = ()
    shortfall_ids: tuple[str, ...] = ()
    missing_inputs: tuple[str, ...] = ()
    detail: dict = field(default_factory=dict)


@dataclass(frozen=True)
class GroupFigure:
    code: str
    name: str
    max_points: float
    points: float  # of its scored indicators
    points_scored_out_of: float
    indicators: tuple[IndicatorFigure, ...]


@dataclass(frozen=True)
class Scorecard:
    methodology: str
    period: Period
    units: tuple[str, ...]  # empty: every unit (the province)
    groups: tuple[GroupFigure, ...]
    total: float
    points_scored_out_of: float

    def indicator(self, group: str, code: str) -> IndicatorFigure:
        for g in self.groups:
            if g.code == group:
                for figure in g.indicators:
                    if figure.code == code:
                        return figure
        raise KeyError(f"{group}.{code}")

    @property
    def no_data(self) -> tuple[str, ...]:
        return tuple(f"{g.code}.{i.code}" for g in self.groups for i in g.indicators if i.status == NO_DATA)


# -- who is counted -------------------------------------------------------------------------------
class _Judge:
    """The period's dossiers as they stood at its end."""

    def __init__(self, methodology: Methodology, period: Period, facts: list[DossierFacts]) -> None:
        self.m = methodology
        self.period = period
        self.facts = facts

    def before_end(self, at: datetime | None) -> bool:
        return at is not None and at < self.period.end

    def in_period(self, at: datetime | None) -> bool:
        return at is not None and self.period.start <= at < self.period.end

    def ended(self, f: DossierFacts) -> bool:
        return self.before_end(f.ended_at)

    def received(self) -> list[DossierFacts]:
        """Dossiers received (complete, with an appointment) in the period."""
        return [f for f in self.facts if self.in_period(f.received_at)]

    def progress_population(self) -> list[DossierFacts]:
        """Received or handled in the period, carried-over dossiers included: received before its end
        and not ended before its start. A dossier refused at the desk (never received) counts when it
        was refused in the period; a withdrawal counts only once the dossier was received."""
        rules = self.m.progress
        population = []
        for f in self.facts:
            if f.end_reason and self.ended(f) and f.end_reason not in rules.counted_end_reasons:
                continue
            if f.received_at is None:
                if f.end_reason == REFUSED and self.in_period(f.ended_at):
                    population.append(f)
                continue
            if f.end_reason == WITHDRAWN and rules.withdrawn_only_once_received and self.ended(f) \
                    and f.ended_at < f.received_at:
                continue
            if not self.before_end(f.received_at):
                continue
            if self.ended(f) and f.ended_at < self.period.start:
                continue
            population.append(f)
        return population

    def on_time(self, f: DossierFacts) -> bool:
        """DOMAIN.md "Scoring", progress: ended at or before its appointment; open at the end and not
        yet due; one pending supplementation request ends it at the request; more requests: late."""
        if f.received_at is None:  # refused at the desk: no appointment was given, none was missed
            return True
        requests = [p for p in f.pauses if self.before_end(p.requested_at)]
        if len(requests) > self.m.progress.max_supplement_requests:
            return False
        appointment = f.appointment(self.m.progress.extension_moves_appointment)
        if self.ended(f):
            end = f.ended_at
        elif requests and not self.before_end(requests[-1].resumed_at):
            end = requests[-1].requested_at  # waiting on the applicant at the period's end
        else:
            return appointment is None or appointment >= self.period.end  # open: not yet due
        return appointment is None or end <= appointment


def _ids(facts: Iterable[DossierFacts]) -> tuple[str, ...]:
    return tuple(sorted(f.dossier_id for f in facts))


def _share(counted: list[DossierFacts], population: list[DossierFacts]) -> Measured:
    counted_ids = {f.dossier_id for f in counted}
    return Measured(len(counted), len(population), _ids(counted),
                    _ids(f for f in population if f.dossier_id not in counted_ids))


# -- the measures ---------------------------------------------------------------------------------
def progress_on_time(j: _Judge) -> Measured:
    population = j.progress_population()
    return _share([f for f in population if j.on_time(f)], population)


def dossiers_online(j: _Judge) -> Measured:
    received = j.received()
    return _share([f for f in received if f.channel == ONLINE], received)


def _fee_bearing(j: _Judge) -> list[DossierFacts]:
    return [f for f in j.received() if f.fee_vnd > 0 and not f.invoice_cancelled]


def _paid_online(j: _Judge, f: DossierFacts) -> bool:
    return j.before_end(f.paid_at) and f.paid_online_flag in ONLINE_PAYMENT_FLAGS


def dossiers_paid_online(j: _Judge) -> Measured:
    owing = _fee_bearing(j)
    return _share([f for f in owing if _paid_online(j, f)], owing)


def procedures_paid_online(j: _Judge) -> Measured:
    owing = _fee_bearing(j)
    procedures = sorted({f.procedure_code for f in owing})
    paid = sorted({f.procedure_code for f in owing if _paid_online(j, f)})
    return Measured(len(paid), len(procedures), _ids(f for f in owing if _paid_online(j, f)),
                    _ids(f for f in owing if f.procedure_code not in paid),
                    detail={"procedures": procedures, "procedures_paid_online": paid})


def dossier_satisfaction(j: _Judge) -> Measured:
    """R = 1 − (late share + disliked share) over the progress indicator's dossiers; a dossier both
    late and disliked counts in both shares, as the formula adds them. R is at least 0."""
    population = j.progress_population()
    late = [f for f in population if not j.on_time(f)]
    disliked = [f for f in population if f.rating_dissatisfied and j.before_end(f.rated_at)]
    n = len(population)
    ratio = max(Fraction(0), 1 - Fraction(len(late) + len(disliked), n)) if n else None
    shortfall = {f.dossier_id for f in late} | {f.dossier_id for f in disliked}
    return Measured(max(0, n - len(late) - len(disliked)), n,
                    _ids(f for f in population if f.dossier_id not in shortfall), tuple(sorted(shortfall)),
                    ratio=ratio, detail={"late": len(late), "disliked": len(disliked)})


def electronic_results(j: _Judge) -> Measured:
    processed = [f for f in j.facts if f.end_reason in RESOLVED_END_REASONS and j.in_period(f.ended_at)
                 and f.result_document_expected]
    return _share([f for f in processed if j.before_end(f.result_signed_at)], processed)


def components_digitised(j: _Judge) -> Measured:
    """Dossiers received in the period whose every component was digitised at the desk."""
    received = j.received()
    return _share([f for f in received if f.components_total and f.components_digitised == f.components_total],
                  received)


def digitised_data_reused(j: _Judge) -> Measured:
    """Dossiers received in the period that reused a file digitised for an earlier dossier."""
    received = j.received()
    return _share([f for f in received if f.components_reused > 0], received)


MEASURES: dict[str, Callable[[_Judge], Measured] | None] = {
    "progress_on_time": progress_on_time,
    "dossiers_online": dossiers_online,
    "dossiers_paid_online": dossiers_paid_online,
    "procedures_paid_online": procedures_paid_online,
    "dossier_satisfaction": dossier_satisfaction,
    "electronic_results": electronic_results,
    "components_digitised": components_digitised,
    "digitised_data_reused": digitised_data_reused,
    # no source in the platform yet: always "no data" until their input exists
    "procedures_published_on_time": None,
    "procedures_updated_on_time": None,
    "components_public": None,
    "dossiers_synced": None,
    "procedures_online": None,
    "online_services_used": None,
    "fee_data_synced": None,
    "feedback_on_time": None,
    "feedback_satisfaction": None,
    "certified_copies": None,
    "citizen_data_store": None,
    "population_db_identity": None,
    "population_db_data": None,
}


def formula(indicator: Indicator) -> str:
    p = f"{indicator.points:g}"
    if indicator.threshold == 1:
        return f"{p} × R"
    return f"min({p}, {p} × R / {indicator.threshold:g})"


def _points(indicator: Indicator, ratio: Fraction) -> Fraction:
    points = Fraction(str(indicator.points))
    return min(points, points * ratio / Fraction(str(indicator.threshold)))


def _figure(m: Methodology, group_code: str, indicator: Indicator, judge: _Judge, unit_level: str) -> tuple[IndicatorFigure, Fraction | None]:
    base = dict(methodology=m.name, group=group_code, code=indicator.code, name=indicator.name,
                max_points=indicator.points, formula=formula(indicator))
    if unit_level == COMMUNE and not indicator.at_commune:
        return IndicatorFigure(status=NOT_APPLICABLE, **base), None
    missing = tuple(i for i in indicator.inputs if i not in AVAILABLE_INPUTS)
    measure = MEASURES.get(indicator.measure)
    if missing or measure is None:
        return IndicatorFigure(status=NO_DATA, missing_inputs=missing or indicator.inputs, **base), None
    found = measure(judge)
    if not found.denominator:
        return IndicatorFigure(status=NO_DOSSIERS, numerator=0, denominator=0, detail=found.detail, **base), None
    ratio = found.ratio if found.ratio is not None else Fraction(found.numerator, found.denominator)
    points = _points(indicator, ratio)
    return IndicatorFigure(status=SCORED, points=round(float(points), 2), numerator=found.numerator,
                           denominator=found.denominator, ratio=round(float(ratio), 4),
                           numerator_ids=found.numerator_ids, shortfall_ids=found.shortfall_ids,
                           detail=found.detail, **base), points


def compute(methodology: Methodology, facts: Iterable[DossierFacts], period: Period,
            units: Iterable[str] = (), unit_level: str = "") -> Scorecard:
    """The scorecard of `units` (empty: every unit) for `period`, by `methodology`.
    `unit_level` "commune" leaves out the indicators that do not apply to a commune."""
    unit_set = tuple(sorted(set(units)))
    chosen = [f for f in facts if not unit_set or f.unit_code in unit_set]
    judge = _Judge(methodology, period, chosen)
    groups = []
    total, out_of = Fraction(0), Fraction(0)
    for group in methodology.groups:
        figures, g_points, g_out_of = [], Fraction(0), Fraction(0)
        for indicator in group.indicators:
            figure, points = _figure(methodology, group.code, indicator, judge, unit_level)
            figures.append(figure)
            if points is not None:
                g_points += points
                g_out_of += Fraction(str(indicator.points))
        groups.append(GroupFigure(group.code, group.name, group.points, round(float(g_points), 2),
                                  round(float(g_out_of), 2), tuple(figures)))
        total += g_points
        out_of += g_out_of
    return Scorecard(methodology.name, period, unit_set, tuple(groups), round(float(total), 2),
                     round(float(out_of), 2))
