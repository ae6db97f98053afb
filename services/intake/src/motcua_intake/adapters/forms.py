"""Forms of Circular 03/2025/TT-VPCP (Annex I), filled from a dossier: 01 receipt and appointment
("Giấy tiếp nhận hồ sơ và hẹn trả kết quả"), 02 supplementation request ("Phiếu yêu cầu bổ sung,
hoàn thiện hồ sơ"), 03 refusal ("Phiếu từ chối tiếp nhận hồ sơ"), and the apology with a new appointment ("Phiếu xin lỗi và hẹn
lại ngày trả kết quả").

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


def _addressee(dossier: dict) -> str:
    return dossier["applicant"].get("full_name") or "(đã xóa theo yêu cầu)"


def supplement_request(dossier: dict, procedure: Procedure, official: str, issued_at: datetime) -> bytes:
    """Form 02: what to add or correct; the deadline starts only once the dossier is complete."""
    local = dossier["supplement_requested_at"].astimezone(VIETNAM_TZ)
    missing = [c["name"] for c in dossier["missing_components"]] or ["(xem nội dung yêu cầu)"]
    document = Document(
        issuer=procedure.receiving_agency_name,
        number=dossier["code"],
        title="PHIẾU YÊU CẦU BỔ SUNG, HOÀN THIỆN HỒ SƠ",
        place_and_date=f"ngày {local:%d} tháng {local:%m} năm {local:%Y}",
        lines=[
            ("Mã hồ sơ", dossier["code"]),
            ("", f"{procedure.receiving_agency_name} tiếp nhận hồ sơ của: {_addressee(dossier)}"),
            ("Nội dung yêu cầu giải quyết", f"{procedure.name} (mã thủ tục {procedure.code})"),
            ("", "Sau khi xem xét thành phần hồ sơ, đề nghị Ông/Bà bổ sung, hoàn thiện hồ sơ gồm những nội dung sau:"),
        ],
        lists=[("Thành phần hồ sơ còn thiếu:", missing),
               ("Nội dung cần bổ sung, hoàn thiện:", [dossier["supplement_reason"]])],
        closing=[
            ("Thời gian yêu cầu", vietnamese_time(dossier["supplement_requested_at"])),
            ("", "Thời hạn giải quyết hồ sơ được tính từ khi nhận đủ hồ sơ hợp lệ. "
                 "Trong quá trình hoàn thiện hồ sơ, nếu có vướng mắc, Ông/Bà liên hệ người tiếp nhận hồ sơ."),
        ],
        signatures=(("NGƯỜI NỘP HỒ SƠ", _addressee(dossier)), ("NGƯỜI TIẾP NHẬN HỒ SƠ", official)),
    )
    return render_pdf(document, issued_at)


def refusal(dossier: dict, procedure: Procedure, official: str, issued_at: datetime) -> bytes:
    """Form 03: the dossier is not received, and why."""
    local = dossier["refused_at"].astimezone(VIETNAM_TZ)
    document = Document(
        issuer=procedure.receiving_agency_name,
        number=dossier["code"],
        title="PHIẾU TỪ CHỐI TIẾP NHẬN HỒ SƠ",
        place_and_date=f"ngày {local:%d} tháng {local:%m} năm {local:%Y}",
        lines=[
            ("Mã hồ sơ", dossier["code"]),
            ("", f"{procedure.receiving_agency_name} tiếp nhận hồ sơ của: {_addressee(dossier)}"),
            ("Nội dung yêu cầu giải quyết", f"{procedure.name} (mã thủ tục {procedure.code})"),
            ("", "Căn cứ quy định tại thủ tục hành chính, hồ sơ của Ông/Bà không đủ điều kiện để tiếp nhận "
                 "vì lý do sau:"),
        ],
        lists=[("Lý do từ chối:", [dossier["refusal_reason"]])],
        closing=[("Thời gian từ chối", vietnamese_time(dossier["refused_at"])),
                 ("", "Xin thông báo để Ông/Bà được biết và thực hiện.")],
        signatures=(("NGƯỜI NỘP HỒ SƠ", _addressee(dossier)), ("NGƯỜI TIẾP NHẬN HỒ SƠ", official)),
    )
    return render_pdf(document, issued_at)


def apology(dossier: dict, procedure: Procedure, official: str, issued_at: datetime) -> bytes:
    """The unit apologises for the delay and sets a new appointment (number and title: verify)."""
    letter = dossier["apology"]
    local = letter["apologised_at"].astimezone(VIETNAM_TZ)
    document = Document(
        issuer=procedure.receiving_agency_name,
        number=dossier["code"],
        title="PHIẾU XIN LỖI VÀ HẸN LẠI NGÀY TRẢ KẾT QUẢ",
        place_and_date=f"ngày {local:%d} tháng {local:%m} năm {local:%Y}",
        lines=[
            ("Kính gửi", _addressee(dossier)),
            ("", f"Ngày {vietnamese_time(dossier['received_at'])}, {procedure.receiving_agency_name} tiếp nhận "
                 f"hồ sơ của Ông/Bà đề nghị giải quyết thủ tục: {procedure.name} (mã hồ sơ {dossier['code']})."),
            ("Thời gian hẹn trả kết quả", vietnamese_time(letter["previous_due_at"])),
            ("", f"Tuy nhiên, đến nay cơ quan chưa trả kết quả giải quyết hồ sơ cho Ông/Bà. Lý do: {letter['reason']}"),
            ("", "Sự chậm trễ này đã gây phiền hà, tốn kém chi phí, thời gian đi lại của Ông/Bà. Chúng tôi xin lỗi "
                 "Ông/Bà và hẹn lại thời gian trả kết quả:"),
        ],
        closing=[("Thời gian hẹn trả kết quả mới", vietnamese_time(letter["new_due_at"])),
                 ("", "Mong nhận được sự thông cảm của Ông/Bà.")],
        signatures=(("", ""), ("NGƯỜI ĐẠI DIỆN CƠ QUAN", official)),
    )
    return render_pdf(document, issued_at)
