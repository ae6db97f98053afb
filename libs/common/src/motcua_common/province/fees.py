"""A procedure's fee schedule (phí / lệ phí) as effective-dated data, owned by the catalogue.

The catalogue (intake) holds each procedure's schedules and publishes the one in force on the day a
dossier was received with its DossierReceived event; payment charges from that event with its own
discount rules. This module is the one model and the one validation of a schedule, used by both:
pure data and functions, no I/O.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Iterable, Mapping

ITEM_KINDS = ("phi", "le_phi")  # phí (a charge, cost recovery) / lệ phí (a fee for a state act)
PAYMENT_DUE = ("before_processing", "before_result")
# What a paid invoice gives back when its dossier ends without a result (refund_on): everything, only
# its lệ phí items (the state act was not performed; the phí covered work done), or nothing.
REFUND_FULL, REFUND_LE_PHI, REFUND_NONE = "full", "le_phi", "none"
REFUND_RULES = (REFUND_FULL, REFUND_LE_PHI, REFUND_NONE)
DOSSIER_ENDINGS = ("withdrawn", "refused")
CODE_PATTERN = re.compile(r"^[0-9]{1,2}\.[0-9]{6}$")  # a national procedure code


class FeeScheduleError(ValueError):
    """A malformed schedule; the message starts with the field's position (e.g. `...items[0].kind`)."""


@dataclass(frozen=True)
class FeeItem:
    code: str
    kind: str
    name: str
    amount_vnd: int  # per unit
    legal_basis: str
    unit: str = ""  # what one unit is ("trang", "bản"), empty for a flat amount
    example: bool = False  # a made-up value for the demo, not taken from the legal basis


@dataclass(frozen=True)
class Exemption:
    code: str
    name: str
    legal_basis: str
    items: tuple[str, ...] = ()  # the items it exempts; empty: every item
    example: bool = False


@dataclass(frozen=True)
class FeeSchedule:
    """One procedure's fees from `effective_from` until the next schedule of the same procedure."""

    procedure_code: str
    group: str  # the procedure's group (lĩnh vực), which discount rules may name
    effective_from: date
    due: str
    collector: str  # who collects (the agency or unit named by the legal basis)
    items: tuple[FeeItem, ...]
    exemptions: tuple[Exemption, ...] = ()
    source: str = ""
    # how much of a paid invoice is refunded when the dossier is withdrawn / refused (DOSSIER_ENDINGS);
    # an ending not listed refunds everything (REFUND_FULL)
    refund_on: Mapping[str, str] = field(default_factory=dict, hash=False)
    # Whether the case's clock stands still while a fee due before processing is unpaid (workflow
    # stops it on InvoiceIssued and restarts it on InvoicePaid or InvoiceCancelled). Only a fee due
    # before processing can hold the clock; the data's default is true for those.
    clock_stops_while_unpaid: bool = False

    def refund_rule(self, ending: str) -> str:
        return self.refund_on.get(ending, REFUND_FULL)

    @property
    def total_vnd(self) -> int:
        """One unit of every item, before discounts and exemptions (the catalogue's headline fee)."""
        return sum(i.amount_vnd for i in self.items)

    def record(self) -> dict:
        """As plain data (stored in events): what `from_record` reads back."""
        return {"procedure_code": self.procedure_code, "group": self.group,
                "effective_from": self.effective_from.isoformat(), "due": self.due, "collector": self.collector,
                "items": [dict(i.__dict__) for i in self.items],
                "exemptions": [dict(e.__dict__, items=list(e.items)) for e in self.exemptions],
                "source": self.source, "refund_on": dict(self.refund_on),
                "clock_stops_while_unpaid": self.clock_stops_while_unpaid}

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> "FeeSchedule":
        return cls(str(record["procedure_code"]), str(record["group"]),
                   date.fromisoformat(str(record["effective_from"])), str(record["due"]), str(record["collector"]),
                   tuple(FeeItem(**i) for i in record.get("items", ())),
                   tuple(Exemption(**dict(e, items=tuple(e.get("items", ())))) for e in record.get("exemptions", ())),
                   str(record.get("source", "")), dict(record.get("refund_on", {})),
                   bool(record.get("clock_stops_while_unpaid", False)))


def schedule_on(schedules: Iterable[FeeSchedule], day: date) -> FeeSchedule | None:
    """The schedule in force on `day`: the latest one that took effect on or before it."""
    in_force = sorted((s for s in schedules if s.effective_from <= day), key=lambda s: s.effective_from)
    return in_force[-1] if in_force else None


def parse_day(raw: Any, where: str, default: Any = None) -> date:
    value = raw if raw is not None else default
    try:
        return value if isinstance(value, date) else date.fromisoformat(str(value))
    except ValueError:
        raise FeeScheduleError(f"{where}: must be a date like 2025-07-01") from None


def _amount(raw: Any, where: str) -> int:
    if not isinstance(raw, int) or isinstance(raw, bool) or raw < 0:
        raise FeeScheduleError(f"{where}: must be a whole number of đồng, 0 or more")
    return raw


def _codes(raw: Any, where: str, allowed: tuple[str, ...]) -> tuple[str, ...]:
    values = tuple(str(v) for v in (raw or ()))
    if set(values) - set(allowed):
        raise FeeScheduleError(f"{where}: must be some of {allowed}")
    return values


def _refund_on(raw: Any, where: str) -> dict[str, str]:
    """`refund_on: {withdrawn: full|le_phi|none, refused: ...}`; an ending not given refunds in full."""
    if raw is None:
        return {}
    if not isinstance(raw, dict) or set(raw) - set(DOSSIER_ENDINGS):
        raise FeeScheduleError(f"{where}: must map some of {DOSSIER_ENDINGS} to one of {REFUND_RULES}")
    for ending, rule in raw.items():
        if rule not in REFUND_RULES:
            raise FeeScheduleError(f"{where}.{ending}: must be one of {REFUND_RULES}")
    return {str(k): str(v) for k, v in raw.items()}


def parse_fee_schedule(raw: Any, where: str, procedure_code: str, default_from: date) -> FeeSchedule:
    """One schedule from the province's data (a mapping), refusing a bad one with the field's position."""
    if not isinstance(raw, dict):
        raise FeeScheduleError(f"{where}: must be a mapping (group, due, collector, source, items, ...)")
    if not CODE_PATTERN.match(procedure_code):
        raise FeeScheduleError(f"{where}.procedure: {procedure_code!r} is not a national procedure code like 2.000815")
    if raw.get("due") not in PAYMENT_DUE:
        raise FeeScheduleError(f"{where}.due: must be one of {PAYMENT_DUE}")
    # Default: a fee due before processing stops the case's clock until it is paid.
    clock_stops = raw.get("clock_stops_while_unpaid", raw["due"] == "before_processing")
    if not isinstance(clock_stops, bool):
        raise FeeScheduleError(f"{where}.clock_stops_while_unpaid: must be true or false")
    if clock_stops and raw["due"] != "before_processing":
        raise FeeScheduleError(f"{where}.clock_stops_while_unpaid: only a fee due before_processing can stop "
                               "the case's clock")
    for key in ("group", "collector", "source"):
        if not raw.get(key):
            raise FeeScheduleError(f"{where}.{key}: is required")
    items = []
    for j, item in enumerate(raw.get("items") or []):
        at = f"{where}.items[{j}]"
        if not isinstance(item, dict):
            raise FeeScheduleError(f"{at}: must be a mapping")
        if item.get("kind") not in ITEM_KINDS:
            raise FeeScheduleError(f"{at}.kind: must be one of {ITEM_KINDS}")
        for key in ("code", "name", "legal_basis"):
            if not item.get(key):
                raise FeeScheduleError(f"{at}.{key}: is required")
        items.append(FeeItem(str(item["code"]), item["kind"], item["name"],
                             _amount(item.get("amount_vnd"), f"{at}.amount_vnd"), item["legal_basis"],
                             str(item.get("unit", "")), bool(item.get("example", False))))
    if not items:
        raise FeeScheduleError(f"{where}.items: a schedule lists at least one item")
    item_codes = [i.code for i in items]
    if len(set(item_codes)) != len(item_codes):
        raise FeeScheduleError(f"{where}.items: an item code is listed twice")
    exemptions = []
    for j, e in enumerate(raw.get("exemptions") or []):
        at = f"{where}.exemptions[{j}]"
        for key in ("code", "name", "legal_basis"):
            if not e.get(key):
                raise FeeScheduleError(f"{at}.{key}: is required")
        exemptions.append(Exemption(str(e["code"]), e["name"], e["legal_basis"],
                                    _codes(e.get("items"), f"{at}.items", tuple(item_codes)),
                                    bool(e.get("example", False))))
    return FeeSchedule(procedure_code, str(raw["group"]), parse_day(raw.get("effective_from"),
                       f"{where}.effective_from", default_from), raw["due"], raw["collector"], tuple(items),
                       tuple(exemptions), raw["source"], _refund_on(raw.get("refund_on"), f"{where}.refund_on"),
                       clock_stops_while_unpaid=clock_stops)


def parse_fee_schedules(raw: Any, where: str, procedure_code: str, default_from: date) -> tuple[FeeSchedule, ...]:
    """A procedure's `fee_schedules` list (absent or empty: it charges nothing); two on one day are refused."""
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise FeeScheduleError(f"{where}: must be a list of schedules")
    schedules = tuple(parse_fee_schedule(s, f"{where}[{i}]", procedure_code, default_from) for i, s in enumerate(raw))
    days = [s.effective_from for s in schedules]
    twice = sorted({d.isoformat() for d in days if days.count(d) > 1})
    if twice:
        raise FeeScheduleError(f"{where}: two schedules take effect on the same day: {twice}")
    return tuple(sorted(schedules, key=lambda s: s.effective_from))
