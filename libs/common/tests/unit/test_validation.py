"""The edge's one validation layer, driven by the descriptors and the (motcua.options.v1.field) option."""
from __future__ import annotations

import math
import unicodedata

import pytest
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.timestamp_pb2 import Timestamp

from motcua.audit.v1 import audit_pb2
from motcua.intake.v1 import intake_pb2
from motcua.options.v1 import field_pb2
from motcua.workflow.v1 import workflow_pb2
from motcua_common.errors import InvalidArgument
from motcua_common.edge.validation import DEFAULT_MAX_LENGTH, MAX_SECONDS, MAX_VIOLATIONS, MIN_SECONDS, validate_request


def refused(message) -> dict[str, str]:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidArgument) as error:
        validate_request(message)
    return {v.field: v.description for v in error.value.violations}


def submission(**applicant: str) -> intake_pb2.SubmitDossierRequest:
    return intake_pb2.SubmitDossierRequest(
        idempotency_key="k-1", procedure_code="1.001193", channel=intake_pb2.CHANNEL_DESK,
        applicant=intake_pb2.Applicant(full_name="Nguyễn Văn An", citizen_id="045090001234", **applicant),
        components=[intake_pb2.Component(name=f"Tờ khai {i}", sha256="a" * 64) for i in range(3)])


def test_a_well_formed_request_passes_unchanged():
    request = submission(address="Số 1, đường Lê Lợi")
    before = request.SerializeToString()
    validate_request(request)
    assert request.SerializeToString() == before


@pytest.mark.parametrize("message, field", [
    (workflow_pb2.GetCaseRequest(dossier_code="000.31.01.H45-261203-0001\x00"), "dossier_code"),
    (workflow_pb2.ListCasesRequest(unit_code="000.31\x00"), "unit_code"),
    (workflow_pb2.ListCasesRequest(unit_code="u", assignee="canbo\x0001"), "assignee"),
    (workflow_pb2.AssignStepRequest(official="\x00"), "official"),
    (audit_pb2.StreamHistoryRequest(dossier_code="\x00"), "dossier_code"),
    (audit_pb2.GetStateAtRequest(dossier_code="a\x00b"), "dossier_code"),
    (audit_pb2.VerifyHistoryRequest(dossier_code="\x00"), "dossier_code"),
    (audit_pb2.ExportHistoryRequest(dossier_code="\x00"), "dossier_code"),
    (workflow_pb2.ExtendDeadlineRequest(reason="Chờ xác minh\x00"), "reason"),
])
def test_nul_is_refused_in_every_text_field_naming_it(message, field):
    assert "control characters" in refused(message)[field]


def test_nested_and_repeated_fields_are_named_by_path():
    request = submission()
    request.components[2].name = "Bản sao\x07"
    request.applicant.full_name = "An\x1b"
    assert set(refused(request)) == {"components[2].name", "applicant.full_name"}


@pytest.mark.parametrize("text", ["a\nb", "a\tb", "a\rb", "a\x85b", "a\u2028b", "a\x7fb"])
def test_single_line_text_refuses_line_breaks_tabs_and_other_controls(text):
    assert "applicant.full_name" in refused(_named(text))


def _named(text: str) -> intake_pb2.SubmitDossierRequest:
    request = submission()
    request.applicant.full_name = text
    return request


def test_multiline_text_allows_line_breaks_and_tabs_only():
    ok = workflow_pb2.ExtendDeadlineRequest(reason="Dòng 1\n\tDòng 2\n")
    validate_request(ok)
    assert ok.reason == "Dòng 1\n\tDòng 2\n"
    for control in ("\x00", "\r", "\x0b", "\x1f", "\x9f"):
        assert "reason" in refused(workflow_pb2.ExtendDeadlineRequest(reason=f"a{control}b"))
    windows = workflow_pb2.ExtendDeadlineRequest(reason="Dòng 1\r\nDòng 2")
    validate_request(windows)
    assert windows.reason == "Dòng 1\nDòng 2"


def test_vietnamese_text_is_normalised_to_nfc_in_place():
    decomposed = unicodedata.normalize("NFD", "Nguyễn Thị Ánh")
    request = submission()
    request.applicant.full_name = decomposed
    request.components[1].name = unicodedata.normalize("NFD", "Tờ khai")
    validate_request(request)
    assert request.applicant.full_name == "Nguyễn Thị Ánh" != decomposed
    assert request.components[1].name == "Tờ khai"


def test_lengths_are_counted_after_normalisation_against_the_declared_or_default_limit():
    assert "must be at most 200" in refused(_named("a" * 201))["applicant.full_name"]
    validate_request(_named(unicodedata.normalize("NFD", "ễ") * 200))  # 400 code points, 200 after NFC
    # a field that declares nothing gets the default
    message = intake_pb2.ListProceduresRequest(language="v" * 9)
    assert "language" in refused(message)
    assert "unit_code" in refused(workflow_pb2.ListCasesRequest(unit_code="u" * 65))
    assert DEFAULT_MAX_LENGTH == 512


@pytest.mark.parametrize("message, field", [
    (intake_pb2.ListProceduresRequest(as_of=Timestamp(seconds=MAX_SECONDS + 1)), "as_of"),
    (intake_pb2.ListProceduresRequest(as_of=Timestamp(seconds=MIN_SECONDS - 1)), "as_of"),
    (intake_pb2.ListProceduresRequest(as_of=Timestamp(seconds=0, nanos=-1)), "as_of"),
    (intake_pb2.ListProceduresRequest(as_of=Timestamp(seconds=1_700_000_000, nanos=1_000_000_000)), "as_of"),
    (intake_pb2.SubmitDossierRequest(received_at=Timestamp(seconds=-(2**62))), "received_at"),
    (workflow_pb2.ExtendDeadlineRequest(new_due_at=Timestamp(seconds=2**62)), "new_due_at"),
    (audit_pb2.GetStateAtRequest(as_of=Timestamp(seconds=MAX_SECONDS + 1)), "as_of"),
])
def test_timestamps_outside_the_representable_range_are_refused(message, field):
    assert field in refused(message)


def test_a_field_with_a_saner_bound_uses_it():
    # 9999-12-31 is a valid Timestamp but not a deadline anyone can extend to
    description = refused(workflow_pb2.ExtendDeadlineRequest(new_due_at=Timestamp(seconds=MAX_SECONDS)))["new_due_at"]
    assert "2000-01-01 and 2100-12-31" in description
    validate_request(workflow_pb2.ExtendDeadlineRequest(new_due_at=Timestamp(seconds=4_102_444_799)))  # 2099-12-31


def test_undefined_enum_values_and_non_finite_numbers_are_refused():
    assert "is not a Channel value" in refused(intake_pb2.SubmitDossierRequest(channel=99))["channel"]
    for value in (math.nan, math.inf, -math.inf):
        assert "allotted_working_hours" in refused(workflow_pb2.TransferCaseRequest(allotted_working_hours=value))


def test_a_refusal_names_a_bounded_number_of_fields():
    request = submission()
    for i in range(200):
        request.components.add(name=f"x{i}\x00")
    assert len(refused(request)) == MAX_VIOLATIONS


def _dynamic_message_with_a_map():
    """A message type the service protos do not have yet: maps, repeated strings and timestamps."""
    pool = descriptor_pool.Default()
    name = "motcua_test_validation.proto"
    try:
        pool.FindFileByName(name)
    except KeyError:
        f = descriptor_pb2.FileDescriptorProto(name=name, package="motcua.test.v1", syntax="proto3",
                                               dependency=["google/protobuf/timestamp.proto",
                                                           "motcua/options/v1/field.proto"])
        message = f.message_type.add(name="Probe")
        entry = message.nested_type.add(name="LabelsEntry")
        entry.options.map_entry = True
        entry.field.add(name="key", number=1, type=9, label=1)
        entry.field.add(name="value", number=2, type=9, label=1)
        labels = message.field.add(name="labels", number=1, type=11, label=3, type_name=".motcua.test.v1.Probe.LabelsEntry")
        labels.options.Extensions[field_pb2.field].max_length = 5
        message.field.add(name="tags", number=2, type=9, label=3)
        message.field.add(name="times", number=3, type=11, label=3, type_name=".google.protobuf.Timestamp")
        pool.Add(f)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("motcua.test.v1.Probe"))


def test_maps_repeated_strings_and_repeated_timestamps_are_checked():
    Probe = _dynamic_message_with_a_map()
    probe = Probe(labels={"ok": "fine", "bad": "x\x00", "long": "123456"}, tags=["a", "b\x01"],
                  times=[Timestamp(seconds=0), Timestamp(seconds=MAX_SECONDS + 1)])
    assert set(refused(probe)) == {"labels['bad']", "labels['long']", "tags[1]", "times[1]"}
    probe = Probe(labels={unicodedata.normalize("NFD", "ễ"): unicodedata.normalize("NFD", "Ánh")},
                  tags=[unicodedata.normalize("NFD", "Thị")])
    validate_request(probe)
    assert dict(probe.labels) == {"ễ": "Ánh"} and list(probe.tags) == ["Thị"]
