"""Invariant 4 (per aggregate): an edited or removed stored event breaks its successor's link."""
from __future__ import annotations

import pytest

from motcua_common.events.store import first_broken_link

from workflow_testkit import OFFICIAL, submit_dossiers

pytestmark = pytest.mark.integration


@pytest.fixture
def processed_case(apps):  # type: ignore[no-untyped-def]
    intake, workflow, follower, _ = apps
    dossier = submit_dossiers(intake, 1)[0]
    follower.catch_up(lambda start, limit: intake.read_notifications(start, limit))
    case = workflow.get_case(dossier_id=dossier["id"])
    for step in range(3):
        case = workflow.complete_step(f"chain-{step}", case.id, step, case.version, "ok", OFFICIAL)
    return workflow, case


def test_an_untouched_history_verifies(processed_case):
    workflow, case = processed_case
    assert case.version >= 6
    assert first_broken_link(workflow.recorder, case.id) is None


def test_an_edited_event_is_found_at_its_successor(processed_case, province):
    workflow, case = processed_case
    # The first completed step's event: which version it has depends on what the case recorded before it
    # (e.g. MarkedDueSoon first, on a day when the calendar puts the deadline close), so it is looked up,
    # not assumed.
    edited = province.query(
        "UPDATE workflow.workflow_events SET state = convert_to(replace(convert_from(state, 'UTF8'), "
        "'\"note\":\"ok\"', '\"note\":\"changed\"'), 'UTF8') "
        "WHERE originator_id = %s AND originator_version = (SELECT min(originator_version) "
        "FROM workflow.workflow_events WHERE originator_id = %s AND convert_from(state, 'UTF8') LIKE '%%\"note\":\"ok\"%%') "
        "RETURNING originator_version", (case.id, case.id))
    assert len(edited) == 1
    assert first_broken_link(workflow.recorder, case.id) == edited[0][0] + 1


def test_a_removed_event_is_found_where_it_is_missing(processed_case, province):
    workflow, case = processed_case
    province.query("DELETE FROM workflow.workflow_events WHERE originator_id = %s AND originator_version = 4 "
                   "RETURNING 1", (case.id,))
    assert first_broken_link(workflow.recorder, case.id) == 4
