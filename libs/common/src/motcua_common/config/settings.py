"""Process configuration, read once from the environment by each bootstrap().

Every variable is documented in README.md ("Configuration"). Secrets have no
defaults: a process without them refuses to start with a message naming them.
"""
from __future__ import annotations

import base64
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping


#: calls a gRPC edge serves at once by default (MOTCUA_GRPC_MAX_IN_FLIGHT)
DEFAULT_GRPC_MAX_IN_FLIGHT = 64
#: calls per minute each official or integrator client may make at an edge (MOTCUA_RATE_LIMIT_CLIENT_PER_MINUTE)
DEFAULT_RATE_LIMIT_CLIENT_PER_MINUTE = 1200
#: calls per minute each citizen (or anonymous address) may make at an edge (MOTCUA_RATE_LIMIT_CITIZEN_PER_MINUTE)
DEFAULT_RATE_LIMIT_CITIZEN_PER_MINUTE = 120
#: access tokens' audience by default (MOTCUA_OIDC_AUDIENCE)
DEFAULT_OIDC_AUDIENCE = "motcua-api"
#: seconds of clock difference tolerated on a token's exp/nbf/iat by default (MOTCUA_OIDC_CLOCK_SKEW_SECONDS)
DEFAULT_OIDC_CLOCK_SKEW_SECONDS = 30


class ConfigurationError(RuntimeError):
    pass


def postgres_conninfo(host: str, port: int | str, user: str, password: str, dbname: str) -> str:
    """The one place a PostgreSQL connection string is built (values escaped by psycopg)."""
    from psycopg.conninfo import make_conninfo

    return make_conninfo(host=host, port=str(port), user=user, password=password, dbname=dbname)


def postgres_conninfo_from_env(env: Mapping[str, str]) -> str:
    """From the MOTCUA_PG_* variables of a province's environment (tools, tests, benchmarks)."""
    return postgres_conninfo(env.get("MOTCUA_PG_HOST", "127.0.0.1"), env.get("MOTCUA_PG_PORT", "5432"),
                             _required(env, "MOTCUA_PG_USER"), _required(env, "MOTCUA_PG_PASSWORD"),
                             _required(env, "MOTCUA_PG_DBNAME"))


def eventsourcing_conninfo(env: Mapping[str, str]) -> str:
    """From an eventsourcing Application's POSTGRES_* environment (see Settings.eventsourcing_env)."""
    return postgres_conninfo(env["POSTGRES_HOST"], env["POSTGRES_PORT"], env["POSTGRES_USER"],
                             env["POSTGRES_PASSWORD"], env["POSTGRES_DBNAME"])


def read_env_file(path: Path) -> dict[str, str]:
    """KEY=value lines (the `.local/<province>.env` files `make run` and the tools read)."""
    values = {}
    for line in Path(path).read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, value = line.split("=", 1)
            values[key] = value
    return values


def process_environment(env_file: str | Path | None = None) -> dict[str, str]:
    """This process's environment, with an env file's values over it (for tools with --env-file).
    The one place outside Settings.from_env that reads the process environment."""
    env = dict(os.environ)
    if env_file:
        env.update(read_env_file(Path(env_file)))
    return env


def _required(env: Mapping[str, str], name: str) -> str:
    value = env.get(name, "").strip()
    if not value:
        raise ConfigurationError(f"environment variable {name} is required but not set")
    return value


_GRPC_ADDRESS = re.compile(r"MOTCUA_([A-Z]+)_GRPC_ADDRESS")


def _positive_int(env: Mapping[str, str], name: str, default: str) -> int:
    try:
        value = int(env.get(name, default))
    except ValueError:
        raise ConfigurationError(f"{name} must be a whole number") from None
    if value < 1:
        raise ConfigurationError(f"{name} must be at least 1")
    return value


def _non_negative(env: Mapping[str, str], name: str, default: str, maximum: float = 60) -> float:
    try:
        value = float(env.get(name, default))
    except ValueError:
        raise ConfigurationError(f"{name} must be a number") from None
    if not 0 <= value <= maximum:
        raise ConfigurationError(f"{name} must be between 0 and {maximum:g}")
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


#: client certificates on a TLS edge: not asked for, or required and verified (grpcio has no "optional")
GRPC_TLS_CLIENT_AUTH_MODES = ("off", "required")


def _grpc_tls(env: Mapping[str, str]) -> dict:
    """Paths of the edge's mounted certificate files (checked here; their content by motcua_common.edge.transport)."""
    files = {name: env.get(name, "").strip() for name in
             ("MOTCUA_GRPC_TLS_CERT_FILE", "MOTCUA_GRPC_TLS_KEY_FILE", "MOTCUA_GRPC_TLS_CLIENT_CA_FILE")}
    cert, key, client_ca = files.values()
    if bool(cert) != bool(key):
        missing = "MOTCUA_GRPC_TLS_KEY_FILE" if cert else "MOTCUA_GRPC_TLS_CERT_FILE"
        raise ConfigurationError(f"{missing} is required when the other of "
                                 "MOTCUA_GRPC_TLS_CERT_FILE/MOTCUA_GRPC_TLS_KEY_FILE is set")
    if client_ca and not cert:
        raise ConfigurationError("MOTCUA_GRPC_TLS_CLIENT_CA_FILE needs TLS: set MOTCUA_GRPC_TLS_CERT_FILE "
                                 "and MOTCUA_GRPC_TLS_KEY_FILE too")
    for name, path in files.items():
        if path and not Path(path).is_file():
            raise ConfigurationError(f"{name}: no such file {path}")
    mode = env.get("MOTCUA_GRPC_TLS_CLIENT_AUTH", "").strip() or ("required" if client_ca else "off")
    if mode == "optional":
        raise ConfigurationError("MOTCUA_GRPC_TLS_CLIENT_AUTH=optional is not available (grpcio can only require "
                                 "client certificates or not ask for them): use required or off")
    if mode not in GRPC_TLS_CLIENT_AUTH_MODES:
        raise ConfigurationError(f"MOTCUA_GRPC_TLS_CLIENT_AUTH must be off or required, not {mode!r}")
    if mode == "required" and not client_ca:
        raise ConfigurationError("MOTCUA_GRPC_TLS_CLIENT_AUTH=required needs MOTCUA_GRPC_TLS_CLIENT_CA_FILE "
                                 "(the CA bundle integrators' certificates must chain to)")
    return {"grpc_tls_cert_file": cert, "grpc_tls_key_file": key, "grpc_tls_client_ca_file": client_ca,
            "grpc_tls_client_auth": mode}


NOTIFICATION_CHANNELS = ("email", "sms", "zns")


def _channels(env: Mapping[str, str], name: str, default: str) -> tuple[str, ...]:
    channels = tuple(c.strip() for c in env.get(name, default).split(",") if c.strip())
    unknown = [c for c in channels if c not in NOTIFICATION_CHANNELS]
    if unknown or len(set(channels)) != len(channels):
        raise ConfigurationError(f"{name} must list distinct channels of {', '.join(NOTIFICATION_CHANNELS)}, "
                                 f"not {env.get(name)!r}")
    return channels


def _notification(env: Mapping[str, str]) -> dict:
    channels = _channels(env, "MOTCUA_NOTIFICATION_CHANNELS", "email,sms")
    fallback = _channels(env, "MOTCUA_NOTIFICATION_FALLBACK_CHANNELS", "zns")
    if set(channels) & set(fallback):
        raise ConfigurationError("MOTCUA_NOTIFICATION_FALLBACK_CHANNELS must not repeat MOTCUA_NOTIFICATION_CHANNELS")
    smtp = env.get("MOTCUA_SMTP_ADDRESS", "").strip()
    if smtp and not re.fullmatch(r"[^:\s]+:[0-9]{1,5}", smtp):
        raise ConfigurationError(f"MOTCUA_SMTP_ADDRESS must be host:port, not {smtp!r}")
    for name in ("MOTCUA_SMS_GATEWAY_URL", "MOTCUA_ZNS_URL"):
        url = env.get(name, "").strip()
        if url and not url.startswith(("https://", "http://")):
            raise ConfigurationError(f"{name} must be an http(s) URL, not {url!r}")
    secret = env.get("MOTCUA_MESSAGING_RECEIPTS_SECRET_FILE", "").strip()
    if (env.get("MOTCUA_SMS_GATEWAY_URL") or env.get("MOTCUA_ZNS_URL")) and not secret:
        raise ConfigurationError("MOTCUA_MESSAGING_RECEIPTS_SECRET_FILE is required with MOTCUA_SMS_GATEWAY_URL "
                                 "or MOTCUA_ZNS_URL (delivery receipts are verified with it)")
    return {
        "notification_channels": channels, "notification_fallback_channels": fallback,
        "notification_callback_address": env.get("MOTCUA_NOTIFICATION_CALLBACK_ADDRESS", ""),
        "notification_max_attempts": _positive_int(env, "MOTCUA_NOTIFICATION_MAX_ATTEMPTS", "5"),
        "notification_retry_base_seconds": _non_negative(env, "MOTCUA_NOTIFICATION_RETRY_BASE_SECONDS", "30", 3600),
        "notification_send_interval_seconds": _non_negative(env, "MOTCUA_NOTIFICATION_SEND_INTERVAL_SECONDS", "1"),
        "notification_rating_url": env.get("MOTCUA_NOTIFICATION_RATING_URL", ""),
        "notification_how_to_pay": env.get("MOTCUA_NOTIFICATION_HOW_TO_PAY", "")
        or "Nộp tại Bộ phận Một cửa hoặc trực tuyến trên Cổng Dịch vụ công, mã thanh toán {order_id}.",
        "smtp_address": smtp,
        "smtp_sender": env.get("MOTCUA_SMTP_SENDER", "") or "Một cửa điện tử <khong-tra-loi@localhost>",
        "mail_domain": env.get("MOTCUA_MAIL_DOMAIN", "") or "localhost",
        "sms_gateway_url": env.get("MOTCUA_SMS_GATEWAY_URL", "").strip(),
        "sms_api_key": env.get("MOTCUA_SMS_API_KEY", ""),
        "sms_brandname": env.get("MOTCUA_SMS_BRANDNAME", ""),
        "zns_url": env.get("MOTCUA_ZNS_URL", "").strip(),
        "zns_access_token": env.get("MOTCUA_ZNS_ACCESS_TOKEN", ""),
        "messaging_receipts_secret_file": secret,
    }


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
    #: payment's online gateway and VietQR account (services/payment/README.md); empty: not offered
    paygov_url: str = ""
    paygov_partner_code: str = ""
    paygov_access_key: str = ""
    paygov_secret_file: str = ""
    payment_return_url: str = ""
    vietqr_bank_bin: str = ""
    vietqr_account: str = ""
    payment_callback_address: str = ""
    #: the secret the bank signs its credit notifications with (VietQR transfers); empty: not taken
    bank_secret_file: str = ""
    #: calls a gRPC edge serves at once (health checks aside); more are refused with RESOURCE_EXHAUSTED
    grpc_max_in_flight: int = DEFAULT_GRPC_MAX_IN_FLIGHT
    rate_limit_client_per_minute: int = DEFAULT_RATE_LIMIT_CLIENT_PER_MINUTE
    rate_limit_citizen_per_minute: int = DEFAULT_RATE_LIMIT_CITIZEN_PER_MINUTE
    max_backdating_working_days: float = 3.0
    clock_ttl_seconds: float = 0.2
    pg_pool_size: int = 5
    nameko_max_workers: int = 10
    checkpoint_events: int = 256
    checkpoint_seconds: float = 10.0
    overdue_scan_seconds: float = 30.0
    due_soon_working_hours: float = 8.0
    grpc_addresses: tuple[tuple[str, str], ...] = ()  # (service, address) from MOTCUA_<SERVICE>_GRPC_ADDRESS
    #: the OpenID Connect issuer whose access tokens are accepted; empty: none configured yet
    oidc_issuer: str = ""
    oidc_audience: str = DEFAULT_OIDC_AUDIENCE
    oidc_clock_skew_seconds: int = DEFAULT_OIDC_CLOCK_SKEW_SECONDS
    #: the issuer's JWKS URL when it is not the one its discovery document names
    oidc_jwks_url: str = ""
    #: the gRPC edge's certificate chain and key (mounted files); empty: a plaintext port
    grpc_tls_cert_file: str = ""
    grpc_tls_key_file: str = ""
    #: CA bundle client certificates must chain to (mutual TLS for integrators)
    grpc_tls_client_ca_file: str = ""
    grpc_tls_client_auth: str = "off"
    #: notification (services/notification/README.md): channels every notice goes out on, the order
    #: channels are tried in after a permanent failure, providers (empty: that channel is not sent)
    notification_channels: tuple[str, ...] = ("email", "sms")
    notification_fallback_channels: tuple[str, ...] = ("zns",)
    notification_callback_address: str = ""
    notification_max_attempts: int = 5
    notification_retry_base_seconds: float = 30.0
    notification_send_interval_seconds: float = 1.0
    notification_rating_url: str = ""
    notification_how_to_pay: str = ""
    smtp_address: str = ""
    smtp_sender: str = ""
    mail_domain: str = ""
    sms_gateway_url: str = ""
    sms_api_key: str = ""
    sms_brandname: str = ""
    zns_url: str = ""
    zns_access_token: str = ""
    messaging_receipts_secret_file: str = ""

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
            paygov_url=env.get("MOTCUA_PAYGOV_URL", ""),
            paygov_partner_code=env.get("MOTCUA_PAYGOV_PARTNER_CODE", ""),
            paygov_access_key=env.get("MOTCUA_PAYGOV_ACCESS_KEY", ""),
            paygov_secret_file=env.get("MOTCUA_PAYGOV_SECRET_FILE", ""),
            payment_return_url=env.get("MOTCUA_PAYMENT_RETURN_URL", ""),
            vietqr_bank_bin=env.get("MOTCUA_VIETQR_BANK_BIN", ""),
            vietqr_account=env.get("MOTCUA_VIETQR_ACCOUNT", ""),
            payment_callback_address=env.get("MOTCUA_PAYMENT_CALLBACK_ADDRESS", ""),
            bank_secret_file=env.get("MOTCUA_BANK_SECRET_FILE", ""),
            grpc_max_in_flight=_positive_int(env, "MOTCUA_GRPC_MAX_IN_FLIGHT", str(DEFAULT_GRPC_MAX_IN_FLIGHT)),
            rate_limit_client_per_minute=_positive_int(env, "MOTCUA_RATE_LIMIT_CLIENT_PER_MINUTE",
                                                       str(DEFAULT_RATE_LIMIT_CLIENT_PER_MINUTE)),
            rate_limit_citizen_per_minute=_positive_int(env, "MOTCUA_RATE_LIMIT_CITIZEN_PER_MINUTE",
                                                        str(DEFAULT_RATE_LIMIT_CITIZEN_PER_MINUTE)),
            max_backdating_working_days=_non_negative(env, "MOTCUA_MAX_BACKDATING_WORKING_DAYS", "3"),
            # How long a process reuses the settable clock's offset before reading it again.
            clock_ttl_seconds=_non_negative(env, "MOTCUA_CLOCK_TTL_SECONDS", "0.2"),
            pg_pool_size=_positive_int(env, "MOTCUA_PG_POOL_SIZE", "5"),
            nameko_max_workers=_positive_int(env, "MOTCUA_NAMEKO_MAX_WORKERS", "10"),
            checkpoint_events=_positive_int(env, "MOTCUA_CHECKPOINT_EVENTS", "256"),
            checkpoint_seconds=_non_negative(env, "MOTCUA_CHECKPOINT_SECONDS", "10", 3600),
            overdue_scan_seconds=_non_negative(env, "MOTCUA_OVERDUE_SCAN_SECONDS", "30", 3600),
            due_soon_working_hours=_non_negative(env, "MOTCUA_DUE_SOON_WORKING_HOURS", "8", 480),
            grpc_addresses=tuple(sorted((m.group(1).lower(), v) for k, v in env.items()
                                        if (m := _GRPC_ADDRESS.fullmatch(k)) and v.strip())),
            **_oidc(env, environment),
            **_grpc_tls(env),
            **_notification(env),
        )

    def grpc_address(self, service: str, default_port: int) -> str:
        """Where `service`'s gRPC edge listens (MOTCUA_<SERVICE>_GRPC_ADDRESS)."""
        return dict(self.grpc_addresses).get(service, f"127.0.0.1:{default_port}")

    def postgres_conninfo(self) -> str:
        return postgres_conninfo(self.postgres_host, self.postgres_port, self.postgres_user,
                                 self.postgres_password, self.postgres_dbname)

    def eventsourcing_env(self, service: str) -> dict[str, str]:
        """Environment for an eventsourcing Application of `service` (own schema, own tables)."""
        return {
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "PROCESS_RECORDER_TOPIC": "motcua_common.events.store:MotcuaRecorder",
            "POSTGRES_HOST": self.postgres_host,
            "POSTGRES_PORT": str(self.postgres_port),
            "POSTGRES_USER": self.postgres_user,
            "POSTGRES_PASSWORD": self.postgres_password,
            "POSTGRES_DBNAME": self.postgres_dbname,
            "POSTGRES_SCHEMA": service,
            "POSTGRES_POOL_SIZE": str(self.pg_pool_size),
            "POSTGRES_MAX_OVERFLOW": "10",
            "POSTGRES_CONNECT_TIMEOUT": "5",
            # Tables are created once by `setup-schema`, never racily by workers.
            "CREATE_TABLE": "n",
        }
