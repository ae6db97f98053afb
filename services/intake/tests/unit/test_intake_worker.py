"""intake's nameko worker, one entrypoint at a time (nameko's worker_factory, an in-memory application):
the pull API serves intake's log, workflow's events reach their follower, audit calls reach the app."""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from types import SimpleNamespace
from unittest.mock import MagicMock
from uuid import uuid4

import pytest
from nameko.testing.services import worker_factory

from motcua_common.config.clock import FixedClock
from motcua_common.events.in_memory import RecordingFollower, in_memory_env, own_log
from motcua_common.events.published import wire_position
from motcua_testkit.plugin import run_in_patched_child
from motcua_common.runtime.nameko_deps import AppAndFollowers
from motcua_testkit.plugin import DEMO_DATA
from motcua_common.province.working_calendar import WorkingCalendar

from motcua_intake.adapters.catalogue_file import load_catalogue
from motcua_intake.adapters import published
from motcua_intake.adapters import published
from motcua_intake.application import IntakeApplication
from motcua_intake.entrypoints.service import IntakeService
from intake_memory import InMemoryNumbering, InMemoryVault
from intake_testkit import OFFICIAL, command


@pytest.fixture
def app():
    catalogue, code_format = load_catalogue(DEMO_DATA / "catalogue.yaml")
    app = IntakeApplication(env=in_memory_env(), province="test",
                            clock=FixedClock(datetime(2026, 11, 23, 1, 0, tzinfo=timezone.utc)), catalogue=catalogue,
                            calendar_for=lambda group: WorkingCalendar.from_data({}), numbering=InMemoryNumbering(),
                            vault=InMemoryVault(), code_format=code_format, render_receipt=lambda *a: b"")
    app.publication = published.publication()  # what the worker serves: intake's published events
    yield app
    app.close()


@pytest.fixture
def follower():
    return RecordingFollower(position=42)


@pytest.fixture
def service(app, follower):
    service = worker_factory(IntakeService, parts=AppAndFollowers(app, {"workflow": follower}))
    service.workflow.read_notifications.return_value = [{"id": 1}]
    return service


def test_read_notifications_serves_a_page_of_intakes_log(service, app):
    for _ in range(2):
        app.submit_dossier(command(), OFFICIAL)  # three events each
    first = service.read_notifications(1, 2)
    rest = service.read_notifications(wire_position(first[-1]) + 1, 10)  # the next page starts after the last
    published_positions = [e.position for e in own_log(app) if e.topic in app.publication.topics]
    assert [wire_position(n) for n in first + rest] == published_positions and len(published_positions) >= 2
    assert first == app.read_notifications(1, 2)
    assert service.head_position() == 6


def test_a_workflow_event_goes_to_workflows_follower_which_pulls_through_workflows_rpc(service, follower):
    service.on_workflow_event({"id": 7})
    assert follower.pushed == [{"id": 7}]
    assert follower.pulled == [[{"id": 1}]]
    service.workflow.read_notifications.assert_called_once_with(1, 10)


def test_the_poll_catches_up_through_workflows_rpc(service, follower):
    service.poll_upstreams()
    assert follower.pulled == [[{"id": 1}]]


def test_tracked_position_is_the_followers_for_workflow_and_zero_for_others(service):
    assert (service.tracked_position("workflow"), service.tracked_position("reporting")) == (42, 0)


def test_verify_history_asks_the_app_with_uuids_and_the_trusted_keys():
    audited = MagicMock()
    audited.verify_history.return_value = {"intact": True}
    service = worker_factory(IntakeService, parts=AppAndFollowers(audited, {}))
    ids = [uuid4(), uuid4()]
    assert service.verify_history([str(i) for i in ids], [3, 4]) == {"intact": True}
    audited.verify_history.assert_called_once_with(service.audit_keys.trust, ids, [3, 4])


@pytest.mark.parametrize("checkpoint, answer", [(SimpleNamespace(position=9), 9), (None, 0)])
def test_sign_checkpoint_now_answers_the_signed_position_or_zero(checkpoint, answer):
    audited = MagicMock()
    audited.sign_checkpoint.return_value = checkpoint
    service = worker_factory(IntakeService, parts=AppAndFollowers(audited, {}))
    assert service.sign_checkpoint_now() == answer
    audited.sign_checkpoint.assert_called_once_with(service.audit_keys.signer)


# The container runs in a child process (entrypoint_hook needs eventlet's monkey patching, which
# this test process must not have), on an in-memory application.
CONTAINER_SCRIPT = r'''
import json
from datetime import datetime, timezone
from unittest.mock import MagicMock
from nameko.containers import ServiceContainer
from nameko.testing.services import entrypoint_hook, entrypoint_waiter, replace_dependencies
from motcua_common.config.clock import FixedClock
from motcua_common.events.in_memory import RecordingFollower, in_memory_env
from motcua_common.runtime.nameko_deps import AppAndFollowers
from motcua_testkit.plugin import DEMO_DATA
from motcua_common.province.working_calendar import WorkingCalendar
from motcua_intake.adapters.catalogue_file import load_catalogue
from motcua_intake.adapters import published
from motcua_intake.application import IntakeApplication
from motcua_intake.entrypoints.service import IntakeService
from intake_memory import InMemoryNumbering, InMemoryVault
from intake_testkit import OFFICIAL, command

catalogue, code_format = load_catalogue(DEMO_DATA / "catalogue.yaml")
app = IntakeApplication(env=in_memory_env(), province="test",
                        clock=FixedClock(datetime(2026, 11, 23, 1, 0, tzinfo=timezone.utc)), catalogue=catalogue,
                        calendar_for=lambda group: WorkingCalendar.from_data({}), numbering=InMemoryNumbering(),
                        vault=InMemoryVault(), code_format=code_format, render_receipt=lambda *a: b"")
app.publication = published.publication()
dossier = app.submit_dossier(command(), OFFICIAL)
follower = RecordingFollower(position=4)
workflow = MagicMock()
workflow.read_notifications.return_value = [{"id": 1}]
container = ServiceContainer(IntakeService, {"AMQP_URI": "memory://"})
replace_dependencies(container, parts=AppAndFollowers(app, {"workflow": follower}), audit_keys=MagicMock(),
                     workflow=workflow)
out = {"dossier": str(dossier["id"])}
with entrypoint_hook(container, "read_notifications", timeout=10) as read_notifications:
    out["page"] = [n["ce_subject"] for n in read_notifications(1, 10)]
with entrypoint_hook(container, "head_position", timeout=10) as head_position:
    out["head"] = head_position()
with entrypoint_hook(container, "tracked_position", timeout=10) as tracked_position:
    out["tracked"] = [tracked_position("workflow"), tracked_position("reporting")]
with entrypoint_waiter(container, "on_workflow_event", timeout=10):
    container.spawn_worker(next(e for e in container.entrypoints if e.method_name == "on_workflow_event"),
                           ({"id": 2},), {})
out["pushed"], out["pulled"] = follower.pushed, follower.pulled
print(json.dumps(out))
'''


def test_the_entrypoints_serve_through_a_nameko_container():
    out = run_in_patched_child(CONTAINER_SCRIPT, str(Path(__file__).parents[1]))
    assert out["dossier"] in out["page"] and out["head"] == 3
    assert out["tracked"] == [4, 0]
    assert (out["pushed"], out["pulled"]) == ([{"id": 2}], [[{"id": 1}]])


def test_a_payment_event_goes_to_payments_follower_which_pulls_through_payments_rpc(app):
    followers = {"workflow": RecordingFollower(), "payment": RecordingFollower(position=7)}
    service = worker_factory(IntakeService, parts=AppAndFollowers(app, followers))
    service.payment.read_notifications.return_value = [{"id": 8}]
    service.on_payment_event({"id": 8})
    assert followers["payment"].pushed == [{"id": 8}] and followers["workflow"].pushed == []
    service.poll_upstreams()  # each follower pulls through its own upstream's RPC
    assert followers["payment"].pulled == [[{"id": 8}], [{"id": 8}]] and service.payment.read_notifications.call_count == 2
    assert len(followers["workflow"].pulled) == 1 and service.workflow.read_notifications.call_count == 1
    assert service.tracked_position("payment") == 7
