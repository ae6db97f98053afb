"""The one rule for national status 6 ("financial obligation requested"), used by GetDossier and by
the dossier index behind SearchDossiers: while payment says the applicant must pay before processing,
a dossier received (2) or being processed (4) shows 6; any other status (supplement requested,
withdrawn, stopped, processed, returned...) is shown as it is. Once paid or cancelled, its own status."""
from __future__ import annotations

from motcua_common.province.dossier_rules import NationalStatus

#: the statuses an unpaid fee due before processing is shown over
HELD = (int(NationalStatus.RECEIVED), int(NationalStatus.PROCESSING))
AWAITING_PAYMENT = int(NationalStatus.FINANCIAL_OBLIGATION_REQUESTED)


def shown_status(status: int, awaiting_payment: bool) -> int:
    return AWAITING_PAYMENT if awaiting_payment and status in HELD else status


def shown_status_sql(status: str, awaiting_payment: str) -> str:
    """The same rule as a SQL expression over two columns (awaiting_payment may be NULL: not awaiting)."""
    held = ", ".join(str(s) for s in HELD)
    return f"(CASE WHEN {awaiting_payment} IS TRUE AND {status} IN ({held}) THEN {AWAITING_PAYMENT} ELSE {status} END)"
