"""A consumer that cannot apply an event says so (issue 17, 1c): it applies everything before the
event, stays at its position, and reports where, since when and why in its health, its metrics and
its log; once the event can be applied it moves on and the report clears."""
from __future__ import annotations

import pytest

from motcua_common.events.consumer import UpstreamFollower, observations
from motcua_common.observability.logs import configure
from motcua_common.events.published import wire_position, wire_previous
from motcua.intake.events.v1 import events_pb2 as intake_events

from workflow_testkit import submit_dossiers

pytestmark = pytest.mark.integration


class PolicyFailingAt:
    handles = frozenset({intake_events.DossierReceived.DESCRIPTOR.full_name})

    def __init__(self, position: int) -> None:
        self.position = position
        self.applied: list[int] = []

    def __call__(self, event, work) -> None:  # type: ignore[no-untyped-def]
        if event.position == self.position:
            raise ValueError("cannot apply this one")
        self.applied.append(event.position)


def reader(intake):  # type: ignore[no-untyped-def]
    return lambda start, limit: intake.read_notifications(start, limit)


def stuck_gauges(follower) -> dict[str, float]:  # type: ignore[no-untyped-def]
    return {name: value for name, value, labels in observations()
            if labels == {"consumer": "workflow", "upstream": follower.upstream} and "stuck" in name}


def test_a_consumer_that_cannot_apply_an_event_reports_itself_stuck_at_its_position(apps, capsys):
    intake, workflow, _, settings = apps
    configure(service="workflow", process="worker")
    submit_dossiers(intake, 3)
    published = intake.read_notifications(1, 1000)
    received = [w for w in published if w["ce_type"] == intake_events.DossierReceived.DESCRIPTOR.full_name]
    bad = wire_position(received[1])
    policy = PolicyFailingAt(bad)
    follower = UpstreamFollower(workflow, "intake-stuck-test", policy, clock=workflow.clock,
                                province=settings.province)

    assert follower.catch_up(reader(intake)) == 0
    follower.catch_up(reader(intake))  # retried: still stuck, same since

    assert follower.position() == wire_previous(received[1]), "everything before the event is applied"
    health = follower.health()
    assert health["status"] == "stuck"
    assert health["stuck"]["position"] == bad and "cannot apply this one" in health["stuck"]["error"]
    gauges = stuck_gauges(follower)
    assert gauges["motcua.consumer.stuck_position"] == bad
    assert gauges["motcua.consumer.stuck_since"] == health["stuck"]["since"] > 0
    stuck_lines = [line for line in capsys.readouterr().out.splitlines() if '"consumer_stuck"' in line]
    assert len(stuck_lines) == 2 and f'"position": {bad}' in stuck_lines[0]

    policy.position = -1  # the cause is fixed (e.g. a new release): it moves on
    follower.catch_up(reader(intake))

    assert follower.position() == wire_position(published[-1])
    assert follower.health()["status"] == "applying"
    assert stuck_gauges(follower) == {"motcua.consumer.stuck_position": 0, "motcua.consumer.stuck_since": 0}
