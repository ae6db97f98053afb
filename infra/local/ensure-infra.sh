#!/usr/bin/env bash
# Install PostgreSQL and RabbitMQ from Debian packages where missing, and start them
# where they are not running. Idempotent; needs root (or sudo) for apt and service start.
# With STARTED_FILE set, the names of the servers this call started are appended to it,
# so `make run` can stop exactly those on Ctrl-C.
set -euo pipefail
STARTED_FILE=${STARTED_FILE:-/dev/null}
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"

need=()
command -v pg_ctlcluster >/dev/null 2>&1 || need+=(postgresql)
command -v rabbitmq-server >/dev/null 2>&1 || need+=(rabbitmq-server)
# Forms are PDFs in Vietnamese set in Times New Roman's metrics: Liberation Serif, from Debian
# (nothing downloads at run time); pdftotext reads them back in the tests.
[ -f /usr/share/fonts/truetype/liberation2/LiberationSerif-Regular.ttf ] || need+=(fonts-liberation2)
command -v pdftotext >/dev/null 2>&1 || need+=(poppler-utils)
# the README's commands (run as written by e2e-tests/test_readme.py) use curl and jq
command -v curl >/dev/null 2>&1 || need+=(curl)
command -v jq >/dev/null 2>&1 || need+=(jq)
if [ ${#need[@]} -gt 0 ]; then
  echo "==> installing ${need[*]} from Debian packages"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi

PG_VERSION=$(ls /etc/postgresql | sort -V | tail -n1)
if ! pg_lsclusters -h | awk '{print $4}' | grep -q online; then
  # Every platform process keeps a small pool, and the tests start whole platforms: Debian's
  # default of 100 connections runs out when `make run` and `make test` share one server.
  if [ "$(pg_conftool -s "$PG_VERSION" main show max_connections 2>/dev/null || echo 100)" -lt 300 ]; then
    $SUDO pg_conftool "$PG_VERSION" main set max_connections 300
  fi
  echo "==> starting PostgreSQL $PG_VERSION"
  $SUDO pg_ctlcluster --skip-systemctl-redirect "$PG_VERSION" main start
  echo "postgresql $PG_VERSION" >> "$STARTED_FILE"
fi
for _ in $(seq 1 60); do pg_isready -q -h 127.0.0.1 && break; sleep 0.5; done
pg_isready -q -h 127.0.0.1 || { echo "PostgreSQL did not become ready" >&2; exit 1; }

if ! $SUDO rabbitmqctl -q status >/dev/null 2>&1; then
  echo "==> starting RabbitMQ"
  $SUDO rabbitmq-server -detached
  echo "rabbitmq" >> "$STARTED_FILE"
  for _ in $(seq 1 120); do $SUDO rabbitmqctl -q await_startup >/dev/null 2>&1 && break; sleep 1; done
fi
$SUDO rabbitmqctl -q await_startup >/dev/null
echo "==> PostgreSQL and RabbitMQ are running"
