"""Reporting's policy: every published event that concerns a dossier becomes a history row, and
every refused call a security event row, written in the same transaction as the upstream's
tracking position (exactly once).

The history is the audit record, so each row keeps the stored event as the producer recorded
it (hash-chained and signed there): reporting reads its sources' pages `with_audit`, and this
is the one consumer that uses that explicit part of the envelope."""
from __future__ import annotations

from motcua_common.events.consumer import EveryEvent, UnitOfWork
from motcua_common.events.published import PublishedEvent

from motcua_reporting.adapters.history_table import HistoryTable
from motcua_reporting.adapters.security_events import SecurityEventsTable


class RecordHistory:
    handles = EveryEvent()

    def __init__(self, history: HistoryTable, security_events: SecurityEventsTable) -> None:
        self.history = history
        self.security_events = security_events

    def __call__(self, event: PublishedEvent, work: UnitOfWork) -> None:
        row = self.history.row_for(event)
        if row is not None:
            work.execute(self.history.insert_sql, row)
        denial = self.security_events.row_for(event)
        if denial is not None:
            work.execute(self.security_events.insert_sql, denial)
