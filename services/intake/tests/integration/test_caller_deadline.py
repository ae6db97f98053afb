"""A submission whose caller's gRPC deadline passed while it waited for the store is not stored."""
from __future__ import annotations

import threading

import psycopg
import pytest

from motcua_common.events import deadlines
from motcua_common.errors import DeadlineExceeded
from motcua_testkit.plugin import wait_until

from intake_testkit import OFFICIAL, command

pytestmark = pytest.mark.integration


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def received(app) -> list:  # type: ignore[no-untyped-def]
    return [n for n in app.recorder.select_notifications(start=1, limit=100_000) if n.topic.endswith("Dossier.Received")]


def test_a_submission_whose_caller_gave_up_while_it_waited_is_not_stored(intake_app, province):
    group = intake_app.events.group_commit
    clock = group.clock = FakeClock()
    outcomes: dict[str, object] = {}

    def submit(name: str, cmd, remaining: float | None) -> None:  # type: ignore[no-untyped-def]
        with deadlines.call_deadline(remaining, clock=clock):
            try:
                outcomes[name] = intake_app.submit_dossier(cmd, OFFICIAL)["id"]
            except DeadlineExceeded as error:
                outcomes[name] = error

    late_command = command()
    with psycopg.connect(province.conninfo) as blocker:
        # Hold the events table as eventsourcing's insert does: the writer waits on it with the first command.
        blocker.execute('LOCK TABLE "intake".intake_events IN EXCLUSIVE MODE')
        first = threading.Thread(target=submit, args=("first", command(), None))
        first.start()
        wait_until(lambda: blocker.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
        ).fetchone()[0] > 0, 30, "the first insert to wait for the table")
        late = threading.Thread(target=submit, args=("late", late_command, 1.0))
        late.start()
        wait_until(lambda: group._queue.qsize() == 1, 30, "the late submission to wait for the writer")
        clock.now += 5  # its caller's deadline passes while it waits
        blocker.commit()
    first.join(30)
    late.join(30)

    assert isinstance(outcomes["late"], DeadlineExceeded)
    assert [str(n.originator_id) for n in received(intake_app)] == [str(outcomes["first"])]
    # nothing of it was kept, not even its idempotency record: the retry makes the dossier now
    retried = intake_app.submit_dossier(late_command, OFFICIAL)
    assert len(received(intake_app)) == 2 and retried["id"] != outcomes["first"]
