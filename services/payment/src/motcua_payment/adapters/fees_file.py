"""Load a province's fee schedules and discount rules (fees.yaml), refusing bad records with their position."""
from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from motcua_common.province.dossier_rules import CHANNELS

from motcua_payment.domain.fees import (DOSSIER_ENDINGS, ITEM_KINDS, PAYMENT_DUE, REFUND_RULES, DiscountRule, Exemption,
                                        FeeBook, FeeItem, FeeSchedule, ReceiptTemplate)

CODE_PATTERN = re.compile(r"^[0-9]{1,2}\.[0-9]{6}$")  # a national procedure code, as in the catalogue


class FeeDataError(ValueError):
    pass


def _day(raw: Any, where: str, default: Any = None) -> date:
    value = raw if raw is not None else default
    try:
        return value if isinstance(value, date) else date.fromisoformat(str(value))
    except ValueError:
        raise FeeDataError(f"{where}: must be a date like 2025-07-01") from None


def _amount(raw: Any, where: str) -> int:
    if not isinstance(raw, int) or isinstance(raw, bool) or raw < 0:
        raise FeeDataError(f"{where}: must be a whole number of đồng, 0 or more")
    return raw


def _codes(raw: Any, where: str, allowed: tuple[str, ...] | None = None) -> tuple[str, ...]:
    values = tuple(str(v) for v in (raw or ()))
    if allowed is not None and set(values) - set(allowed):
        raise FeeDataError(f"{where}: must be some of {allowed}")
    return values


def load_fee_book(path: Path) -> FeeBook:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    default_from = _day(data.get("effective_from"), f"{path.name}: effective_from", "2025-07-01")
    schedules = []
    for i, raw in enumerate(data.get("schedules", [])):
        where = f"{path.name}: schedules[{i}]"
        code = str(raw.get("procedure", ""))
        if not CODE_PATTERN.match(code):
            raise FeeDataError(f"{where}.procedure: {code!r} is not a national procedure code like 2.000815")
        if raw.get("due") not in PAYMENT_DUE:
            raise FeeDataError(f"{where}.due: must be one of {PAYMENT_DUE}")
        # Default: a fee due before processing stops the case's clock until it is paid.
        clock_stops = raw.get("clock_stops_while_unpaid", raw["due"] == "before_processing")
        if not isinstance(clock_stops, bool):
            raise FeeDataError(f"{where}.clock_stops_while_unpaid: must be true or false")
        if clock_stops and raw["due"] != "before_processing":
            raise FeeDataError(f"{where}.clock_stops_while_unpaid: only a fee due before_processing can stop "
                               "the case's clock")
        for key in ("group", "collector", "source"):
            if not raw.get(key):
                raise FeeDataError(f"{where}.{key}: is required")
        items = []
        for j, item in enumerate(raw.get("items") or []):
            at = f"{where}.items[{j}]"
            if item.get("kind") not in ITEM_KINDS:
                raise FeeDataError(f"{at}.kind: must be one of {ITEM_KINDS}")
            if not item.get("code") or not item.get("name") or not item.get("legal_basis"):
                raise FeeDataError(f"{at}: needs a code, a name and a legal_basis")
            items.append(FeeItem(str(item["code"]), item["kind"], item["name"], _amount(item.get("amount_vnd"),
                                 f"{at}.amount_vnd"), item["legal_basis"], str(item.get("unit", "")),
                                 bool(item.get("example", False))))
        if not items:
            raise FeeDataError(f"{where}.items: a schedule lists at least one item")
        item_codes = [i.code for i in items]
        if len(set(item_codes)) != len(item_codes):
            raise FeeDataError(f"{where}.items: an item code is listed twice")
        exemptions = []
        for j, e in enumerate(raw.get("exemptions") or []):
            at = f"{where}.exemptions[{j}]"
            if not e.get("code") or not e.get("name") or not e.get("legal_basis"):
                raise FeeDataError(f"{at}: needs a code, a name and a legal_basis")
            exempted = _codes(e.get("items"), f"{at}.items", tuple(item_codes))
            exemptions.append(Exemption(str(e["code"]), e["name"], e["legal_basis"], exempted,
                                        bool(e.get("example", False))))
        schedules.append(FeeSchedule(code, str(raw["group"]), _day(raw.get("effective_from"),
                                     f"{where}.effective_from", default_from), raw["due"], raw["collector"],
                                     tuple(items), tuple(exemptions), raw["source"],
                                     _refund_on(raw.get("refund_on"), f"{where}.refund_on"),
                                     clock_stops_while_unpaid=clock_stops))
    versions = [(s.procedure_code, s.effective_from) for s in schedules]
    twice = sorted({v for v in versions if versions.count(v) > 1})
    if twice:
        raise FeeDataError(f"{path.name}: schedules listed twice for the same procedure and day: {twice}")
    rules = []
    for i, raw in enumerate(data.get("discount_rules", [])):
        where = f"{path.name}: discount_rules[{i}]"
        for key in ("code", "name", "legal_basis"):
            if not raw.get(key):
                raise FeeDataError(f"{where}.{key}: is required")
        percent = raw.get("percent")
        if not isinstance(percent, int) or isinstance(percent, bool) or not 1 <= percent <= 100:
            raise FeeDataError(f"{where}.percent: must be a whole percentage from 1 to 100")
        start = _day(raw.get("effective_from"), f"{where}.effective_from", default_from)
        until = _day(raw["effective_until"], f"{where}.effective_until") if raw.get("effective_until") else None
        if until is not None and until < start:
            raise FeeDataError(f"{where}.effective_until: is before effective_from")
        rules.append(DiscountRule(str(raw["code"]), raw["name"], raw["legal_basis"], percent, start, until,
                                  _codes(raw.get("channels"), f"{where}.channels", CHANNELS),
                                  _codes(raw.get("groups"), f"{where}.groups"),
                                  _codes(raw.get("procedures"), f"{where}.procedures"),
                                  _codes(raw.get("kinds"), f"{where}.kinds", ITEM_KINDS),
                                  bool(raw.get("example", False))))
    codes = [r.code for r in rules]
    if len(set(codes)) != len(codes):
        raise FeeDataError(f"{path.name}: a discount rule code is listed twice")
    return FeeBook(schedules, rules, _receipt_templates(data.get("receipt_templates"), path.name, default_from))


def _refund_on(raw: Any, where: str) -> dict[str, str]:
    """`refund_on: {withdrawn: full|le_phi|none, refused: ...}`; an ending not given refunds in full."""
    if raw is None:
        return {}
    if not isinstance(raw, dict) or set(raw) - set(DOSSIER_ENDINGS):
        raise FeeDataError(f"{where}: must map some of {DOSSIER_ENDINGS} to one of {REFUND_RULES}")
    for ending, rule in raw.items():
        if rule not in REFUND_RULES:
            raise FeeDataError(f"{where}.{ending}: must be one of {REFUND_RULES}")
    return {str(k): str(v) for k, v in raw.items()}


SYMBOL_PATTERN = re.compile(r"^[0-9A-Z]{1,2}[A-Z][0-9]{2}[A-Z0-9]{1,4}$")  # e.g. 1C26TQT


def _receipt_templates(raw: Any, name: str, default_from: date) -> list[ReceiptTemplate]:
    templates = []
    for i, t in enumerate(raw or []):
        where = f"{name}: receipt_templates[{i}]"
        symbol = str(t.get("symbol", ""))
        if not SYMBOL_PATTERN.match(symbol):
            raise FeeDataError(f"{where}.symbol: {symbol!r} is not a receipt symbol (ký hiệu) like 1C26TQT")
        if not t.get("form"):
            raise FeeDataError(f"{where}.form: is required (the template's number, mẫu số)")
        templates.append(ReceiptTemplate(str(t["form"]), symbol, _day(t.get("effective_from"),
                                         f"{where}.effective_from", default_from), str(t.get("issuer", "")),
                                         str(t.get("place", ""))))
    symbols = [t.symbol for t in templates]
    if len(set(symbols)) != len(symbols):
        raise FeeDataError(f"{name}: receipt_templates: a symbol is listed twice (each symbol is one series)")
    return templates
