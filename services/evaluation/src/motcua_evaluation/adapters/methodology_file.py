"""Reads the methodology file into a validated MethodologyBook.

The methodology is national, the same for every province, and its measures are code: so its data
ships with the service (`motcua_evaluation/data/decision-766.yaml`, package data, in the image
too) and changes in the same release as the code that reads it. Every version is validated when
the file is loaded (a service refuses to start on a methodology that does not add up), never
while a scorecard is computed.
"""
from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import yaml

from motcua_evaluation.domain.methodology import (Group, Indicator, Methodology, MethodologyBook, MethodologyError,
                                                  ProgressRules, RatingSurvey, SurveyCriterion, SurveyLevel)
from motcua_evaluation.domain.scorecard import MEASURES

#: the methodology shared by every province (it is national)
DEFAULT_PATH = Path(__file__).resolve().parents[1] / "data" / "decision-766.yaml"


def _required(record: dict, key: str, where: str) -> Any:
    if not isinstance(record, dict) or key not in record or record[key] in (None, ""):
        raise MethodologyError(f"{where}: `{key}` is required")
    return record[key]


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise MethodologyError(f"{where}: must be a number, not {value!r}")
    return float(value)


def _indicator(record: dict, where: str) -> Indicator:
    code = str(_required(record, "code", where))
    where = f"{where} {code}"
    inputs = record.get("inputs") or []
    if not isinstance(inputs, list):
        raise MethodologyError(f"{where}: `inputs` must be a list")
    return Indicator(code=code, name=str(_required(record, "name", where)),
                     points=_number(_required(record, "points", where), f"{where}.points"),
                     measure=str(_required(record, "measure", where)), inputs=tuple(str(i) for i in inputs),
                     threshold=_number(record.get("threshold", 1), f"{where}.threshold"),
                     at_commune=bool(record.get("at_commune", True)), source=str(record.get("source", "")))


def _survey(record: dict, where: str) -> RatingSurvey:
    where = f"{where}.rating_survey"
    levels = tuple(SurveyLevel(int(_required(level, "value", where)), str(_required(level, "label", where)))
                   for level in _required(record, "levels", where))
    criteria = tuple(SurveyCriterion(str(_required(c, "code", where)), str(_required(c, "question", where)))
                     for c in _required(record, "criteria", where))
    return RatingSurvey(version=str(_required(record, "version", where)), levels=levels, criteria=criteria,
                        dissatisfied_below=int(record.get("dissatisfied_below", 1)))


def _version(record: dict) -> Methodology:
    name = str(_required(record, "name", "a methodology version"))
    where = f"methodology {name}"
    effective = _required(record, "effective_from", where)
    if not isinstance(effective, date):
        raise MethodologyError(f"{where}: effective_from must be a date (YYYY-MM-DD)")
    groups = []
    for g in _required(record, "groups", where):
        code = str(_required(g, "code", where))
        groups.append(Group(code=code, name=str(_required(g, "name", f"{where} group {code}")),
                             points=_number(_required(g, "points", f"{where} group {code}"), f"{where} {code}.points"),
                             indicators=tuple(_indicator(i, f"{where} {code}") for i in g.get("indicators") or [])))
    progress = _required(record, "progress", where)
    rules = ProgressRules(counted_end_reasons=frozenset(_required(progress, "counted_end_reasons", where)),
                          withdrawn_only_once_received=bool(progress.get("withdrawn_only_once_received", True)),
                          max_supplement_requests=int(progress.get("max_supplement_requests", 1)),
                          extension_moves_appointment=bool(progress.get("extension_moves_appointment", False)))
    methodology = Methodology(name=name, effective_from=effective,
                              total_points=_number(record.get("total_points", 100), f"{where}.total_points"),
                              groups=tuple(groups), progress=rules,
                              survey=_survey(_required(record, "rating_survey", where), where))
    methodology.validate(MEASURES)
    return methodology


def parse_methodology(data: Any) -> MethodologyBook:
    versions = _required(data, "versions", "the methodology file")
    if not isinstance(versions, list) or not versions:
        raise MethodologyError("the methodology file: `versions` must be a non-empty list")
    return MethodologyBook(tuple(_version(v) for v in versions))


def load_methodology(path: Path = DEFAULT_PATH) -> MethodologyBook:
    return parse_methodology(yaml.safe_load(Path(path).read_text(encoding="utf-8")))
