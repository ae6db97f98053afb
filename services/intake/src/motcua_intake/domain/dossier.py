"""A dossier as received by the one-stop desk."""
from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Callable, Protocol
from uuid import UUID

from eventsourcing.domain import event

from motcua_common.events.domain import MotcuaAggregate
from motcua_common.province.dossier_rules import BACKDATING_CHANNELS, CHANNELS, NationalStatus
from motcua_common.errors import InvalidArgument, RuleViolated
from motcua_common.events.ids import deterministic_id

FORWARDING_CUTOFF = time(15, 0)  # received later than this: forwarded at the start of the next working day
CLOCK_SKEW = timedelta(minutes=1)  # a stated reception time this far ahead of the clock is still "now"
# Intake's supplementation requests (form 02): one at a time, and at most this many per dossier.
# The desk lists everything missing at once; a second request is allowed after the first was
# answered (the methodology counts more than one as late); a third gap means refusal (form 03).
MAX_INTAKE_SUPPLEMENT_REQUESTS = 2


class Sessions(Protocol):
    def sessions_on(self, day): ...  # type: ignore[no-untyped-def]
    def is_working_day(self, day) -> bool: ...  # type: ignore[no-untyped-def]


class WorkingTime(Protocol):
    def working_time_between(self, start: datetime, end: datetime) -> timedelta: ...


def check_reception_time(received_at: datetime, now: datetime, channel: str, calendar: WorkingTime,
                         max_backdating_working_days: float) -> None:
    """A stated reception time: never in the future (beyond the clock's skew); earlier than now
    only for a desk or postal intake (entered after the counter or the post received it), and
    at most the province's bound of working days before now. Online: received when it arrives."""
    if received_at > now + CLOCK_SKEW:
        raise InvalidArgument.single("received_at", "cannot be in the future")
    if received_at >= now - CLOCK_SKEW:
        return
    if channel not in BACKDATING_CHANNELS:
        raise InvalidArgument.single("received_at", "only a desk or postal intake may state an earlier time")
    if calendar.working_time_between(received_at, now) > timedelta(hours=8 * max_backdating_working_days):
        raise InvalidArgument.single("received_at", f"may be at most {max_backdating_working_days:g} working days "
                                                    "before now (the province's bound)")


def forwarding_time(received_at: datetime, calendar: Sessions) -> datetime:
    """When a received dossier goes to the unit that processes it: at once if received on a working
    day up to 15:00, otherwise at the start of the next working day."""
    from motcua_common.province.working_calendar import VIETNAM_TZ

    local = received_at.astimezone(VIETNAM_TZ)
    if calendar.is_working_day(local.date()) and local.time() <= FORWARDING_CUTOFF:
        return received_at
    day = local.date() + timedelta(days=1)
    for _ in range(60):
        sessions = calendar.sessions_on(day)
        if sessions:
            return sessions[0][0]
        day += timedelta(days=1)
    raise RuntimeError(f"no working day in the 60 days after {local.date()}: check the calendar data")


class Dossier(MotcuaAggregate):
    """Applicant data is held sealed (`applicant.sealed`) under the subject's own key."""

    class Received(MotcuaAggregate.Created):
        """Version 2 added `forwarded_at` (the 15:00 rule): before it, dossiers went on at once.
        Version 3 added `calendar_group`, the calendar its deadline was computed on (None: default).
        Version 4 added `fee_schedule`, the catalogue's fee schedule in force on the day it was received
        (FeeSchedule.record(); {}: none in force, free). Older events upcast to None: not recorded."""

        class_version = 4
        code: str
        procedure_code: str
        receiving_agency_code: str
        handling_unit_code: str
        channel: str
        applicant: dict
        components: list[dict]
        received_at: datetime
        appointment_at: datetime
        deadline_working_days: float
        forwarded_at: datetime
        calendar_group: str | None
        fee_schedule: dict | None

        @staticmethod
        def upcast_v1_v2(state: dict) -> None:
            state["forwarded_at"] = state["received_at"]

        @staticmethod
        def upcast_v2_v3(state: dict) -> None:
            state["calendar_group"] = None

        @staticmethod
        def upcast_v3_v4(state: dict) -> None:
            state["fee_schedule"] = None

    @event(Received)
    def __init__(
        self,
        id: UUID,  # noqa: A002 - chosen by the application
        code: str,
        procedure_code: str,
        receiving_agency_code: str,
        handling_unit_code: str,
        channel: str,
        applicant: dict,
        components: list[dict],
        received_at: datetime,
        appointment_at: datetime,
        deadline_working_days: float,
        forwarded_at: datetime,
        calendar_group: str | None = None,
        fee_schedule: dict | None = None,
    ) -> None:
        self.code = code
        self.procedure_code = procedure_code
        self.receiving_agency_code = receiving_agency_code
        self.handling_unit_code = handling_unit_code
        self.channel = channel
        self.applicant = applicant
        self.components = components
        self.received_at = received_at
        self.appointment_at = appointment_at
        self.deadline_working_days = deadline_working_days
        self.forwarded_at = forwarded_at
        self.calendar_group = calendar_group
        self.fee_schedule = fee_schedule
        self.national_status = int(NationalStatus.RECEIVED)
        self.withdrawn = False

    def withdraw(self, reason: str, seal: Callable[[str], str]) -> None:
        """The applicant withdraws the dossier; processing stops (workflow reacts to the event).
        The reason is the applicant's own words: stored sealed under their key (`seal`), never in clear."""
        if self.withdrawn:
            raise RuleViolated("ALREADY_WITHDRAWN", f"dossier {self.code} is already withdrawn")
        if not reason.strip() or len(reason) > 2000:
            raise InvalidArgument.single("reason", "give the applicant's reason, in at most 2000 characters")
        self._withdraw(reason="", sealed_reason=seal(reason.strip()))

    class Withdrawn(MotcuaAggregate.Event):
        """Version 2 seals the applicant's reason (`sealed_reason`); version 1 events keep theirs in
        `reason`, as stored before (a stored event is never rewritten)."""

        class_version = 2
        reason: str
        sealed_reason: str

        @staticmethod
        def upcast_v1_v2(state: dict) -> None:
            state["sealed_reason"] = ""

    @event(Withdrawn)
    def _withdraw(self, reason: str, sealed_reason: str) -> None:
        self.withdrawn = True
        self.national_status = int(NationalStatus.WITHDRAWAL_REQUESTED)


class DossierCode(MotcuaAggregate):
    """Index: one dossier per code (its id is derived from the code)."""

    @staticmethod
    def id_for(province: str, code: str) -> UUID:
        return deterministic_id(province, "dossier-code", code)

    @event("Assigned")
    def __init__(self, id: UUID, code: str, dossier_id: UUID) -> None:  # noqa: A002
        self.code = code
        self.dossier_id = dossier_id


def format_code(pattern: str, agency_code: str, received_local: datetime, number: int) -> str:
    return pattern.format(agency=agency_code, date=received_local, number=number)




class PendingDossier(MotcuaAggregate):
    """A submission that lacks required components: registered (status 1) with its code, but not
    received, so no deadline runs. The desk asks for the missing components (form 02) or refuses
    the dossier (form 03, status 3). When the components arrive, the dossier is received then:
    the clock starts at completion, never at registration."""

    @staticmethod
    def id_for(province: str, dossier_id: UUID) -> UUID:
        return deterministic_id(province, "pending-dossier", str(dossier_id))

    @event("Registered")
    def __init__(self, id: UUID, dossier_id: UUID, code: str, procedure_code: str,  # noqa: A002
                 receiving_agency_code: str, channel: str, applicant: dict, components: list[dict],
                 missing: list[dict], registered_at: datetime) -> None:
        self.dossier_id = dossier_id
        self.code = code
        self.procedure_code = procedure_code
        self.receiving_agency_code = receiving_agency_code
        self.channel = channel
        self.applicant = applicant
        self.components = components
        self.missing = missing
        self.registered_at = registered_at
        self.national_status = int(NationalStatus.NEW)
        self.supplement_reason = ""
        self.supplement_requested_at: datetime | None = None
        self.supplement_requests = 0
        self.supplement_pending = False  # a request not answered by a supplement yet
        self.refusal_reason = ""
        self.refused_at: datetime | None = None
        self.completed_at: datetime | None = None

    def require_pending(self) -> None:
        if self.refused_at is not None:
            raise RuleViolated("DOSSIER_REFUSED", f"dossier {self.code} was refused")
        if self.completed_at is not None:
            raise RuleViolated("DOSSIER_RECEIVED", f"dossier {self.code} is complete and was received")

    def request_supplement(self, reason: str, now: datetime) -> None:
        """Ask for what is missing (form 02): one request at a time, at most
        MAX_INTAKE_SUPPLEMENT_REQUESTS per dossier."""
        self.require_pending()
        if self.supplement_pending:
            raise RuleViolated("SUPPLEMENT_PENDING", f"dossier {self.code} already waits for the supplement "
                                                     "requested: a second request waits for the answer")
        if self.supplement_requests >= MAX_INTAKE_SUPPLEMENT_REQUESTS:
            raise RuleViolated("TOO_MANY_SUPPLEMENT_REQUESTS",
                               f"dossier {self.code} was asked for a supplement {self.supplement_requests} times: "
                               "refuse it (form 03) if it is still incomplete")
        if not reason.strip() or len(reason) > 2000:
            raise InvalidArgument.single("reason", "say what to add or correct, in at most 2000 characters")
        self._request_supplement(reason=reason.strip(), missing=self.missing, requested_at=now)

    @event("SupplementRequested")
    def _request_supplement(self, reason: str, missing: list[dict], requested_at: datetime) -> None:
        self.supplement_reason = reason
        self.supplement_requested_at = requested_at
        self.supplement_requests += 1
        self.supplement_pending = True
        self.national_status = int(NationalStatus.SUPPLEMENT_REQUESTED)

    def supplement(self, components: list[dict], missing_after: list[dict], now: datetime) -> bool:
        """Add components; True when nothing required is missing any more (the caller receives it)."""
        self.require_pending()
        if not components:
            raise InvalidArgument.single("components", "give at least one component")
        self._supplement(components=components, missing=missing_after, supplemented_at=now)
        if not missing_after:
            self._complete(completed_at=now)
            return True
        return False

    @event("Supplemented")
    def _supplement(self, components: list[dict], missing: list[dict], supplemented_at: datetime) -> None:
        self.components = [*self.components, *components]
        self.missing = missing
        self.supplement_pending = False

    @event("Completed")
    def _complete(self, completed_at: datetime) -> None:
        self.completed_at = completed_at

    def refuse(self, reason: str, now: datetime) -> None:
        self.require_pending()
        if not reason.strip() or len(reason) > 2000:
            raise InvalidArgument.single("reason", "give the reason for refusing, in at most 2000 characters")
        self._refuse(reason=reason.strip(), refused_at=now)

    @event("Refused")
    def _refuse(self, reason: str, refused_at: datetime) -> None:
        self.refusal_reason = reason
        self.refused_at = refused_at
        self.national_status = int(NationalStatus.NOT_RECEIVED)
