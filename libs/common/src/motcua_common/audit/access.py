"""Access is history too: every read of a dossier through a gRPC API is recorded as an event.

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



# Stored events name this module by its path before the library had rooms (e.g.
# "motcua_common.access:...Recorded"): old topics resolve here.  (rooms-map: keep)
register_moved_module("motcua_common.access", sys.modules[__name__])  # rooms-map: keep
