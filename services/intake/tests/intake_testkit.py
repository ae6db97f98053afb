"""Helpers for intake's tests."""
from __future__ import annotations

import uuid

from motcua_common.context import Actor

OFFICIAL = Actor(kind="official", subject="canbo07", role="one_stop_officer", unit="000.31.01.H45",
                 client="desk-app", on_behalf_of="")


def command(key: str | None = None, **changes):  # type: ignore[no-untyped-def]
    from motcua_intake.application import ApplicantInput, SubmitDossier

    values = dict(
        idempotency_key=key or uuid.uuid4().hex, procedure_code="1.004873", channel="desk",
        applicant=ApplicantInput("Hoàng Văn Thái", "045088001122", "", "0987654321", "thai@example.vn",
                                 "Số 12 đường Lý Thường Kiệt, phường Đồng Hới"),
        components=[{"name": "Tờ khai", "sha256": "c" * 64, "size_bytes": 1, "media_type": "application/pdf"}],
    )
    values.update(changes)
    return SubmitDossier(**values)
