"""A stand-in for a PayGov-style payment gateway: a payment page reached by redirect, a signed
callback to the merchant (retried; duplicated, delayed, reordered, failed or tampered on request),
and a daily statement file. Standard library only; imports nothing from the platform, on purpose:
an adapter bug cannot hide in code shared with its stand-in. The protocol and its sources are in
README.md beside this file.
"""
from __future__ import annotations

import hashlib
import hmac
import html
import itertools
import json
import threading
import time
import urllib.error
import urllib.request
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

VIETNAM = timezone(timedelta(hours=7))
SIGNED = ("orderId", "amount", "errorCode", "transactionNo", "payDate", "requestCode", "orderInfo", "paygate",
          "type", "transactionCode")
CANCELLED_BY_PAYER = "24"  # the payer left the payment page without paying


def request_checksum(secret: str, access_key: str, partner_code: str, order_id: str, request_code: str,
                     amount: str) -> str:
    return hashlib.sha256((secret + access_key + partner_code + order_id + request_code + amount)
                          .encode("utf-8")).hexdigest()


def callback_checksum(secret: str, fields: dict) -> str:
    message = "|".join(str(fields.get(name, "")) for name in SIGNED)
    return hmac.new(secret.encode("utf-8"), message.encode("utf-8"), hashlib.sha256).hexdigest()


class Gateway:
    """The gateway's state: transactions, pending faults and every callback attempt (for tests)."""

    def __init__(self, secret: str, callback_url: str, partner_code: str, access_key: str,
                 retry_seconds: float, max_attempts: int) -> None:
        self.secret = secret
        self.callback_url = callback_url
        self.partner_code = partner_code
        self.access_key = access_key
        self.retry_seconds = retry_seconds
        self.max_attempts = max_attempts
        self.lock = threading.Lock()
        self.numbers = itertools.count(1)
        self.transactions: list[dict] = []
        self.attempts: list[dict] = []
        self.faults: dict = {}
        self.held: list[dict] = []
        self.statement_extra: list[dict] = []
        self.statement_omit: set[str] = set()
        self.statement_amount: dict[str, str] = {}  # transactionNo -> the amount its statement line shows

    # -- payments ---------------------------------------------------------------------------------
    def pay(self, order_id: str, amount: str, request_code: str, order_info: str, succeeded: bool) -> dict:
        with self.lock:
            number = next(self.numbers)
            faults, self.faults = self.faults, {}
        now = datetime.now(VIETNAM)
        fields = {"orderId": order_id, "amount": amount, "errorCode": "00" if succeeded else CANCELLED_BY_PAYER,
                  "transactionNo": f"SBX{now:%Y%m%d}{number:06d}", "payDate": now.strftime("%Y%m%d%H%M%S"),
                  "requestCode": request_code, "orderInfo": order_info, "paygate": "SANDBOX", "type": "1",
                  "transactionCode": f"TC{number:06d}"}
        fields["checksum"] = callback_checksum(self.secret, fields)
        with self.lock:
            self.transactions.append(dict(fields))
        sent = dict(fields)
        if faults.get("tamper"):
            sent["amount"] = str(int(amount) + 1000)  # changed after signing, as an attacker would
        if faults.get("drop_callback"):
            pass  # the callback is lost on the way: only a transaction query (POST /query) tells the merchant
        elif faults.get("reorder"):
            with self.lock:
                self.held.append(sent)
        else:
            self._dispatch(sent, faults)
        return fields

    def release(self) -> int:
        """Deliver held callbacks newest first (out of order)."""
        with self.lock:
            held, self.held = self.held[::-1], []
        for fields in held:
            self._deliver(fields, 0)
        return len(held)

    def _dispatch(self, fields: dict, faults: dict) -> None:
        copies = max(1, int(faults.get("duplicate", 1)))
        delay = float(faults.get("delay_seconds", 0))
        fail_first = int(faults.get("fail_first", 0))

        def run() -> None:
            if delay:
                time.sleep(delay)
            if faults.get("concurrent", True):
                threads = [threading.Thread(target=self._deliver, args=(fields, fail_first)) for _ in range(copies)]
                for t in threads:
                    t.start()
                for t in threads:
                    t.join()
            else:
                for _ in range(copies):
                    self._deliver(fields, fail_first)

        threading.Thread(target=run, daemon=True).start()

    def _deliver(self, fields: dict, fail_first: int) -> None:
        """POST the callback (JSON) until the merchant answers SUCCESSFUL or attempts run out."""
        for attempt in range(1, self.max_attempts + 1):
            record = {"transactionNo": fields["transactionNo"], "attempt": attempt, "status": 0, "answer": None}
            if attempt <= fail_first:
                record["status"] = -1  # dropped on the way, on purpose
            else:
                request = urllib.request.Request(self.callback_url, data=json.dumps(fields).encode(),
                                                 headers={"Content-Type": "application/json"}, method="POST")
                try:
                    with urllib.request.urlopen(request, timeout=10) as response:
                        record["status"] = response.status
                        record["answer"] = json.loads(response.read() or b"null")
                except urllib.error.HTTPError as error:
                    record["status"] = error.code
                except (OSError, ValueError):
                    record["status"] = -2
            with self.lock:
                self.attempts.append(record)
            answer = record["answer"]
            if isinstance(answer, dict) and answer.get("error_code") == "SUCCESSFUL":
                return
            time.sleep(self.retry_seconds)

    # -- the daily statement ----------------------------------------------------------------------
    def statement(self, day: str) -> str:
        """Successful transactions paid on `day` (yyyyMMdd, Vietnam time), as CSV."""
        with self.lock:
            lines = [t for t in self.transactions + self.statement_extra
                     if t["errorCode"] == "00" and t["payDate"].startswith(day)
                     and t["transactionNo"] not in self.statement_omit]
            amounts = dict(self.statement_amount)
        rows = ["transactionNo,orderId,amount,payDate,paygate"]
        rows += [f"{t['transactionNo']},{t['orderId']},{amounts.get(t['transactionNo'], t['amount'])},"
                 f"{t['payDate']},{t.get('paygate', '')}" for t in lines]
        return "\n".join(rows) + "\n"


    # -- the transaction query ----------------------------------------------------------------------
    def query(self, order_id: str) -> dict | None:
        """What the gateway knows of `order_id`: its successful transaction if there is one, else its
        latest attempt, signed as a callback is; None when the payer never confirmed a payment."""
        with self.lock:
            known = [t for t in self.transactions if t["orderId"] == order_id]
        if not known:
            return None
        succeeded = [t for t in known if t["errorCode"] == "00"]
        return dict((succeeded or known)[-1])


def query_checksum(secret: str, access_key: str, partner_code: str, order_id: str) -> str:
    return hashlib.sha256((secret + access_key + partner_code + order_id).encode("utf-8")).hexdigest()


PAGE = """<!doctype html><html lang="vi"><head><meta charset="utf-8"><title>Cổng thanh toán (thử nghiệm)</title></head>
<body><h1>Cổng thanh toán thử nghiệm</h1><p>Mã đơn hàng: <b>{order}</b></p><p>Số tiền: <b>{amount} đồng</b></p>
<p>Nội dung: {info}</p><form method="post" action="/pay/confirm">{hidden}
<button name="outcome" value="success">Thanh toán</button> <button name="outcome" value="cancel">Hủy</button>
</form></body></html>"""


def handler_for(gateway: Gateway) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - quiet in tests
            pass

        def _send(self, status: int, body: str | bytes, content_type: str = "application/json",
                  headers: dict | None = None) -> None:
            data = body.encode("utf-8") if isinstance(body, str) else body
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)

        def _body(self) -> bytes:
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))

        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            url = urlsplit(self.path)
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            if url.path == "/pay":
                return self._payment_page(query)
            if url.path == "/statement":
                day = query.get("date", "")
                if len(day) != 8 or not day.isdigit():
                    return self._send(400, json.dumps({"error": "date must be yyyyMMdd"}))
                return self._send(200, gateway.statement(day), "text/csv; charset=utf-8",
                                  {"Content-Disposition": f'attachment; filename="statement-{day}.csv"'})
            if url.path == "/sandbox/attempts":
                with gateway.lock:
                    return self._send(200, json.dumps(gateway.attempts))
            if url.path == "/health":
                return self._send(200, json.dumps({"status": "ok"}))
            self._send(404, json.dumps({"error": "not found"}))

        def _payment_page(self, query: dict) -> None:
            needed = ("partnerCode", "accessKey", "requestCode", "orderId", "amount", "returnUrl", "checksum")
            missing = [n for n in needed if not query.get(n)]
            if missing:
                return self._send(400, f"Thiếu tham số: {', '.join(missing)}", "text/plain; charset=utf-8")
            if (query["partnerCode"], query["accessKey"]) != (gateway.partner_code, gateway.access_key):
                return self._send(403, "Mã đối tác không đúng", "text/plain; charset=utf-8")
            expected = request_checksum(gateway.secret, query["accessKey"], query["partnerCode"], query["orderId"],
                                        query["requestCode"], query["amount"])
            if not hmac.compare_digest(expected, query["checksum"]):
                return self._send(403, "Chữ ký không hợp lệ", "text/plain; charset=utf-8")
            keep = ("orderId", "amount", "requestCode", "orderInfo", "returnUrl")
            hidden = "".join(f'<input type="hidden" name="{k}" value="{html.escape(query.get(k, ""))}">' for k in keep)
            self._send(200, PAGE.format(order=html.escape(query["orderId"]), amount=html.escape(query["amount"]),
                                        info=html.escape(query.get("orderInfo", "")), hidden=hidden),
                       "text/html; charset=utf-8")

        def do_POST(self) -> None:  # noqa: N802
            url = urlsplit(self.path)
            if url.path == "/pay/confirm":
                form = {k: v[0] for k, v in parse_qs(self._body().decode("utf-8")).items()}
                if not form.get("orderId") or not form.get("amount", "").isdigit() or not form.get("returnUrl"):
                    return self._send(400, json.dumps({"error": "orderId, amount and returnUrl are required"}))
                fields = gateway.pay(form["orderId"], form["amount"], form.get("requestCode", ""),
                                     form.get("orderInfo", ""), form.get("outcome") == "success")
                separator = "&" if "?" in form["returnUrl"] else "?"
                return self._send(302, "", "text/plain", {"Location": form["returnUrl"] + separator + urlencode(fields)})
            if url.path == "/sandbox/faults":
                try:
                    faults = json.loads(self._body() or b"{}")
                except ValueError:
                    return self._send(400, json.dumps({"error": "a JSON object is expected"}))
                with gateway.lock:
                    gateway.faults = {k: faults[k] for k in ("duplicate", "delay_seconds", "fail_first", "reorder",
                                                             "concurrent", "tamper", "drop_callback") if k in faults}
                    gateway.statement_omit |= set(faults.get("statement_omit", []))
                    gateway.statement_extra += list(faults.get("statement_extra", []))
                    gateway.statement_amount.update({str(k): str(v) for k, v in
                                                     dict(faults.get("statement_amount", {})).items()})
                return self._send(200, json.dumps({"faults": gateway.faults}))
            if url.path == "/query":
                return self._query()
            if url.path == "/sandbox/release":
                return self._send(200, json.dumps({"released": gateway.release()}))
            self._send(404, json.dumps({"error": "not found"}))

        def _query(self) -> None:
            """POST /query {partnerCode, accessKey, orderId, checksum}: the order's transaction, signed."""
            try:
                asked = json.loads(self._body() or b"{}")
            except ValueError:
                asked = None
            if not isinstance(asked, dict) or not all(isinstance(asked.get(n), str) and asked.get(n) for n in
                                                      ("partnerCode", "accessKey", "orderId", "checksum")):
                return self._send(400, json.dumps({"error": "partnerCode, accessKey, orderId and checksum are required"}))
            if (asked["partnerCode"], asked["accessKey"]) != (gateway.partner_code, gateway.access_key):
                return self._send(403, json.dumps({"error": "unknown partner"}))
            expected = query_checksum(gateway.secret, asked["accessKey"], asked["partnerCode"], asked["orderId"])
            if not hmac.compare_digest(expected, asked["checksum"]):
                return self._send(403, json.dumps({"error": "bad checksum"}))
            found = gateway.query(asked["orderId"])
            if found is None:
                return self._send(404, json.dumps({"error": "no transaction for this order", "orderId": asked["orderId"]}))
            return self._send(200, json.dumps(found))

    return Handler


def make_server(port: int, gateway: Gateway, host: str = "127.0.0.1") -> ThreadingHTTPServer:
    server = ThreadingHTTPServer((host, port), handler_for(gateway))
    server.daemon_threads = True
    return server
