"""The scorecard methodology as effective-dated data: groups, indicators, weights, thresholds.

The methodology changes (DOMAIN.md "Scoring": several figures are unconfirmed), so nothing of it
is code: `Methodology` is what a version of motcua_evaluation/data/decision-766.yaml says, validated
when it is loaded (`validate`), and `MethodologyBook.in_force(day)` picks the version a period
is scored with. Pure data: no I/O.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Iterable

from motcua_common.errors import NotFound, RuleViolated

#: points are compared with this tolerance (the file writes them as decimals)
EPSILON = 1e-9


class MethodologyError(ValueError):
    """The methodology data is not usable (raised when it is loaded, never while scoring)."""


@dataclass(frozen=True)
class Indicator:
    code: str
    name: str
    points: float
    measure: str
    inputs: tuple[str, ...]
    threshold: float = 1.0
    at_commune: bool = True
    source: str = ""


@dataclass(frozen=True)
class Group:
    code: str
    name: str
    points: float
    indicators: tuple[Indicator, ...]


@dataclass(frozen=True)
class ProgressRules:
    counted_end_reasons: frozenset[str]
    withdrawn_only_once_received: bool = True
    max_supplement_requests: int = 1
    extension_moves_appointment: bool = False


@dataclass(frozen=True)
class SurveyLevel:
    value: int
    label: str


@dataclass(frozen=True)
class SurveyCriterion:
    code: str
    question: str


@dataclass(frozen=True)
class RatingSurvey:
    version: str
    levels: tuple[SurveyLevel, ...]
    criteria: tuple[SurveyCriterion, ...]
    dissatisfied_below: int

    @property
    def criterion_codes(self) -> tuple[str, ...]:
        return tuple(c.code for c in self.criteria)

    @property
    def level_values(self) -> frozenset[int]:
        return frozenset(level.value for level in self.levels)

    def dissatisfied(self, answers: dict[str, int]) -> bool:
        """A rating that answered any criterion below `dissatisfied_below` (a "disliked" dossier)."""
        return any(value < self.dissatisfied_below for value in answers.values())


@dataclass(frozen=True)
class Methodology:
    name: str
    effective_from: date
    total_points: float
    groups: tuple[Group, ...]
    progress: ProgressRules
    survey: RatingSurvey

    @property
    def indicators(self) -> tuple[tuple[Group, Indicator], ...]:
        return tuple((g, i) for g in self.groups for i in g.indicators)

    def validate(self, known_measures: Iterable[str]) -> None:
        """Raise MethodologyError naming what is wrong: points that do not add up, an unknown
        measure, a duplicate code, a threshold outside (0, 1], an empty survey."""
        measures = set(known_measures)
        problems: list[str] = []
        seen: set[str] = set()
        for group in self.groups:
            if not group.indicators:
                problems.append(f"group {group.code} has no indicators")
            total = sum(i.points for i in group.indicators)
            if abs(total - group.points) > EPSILON:
                problems.append(f"group {group.code}: indicators sum to {total:g} points, not {group.points:g}")
            for indicator in group.indicators:
                key = f"{group.code}.{indicator.code}"
                if key in seen:
                    problems.append(f"indicator {key} appears twice")
                seen.add(key)
                if indicator.points <= 0:
                    problems.append(f"indicator {key}: points must be above 0")
                if not 0 < indicator.threshold <= 1:
                    problems.append(f"indicator {key}: threshold must be in (0, 1], not {indicator.threshold:g}")
                if indicator.measure not in measures:
                    problems.append(f"indicator {key}: unknown measure {indicator.measure!r}")
                if not indicator.inputs:
                    problems.append(f"indicator {key}: names no inputs")
        if len({g.code for g in self.groups}) != len(self.groups):
            problems.append("a group code appears twice")
        groups_total = sum(g.points for g in self.groups)
        if abs(groups_total - self.total_points) > EPSILON:
            problems.append(f"groups sum to {groups_total:g} points, not {self.total_points:g}")
        if not self.survey.criteria or not self.survey.levels:
            problems.append("the rating survey needs criteria and levels")
        if len(set(self.survey.criterion_codes)) != len(self.survey.criteria):
            problems.append("a survey criterion code appears twice")
        if self.progress.max_supplement_requests < 0:
            problems.append("progress.max_supplement_requests must be 0 or more")
        if problems:
            raise MethodologyError(f"methodology {self.name}: " + "; ".join(problems))


@dataclass(frozen=True)
class MethodologyBook:
    """Every version of the methodology; a period is scored with the one in force on its last day."""

    versions: tuple[Methodology, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        days = [m.effective_from for m in self.versions]
        if len(set(days)) != len(days):
            raise MethodologyError("two methodology versions take effect on the same day")
        if len({m.name for m in self.versions}) != len(self.versions):
            raise MethodologyError("two methodology versions share a name")

    def in_force(self, day: date) -> Methodology:
        candidates = [m for m in self.versions if m.effective_from <= day]
        if not candidates:
            raise RuleViolated("NO_METHODOLOGY", f"no scorecard methodology is in force on {day.isoformat()}")
        return max(candidates, key=lambda m: m.effective_from)

    def named(self, name: str) -> Methodology:
        for methodology in self.versions:
            if methodology.name == name:
                return methodology
        raise NotFound("methodology", f"no methodology version is named {name!r}")
