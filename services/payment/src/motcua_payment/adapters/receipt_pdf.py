"""The electronic receipt (biên lai thu phí, lệ phí) of one payment as a Vietnamese PDF, laid out by the
shared document renderer (motcua_common.documents.forms: Liberation Serif embedded, every diacritic).
It names no payer: the applicant's personal data stays with intake; the dossier code identifies it."""
from __future__ import annotations

from datetime import datetime

from motcua_common.documents.forms import Document, place_and_date, render_pdf, vietnamese_time

KINDS = {"phi": "Phí", "le_phi": "Lệ phí"}
METHODS = {"cash": "Tiền mặt tại Bộ phận Một cửa", "gateway": "Thanh toán trực tuyến"}
_DIGITS = ("không", "một", "hai", "ba", "bốn", "năm", "sáu", "bảy", "tám", "chín")
_GROUPS = ("", " nghìn", " triệu", " tỷ")


def dong(amount: int) -> str:
    """10000 -> "10.000 đồng"."""
    return f"{amount:,}".replace(",", ".") + " đồng"


def _three(n: int, full: bool) -> str:
    hundreds, tens, units = n // 100, n // 10 % 10, n % 10
    words = []
    if full or hundreds:
        words += [_DIGITS[hundreds], "trăm"]
    if tens == 0 and units and (full or hundreds):
        words.append("lẻ")
    elif tens == 1:
        words.append("mười")
    elif tens > 1:
        words += [_DIGITS[tens], "mươi"]
    if units:
        if units == 1 and tens > 1:
            words.append("mốt")
        elif units == 5 and tens > 0:
            words.append("lăm")
        elif units == 4 and tens > 1:
            words.append("tư")
        else:
            words.append(_DIGITS[units])
    return " ".join(words)


def in_words(amount: int) -> str:
    """The amount in Vietnamese words, as receipts write it: 125000 -> "Một trăm hai mươi lăm nghìn đồng"."""
    if amount == 0:
        return "Không đồng"
    groups, n = [], amount
    while n:
        groups.append(n % 1000)
        n //= 1000
    if len(groups) > len(_GROUPS):
        raise ValueError("amount too large for a receipt")
    parts = []
    for i in range(len(groups) - 1, -1, -1):
        if groups[i]:
            parts.append(_three(groups[i], full=i < len(groups) - 1) + _GROUPS[i])
    text = " ".join(parts) + " đồng"
    return text[0].upper() + text[1:]


def receipt_document(receipt: dict) -> Document:
    """`receipt`: application.PaymentApplication.receipt_of's answer."""
    r = receipt["receipt"]
    payment = receipt["payment"]
    items = [f"{KINDS.get(line['kind'], line['kind'])}: {line['name']} ({line['item_code']}): {dong(int(line['amount_vnd']))}"
             for line in receipt["lines"]]
    return Document(
        issuer=receipt.get("issuer") or "Bộ phận Một cửa", number=r["printed_number"],
        title="BIÊN LAI THU PHÍ, LỆ PHÍ", place_and_date=place_and_date(receipt.get("place", ""), r["issued_at"]),
        form_number=f"Mẫu số: {r['form']}    Ký hiệu: {r['symbol']}    Số: {r['printed_number']}",
        governing_body=receipt.get("collector", ""),
        lines=[("Hồ sơ", receipt["dossier_code"]), ("Thủ tục", receipt["procedure_code"]),
               ("Mã thanh toán", receipt["order_id"]),
               ("Hình thức thanh toán", METHODS.get(payment["method"], payment["method"])),
               ("Thời điểm thanh toán", vietnamese_time(payment["paid_at"]))],
        lists=[("Các khoản thu:", items)],
        closing=[("Tổng số tiền", dong(int(payment["amount_vnd"]))), ("Bằng chữ", in_words(int(payment["amount_vnd"])))],
        signatures=(("", ""), ("Người thu tiền", r["official"] or "Thu qua cổng thanh toán")))


def receipt_pdf(receipt: dict, created: datetime | None = None) -> bytes:
    return render_pdf(receipt_document(receipt), created or receipt["receipt"]["issued_at"])
