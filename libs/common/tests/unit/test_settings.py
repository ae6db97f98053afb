from __future__ import annotations

import base64

import pytest

from motcua_common.config.settings import ConfigurationError, Settings

BASE = {
    "MOTCUA_PROVINCE": "quang-tri", "MOTCUA_PG_USER": "u", "MOTCUA_PG_PASSWORD": "p", "MOTCUA_PG_DBNAME": "d",
    "MOTCUA_AMQP_URI": "amqp://u:p@127.0.0.1:5672/v", "MOTCUA_SUBJECT_KEK": base64.b64encode(b"k" * 32).decode(),
    "MOTCUA_DATA_DIR": "/tmp", "MOTCUA_AUDIT_SIGNING_KEY": base64.b64encode(b"s" * 32).decode(),
}


def test_a_complete_environment_is_accepted_with_documented_defaults():
    settings = Settings.from_env(BASE)
    assert (settings.environment, settings.clock, settings.postgres_port) == ("development", "system", 5432)


@pytest.mark.parametrize("missing", ["MOTCUA_PG_PASSWORD", "MOTCUA_SUBJECT_KEK", "MOTCUA_PROVINCE",
                                     "MOTCUA_AUDIT_SIGNING_KEY"])
def test_a_missing_secret_or_name_is_refused_by_name(missing):
    env = {k: v for k, v in BASE.items() if k != missing}
    with pytest.raises(ConfigurationError, match=missing):
        Settings.from_env(env)


def test_the_settable_clock_is_refused_in_production():
    with pytest.raises(ConfigurationError, match="settable"):
        Settings.from_env({**BASE, "MOTCUA_ENVIRONMENT": "production", "MOTCUA_CLOCK": "settable"})


def test_a_short_key_encryption_key_is_refused():
    with pytest.raises(ConfigurationError, match="32 bytes"):
        Settings.from_env({**BASE, "MOTCUA_SUBJECT_KEK": base64.b64encode(b"short").decode()})


def test_a_short_audit_signing_key_is_refused():
    with pytest.raises(ConfigurationError, match="MOTCUA_AUDIT_SIGNING_KEY must decode to 32 bytes"):
        Settings.from_env({**BASE, "MOTCUA_AUDIT_SIGNING_KEY": base64.b64encode(b"short").decode()})


def test_the_edges_in_flight_limit_has_a_default_and_refuses_nonsense():
    assert Settings.from_env(BASE).grpc_max_in_flight == 64
    assert Settings.from_env({**BASE, "MOTCUA_GRPC_MAX_IN_FLIGHT": "100"}).grpc_max_in_flight == 100
    for bad in ("0", "-3", "many"):
        with pytest.raises(ConfigurationError, match="MOTCUA_GRPC_MAX_IN_FLIGHT"):
            Settings.from_env({**BASE, "MOTCUA_GRPC_MAX_IN_FLIGHT": bad})


def test_the_provinces_backdating_bound_defaults_to_three_working_days_and_is_checked():
    assert Settings.from_env(BASE).max_backdating_working_days == 3
    assert Settings.from_env({**BASE, "MOTCUA_MAX_BACKDATING_WORKING_DAYS": "5"}).max_backdating_working_days == 5
    assert Settings.from_env({**BASE, "MOTCUA_CLOCK_TTL_SECONDS": "0"}).clock_ttl_seconds == 0
    for bad in ("-1", "many", "400"):
        with pytest.raises(ConfigurationError, match="MOTCUA_MAX_BACKDATING_WORKING_DAYS"):
            Settings.from_env({**BASE, "MOTCUA_MAX_BACKDATING_WORKING_DAYS": bad})


def test_the_connection_string_is_escaped_in_its_one_place():
    import psycopg.conninfo

    settings = Settings.from_env({**BASE, "MOTCUA_PG_PASSWORD": "p a's=s", "MOTCUA_PG_DBNAME": "d b"})
    parsed = psycopg.conninfo.conninfo_to_dict(settings.postgres_conninfo())
    assert (parsed["password"], parsed["dbname"], parsed["host"], parsed["port"]) == ("p a's=s", "d b", "127.0.0.1",
                                                                                      "5432")


def test_process_settings_are_read_with_their_defaults_and_each_edges_address():
    settings = Settings.from_env({**BASE, "MOTCUA_WORKFLOW_GRPC_ADDRESS": "127.0.0.1:6002",
                                  "MOTCUA_CHECKPOINT_SECONDS": "1", "MOTCUA_OVERDUE_SCAN_SECONDS": "5"})
    assert (settings.grpc_address("workflow", 50052), settings.grpc_address("intake", 50051)) == (
        "127.0.0.1:6002", "127.0.0.1:50051")
    assert (settings.checkpoint_seconds, settings.checkpoint_events, settings.overdue_scan_seconds,
            settings.due_soon_working_hours, settings.nameko_max_workers, settings.pg_pool_size) == (1, 256, 5, 8, 10, 5)
    with pytest.raises(ConfigurationError, match="MOTCUA_NAMEKO_MAX_WORKERS"):
        Settings.from_env({**BASE, "MOTCUA_NAMEKO_MAX_WORKERS": "0"})


def test_the_only_environment_reads_are_in_the_settings_module():
    """Other modules take Settings (or process_environment() for tools with --env-file)."""
    import re

    from motcua_testkit.plugin import REPO

    reads = re.compile(r"os\.environ(?!\.setdefault\(\"PSYCOPG_IMPL\")|os\.getenv")
    allowed = {"settings.py", "plugin.py",  # the test kit passes the test machine's env on
               "telemetry.py", "forms.py"}  # still to move: owned by the observability and forms work
    found = [f"{p.relative_to(REPO)}:{n}" for root in ("libs/common/src", "services")
             for p in (REPO / root).rglob("*.py") if p.name not in allowed and "tests" not in p.parts
             for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1) if reads.search(line)]
    assert found == []


def test_tls_settings_default_to_a_plaintext_edge_and_client_ca_turns_client_certificates_on(tmp_path):
    assert Settings.from_env(BASE).grpc_tls_cert_file == ""
    for name in ("cert", "key", "ca"):
        (tmp_path / name).write_text("x")
    settings = Settings.from_env({**BASE, "MOTCUA_GRPC_TLS_CERT_FILE": str(tmp_path / "cert"),
                                  "MOTCUA_GRPC_TLS_KEY_FILE": str(tmp_path / "key"),
                                  "MOTCUA_GRPC_TLS_CLIENT_CA_FILE": str(tmp_path / "ca")})
    assert settings.grpc_tls_client_auth == "required"


@pytest.mark.parametrize("env, message", [
    ({"MOTCUA_GRPC_TLS_CERT_FILE": "{d}/cert"}, "MOTCUA_GRPC_TLS_KEY_FILE is required"),
    ({"MOTCUA_GRPC_TLS_KEY_FILE": "{d}/key"}, "MOTCUA_GRPC_TLS_CERT_FILE is required"),
    ({"MOTCUA_GRPC_TLS_CERT_FILE": "{d}/cert", "MOTCUA_GRPC_TLS_KEY_FILE": "{d}/missing"},
     "MOTCUA_GRPC_TLS_KEY_FILE: no such file"),
    ({"MOTCUA_GRPC_TLS_CLIENT_CA_FILE": "{d}/ca"}, "MOTCUA_GRPC_TLS_CLIENT_CA_FILE needs TLS"),
    ({"MOTCUA_GRPC_TLS_CERT_FILE": "{d}/cert", "MOTCUA_GRPC_TLS_KEY_FILE": "{d}/key",
      "MOTCUA_GRPC_TLS_CLIENT_AUTH": "required"}, "needs MOTCUA_GRPC_TLS_CLIENT_CA_FILE"),
    ({"MOTCUA_GRPC_TLS_CERT_FILE": "{d}/cert", "MOTCUA_GRPC_TLS_KEY_FILE": "{d}/key",
      "MOTCUA_GRPC_TLS_CLIENT_CA_FILE": "{d}/ca", "MOTCUA_GRPC_TLS_CLIENT_AUTH": "optional"},
     "MOTCUA_GRPC_TLS_CLIENT_AUTH=optional is not available"),
    ({"MOTCUA_GRPC_TLS_CERT_FILE": "{d}/cert", "MOTCUA_GRPC_TLS_KEY_FILE": "{d}/key",
      "MOTCUA_GRPC_TLS_CLIENT_AUTH": "sometimes"}, "MOTCUA_GRPC_TLS_CLIENT_AUTH must be off or required"),
])
def test_an_incomplete_or_unknown_tls_setting_is_refused_by_name(tmp_path, env, message):
    for name in ("cert", "key", "ca"):
        (tmp_path / name).write_text("x")
    with pytest.raises(ConfigurationError, match=message):
        Settings.from_env({**BASE, **{k: v.format(d=tmp_path) for k, v in env.items()}})


def test_notification_channels_default_to_email_and_sms_with_zns_as_the_fallback():
    settings = Settings.from_env(BASE)
    assert (settings.notification_channels, settings.notification_fallback_channels) == (("email", "sms"), ("zns",))
    chosen = Settings.from_env({**BASE, "MOTCUA_NOTIFICATION_CHANNELS": "sms", "MOTCUA_NOTIFICATION_FALLBACK_CHANNELS": "zns,email"})
    assert (chosen.notification_channels, chosen.notification_fallback_channels) == (("sms",), ("zns", "email"))


@pytest.mark.parametrize("env, named", [
    ({"MOTCUA_NOTIFICATION_CHANNELS": "email,fax"}, "MOTCUA_NOTIFICATION_CHANNELS"),
    ({"MOTCUA_NOTIFICATION_CHANNELS": "sms,sms"}, "MOTCUA_NOTIFICATION_CHANNELS"),
    ({"MOTCUA_NOTIFICATION_FALLBACK_CHANNELS": "sms"}, "MOTCUA_NOTIFICATION_FALLBACK_CHANNELS"),
    ({"MOTCUA_SMTP_ADDRESS": "mail.example.vn"}, "MOTCUA_SMTP_ADDRESS"),
    ({"MOTCUA_SMS_GATEWAY_URL": "sms.example.vn"}, "MOTCUA_SMS_GATEWAY_URL"),
    ({"MOTCUA_ZNS_URL": "https://zns.example.vn"}, "MOTCUA_MESSAGING_RECEIPTS_SECRET_FILE"),
])
def test_bad_notification_settings_are_refused_by_name(env, named):
    with pytest.raises(ConfigurationError, match=named):
        Settings.from_env({**BASE, **env})
