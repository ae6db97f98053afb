"""Base aggregate: every event carries the envelope and the platform clock's time.

The envelope (actor, province, dossier, cause, occurred_at) is taken from the
current command context when the event is triggered; `timestamp` (recorded_at)
comes from the context's clock. The predecessor's hash is added by the event
store (motcua_common.events.store) because it is a property of stored bytes.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from eventsourcing.domain import Aggregate

from motcua_common.events import context


class MotcuaAggregate(Aggregate):
    class Event(Aggregate.Event):
        envelope: dict

        @staticmethod
        def create_timestamp() -> datetime:
            return context.current().clock.now()

    class Created(Event, Aggregate.Created):
        pass

    @classmethod
    def _create(cls, event_class: Any, *, id: Any = None, **kwargs: Any) -> Any:  # noqa: A002
        kwargs.setdefault("envelope", context.current().envelope())
        return super()._create(event_class, id=id, **kwargs)

    def trigger_event(self, event_class: Any, **kwargs: Any) -> None:
        kwargs.setdefault("envelope", context.current().envelope())
        super().trigger_event(event_class, **kwargs)
