"""Reporting's policy: every upstream event that concerns a dossier becomes a history row,
written in the same transaction as the upstream's tracking position (exactly once)."""
from __future__ import annotations

from motcua_common.events.consumer import EveryEvent, UnitOfWork
from motcua_common.events.store import LoggedEvent

from motcua_reporting.adapters.history_table import HistoryTable


class RecordHistory:
    handles = EveryEvent()

    def __init__(self, history: HistoryTable) -> None:
        self.history = history

    def __call__(self, event: LoggedEvent, work: UnitOfWork) -> None:
        row = self.history.row_for(event)
        if row is not None:
            work.execute(self.history.insert_sql, row)
