#!/usr/bin/env bash
# Create one province's isolated resources: a PostgreSQL role and database, a RabbitMQ
# user and vhost, each service's own role and user (motcua_common.runtime.provisioning),
# and the key-encryption key. Secrets are generated on first use and kept
# in .local/<province>.env (git-ignored); nothing secret is written in the repository.
#   usage: provision-province.sh <province-slug> <env-file>
set -euo pipefail
PROVINCE=$1; ENV_FILE=$2
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
slug=${PROVINCE//-/_}
mkdir -p "$(dirname "$ENV_FILE")"
if [ ! -f "$ENV_FILE" ]; then
  umask 077
  cat > "$ENV_FILE" <<EOV
MOTCUA_PROVINCE=$PROVINCE
MOTCUA_PG_USER=motcua_$slug
MOTCUA_PG_PASSWORD=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
MOTCUA_PG_DBNAME=motcua_$slug
MOTCUA_AMQP_USER=motcua_$slug
MOTCUA_AMQP_PASSWORD=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
MOTCUA_AMQP_VHOST=motcua-$PROVINCE
MOTCUA_SUBJECT_KEK=$(head -c 32 /dev/urandom | base64)
EOV
fi
# Added after the first release: existing env files gain the audit signing key.
grep -q '^MOTCUA_AUDIT_SIGNING_KEY=' "$ENV_FILE" || echo "MOTCUA_AUDIT_SIGNING_KEY=$(head -c 32 /dev/urandom | base64)" >> "$ENV_FILE"
# Development result-signing keys (a province CA and a certificate per unit), outside the database.
keys=$(pwd)/.local/unit-keys/$PROVINCE
units=infra/provinces/$PROVINCE/units.yaml; [ -f "$units" ] || units=infra/provinces/quang-tri/units.yaml
if [ -x .venv/bin/python ] && [ ! -f "$keys/ca.crt.pem" ]; then
  .venv/bin/python -m motcua_workflow.bootstrap issue-unit-keys "$keys" "$units" "$PROVINCE"
fi
grep -q '^MOTCUA_UNIT_KEYS_DIR=' "$ENV_FILE" || echo "MOTCUA_UNIT_KEYS_DIR=$keys" >> "$ENV_FILE"
set -a; . "$ENV_FILE"; set +a
psql_admin() { $SUDO -u postgres psql -v ON_ERROR_STOP=1 -qAt "$@"; }
if [ "$(id -u)" -eq 0 ]; then psql_admin() { su postgres -c "psql -v ON_ERROR_STOP=1 -qAt $(printf '%q ' "$@")"; }; fi
if [ -z "$(psql_admin -c "SELECT 1 FROM pg_roles WHERE rolname = '$MOTCUA_PG_USER'")" ]; then
  psql_admin -c "CREATE ROLE $MOTCUA_PG_USER LOGIN PASSWORD '$MOTCUA_PG_PASSWORD'"
else
  psql_admin -c "ALTER ROLE $MOTCUA_PG_USER LOGIN PASSWORD '$MOTCUA_PG_PASSWORD'"
fi
if [ -z "$(psql_admin -c "SELECT 1 FROM pg_database WHERE datname = '$MOTCUA_PG_DBNAME'")" ]; then
  psql_admin -c "CREATE DATABASE $MOTCUA_PG_DBNAME OWNER $MOTCUA_PG_USER"
fi
$SUDO rabbitmqctl -q add_vhost "$MOTCUA_AMQP_VHOST" 2>/dev/null || true
$SUDO rabbitmqctl -q add_user "$MOTCUA_AMQP_USER" "$MOTCUA_AMQP_PASSWORD" 2>/dev/null \
  || $SUDO rabbitmqctl -q change_password "$MOTCUA_AMQP_USER" "$MOTCUA_AMQP_PASSWORD"
$SUDO rabbitmqctl -q set_permissions -p "$MOTCUA_AMQP_VHOST" "$MOTCUA_AMQP_USER" ".*" ".*" ".*"
# Each service its own PostgreSQL role (owning its schema only) and RabbitMQ user, added to the env file.
if [ -x .venv/bin/python ]; then
  .venv/bin/python -m motcua_common.runtime.provisioning --env-file "$ENV_FILE"
else
  echo "==> no .venv yet: services share the province's credentials until the next \`make run\`"
fi
echo "==> province $PROVINCE: database $MOTCUA_PG_DBNAME, vhost $MOTCUA_AMQP_VHOST"
