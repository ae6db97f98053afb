"""The procedures a province receives dossiers for (a value object per procedure)."""
from __future__ import annotations

from dataclasses import dataclass, field

ONLINE_LEVELS = ("partial", "full")


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


class Catalogue:
    def __init__(self, procedures: list[Procedure]) -> None:
        self._by_code = {p.code: p for p in procedures}

    def get(self, code: str) -> Procedure | None:
        return self._by_code.get(code)

    def all(self) -> list[Procedure]:
        return sorted(self._by_code.values(), key=lambda p: p.code)
