"""The caller's gRPC deadline, carried from the edge to the event store's insert.

The edge sets it for the duration of a call; the event store refuses to commit a
command whose caller has already given up (see GroupCommit), so a timed-out
request never becomes a stored fact the caller believes was refused.
"""
from __future__ import annotations

import time
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Callable, Iterator

from motcua_common.errors import DeadlineExceeded

#: time.monotonic() value after which the current call's caller no longer waits (None: no deadline)
_deadline: ContextVar[float | None] = ContextVar("motcua_deadline", default=None)

# grpc reports "no deadline" as a remaining time of centuries.
_NO_DEADLINE_ABOVE = 10 * 365 * 24 * 3600.0


@contextmanager
def call_deadline(remaining_seconds: float | None, clock: Callable[[], float] = time.monotonic) -> Iterator[None]:
    """Within this block, `current()` is the deadline `remaining_seconds` from now."""
    deadline = None
    if remaining_seconds is not None and remaining_seconds < _NO_DEADLINE_ABOVE:
        deadline = clock() + max(remaining_seconds, 0.0)
    token = _deadline.set(deadline)
    try:
        yield
    finally:
        _deadline.reset(token)


def current() -> float | None:
    return _deadline.get()


def check(deadline: float | None, clock: Callable[[], float] = time.monotonic) -> None:
    """Raise DeadlineExceeded if `deadline` has passed."""
    if deadline is not None and clock() >= deadline:
        raise DeadlineExceeded("the caller's deadline passed before the command was stored; nothing was stored")
