"""evaluation's nameko worker, one entrypoint at a time (nameko's worker_factory, an in-memory
application): each upstream's events reach its own follower, which pulls from that upstream only."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from nameko.testing.services import worker_factory

from motcua_common.config.clock import FixedClock
from motcua_common.events.in_memory import RecordingFollower, in_memory_env
from motcua_common.runtime.nameko_deps import AppAndFollowers

from motcua_evaluation.adapters.methodology_file import load_methodology
from motcua_evaluation.application import EvaluationApplication
from motcua_evaluation.bootstrap import UPSTREAMS
from motcua_evaluation.entrypoints.service import EvaluationService


class NoFacts:
    def get(self, dossier_id, as_of=None):  # type: ignore[no-untyped-def]
        return None

    def all(self, as_of=None):  # type: ignore[no-untyped-def]
        return []


@pytest.fixture
def app():
    app = EvaluationApplication(env=in_memory_env(), province="test",
                                clock=FixedClock(datetime(2026, 11, 23, 1, tzinfo=timezone.utc)),
                                methodology=load_methodology(), facts=NoFacts(), vault=None)  # type: ignore[arg-type]
    yield app
    app.close()


@pytest.fixture
def followers():
    return {upstream: RecordingFollower(position=n) for n, upstream in enumerate(UPSTREAMS, 1)}


@pytest.fixture
def service(app, followers):
    service = worker_factory(EvaluationService, parts=AppAndFollowers(app, followers))
    for upstream in UPSTREAMS:
        getattr(service, upstream).read_notifications.return_value = [{"id": upstream}]
    return service


def test_each_upstreams_event_wakes_its_own_follower_which_pulls_from_that_upstream(service, followers):
    service.on_intake_event({"ce_motcuaposition": 1})
    service.on_workflow_event({"ce_motcuaposition": 2})
    service.on_payment_event({"ce_motcuaposition": 3})
    assert [followers[u].woken for u in UPSTREAMS] == [[1], [2], [3]]
    assert [followers[u].pulled for u in UPSTREAMS] == [[[{"id": u}]] for u in UPSTREAMS]


def test_the_poll_catches_up_every_upstream(service, followers):
    service.poll_upstreams()
    assert all(len(f.pulled) == 1 for f in followers.values())


def test_positions_and_the_own_log(service, app):
    assert [service.tracked_position(u) for u in (*UPSTREAMS, "reporting")] == [1, 2, 3, 0]
    assert service.read_notifications(1, 10) == app.read_notifications(1, 10) == []
