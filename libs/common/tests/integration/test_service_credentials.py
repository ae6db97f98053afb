"""Each service its own PostgreSQL role and RabbitMQ user, provisioned as `make run` does
(runtime.provisioning) on a private province: no service can read another's tables."""
from __future__ import annotations

import secrets
from urllib.parse import unquote, urlsplit

import amqp
import kombu
import psycopg
import pytest
from psycopg import errors

from motcua_common.config.services import SERVICES
from motcua_common.config.settings import postgres_conninfo_from_env
from motcua_common.runtime import provisioning
from motcua_common.runtime.platform_runner import setup_schemas
from motcua_common.runtime.provisioning import provision, service_env, variables
from motcua_testkit.plugin import rabbitmqctl

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def province_env(module_province):  # type: ignore[no-untyped-def]
    """A private province whose schemas an earlier release made with the province's role, then
    provisioned and set up as `make run` does now: each service with its own role and user."""
    province = module_province
    suffix = province.env["MOTCUA_PG_DBNAME"].removeprefix("motcua_t_")
    env = {**province.env, "MOTCUA_AMQP_VHOST": urlsplit(province.env["MOTCUA_AMQP_URI"]).path[1:]}
    for service in SERVICES:
        pg_user, pg_password, amqp_user, amqp_password = variables(service.name)
        env.update({pg_user: f"motcua_t_{suffix}_{service.name}", pg_password: secrets.token_hex(12),
                    amqp_user: f"motcua_t_{suffix}_{service.name}", amqp_password: secrets.token_hex(12)})
    own = {name for service in SERVICES for name in variables(service.name)}
    try:
        setup_schemas({k: v for k, v in env.items() if k not in own})  # the earlier release's layout
        provision(env)
        setup_schemas(env)
        yield env
    finally:  # roles and users outlive the province's database: removed even when setting up failed
        roles = [env[variables(s.name)[0]] for s in SERVICES]
        provisioning._as_postgres("postgres", [f'DROP DATABASE IF EXISTS "{env["MOTCUA_PG_DBNAME"]}" WITH (FORCE)',
                                               *(f'DROP ROLE IF EXISTS "{r}"' for r in roles)])
        for service in SERVICES:
            try:
                rabbitmqctl("delete_user", env[variables(service.name)[2]])
            except RuntimeError:
                pass


def own_connection(env: dict[str, str], service: str) -> psycopg.Connection:
    return psycopg.connect(postgres_conninfo_from_env(service_env(env, service)), autocommit=True)


def test_a_services_role_uses_its_own_schema_and_cannot_read_another_services_tables(province_env):
    env = province_env
    with own_connection(env, "intake") as intake:
        intake.execute("SELECT count(*) FROM intake.dossier_index").fetchone()
        intake.execute("CREATE TABLE intake.scratch (id int)")
        assert intake.execute("SELECT offset_us FROM platform.clock").fetchone() == (0,)
        with pytest.raises(errors.InsufficientPrivilege, match="permission denied for schema workflow"):
            intake.execute("SELECT count(*) FROM workflow.workflow_events")
    with own_connection(env, "workflow") as workflow:
        with pytest.raises(errors.InsufficientPrivilege, match="permission denied for schema intake"):
            workflow.execute("SELECT count(*) FROM intake.dossier_index")
        with pytest.raises(errors.InsufficientPrivilege):
            workflow.execute("CREATE TABLE intake.planted (id int)")
    with own_connection(env, "reporting") as reporting, \
            pytest.raises(errors.InsufficientPrivilege, match="permission denied for schema intake"):
        reporting.execute("SELECT count(*) FROM intake.intake_events")
    # The province's role (operators' tools: replay, audit, clock) still reaches every schema.
    with psycopg.connect(postgres_conninfo_from_env(env), autocommit=True) as owner:
        owner.execute("SELECT count(*) FROM intake.dossier_index, workflow.workflow_events LIMIT 1").fetchone()
        # Nothing in a service's schema is left to the province's role (an earlier release's objects moved).
        assert owner.execute("SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                             "WHERE n.nspname IN ('intake', 'workflow', 'reporting') "
                             "AND c.relowner = current_user::regrole").fetchone() == (0,)
        assert owner.execute("SELECT count(*) FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace "
                             "WHERE n.nspname IN ('intake', 'workflow', 'reporting') "
                             "AND t.typowner = current_user::regrole").fetchone() == (0,)


def test_each_services_amqp_user_reaches_the_provinces_vhost_only(province_env):
    uri = service_env(province_env, "workflow")["MOTCUA_AMQP_URI"]
    assert urlsplit(uri).username == province_env["MOTCUA_WORKFLOW_AMQP_USER"]

    with kombu.Connection(uri, connect_timeout=5) as connection:
        connection.ensure_connection(max_retries=1)
    with kombu.Connection(urlsplit(uri)._replace(path="/").geturl(), connect_timeout=5) as elsewhere, \
            pytest.raises(Exception, match="(?i)access|refused|not_allowed"):
        elsewhere.ensure_connection(max_retries=1)


def amqp_channel(env: dict[str, str], service: str):  # type: ignore[no-untyped-def]
    uri = urlsplit(service_env(env, service)["MOTCUA_AMQP_URI"])
    connection = amqp.Connection(host=f"{uri.hostname}:{uri.port or 5672}", userid=unquote(uri.username),
                                 password=unquote(uri.password), virtual_host=uri.path[1:], connect_timeout=5)
    connection.connect()
    return connection, connection.channel()


def test_a_service_publishes_its_own_events_and_cannot_publish_another_services_or_take_its_queue(province_env):
    for exchange, allowed in (("intake.events", True), ("workflow.events", False)):
        connection, channel = amqp_channel(province_env, "intake")
        try:
            channel.exchange_declare(exchange, "topic", durable=True, auto_delete=False)
            if allowed:
                channel.basic_publish_confirm(amqp.Message(b"{}"), exchange=exchange, routing_key="Probe",
                                              confirm_timeout=10)
            else:
                with pytest.raises(amqp.exceptions.AccessRefused, match="workflow.events"):
                    channel.basic_publish_confirm(amqp.Message(b"{}"), exchange=exchange, routing_key="Forged",
                                                  confirm_timeout=10)
        finally:
            connection.collect()
    connection, channel = amqp_channel(province_env, "intake")
    try:
        with pytest.raises(amqp.exceptions.AccessRefused, match="rpc-workflow"):
            channel.queue_declare("rpc-workflow", durable=True, auto_delete=False)
    finally:
        connection.collect()
