"""The province's identities as data, the realm generated from them, and the OIDC settings."""
from __future__ import annotations

import base64
import json
import stat
from pathlib import Path

import pytest
import yaml

from motcua_common.identity.authorisation import Policy
from motcua_common.identity.identities import (
    DEV_CLIENT_ID, Identities, IdentityDataError, client_secret_key, ensure_secrets, password_key,
    realm_representation,
)
from motcua_common.province.organisation import Organisation
from motcua_common.config.settings import ConfigurationError, Settings

ROOT = Path(__file__).resolve().parents[4]
PROVINCE = ROOT / "infra/provinces/quang-tri"
ORG = Organisation.load(PROVINCE / "units.yaml")
ROLES = Policy.load(PROVINCE / "access-policy.yaml").roles()
RAW = yaml.safe_load((PROVINCE / "identities.yaml").read_text(encoding="utf-8"))
IDENTITIES = Identities.from_data(RAW, ORG, ROLES)


def test_the_demo_province_has_every_kind_of_identity_the_issue_names():
    roles = {r for official in IDENTITIES.officials for r in official.roles}
    assert roles == {"one_stop_officer", "specialist", "leader", "inspector", "sre"}
    assert IDENTITIES.citizens and any("dossier.submit_on_behalf" in c.scopes for c in IDENTITIES.integrators)


def _with(section: str, index: int, **changes) -> dict:
    data = yaml.safe_load((PROVINCE / "identities.yaml").read_text(encoding="utf-8"))
    data[section][index].update(changes)
    return data


@pytest.mark.parametrize(("data", "message"), [
    (_with("officials", 0, unit="000.31.00.H45"), "not a unit in force"),   # a district closed in 2025
    (_with("officials", 0, unit="999.99.99.H45"), "not a unit in force"),
    (_with("officials", 0, roles=["admin"]), "not in the policy"),
    (_with("officials", 0, roles=[]), "at least one role"),
    (_with("officials", 1, username="canbo01"), "appears twice"),
    (_with("officials", 0, username="service-account-x"), "lower-case name"),
    (_with("citizens", 0, citizen_id="12345"), "12 digits"),
    (_with("integrators", 0, client_id=DEV_CLIENT_ID), "client_id"),
    (_with("integrators", 0, scopes=["bad scope"]), "scope names"),
])
def test_identity_data_that_cannot_work_is_refused(data, message):
    with pytest.raises(IdentityDataError, match=message):
        Identities.from_data(data, ORG, ROLES)


def test_secrets_are_generated_once_outside_the_repository_and_kept(tmp_path):
    path = tmp_path / "idp" / "secrets.env"
    first = ensure_secrets(path, IDENTITIES)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert ensure_secrets(path, IDENTITIES) == first
    assert len(set(first.values())) == len(first)  # every secret its own
    for official in IDENTITIES.officials:
        assert first[password_key(official.username)]
    text = (PROVINCE / "identities.yaml").read_text(encoding="utf-8")
    assert not any(value in text for value in first.values())


def test_the_realm_carries_users_clients_and_claims(tmp_path):
    secrets = ensure_secrets(tmp_path / "secrets.env", IDENTITIES)
    realm = realm_representation(IDENTITIES, secrets, ROLES)
    users = {u["username"]: u for u in realm["users"]}
    canbo01 = users["canbo01"]
    assert canbo01["attributes"] == {"motcua_kind": ["official"], "motcua_unit": ["000.31.01.H45"]}
    assert canbo01["clientRoles"] == {"motcua-api": ["one_stop_officer"]}
    assert canbo01["credentials"][0]["value"] == secrets[password_key("canbo01")]
    assert canbo01["id"] == IDENTITIES.user_id("canbo01")  # the same `sub` after the realm is recreated
    citizen = users["congdan01"]
    assert citizen["attributes"] == {"motcua_kind": ["citizen"], "motcua_citizen_id": ["044190000101"]}
    assert users["service-account-cong-dvc-quoc-gia"]["attributes"] == {"motcua_kind": ["integrator"]}
    clients = {c["clientId"]: c for c in realm["clients"]}
    portal = clients["cong-dvc-quoc-gia"]
    assert portal["serviceAccountsEnabled"] and not portal["directAccessGrantsEnabled"]
    assert portal["secret"] == secrets[client_secret_key("cong-dvc-quoc-gia")]
    assert "dossier.submit_on_behalf" in portal["defaultClientScopes"]
    assert clients[DEV_CLIENT_ID]["publicClient"] and clients[DEV_CLIENT_ID]["directAccessGrantsEnabled"]
    mappers = {m["name"] for m in realm["clientScopes"][0]["protocolMappers"]}
    assert {"audience", "sub", "motcua_kind", "motcua_roles", "motcua_unit", "motcua_citizen_id"} <= mappers
    json.dumps(realm)  # importable as JSON


BASE = {
    "MOTCUA_PROVINCE": "quang-tri", "MOTCUA_PG_USER": "u", "MOTCUA_PG_PASSWORD": "p", "MOTCUA_PG_DBNAME": "d",
    "MOTCUA_AMQP_URI": "amqp://u:p@127.0.0.1:5672/v", "MOTCUA_SUBJECT_KEK": base64.b64encode(b"k" * 32).decode(),
    "MOTCUA_DATA_DIR": "/tmp", "MOTCUA_AUDIT_SIGNING_KEY": base64.b64encode(b"s" * 32).decode(),
}


def test_oidc_settings_default_to_no_issuer_and_documented_values():
    settings = Settings.from_env(BASE)
    assert (settings.oidc_issuer, settings.oidc_audience, settings.oidc_clock_skew_seconds) == ("", "motcua-api", 30)


def test_oidc_settings_are_read_from_the_environment():
    settings = Settings.from_env({**BASE, "MOTCUA_OIDC_ISSUER": "https://sso.example.test/realms/q",
                                  "MOTCUA_OIDC_AUDIENCE": "api", "MOTCUA_OIDC_CLOCK_SKEW_SECONDS": "0"})
    assert (settings.oidc_issuer, settings.oidc_audience, settings.oidc_clock_skew_seconds) == (
        "https://sso.example.test/realms/q", "api", 0)


@pytest.mark.parametrize(("env", "message"), [
    ({"MOTCUA_OIDC_CLOCK_SKEW_SECONDS": "-1"}, "between 0 and 300"),
    ({"MOTCUA_OIDC_CLOCK_SKEW_SECONDS": "lots"}, "whole number"),
    ({"MOTCUA_OIDC_ISSUER": "sso.example.test"}, "MOTCUA_OIDC_ISSUER must be an http"),
    ({"MOTCUA_OIDC_ISSUER": "http://sso.example.test/r", "MOTCUA_ENVIRONMENT": "production"}, "https"),
])
def test_bad_oidc_settings_are_refused_by_name(env, message):
    with pytest.raises(ConfigurationError, match=message):
        Settings.from_env({**BASE, **env})


def test_the_realm_command_writes_a_private_realm_file_and_keeps_the_secrets(tmp_path, capsys):
    from motcua_common.identity.identities import main

    args = ["realm", str(PROVINCE / "identities.yaml"), str(PROVINCE / "units.yaml"),
            str(PROVINCE / "access-policy.yaml"), str(tmp_path / "secrets.env"), str(tmp_path / "realm.json")]
    main(args)
    first = (tmp_path / "realm.json").read_text(encoding="utf-8")
    assert capsys.readouterr().out.strip() == "motcua-quang-tri"
    assert stat.S_IMODE((tmp_path / "realm.json").stat().st_mode) == 0o600
    main(args)
    assert (tmp_path / "realm.json").read_text(encoding="utf-8") == first  # same input, same realm


def test_the_realm_command_names_what_is_wrong_in_the_data(tmp_path):
    from motcua_common.identity.identities import main

    bad = tmp_path / "identities.yaml"
    bad.write_text(yaml.safe_dump(_with("officials", 0, roles=["admin"]), allow_unicode=True), encoding="utf-8")
    with pytest.raises(SystemExit, match="identities: official canbo01: roles"):
        main(["realm", str(bad), str(PROVINCE / "units.yaml"), str(PROVINCE / "access-policy.yaml"),
              str(tmp_path / "secrets.env"), str(tmp_path / "realm.json")])
