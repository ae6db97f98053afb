"""The library's rooms keep what was stored before they existed loadable (rooms-map: keep-file)."""
from eventsourcing.utils import resolve_topic

from motcua_common.audit.access import DossierRead
from motcua_common.events.idempotency import IdempotencyRecord
from motcua_common.events.store import MotcuaApplication


def test_topics_stored_before_the_rooms_still_resolve():
    assert resolve_topic("motcua_common.access:DossierRead.Recorded") is DossierRead.Recorded
    assert resolve_topic("motcua_common.idempotency:IdempotencyRecord.Recorded") is IdempotencyRecord.Recorded


def test_an_application_without_audit_hooks_says_so():
    import pytest

    class Bare(MotcuaApplication):
        name = "bare"

    app = Bare(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    with pytest.raises(TypeError, match="no `reads`"):
        app.record_read(None, None, "X", "GetDossier")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="no log `chain`"):
        app.sign_checkpoint(None)
