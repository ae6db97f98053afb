"""Evaluation's reaction to other services' published events (intake, workflow, payment): each event
the scorecard's projection folds is kept, in the same transaction as the upstream's tracking
position, so a redelivered event is kept once and nothing is lost on a crash."""
from __future__ import annotations

from motcua_common.events.consumer import UnitOfWork
from motcua_common.events.published import PublishedEvent

from motcua_evaluation.adapters.followed_events import FollowedEvents
from motcua_evaluation.domain.projection import FOLLOWED_TYPES


class KeepFollowedEvents:
    handles = frozenset(FOLLOWED_TYPES)

    def __init__(self, table: FollowedEvents) -> None:
        self.table = table

    def __call__(self, event: PublishedEvent, work: UnitOfWork) -> None:
        row = self.table.row_for(event)
        if row is not None:
            work.execute(self.table.insert_sql, row)
