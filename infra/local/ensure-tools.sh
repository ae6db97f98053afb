#!/usr/bin/env bash
# Tools through `go install` (Go module proxy), into build/tools/bin: grpcurl and ghz (gRPC),
# helm and kubeconform (chart checks).
# Optional: without Go they are skipped with a notice, and the tests that need them say so.
set -euo pipefail
bin=$(pwd)/build/tools/bin
mkdir -p "$bin"
if ! command -v go >/dev/null 2>&1; then
  echo "==> Go is not installed: skipping grpcurl and ghz (apt-get install golang-go, or see go.dev)" >&2
  exit 0
fi
install() {  # name module@version
  [ -x "$bin/$1" ] && return 0
  echo "==> go install $2"
  GOBIN="$bin" GOFLAGS=-mod=mod go install "$2" >/dev/null 2>&1 || echo "!! could not install $1 ($2)" >&2
}
install grpcurl github.com/fullstorydev/grpcurl/cmd/grpcurl@v1.9.3
install ghz github.com/bojand/ghz/cmd/ghz@v0.120.0
install helm helm.sh/helm/v3/cmd/helm@v3.17.3
install kubeconform github.com/yannh/kubeconform/cmd/kubeconform@v0.7.0
