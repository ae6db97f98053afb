"""Per-dossier facts folded from the published events of intake, workflow and payment.

It reads the producers' published protobuf messages (motcua.*.events.v1) in the envelope consumers
receive (motcua_common.events.published.PublishedEvent), never their stored JSON. Events of other
types are ignored. Each upstream's events are applied in its log order; across upstreams the order
does not matter: a dossier's end is the earliest end any of them reports (a withdrawal at intake
and the stop workflow records after it are one end, at the withdrawal).

`fold(events, as_of)` keeps only the events recorded at or before `as_of` (the envelope's `time`):
the facts as the province could have seen them at that instant. Pure: no I/O.
"""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timezone
from typing import Any, Callable, Iterable

from google.protobuf.message import Message

from motcua.intake.events.v1 import events_pb2 as intake_events
from motcua.payment.events.v1 import events_pb2 as payment_events
from motcua.workflow.events.v1 import events_pb2 as workflow_events

from motcua_common.province.dossier_rules import stop_end_reason_from_text

from motcua_evaluation.domain.facts import PROCESSED, REFUSED, WITHDRAWN, DossierFacts, Pause


def _time(ts: Any) -> datetime | None:
    return ts.ToDatetime(tzinfo=timezone.utc) if ts.ByteSize() else None


def _end(f: DossierFacts, at: datetime | None, reason: str) -> None:
    """The first end wins (DOMAIN.md: a dossier ends at the first of refused, withdrawn, stopped,
    processed, result returned)."""
    if at is None:
        return
    if f.ended_at is None or at < f.ended_at:
        f.ended_at, f.end_reason = at, reason


def _components(f: DossierFacts, components: Iterable[Any]) -> None:
    components = list(components)
    f.components_total = len(components)
    f.components_digitised = sum(1 for c in components if c.digitised)
    f.components_reused = sum(1 for c in components if c.reused_from)


def _registered(f: DossierFacts, m: intake_events.DossierRegistered) -> None:
    f.dossier_code = m.code or f.dossier_code
    f.procedure_code = m.procedure_code
    f.unit_code = f.unit_code or m.receiving_agency_code
    f.channel = m.channel
    f.applicant_subject = m.applicant.subject_id
    f.registered_at = _time(m.registered_at)
    _components(f, m.components)


def _received(f: DossierFacts, m: intake_events.DossierReceived) -> None:
    f.dossier_code = m.code or f.dossier_code
    f.procedure_code = m.procedure_code
    f.unit_code = m.handling_unit_code or m.receiving_agency_code
    f.channel = m.channel
    f.applicant_subject = m.applicant.subject_id or f.applicant_subject
    f.received_at = _time(m.received_at)
    if f.due_at is None:  # workflow's case may have told it first
        f.due_at = f.due_before_extension = _time(m.appointment_at)
    _components(f, m.components)


def _refused(f: DossierFacts, m: intake_events.DossierRefused) -> None:
    _end(f, _time(m.refused_at), REFUSED)


def _withdrawn(f: DossierFacts, m: intake_events.DossierWithdrawn) -> None:
    _end(f, _time(m.withdrawn_at), WITHDRAWN)


def _opened(f: DossierFacts, m: workflow_events.CaseOpened) -> None:
    f.dossier_code = f.dossier_code or m.dossier_code
    f.procedure_code = f.procedure_code or m.procedure_code
    f.unit_code = f.unit_code or m.unit_code
    f.received_at = f.received_at or _time(m.received_at)
    due = _time(m.due_at)
    if due is not None:
        f.due_at = f.due_before_extension = due


def _supplement_requested(f: DossierFacts, m: workflow_events.CaseSupplementRequested) -> None:
    f.pauses = [*f.pauses, Pause(_time(m.requested_at))]


def _resumed(f: DossierFacts, m: workflow_events.CaseResumed) -> None:
    if f.pauses and f.pauses[-1].resumed_at is None:
        f.pauses = [*f.pauses[:-1], replace(f.pauses[-1], resumed_at=_time(m.resumed_at))]
    due = _time(m.due_at)
    if due is not None:
        # the pause moves both appointments alike: the one an extension moved and the one it did not
        if f.due_at is not None and f.due_before_extension is not None:
            f.due_before_extension = f.due_before_extension + (due - f.due_at)
        else:
            f.due_before_extension = due
        f.due_at = due


def _extended(f: DossierFacts, m: workflow_events.DeadlineExtended) -> None:
    f.due_at = _time(m.new_due_at) or f.due_at
    if f.due_before_extension is None:
        f.due_before_extension = _time(m.previous_due_at)


def _stopped(f: DossierFacts, m: workflow_events.CaseStopped) -> None:
    _end(f, _time(m.stopped_at), m.end_reason or stop_end_reason_from_text(m.reason))


def _processed(f: DossierFacts, m: workflow_events.CaseProcessed) -> None:
    _end(f, _time(m.processed_at), m.end_reason or PROCESSED)


def _result_signed(f: DossierFacts, m: workflow_events.ResultSigned) -> None:
    f.result_signed_at = f.result_signed_at or _time(m.signed_at)


def _result_returned(f: DossierFacts, m: workflow_events.ResultReturned) -> None:
    f.result_returned_at = _time(m.returned_at)
    _end(f, f.result_returned_at, "result_returned")


def _invoice_issued(f: DossierFacts, m: payment_events.InvoiceIssued) -> None:
    f.fee_vnd = m.total_vnd


def _invoice_paid(f: DossierFacts, m: payment_events.InvoicePaid) -> None:
    f.paid_at = _time(m.paid_at)
    f.paid_online_flag = m.online_flag


def _invoice_cancelled(f: DossierFacts, m: payment_events.InvoiceCancelled) -> None:
    f.invoice_cancelled = True


_FOLDS: list[tuple[type[Message], Callable[[DossierFacts, Any], None]]] = [
    (intake_events.DossierRegistered, _registered),
    (intake_events.DossierReceived, _received),
    (intake_events.DossierRefused, _refused),
    (intake_events.DossierWithdrawn, _withdrawn),
    (workflow_events.CaseOpened, _opened),
    (workflow_events.CaseSupplementRequested, _supplement_requested),
    (workflow_events.CaseResumed, _resumed),
    (workflow_events.DeadlineExtended, _extended),
    (workflow_events.CaseStopped, _stopped),
    (workflow_events.CaseProcessed, _processed),
    (workflow_events.ResultSigned, _result_signed),
    (workflow_events.ResultReturned, _result_returned),
    (payment_events.InvoiceIssued, _invoice_issued),
    (payment_events.InvoicePaid, _invoice_paid),
    (payment_events.InvoiceCancelled, _invoice_cancelled),
]
#: published type -> (message class, fold)
APPLY = {cls.DESCRIPTOR.full_name: (cls, fold) for cls, fold in _FOLDS}
#: the published types the projection follows (a consumer may subscribe to these only)
FOLLOWED_TYPES = tuple(APPLY)


def apply(facts: dict[str, DossierFacts], event: Any) -> bool:
    """Fold one published event into `facts` (by the dossier it concerns); False if it is ignored."""
    found = APPLY.get(event.type)
    if found is None or not event.subject:
        return False
    cls, fold = found
    message = cls()
    message.ParseFromString(event.data)
    dossier = facts.get(event.subject)
    if dossier is None:
        dossier = facts[event.subject] = DossierFacts(dossier_id=event.subject, dossier_code=event.dossier_code)
    fold(dossier, message)
    return True


def fold(events: Iterable[Any], as_of: datetime | None = None) -> dict[str, DossierFacts]:
    """Facts of every dossier the events concern, from the events recorded at or before `as_of`
    (None: all). Each upstream's events must come in its log order."""
    facts: dict[str, DossierFacts] = {}
    for event in events:
        if as_of is not None and event.time > as_of:
            continue
        apply(facts, event)
    return facts


def with_rating(f: DossierFacts, rated_at: datetime, dissatisfied: bool) -> DossierFacts:
    """The dossier's facts with evaluation's own rating (ratings are evaluation's events)."""
    return replace(f, rated_at=rated_at, rating_dissatisfied=dissatisfied)
