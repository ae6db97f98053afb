"""Each service's own credentials inside a province: a PostgreSQL role that owns its service's schema
and may use nothing else (no service can read another's tables), and a RabbitMQ user of its own.

    python -m motcua_common.runtime.provisioning --env-file .local/quang-tri.env   (provision-province.sh, `make run`)
    python -m motcua_common.runtime.provisioning --env-file ... --print-sql        the SQL only, for a DBA

The env file gains MOTCUA_<SERVICE>_PG_USER/_PG_PASSWORD and MOTCUA_<SERVICE>_AMQP_USER/_AMQP_PASSWORD
for every service of config.services.SERVICES (secrets generated on first use); `service_env()` gives
each service's processes its own (the local runner). The province's role (MOTCUA_PG_USER) owns the
database and the `platform` schema (the shared clock) and is made a member of every service role, so
the operators' tools (replay, audit, clock) still reach every schema.

RabbitMQ: each service's user is allowed the province's vhost only, and in it (amqp_permissions) its
own queues (`rpc-<service>`, its reply queues, its event queues `evt-<upstream>-<event>--<service>.*`),
the shared `nameko-rpc` exchange and standalone proxies' reply queues, and of the event exchanges it
may publish to its own `<service>.events` only: a service cannot publish events as another or
consume another's queues. It may still declare (nameko's event handlers declare the upstream's
exchange, which needs "configure") and read every `<service>.events` exchange.
"""
from __future__ import annotations

import argparse
import os
import re
import secrets
import string
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping
from urllib.parse import quote, urlsplit, urlunsplit

from motcua_common.config.services import SERVICES
from motcua_common.config.settings import ConfigurationError, process_environment, read_env_file

_ROLE = re.compile(r"[a-z_][a-z0-9_]{0,62}")
_SECRET = re.compile(r"[A-Za-z0-9]{16,128}")
#: relation kinds whose owner follows the schema's (indexes and owned sequences follow their table)
_OWNED_KINDS = "'r', 'p', 'v', 'm', 'S'"


def variables(service: str) -> tuple[str, str, str, str]:
    """The env names of one service's PostgreSQL user and password, AMQP user and password."""
    prefix = f"MOTCUA_{service.upper()}_"
    return (f"{prefix}PG_USER", f"{prefix}PG_PASSWORD", f"{prefix}AMQP_USER", f"{prefix}AMQP_PASSWORD")


@dataclass(frozen=True)
class ServiceCredentials:
    service: str
    pg_user: str
    pg_password: str
    amqp_user: str
    amqp_password: str


def service_credentials(env: Mapping[str, str]) -> list[ServiceCredentials]:
    """The services' own credentials an environment holds (none: every process uses the province's)."""
    found = []
    for service in SERVICES:
        names = variables(service.name)
        values = [env.get(name, "").strip() for name in names]
        if not any(values):
            continue
        missing = [name for name, value in zip(names, values) if not value]
        if missing:
            raise ConfigurationError(f"{', '.join(missing)} must be set with the other credentials of {service.name}")
        for name in (names[0], names[2]):
            if not _ROLE.fullmatch(env[name]):
                raise ConfigurationError(f"{name} must be lower-case letters, digits and _ (a role name)")
        found.append(ServiceCredentials(service.name, *values))
    return found


def service_env(env: Mapping[str, str], service: str) -> dict[str, str]:
    """The environment of one service's processes: its own credentials where the province has them."""
    own = next((c for c in service_credentials(env) if c.service == service), None)
    result = dict(env)
    if own is None:
        return result
    result["MOTCUA_PG_USER"], result["MOTCUA_PG_PASSWORD"] = own.pg_user, own.pg_password
    if result.get("MOTCUA_AMQP_URI"):
        uri = urlsplit(result["MOTCUA_AMQP_URI"])
        host = uri.netloc.rsplit("@", 1)[-1]
        userinfo = f"{quote(own.amqp_user, safe='')}:{quote(own.amqp_password, safe='')}"
        result["MOTCUA_AMQP_URI"] = urlunsplit(uri._replace(netloc=f"{userinfo}@{host}"))
    return result


def _secret() -> str:
    return "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(24))


def complete_env_file(path: Path) -> list[str]:
    """Add the credentials a service lacks to a province's env file (kept private); returns the names added."""
    env = read_env_file(path)
    owner, amqp_owner = env.get("MOTCUA_PG_USER", ""), env.get("MOTCUA_AMQP_USER", "")
    if not owner or not amqp_owner:
        raise ConfigurationError(f"{path}: MOTCUA_PG_USER and MOTCUA_AMQP_USER must be set first")
    lines = []
    for service in SERVICES:
        pg_user, pg_password, amqp_user, amqp_password = variables(service.name)
        defaults = {pg_user: f"{owner}_{service.name}", pg_password: _secret(),
                    amqp_user: f"{amqp_owner}_{service.name}", amqp_password: _secret()}
        lines += [f"{name}={value}" for name, value in defaults.items() if not env.get(name)]
    if lines:
        with open(path, "a", encoding="utf-8") as out:
            out.write("".join(f"{line}\n" for line in lines))
        os.chmod(path, 0o600)
    return [line.split("=", 1)[0] for line in lines]


def _checked(credentials: list[ServiceCredentials], owner: str, dbname: str) -> None:
    for name, value in (("MOTCUA_PG_USER", owner), ("MOTCUA_PG_DBNAME", dbname)):
        if not _ROLE.fullmatch(value):
            raise ConfigurationError(f"{name} must be lower-case letters, digits and _")
    for own in credentials:
        if not (_SECRET.fullmatch(own.pg_password) and _SECRET.fullmatch(own.amqp_password)):
            raise ConfigurationError(f"{own.service}: passwords must be 16-128 letters and digits")


def cluster_statements(env: Mapping[str, str]) -> list[str]:
    """SQL for the cluster (as a superuser, any database): the roles, and who may connect."""
    owner, dbname = env["MOTCUA_PG_USER"], env["MOTCUA_PG_DBNAME"]
    credentials = service_credentials(env)
    _checked(credentials, owner, dbname)
    statements = [f'REVOKE CONNECT ON DATABASE "{dbname}" FROM PUBLIC']
    for own in credentials:
        role = own.pg_user
        statements += [
            f"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{role}') "
            f'THEN CREATE ROLE "{role}"; END IF; END $$',
            f"""ALTER ROLE "{role}" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD '{own.pg_password}'""",
            f'GRANT CONNECT ON DATABASE "{dbname}" TO "{role}"',
            f'GRANT "{role}" TO "{owner}"',
        ]
    return statements


def database_statements(env: Mapping[str, str]) -> list[str]:
    """SQL inside the province's database (as a superuser): each service's role owns its schema
    (and what an earlier release created there), uses the shared clock, and nothing else."""
    owner, dbname = env["MOTCUA_PG_USER"], env["MOTCUA_PG_DBNAME"]
    credentials = service_credentials(env)
    _checked(credentials, owner, dbname)
    statements = [
        f'CREATE SCHEMA IF NOT EXISTS platform AUTHORIZATION "{owner}"',
        "CREATE TABLE IF NOT EXISTS platform.clock (id int PRIMARY KEY CHECK (id = 1), offset_us bigint NOT NULL)",
        f'ALTER TABLE platform.clock OWNER TO "{owner}"',
        "INSERT INTO platform.clock VALUES (1, 0) ON CONFLICT DO NOTHING",
        "REVOKE ALL ON SCHEMA public FROM PUBLIC",
    ]
    for own in credentials:
        role, schema = own.pg_user, own.service
        statements += [
            f'CREATE SCHEMA IF NOT EXISTS "{schema}" AUTHORIZATION "{role}"',
            f'ALTER SCHEMA "{schema}" OWNER TO "{role}"',
            f'REVOKE ALL ON SCHEMA "{schema}" FROM PUBLIC',
            # What an earlier release created as the province's role (tables, types, eventsourcing's
            # functions) becomes the service's.
            f"""DO $$ DECLARE r record; BEGIN
  FOR r IN SELECT c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE n.nspname = '{schema}' AND c.relkind IN ({_OWNED_KINDS}) AND c.relowner <> '"{role}"'::regrole
             AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.objid = c.oid AND d.deptype IN ('a', 'i'))
  LOOP
    EXECUTE format('ALTER %s %I.%I OWNER TO %I',
                   CASE r.relkind WHEN 'S' THEN 'SEQUENCE' WHEN 'v' THEN 'VIEW'
                                  WHEN 'm' THEN 'MATERIALIZED VIEW' ELSE 'TABLE' END,
                   '{schema}', r.relname, '{role}');
  END LOOP;
  FOR r IN SELECT t.oid::regtype AS type FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
           WHERE n.nspname = '{schema}' AND t.typowner <> '"{role}"'::regrole AND t.typtype IN ('c', 'd', 'e')
             AND (t.typrelid = 0 OR (SELECT relkind FROM pg_class WHERE oid = t.typrelid) = 'c')
  LOOP
    EXECUTE format('ALTER TYPE %s OWNER TO %I', r.type, '{role}');
  END LOOP;
  FOR r IN SELECT p.oid::regprocedure AS routine FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
           WHERE n.nspname = '{schema}' AND p.proowner <> '"{role}"'::regrole
  LOOP
    EXECUTE format('ALTER ROUTINE %s OWNER TO %I', r.routine, '{role}');
  END LOOP; END $$""",
            f'GRANT USAGE ON SCHEMA platform TO "{role}"',
            f'GRANT SELECT, UPDATE ON platform.clock TO "{role}"',
        ]
    return statements


def amqp_permissions(service: str) -> tuple[str, str, str]:
    """RabbitMQ (configure, write, read) regexes of one service's user (the chart renders the same)."""
    shared = r"nameko-rpc|rpc\.reply-standalone_rpc_proxy-.+"
    own = rf"rpc-{service}|rpc\.reply-{service}-.+|evt-.+--{service}\..+"
    any_events = r"[a-z_]+\.events"
    return (f"^({shared}|{own}|{any_events})$", rf"^({shared}|{own}|{service}\.events)$",
            f"^({shared}|{own}|{any_events})$")


def rabbitmq_commands(env: Mapping[str, str]) -> list[list[str]]:
    """rabbitmqctl arguments: each service's user, allowed its own names in the province's vhost only."""
    vhost = env.get("MOTCUA_AMQP_VHOST", "")
    if not vhost:
        raise ConfigurationError("MOTCUA_AMQP_VHOST is required to provision the services' AMQP users")
    commands = []
    for own in service_credentials(env):
        commands += [["add_user", own.amqp_user, own.amqp_password],
                     ["set_permissions", "-p", vhost, own.amqp_user, *amqp_permissions(own.service)]]
    return commands


def _as_postgres(dbname: str, statements: list[str]) -> None:
    runner = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else ["sudo", "-u", "postgres"]
    done = subprocess.run([*runner, "psql", "-v", "ON_ERROR_STOP=1", "-qAt", "-d", dbname],
                          input="".join(f"{s};\n" for s in statements), capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"psql on {dbname} failed: {done.stderr.strip()[-2000:]}")


def _rabbitmqctl(args: list[str]) -> subprocess.CompletedProcess:
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    return subprocess.run([*sudo, "rabbitmqctl", "-q", *args], capture_output=True, text=True, timeout=120)


def provision(env: Mapping[str, str]) -> None:
    """Create or update every service's role and AMQP user (as the local superusers; idempotent)."""
    _as_postgres("postgres", cluster_statements(env))
    _as_postgres(env["MOTCUA_PG_DBNAME"], database_statements(env))
    for args in rabbitmq_commands(env):
        done = _rabbitmqctl(args)
        if done.returncode != 0 and args[0] == "add_user":  # the user exists: keep its password current
            done = _rabbitmqctl(["change_password", *args[1:]])
        if done.returncode != 0:
            raise RuntimeError(f"rabbitmqctl {args[0]} failed: {(done.stderr or done.stdout).strip()}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m motcua_common.runtime.provisioning", description=__doc__.split("\n\n")[0])
    parser.add_argument("--env-file", type=Path, required=True, help="the province's env file (completed here)")
    parser.add_argument("--print-sql", action="store_true", help="print the SQL instead of applying anything")
    args = parser.parse_args(argv)
    if not args.env_file.is_file():
        parser.error(f"--env-file {args.env_file}: no such file")
    if args.print_sql:
        env = process_environment(args.env_file)
        print("-- as a superuser, any database", *(f"{s};" for s in cluster_statements(env)),
              f"-- as a superuser, in database {env['MOTCUA_PG_DBNAME']}", *(f"{s};" for s in database_statements(env)),
              sep="\n")
        return 0
    complete_env_file(args.env_file)
    env = process_environment(args.env_file)
    provision(env)
    print(f"==> services' own credentials: {', '.join(c.service for c in service_credentials(env))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
