"""The library's rooms keep what was stored before they existed loadable (rooms-map: keep-file)."""
from eventsourcing.utils import resolve_topic

from motcua_common.audit.access import DossierRead
from motcua_common.events.idempotency import IdempotencyRecord
from motcua_common.events.published import Publication, map_dossier_read
from motcua_common.events.store import MotcuaApplication


def test_topics_stored_before_the_rooms_still_resolve():
    assert resolve_topic("motcua_common.access:DossierRead.Recorded") is DossierRead.Recorded
    assert resolve_topic("motcua_common.idempotency:IdempotencyRecord.Recorded") is IdempotencyRecord.Recorded


def test_a_publication_selects_events_stored_under_a_topic_from_before_the_rooms():
    """The pull selects published events by topic in SQL: reads recorded before the move are
    stored as "motcua_common.access:...", and are published all the same."""
    publication = Publication("intake", {DossierRead.Recorded: map_dossier_read})
    assert publication.topics[0] == "motcua_common.audit.access:DossierRead.Recorded"
    assert "motcua_common.access:DossierRead.Recorded" in publication.topics


def test_an_application_without_audit_hooks_says_so():
    import pytest

    class Bare(MotcuaApplication):
        name = "bare"

    app = Bare(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    with pytest.raises(TypeError, match="no `reads`"):
        app.record_read(None, None, "X", "GetDossier")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="no log `chain`"):
        app.sign_checkpoint(None)
