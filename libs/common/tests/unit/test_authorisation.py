"""The authorisation policy: a matrix generated from the province's policy data, and the rules
that hold whatever a province writes (read-only inspectors, SREs without personal data...)."""
from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
import yaml

from motcua_common.identity.authorisation import Policy, PolicyDataError, Principal, Target, decide, reach, units_below
from motcua_common.province.organisation import Organisation, Unit

ROOT = Path(__file__).resolve().parents[4]
POLICY_FILE = ROOT / "infra/provinces/quang-tri/access-policy.yaml"
RAW = yaml.safe_load(POLICY_FILE.read_text(encoding="utf-8"))
POLICY = Policy.from_data(RAW)

# A province centre above a district above a commune, and an unrelated commune.
ORG = Organisation([
    Unit("P.01", "Tỉnh", "province", date(2025, 7, 1)),
    Unit("D.01", "Huyện", "district", date(2004, 1, 1), parent="P.01"),
    Unit("C.01", "Xã 1", "commune", date(2004, 1, 1), parent="D.01"),
    Unit("C.02", "Xã 2", "commune", date(2004, 1, 1)),
])

CITIZEN = Principal(kind="citizen", subject="sub-citizen-1", citizen_id="044190000101", client="motcua-dev-cli",
                    applicant="subject-of-044190000101")
PORTAL = Principal(kind="integrator", subject="cong-dvc-quoc-gia", client="cong-dvc-quoc-gia",
                   scopes=frozenset(RAW["scopes"]))

# Situations of a target relative to the principal, and which reaches let each one through.
SITUATIONS = {
    "own_unit": Target(unit="D.01"),
    "unit_below": Target(unit="C.01"),
    "other_unit": Target(unit="C.02"),
    "own_dossier": Target(unit="C.02", applicant="subject-of-044190000101"),
    "others_dossier": Target(unit="C.02", applicant="subject-of-044190000999"),
    "own_client": Target(unit="C.02", client="cong-dvc-quoc-gia"),
    "platform": Target(),  # no dossier named: a dossier action is then denied
}
LETS_THROUGH = {
    "own_unit": {"own_unit"},
    "own_unit_and_below": {"own_unit", "unit_below"},
    "any_unit": {"own_unit", "unit_below", "other_unit", "own_dossier", "others_dossier", "own_client"},
    "own_dossier": {"own_dossier"},
    "own_client": {"own_client"},
}


def _expected(grants: dict, action: str, situation: str) -> bool:
    if RAW["actions"][action].get("public"):
        return True
    granted = grants.get(action)
    if granted == "platform":  # not about a dossier: whatever the target
        return True
    return granted is not None and situation in LETS_THROUGH[granted]


def _matrix():
    for role, raw in RAW["roles"].items():
        principal = Principal(kind="official", subject=f"user-{role}", roles=frozenset({role}), unit="D.01")
        for action in RAW["actions"]:
            for situation in SITUATIONS:
                yield pytest.param(principal, action, situation, _expected(raw["grants"], action, situation),
                                   id=f"{role}-{action}-{situation}")
    for action in RAW["actions"]:
        for situation in SITUATIONS:
            yield pytest.param(CITIZEN, action, situation, _expected(RAW["citizen"]["grants"], action, situation),
                               id=f"citizen-{action}-{situation}")
            portal_grants = {a: r for grants in RAW["scopes"].values() for a, r in grants.items()}
            yield pytest.param(PORTAL, action, situation, _expected(portal_grants, action, situation),
                               id=f"integrator-{action}-{situation}")


@pytest.mark.parametrize(("principal", "action", "situation", "allowed"), list(_matrix()))
def test_matrix_from_the_policy_data(principal, action, situation, allowed):
    decision = decide(POLICY, ORG, principal, action, SITUATIONS[situation])
    assert decision.allowed is allowed, decision.reason
    assert decision.reason


def test_an_official_of_one_commune_cannot_read_another_communes_dossier():
    official = Principal(kind="official", subject="canbo01", roles=frozenset({"one_stop_officer"}), unit="C.01")
    decision = decide(POLICY, ORG, official, "dossier.read", Target(unit="C.02"))
    assert not decision
    assert decision.reason == "role one_stop_officer: the dossier is not at the official's unit"


def test_a_leader_sees_every_unit_below_through_several_levels():
    leader = Principal(kind="official", subject="lanhdao", roles=frozenset({"leader"}), unit="P.01")
    assert decide(POLICY, ORG, leader, "dossier.read", Target(unit="C.01"))
    assert not decide(POLICY, ORG, leader, "dossier.read", Target(unit="C.02"))
    assert units_below(ORG, "P.01") == {"P.01", "D.01", "C.01"}


def test_a_transferred_case_belongs_to_the_unit_it_is_at_now():
    old = Principal(kind="official", subject="cv1", roles=frozenset({"specialist"}), unit="C.01")
    new = replace(old, subject="cv2", unit="C.02")
    transferred = Target(unit="C.02")
    assert decide(POLICY, ORG, new, "case.act", transferred)
    assert not decide(POLICY, ORG, old, "case.act", transferred)


def test_an_official_without_a_unit_reaches_no_unit():
    official = Principal(kind="official", subject="x", roles=frozenset({"one_stop_officer"}))
    assert not decide(POLICY, ORG, official, "dossier.read", Target(unit="C.01"))
    assert reach(POLICY, ORG, official, "dossier.list").nothing


def test_several_roles_combine():
    both = Principal(kind="official", subject="x", roles=frozenset({"one_stop_officer", "leader"}), unit="D.01")
    assert decide(POLICY, ORG, both, "result.sign", Target(unit="D.01")).reason == "role leader: own unit"


@pytest.mark.parametrize("principal", [None, Principal(kind="system", subject="relay"),
                                       Principal(kind="anonymous", subject="")])
def test_no_identity_or_an_inside_identity_is_denied_everything_but_public(principal):
    assert decide(POLICY, ORG, principal, "catalogue.read").reason == "public"
    assert not decide(POLICY, ORG, principal, "ops.health")
    assert reach(POLICY, ORG, principal, "dossier.list").nothing


def test_an_unknown_action_is_denied():
    assert not decide(POLICY, ORG, CITIZEN, "dossier.delete_everything")


def test_a_citizen_id_never_appears_in_a_reason():
    decision = decide(POLICY, ORG, CITIZEN, "dossier.read", SITUATIONS["others_dossier"])
    assert not decision and "044190000" not in decision.reason and "sub-citizen" not in decision.reason


def test_an_integrator_acts_only_within_its_scopes():
    narrow = replace(PORTAL, scopes=frozenset({"dossier.read_status"}))
    assert not decide(POLICY, ORG, narrow, "dossier.submit_on_behalf", Target(unit="C.01"))
    assert decide(POLICY, ORG, PORTAL, "dossier.submit_on_behalf", Target(unit="C.01"))


def test_read_only_and_no_personal_data_hold_even_if_the_loaded_policy_is_changed():
    inspector = Principal(kind="official", subject="tt", roles=frozenset({"inspector"}))
    sre = Principal(kind="official", subject="sre", roles=frozenset({"sre"}))
    widened = replace(POLICY, roles_by_name={
        **POLICY.roles_by_name,
        "inspector": replace(POLICY.roles_by_name["inspector"], grants={"case.act": "any_unit"}),
        "sre": replace(POLICY.roles_by_name["sre"], grants={"history.read": "any_unit"}),
    })
    assert decide(widened, ORG, inspector, "case.act", Target(unit="C.01")).reason == "role inspector is read-only"
    assert not decide(widened, ORG, sre, "history.read", Target(unit="C.01"))


def test_lists_are_filtered_by_reach():
    desk = Principal(kind="official", subject="c", roles=frozenset({"one_stop_officer"}), unit="D.01")
    leader = replace(desk, roles=frozenset({"leader"}))
    inspector = replace(desk, roles=frozenset({"inspector"}), unit="")
    sre = replace(desk, roles=frozenset({"sre"}), unit="")
    assert reach(POLICY, ORG, desk, "dossier.list").units == {"D.01"}
    assert reach(POLICY, ORG, leader, "dossier.list").units == {"D.01", "C.01"}
    assert reach(POLICY, ORG, inspector, "dossier.list").everything
    assert reach(POLICY, ORG, sre, "dossier.list").nothing
    own = reach(POLICY, ORG, CITIZEN, "dossier.list")
    assert (own.applicant, own.everything, own.units) == ("subject-of-044190000101", False, frozenset())
    assert reach(POLICY, ORG, PORTAL, "dossier.read_status").client == "cong-dvc-quoc-gia"


def _policy_with(**changes) -> dict:
    data = yaml.safe_load(POLICY_FILE.read_text(encoding="utf-8"))
    for path, value in changes.items():
        node = data
        *parents, last = path.split("__")
        for key in parents:
            node = node[key]
        node[last] = value
    return data


@pytest.mark.parametrize(("changes", "message"), [
    ({"roles__inspector__grants__case.act": "any_unit"}, "read-only"),
    ({"roles__sre__grants__dossier.read": "any_unit"}, "personal data"),
    ({"roles__one_stop_officer__grants__dossier.burn": "own_unit"}, "not an action"),
    ({"roles__one_stop_officer__grants__dossier.read": "everywhere"}, "cannot be granted"),
    ({"roles__one_stop_officer__grants__dossier.read": "platform"}, "does not fit"),
    ({"roles__one_stop_officer__grants__ops.health": "own_unit"}, "does not fit"),
    ({"citizen__grants__dossier.read": "any_unit"}, "cannot be granted"),
    ({"roles__one_stop_officer__grants__dossier.read": "own_dossier"}, "cannot be granted"),
    ({"actions__dossier.read": {"about": "person"}}, "about"),
    ({"actions__dossier.read": {"writes": True, "secret": True}}, "unknown keys"),
])
def test_policy_data_that_breaks_a_rule_is_refused_on_load(changes, message):
    with pytest.raises(PolicyDataError, match=message):
        Policy.from_data(_policy_with(**changes))


def test_the_province_policy_names_the_roles_of_the_issue():
    assert POLICY.roles() == {"one_stop_officer", "specialist", "leader", "inspector", "sre"}
    assert POLICY.roles_by_name["inspector"].read_only and POLICY.roles_by_name["sre"].no_personal_data
