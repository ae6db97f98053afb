"""Every shape workflow ever stored of a published class maps to its published event."""
from __future__ import annotations

from pathlib import Path

from motcua_common.published import check_publication

from motcua_workflow.adapters.published import publication


def test_every_stored_shape_of_a_published_class_maps_to_a_published_event():
    assert check_publication(publication(), Path(__file__).parents[1] / "stored_events") == []
