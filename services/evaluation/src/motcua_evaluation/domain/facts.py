"""What the scorecard needs to know about one dossier, as a projection of published events makes it.

`DossierFacts` is filled by `domain.projection` from intake's, workflow's and payment's published
events (and evaluation's own ratings); the scorecard reads nothing else. Times are UTC instants.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

#: end reasons (motcua_common.province.dossier_rules.END_REASONS)
PROCESSED, WITHDRAWN, REFUSED, STOPPED = "processed", "withdrawn", "refused", "stopped"
#: the end reasons of a dossier whose processing finished (a result exists)
RESOLVED_END_REASONS = frozenset({PROCESSED, "result_returned"})
ONLINE = "online"
#: payment's online flags that count as paid online (1 national payment platform, 2 local gateway)
ONLINE_PAYMENT_FLAGS = frozenset({1, 2})


@dataclass(frozen=True)
class Pause:
    """A supplementation request workflow made after reception (the clock stopped)."""

    requested_at: datetime
    resumed_at: datetime | None = None


@dataclass
class DossierFacts:
    dossier_id: str
    dossier_code: str = ""
    procedure_code: str = ""
    unit_code: str = ""  # the unit that handles it (as received; a transfer does not move it)
    channel: str = ""  # desk, online, post
    applicant_subject: str = ""
    registered_at: datetime | None = None  # an incomplete submission was registered
    received_at: datetime | None = None  # received complete, with an appointment
    due_at: datetime | None = None  # the appointment now (moved by supplement pauses and extensions)
    due_before_extension: datetime | None = None  # the appointment not moved by DeadlineExtended
    pauses: list[Pause] = field(default_factory=list)
    ended_at: datetime | None = None  # the first of refused, withdrawn, stopped, processed
    end_reason: str = ""
    result_returned_at: datetime | None = None
    components_total: int = 0
    components_digitised: int = 0
    components_reused: int = 0
    result_signed_at: datetime | None = None  # the electronic result file was signed
    result_document_expected: bool = True  # whether its procedure yields a result document
    fee_vnd: int = 0  # the invoice's total (0: no fee)
    invoice_cancelled: bool = False
    paid_at: datetime | None = None
    paid_online_flag: int = 0
    rated_at: datetime | None = None
    rating_dissatisfied: bool = False

    def appointment(self, extension_moves_appointment: bool) -> datetime | None:
        return self.due_at if extension_moves_appointment else (self.due_before_extension or self.due_at)
