"""Helpers for workflow's tests."""
from __future__ import annotations

import uuid

from motcua_common.events.context import Actor

OFFICIAL = Actor(kind="official", subject="canbo01", role="one_stop_officer", unit="000.31.01.H45", client="test")


def submit_dossiers(intake, count: int, procedure: str = "1.004873") -> list[dict]:  # type: ignore[no-untyped-def]
    from motcua_intake.application import ApplicantInput, SubmitDossier

    dossiers = []
    for i in range(count):
        command = SubmitDossier(
            idempotency_key=uuid.uuid4().hex, procedure_code=procedure, channel="desk",
            applicant=ApplicantInput(f"Nguyễn Văn {i}", f"0450900{i:05d}", "", "", "", ""),
            components=[{"name": "Tờ khai", "sha256": "a" * 64, "size_bytes": 10, "media_type": "application/pdf",
                         "code": "TO_KHAI"}],
        )
        dossiers.append(intake.submit_dossier(command, OFFICIAL))
    return dossiers


def case_counts(workflow) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """How many Case.Opened events each dossier has in workflow's store."""
    counts: dict[str, int] = {}
    for n in workflow.recorder.select_notifications(start=1, limit=1_000_000):
        if n.topic.endswith(":Case.Opened"):
            event = workflow.decode(n)
            counts[str(event.dossier_id)] = counts.get(str(event.dossier_id), 0) + 1
    return counts


def dossier_ids(intake) -> set[str]:  # type: ignore[no-untyped-def]
    return {str(n.originator_id) for n in intake.recorder.select_notifications(start=1, limit=1_000_000)
            if n.topic.endswith(":Dossier.Received")}


