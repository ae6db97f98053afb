"""The province's organisation as effective-dated data: units, their level, when they were
in force, and which units they replaced (2025: districts abolished, communes merged).

A dossier keeps the unit that received it; a transfer or an assignment needs a unit in
force at that moment. Codes of closed units are never reused (Decision 19/2025/QĐ-TTg),
so a code names one unit for all time.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import yaml

from motcua_common.province.working_calendar import VIETNAM_TZ

LEVELS = ("province", "district", "commune")


class OrganisationDataError(ValueError):
    pass


@dataclass(frozen=True)
class Unit:
    code: str
    name: str
    level: str
    valid_from: date
    valid_until: date | None = None  # the last day it was in force; None: still in force
    predecessors: tuple[str, ...] = field(default_factory=tuple)
    names: dict[str, str] = field(default_factory=dict, hash=False, compare=False)  # translations by language
    parent: str | None = None  # the unit it belongs to, where the data says (e.g. a ward's district before 2025)

    def in_force_on(self, day: date) -> bool:
        return self.valid_from <= day and (self.valid_until is None or day <= self.valid_until)

    def name_in(self, language: str) -> str:
        return self.names.get(language) or self.name


class Organisation:
    def __init__(self, units: list[Unit]) -> None:
        self._units = {u.code: u for u in units}
        for unit in units:
            for predecessor in unit.predecessors:
                if predecessor not in self._units:
                    raise OrganisationDataError(f"unit {unit.code}: predecessor {predecessor} is not a known unit")
            if unit.parent is not None and unit.parent not in self._units:
                raise OrganisationDataError(f"unit {unit.code}: parent {unit.parent} is not a known unit")

    def get(self, code: str) -> Unit | None:
        return self._units.get(code)

    def in_force(self, code: str, at: datetime) -> Unit | None:
        """The unit if it exists and was in force at `at` (the province's local date)."""
        unit = self._units.get(code)
        if unit is None or not unit.in_force_on(at.astimezone(VIETNAM_TZ).date()):
            return None
        return unit

    def successors_of(self, code: str) -> list[Unit]:
        return [u for u in self._units.values() if code in u.predecessors]

    def units(self) -> list[Unit]:
        return list(self._units.values())

    @classmethod
    def from_data(cls, data: dict) -> "Organisation":
        units = []
        for raw in data.get("units", []):
            level = raw.get("level")
            if level not in LEVELS:
                raise OrganisationDataError(f"unit {raw.get('code')}: level must be one of {LEVELS}, not {level!r}")
            try:
                valid_from = date.fromisoformat(str(raw["valid_from"]))
                until = raw.get("valid_until")
                valid_until = date.fromisoformat(str(until)) if until else None
            except (KeyError, ValueError) as error:
                raise OrganisationDataError(f"unit {raw.get('code')}: bad or missing date ({error})") from None
            if valid_until and valid_until < valid_from:
                raise OrganisationDataError(f"unit {raw['code']}: valid_until is before valid_from")
            units.append(Unit(code=str(raw["code"]), name=raw["name"], level=level, valid_from=valid_from,
                              valid_until=valid_until, predecessors=tuple(raw.get("predecessors", [])),
                              names=dict(raw.get("names", {})),
                              parent=str(raw["parent"]) if raw.get("parent") else None))
        codes = [u.code for u in units]
        if len(codes) != len(set(codes)):
            raise OrganisationDataError("a unit code appears twice: codes are never reused")
        return cls(units)

    @classmethod
    def load(cls, path: Path) -> "Organisation":
        return cls.from_data(yaml.safe_load(path.read_text(encoding="utf-8")) or {})
