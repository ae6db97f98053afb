"""A dossier as received by the one-stop desk."""
from __future__ import annotations

from datetime import datetime
from uuid import UUID

from eventsourcing.domain import event

from motcua_common.domain import MotcuaAggregate
from motcua_common.errors import InvalidArgument, RuleViolated
from motcua_common.ids import deterministic_id

CHANNELS = ("desk", "online", "post")
NATIONAL_STATUS_RECEIVED = 2
NATIONAL_STATUS_WITHDRAWAL_REQUESTED = 7


class Dossier(MotcuaAggregate):
    """Applicant data is held sealed (`applicant.sealed`) under the subject's own key."""

    @event("Received")
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
        self.national_status = NATIONAL_STATUS_RECEIVED
        self.withdrawn = False

    def withdraw(self, reason: str) -> None:
        """The applicant withdraws the dossier; processing stops (workflow reacts to the event)."""
        if self.withdrawn:
            raise RuleViolated("ALREADY_WITHDRAWN", f"dossier {self.code} is already withdrawn")
        if not reason.strip() or len(reason) > 2000:
            raise InvalidArgument.single("reason", "give the applicant's reason, in at most 2000 characters")
        self._withdraw(reason=reason.strip())

    @event("Withdrawn")
    def _withdraw(self, reason: str) -> None:
        self.withdrawn = True
        self.national_status = NATIONAL_STATUS_WITHDRAWAL_REQUESTED


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
