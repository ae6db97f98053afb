"""The demo province's catalogue is real data with sources, and bad data files are refused."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from motcua_testkit.plugin import DEMO_DATA

from motcua_intake.adapters.catalogue_file import CatalogueDataError, load_catalogue


def test_the_demo_catalogue_has_at_least_twenty_procedures_each_naming_its_source():
    catalogue, code_format = load_catalogue(DEMO_DATA / "catalogue.yaml")
    procedures = catalogue.all()
    assert len(procedures) >= 20
    assert all(p.source.startswith("CSDL quốc gia về TTHC, mã " + p.code) for p in procedures)
    assert all(set(p.example_fields) <= {"deadline_working_days", "fee_schedules", "online_level", "receiving_agency",
                                         "calendar_group"}
               for p in procedures)
    assert code_format == "{agency}-{date:%y%m%d}-{number:04d}"


@pytest.mark.parametrize("change, message", [
    (lambda p: p.update(code="1001193"), "national procedure code"),
    (lambda p: p.update(online_level="level4"), "online_level"),
    (lambda p: p.update(receiving_agency="nowhere"), "receiving_agency"),
    (lambda p: p.pop("source"), "source"),
    (lambda p: p.update(deadline_working_days=0), "deadline_working_days"),
])
def test_a_bad_record_is_refused_naming_its_position(tmp_path: Path, change, message):
    data = yaml.safe_load((DEMO_DATA / "catalogue.yaml").read_text(encoding="utf-8"))
    change(data["procedures"][3])
    path = tmp_path / "catalogue.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(CatalogueDataError, match=r"procedures\[3\].*" + message):
        load_catalogue(path)


def test_a_code_listed_twice_is_refused(tmp_path: Path):
    data = yaml.safe_load((DEMO_DATA / "catalogue.yaml").read_text(encoding="utf-8"))
    data["procedures"].append(dict(data["procedures"][0]))
    path = tmp_path / "catalogue.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(CatalogueDataError, match="listed twice"):
        load_catalogue(path)
