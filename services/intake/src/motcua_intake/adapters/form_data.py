"""What the forms print that is the province's data, not the dossier's: each receiving agency's
header (governing body, receiving section, the place before the date) from `catalogue.yaml`'s
`agencies`, and officials' display names from `officials.yaml` (forms are signed with names,
never with sign-in names)."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

DEFAULT_SECTION = "Bộ phận Một cửa"


@dataclass(frozen=True)
class FormHeader:
    governing_body: str  # e.g. "UBND phường Đồng Hới"
    section: str  # the receiving section, e.g. "Bộ phận Một cửa"
    place: str  # printed before the date: "Đồng Hới, ngày ..."


@dataclass(frozen=True)
class FormData:
    headers: dict[str, FormHeader] = field(default_factory=dict)
    officials: dict[str, str] = field(default_factory=dict)  # sign-in subject -> display name

    def header(self, agency_code: str, agency_name: str) -> FormHeader:
        return self.headers.get(agency_code) or FormHeader(agency_name, DEFAULT_SECTION, "")

    def display_name(self, subject: str) -> str:
        """The official's name; blank (written by hand) when the data does not know them."""
        return self.officials.get(subject, "")

    @classmethod
    def load(cls, data_dir: Path) -> "FormData":
        catalogue = yaml.safe_load((data_dir / "catalogue.yaml").read_text(encoding="utf-8")) or {}
        place = catalogue.get("place", "")
        headers = {str(a["code"]): FormHeader(a.get("governing_body") or a["name"],
                                              a.get("section") or DEFAULT_SECTION, a.get("place") or place)
                   for a in catalogue.get("agencies") or []}
        officials_file = data_dir / "officials.yaml"
        officials = {}
        if officials_file.exists():
            raw = yaml.safe_load(officials_file.read_text(encoding="utf-8")) or {}
            officials = {str(k): str(v) for k, v in (raw.get("officials") or {}).items()}
        return cls(headers, officials)
