"""A stand-in for a brandname SMS gateway or Zalo's ZNS API: it accepts sends, deduplicates them on the
client's reference (a resend answers the first message id), rate-limits (HTTP 429 with Retry-After),
and calls delivery receipts back, signed (delivered / temporary failure / permanent failure); told to,
it fails, rejects, delays, duplicates or holds. Standard library only; imports nothing from the
platform, on purpose: an adapter bug cannot hide in code shared with its stand-in. The protocols and
their sources are in README.md beside this file.
"""
from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import math
import threading
import time
import unicodedata
import urllib.error
import urllib.request
from collections import deque
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SMS, ZNS = "sms", "zns"
RECEIPT_STATUSES = ("delivered", "temporary_failure", "permanent_failure")
SIGNATURE_HEADER = "X-Sandbox-Signature"
MAX_REFERENCE = 64


def sign(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def _is_ascii(text: str) -> bool:
    return all(ord(c) < 128 for c in text)


def _segments(text: str) -> int:
    """Rough billing count (the adapter counts GSM-7 exactly): 160/153 ASCII, 70/67 otherwise."""
    single, part, units = (160, 153, len(text)) if _is_ascii(text) else (70, 67, len(text.encode("utf-16-le")) // 2)
    return 1 if units <= single else math.ceil(units / part)


class Refused(Exception):
    def __init__(self, http_status: int, body: dict, headers: dict | None = None) -> None:
        self.http_status, self.body, self.headers = http_status, body, headers or {}
        super().__init__(body)


class Gateway:
    """Accepted messages, pending faults, the rate window and every receipt attempt (for tests)."""

    def __init__(self, protocol: str, secret: str, callback_url: str, api_key: str, rate_limit: int,
                 rate_window: float, ascii_only: bool, retry_seconds: float, max_attempts: int) -> None:
        self.protocol = protocol
        self.secret = secret
        self.callback_url = callback_url
        self.api_key = api_key
        self.rate_limit, self.rate_window = rate_limit, rate_window
        self.ascii_only = ascii_only
        self.retry_seconds, self.max_attempts = retry_seconds, max_attempts
        self.lock = threading.Lock()
        self.numbers = itertools.count(1)
        self.messages: dict[str, dict] = {}  # by the client's reference
        self.window: deque[float] = deque()
        self.faults: dict = {}
        self.held: list[dict] = []
        self.attempts: list[dict] = []

    # -- sending ----------------------------------------------------------------------------------
    def accept(self, reference: str, record: dict) -> tuple[dict, bool]:
        """The message under `reference` (the first one when it was already accepted) and whether it is new."""
        if not reference or len(reference) > MAX_REFERENCE:
            raise Refused(400, self._error("INVALID_REFERENCE", f"a reference of 1-{MAX_REFERENCE} characters"))
        with self.lock:
            earlier = self.messages.get(reference)
            if earlier is not None:
                return earlier, False
            now = time.monotonic()
            while self.window and self.window[0] <= now - self.rate_window:
                self.window.popleft()
            if self.rate_limit and len(self.window) >= self.rate_limit:
                wait = max(1, math.ceil(self.window[0] + self.rate_window - now))
                raise Refused(429, self._error("RATE_LIMITED", "too many messages"), {"Retry-After": str(wait)})
            if self.faults.get("fail_sends", 0) > 0:
                self.faults["fail_sends"] -= 1
                raise Refused(503, self._error("UNAVAILABLE", "told to fail"))
            if self.faults.get("reject_sends", 0) > 0:
                self.faults["reject_sends"] -= 1
                raise Refused(400, self._error("INVALID_RECIPIENT", "told to reject"))
            self.window.append(now)
            number = next(self.numbers)
            outcomes = self.faults.get("receipts") or []
            outcome = outcomes.pop(0) if outcomes else "delivered"
            message = {**record, "reference": reference, "message_id": f"{self.protocol.upper()}{number:08d}",
                       "accepted_at": datetime.now(timezone.utc).isoformat(), "receipt": outcome}
            self.messages[reference] = message
            faults = {k: self.faults.get(k) for k in ("receipt_delay_seconds", "duplicate_receipts", "hold_receipts")}
        self._receipt(message, faults)
        return message, True

    def _error(self, code: str, text: str) -> dict:
        return {"code": code, "message": text} if self.protocol == SMS else {"error": -1, "message": f"{code}: {text}"}

    # -- receipts ---------------------------------------------------------------------------------
    def _receipt(self, message: dict, faults: dict) -> None:
        status = message["receipt"]
        body = {"reference": message["reference"], "message_id": message["message_id"], "status": status,
                "reason": {"delivered": "", "temporary_failure": "handset unreachable",
                           "permanent_failure": "number not in service"}[status],
                "at": datetime.now(timezone.utc).isoformat()}
        if faults.get("hold_receipts"):
            with self.lock:
                self.held.append(body)
            return
        copies = 1 + int(faults.get("duplicate_receipts") or 0)
        delay = float(faults.get("receipt_delay_seconds") or 0)
        for _ in range(copies):
            threading.Thread(target=self._deliver, args=(body, delay), daemon=True).start()

    def release(self) -> int:
        with self.lock:
            held, self.held = self.held, []
        for body in reversed(held):  # newest first: out of order
            threading.Thread(target=self._deliver, args=(body, 0.0), daemon=True).start()
        return len(held)

    def _deliver(self, body: dict, delay: float) -> None:
        if delay:
            time.sleep(delay)  # a receipt that arrives late, on request
        raw = json.dumps(body).encode("utf-8")
        for attempt in range(1, self.max_attempts + 1):
            request = urllib.request.Request(self.callback_url, data=raw, method="POST", headers={
                "Content-Type": "application/json", SIGNATURE_HEADER: sign(self.secret, raw)})
            try:
                with urllib.request.urlopen(request, timeout=10) as answer:
                    status = answer.status
            except urllib.error.HTTPError as error:
                status = error.code
            except OSError:
                status = 0  # the platform's edge is down: try again
            with self.lock:
                self.attempts.append({"reference": body["reference"], "status": body["status"], "attempt": attempt,
                                      "http_status": status})
            if 200 <= status < 300:
                return
            time.sleep(self.retry_seconds)


def _read_json(handler: BaseHTTPRequestHandler) -> dict:
    length = int(handler.headers.get("Content-Length") or 0)
    try:
        data = json.loads(handler.rfile.read(length) or b"{}")
    except ValueError:
        raise Refused(400, {"code": "BAD_JSON", "message": "the body is not JSON"}) from None
    if not isinstance(data, dict):
        raise Refused(400, {"code": "BAD_JSON", "message": "the body is not a JSON object"})
    return data


def _sms_send(gateway: Gateway, handler: BaseHTTPRequestHandler) -> dict:
    """POST /sms/send: a brandname customer-care SMS."""
    data = _read_json(handler)
    if data.get("api_key") != gateway.api_key:
        raise Refused(401, {"code": "UNAUTHORIZED", "message": "wrong api_key"})
    phone, content = str(data.get("phone", "")), str(data.get("content", ""))
    if not (phone.isdigit() and 9 <= len(phone) <= 12):
        raise Refused(400, {"code": "INVALID_PHONE", "message": "phone must be 9-12 digits"})
    if not content or not data.get("template_id") or not data.get("brandname"):
        raise Refused(400, {"code": "MISSING_FIELD", "message": "brandname, template_id and content are required"})
    if gateway.ascii_only and not _is_ascii(content):
        bad = next(c for c in content if ord(c) >= 128)
        raise Refused(400, {"code": "UNICODE_NOT_ALLOWED", "message": f"{bad!r} ({unicodedata.name(bad, '?')})"})
    message, new = gateway.accept(str(data.get("request_id", "")), {
        "phone": phone, "content": content, "template_id": data["template_id"], "brandname": data["brandname"],
        "params": data.get("params") or {}, "segments": _segments(content)})
    return {"code": "00", "message": "accepted", "message_id": message["message_id"],
            "segments": message["segments"], "duplicate": not new}


def _zns_send(gateway: Gateway, handler: BaseHTTPRequestHandler) -> dict:
    """POST /message/template: a ZNS template message (Zalo's shape)."""
    if handler.headers.get("access_token") != gateway.api_key:
        raise Refused(200, {"error": -124, "message": "Access token is invalid"})
    data = _read_json(handler)
    phone = str(data.get("phone", ""))
    if not (phone.startswith("84") and phone.isdigit() and 11 <= len(phone) <= 12):
        raise Refused(200, {"error": -108, "message": "Phone number is invalid"})
    if not data.get("template_id") or not isinstance(data.get("template_data"), dict):
        raise Refused(200, {"error": -109, "message": "template_id and template_data are required"})
    message, new = gateway.accept(str(data.get("tracking_id", "")), {
        "phone": phone, "template_id": str(data["template_id"]), "params": data["template_data"]})
    return {"error": 0, "message": "Success", "data": {"msg_id": message["message_id"],
                                                       "sent_time": message["accepted_at"], "duplicate": not new}}


def make_server(port: int, gateway: Gateway, host: str = "127.0.0.1") -> ThreadingHTTPServer:
    send = (_sms_send, "/sms/send") if gateway.protocol == SMS else (_zns_send, "/message/template")

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def _answer(self, status: int, body: object, headers: dict | None = None) -> None:
            raw = json.dumps(body, ensure_ascii=False).encode("utf-8")
            self.send_response(status)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def do_GET(self) -> None:  # noqa: N802
            if self.path == "/health":
                self._answer(200, {"status": "ok", "protocol": gateway.protocol})
            elif self.path == "/sandbox/messages":
                with gateway.lock:
                    self._answer(200, list(gateway.messages.values()))
            elif self.path == "/sandbox/receipts":
                with gateway.lock:
                    self._answer(200, list(gateway.attempts))
            else:
                self._answer(404, {"code": "NOT_FOUND"})

        def do_POST(self) -> None:  # noqa: N802
            try:
                if self.path == send[1]:
                    answer = send[0](gateway, self)
                    with gateway.lock:
                        delay = float(gateway.faults.get("answer_delay_seconds") or 0)
                    if delay:
                        time.sleep(delay)  # a slow gateway: accepted (and kept) before it answers
                    self._answer(200, answer)
                elif self.path == "/sandbox/faults":
                    faults = _read_json(self)
                    bad = [s for s in faults.get("receipts") or [] if s not in RECEIPT_STATUSES]
                    if bad:
                        raise Refused(400, {"code": "BAD_FAULT", "message": f"receipts must be in {RECEIPT_STATUSES}"})
                    with gateway.lock:
                        gateway.faults = faults
                    self._answer(200, faults)
                elif self.path == "/sandbox/release":
                    self._answer(200, {"released": gateway.release()})
                else:
                    self._answer(404, {"code": "NOT_FOUND"})
            except Refused as refused:
                self._answer(refused.http_status, refused.body, refused.headers)

    return ThreadingHTTPServer((host, port), Handler)
