#!/usr/bin/env bash
# A test administrator for PostgreSQL (may create databases) and RabbitMQ (gets every
# test's private vhost). Each test makes its own database and vhost and drops them after.
set -euo pipefail
ENV_FILE=${1:-.local/test.env}
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
mkdir -p "$(dirname "$ENV_FILE")"
if [ ! -f "$ENV_FILE" ]; then
  umask 077
  printf 'MOTCUA_TEST_PG_USER=motcua_test\nMOTCUA_TEST_PG_PASSWORD=%s\nMOTCUA_TEST_AMQP_USER=motcua_test\nMOTCUA_TEST_AMQP_PASSWORD=%s\n' \
    "$(head -c 18 /dev/urandom | base64 | tr -d '/+=')" "$(head -c 18 /dev/urandom | base64 | tr -d '/+=')" > "$ENV_FILE"
fi
set -a; . "$ENV_FILE"; set +a
run_psql() { if [ "$(id -u)" -eq 0 ]; then su postgres -c "psql -v ON_ERROR_STOP=1 -qAt -c \"$1\""; else sudo -u postgres psql -v ON_ERROR_STOP=1 -qAt -c "$1"; fi; }
if [ -z "$(run_psql "SELECT 1 FROM pg_roles WHERE rolname = '$MOTCUA_TEST_PG_USER'")" ]; then
  run_psql "CREATE ROLE $MOTCUA_TEST_PG_USER LOGIN CREATEDB PASSWORD '$MOTCUA_TEST_PG_PASSWORD'"
else
  run_psql "ALTER ROLE $MOTCUA_TEST_PG_USER LOGIN CREATEDB PASSWORD '$MOTCUA_TEST_PG_PASSWORD'"
fi
$SUDO rabbitmqctl -q add_user "$MOTCUA_TEST_AMQP_USER" "$MOTCUA_TEST_AMQP_PASSWORD" 2>/dev/null \
  || $SUDO rabbitmqctl -q change_password "$MOTCUA_TEST_AMQP_USER" "$MOTCUA_TEST_AMQP_PASSWORD"
$SUDO rabbitmqctl -q set_user_tags "$MOTCUA_TEST_AMQP_USER" administrator >/dev/null
