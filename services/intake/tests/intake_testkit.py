"""Helpers for intake's tests."""
from __future__ import annotations

import uuid

from motcua_common.events.context import Actor

OFFICIAL = Actor(kind="official", subject="canbo07", role="one_stop_officer", unit="000.31.01.H45",
                 client="desk-app", on_behalf_of="")


def command(key: str | None = None, **changes):  # type: ignore[no-untyped-def]
    from motcua_intake.application import ApplicantInput, SubmitDossier

    values = dict(
        idempotency_key=key or uuid.uuid4().hex, procedure_code="1.004873", channel="desk",
        applicant=ApplicantInput("Hoàng Văn Thái", "045088001122", "", "0987654321", "thai@example.vn",
                                 "Số 12 đường Lý Thường Kiệt, phường Đồng Hới"),
        components=[{"name": "Tờ khai", "sha256": "c" * 64, "size_bytes": 1, "media_type": "application/pdf",
                     "code": "TO_KHAI"}],
    )
    values.update(changes)
    return SubmitDossier(**values)


def pdf_text(content: bytes, tmp_path) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    """(layout text, text with whitespace collapsed) of a PDF, read back with poppler's pdftotext."""
    import subprocess

    path = tmp_path / f"{uuid.uuid4().hex}.pdf"
    path.write_bytes(content)
    layout = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True,
                            check=True).stdout
    return layout, " ".join(layout.split())
