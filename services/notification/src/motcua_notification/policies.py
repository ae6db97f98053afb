"""notification's reactions to the published events of intake, workflow and payment (never their
stored JSON), and to its own: which template, for whom, on which channels.

Each message is one per (triggering event, recipient, channel): its id is derived from them, and the
follower's tracking record makes each upstream event apply once, so redelivery and replay queue
nothing twice. Recipients are the applicant's subject id; contacts are looked up when sending."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any, Callable, Mapping
from uuid import UUID
from zoneinfo import ZoneInfo

from motcua.intake.events.v1 import events_pb2 as intake_events
from motcua.notification.events.v1 import events_pb2 as own_events
from motcua.payment.events.v1 import events_pb2 as payment_events
from motcua.workflow.events.v1 import events_pb2 as workflow_events
from motcua_common.events.consumer import UnitOfWork
from motcua_common.events.published import PublishedEvent, to_datetime
from motcua_common.observability.logs import bound, get_logger

from motcua_notification.adapters.province_data import ProvinceNames
from motcua_notification.application import NotificationApplication

log = get_logger()
VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")


def _name(message: Any) -> str:
    return message.DESCRIPTOR.full_name


def local_date(value: datetime) -> date:
    return value.astimezone(VIETNAM).date()


class DossierNotYetKnown(RuntimeError):
    """An event about a dossier whose intake events this worker has not applied yet: the follower
    reports itself stuck on it and applies it again on its next poll (intake's follower catches up)."""


class Notices:
    """Queues one template's messages for a dossier's applicant on the province's channels."""

    def __init__(self, app: NotificationApplication, channels: tuple[str, ...]) -> None:
        self.app = app
        self.channels = channels

    def to_applicant(self, event: PublishedEvent, work: UnitOfWork, dossier: Mapping[str, Any], template_id: str,
                     variables: Mapping[str, Any], trigger: str = "") -> int:
        queued = 0
        recipient = dossier["applicant"]
        for channel in self.app.channels_for(template_id, recipient, self.channels):
            message = self.app.prepare(trigger or event.id, UUID(str(dossier["dossier_id"])), dossier["dossier_code"],
                                       recipient, channel, template_id, variables, existing=work.get,
                                       causation_id=event.id)
            if message is not None:
                work.add(message)
                queued += 1
        with bound(dossier_code=dossier["dossier_code"]):
            log.info("notices_queued", template_id=template_id, messages=queued, upstream=event.upstream,
                     upstream_position=event.position)
        return queued

    def dossier(self, event: PublishedEvent, dossier_id: str = "") -> dict:
        found = self.app.dossier(dossier_id=UUID(dossier_id or event.subject))
        if found is None:
            raise DossierNotYetKnown(f"dossier {dossier_id or event.subject} ({event.dossier_code}) is not known "
                                     "from intake's events yet")
        return found


class IntakePolicies:
    """Received (with the appointment) and supplement requested at the desk; the dossier's code,
    procedure, unit and applicant are kept for the notices that follow."""

    RECEIVED = _name(intake_events.DossierReceived)
    REGISTERED = _name(intake_events.DossierRegistered)
    SUPPLEMENT = _name(intake_events.IntakeSupplementRequested)
    handles = frozenset({RECEIVED, REGISTERED, SUPPLEMENT})

    def __init__(self, notices: Notices, names: ProvinceNames, dossier_upsert: str) -> None:
        self.notices, self.names, self.upsert = notices, names, dossier_upsert
        self.known: dict[str, dict] = {}  # dossiers learnt in the page being applied (not yet committed)

    def __call__(self, event: PublishedEvent, work: UnitOfWork) -> None:
        if event.type in (self.RECEIVED, self.REGISTERED):
            cls = intake_events.DossierReceived if event.type == self.RECEIVED else intake_events.DossierRegistered
            e = event.message(cls)
            dossier = {"dossier_id": e.dossier_id, "dossier_code": e.code, "procedure_code": e.procedure_code,
                       "unit_code": e.receiving_agency_code, "applicant": e.applicant.subject_id}
            work.execute(self.upsert, tuple(dossier.values()))
            if len(self.known) >= 1000:  # only the page being applied needs them (later ones read the table)
                self.known.clear()
            self.known[e.dossier_id] = dossier
            if event.type == self.RECEIVED and e.applicant.subject_id:
                self.notices.to_applicant(event, work, dossier, "dossier_received", {
                    "dossier_code": e.code, "procedure_name": self.names.procedure(e.procedure_code),
                    "appointment_date": local_date(to_datetime(e.appointment_at))})
        elif event.type == self.SUPPLEMENT:
            e = event.message(intake_events.IntakeSupplementRequested)
            dossier = self.known.get(e.dossier_id) or self.notices.dossier(event, e.dossier_id)
            items = [self.names.components.get((dossier["procedure_code"], code), code)
                     for code in e.missing_component_codes] or [e.reason]
            self.notices.to_applicant(event, work, dossier, "supplement_requested", {
                "dossier_code": dossier["dossier_code"],
                "procedure_name": self.names.procedure(dossier["procedure_code"]), "missing_items": items})


class WorkflowPolicies:
    """Supplement requested during processing, the apology with the new date, the result ready, the
    result returned and the rating request that follows it."""

    SUPPLEMENT = _name(workflow_events.CaseSupplementRequested)
    EXTENDED = _name(workflow_events.DeadlineExtended)
    SIGNED = _name(workflow_events.ResultSigned)
    RETURNED = _name(workflow_events.ResultReturned)
    handles = frozenset({SUPPLEMENT, EXTENDED, SIGNED, RETURNED})

    def __init__(self, notices: Notices, names: ProvinceNames, rating_url: str) -> None:
        self.notices, self.names, self.rating_url = notices, names, rating_url

    def __call__(self, event: PublishedEvent, work: UnitOfWork) -> None:
        dossier = self.notices.dossier(event)
        code, procedure = dossier["dossier_code"], self.names.procedure(dossier["procedure_code"])
        if event.type == self.SUPPLEMENT:
            e = event.message(workflow_events.CaseSupplementRequested)
            self.notices.to_applicant(event, work, dossier, "supplement_requested", {
                "dossier_code": code, "procedure_name": procedure, "missing_items": [e.reason]})
        elif event.type == self.EXTENDED:
            e = event.message(workflow_events.DeadlineExtended)
            self.notices.to_applicant(event, work, dossier, "overdue_apology", {
                "dossier_code": code, "procedure_name": procedure, "reason": e.reason,
                "new_appointment_date": local_date(to_datetime(e.new_due_at))})
        elif event.type == self.SIGNED:
            self.notices.to_applicant(event, work, dossier, "result_ready", {
                "dossier_code": code, "procedure_name": procedure,
                "pickup_place": self.names.agency(dossier["unit_code"])})
        elif event.type == self.RETURNED:
            self.notices.to_applicant(event, work, dossier, "result_returned",
                                      {"dossier_code": code, "procedure_name": procedure})
            if self.rating_url:
                self.notices.to_applicant(event, work, dossier, "rating_request", {
                    "dossier_code": code, "rating_url": rating_link(self.rating_url, dossier)},
                    trigger=f"{event.id}|rating_request")


class PaymentPolicies:
    """An invoice issued: the applicant is told what to pay and how."""

    ISSUED = _name(payment_events.InvoiceIssued)
    handles = frozenset({ISSUED})

    def __init__(self, notices: Notices, how_to_pay: str) -> None:
        self.notices, self.how_to_pay = notices, how_to_pay

    def __call__(self, event: PublishedEvent, work: UnitOfWork) -> None:
        e = event.message(payment_events.InvoiceIssued)
        dossier = self.notices.dossier(event, e.dossier_id)
        self.notices.to_applicant(event, work, dossier, "payment_due", {
            "dossier_code": e.dossier_code, "amount_vnd": int(e.total_vnd),
            "how_to_pay": self.how_to_pay.replace("{order_id}", e.order_id)})


class FallbackPolicy:
    """notification's own events: a message that failed for good is queued on the recipient's next
    channel (the province's order, what the template has and the recipient allows)."""

    FAILED = _name(own_events.MessageFailed)
    handles = frozenset({FAILED})

    def __init__(self, app: NotificationApplication) -> None:
        self.app = app

    def __call__(self, event: PublishedEvent, work: UnitOfWork) -> None:
        e = event.message(own_events.MessageFailed)
        if not e.permanent:
            return
        failed = work.get(UUID(e.message_id))
        channel = self.app.fallback_channel(failed, work.get) if failed is not None else None
        if channel is None:
            return
        message = self.app.prepare(failed.trigger_event_id, failed.dossier_id, failed.dossier_code, failed.recipient,
                                   channel, failed.template_id, failed.variables, existing=work.get,
                                   language=failed.language, causation_id=event.id)
        if message is not None:
            work.add(message)
            with bound(dossier_code=failed.dossier_code):
                log.info("message_falls_back", failed_channel=failed.channel, channel=channel,
                         message_id=str(message.id))


Policy = Callable[[PublishedEvent, UnitOfWork], None]


def rating_link(template: str, dossier: dict) -> str:
    """The rating link of a returned dossier: MOTCUA_NOTIFICATION_RATING_URL with `{dossier_code}` and
    `{dossier_id}` (the id evaluation's RateDossier takes) filled in."""
    return (template.replace("{dossier_code}", dossier["dossier_code"])
            .replace("{dossier_id}", str(dossier["dossier_id"])))
