"""proto <-> application mapping, and the shape checks that name the offending field."""
from __future__ import annotations

import re
from datetime import date, timezone
from typing import Any

from google.protobuf.timestamp_pb2 import Timestamp

from motcua.intake.v1 import intake_pb2 as pb
from motcua_common.province.dossier_rules import Channel
from motcua_common.errors import FieldViolation, InvalidArgument

from motcua_intake.application import ApplicantInput, DossierQuery, SubmitDossier
from motcua_intake.domain.catalogue import Procedure
from motcua_intake.domain.identity import citizen_id_problem
from motcua_common.province.organisation import Organisation, Unit

# The API's channel numbers are the national KenhThucHien codes (motcua_common.province.dossier_rules.Channel).
CHANNEL_NAMES = {int(channel): channel.name.lower() for channel in Channel}
CHANNEL_VALUES = {v: k for k, v in CHANNEL_NAMES.items()}
ONLINE_LEVELS = {"partial": pb.ONLINE_LEVEL_PARTIAL, "full": pb.ONLINE_LEVEL_FULL}
TAX_CODE = re.compile(r"[0-9]{10}(-[0-9]{3})?")
PHONE = re.compile(r"\+?[0-9 ]{8,15}")
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
# Formats are checked with fullmatch: "$" would let a trailing newline through.
SHA256 = re.compile(r"[0-9a-f]{64}")
MAX_COMPONENTS = 100
COMPONENT_FIELDS = ("name", "sha256", "size_bytes", "media_type", "code", "digitised", "reused_from", "quantity")
PAPER_FORMS = {pb.PAPER_FORM_UNSPECIFIED: "", pb.PAPER_FORM_ORIGINAL: "original",
               pb.PAPER_FORM_CERTIFIED_COPY: "certified_copy", pb.PAPER_FORM_COPY: "copy"}
PAPER_FORM_VALUES = {v: k for k, v in PAPER_FORMS.items()}
MAX_QUANTITY = 1000
MAX_COMPONENT_BYTES = 1 << 30


def _text(violations: list[FieldViolation], field: str, value: str, limit: int, required: bool = False) -> None:
    if required and not value.strip():
        violations.append(FieldViolation(field, "is required"))
    elif len(value) > limit:
        violations.append(FieldViolation(field, f"must be at most {limit} characters"))


def submit_from_proto(request: pb.SubmitDossierRequest) -> SubmitDossier:
    v: list[FieldViolation] = []
    _text(v, "idempotency_key", request.idempotency_key, 128, required=True)
    _text(v, "procedure_code", request.procedure_code, 32, required=True)
    if request.channel not in CHANNEL_NAMES:
        v.append(FieldViolation("channel", "must be CHANNEL_DESK, CHANNEL_ONLINE or CHANNEL_POST"))
    if not request.HasField("applicant"):
        v.append(FieldViolation("applicant", "is required"))
    a = request.applicant
    _text(v, "applicant.full_name", a.full_name, 200, required=request.HasField("applicant"))
    if a.citizen_id and a.tax_code:
        v.append(FieldViolation("applicant.citizen_id", "give either citizen_id or tax_code, not both"))
    elif request.HasField("applicant") and not (a.citizen_id or a.tax_code):
        v.append(FieldViolation("applicant.citizen_id", "is required (or applicant.tax_code for an organisation)"))
    problem = citizen_id_problem(a.citizen_id, date.today()) if a.citizen_id else None
    if problem:
        v.append(FieldViolation("applicant.citizen_id", problem))
    if a.tax_code and not TAX_CODE.fullmatch(a.tax_code):
        v.append(FieldViolation("applicant.tax_code", "must be 10 digits, or 10 digits-3 digits for a branch"))
    if a.phone and not PHONE.fullmatch(a.phone):
        v.append(FieldViolation("applicant.phone", "must be 8 to 15 digits, optionally starting with +"))
    if a.email and (len(a.email) > 254 or not EMAIL.fullmatch(a.email)):
        v.append(FieldViolation("applicant.email", "is not an email address"))
    _text(v, "applicant.address", a.address, 500)
    components = _components(v, request.components)
    if v:
        raise InvalidArgument(v)
    return SubmitDossier(
        idempotency_key=request.idempotency_key,
        procedure_code=request.procedure_code,
        channel=CHANNEL_NAMES[request.channel],
        applicant=ApplicantInput(a.full_name.strip(), a.citizen_id, a.tax_code, a.phone, a.email, a.address),
        components=components,
        received_at=request.received_at.ToDatetime(tzinfo=timezone.utc) if request.HasField("received_at") else None,
    )


def _components(v: list[FieldViolation], given: Any, field: str = "components") -> list[dict]:
    if len(given) > MAX_COMPONENTS:
        v.append(FieldViolation(field, f"at most {MAX_COMPONENTS} components"))
    components = []
    for i, c in enumerate(given[:MAX_COMPONENTS]):
        _text(v, f"{field}[{i}].name", c.name, 300, required=True)
        if not SHA256.fullmatch(c.sha256):
            v.append(FieldViolation(f"{field}[{i}].sha256", "must be 64 lowercase hex digits"))
        if not 0 <= c.size_bytes <= MAX_COMPONENT_BYTES:
            v.append(FieldViolation(f"{field}[{i}].size_bytes", "must be between 0 and 1 GiB"))
        _text(v, f"{field}[{i}].media_type", c.media_type, 100)
        _text(v, f"{field}[{i}].code", c.code, 64)
        if c.reused_from:
            v.append(FieldViolation(f"{field}[{i}].reused_from", "is set by the platform, not by the caller"))
        if c.paper_form not in PAPER_FORMS:
            v.append(FieldViolation(f"{field}[{i}].paper_form", "is not a PaperForm value"))
        if not 0 <= c.quantity <= MAX_QUANTITY:
            v.append(FieldViolation(f"{field}[{i}].quantity", f"must be between 0 and {MAX_QUANTITY}"))
        component = {"name": c.name, "sha256": c.sha256, "size_bytes": c.size_bytes, "media_type": c.media_type,
                     "code": c.code, "digitised": c.digitised}
        # Stated only when given: a component without them is stored (and fingerprinted) as before.
        if c.paper_form:
            component["paper_form"] = PAPER_FORMS.get(c.paper_form, "")
        if c.quantity:
            component["quantity"] = c.quantity
        components.append(component)
    return components


def components_from_proto(given: Any) -> list[dict]:
    v: list[FieldViolation] = []
    components = _components(v, given)
    if v:
        raise InvalidArgument(v)
    return components


def timestamp(value: Any) -> Timestamp | None:
    if value is None:
        return None
    ts = Timestamp()
    ts.FromDatetime(value)
    return ts


def dossier_to_proto(d: dict) -> pb.Dossier:
    a = d["applicant"]
    return pb.Dossier(
        id=str(d["id"]), code=d["code"], procedure_code=d["procedure_code"], channel=CHANNEL_VALUES[d["channel"]],
        received_at=timestamp(d["received_at"]), appointment_at=timestamp(d["appointment_at"]),
        national_status=d["national_status"], receiving_agency_code=d["receiving_agency_code"],
        applicant=pb.Applicant(**{k: a.get(k, "") for k in ("full_name", "citizen_id", "tax_code", "phone", "email", "address")}),
        components=[pb.Component(**{k: c[k] for k in COMPONENT_FIELDS if k in c},
                                 paper_form=PAPER_FORM_VALUES[c.get("paper_form", "")]) for c in d["components"]],
        version=d["version"],
        missing_components=[pb.ComponentRequirement(code=c["code"], name=c["name"], required=True)
                            for c in d.get("missing_components", [])],
        registered_at=timestamp(d.get("registered_at")), forwarded_at=timestamp(d.get("forwarded_at")),
        supplement_reason=d.get("supplement_reason", ""),
        supplement_requested_at=timestamp(d.get("supplement_requested_at")),
        refusal_reason=d.get("refusal_reason", ""), refused_at=timestamp(d.get("refused_at")),
        payment_online_flag=d.get("payment_online_flag"),
    )


def procedure_to_proto(p: Procedure, language: str = "vi", on: date | None = None) -> pb.Procedure:
    """`on`: the day whose fee schedule is shown (default: the latest schedule)."""
    schedule = p.fee_schedule_on(on)
    fee_schedule = None if schedule is None else pb.FeeSchedule(
        effective_from=schedule.effective_from.isoformat(), due=schedule.due, collector=schedule.collector,
        group=schedule.group, source=schedule.source,
        items=[pb.FeeItem(code=i.code, kind=i.kind, name=i.name, unit=i.unit, amount_vnd=i.amount_vnd,
                          legal_basis=i.legal_basis) for i in schedule.items])
    return pb.Procedure(
        code=p.code, name=p.name_in(language), name_vi=p.name, description=p.description_in(language),
        language=language if p.names.get(language) else "vi",
        effective_from=p.effective_from.isoformat(), levels=list(p.levels), handling_unit_code=p.handling_unit_code,
        issues_result=p.issues_result, deadline_working_days=p.deadline_working_days, fee_vnd=p.fee_vnd(on),
        online_level=ONLINE_LEVELS[p.online_level], receiving_agency_code=p.receiving_agency_code,
        receiving_agency_name=p.receiving_agency_name, source=p.source, example_fields=list(p.example_fields),
        components=[pb.ComponentRequirement(code=c.code, name=c.name, required=c.required) for c in p.components],
        fee_schedule=fee_schedule,
    )


def unit_to_proto(unit: Unit, organisation: Organisation, language: str = "vi") -> pb.Unit:
    return pb.Unit(code=unit.code, name=unit.name_in(language), level=unit.level, parent_code=unit.parent or "",
                   predecessor_codes=list(unit.predecessors), valid_from=unit.valid_from.isoformat(),
                   valid_until=unit.valid_until.isoformat() if unit.valid_until else "",
                   successor_codes=[u.code for u in organisation.successors_of(unit.code)])


def search_from_proto(request: pb.SearchDossiersRequest) -> DossierQuery:
    v: list[FieldViolation] = []
    _text(v, "dossier_code", request.dossier_code, 64)
    _text(v, "procedure", request.procedure, 200)
    _text(v, "unit_code", request.unit_code, 64)
    _text(v, "page_token", request.page_token, 200)
    for field in ("dossier_code", "procedure", "unit_code", "page_token"):
        if any(ord(c) < 32 or ord(c) == 127 for c in getattr(request, field)):
            v.append(FieldViolation(field, "must not contain control characters"))
    if not 0 <= request.national_status <= 10:
        v.append(FieldViolation("national_status", "must be a national status code (1 to 10), or 0 for any"))
    if v:
        raise InvalidArgument(v)
    return DossierQuery(
        dossier_code=request.dossier_code, procedure=request.procedure, unit_code=request.unit_code,
        national_status=request.national_status,
        received_from=request.received_from.ToDatetime(tzinfo=timezone.utc) if request.HasField("received_from") else None,
        received_until=request.received_until.ToDatetime(tzinfo=timezone.utc) if request.HasField("received_until") else None,
        page_size=request.page_size, page_token=request.page_token)


def dossier_summary_to_proto(row: dict) -> pb.DossierSummary:
    return pb.DossierSummary(
        dossier_id=str(row["dossier_id"]), dossier_code=row["dossier_code"], procedure_code=row["procedure_code"],
        procedure_name=row["procedure_name"], receiving_agency_code=row["receiving_agency_code"],
        channel=CHANNEL_VALUES[row["channel"]], national_status=row["national_status"],
        received_at=timestamp(row["received_at"]), appointment_at=timestamp(row["appointment_at"]),
        version=row["version"])
