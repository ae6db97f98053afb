#!/usr/bin/env bash
# Generate Python code from protos/ into build/gen (never edited by hand, never committed).
set -euo pipefail
out=build/gen
stamp=$out/.stamp
inputs=$(cat $(find protos/motcua -name '*.proto' | sort) constraints.txt | sha256sum | cut -c1-16)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$inputs" ]; then exit 0; fi
rm -rf "$out"; mkdir -p "$out"
.venv/bin/python -m grpc_tools.protoc -I protos --python_out="$out" --grpc_python_out="$out" --pyi_out="$out" \
  $(cd protos && find motcua -name '*.proto' | sort)
site=$(.venv/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
echo "$(pwd)/$out" > "$site/motcua-generated-protos.pth"
echo "$inputs" > "$stamp"
echo "==> generated protobuf code in $out"
