"""Access is history too: every read of a dossier through a gRPC API is recorded as an event,
and so is every call the edge refuses (AccessDenied: a security event an inspector lists).

Each read is its own small aggregate (one event), so recording it never contends
with the dossier's own writes; it is chained, signed and relayed like every other
event, and reporting shows it in the dossier's history when asked to. The read is
recorded before the data leaves the service: if it cannot be recorded, the read fails.
"""
from __future__ import annotations

import sys

from eventsourcing.domain import event
from motcua_common.events.topics import register_moved_module

from motcua_common.events.domain import MotcuaAggregate


class DossierRead(MotcuaAggregate):
    """Who read which dossier, when, through which call (actor and dossier are in the envelope)."""

    @event("Recorded")
    def __init__(self, what: str) -> None:
        self.what = what


class AccessDenied(MotcuaAggregate):
    """A call the edge refused (UNAUTHENTICATED or PERMISSION_DENIED): who (the actor in the envelope,
    "anonymous" without a valid token), what (`rpc`, the policy `action`), why (`reason`, never
    personal data), and how many identical refusals this event stands for (`count`: repeats within
    a minute are recorded as one event, MotcuaApplication.record_denial). The envelope names the
    dossier concerned, or the province's platform id (motcua_common.events.ids.platform_id) with
    an empty dossier code when the call concerned no dossier."""

    @event("Recorded")
    def __init__(self, rpc: str, action: str, reason: str, count: int) -> None:
        self.rpc = rpc
        self.action = action
        self.reason = reason
        self.count = count


# Stored events name this module by its path before the library had rooms (e.g.
# "motcua_common.access:...Recorded"): old topics resolve here.  (rooms-map: keep)
register_moved_module("motcua_common.access", sys.modules[__name__])  # rooms-map: keep
