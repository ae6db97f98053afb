"""The PayGov-style protocol: the redirect carries the sourced request checksum; a callback is
recorded only when its checksum holds, each refusal says why, and a replayed callback (verified
again) makes no second payment."""
from __future__ import annotations

import hashlib
import hmac
from datetime import date, datetime, timedelta, timezone
from urllib.parse import parse_qs, urlsplit
from uuid import uuid4

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from motcua_common.config.clock import FixedClock
from motcua_common.errors import RuleViolated
from motcua_common.events.context import Actor
from motcua_common.events.in_memory import in_memory_env, own_log

from motcua_payment.adapters.paygov import (BAD_CHECKSUM, CALLBACK_SIGNED, MALFORMED_FIELD, MISSING_FIELD,
                                            PAY_DATE_IN_FUTURE, CallbackRefused, PayGovConfig, answer,
                                            callback_checksum, format_pay_date, redirect_url, verify_callback)
from motcua_payment.application import PaymentApplication
from motcua_payment.domain.fees import FeeBook, FeeItem, FeeSchedule

NOW = datetime(2026, 12, 1, 2, 0, tzinfo=timezone.utc)
SECRET = "bi-mat-dung-chung"
CONFIG = PayGovConfig("https://paygov.example/pay", "QUANGTRI", "ACCESS-1", SECRET)
GATEWAY = Actor.system("payment.paygov-callback")
SCHEDULES = {s.procedure_code: s for s in [
    FeeSchedule("2.000884", "Chứng thực", date(2017, 1, 1), "before_processing", "UBND xã",
                (FeeItem("LE_PHI", "le_phi", "Lệ phí", 10_000, "TT 226/2016"),))]}
BOOK = FeeBook([])


def signed(**overrides: str) -> dict[str, str]:
    fields = {"orderId": "HS0123456789ABCDEF", "amount": "10000", "errorCode": "00", "transactionNo": "PG-991",
              "payDate": "20261201085959", "requestCode": "R1", "orderInfo": "Le phi", "paygate": "VNPAY",
              "type": "1", "transactionCode": "TC-1"}
    fields.update(overrides)
    message = "|".join(fields.get(name, "") for name in CALLBACK_SIGNED)
    fields["checksum"] = hmac.new(SECRET.encode(), message.encode(), hashlib.sha256).hexdigest()
    return fields


def refusal(fields: dict[str, str]) -> CallbackRefused:
    with pytest.raises(CallbackRefused) as refused:
        verify_callback(CONFIG, fields, NOW)
    return refused.value


# -- the redirect ---------------------------------------------------------------------------------
def test_the_redirect_carries_the_order_and_the_sourced_request_checksum():
    url = redirect_url(CONFIG, "HS01", 10_000, "R1", "Lệ phí chứng thực", "https://motcua.example/tra-ve")
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert (parts.scheme, parts.netloc, parts.path) == ("https", "paygov.example", "/pay")
    assert query["orderId"] == "HS01" and query["amount"] == "10000" and query["orderInfo"] == "Lệ phí chứng thực"
    expected = hashlib.sha256((SECRET + "ACCESS-1" + "QUANGTRI" + "HS01" + "R1" + "10000").encode()).hexdigest()
    assert query["checksum"] == expected


def test_no_redirect_for_a_non_positive_amount_and_no_config_without_a_secret():
    with pytest.raises(ValueError):
        redirect_url(CONFIG, "HS01", 0, "R1", "x", "https://r")
    with pytest.raises(ValueError):
        PayGovConfig("https://paygov.example/pay", "P", "A")


# -- verifying a callback -------------------------------------------------------------------------
def test_a_signed_callback_is_read_in_vietnam_time():
    result = verify_callback(CONFIG, signed(), NOW)
    assert (result.order_id, result.amount_vnd, result.succeeded, result.transaction_no) == (
        "HS0123456789ABCDEF", 10_000, True, "PG-991")
    assert result.paid_at == datetime(2026, 12, 1, 1, 59, 59, tzinfo=timezone.utc)
    assert format_pay_date(result.paid_at) == "20261201085959"


def test_a_json_number_amount_is_read_as_its_digits():
    fields: dict = signed()
    fields["amount"] = 10000
    assert verify_callback(CONFIG, fields, NOW).amount_vnd == 10_000
    fields["amount"] = True
    assert refusal(fields).reason == MALFORMED_FIELD


def test_a_non_00_error_code_is_a_failed_payment():
    assert verify_callback(CONFIG, signed(errorCode="24"), NOW).succeeded is False


@pytest.mark.parametrize("field, value", [("amount", "100000"), ("orderId", "HS-KHAC"), ("errorCode", "24"),
                                          ("transactionNo", "PG-992"), ("payDate", "20261201090000"),
                                          ("orderInfo", "khac")])
def test_a_field_changed_after_signing_is_refused_as_a_bad_checksum(field, value):
    tampered = signed()
    tampered[field] = value
    assert refusal(tampered).reason == BAD_CHECKSUM


def test_a_checksum_made_with_another_secret_is_refused():
    fields = signed()
    fields["checksum"] = callback_checksum("mot-bi-mat-khac", fields)
    assert refusal(fields).reason == BAD_CHECKSUM


@pytest.mark.parametrize("field", ["orderId", "amount", "errorCode", "transactionNo", "payDate", "checksum"])
def test_a_missing_field_is_refused_naming_it(field):
    fields = signed()
    del fields[field]
    refused = refusal(fields)
    assert (refused.reason, refused.field) == (MISSING_FIELD, field)


@pytest.mark.parametrize("overrides, field", [({"amount": "10000.5"}, "amount"), ({"amount": "-1"}, "amount"),
                                              ({"amount": "010000"}, "amount"), ({"payDate": "2026-12-01"}, "payDate"),
                                              ({"payDate": "20261340000000"}, "payDate"),
                                              ({"errorCode": "0 0"}, "errorCode")])
def test_a_malformed_but_signed_field_is_refused_naming_it(overrides, field):
    refused = refusal(signed(**overrides))
    assert (refused.reason, refused.field) == (MALFORMED_FIELD, field)


def test_a_malformed_checksum_and_control_characters_are_refused():
    fields = signed()
    fields["checksum"] = "zz"
    assert (refusal(fields).reason, refusal(fields).field) == (MALFORMED_FIELD, "checksum")
    assert refusal(signed(orderInfo="a\x00b")).reason == MALFORMED_FIELD


def test_a_callback_dated_in_the_future_is_refused():
    ahead = format_pay_date(NOW + timedelta(minutes=10))
    assert refusal(signed(payDate=ahead)).reason == PAY_DATE_IN_FUTURE


@settings(max_examples=60, deadline=None)
@given(position=st.integers(0, 63), digit=st.sampled_from("0123456789abcdef"))
def test_any_single_changed_checksum_digit_is_refused(position, digit):
    fields = signed()
    original = fields["checksum"]
    if original[position] == digit:
        return
    fields["checksum"] = original[:position] + digit + original[position + 1:]
    assert refusal(fields).reason == BAD_CHECKSUM


# -- verified callbacks against the invoice -------------------------------------------------------
@pytest.fixture
def app():
    app = PaymentApplication(env=in_memory_env(), province="test", clock=FixedClock(NOW))
    yield app
    app.close()


def test_a_replayed_callback_is_verified_again_and_makes_no_second_payment(app):
    invoice = app.issue_invoice(uuid4(), "X-1", BOOK.charge(SCHEDULES.get("2.000884"), "online", NOW), GATEWAY)
    fields = signed(orderId=invoice["order_id"])
    for _ in range(3):
        app.record_gateway_result(verify_callback(CONFIG, fields, NOW), GATEWAY)
    assert [e.name for e in own_log(app)].count("Invoice.Paid") == 1
    assert answer(True) == {"error_code": "SUCCESSFUL", "error_message": ""}


def test_a_signed_callback_for_the_wrong_amount_is_refused_by_the_invoice(app):
    invoice = app.issue_invoice(uuid4(), "X-2", BOOK.charge(SCHEDULES.get("2.000884"), "online", NOW), GATEWAY)
    result = verify_callback(CONFIG, signed(orderId=invoice["order_id"], amount="1000"), NOW)
    with pytest.raises(RuleViolated) as refused:
        app.record_gateway_result(result, GATEWAY)
    assert refused.value.reason == "WRONG_AMOUNT"
    assert "Invoice.Paid" not in [e.name for e in own_log(app)]
