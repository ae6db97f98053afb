"""VietQR: the NAPAS profile of EMVCo's merchant-presented QR payload (text only; adapters.vietqr_png
draws it). A payload is a sequence of ID (2 digits), length (2 digits) and value; some values are
themselves such sequences (templates); the last field, 63, is the CRC-16/CCITT-FALSE of everything
before its value, "6304" included.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

NAPAS_GUID = "A000000727"
TO_ACCOUNT, TO_CARD = "QRIBFTTA", "QRIBFTTC"
STATIC, DYNAMIC = "11", "12"
CURRENCY_VND, COUNTRY_VN = "704", "VN"
# Templates whose value is itself a sequence of fields: merchant account information (26-51) and
# additional data (62); inside 38, field 01 (the beneficiary: bank BIN and account) is one too.
NESTED_ROOT = {f"{n:02d}" for n in range(26, 52)} | {"62"}
NESTED_IN_38 = {"01"}
MAX_BILL_NUMBER = MAX_PURPOSE = 25
_BIN = re.compile(r"^[0-9]{6}$")
_ACCOUNT = re.compile(r"^[0-9A-Za-z]{1,19}$")
_ID = re.compile(r"^[0-9]{2}$")


class VietQRError(ValueError):
    def __init__(self, field: str, description: str) -> None:
        self.field = field
        super().__init__(f"{field}: {description}")


def crc16_ccitt_false(data: bytes) -> int:
    """CRC-16/CCITT-FALSE: polynomial 0x1021, initial 0xFFFF, no reflection, no final XOR."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else (crc << 1)
            crc &= 0xFFFF
    return crc


Field = tuple[str, "str | list[Field]"]


def encode(fields: list[Field]) -> str:
    out = []
    for tag, value in fields:
        text = encode(value) if isinstance(value, list) else value
        if not _ID.match(tag) or len(text) > 99:
            raise VietQRError(tag, "an ID is two digits and a value at most 99 characters")
        out.append(f"{tag}{len(text):02d}{text}")
    return "".join(out)


def with_crc(body: str) -> str:
    """The payload: `body` (without field 63) followed by its CRC field."""
    head = body + "6304"
    return head + f"{crc16_ccitt_false(head.encode('ascii')):04X}"


def decode(text: str, nested: set[str] | None = None, path: str = "") -> list[Field]:
    """Fields in payload order; values of the `nested` IDs are decoded too."""
    fields: list[Field] = []
    i = 0
    while i < len(text):
        tag, size = text[i:i + 2], text[i + 2:i + 4]
        if not _ID.match(tag) or not size.isdigit() or i + 4 + int(size) > len(text):
            raise VietQRError(path + tag, f"malformed field at position {i}")
        value = text[i + 4:i + 4 + int(size)]
        if nested and tag in nested:
            inner = NESTED_IN_38 if (path == "" and tag == "38") else None
            fields.append((tag, decode(value, inner, f"{path}{tag}.")))
        else:
            fields.append((tag, value))
        i += 4 + int(size)
    return fields


def parse(payload: str) -> list[Field]:
    """Decode a payload after checking that it ends with a valid CRC (field 63)."""
    if not payload.isascii() or len(payload) < 8 or payload[-8:-4] != "6304":
        raise VietQRError("63", "the payload must end with the CRC field 6304XXXX")
    expected = f"{crc16_ccitt_false(payload[:-4].encode('ascii')):04X}"
    if payload[-4:].upper() != expected:
        raise VietQRError("63", f"CRC {payload[-4:]} does not match the payload ({expected})")
    return decode(payload[:-8], NESTED_ROOT)


def rebuild(fields: list[Field]) -> str:
    """The payload of decoded fields (field 63 recomputed): parse then rebuild gives the same text."""
    return with_crc(encode([f for f in fields if f[0] != "63"]))


def ascii_text(text: str) -> str:
    """Vietnamese text as bank transfers carry it: diacritics removed, ASCII printable only."""
    text = text.replace("đ", "d").replace("Đ", "D")
    plain = "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))
    return "".join(c for c in plain if c.isascii() and c.isprintable())


@dataclass(frozen=True)
class Beneficiary:
    """The account that collects (from the province's configuration, per collector)."""

    bank_bin: str
    account: str
    service: str = TO_ACCOUNT

    def __post_init__(self) -> None:
        if not _BIN.match(self.bank_bin):
            raise VietQRError("bank_bin", "must be the bank's 6-digit BIN")
        if not _ACCOUNT.match(self.account):
            raise VietQRError("account", "must be 1-19 letters or digits")
        if self.service not in (TO_ACCOUNT, TO_CARD):
            raise VietQRError("service", f"must be {TO_ACCOUNT} or {TO_CARD}")


def dynamic_payload(beneficiary: Beneficiary, amount_vnd: int, bill_number: str = "", purpose: str = "") -> str:
    """A dynamic ("12") payload for one invoice: amount, and the invoice reference as bill number."""
    if isinstance(amount_vnd, bool) or not isinstance(amount_vnd, int) or not 0 < amount_vnd < 10**13:
        raise VietQRError("amount_vnd", "must be a whole number of đồng above 0, at most 13 digits")
    bill, purpose_text = ascii_text(bill_number), ascii_text(purpose)[:MAX_PURPOSE]
    if bill != bill_number or len(bill) > MAX_BILL_NUMBER:
        raise VietQRError("bill_number", f"must be at most {MAX_BILL_NUMBER} ASCII characters")
    additional: list[Field] = []
    if bill:
        additional.append(("01", bill))
    if purpose_text:
        additional.append(("08", purpose_text))
    fields: list[Field] = [
        ("00", "01"),
        ("01", DYNAMIC),
        ("38", [("00", NAPAS_GUID), ("01", [("00", beneficiary.bank_bin), ("01", beneficiary.account)]),
                ("02", beneficiary.service)]),
        ("53", CURRENCY_VND),
        ("54", str(amount_vnd)),
        ("58", COUNTRY_VN),
    ]
    if additional:
        fields.append(("62", additional))
    return with_crc(encode(fields))


def field(fields: list[Field], path: str) -> str | list[Field] | None:
    """The value at a dotted path of IDs ("38.01.00"), or None."""
    current: str | list[Field] | None = fields
    for tag in path.split("."):
        if not isinstance(current, list):
            return None
        current = next((v for t, v in current if t == tag), None)
    return current
