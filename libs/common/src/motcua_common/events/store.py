"""The event store every service uses: eventsourcing on PostgreSQL, plus

- a hash chain per aggregate: each stored event's envelope carries
  `prev_hash`, the SHA-256 of its predecessor's stored topic and bytes
  (GENESIS for version 1), so editing or removing a stored event is detectable;
- hooks run inside the insert transaction (read models, tracking checks), so a
  command's events, its read-model rows and its tracking record commit together;
- a notification-log page reader, the pull API other services use to catch up.
"""
from __future__ import annotations

import hashlib
import queue
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from functools import cached_property
from datetime import date, timedelta
from typing import Any, Callable, Iterable, Iterator, Protocol, Sequence
from uuid import UUID

import psycopg
from eventsourcing.application import Application, ProcessingEvent
from eventsourcing.persistence import (
    DatetimeAsISO,
    DecimalAsStr,
    EventStore,
    IntegrityError,
    JSONTranscoder,
    Mapper,
    Notification,
    Recording,
    StoredEvent,
    Tracking,
    Transcoding,
    UUIDAsHex,
)
from eventsourcing.postgres import PostgresProcessRecorder
from eventsourcing.utils import get_topic

from motcua_common.events import deadlines
from motcua_common.config.settings import eventsourcing_conninfo
from motcua_common.events.context import CommandContext, command_context, concerning
from motcua_common.events.denials import DenialWindows, window_of
from motcua_common.events.ids import platform_id
from motcua_common.errors import DeadlineExceeded, NotFound
from motcua_common.observability.logs import get_logger
from motcua_common.observability.telemetry import meter, tracer

_batch_sizes = meter().create_histogram("motcua.eventstore.group_commit.size",
                                        description="commands saved together in one insert transaction")
_events_appended = meter().create_counter("motcua.events.appended", description="events stored, by service and type")
InTransactionHook = Callable[[Any], None]  # receives a psycopg cursor inside the insert transaction

#: The prev_hash of every aggregate's first event and the start of the log chain.
GENESIS = "0" * 64


class LogChain(Protocol):
    """The audit hooks the event store is given (motcua_common.audit.log.CHAIN): the store
    imports nothing from audit, so audit can build on the store."""

    def create_tables(self, conn: Any, schema: str) -> None: ...

    def chain_inserted_events(self, curs: Any, schema: str, rows: Sequence[tuple[int, UUID, int, str, bytes]]) -> None: ...

    def record_checkpoint(self, conn: Any, schema: str, service: str, province: str, signer: Any,
                          now: Any, min_events: int = 1, max_age: Any = None) -> Any: ...

    def verifier(self, conn: Any, schema: str, service: str, province: str, trust: Any) -> Any: ...

    def broken_link(self, service: str, position: int, kind: str, detail: str, aggregate: str, version: int) -> Any: ...


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

    def __init__(self, mapper: ChainingMapper, recorder: Any, cache_size: int = 10_000,
                 group_commit: "GroupCommit | None" = None) -> None:
        super().__init__(mapper, recorder)
        self._heads: OrderedDict[Any, tuple[int, str]] = OrderedDict()
        self._cache_size = cache_size
        self._heads_lock = threading.Lock()
        self.group_commit = group_commit

    def _remember(self, originator_id: Any, version: int, digest: str) -> None:
        with self._heads_lock:
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
        stored_events, heads = self._chain(domain_events)
        if kwargs.get("tracking") is None and self.group_commit is not None:
            notification_ids = self.group_commit.insert(stored_events, kwargs.get("before_insert", ()))
        else:
            deadlines.check(deadlines.current())
            notification_ids = self.recorder.insert_events(stored_events, **kwargs)
        for originator_id, (version, digest) in heads.items():
            self._remember(originator_id, version, digest)
        return [Recording(d, Notification(s.originator_id, s.originator_version, s.topic, s.state, n_id))
                for d, s, n_id in zip(domain_events, stored_events, notification_ids or [], strict=False)]

    def _chain(self, domain_events: Sequence[Any]) -> tuple[list[StoredEvent], dict[Any, tuple[int, str]]]:
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
        return stored_events, batch_heads

    def get(self, originator_id: Any, *, gt: int | None = None, lte: int | None = None,
            desc: bool = False, limit: int | None = None) -> Iterator[Any]:  # type: ignore[override]
        stored = self.recorder.select_events(originator_id=originator_id, gt=gt, lte=lte, desc=desc, limit=limit)
        if stored and not desc and lte is None:
            last = stored[-1]
            self._remember(originator_id, last.originator_version, stored_event_hash(last.topic, last.state))
        return map(self.mapper.to_domain_event, stored)


class GroupCommit:
    """Commands from concurrent requests share one insert transaction.

    eventsourcing keeps log order equal to commit order by locking the events table
    for each insert; with one transaction per request, requests queue on that lock
    while the holder waits for the interpreter lock to finish its round trips. Here
    one writer thread takes every waiting request's events and inserts them together:
    one lock, one commit. If the batch breaks a uniqueness rule (an idempotency key
    or version taken meanwhile), each request is retried alone so only the guilty one
    fails. Consumer pages (with a tracking record) never come through here.

    A request whose caller's deadline (motcua_common.events.deadlines) passed while it waited
    is dropped from its batch before the insert and fails with DeadlineExceeded.
    """

    def __init__(self, recorder: Any, max_batch: int = 200, clock: Callable[[], float] = time.monotonic) -> None:
        self._recorder = recorder
        self._max_batch = max_batch
        self.clock = clock
        self._queue: "queue.Queue[_PendingInsert]" = queue.Queue()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self.largest_batch = 0
        self.conflicted_batches = 0

    def insert(self, stored_events: list[StoredEvent], hooks: Sequence[InTransactionHook]) -> Sequence[int]:
        self._ensure_started()
        deadline = deadlines.current()
        deadlines.check(deadline, self.clock)
        pending = _PendingInsert(stored_events, list(hooks), deadline)
        self._queue.put(pending)
        pending.done.wait()
        if pending.error is not None:
            raise pending.error
        return pending.notification_ids

    def _ensure_started(self) -> None:
        if self._thread is None:
            with self._start_lock:
                if self._thread is None:
                    self._thread = threading.Thread(target=self._run, name="group-commit", daemon=True)
                    self._thread.start()

    def _run(self) -> None:
        while True:
            batch = [self._queue.get()]
            while len(batch) < self._max_batch:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            self._write(batch)

    def _write(self, batch: list["_PendingInsert"]) -> None:
        batch = [pending for pending in batch if pending.still_wanted(self.clock)]
        if not batch:
            return
        _batch_sizes.record(len(batch))
        self.largest_batch = max(self.largest_batch, len(batch))
        if len(batch) > 1:
            try:
                ids = self._recorder.insert_events([e for p in batch for e in p.stored_events],
                                                   before_insert=[h for p in batch for h in p.hooks])
            except IntegrityError:
                self.conflicted_batches += 1
                for pending in batch:
                    self._write([pending])
                return
            except Exception as error:  # noqa: BLE001 - every waiting request gets the failure
                for pending in batch:
                    pending.fail(error)
                return
            offset = 0
            for pending in batch:
                pending.succeed(list(ids[offset:offset + len(pending.stored_events)]))
                offset += len(pending.stored_events)
            return
        pending = batch[0]
        try:
            pending.succeed(self._recorder.insert_events(pending.stored_events, before_insert=pending.hooks))
        except Exception as error:  # noqa: BLE001
            pending.fail(error)


class _PendingInsert:
    def __init__(self, stored_events: list[StoredEvent], hooks: list[InTransactionHook],
                 deadline: float | None = None) -> None:
        self.stored_events = stored_events
        self.hooks = hooks
        self.deadline = deadline
        self.done = threading.Event()
        self.notification_ids: Sequence[int] = []
        self.error: BaseException | None = None

    def still_wanted(self, clock: Callable[[], float]) -> bool:
        """False (and failed) when the caller's deadline has passed: it must not be inserted."""
        try:
            deadlines.check(self.deadline, clock)
        except DeadlineExceeded as error:
            self.fail(error)
            return False
        return True

    def succeed(self, ids: Sequence[int]) -> None:
        self.notification_ids = ids
        self.done.set()

    def fail(self, error: BaseException) -> None:
        self.error = error
        self.done.set()


class MotcuaRecorder(PostgresProcessRecorder):
    """Runs `before_insert` hooks in the insert transaction, before the tracking row and events,
    and extends the log chain it is given (`chain`, set by MotcuaApplication) with the inserted
    events, in the same transaction and under the events table's lock."""

    chain: LogChain | None = None

    def _insert_events(self, curs: Any, stored_events: Sequence[StoredEvent], **kwargs: Any) -> None:
        for hook in kwargs.get("before_insert", ()):
            hook(curs)
        super()._insert_events(curs, stored_events, **kwargs)

    def _fetch_ids_after_insert_events(self, curs: Any, stored_events: Sequence[StoredEvent],
                                       **kwargs: Any) -> Sequence[int] | None:
        ids = super()._fetch_ids_after_insert_events(curs, stored_events, **kwargs)
        if ids and self.chain is not None:
            self.chain.chain_inserted_events(curs, self.datastore.schema, [
                (n, e.originator_id, e.originator_version, e.topic, e.state)
                for n, e in zip(ids, stored_events, strict=True)])
        return ids


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

        return lambda curs: execute_in_order(curs, work)


#: PostgreSQL text and jsonb cannot hold U+0000, which a stored event may carry: projections show U+FFFD
#: in its place (the stored event, kept byte for byte in its log, stays the record)
NUL_IN_PROJECTIONS = "\ufffd"


def storable(value: Any) -> Any:
    """A projection parameter PostgreSQL accepts: NUL in text (also inside lists and dicts) -> U+FFFD."""
    if isinstance(value, str):
        return value.replace("\x00", NUL_IN_PROJECTIONS) if "\x00" in value else value
    if isinstance(value, dict):
        return {storable(k): storable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        mapped = [storable(v) for v in value]
        if all(m is v for m, v in zip(mapped, value)):
            return value  # the common case: nothing to map, nothing copied
        return type(value)(mapped)
    return value


def execute_in_order(curs: Any, statements: Sequence[tuple[str, Sequence[Any]]]) -> None:
    """Consecutive statements with the same SQL go as one executemany (order is kept).

    Every projection write of the platform (read models, consumers' tables, rebuilds) passes
    here, so no accepted event can make one fail on a NUL character (see `storable`).
    """
    run_sql, run_params = None, []
    for sql, params in statements:
        params = storable(params)
        if sql != run_sql and run_params:
            curs.executemany(run_sql, run_params)
            run_params = []
        run_sql = sql
        run_params.append(params)
    if run_params:
        curs.executemany(run_sql, run_params)


@dataclass(frozen=True, eq=False)
class LoggedEvent:
    """A stored event read as JSON, without the producer's classes: for replays of a service's own
    log and for reporting's audit history (motcua_common.events.published: other consumers read the
    published events, never this).

    The state is decoded on first use, so events a consumer does not handle cost no decoding.
    """

    upstream: str
    position: int
    topic: str
    originator_id: UUID
    originator_version: int
    state: bytes

    @cached_property
    def data(self) -> dict:
        return _wire_transcoder.decode(self.state)

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


_wire_transcoder = make_transcoder()
_log = get_logger()


class MotcuaApplication(Application):
    """Base of every service's Application. Subclasses set `name` and may set `read_model`.

    The audit hooks are arguments: `chain` (the log chain extended in every insert transaction,
    checkpoints and verification: motcua_common.audit.log.CHAIN), `reads` (the aggregate that
    records a read: motcua_common.audit.access.DossierRead) and `denials` (the aggregate that
    records a refused call: motcua_common.audit.access.AccessDenied). A service's Application sets
    them as class attributes (its composition); tests may pass others. Without a chain nothing is
    chained.
    """

    read_model: ReadModel | None = None
    chain: LogChain | None = None
    reads: Callable[..., Any] | None = None
    denials: Callable[..., Any] | None = None

    def __init__(self, *args: Any, chain: LogChain | None = None, reads: Callable[..., Any] | None = None,
                 denials: Callable[..., Any] | None = None, **kwargs: Any) -> None:
        if chain is not None:
            self.chain = chain
        if reads is not None:
            self.reads = reads
        if denials is not None:
            self.denials = denials
        self._denial_windows = DenialWindows()
        self._denial_timer: threading.Timer | None = None
        self._denial_timer_lock = threading.Lock()
        super().__init__(*args, **kwargs)

    def construct_mapper(self) -> Mapper:
        return ChainingMapper(transcoder=self.construct_transcoder())

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        transcoder.register(DateAsISO())

    def construct_recorder(self) -> MotcuaRecorder:
        recorder = self.factory.process_recorder()
        if isinstance(recorder, MotcuaRecorder):
            recorder.chain = self.chain
        return recorder  # type: ignore[return-value]

    #: share insert transactions between concurrent commands (see GroupCommit); off in eventlet workers
    group_commit = True

    def construct_event_store(self) -> EventStore:
        batching = GroupCommit(self.recorder) if self.group_commit and not _eventlet_patched() else None
        return ChainedEventStore(self.mapper, self.recorder, group_commit=batching)  # type: ignore[arg-type]

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

    #: what this service publishes to others (motcua_common.events.published); set by its bootstrap
    publication: Any = None

    def read_notifications(self, start: int, limit: int, with_audit: bool = False) -> list[dict]:
        """One page of this service's published events (positions >= start), for consumers that pull
        what they lack. `with_audit` adds each stored event (the audit record, for reporting only)."""
        if self.publication is None:
            return []
        return [e.to_wire() for e in self.publication.page(self, start, limit, with_audit)]

    def head_position(self) -> int:
        return self.recorder.max_notification_id() or 0

    def decode(self, notification: Notification) -> Any:
        return self.mapper.to_domain_event(notification)

    # -- audit: reads recorded, checkpoints signed, the log verified (motcua_common.audit.log) ----
    def record_read(self, actor: Any, dossier_id: UUID, dossier_code: str, what: str) -> None:
        """Record that `actor` read this dossier through `what` (before the data is returned)."""
        if self.reads is None:
            raise TypeError(f"{type(self).__name__} was given no `reads` aggregate to record reads with")
        context = CommandContext(actor=actor, province=self.province, clock=self.clock)  # type: ignore[attr-defined]
        with command_context(context), concerning(dossier_id, dossier_code=dossier_code):
            read = self.reads(what=what)
        self.record(read)

    def record_denial(self, actor: Any, rpc: str, action: str, reason: str, dossier_id: UUID | None,
                      dossier_code: str) -> None:
        """Record that the edge refused `actor` the call `rpc` (policy `action`) because of `reason`
        (no personal data), before the refusal is answered. Repeats of the same (actor, rpc, reason)
        within a minute are counted and recorded as one event (motcua_common.events.denials)."""
        if self.denials is None:
            raise TypeError(f"{type(self).__name__} was given no `denials` aggregate to record denials with")
        now = self.clock.now()  # type: ignore[attr-defined]
        self.flush_denials(now)
        first = self._denial_windows.admit(actor, rpc, action, reason, dossier_id, dossier_code, now)
        if first is not None:  # (the overflow group's details past the cap on groups per minute)
            self._record_denial(actor, *first, 1, now)
        else:
            self._flush_denials_after_the_minute(now)

    def flush_denials(self, now: Any = None) -> int:
        """Record the counted repeats of minutes over at `now` (None: all of them, e.g. at shutdown);
        returns how many denials the recorded events stand for."""
        due = self._denial_windows.due(now)
        for i, repeats in enumerate(due):
            try:
                self._record_denial(repeats.actor, repeats.rpc, repeats.action, repeats.reason, repeats.dossier_id,
                                    repeats.dossier_code, repeats.count, repeats.first_at)
            except BaseException:
                self._denial_windows.restore(due[i:])
                raise
        return sum(r.count for r in due)

    #: record counted repeats soon after their minute is over, not only at the next refusal
    flush_denials_in_background = True

    def _flush_denials_after_the_minute(self, now: Any) -> None:
        if not self.flush_denials_in_background:
            return
        with self._denial_timer_lock:
            if self._denial_timer is not None:
                return
            delay = (window_of(now) + timedelta(minutes=1) - now).total_seconds() + 0.2
            self._denial_timer = threading.Timer(delay, self._flush_denials_later)
            self._denial_timer.daemon = True
            self._denial_timer.start()

    def _flush_denials_later(self) -> None:
        with self._denial_timer_lock:
            self._denial_timer = None
        try:
            self.flush_denials(self.clock.now())  # type: ignore[attr-defined]
        except Exception as error:  # noqa: BLE001 - kept and tried again (DenialWindows.restore)
            _log.warning("denials_not_recorded", service=self.name, error=f"{type(error).__name__}: {error}",
                         pending=self._denial_windows.pending())
        if self._denial_windows.pending():  # the platform clock has not left the minute yet, or a failure
            self._flush_denials_after_the_minute(self.clock.now())  # type: ignore[attr-defined]

    def close(self) -> None:
        with self._denial_timer_lock:
            timer, self._denial_timer = self._denial_timer, None
        if timer is not None:
            timer.cancel()
        if self.denials is not None and self._denial_windows.pending():
            try:
                self.flush_denials()
            except Exception as error:  # noqa: BLE001 - stopping anyway: say what is lost
                _log.warning("denials_lost_at_close", service=self.name, error=f"{type(error).__name__}: {error}",
                             lost=self._denial_windows.pending())
        super().close()

    def _record_denial(self, actor: Any, rpc: str, action: str, reason: str, dossier_id: UUID | None,
                       dossier_code: str, count: int, occurred_at: Any) -> None:
        context = CommandContext(actor=actor, province=self.province, clock=self.clock,  # type: ignore[attr-defined]
                                 occurred_at=occurred_at)
        # A denial about no dossier still correlates: on the province's platform id, with no code.
        concerns = dossier_id if dossier_id is not None else platform_id(self.province)  # type: ignore[attr-defined]
        with command_context(context), concerning(concerns, dossier_code=dossier_code if dossier_id is not None else ""):
            denial = self.denials(rpc=rpc, action=action, reason=reason, count=count)  # type: ignore[misc]
        self.record(denial)

    def _audit_connection(self) -> Any:
        return psycopg.connect(eventsourcing_conninfo(self.env), autocommit=True)

    def sign_checkpoint(self, signer: Any, min_events: int = 1, max_age: Any = None) -> Any:
        """Sign the head of this service's log chain (a no-op when nothing was stored since)."""
        chain = self._chain()
        with self._audit_connection() as conn:
            return chain.record_checkpoint(conn, self.env["POSTGRES_SCHEMA"], self.name, self.province,  # type: ignore[attr-defined]
                                    signer, self.clock.now(), min_events, max_age)  # type: ignore[attr-defined]

    def verify_history(self, trust: Any, originator_ids: Sequence[UUID], positions: Sequence[int] = ()) -> dict:
        """Check these aggregates' chains and the signed log segments holding their events (and
        `positions`: events a follower saw), against this service's own store."""
        chain = self._chain()
        with self._audit_connection() as conn:
            verifier = chain.verifier(conn, self.env["POSTGRES_SCHEMA"], self.name, self.province, trust)  # type: ignore[attr-defined]
            wanted = {int(p) for p in positions}
            aggregate_breaks = []
            for originator_id in originator_ids:
                stored = self._positions_of(conn, originator_id)
                wanted.update(position for position, _ in stored)
                version = first_broken_link(self.recorder, originator_id)
                if version is not None:
                    position = next((p for p, v in stored if v == version), 0)
                    aggregate_breaks.append(chain.broken_link(
                        self.name, position, "aggregate_chain",
                        f"version {version} of {originator_id} does not follow its predecessor's stored bytes",
                        str(originator_id), version))
            report = verifier.verify_positions(wanted)
            # The log chain names a position for every kind of break; the aggregate chain adds
            # breaks inside a segment the log chain could not attribute (a rewritten chain).
            if report.broken is None and aggregate_breaks:
                report.broken = min(aggregate_breaks, key=lambda b: b.position)
            return report.as_dict()

    def _chain(self) -> LogChain:
        if self.chain is None:
            raise TypeError(f"{type(self).__name__} was given no log `chain`")
        return self.chain

    def _positions_of(self, conn: Any, originator_id: UUID) -> list[tuple[int, int]]:
        rows = conn.execute(f'SELECT notification_id, originator_version FROM "{self.env["POSTGRES_SCHEMA"]}".'
                            f'{self.name.lower()}_events WHERE originator_id = %s ORDER BY originator_version',
                            (originator_id,)).fetchall()
        return [(r[0], r[1]) for r in rows]


def create_tables(app_class: type[MotcuaApplication], env: dict[str, str]) -> None:
    """Create the service's schema and tables once, before any worker starts."""
    with psycopg.connect(eventsourcing_conninfo(env), autocommit=True) as conn:
        # Checked first: a service's own role may use its provisioned schema but not create schemas.
        if conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (env["POSTGRES_SCHEMA"],)).fetchone() is None:
            conn.execute(f'CREATE SCHEMA "{env["POSTGRES_SCHEMA"]}"')
        if app_class.chain is not None:
            app_class.chain.create_tables(conn, env["POSTGRES_SCHEMA"])
    # A bare Application with the service's name creates the same tables without its collaborators.
    tables = type(f"{app_class.__name__}Tables", (MotcuaApplication,), {"name": app_class.name})
    tables(env={**env, "CREATE_TABLE": "y"}).close()


def _eventlet_patched() -> bool:
    """In a nameko worker threads are green: a writer thread would only add switches."""
    import sys

    patcher = sys.modules.get("eventlet.patcher")
    return bool(patcher and patcher.is_monkey_patched("thread"))


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
