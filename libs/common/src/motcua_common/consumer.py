"""The consumer: applies an upstream service's events to this service exactly once, in order.

- Strictly in order per upstream: one page at a time under a lock, and inside the
  insert transaction an advisory lock plus a check that the stored tracking
  position is still the one the page was read after. eventsourcing refuses a
  position at or below the stored one exactly as it refuses a duplicate, so two
  workers committing 7 before 6 would otherwise drop 6 silently.
- Exactly once: a page's new events and its tracking record commit in one
  transaction; a redelivered or replayed event at or below the position is skipped.
- Contract only: it decodes the upstream's published events (motcua_common.published), never
  the upstream's stored JSON; each names the previous published position, so "next" means
  "links to the tracked position" even where the upstream stored events it does not publish.
- Push only wakes it: a pushed event that is the next one is applied directly;
  otherwise the consumer pulls the range it lacks from the upstream's log
  (through the upstream's API) in pages, one transaction per page. It also polls
  the upstream now and then, because a lost last event leaves no gap to notice.
"""
from __future__ import annotations

import threading
from typing import Any, Callable, Iterable, Protocol
from uuid import UUID

from eventsourcing.persistence import Tracking

from motcua_common.clock import Clock
from motcua_common.context import Actor, CommandContext, command_context, concerning
from motcua_common.eventstore import MotcuaApplication, execute_in_order
from motcua_common.published import PublishedEvent, published_from_wire, wire_position, wire_previous
from motcua_common.logs import bound, get_logger
from motcua_common.telemetry import DOSSIER_CODE, meter, span
from opentelemetry.metrics import Observation
from opentelemetry.trace import SpanKind

log = get_logger()

ReadPage = Callable[[int, int], list[dict]]  # (start position, limit) -> published events on the wire


class StaleTracking(RuntimeError):
    """Another worker advanced this upstream's position first; re-read and continue."""


class UnitOfWork:
    """The aggregates a page of upstream events touched; saved together with the tracking record."""

    def __init__(self, app: MotcuaApplication) -> None:
        self.app = app
        self._touched: dict[UUID, Any] = {}
        self.statements: list[tuple[str, tuple]] = []

    def get(self, aggregate_id: UUID) -> Any | None:
        if aggregate_id in self._touched:
            return self._touched[aggregate_id]
        return self.app.get_or_none(aggregate_id)

    def add(self, aggregate: Any) -> None:
        self._touched[aggregate.id] = aggregate

    def execute(self, sql: str, params: tuple) -> None:
        """A projection row to write in the page's transaction (for consumers that keep tables, not aggregates)."""
        self.statements.append((sql, params))

    @property
    def aggregates(self) -> Iterable[Any]:
        return self._touched.values()

    def write_statements(self, curs: Any) -> None:
        execute_in_order(curs, self.statements)


class EveryEvent(frozenset):
    """`Policy.handles` for a policy that sees every upstream event (e.g. reporting's history)."""

    def __contains__(self, name: object) -> bool:
        return True


class Policy(Protocol):
    #: published types it reacts to (e.g. "motcua.intake.events.v1.DossierReceived"); others only advance the position
    handles: frozenset[str]

    def __call__(self, event: PublishedEvent, work: UnitOfWork) -> None: ...


class UpstreamFollower:
    def __init__(self, app: MotcuaApplication, upstream: str, policy: Policy, clock: Clock,
                 province: str, page_size: int = 500) -> None:
        self.app = app
        self.upstream = upstream
        self.policy = policy
        self.clock = clock
        self.province = province
        self.page_size = page_size
        self.actor = Actor.system(f"{app.name}.consumer")
        self._lock = threading.Lock()
        self._pending_lock = threading.Lock()
        self._pending: dict[int, dict] = {}
        self._coalesced: set[int] = set()
        # Safe to cache: a stale value only makes the in-transaction check refuse a page.
        self._cached_position: int | None = None
        self._seen_head = 0  # the highest upstream position pushed or pulled: lag = seen head - applied
        self._applied = 0  # the highest position known applied (never reset, unlike the cache above)
        schema = app.env.get("POSTGRES_SCHEMA")
        self._tracking_table = f'"{schema}"."{app.name.lower()}_tracking"'
        self._lock_key = f"{schema}:{app.name}:{upstream}"
        meter().create_observable_gauge(
            "motcua.consumer.lag", callbacks=[self._observe_lag],
            description="upstream events seen but not yet applied, by upstream")

    def _observe_lag(self, _options: Any) -> list[Observation]:
        return [Observation(max(0, self._seen_head - self._applied),
                            {"consumer": self.app.name, "upstream": self.upstream})]

    def position(self) -> int:
        return self.app.recorder.max_tracking_id(self.upstream) or 0

    def on_push(self, wire: dict, read_page: ReadPage) -> None:
        """A message from the broker: apply it if it is next, else pull what is missing up to it.

        Pushes that arrive while another is being applied wait in `_pending`; whoever
        holds the lock next applies every contiguous pending event as one page.
        """
        pushed = wire_position(wire)
        self._seen_head = max(self._seen_head, pushed)
        with self._pending_lock:
            self._pending[pushed] = wire
        with self._lock:
            current = self._known_position()
            if pushed <= current:
                with self._pending_lock:
                    self._pending.pop(pushed, None)
                if not self._applied_by_a_waiting_push(pushed):
                    log.info("duplicate_skipped", upstream=self.upstream, position=pushed, tracked=current)
                return
            run = self._take_contiguous(current, own=pushed)
            if run:
                try:
                    self._apply_page([published_from_wire(self.upstream, w) for w in run], current)
                except StaleTracking:
                    self._cached_position = None
            if self._known_position() < pushed:
                log.info("gap_detected", upstream=self.upstream, position=pushed, tracked=self._known_position())
                self._catch_up_locked(read_page, until=pushed)

    def _applied_by_a_waiting_push(self, position: int) -> bool:
        with self._pending_lock:
            if position in self._coalesced:
                self._coalesced.discard(position)
                return True
        return False

    def _take_contiguous(self, current: int, own: int) -> list[dict]:
        """Every pending event linked to `current` without a gap; the others' pushes then find them applied."""
        run = []
        with self._pending_lock:
            following = {wire_previous(w): p for p, w in self._pending.items()}
            position = current
            while position in following:
                wire = self._pending.pop(following[position])
                run.append(wire)
                position = wire_position(wire)
            self._coalesced.update(wire_position(w) for w in run if wire_position(w) != own)
            for stale in [p for p in self._pending if p <= current]:
                self._pending.pop(stale)
        return run

    def _known_position(self) -> int:
        if self._cached_position is None:
            self._cached_position = self.position()
            self._applied = max(self._applied, self._cached_position)
        return self._cached_position

    def catch_up(self, read_page: ReadPage, until: int | None = None) -> int:
        """Pull and apply everything after the tracked position (at least up to `until`); returns events applied."""
        with self._lock:
            self._cached_position = None  # a periodic catch-up re-reads the stored position
            return self._catch_up_locked(read_page, until)

    def _catch_up_locked(self, read_page: ReadPage, until: int | None) -> int:
        applied = 0
        while True:
            current = self._known_position()
            if until is not None and current >= until:
                return applied
            page = read_page(current + 1, self.page_size)
            if not page:
                return applied
            try:
                self._apply_page([published_from_wire(self.upstream, w) for w in page], current)
            except StaleTracking:
                self._cached_position = None
                continue
            applied += len(page)
            log.info("pulled_page", upstream=self.upstream, count=len(page), position=wire_position(page[-1]))

    def _apply_page(self, events: list[PublishedEvent], expected_position: int) -> None:
        """Apply a page and save its consequences with the tracking record, in one transaction.

        Each event is applied in a span continuing its own trace; the page is saved inside
        the last event's span, so a one-event page shows submit -> saved as one trace.
        """
        work = UnitOfWork(self.app)
        handled = [e for e in events if e.type in self.policy.handles]
        with command_context(CommandContext(actor=self.actor, province=self.province, clock=self.clock)):
            for event in handled[:-1]:
                with self._span_for(event):
                    self._apply_one(event, work)
            with self._span_for(handled[-1]) if handled else _nullcontext():
                if handled:
                    self._apply_one(handled[-1], work)
                try:
                    self.app.record(*work.aggregates, tracking=Tracking(self.upstream, events[-1].position),
                                    before_insert=[self._expect_position(expected_position), work.write_statements])
                except Exception:
                    self._cached_position = None
                    raise
        self._cached_position = events[-1].position
        self._applied = max(self._applied, events[-1].position)
        self._seen_head = max(self._seen_head, events[-1].position)

    def _span_for(self, event: PublishedEvent) -> Any:
        return span(f"{self.app.name}.consume {event.type}", event.traceparent or None, SpanKind.CONSUMER,
                    **{"messaging.source": self.upstream, "motcua.position": event.position,
                       DOSSIER_CODE: event.dossier_code})

    def _apply_one(self, event: PublishedEvent, work: UnitOfWork) -> None:
        correlation = event.subject
        code = event.dossier_code or None
        with concerning(UUID(correlation), causation_id=event.ref, dossier_code=code) if correlation \
                else _nullcontext():
            with bound(upstream_position=event.position, dossier_code=code):
                self.policy(event, work)

    def _expect_position(self, expected: int) -> Callable[[Any], None]:
        def check(curs: Any) -> None:
            curs.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (self._lock_key,))
            curs.execute(f"SELECT notification_id FROM {self._tracking_table} WHERE application_name = %s",
                         (self.upstream,))
            row = curs.fetchone()
            stored = (row["notification_id"] if row else None) or 0
            if stored != expected:
                raise StaleTracking(f"{self.upstream} position is {stored}, page was read after {expected}")

        return check


class _nullcontext:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: Any) -> None:
        return None
