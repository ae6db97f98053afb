"""Who is acting, for which dossier, because of what: the context every event records.

The entrypoint opens a `command_context`; aggregates read it when they record an
event, so the envelope is filled in one place and cannot be forgotten.
"""
from __future__ import annotations

import contextvars
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from typing import Iterator
from uuid import UUID

from motcua_common.config.clock import Clock
from motcua_common.observability.telemetry import current_traceparent, mark_dossier

ACTOR_KINDS = ("official", "citizen", "integrator", "system", "anonymous")


@dataclass(frozen=True)
class Actor:
    """Identity claims of whoever caused an event (authentication arrives later; the shape does not change)."""

    kind: str
    subject: str = ""
    role: str = ""
    unit: str = ""
    client: str = ""
    on_behalf_of: str = ""

    def as_dict(self) -> dict[str, str]:
        return asdict(self)

    @classmethod
    def system(cls, component: str) -> "Actor":
        return cls(kind="system", subject=component)


@dataclass(frozen=True)
class CommandContext:
    actor: Actor
    province: str
    clock: Clock
    correlation_id: UUID | None = None
    causation_id: str = ""
    occurred_at: datetime | None = None
    dossier_code: str = ""

    def envelope(self) -> dict:
        if self.correlation_id is None:
            raise RuntimeError("an event was recorded with no dossier in its context (correlation_id)")
        return {
            "actor": self.actor.as_dict(),
            "province": self.province,
            "correlation_id": str(self.correlation_id),
            "causation_id": self.causation_id,
            "occurred_at": (self.occurred_at or self.clock.now()).isoformat(),
            "dossier_code": self.dossier_code,
            # The span that recorded the event: the relay and consumers continue its trace.
            "traceparent": current_traceparent(),
        }


_current: contextvars.ContextVar[CommandContext | None] = contextvars.ContextVar("motcua_command", default=None)


def current() -> CommandContext:
    ctx = _current.get()
    if ctx is None:
        raise RuntimeError("no command context: open one with motcua_common.events.context.command_context()")
    return ctx


@contextmanager
def command_context(ctx: CommandContext) -> Iterator[CommandContext]:
    token = _current.set(ctx)
    try:
        yield ctx
    finally:
        _current.reset(token)


@contextmanager
def concerning(correlation_id: UUID, causation_id: str | None = None,
               dossier_code: str | None = None) -> Iterator[CommandContext]:
    """Narrow the current context to one dossier (and, for policies, the upstream event)."""
    ctx = current()
    changes: dict = {"correlation_id": correlation_id}
    if causation_id is not None:
        changes["causation_id"] = causation_id
    if dossier_code:
        changes["dossier_code"] = dossier_code
        mark_dossier(dossier_code)
    with command_context(replace(ctx, **changes)) as narrowed:
        yield narrowed
