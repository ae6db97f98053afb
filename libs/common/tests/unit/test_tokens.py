"""The access-token verifier, with keys made here (the integration test uses the real IdP)."""
from __future__ import annotations

import base64
import json
import time

import jwt
import pytest
from hypothesis import given, settings, strategies as st
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from motcua_common.identity.tokens import (
    JwksCache, KeySourceUnavailable, TokenRefused, TokenVerifier, fetch_json, principal_from_claims,
)

ISSUER = "https://sso.example.test/realms/motcua-quang-tri"
AUDIENCE = "motcua-api"


def _rsa_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


class FakeIssuer:
    """Publishes a JWKS and counts how often it is fetched; signs tokens with its current key."""

    def __init__(self) -> None:
        self.keys: dict[str, rsa.RSAPrivateKey] = {"k1": _rsa_key()}
        self.current = "k1"
        self.fetches = 0

    def jwks(self) -> dict:
        return {"keys": [{**json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(k.public_key())), "kid": kid,
                          "alg": "RS256", "use": "sig"} for kid, k in self.keys.items()]}

    def fetch(self, url: str) -> dict:
        assert url == ISSUER + "/protocol/openid-connect/certs"
        self.fetches += 1
        return self.jwks()

    def rotate(self, kid: str) -> None:
        self.keys = {kid: _rsa_key()}
        self.current = kid

    def token(self, lifetime: int = 300, kid: str | None = None, key=None, algorithm: str = "RS256",
              **claims) -> str:
        now = int(time.time())
        payload = {"iss": ISSUER, "aud": AUDIENCE, "sub": "0b7c7f8e-1111-4c4c-9d9d-000000000001", "iat": now,
                   "exp": now + lifetime, "azp": "motcua-dev-cli", "motcua_kind": "official",
                   "preferred_username": "canbo01", "motcua_roles": ["one_stop_officer"],
                   "motcua_unit": "000.31.01.H45", **claims}
        payload = {k: v for k, v in payload.items() if v is not None}
        return jwt.encode(payload, key or self.keys[self.current], algorithm=algorithm,
                          headers={"kid": kid or self.current})


@pytest.fixture
def issuer() -> FakeIssuer:
    return FakeIssuer()


class FakeMonotonic:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _verifier(issuer: FakeIssuer, skew: int = 30, monotonic=time.monotonic) -> TokenVerifier:
    keys = JwksCache(ISSUER + "/protocol/openid-connect/certs", fetch=issuer.fetch, monotonic=monotonic)
    return TokenVerifier(ISSUER, AUDIENCE, keys, clock_skew_seconds=skew)


def test_a_valid_official_token_gives_the_official_with_roles_and_unit(issuer):
    principal = _verifier(issuer).verify(issuer.token())
    assert (principal.kind, principal.subject, principal.roles, principal.unit) == (
        "official", "canbo01", frozenset({"one_stop_officer"}), "000.31.01.H45")
    assert principal.actor().as_dict() == {"kind": "official", "subject": "canbo01", "role": "one_stop_officer",
                                           "unit": "000.31.01.H45", "client": "motcua-dev-cli",
                                           "on_behalf_of": ""}


def test_a_token_signed_by_another_key_with_the_same_kid_is_refused(issuer):
    with pytest.raises(TokenRefused, match="signature"):
        _verifier(issuer).verify(issuer.token(key=_rsa_key()))


def test_a_token_whose_payload_was_altered_is_refused(issuer):
    header, payload, signature = issuer.token().split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["motcua_unit"] = "000.00.01.H45"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    with pytest.raises(TokenRefused, match="signature"):
        _verifier(issuer).verify(f"{header}.{forged}.{signature}")


def test_a_token_from_another_issuer_is_refused(issuer):
    with pytest.raises(TokenRefused, match="issuer"):
        _verifier(issuer).verify(issuer.token(iss="https://sso.example.test/realms/other"))


def test_a_token_for_another_audience_is_refused(issuer):
    with pytest.raises(TokenRefused, match="audience"):
        _verifier(issuer).verify(issuer.token(aud="account"))


def test_an_expired_token_is_refused(issuer):
    with pytest.raises(TokenRefused, match="expired"):
        _verifier(issuer, skew=30).verify(issuer.token(lifetime=-120))


def test_the_clock_skew_is_configurable(issuer):
    token = issuer.token(lifetime=-20)  # expired 20 s ago
    assert _verifier(issuer, skew=60).verify(token).subject == "canbo01"
    with pytest.raises(TokenRefused, match="expired"):
        _verifier(issuer, skew=5).verify(token)


def test_a_token_not_valid_yet_is_refused(issuer):
    with pytest.raises(TokenRefused, match="not valid yet"):
        _verifier(issuer, skew=5).verify(issuer.token(nbf=int(time.time()) + 600))


@pytest.mark.parametrize("claim", ["exp", "iat", "iss", "aud", "sub"])
def test_a_token_missing_a_required_claim_is_refused(issuer, claim):
    with pytest.raises(TokenRefused):
        _verifier(issuer).verify(issuer.token(**{claim: None}))


def test_alg_none_is_refused(issuer):
    unsigned = jwt.encode({"iss": ISSUER, "aud": AUDIENCE, "sub": "x", "exp": int(time.time()) + 60,
                           "iat": int(time.time()), "motcua_kind": "official"}, None, algorithm="none",
                          headers={"kid": "k1"})
    with pytest.raises(TokenRefused, match="algorithm"):
        _verifier(issuer).verify(unsigned)


def test_hs256_signed_with_the_public_key_is_refused(issuer):
    """Algorithm confusion: an HMAC 'signed' with the issuer's public key must not verify."""
    public_pem = issuer.keys["k1"].public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    payload = {"iss": ISSUER, "aud": AUDIENCE, "sub": "x", "exp": int(time.time()) + 60,
               "iat": int(time.time()), "motcua_kind": "official", "preferred_username": "canbo01"}
    header = base64.urlsafe_b64encode(json.dumps({"alg": "HS256", "kid": "k1", "typ": "JWT"}).encode()).rstrip(b"=")
    body = base64.urlsafe_b64encode(json.dumps(payload).encode()).rstrip(b"=")
    import hashlib
    import hmac
    signature = base64.urlsafe_b64encode(hmac.new(public_pem, header + b"." + body, hashlib.sha256).digest()).rstrip(b"=")
    with pytest.raises(TokenRefused, match="algorithm"):
        _verifier(issuer).verify((header + b"." + body + b"." + signature).decode())


def test_an_algorithm_that_does_not_match_the_key_type_is_refused(issuer):
    ec_key = ec.generate_private_key(ec.SECP256R1())
    with pytest.raises(TokenRefused, match="algorithm"):
        _verifier(issuer).verify(issuer.token(key=ec_key, algorithm="ES256"))


def test_garbage_is_refused_not_crashed(issuer):
    for token in ["", "abc", "a.b.c", "eyJhbGciOiJSUzI1NiJ9..", "x" * 20000]:
        with pytest.raises(TokenRefused):
            _verifier(issuer).verify(token)


def test_keys_are_cached_between_tokens(issuer):
    verifier = _verifier(issuer)
    verifier.verify(issuer.token())
    verifier.verify(issuer.token())
    assert issuer.fetches == 1


def test_an_unknown_kid_refreshes_the_keys_so_a_rotation_is_followed(issuer):
    clock = FakeMonotonic()
    verifier = _verifier(issuer, monotonic=clock)
    verifier.verify(issuer.token())
    issuer.rotate("k2")
    clock.now += 31  # past the refresh rate limit
    assert verifier.verify(issuer.token()).subject == "canbo01"
    assert issuer.fetches == 2
    with pytest.raises(TokenRefused, match="key the issuer does not publish"):
        verifier.verify(issuer.token(kid="k1", key=_rsa_key()))  # the retired key id


def test_unknown_kids_do_not_refetch_the_keys_more_than_once_per_interval(issuer):
    clock = FakeMonotonic()
    verifier = _verifier(issuer, monotonic=clock)
    verifier.verify(issuer.token())
    for n in range(20):
        with pytest.raises(TokenRefused, match="key the issuer does not publish"):
            verifier.verify(issuer.token(kid=f"random-{n}"))
    assert issuer.fetches == 1


def test_the_issuer_is_discovered_once_then_its_jwks_is_used(issuer):
    documents = {ISSUER + "/.well-known/openid-configuration":
                 {"issuer": ISSUER, "jwks_uri": ISSUER + "/protocol/openid-connect/certs"}}

    def fetch(url: str) -> dict:
        return documents[url] if url in documents else issuer.fetch(url)

    verifier = TokenVerifier.for_issuer(ISSUER, AUDIENCE, fetch=fetch)
    assert verifier.verify(issuer.token()).kind == "official"


def test_system_can_never_come_from_a_token(issuer):
    with pytest.raises(TokenRefused, match="kind"):
        _verifier(issuer).verify(issuer.token(motcua_kind="system"))


@pytest.mark.parametrize("kind", [None, "", "anonymous", "admin", ["official"]])
def test_a_token_without_an_accepted_kind_is_refused(issuer, kind):
    with pytest.raises(TokenRefused):
        _verifier(issuer).verify(issuer.token(motcua_kind=kind))


def test_a_citizen_is_recorded_by_pseudonymous_sub_never_by_citizen_id():
    principal = principal_from_claims({"motcua_kind": "citizen", "sub": "6fb0100f-1564-51c1-866b-49fd87ec345c",
                                       "preferred_username": "044190000101", "motcua_citizen_id": "044190000101",
                                       "azp": "motcua-dev-cli"})
    assert principal.subject == "6fb0100f-1564-51c1-866b-49fd87ec345c"
    assert principal.citizen_id == "044190000101"
    assert "044190000101" not in json.dumps(principal.actor().as_dict())
    assert "044190000101" not in repr(principal)


def test_an_integrator_is_its_client_with_its_scopes():
    principal = principal_from_claims({"motcua_kind": "integrator", "sub": "033d60d4", "azp": "cong-dvc-quoc-gia",
                                       "scope": "dossier.submit dossier.submit_on_behalf"})
    assert (principal.kind, principal.subject, principal.client) == ("integrator", "cong-dvc-quoc-gia",
                                                                    "cong-dvc-quoc-gia")
    assert principal.scopes == frozenset({"dossier.submit", "dossier.submit_on_behalf"})


@pytest.mark.parametrize("claims", [
    {"motcua_kind": "official", "sub": "s"},                                        # no username
    {"motcua_kind": "official", "sub": "s", "preferred_username": "a", "motcua_roles": "one_stop_officer"},
    {"motcua_kind": "official", "sub": "s", "preferred_username": "a\x00b"},
    {"motcua_kind": "citizen", "preferred_username": "x"},                          # no sub
    {"motcua_kind": "integrator", "sub": "s"},                                      # no azp
])
def test_unusable_claims_are_refused(claims):
    with pytest.raises(TokenRefused):
        principal_from_claims(claims)


class Outage:
    def __init__(self, issuer: FakeIssuer) -> None:
        self.issuer = issuer
        self.down = False
        self.attempts = 0

    def fetch(self, url: str) -> dict:
        self.attempts += 1
        if self.down:
            raise KeySourceUnavailable("the issuer's keys could not be fetched (URLError)")
        return self.issuer.fetch(url)


def test_known_keys_are_still_served_while_the_issuer_is_unreachable(issuer):
    clock, outage = FakeMonotonic(), Outage(issuer)
    keys = JwksCache(ISSUER + "/protocol/openid-connect/certs", fetch=outage.fetch, monotonic=clock,
                     max_age_seconds=60)
    verifier = TokenVerifier(ISSUER, AUDIENCE, keys)
    verifier.verify(issuer.token())
    outage.down = True
    clock.now += 120  # the keys are stale: a fetch is tried, fails, and the known key still verifies
    assert verifier.verify(issuer.token()).subject == "canbo01"
    with pytest.raises(KeySourceUnavailable):
        clock.now += 31
        verifier.verify(issuer.token(kid="k9"))  # an unknown kid cannot be decided now: not the caller's fault


def test_an_unreachable_issuer_is_not_asked_on_every_call(issuer):
    clock, outage = FakeMonotonic(), Outage(issuer)
    outage.down = True
    verifier = TokenVerifier(ISSUER, AUDIENCE, JwksCache(ISSUER + "/protocol/openid-connect/certs",
                                                         fetch=outage.fetch, monotonic=clock))
    for _ in range(10):
        with pytest.raises(KeySourceUnavailable):
            verifier.verify(issuer.token())
    assert outage.attempts == 1
    outage.down = False
    clock.now += 5  # before the first success, retried after a few seconds
    assert verifier.verify(issuer.token()).kind == "official"


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://sso.example.test/certs", ""])
def test_keys_are_only_fetched_over_http(url):
    with pytest.raises(KeySourceUnavailable):
        fetch_json(url)


def test_an_unreachable_url_is_key_source_unavailable():
    with pytest.raises(KeySourceUnavailable, match="could not be fetched"):
        fetch_json("http://127.0.0.1:9/certs", timeout=2)


_json = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=20),
                     lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
                     max_leaves=8)


@settings(max_examples=100, deadline=None)
@given(st.dictionaries(st.sampled_from(["motcua_kind", "sub", "azp", "scope", "preferred_username", "motcua_roles",
                                        "motcua_unit", "motcua_citizen_id"]), _json)
       | st.fixed_dictionaries({"motcua_kind": st.sampled_from(["official", "citizen", "integrator"])},
                               optional={k: _json for k in ["sub", "azp", "scope", "preferred_username",
                                                            "motcua_roles", "motcua_unit", "motcua_citizen_id"]}))
def test_any_claims_give_a_principal_or_a_refusal_never_a_crash(claims):
    try:
        principal = principal_from_claims(claims)
    except TokenRefused:
        return
    assert principal.kind in ("official", "citizen", "integrator") and principal.subject


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=300) | st.builds(lambda parts: ".".join(parts), st.lists(st.text(
    alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=", max_size=60), min_size=1, max_size=4)))
def test_any_string_is_refused_never_a_crash(token):
    with pytest.raises(TokenRefused):
        _verifier(_ONE_ISSUER).verify(token)


_ONE_ISSUER = FakeIssuer()
