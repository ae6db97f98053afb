"""Receipts are read only when signed with the shared secret; phone numbers take ZNS's form."""
from __future__ import annotations

import hashlib
import hmac
import json

import pytest

from motcua_notification.adapters.receipts import ReceiptRefused, parse_receipt
from motcua_notification.adapters.zalo_zns import international

SECRET = "bi-mat"


def signed(body: dict) -> tuple[bytes, str]:
    raw = json.dumps(body).encode()
    return raw, hmac.new(SECRET.encode(), raw, hashlib.sha256).hexdigest()


GOOD = {"reference": "r.0", "message_id": "SMS1", "status": "delivered", "at": "2026-12-01T02:00:00+00:00"}


def test_a_signed_receipt_is_read():
    receipt = parse_receipt(*signed(GOOD), SECRET)
    assert (receipt.reference, receipt.provider_message_id, receipt.outcome) == ("r.0", "SMS1", "delivered")


@pytest.mark.parametrize("signature", ["", "0" * 64, "not hex"])
def test_a_receipt_with_a_bad_signature_is_refused(signature):
    with pytest.raises(ReceiptRefused, match="signature"):
        parse_receipt(signed(GOOD)[0], signature, SECRET)


def test_a_receipt_signed_with_another_secret_is_refused():
    raw, _ = signed(GOOD)
    with pytest.raises(ReceiptRefused):
        parse_receipt(raw, hmac.new(b"khac", raw, hashlib.sha256).hexdigest(), SECRET)


@pytest.mark.parametrize("body", [{**GOOD, "status": "read"}, {"reference": "r.0"}, {**GOOD, "at": "yesterday"}])
def test_a_signed_callback_that_is_not_a_receipt_is_refused(body):
    with pytest.raises(ReceiptRefused):
        parse_receipt(*signed(body), SECRET)


@pytest.mark.parametrize(("phone", "expected"), [("0912345678", "84912345678"), ("+84912345678", "84912345678"),
                                                 ("84912345678", "84912345678")])
def test_zns_takes_numbers_with_the_country_code(phone, expected):
    assert international(phone) == expected
