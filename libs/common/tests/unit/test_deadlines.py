"""A command whose caller's deadline passed before its insert is not stored (GroupCommit)."""
from __future__ import annotations

import threading

import pytest

from motcua_common.events import deadlines
from motcua_common.errors import DeadlineExceeded
from motcua_common.events.store import GroupCommit
from motcua_testkit.plugin import wait_until


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class BlockingRecorder:
    """Records what would be inserted; the first insert waits until released."""

    def __init__(self) -> None:
        self.inserted: list[list[str]] = []
        self.first_started = threading.Event()
        self.release_first = threading.Event()

    def insert_events(self, stored_events, before_insert=()):  # type: ignore[no-untyped-def]
        if not self.inserted:
            self.first_started.set()
            assert self.release_first.wait(30)
        self.inserted.append(list(stored_events))
        return list(range(len(self.inserted) * 100, len(self.inserted) * 100 + len(stored_events)))


def test_a_command_whose_deadline_passed_while_it_waited_is_not_stored():
    clock, recorder = FakeClock(), BlockingRecorder()
    group = GroupCommit(recorder, clock=clock)
    outcomes: dict[str, object] = {}

    def command(name: str, remaining: float | None) -> None:
        with deadlines.call_deadline(remaining, clock=clock):
            try:
                outcomes[name] = group.insert([name], [])
            except DeadlineExceeded as error:
                outcomes[name] = error

    first = threading.Thread(target=command, args=("first", None))
    first.start()
    assert recorder.first_started.wait(10)  # the writer is busy inserting the first command
    late = threading.Thread(target=command, args=("late", 1.0))
    patient = threading.Thread(target=command, args=("patient", 60.0))
    late.start()
    patient.start()
    wait_until(lambda: group._queue.qsize() == 2, 10, "both commands to wait for the writer")
    clock.now += 5  # the late caller gave up meanwhile
    recorder.release_first.set()
    for t in (first, late, patient):
        t.join(10)

    assert isinstance(outcomes["late"], DeadlineExceeded)
    assert recorder.inserted == [["first"], ["patient"]]
    assert outcomes["patient"] == [200]


def test_a_command_already_past_its_deadline_is_refused_before_queueing():
    clock, recorder = FakeClock(), BlockingRecorder()
    recorder.release_first.set()
    group = GroupCommit(recorder, clock=clock)
    with deadlines.call_deadline(0.0, clock=clock), pytest.raises(DeadlineExceeded):
        group.insert(["gone"], [])
    assert recorder.inserted == []


def test_without_a_deadline_nothing_is_refused():
    assert deadlines.current() is None
    deadlines.check(deadlines.current())
    with deadlines.call_deadline(10 ** 12):  # grpc's "no deadline" is centuries away
        assert deadlines.current() is None
