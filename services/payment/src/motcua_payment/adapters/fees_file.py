"""Load a province's discount rules and receipt templates (fees.yaml), refusing bad records with their position."""
from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from motcua_common.province.dossier_rules import CHANNELS

from motcua_payment.domain.fees import ITEM_KINDS, DiscountRule, FeeBook, ReceiptTemplate

class FeeDataError(ValueError):
    pass


def _day(raw: Any, where: str, default: Any = None) -> date:
    value = raw if raw is not None else default
    try:
        return value if isinstance(value, date) else date.fromisoformat(str(value))
    except ValueError:
        raise FeeDataError(f"{where}: must be a date like 2025-07-01") from None


def _codes(raw: Any, where: str, allowed: tuple[str, ...] | None = None) -> tuple[str, ...]:
    values = tuple(str(v) for v in (raw or ()))
    if allowed is not None and set(values) - set(allowed):
        raise FeeDataError(f"{where}: must be some of {allowed}")
    return values


def load_fee_book(path: Path) -> FeeBook:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    default_from = _day(data.get("effective_from"), f"{path.name}: effective_from", "2025-07-01")
    if data.get("schedules"):
        raise FeeDataError(f"{path.name}: schedules: fee schedules are the catalogue's (catalogue.yaml "
                           "fee_schedules), published with each received dossier; fees.yaml holds discount "
                           "rules and receipt templates only")
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
    return FeeBook(rules, _receipt_templates(data.get("receipt_templates"), path.name, default_from))


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
