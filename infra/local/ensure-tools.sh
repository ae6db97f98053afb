#!/usr/bin/env bash
# Tools through `go install` (Go module proxy), into build/tools/bin: buf (protobuf lint and
# breaking-change check), grpcurl and ghz (gRPC), helm and kubeconform (chart checks).
# buf and grpcurl are required by `make test` (the contract checks and e2e tests fail without
# them); the others are skipped with a notice when they cannot be installed.
set -euo pipefail
bin=$(pwd)/build/tools/bin
mkdir -p "$bin"
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
if ! command -v promtool >/dev/null 2>&1; then
  # promtool checks the alert rules; Debian ships it in the prometheus package. Keep the
  # package from starting a Prometheus server: it is only wanted for its checker.
  echo "==> installing promtool (Debian package prometheus)"
  policy_added=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null; $SUDO chmod +x /usr/sbin/policy-rc.d; policy_added=1
  fi
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends prometheus >/dev/null \
    || echo "!! could not install promtool" >&2
  [ -n "$policy_added" ] && $SUDO rm -f /usr/sbin/policy-rc.d
fi
if ! command -v go >/dev/null 2>&1; then
  echo "!! Go is not installed: buf and grpcurl, which \`make test\` needs, come from the Go module proxy (apt-get install golang-go, or see go.dev)" >&2
  exit 1
fi
install() {  # name module@version
  [ -x "$bin/$1" ] && return 0
  echo "==> go install $2"
  GOBIN="$bin" GOFLAGS=-mod=mod go install "$2" >/dev/null 2>&1 || echo "!! could not install $1 ($2)" >&2
}
install grpcurl github.com/fullstorydev/grpcurl/cmd/grpcurl@v1.9.3
install buf github.com/bufbuild/buf/cmd/buf@v1.75.0
for required in buf grpcurl; do
  [ -x "$bin/$required" ] || { echo "!! $required is required by \`make test\` and could not be installed" >&2; exit 1; }
done
install ghz github.com/bojand/ghz/cmd/ghz@v0.120.0
install helm helm.sh/helm/v3/cmd/helm@v3.17.3
install kubeconform github.com/yannh/kubeconform/cmd/kubeconform@v0.7.0
