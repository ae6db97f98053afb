"""The worker's policy keeps each event the projection folds (and nothing else) in the page's transaction."""
from __future__ import annotations

from datetime import datetime, timezone
from uuid import UUID, uuid4

from motcua.intake.events.v1 import events_pb2 as intake
from motcua.workflow.events.v1 import events_pb2 as workflow

from motcua_common.events.published import PublishedEvent

from motcua_evaluation.adapters.followed_events import FollowedEvent, FollowedEvents
from motcua_evaluation.domain.projection import fold
from motcua_evaluation.policies import KeepFollowedEvents

AT = datetime(2026, 11, 2, 2, tzinfo=timezone.utc)


class Work:
    def __init__(self) -> None:
        self.statements: list[tuple[str, tuple]] = []

    def execute(self, sql: str, params: tuple) -> None:
        self.statements.append((sql, params))


def published(upstream: str, position: int, dossier_id: str, message) -> PublishedEvent:
    return PublishedEvent(upstream=upstream, id=f"{upstream}:{position}", source="", type=message.DESCRIPTOR.full_name,
                          time=AT, subject=dossier_id, position=position, previous_position=position - 1, actor={},
                          causation="", traceparent="", dossier_code="C1", stored_hash="", occurred_at=None,
                          data=message.SerializeToString())


def test_folded_events_are_kept_with_their_upstream_position_and_others_are_not():
    policy, work, d = KeepFollowedEvents(FollowedEvents("evaluation")), Work(), str(uuid4())
    withdrawn = published("intake", 7, d, intake.DossierWithdrawn(dossier_id=d))
    assert withdrawn.type in policy.handles
    assert published("workflow", 3, d, workflow.StepStarted(index=1)).type not in policy.handles
    policy(withdrawn, work)
    policy(published("intake", 8, "", intake.DossierWithdrawn()), work)  # concerns no dossier
    [(sql, row)] = work.statements
    assert sql.startswith('INSERT INTO "evaluation".followed_events') and "ON CONFLICT DO NOTHING" in sql
    assert row[:6] == ("intake", 7, UUID(d), "motcua.intake.events.v1.DossierWithdrawn", AT, "C1")
    # the row folds back into the same facts as the event itself
    kept = FollowedEvent(row[3], str(row[2]), row[4], row[6], row[5])
    assert fold([kept]) == fold([withdrawn])
