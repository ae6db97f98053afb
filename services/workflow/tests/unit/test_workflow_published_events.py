"""Every shape workflow ever stored of a published class maps to its published event."""
from __future__ import annotations

from pathlib import Path

from motcua_common.events.published import check_publication

from motcua_workflow.adapters.published import publication


def test_every_stored_shape_of_a_published_class_maps_to_a_published_event():
    assert check_publication(publication(), Path(__file__).parents[1] / "stored_events") == []


def test_every_stored_stop_and_processing_publishes_its_end_reason():
    from uuid import UUID

    from eventsourcing.persistence import Notification
    from motcua_common.events.store import ChainingMapper, make_transcoder
    from motcua_common.events.stored_contract import load_samples

    mapper = ChainingMapper(transcoder=make_transcoder())
    mappers = publication().mappers
    by_topic = {f"{cls.__module__}:{cls.__qualname__}": cls for cls in mappers}
    ends = {}
    for sample in load_samples(Path(__file__).parents[1] / "stored_events"):
        if sample.path.name.startswith(("Case.Stopped.", "Case.Processed.")):
            event = mapper.to_domain_event(Notification(UUID(int=1), 2, sample.topic, sample.state, 1))
            ends[sample.path.name] = mappers[by_topic[sample.topic]](event).end_reason
    # Both stored stops are a withdrawal: version 1 by its reason's text (the upcaster), version 2 as stored.
    assert ends == {"Case.Stopped.v1.json": "withdrawn", "Case.Stopped.v2.json": "withdrawn",
                    "Case.Processed.v1.json": "processed", "Case.Processed.v2.json": "processed"}
