"""Workflow's use cases."""
from __future__ import annotations

import base64
from typing import Any, Callable, Protocol, Sequence
from datetime import datetime, timedelta
from uuid import UUID

from eventsourcing.persistence import IntegrityError

from motcua_common.config.clock import Clock
from motcua_common.province.dossier_rules import CLOSED_CASE_STATES
from motcua_common.events.context import Actor, CommandContext, command_context, concerning
from motcua_common.errors import Conflict, InvalidArgument, NotFound
from motcua_common.events.store import MotcuaApplication
from motcua_common.observability.telemetry import traced
from motcua_common.province.working_calendar import WorkingCalendar
from motcua_common.events.idempotency import IdempotentRequest

from motcua_common.province.organisation import Organisation
from motcua_common.audit.access import AccessDenied, DossierRead
from motcua_common.audit.log import CHAIN

from motcua_workflow.adapters.unit_signing import ResultCheck, UnitKeys
from motcua_workflow.domain.case import Case
from motcua_workflow.domain.fee_standing import FeeStanding

RESULT_MEDIA_TYPES = ("application/pdf", "application/xml", "image/jpeg", "image/png")
MAX_RESULT_BYTES = 3 * 1024 * 1024
MAX_PAGE = 500


class CaseQueue(Protocol):
    """The work queue: case summaries kept in the events' transaction (`hook_for`, as a ReadModel)
    and the queries the use cases ask of them (adapters.read_model.PostgresCaseQueue)."""

    def hook_for(self, domain_events: Sequence[Any]) -> Callable[[Any], None] | None: ...
    def case_id_for(self, dossier_code: str) -> UUID | None: ...
    def access_target(self, case_id: UUID | None = None, dossier_code: str = "") -> dict | None: ...
    def page(self, *, unit_code: str, assignee: str, status: str | None, include_finished: bool,
             after: tuple[datetime, UUID] | None, limit: int, units: frozenset[str] | None = None) -> list[dict]:
        """Summaries (dicts of read_model.COLUMNS) ordered by (due_at, case_id), after `after`, at `units`."""
    def overdue_candidates(self, now: datetime, limit: int) -> list[UUID]: ...
    def due_soon_candidates(self, now: datetime, horizon: datetime, limit: int) -> list[UUID]: ...
    def overdue_by_unit(self, now: datetime) -> dict[str, int]: ...
    def rows(self) -> list[tuple]:
        """Every summary as a tuple of read_model.COLUMNS, by case_id (to compare with a rebuild)."""


class ResultStore(Protocol):
    """Result files by content, written with the event that names them (adapters.result_files)."""

    def store_hook(self, sha256: str, media_type: str, content: bytes) -> Callable[[Any], None]: ...
    def get(self, sha256: str) -> bytes | None: ...


class WorkflowApplication(MotcuaApplication):
    #: the audit hooks this service's event store is given (the store imports nothing from audit)
    chain = CHAIN
    reads = DossierRead
    denials = AccessDenied
    name = "workflow"

    def __init__(self, env: dict[str, str], *, province: str, clock: Clock, queue: CaseQueue,
                 result_files: ResultStore, calendar: WorkingCalendar, organisation: Organisation | None = None,
                 unit_keys: UnitKeys | None = None, calendar_for: Any = None,
                 procedure_names: dict[str, str] | None = None, pool: Any = None) -> None:
        self.read_model = queue  # type: ignore[assignment]  # kept in the events' transaction
        self.queue = queue
        super().__init__(env=env)
        self.province = province
        self.clock = clock
        self.pool = pool  # PostgreSQL's pool when there is one (maintenance); the use cases never query it
        self.calendar = calendar  # the province's default calendar
        self._calendar_for = calendar_for or (lambda group: calendar)  # a procedure group's own calendar
        self.organisation = organisation or Organisation([])
        self.unit_keys = unit_keys or UnitKeys(None)
        self.result_files = result_files
        self.procedure_names = procedure_names or {}  # code -> Vietnamese name, from the province's catalogue

    def calendar_of(self, case: Case) -> WorkingCalendar:
        """The calendar the case's deadline was set on (its procedure group's, e.g. Saturday mornings)."""
        return self._calendar_for(case.calendar_group)

    @traced("workflow.get_case")
    def access_target(self, case_id: UUID | None = None, dossier_id: UUID | None = None,
                      dossier_code: str = "") -> dict | None:
        """What the edge decides a call about one case on (its summary), or None if there is none."""
        if case_id is None and dossier_id is not None:
            case_id = Case.id_for(self.province, dossier_id)
        return self.queue.access_target(case_id=case_id, dossier_code=dossier_code)

    def get_case(self, case_id: UUID | None = None, dossier_id: UUID | None = None, dossier_code: str = "") -> Case:
        if case_id is None and dossier_id is not None:
            case_id = Case.id_for(self.province, dossier_id)
        if case_id is None and dossier_code:
            case_id = self.queue.case_id_for(dossier_code)
            if case_id is None:
                raise NotFound("dossier_code", f"no case for dossier {dossier_code!r}")
        if case_id is None:
            raise InvalidArgument.single("case_id", "give case_id, dossier_id or dossier_code")
        case = self.get_or_none(case_id)
        if not isinstance(case, Case):
            raise NotFound("case_id", f"case {case_id} does not exist")
        return case

    @traced("workflow.list_cases")
    def list_cases(self, unit_code: str, status: str | None, page_size: int, page_token: str,
                   assignee: str = "", include_finished: bool = False,
                   units: frozenset[str] | None = None) -> tuple[list[dict], str]:
        """A unit's queue, or an official's (`assignee`), ordered by due time; finished cases only
        when asked for (`include_finished`, or their status). `units`: only cases at these units
        (what the caller may see: edge.access.listing()); None: every unit."""
        if not unit_code and not assignee:
            raise InvalidArgument.single("unit_code", "give a unit_code, or an assignee for an official's queue")
        if not 0 <= page_size <= MAX_PAGE:
            raise InvalidArgument.single("page_size", f"must be between 1 and {MAX_PAGE}")
        page_size = page_size or 50
        after = None
        if page_token:
            try:
                due_text, case_id = base64.urlsafe_b64decode(page_token.encode()).decode().split("|")
                due_at = datetime.fromisoformat(due_text)  # a forged time must not reach the store
                if due_at.tzinfo is None or due_at.isoformat() != due_text:
                    raise ValueError("not a time this service wrote")
                after = (due_at, UUID(case_id))
            except ValueError:
                raise InvalidArgument.single("page_token", "is not a token from a previous response") from None
        rows = self.queue.page(unit_code=unit_code, assignee=assignee, status=status,
                               include_finished=include_finished, after=after, limit=page_size + 1, units=units)
        items = [self._queue_row(dict(r)) for r in rows[:page_size]]
        token = ""
        if len(rows) > page_size:
            last = items[-1]
            token = base64.urlsafe_b64encode(f"{last['due_at'].isoformat()}|{last['case_id']}".encode()).decode()
        return items, token

    def _queue_row(self, row: dict) -> dict:
        names = row.pop("step_names")
        active = row["status"] not in CLOSED_CASE_STATES and row["current_step"] < len(names)
        return {**row, "step_name": names[row["current_step"]] if active else "",
                "procedure_name": self.procedure_names.get(row["procedure_code"], "")}

    @traced("workflow.complete_step")
    def complete_step(self, idempotency_key: str, case_id: UUID, step_index: int, expected_version: int,
                      note: str, actor: Actor) -> Case:
        return self._case_command(
            "CompleteStep", idempotency_key, case_id, expected_version, actor, {"step_index": step_index, "note": note},
            lambda case, now: case.complete_step(step_index, by=actor.subject or actor.kind, note=note, now=now,
                                                 calendar=self.calendar_of(case)))

    @traced("workflow.request_supplement")
    def request_supplement(self, idempotency_key: str, case_id: UUID, expected_version: int, reason: str,
                           actor: Actor) -> Case:
        return self._case_command("RequestSupplement", idempotency_key, case_id, expected_version, actor,
                                  {"reason": reason}, lambda case, now: case.request_supplement(reason, now))

    @traced("workflow.resume")
    def resume(self, idempotency_key: str, case_id: UUID, expected_version: int, actor: Actor) -> Case:
        return self._case_command("ResumeCase", idempotency_key, case_id, expected_version, actor, {},
                                  lambda case, now: case.resume(now, self.calendar_of(case)))

    @traced("workflow.extend_deadline")
    def extend_deadline(self, idempotency_key: str, case_id: UUID, expected_version: int, new_due_at: datetime,
                        reason: str, actor: Actor) -> Case:
        return self._case_command("ExtendDeadline", idempotency_key, case_id, expected_version, actor,
                                  {"new_due_at": new_due_at.isoformat(), "reason": reason},
                                  lambda case, now: case.extend(new_due_at, reason, now, self.calendar_of(case)))

    @traced("workflow.stop_processing")
    def stop_processing(self, idempotency_key: str, case_id: UUID, expected_version: int, reason: str,
                        actor: Actor) -> Case:
        return self._case_command("StopProcessing", idempotency_key, case_id, expected_version, actor,
                                  {"reason": reason}, lambda case, now: case.stop(reason, now, self.calendar_of(case)))

    @traced("workflow.assign_step")
    def assign_step(self, idempotency_key: str, case_id: UUID, expected_version: int, official: str,
                    actor: Actor) -> Case:
        return self._case_command("AssignStep", idempotency_key, case_id, expected_version, actor,
                                  {"official": official},
                                  lambda case, now: case.assign(official, by=actor.subject or actor.kind, now=now))

    @traced("workflow.transfer")
    def transfer(self, idempotency_key: str, case_id: UUID, expected_version: int, to_unit_code: str,
                 allotted_working_hours: float, reason: str, actor: Actor) -> Case:
        def act(case: Case, now: datetime) -> None:
            if self.organisation.in_force(to_unit_code, now) is None:
                known = self.organisation.get(to_unit_code)
                raise NotFound("to_unit_code", f"unit {to_unit_code!r} " + (
                    f"was closed on {known.valid_until}" if known else "is not a unit of this province"))
            case.transfer(to_unit_code, allotted_working_hours, reason, now)

        return self._case_command("TransferCase", idempotency_key, case_id, expected_version, actor,
                                  {"to_unit_code": to_unit_code, "hours": allotted_working_hours, "reason": reason},
                                  act)

    @traced("workflow.return_from_transfer")
    def return_from_transfer(self, idempotency_key: str, case_id: UUID, expected_version: int, note: str,
                             actor: Actor) -> Case:
        return self._case_command("ReturnFromTransfer", idempotency_key, case_id, expected_version, actor,
                                  {"note": note}, lambda case, now: case.return_from_transfer(note, now, self.calendar_of(case)))

    @traced("workflow.sign_result")
    def sign_result(self, idempotency_key: str, case_id: UUID, expected_version: int, filename: str,
                    media_type: str, content: bytes, sha256: str, actor: Actor) -> Case:
        """Store the electronic result file and record its hash signed with the unit's key."""
        import hashlib

        if not content or len(content) > MAX_RESULT_BYTES:
            raise InvalidArgument.single("document.content", f"give the file, at most {MAX_RESULT_BYTES} bytes")
        if media_type not in RESULT_MEDIA_TYPES:
            raise InvalidArgument.single("document.media_type", f"must be one of {', '.join(RESULT_MEDIA_TYPES)}")
        if not filename.strip() or len(filename) > 200:
            raise InvalidArgument.single("document.filename", "name the file (at most 200 characters)")
        digest = hashlib.sha256(content).hexdigest()
        if sha256.lower() != digest:
            raise InvalidArgument.single("document.sha256", f"does not match the content (its SHA-256 is {digest})")

        def act(case: Case, now: datetime) -> None:
            signature, certificate = self.unit_keys.sign(case.unit_code, digest, now)
            case.sign_result({"sha256": digest, "size_bytes": len(content), "media_type": media_type,
                              "filename": filename.strip()}, signature, certificate,
                             signed_by=actor.subject or actor.kind, now=now)

        return self._case_command("SignResult", idempotency_key, case_id, expected_version, actor,
                                  {"sha256": digest, "filename": filename, "media_type": media_type}, act,
                                  hooks=[self.result_files.store_hook(digest, media_type, content)])

    @traced("workflow.return_result")
    def return_result(self, idempotency_key: str, case_id: UUID, expected_version: int, method: str,
                      actor: Actor) -> Case:
        return self._case_command("ReturnResult", idempotency_key, case_id, expected_version, actor,
                                  {"method": method},
                                  lambda case, now: case.return_result(method, now, self.fee_unpaid(case.dossier_id)))

    def result_of(self, case_id: UUID | None, dossier_code: str = "") -> tuple[Case, bytes]:
        case = self.get_case(case_id, dossier_code=dossier_code)
        if case.result is None:
            raise NotFound("case_id", f"dossier {case.dossier_code} has no signed result yet")
        content = self.result_files.get(case.result["sha256"])
        if content is None:
            raise NotFound("case_id", f"the result file of {case.dossier_code} is missing from the store")
        return case, content

    def verify_result(self, case_id: UUID | None, content: bytes, dossier_code: str = "") -> tuple[Case, ResultCheck]:
        case = self.get_case(case_id, dossier_code=dossier_code)
        if case.result is None:
            raise NotFound("case_id", f"dossier {case.dossier_code} has no signed result yet")
        return case, self.unit_keys.check(content, case.result)

    def _case_command(self, name: str, idempotency_key: str, case_id: UUID, expected_version: int, actor: Actor,
                      request: dict, act: Any, hooks: list | None = None) -> Case:
        """Every command on a case: idempotency key, expected version, one decision, one save."""
        idempotent = IdempotentRequest(self, self.province, name, actor, idempotency_key,
                                       {"case_id": case_id, "expected_version": expected_version, **request})
        if idempotent.answered:
            return self.get_case(case_id)
        case = self.get_case(case_id)
        if expected_version <= 0:
            raise InvalidArgument.single("expected_version", "is required: the case's version as you last read it")
        if case.version != expected_version:
            raise Conflict(f"case is at version {case.version}, not {expected_version}: re-read it and retry")
        context = CommandContext(actor=actor, province=self.province, clock=self.clock)
        with command_context(context), concerning(case.dossier_id, dossier_code=case.dossier_code):
            act(case, self.clock.now())
            record = idempotent.record(case.id, case.version)
        try:
            self.record(case, record, before_insert=hooks or ())
        except IntegrityError:
            raise Conflict("the case changed meanwhile: re-read it and retry") from None
        return case

    def mark_overdue_cases(self, limit: int = 500) -> int:
        """The scheduler's tick: record MarkedOverdue on every open case past its due time (once each)."""
        now = self.clock.now()
        due = self.queue.overdue_candidates(now, limit)
        marked = 0
        context = CommandContext(actor=Actor.system("workflow.overdue-scheduler"), province=self.province,
                                 clock=self.clock)
        for case_id in due:
            case = self.get_case(case_id)
            with command_context(context), concerning(case.dossier_id, dossier_code=case.dossier_code):
                if not case.mark_overdue(now):
                    continue
            try:
                self.record(case)
                marked += 1
            except IntegrityError:
                continue  # another scheduler marked it first: nothing to do
        return marked

    def mark_due_soon_cases(self, window: timedelta, limit: int = 500) -> int:
        """The scheduler's tick: record MarkedDueSoon on open cases with less than `window` of working
        time left (once per due time). Candidates are those due within the window plus any closure."""
        now = self.clock.now()
        horizon = now + window * 3 + timedelta(days=14)  # wall-clock bound; the calendar decides
        due = self.queue.due_soon_candidates(now, horizon, limit)
        marked = 0
        context = CommandContext(actor=Actor.system("workflow.due-soon-scheduler"), province=self.province,
                                 clock=self.clock)
        for case_id in due:
            case = self.get_case(case_id)
            with command_context(context), concerning(case.dossier_id, dossier_code=case.dossier_code):
                if not case.mark_due_soon(now, self.calendar_of(case), window):
                    continue
            try:
                self.record(case)
                marked += 1
            except IntegrityError:
                continue  # another scheduler marked it first
        return marked

    def overdue_by_unit(self) -> dict[str, int]:
        """Open cases past their due time, per unit (for the overdue alert)."""
        return self.queue.overdue_by_unit(self.clock.now())

    # -- read-model maintenance ----------------------------------------------
    def read_model_rows(self) -> list[tuple]:
        return self.queue.rows()

    def fee_unpaid(self, dossier_id: UUID) -> bool:
        """Whether payment published an invoice for the dossier that is not yet paid or cancelled."""
        standing = self.get_or_none(FeeStanding.id_for(self.province, dossier_id))
        return isinstance(standing, FeeStanding) and standing.unpaid
