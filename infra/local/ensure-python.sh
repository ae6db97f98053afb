#!/usr/bin/env bash
# Create .venv with every pinned dependency and the project's packages (editable).
# Re-runs pip only when constraints.txt or a pyproject.toml changed.
set -euo pipefail
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
command -v python3 >/dev/null || { $SUDO apt-get update -qq; DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq python3; }
python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "Python 3.11+ is required" >&2; exit 1; }
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv 2>/dev/null || {
    $SUDO apt-get update -qq; DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq python3-venv; rm -rf .venv; python3 -m venv .venv; }
fi
stamp=.venv/.installed
inputs=$(cat constraints.txt libs/*/pyproject.toml services/*/pyproject.toml | sha256sum | cut -c1-16)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$inputs" ]; then
  echo "==> installing Python dependencies (pinned in constraints.txt)"
  .venv/bin/pip install -q --upgrade pip==25.3
  .venv/bin/pip install -q -c constraints.txt pytest pytest-timeout hypothesis zxing-cpp napas-qr-python grpcio-tools kubernetes-validate import-linter \
    -e libs/common -e libs/testkit -e services/intake -e services/workflow -e services/reporting -e services/payment -e services/evaluation -e "services/notification[test]"
  echo "$inputs" > "$stamp"
fi
