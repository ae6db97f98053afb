"""The procedures a province receives dossiers for (a value object per procedure)."""
from __future__ import annotations

from dataclasses import dataclass, field

ONLINE_LEVELS = ("partial", "full")


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
    fee_vnd: int
    online_level: str
    receiving_agency_code: str
    receiving_agency_name: str
    handling_unit_code: str
    field: str
    source: str
    example_fields: tuple[str, ...] = field(default=())
    calendar_group: str | None = None
    components: tuple[ComponentRequirement, ...] = field(default=())

    def missing_components(self, submitted: list[dict]) -> list[ComponentRequirement]:
        """The required components not among `submitted` (matched by code)."""
        given = {c.get("code") for c in submitted if c.get("code")}
        return [c for c in self.components if c.required and c.code not in given]


class Catalogue:
    def __init__(self, procedures: list[Procedure]) -> None:
        self._by_code = {p.code: p for p in procedures}

    def get(self, code: str) -> Procedure | None:
        return self._by_code.get(code)

    def all(self) -> list[Procedure]:
        return sorted(self._by_code.values(), key=lambda p: p.code)
