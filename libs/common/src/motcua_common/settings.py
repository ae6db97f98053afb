"""Process configuration, read once from the environment by each bootstrap().

Every variable is documented in README.md ("Configuration"). Secrets have no
defaults: a process without them refuses to start with a message naming them.
"""
from __future__ import annotations

import base64
import os
from dataclasses import dataclass
from typing import Mapping


#: calls a gRPC edge serves at once by default (MOTCUA_GRPC_MAX_IN_FLIGHT)
DEFAULT_GRPC_MAX_IN_FLIGHT = 64
#: access tokens' audience by default (MOTCUA_OIDC_AUDIENCE)
DEFAULT_OIDC_AUDIENCE = "motcua-api"
#: seconds of clock difference tolerated on a token's exp/nbf/iat by default (MOTCUA_OIDC_CLOCK_SKEW_SECONDS)
DEFAULT_OIDC_CLOCK_SKEW_SECONDS = 30


class ConfigurationError(RuntimeError):
    pass


def _required(env: Mapping[str, str], name: str) -> str:
    value = env.get(name, "").strip()
    if not value:
        raise ConfigurationError(f"environment variable {name} is required but not set")
    return value


def _positive_int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigurationError(f"{name} must be a whole number, not {raw!r}") from None
    if value < 1:
        raise ConfigurationError(f"{name} must be at least 1, not {value}")
    return value


def _oidc(env: Mapping[str, str], environment: str) -> dict:
    issuer = env.get("MOTCUA_OIDC_ISSUER", "").strip()
    jwks_url = env.get("MOTCUA_OIDC_JWKS_URL", "").strip()
    for name, url in (("MOTCUA_OIDC_ISSUER", issuer), ("MOTCUA_OIDC_JWKS_URL", jwks_url)):
        if url and not url.startswith(("https://", "http://")):
            raise ConfigurationError(f"{name} must be an http(s) URL, not {url!r}")
        if url.startswith("http://") and environment == "production":
            raise ConfigurationError(f"{name} must be an https URL when MOTCUA_ENVIRONMENT=production")
    audience = env.get("MOTCUA_OIDC_AUDIENCE", "").strip() or DEFAULT_OIDC_AUDIENCE
    raw_skew = env.get("MOTCUA_OIDC_CLOCK_SKEW_SECONDS", "").strip()
    try:
        skew = int(raw_skew) if raw_skew else DEFAULT_OIDC_CLOCK_SKEW_SECONDS
    except ValueError:
        raise ConfigurationError(f"MOTCUA_OIDC_CLOCK_SKEW_SECONDS must be a whole number, not {raw_skew!r}") from None
    if not 0 <= skew <= 300:
        raise ConfigurationError(f"MOTCUA_OIDC_CLOCK_SKEW_SECONDS must be between 0 and 300, not {skew}")
    return {"oidc_issuer": issuer, "oidc_audience": audience, "oidc_clock_skew_seconds": skew,
            "oidc_jwks_url": jwks_url}


@dataclass(frozen=True)
class Settings:
    environment: str
    province: str
    postgres_host: str
    postgres_port: int
    postgres_user: str
    postgres_password: str
    postgres_dbname: str
    amqp_uri: str
    clock: str
    subject_kek: bytes
    log_level: str
    data_dir: str
    audit_signing_key: bytes = b""
    audit_trusted_keys: tuple[str, ...] = ()
    unit_keys_dir: str = ""
    #: calls a gRPC edge serves at once (health checks aside); more are refused with RESOURCE_EXHAUSTED
    grpc_max_in_flight: int = DEFAULT_GRPC_MAX_IN_FLIGHT
    #: the OpenID Connect issuer whose access tokens are accepted; empty: none configured yet
    oidc_issuer: str = ""
    oidc_audience: str = DEFAULT_OIDC_AUDIENCE
    oidc_clock_skew_seconds: int = DEFAULT_OIDC_CLOCK_SKEW_SECONDS
    #: the issuer's JWKS URL when it is not the one its discovery document names
    oidc_jwks_url: str = ""

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> "Settings":
        env = os.environ if env is None else env
        environment = env.get("MOTCUA_ENVIRONMENT", "development")
        if environment not in {"development", "test", "production"}:
            raise ConfigurationError(
                f"MOTCUA_ENVIRONMENT must be development, test or production, not {environment!r}"
            )
        clock = env.get("MOTCUA_CLOCK", "system")
        if clock not in {"system", "settable"}:
            raise ConfigurationError(f"MOTCUA_CLOCK must be system or settable, not {clock!r}")
        if clock == "settable" and environment == "production":
            raise ConfigurationError("MOTCUA_CLOCK=settable is refused when MOTCUA_ENVIRONMENT=production")
        try:
            kek = base64.b64decode(_required(env, "MOTCUA_SUBJECT_KEK"), validate=True)
        except ValueError as exc:
            raise ConfigurationError("MOTCUA_SUBJECT_KEK must be base64") from exc
        if len(kek) != 32:
            raise ConfigurationError("MOTCUA_SUBJECT_KEK must decode to 32 bytes")
        try:
            signing_key = base64.b64decode(_required(env, "MOTCUA_AUDIT_SIGNING_KEY"), validate=True)
        except ValueError as exc:
            raise ConfigurationError("MOTCUA_AUDIT_SIGNING_KEY must be base64") from exc
        if len(signing_key) != 32:
            raise ConfigurationError("MOTCUA_AUDIT_SIGNING_KEY must decode to 32 bytes (an Ed25519 seed)")
        return cls(
            environment=environment,
            province=_required(env, "MOTCUA_PROVINCE"),
            postgres_host=env.get("MOTCUA_PG_HOST", "127.0.0.1"),
            postgres_port=int(env.get("MOTCUA_PG_PORT", "5432")),
            postgres_user=_required(env, "MOTCUA_PG_USER"),
            postgres_password=_required(env, "MOTCUA_PG_PASSWORD"),
            postgres_dbname=_required(env, "MOTCUA_PG_DBNAME"),
            amqp_uri=_required(env, "MOTCUA_AMQP_URI"),
            clock=clock,
            subject_kek=kek,
            log_level=env.get("MOTCUA_LOG_LEVEL", "info"),
            data_dir=_required(env, "MOTCUA_DATA_DIR"),
            audit_signing_key=signing_key,
            # Public keys of earlier signing keys, still trusted for what they signed.
            audit_trusted_keys=tuple(k.strip() for k in env.get("MOTCUA_AUDIT_TRUSTED_KEYS", "").split(",") if k.strip()),
            # Units' result-signing keys and certificates (workflow); empty: results cannot be signed.
            unit_keys_dir=env.get("MOTCUA_UNIT_KEYS_DIR", ""),
            grpc_max_in_flight=_positive_int(env, "MOTCUA_GRPC_MAX_IN_FLIGHT", DEFAULT_GRPC_MAX_IN_FLIGHT),
            **_oidc(env, environment),
        )

    def audit_signer(self):  # type: ignore[no-untyped-def]
        from motcua_common.audit_log import Signer

        return Signer(self.audit_signing_key)

    def audit_trust(self):  # type: ignore[no-untyped-def]
        """The current key's public half and every earlier one still trusted."""
        from motcua_common.audit_log import TrustedKeys, load_public_key

        return TrustedKeys([self.audit_signer().public_key, *(load_public_key(k) for k in self.audit_trusted_keys)])

    def postgres_conninfo(self) -> str:
        return (
            f"host={self.postgres_host} port={self.postgres_port} user={self.postgres_user} "
            f"password={self.postgres_password} dbname={self.postgres_dbname}"
        )

    def eventsourcing_env(self, service: str) -> dict[str, str]:
        """Environment for an eventsourcing Application of `service` (own schema, own tables)."""
        return {
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "PROCESS_RECORDER_TOPIC": "motcua_common.eventstore:MotcuaRecorder",
            "POSTGRES_HOST": self.postgres_host,
            "POSTGRES_PORT": str(self.postgres_port),
            "POSTGRES_USER": self.postgres_user,
            "POSTGRES_PASSWORD": self.postgres_password,
            "POSTGRES_DBNAME": self.postgres_dbname,
            "POSTGRES_SCHEMA": service,
            "POSTGRES_POOL_SIZE": os.environ.get("MOTCUA_PG_POOL_SIZE", "5"),
            "POSTGRES_MAX_OVERFLOW": "10",
            "POSTGRES_CONNECT_TIMEOUT": "5",
            # Tables are created once by `setup-schema`, never racily by workers.
            "CREATE_TABLE": "n",
        }
