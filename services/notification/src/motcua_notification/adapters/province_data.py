"""What the messages name from the province's published data (catalogue.yaml): procedures' and
agencies' Vietnamese names. Public data, read from the same file intake imports; never another
service's tables."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

import yaml


@dataclass(frozen=True)
class ProvinceNames:
    procedures: Mapping[str, str]
    agencies: Mapping[str, str]
    components: Mapping[tuple[str, str], str]  # (procedure code, component code) -> name

    @classmethod
    def from_file(cls, path: Path) -> "ProvinceNames":
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        procedures = {str(p["code"]): str(p["name"]) for p in data.get("procedures", [])}
        components = {(str(p["code"]), str(c["code"])): str(c["name"])
                      for p in data.get("procedures", []) for c in p.get("components", []) if c.get("code")}
        return cls(procedures, {str(a["code"]): str(a["name"]) for a in data.get("agencies", [])}, components)

    def procedure(self, code: str) -> str:
        return self.procedures.get(code, code)

    def agency(self, code: str) -> str:
        return self.agencies.get(code, "Bộ phận Một cửa")
