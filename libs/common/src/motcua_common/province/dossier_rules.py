"""One source for the dossier's shared facts: national status codes, channel codes, the case's
states and transitions, and the end reasons with the two ways reports count them.

Workflow's aggregate and read model and reporting's state-as-of all read these tables; a newer
methodology changes the data here (END_REASONS), not the code that applies it. Pure data and
functions: no I/O, no eventsourcing.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum


class NationalStatus(IntEnum):
    """`TrangThaiHoSo` of the national portal."""

    NEW = 1
    RECEIVED = 2
    NOT_RECEIVED = 3
    PROCESSING = 4
    SUPPLEMENT_REQUESTED = 5
    FINANCIAL_OBLIGATION_REQUESTED = 6
    WITHDRAWAL_REQUESTED = 7
    STOPPED = 8
    PROCESSED = 9
    RESULT_RETURNED = 10


class Channel(IntEnum):
    """`KenhThucHien`: how the dossier was submitted."""

    DESK = 1
    ONLINE = 2
    POST = 3


CHANNELS = tuple(c.name.lower() for c in Channel)  # the names the APIs take: desk, online, post
# Channels whose intake may state an earlier reception time than its recording (a dossier received
# at the counter or by post and entered later); an online submission is received when it arrives.
BACKDATING_CHANNELS = ("desk", "post")

# -- the case's states ---------------------------------------------------------------------------
IN_PROGRESS, PAUSED, PROCESSED, STOPPED, RETURNED = "in_progress", "paused", "processed", "stopped", "returned"
CASE_NATIONAL_STATUS = {IN_PROGRESS: NationalStatus.PROCESSING, PAUSED: NationalStatus.SUPPLEMENT_REQUESTED,
                        PROCESSED: NationalStatus.PROCESSED, STOPPED: NationalStatus.STOPPED,
                        RETURNED: NationalStatus.RESULT_RETURNED}
CLOSED_CASE_STATES = frozenset({PROCESSED, STOPPED, RETURNED})
# The state a case is in after each event that moves it (by the event's short name; others keep it).
CASE_TRANSITIONS = {
    "Opened": IN_PROGRESS,
    "SupplementRequested": PAUSED,
    "Resumed": IN_PROGRESS,
    "Stopped": STOPPED,
    "Processed": PROCESSED,
    "ResultReturned": RETURNED,
}


def case_state_after(event_name: str) -> str | None:
    """The case's state after an event (`Case.Stopped` or `Stopped`); None: the event keeps it."""
    return CASE_TRANSITIONS.get(event_name.removeprefix("Case."))


# -- how a dossier ended, and how each report counts it -------------------------------------------
EARLY, ON_TIME, LATE = "early", "on_time", "late"
TIMINGS = (EARLY, ON_TIME, LATE)
RESOLVED = "resolved"  # operational statistics count it by its timing (early / on time / late)


@dataclass(frozen=True)
class EndReasonRule:
    counted_by_progress_766: bool  # Decision 766's progress indicator counts it
    operational: str  # RESOLVED, or the label operational statistics count it under, apart


END_REASONS = {
    "processed": EndReasonRule(True, RESOLVED),
    "result_returned": EndReasonRule(True, RESOLVED),
    "withdrawn": EndReasonRule(True, "cancelled"),
    "refused": EndReasonRule(True, "denied"),
    "stopped": EndReasonRule(True, "stopped"),
}
# The text workflow gave a withdrawal's stop before end reasons were recorded (Case.Stopped v1).
WITHDRAWAL_REASON_PREFIX = "Người nộp rút hồ sơ"


def stop_end_reason_from_text(reason: str) -> str:
    """The end reason of a stop recorded before end reasons were (by its reason's text)."""
    return "withdrawn" if reason.startswith(WITHDRAWAL_REASON_PREFIX) else "stopped"


@dataclass(frozen=True)
class Outcome:
    """The two labelled views of one ended dossier (DOMAIN.md, "Scoring")."""

    progress_766: str  # on_time / late; "" if the indicator does not count it or it has not ended
    operational: str  # early / on_time / late for resolved dossiers, else cancelled / denied / stopped


def outcome(end_reason: str, timing: str) -> Outcome:
    """`timing`: early / on_time / late, measured against the appointment at the dossier's end."""
    rule = END_REASONS.get(end_reason)
    if rule is None or timing not in TIMINGS:
        return Outcome("", "")
    progress = (LATE if timing == LATE else ON_TIME) if rule.counted_by_progress_766 else ""
    return Outcome(progress, timing if rule.operational == RESOLVED else rule.operational)
