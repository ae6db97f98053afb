"""SMS text as gateways bill it: diacritics removed where the gateway requires it, segments counted.

Diacritics are removed with unicodedata (NFKD, then the combining marks dropped) plus đ/Đ by hand:
every other Vietnamese letter decomposes into a Latin base letter and combining marks, and đ/Đ are
the only ones that do not, so no transliteration library is needed for Vietnamese text.

Segments: a text that fits the GSM 03.38 alphabet is sent as GSM-7 (160 septets in one SMS, 153 per
part when concatenated; characters of the extension table take two septets); anything else is sent
as UCS-2 (70 UTF-16 code units in one SMS, 67 per part).
"""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà")
GSM7_EXTENSION = frozenset("^{}\\[~]|€\f")
GSM7, UCS2 = "GSM-7", "UCS-2"


def without_diacritics(text: str) -> str:
    """'Hồ sơ đã tiếp nhận' -> 'Ho so da tiep nhan'."""
    text = text.replace("đ", "d").replace("Đ", "D")
    decomposed = unicodedata.normalize("NFKD", text)
    return unicodedata.normalize("NFC", "".join(c for c in decomposed if not unicodedata.combining(c)))


@dataclass(frozen=True)
class SmsText:
    text: str
    encoding: str
    units: int  # septets (GSM-7) or UTF-16 code units (UCS-2)
    segments: int


def measure(text: str) -> SmsText:
    if all(c in GSM7_BASIC or c in GSM7_EXTENSION for c in text):
        units = sum(2 if c in GSM7_EXTENSION else 1 for c in text)
        single, part = 160, 153
        encoding = GSM7
    else:
        units = len(text.encode("utf-16-le")) // 2
        single, part = 70, 67
        encoding = UCS2
    segments = 1 if units <= single else -(-units // part)
    return SmsText(text, encoding, units, segments)


def sms_text(text: str, ascii_only: bool) -> SmsText:
    return measure(without_diacritics(text) if ascii_only else text)
