"""Discount rules as effective-dated data, and the charge of one dossier.

A dossier is charged by the fee schedule and the discount rules in force on the day it was received,
that day taken in Vietnam time. The schedule is the catalogue's (intake records the one of the day and
publishes it in DossierReceived); the discount rules and receipt templates are payment's. Pure data
and functions: no I/O.

Rounding rule (stated once, here): a discount of p percent on an item of amount a is
floor(a * p / 100) đồng, so the amount due, a - discount, is rounded up to the whole đồng;
where several rules fit one item the largest discount applies (rules never stack); an exempt
item costs 0.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Iterable, Mapping

from motcua_common.province.dossier_rules import CHANNELS
from motcua_common.province.working_calendar import VIETNAM_TZ

# The schedule model is the catalogue's (libs/common): re-exported here for payment's modules.
from motcua_common.province.fees import (DOSSIER_ENDINGS, ITEM_KINDS, PAYMENT_DUE, REFUND_FULL,  # noqa: E402,F401
                                         REFUND_LE_PHI, REFUND_NONE, REFUND_RULES, Exemption, FeeItem,
                                         FeeSchedule)


@dataclass(frozen=True)
class DiscountRule:
    code: str
    name: str
    legal_basis: str
    percent: int  # 1-100; 100 makes the item free ("0 đồng")
    effective_from: date
    effective_until: date | None = None  # the last day in force (inclusive); None: open-ended
    channels: tuple[str, ...] = ()  # empty: every channel
    groups: tuple[str, ...] = ()  # procedure groups; empty: every group
    procedures: tuple[str, ...] = ()  # procedure codes; empty: every procedure (of the groups)
    kinds: tuple[str, ...] = ()  # item kinds; empty: both phí and lệ phí
    example: bool = False

    def in_force_on(self, day: date) -> bool:
        return self.effective_from <= day and (self.effective_until is None or day <= self.effective_until)

    def applies_to(self, schedule: FeeSchedule, item: FeeItem, channel: str) -> bool:
        return ((not self.channels or channel in self.channels)
                and (not self.groups or schedule.group in self.groups)
                and (not self.procedures or schedule.procedure_code in self.procedures)
                and (not self.kinds or item.kind in self.kinds))


@dataclass(frozen=True)
class ChargeLine:
    item_code: str
    kind: str
    name: str
    legal_basis: str
    quantity: int
    base_vnd: int
    discount_vnd: int
    amount_vnd: int
    discount_rule: str = ""  # the rule that gave the discount
    exempt_by: str = ""  # the exemption that waived the item

    def as_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass(frozen=True)
class Charge:
    procedure_code: str
    received_on: date  # the day (Vietnam time) whose schedule and rules were applied
    channel: str
    due: str
    collector: str
    lines: tuple[ChargeLine, ...] = field(default=())
    clock_stops_while_unpaid: bool = False  # the schedule's: the case's clock stands still until paid
    refund_on: Mapping[str, str] = field(default_factory=dict, hash=False)  # the schedule's refund rules

    @property
    def total_vnd(self) -> int:
        return sum(line.amount_vnd for line in self.lines)


class ChargeError(ValueError):
    """The charge request names something the schedule does not know (a field, a description)."""

    def __init__(self, field_name: str, description: str) -> None:
        self.field = field_name
        super().__init__(f"{field_name}: {description}")


def discounted(amount_vnd: int, percent: int) -> int:
    """The discount on an amount, in whole đồng, rounded down (the rounding rule above)."""
    return amount_vnd * percent // 100


def vietnam_day(at: datetime) -> date:
    if at.tzinfo is None:
        raise ChargeError("received_at", "must carry a time zone")
    return at.astimezone(VIETNAM_TZ).date()


class FeeBook:
    """A province's discount rules and receipt templates (fees.yaml). The schedules are the catalogue's:
    each charge is given the schedule recorded with the dossier (published in DossierReceived)."""

    def __init__(self, rules: Iterable[DiscountRule], receipt_templates: Iterable["ReceiptTemplate"] = ()) -> None:
        self.receipt_templates = tuple(sorted(receipt_templates, key=lambda t: t.effective_from))
        self.rules = tuple(rules)

    def charge(self, schedule: FeeSchedule | None, channel: str, received_at: datetime,
               quantities: Mapping[str, int] | None = None, exemptions: Iterable[str] = (),
               procedure_code: str = "") -> Charge:
        """What a dossier owes: `schedule` (the one in force on the day it was received, as the catalogue
        recorded it; None: nothing is charged) and the discount rules of that day (Vietnam time).
        `quantities` gives units per item (default 1; 0 leaves the item out); `exemptions` the exemption codes the
        applicant qualifies for (checked by the official who receives the dossier)."""
        if channel not in CHANNELS:
            raise ChargeError("channel", f"must be one of {CHANNELS}")
        day = vietnam_day(received_at)
        if schedule is None:
            return Charge(procedure_code, day, channel, "", "")
        procedure_code = schedule.procedure_code
        quantities = dict(quantities or {})
        known_items = {i.code for i in schedule.items}
        unknown = sorted(set(quantities) - known_items)
        if unknown:
            raise ChargeError("quantities", f"items {unknown} are not in the schedule of {procedure_code} on {day}")
        by_code = {e.code: e for e in schedule.exemptions}
        claimed = list(dict.fromkeys(exemptions))
        unknown = sorted(set(claimed) - set(by_code))
        if unknown:
            raise ChargeError("exemptions", f"{unknown} are not exemptions of {procedure_code} on {day}")
        rules = [r for r in self.rules if r.in_force_on(day)]
        lines = []
        for item in schedule.items:
            quantity = quantities.get(item.code, 1)
            if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity < 0:
                raise ChargeError("quantities", f"{item.code}: must be a whole number, 0 or more")
            if quantity == 0:
                continue
            base = item.amount_vnd * quantity
            exempt = next((c for c in claimed if not by_code[c].items or item.code in by_code[c].items), "")
            if exempt:
                lines.append(ChargeLine(item.code, item.kind, item.name, item.legal_basis, quantity, base, base, 0,
                                        exempt_by=exempt))
                continue
            best, best_rule = 0, ""
            for rule in rules:
                if rule.applies_to(schedule, item, channel) and discounted(base, rule.percent) > best:
                    best, best_rule = discounted(base, rule.percent), rule.code
            lines.append(ChargeLine(item.code, item.kind, item.name, item.legal_basis, quantity, base, best,
                                    base - best, discount_rule=best_rule))
        return Charge(procedure_code, day, channel, schedule.due, schedule.collector, tuple(lines),
                      clock_stops_while_unpaid=schedule.clock_stops_while_unpaid, refund_on=dict(schedule.refund_on))


@dataclass(frozen=True)
class ReceiptTemplate:
    """The receipt template (mẫu số) and its symbol (ký hiệu, e.g. 1C26TQT) receipts are numbered under
    from `effective_from`: each symbol has its own gapless series 0000001, 0000002, ..."""

    form: str
    symbol: str
    effective_from: date
    issuer: str = ""  # the collecting organisation named on the receipt
    place: str = ""  # where receipts are issued ("Đông Hà"), printed before the date


def receipt_template_on(book: FeeBook, day: date) -> ReceiptTemplate | None:
    """The template in force on `day` (Vietnam time): the latest that took effect on or before it."""
    in_force = [t for t in book.receipt_templates if t.effective_from <= day]
    return in_force[-1] if in_force else None


def refund_due(rule: str, lines: Iterable[Mapping]) -> int:
    """What a paid invoice's lines give back under `rule` (REFUND_RULES), in đồng."""
    if rule == REFUND_NONE:
        return 0
    return sum(int(line["amount_vnd"]) for line in lines if rule == REFUND_FULL or line["kind"] == "le_phi")
