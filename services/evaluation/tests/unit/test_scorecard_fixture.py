"""A unit's November 2026 scorecard, computed by hand for thirteen dossiers.

Period: November 2026 in Vietnam time, [2026-11-01 00:00, 2026-12-01 00:00) +07:00. Unit U.
Procedures: P1 (fee 10,000 đ), P2 (fee 20,000 or 50,000 đ), P3 (no fee). Days are November's.

| id  | channel | received | due  | how it stands at the period's end                | components (digitised, reused) | fee, payment        | rating      |
| D01 | online  | 3        | 10   | processed 7, result signed 7, returned 8         | 2 (2, 1)                       | P1 paid online (1)  | satisfied   |
| D02 | desk    | 4        | 11   | processed 13 (late), result signed 13            | 2 (1, 0)                       | P1 paid cash        | dissatisfied|
| D03 | online  | 5        | 12   | withdrawn 6                                      | 1 (1, 0)                       | P2 invoice cancelled|             |
| D04 | desk    | never    | -    | registered 6, refused at the desk 6              | -                              | P3                  |             |
| D05 | desk    | 10       | 17   | stopped 20 (late)                                | 1 (1, 0)                       | P3                  |             |
| D06 | online  | 20       | 4 Dec| open, not yet due                                | 3 (3, 2)                       | P2 50,000 unpaid    |             |
| D07 | desk    | 12       | 25   | open and overdue                                 | 1 (0, 0)                       | P3                  |             |
| D08 | post    | 15       | 22   | one supplement request on 18, still pending      | 1 (1, 0)                       | P3                  |             |
| D09 | online  | 16       | 30   | two supplement requests (17-19, 21-23); processed 26, signed 26 | 2 (2, 0)        | P1 paid online (2)  |             |
| D10 | desk    | 25 Oct   | 5    | processed 4 (carried over), paper result only    | 1 (0, 0)                       | P3                  | satisfied   |
| D11 | desk    | 1 Oct    | 8 Oct| processed 20 Oct: ended before the period        | 1 (1, 0)                       | P3                  |             |
| D12 | desk    | 2        | 9    | extended to 16 with an apology; processed 13     | 1 (1, 0)                       | P1 paid online (1)  |             |
| D13 | online  | 5        | 12   | processed 6 — another unit                      | 1 (1, 0)                       | P1 paid online      |             |
| D14 | online  | never    | -    | registered 28, incomplete                        | -                              | -                   |             |

Progress (20 × R): counted = received before the end and not ended before the start, plus D04
(refused in the period): D01 D02 D03 D04 D05 D06 D07 D08 D09 D10 D12 = 11 (D11 ended before,
D13 another unit, D14 never received). On time: D01 (7 ≤ 10), D03 (withdrawn 6 ≤ 12), D04 (refused,
no appointment missed), D06 (open, due after the end), D08 (pending request 18 ≤ 22), D10 (4 ≤ 5)
= 6. Late: D02 (13 > 11), D05 (20 > 17), D07 (open, overdue), D09 (two requests), D12 (13 > 9:
the extension does not move the appointment) = 5. 20 × 6/11 = 10.909 → 10.91.

Received in the period (for shares): D01 D02 D03 D05 D06 D07 D08 D09 D12 = 9.
Online services: online = D01 D03 D06 D09 = 4; R = 4/9; min(4, 4 × (4/9) / 0.5) = 32/9 = 3.556 → 3.56.
Online payment: fee-bearing, not cancelled = D01 D02 D06 D09 D12 = 5; paid online = D01 D09 D12 = 3;
6 × 3/5 = 3.60. Procedures: fee-bearing {P1, P2} = 2, paid online {P1} = 1; min(2, 2 × 0.5 / 0.8) = 1.25.
Satisfaction: N = 11, late 5, disliked 1 (D02); R = 1 − 6/11 = 5/11; min(6, 6 × (5/11) / 0.9) =
100/33 = 3.030 → 3.03; numerator 11 − 5 − 1 = 5.
Digitisation: electronic results: processed in the period D01 D02 D09 D10 D12 = 5, signed D01 D02 D09
D12 = 4; 6 × 4/5 = 4.80. Components digitised (every component): D01 D03 D05 D06 D08 D09 D12 = 7 of 9;
4 × 7/9 = 3.111 → 3.11. Reuse: D01 D06 = 2 of 9; min(2, 2 × (2/9) / 0.8) = 5/9 = 0.556 → 0.56.
Group 24/5 + 28/9 + 5/9 = 8.467 → 8.47.
Total: 120/11 + 32/9 + 97/20 + 100/33 + 127/15 = 30.8116 → 30.81, out of 20 + 4 + 8 + 6 + 12 = 50
points with data; transparency and the other indicators are "no data".
"""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from motcua_evaluation.adapters.methodology_file import load_methodology
from motcua_evaluation.domain.facts import DossierFacts, Pause
from motcua_evaluation.domain.scorecard import NO_DATA, NOT_APPLICABLE, SCORED, Period, compute

VN = ZoneInfo("Asia/Ho_Chi_Minh")
U, OTHER = "000.31.01.H45", "000.31.02.H45"
P1, P2, P3 = "1.000001", "1.000002", "1.000003"
NOVEMBER = Period(datetime(2026, 11, 1, tzinfo=VN), datetime(2026, 12, 1, tzinfo=VN), "2026-11")


def nov(day: int, hour: int = 9, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=VN)


def oct_(day: int, hour: int = 9) -> datetime:
    return nov(day, hour, month=10)


def dossier(code: str, **kw) -> DossierFacts:
    kw.setdefault("unit_code", U)
    if "due_at" in kw:
        kw.setdefault("due_before_extension", kw["due_at"])
    return DossierFacts(dossier_id=code, dossier_code=code, **kw)


def fixture() -> list[DossierFacts]:
    return [
        dossier("D01", channel="online", procedure_code=P1, received_at=nov(3), due_at=nov(10, 17),
                ended_at=nov(7), end_reason="processed", result_signed_at=nov(7), result_returned_at=nov(8),
                components_total=2, components_digitised=2, components_reused=1, fee_vnd=10_000,
                paid_at=nov(3, 10), paid_online_flag=1, rated_at=nov(9), rating_dissatisfied=False),
        dossier("D02", channel="desk", procedure_code=P1, received_at=nov(4), due_at=nov(11, 17),
                ended_at=nov(13), end_reason="processed", result_signed_at=nov(13), components_total=2,
                components_digitised=1, fee_vnd=10_000, paid_at=nov(4, 10), paid_online_flag=0,
                rated_at=nov(14), rating_dissatisfied=True),
        dossier("D03", channel="online", procedure_code=P2, received_at=nov(5), due_at=nov(12, 17),
                ended_at=nov(6), end_reason="withdrawn", components_total=1, components_digitised=1,
                fee_vnd=20_000, invoice_cancelled=True),
        dossier("D04", channel="desk", procedure_code=P3, registered_at=nov(6), ended_at=nov(6, 15),
                end_reason="refused"),
        dossier("D05", channel="desk", procedure_code=P3, received_at=nov(10), due_at=nov(17, 17),
                ended_at=nov(20), end_reason="stopped", components_total=1, components_digitised=1),
        dossier("D06", channel="online", procedure_code=P2, received_at=nov(20), due_at=nov(4, 17, month=12),
                components_total=3, components_digitised=3, components_reused=2, fee_vnd=50_000),
        dossier("D07", channel="desk", procedure_code=P3, received_at=nov(12), due_at=nov(25, 17),
                components_total=1),
        dossier("D08", channel="post", procedure_code=P3, received_at=nov(15), due_at=nov(22, 17),
                pauses=[Pause(nov(18))], components_total=1, components_digitised=1),
        dossier("D09", channel="online", procedure_code=P1, received_at=nov(16), due_at=nov(30, 17),
                pauses=[Pause(nov(17), nov(19)), Pause(nov(21), nov(23))], ended_at=nov(26),
                end_reason="processed", result_signed_at=nov(26), components_total=2, components_digitised=2,
                fee_vnd=10_000, paid_at=nov(16, 10), paid_online_flag=2),
        dossier("D10", channel="desk", procedure_code=P3, received_at=oct_(25), due_at=nov(5, 17),
                ended_at=nov(4), end_reason="processed", components_total=1, rated_at=nov(6)),
        dossier("D11", channel="desk", procedure_code=P3, received_at=oct_(1), due_at=oct_(8, 17),
                ended_at=oct_(20), end_reason="processed", components_total=1, components_digitised=1),
        dossier("D12", channel="desk", procedure_code=P1, received_at=nov(2), due_at=nov(16, 17),
                due_before_extension=nov(9, 17), ended_at=nov(13), end_reason="processed",
                result_signed_at=nov(13), components_total=1, components_digitised=1, fee_vnd=10_000,
                paid_at=nov(2, 10), paid_online_flag=1),
        dossier("D13", unit_code=OTHER, channel="online", procedure_code=P1, received_at=nov(5),
                due_at=nov(12, 17), ended_at=nov(6), end_reason="processed", result_signed_at=nov(6),
                components_total=1, components_digitised=1, fee_vnd=10_000, paid_at=nov(5), paid_online_flag=1),
        dossier("D14", channel="online", procedure_code=P3, registered_at=nov(28)),
    ]


@pytest.fixture(scope="module")
def card():
    methodology = load_methodology().in_force(NOVEMBER.end.date())
    return compute(methodology, fixture(), NOVEMBER, units=[U])


def figures(card, group, code):
    f = card.indicator(group, code)
    return f.status, f.numerator, f.denominator, f.points


def test_progress_counts_refused_withdrawn_stopped_carried_over_and_open_dossiers_as_computed_by_hand(card):
    f = card.indicator("progress", "on_time")
    assert (f.status, f.numerator, f.denominator, f.points) == (SCORED, 6, 11, 10.91)
    assert f.numerator_ids == ("D01", "D03", "D04", "D06", "D08", "D10")
    assert f.shortfall_ids == ("D02", "D05", "D07", "D09", "D12")
    assert f.formula == "20 × R" and f.methodology == "766-2022-portal-v1"


def test_online_services_share_of_dossiers_submitted_online(card):
    assert figures(card, "online_services", "dossiers_online") == (SCORED, 4, 9, 3.56)
    assert card.indicator("online_services", "dossiers_online").formula == "min(4, 4 × R / 0.5)"


def test_online_payment_counts_gateway_payments_of_fee_bearing_uncancelled_dossiers(card):
    assert figures(card, "online_payment", "dossiers_paid_online") == (SCORED, 3, 5, 3.6)
    assert card.indicator("online_payment", "dossiers_paid_online").shortfall_ids == ("D02", "D06")
    assert figures(card, "online_payment", "procedures_paid_online") == (SCORED, 1, 2, 1.25)


def test_satisfaction_with_dossier_handling_subtracts_late_and_disliked_shares(card):
    f = card.indicator("satisfaction", "dossier_satisfaction")
    assert (f.status, f.numerator, f.denominator, f.points) == (SCORED, 5, 11, 3.03)
    assert f.detail == {"late": 5, "disliked": 1}
    assert f.shortfall_ids == ("D02", "D05", "D07", "D09", "D12")


def test_digitisation_indicators(card):
    assert figures(card, "digitisation", "electronic_results") == (SCORED, 4, 5, 4.8)
    assert card.indicator("digitisation", "electronic_results").shortfall_ids == ("D10",)
    assert figures(card, "digitisation", "components_digitised") == (SCORED, 7, 9, 3.11)
    assert figures(card, "digitisation", "digitised_data_reused") == (SCORED, 2, 9, 0.56)


def test_group_points_and_total_as_computed_by_hand(card):
    groups = {g.code: (g.points, g.points_scored_out_of) for g in card.groups}
    assert groups == {"transparency": (0.0, 0.0), "progress": (10.91, 20.0), "online_services": (3.56, 4.0),
                      "online_payment": (4.85, 8.0), "satisfaction": (3.03, 6.0), "digitisation": (8.47, 12.0)}
    assert (card.total, card.points_scored_out_of) == (30.81, 50.0)


def test_indicators_without_inputs_are_no_data_never_a_value(card):
    assert card.no_data == (
        "transparency.procedures_published_on_time", "transparency.procedures_updated_on_time",
        "transparency.components_public", "transparency.dossiers_synced", "online_services.procedures_online",
        "online_services.online_services_used", "online_payment.fee_data_synced", "satisfaction.feedback_on_time",
        "satisfaction.feedback_satisfaction", "digitisation.certified_copies", "digitisation.citizen_data_store",
        "digitisation.population_db_identity", "digitisation.population_db_data")
    synced = card.indicator("transparency", "dossiers_synced")
    assert (synced.status, synced.points, synced.numerator, synced.missing_inputs) == (
        NO_DATA, None, None, ("national_portal_sync",))
    assert {f.methodology for g in card.groups for f in g.indicators} == {"766-2022-portal-v1"}


def test_a_commune_is_not_scored_on_what_does_not_apply_to_communes():
    methodology = load_methodology().in_force(NOVEMBER.end.date())
    card = compute(methodology, fixture(), NOVEMBER, units=[U], unit_level="commune")
    assert card.indicator("online_services", "procedures_online").status == NOT_APPLICABLE
    assert card.indicator("digitisation", "population_db_data").status == NOT_APPLICABLE
    assert card.indicator("progress", "on_time").points == 10.91


def test_the_province_scores_every_unit_together():
    methodology = load_methodology().in_force(NOVEMBER.end.date())
    card = compute(methodology, fixture(), NOVEMBER)
    # D13 (another unit, processed on time) joins: 7 of 12 on time
    assert figures(card, "progress", "on_time") == (SCORED, 7, 12, 11.67)


def test_the_progress_rules_are_data_a_newer_methodology_changes_the_count():
    """Without withdrawals counted D03 leaves the progress dossiers: 5 on time of 10. With
    extensions moving the appointment D12 (processed 13, extended to 16) is on time: 7 of 11."""
    from dataclasses import replace

    methodology = load_methodology().in_force(NOVEMBER.end.date())
    rules = methodology.progress
    no_withdrawals = replace(methodology, progress=replace(
        rules, counted_end_reasons=rules.counted_end_reasons - {"withdrawn"}))
    progress = compute(no_withdrawals, fixture(), NOVEMBER, units=[U]).indicator("progress", "on_time")
    assert (progress.numerator, progress.denominator) == (5, 10) and "D03" not in progress.numerator_ids
    extensions = replace(methodology, progress=replace(rules, extension_moves_appointment=True))
    progress = compute(extensions, fixture(), NOVEMBER, units=[U]).indicator("progress", "on_time")
    assert (progress.numerator, progress.denominator) == (7, 11) and "D12" in progress.numerator_ids
    two_requests = replace(methodology, progress=replace(rules, max_supplement_requests=2))
    progress = compute(two_requests, fixture(), NOVEMBER, units=[U]).indicator("progress", "on_time")
    assert "D09" in progress.numerator_ids


def test_a_month_with_no_dossiers_scores_nothing_rather_than_full_or_zero_points():
    methodology = load_methodology().in_force(NOVEMBER.end.date())
    card = compute(methodology, fixture(), NOVEMBER, units=["000.99.99.H45"])
    progress = card.indicator("progress", "on_time")
    assert (progress.status, progress.points, progress.denominator) == ("no_dossiers", None, 0)
    assert (card.total, card.points_scored_out_of) == (0.0, 0.0)
