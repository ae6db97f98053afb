"""The revenue report as a spreadsheet (.xlsx, openpyxl) for the finance office: one row per unit and
fee item, amounts as whole-đồng numbers (so the sheet can sum them), headings in Vietnamese."""
from __future__ import annotations

from io import BytesIO

from openpyxl import Workbook

KINDS = {"phi": "Phí", "le_phi": "Lệ phí"}
HEADINGS = ("Đơn vị", "Loại", "Mã khoản thu", "Tên khoản thu", "Số biên lai", "Số tiền (đồng)")
MONEY = "#,##0"


def revenue_xlsx(report: dict) -> bytes:
    """`report`: application.PaymentApplication.revenue's answer."""
    book = Workbook()
    sheet = book.active
    sheet.title = "Doanh thu"
    sheet.append([f"Báo cáo thu phí, lệ phí từ ngày {report['from']:%d/%m/%Y} đến ngày {report['to']:%d/%m/%Y}"])
    sheet.append([f"Đơn vị: {report['unit_code'] or 'tất cả'}"])
    sheet.append(list(HEADINGS))
    for line in report["items"]:
        sheet.append([line["unit_code"], KINDS.get(line["kind"], line["kind"]), line["item_code"], line["name"],
                      line["count"], line["amount_vnd"]])
        sheet.cell(row=sheet.max_row, column=6).number_format = MONEY
    for label, value in (("Tổng phí", report["phi_vnd"]), ("Tổng lệ phí", report["le_phi_vnd"]),
                         ("Tổng thu", report["collected_vnd"]), ("Đã hoàn trả", report["refunded_vnd"])):
        sheet.append(["", "", "", label, "", value])
        sheet.cell(row=sheet.max_row, column=6).number_format = MONEY
    for column, width in zip("ABCDEF", (16, 8, 28, 48, 12, 18)):
        sheet.column_dimensions[column].width = width
    out = BytesIO()
    book.save(out)
    return out.getvalue()
