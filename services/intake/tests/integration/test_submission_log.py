"""An idempotent retry of SubmitDossier is logged as a replay, not as a second received dossier
(issue 17, 5): `dossier_received` counts dossiers in the logs."""
from __future__ import annotations

import json

import pytest

from motcua.intake.v1 import intake_pb2 as pb
from motcua_common.edge.access import serving_as
from motcua_common.identity.authorisation import Principal
from motcua_common.observability.logs import configure

pytestmark = pytest.mark.integration


class Context:
    def invocation_metadata(self):  # type: ignore[no-untyped-def]
        return ()


DESK = Principal(kind="official", subject="canbo01", roles=frozenset({"one_stop_officer"}), unit="000.31.01.H45")


def test_a_replayed_submission_is_logged_as_replayed(intake_app, capsys):
    from motcua_intake.entrypoints.grpc_server import IntakeServicer

    configure(service="intake", process="grpc")
    edge = IntakeServicer(intake_app)
    request = pb.SubmitDossierRequest(
        idempotency_key="replayed-once", procedure_code="1.004873", channel=pb.CHANNEL_DESK,
        applicant=pb.Applicant(full_name="Đỗ Thị Lan", citizen_id="001190000001"),
        components=[pb.Component(name="Tờ khai", code="TO_KHAI", sha256="0" * 64, size_bytes=10,
                                 media_type="application/pdf")])
    capsys.readouterr()

    with serving_as(DESK):  # as the edge hands the servicer a verified caller
        first = edge.SubmitDossier(request, Context())
        again = edge.SubmitDossier(request, Context())

    assert first.dossier.code == again.dossier.code
    events = [json.loads(line)["event"] for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    assert events.count("dossier_received") == 1 and events.count("dossier_replayed") == 1
