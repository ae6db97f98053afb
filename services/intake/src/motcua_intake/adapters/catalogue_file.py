"""Load a province's catalogue from its data file, refusing bad records with their position."""
from __future__ import annotations

import re
from pathlib import Path

import yaml

from datetime import date

from motcua_common.province.fees import FeeScheduleError, parse_fee_schedules

from motcua_intake.domain.catalogue import LANGUAGES, LEVELS, ONLINE_LEVELS, Catalogue, ComponentRequirement, Procedure

CODE_PATTERN = re.compile(r"^[0-9]{1,2}\.[0-9]{6}$")


class CatalogueDataError(ValueError):
    pass


def load_catalogue(path: Path) -> tuple[Catalogue, str]:
    """Returns the catalogue and the province's dossier code format."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    agencies = {a["code"]: a["name"] for a in data["agencies"]}
    procedures = []
    for i, raw in enumerate(data["procedures"]):
        where = f"{path.name}: procedures[{i}]"
        code = str(raw.get("code", ""))
        if not CODE_PATTERN.match(code):
            raise CatalogueDataError(f"{where}.code: {code!r} is not a national procedure code like 1.001193")
        if raw.get("online_level") not in ONLINE_LEVELS:
            raise CatalogueDataError(f"{where}.online_level: must be one of {ONLINE_LEVELS}")
        agency = raw.get("receiving_agency")
        if agency not in agencies:
            raise CatalogueDataError(f"{where}.receiving_agency: {agency!r} is not listed under agencies")
        if not raw.get("source"):
            raise CatalogueDataError(f"{where}.source: every record names its source")
        components = []
        for j, c in enumerate(raw.get("components", [])):
            if not c.get("code") or not c.get("name"):
                raise CatalogueDataError(f"{where}.components[{j}]: needs a code and a name")
            components.append(ComponentRequirement(str(c["code"]), c["name"], bool(c.get("required", True))))
        if len({c.code for c in components}) != len(components):
            raise CatalogueDataError(f"{where}.components: a component code is listed twice")
        names, descriptions = dict(raw.get("names", {})), dict(raw.get("descriptions", {}))
        for key, translations in (("names", names), ("descriptions", descriptions)):
            unknown = set(translations) - set(LANGUAGES)
            if unknown:
                raise CatalogueDataError(f"{where}.{key}: languages {sorted(unknown)} are not among {LANGUAGES}")
        levels = tuple(raw.get("levels", ["commune"]))
        if not levels or set(levels) - set(LEVELS):
            raise CatalogueDataError(f"{where}.levels: must be some of {LEVELS}")
        try:
            effective_from = date.fromisoformat(str(raw.get("effective_from", data.get("effective_from", "2025-07-01"))))
        except ValueError:
            raise CatalogueDataError(f"{where}.effective_from: must be a date like 2025-07-01") from None
        deadline = float(raw["deadline_working_days"])
        if deadline <= 0:
            raise CatalogueDataError(f"{where}.deadline_working_days: must be positive")
        if "fee_vnd" in raw:
            raise CatalogueDataError(f"{where}.fee_vnd: fees are given as fee_schedules (items, due, collector)")
        try:
            fee_schedules = parse_fee_schedules(raw.get("fee_schedules"), f"{where}.fee_schedules", code,
                                                date.fromisoformat(str(data.get("effective_from", "2025-07-01"))))
        except FeeScheduleError as error:
            raise CatalogueDataError(str(error)) from None
        procedures.append(Procedure(
            code=code,
            name=raw["name"],
            deadline_working_days=deadline,
            online_level=raw["online_level"],
            receiving_agency_code=agency,
            receiving_agency_name=agencies[agency],
            handling_unit_code=raw.get("handling_unit", agency),
            field=raw.get("field", ""),
            source=raw["source"],
            example_fields=tuple(raw.get("example_fields", ())),
            calendar_group=raw.get("calendar_group"),
            components=tuple(components),
            effective_from=effective_from,
            names=names,
            levels=levels,
            issues_result=bool(raw.get("issues_result", True)),
            description=raw.get("description", ""),
            descriptions=descriptions,
            fee_schedules=fee_schedules,
        ))
    codes = [p.code for p in procedures]
    duplicates = {c for c in codes if codes.count(c) > 1}
    if duplicates:
        raise CatalogueDataError(f"{path.name}: procedure codes listed twice: {sorted(duplicates)}")
    return Catalogue(procedures), data.get("dossier_code_format", "{agency}-{date:%y%m%d}-{number:04d}")
