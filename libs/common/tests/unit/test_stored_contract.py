"""The contract checker itself: it must notice a missing sample, a version bumped without
an upcaster, and a stored class that no longer exists."""
from __future__ import annotations

import json
from pathlib import Path

from eventsourcing.domain import event

from motcua_common.events.domain import MotcuaAggregate
from motcua_common.events.stored_contract import check_contract, event_classes

TOPIC = f"{__name__}:Permit"


class Permit(MotcuaAggregate):
    @event("Granted")
    def __init__(self, holder: str) -> None:
        self.holder = holder

    class Renewed(MotcuaAggregate.Event):
        class_version = 2
        until: str
        fee: int

        @staticmethod
        def upcast_v1_v2(state: dict) -> None:
            state["fee"] = 0

    @event(Renewed)
    def renew(self, until: str, fee: int) -> None:
        self.until = until


def write(directory: Path, name: str, version: int, **fields) -> None:  # type: ignore[no-untyped-def]
    state = {"timestamp": {"_type_": "datetime_iso", "_data_": "2026-11-20T03:00:00+00:00"},
             "envelope": {"prev_hash": "0" * 64}, **fields}
    if version > 1:
        state["class_version"] = version
    (directory / f"{name}.v{version}.json").write_text(json.dumps(
        {"topic": f"{__name__}:{name}", "class_version": version, "stored_state": state}))


def test_the_classes_of_an_aggregate_are_its_own_events():
    assert set(event_classes([Permit])) == {"Permit.Granted", "Permit.Renewed"}


def test_complete_samples_pass(tmp_path):
    write(tmp_path, "Permit.Granted", 1, holder="Nguyễn Văn A", originator_topic=TOPIC)
    write(tmp_path, "Permit.Renewed", 1, until="2027-01-01")
    write(tmp_path, "Permit.Renewed", 2, until="2027-01-01", fee=50000)
    assert check_contract([Permit], tmp_path) == []


def test_a_version_without_a_sample_is_reported(tmp_path):
    write(tmp_path, "Permit.Granted", 1, holder="A", originator_topic=TOPIC)
    write(tmp_path, "Permit.Renewed", 2, until="2027-01-01", fee=1)
    assert check_contract([Permit], tmp_path) == [
        f"Permit.Renewed v1: no stored sample in {tmp_path} (freeze one: see this module)"]


def test_a_sample_the_upcasters_cannot_complete_is_reported(tmp_path, monkeypatch):
    write(tmp_path, "Permit.Granted", 1, holder="A", originator_topic=TOPIC)
    write(tmp_path, "Permit.Renewed", 1, until="2027-01-01")
    write(tmp_path, "Permit.Renewed", 2, until="2027-01-01", fee=1)
    monkeypatch.setattr(Permit.Renewed, "upcast_v1_v2", staticmethod(lambda state: None))
    problems = check_contract([Permit], tmp_path)
    assert problems == ["Permit.Renewed.v1.json: after upcasting lacks ['fee']"]


def test_a_stored_class_that_is_gone_is_reported(tmp_path):
    write(tmp_path, "Permit.Granted", 1, holder="A", originator_topic=TOPIC)
    write(tmp_path, "Permit.Renewed", 1, until="x")
    write(tmp_path, "Permit.Renewed", 2, until="x", fee=1)
    write(tmp_path, "Permit.Revoked", 1)
    assert check_contract([Permit], tmp_path) == [
        "Permit.Revoked.v1.json: Permit.Revoked is no longer an event class, but it is stored"]
