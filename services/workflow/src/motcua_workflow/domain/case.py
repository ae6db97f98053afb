"""The processing case of one dossier: its steps, current step and due time."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Protocol
from uuid import UUID

from eventsourcing.domain import event

from motcua_common.events.domain import MotcuaAggregate
from motcua_common.province.dossier_rules import (CASE_NATIONAL_STATUS, CLOSED_CASE_STATES, EARLY, IN_PROGRESS, LATE,
                                         ON_TIME, PAUSED, PROCESSED, RETURNED, STOPPED, Outcome, case_state_after,
                                         outcome, stop_end_reason_from_text)
from motcua_common.errors import InvalidArgument, RuleViolated
from motcua_common.events.ids import deterministic_id
from motcua_common.province.working_calendar import VIETNAM_TZ

RETURN_METHODS = ("desk", "post", "online")
STOP_END_REASONS = ("stopped", "withdrawn")
# The latest appointment an apology may set: the committed due time plus the case's own deadline
# (received to originally due, in working time) once more, and at least this much.
MIN_EXTENSION_BOUND = timedelta(hours=8)


class WorkingTime(Protocol):
    """The province's calendar, as the case needs it (motcua_common.province.working_calendar.WorkingCalendar)."""

    def add_working_time(self, start: datetime, amount: timedelta) -> datetime: ...
    def working_time_between(self, start: datetime, end: datetime) -> timedelta: ...
    def sessions_on(self, day: date) -> list[tuple[datetime, datetime]]: ...


def classify(finished_at: datetime, due_at: datetime, calendar: WorkingTime, late_by_rule: bool) -> str:
    """Late if after the due time (or late by rule); early if before the working half-day that holds
    the due time (as OpenCPS refines the national portal's rule); otherwise on time."""
    if late_by_rule or finished_at > due_at:
        return LATE
    local_due = due_at.astimezone(VIETNAM_TZ)
    holding = [s for s, e in calendar.sessions_on(local_due.date()) if s < local_due <= e]
    half_day_start = holding[0] if holding else local_due
    return EARLY if finished_at < half_day_start else ON_TIME


@dataclass(frozen=True)
class StepPlan:
    code: str
    name: str
    role: str
    unit_code: str
    allotted_working_hours: float


class Case(MotcuaAggregate):
    @staticmethod
    def id_for(province: str, dossier_id: UUID) -> UUID:
        """One case per dossier: the id is derived from the dossier, so a second opening cannot be saved."""
        return deterministic_id(province, "case", str(dossier_id))

    class Opened(MotcuaAggregate.Created):
        """Version 2 added `calendar_group`: the procedure group's calendar (e.g. Saturday mornings
        for land procedures) that every working-time rule of the case uses; None is the default."""

        class_version = 2
        dossier_id: UUID
        dossier_code: str
        procedure_code: str
        unit_code: str
        received_at: datetime
        due_at: datetime
        steps: list[dict]
        calendar_group: str | None

        @staticmethod
        def upcast_v1_v2(state: dict) -> None:
            state["calendar_group"] = None

    @classmethod
    def open(cls, province: str, dossier_id: UUID, dossier_code: str, procedure_code: str, unit_code: str,
             received_at: datetime, due_at: datetime, plan: list[StepPlan], opened_at: datetime,
             calendar_group: str | None = None) -> "Case":
        if not plan:
            raise RuleViolated("NO_PROCESS_TEMPLATE", f"procedure {procedure_code} has no process steps")
        steps = [
            {"index": i, "code": s.code, "name": s.name, "role": s.role, "unit_code": s.unit_code,
             "allotted_working_hours": s.allotted_working_hours, "status": "pending",
             "started_at": None, "completed_at": None, "completed_by": ""}
            for i, s in enumerate(plan)
        ]
        steps[0] = {**steps[0], "status": "in_progress", "started_at": opened_at}
        return cls(id=cls.id_for(province, dossier_id), dossier_id=dossier_id, dossier_code=dossier_code,
                   procedure_code=procedure_code, unit_code=unit_code, received_at=received_at, due_at=due_at,
                   steps=steps, calendar_group=calendar_group)

    @event(Opened)
    def __init__(self, id: UUID, dossier_id: UUID, dossier_code: str, procedure_code: str, unit_code: str,
                 received_at: datetime, due_at: datetime, steps: list[dict], calendar_group: str | None = None) -> None:
        self.dossier_id = dossier_id
        self.dossier_code = dossier_code
        self.procedure_code = procedure_code
        self.unit_code = unit_code
        self.received_at = received_at
        self.due_at = due_at
        self.steps = steps
        self.calendar_group = calendar_group
        self.current_step = 0
        self.status = case_state_after("Opened")
        self.original_due_at = due_at
        self.end_reason = ""  # why processing ended (dossier_rules.END_REASONS), once it did
        self.paused_since: datetime | None = None
        self.supplement_requests = 0
        self.classification = ""
        self.overdue = False
        self.committed_due_at = due_at  # moved by pauses, never by an apology's new appointment
        self.extensions = 0
        self.transferred_to = ""  # the unit holding the case during an inter-agency transfer
        self.transferred_at: datetime | None = None
        self.transfer_allotted_hours = 0.0
        self.transfers: list[dict] = []  # finished transfers: each unit's share and the time it used
        self.result: dict | None = None  # the signed result document (hash, signature, certificate)
        self.returned_at: datetime | None = None
        self.return_method = ""
        self.due_soon_for: datetime | None = None  # the due time a due-soon event was recorded for
        self.unpaid_since: datetime | None = None  # the clock stands still for the applicant's fee since then

    @property
    def current_unit(self) -> str:
        return self.transferred_to or self.unit_code

    @property
    def national_status(self) -> int:
        return int(CASE_NATIONAL_STATUS[self.status])

    @property
    def outcome(self) -> Outcome:
        """The ended dossier as the 766 progress indicator and the operational statistics count it."""
        return outcome(self.end_reason, self.classification)

    @property
    def late_by_rule(self) -> bool:
        """A second supplementation request makes the dossier late (national rule)."""
        return self.supplement_requests >= 2

    def request_supplement(self, reason: str, now: datetime) -> None:
        """The dossier waits on the applicant: the clock stops until the supplement arrives."""
        self._require_open()
        self._require_at_home("request a supplement (the other unit asks through you)")
        if self.status == PAUSED:
            raise RuleViolated("ALREADY_PAUSED", f"dossier {self.dossier_code} already waits for a supplement")
        if not reason.strip() or len(reason) > 2000:
            raise InvalidArgument.single("reason", "say what is missing, in at most 2000 characters")
        self._request_supplement(reason=reason.strip(), requested_at=now)

    @event("SupplementRequested")
    def _request_supplement(self, reason: str, requested_at: datetime) -> None:
        self.status = case_state_after("SupplementRequested")
        self.paused_since = requested_at
        self.supplement_requests += 1

    def resume(self, now: datetime, calendar: WorkingTime) -> None:
        """The supplement arrived: the due time moves by exactly the working time the clock stood still."""
        if self.status != PAUSED or self.paused_since is None:
            raise RuleViolated("NOT_PAUSED", f"dossier {self.dossier_code} is not waiting for a supplement")
        paused = calendar.working_time_between(self.paused_since,
                                               _until_other_wait(self.paused_since, now, self.unpaid_since))
        self._resume(resumed_at=now, paused_working_seconds=paused.total_seconds(),
                     due_at=calendar.add_working_time(self.due_at, paused),
                     committed_due_at=calendar.add_working_time(self.committed_due_at, paused))

    class Resumed(MotcuaAggregate.Event):
        """Version 2 added `committed_due_at` (with extensions); before them it equalled `due_at`."""

        class_version = 2
        resumed_at: datetime
        paused_working_seconds: float
        due_at: datetime
        committed_due_at: datetime

        @staticmethod
        def upcast_v1_v2(state: dict) -> None:
            state["committed_due_at"] = state["due_at"]

    @event(Resumed)
    def _resume(self, resumed_at: datetime, paused_working_seconds: float, due_at: datetime,
                committed_due_at: datetime) -> None:
        self.status = case_state_after("Resumed")
        self.paused_since = None
        self.due_at = due_at
        self.committed_due_at = committed_due_at

    def extension_bound(self, calendar: WorkingTime) -> datetime:
        """The latest new appointment: the committed due time plus the case's own deadline again."""
        deadline = max(calendar.working_time_between(self.received_at, self.original_due_at), MIN_EXTENSION_BOUND)
        return calendar.add_working_time(self.committed_due_at, deadline)

    def extend(self, new_due_at: datetime, reason: str, now: datetime, calendar: WorkingTime) -> None:
        """The unit cannot finish in time: it apologises to the applicant and sets a new appointment,
        at most its own deadline again after the committed due time (`extension_bound`).
        The dossier still counts as late if it finishes after the time it was committed to."""
        self._require_open()
        if new_due_at <= self.due_at:
            raise InvalidArgument.single("new_due_at", "must be later than the current appointment")
        if new_due_at <= now:
            raise InvalidArgument.single("new_due_at", "must be in the future")
        bound = self.extension_bound(calendar)
        if new_due_at > bound:
            raise InvalidArgument.single("new_due_at", f"must be at most {bound.isoformat()}: the committed due "
                                                       "time plus the procedure's deadline once more")
        if not reason.strip() or len(reason) > 2000:
            raise InvalidArgument.single("reason", "give the reason for the delay, in at most 2000 characters")
        self._extend(previous_due_at=self.due_at, new_due_at=new_due_at, reason=reason.strip(), apologised_at=now)

    @event("DeadlineExtended")
    def _extend(self, previous_due_at: datetime, new_due_at: datetime, reason: str, apologised_at: datetime) -> None:
        self.due_at = new_due_at
        self.extensions += 1

    def mark_overdue(self, now: datetime) -> bool:
        """Record, once, that the due time passed while the case was being processed.

        Not while paused (the clock stands still) nor after processing; a second marking is
        a no-op, so a scheduler that restarts or runs twice never fires twice.
        """
        if self.overdue or self.status != IN_PROGRESS or now <= self.committed_due_at \
                or self.unpaid_since is not None:
            return False
        self._mark_overdue(marked_at=now, due_at=self.due_at)
        return True

    @event("MarkedOverdue")
    def _mark_overdue(self, marked_at: datetime, due_at: datetime) -> None:
        self.overdue = True

    def mark_due_soon(self, now: datetime, calendar: WorkingTime, window: timedelta) -> bool:
        """Record, once per due time, that less than `window` of working time is left. A due time
        moved later (resumption, apology) can be due soon again; a paused case is not."""
        if self.status != IN_PROGRESS or self.overdue or self.due_soon_for == self.due_at \
                or self.unpaid_since is not None:
            return False
        if now >= self.due_at:
            return False
        left = calendar.working_time_between(now, self.due_at)
        if left > window:
            return False
        self._mark_due_soon(marked_at=now, due_at=self.due_at, working_seconds_left=left.total_seconds())
        return True

    @event("MarkedDueSoon")
    def _mark_due_soon(self, marked_at: datetime, due_at: datetime, working_seconds_left: float) -> None:
        self.due_soon_for = due_at

    def stop(self, reason: str, now: datetime, calendar: WorkingTime, end_reason: str = "stopped") -> None:
        """Processing ends without a result (`end_reason`: withdrawn, or stopped by law): the end of
        processing, so the dossier is classified now. While paused, the clock stood still since the pause."""
        self._require_open()
        if end_reason not in STOP_END_REASONS:
            raise ValueError(f"a stop ends as one of {STOP_END_REASONS}, not {end_reason!r}")
        if not reason.strip() or len(reason) > 2000:
            raise InvalidArgument.single("reason", "give the reason, in at most 2000 characters")
        ended = self.clock_stood_since or now
        self._stop(reason=reason.strip(), stopped_at=now,
                   classification=classify(ended, self.committed_due_at, calendar, self.late_by_rule),
                   end_reason=end_reason)

    class Stopped(MotcuaAggregate.Event):
        """Version 2 added `end_reason` (withdrawn or stopped); version-1 stops of a withdrawal are
        known by the reason's text workflow gave them."""

        class_version = 2
        reason: str
        stopped_at: datetime
        classification: str
        end_reason: str

        @staticmethod
        def upcast_v1_v2(state: dict) -> None:
            state["end_reason"] = stop_end_reason_from_text(state["reason"])

    @event(Stopped)
    def _stop(self, reason: str, stopped_at: datetime, classification: str, end_reason: str) -> None:
        self.status = case_state_after("Stopped")
        self.paused_since = None
        self.classification = classification
        self.end_reason = end_reason

    def _require_open(self) -> None:
        if self.status in CLOSED_CASE_STATES:
            raise RuleViolated("CASE_CLOSED", f"case of dossier {self.dossier_code} is already {self.status}")

    def _require_at_home(self, action: str) -> None:
        if self.transferred_to:
            raise RuleViolated("CASE_TRANSFERRED", f"dossier {self.dossier_code} is at unit {self.transferred_to}: "
                                                   f"it must come back before you {action}")

    # -- assignment ----------------------------------------------------------------------------
    def assign(self, official: str, by: str, now: datetime) -> None:
        """Give the current step to an official (or move it to another one)."""
        self._require_open()
        official = official.strip()
        if not official or len(official) > 200:
            raise InvalidArgument.single("official", "name the official (at most 200 characters)")
        step = self.steps[self.current_step]
        if step.get("assignee") == official:
            raise RuleViolated("ALREADY_ASSIGNED", f"step {self.current_step} is already assigned to {official}")
        self._assign(index=self.current_step, official=official, previous=step.get("assignee", ""),
                     assigned_by=by, assigned_at=now)

    @event("StepAssigned")
    def _assign(self, index: int, official: str, previous: str, assigned_by: str, assigned_at: datetime) -> None:
        self.steps[index] = {**self.steps[index], "assignee": official}

    @property
    def assignee(self) -> str:
        return self.steps[self.current_step].get("assignee", "") if self.status == IN_PROGRESS else ""

    # -- inter-agency transfer (liên thông) -----------------------------------------------------
    def transfer(self, to_unit: str, allotted_working_hours: float, reason: str, now: datetime) -> None:
        """Send the case to another unit or level for its part, with its share of the time."""
        self._require_open()
        if self.status == PAUSED:
            raise RuleViolated("CASE_PAUSED", f"dossier {self.dossier_code} waits for a supplement: resume it first")
        self._require_at_home("transfer it again")
        if to_unit == self.unit_code:
            raise InvalidArgument.single("to_unit_code", f"is the case's own unit ({self.unit_code})")
        if not 0 < allotted_working_hours <= 8 * 60:
            raise InvalidArgument.single("allotted_working_hours", "must be more than 0 and at most 480 (60 days)")
        if not reason.strip() or len(reason) > 2000:
            raise InvalidArgument.single("reason", "say what the other unit is asked to do, in at most 2000 characters")
        self._transfer(from_unit=self.unit_code, to_unit=to_unit, allotted_working_hours=allotted_working_hours,
                       reason=reason.strip(), transferred_at=now)

    @event("TransferredOut")
    def _transfer(self, from_unit: str, to_unit: str, allotted_working_hours: float, reason: str,
                  transferred_at: datetime) -> None:
        self.transferred_to = to_unit
        self.transferred_at = transferred_at
        self.transfer_allotted_hours = allotted_working_hours

    def return_from_transfer(self, note: str, now: datetime, calendar: WorkingTime) -> None:
        """The other unit sends the case back: its working time used is measured against its share."""
        if not self.transferred_to or self.transferred_at is None:
            raise RuleViolated("NOT_TRANSFERRED", f"dossier {self.dossier_code} is not at another unit")
        if len(note) > 2000:
            raise InvalidArgument.single("note", "must be at most 2000 characters")
        used = calendar.working_time_between(self.transferred_at, now).total_seconds() / 3600
        self._transfer_returned(unit=self.transferred_to, home_unit=self.unit_code,
                                allotted_working_hours=self.transfer_allotted_hours,
                                used_working_hours=round(used, 4), over_share=used > self.transfer_allotted_hours,
                                note=note, returned_at=now)

    @event("TransferReturned")
    def _transfer_returned(self, unit: str, home_unit: str, allotted_working_hours: float, used_working_hours: float,
                           over_share: bool, note: str, returned_at: datetime) -> None:
        self.transfers.append({"unit_code": unit, "allotted_working_hours": allotted_working_hours,
                               "used_working_hours": used_working_hours, "over_share": over_share,
                               "transferred_at": self.transferred_at, "returned_at": returned_at})
        self.transferred_to = ""
        self.transferred_at = None
        self.transfer_allotted_hours = 0.0

    # -- the result ----------------------------------------------------------------------------
    def sign_result(self, document: dict, signature: str, certificate_pem: str, signed_by: str, now: datetime) -> None:
        """Record the result document's hash signed with the unit's key (the file itself is stored apart).

        The rule: a result is signed once, after the last step is complete (the case is processed)
        and before it is returned. A second signature is refused: the result once signed is the one
        handed to the applicant."""
        if self.status in (STOPPED, RETURNED):
            raise RuleViolated("CASE_CLOSED", f"case of dossier {self.dossier_code} is already {self.status}")
        if self.result is not None:
            raise RuleViolated("RESULT_ALREADY_SIGNED", f"the result of {self.dossier_code} was signed already "
                                                        f"(SHA-256 {self.result['sha256']})")
        if self.status != PROCESSED:
            raise RuleViolated("NOT_PROCESSED", f"dossier {self.dossier_code} is {self.status}: complete its last "
                                                "step before signing the result")
        self._sign_result(sha256=document["sha256"], size_bytes=document["size_bytes"],
                          media_type=document["media_type"], filename=document["filename"], signature=signature,
                          certificate_pem=certificate_pem, signed_by=signed_by, signed_at=now)

    @event("ResultSigned")
    def _sign_result(self, sha256: str, size_bytes: int, media_type: str, filename: str, signature: str,
                     certificate_pem: str, signed_by: str, signed_at: datetime) -> None:
        self.result = {"sha256": sha256, "size_bytes": size_bytes, "media_type": media_type, "filename": filename,
                       "signature": signature, "certificate_pem": certificate_pem, "signed_by": signed_by,
                       "signed_at": signed_at}

    def return_result(self, method: str, now: datetime, fee_unpaid: bool = False) -> None:
        """Hand the result to the applicant: at the desk, by public post or online (national status 10).
        Not while a fee is unpaid (`fee_unpaid`: payment published an invoice not yet paid or cancelled)."""
        if method not in RETURN_METHODS:
            raise InvalidArgument.single("method", f"must be one of {', '.join(RETURN_METHODS)}")
        if self.status == RETURNED:
            raise RuleViolated("ALREADY_RETURNED", f"the result of {self.dossier_code} was returned already")
        if self.status != PROCESSED:
            raise RuleViolated("NOT_PROCESSED", f"dossier {self.dossier_code} is {self.status}: finish processing first")
        if self.result is None:
            raise RuleViolated("RESULT_NOT_SIGNED", f"dossier {self.dossier_code} has no signed result yet")
        if fee_unpaid:
            raise RuleViolated("FEE_UNPAID", f"the fee of dossier {self.dossier_code} is unpaid: the result is "
                                             "returned once it is paid (or its invoice cancelled)")
        self._return_result(method=method, returned_at=now)

    @event("ResultReturned")
    def _return_result(self, method: str, returned_at: datetime) -> None:
        self.status = case_state_after("ResultReturned")
        self.returned_at = returned_at
        self.return_method = method

    def complete_step(self, index: int, by: str, note: str, now: datetime, calendar: WorkingTime) -> None:
        self._require_open()
        self._require_at_home("complete a step")
        if self.status == PAUSED:
            raise RuleViolated("CASE_PAUSED", f"dossier {self.dossier_code} waits for a supplement: resume it first")
        if not 0 <= index < len(self.steps):
            raise InvalidArgument.single("step_index", f"must be between 0 and {len(self.steps) - 1}")
        if index != self.current_step:
            state = "already completed" if index < self.current_step else "not started yet"
            raise RuleViolated("STEP_NOT_CURRENT", f"step {index} is {state}; the current step is {self.current_step}")
        if len(note) > 2000:
            raise InvalidArgument.single("note", "must be at most 2000 characters")
        started_at = self.steps[index]["started_at"]
        if started_at is not None and now < started_at:
            # Taken up before it was due to reach the unit (the 15:00 forwarding rule put its start
            # at the next working day): it started no later than now, never after its completion.
            self._start_step(index=index, started_at=now)
        self._complete_step(index=index, completed_by=by, note=note, completed_at=now)
        if index + 1 < len(self.steps):
            self._start_step(index=index + 1, started_at=now)
        else:
            self._finish(processed_at=now,
                         classification=classify(self.clock_stood_since or now, self.committed_due_at, calendar,
                                                 self.late_by_rule))

    @event("StepCompleted")
    def _complete_step(self, index: int, completed_by: str, note: str, completed_at: datetime) -> None:
        self.steps[index] = {**self.steps[index], "status": "completed", "completed_at": completed_at,
                             "completed_by": completed_by}

    @event("StepStarted")
    def _start_step(self, index: int, started_at: datetime) -> None:
        self.steps[index] = {**self.steps[index], "status": "in_progress", "started_at": started_at}
        self.current_step = index

    class Processed(MotcuaAggregate.Event):
        """Version 2 added `classification`; version-1 events (before it existed) read as unclassified."""

        class_version = 2
        processed_at: datetime
        classification: str

        @staticmethod
        def upcast_v1_v2(state: dict) -> None:
            state["classification"] = ""

    @event(Processed)
    def _finish(self, processed_at: datetime, classification: str) -> None:
        self.status = case_state_after("Processed")
        self.processed_at = processed_at
        self.classification = classification
        self.end_reason = "processed"

    # -- the applicant's fee (payment's published events) ----------------------------------------
    @property
    def clock_stood_since(self) -> datetime | None:
        """Since when the clock stands still (a supplement or a fee awaited, whichever began first)."""
        waits = [t for t in (self.paused_since if self.status == PAUSED else None, self.unpaid_since) if t]
        return min(waits) if waits else None

    def stop_clock_for_payment(self, since: datetime) -> bool:
        """The dossier waits on its applicant's fee due before processing, and its procedure says the
        clock stands still meanwhile: it stops as for a supplement (never before the dossier was
        received). False (nothing recorded) if it stands still for payment already or processing ended."""
        if self.status in CLOSED_CASE_STATES or self.unpaid_since is not None:
            return False
        self._stop_clock_for_payment(stopped_at=max(since, self.received_at))
        return True

    @event("ClockStoppedForPayment")
    def _stop_clock_for_payment(self, stopped_at: datetime) -> None:
        self.unpaid_since = stopped_at

    def resume_clock_after_payment(self, now: datetime, settled_by: str, calendar: WorkingTime) -> bool:
        """The fee was paid or its invoice cancelled: the due time moves by exactly the working time the
        clock stood still for it (time a supplement wait also covered is counted once, by whichever
        wait began first). False (nothing recorded) if the clock did not stand still for payment."""
        if self.unpaid_since is None or self.status in CLOSED_CASE_STATES:
            return False
        now = max(now, self.unpaid_since)
        other = self.paused_since if self.status == PAUSED else None
        stood = calendar.working_time_between(self.unpaid_since, _until_other_wait(self.unpaid_since, now, other))
        self._resume_clock_after_payment(resumed_at=now, paused_working_seconds=stood.total_seconds(),
                                         due_at=calendar.add_working_time(self.due_at, stood),
                                         committed_due_at=calendar.add_working_time(self.committed_due_at, stood),
                                         settled_by=settled_by)
        return True

    @event("ClockResumedAfterPayment")
    def _resume_clock_after_payment(self, resumed_at: datetime, paused_working_seconds: float, due_at: datetime,
                                    committed_due_at: datetime, settled_by: str) -> None:
        self.unpaid_since = None
        self.due_at = due_at
        self.committed_due_at = committed_due_at


def _until_other_wait(start: datetime, now: datetime, other_since: datetime | None) -> datetime:
    """Where a wait begun at `start` stops counting when it ends `now`: at the start of another wait
    still running that began after it (that one counts from there), or not at all if the other began
    first (it counts the whole overlap). So overlapping waits move the due time once."""
    if other_since is None:
        return now
    return max(start, min(now, other_since))
