"""Forms of Circular 03/2025/TT-VPCP (Annex I), filled from a dossier: Mẫu số 01 receipt and
appointment ("Giấy tiếp nhận hồ sơ và hẹn trả kết quả"), 02 supplementation request ("Phiếu
yêu cầu bổ sung, hoàn thiện hồ sơ"), 03 refusal ("Phiếu từ chối tiếp nhận hồ sơ") and 04 the
apology with a new appointment ("Phiếu xin lỗi và hẹn lại ngày trả kết quả").

Each dossier view carries `header` (adapters.form_data.FormHeader: governing body, receiving
section, place); officials are named by their display names. The wording follows the forms in
substance; verify the exact text against the circular before production (DOMAIN.md marks the
forms' exact titles "verify").
"""
from __future__ import annotations

from datetime import datetime

from motcua_common.documents.forms import Document, place_and_date, render_pdf, vietnamese_time

from motcua_intake.adapters.form_data import FormHeader
from motcua_intake.domain.catalogue import Procedure

RETURN_CHANNEL = {"desk": "Bộ phận Một cửa nơi nộp hồ sơ", "online": "Cổng Dịch vụ công (nhận kết quả trực tuyến)",
                  "post": "Địa chỉ của người nộp, qua dịch vụ bưu chính công ích"}
PAPER_FORM = {"original": "Bản chính", "certified_copy": "Bản sao chứng thực", "copy": "Bản sao", "": "Bản sao"}


def _document(dossier: dict, procedure: Procedure, form_number: str, title: str, on: datetime,
              **parts) -> Document:  # type: ignore[no-untyped-def]
    header: FormHeader = dossier.get("header") or FormHeader(procedure.receiving_agency_name, "Bộ phận Một cửa", "")
    return Document(form_number=f"Mẫu số {form_number}", governing_body=header.governing_body,
                    issuer=header.section, number=dossier["code"], title=title,
                    place_and_date=place_and_date(header.place, on), **parts)


def _component(c: dict) -> str:
    """`Tờ khai - Bản chính, số lượng: 01` (older dossiers did not state the paper: a copy, one)."""
    return f"{c['name']} - {PAPER_FORM[c.get('paper_form', '')]}, số lượng: {max(c.get('quantity') or 1, 1):02d}"


def receipt_and_appointment(dossier: dict, procedure: Procedure, received_by: str, issued_at: datetime) -> bytes:
    applicant = dossier["applicant"]
    deadline = procedure.deadline_working_days
    header: FormHeader | None = dossier.get("header")
    section = header.section if header else "Bộ phận Một cửa"
    document = _document(
        dossier, procedure, "01", "GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ", dossier["received_at"],
        lines=[
            ("Mã hồ sơ", dossier["code"]),
            ("", f"{section} ({procedure.receiving_agency_name}) tiếp nhận hồ sơ của: "
                 f"{applicant.get('full_name') or '(đã xóa theo yêu cầu)'}"),
            ("Địa chỉ", applicant.get("address") or ""),
            ("Số điện thoại", applicant.get("phone") or ""),
            ("Thư điện tử", applicant.get("email") or ""),
            ("Nội dung yêu cầu giải quyết", f"{procedure.name} (mã thủ tục {procedure.code})"),
        ],
        lists=[("Thành phần hồ sơ nộp gồm (tên giấy tờ - bản chính hoặc bản sao, số lượng):",
                [_component(c) for c in dossier["components"]] or ["(không có)"])],
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
    missing = [c["name"] for c in dossier["missing_components"]] or ["(xem nội dung yêu cầu)"]
    document = _document(
        dossier, procedure, "02", "PHIẾU YÊU CẦU BỔ SUNG, HOÀN THIỆN HỒ SƠ", dossier["supplement_requested_at"],
        lines=[
            ("Mã hồ sơ", dossier["code"]),
            ("Kính gửi", _addressee(dossier)),
            ("Nội dung yêu cầu giải quyết", f"{procedure.name} (mã thủ tục {procedure.code})"),
            ("", "Sau khi xem xét thành phần hồ sơ, đề nghị Ông/Bà bổ sung, hoàn thiện hồ sơ gồm những nội dung sau:"),
        ],
        lists=[("Thành phần hồ sơ còn thiếu:", missing),
               ("Nội dung cần bổ sung, hoàn thiện:", [dossier["supplement_reason"]])],
        closing=[
            ("Thời gian yêu cầu", vietnamese_time(dossier["supplement_requested_at"])),
            ("", "Thời hạn giải quyết hồ sơ được tính từ khi nhận đủ hồ sơ hợp lệ. "
                 "Trong quá trình hoàn thiện hồ sơ, nếu có vướng mắc, Ông/Bà liên hệ người hướng dẫn."),
        ],
        signatures=(("NGƯỜI NỘP HỒ SƠ", _addressee(dossier)), ("NGƯỜI HƯỚNG DẪN", official)),
    )
    return render_pdf(document, issued_at)


def refusal(dossier: dict, procedure: Procedure, official: str, issued_at: datetime) -> bytes:
    """Form 03: the dossier is not received (the form says so, and never that it was), and why."""
    document = _document(
        dossier, procedure, "03", "PHIẾU TỪ CHỐI TIẾP NHẬN HỒ SƠ", dossier["refused_at"],
        lines=[
            ("Mã hồ sơ", dossier["code"]),
            ("Kính gửi", _addressee(dossier)),
            ("Nội dung đề nghị giải quyết", f"{procedure.name} (mã thủ tục {procedure.code})"),
            ("", "Căn cứ quy định của thủ tục hành chính, hồ sơ của Ông/Bà không đủ điều kiện để tiếp nhận "
                 "vì lý do sau:"),
        ],
        lists=[("Lý do từ chối:", [dossier["refusal_reason"]])],
        closing=[("Thời gian từ chối", vietnamese_time(dossier["refused_at"])),
                 ("", "Xin thông báo để Ông/Bà được biết và thực hiện.")],
        signatures=(("NGƯỜI NỘP HỒ SƠ", _addressee(dossier)), ("NGƯỜI TỪ CHỐI TIẾP NHẬN", official)),
    )
    return render_pdf(document, issued_at)


def apology(dossier: dict, procedure: Procedure, official: str, issued_at: datetime) -> bytes:
    """Form 04: the unit apologises for the delay and sets a new appointment."""
    letter = dossier["apology"]
    document = _document(
        dossier, procedure, "04", "PHIẾU XIN LỖI VÀ HẸN LẠI NGÀY TRẢ KẾT QUẢ", letter["apologised_at"],
        lines=[
            ("Kính gửi", _addressee(dossier)),
            ("", f"Vào lúc {vietnamese_time(dossier['received_at'])}, {procedure.receiving_agency_name} tiếp nhận "
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
