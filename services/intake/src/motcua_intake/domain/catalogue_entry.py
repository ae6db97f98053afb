"""A procedure's place in the province's catalogue over time: each change is an event with the
date it takes effect, so the catalogue in force on any past date can be rebuilt."""
from __future__ import annotations

from datetime import date
from uuid import UUID

from eventsourcing.domain import event

from motcua_common.events.domain import MotcuaAggregate
from motcua_common.events.ids import deterministic_id

from motcua_intake.domain.catalogue import Procedure


class CatalogueEntry(MotcuaAggregate):
    @staticmethod
    def id_for(province: str, code: str) -> UUID:
        return deterministic_id(province, "catalogue-entry", code)

    @event("Published")
    def __init__(self, id: UUID, code: str, effective_from: date, record: dict) -> None:  # noqa: A002
        self.code = code
        self.versions: list[tuple[date, dict | None]] = [(effective_from, record)]

    @property
    def current(self) -> dict | None:
        return self.versions[-1][1]

    def publish(self, effective_from: date, record: dict) -> bool:
        """A new version from `effective_from`; False when the record is unchanged."""
        if record == self.current:
            return False
        self._publish(effective_from=effective_from, record=record)
        return True

    @event("Republished")
    def _publish(self, effective_from: date, record: dict) -> None:
        self.versions.append((effective_from, record))

    def withdraw(self, effective_from: date) -> bool:
        if self.current is None:
            return False
        self._withdraw(effective_from=effective_from)
        return True

    @event("Withdrawn")
    def _withdraw(self, effective_from: date) -> None:
        self.versions.append((effective_from, None))

    def procedures(self) -> tuple[list[Procedure], list[date]]:
        """Every version as a Procedure, and the dates it was withdrawn from."""
        return ([Procedure.from_record(r, since) for since, r in self.versions if r is not None],
                [since for since, r in self.versions if r is None])
