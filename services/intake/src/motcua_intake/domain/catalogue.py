"""The procedures a province receives dossiers for, as effective-dated data.

A procedure's record (names and translations, components, deadline, fee schedules, online level, units)
changes over time; each version has the date it takes effect from. `Catalogue.get(code, on)`
answers with the version in force on that date, so a dossier received years ago is judged by
the catalogue of its day. Versions come from the event store (CatalogueEntry events, written by
`import-catalogue`) or, before any import, straight from the province's data file.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import Iterable

from motcua_common.province.fees import FeeSchedule, schedule_on
from motcua_common.province.working_calendar import VIETNAM_TZ

ONLINE_LEVELS = ("partial", "full")
LANGUAGES = ("vi", "en", "zh", "ko", "ja")
LEVELS = ("province", "commune", "district")


@dataclass(frozen=True)
class ComponentRequirement:
    """A component (thành phần hồ sơ) the procedure asks for; submitted components name it by `code`."""

    code: str
    name: str
    required: bool


@dataclass(frozen=True)
class Procedure:
    code: str
    name: str
    deadline_working_days: float
    online_level: str
    receiving_agency_code: str
    receiving_agency_name: str
    handling_unit_code: str
    field: str
    source: str
    example_fields: tuple[str, ...] = field(default=())
    calendar_group: str | None = None
    components: tuple[ComponentRequirement, ...] = field(default=())
    effective_from: date = date(2025, 7, 1)
    names: dict[str, str] = field(default_factory=dict, hash=False, compare=False)  # translations by language
    levels: tuple[str, ...] = field(default=("commune",))
    issues_result: bool = True
    description: str = ""
    descriptions: dict[str, str] = field(default_factory=dict, hash=False, compare=False)  # translations
    # The procedure's fee schedules (phí / lệ phí), effective-dated on their own: the one in force on the
    # day a dossier is received is recorded with it (and published in DossierReceived). None: free.
    fee_schedules: tuple[FeeSchedule, ...] = field(default=())

    def fee_schedule_on(self, day: date | None = None) -> FeeSchedule | None:
        """The schedule in force on `day` (default: the latest one)."""
        if day is None:
            return self.fee_schedules[-1] if self.fee_schedules else None
        return schedule_on(self.fee_schedules, day)

    def fee_schedule_record(self, received_at: datetime) -> dict:
        """What a dossier received at `received_at` records: the schedule of that day (Vietnam time) as plain
        data, or {} when none is in force (the procedure charges nothing that day)."""
        schedule = self.fee_schedule_on(received_at.astimezone(VIETNAM_TZ).date())
        return schedule.record() if schedule is not None else {}

    def fee_vnd(self, day: date | None = None) -> int:
        """The in-force schedule's total for one unit of every item (the deprecated headline fee)."""
        schedule = self.fee_schedule_on(day)
        return schedule.total_vnd if schedule is not None else 0

    def missing_components(self, submitted: list[dict]) -> list[ComponentRequirement]:
        """The required components not among `submitted` (matched by code)."""
        given = {c.get("code") for c in submitted if c.get("code")}
        return [c for c in self.components if c.required and c.code not in given]

    def name_in(self, language: str) -> str:
        """The name in `language` where the province provides it; Vietnamese otherwise."""
        return self.names.get(language) or self.name

    def description_in(self, language: str) -> str:
        return self.descriptions.get(language) or self.description

    def record(self) -> dict:
        """The version's content as plain data (what a CatalogueEntry event stores), without its date."""
        data = asdict(self)
        data.pop("effective_from")
        data["components"] = [asdict(c) for c in self.components]
        data["example_fields"] = list(self.example_fields)
        data["levels"] = list(self.levels)
        data["fee_schedules"] = [s.record() for s in self.fee_schedules]
        return data

    @classmethod
    def from_record(cls, record: dict, effective_from: date) -> "Procedure":
        values = dict(record)
        values["components"] = tuple(ComponentRequirement(**c) for c in values.get("components", []))
        values["example_fields"] = tuple(values.get("example_fields", ()))
        values["levels"] = tuple(values.get("levels", ("commune",)))
        # Records imported before the catalogue owned fee schedules carry a bare `fee_vnd` and no schedule:
        # such a version charges nothing through the catalogue (payment held those schedules then).
        values.pop("fee_vnd", None)
        values["fee_schedules"] = tuple(FeeSchedule.from_record(s) for s in values.get("fee_schedules", ()))
        return cls(**values, effective_from=effective_from)


class Catalogue:
    def __init__(self, procedures: Iterable[Procedure], withdrawn: Iterable[tuple[str, date]] = ()) -> None:
        # Per code, the versions by the date they take effect (None: withdrawn from that date).
        self._versions: dict[str, list[tuple[date, Procedure | None]]] = {}
        for procedure in procedures:
            self._versions.setdefault(procedure.code, []).append((procedure.effective_from, procedure))
        for code, since in withdrawn:
            self._versions.setdefault(code, []).append((since, None))
        for versions in self._versions.values():
            versions.sort(key=lambda v: (v[0], v[1] is None))

    def get(self, code: str, on: date | None = None) -> Procedure | None:
        """The version in force on `on` (default: the latest), or None if none was."""
        in_force = None
        for since, procedure in self._versions.get(code, []):
            if on is not None and since > on:
                break
            in_force = procedure
        return in_force

    def all(self, on: date | None = None) -> list[Procedure]:
        found = (self.get(code, on) for code in self._versions)
        return sorted((p for p in found if p is not None), key=lambda p: p.code)

    def names(self) -> dict[str, list[str]]:
        """Per code, every Vietnamese name it has had (a search by name finds old dossiers too)."""
        return {code: list(dict.fromkeys(p.name for _, p in versions if p is not None))
                for code, versions in self._versions.items()}

    def latest_records(self) -> dict[str, tuple[date, dict | None]]:
        """Per code, the latest version's date and record (None: withdrawn): what an import compares with."""
        return {code: (versions[-1][0], versions[-1][1].record() if versions[-1][1] else None)
                for code, versions in self._versions.items()}

