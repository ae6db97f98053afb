"""The bank's credit notifications for the collecting account of VietQR codes (a transfer arrived).

A VietQR payment is a local interbank transfer (NAPAS 247) to the province's collecting account:
the payer's banking app reads the dynamic code (domain.vietqr) and sends the amount with the
transfer content, which carries the invoice's bill number (tag 62.01, the invoice's `order_id`).
The bank then notifies the merchant. Notification shape (assumed, modelled on Vietnamese payment
intermediaries' webhooks such as payOS's: a `data` object and a `signature` beside it):

    POST /bank/credit   {"data": {"reference", "accountNumber", "amount", "currency", "description",
                                   "transactionDateTime", "billNumber"?}, "signature": hex}

`signature` = hex HMAC-SHA256(shared secret, "&".join(f"{key}={value}" for the data's keys sorted)).
It is checked before any field is interpreted; the answer is {"code": "00" | "01", "desc": ...}
and anything but 2xx is retried by the bank. infra/sandboxes/bank_sandbox follows the same text.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Mapping

from motcua_common.province.working_calendar import VIETNAM_TZ

MAX_TEXT = 255
MAX_REFERENCE = 64  # what an invoice keeps as a payment's reference (domain.invoice.MAX_REFERENCE)
CLOCK_SKEW = timedelta(minutes=5)
DATE_FORMAT = "%Y-%m-%d %H:%M:%S"
_HEX64 = re.compile(r"^[0-9a-fA-F]{64}$")
_BILL = re.compile(r"HS[0-9A-F]{18}")
REQUIRED = ("reference", "accountNumber", "amount", "description", "transactionDateTime")
MALFORMED_BODY, MISSING_FIELD, MALFORMED_FIELD, BAD_SIGNATURE, WRONG_ACCOUNT, NOT_VND, IN_FUTURE = (
    "MALFORMED_BODY", "MISSING_FIELD", "MALFORMED_FIELD", "BAD_SIGNATURE", "WRONG_ACCOUNT", "NOT_VND",
    "DATE_IN_FUTURE")


@dataclass(frozen=True)
class BankConfig:
    account: str  # the collecting account the VietQR codes name (MOTCUA_VIETQR_ACCOUNT)
    secret_key: str  # shared with the bank (MOTCUA_BANK_SECRET_FILE); never a default in code

    def __post_init__(self) -> None:
        if not self.secret_key:
            raise ValueError("the bank's notification secret is required (from a secret file)")


@dataclass(frozen=True)
class CreditNotice:
    """A verified credit: `bill_number` is "" when the transfer carried none we can read."""

    reference: str
    bill_number: str
    amount_vnd: int
    credited_at: datetime


class CreditRefused(Exception):
    def __init__(self, reason: str, field: str, description: str) -> None:
        self.reason = reason
        self.field = field
        super().__init__(f"{reason} ({field}): {description}")


def signature(secret_key: str, data: Mapping[str, object]) -> str:
    message = "&".join(f"{key}={data[key]}" for key in sorted(data))
    return hmac.new(secret_key.encode("utf-8"), message.encode("utf-8"), hashlib.sha256).hexdigest()


def verify_credit(config: BankConfig, body: bytes, now: datetime) -> CreditNotice:
    """The notification's credit once its signature holds over its data; CreditRefused otherwise."""
    try:
        envelope = json.loads(body)
    except ValueError:
        raise CreditRefused(MALFORMED_BODY, "body", "is not JSON") from None
    if not isinstance(envelope, dict) or not isinstance(envelope.get("data"), dict):
        raise CreditRefused(MALFORMED_BODY, "data", "a JSON object with `data` and `signature` is expected")
    data, signed = envelope["data"], envelope.get("signature")
    if not isinstance(signed, str) or not _HEX64.match(signed):
        raise CreditRefused(MALFORMED_FIELD, "signature", "must be 64 hexadecimal digits")
    if not all(isinstance(k, str) and isinstance(v, (str, int)) and not isinstance(v, bool) for k, v in data.items()):
        raise CreditRefused(MALFORMED_BODY, "data", "holds text and whole numbers only")
    if not hmac.compare_digest(signature(config.secret_key, data).encode(), signed.lower().encode()):
        raise CreditRefused(BAD_SIGNATURE, "signature", "does not match the data and the shared secret")
    # signed by the bank: now its fields are read
    fields = {k: str(v) for k, v in data.items()}
    for name in REQUIRED:
        if not fields.get(name):
            raise CreditRefused(MISSING_FIELD, name, "is required")
    for name, value in fields.items():
        if len(value) > MAX_TEXT or not value.isprintable():
            raise CreditRefused(MALFORMED_FIELD, name[:40], f"must be at most {MAX_TEXT} printable characters")
    if len(fields["reference"]) > MAX_REFERENCE:
        raise CreditRefused(MALFORMED_FIELD, "reference", f"must be at most {MAX_REFERENCE} characters")
    if fields["accountNumber"] != config.account:
        raise CreditRefused(WRONG_ACCOUNT, "accountNumber", "is not the collecting account")
    if fields.get("currency", "VND") not in ("VND", "704"):
        raise CreditRefused(NOT_VND, "currency", "only đồng are collected")
    if not re.fullmatch(r"[1-9][0-9]{0,12}", fields["amount"]):
        raise CreditRefused(MALFORMED_FIELD, "amount", "must be a whole number of đồng above 0")
    try:
        credited_at = datetime.strptime(fields["transactionDateTime"], DATE_FORMAT).replace(tzinfo=VIETNAM_TZ)
    except ValueError:
        raise CreditRefused(MALFORMED_FIELD, "transactionDateTime", "must be yyyy-MM-dd HH:mm:ss, Vietnam time") from None
    if credited_at > now + CLOCK_SKEW:
        raise CreditRefused(IN_FUTURE, "transactionDateTime", "is later than now")
    return CreditNotice(fields["reference"], bill_number(fields.get("billNumber", ""), fields["description"]),
                        int(fields["amount"]), credited_at)


def bill_number(given: str, description: str) -> str:
    """The invoice's reference: the bank's bill number field, else the first one in the transfer's
    content (banks upper-case it and may drop separators around it); "" when there is none."""
    for text in (given, description):
        found = _BILL.search(text.upper())
        if found:
            return found.group(0)
    return ""


def answer(accepted: bool, description: str = "") -> dict[str, str]:
    return {"code": "00" if accepted else "01", "desc": description or ("OK" if accepted else "refused")}
