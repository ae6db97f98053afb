"""OpenID Connect access tokens (JWT) verified against the issuer's published keys, and turned
into the Principal the authorisation policy and the event envelope use.

Checked: the signature with a key of the issuer's JWKS (asymmetric algorithms only: `none` and
HMAC are refused, so a public key can never be used as an HMAC secret), the issuer, the
audience, expiry and not-before with a configurable clock skew. The JWKS is cached and fetched
again when a token names an unknown key id (the issuer rotated its keys), at most once per
`min_refresh_seconds`, so random key ids cannot turn every call into a fetch.

A token never yields the `system` actor, and a citizen's recorded subject is the pseudonymous
`sub`, never the citizen ID claim. Refusal reasons name no claim values (they are logged).
"""
from __future__ import annotations

import json
import threading
import time
import urllib.request
from typing import Any, Callable

import jwt

from motcua_common.identity.authorisation import Principal
from motcua_common.identity.identities import CLAIM_CITIZEN_ID, CLAIM_KIND, CLAIM_ROLES, CLAIM_UNIT, TOKEN_KINDS

#: asymmetric signature algorithms accepted; anything else (none, HS256...) is refused
ALLOWED_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA")
_KEY_TYPES = {"RS": "RSA", "PS": "RSA", "ES": "EC", "Ed": "OKP"}
_MAX_DOCUMENT_BYTES = 1 << 20
_MAX_CLAIM_CHARS = 256


class TokenRefused(Exception):
    """The token is missing, malformed, forged, expired or not for this platform (-> UNAUTHENTICATED)."""


class KeySourceUnavailable(Exception):
    """The issuer's keys could not be fetched: the token cannot be checked now (-> UNAVAILABLE, not the caller's fault)."""


def fetch_json(url: str, timeout: float = 5.0) -> dict:
    if not url.startswith(("https://", "http://")):
        raise KeySourceUnavailable("the key source is not an http(s) URL")
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (scheme checked above)
            body = response.read(_MAX_DOCUMENT_BYTES + 1)
    except OSError as error:
        raise KeySourceUnavailable(f"the issuer's keys could not be fetched ({type(error).__name__})") from None
    if len(body) > _MAX_DOCUMENT_BYTES:
        raise KeySourceUnavailable("the issuer's document is too large")
    try:
        document = json.loads(body)
    except ValueError:
        raise KeySourceUnavailable("the issuer's document is not JSON") from None
    if not isinstance(document, dict):
        raise KeySourceUnavailable("the issuer's document is not a JSON object")
    return document


class JwksCache:
    """The issuer's signing keys by key id, refreshed on an unknown kid (rate-limited) and after max_age."""

    def __init__(self, jwks_url: str | Callable[[], str], fetch: Callable[[str], dict] = fetch_json,
                 min_refresh_seconds: float = 30.0, max_age_seconds: float = 3600.0,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self._url = jwks_url
        self._fetch = fetch
        self._min_refresh = min_refresh_seconds
        self._max_age = max_age_seconds
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._keys: dict[str, tuple[jwt.PyJWK, str]] = {}  # kid -> (key, the algorithm it declares, if any)
        self._fetched_at: float | None = None
        self._attempted_at: float | None = None

    def _refresh(self) -> None:
        url = self._url() if callable(self._url) else self._url
        document = self._fetch(url)
        keys: dict[str, tuple[jwt.PyJWK, str]] = {}
        for raw in document.get("keys") or []:
            if not isinstance(raw, dict) or raw.get("use", "sig") != "sig" or not isinstance(raw.get("kid"), str):
                continue
            try:
                keys[raw["kid"]] = (jwt.PyJWK(raw), raw.get("alg") if isinstance(raw.get("alg"), str) else "")
            except jwt.PyJWTError:
                continue  # a key type or algorithm this library does not verify with: not usable for us
        self._keys = keys
        self._fetched_at = self._monotonic()

    def key(self, kid: str) -> tuple[jwt.PyJWK, str]:
        """The key `kid`; TokenRefused if the issuer does not publish it, KeySourceUnavailable if unknown now."""
        with self._lock:
            now = self._monotonic()
            stale = self._fetched_at is None or now - self._fetched_at >= self._max_age
            # Fetch attempts are rate-limited, failed ones too (an outage must not become a fetch per call);
            # before the first success, retry sooner.
            pause = self._min_refresh if self._fetched_at is not None else min(self._min_refresh, 5.0)
            may_fetch = self._attempted_at is None or now - self._attempted_at >= pause
            if (stale or kid not in self._keys) and may_fetch:
                self._attempted_at = now
                try:
                    self._refresh()
                except KeySourceUnavailable:
                    if kid not in self._keys:
                        raise  # known keys are still served while the issuer is unreachable
            found = self._keys.get(kid)
            fetched = self._fetched_at is not None
        if found is None:
            if not fetched:
                raise KeySourceUnavailable("the issuer's keys have not been fetched yet")
            raise TokenRefused("the token is signed with a key the issuer does not publish")
        return found


class TokenVerifier:
    def __init__(self, issuer: str, audience: str, keys: JwksCache, clock_skew_seconds: float = 30.0) -> None:
        if not issuer or not audience:
            raise ValueError("a token verifier needs an issuer and an audience")
        self.issuer = issuer
        self.audience = audience
        self.keys = keys
        self.clock_skew_seconds = clock_skew_seconds

    @classmethod
    def for_issuer(cls, issuer: str, audience: str, clock_skew_seconds: float = 30.0, jwks_url: str = "",
                   fetch: Callable[[str], dict] = fetch_json) -> "TokenVerifier":
        """Keys from `jwks_url`, or from the issuer's discovery document (read on first use)."""
        def discovered() -> str:
            document = fetch(issuer.rstrip("/") + "/.well-known/openid-configuration")
            if document.get("issuer") != issuer or not isinstance(document.get("jwks_uri"), str):
                raise KeySourceUnavailable("the issuer's discovery document does not name this issuer's keys")
            return document["jwks_uri"]
        return cls(issuer, audience, JwksCache(jwks_url or discovered, fetch=fetch), clock_skew_seconds)

    @classmethod
    def from_settings(cls, settings: Any) -> "TokenVerifier":
        return cls.for_issuer(settings.oidc_issuer, settings.oidc_audience, settings.oidc_clock_skew_seconds,
                              settings.oidc_jwks_url)

    def claims(self, token: str) -> dict:
        """The verified claims of `token`, or TokenRefused."""
        if not isinstance(token, str) or not token or len(token) > 16384:
            raise TokenRefused("no usable token")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise TokenRefused("the token is not a JWT") from None
        algorithm, kid = header.get("alg"), header.get("kid")
        if algorithm not in ALLOWED_ALGORITHMS:
            raise TokenRefused("the token's signature algorithm is not accepted")
        if not isinstance(kid, str) or not kid:
            raise TokenRefused("the token names no signing key")
        key, declared = self.keys.key(kid)
        if key.key_type != _KEY_TYPES[algorithm[:2]] or (declared and declared != algorithm):
            raise TokenRefused("the token's algorithm does not match its key")
        try:
            return jwt.decode(token, key=key.key, algorithms=[algorithm], audience=self.audience, issuer=self.issuer,
                              leeway=self.clock_skew_seconds,
                              options={"require": ["exp", "iat", "iss", "aud", "sub"], "verify_signature": True})
        except jwt.ExpiredSignatureError:
            raise TokenRefused("the token has expired") from None
        except jwt.ImmatureSignatureError:
            raise TokenRefused("the token is not valid yet") from None
        except jwt.InvalidAudienceError:
            raise TokenRefused("the token is not for this platform (audience)") from None
        except jwt.InvalidIssuerError:
            raise TokenRefused("the token is from another issuer") from None
        except jwt.InvalidSignatureError:
            raise TokenRefused("the token's signature does not verify") from None
        except jwt.MissingRequiredClaimError as error:
            raise TokenRefused(f"the token lacks the {error.claim} claim") from None
        except jwt.PyJWTError:
            raise TokenRefused("the token is malformed") from None

    def verify(self, token: str) -> Principal:
        """The verified principal of `token`, or TokenRefused."""
        return principal_from_claims(self.claims(token))


def _text(claims: dict, name: str, required: bool = False) -> str:
    value = claims.get(name, "")
    if value is None:
        value = ""
    if not isinstance(value, str) or len(value) > _MAX_CLAIM_CHARS or any(ord(c) < 32 for c in value):
        raise TokenRefused(f"the {name} claim is not usable text")
    if required and not value:
        raise TokenRefused(f"the token lacks the {name} claim")
    return value


def _names(values: Any, claim: str) -> frozenset[str]:
    if values is None:
        return frozenset()
    if not isinstance(values, list) or not all(isinstance(v, str) and 0 < len(v) <= _MAX_CLAIM_CHARS for v in values):
        raise TokenRefused(f"the {claim} claim is not a list of names")
    return frozenset(values)


def principal_from_claims(claims: dict) -> Principal:
    """Map verified claims to a Principal; `system` or an unknown kind is refused."""
    kind = _text(claims, CLAIM_KIND)
    if kind not in TOKEN_KINDS:
        raise TokenRefused("the token names no kind of identity the platform accepts")
    client = _text(claims, "azp")
    if kind == "official":
        return Principal(kind="official", subject=_text(claims, "preferred_username", required=True),
                         roles=_names(claims.get(CLAIM_ROLES), CLAIM_ROLES), unit=_text(claims, CLAIM_UNIT),
                         client=client)
    if kind == "citizen":
        return Principal(kind="citizen", subject=_text(claims, "sub", required=True), client=client,
                         citizen_id=_text(claims, CLAIM_CITIZEN_ID))
    scope = _text(claims, "scope")
    if not client:
        raise TokenRefused("the token lacks the azp claim")
    return Principal(kind="integrator", subject=client, client=client, scopes=frozenset(scope.split()))
