"""Every shape intake ever stored of a published class maps to its published event."""
from __future__ import annotations

from pathlib import Path

from motcua.intake.events.v1 import events_pb2 as pb
from motcua_common.events.store import ChainingMapper, make_transcoder
from motcua_common.events.published import check_publication
from motcua_common.events.stored_contract import load_samples

from motcua_intake.adapters.published import publication

SAMPLES = Path(__file__).parents[1] / "stored_events"


def test_every_stored_shape_of_a_published_class_maps_to_a_published_event():
    assert check_publication(publication(), SAMPLES) == []


def test_a_version_1_received_dossier_is_published_with_its_upcast_forwarding_time_and_no_personal_data():
    from eventsourcing.persistence import Notification
    from uuid import UUID

    sample = next(s for s in load_samples(SAMPLES) if s.path.name == "Dossier.Received.v1.json")
    event = ChainingMapper(transcoder=make_transcoder()).to_domain_event(
        Notification(UUID(int=1), 1, sample.topic, sample.state, 1))
    message = publication().mappers[type(event)](event)

    assert isinstance(message, pb.DossierReceived)
    assert message.forwarded_at == message.received_at  # v1 had none: upcast to "forwarded at once"
    assert message.applicant.subject_id == event.applicant["subject_id"]
    assert event.applicant["sealed"] not in str(message)
