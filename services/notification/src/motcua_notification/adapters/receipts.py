"""Delivery receipts the SMS and ZNS gateways call back: verified (HMAC-SHA256 of the raw body with the
shared secret, in the X-Sandbox-Signature header, as the sandbox signs them) before anything is read."""
from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime

from motcua_notification.domain.message import RECEIPTS
from motcua_notification.ports import Receipt

SIGNATURE_HEADER = "X-Sandbox-Signature"


class ReceiptRefused(Exception):
    """A callback that is not a verified receipt: nothing may be recorded from it."""


def parse_receipt(body: bytes, signature: str, secret: str) -> Receipt:
    expected = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, signature or ""):
        raise ReceiptRefused("bad signature")
    try:
        data = json.loads(body)
        receipt = Receipt(str(data["reference"]), str(data.get("message_id", "")), str(data["status"]),
                          str(data.get("reason", "")), datetime.fromisoformat(data["at"]))
    except (ValueError, KeyError, TypeError) as error:
        raise ReceiptRefused(f"not a receipt: {error}") from error
    if receipt.outcome not in RECEIPTS:
        raise ReceiptRefused(f"unknown status {receipt.outcome!r}")
    return receipt
