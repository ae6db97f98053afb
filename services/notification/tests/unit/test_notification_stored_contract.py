"""Every event shape notification ever stored still loads (motcua_common.events.stored_contract)."""
from __future__ import annotations

from pathlib import Path

from motcua_common.audit.access import AccessDenied, DossierRead
from motcua_common.events.idempotency import IdempotencyRecord
from motcua_common.events.stored_contract import check_contract

from motcua_notification.domain.message import Message, Preferences


def test_every_event_shape_notification_ever_stored_still_loads():
    assert check_contract([Message, Preferences, DossierRead, AccessDenied, IdempotencyRecord], Path(__file__).parents[1] / "stored_events") == []


def test_every_published_event_class_maps_from_its_stored_samples():
    from motcua_common.events.published import check_publication

    from motcua_notification.adapters.published import publication

    assert check_publication(publication(), Path(__file__).parents[1] / "stored_events") == []
