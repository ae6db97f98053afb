"""A stand-in for the bank that keeps the province's collecting account: a payer's transfer (what a
banking app sends after reading a VietQR code) arrives, and the bank posts a signed credit
notification to the merchant, retried until it answers 2xx (duplicated, tampered or dropped on
request). Standard library only; imports nothing from the platform, on purpose: an adapter bug
cannot hide in code shared with its stand-in. The protocol and its sources are in README.md.
"""
from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import threading
import time
import urllib.error
import urllib.request
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

VIETNAM = timezone(timedelta(hours=7))


def signature(secret: str, data: dict) -> str:
    message = "&".join(f"{key}={data[key]}" for key in sorted(data))
    return hmac.new(secret.encode("utf-8"), message.encode("utf-8"), hashlib.sha256).hexdigest()


class Bank:
    def __init__(self, secret: str, notify_url: str, account: str, retry_seconds: float, max_attempts: int) -> None:
        self.secret = secret
        self.notify_url = notify_url
        self.account = account
        self.retry_seconds = retry_seconds
        self.max_attempts = max_attempts
        self.lock = threading.Lock()
        self.numbers = itertools.count(1)
        self.faults: dict = {}
        self.attempts: list[dict] = []

    def transfer(self, amount: int, description: str, bill_number: str = "") -> dict:
        """A transfer to the collecting account arrived: notify the merchant (in the background)."""
        with self.lock:
            number = next(self.numbers)
            faults, self.faults = self.faults, {}
        now = datetime.now(VIETNAM)
        data = {"reference": f"FT{now:%y%m%d}{number:06d}", "accountNumber": self.account, "amount": amount,
                "currency": "VND", "description": description,
                "transactionDateTime": now.strftime("%Y-%m-%d %H:%M:%S")}
        if bill_number:
            data["billNumber"] = bill_number
        body = {"data": dict(data), "signature": signature(self.secret, data)}
        if faults.get("tamper"):
            body["data"]["amount"] = amount + 1000  # changed after signing, as an attacker would
        if not faults.get("drop"):
            copies = max(1, int(faults.get("duplicate", 1)))
            threads = [threading.Thread(target=self._deliver, args=(body,), daemon=True) for _ in range(copies)]
            for t in threads:
                t.start()
        return data

    def _deliver(self, body: dict) -> None:
        for attempt in range(1, self.max_attempts + 1):
            record = {"reference": body["data"]["reference"], "attempt": attempt, "status": 0, "answer": None}
            request = urllib.request.Request(self.notify_url, data=json.dumps(body).encode(), method="POST",
                                             headers={"Content-Type": "application/json"})
            try:
                with urllib.request.urlopen(request, timeout=10) as response:
                    record["status"] = response.status
                    record["answer"] = json.loads(response.read() or b"null")
            except urllib.error.HTTPError as error:
                record["status"] = error.code
                try:
                    record["answer"] = json.loads(error.read() or b"null")
                except ValueError:
                    pass
            except (OSError, ValueError):
                record["status"] = -2
            with self.lock:
                self.attempts.append(record)
            if 200 <= record["status"] < 300:
                return
            time.sleep(self.retry_seconds)


def handler_for(bank: Bank) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - quiet in tests
            pass

        def _send(self, status: int, value: object) -> None:
            data = json.dumps(value, ensure_ascii=False).encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _json(self) -> dict | None:
            try:
                value = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
            except ValueError:
                return None
            return value if isinstance(value, dict) else None

        def do_GET(self) -> None:  # noqa: N802
            path = urlsplit(self.path).path
            if path == "/health":
                return self._send(200, {"status": "ok"})
            if path == "/sandbox/attempts":
                with bank.lock:
                    return self._send(200, list(bank.attempts))
            self._send(404, {"error": "not found"})

        def do_POST(self) -> None:  # noqa: N802
            path = urlsplit(self.path).path
            asked = self._json()
            if asked is None:
                return self._send(400, {"error": "a JSON object is expected"})
            if path == "/transfer":
                amount = asked.get("amount")
                if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
                    return self._send(400, {"error": "amount must be a whole number of đồng above 0"})
                description = str(asked.get("description", ""))[:210]
                return self._send(200, bank.transfer(amount, description, str(asked.get("billNumber", ""))))
            if path == "/sandbox/faults":
                with bank.lock:
                    bank.faults = {k: asked[k] for k in ("duplicate", "tamper", "drop") if k in asked}
                return self._send(200, {"faults": bank.faults})
            self._send(404, {"error": "not found"})

    return Handler


def make_server(port: int, bank: Bank, host: str = "127.0.0.1") -> ThreadingHTTPServer:
    server = ThreadingHTTPServer((host, port), handler_for(bank))
    server.daemon_threads = True
    return server
