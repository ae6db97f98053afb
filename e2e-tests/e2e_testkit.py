"""Helpers for the black-box tests (requests, waits, error details)."""
from __future__ import annotations

import re
import uuid

import grpc
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from motcua.intake.v1 import intake_pb2 as ipb
from motcua.workflow.v1 import workflow_pb2 as wpb
from motcua_testkit.plugin import wait_until

OFFICIAL = (("x-motcua-actor-kind", "official"), ("x-motcua-actor-subject", "canbo.e2e"),
            ("x-motcua-actor-unit", "000.31.01.H45"), ("x-motcua-client", "e2e"))
CODE = re.compile(r"^000\.31\.01\.H45-\d{6}-\d{4}$")


def submit_request(key: str | None = None, **changes) -> ipb.SubmitDossierRequest:  # type: ignore[no-untyped-def]
    request = ipb.SubmitDossierRequest(
        idempotency_key=key or uuid.uuid4().hex, procedure_code="1.004873", channel=ipb.CHANNEL_DESK,
        applicant=ipb.Applicant(full_name="Lê Thị Hồng", citizen_id="045190012345", phone="0912345678"),
        components=[ipb.Component(name="Tờ khai", sha256="ab" * 32, size_bytes=2048, media_type="application/pdf",
                                  code="TO_KHAI", digitised=True)])
    for field, value in changes.items():
        setattr(request, field, value)
    return request


def bad_request_fields(error: grpc.RpcError) -> list[str]:
    status = rpc_status.from_call(error)
    fields = []
    for detail in status.details if status else []:
        info = error_details_pb2.BadRequest()
        if detail.Unpack(info):
            fields += [v.field for v in info.field_violations]
    return fields


def wait_for_case(workflow, dossier_id: str, timeout: float = 10.0) -> wpb.Case:  # type: ignore[no-untyped-def]
    def case() -> wpb.Case | None:
        try:
            return workflow.GetCase(wpb.GetCaseRequest(dossier_id=dossier_id)).case
        except grpc.RpcError as error:
            if error.code() != grpc.StatusCode.NOT_FOUND:
                raise
            return None

    return wait_until(case, timeout, f"workflow to open the case of dossier {dossier_id}")  # type: ignore[return-value]
