"""The catalogue owns each procedure's effective-dated fee schedules: a malformed one is refused naming
its field, the catalogue API shows the schedule in force, and a dossier records (and publishes in
DossierReceived) the schedule in force on the day it was received, which payment charges."""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest
import yaml

from motcua.intake.events.v1 import events_pb2 as pb
from motcua_common.config.clock import FixedClock
from motcua_common.events.in_memory import in_memory_env
from motcua_common.province.working_calendar import WorkingCalendar
from motcua_testkit.plugin import DEMO_DATA

from motcua_intake.adapters.catalogue_file import CatalogueDataError, load_catalogue
from motcua_intake.adapters.proto import procedure_to_proto
from motcua_intake.adapters.published import publication
from motcua_intake.application import IntakeApplication
from intake_memory import InMemoryNumbering, InMemoryVault
from intake_testkit import OFFICIAL, command

SIGNATURE = "2.000884"  # Chứng thực chữ ký: 10.000 đồng (Thông tư 226/2016) since 2017


def _catalogue_file(tmp_path: Path, change) -> Path:  # type: ignore[no-untyped-def]
    data = yaml.safe_load((DEMO_DATA / "catalogue.yaml").read_text(encoding="utf-8"))
    index = next(i for i, p in enumerate(data["procedures"]) if p["code"] == SIGNATURE)
    change(data["procedures"][index])
    path = tmp_path / "catalogue.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def _new_schedule_from_december(procedure: dict) -> None:
    """A second schedule of 20.000 đồng from 1 Dec 2026 (Vietnam time); the 2017 one stays before it."""
    new = dict(procedure["fee_schedules"][0], effective_from="2026-12-01",
               items=[dict(procedure["fee_schedules"][0]["items"][0], amount_vnd=20_000)])
    procedure["fee_schedules"].append(new)


@pytest.mark.parametrize("change, field", [
    (lambda s: s["items"][0].update(kind="thue"), r"fee_schedules\[0\]\.items\[0\]\.kind"),
    (lambda s: s["items"][0].update(amount_vnd=-1), r"fee_schedules\[0\]\.items\[0\]\.amount_vnd"),
    (lambda s: s["items"][0].pop("legal_basis"), r"fee_schedules\[0\]\.items\[0\]\.legal_basis"),
    (lambda s: s.update(due="later"), r"fee_schedules\[0\]\.due"),
    (lambda s: s.pop("collector"), r"fee_schedules\[0\]\.collector"),
    (lambda s: s.update(items=[]), r"fee_schedules\[0\]\.items"),
    (lambda s: s.update(refund_on={"withdrawn": "half"}), r"fee_schedules\[0\]\.refund_on\.withdrawn"),
    (lambda s: s.update(due="before_result", clock_stops_while_unpaid=True),
     r"fee_schedules\[0\]\.clock_stops_while_unpaid"),
    (lambda s: s.update(effective_from="1 Dec"), r"fee_schedules\[0\]\.effective_from"),
])
def test_the_catalogue_refuses_a_malformed_fee_schedule_naming_the_field(tmp_path: Path, change, field):
    path = _catalogue_file(tmp_path, lambda p: change(p["fee_schedules"][0]))
    with pytest.raises(CatalogueDataError, match=r"procedures\[\d+\]\." + field):
        load_catalogue(path)


def test_the_catalogue_refuses_a_bare_fee_vnd_and_two_schedules_on_one_day(tmp_path: Path):
    with pytest.raises(CatalogueDataError, match=r"fee_vnd: fees are given as fee_schedules"):
        load_catalogue(_catalogue_file(tmp_path, lambda p: p.update(fee_vnd=10_000)))
    with pytest.raises(CatalogueDataError, match=r"fee_schedules: two schedules take effect on the same day"):
        load_catalogue(_catalogue_file(tmp_path, lambda p: p["fee_schedules"].append(p["fee_schedules"][0])))


def test_the_procedure_shows_the_items_of_the_schedule_in_force_and_fee_vnd_its_total(tmp_path: Path):
    catalogue, _ = load_catalogue(_catalogue_file(tmp_path, _new_schedule_from_december))
    procedure = catalogue.get(SIGNATURE)
    before = procedure_to_proto(procedure, "vi", datetime(2026, 11, 30).date())
    after = procedure_to_proto(procedure, "vi", datetime(2026, 12, 1).date())
    assert [(i.code, i.kind, i.unit, i.amount_vnd) for i in before.fee_schedule.items] == [
        ("LE_PHI_CHUNG_THUC_CHU_KY", "le_phi", "trường hợp", 10_000)]
    assert before.fee_schedule.items[0].legal_basis == "Thông tư 226/2016/TT-BTC, Điều 4 khoản 2"
    assert (before.fee_schedule.due, before.fee_schedule.collector) == ("before_processing",
                                                                        "UBND cấp xã nơi chứng thực")
    assert (before.fee_vnd, after.fee_vnd, after.fee_schedule.effective_from) == (10_000, 20_000, "2026-12-01")
    free = procedure_to_proto(catalogue.get("1.001193"), "vi", datetime(2026, 12, 1).date())
    assert not free.HasField("fee_schedule") and free.fee_vnd == 0


def _received_published(catalogue, code_format, at: datetime) -> pb.DossierReceived:  # type: ignore[no-untyped-def]
    app = IntakeApplication(env=in_memory_env(), province="test", clock=FixedClock(at), catalogue=catalogue,
                            calendar_for=lambda group: WorkingCalendar.from_data({}), numbering=InMemoryNumbering(),
                            vault=InMemoryVault(), code_format=code_format, render_receipt=lambda *a: b"")
    try:
        app.submit_dossier(command(procedure_code=SIGNATURE), OFFICIAL)
        mappers = publication().mappers
        events = [app.mapper.to_domain_event(n) for n in app.recorder.select_notifications(start=1, limit=100)]
        return next(m for m in (mappers[type(e)](e) for e in events if type(e) in mappers)
                    if isinstance(m, pb.DossierReceived))
    finally:
        app.close()


def test_a_dossier_received_before_a_new_schedule_takes_effect_publishes_the_old_one(tmp_path: Path):
    catalogue, code_format = load_catalogue(_catalogue_file(tmp_path, _new_schedule_from_december))
    # 23:30 on 30 Nov in Vietnam (16:30 UTC): still the 2017 schedule; 00:30 on 1 Dec: the new one.
    old = _received_published(catalogue, code_format, datetime(2026, 11, 30, 16, 30, tzinfo=timezone.utc))
    new = _received_published(catalogue, code_format, datetime(2026, 11, 30, 17, 30, tzinfo=timezone.utc))
    assert old.fee_schedule_recorded and [i.amount_vnd for i in old.fee_items] == [10_000]
    assert old.fee_schedule_from == "2017-01-01" and [i.amount_vnd for i in new.fee_items] == [20_000]
    assert (old.fee_due, old.fee_group, old.clock_stops_while_unpaid) == ("before_processing", "Chứng thực", True)
    assert dict(old.refund_on) == {"withdrawn": "full", "refused": "full"}


def test_a_free_procedure_publishes_a_recorded_schedule_without_items():
    catalogue, code_format = load_catalogue(DEMO_DATA / "catalogue.yaml")
    app = IntakeApplication(env=in_memory_env(), province="test", clock=FixedClock(datetime(2026, 11, 23, 1,
                            tzinfo=timezone.utc)), catalogue=catalogue,
                            calendar_for=lambda group: WorkingCalendar.from_data({}), numbering=InMemoryNumbering(),
                            vault=InMemoryVault(), code_format=code_format, render_receipt=lambda *a: b"")
    try:
        app.submit_dossier(command(), OFFICIAL)  # 1.004873: free
        events = [app.mapper.to_domain_event(n) for n in app.recorder.select_notifications(start=1, limit=100)]
        received = next(e for e in events if type(e).__name__ == "Received")
        message = publication().mappers[type(received)](received)
        assert received.fee_schedule == {} and message.fee_schedule_recorded and not message.fee_items
    finally:
        app.close()


def test_a_dossier_received_before_schedules_were_recorded_publishes_none():
    from eventsourcing.persistence import Notification
    from uuid import UUID

    from motcua_common.events.store import ChainingMapper, make_transcoder
    from motcua_common.events.stored_contract import load_samples

    sample = next(s for s in load_samples(Path(__file__).parents[1] / "stored_events")
                  if s.path.name == "Dossier.Received.v3.json")
    event = ChainingMapper(transcoder=make_transcoder()).to_domain_event(
        Notification(UUID(int=1), 1, sample.topic, sample.state, 1))
    message = publication().mappers[type(event)](event)
    assert event.fee_schedule is None and not message.fee_schedule_recorded and not message.fee_items


def test_a_catalogue_entry_stored_with_a_bare_fee_vnd_reads_back_without_a_schedule_and_a_new_one_round_trips():
    import json
    from datetime import date

    from motcua_intake.domain.catalogue import Procedure

    stored = json.loads((Path(__file__).parents[1] / "stored_events" / "CatalogueEntry.Published.v1.json")
                        .read_text(encoding="utf-8"))["stored_state"]["record"]
    assert "fee_vnd" in stored
    old = Procedure.from_record(stored, date(2025, 7, 1))
    assert old.fee_schedules == () and old.fee_vnd() == 0
    catalogue, _ = load_catalogue(DEMO_DATA / "catalogue.yaml")
    signature = catalogue.get(SIGNATURE)
    again = Procedure.from_record(json.loads(json.dumps(signature.record())), signature.effective_from)
    assert again.fee_schedules == signature.fee_schedules and again.fee_vnd() == 10_000
