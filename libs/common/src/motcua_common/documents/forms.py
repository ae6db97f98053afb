"""Printable administrative documents (forms) as PDF, in Vietnamese with every diacritic.

The layout every form of Circular 03/2025's annex shares: the form's number ("Mẫu số 01")
above the header; the governing body and the receiving section with the document number on
the left, the national motto on the right with the place and date under it ("Đồng Hới,
ngày 05 tháng 12 năm 2026"); a centred title, labelled lines, numbered lists, and the
signature blocks with the signers' names. Administrative documents are set in Times New
Roman 13-14 (Decree 30/2020); Liberation Serif (Debian's fonts-liberation2, MOTCUA_FONT_DIR)
has the same metrics, so nothing is downloaded at run time.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from fpdf import FPDF

from motcua_common.province.working_calendar import VIETNAM_TZ

FONT_DIR = Path(os.environ.get("MOTCUA_FONT_DIR", "/usr/share/fonts/truetype/liberation2"))
FONT_FILES = ("LiberationSerif-Regular.ttf", "LiberationSerif-Bold.ttf", "LiberationSerif-Italic.ttf")
BODY_SIZE = 13
MOTTO = ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc")


class FontMissing(RuntimeError):
    pass


@dataclass
class Document:
    issuer: str  # the receiving section ("Bộ phận Một cửa"), under its governing body
    number: str
    title: str
    place_and_date: str  # see place_and_date()
    form_number: str = ""  # "Mẫu số 01"
    governing_body: str = ""  # the agency the section belongs to
    lines: list[tuple[str, str]] = field(default_factory=list)  # (label, value); label "" for a paragraph
    lists: list[tuple[str, list[str]]] = field(default_factory=list)
    closing: list[tuple[str, str]] = field(default_factory=list)
    signatures: tuple[tuple[str, str], tuple[str, str]] = (("", ""), ("", ""))  # (role, name) left and right


def vietnamese_time(instant: datetime) -> str:
    """`08 giờ 30 phút, ngày 24/11/2026`, in Vietnam time."""
    local = instant.astimezone(VIETNAM_TZ)
    return f"{local:%H} giờ {local:%M} phút, ngày {local:%d/%m/%Y}"


def place_and_date(place: str, instant: datetime) -> str:
    """`Đồng Hới, ngày 05 tháng 12 năm 2026` (the place is the province's data), in Vietnam time."""
    local = instant.astimezone(VIETNAM_TZ)
    date = f"ngày {local:%d} tháng {local:%m} năm {local:%Y}"
    return f"{place}, {date}" if place else date.capitalize()


def render_pdf(document: Document, created: datetime) -> bytes:
    regular, bold, italic = (FONT_DIR / name for name in FONT_FILES)
    if not all(path.exists() for path in (regular, bold, italic)):
        raise FontMissing(f"Liberation Serif not found in {FONT_DIR} (Debian package fonts-liberation2)")
    pdf = FPDF(format="A4")
    pdf.set_creation_date(created)
    pdf.set_title(document.title)
    pdf.set_margins(30, 20, 15)  # Decree 30/2020: left 30-35 mm, right 15-20 mm
    pdf.add_page()
    pdf.add_font("Serif", "", str(regular))
    pdf.add_font("Serif", "B", str(bold))
    pdf.add_font("Serif", "I", str(italic))
    width = pdf.w - pdf.l_margin - pdf.r_margin
    left, right = width * 0.42, width * 0.58
    if document.form_number:
        pdf.set_font("Serif", "B", 12)
        pdf.cell(0, 5, document.form_number, align="R", new_x="LMARGIN", new_y="NEXT")
        pdf.ln(2)
    top = pdf.get_y()
    if document.governing_body:
        pdf.set_font("Serif", "", 12)
        pdf.multi_cell(left - 3, 5.5, document.governing_body.upper(), align="C", new_x="LEFT", new_y="NEXT")
    pdf.set_font("Serif", "B", 12)
    pdf.multi_cell(left - 3, 5.5, document.issuer.upper(), align="C", new_x="LEFT", new_y="NEXT")
    pdf.set_font("Serif", "", BODY_SIZE)
    pdf.multi_cell(left - 3, 6, f"Số: {document.number}", align="C")
    left_bottom = pdf.get_y()
    pdf.set_xy(pdf.l_margin + left, top)
    pdf.set_font("Serif", "B", 12)
    pdf.multi_cell(right, 5.5, MOTTO[0], align="C", new_x="LEFT", new_y="NEXT")
    pdf.set_font("Serif", "B", BODY_SIZE)
    pdf.multi_cell(right, 6, MOTTO[1], align="C", new_x="LEFT", new_y="NEXT")
    pdf.set_font("Serif", "I", BODY_SIZE)
    pdf.multi_cell(right, 7, document.place_and_date, align="C")
    pdf.set_y(max(left_bottom, pdf.get_y()) + 8)
    pdf.set_font("Serif", "B", 14)
    pdf.multi_cell(0, 7, document.title, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.set_font("Serif", "", BODY_SIZE)
    for label, value in document.lines:
        pdf.multi_cell(0, 6.5, f"{label}: {value}" if label else value, new_x="LMARGIN", new_y="NEXT")
    for heading, items in document.lists:
        pdf.multi_cell(0, 6.5, heading, new_x="LMARGIN", new_y="NEXT")
        for i, item in enumerate(items, 1):
            pdf.multi_cell(0, 6.5, f"    {i}. {item}", new_x="LMARGIN", new_y="NEXT")
    for label, value in document.closing:
        pdf.multi_cell(0, 6.5, f"{label}: {value}" if label else value, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(8)
    y = pdf.get_y()
    half = width / 2
    for column, (role, name) in enumerate(document.signatures):
        x = pdf.l_margin + column * half
        pdf.set_xy(x, y)
        pdf.set_font("Serif", "B", BODY_SIZE)
        pdf.multi_cell(half, 6, role, align="C", new_x="LEFT", new_y="NEXT")
        pdf.set_font("Serif", "I", BODY_SIZE)
        pdf.multi_cell(half, 6, "(Ký và ghi rõ họ tên)" if role else "", align="C", new_x="LEFT", new_y="NEXT")
        pdf.set_xy(x, pdf.get_y() + 18)  # room to sign
        pdf.set_font("Serif", "B", BODY_SIZE)
        pdf.multi_cell(half, 6, name, align="C")
    return bytes(pdf.output())
