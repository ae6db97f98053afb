"""reporting's nameko worker, one entrypoint at a time (nameko's worker_factory, an in-memory application):
each upstream's events reach its follower, which pulls from that upstream (reporting's own log directly)."""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from uuid import uuid4

import pytest
from nameko.testing.services import worker_factory

from motcua_common.audit.log import Signer, TrustedKeys
from motcua_common.config.clock import FixedClock
from motcua_common.events.context import Actor
from motcua_common.events.in_memory import RecordingFollower, in_memory_env
from motcua_testkit.plugin import run_in_patched_child
from motcua_common.runtime.nameko_deps import AppAndFollowers

from motcua_reporting.application import ReportingApplication
from motcua_common.audit.access import DossierRead
from motcua_common.events.published import Publication, map_dossier_read
from motcua_reporting.entrypoints.service import ReportingService
from reporting_memory import InMemoryHistories

SIGNER = Signer(b"\x07" * 32)


@pytest.fixture
def app():
    app = ReportingApplication(env=in_memory_env(), province="test",
                               clock=FixedClock(datetime(2026, 11, 23, 1, 0, tzinfo=timezone.utc)),
                               histories=InMemoryHistories(), signer=SIGNER, trust=TrustedKeys([SIGNER.public_key]),
                               verify_source=lambda *args: {})
    app.publication = Publication("reporting", {DossierRead.Recorded: map_dossier_read})
    app.record_read(Actor(kind="official", subject="tt01"), uuid4(), "C-1", "audit.StreamHistory")
    yield app
    app.close()


@pytest.fixture
def followers():
    return {upstream: RecordingFollower(position=n)
            for n, upstream in enumerate(("intake", "workflow", "reporting", "payment", "evaluation"), 1)}


@pytest.fixture
def service(app, followers):
    service = worker_factory(ReportingService, parts=AppAndFollowers(app, followers))
    service.intake.read_notifications.return_value = [{"id": "intake"}]
    service.workflow.read_notifications.return_value = [{"id": "workflow"}]
    service.payment.read_notifications.return_value = [{"id": "payment"}]
    service.evaluation.read_notifications.return_value = [{"id": "evaluation"}]
    return service


def test_each_upstreams_event_goes_to_its_follower_which_pulls_from_that_upstream(service, followers):
    service.on_intake_event({"ce_motcuaposition": 1})
    service.on_workflow_event({"ce_motcuaposition": 2})
    # a push only wakes the follower up to its position (the pull brings the audit records)
    assert (followers["intake"].woken, followers["workflow"].woken) == ([1], [2])
    assert (followers["intake"].pulled, followers["workflow"].pulled) == ([[{"id": "intake"}]], [[{"id": "workflow"}]])


def test_payments_events_reach_its_follower_which_pulls_them_with_their_audit_records(service, followers):
    service.on_payment_event({"ce_motcuaposition": 4})
    assert followers["payment"].woken == [4] and followers["payment"].pulled == [[{"id": "payment"}]]
    assert service.payment.read_notifications.call_args.args[2] is True  # with_audit: the stored events too


def test_evaluations_events_reach_its_follower_which_pulls_them_with_their_audit_records(service, followers):
    """A rating (and evaluation's recorded reads) reach the dossier's history through evaluation's worker."""
    service.on_evaluation_event({"ce_motcuaposition": 5})
    assert followers["evaluation"].woken == [5] and followers["evaluation"].pulled == [[{"id": "evaluation"}]]
    assert service.evaluation.read_notifications.call_args.args[2] is True


def test_reportings_own_reads_are_pulled_from_its_own_log_not_through_rpc(service, app, followers):
    service.on_own_event({"ce_motcuaposition": 1})
    assert followers["reporting"].pulled == [app.read_notifications(1, 10, with_audit=True)]
    assert len(followers["reporting"].pulled[0]) == 1
    assert not service.intake.read_notifications.called and not service.workflow.read_notifications.called


def test_the_poll_catches_up_every_upstream(service, followers):
    service.poll_upstreams()
    assert all(len(f.pulled) == 1 for f in followers.values())


def test_read_notifications_and_positions(service, app):
    assert service.read_notifications(1, 10) == app.read_notifications(1, 10)
    assert service.head_position() == 1
    assert [service.tracked_position(u) for u in ("intake", "workflow", "reporting", "payment", "other")] == [1, 2, 3, 4, 0]


# The container runs in a child process (entrypoint_hook needs eventlet's monkey patching, which
# this test process must not have), on an in-memory application.
CONTAINER_SCRIPT = r'''
import json
from datetime import datetime, timezone
from unittest.mock import MagicMock
from uuid import uuid4
from nameko.containers import ServiceContainer
from nameko.testing.services import entrypoint_hook, entrypoint_waiter, replace_dependencies
from motcua_common.audit.log import Signer, TrustedKeys
from motcua_common.config.clock import FixedClock
from motcua_common.events.context import Actor
from motcua_common.audit.access import DossierRead
from motcua_common.events.in_memory import RecordingFollower, in_memory_env
from motcua_common.runtime.nameko_deps import AppAndFollowers
from motcua_common.events.published import Publication, map_dossier_read, wire_position
from motcua_reporting.application import ReportingApplication
from motcua_reporting.entrypoints.service import ReportingService
from reporting_memory import InMemoryHistories

signer = Signer(b"\x07" * 32)
app = ReportingApplication(env=in_memory_env(), province="test",
                           clock=FixedClock(datetime(2026, 11, 23, 1, 0, tzinfo=timezone.utc)),
                           histories=InMemoryHistories(), signer=signer, trust=TrustedKeys([signer.public_key]),
                           verify_source=lambda *args: {})
app.publication = Publication("reporting", {DossierRead.Recorded: map_dossier_read})
app.record_read(Actor(kind="official", subject="tt01"), uuid4(), "C-1", "audit.StreamHistory")
followers = {u: RecordingFollower(position=n) for n, u in enumerate(("intake", "workflow", "reporting", "payment"), 1)}
container = ServiceContainer(ReportingService, {"AMQP_URI": "memory://"})
replace_dependencies(container, parts=AppAndFollowers(app, followers), audit_keys=MagicMock(),
                     intake=MagicMock(), workflow=MagicMock(), payment=MagicMock())
out = {}
with entrypoint_hook(container, "read_notifications", timeout=10) as read_notifications:
    out["page"] = [wire_position(n) for n in read_notifications(1, 10)]
with entrypoint_hook(container, "tracked_position", timeout=10) as tracked_position:
    out["tracked"] = [tracked_position(u) for u in ("intake", "workflow", "reporting", "payment", "other")]
with entrypoint_waiter(container, "on_own_event", timeout=10):
    container.spawn_worker(next(e for e in container.entrypoints if e.method_name == "on_own_event"),
                           ({"ce_motcuaposition": 1},), {})
out["own_pulled"] = [[wire_position(n) for n in page] for page in followers["reporting"].pulled]
print(json.dumps(out))
'''


def test_the_entrypoints_serve_through_a_nameko_container():
    out = run_in_patched_child(CONTAINER_SCRIPT, str(Path(__file__).parents[1]))
    assert out == {"page": [1], "tracked": [1, 2, 3, 4, 0], "own_pulled": [[1]]}
