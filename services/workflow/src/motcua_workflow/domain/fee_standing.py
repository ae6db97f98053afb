"""What payment published about one dossier's fee, as workflow needs it: whether it is owed, due
before processing or before the result, whether it stops the case's clock, and when it was paid or
cancelled. Kept apart from the case because payment's events may arrive before workflow has opened
the case (the two follow intake separately): the case, once opened, takes up what is recorded here."""
from __future__ import annotations

from datetime import datetime
from uuid import UUID

from eventsourcing.domain import event

from motcua_common.events.domain import MotcuaAggregate
from motcua_common.events.ids import deterministic_id

SETTLED_BY = ("paid", "cancelled")


class FeeStanding(MotcuaAggregate):
    @staticmethod
    def id_for(province: str, dossier_id: UUID) -> UUID:
        """One per dossier (payment issues one invoice per dossier)."""
        return deterministic_id(province, "fee-standing", str(dossier_id))

    class Owed(MotcuaAggregate.Created):
        dossier_id: UUID
        invoice_id: str
        due: str
        clock_stops: bool
        owed_since: datetime

    @classmethod
    def owe(cls, province: str, dossier_id: UUID, invoice_id: str, due: str, clock_stops: bool,
            owed_since: datetime) -> "FeeStanding":
        return cls(id=cls.id_for(province, dossier_id), dossier_id=dossier_id, invoice_id=invoice_id, due=due,
                   clock_stops=clock_stops, owed_since=owed_since)

    @event(Owed)
    def __init__(self, id: UUID, dossier_id: UUID, invoice_id: str, due: str, clock_stops: bool,
                 owed_since: datetime) -> None:
        self.dossier_id = dossier_id
        self.invoice_id = invoice_id
        self.due = due
        self.clock_stops = clock_stops
        self.owed_since = owed_since
        self.settled_at: datetime | None = None
        self.settled_by = ""

    @property
    def unpaid(self) -> bool:
        return self.settled_at is None

    def settle(self, settled_by: str, at: datetime) -> bool:
        """Paid or cancelled, once: a later payment event (a refund, a repeated result) changes nothing."""
        if settled_by not in SETTLED_BY:
            raise ValueError(f"a fee is settled as one of {SETTLED_BY}, not {settled_by!r}")
        if self.settled_at is not None:
            return False
        self._settle(settled_by=settled_by, settled_at=max(at, self.owed_since))
        return True

    @event("Settled")
    def _settle(self, settled_by: str, settled_at: datetime) -> None:
        self.settled_by = settled_by
        self.settled_at = settled_at
