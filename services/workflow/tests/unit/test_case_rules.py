"""A case's steps are completed one at a time, in order, and a processed case is closed."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from uuid import uuid4

import pytest

from motcua_common.clock import FixedClock
from motcua_common.context import Actor, CommandContext, command_context, concerning
from motcua_common.errors import InvalidArgument, RuleViolated
from motcua_common.testing import DEMO_DATA

from motcua_workflow.adapters.templates_file import load_templates
from motcua_workflow.domain.case import PROCESSED, Case

START = datetime(2026, 11, 23, 1, 0, tzinfo=timezone.utc)
CLOCK = FixedClock(START)


@pytest.fixture
def case():
    dossier_id = uuid4()
    plan = load_templates(DEMO_DATA / "process_templates.yaml").plan("1.004873", "000.31.01.H45", 3)
    ctx = CommandContext(Actor(kind="system", subject="test"), "test", CLOCK)
    with command_context(ctx), concerning(dossier_id):
        yield Case.open("test", dossier_id, "X-261123-0001", "1.004873", "000.31.01.H45",
                        START, START + timedelta(days=3), plan, START)


def test_a_case_opens_on_its_first_step_with_the_deadline_shared_between_steps(case):
    assert case.current_step == 0 and case.steps[0]["status"] == "in_progress"
    assert sum(s["allotted_working_hours"] for s in case.steps) == pytest.approx(24)
    assert case.national_status == 4


def test_completing_the_current_step_starts_the_next(case):
    case.complete_step(0, by="canbo", note="", now=CLOCK.now())
    assert case.steps[0]["status"] == "completed" and case.current_step == 1
    assert case.steps[1]["status"] == "in_progress"


def test_a_step_cannot_be_completed_twice_or_before_its_turn(case):
    case.complete_step(0, by="canbo", note="", now=CLOCK.now())
    with pytest.raises(RuleViolated, match="already completed"):
        case.complete_step(0, by="canbo", note="", now=CLOCK.now())
    with pytest.raises(RuleViolated, match="not started yet"):
        case.complete_step(2, by="canbo", note="", now=CLOCK.now())
    with pytest.raises(InvalidArgument):
        case.complete_step(9, by="canbo", note="", now=CLOCK.now())


def test_completing_the_last_step_processes_the_case_and_closes_it(case):
    for i in range(len(case.steps)):
        case.complete_step(i, by="canbo", note="", now=CLOCK.now())
    assert case.status == PROCESSED and case.national_status == 9
    with pytest.raises(RuleViolated, match="already processed"):
        case.complete_step(len(case.steps) - 1, by="canbo", note="", now=CLOCK.now())


def test_the_case_id_is_derived_from_the_dossier_so_a_second_opening_cannot_be_stored():
    dossier_id = uuid4()
    assert Case.id_for("quang-tri", dossier_id) == Case.id_for("quang-tri", dossier_id)
    assert Case.id_for("quang-tri", dossier_id) != Case.id_for("quang-ngai", dossier_id)
