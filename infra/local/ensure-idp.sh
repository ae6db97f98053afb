#!/usr/bin/env bash
# The local OpenID Connect provider: Keycloak's Quarkus distribution, from Maven Central through
# mvn, unpacked into build/idp/ (cached: a second run does nothing). Needs Java 17+ and Maven.
#   usage: ensure-idp.sh            prints the Keycloak home directory on its last line
set -euo pipefail
KEYCLOAK_VERSION=${MOTCUA_KEYCLOAK_VERSION:-26.4.7}
root=$(pwd)/build/idp
home=$root/keycloak-$KEYCLOAK_VERSION
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
if [ ! -x "$home/bin/kc.sh" ]; then
  if ! command -v java >/dev/null 2>&1 || ! command -v mvn >/dev/null 2>&1 || ! command -v unzip >/dev/null 2>&1; then
    echo "==> installing Java 17, Maven and unzip (Debian packages)" >&2
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends openjdk-17-jre-headless maven unzip >/dev/null
  fi
  echo "==> fetching Keycloak $KEYCLOAK_VERSION (org.keycloak:keycloak-quarkus-dist, Maven Central)" >&2
  mkdir -p "$root/download"
  mvn -q -B dependency:copy -Dartifact="org.keycloak:keycloak-quarkus-dist:$KEYCLOAK_VERSION:zip" \
    -DoutputDirectory="$root/download" >&2
  rm -rf "$root/unpack" && mkdir -p "$root/unpack"
  unzip -q "$root/download/keycloak-quarkus-dist-$KEYCLOAK_VERSION.zip" -d "$root/unpack"
  rm -rf "$home" && mv "$root/unpack/keycloak-$KEYCLOAK_VERSION" "$home" && rm -rf "$root/unpack"
  rm -f "$root/download/keycloak-quarkus-dist-$KEYCLOAK_VERSION.zip"
fi
echo "$home"
