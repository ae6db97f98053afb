"""Invariant 2 for intake -> workflow: redelivery, reordering and racing workers give
exactly one case per dossier and lose none (tests c and d of the walking skeleton)."""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from motcua_common.events.consumer import StaleTracking
from motcua_common.events.published import published_from_wire, wire_position

from workflow_testkit import case_counts, dossier_ids, submit_dossiers

pytestmark = pytest.mark.integration


def reader(intake):  # type: ignore[no-untyped-def]
    return lambda start, limit: intake.read_notifications(start, limit)


def test_a_redelivered_event_has_no_second_effect(apps):
    intake, workflow, follower, _ = apps
    submit_dossiers(intake, 1)
    received = next(w for w in intake.read_notifications(1, 100) if w["ce_type"].endswith("intake.events.v1.DossierReceived"))
    follower.catch_up(reader(intake), until=wire_position(received) - 1)

    follower.on_push(received, reader(intake))
    follower.on_push(received, reader(intake))

    assert list(case_counts(workflow).values()) == [1]
    assert follower.position() == wire_position(received)


def test_an_event_pushed_ahead_of_its_predecessors_pulls_the_missing_range(apps):
    intake, workflow, follower, _ = apps
    submit_dossiers(intake, 5)
    log = intake.read_notifications(1, 100)

    follower.on_push(log[-1], reader(intake))          # the last one arrives first
    for wire in log[:-1]:                              # then the earlier ones, late
        follower.on_push(wire, reader(intake))

    counts = case_counts(workflow)
    assert set(counts) == dossier_ids(intake) and len(counts) == 5
    assert set(counts.values()) == {1}
    assert follower.position() == wire_position(log[-1])


def test_a_page_read_after_an_outdated_position_is_refused_and_nothing_is_saved(apps):
    intake, workflow, follower, _ = apps
    submit_dossiers(intake, 3)
    log = intake.read_notifications(1, 100)  # each dossier: its code assigned, then received
    follower.page_size = 2
    follower.catch_up(reader(intake), until=wire_position(log[3]))  # two dossiers applied
    later = [published_from_wire("intake", w) for w in log[4:]]

    with pytest.raises(StaleTracking):
        follower._apply_page(later, expected_position=1)  # as if read by a worker that saw position 1

    assert follower.position() == wire_position(log[3])
    assert len(case_counts(workflow)) == 2


def test_two_workers_applying_the_same_page_at_once_apply_it_once(apps):
    from motcua_workflow.bootstrap import bootstrap, intake_follower

    intake, workflow, follower, settings = apps
    other_app = bootstrap(settings)  # a second worker process: its own pool and in-process lock
    other = intake_follower(other_app, settings)
    submit_dossiers(intake, 4)
    page = [published_from_wire("intake", w) for w in intake.read_notifications(1, 100)]
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def apply(worker):  # type: ignore[no-untyped-def]
        barrier.wait()
        try:
            worker._apply_page(page, expected_position=0)
            outcomes.append("applied")
        except StaleTracking:
            outcomes.append("refused")
        except Exception as exc:  # a conflicting insert is also a refusal, never a silent drop
            outcomes.append(f"conflict:{type(exc).__name__}")

    threads = [threading.Thread(target=apply, args=(w,)) for w in (follower, other)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    other_app.close()

    assert sorted(outcomes)[0] == "applied" and outcomes.count("applied") == 1, outcomes
    counts = case_counts(workflow)
    assert len(counts) == 4 and set(counts.values()) == {1}


def test_many_pages_under_racing_workers_leave_no_gap(apps):
    from motcua_workflow.bootstrap import bootstrap, intake_follower

    intake, workflow, follower, settings = apps
    other_app = bootstrap(settings)
    other = intake_follower(other_app, settings)
    follower.page_size = other.page_size = 7
    submit_dossiers(intake, 60)
    threads = [threading.Thread(target=w.catch_up, args=(reader(intake),)) for w in (follower, other)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    other_app.close()

    counts = case_counts(workflow)
    assert set(counts) == dossier_ids(intake)
    assert set(counts.values()) == {1}
    assert follower.position() == wire_position(intake.read_notifications(1, 5000)[-1])


def test_rebuilt_read_model_equals_the_live_one_and_an_interrupted_rebuild_resumes(apps):
    from motcua_common.events.replay import Replayer
    from motcua_workflow.bootstrap import replay_targets
    from motcua_workflow.domain.case import Case

    from workflow_testkit import OFFICIAL

    intake, workflow, follower, settings = apps
    dossiers = submit_dossiers(intake, 12)
    follower.catch_up(reader(intake))
    for i, dossier in enumerate(dossiers[:6]):
        case = workflow.get_case(dossier_id=dossier["id"])
        if i % 2:  # paused and resumed: the projection follows status and the moved due time
            case = workflow.request_supplement(f"s-{dossier['id']}", case.id, case.version, "Thiếu giấy tờ", OFFICIAL)
            if i % 3:
                case = workflow.resume(f"r-{dossier['id']}", case.id, case.version, OFFICIAL)
        if i == 4:
            case = workflow.extend_deadline(f"e-{dossier['id']}", case.id, case.version,
                                            case.due_at + timedelta(days=2), "Cần xác minh", OFFICIAL)
        for step in range(i % 5):
            if case.status != "in_progress":
                break
            case = workflow.complete_step(f"k-{dossier['id']}-{step}", case.id, step, case.version, "", OFFICIAL)
    live = workflow.read_model_rows()
    assert len(live) == 12 and any(r[5] == "processed" for r in live) and any(r[7] > 0 for r in live)
    assert any(r[5] == "paused" for r in live)

    workflow.pool.connection().__enter__().execute(  # damage one row: the comparison must notice
        f"UPDATE {workflow.read_model.table} SET current_step = 99 WHERE case_id = %s", (live[0][0],))
    assert workflow.read_model_rows() != live
    target = replay_targets(settings)[0]
    events = len(workflow.recorder.select_notifications(start=1, limit=1_000_000))

    checked = Replayer(settings.postgres_conninfo(), target, page_size=5).run(check_only=True)
    assert (checked.missing_from_live, checked.extra_in_live, checked.swapped) == (1, 1, False)
    assert checked.events == events

    seen = []
    interrupted = Replayer(settings.postgres_conninfo(), target, page_size=5,
                           progress=lambda done, total: seen.append((done, total)))
    assert interrupted.run(stop_after_pages=2) is None
    assert seen[-1] == (10, events)
    resumed = Replayer(settings.postgres_conninfo(), target, page_size=5).run()
    assert resumed.resumed_from == {"workflow": 10} and resumed.events == events - 10
    assert (resumed.missing_from_live, resumed.extra_in_live, resumed.swapped) == (1, 1, True)
    assert workflow.read_model_rows() == live
    assert Replayer(settings.postgres_conninfo(), target).run(check_only=True).equal
    assert isinstance(workflow.get_case(dossier_id=dossiers[0]["id"]), Case)


def test_a_case_records_the_intake_event_that_caused_it_and_the_consumer_as_actor(apps):
    intake, workflow, follower, _ = apps
    dossier = submit_dossiers(intake, 1)[0]
    follower.catch_up(reader(intake))
    opened = next(n for n in workflow.recorder.select_notifications(start=1, limit=100)
                  if n.topic.endswith(":Case.Opened"))
    envelope = workflow.decode(opened).envelope
    assert envelope["causation_id"] == f"intake:{dossier['id']}:1"
    assert envelope["correlation_id"] == str(dossier["id"])
    assert envelope["actor"]["kind"] == "system" and envelope["actor"]["subject"] == "workflow.consumer"


def test_a_push_linked_to_the_tracked_event_is_applied_without_a_pull_across_unpublished_positions(apps):
    intake, workflow, follower, _ = apps
    submit_dossiers(intake, 2)
    log = intake.read_notifications(1, 100)  # published only: code assigned, received, per dossier
    follower.page_size = 2
    follower.catch_up(reader(intake), until=wire_position(log[1]))  # the first dossier
    assert wire_position(log[2]) > wire_position(log[1]) + 1  # the log holds unpublished events between

    def no_pull(start, limit):  # type: ignore[no-untyped-def]
        raise AssertionError(f"pulled from {start}: the push names its predecessor, nothing is missing")

    follower.on_push(log[2], no_pull)
    follower.on_push(log[3], no_pull)

    assert follower.position() == wire_position(log[3])
    assert len(case_counts(workflow)) == 2


def test_a_push_that_finds_a_pull_in_progress_returns_at_once_and_the_puller_applies_it(apps):
    from motcua_testkit.plugin import wait_until

    intake, workflow, follower, _ = apps
    submit_dossiers(intake, 2)
    log = intake.read_notifications(1, 100)
    entered, release = threading.Event(), threading.Event()

    def hanging_pull(start, limit):  # type: ignore[no-untyped-def]
        entered.set()
        release.wait()  # an answer that does not come (until the test says so)
        return []

    puller = threading.Thread(target=follower.catch_up, args=(hanging_pull,))
    puller.start()
    wait_until(entered.is_set, 10, "the pull to hang")
    pusher = threading.Thread(target=lambda: [follower.on_push(w, hanging_pull) for w in log])
    pusher.start()
    wait_until(lambda: not pusher.is_alive(), 10, "every push to return while the pull hangs")
    assert case_counts(workflow) == {}

    release.set()
    puller.join(10)
    assert set(case_counts(workflow)) == dossier_ids(intake)
    assert follower.position() == wire_position(log[-1])


def test_a_wake_that_finds_a_pull_in_progress_returns_at_once_and_the_puller_pulls_up_to_it(apps):
    """Reporting's pushes only wake a pull (they lack the audit record): like any push, never waiting
    for the in-order lock; whoever holds it pulls up to the woken position before letting go."""
    from motcua_testkit.plugin import wait_until

    intake, workflow, follower, _ = apps
    submit_dossiers(intake, 2)
    log = intake.read_notifications(1, 100)
    entered, release = threading.Event(), threading.Event()
    calls: list[int] = []

    def pull(start, limit):  # type: ignore[no-untyped-def]
        calls.append(start)
        if len(calls) == 1:
            entered.set()
            release.wait()  # an answer read before the events were committed
            return []
        return intake.read_notifications(start, limit)

    puller = threading.Thread(target=follower.catch_up, args=(pull,))
    puller.start()
    wait_until(entered.is_set, 10, "the pull to hang")
    waker = threading.Thread(target=follower.wake, args=(wire_position(log[-1]), pull))
    waker.start()
    waker.join(10)
    assert not waker.is_alive(), "a wake never waits for the lock"
    assert case_counts(workflow) == {}

    release.set()
    puller.join(10)
    assert set(case_counts(workflow)) == dossier_ids(intake)
    assert follower.position() == wire_position(log[-1])
