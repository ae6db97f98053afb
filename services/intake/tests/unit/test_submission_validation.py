"""Shape checks at intake's gRPC edge name every bad field (proto -> application mapping)."""
from __future__ import annotations

import pytest

from motcua.intake.v1 import intake_pb2 as pb
from motcua_common.errors import InvalidArgument

from motcua_intake.adapters.proto import submit_from_proto


def valid() -> pb.SubmitDossierRequest:
    return pb.SubmitDossierRequest(
        idempotency_key="k-1", procedure_code="1.001193", channel=pb.CHANNEL_ONLINE,
        applicant=pb.Applicant(full_name="Đỗ Thị Lan", citizen_id="001190000001", phone="+84912345678",
                               email="lan@example.vn"),
        components=[pb.Component(name="Tờ khai", sha256="0" * 64, size_bytes=10, media_type="application/pdf")])


def fields_refused(request: pb.SubmitDossierRequest) -> set[str]:
    with pytest.raises(InvalidArgument) as error:
        submit_from_proto(request)
    return {v.field for v in error.value.violations}


def test_a_well_formed_submission_maps_to_a_command():
    command = submit_from_proto(valid())
    assert command.channel == "online" and command.applicant.citizen_id == "001190000001"
    assert command.components[0]["sha256"] == "0" * 64


@pytest.mark.parametrize("mutate, field", [
    (lambda r: setattr(r, "idempotency_key", ""), "idempotency_key"),
    (lambda r: setattr(r, "idempotency_key", "k" * 129), "idempotency_key"),
    (lambda r: setattr(r, "procedure_code", ""), "procedure_code"),
    (lambda r: setattr(r, "channel", pb.CHANNEL_UNSPECIFIED), "channel"),
    (lambda r: r.ClearField("applicant"), "applicant"),
    (lambda r: setattr(r.applicant, "full_name", "  "), "applicant.full_name"),
    (lambda r: setattr(r.applicant, "full_name", "a" * 201), "applicant.full_name"),
    (lambda r: setattr(r.applicant, "citizen_id", "12345678901"), "applicant.citizen_id"),
    (lambda r: setattr(r.applicant, "citizen_id", "00119000000a"), "applicant.citizen_id"),
    (lambda r: setattr(r.applicant, "tax_code", "0101234567"), "applicant.citizen_id"),  # both given
    (lambda r: setattr(r.applicant, "phone", "12"), "applicant.phone"),
    (lambda r: setattr(r.applicant, "email", "not an email"), "applicant.email"),
    (lambda r: setattr(r.applicant, "address", "x" * 501), "applicant.address"),
    (lambda r: setattr(r.components[0], "sha256", "ABC"), "components[0].sha256"),
    (lambda r: setattr(r.components[0], "name", ""), "components[0].name"),
    (lambda r: setattr(r.components[0], "size_bytes", -1), "components[0].size_bytes"),
    # a trailing newline matched "$"; non-ASCII digits passed str.isdigit()
    (lambda r: setattr(r.applicant, "phone", "+84912345678\n"), "applicant.phone"),
    (lambda r: setattr(r.applicant, "email", "lan@example.vn\n"), "applicant.email"),
    (lambda r: setattr(r.components[0], "sha256", "0" * 64 + "\n"), "components[0].sha256"),
    (lambda r: (setattr(r.applicant, "citizen_id", ""), setattr(r.applicant, "tax_code", "0101234567\n")),
     "applicant.tax_code"),
    (lambda r: setattr(r.applicant, "citizen_id", "045" + "\u0661" * 9), "applicant.citizen_id"),
    (lambda r: setattr(r.applicant, "citizen_id", "04509000123\u00b2"), "applicant.citizen_id"),
])
def test_each_bad_field_is_named(mutate, field):
    request = valid()
    mutate(request)
    assert field in fields_refused(request)


def test_an_organisation_applies_with_a_tax_code():
    request = valid()
    request.applicant.citizen_id = ""
    request.applicant.tax_code = "0101234567-001"
    assert submit_from_proto(request).applicant.tax_code == "0101234567-001"


def test_every_bad_field_is_reported_at_once():
    request = valid()
    request.idempotency_key = ""
    request.applicant.citizen_id = "1"
    request.components[0].sha256 = "x"
    assert fields_refused(request) == {"idempotency_key", "applicant.citizen_id", "components[0].sha256"}


def test_the_apis_channel_numbers_are_the_national_channel_codes():
    from motcua_common.province.dossier_rules import Channel

    assert {pb.Channel.Value(f"CHANNEL_{c.name}"): int(c) for c in Channel} == {1: 1, 2: 2, 3: 3}
    assert submit_from_proto(valid()).channel == "online"
