"""Concurrent commands share insert transactions, and one command's conflict fails only that command."""
from __future__ import annotations

import threading
import uuid

import pytest

from motcua_common.errors import Conflict
from motcua_testkit.plugin import wait_until

from workflow_testkit import OFFICIAL, submit_dossiers

pytestmark = pytest.mark.integration


class HeldWriter:
    """Holds the group-commit writer inside a transaction until `waiting` commands have queued
    behind it, so they must meet in one batch (no reliance on threads happening to overlap)."""

    def __init__(self, batching, waiting: int) -> None:  # type: ignore[no-untyped-def]
        self.batching = batching
        self.waiting = waiting
        self.holding = threading.Event()
        self.thread = threading.Thread(target=batching.insert, args=([], [self._hold]))

    def _hold(self, _cursor) -> None:  # type: ignore[no-untyped-def]
        self.holding.set()
        wait_until(lambda: self.batching._queue.qsize() >= self.waiting, 30, "the commands to queue")

    def __enter__(self) -> "HeldWriter":
        self.thread.start()
        wait_until(self.holding.is_set, 10, "the writer to be held")
        return self

    def __exit__(self, *exc) -> None:  # type: ignore[no-untyped-def]
        self.thread.join(30)


def test_a_conflicting_command_in_a_shared_batch_fails_alone(apps):
    intake, workflow, follower, _ = apps
    dossiers = submit_dossiers(intake, 12)
    follower.catch_up(lambda start, limit: intake.read_notifications(start, limit))
    cases = [workflow.get_case(dossier_id=d["id"]) for d in dossiers]
    contested = cases[0]
    outcomes: dict[str, str] = {}

    def complete(case, key: str) -> None:  # type: ignore[no-untyped-def]
        try:
            workflow.complete_step(key, case.id, 0, case.version, "", OFFICIAL)
            outcomes[key] = "done"
        except Conflict:
            outcomes[key] = "conflict"

    threads = [threading.Thread(target=complete, args=(case, f"own-{i}")) for i, case in enumerate(cases)]
    threads.append(threading.Thread(target=complete, args=(contested, "rival")))  # same case, same version
    batching = workflow.events.group_commit
    with HeldWriter(batching, waiting=len(threads)):
        for t in threads:
            t.start()
    for t in threads:
        t.join(30)

    assert batching.largest_batch == len(threads), "the commands share one transaction"
    assert batching.conflicted_batches == 1  # the rival broke it: each was retried alone
    assert sorted(outcomes.values()).count("conflict") == 1
    assert all(outcomes[f"own-{i}"] == "done" for i in range(1, len(cases)))
    assert [outcomes["own-0"], outcomes["rival"]].count("done") == 1
    assert all(workflow.get_case(c.id).current_step == 1 for c in cases)
    assert len({workflow.get_case(c.id).version for c in cases}) == 1  # each case changed exactly once


def test_many_concurrent_submissions_are_all_stored_once(apps):
    intake, _, _, _ = apps
    from motcua_intake.application import ApplicantInput, SubmitDossier

    results: list[dict] = []
    lock = threading.Lock()

    def submit(i: int) -> None:
        command = SubmitDossier(uuid.uuid4().hex, "1.004194", "online",
                                ApplicantInput(f"Lý Văn {i}", f"0451960{i:05d}", "", "", "", ""), [])
        dossier = intake.submit_dossier(command, OFFICIAL)
        with lock:
            results.append(dossier)

    threads = [threading.Thread(target=submit, args=(i,)) for i in range(40)]
    with HeldWriter(intake.events.group_commit, waiting=40):
        for t in threads:
            t.start()
    for t in threads:
        t.join(60)
    assert len(results) == 40 and len({r["code"] for r in results}) == 40
    assert intake.events.group_commit.largest_batch == 40
    received = [n for n in intake.recorder.select_notifications(start=1, limit=10_000)
                if n.topic.endswith(":Dossier.Received")]
    assert len(received) == 40
