"""python -m bank_sandbox --port N --secret-file F --notify-url U --account A  (run from infra/sandboxes)."""
from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path

from bank_sandbox.server import Bank, make_server


def _stop(*_: object) -> None:
    raise KeyboardInterrupt  # SIGTERM ends serve_forever like Ctrl-C


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bank_sandbox", description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--secret-file", type=Path, required=True, help="the shared secret, one line")
    parser.add_argument("--notify-url", required=True, help="where the merchant takes credit notifications")
    parser.add_argument("--account", required=True, help="the collecting account credited")
    parser.add_argument("--retry-seconds", type=float, default=5.0)
    parser.add_argument("--max-attempts", type=int, default=5)
    args = parser.parse_args(argv)
    secret = args.secret_file.read_text(encoding="utf-8").strip()
    if not secret:
        parser.error(f"{args.secret_file} is empty")
    server = make_server(args.port, Bank(secret, args.notify_url, args.account, args.retry_seconds,
                                         args.max_attempts), args.host)
    signal.signal(signal.SIGTERM, _stop)
    print(f"bank sandbox listening on http://{args.host}:{server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
