"""Invariant 4 in log order: the log chain and signed checkpoints find a changed, removed,
reordered or smuggled-in event by its position, and a chain rewritten to hide a change."""
from __future__ import annotations

import os
from datetime import datetime, timezone

import psycopg
import pytest

from motcua_common.audit.log import (GENESIS, LogVerifier, Signer, TrustedKeys, log_entry_hash,
                                     record_checkpoint)
from motcua_common.audit.log import audit_signer, audit_trust

from workflow_testkit import OFFICIAL, submit_dossiers

pytestmark = pytest.mark.integration
NOW = datetime(2026, 11, 20, 9, 0, tzinfo=timezone.utc)


@pytest.fixture
def workflow_log(apps, province):  # type: ignore[no-untyped-def]
    """workflow's log with a few processed cases, and a signed checkpoint over part of it."""
    intake, workflow, follower, settings = apps
    submit_dossiers(intake, 3)
    follower.catch_up(lambda start, limit: intake.read_notifications(start, limit))
    signer = audit_signer(settings)
    with psycopg.connect(province.conninfo, autocommit=True) as conn:
        first = record_checkpoint(conn, "workflow", "workflow", settings.province, signer, NOW)
    for dossier in submit_dossiers(intake, 2):
        follower.catch_up(lambda start, limit: intake.read_notifications(start, limit))
        case = workflow.get_case(dossier_id=dossier["id"])
        workflow.complete_step(os.urandom(8).hex(), case.id, 0, case.version, "ok", OFFICIAL)
    return workflow, settings, signer, first


def verify(province, settings, trusted=None):  # type: ignore[no-untyped-def]
    with psycopg.connect(province.conninfo, autocommit=True) as conn:
        return LogVerifier(conn, "workflow", "workflow", settings.province, trusted or audit_trust(settings)).verify_all()


def positions(province) -> list[int]:  # type: ignore[no-untyped-def]
    return [r[0] for r in province.query("SELECT notification_id FROM workflow.workflow_events ORDER BY 1")]


def test_every_stored_event_is_chained_in_log_order(workflow_log, province):
    workflow, settings, _, first = workflow_log
    rows = province.query("SELECT e.notification_id, e.originator_id, e.originator_version, e.topic, e.state, "
                          "c.entry_hash FROM workflow.workflow_events e JOIN workflow.log_chain c "
                          "ON c.position = e.notification_id ORDER BY 1")
    assert len(rows) == len(positions(province)) == workflow.head_position()
    previous = GENESIS
    for position, originator_id, version, topic, state, stored in rows:
        previous = log_entry_hash(previous, position, originator_id, version, topic, bytes(state))
        assert stored == previous
    report = verify(province, settings)
    assert report.broken is None
    assert report.events_checked == len(rows)
    assert report.checkpoints_checked == 1 and report.last_signed_position == first.position
    assert report.unsigned_events == len(rows) - first.position


def test_a_checkpoint_is_signed_only_when_the_log_moved(workflow_log, province):
    _, settings, signer, first = workflow_log
    with psycopg.connect(province.conninfo, autocommit=True) as conn:
        second = record_checkpoint(conn, "workflow", "workflow", settings.province, signer, NOW)
        assert second is not None and second.position > first.position
        assert record_checkpoint(conn, "workflow", "workflow", settings.province, signer, NOW) is None


def test_an_edited_event_is_reported_at_its_position(workflow_log, province):
    _, settings, _, _ = workflow_log
    target = positions(province)[2]
    province.query("UPDATE workflow.workflow_events SET state = convert_to(replace(convert_from(state, 'UTF8'), "
                   "'in_progress', 'completed'), 'UTF8') WHERE notification_id = %s RETURNING 1", (target,))
    broken = verify(province, settings).broken
    assert broken is not None and (broken.kind, broken.position) == ("changed", target)


def test_a_removed_last_event_is_noticed(workflow_log, province):
    _, settings, _, _ = workflow_log
    last = positions(province)[-1]
    province.query("DELETE FROM workflow.workflow_events WHERE notification_id = %s RETURNING 1", (last,))
    broken = verify(province, settings).broken
    assert broken is not None and (broken.kind, broken.position) == ("removed", last)


def test_removing_signed_events_with_their_chain_is_noticed_by_the_checkpoint(workflow_log, province):
    _, settings, _, first = workflow_log
    province.query("DELETE FROM workflow.workflow_events WHERE notification_id >= %s RETURNING 1", (first.position,))
    province.query("DELETE FROM workflow.log_chain WHERE position >= %s RETURNING 1", (first.position,))
    broken = verify(province, settings).broken
    assert broken is not None and (broken.kind, broken.position) == ("removed", first.position)


def test_two_events_swapped_in_the_log_are_reported_at_the_first(workflow_log, province):
    _, settings, _, _ = workflow_log
    a, b = positions(province)[3:5]
    province.query("UPDATE workflow.workflow_events SET notification_id = -1 WHERE notification_id = %s RETURNING 1", (a,))
    province.query("UPDATE workflow.workflow_events SET notification_id = %s WHERE notification_id = %s RETURNING 1",
                   (a, b))
    province.query("UPDATE workflow.workflow_events SET notification_id = %s WHERE notification_id = -1 RETURNING 1",
                   (b,))
    broken = verify(province, settings).broken
    assert broken is not None and (broken.kind, broken.position) == ("changed", a)


def test_an_event_inserted_behind_the_stores_back_is_unchained(workflow_log, province):
    _, settings, _, _ = workflow_log
    province.query("INSERT INTO workflow.workflow_events (originator_id, originator_version, topic, state) "
                   "SELECT gen_random_uuid(), 1, topic, state FROM workflow.workflow_events ORDER BY 1 LIMIT 1 "
                   "RETURNING 1")
    broken = verify(province, settings).broken
    assert broken is not None and (broken.kind, broken.position) == ("unchained", positions(province)[-1])


def test_a_rewritten_chain_still_misses_the_signed_checkpoint(workflow_log, province):
    _, settings, _, first = workflow_log
    target = positions(province)[1]
    assert target < first.position
    province.query("UPDATE workflow.workflow_events SET state = convert_to(replace(convert_from(state, 'UTF8'), "
                   "'in_progress', 'completed'), 'UTF8') WHERE notification_id = %s RETURNING 1", (target,))
    # The forger recomputes every stored chain hash from the edited events on...
    previous = GENESIS
    for position, originator_id, version, topic, state in province.query(
            "SELECT notification_id, originator_id, originator_version, topic, state FROM workflow.workflow_events "
            "ORDER BY 1"):
        previous = log_entry_hash(previous, position, originator_id, version, topic, bytes(state))
        province.query("UPDATE workflow.log_chain SET entry_hash = %s WHERE position = %s RETURNING 1",
                       (previous, position))
    # ...but cannot re-sign the checkpoint without the key, which is not in the database.
    broken = verify(province, settings).broken
    assert broken is not None and (broken.kind, broken.position) == ("checkpoint_mismatch", first.position)


def test_a_checkpoint_signed_by_an_untrusted_key_is_refused(workflow_log, province):
    _, settings, _, first = workflow_log
    forger = Signer(os.urandom(32))
    stranger = TrustedKeys([forger.public_key])
    broken = verify(province, settings, trusted=stranger).broken
    assert broken is not None and (broken.kind, broken.position) == ("bad_signature", first.position)


def test_verifying_a_few_positions_reads_only_their_signed_segments(workflow_log, province):
    _, settings, _, first = workflow_log
    late = positions(province)[-1]
    with psycopg.connect(province.conninfo, autocommit=True) as conn:
        report = LogVerifier(conn, "workflow", "workflow", settings.province,
                             audit_trust(settings)).verify_positions([late])
    assert report.broken is None
    assert report.events_checked == late - first.position  # from the checkpoint before it, not from 0


def test_checkpoints_wait_for_enough_events_or_enough_time(workflow_log, province):
    from datetime import timedelta

    _, settings, signer, first = workflow_log
    with psycopg.connect(province.conninfo, autocommit=True) as conn:
        args = (conn, "workflow", "workflow", settings.province, signer)
        assert record_checkpoint(*args, NOW, min_events=10_000, max_age=timedelta(hours=1)) is None
        later = record_checkpoint(*args, NOW + timedelta(hours=2), min_events=10_000, max_age=timedelta(hours=1))
        assert later is not None and later.position > first.position


def test_a_verification_across_adjacent_segments_counts_each_checkpoint_once(workflow_log, province):
    """VerifyHistory's figure: never more checkpoints than the log holds (the one between two
    segments ends the first and starts the second)."""
    _, settings, signer, first = workflow_log
    with psycopg.connect(province.conninfo, autocommit=True) as conn:
        second = record_checkpoint(conn, "workflow", "workflow", settings.province, signer, NOW)
        verifier = LogVerifier(conn, "workflow", "workflow", settings.province, audit_trust(settings))
        around_both = verifier.verify_positions([first.position, first.position + 1])
        whole = verifier.verify_all()
    assert second is not None and around_both.broken is None and whole.broken is None
    assert whole.checkpoints_checked == 2  # what `motcua-audit verify-log` reports for the whole log
    assert around_both.checkpoints_checked == 2 and around_both.last_signed_position == second.position
