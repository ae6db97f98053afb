"""Intake's reactions to other services' events: workflow's published events
(motcua.workflow.events.v1), never workflow's stored JSON."""
from __future__ import annotations

from motcua.workflow.events.v1 import events_pb2 as workflow_events
from motcua_common.consumer import UnitOfWork
from motcua_common.published import PublishedEvent, to_datetime

DEADLINE_EXTENDED = workflow_events.DeadlineExtended.DESCRIPTOR.full_name


class WorkflowPolicies:
    """When a unit extends a deadline, intake (which holds the applicant's data) keeps what the
    apology letter needs, so it can issue the letter addressed to the applicant by name."""

    handles = frozenset({DEADLINE_EXTENDED})

    def __init__(self, insert_sql: str) -> None:
        self.insert_sql = insert_sql

    def __call__(self, event: PublishedEvent, work: UnitOfWork) -> None:
        extended = event.message(workflow_events.DeadlineExtended)
        # The event's position in workflow's log orders a dossier's extensions (as its case version did).
        work.execute(self.insert_sql, (event.dossier_id, event.position, to_datetime(extended.previous_due_at),
                                       to_datetime(extended.new_due_at), extended.reason,
                                       to_datetime(extended.apologised_at),
                                       event.actor.get("subject") or event.actor.get("kind", "")))
