#!/usr/bin/env bash
# `make run`: start what is missing, run the platform in the foreground, and on Ctrl-C stop
# everything this run started (the services, and PostgreSQL/RabbitMQ if it started them).
set -uo pipefail
PROVINCE=${PROVINCE:-quang-tri}
ENV_FILE=.local/$PROVINCE.env
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
mkdir -p .local
started=$(mktemp .local/started.XXXXXX)
stop_started() {
  while read -r what version; do
    case $what in
      postgresql) echo "==> stopping PostgreSQL (started by this run)"; $SUDO pg_ctlcluster --skip-systemctl-redirect "$version" main stop ;;
      rabbitmq) echo "==> stopping RabbitMQ (started by this run)"; $SUDO rabbitmqctl -q stop ;;
      idp) echo "==> stopping the identity provider (started by this run)"; PROVINCE=$PROVINCE bash infra/local/idp.sh stop ;;
    esac
  done < "$started"
  rm -f "$started"
}
trap stop_started EXIT
STARTED_FILE=$started bash infra/local/ensure-infra.sh || exit 1
bash infra/local/provision-province.sh "$PROVINCE" "$ENV_FILE" || exit 1
# The edges accept only tokens from the province's identity provider: the local one, with the demo users.
PROVINCE=$PROVINCE bash infra/local/idp.sh status >/dev/null 2>&1 || echo idp >> "$started"
PROVINCE=$PROVINCE bash infra/local/idp.sh start || exit 1
{ grep -v '^MOTCUA_OIDC_' "$ENV_FILE"; grep '^MOTCUA_OIDC_' ".local/idp/$PROVINCE/idp.env"; } > "$ENV_FILE.new" \
  && mv "$ENV_FILE.new" "$ENV_FILE" && chmod 600 "$ENV_FILE"
trap '' INT  # Ctrl-C reaches the runner, which stops the services; then this script cleans up
.venv/bin/python -m motcua_common.runtime.platform_runner --env-file "$ENV_FILE"
