"""The consumer: applies an upstream service's events to this service exactly once, in order.

- Strictly in order per upstream: one page at a time under a lock, and inside the
  insert transaction an advisory lock plus a check that the stored tracking
  position is still the one the page was read after. eventsourcing refuses a
  position at or below the stored one exactly as it refuses a duplicate, so two
  workers committing 7 before 6 would otherwise drop 6 silently.
- Exactly once: a page's new events and its tracking record commit in one
  transaction; a redelivered or replayed event at or below the position is skipped.
- Contract only: it decodes the upstream's published events (motcua_common.events.published), never
  the upstream's stored JSON; each names the previous published position, so "next" means
  "links to the tracked position" even where the upstream stored events it does not publish.
- Push only wakes it: a pushed event that is the next one is applied directly;
  otherwise the consumer pulls the range it lacks from the upstream's log
  (through the upstream's API) in pages, one transaction per page. It also polls
  the upstream now and then, because a lost last event leaves no gap to notice.
- A push never waits: one that finds the lock held leaves its event pending and
  returns, and the holder applies it before letting go. So a pull that hangs on a
  dead upstream holds one worker slot, not all of them.
- Never silent: an event it cannot apply leaves it stuck at that position, which it
  logs (`consumer_stuck`), exports (`motcua_consumer_stuck_since`/`_position`) and
  reports in `health()`; an upstream it cannot reach is one warning line until it answers.
"""
from __future__ import annotations

import threading
import time
import weakref
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Protocol
from uuid import UUID

from eventsourcing.persistence import Tracking

from motcua_common.config.clock import Clock
from motcua_common.events.context import Actor, CommandContext, command_context, concerning
from motcua_common.events.store import MotcuaApplication, execute_in_order
from motcua_common.events.published import PublishedEvent, published_from_wire, wire_position, wire_previous
from motcua_common.observability.logs import bound, get_logger
from motcua_common.observability.telemetry import DOSSIER_CODE, meter, span
from opentelemetry.metrics import Observation
from opentelemetry.trace import SpanKind

log = get_logger()

ReadPage = Callable[[int, int], list[dict]]  # (start position, limit) -> published events on the wire


class StaleTracking(RuntimeError):
    """Another worker advanced this upstream's position first; re-read and continue."""


class UpstreamUnavailable(RuntimeError):
    """The upstream's log could not be read (not started yet, restarting, or its answer was lost)."""


@dataclass(frozen=True)
class Stuck:
    """The consumer cannot apply the event at `position`; it retries and stays there until it can."""

    position: int
    since: float  # unix time of the first failure here (the system's, as the alert compares it with time())
    error: str

    def as_dict(self) -> dict:
        return {"position": self.position, "since": self.since, "error": self.error}


_followers: "weakref.WeakSet[UpstreamFollower]" = weakref.WeakSet()
_gauges_lock = threading.Lock()
_gauges_created = False


#: the gauges every follower exports: name -> (value of one follower, description)
GAUGES: dict[str, tuple[Callable[["UpstreamFollower"], float], str]] = {
    "motcua.consumer.lag": (lambda f: max(0, f._seen_head - f._applied),
                            "upstream events seen but not yet applied, by upstream"),
    "motcua.consumer.stuck_since": (lambda f: f.stuck.since if f.stuck else 0,
                                    "unix time since when the consumer cannot apply the next event (0: it can)"),
    "motcua.consumer.stuck_position": (lambda f: f.stuck.position if f.stuck else 0,
                                       "the upstream position the consumer cannot apply (0: none)"),
}


def observations() -> list[tuple[str, float, dict[str, str]]]:
    """Every gauge of every follower of this process: (name, value, labels)."""
    return [(name, value(f), f.labels) for name, (value, _) in GAUGES.items() for f in list(_followers)]


def _register(follower: "UpstreamFollower") -> None:
    """One gauge of each name per process, observing every follower (a second gauge of the same
    name would be dropped by the SDK, which left reporting exporting one upstream's lag of three)."""
    global _gauges_created
    _followers.add(follower)
    with _gauges_lock:
        if _gauges_created:
            return
        _gauges_created = True
        for name, (value, description) in GAUGES.items():
            meter().create_observable_gauge(name, callbacks=[_observe(value)], description=description)


def _observe(value: Callable[["UpstreamFollower"], float]) -> Callable[[Any], list[Observation]]:
    def callback(_options: Any) -> list[Observation]:
        return [Observation(value(f), f.labels) for f in list(_followers)]

    return callback


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
        self._wanted = 0  # the highest position a wake asked to pull up to
        # Safe to cache: a stale value only makes the in-transaction check refuse a page.
        self._cached_position: int | None = None
        self._seen_head = 0  # the highest upstream position pushed or pulled: lag = seen head - applied
        self._applied = 0  # the highest position known applied (never reset, unlike the cache above)
        self.stuck: Stuck | None = None
        self._unreachable = False
        schema = app.env.get("POSTGRES_SCHEMA")
        self._tracking_table = f'"{schema}"."{app.name.lower()}_tracking"'
        self._lock_key = f"{schema}:{app.name}:{upstream}"
        self.labels = {"consumer": app.name, "upstream": upstream}
        _register(self)

    def position(self) -> int:
        return self.app.recorder.max_tracking_id(self.upstream) or 0

    def health(self) -> dict:
        """What the worker reports: its position and, when stuck, where, since when and why."""
        detail: dict[str, Any] = {"position": self._applied, "seen_head": self._seen_head,
                                  "status": "stuck" if self.stuck else "applying"}
        if self.stuck:
            detail["stuck"] = self.stuck.as_dict()
        if self._unreachable:
            detail["upstream_reachable"] = False
        return detail

    def on_push(self, wire: dict, read_page: ReadPage) -> None:
        """A message from the broker: apply it if it is next, else pull what is missing up to it.

        Never waits for the lock: a push that finds it held leaves its event pending and
        returns at once; the holder applies every pending event before it lets go, and
        re-checks after letting go, so no pending event is left behind.
        """
        pushed = wire_position(wire)
        self._seen_head = max(self._seen_head, pushed)
        with self._pending_lock:
            self._pending[pushed] = wire
        self._drain_while_pending(read_page)

    def wake(self, position: int, read_page: ReadPage) -> None:
        """A push whose event the consumer pulls rather than applies (it needs what the push lacks,
        e.g. reporting's audit record): pull up to `position`, without waiting for the lock; a
        holder pulls up to it before letting go, as it applies pending pushes."""
        self._seen_head = max(self._seen_head, position)
        with self._pending_lock:
            self._wanted = max(self._wanted, position)
        self._drain_while_pending(read_page)

    def _drain_while_pending(self, read_page: ReadPage | None) -> None:
        while self._has_pending_work() and self._lock.acquire(blocking=False):
            try:
                progressing = self._drain_pending_locked(read_page)
            finally:
                self._lock.release()
            if not progressing:
                return

    def _has_pending_work(self) -> bool:
        with self._pending_lock:
            current = self._cached_position or 0
            return self._wanted > current or any(p > current for p in self._pending)

    def _drain_pending_locked(self, read_page: ReadPage | None) -> bool:
        """Apply what is pending (pulling any gap before it, unless read_page is None: the upstream
        does not answer); False if it stopped on a failure or a gap it cannot fill."""
        while True:
            current = self._known_position()
            run = self._take_contiguous(current)
            if run:
                try:
                    self._apply_wires(run, current)
                except StaleTracking:
                    self._cached_position = None
                    continue
                except _ApplyFailed:
                    with self._pending_lock:  # kept: the poll or the next push retries it
                        self._pending.update({wire_position(w): w for w in run})
                    return False
                continue
            with self._pending_lock:
                pushed_ahead = max(self._pending, default=0)
                ahead = max(pushed_ahead, self._wanted)
            if ahead <= current:
                return True
            if read_page is None:
                return False
            if pushed_ahead > current:
                log.info("gap_detected", upstream=self.upstream, position=pushed_ahead, tracked=current)
            try:
                self._catch_up_locked(read_page, until=ahead)
            except (UpstreamUnavailable, _ApplyFailed):
                return False  # reported where it failed; the poll retries
            if self._known_position() < ahead:
                return False  # the upstream's log ends before the push (not committed yet): the poll sees it

    def _take_contiguous(self, current: int) -> list[dict]:
        """Every pending event linked to `current` without a gap (those at or below current are done).

        Published events link to the previous published position (ce_motcuaprevious), not to
        position - 1: the upstream's unpublished stored events leave holes in the numbering."""
        run = []
        with self._pending_lock:
            for stale in [p for p in self._pending if p <= current]:
                self._pending.pop(stale)
            following = {wire_previous(w): p for p, w in self._pending.items()}
            position = current
            while position in following:
                wire = self._pending.pop(following[position])
                run.append(wire)
                position = wire_position(wire)
        return run

    def _known_position(self) -> int:
        if self._cached_position is None:
            self._cached_position = self.position()
            self._applied = max(self._applied, self._cached_position)
        return self._cached_position

    def catch_up(self, read_page: ReadPage, until: int | None = None) -> int:
        """Pull and apply everything after the tracked position (at least up to `until`); returns events applied.

        An unreachable upstream or an event that cannot be applied ends the round quietly (one
        warning, or the stuck report); the next poll tries again.
        """
        pull: ReadPage | None = read_page
        with self._lock:
            self._cached_position = None  # a periodic catch-up re-reads the stored position
            try:
                applied = self._catch_up_locked(read_page, until)
            except _ApplyFailed:
                return 0
            except UpstreamUnavailable:
                applied, pull = 0, None  # pushed events that arrived meanwhile still apply
            self._drain_pending_locked(pull)
        self._drain_while_pending(pull)  # pushes that found the lock held while it was let go
        return applied

    def _catch_up_locked(self, read_page: ReadPage, until: int | None) -> int:
        applied = 0
        while True:
            current = self._known_position()
            if until is not None and current >= until:
                return applied
            page = self._read(read_page, current + 1)
            if not page:
                return applied
            try:
                self._apply_wires(page, current)
            except StaleTracking:
                self._cached_position = None
                continue
            applied += len(page)
            log.info("pulled_page", upstream=self.upstream, count=len(page), position=wire_position(page[-1]))

    def _read(self, read_page: ReadPage, start: int) -> list[dict]:
        try:
            page = read_page(start, self.page_size)
        except BaseException as error:
            if not isinstance(error, Exception) and type(error).__name__ != "Timeout":
                raise  # an interrupt or a killed greenthread ends the worker, not the pull (eventlet's
                # Timeout is a BaseException too, and is what a lost answer looks like)
            if not self._unreachable:
                self._unreachable = True
                log.warning("upstream_unavailable", upstream=self.upstream, position=start,
                            error=f"{type(error).__name__}: {error}".rstrip(": "))
            raise UpstreamUnavailable(self.upstream) from None
        if self._unreachable:
            self._unreachable = False
            log.info("upstream_available", upstream=self.upstream)
        return page

    def _apply_wires(self, wires: list[dict], current: int) -> None:
        """Apply a page; if it fails, apply it one event at a time, so the stuck position is exact."""
        try:
            self._apply_page([published_from_wire(self.upstream, w) for w in wires], current)
        except StaleTracking:
            raise
        except Exception as error:
            if len(wires) == 1:
                self._report_stuck(wire_position(wires[0]), error)
                raise _ApplyFailed() from error
            for wire in wires:
                self._apply_wires([wire], current)
                current = wire_position(wire)
            return
        if self.stuck is not None:
            log.info("consumer_unstuck", upstream=self.upstream, position=self.stuck.position)
            self.stuck = None

    def _report_stuck(self, position: int, error: Exception) -> None:
        message = f"{type(error).__name__}: {error}"
        first = self.stuck is None or self.stuck.position != position
        if first:
            self.stuck = Stuck(position, time.time(), message)
        else:
            self.stuck = Stuck(position, self.stuck.since, message)
        # The whole traceback once per position; then one line a retry.
        log.error("consumer_stuck", upstream=self.upstream, position=position, error=message, exc_info=first)

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


class _ApplyFailed(RuntimeError):
    """An event could not be applied (already reported as stuck)."""


class _nullcontext:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: Any) -> None:
        return None
