"""Time is an input: outside production the province's clock can be moved forward, and every
process of the province reads the same time from it."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from motcua_common.clock import ClockMovedBackwards
from motcua_common.eventstore import make_transcoder

from intake_testkit import OFFICIAL, command

pytestmark = pytest.mark.integration


@pytest.fixture
def settable(province):  # type: ignore[no-untyped-def]
    from motcua_intake.bootstrap import bootstrap, setup_schema

    operator = province.use_settable_clock()
    settings = province.settings()
    setup_schema(settings)
    app = bootstrap(settings)
    yield app, operator
    app.close()


def test_events_and_deadlines_follow_the_moved_clock(settable):
    app, operator = settable
    operator.advance(timedelta(days=30))  # another process moves the province's clock
    dossier = app.submit_dossier(command(), OFFICIAL)
    received = next(n for n in app.recorder.select_notifications(start=1, limit=10)
                    if n.topic.endswith("Dossier.Received"))
    state = make_transcoder().decode(received.state)
    recorded_at = state["timestamp"]
    real_now = datetime.now(timezone.utc)
    assert timedelta(days=29) < recorded_at - real_now < timedelta(days=31)
    assert datetime.fromisoformat(state["envelope"]["occurred_at"]) == dossier["received_at"] <= recorded_at
    assert dossier["appointment_at"] > real_now + timedelta(days=30)


def test_the_clock_never_moves_backwards(settable):
    _, operator = settable
    with pytest.raises(ClockMovedBackwards):
        operator.advance(timedelta(hours=-1))
    with pytest.raises(ClockMovedBackwards):
        operator.set(datetime(2020, 1, 1, tzinfo=timezone.utc))
