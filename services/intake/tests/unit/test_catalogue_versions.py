"""The catalogue in force on a date: versions by effective date, withdrawals, translations."""
from __future__ import annotations

from dataclasses import replace
from datetime import date

from motcua_intake.domain.catalogue import Catalogue, ComponentRequirement, Procedure

V1 = Procedure(code="1.001193", name="Đăng ký khai sinh", deadline_working_days=1, online_level="full",
               receiving_agency_code="A", receiving_agency_name="UBND", handling_unit_code="A", field="Hộ tịch",
               source="Luật Hộ tịch", effective_from=date(2025, 7, 1),
               components=(ComponentRequirement("TO_KHAI", "Tờ khai", True),),
               names={"en": "Birth registration", "ja": "出生登録"}, description="Đăng ký việc sinh",
               descriptions={"en": "Registers a birth"})
V2 = replace(V1, deadline_working_days=0.5, effective_from=date(2026, 1, 1))


def test_each_date_gets_the_version_then_in_force():
    catalogue = Catalogue([V2, V1])
    assert catalogue.get("1.001193", on=date(2025, 6, 30)) is None
    assert catalogue.get("1.001193", on=date(2025, 12, 31)).deadline_working_days == 1
    assert catalogue.get("1.001193", on=date(2026, 1, 1)).deadline_working_days == 0.5
    assert catalogue.get("1.001193").deadline_working_days == 0.5


def test_a_withdrawn_procedure_is_gone_from_that_date_only():
    catalogue = Catalogue([V1], withdrawn=[("1.001193", date(2026, 3, 1))])
    assert catalogue.all(on=date(2026, 2, 28)) == [V1]
    assert catalogue.all(on=date(2026, 3, 1)) == [] and catalogue.get("1.001193") is None


def test_names_fall_back_to_vietnamese():
    assert (V1.name_in("en"), V1.name_in("ja"), V1.name_in("ko")) == ("Birth registration", "出生登録",
                                                                       "Đăng ký khai sinh")


def test_descriptions_fall_back_to_vietnamese_too():
    assert (V1.description_in("en"), V1.description_in("zh")) == ("Registers a birth", "Đăng ký việc sinh")


def test_a_record_round_trips_through_its_stored_form():
    assert Procedure.from_record(V1.record(), V1.effective_from) == V1
    assert Procedure.from_record(V1.record(), V1.effective_from).names == V1.names
