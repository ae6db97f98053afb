"""Every event shape intake ever stored still loads (motcua_common.events.stored_contract)."""
from __future__ import annotations

from pathlib import Path

from motcua_common.audit.access import AccessDenied, DossierRead
from motcua_common.events.idempotency import IdempotencyRecord
from motcua_common.events.stored_contract import check_contract

from motcua_intake.domain.catalogue_entry import CatalogueEntry
from motcua_intake.domain.dossier import Dossier, DossierCode, PendingDossier


def test_every_event_shape_intake_ever_stored_still_loads():
    assert check_contract([Dossier, DossierCode, PendingDossier, CatalogueEntry, IdempotencyRecord, DossierRead,
                           AccessDenied], Path(__file__).parents[1] / "stored_events") == []
