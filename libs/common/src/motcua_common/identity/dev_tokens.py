"""Access tokens from the local identity provider (`make idp`, started by `make run` and the tests),
for the demo users and integrator clients of identities.yaml: the README's grpcurl examples, the
tests and the benchmark ask the running IdP over HTTP, exactly as a client would. Never for
production: it reads the generated demo passwords and client secrets of .local/idp/<province>/.

    python -m motcua_common.identity.dev_tokens canbo01            # a demo user's access token
    python -m motcua_common.identity.dev_tokens --client cong-dvc-quoc-gia   # an integrator's
"""
from __future__ import annotations

import argparse
import json
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from motcua_common.identity.identities import DEV_CLIENT_ID, client_secret_key, password_key, read_secrets

#: a token is fetched again this long before it expires
_RENEW_BEFORE_SECONDS = 60


class TokenUnavailable(RuntimeError):
    pass


class DevTokens:
    """Tokens for demo users (password grant on the development client) and integrator clients
    (client-credentials), cached until shortly before they expire."""

    def __init__(self, state_dir: Path) -> None:
        settings = read_secrets(state_dir / "idp.env")
        if "MOTCUA_IDP_TOKEN_URL" not in settings:
            raise TokenUnavailable(f"no identity provider settings in {state_dir}: start it with `make idp`")
        self.issuer = settings["MOTCUA_OIDC_ISSUER"]
        self.audience = settings["MOTCUA_OIDC_AUDIENCE"]
        self.token_url = settings["MOTCUA_IDP_TOKEN_URL"]
        self.secrets = read_secrets(state_dir / "secrets.env")
        self._cache: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()

    def for_user(self, username: str) -> str:
        password = self.secrets.get(password_key(username))
        if password is None:
            raise TokenUnavailable(f"{username} is not a demo user of this identity provider")
        return self._token(f"user:{username}", {"grant_type": "password", "client_id": DEV_CLIENT_ID,
                                                "username": username, "password": password, "scope": "openid"})

    def for_client(self, client_id: str) -> str:
        secret = self.secrets.get(client_secret_key(client_id))
        if secret is None:
            raise TokenUnavailable(f"{client_id} is not an integrator client of this identity provider")
        return self._token(f"client:{client_id}", {"grant_type": "client_credentials", "client_id": client_id,
                                                   "client_secret": secret})

    def _token(self, key: str, form: dict[str, str]) -> str:
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None and cached[1] - _RENEW_BEFORE_SECONDS > time.monotonic():
                return cached[0]
        request = urllib.request.Request(self.token_url, data=urllib.parse.urlencode(form).encode())
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 (the configured IdP)
                answer = json.loads(response.read())
        except urllib.error.HTTPError as error:
            raise TokenUnavailable(f"the identity provider refused a token for {key} ({error.code})") from None
        except OSError as error:
            raise TokenUnavailable(f"the identity provider did not answer ({type(error).__name__})") from None
        token = answer["access_token"]
        with self._lock:
            self._cache[key] = (token, time.monotonic() + float(answer.get("expires_in", 60)))
        return token


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Print an access token from the local identity provider.")
    parser.add_argument("username", nargs="?", help="a demo user of identities.yaml (e.g. canbo01)")
    parser.add_argument("--client", help="an integrator client of identities.yaml (client-credentials)")
    parser.add_argument("--province", default="quang-tri")
    args = parser.parse_args(argv)
    if bool(args.username) == bool(args.client):
        parser.error("give a username or --client, not both")
    # The clone's .local/idp, wherever the command is run from (the package is installed from the clone).
    state = Path(".local/idp") / args.province
    if not state.exists():
        state = Path(__file__).resolve().parents[5] / ".local/idp" / args.province
    try:
        tokens = DevTokens(state)
        print(tokens.for_client(args.client) if args.client else tokens.for_user(args.username))
    except TokenUnavailable as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
