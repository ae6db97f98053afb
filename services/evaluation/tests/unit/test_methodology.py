"""The methodology file loads, adds up, and is refused when it does not; versions are effective-dated."""
from __future__ import annotations

import copy
from datetime import date

import pytest
import yaml

from motcua_common.errors import NotFound, RuleViolated

from motcua_evaluation.adapters.methodology_file import DEFAULT_PATH, load_methodology, parse_methodology
from motcua_evaluation.domain.methodology import MethodologyError


@pytest.fixture
def data() -> dict:
    return yaml.safe_load(DEFAULT_PATH.read_text(encoding="utf-8"))


def test_the_shipped_methodology_has_the_six_groups_of_decision_766_summing_to_100():
    m = load_methodology().in_force(date(2026, 11, 30))
    assert {g.code: g.points for g in m.groups} == {"transparency": 18, "progress": 20, "online_services": 12,
                                                    "online_payment": 10, "satisfaction": 18, "digitisation": 22}
    assert len(m.survey.criteria) == 9 and m.survey.level_values == {0, 1, 2}


def test_indicators_that_do_not_sum_to_their_group_are_refused(data):
    data["versions"][0]["groups"][1]["indicators"][0]["points"] = 19
    with pytest.raises(MethodologyError, match="group progress: indicators sum to 19 points, not 20"):
        parse_methodology(data)


def test_groups_that_do_not_sum_to_the_total_are_refused(data):
    data["versions"][0]["groups"][1]["points"] = 21
    data["versions"][0]["groups"][1]["indicators"][0]["points"] = 21
    with pytest.raises(MethodologyError, match="groups sum to 101 points, not 100"):
        parse_methodology(data)


def test_an_unknown_measure_or_a_threshold_outside_0_1_is_refused(data):
    indicators = data["versions"][0]["groups"][2]["indicators"]
    indicators[0]["measure"] = "guessed"
    indicators[2]["threshold"] = 1.5
    with pytest.raises(MethodologyError) as raised:
        parse_methodology(data)
    assert "unknown measure 'guessed'" in str(raised.value) and "threshold must be in (0, 1]" in str(raised.value)


def test_a_missing_field_is_named(data):
    del data["versions"][0]["groups"][0]["indicators"][0]["points"]
    with pytest.raises(MethodologyError, match="procedures_published_on_time: `points` is required"):
        parse_methodology(data)


def test_the_version_in_force_on_a_day_is_the_latest_taking_effect_by_then(data):
    newer = copy.deepcopy(data["versions"][0])
    newer["name"], newer["effective_from"] = "766-2027", date(2027, 1, 1)
    data["versions"].append(newer)
    book = parse_methodology(data)
    assert book.in_force(date(2026, 12, 31)).name == "766-2022-portal-v1"
    assert book.in_force(date(2027, 1, 1)).name == "766-2027"
    assert book.named("766-2027").effective_from == date(2027, 1, 1)
    with pytest.raises(RuleViolated) as before:
        book.in_force(date(2020, 1, 1))
    assert before.value.reason == "NO_METHODOLOGY"
    with pytest.raises(NotFound):
        book.named("nope")


def test_two_versions_on_the_same_day_are_refused(data):
    twin = copy.deepcopy(data["versions"][0])
    twin["name"] = "twin"
    data["versions"].append(twin)
    with pytest.raises(MethodologyError, match="same day"):
        parse_methodology(data)
