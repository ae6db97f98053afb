"""The real identity provider, started by the project's own script (infra/local/idp.sh), issues
tokens that the verifier accepts and maps to the identities of identities.yaml. Tokens here come
from the IdP over HTTP, never minted by the test. If the IdP cannot start, these tests fail.
"""
from __future__ import annotations

import base64
import json
import os
import subprocess
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import jwt
import pytest

from motcua_common.identity.authorisation import Policy, Target, decide
from motcua_common.identity.identities import (
    DEV_CLIENT_ID, Identities, client_secret_key, password_key, read_secrets,
)
from motcua_common.province.organisation import Organisation
from motcua_common.identity.tokens import JwksCache, TokenRefused, TokenVerifier

# A first start downloads Keycloak and imports the realm: more than the default per-test timeout.
pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]

ROOT = Path(__file__).resolve().parents[4]
PROVINCE = "quang-tri"
DATA = ROOT / "infra/provinces" / PROVINCE
STATE = ROOT / ".local/idp" / PROVINCE


def _idp(command: str) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", "infra/local/idp.sh", command], cwd=ROOT, capture_output=True, text=True,
                          timeout=600, env={**os.environ, "PROVINCE": PROVINCE})


@pytest.fixture(scope="session")
def idp() -> dict[str, str]:
    """The running IdP's settings; started here (and stopped after) unless it was already running."""
    was_running = _idp("status").returncode == 0
    started = _idp("start")
    assert started.returncode == 0, f"the identity provider did not start:\n{started.stdout}\n{started.stderr}"
    settings = read_secrets(STATE / "idp.env")
    yield settings
    if not was_running:
        _idp("stop")


@pytest.fixture(scope="session")
def secrets(idp) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return read_secrets(STATE / "secrets.env")


@pytest.fixture(scope="session")
def organisation() -> Organisation:
    return Organisation.load(DATA / "units.yaml")


@pytest.fixture(scope="session")
def policy() -> Policy:
    return Policy.load(DATA / "access-policy.yaml")


@pytest.fixture(scope="session")
def identities(organisation, policy) -> Identities:  # type: ignore[no-untyped-def]
    return Identities.load(DATA / "identities.yaml", organisation, policy.roles())


@pytest.fixture(scope="session")
def verifier(idp) -> TokenVerifier:  # type: ignore[no-untyped-def]
    # Keys found through the issuer's discovery document, as in production.
    return TokenVerifier.for_issuer(idp["MOTCUA_OIDC_ISSUER"], idp["MOTCUA_OIDC_AUDIENCE"], clock_skew_seconds=30)


def _token(idp: dict, form: dict[str, str]) -> str:
    request = urllib.request.Request(idp["MOTCUA_IDP_TOKEN_URL"], data=urllib.parse.urlencode(form).encode())
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())["access_token"]


def _password_token(idp: dict, secrets: dict, username: str) -> str:
    return _token(idp, {"grant_type": "password", "client_id": DEV_CLIENT_ID, "username": username,
                        "password": secrets[password_key(username)]})


def test_an_officials_token_gives_their_roles_and_unit(idp, secrets, verifier, identities):
    for official in identities.officials:
        principal = verifier.verify(_password_token(idp, secrets, official.username))
        assert (principal.kind, principal.subject, principal.roles, principal.unit) == (
            "official", official.username, frozenset(official.roles), official.unit)


def test_a_citizens_token_records_the_pseudonymous_sub_not_the_citizen_id(idp, secrets, verifier, identities):
    citizen = identities.citizens[0]
    principal = verifier.verify(_password_token(idp, secrets, citizen.username))
    assert principal.kind == "citizen"
    assert principal.subject == identities.user_id(citizen.username)
    assert principal.citizen_id == citizen.citizen_id
    assert citizen.citizen_id not in json.dumps(principal.actor().as_dict())


def test_an_integrators_client_credentials_token_carries_its_scopes(idp, secrets, verifier, identities):
    for client in identities.integrators:
        token = _token(idp, {"grant_type": "client_credentials", "client_id": client.client_id,
                             "client_secret": secrets[client_secret_key(client.client_id)]})
        principal = verifier.verify(token)
        assert (principal.kind, principal.subject, principal.client) == ("integrator", client.client_id,
                                                                        client.client_id)
        assert set(client.scopes) <= principal.scopes


def test_a_wrong_client_secret_gets_no_token(idp, identities):
    with pytest.raises(urllib.error.HTTPError) as refused:
        _token(idp, {"grant_type": "client_credentials", "client_id": identities.integrators[0].client_id,
                     "client_secret": "not-the-secret"})
    assert refused.value.code in (400, 401)


def test_a_token_for_another_audience_or_issuer_is_refused(idp, secrets):
    token = _password_token(idp, secrets, "canbo01")
    other_audience = TokenVerifier.for_issuer(idp["MOTCUA_OIDC_ISSUER"], "another-api")
    with pytest.raises(TokenRefused, match="audience"):
        other_audience.verify(token)
    jwks = idp["MOTCUA_OIDC_ISSUER"] + "/protocol/openid-connect/certs"
    other_issuer = TokenVerifier.for_issuer(idp["MOTCUA_OIDC_ISSUER"] + "-other", idp["MOTCUA_OIDC_AUDIENCE"],
                                            jwks_url=jwks)
    with pytest.raises(TokenRefused, match="issuer"):
        other_issuer.verify(token)


def test_a_real_token_with_an_altered_claim_is_refused(idp, secrets, verifier):
    header, payload, signature = _password_token(idp, secrets, "canbo01").split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["motcua_roles"] = ["leader"]
    altered = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    with pytest.raises(TokenRefused, match="signature"):
        verifier.verify(f"{header}.{altered}.{signature}")


def test_an_official_from_the_idp_reaches_their_own_unit_only(idp, secrets, verifier, policy, organisation,
                                                               identities):
    official = next(o for o in identities.officials if "one_stop_officer" in o.roles)
    other_unit = next(o.unit for o in identities.officials if o.unit and o.unit != official.unit)
    principal = verifier.verify(_password_token(idp, secrets, official.username))
    assert decide(policy, organisation, principal, "dossier.read", Target(unit=official.unit))
    assert not decide(policy, organisation, principal, "dossier.read", Target(unit=other_unit))


def _admin(idp: dict, secrets: dict, method: str, path: str, body: dict | None = None) -> tuple[int, dict | list | None, dict]:
    base = idp["MOTCUA_OIDC_ISSUER"].split("/realms/")[0]
    admin_token = _token({"MOTCUA_IDP_TOKEN_URL": f"{base}/realms/master/protocol/openid-connect/token"},
                         {"grant_type": "password", "client_id": "admin-cli", "username": "admin",
                          "password": secrets["IDP_ADMIN_PASSWORD"]})
    request = urllib.request.Request(f"{base}/admin/realms/{idp['MOTCUA_OIDC_ISSUER'].rsplit('/', 1)[1]}{path}",
                                     method=method, data=json.dumps(body).encode() if body is not None else None,
                                     headers={"Authorization": f"Bearer {admin_token}",
                                              "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        raw = response.read()
        return response.status, json.loads(raw) if raw else None, dict(response.headers)


def test_a_key_rotation_at_the_idp_is_followed_through_the_unknown_kid(idp, secrets):
    keys = JwksCache(idp["MOTCUA_OIDC_ISSUER"] + "/protocol/openid-connect/certs", min_refresh_seconds=0)
    verifier = TokenVerifier(idp["MOTCUA_OIDC_ISSUER"], idp["MOTCUA_OIDC_AUDIENCE"], keys)
    before = _password_token(idp, secrets, "canbo01")
    verifier.verify(before)  # the keys are cached now
    _, realm, _ = _admin(idp, secrets, "GET", "")
    _, _, headers = _admin(idp, secrets, "POST", "/components", {
        "name": "rotated-by-test", "providerId": "rsa-generated", "providerType": "org.keycloak.keys.KeyProvider",
        "parentId": realm["id"], "config": {"priority": ["1000"], "active": ["true"], "enabled": ["true"]}})
    component = headers["Location"].rsplit("/", 1)[1]
    try:
        after = _password_token(idp, secrets, "canbo01")
        assert jwt.get_unverified_header(after)["kid"] != jwt.get_unverified_header(before)["kid"]
        assert verifier.verify(after).subject == "canbo01"
    finally:
        _admin(idp, secrets, "DELETE", f"/components/{component}")
