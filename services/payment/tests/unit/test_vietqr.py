"""VietQR payloads: the CRC as specified, published payloads parsed and rebuilt byte for byte, a
dynamic payload per invoice, and its PNG read back by an independent QR decoder (zxing-cpp)."""
from __future__ import annotations

import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from motcua_payment.adapters.vietqr_png import payload_png
from motcua_payment.domain.vietqr import (Beneficiary, VietQRError, crc16_ccitt_false, dynamic_payload, field,
                                          parse, rebuild)

# NAPAS VietQR specification, example 6.1.3, as ../shared/DOMAIN.md transcribes it.
NAPAS_EXAMPLE = ("00020101021238570010A00000072701270006970403011300110123456780208QRIBFTTA530370454061800005802VN"
                 "62340107NPS68690819thanh toan don hang63042E2E")
# subiz/vietqr README.md (github.com/subiz/vietqr): 120.000 đồng to account 0011001932418 at BIN
# 970415, purpose "ủng hộ lũ lụt".
SUBIZ_EXAMPLE = ("00020101021238570010A00000072701270006970415011300110019324180208QRIBFTTA530370454061200005802VN"
                 "62170813ung ho lu lut6304C15C")


@pytest.mark.parametrize("data, crc", [(b"123456789", 0x29B1), (b"", 0xFFFF), (b"A", 0xB915)])
def test_crc16_ccitt_false_check_values(data, crc):
    assert crc16_ccitt_false(data) == crc


def test_the_napas_example_parses_and_rebuilds_byte_for_byte():
    fields = parse(NAPAS_EXAMPLE)
    assert rebuild(fields) == NAPAS_EXAMPLE
    assert [field(fields, p) for p in ("00", "01", "38.00", "38.01.00", "38.01.01", "38.02", "53", "54", "58",
                                       "62.01", "62.08")] == [
        "01", "12", "A000000727", "970403", "0011012345678", "QRIBFTTA", "704", "180000", "VN", "NPS6869",
        "thanh toan don hang"]


def test_a_published_dynamic_payload_is_built_byte_for_byte_from_its_inputs():
    built = dynamic_payload(Beneficiary("970415", "0011001932418"), 120_000, purpose="ủng hộ lũ lụt")
    assert built == SUBIZ_EXAMPLE


@pytest.mark.parametrize("payload", [
    NAPAS_EXAMPLE.replace("5406180000", "5406190000"),  # the amount changed, the CRC kept
    NAPAS_EXAMPLE[:-4] + "2E2F",
    NAPAS_EXAMPLE[:-8],
])
def test_a_payload_whose_crc_does_not_hold_is_refused(payload):
    with pytest.raises(VietQRError) as refused:
        parse(payload)
    assert refused.value.field == "63"


def test_an_invoice_payload_is_dynamic_in_dong_with_the_invoice_reference():
    payload = dynamic_payload(Beneficiary("970403", "0011012345678"), 10_000, "HS5E847E7946825B25A9",
                              "Lệ phí chứng thực")
    fields = parse(payload)
    assert [field(fields, p) for p in ("01", "38.02", "53", "54", "58", "62.01", "62.08")] == [
        "12", "QRIBFTTA", "704", "10000", "VN", "HS5E847E7946825B25A9", "Le phi chung thuc"]


def test_an_invoice_payload_parses_in_an_independent_vietqr_decoder_with_its_crc_checked():
    """napas-qr-python (written apart from this project, after NAPAS's VietQR format) reads what we
    build: the CRC holds, and every field we put in comes back where NAPAS's layout puts it."""
    import qr_pay

    payload = dynamic_payload(Beneficiary("970403", "0011012345678"), 125_000, "HS5E847E7946825B25A9",
                              "Lệ phí chứng thực")
    decoded = qr_pay.decode(payload, verify_crc=True)
    assert {k: decoded.get(k) for k in ("point_of_initiation_method", "glocal_uuid", "bin_id", "consumer_id",
                                        "service_code", "transaction_currency", "transaction_amount",
                                        "country_code", "bill_number", "purpose_of_transaction")} == {
        "point_of_initiation_method": "12", "glocal_uuid": "A000000727", "bin_id": "970403",
        "consumer_id": "0011012345678", "service_code": "QRIBFTTA", "transaction_currency": "704",
        "transaction_amount": "125000", "country_code": "VN", "bill_number": "HS5E847E7946825B25A9",
        "purpose_of_transaction": "Le phi chung thuc"}
    with pytest.raises(qr_pay.QRDecodeError):  # one digit of the amount changed: its CRC no longer holds
        qr_pay.decode(payload.replace("125000", "125001"), verify_crc=True)


@pytest.mark.parametrize("make, name", [
    (lambda: Beneficiary("97040", "1"), "bank_bin"),
    (lambda: Beneficiary("970403", "12 34"), "account"),
    (lambda: Beneficiary("970403", "1", "QRPUSH"), "service"),
    (lambda: dynamic_payload(Beneficiary("970403", "1"), 0), "amount_vnd"),
    (lambda: dynamic_payload(Beneficiary("970403", "1"), 10, "HỒ SƠ"), "bill_number"),
    (lambda: dynamic_payload(Beneficiary("970403", "1"), 10, "X" * 26), "bill_number"),
])
def test_bad_inputs_are_refused_naming_the_field(make, name):
    with pytest.raises(VietQRError) as refused:
        make()
    assert refused.value.field == name


@settings(max_examples=60, deadline=None)
@given(amount=st.integers(1, 10**13 - 1), bill=st.text(st.characters(min_codepoint=32, max_codepoint=126),
                                                       max_size=25),
       purpose=st.text(max_size=40))
def test_every_invoice_payload_parses_back_to_its_inputs(amount, bill, purpose):
    payload = dynamic_payload(Beneficiary("970403", "0011012345678"), amount, bill, purpose)
    fields = parse(payload)
    assert field(fields, "54") == str(amount) and rebuild(fields) == payload
    assert field(fields, "62.01") == (bill or None)


def test_the_png_reads_back_as_the_payload_with_an_independent_decoder():
    import zxingcpp
    from PIL import Image

    payload = dynamic_payload(Beneficiary("970403", "0011012345678"), 10_000, "HS5E847E7946825B25A9",
                              "Le phi chung thuc")
    png = payload_png(payload)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    found = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    assert [r.text for r in found] == [payload]
