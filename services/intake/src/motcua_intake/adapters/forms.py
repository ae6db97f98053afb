"""Form 01 of Circular 03/2025/TT-VPCP (Annex I): receipt and appointment
("Giấy tiếp nhận hồ sơ và hẹn trả kết quả"), filled from a received dossier.

The wording follows the form in substance; verify the exact text against the circular
before production (DOMAIN.md marks the forms' exact titles "verify").
"""
from __future__ import annotations

from datetime import datetime

from motcua_common.documents import Document, render_pdf, vietnamese_time
from motcua_common.working_calendar import VIETNAM_TZ

from motcua_intake.domain.catalogue import Procedure

RETURN_CHANNEL = {"desk": "Bộ phận Một cửa nơi nộp hồ sơ", "online": "Cổng Dịch vụ công (nhận kết quả trực tuyến)",
                  "post": "Địa chỉ của người nộp, qua dịch vụ bưu chính công ích"}


def receipt_and_appointment(dossier: dict, procedure: Procedure, received_by: str, issued_at: datetime) -> bytes:
    applicant = dossier["applicant"]
    local = dossier["received_at"].astimezone(VIETNAM_TZ)
    deadline = procedure.deadline_working_days
    document = Document(
        issuer=procedure.receiving_agency_name,
        number=dossier["code"],
        title="GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ",
        place_and_date=f"ngày {local:%d} tháng {local:%m} năm {local:%Y}",
        lines=[
            ("Mã hồ sơ", dossier["code"]),
            ("", f"{procedure.receiving_agency_name} tiếp nhận hồ sơ của: "
                 f"{applicant.get('full_name') or '(đã xóa theo yêu cầu)'}"),
            ("Địa chỉ", applicant.get("address") or ""),
            ("Số điện thoại", applicant.get("phone") or ""),
            ("Thư điện tử", applicant.get("email") or ""),
            ("Nội dung yêu cầu giải quyết", f"{procedure.name} (mã thủ tục {procedure.code})"),
        ],
        lists=[("Thành phần hồ sơ nộp gồm:", [c["name"] for c in dossier["components"]] or ["(không có)"])],
        closing=[
            ("Số lượng hồ sơ", "01 bộ"),
            ("Thời gian giải quyết hồ sơ theo quy định", f"{deadline:g} ngày làm việc"),
            ("Thời gian nhận hồ sơ", vietnamese_time(dossier["received_at"])),
            ("Thời gian trả kết quả giải quyết hồ sơ", vietnamese_time(dossier["appointment_at"])),
            ("Đăng ký nhận kết quả tại", RETURN_CHANNEL[dossier["channel"]]),
        ],
        signatures=(("NGƯỜI NỘP HỒ SƠ", applicant.get("full_name") or ""), ("NGƯỜI TIẾP NHẬN HỒ SƠ", received_by)),
    )
    return render_pdf(document, issued_at)
