"""Intake's use cases: load, decide, save; plain data out."""
from __future__ import annotations

import base64

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Callable, Protocol, Sequence
from uuid import UUID, uuid4

from eventsourcing.persistence import IntegrityError

from motcua_common.config.clock import Clock
from motcua_common.events.context import CommandContext, command_context, concerning, Actor
from motcua_common.errors import Conflict, InvalidArgument, NotFound, RuleViolated
from motcua_common.events.store import MotcuaApplication
from motcua_common.observability.telemetry import traced
from motcua_common.events.idempotency import IdempotentRequest
from motcua_common.province.organisation import Organisation, Unit
from motcua_common.privacy.sealing import SubjectErased, SubjectVault
from motcua_common.province.working_calendar import VIETNAM_TZ, WorkingCalendar

from motcua_common.province.search_text import fold
from motcua_common.audit.access import AccessDenied, DossierRead
from motcua_common.audit.log import CHAIN
from motcua_intake.domain.payment_status import HELD, shown_status
from motcua_intake.adapters.form_data import FormData
from motcua_intake.domain.catalogue import Catalogue, Procedure
from motcua_intake.domain.catalogue_entry import CatalogueEntry
from motcua_intake.domain.dossier import (CHANNELS, Dossier, DossierCode, PendingDossier, check_reception_time,
                                          format_code, forwarding_time)


class ReceiptRenderer(Protocol):
    """Form 01 as a printable document: (dossier view, procedure, received by, issued at) -> bytes."""

    def __call__(self, dossier: dict, procedure: Procedure, received_by: str, issued_at: datetime) -> bytes: ...


class FormRenderer(Protocol):
    """Forms 02 and 03: (dossier view, procedure, official, issued at) -> PDF bytes."""

    def __call__(self, dossier: dict, procedure: Procedure, official: str, issued_at: datetime) -> bytes: ...


class ComponentRegister(Protocol):
    """Components already digitised for an applicant, by content hash (reuse is recorded as such)."""

    def first_dossier_with(self, subject_id: UUID, sha256s: list[str]) -> dict[str, str]: ...
    def remember_hook(self, subject_id: UUID, dossier_code: str, sha256s: list[str]) -> Callable: ...


class DossierNumbering(Protocol):
    def next_number(self, agency_code: str, day: str) -> int: ...


@dataclass(frozen=True)
class ApplicantInput:
    full_name: str
    citizen_id: str
    tax_code: str
    phone: str
    email: str
    address: str


@dataclass(frozen=True)
class SubmitDossier:
    idempotency_key: str
    procedure_code: str
    channel: str
    applicant: ApplicantInput
    components: list[dict]
    received_at: datetime | None = None


MAX_SEARCH_PAGE = 200


@dataclass(frozen=True)
class DossierQuery:
    dossier_code: str = ""
    procedure: str = ""
    unit_code: str = ""
    national_status: int = 0
    received_from: datetime | None = None
    received_until: datetime | None = None
    page_size: int = 0
    page_token: str = ""
    reach: Any = None  # what the caller may list (edge.access.listing()); None: everything (tools, tests)


class DossierSearch(Protocol):
    """The dossier index behind SearchDossiers, kept in the events' transaction (`hook_for`, as a
    ReadModel) and queried by the use case (adapters.dossier_index.PostgresDossierIndex)."""

    def hook_for(self, domain_events: Sequence[Any]) -> Callable[[Any], None] | None: ...
    def search(self, query: DossierQuery, procedure_codes: list[str] | None, after: tuple[datetime, UUID] | None,
               limit: int) -> list[dict]:
        """Rows (dicts of dossier_index.COLUMNS) matching every criterion of `query` (the procedure as
        `procedure_codes` when given), newest first by (received_at, dossier_id), before `after`."""

    def access_target(self, dossier_id: UUID | None = None, code: str = "") -> dict | None:
        """The index row of one dossier (by id or code), or None."""


class IntakeApplication(MotcuaApplication):
    #: the audit hooks this service's event store is given (the store imports nothing from audit)
    chain = CHAIN
    reads = DossierRead
    denials = AccessDenied
    name = "intake"

    #: how often a running process checks whether a new catalogue was imported
    CATALOGUE_RECHECK_SECONDS = 30.0

    def __init__(self, env: dict[str, str], *, province: str, clock: Clock, catalogue: Catalogue,
                 calendar_for: Callable[[str | None], WorkingCalendar], numbering: DossierNumbering,
                 vault: SubjectVault, code_format: str, render_receipt: ReceiptRenderer,
                 forms: dict[str, FormRenderer] | None = None, components: ComponentRegister | None = None,
                 apologies: Any = None, catalogue_store: Any = None, standing: Any = None,
                 payment_standing: Any = None, organisation: Organisation | None = None,
                 form_data: FormData | None = None, index: DossierSearch | None = None, pool: Any = None,
                 max_backdating_working_days: float = 3.0) -> None:
        self.dossier_index = index
        self.read_model = index  # type: ignore[assignment]  # kept in the events' transaction
        super().__init__(env=env)
        self.pool = pool  # PostgreSQL's pool when there is one (maintenance); the use cases never query it
        self.province = province
        self.clock = clock
        self._file_catalogue = catalogue  # used until a catalogue is imported into the store
        self._catalogue = catalogue
        self.catalogue_store = catalogue_store  # adapters.catalogue_store.CatalogueStore
        self._catalogue_version = 0
        self._catalogue_checked = float("-inf")
        self.calendar_for = calendar_for
        self.numbering = numbering
        self.vault = vault
        self.code_format = code_format
        self.render_receipt = render_receipt
        self.forms = forms or {}
        self.component_register = components
        self.apologies = apologies  # adapters.apologies.Apologies: what workflow's extensions told intake
        self.standing = standing  # adapters.case_standing.CaseStanding: status and appointment workflow published
        self.payment_standing = payment_standing  # adapters.payment_standing.PaymentStanding: awaiting payment?
        self.organisation = organisation or Organisation([])
        self.form_data = form_data or FormData()  # headers and officials' names the forms print
        self.max_backdating_working_days = max_backdating_working_days  # desk/post received_at bound

    def context(self, actor: Actor) -> CommandContext:
        return CommandContext(actor=actor, province=self.province, clock=self.clock)

    @property
    def catalogue(self) -> Catalogue:
        """The imported catalogue (every version, effective-dated), reloaded when an import bumps its version."""
        import time

        if self.catalogue_store is None:
            return self._catalogue
        if time.monotonic() - self._catalogue_checked > self.CATALOGUE_RECHECK_SECONDS:
            self._catalogue_checked = time.monotonic()
            version = self.catalogue_store.version()
            if version != self._catalogue_version:
                self._catalogue = self._catalogue_from_store() if version else self._file_catalogue
                self._catalogue_version = version
        return self._catalogue

    def _catalogue_from_store(self) -> Catalogue:
        procedures, withdrawn = [], []
        for code in self.catalogue_store.codes():
            entry = self.get_or_none(CatalogueEntry.id_for(self.province, code))
            if isinstance(entry, CatalogueEntry):
                versions, closed = entry.procedures()
                procedures += versions
                withdrawn += [(code, since) for since in closed]
        return Catalogue(procedures, withdrawn)

    def list_procedures(self, on: Any = None) -> list[Procedure]:
        return self.catalogue.all(on)

    @traced("intake.search_dossiers")
    def search_dossiers(self, query: DossierQuery) -> tuple[list[dict], str]:
        """Dossiers matching every criterion given, newest first, one page at a time."""
        if self.dossier_index is None:
            raise RuleViolated("NO_DOSSIER_INDEX", "this intake has no dossier index")
        if not 0 <= query.page_size <= MAX_SEARCH_PAGE:
            raise InvalidArgument.single("page_size", f"must be between 1 and {MAX_SEARCH_PAGE}")
        after = None
        if query.page_token:
            try:
                at, after_id = base64.urlsafe_b64decode(query.page_token.encode()).decode().split("|")
                after = (datetime.fromisoformat(at), UUID(after_id))
            except ValueError:
                raise InvalidArgument.single("page_token", "is not a token from a previous response") from None
        size = query.page_size or 50
        codes = self._procedures_matching(query.procedure) if query.procedure.strip() else None
        rows = self.dossier_index.search(query, codes, after, size + 1)
        names = self.catalogue.names()
        items = [dict(r) for r in rows[:size]]
        for item in items:
            item["procedure_name"] = (names.get(item["procedure_code"]) or [""])[-1]
        token = ""
        if len(rows) > size:
            last = items[-1]
            token = base64.urlsafe_b64encode(f"{last['received_at'].isoformat()}|{last['dossier_id']}".encode()).decode()
        return items, token

    def _procedures_matching(self, text: str) -> list[str]:
        """Codes equal to the text, or whose name (any version) holds every word of it, diacritics ignored."""
        words = fold(text).split()
        return [code for code, names in self.catalogue.names().items()
                if fold(code) == fold(text.strip()) or any(all(w in fold(n) for w in words) for n in names)]

    def list_units(self, on: Any = None, include_closed: bool = False) -> list[Unit]:
        """The province's units in force on `on` (a local date; default today), or all of them."""
        day = on or self.clock.now().astimezone(VIETNAM_TZ).date()
        units = self.organisation.units()
        return sorted((u for u in units if include_closed or u.in_force_on(day)), key=lambda u: u.code)

    def import_catalogue(self, file_catalogue: Catalogue, actor: Actor) -> dict[str, int]:
        """Record the data file's catalogue as events: new procedures published, changed ones
        republished (from the file's date if later than the last version's, else from today),
        ones missing from the file withdrawn from today. Unchanged ones record nothing."""
        if self.catalogue_store is None:
            raise RuleViolated("NO_CATALOGUE_STORE", "this intake has no catalogue store")
        today = self.clock.now().astimezone(VIETNAM_TZ).date()
        counts = {"published": 0, "changed": 0, "withdrawn": 0, "unchanged": 0}
        changed: list = []
        in_file = {p.code: p for p in file_catalogue.all()}
        codes = sorted(set(in_file) | set(self.catalogue_store.codes()))
        with command_context(self.context(actor)), concerning(uuid4()):  # one correlation per import run
            for code in codes:
                entry = self.get_or_none(CatalogueEntry.id_for(self.province, code))
                procedure = in_file.get(code)
                if procedure is None:
                    if isinstance(entry, CatalogueEntry) and entry.withdraw(today):
                        counts["withdrawn"] += 1
                        changed.append(entry)
                    continue
                if entry is None:
                    changed.append(CatalogueEntry(id=CatalogueEntry.id_for(self.province, code), code=code,
                                                  effective_from=procedure.effective_from, record=procedure.record()))
                    counts["published"] += 1
                    continue
                last_date = entry.versions[-1][0]
                since = procedure.effective_from if procedure.effective_from > last_date else max(today, last_date)
                if entry.publish(since, procedure.record()):
                    counts["changed"] += 1
                    changed.append(entry)
                else:
                    counts["unchanged"] += 1
        if changed:
            self.record(*changed, before_insert=[self.catalogue_store.import_hook(codes)])
            self._catalogue_checked = float("-inf")
        return counts

    @traced("intake.submit_dossier")
    def submit_dossier(self, command: SubmitDossier, actor: Actor) -> dict:
        idempotent = IdempotentRequest(self, self.province, "SubmitDossier", actor, command.idempotency_key,
                                       {k: v for k, v in vars(command).items() if k != "idempotency_key"})
        if idempotent.answered:  # a retry gets its first answer, whatever changed since
            return {**self.get_dossier(dossier_id=idempotent.answered), "replayed": True}

        if command.channel not in CHANNELS:
            raise InvalidArgument.single("channel", "must be desk, online or post")
        now = self.clock.now()
        received_at = command.received_at or now
        check_reception_time(received_at, now, command.channel, self.calendar_for(None),
                             self.max_backdating_working_days)
        received_on = received_at.astimezone(VIETNAM_TZ).date()
        procedure = self.catalogue.get(command.procedure_code, on=received_on)  # the catalogue of its day
        if procedure is None:
            raise NotFound("procedure_code", f"procedure {command.procedure_code!r} is not in this province's "
                                             f"catalogue on {received_on.isoformat()}")
        calendar = self.calendar_for(procedure.calendar_group)
        appointment_at = calendar.add_working_days(received_at, procedure.deadline_working_days)
        received_local = received_at.astimezone(VIETNAM_TZ)
        number = self.numbering.next_number(procedure.receiving_agency_code, received_local.strftime("%Y-%m-%d"))
        code = format_code(self.code_format, procedure.receiving_agency_code, received_local, number)

        applicant = command.applicant
        kind, identifier = ("citizen", applicant.citizen_id) if applicant.citizen_id else ("organisation", applicant.tax_code)
        subject_id = self.vault.subject_id(kind, identifier)
        sealed = self.vault.seal(subject_id, {
            "full_name": applicant.full_name, "citizen_id": applicant.citizen_id, "tax_code": applicant.tax_code,
            "phone": applicant.phone, "email": applicant.email, "address": applicant.address,
        })

        dossier_id = uuid4()
        components, hooks = self._register_components(subject_id, code, command.components)
        missing = procedure.missing_components(components)
        context = replace(self.context(actor), occurred_at=received_at)
        with command_context(context), concerning(dossier_id, dossier_code=code):
            if missing:
                # Not received: registered with its code; no deadline runs until it is complete.
                dossier = PendingDossier(
                    id=PendingDossier.id_for(self.province, dossier_id), dossier_id=dossier_id, code=code,
                    procedure_code=procedure.code, receiving_agency_code=procedure.receiving_agency_code,
                    channel=command.channel,
                    applicant={"subject_id": str(subject_id), "kind": kind, "sealed": sealed},
                    components=components, missing=[{"code": c.code, "name": c.name} for c in missing],
                    registered_at=received_at)
            else:
                dossier = Dossier(
                    id=dossier_id,
                    code=code,
                    procedure_code=procedure.code,
                    receiving_agency_code=procedure.receiving_agency_code,
                    handling_unit_code=procedure.handling_unit_code,
                    channel=command.channel,
                    applicant={"subject_id": str(subject_id), "kind": kind, "sealed": sealed},
                    components=components,
                    received_at=received_at,
                    appointment_at=appointment_at,
                    deadline_working_days=procedure.deadline_working_days,
                    forwarded_at=forwarding_time(received_at, calendar),
                    calendar_group=procedure.calendar_group,
                    fee_schedule=procedure.fee_schedule_record(received_at),
                )
            index = DossierCode(id=DossierCode.id_for(self.province, code), code=code, dossier_id=dossier_id)
            record = idempotent.record(dossier_id, dossier.version)
        try:
            self.record(dossier, index, record, before_insert=hooks)
        except IntegrityError:
            # A concurrent try with the same key won the race: answer with its dossier.
            winner = self.get_or_none(idempotent.record_id)
            if winner is None:
                raise
            return {**self.get_dossier(dossier_id=winner.replay_result(idempotent.fingerprint)), "replayed": True}
        return self._view(dossier) if isinstance(dossier, Dossier) else self._pending_view(dossier)

    def _register_components(self, subject_id: UUID, code: str, components: list[dict]) -> tuple[list[dict], list]:
        """Mark components this applicant's earlier dossiers already digitised as reused; remember new ones."""
        if self.component_register is None:
            return components, []
        digests = [c["sha256"] for c in components if c.get("digitised")]
        seen = self.component_register.first_dossier_with(subject_id, digests) if digests else {}
        marked = [{**c, "reused_from": seen.get(c["sha256"], "")} for c in components]
        fresh = [d for d in digests if d not in seen]
        return marked, [self.component_register.remember_hook(subject_id, code, fresh)] if fresh else []

    # -- intake of incomplete dossiers: supplementation (form 02) and refusal (form 03) -----------
    @traced("intake.request_supplement")
    def request_supplement(self, idempotency_key: str, dossier_id: UUID, expected_version: int, reason: str,
                           actor: Actor) -> dict:
        return self._pending_command("RequestIntakeSupplement", idempotency_key, dossier_id, expected_version, actor,
                                     {"reason": reason}, lambda pending, now: pending.request_supplement(reason, now))

    @traced("intake.refuse")
    def refuse_dossier(self, idempotency_key: str, dossier_id: UUID, expected_version: int, reason: str,
                       actor: Actor) -> dict:
        return self._pending_command("RefuseDossier", idempotency_key, dossier_id, expected_version, actor,
                                     {"reason": reason}, lambda pending, now: pending.refuse(reason, now))

    @traced("intake.supplement")
    def supplement_dossier(self, idempotency_key: str, dossier_id: UUID, expected_version: int,
                           components: list[dict], actor: Actor) -> dict:
        """Add the missing components; once none is missing the dossier is received, and its clock starts now."""
        received: list[Dossier] = []

        def act(pending: PendingDossier, now: datetime) -> list:
            procedure = self._procedure_of(pending.procedure_code)
            subject_id = UUID(pending.applicant["subject_id"])
            added, hooks = self._register_components(subject_id, pending.code, components)
            missing = procedure.missing_components([*pending.components, *added])
            if pending.supplement(added, [{"code": c.code, "name": c.name} for c in missing], now):
                calendar = self.calendar_for(procedure.calendar_group)
                received.append(Dossier(
                    id=pending.dossier_id, code=pending.code, procedure_code=procedure.code,
                    receiving_agency_code=pending.receiving_agency_code,
                    handling_unit_code=procedure.handling_unit_code, channel=pending.channel,
                    applicant=pending.applicant, components=pending.components, received_at=now,
                    appointment_at=calendar.add_working_days(now, procedure.deadline_working_days),
                    deadline_working_days=procedure.deadline_working_days,
                    forwarded_at=forwarding_time(now, calendar), calendar_group=procedure.calendar_group,
                    fee_schedule=procedure.fee_schedule_record(now)))
            return hooks

        view = self._pending_command("SupplementDossier", idempotency_key, dossier_id, expected_version, actor,
                                     {"components": components}, act, also=received)
        return self._view(received[0]) if received else view

    def _procedure_of(self, code: str) -> Procedure:
        procedure = self.catalogue.get(code)
        if procedure is None:
            raise RuleViolated("PROCEDURE_WITHDRAWN", f"procedure {code} is no longer in the catalogue")
        return procedure

    def _pending_command(self, name: str, idempotency_key: str, dossier_id: UUID, expected_version: int,
                         actor: Actor, request: dict, act: Callable, also: list | None = None) -> dict:
        idempotent = IdempotentRequest(self, self.province, name, actor, idempotency_key,
                                       {"dossier_id": dossier_id, "expected_version": expected_version, **request})
        if idempotent.answered:
            return self.get_dossier(dossier_id=idempotent.answered)
        pending = self.get_or_none(PendingDossier.id_for(self.province, dossier_id))
        if not isinstance(pending, PendingDossier):
            if isinstance(self.get_or_none(dossier_id), Dossier):
                raise RuleViolated("DOSSIER_RECEIVED", f"dossier {dossier_id} is complete and was received")
            raise NotFound("dossier_id", f"dossier {dossier_id} does not exist")
        pending.require_pending()  # a refused or received dossier says so, whatever version the caller has
        if expected_version <= 0:
            raise InvalidArgument.single("expected_version", "is required: the dossier's version as you last read it")
        if pending.version != expected_version:
            raise Conflict(f"dossier is at version {pending.version}, not {expected_version}: re-read it and retry")
        with command_context(self.context(actor)), concerning(dossier_id, dossier_code=pending.code):
            hooks = act(pending, self.clock.now()) or []
            record = idempotent.record(dossier_id, pending.version)
        try:
            self.record(pending, *(also or []), record, before_insert=hooks)
        except IntegrityError:
            raise Conflict("the dossier changed meanwhile: re-read it and retry") from None
        return self._pending_view(pending)

    @traced("intake.withdraw_dossier")
    def withdraw_dossier(self, idempotency_key: str, dossier_id: UUID, expected_version: int, reason: str,
                         actor: Actor) -> dict:
        idempotent = IdempotentRequest(self, self.province, "WithdrawDossier", actor, idempotency_key,
                                       {"dossier_id": dossier_id, "expected_version": expected_version, "reason": reason})
        if idempotent.answered:
            return self.get_dossier(dossier_id=idempotent.answered)
        dossier = self.get_or_none(dossier_id)
        if not isinstance(dossier, Dossier):
            raise NotFound("dossier_id", f"dossier {dossier_id} does not exist")
        if expected_version <= 0:
            raise InvalidArgument.single("expected_version", "is required: the dossier's version as you last read it")
        if dossier.version != expected_version:
            raise Conflict(f"dossier is at version {dossier.version}, not {expected_version}: re-read it and retry")
        subject_id = UUID(dossier.applicant["subject_id"])
        with command_context(self.context(actor)), concerning(dossier.id, dossier_code=dossier.code):
            dossier.withdraw(reason, seal=lambda text: self.vault.seal(subject_id, {"withdrawal_reason": text}))
            record = idempotent.record(dossier.id, dossier.version)
        try:
            self.record(dossier, record)
        except IntegrityError:
            raise Conflict("the dossier changed meanwhile: re-read it and retry") from None
        return self._view(dossier)

    def access_target(self, dossier_id: UUID | None = None, code: str = "") -> dict | None:
        """What the edge decides a call about one dossier on (its index row), or None if there is none."""
        if self.dossier_index is None:
            raise RuleViolated("NO_DOSSIER_INDEX", "this intake has no dossier index")
        return self.dossier_index.access_target(dossier_id=dossier_id, code=code)

    def applicant_subject(self, applicant: Any) -> str:
        """The pseudonymous subject id a dossier for this applicant is recorded under."""
        kind, identifier = ("citizen", applicant.citizen_id) if applicant.citizen_id else ("organisation",
                                                                                          applicant.tax_code)
        return str(self.vault.subject_id(kind, identifier)) if identifier else ""

    def dossier_id_for(self, code: str) -> UUID:
        index = self.get_or_none(DossierCode.id_for(self.province, code))
        if index is None:
            raise NotFound("dossier_code", f"no dossier has code {code!r}")
        return index.dossier_id

    @traced("intake.get_dossier")
    def get_dossier(self, dossier_id: UUID | None = None, code: str | None = None) -> dict:
        if dossier_id is None:
            if not code:
                raise InvalidArgument.single("dossier_id", "give the dossier's id or its code")
            dossier_id = self.dossier_id_for(code)
        dossier = self.get_or_none(dossier_id)
        if isinstance(dossier, Dossier):
            return self._view(dossier)
        pending = self.get_or_none(PendingDossier.id_for(self.province, dossier_id))
        if isinstance(pending, PendingDossier):
            return self._pending_view(pending)
        raise NotFound("dossier_id", f"dossier {dossier_id} does not exist")

    @traced("intake.receipt_form")
    def receipt_form(self, dossier_id: UUID | None = None, code: str | None = None) -> tuple[str, bytes]:
        """Form 01 (receipt and appointment) of a received dossier, as (filename, PDF bytes)."""
        view = self.get_dossier(dossier_id=dossier_id, code=code)
        if view["received_at"] is None:
            raise RuleViolated("NOT_RECEIVED", f"dossier {view['code']} is not received: form 01 is issued on receipt")
        received = next(iter(self.events.get(view["id"], lte=1)))  # who received it is the event's actor
        procedure = self.catalogue.get(view["procedure_code"])
        if procedure is None:
            raise RuleViolated("PROCEDURE_WITHDRAWN", f"procedure {view['procedure_code']} is no longer in the catalogue")
        actor = received.envelope["actor"]
        received_by = (self.form_data.display_name(actor["subject"]) if actor["kind"] == "official"
                       else "Hệ thống một cửa điện tử")
        content = self.render_receipt(self._with_header(view, procedure), procedure, received_by, self.clock.now())
        return f"phieu-tiep-nhan-{view['code']}.pdf", content

    def _pending_view(self, pending: PendingDossier) -> dict:
        try:
            applicant = self.vault.unseal(UUID(pending.applicant["subject_id"]), pending.applicant["sealed"])
        except SubjectErased:
            applicant = {}
        return {
            "id": pending.dossier_id, "code": pending.code, "procedure_code": pending.procedure_code,
            "channel": pending.channel, "received_at": None, "appointment_at": None,
            "registered_at": pending.registered_at, "national_status": pending.national_status,
            "receiving_agency_code": pending.receiving_agency_code, "applicant": applicant,
            "components": pending.components, "version": pending.version, "missing_components": pending.missing,
            "supplement_reason": pending.supplement_reason, "supplement_requested_at": pending.supplement_requested_at,
            "refusal_reason": pending.refusal_reason, "refused_at": pending.refused_at,
        }

    def intake_form(self, form: str, dossier_id: UUID | None = None, code: str | None = None) -> tuple[str, bytes]:
        """Form 02 (supplementation request) or 03 (refusal) of a dossier the desk did not receive,
        or the apology letter with a new appointment of a dossier whose deadline was extended."""
        view = self.get_dossier(dossier_id=dossier_id, code=code)
        if form == "apology":
            return self._apology_letter(view)
        if form == "supplement_request" and not view.get("supplement_requested_at"):
            raise RuleViolated("NO_SUPPLEMENT_REQUEST", f"no supplementation was requested for {view['code']}")
        if form == "refusal" and not view.get("refused_at"):
            raise RuleViolated("NOT_REFUSED", f"dossier {view['code']} was not refused")
        procedure = self._procedure_of(view["procedure_code"])
        pending = self.get_or_none(PendingDossier.id_for(self.province, view["id"]))
        last = list(self.events.get(pending.id))[-1] if pending else None
        official = self.form_data.display_name(last.envelope["actor"].get("subject", "")) if last else ""
        number = {"supplement_request": "02", "refusal": "03"}[form]
        content = self.forms[form](self._with_header(view, procedure), procedure, official, self.clock.now())
        return f"mau-{number}-{view['code']}.pdf", content

    def _apology_letter(self, view: dict) -> tuple[str, bytes]:
        apology = self.apologies.latest(view["id"]) if self.apologies else None
        if apology is None:
            raise RuleViolated("NO_EXTENSION", f"the deadline of {view['code']} was not extended (or intake has "
                                               "not yet seen the extension: retry in a moment)")
        procedure = self._procedure_of(view["procedure_code"])
        content = self.forms["apology"]({**self._with_header(view, procedure), "apology": apology}, procedure,
                                        self.form_data.display_name(apology["official"]), self.clock.now())
        return f"phieu-xin-loi-{view['code']}.pdf", content

    def _with_header(self, view: dict, procedure: Procedure) -> dict:
        return {**view, "header": self.form_data.header(view["receiving_agency_code"], procedure.receiving_agency_name)}

    def _awaiting_payment_status(self, dossier_id: UUID, status: int) -> int:
        """6 (financial obligation requested) while payment published that the applicant must pay before
        processing, in place of received (2) or processing (4); the status itself once paid or cancelled
        (domain.payment_status, the rule the dossier index applies too)."""
        if status not in HELD or self.payment_standing is None:
            return status
        return shown_status(status, self.payment_standing.awaiting(dossier_id))

    def _view(self, dossier: Dossier) -> dict:
        try:
            applicant = self.vault.unseal(UUID(dossier.applicant["subject_id"]), dossier.applicant["sealed"])
        except SubjectErased:
            applicant = {}
        # Once workflow has the case, its published status and due time are the dossier's (one fact).
        status, appointment = (self.standing.of(dossier.id) if self.standing else None) or (None, None)
        if dossier.withdrawn and (status or 0) < 8:
            status = None  # withdrawal requested (7) until workflow stops the case (8) or has ended it
        status = self._awaiting_payment_status(dossier.id, status or dossier.national_status)
        return {
            "id": dossier.id, "code": dossier.code, "procedure_code": dossier.procedure_code,
            "channel": dossier.channel, "received_at": dossier.received_at,
            "appointment_at": appointment or dossier.appointment_at,
            "national_status": status, "receiving_agency_code": dossier.receiving_agency_code,
            "applicant": applicant, "components": dossier.components, "version": dossier.version,
            "forwarded_at": dossier.forwarded_at, "missing_components": [],
            "payment_online_flag": self.payment_standing.of(dossier.id)[1] if self.payment_standing else None,
        }

    def applicant_contact(self, dossier_id: UUID, subject_id: str, channel: str) -> str | None:
        """The address the applicant of `dossier_id` gave for `channel` (email: the email address; sms
        and zns: the phone number), for notification to send to now; None when there is none, the
        subject is not that dossier's applicant, or the person was erased."""
        dossier = self.get_or_none(dossier_id)
        if not isinstance(dossier, Dossier):
            dossier = self.get_or_none(PendingDossier.id_for(self.province, dossier_id))
        if dossier is None or dossier.applicant.get("subject_id") != subject_id:
            return None
        try:
            data = self.vault.unseal(UUID(subject_id), dossier.applicant["sealed"])
        except SubjectErased:
            return None
        return (data.get("email") if channel == "email" else data.get("phone")) or None
