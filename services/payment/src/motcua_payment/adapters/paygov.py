"""The PayGov-style gateway protocol: the redirect that sends the applicant to pay, and the verifier
of the gateway's signed callback. Sources and assumptions are listed in services/payment/README.md.

Sourced (OpenCPS's PayGov integration, VietOpenCPS/opencps-v2, PayGateTerm and
PayGateIntegrationActionImpl): the callback's field names (orderId, amount, orderInfo, requestCode,
transactionNo, payDate, paygate, errorCode, type, transactionCode, checksum), "00" as success, the
request checksum SHA-256(secretKey + accessKey + partnerCode + orderId + requestCode + amount) in
hex, and the answer to a callback, {"error_code": "SUCCESSFUL" | "FAILED", "error_message": ...}.
Assumed (OpenCPS sends the callback to a provincial web service to check and shows no formula):
the callback checksum is HMAC-SHA256 with the shared secret over CALLBACK_SIGNED joined by "|".
"""
from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Mapping
from urllib.parse import urlencode

from motcua_common.province.working_calendar import VIETNAM_TZ

from motcua_payment.domain.invoice import ONLINE_FLAG_NATIONAL, GatewayResult

SUCCESS = "00"
CALLBACK_SIGNED = ("orderId", "amount", "errorCode", "transactionNo", "payDate", "requestCode", "orderInfo",
                   "paygate", "type", "transactionCode")
CALLBACK_REQUIRED = ("orderId", "amount", "errorCode", "transactionNo", "payDate", "checksum")
PAY_DATE_FORMAT = "%Y%m%d%H%M%S"
# A callback dated further ahead than this is refused (the gateway's clock and ours differ a little).
CLOCK_SKEW = timedelta(minutes=5)
_AMOUNT = re.compile(r"^[1-9][0-9]{0,12}$")
_CODE = re.compile(r"^[0-9A-Za-z]{1,8}$")
_PAY_DATE = re.compile(r"^[0-9]{14}$")
_HEX64 = re.compile(r"^[0-9a-fA-F]{64}$")
MAX_TEXT = 255


@dataclass(frozen=True)
class PayGovConfig:
    gateway_url: str  # the payment page the applicant is sent to
    partner_code: str
    access_key: str
    secret_key: str = ""  # never a default in code: bootstrap reads it from a secret file
    online_flag: int = ONLINE_FLAG_NATIONAL  # how the national portal counts payments made here

    def __post_init__(self) -> None:
        if not self.secret_key:
            raise ValueError("the PayGov secret key is required (from a secret file, never from code)")


class CallbackRefused(Exception):
    """A callback not to record: `reason` is one of the codes below, `field` the field at fault."""

    def __init__(self, reason: str, field: str, description: str) -> None:
        self.reason = reason
        self.field = field
        super().__init__(f"{reason} ({field}): {description}")


MISSING_FIELD, MALFORMED_FIELD, BAD_CHECKSUM, PAY_DATE_IN_FUTURE = (
    "MISSING_FIELD", "MALFORMED_FIELD", "BAD_CHECKSUM", "PAY_DATE_IN_FUTURE")


def request_checksum(config: PayGovConfig, order_id: str, request_code: str, amount_vnd: int) -> str:
    text = config.secret_key + config.access_key + config.partner_code + order_id + request_code + str(amount_vnd)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def redirect_url(config: PayGovConfig, order_id: str, amount_vnd: int, request_code: str, order_info: str,
                 return_url: str) -> str:
    """Where to send the applicant's browser to pay `amount_vnd` for `order_id`."""
    if isinstance(amount_vnd, bool) or not isinstance(amount_vnd, int) or amount_vnd <= 0:
        raise ValueError("amount_vnd must be a whole number of đồng above 0")
    query = {
        "partnerCode": config.partner_code, "accessKey": config.access_key, "requestCode": request_code,
        "orderId": order_id, "amount": str(amount_vnd), "orderInfo": order_info, "returnUrl": return_url,
        "checksum": request_checksum(config, order_id, request_code, amount_vnd),
    }
    separator = "&" if "?" in config.gateway_url else "?"
    return config.gateway_url + separator + urlencode(query)


def callback_checksum(secret_key: str, fields: Mapping[str, str]) -> str:
    message = "|".join(str(fields.get(name, "")) for name in CALLBACK_SIGNED)
    return hmac.new(secret_key.encode("utf-8"), message.encode("utf-8"), hashlib.sha256).hexdigest()


def verify_callback(config: PayGovConfig, fields: Mapping[str, object], now: datetime) -> GatewayResult:
    """The callback's statement once its checksum holds; CallbackRefused naming the reason otherwise.
    Whether the amount is the invoice's, and whether it was told before, is the invoice's to decide."""
    fields = {name: _text(name, value) for name, value in fields.items()}
    for name in CALLBACK_REQUIRED:
        if not fields.get(name):
            raise CallbackRefused(MISSING_FIELD, name, "is required")
    if not _HEX64.match(fields["checksum"]):
        raise CallbackRefused(MALFORMED_FIELD, "checksum", "must be 64 hexadecimal digits")
    expected = callback_checksum(config.secret_key, fields)
    if not hmac.compare_digest(expected.encode(), fields["checksum"].lower().encode()):
        raise CallbackRefused(BAD_CHECKSUM, "checksum", "does not match the fields and the shared secret")
    if not _AMOUNT.match(fields["amount"]):
        raise CallbackRefused(MALFORMED_FIELD, "amount", "must be a whole number of đồng above 0")
    if not _CODE.match(fields["errorCode"]):
        raise CallbackRefused(MALFORMED_FIELD, "errorCode", "must be 1-8 letters or digits")
    paid_at = parse_pay_date(fields["payDate"])
    if paid_at > now + CLOCK_SKEW:
        raise CallbackRefused(PAY_DATE_IN_FUTURE, "payDate", "is later than now")
    return GatewayResult(order_id=fields["orderId"], amount_vnd=int(fields["amount"]),
                         succeeded=fields["errorCode"] == SUCCESS, error_code=fields["errorCode"],
                         transaction_no=fields["transactionNo"], paid_at=paid_at, online_flag=config.online_flag)


def _text(name: object, value: object) -> str:
    """A field as text: JSON callbacks may carry numbers (OpenCPS read `amount` as an int)."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(name, str) or not isinstance(value, str) or len(value) > MAX_TEXT or not value.isprintable():
        raise CallbackRefused(MALFORMED_FIELD, str(name)[:40], f"must be at most {MAX_TEXT} printable characters")
    return value


def parse_pay_date(value: str) -> datetime:
    """`payDate` is yyyyMMddHHmmss in Vietnam time."""
    try:
        if not _PAY_DATE.match(value):
            raise ValueError(value)
        return datetime.strptime(value, PAY_DATE_FORMAT).replace(tzinfo=VIETNAM_TZ)
    except ValueError:
        raise CallbackRefused(MALFORMED_FIELD, "payDate", "must be yyyyMMddHHmmss in Vietnam time") from None


def format_pay_date(at: datetime) -> str:
    return at.astimezone(VIETNAM_TZ).strftime(PAY_DATE_FORMAT)


def answer(recorded: bool, message: str = "") -> dict[str, str]:
    """What the gateway is told: SUCCESSFUL stops its retries (recorded now or before), FAILED does not."""
    return {"error_code": "SUCCESSFUL" if recorded else "FAILED", "error_message": message}


# -- the transaction query and the daily statement (reconciliation) -------------------------------
# Assumed, like the callback checksum (OpenCPS shows neither): `POST <gateway>/query` with a JSON
# object {partnerCode, accessKey, orderId, checksum = hex SHA-256(secretKey + accessKey + partnerCode +
# orderId)} answers the order's transaction as the callback's fields, signed as a callback is (200),
# or 404 when the payer never confirmed a payment; `GET <gateway>/statement?date=yyyyMMdd` is the CSV
# `transactionNo,orderId,amount,payDate,paygate` of the day's successful payments (Vietnam time).
# Both live beside the payment page: their URLs are the gateway URL's with the path replaced.
QUERY_TIMEOUT_SECONDS = 10.0
STATEMENT_HEADER = ("transactionNo", "orderId", "amount", "payDate", "paygate")


class GatewayUnavailable(Exception):
    """The gateway did not answer as its protocol says (network, status, body): try again later."""


def query_checksum(config: PayGovConfig, order_id: str) -> str:
    text = config.secret_key + config.access_key + config.partner_code + order_id
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def gateway_endpoint(config: PayGovConfig, path: str) -> str:
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(config.gateway_url)
    return urlunsplit((parts.scheme, parts.netloc, path, "", ""))


def parse_statement(text: str) -> list:
    """The statement's lines (domain.reconciliation.StatementLine); MALFORMED refusals name the line."""
    import csv
    import io

    from motcua_payment.domain.reconciliation import StatementLine

    rows = list(csv.reader(io.StringIO(text)))
    if not rows or tuple(cell.strip() for cell in rows[0]) != STATEMENT_HEADER:
        raise CallbackRefused(MALFORMED_FIELD, "statement", f"must start with {','.join(STATEMENT_HEADER)}")
    lines = []
    for number, row in enumerate(rows[1:], start=2):
        if not row or not "".join(row).strip():
            continue
        if len(row) != len(STATEMENT_HEADER):
            raise CallbackRefused(MALFORMED_FIELD, f"statement line {number}", "has the wrong number of fields")
        transaction_no, order_id, amount, pay_date = (cell.strip() for cell in row[:4])
        if not transaction_no or not order_id or len(transaction_no) > MAX_TEXT or len(order_id) > MAX_TEXT:
            raise CallbackRefused(MALFORMED_FIELD, f"statement line {number}", "needs transactionNo and orderId")
        if not _AMOUNT.match(amount):
            raise CallbackRefused(MALFORMED_FIELD, f"statement line {number}", "amount must be whole đồng above 0")
        lines.append(StatementLine(transaction_no, order_id, int(amount), parse_pay_date(pay_date)))
    return lines


class PayGovClient:
    """What payment asks the gateway (its transaction query and its daily statement) over HTTP."""

    def __init__(self, config: PayGovConfig, timeout: float = QUERY_TIMEOUT_SECONDS) -> None:
        self.config = config
        self.timeout = timeout

    def query(self, order_id: str, now: datetime) -> GatewayResult | None:
        """The gateway's verified word on `order_id`; None when it knows no payment for it."""
        import json
        import urllib.error
        import urllib.request

        body = json.dumps({"partnerCode": self.config.partner_code, "accessKey": self.config.access_key,
                           "orderId": order_id, "checksum": query_checksum(self.config, order_id)}).encode()
        request = urllib.request.Request(gateway_endpoint(self.config, "/query"), data=body, method="POST",
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                fields = json.loads(response.read())
        except urllib.error.HTTPError as error:
            if error.code == 404:
                return None
            raise GatewayUnavailable(f"query answered HTTP {error.code}") from None
        except (OSError, ValueError) as error:
            raise GatewayUnavailable(f"query failed: {type(error).__name__}") from None
        if not isinstance(fields, dict):
            raise GatewayUnavailable("query answered no JSON object")
        result = verify_callback(self.config, fields, now)  # CallbackRefused: a forged or broken answer
        if result.order_id != order_id:
            raise CallbackRefused(MALFORMED_FIELD, "orderId", "the answer is about another order")
        return result

    def statement(self, day: date) -> list:
        import urllib.error
        import urllib.request

        url = gateway_endpoint(self.config, "/statement") + f"?date={day:%Y%m%d}"
        try:
            with urllib.request.urlopen(url, timeout=self.timeout) as response:
                text = response.read().decode("utf-8")
        except (OSError, ValueError, UnicodeDecodeError) as error:
            raise GatewayUnavailable(f"statement failed: {type(error).__name__}") from None
        return parse_statement(text)
