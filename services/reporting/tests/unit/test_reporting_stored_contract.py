"""Every event shape reporting ever stored still loads (motcua_common.events.stored_contract)."""
from __future__ import annotations

from pathlib import Path

from motcua_common.audit.access import AccessDenied, DossierRead
from motcua_common.events.published import check_publication
from motcua_common.events.stored_contract import check_contract

from motcua_reporting.bootstrap import publication


def test_every_event_shape_reporting_ever_stored_still_loads():
    assert check_contract([DossierRead, AccessDenied], Path(__file__).parents[1] / "stored_events") == []


def test_every_event_reporting_publishes_maps_from_every_stored_shape():
    assert check_publication(publication(), Path(__file__).parents[1] / "stored_events") == []
