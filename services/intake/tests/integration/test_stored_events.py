"""What intake stores: the envelope on every event, no personal data in clear, a hash chain,
and nothing at all for a refused command."""
from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone
from uuid import UUID

import pytest

from motcua_common.errors import InvalidArgument, NotFound, RuleViolated
from motcua_common.events.store import GENESIS, first_broken_link, make_transcoder

from intake_testkit import OFFICIAL, command

pytestmark = pytest.mark.integration


def stored_events(app):  # type: ignore[no-untyped-def]
    return app.recorder.select_notifications(start=1, limit=100_000)


def test_every_event_carries_actor_dossier_province_and_both_times(intake_app):
    dossier = intake_app.submit_dossier(command(), OFFICIAL)
    events = stored_events(intake_app)
    assert {e.topic.rsplit(":", 1)[1] for e in events} == {"Dossier.Received", "DossierCode.Assigned",
                                                         "IdempotencyRecord.Recorded"}
    for e in events:
        state = make_transcoder().decode(e.state)
        envelope = state["envelope"]
        assert envelope["actor"] == {"kind": "official", "subject": "canbo07", "role": "one_stop_officer",
                                     "unit": "000.31.01.H45", "client": "desk-app", "on_behalf_of": ""}
        assert envelope["correlation_id"] == str(dossier["id"])
        assert envelope["province"] == intake_app.province
        assert datetime.fromisoformat(envelope["occurred_at"]) == dossier["received_at"]
        assert state["timestamp"] >= dossier["received_at"]
        assert len(envelope["prev_hash"]) == 64


def test_a_postal_dossier_entered_later_keeps_when_it_happened_apart_from_when_it_was_recorded(intake_app):
    posted = datetime.now(timezone.utc) - timedelta(days=2)
    dossier = intake_app.submit_dossier(command(channel="post", received_at=posted), OFFICIAL)
    received = next(e for e in stored_events(intake_app) if e.topic.endswith("Dossier.Received"))
    state = make_transcoder().decode(received.state)
    assert datetime.fromisoformat(state["envelope"]["occurred_at"]) == posted == dossier["received_at"]
    assert state["timestamp"] - posted > timedelta(days=1)


def test_personal_data_is_never_stored_in_clear(intake_app):
    c = command()
    intake_app.submit_dossier(c, OFFICIAL)
    raw = b"".join(e.state for e in stored_events(intake_app)).decode()
    for personal in (c.applicant.citizen_id, c.applicant.full_name, c.applicant.phone, c.applicant.email,
                     c.applicant.address):
        assert personal not in raw


def test_erasing_a_subject_makes_their_data_unreadable_and_leaves_history_intact(intake_app):
    dossier = intake_app.submit_dossier(command(), OFFICIAL)
    assert dossier["applicant"]["full_name"] == "Hoàng Văn Thái"
    stored = intake_app.repository.get(dossier["id"])
    intake_app.vault.erase(UUID(stored.applicant["subject_id"]))

    after = intake_app.get_dossier(dossier_id=dossier["id"])
    assert after["applicant"] == {} and after["code"] == dossier["code"]
    assert first_broken_link(intake_app.recorder, dossier["id"]) is None


def test_the_same_person_has_one_subject_id_and_it_does_not_reveal_the_id_number(intake_app):
    a = intake_app.submit_dossier(command(), OFFICIAL)
    b = intake_app.submit_dossier(command(procedure_code="1.004194"), OFFICIAL)
    subject_a = intake_app.repository.get(a["id"]).applicant["subject_id"]
    assert subject_a == intake_app.repository.get(b["id"]).applicant["subject_id"]
    assert "045088001122" not in subject_a.replace("-", "")


def test_each_aggregate_starts_its_hash_chain_at_genesis(intake_app):
    dossier = intake_app.submit_dossier(command(), OFFICIAL)
    for e in stored_events(intake_app):
        assert make_transcoder().decode(e.state)["envelope"]["prev_hash"] == GENESIS  # all are version 1 here
    assert first_broken_link(intake_app.recorder, dossier["id"]) is None


@pytest.mark.parametrize("changes, error", [
    ({"procedure_code": "9.999999"}, NotFound),
    ({"channel": "fax"}, InvalidArgument),
    ({"idempotency_key": ""}, InvalidArgument),
    ({"received_at": datetime.now(timezone.utc) + timedelta(days=3)}, InvalidArgument),
])
def test_a_refused_submission_stores_nothing(intake_app, changes, error):
    head = intake_app.head_position()
    with pytest.raises(error):
        intake_app.submit_dossier(command(**changes), OFFICIAL)
    assert intake_app.head_position() == head


def test_a_key_reused_for_another_request_is_refused_and_stores_nothing(intake_app):
    first = command()
    intake_app.submit_dossier(first, OFFICIAL)
    head = intake_app.head_position()
    with pytest.raises(RuleViolated):
        intake_app.submit_dossier(command(first.idempotency_key, procedure_code="1.004194"), OFFICIAL)
    assert intake_app.head_position() == head


def test_concurrent_retries_of_one_submission_make_one_dossier(intake_app):
    retried = command()
    results: list[dict] = []
    barrier = threading.Barrier(4)

    def submit() -> None:
        barrier.wait()
        results.append(intake_app.submit_dossier(retried, OFFICIAL))

    threads = [threading.Thread(target=submit) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(results) == 4 and len({r["id"] for r in results}) == 1
    received = [e for e in stored_events(intake_app) if e.topic.endswith("Dossier.Received")]
    assert len(received) == 1


def test_dossier_codes_follow_the_province_format_and_count_per_agency_per_day(intake_app):
    first = intake_app.submit_dossier(command(), OFFICIAL)
    second = intake_app.submit_dossier(command(), OFFICIAL)
    police = intake_app.submit_dossier(command(procedure_code="1.004194"), OFFICIAL)
    day = first["received_at"].astimezone(timezone(timedelta(hours=7))).strftime("%y%m%d")
    assert first["code"] == f"000.31.01.H45-{day}-0001"
    assert second["code"] == f"000.31.01.H45-{day}-0002"
    assert police["code"] == f"000.31.02.H45-{day}-0001"


def test_rotating_the_key_encryption_key_keeps_every_applicant_readable_only_with_the_new_key(intake_app, province):
    import os

    from motcua_common.runtime.service_setup import make_pool
    from motcua_common.privacy.sealing import SubjectVault
    from motcua_intake.application import ApplicantInput

    dossiers = [intake_app.submit_dossier(command(), OFFICIAL),
                intake_app.submit_dossier(command(applicant=ApplicantInput("Trịnh Công Sơn", "045039000111", "", "",
                                                                           "", "")), OFFICIAL)]
    new_kek = os.urandom(32)
    assert intake_app.vault.rewrap_all(new_kek) == 2

    settings = province.settings()
    pool = make_pool(settings)
    try:
        with_old = SubjectVault(pool, "intake", settings.subject_kek, settings.province)
        with_new = SubjectVault(pool, "intake", new_kek, settings.province)
        for dossier in dossiers:
            applicant = intake_app.repository.get(dossier["id"]).applicant
            assert with_new.unseal(UUID(applicant["subject_id"]), applicant["sealed"]) == dossier["applicant"]
            with pytest.raises(Exception):
                with_old.unseal(UUID(applicant["subject_id"]), applicant["sealed"])
    finally:
        pool.close()


def test_the_receipt_form_is_a_pdf_in_vietnamese_with_the_dossier_filled_in(intake_app, tmp_path):
    import subprocess

    dossier = intake_app.submit_dossier(command(), OFFICIAL)
    filename, content = intake_app.receipt_form(code=dossier["code"])
    assert content.startswith(b"%PDF") and filename == f"phieu-tiep-nhan-{dossier['code']}.pdf"
    path = tmp_path / filename
    path.write_bytes(content)
    layout = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True,
                            check=True).stdout
    text = " ".join(layout.split())
    assert any("Hoàng Văn Thái" in line and "Phạm Thị Lan" in line for line in layout.splitlines()), \
        "the two signatures stand side by side, the official's by name"
    for expected in ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc",
                     "GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ", dossier["code"], "Hoàng Văn Thái",
                     "Cấp Giấy xác nhận tình trạng hôn nhân", "Tờ khai", "3 ngày làm việc",
                     "NGƯỜI TIẾP NHẬN HỒ SƠ", "Phạm Thị Lan", "UBND PHƯỜNG ĐỒNG HỚI"):
        assert expected in text, expected
    assert "canbo07" not in text
