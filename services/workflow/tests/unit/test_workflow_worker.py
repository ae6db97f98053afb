"""workflow's nameko worker, one entrypoint at a time (nameko's worker_factory, an in-memory application):
the pull API serves workflow's log, intake's events reach their follower, the schedulers mark cases."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from unittest.mock import MagicMock

import pytest
from nameko.testing.services import worker_factory

from motcua_common.config.clock import FixedClock
from motcua_common.events.in_memory import RecordingFollower, in_memory_env
from motcua_common.events.published import wire_position
from motcua_testkit.plugin import run_in_patched_child
from motcua_testkit.plugin import DEMO_DATA
from motcua_common.province.working_calendar import WorkingCalendar

from motcua_workflow.adapters.templates_file import load_templates
from motcua_workflow.application import WorkflowApplication
from motcua_workflow.adapters import published
from motcua_workflow.entrypoints.service import WorkflowService, workflow_parts
from workflow_memory import InMemoryCaseQueue, InMemoryResultStore, open_test_case

START = datetime(2026, 11, 23, 1, 0, tzinfo=timezone.utc)
CALENDAR = WorkingCalendar.from_data({})
UNIT = "000.31.01.H45"
PLAN = load_templates(DEMO_DATA / "process_templates.yaml").plan("1.004873", UNIT, 3)


@pytest.fixture
def clock():
    return FixedClock(START)


@pytest.fixture
def app(clock):
    app = WorkflowApplication(env=in_memory_env(), province="test", clock=clock, queue=InMemoryCaseQueue(),
                              result_files=InMemoryResultStore(), calendar=CALENDAR)
    app.publication = published.publication()  # what the worker serves: workflow's published events
    yield app
    app.close()


@pytest.fixture
def follower():
    return RecordingFollower(position=5)


@pytest.fixture
def service(app, follower):
    service = worker_factory(WorkflowService, parts=workflow_parts(app, {"intake": follower}))
    service.intake.read_notifications.return_value = [{"id": 1}]
    return service


def test_read_notifications_serves_a_page_of_workflows_log(service, app):
    cases = [open_test_case(app, PLAN, CALENDAR, 3, UNIT) for _ in range(3)]
    page = service.read_notifications(2, 2)
    assert [wire_position(n) for n in page] == [2, 3]
    assert [n["ce_subject"] for n in page] == [str(c.dossier_id) for c in cases[1:]]
    assert service.head_position() == 3


def test_an_intake_event_goes_to_intakes_follower_which_pulls_through_intakes_rpc(service, follower):
    service.on_intake_event({"id": 4})
    service.poll_upstreams()
    assert follower.pushed == [{"id": 4}]
    assert follower.pulled == [[{"id": 1}], [{"id": 1}]]
    assert service.intake.read_notifications.call_count == 2


def test_tracked_position_is_the_followers_for_intake_and_zero_for_others(service):
    assert (service.tracked_position("intake"), service.tracked_position("workflow")) == (5, 0)


def test_a_payment_event_goes_to_payments_follower_which_pulls_through_payments_rpc(app):
    intake, payment = RecordingFollower(position=5), RecordingFollower(position=7)
    service = worker_factory(WorkflowService, parts=workflow_parts(app, {"intake": intake, "payment": payment}))
    service.payment.read_notifications.return_value = [{"id": 2}]
    service.on_payment_event({"id": 8})
    assert payment.pushed == [{"id": 8}] and intake.pushed == [] and not service.intake.read_notifications.called
    service.poll_upstreams()  # each follower pulls through its own upstream's RPC
    assert payment.pulled == [[{"id": 2}], [{"id": 2}]] and service.payment.read_notifications.call_count == 2
    assert len(intake.pulled) == 1 and service.intake.read_notifications.call_count == 1
    assert (service.tracked_position("payment"), service.tracked_position("intake")) == (7, 5)


def test_the_overdue_timer_marks_cases_past_their_due_time(service, app, clock):
    case = open_test_case(app, PLAN, CALENDAR, 1, UNIT)
    service.mark_overdue_cases()
    assert not app.get_case(case.id).overdue
    clock.advance(timedelta(days=3))
    service.mark_overdue_cases()
    assert app.get_case(case.id).overdue


def test_the_due_soon_timer_uses_the_configured_working_hours():
    audited = MagicMock()
    audited.mark_due_soon_cases.return_value = 0
    service = worker_factory(WorkflowService, parts=workflow_parts(audited, {}, due_soon_working_hours=4))
    service.mark_due_soon_cases()
    audited.mark_due_soon_cases.assert_called_once_with(timedelta(hours=4))


# The container runs in a child process (entrypoint_hook needs eventlet's monkey patching, which
# this test process must not have), on the same in-memory application.
CONTAINER_SCRIPT = r'''
import json
from datetime import datetime, timedelta, timezone
from unittest.mock import MagicMock
from nameko.containers import ServiceContainer
from nameko.testing.services import entrypoint_hook, entrypoint_waiter, replace_dependencies
from motcua_common.config.clock import FixedClock
from motcua_common.events.in_memory import RecordingFollower, in_memory_env
from motcua_testkit.plugin import DEMO_DATA
from motcua_common.province.working_calendar import WorkingCalendar
from motcua_workflow.adapters.templates_file import load_templates
from motcua_workflow.application import WorkflowApplication
from motcua_workflow.adapters import published
from motcua_workflow.entrypoints.service import WorkflowService, workflow_parts
from workflow_memory import InMemoryCaseQueue, InMemoryResultStore, open_test_case

clock = FixedClock(datetime(2026, 11, 23, 1, 0, tzinfo=timezone.utc))
calendar = WorkingCalendar.from_data({})
app = WorkflowApplication(env=in_memory_env(), province="test", clock=clock, queue=InMemoryCaseQueue(),
                          result_files=InMemoryResultStore(), calendar=calendar)
app.publication = published.publication()
plan = load_templates(DEMO_DATA / "process_templates.yaml").plan("1.004873", "000.31.01.H45", 3)
case = open_test_case(app, plan, calendar, 1, "000.31.01.H45")
follower = RecordingFollower(position=3)
container = ServiceContainer(WorkflowService, {"AMQP_URI": "memory://"})
intake = MagicMock()
intake.read_notifications.return_value = [{"id": 1}]
replace_dependencies(container, parts=workflow_parts(app, {"intake": follower}), audit_keys=MagicMock(),
                     intake=intake)
out = {}
with entrypoint_hook(container, "read_notifications", timeout=10) as read_notifications:
    out["page"] = [n["ce_subject"] for n in read_notifications(1, 10)]
with entrypoint_hook(container, "head_position", timeout=10) as head_position:
    out["head"] = head_position()
with entrypoint_hook(container, "tracked_position", timeout=10) as tracked_position:
    out["tracked"] = tracked_position("intake")
with entrypoint_waiter(container, "on_intake_event", timeout=10):
    container.spawn_worker(next(e for e in container.entrypoints if e.method_name == "on_intake_event"),
                           ({"id": 2},), {})
out["pushed"] = follower.pushed
clock.advance(timedelta(days=3))
with entrypoint_hook(container, "mark_overdue_cases", timeout=10) as mark_overdue_cases:
    mark_overdue_cases()
out["overdue"] = app.get_case(case.id).overdue
out["case"] = str(case.dossier_id)  # a published event's subject is its dossier
print(json.dumps(out))
'''


def test_the_entrypoints_serve_through_a_nameko_container():
    out = run_in_patched_child(CONTAINER_SCRIPT, str(Path(__file__).parents[1]))
    assert out["page"] == [out["case"]] and out["head"] == 1 and out["tracked"] == 3
    assert out["pushed"] == [{"id": 2}]
    assert out["overdue"] is True
