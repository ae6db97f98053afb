"""python -m messaging_sandbox --protocol sms|zns --port N --secret-file F --callback-url U (from infra/sandboxes)."""
from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path

from messaging_sandbox.server import SMS, ZNS, Gateway, make_server


def _stop(*_: object) -> None:
    raise KeyboardInterrupt  # SIGTERM ends serve_forever like Ctrl-C


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m messaging_sandbox", description=__doc__)
    parser.add_argument("--protocol", choices=(SMS, ZNS), required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--secret-file", type=Path, required=True, help="the receipt-signing secret, one line")
    parser.add_argument("--callback-url", required=True, help="where delivery receipts go (POST, JSON)")
    parser.add_argument("--api-key", default="SANDBOX-KEY", help="SMS: the api_key field; ZNS: the access_token header")
    parser.add_argument("--rate-limit", type=int, default=0, help="messages per window (0: no limit)")
    parser.add_argument("--rate-window", type=float, default=60.0, help="seconds")
    parser.add_argument("--allow-unicode", action="store_true", help="SMS: accept text with diacritics")
    parser.add_argument("--retry-seconds", type=float, default=5.0, help="wait between receipt attempts")
    parser.add_argument("--max-attempts", type=int, default=5, help="receipt attempts per receipt")
    args = parser.parse_args(argv)
    secret = args.secret_file.read_text(encoding="utf-8").strip()
    if not secret:
        parser.error(f"{args.secret_file} is empty")
    gateway = Gateway(args.protocol, secret, args.callback_url, args.api_key, args.rate_limit, args.rate_window,
                      not args.allow_unicode, args.retry_seconds, args.max_attempts)
    server = make_server(args.port, gateway, args.host)
    signal.signal(signal.SIGTERM, _stop)
    print(f"{args.protocol} sandbox listening on http://{args.host}:{server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
