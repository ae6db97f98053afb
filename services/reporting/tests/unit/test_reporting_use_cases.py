"""Reporting's audit use cases in memory (eventsourcing's POPO recorder, an in-memory history table):
each read is recorded before anything is returned, bad references are refused naming the field."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from uuid import UUID, uuid4

import pytest

from motcua_common.audit.export import verify_document
from motcua_common.audit.log import Signer, TrustedKeys
from motcua_common.config.clock import FixedClock
from motcua_common.events.context import Actor
from motcua_common.errors import InvalidArgument, NotFound
from motcua.intake.events.v1 import events_pb2 as iev
from motcua.workflow.events.v1 import events_pb2 as wev
from motcua_common.events.published import timestamp
from motcua_common.events.in_memory import in_memory_env, own_log

from motcua_reporting.application import ReportingApplication
from reporting_memory import InMemoryHistories, history_row

T0 = datetime(2026, 11, 23, 1, 0, tzinfo=timezone.utc)
INSPECTOR = Actor(kind="official", subject="tt01", role="inspector")
SIGNER = Signer(b"\x07" * 32)


class Sources:
    """The source services' verification, as reporting asks it (one report per service)."""

    def __init__(self, broken: dict[str, dict] | None = None) -> None:
        self.asked: list[tuple[str, list[str], list[int]]] = []
        self.broken = broken or {}

    def verify(self, service: str, ids: list[str], positions: list[int]) -> dict:
        self.asked.append((service, ids, positions))
        return {"service": service, "intact": service not in self.broken, "broken": self.broken.get(service),
                "events_checked": len(positions)}


@pytest.fixture
def dossier():
    dossier_id = uuid4()
    code = f"000.31.01.H45-261123-{dossier_id.int % 10000:04d}"
    opened = history_row("workflow", "Case.Opened", T0 + timedelta(minutes=1), dossier_id, code, 3,
                         {"unit_code": "U1", "steps": [], "due_at": T0 + timedelta(days=3)},
                         published=wev.CaseOpened(dossier_id=str(dossier_id), dossier_code=code, unit_code="U1",
                                                  due_at=timestamp(T0 + timedelta(days=3)), national_status=4))
    rows = [
        history_row("intake", "Dossier.Received", T0, dossier_id, code, 7,
                    {"code": code, "procedure_code": "1.004873", "handling_unit_code": "U1",
                     "appointment_at": T0 + timedelta(days=3)},
                    published=iev.DossierReceived(dossier_id=str(dossier_id), code=code, procedure_code="1.004873",
                                                  handling_unit_code="U1", received_at=timestamp(T0),
                                                  appointment_at=timestamp(T0 + timedelta(days=3)))),
        opened,
        history_row("intake", "DossierRead.Recorded", T0 + timedelta(minutes=2), dossier_id, code, 9,
                    {"what": "intake.GetDossier"}),
        history_row("workflow", "Case.Processed", T0 + timedelta(hours=2), dossier_id, code, 5,
                    {"classification": "early"}, follows=opened,
                    published=wev.CaseProcessed(processed_at=timestamp(T0 + timedelta(hours=2)),
                                                classification="early", national_status=9, end_reason="processed")),
    ]
    return dossier_id, code, rows


@pytest.fixture
def sources():
    return Sources()


@pytest.fixture
def app(dossier, sources):
    histories = InMemoryHistories(dossier[2])
    app = ReportingApplication(env=in_memory_env(), province="test", clock=FixedClock(T0 + timedelta(days=1)),
                               histories=histories, signer=SIGNER, trust=TrustedKeys([SIGNER.public_key]),
                               verify_source=sources.verify)
    yield app
    app.close()


def reads_recorded(app: ReportingApplication) -> list[tuple[str, str, dict]]:
    events = own_log(app)
    return [(e.envelope["correlation_id"], e.data["what"], e.envelope["actor"]) for e in events
            if e.name == "DossierRead.Recorded"]


def test_history_by_code_is_in_recorded_order_and_the_read_is_recorded(app, dossier):
    dossier_id, code, _ = dossier
    rows = app.history(INSPECTOR, "", code, include_reads=True)
    assert [r.event_type for r in rows] == ["Dossier.Received", "Case.Opened", "DossierRead.Recorded",
                                            "Case.Processed"]
    assert reads_recorded(app) == [(str(dossier_id), "audit.StreamHistory", INSPECTOR.as_dict())]


def test_history_without_reads_leaves_them_out(app, dossier):
    rows = app.history(INSPECTOR, str(dossier[0]), "", include_reads=False)
    assert "DossierRead.Recorded" not in [r.event_type for r in rows]


@pytest.mark.parametrize("dossier_id, code, field", [
    ("not-a-uuid", "", "dossier_id"),
    ("", "", "dossier_id"),
    ("", "X" * 65, "dossier_code"),
])
def test_a_bad_reference_is_refused_naming_the_field_and_records_nothing(app, dossier_id, code, field):
    with pytest.raises(InvalidArgument) as refused:
        app.history(INSPECTOR, dossier_id, code, include_reads=True)
    assert [v.field for v in refused.value.violations] == [field]
    assert app.head_position() == 0


@pytest.mark.parametrize("dossier_id, code", [(str(UUID(int=1)), ""), ("", "KHONG-CO")])
def test_an_unknown_dossier_is_not_found_and_records_nothing(app, dossier_id, code):
    with pytest.raises(NotFound):
        app.history(INSPECTOR, dossier_id, code, include_reads=True)
    assert app.head_position() == 0


def test_a_dossier_with_only_reads_has_no_history(app):
    only_read = uuid4()
    app.histories.add(history_row("intake", "DossierRead.Recorded", T0, only_read, "C-READ", 1, {"what": "x"}))
    with pytest.raises(NotFound):
        app.history(INSPECTOR, str(only_read), "", include_reads=False)
    assert app.head_position() == 0


def test_state_at_folds_the_history_up_to_the_instant(app, dossier):
    dossier_id, code, _ = dossier
    before = app.state_at(INSPECTOR, str(dossier_id), "", T0 + timedelta(minutes=30))
    after = app.state_at(INSPECTOR, str(dossier_id), "", T0 + timedelta(hours=3))
    assert (before.dossier_code, before.status, before.national_status) == (code, "in_progress", 4)
    assert after.status == "processed" and after.classification == "early"
    assert [what for _, what, _ in reads_recorded(app)] == ["audit.GetStateAt", "audit.GetStateAt"]


def test_state_before_the_first_event_is_not_found_naming_as_of(app, dossier):
    with pytest.raises(NotFound) as refused:
        app.state_at(INSPECTOR, str(dossier[0]), "", T0 - timedelta(seconds=1))
    assert refused.value.field == "as_of"


def test_verify_asks_each_source_service_about_the_events_it_recorded(app, dossier, sources):
    dossier_id, _, rows = dossier
    report = app.verify(INSPECTOR, str(dossier_id), "")
    assert report["intact"] is True and report["first_broken_link"] is None
    case_id = str(rows[1].originator_id)
    assert sorted(sources.asked) == [
        ("intake", sorted([str(rows[0].originator_id), str(rows[2].originator_id)]), [7, 9]),
        ("workflow", [case_id], [3, 5])]
    assert [what for _, what, _ in reads_recorded(app)] == ["audit.VerifyHistory"]


def test_verify_names_the_earliest_broken_link_in_history_order(dossier):
    broken = {"intake": {"service": "intake", "position": 9, "kind": "log_chain"},
              "workflow": {"service": "workflow", "position": 3, "kind": "log_chain"}}
    app = ReportingApplication(env=in_memory_env(), province="test", clock=FixedClock(T0),
                               histories=InMemoryHistories(dossier[2]), signer=SIGNER,
                               trust=TrustedKeys([SIGNER.public_key]), verify_source=Sources(broken).verify)
    report = app.verify(INSPECTOR, str(dossier[0]), "")
    assert report["intact"] is False
    assert report["first_broken_link"] == broken["workflow"]  # Case.Opened (3) comes before the read (9)


def test_export_is_a_signed_document_of_every_event(app, dossier):
    dossier_id, code, rows = dossier
    filename, document = app.export(INSPECTOR, "", code, include_reads=True)
    assert filename == f"lich-su-ho-so-{code}.json"
    assert verify_document(document, TrustedKeys([SIGNER.public_key])).ok
    payload = json.loads(document)
    exported = payload.get("payload", payload)
    assert exported["dossier_id"] == str(dossier_id)
    assert [e["event_type"] for e in exported["events"]] == [r.event_type for r in rows]
    assert [what for _, what, _ in reads_recorded(app)] == ["audit.ExportHistory"]
