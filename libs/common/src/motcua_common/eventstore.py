"""The event store every service uses: eventsourcing on PostgreSQL, plus

- a hash chain per aggregate: each stored event's envelope carries
  `prev_hash`, the SHA-256 of its predecessor's stored topic and bytes
  (GENESIS for version 1), so editing or removing a stored event is detectable;
- hooks run inside the insert transaction (read models, tracking checks), so a
  command's events, its read-model rows and its tracking record commit together;
- a notification-log page reader, the pull API other services use to catch up.
"""
from __future__ import annotations

import base64
import hashlib
from collections import OrderedDict
from dataclasses import dataclass
from datetime import date
from typing import Any, Callable, Iterable, Iterator, Sequence
from uuid import UUID

from eventsourcing.application import Application, ProcessingEvent
from eventsourcing.persistence import (
    DatetimeAsISO,
    DecimalAsStr,
    EventStore,
    JSONTranscoder,
    Mapper,
    Notification,
    StoredEvent,
    Tracking,
    Transcoding,
    UUIDAsHex,
)
from eventsourcing.postgres import PostgresProcessRecorder
from eventsourcing.utils import get_topic

from motcua_common.errors import NotFound
from motcua_common.telemetry import meter, tracer

GENESIS = "0" * 64
_events_appended = meter().create_counter("motcua.events.appended", description="events stored, by service and type")
InTransactionHook = Callable[[Any], None]  # receives a psycopg cursor inside the insert transaction


class DateAsISO(Transcoding):
    type = date
    name = "date_iso"

    def encode(self, obj: date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> date:
        return date.fromisoformat(data)


def make_transcoder() -> JSONTranscoder:
    transcoder = JSONTranscoder()
    for transcoding in (UUIDAsHex(), DecimalAsStr(), DatetimeAsISO(), DateAsISO()):
        transcoder.register(transcoding)
    return transcoder


def stored_event_hash(topic: str, state: bytes) -> str:
    """The hash a successor links to: over the stored bytes, before any upcasting."""
    return hashlib.sha256(topic.encode() + b"\x00" + state).hexdigest()


class ChainingMapper(Mapper):
    def to_stored_event(self, domain_event: Any, prev_hash: str = GENESIS) -> StoredEvent:  # type: ignore[override]
        event_state = dict(vars(domain_event))
        originator_id = event_state.pop("originator_id")
        originator_version = event_state.pop("originator_version")
        event_state["envelope"] = {**event_state["envelope"], "prev_hash": prev_hash}
        class_version = getattr(type(domain_event), "class_version", 1)
        if class_version > 1:
            event_state["class_version"] = class_version
        return StoredEvent(
            originator_id=originator_id,
            originator_version=originator_version,
            topic=get_topic(type(domain_event)),
            state=self.transcoder.encode(event_state),
        )


class ChainedEventStore(EventStore):
    """Fills `prev_hash` from the predecessor's stored bytes (cached, else read back)."""

    def __init__(self, mapper: ChainingMapper, recorder: Any, cache_size: int = 10_000) -> None:
        super().__init__(mapper, recorder)
        self._heads: OrderedDict[Any, tuple[int, str]] = OrderedDict()
        self._cache_size = cache_size

    def _remember(self, originator_id: Any, version: int, digest: str) -> None:
        self._heads[originator_id] = (version, digest)
        self._heads.move_to_end(originator_id)
        while len(self._heads) > self._cache_size:
            self._heads.popitem(last=False)

    def _hash_of(self, originator_id: Any, version: int) -> str:
        if version == 0:
            return GENESIS
        cached = self._heads.get(originator_id)
        if cached and cached[0] == version:
            return cached[1]
        rows = self.recorder.select_events(originator_id, gt=version - 1, lte=version)
        if not rows:
            raise LookupError(f"predecessor {originator_id} v{version} is not stored")
        return stored_event_hash(rows[0].topic, rows[0].state)

    def put(self, domain_events: Sequence[Any], **kwargs: Any) -> list:  # type: ignore[override]
        stored_events: list[StoredEvent] = []
        batch_heads: dict[Any, tuple[int, str]] = {}
        for event in domain_events:
            previous = batch_heads.get(event.originator_id)
            if previous and previous[0] == event.originator_version - 1:
                prev_hash = previous[1]
            else:
                prev_hash = self._hash_of(event.originator_id, event.originator_version - 1)
            stored = self.mapper.to_stored_event(event, prev_hash=prev_hash)
            batch_heads[event.originator_id] = (event.originator_version, stored_event_hash(stored.topic, stored.state))
            stored_events.append(stored)
        notification_ids = self.recorder.insert_events(stored_events, **kwargs)
        for originator_id, (version, digest) in batch_heads.items():
            self._remember(originator_id, version, digest)
        recordings = []
        from eventsourcing.persistence import Recording

        for d, s, n_id in zip(domain_events, stored_events, notification_ids or [], strict=False):
            recordings.append(Recording(d, Notification(s.originator_id, s.originator_version, s.topic, s.state, n_id)))
        return recordings

    def get(self, originator_id: Any, *, gt: int | None = None, lte: int | None = None,
            desc: bool = False, limit: int | None = None) -> Iterator[Any]:  # type: ignore[override]
        stored = self.recorder.select_events(originator_id=originator_id, gt=gt, lte=lte, desc=desc, limit=limit)
        if stored and not desc and lte is None:
            last = stored[-1]
            self._remember(originator_id, last.originator_version, stored_event_hash(last.topic, last.state))
        return map(self.mapper.to_domain_event, stored)


class MotcuaRecorder(PostgresProcessRecorder):
    """Runs `before_insert` hooks in the insert transaction, before the tracking row and events."""

    def _insert_events(self, curs: Any, stored_events: Sequence[StoredEvent], **kwargs: Any) -> None:
        for hook in kwargs.get("before_insert", ()):
            hook(curs)
        super()._insert_events(curs, stored_events, **kwargs)


class ReadModel:
    """A projection of a service's own events into query tables, kept in the same transaction.

    Subclasses implement `statements(domain_event)` (SQL and parameters, no reads)
    and name their tables; `rebuild()` replays the service's log from position 0
    through the same code, so the rebuilt tables can be compared with the live ones.
    """

    tables: Sequence[str] = ()

    def statements(self, domain_event: Any) -> Iterable[tuple[str, Sequence[Any]]]:
        raise NotImplementedError

    def hook_for(self, domain_events: Sequence[Any]) -> InTransactionHook | None:
        work = [stmt for event in domain_events for stmt in self.statements(event)]
        if not work:
            return None

        def apply(curs: Any) -> None:
            for sql, params in work:
                curs.execute(sql, params)

        return apply


@dataclass(frozen=True)
class LoggedEvent:
    """A stored event as another service sees it: decoded JSON, no Python classes of the upstream."""

    upstream: str
    position: int
    topic: str
    originator_id: UUID
    originator_version: int
    data: dict

    @property
    def name(self) -> str:
        """`Dossier.Received`: the class path inside its module, stable across module moves."""
        return self.topic.rsplit(":", 1)[-1]

    @property
    def envelope(self) -> dict:
        return self.data["envelope"]

    @property
    def ref(self) -> str:
        """How a consequence names its cause: upstream, aggregate and version."""
        return f"{self.upstream}:{self.originator_id}:{self.originator_version}"


def notification_to_wire(notification: Notification) -> dict:
    return {
        "id": notification.id,
        "originator_id": str(notification.originator_id),
        "originator_version": notification.originator_version,
        "topic": notification.topic,
        "state": base64.b64encode(notification.state).decode(),
    }


_wire_transcoder = make_transcoder()


def logged_event_from_wire(upstream: str, wire: dict) -> LoggedEvent:
    return LoggedEvent(
        upstream=upstream,
        position=int(wire["id"]),
        topic=wire["topic"],
        originator_id=UUID(wire["originator_id"]),
        originator_version=int(wire["originator_version"]),
        data=_wire_transcoder.decode(base64.b64decode(wire["state"])),
    )


class MotcuaApplication(Application):
    """Base of every service's Application. Subclasses set `name` and may set `read_model`."""

    read_model: ReadModel | None = None

    def construct_mapper(self) -> Mapper:
        return ChainingMapper(transcoder=self.construct_transcoder())

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        transcoder.register(DateAsISO())

    def construct_recorder(self) -> MotcuaRecorder:
        return self.factory.process_recorder()  # type: ignore[return-value]

    def construct_event_store(self) -> EventStore:
        return ChainedEventStore(self.mapper, self.recorder)  # type: ignore[arg-type]

    def record(self, *aggregates: Any, tracking: Tracking | None = None,
               before_insert: Sequence[InTransactionHook] = ()) -> list:
        """Save the aggregates' pending events atomically with read-model rows and tracking."""
        processing = ProcessingEvent(tracking=tracking)
        processing.collect_events(*aggregates)
        hooks = list(before_insert)
        if self.read_model is not None:
            hook = self.read_model.hook_for(processing.events)
            if hook is not None:
                hooks.append(hook)
        processing.saved_kwargs["before_insert"] = hooks
        with tracer().start_as_current_span("eventstore.record", attributes={
                "motcua.service": self.name, "motcua.events": len(processing.events)}):
            recordings = self._record(processing)
        for event in processing.events:
            _events_appended.add(1, {"service": self.name, "type": type(event).__qualname__})
        return recordings

    def get_or_none(self, aggregate_id: UUID) -> Any | None:
        from eventsourcing.application import AggregateNotFoundError

        try:
            return self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return None

    def get_existing(self, aggregate_id: UUID, field: str, what: str) -> Any:
        aggregate = self.get_or_none(aggregate_id)
        if aggregate is None:
            raise NotFound(field, f"{what} {aggregate_id} does not exist")
        return aggregate

    def read_notifications(self, start: int, limit: int, stop: int | None = None) -> list[dict]:
        """One page of this service's log, for consumers that pull what they lack."""
        limit = max(1, min(int(limit), 5000))
        rows = self.recorder.select_notifications(start=max(1, int(start)), limit=limit, stop=stop)
        return [notification_to_wire(n) for n in rows]

    def head_position(self) -> int:
        return self.recorder.max_notification_id() or 0

    def decode(self, notification: Notification) -> Any:
        return self.mapper.to_domain_event(notification)


def create_tables(app_class: type[MotcuaApplication], env: dict[str, str]) -> None:
    """Create the service's schema and tables once, before any worker starts."""
    import psycopg

    conninfo = (
        f"host={env['POSTGRES_HOST']} port={env['POSTGRES_PORT']} user={env['POSTGRES_USER']} "
        f"password={env['POSTGRES_PASSWORD']} dbname={env['POSTGRES_DBNAME']}"
    )
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{env["POSTGRES_SCHEMA"]}"')
    # A bare Application with the service's name creates the same tables without its collaborators.
    tables = type(f"{app_class.__name__}Tables", (MotcuaApplication,), {"name": app_class.name})
    tables(env={**env, "CREATE_TABLE": "y"}).close()


def first_broken_link(recorder: Any, originator_id: Any) -> int | None:
    """The first version whose `prev_hash` does not match its predecessor's stored bytes (None: intact)."""
    transcoder = make_transcoder()
    previous = GENESIS
    expected_version = 1
    for stored in recorder.select_events(originator_id):
        if stored.originator_version != expected_version:
            return expected_version  # a removed event
        if transcoder.decode(stored.state)["envelope"].get("prev_hash") != previous:
            return stored.originator_version
        previous = stored_event_hash(stored.topic, stored.state)
        expected_version += 1
    return None
