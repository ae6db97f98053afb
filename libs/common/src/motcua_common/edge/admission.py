"""Admission at the gRPC edge: which calls get served now, and which are shed.

An `Admission` runs its policies in order for every call the edge serves (health and
reflection are never subject to it). A policy either lets the call in, returning what to
do when the call ends, or raises Overloaded (-> RESOURCE_EXHAUSTED with a retry hint).
Today one policy bounds the work in flight; per-client rate limits plug in beside it.
"""
from __future__ import annotations

import threading
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
