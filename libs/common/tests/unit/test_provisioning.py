"""Each service's own credentials in a province's environment (runtime.provisioning)."""
from __future__ import annotations

import stat

import pytest

from motcua_common.config.services import SERVICES
from motcua_common.config.settings import ConfigurationError, read_env_file
from motcua_common.runtime.provisioning import complete_env_file, database_statements, main, service_env

PROVINCE = {"MOTCUA_PG_USER": "motcua_qt", "MOTCUA_PG_PASSWORD": "owner", "MOTCUA_PG_DBNAME": "motcua_qt",
            "MOTCUA_AMQP_URI": "amqp://motcua_qt:owner@mq.example:5672/motcua-qt"}
INTAKE = {"MOTCUA_INTAKE_PG_USER": "motcua_qt_intake", "MOTCUA_INTAKE_PG_PASSWORD": "a" * 20,
          "MOTCUA_INTAKE_AMQP_USER": "motcua_qt_intake", "MOTCUA_INTAKE_AMQP_PASSWORD": "b" * 20}


def test_a_services_processes_get_its_own_database_and_broker_credentials():
    env = service_env({**PROVINCE, **INTAKE}, "intake")
    assert (env["MOTCUA_PG_USER"], env["MOTCUA_PG_PASSWORD"]) == ("motcua_qt_intake", "a" * 20)
    assert env["MOTCUA_AMQP_URI"] == f"amqp://motcua_qt_intake:{'b' * 20}@mq.example:5672/motcua-qt"


def test_a_service_without_credentials_of_its_own_uses_the_provinces():
    assert service_env({**PROVINCE, **INTAKE}, "workflow") == {**PROVINCE, **INTAKE}


def test_incomplete_credentials_of_a_service_are_refused_by_name():
    env = {**PROVINCE, **INTAKE}
    del env["MOTCUA_INTAKE_AMQP_PASSWORD"]
    with pytest.raises(ConfigurationError, match="MOTCUA_INTAKE_AMQP_PASSWORD"):
        service_env(env, "intake")


def test_a_role_name_that_is_not_an_identifier_is_refused():
    with pytest.raises(ConfigurationError, match="MOTCUA_INTAKE_PG_USER"):
        database_statements({**PROVINCE, **INTAKE, "MOTCUA_INTAKE_PG_USER": 'x"; DROP'})


def test_the_env_file_gains_credentials_for_every_service_and_keeps_existing_ones(tmp_path):
    path = tmp_path / "province.env"
    path.write_text("MOTCUA_PG_USER=motcua_qt\nMOTCUA_AMQP_USER=motcua_qt\nMOTCUA_INTAKE_PG_PASSWORD=kept\n")
    complete_env_file(path)
    env = read_env_file(path)
    assert env["MOTCUA_INTAKE_PG_PASSWORD"] == "kept"
    for service in SERVICES:
        assert env[f"MOTCUA_{service.name.upper()}_PG_USER"] == f"motcua_qt_{service.name}"
        assert len(env[f"MOTCUA_{service.name.upper()}_AMQP_PASSWORD"]) == 24
    assert complete_env_file(path) == []
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_the_sql_for_a_dba_is_printed_without_applying_anything(tmp_path, capsys):
    path = tmp_path / "province.env"
    path.write_text("".join(f"{k}={v}\n" for k, v in {**PROVINCE, **INTAKE}.items()))
    assert main(["--env-file", str(path), "--print-sql"]) == 0
    sql = capsys.readouterr().out
    assert 'CREATE SCHEMA IF NOT EXISTS "intake" AUTHORIZATION "motcua_qt_intake";' in sql
    assert 'GRANT "motcua_qt_intake" TO "motcua_qt";' in sql
    assert "workflow" not in sql  # only the services whose credentials the file holds
    assert read_env_file(path) == {**PROVINCE, **INTAKE}  # the file is left as it was
