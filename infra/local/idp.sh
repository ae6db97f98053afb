#!/usr/bin/env bash
# The local OpenID Connect provider (Keycloak, dev mode, loopback only) with the province's realm
# generated from infra/provinces/<p>/identities.yaml. Its state lives in .local/idp/<p>/: the
# generated passwords and client secrets (secrets.env), its H2 database and its log.
#   usage: idp.sh start|stop|status        (PROVINCE=quang-tri, MOTCUA_IDP_PORT=8180 by default)
# The realm is data: when identities.yaml, the policy or the secrets change, the next start
# drops the IdP's database and imports the realm again (the demo users keep their `sub`).
set -euo pipefail
cmd=${1:-status}
PROVINCE=${PROVINCE:-quang-tri}
port=${MOTCUA_IDP_PORT:-8180}
management_port=$((port + 1))
state=$(pwd)/.local/idp/$PROVINCE
data=infra/provinces/$PROVINCE
pidfile=$state/keycloak.pgid
url=http://127.0.0.1:$port

http_ok() { [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 3 "$1" 2>/dev/null)" = 200 ]; }
alive() { [ -f "$pidfile" ] && kill -0 -- "-$(cat "$pidfile")" 2>/dev/null; }
realm() { sed -n 's/^realm: *//p' "$data/identities.yaml" | tr -d '"' ; }
ready() { http_ok "http://127.0.0.1:$management_port/health/ready" && http_ok "$url/realms/$(realm)/.well-known/openid-configuration"; }
where() {
  echo "identity provider ready: $url (admin console $url/admin, user admin, password in $state/secrets.env)"
  echo "  MOTCUA_OIDC_ISSUER=$url/realms/$(realm)"
}

case "$cmd" in
  start)
    mkdir -p "$state" && chmod 700 "$state"
    realm_name=$(.venv/bin/python -m motcua_common.identity.identities realm "$data/identities.yaml" "$data/units.yaml" \
      "$data/access-policy.yaml" "$state/secrets.env" "$state/realm.json")
    digest=$(sha256sum "$state/realm.json" | cut -c1-16)
    if alive && ready; then
      if [ "$(cat "$state/realm.digest" 2>/dev/null)" = "$digest" ]; then echo "already running"; where; exit 0; fi
      echo "==> the realm's data changed: restarting the identity provider"; bash "$0" stop
    fi
    alive && { echo "an identity provider is starting or stuck (pgid $(cat "$pidfile")); run: $0 stop" >&2; exit 1; }
    if http_ok "http://127.0.0.1:$management_port/health/ready" || curl -s -o /dev/null --max-time 2 "$url/"; then
      echo "port $port is taken by another process: set MOTCUA_IDP_PORT" >&2; exit 1
    fi
    home=$(bash infra/local/ensure-idp.sh | tail -n 1)
    if [ "$(cat "$state/realm.digest" 2>/dev/null)" != "$digest" ]; then
      rm -rf "$state/h2"   # the realm changed: import it afresh
    fi
    mkdir -p "$home/data/import"
    rm -f "$home/data/import"/*.json
    install -m 600 "$state/realm.json" "$home/data/import/$realm_name.json"
    admin_password=$(sed -n 's/^IDP_ADMIN_PASSWORD=//p' "$state/secrets.env")
    echo "==> starting Keycloak on $url (log: $state/keycloak.log)"
    # setsid: the server and its children form one process group, which `stop` ends.
    KC_BOOTSTRAP_ADMIN_USERNAME=admin KC_BOOTSTRAP_ADMIN_PASSWORD=$admin_password \
    JAVA_OPTS_KC_HEAP="-Xms64m -Xmx512m" JAVA_OPTS_APPEND="-XX:TieredStopAtLevel=1" \
      setsid "$home/bin/kc.sh" start-dev --import-realm \
        --http-host=127.0.0.1 --http-port="$port" --http-management-port="$management_port" \
        --hostname="$url" --health-enabled=true --db=dev-file \
        --db-url="jdbc:h2:file:$state/h2/keycloakdb;NON_KEYWORDS=VALUE" \
        >"$state/keycloak.log" 2>&1 </dev/null &
    echo $! > "$pidfile"
    for _ in $(seq 1 300); do
      if ready; then
        echo "$digest" > "$state/realm.digest"
        rm -f "$home/data/import/$realm_name.json"   # it holds the secrets; the database has the realm now
        {
          echo "MOTCUA_OIDC_ISSUER=$url/realms/$realm_name"
          echo "MOTCUA_OIDC_AUDIENCE=$(sed -n 's/^audience: *//p' "$data/identities.yaml" | tr -d '"')"
          echo "MOTCUA_IDP_TOKEN_URL=$url/realms/$realm_name/protocol/openid-connect/token"
        } > "$state/idp.env"
        where; exit 0
      fi
      if ! alive; then echo "the identity provider stopped while starting; last lines of its log:" >&2
        tail -n 30 "$state/keycloak.log" >&2; rm -f "$pidfile"; exit 1; fi
      sleep 1
    done
    echo "the identity provider did not become ready in 300 s (log: $state/keycloak.log)" >&2; exit 1
    ;;
  stop)
    if alive; then
      pgid=$(cat "$pidfile")
      kill -TERM -- "-$pgid" 2>/dev/null || true
      for _ in $(seq 1 30); do kill -0 -- "-$pgid" 2>/dev/null || break; sleep 1; done
      kill -KILL -- "-$pgid" 2>/dev/null || true
      echo "stopped"
    else
      echo "not running"
    fi
    rm -f "$pidfile"
    ;;
  status)
    if alive && ready; then where; elif alive; then echo "starting (pgid $(cat "$pidfile"))"; exit 3
    else echo "not running"; exit 3; fi
    ;;
  *)
    echo "usage: $0 start|stop|status" >&2; exit 2
    ;;
esac
