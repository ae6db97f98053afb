"""Printable administrative documents (forms) as PDF, in Vietnamese with every diacritic.

The layout every form shares: the issuing body and document number on the left, the
national motto on the right, a centred title, labelled lines, numbered lists, and the
signature blocks. The font comes from Debian's fonts-dejavu-core (MOTCUA_FONT_DIR):
nothing is downloaded at run time.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from fpdf import FPDF

from motcua_common.working_calendar import VIETNAM_TZ

FONT_DIR = Path(os.environ.get("MOTCUA_FONT_DIR", "/usr/share/fonts/truetype/dejavu"))
MOTTO = ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc")


class FontMissing(RuntimeError):
    pass


@dataclass
class Document:
    issuer: str
    number: str
    title: str
    place_and_date: str
    lines: list[tuple[str, str]] = field(default_factory=list)  # (label, value); label "" for a paragraph
    lists: list[tuple[str, list[str]]] = field(default_factory=list)
    closing: list[tuple[str, str]] = field(default_factory=list)
    signatures: tuple[tuple[str, str], tuple[str, str]] = (("", ""), ("", ""))  # (role, name) left and right


def vietnamese_time(instant: datetime) -> str:
    """`08 giờ 30 phút, ngày 24/11/2026`, in Vietnam time."""
    local = instant.astimezone(VIETNAM_TZ)
    return f"{local:%H} giờ {local:%M} phút, ngày {local:%d/%m/%Y}"


def render_pdf(document: Document, created: datetime) -> bytes:
    regular, bold = FONT_DIR / "DejaVuSans.ttf", FONT_DIR / "DejaVuSans-Bold.ttf"
    if not regular.exists() or not bold.exists():
        raise FontMissing(f"DejaVu fonts not found in {FONT_DIR} (Debian package fonts-dejavu-core)")
    pdf = FPDF(format="A4")
    pdf.set_creation_date(created)
    pdf.set_title(document.title)
    pdf.set_margins(20, 15, 20)
    pdf.add_page()
    pdf.add_font("DejaVu", "", str(regular))
    pdf.add_font("DejaVu", "B", str(bold))
    half = (pdf.w - pdf.l_margin - pdf.r_margin) / 2
    top = pdf.get_y()
    pdf.set_font("DejaVu", "B", 10)
    pdf.multi_cell(half - 5, 5, document.issuer.upper(), align="C", new_x="LEFT", new_y="NEXT")
    pdf.set_font("DejaVu", "", 10)
    pdf.multi_cell(half - 5, 5, f"Số: {document.number}", align="C")
    left_bottom = pdf.get_y()
    pdf.set_xy(pdf.l_margin + half, top)
    pdf.set_font("DejaVu", "B", 10)
    pdf.multi_cell(half, 5, MOTTO[0], align="C", new_x="LEFT", new_y="NEXT")
    pdf.multi_cell(half, 5, MOTTO[1], align="C", new_x="LEFT", new_y="NEXT")
    pdf.set_font("DejaVu", "", 10)
    pdf.multi_cell(half, 5, document.place_and_date, align="C")
    pdf.set_y(max(left_bottom, pdf.get_y()) + 8)
    pdf.set_font("DejaVu", "B", 13)
    pdf.multi_cell(0, 7, document.title, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.set_font("DejaVu", "", 11)
    for label, value in document.lines:
        pdf.multi_cell(0, 6, f"{label}: {value}" if label else value, new_x="LMARGIN", new_y="NEXT")
    for heading, items in document.lists:
        pdf.multi_cell(0, 6, heading, new_x="LMARGIN", new_y="NEXT")
        for i, item in enumerate(items, 1):
            pdf.multi_cell(0, 6, f"    {i}. {item}", new_x="LMARGIN", new_y="NEXT")
    for label, value in document.closing:
        pdf.multi_cell(0, 6, f"{label}: {value}" if label else value, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(8)
    y = pdf.get_y()
    for column, (role, name) in enumerate(document.signatures):
        x = pdf.l_margin + column * half
        pdf.set_xy(x, y)
        pdf.set_font("DejaVu", "B", 11)
        pdf.multi_cell(half, 6, role, align="C", new_x="LEFT", new_y="NEXT")
        pdf.set_font("DejaVu", "", 10)
        pdf.multi_cell(half, 5, "(Ký và ghi rõ họ tên)", align="C", new_x="LEFT", new_y="NEXT")
        pdf.set_xy(x, pdf.get_y() + 14)  # room to sign
        pdf.set_font("DejaVu", "B", 11)
        pdf.multi_cell(half, 6, name, align="C")
    return bytes(pdf.output())
