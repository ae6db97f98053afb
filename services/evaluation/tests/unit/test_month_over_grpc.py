"""A month from published events to the scorecard over gRPC, against figures computed by hand.

The dossiers of test_scorecard_fixture.py (its docstring has the arithmetic), this time as the
published events of intake, workflow and payment, folded by the projection, with the ratings given
through RateDossier by the applicant (D01 and D10 satisfied, D02 with one "Không hài lòng") on
30 November. GetScorecard for November answers the literals of that fixture.

As of 10 November 09:30 (Vietnam), the province knew less: D01 (processed 7, on time), D02
(open, due 11: late at the month's end), D03 (withdrawn 6), D04 (refused 6), D05 (received 10 at
09:00, open, due 17: late), D10 (processed 4, on time), D12 (open, due 9: late; its extension to
16 comes on the 8th but does not move the appointment) = 7 dossiers, on time D01 D03 D04 D10 = 4:
20 × 4/7 = 11.43. Received in the period by then: D01 D02 D03 D05 D12 = 5, online D01 D03 = 2:
min(4, 4 × (2/5) / 0.5) = 3.2. No rating was given yet: satisfaction R = 1 − 3/7 = 4/7,
min(6, 6 × (4/7) / 0.9) = 3.81.
"""
from __future__ import annotations

from datetime import datetime, timezone
from uuid import uuid4
from zoneinfo import ZoneInfo

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from motcua.evaluation.v1 import evaluation_pb2 as pb
from motcua.evaluation.v1 import evaluation_pb2_grpc as pb_grpc
from motcua.intake.events.v1 import events_pb2 as intake
from motcua.payment.events.v1 import events_pb2 as payment
from motcua.workflow.events.v1 import events_pb2 as workflow
from motcua_common.config.clock import FixedClock
from motcua_common.edge.access import Gate
from motcua_common.edge.grpc_server import create_server
from motcua_common.events.in_memory import in_memory_env
from motcua_common.events.published import PublishedEvent
from motcua_common.identity.authorisation import Policy
from motcua_common.province.organisation import Organisation

from motcua_evaluation.adapters.methodology_file import load_methodology
from motcua_evaluation.application import EvaluationApplication
from motcua_evaluation.domain.projection import fold
from motcua_evaluation.entrypoints.grpc_server import servicers
from test_evaluation_edge import CITIZEN_ID, CRITERIA, DATA, HERE, TokenTable, Vault, pseudonym

VN = ZoneInfo("Asia/Ho_Chi_Minh")
OTHER = "000.31.02.H45"
P1, P2, P3 = "1.000001", "1.000002", "1.000003"
APPLICANT = pseudonym(CITIZEN_ID)


def nov(day: int, hour: int = 9, month: int = 11, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=VN)


def ts(value: datetime) -> Timestamp:
    out = Timestamp()
    out.FromDatetime(value.astimezone(timezone.utc))
    return out


class Month:
    """The published events, each recorded when it happened."""

    def __init__(self) -> None:
        self.events: list[PublishedEvent] = []
        self.ids: dict[str, str] = {}
        self.positions: dict[str, int] = {}

    def id(self, code: str) -> str:
        return self.ids.setdefault(code, str(uuid4()))

    def add(self, upstream: str, code: str, message, at: datetime) -> None:
        position = self.positions[upstream] = self.positions.get(upstream, 0) + 1
        self.events.append(PublishedEvent(
            upstream=upstream, id=f"{upstream}:{position}", source=f"motcua/test/{upstream}",
            type=message.DESCRIPTOR.full_name, time=at.astimezone(timezone.utc), subject=self.id(code),
            position=position, previous_position=position - 1, actor={}, causation="", traceparent="",
            dossier_code=code, stored_hash="", occurred_at=None, data=message.SerializeToString()))

    def received(self, code: str, channel: str, procedure: str, at: datetime, due: datetime,
                 components: list[tuple[bool, bool]], unit: str = HERE) -> None:
        self.add("intake", code, intake.DossierReceived(
            dossier_id=self.id(code), code=code, procedure_code=procedure, receiving_agency_code=unit,
            handling_unit_code=unit, channel=channel, applicant=intake.Applicant(subject_id=APPLICANT, kind="citizen"),
            components=[intake.Component(code=f"C{i}", digitised=d, reused_from="OLD" if r else "")
                        for i, (d, r) in enumerate(components)],
            received_at=ts(at), appointment_at=ts(due)), at)

    def invoice(self, code: str, total: int, at: datetime, paid_at: datetime | None = None, flag: int = 0) -> None:
        self.add("payment", code, payment.InvoiceIssued(dossier_id=self.id(code), total_vnd=total), at)
        if paid_at is not None:
            self.add("payment", code, payment.InvoicePaid(method="gateway" if flag else "cash", amount_vnd=total,
                                                          paid_at=ts(paid_at), online_flag=flag), paid_at)

    def processed(self, code: str, at: datetime, signed: bool = False, returned: datetime | None = None) -> None:
        self.add("workflow", code, workflow.CaseProcessed(processed_at=ts(at), end_reason="processed"), at)
        if signed:
            self.add("workflow", code, workflow.ResultSigned(sha256="ab" * 32, signed_at=ts(at)), at)
        if returned is not None:
            self.add("workflow", code, workflow.ResultReturned(method="desk", returned_at=ts(returned)), returned)


def november() -> Month:
    m = Month()
    m.received("D11", "desk", P3, nov(1, month=10), nov(8, 17, month=10), [(True, False)])
    m.processed("D11", nov(20, month=10))
    m.received("D10", "desk", P3, nov(25, month=10), nov(5, 17), [(False, False)])
    m.received("D12", "desk", P1, nov(2), nov(9, 17), [(True, False)])
    m.invoice("D12", 10_000, nov(2, 9, minute=5), nov(2, 10), flag=1)
    m.received("D01", "online", P1, nov(3), nov(10, 17), [(True, True), (True, False)])
    m.invoice("D01", 10_000, nov(3, 9, minute=5), nov(3, 10), flag=1)
    m.processed("D10", nov(4), returned=nov(6, 8))
    m.received("D02", "desk", P1, nov(4), nov(11, 17), [(True, False), (False, False)])
    m.invoice("D02", 10_000, nov(4, 9, minute=5), nov(4, 10), flag=0)
    m.received("D03", "online", P2, nov(5), nov(12, 17), [(True, False)])
    m.invoice("D03", 20_000, nov(5, 9, minute=5))
    m.received("D13", "online", P1, nov(5), nov(12, 17), [(True, False)], unit=OTHER)
    m.invoice("D13", 10_000, nov(5, 9, minute=5), nov(5, 10), flag=1)
    m.add("intake", "D03", intake.DossierWithdrawn(dossier_id=m.id("D03"), withdrawn_at=ts(nov(6))), nov(6))
    m.add("workflow", "D03", workflow.CaseStopped(reason="Người nộp rút hồ sơ", stopped_at=ts(nov(6, 10)),
                                                  end_reason="withdrawn"), nov(6, 10))
    m.add("payment", "D03", payment.InvoiceCancelled(reason="rút hồ sơ"), nov(6, 10))
    m.add("intake", "D04", intake.DossierRegistered(dossier_id=m.id("D04"), code="D04", procedure_code=P3,
                                                     receiving_agency_code=HERE, channel="desk", registered_at=ts(nov(6)),
                                                     missing_component_codes=["TO_KHAI"]), nov(6))
    m.add("intake", "D04", intake.DossierRefused(dossier_id=m.id("D04"), refused_at=ts(nov(6, 15))), nov(6, 15))
    m.processed("D13", nov(6), signed=True)
    m.processed("D01", nov(7), signed=True, returned=nov(8))
    m.add("workflow", "D12", workflow.DeadlineExtended(previous_due_at=ts(nov(9, 17)), new_due_at=ts(nov(16, 17))),
          nov(8))
    m.received("D05", "desk", P3, nov(10), nov(17, 17), [(True, False)])
    m.received("D07", "desk", P3, nov(12), nov(25, 17), [(False, False)])
    m.processed("D02", nov(13), signed=True, returned=nov(14, 8))
    m.processed("D12", nov(13), signed=True)
    m.received("D08", "post", P3, nov(15), nov(22, 17), [(True, False)])
    m.received("D09", "online", P1, nov(16), nov(24, 17), [(True, False), (True, False)])
    m.invoice("D09", 10_000, nov(16, 9, minute=5), nov(16, 10), flag=2)
    m.add("workflow", "D09", workflow.CaseSupplementRequested(requested_at=ts(nov(17))), nov(17))
    m.add("workflow", "D08", workflow.CaseSupplementRequested(requested_at=ts(nov(18))), nov(18))
    m.add("workflow", "D09", workflow.CaseResumed(resumed_at=ts(nov(19)), due_at=ts(nov(26, 17))), nov(19))
    m.add("workflow", "D05", workflow.CaseStopped(reason="Dừng xử lý", stopped_at=ts(nov(20)), end_reason="stopped"),
          nov(20))
    m.received("D06", "online", P2, nov(20), nov(4, 17, month=12), [(True, True), (True, True), (True, False)])
    m.invoice("D06", 50_000, nov(20, 9, minute=5))
    m.add("workflow", "D09", workflow.CaseSupplementRequested(requested_at=ts(nov(21))), nov(21))
    m.add("workflow", "D09", workflow.CaseResumed(resumed_at=ts(nov(23)), due_at=ts(nov(30, 17))), nov(23))
    m.processed("D09", nov(26), signed=True)
    m.add("intake", "D14", intake.DossierRegistered(dossier_id=m.id("D14"), code="D14", procedure_code=P3,
                                                     receiving_agency_code=HERE, channel="online",
                                                     registered_at=ts(nov(28)), missing_component_codes=["TO_KHAI"]),
          nov(28))
    return m


class FoldedFacts:
    """The facts source over the month's events (what PostgresDossierFacts does over its table)."""

    def __init__(self, events: list[PublishedEvent]) -> None:
        self.events = sorted(events, key=lambda e: (e.upstream, e.position))

    def get(self, dossier_id, as_of=None):  # type: ignore[no-untyped-def]
        return fold(self.events, as_of).get(str(dossier_id))

    def all(self, as_of=None):  # type: ignore[no-untyped-def]
        return list(fold(self.events, as_of).values())


@pytest.fixture(scope="module")
def month():
    m = november()
    app = EvaluationApplication(env=in_memory_env(), province="test", clock=FixedClock(nov(30, 12)),
                                methodology=load_methodology(), facts=FoldedFacts(m.events), vault=Vault())
    add, names, calls = servicers(app)

    def register(server):  # type: ignore[no-untyped-def]
        add(server)
        return names

    gate = Gate(TokenTable(), Policy.load(DATA / "access-policy.yaml"), Organisation.load(DATA / "units.yaml"),
                pseudonym=pseudonym)
    server, port, _ = create_server("127.0.0.1:0", register, max_workers=4, dossier_calls=calls, gate=gate)
    server.start()
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = pb_grpc.EvaluationServiceStub(channel)
        citizen = (("authorization", "Bearer token-of-citizen"),)
        for code, disliked in (("D01", False), ("D02", True), ("D10", False)):
            answers = [pb.RatingAnswer(criterion=c, level=0 if disliked and c == "total_time" else 2) for c in CRITERIA]
            stub.RateDossier(pb.RateDossierRequest(idempotency_key=f"rate-{code}", dossier_id=m.id(code),
                                                   answers=answers, via="online"), metadata=citizen, timeout=10)
        yield m, stub
    server.stop(0)
    app.close()


def scorecard(stub, as_of: datetime | None = None) -> dict:  # type: ignore[no-untyped-def]
    request = pb.GetScorecardRequest(period_start=ts(nov(1, 0)), period_end=ts(nov(1, 0, month=12)), unit_codes=[HERE])
    if as_of is not None:
        request.as_of.CopyFrom(ts(as_of))
    card = stub.GetScorecard(request, metadata=(("authorization", "Bearer token-of-leader"),), timeout=10)
    figures = {f"{g.code}.{i.code}": (i.numerator, i.denominator, round(i.points, 2))
               for g in card.groups for i in g.indicators if i.status == pb.INDICATOR_STATUS_SCORED}
    return {"figures": figures, "groups": {g.code: round(g.points, 2) for g in card.groups},
            "total": round(card.total, 2), "out_of": card.points_scored_out_of, "card": card}


def test_the_month_over_grpc_shows_the_hand_computed_figures(month):
    m, stub = month
    got = scorecard(stub)
    assert got["figures"] == {
        "progress.on_time": (6, 11, 10.91),
        "online_services.dossiers_online": (4, 9, 3.56),
        "online_payment.dossiers_paid_online": (3, 5, 3.6),
        "online_payment.procedures_paid_online": (1, 2, 1.25),
        "satisfaction.dossier_satisfaction": (5, 11, 3.03),
        "digitisation.electronic_results": (4, 5, 4.8),
        "digitisation.components_digitised": (7, 9, 3.11),
        "digitisation.digitised_data_reused": (2, 9, 0.56),
    }
    assert got["groups"] == {"transparency": 0.0, "progress": 10.91, "online_services": 3.56, "online_payment": 4.85,
                             "satisfaction": 3.03, "digitisation": 8.47}
    assert (got["total"], got["out_of"]) == (30.81, 50.0)
    progress = [i for g in got["card"].groups for i in g.indicators if i.code == "on_time"][0]
    assert sorted(progress.shortfall_dossier_ids) == sorted(m.id(c) for c in ("D02", "D05", "D07", "D09", "D12"))


def test_the_same_call_as_of_an_earlier_instant_gives_what_the_province_knew_then(month):
    m, stub = month
    got = scorecard(stub, as_of=nov(10, 9, minute=30))
    assert got["figures"]["progress.on_time"] == (4, 7, 11.43)
    assert got["figures"]["online_services.dossiers_online"] == (2, 5, 3.2)
    assert got["figures"]["satisfaction.dossier_satisfaction"] == (4, 7, 3.81)
