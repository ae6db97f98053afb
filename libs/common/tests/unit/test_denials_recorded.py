"""Refused calls are recorded as security events (AccessDenied), cheaply: the first of each
(actor, rpc, reason) in a minute at once, its repeats in that minute as one counted event."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from uuid import uuid4

import pytest

from motcua_common.audit.access import AccessDenied
from motcua_common.config.clock import FixedClock
from motcua_common.events.context import Actor
from motcua_common.events.ids import platform_id
from motcua_common.events.in_memory import in_memory_env
from motcua_common.events.store import MotcuaApplication

ANONYMOUS = Actor(kind="anonymous")
OFFICIAL = Actor(kind="official", subject="canbo07", role="one_stop_officer", unit="000.31.02.H45", client="console")
GET = "motcua.intake.v1.IntakeService/GetDossier"
SEARCH = "motcua.intake.v1.IntakeService/SearchDossiers"


class Edge(MotcuaApplication):
    name = "edge"
    denials = AccessDenied
    flush_denials_in_background = False  # these tests flush by the clock they move (one test below does not)

    def __init__(self, clock: FixedClock) -> None:
        super().__init__(env=in_memory_env())
        self.province = "test"
        self.clock = clock


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2026, 12, 3, 8, 15, 10, tzinfo=timezone.utc))


def recorded(app: MotcuaApplication) -> list:
    return [app.decode(n) for n in app.recorder.select_notifications(start=1, limit=1000)]


def test_a_denial_is_recorded_with_who_what_why_and_the_dossier_concerned(clock):
    app = Edge(clock)
    dossier_id = uuid4()
    app.record_denial(OFFICIAL, GET, "dossier.read", "unit 000.31.01.H45 is outside your reach", dossier_id,
                      "000.31.01.H45-261203-0001")
    [event] = recorded(app)
    assert isinstance(event, AccessDenied.Recorded)
    assert (event.rpc, event.action, event.reason, event.count) == (
        GET, "dossier.read", "unit 000.31.01.H45 is outside your reach", 1)
    assert event.envelope["actor"] == OFFICIAL.as_dict()
    assert event.envelope["correlation_id"] == str(dossier_id)
    assert event.envelope["dossier_code"] == "000.31.01.H45-261203-0001"
    assert event.timestamp == clock.now()


def test_a_denial_about_no_dossier_correlates_on_the_platform_id_with_no_dossier_code(clock):
    app = Edge(clock)
    app.record_denial(ANONYMOUS, SEARCH, "dossier.search", "no token", None, "ignored without a dossier")
    [event] = recorded(app)
    assert event.envelope["correlation_id"] == str(platform_id("test"))
    assert event.envelope["dossier_code"] == ""
    assert platform_id("test") != platform_id("other")  # the province is part of the namespace


def test_repeats_within_a_minute_are_counted_and_recorded_as_one_event_once_the_minute_is_over(clock):
    app = Edge(clock)
    for _ in range(50):
        app.record_denial(ANONYMOUS, GET, "dossier.read", "no token", uuid4(), "")
        clock.advance(timedelta(seconds=1))  # denials at 08:15:10 .. 08:15:59: one minute
    assert [e.count for e in recorded(app)] == [1]
    # now 08:16:00: the minute is over, and the next denial records its repeats first
    app.record_denial(ANONYMOUS, GET, "dossier.read", "no token", None, "")
    events = recorded(app)
    assert [e.count for e in events] == [1, 49, 1]
    assert events[1].envelope["occurred_at"] == "2026-12-03T08:15:11+00:00"  # the first repeat
    assert events[1].timestamp == datetime(2026, 12, 3, 8, 16, tzinfo=timezone.utc)


def test_different_actors_calls_or_reasons_are_counted_apart(clock):
    app = Edge(clock)
    for actor, rpc, reason in [(ANONYMOUS, GET, "no token"), (ANONYMOUS, GET, "expired token"),
                               (ANONYMOUS, SEARCH, "no token"), (OFFICIAL, GET, "no token")] * 3:
        app.record_denial(actor, rpc, "dossier.read", reason, None, "")
    assert [e.count for e in recorded(app)] == [1, 1, 1, 1]
    assert app.flush_denials() == 8
    assert sorted(e.count for e in recorded(app)) == [1, 1, 1, 1, 2, 2, 2, 2]


def test_a_flush_before_the_minute_is_over_records_nothing_and_a_final_flush_records_every_count(clock):
    app = Edge(clock)
    for _ in range(3):
        app.record_denial(ANONYMOUS, GET, "dossier.read", "no token", None, "")
    assert app.flush_denials(clock.now()) == 0
    assert len(recorded(app)) == 1
    assert app.flush_denials() == 2  # e.g. at shutdown
    assert [e.count for e in recorded(app)] == [1, 2]
    assert app.flush_denials() == 0


def test_the_log_grows_by_at_most_two_events_per_group_and_minute(clock):
    app = Edge(clock)
    for second in range(180):  # three minutes of one refusal a second... ten times over
        for _ in range(10):
            app.record_denial(ANONYMOUS, GET, "dossier.read", "no token", None, "")
        clock.advance(timedelta(seconds=1))
    app.flush_denials()
    events = recorded(app)
    assert len(events) <= 2 * 4  # the minutes 08:15, :16, :17 and :18 were touched
    assert sum(e.count for e in events) == 1800


def test_repeats_that_could_not_be_recorded_are_kept_for_the_next_flush(clock):
    app = Edge(clock)
    for _ in range(4):
        app.record_denial(ANONYMOUS, GET, "dossier.read", "no token", None, "")
    failing = app.record
    app.record = lambda *a, **k: (_ for _ in ()).throw(OSError("database unreachable"))  # type: ignore[method-assign]
    with pytest.raises(OSError):
        app.flush_denials()
    app.record = failing  # type: ignore[method-assign]
    assert app._denial_windows.pending() == 3
    assert app.flush_denials() == 3
    assert [e.count for e in recorded(app)] == [1, 3]


def test_an_application_without_a_denials_aggregate_says_so(clock):
    class Bare(MotcuaApplication):
        name = "bare"

    app = Bare(env=in_memory_env())
    with pytest.raises(TypeError, match="no `denials`"):
        app.record_denial(ANONYMOUS, GET, "dossier.read", "no token", None, "")


def test_past_the_cap_on_groups_per_minute_new_groups_of_an_actor_are_counted_together(clock):
    from motcua_common.events.denials import OVERFLOW_RPC

    app = Edge(clock)
    app._denial_windows.max_groups = 3
    for n in range(10):  # e.g. calls to methods that do not exist: the rpc is the caller's text
        app.record_denial(ANONYMOUS, f"/no.such.Service/Method{n}", "", "no token", uuid4(), "")
    events = recorded(app)
    assert [e.rpc for e in events] == ["/no.such.Service/Method0", "/no.such.Service/Method1",
                                       "/no.such.Service/Method2", OVERFLOW_RPC]
    assert events[-1].envelope["correlation_id"] == str(platform_id("test"))
    assert app.flush_denials() == 6
    assert [(e.rpc, e.count) for e in recorded(app)[4:]] == [(OVERFLOW_RPC, 6)]
    clock.advance(timedelta(minutes=1))  # a new minute: groups recorded apart again
    app.record_denial(ANONYMOUS, "/no.such.Service/Method9", "", "no token", None, "")
    assert recorded(app)[-1].rpc == "/no.such.Service/Method9"


def test_repeats_are_recorded_soon_after_their_minute_without_waiting_for_another_refusal():
    from motcua_testkit.plugin import wait_until

    clock = FixedClock(datetime(2026, 12, 3, 8, 15, 59, 500000, tzinfo=timezone.utc))

    class Background(Edge):
        flush_denials_in_background = True

    app = Background(clock)
    for _ in range(3):
        app.record_denial(ANONYMOUS, GET, "dossier.read", "no token", None, "")
    clock.advance(timedelta(seconds=1))  # the minute is over; no refusal follows
    wait_until(lambda: len(recorded(app)) == 2, 10, "the counted repeats to be recorded", interval=0.05)
    assert [e.count for e in recorded(app)] == [1, 2]
    app.close()


def test_closing_the_application_records_the_repeats_still_counted(clock):
    app = Edge(clock)
    for _ in range(3):
        app.record_denial(ANONYMOUS, GET, "dossier.read", "no token", None, "")
    app.close()
    assert [e.count for e in recorded(app)] == [1, 2]


def test_repeats_that_failed_are_tried_again_within_the_same_minute(clock):
    app = Edge(clock)
    for _ in range(3):
        app.record_denial(ANONYMOUS, GET, "dossier.read", "no token", None, "")
    clock.advance(timedelta(minutes=1))
    failing = app.record
    app.record = lambda *a, **k: (_ for _ in ()).throw(OSError("database unreachable"))  # type: ignore[method-assign]
    with pytest.raises(OSError):
        app.flush_denials(clock.now())
    app.record = failing  # type: ignore[method-assign]
    assert app.flush_denials(clock.now()) == 2  # same minute: not skipped as already taken
