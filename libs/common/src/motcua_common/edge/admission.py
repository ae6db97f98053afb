"""Admission at the gRPC edge: which calls get served now, and which are shed.

An `Admission` runs its policies in order for every call the edge serves (health and
reflection are never subject to it). A policy either lets the call in, returning what to
do when the call ends, or raises Overloaded (-> RESOURCE_EXHAUSTED with a retry hint).
One policy bounds the work in flight; rate limits per caller (CallerRateLimits) are applied by the
edge's gate once the caller is known (motcua_common.edge.access).
"""
from __future__ import annotations

import threading
import time
from collections import OrderedDict
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable, Iterator, Protocol, Sequence

from motcua_common.errors import Overloaded
from motcua_common.observability.telemetry import meter

_shed = meter().create_counter("motcua.grpc.shed", description="calls refused by the edge's admission, by reason")

Release = Callable[[], None]


@dataclass(frozen=True)
class Call:
    """What a policy may look at: the full method name and the request's metadata."""

    method: str
    metadata: tuple[tuple[str, str | bytes], ...] = ()


class AdmissionPolicy(Protocol):
    def admit(self, call: Call) -> Release:
        """Let the call in (return what undoes the admission; called once when it ends) or raise Overloaded."""


class InFlightLimit:
    """At most `limit` calls served at once; the next one is refused at once, not queued
    (a queued call holds a thread and its caller's deadline runs out while it waits)."""

    def __init__(self, limit: int, retry_after: float = 1.0) -> None:
        if limit < 1:
            raise ValueError("the in-flight limit must be at least 1")
        self.limit = limit
        self.retry_after = retry_after
        self._in_flight = 0
        self._lock = threading.Lock()

    @property
    def in_flight(self) -> int:
        return self._in_flight

    def admit(self, call: Call) -> Release:
        with self._lock:
            if self._in_flight >= self.limit:
                _shed.add(1, {"reason": "in_flight", "rpc.method": call.method})
                raise Overloaded(f"the server is serving its limit of {self.limit} calls; retry shortly",
                                 self.retry_after)
            self._in_flight += 1
        return self._release

    def _release(self) -> None:
        with self._lock:
            self._in_flight -= 1


class Admission:
    def __init__(self, policies: Sequence[AdmissionPolicy] = ()) -> None:
        self.policies = list(policies)

    @contextmanager
    def admitted(self, call: Call) -> Iterator[None]:
        releases: list[Release] = []
        try:
            for policy in self.policies:
                releases.append(policy.admit(call))
            yield
        finally:
            for release in reversed(releases):
                release()


class TokenBuckets:
    """A rate limit per caller: `per_minute` calls on average, bursts of up to `burst`; a caller over
    it is refused (Overloaded, with the wait until its next call would pass) while others go on.
    Keys are bounded (least recently seen forgotten first) so callers cannot exhaust memory."""

    def __init__(self, per_minute: float, burst: int, clock: Callable[[], float] = time.monotonic,
                 max_keys: int = 100_000) -> None:
        if per_minute <= 0 or burst < 1:
            raise ValueError("a rate limit needs a positive rate and a burst of at least 1")
        self.rate = per_minute / 60.0
        self.burst = float(burst)
        self._clock = clock
        self._max_keys = max_keys
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # key -> (tokens, at)
        self._lock = threading.Lock()

    def take(self, key: str, what: str) -> None:
        with self._lock:
            now = self._clock()
            tokens, at = self._buckets.pop(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - at) * self.rate)
            if tokens < 1.0:
                self._buckets[key] = (tokens, now)
                _shed.add(1, {"reason": "rate_limit", "rpc.method": what})
                raise Overloaded(f"too many calls from this {key.split(':', 1)[0]}; slow down",
                                 retry_after=(1.0 - tokens) / self.rate)
            self._buckets[key] = (tokens - 1.0, now)
            while len(self._buckets) > self._max_keys:
                self._buckets.popitem(last=False)


@dataclass(frozen=True)
class CallerRateLimits:
    """Per-caller limits at the edge: citizens (and anonymous callers, by address) by `citizens`,
    officials and integrator clients by `clients` (MOTCUA_RATE_LIMIT_* settings)."""

    clients: TokenBuckets
    citizens: TokenBuckets

    def take(self, kind: str, subject: str, peer: str, what: str) -> None:
        if kind == "citizen":
            self.citizens.take(f"citizen:{subject}", what)
        elif kind in ("official", "integrator"):
            self.clients.take(f"{'client' if kind == 'integrator' else 'official'}:{subject}", what)
        else:
            self.citizens.take(f"address:{peer.rsplit(':', 1)[0]}", what)
