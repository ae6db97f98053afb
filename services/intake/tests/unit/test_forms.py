"""The forms follow the annex of Circular 03/2025: read back from the PDF with poppler."""
from __future__ import annotations

import subprocess
from datetime import datetime, timezone
from pathlib import Path

import pytest

from motcua_intake.adapters import forms
from motcua_intake.adapters.catalogue_file import load_catalogue
from motcua_intake.adapters.form_data import FormData
from motcua_testkit.plugin import DEMO_DATA

pytestmark = pytest.mark.skipif(subprocess.run(["which", "pdftotext"], capture_output=True).returncode != 0,
                                reason="poppler-utils is installed by make")
RECEIVED = datetime(2026, 12, 5, 7, 30, tzinfo=timezone.utc)  # 14:30 in Vietnam
DATA = FormData.load(DEMO_DATA)


def read_back(content: bytes, tmp_path: Path) -> str:
    path = tmp_path / "form.pdf"
    path.write_bytes(content)
    return " ".join(subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True,
                                   check=True).stdout.split())


def fonts(content: bytes, tmp_path: Path) -> str:
    path = tmp_path / "fonts.pdf"
    path.write_bytes(content)
    return subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True).stdout


def dossier(**changes) -> dict:  # type: ignore[no-untyped-def]
    procedure = load_catalogue(DEMO_DATA / "catalogue.yaml")[0].get("1.004873")
    view = {
        "id": "d", "code": "000.31.01.H45-261205-0007", "procedure_code": "1.004873", "channel": "desk",
        "applicant": {"full_name": "Nguyễn Văn An", "address": "Đồng Hới"}, "receiving_agency_code": "000.31.01.H45",
        "received_at": RECEIVED, "appointment_at": datetime(2026, 12, 10, 7, 30, tzinfo=timezone.utc),
        "components": [{"name": "Tờ khai", "code": "TO_KHAI", "paper_form": "original", "quantity": 2},
                       {"name": "Giấy chứng nhận kết hôn", "code": "GIAY_TO_HON_NHAN_TRUOC",
                        "paper_form": "certified_copy", "quantity": 1},
                       {"name": "Giấy tờ cũ", "code": ""}],
        "missing_components": [{"code": "TO_KHAI", "name": "Tờ khai"}], "supplement_reason": "Nộp tờ khai",
        "supplement_requested_at": RECEIVED, "refusal_reason": "Không thuộc thẩm quyền", "refused_at": RECEIVED,
        "header": DATA.header("000.31.01.H45", procedure.receiving_agency_name),
    }
    return {**view, **changes}, procedure


def test_every_form_has_its_number_the_motto_the_section_and_the_place_before_the_date(tmp_path):
    view, procedure = dossier()
    official = DATA.display_name("canbo07")
    view_apology = {**view, "apology": {"apologised_at": RECEIVED, "previous_due_at": RECEIVED,
                                        "new_due_at": RECEIVED, "reason": "Cần xác minh", "official": "canbo07"}}
    rendered = {"01": forms.receipt_and_appointment(view, procedure, official, RECEIVED),
                "02": forms.supplement_request(view, procedure, official, RECEIVED),
                "03": forms.refusal(view, procedure, official, RECEIVED),
                "04": forms.apology(view_apology, procedure, official, RECEIVED)}
    for number, content in rendered.items():
        text = read_back(content, tmp_path)
        for expected in (f"Mẫu số {number}", "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc",
                         "UBND PHƯỜNG ĐỒNG HỚI", "BỘ PHẬN MỘT CỬA", "Đồng Hới, ngày 05 tháng 12 năm 2026",
                         "Phạm Thị Lan"):
            assert expected in text, (number, expected)
        assert "canbo07" not in text
        used = fonts(content, tmp_path)
        assert "LiberationSerif" in used and "DejaVu" not in used, used  # Times New Roman's metrics


def test_the_receipt_lists_each_component_as_original_or_copy_with_its_quantity(tmp_path):
    view, procedure = dossier()
    text = read_back(forms.receipt_and_appointment(view, procedure, "Phạm Thị Lan", RECEIVED), tmp_path)
    assert "Tờ khai - Bản chính, số lượng: 02" in text
    assert "Giấy chứng nhận kết hôn - Bản sao chứng thực, số lượng: 01" in text
    assert "Giấy tờ cũ - Bản sao, số lượng: 01" in text  # not stated (older dossiers): a copy, one
    assert "Bộ phận Một cửa (UBND phường Đồng Hới) tiếp nhận hồ sơ của: Nguyễn Văn An" in text


def test_the_refusal_never_says_the_dossier_was_received(tmp_path):
    view, procedure = dossier()
    text = read_back(forms.refusal(view, procedure, "Phạm Thị Lan", RECEIVED), tmp_path)
    assert "PHIẾU TỪ CHỐI TIẾP NHẬN HỒ SƠ" in text and "không đủ điều kiện để tiếp nhận" in text
    assert "tiếp nhận hồ sơ của" not in text and "đã tiếp nhận" not in text
    assert "Không thuộc thẩm quyền" in text


def test_the_apology_letter_gives_the_time_as_it_is_said(tmp_path):
    view, procedure = dossier()
    letter = {"apologised_at": RECEIVED, "previous_due_at": RECEIVED, "new_due_at": RECEIVED,
              "reason": "Cần xác minh", "official": "canbo07"}
    text = read_back(forms.apology({**view, "apology": letter}, procedure, "Phạm Thị Lan", RECEIVED), tmp_path)
    assert "Vào lúc 14 giờ 30 phút, ngày 05/12/2026, UBND phường Đồng Hới tiếp nhận hồ sơ" in text
    assert "Ngày 14 giờ" not in text


def test_an_official_the_data_does_not_name_signs_by_hand_not_by_sign_in_name():
    assert DATA.display_name("canbo07") == "Phạm Thị Lan"
    assert DATA.display_name("someone.unknown") == ""
