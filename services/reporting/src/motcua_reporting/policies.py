"""Reporting's policy: every published event that concerns a dossier becomes a history row,
written in the same transaction as the upstream's tracking position (exactly once).

The history is the audit record, so each row keeps the stored event as the producer recorded
it (hash-chained and signed there): reporting reads its sources' pages `with_audit`, and this
is the one consumer that uses that explicit part of the envelope."""
from __future__ import annotations

from motcua_common.events.consumer import EveryEvent, UnitOfWork
from motcua_common.events.published import PublishedEvent

from motcua_reporting.adapters.history_table import HistoryTable


class RecordHistory:
    handles = EveryEvent()

    def __init__(self, history: HistoryTable) -> None:
        self.history = history

    def __call__(self, event: PublishedEvent, work: UnitOfWork) -> None:
        row = self.history.row_for(event)
        if row is not None:
            work.execute(self.history.insert_sql, row)
