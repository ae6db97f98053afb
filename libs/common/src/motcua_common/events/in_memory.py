"""Applications in memory, for unit tests of use cases (no PostgreSQL, no network).

eventsourcing's POPO recorder ignores the `before_insert` hooks through which a service keeps its
read models and side tables in the events' transaction (MotcuaApplication.record). This recorder
runs them, with no cursor, after the uniqueness checks and under the store's lock: an in-memory
read model (one whose hooks ignore the cursor) then changes exactly when the events are stored,
and a refused insert (a version conflict) leaves it untouched.
"""
from __future__ import annotations

from typing import Any, Sequence

from eventsourcing.persistence import ProcessRecorder, StoredEvent
from eventsourcing.popo import POPOFactory, POPOProcessRecorder

from motcua_common.events.store import LoggedEvent

#: the value of PERSISTENCE_MODULE that selects this module's factory
PERSISTENCE_MODULE = "motcua_common.events.in_memory:InMemoryFactory"


class InMemoryRecorder(POPOProcessRecorder):
    def _update_table(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Sequence[int] | None:
        for hook in kwargs.get("before_insert", ()):
            hook(None)
        return super()._update_table(stored_events, **kwargs)


class InMemoryFactory(POPOFactory):
    def process_recorder(self) -> ProcessRecorder:
        return InMemoryRecorder()


def in_memory_env(**extra: str) -> dict[str, str]:
    """An eventsourcing environment for a MotcuaApplication kept in memory."""
    return {"PERSISTENCE_MODULE": PERSISTENCE_MODULE, **extra}


class RecordingFollower:
    """Stands in for an UpstreamFollower in a worker's unit tests: remembers what the worker handed
    it and pulls one page (positions 1-10) through the `read_page` the worker gave it."""

    def __init__(self, position: int = 0) -> None:
        self.pushed: list[dict] = []
        self.pulled: list[list[dict]] = []
        self.woken: list[int] = []
        self._position = position

    def on_push(self, wire: dict, read_page: Any) -> None:
        self.pushed.append(wire)
        self.pulled.append(read_page(1, 10))

    def catch_up(self, read_page: Any, until: int | None = None) -> int:
        self.pulled.append(read_page(1, 10))
        return 0

    def wake(self, position: int, read_page: Any) -> None:
        self.woken.append(position)
        self.pulled.append(read_page(1, 10))

    def position(self) -> int:
        return self._position


def own_log(app: Any, limit: int = 10_000) -> list[LoggedEvent]:
    """An application's own stored events, in log order, as the audit record holds them (what a
    use case recorded; other services read the published events instead)."""
    return [LoggedEvent(app.name.lower(), n.id, n.topic, n.originator_id, n.originator_version, bytes(n.state))
            for n in app.recorder.select_notifications(start=1, limit=limit)]
