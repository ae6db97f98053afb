"""Reporting's use cases in memory: a history table held in a list (application.DossierHistories)
and history rows made the way the projection makes them (stored bytes, their hash)."""
from __future__ import annotations

from datetime import datetime
from uuid import UUID, uuid4

from google.protobuf.message import Message

from motcua_common.audit.log import GENESIS
from motcua_common.events.store import make_transcoder, stored_event_hash

from motcua_reporting.adapters.history_table import READ_EVENT, HistoryRow

_transcoder = make_transcoder()


class InMemoryHistories:
    def __init__(self, rows: list[HistoryRow] | None = None) -> None:
        self._rows = list(rows or ())

    def add(self, *rows: HistoryRow) -> None:
        self._rows.extend(rows)

    def dossier_id_for(self, code: str) -> UUID | None:
        return next((r.dossier_id for r in self._rows if r.dossier_code == code), None)

    def has_history(self, dossier_id: UUID) -> bool:
        return any(r.dossier_id == dossier_id for r in self._rows)

    def rows(self, dossier_id: UUID, include_reads: bool = True) -> list[HistoryRow]:
        rows = [r for r in self._rows if r.dossier_id == dossier_id and (include_reads or not r.is_read)]
        # the table's order: recorded_at, service, position (NULLS LAST), originator_version
        return sorted(rows, key=lambda r: (r.recorded_at, r.service, r.position is None, r.position or 0,
                                           r.originator_version))


def history_row(service: str, event_type: str, recorded_at: datetime, dossier_id: UUID, dossier_code: str,
                position: int, data: dict | None = None, follows: HistoryRow | None = None,
                published: Message | None = None) -> HistoryRow:
    """One row as reporting's projection stores it for an upstream event (version 1 of a new
    aggregate, or the next version of the aggregate of `follows`, linked to its hash): the stored
    bytes for the audit, and the event as its producer published it (`published`) for the state."""
    actor = {"kind": "official", "subject": "cv01"}
    topic = f"motcua_{service}.domain:{event_type}"
    state = _transcoder.encode({**(data or {}), "timestamp": recorded_at, "originator_topic": topic,
                                "envelope": {"correlation_id": str(dossier_id), "dossier_code": dossier_code,
                                             "actor": actor,
                                             "prev_hash": follows.stored_hash if follows else GENESIS}})
    is_read = event_type == "DossierRead.Recorded"  # published as motcua.events.v1.DossierRead
    originator_id, version = (follows.originator_id, follows.originator_version + 1) if follows else (uuid4(), 1)
    return HistoryRow(service, originator_id, version, position, dossier_id, dossier_code, topic,
                      event_type, recorded_at, None, actor, "", is_read, state, stored_event_hash(topic, state),
                      READ_EVENT if is_read else published.DESCRIPTOR.full_name if published else "",
                      published.SerializeToString() if published else b"")
