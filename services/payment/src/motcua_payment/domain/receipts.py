"""Receipt series: the gapless numbering of electronic receipts (biên lai) under one symbol (ký hiệu).

One series per province and symbol (a deterministic id). A number is taken only when a payment is
recorded and is saved in the same `save()` as the invoice's payment: the series' version is the
optimistic-concurrency guard, so two payments racing for a number cannot both save the same one (the
loser is decided again on the new state and takes the next), and a payment that fails to save takes
no number. Hence no number is skipped or used twice.
"""
from __future__ import annotations

from uuid import UUID

from eventsourcing.domain import event

from motcua_common.events.domain import MotcuaAggregate
from motcua_common.events.ids import deterministic_id

NUMBER_DIGITS = 7  # "0000001": the receipt number as printed


def printed_number(number: int) -> str:
    return f"{number:0{NUMBER_DIGITS}d}"


class ReceiptSeries(MotcuaAggregate):
    @staticmethod
    def id_for(province: str, symbol: str) -> UUID:
        return deterministic_id(province, "receipt-series", symbol)

    @classmethod
    def open(cls, province: str, form: str, symbol: str) -> "ReceiptSeries":
        return cls(id=cls.id_for(province, symbol), form=form, symbol=symbol)

    @event("Opened")
    def __init__(self, id: UUID, form: str, symbol: str) -> None:
        self.form = form
        self.symbol = symbol
        self.last_number = 0
        self.holders: dict[int, UUID] = {}

    def take(self, invoice_id: UUID) -> int:
        """The next number, for the receipt of `invoice_id`."""
        self._taken(number=self.last_number + 1, invoice_id=invoice_id)
        return self.last_number

    @event("Taken")
    def _taken(self, number: int, invoice_id: UUID) -> None:
        self.last_number = number
        self.holders[number] = invoice_id
