"""Intake's reactions to other services' events."""
from __future__ import annotations

from uuid import UUID

from motcua_common.events.consumer import UnitOfWork
from motcua_common.events.store import LoggedEvent


class WorkflowPolicies:
    """When a unit extends a deadline, intake (which holds the applicant's data) keeps what the
    apology letter needs, so it can issue the letter addressed to the applicant by name."""

    handles = frozenset({"Case.DeadlineExtended"})

    def __init__(self, insert_sql: str) -> None:
        self.insert_sql = insert_sql

    def __call__(self, event: LoggedEvent, work: UnitOfWork) -> None:
        data = event.data
        actor = event.envelope.get("actor", {})
        work.execute(self.insert_sql, (UUID(event.envelope["correlation_id"]), event.originator_version,
                                       data["previous_due_at"], data["new_due_at"], data["reason"],
                                       data["apologised_at"], actor.get("subject") or actor.get("kind", "")))
