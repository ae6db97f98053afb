"""How refused calls are counted, so that recording them stays cheap and bounded.

The rule (MotcuaApplication.record_denial): denials are grouped by (actor, rpc, reason) and by
clock minute (UTC, from the platform clock). The first denial of a group in a minute is recorded
at once, before the caller is answered (count 1). Further denials of that group in the same minute
are only counted in memory; once the minute is over they are recorded as ONE event carrying their
count: at the next denial this process sees (of any group), by a timer shortly after the minute
ends, or when the application closes (`flush_denials`). So the log grows by at most two events
per group and minute, however fast a caller is refused (and groups per minute are capped:
DenialWindows.max_groups); a crash loses at most the counts of the current minute, never a first
denial.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Hashable
from uuid import UUID

#: the overflow group's rpc and reason (DenialWindows.max_groups)
OVERFLOW_RPC = "*"
OVERFLOW_REASON = "more different refusals in one minute than are recorded apart; counted together"


def window_of(at: datetime) -> datetime:
    """The start of the minute `at` falls in."""
    return at.replace(second=0, microsecond=0)


@dataclass
class Repeats:
    """Denials of one group in one minute after its first: recorded together, with their count."""

    window: datetime
    actor: Any
    rpc: str
    action: str
    reason: str
    dossier_id: UUID | None  # the first repeat's (a group may probe several dossiers)
    dossier_code: str
    first_at: datetime
    count: int = 0


class DenialWindows:
    """Which denials to record now, and which repeats are due (thread-safe; one per application).

    An edge may refuse calls to methods that do not exist, so `rpc` can be the caller's own text:
    past `max_groups` groups in one minute, an actor's further new groups are counted together in
    one overflow group (rpc OVERFLOW_RPC), which keeps memory and the log bounded by the actors.
    """

    def __init__(self, max_groups: int = 1000) -> None:
        self.max_groups = max_groups
        self._lock = threading.Lock()
        self._first_seen: dict[Hashable, datetime] = {}  # group -> the minute its first denial was recorded
        self._groups: dict[datetime, int] = {}  # minute -> groups seen in it
        self._repeats: dict[Hashable, Repeats] = {}
        self._taken_before: datetime | None = None  # due() took every minute before this one

    def admit(self, actor: Any, rpc: str, action: str, reason: str, dossier_id: UUID | None, dossier_code: str,
              at: datetime) -> tuple[str, str, str, UUID | None, str] | None:
        """(rpc, action, reason, dossier id, dossier code) to record now: the first denial of its group
        this minute (the overflow group's when there were too many groups); None: counted as a repeat."""
        window = window_of(at)
        with self._lock:
            if self._taken_before is not None and window < self._taken_before:
                self._taken_before = None  # a late caller of a minute already taken: take it again
            group = (actor, rpc, reason)
            if self._first_seen.get(group) != window and self._groups.get(window, 0) >= self.max_groups:
                rpc, action, reason, dossier_id, dossier_code = OVERFLOW_RPC, "", OVERFLOW_REASON, None, ""
                group = (actor, rpc, reason)
            if self._first_seen.get(group) != window:
                self._first_seen[group] = window
                self._groups[window] = self._groups.get(window, 0) + 1
                return rpc, action, reason, dossier_id, dossier_code
            repeats = self._repeats.get(group)
            if repeats is None:
                repeats = self._repeats[group] = Repeats(window, actor, rpc, action, reason, dossier_id,
                                                         dossier_code, at)
            repeats.count += 1
            return None

    def due(self, now: datetime | None) -> list[Repeats]:
        """Take the repeats of minutes that are over at `now` (None: every minute, e.g. at shutdown)."""
        current = window_of(now) if now is not None else None
        with self._lock:
            if current is not None and current == self._taken_before:
                return []  # the usual case: the minute has not changed since the last call
            self._taken_before = current
            over = [g for g, r in self._repeats.items() if current is None or r.window < current]
            taken = [self._repeats.pop(g) for g in over]
            self._first_seen = {g: w for g, w in self._first_seen.items() if current is not None and w >= current}
            self._groups = {w: n for w, n in self._groups.items() if current is not None and w >= current}
        return taken

    def restore(self, repeats: list[Repeats]) -> None:
        """Give back repeats that could not be recorded (they are tried again at the next flush)."""
        with self._lock:
            self._taken_before = None
            for r in repeats:
                group = (r.actor, r.rpc, r.reason)
                held = self._repeats.get(group)
                if held is None:
                    self._repeats[group] = r
                elif held.window == r.window:
                    held.count += r.count
                else:  # a later minute of the same group is counting already: keep both
                    self._repeats[(group, r.window)] = r

    def pending(self) -> int:
        """Denials counted and not yet recorded."""
        with self._lock:
            return sum(r.count for r in self._repeats.values())
