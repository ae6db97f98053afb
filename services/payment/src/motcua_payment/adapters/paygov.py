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
from datetime import datetime, timedelta
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
