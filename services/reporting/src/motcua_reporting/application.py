"""Reporting's audit use cases: a dossier's history, its state as of an instant, verification
against the source services' own stores, and a signed export. Each records the read."""
from __future__ import annotations

import base64
from datetime import datetime
from typing import Callable, Protocol
from uuid import UUID

from motcua_common.audit.export import FORMAT, export_event, sign_document
from motcua_common.audit.log import Signer, TrustedKeys
from motcua_common.config.clock import Clock
from motcua_common.events.context import ACTOR_KINDS, Actor
from motcua_common.errors import InvalidArgument, NotFound
from motcua_common.events.store import MotcuaApplication
from motcua_common.observability.telemetry import traced
from motcua_common.audit.access import AccessDenied, DossierRead
from motcua_common.audit.log import CHAIN

from motcua_reporting.adapters.history_table import HistoryRow, as_entries
from motcua_reporting.adapters.security_events import SecurityEventQuery, SecurityEventRow
from motcua_reporting.domain.dossier_state import DossierState, state_as_of

#: (service, aggregate ids, positions) -> that service's verification report (motcua_common.audit.log)
SourceVerifier = Callable[[str, list[str], list[int]], dict]


class DossierHistories(Protocol):
    """Reporting's copy of every dossier's events (adapters.history_table.PostgresHistories)."""

    def dossier_id_for(self, code: str) -> UUID | None: ...
    def has_history(self, dossier_id: UUID) -> bool: ...
    def rows(self, dossier_id: UUID, include_reads: bool = True) -> list[HistoryRow]: ...


class SecurityEvents(Protocol):
    """Reporting's copy of every service's refused calls (adapters.security_events.PostgresSecurityEvents)."""

    def page(self, query: SecurityEventQuery, after: tuple[datetime, str, int] | None,
             limit: int) -> list[SecurityEventRow]: ...


#: every service whose events reporting follows (itself too: the reads and refusals it records)
FOLLOWED = ("intake", "workflow", "reporting", "payment", "notification", "evaluation")
MAX_SECURITY_PAGE = 200


class ReportingApplication(MotcuaApplication):
    #: the audit hooks this service's event store is given (the store imports nothing from audit)
    chain = CHAIN
    reads = DossierRead
    denials = AccessDenied
    name = "reporting"

    def __init__(self, env: dict[str, str], *, province: str, clock: Clock, histories: DossierHistories,
                 signer: Signer, trust: TrustedKeys, verify_source: SourceVerifier,
                 security_events: SecurityEvents | None = None) -> None:
        super().__init__(env=env)
        self.security_events = security_events
        self.province = province
        self.clock = clock
        self.histories = histories
        self.signer = signer
        self.trust = trust
        self.verify_source = verify_source

    # -- the audit calls -----------------------------------------------------------------------
    @traced("reporting.history")
    def history(self, actor: Actor, dossier_id: str, dossier_code: str, include_reads: bool,
                what: str = "audit.StreamHistory") -> list[HistoryRow]:
        resolved = self._resolve(dossier_id, dossier_code)
        rows = self.histories.rows(resolved, include_reads)
        if not rows:
            raise NotFound("dossier_id", f"no history for dossier {resolved} other than reads")
        self.record_read(actor, resolved, rows[0].dossier_code, what)
        return rows

    @traced("reporting.state_at")
    def state_at(self, actor: Actor, dossier_id: str, dossier_code: str, as_of: datetime) -> DossierState:
        rows = self.history(actor, dossier_id, dossier_code, include_reads=False, what="audit.GetStateAt")
        resolved = rows[0].dossier_id
        state = state_as_of(str(resolved), as_of=as_of, entries=as_entries(rows))
        if state is None:
            raise NotFound("as_of", f"dossier {rows[0].dossier_code} had no history yet at {as_of.isoformat()} "
                                    f"(its first event was recorded at {rows[0].recorded_at.isoformat()})")
        return state

    @traced("reporting.verify")
    def verify(self, actor: Actor, dossier_id: str, dossier_code: str) -> dict:
        rows = self.history(actor, dossier_id, dossier_code, include_reads=True, what="audit.VerifyHistory")
        return self._verify_rows(rows)

    @traced("reporting.export")
    def export(self, actor: Actor, dossier_id: str, dossier_code: str, include_reads: bool) -> tuple[str, bytes]:
        rows = self.history(actor, dossier_id, dossier_code, include_reads, what="audit.ExportHistory")
        verification = self._verify_rows(rows)
        payload = {
            "format": FORMAT,
            "province": self.province,
            "dossier_id": str(rows[0].dossier_id),
            "dossier_code": rows[0].dossier_code,
            "exported_at": self.clock.now().isoformat(),
            "exported_by": actor.as_dict(),
            "verification": verification,
            "events": [export_event(r.service, r.position, r.originator_id, r.originator_version, r.topic,
                                    r.event_type, r.recorded_at, r.actor, bytes(r.state), r.stored_hash)
                       for r in rows],
        }
        return f"lich-su-ho-so-{rows[0].dossier_code}.json", sign_document(payload, self.signer)

    def access_target(self, dossier_id: str, dossier_code: str) -> tuple[UUID, str, str] | None:
        """(dossier id, code, unit it is at now) for the edge to decide an audit call on; None if
        there is no history. Folded from the published events; not recorded as a read."""
        try:
            resolved = self._resolve(dossier_id, dossier_code)
        except NotFound:
            return None
        rows = self.histories.rows(resolved, include_reads=False)
        if not rows:
            return None
        state = state_as_of(str(resolved), as_of=self.clock.now(), entries=as_entries(rows))
        return resolved, rows[0].dossier_code, state.unit_code if state is not None else ""

    @traced("reporting.security_events")
    def list_security_events(self, query: SecurityEventQuery, page_size: int,
                             page_token: str) -> tuple[list[SecurityEventRow], str]:
        """Refused calls, newest first, one page at a time (the next page's token, empty on the last)."""
        if self.security_events is None:
            raise TypeError("this reporting application was given no security events table")
        if query.service and query.service not in FOLLOWED:
            raise InvalidArgument.single("service", f"must be one of {', '.join(FOLLOWED)} (or empty)")
        if query.actor_kind and query.actor_kind not in ACTOR_KINDS:
            raise InvalidArgument.single("actor_kind", f"must be one of {', '.join(ACTOR_KINDS)} (or empty)")
        if query.since is not None and query.until is not None and query.until <= query.since:
            raise InvalidArgument.single("until", "must be after `since`")
        if not 0 <= page_size <= MAX_SECURITY_PAGE:
            raise InvalidArgument.single("page_size", f"must be between 1 and {MAX_SECURITY_PAGE} (0: 50)")
        after = _security_page_start(page_token) if page_token else None
        size = page_size or 50
        rows = self.security_events.page(query, after, size + 1)
        token = _security_page_token(rows[size - 1].after) if len(rows) > size else ""
        return rows[:size], token

    # -- helpers -------------------------------------------------------------------------------
    def _resolve(self, dossier_id: str, dossier_code: str) -> UUID:
        if dossier_id:
            try:
                resolved = UUID(dossier_id)
            except ValueError:
                raise InvalidArgument.single("dossier_id", "is not a UUID") from None
        elif dossier_code:
            if len(dossier_code) > 64:
                raise InvalidArgument.single("dossier_code", "must be at most 64 characters")
            found = self.histories.dossier_id_for(dossier_code)
            if found is None:
                raise NotFound("dossier_code", f"no history for dossier {dossier_code!r}")
            resolved = found
        else:
            raise InvalidArgument.single("dossier_id", "give the dossier's id or its code")
        if not self.histories.has_history(resolved):
            raise NotFound("dossier_id", f"no history for dossier {resolved}")
        return resolved

    def _verify_rows(self, rows: list[HistoryRow]) -> dict:
        """Ask each source service to check its own store for the aggregates and positions it recorded."""
        by_service: dict[str, tuple[set[str], set[int]]] = {}
        for row in rows:
            ids, positions = by_service.setdefault(row.service, (set(), set()))
            ids.add(str(row.originator_id))
            if row.position is not None:
                positions.add(row.position)
        reports = []
        for service, (ids, positions) in sorted(by_service.items()):
            if service == self.name:
                reports.append(self.verify_history(self.trust, [UUID(i) for i in sorted(ids)], sorted(positions)))
            else:
                reports.append(self.verify_source(service, sorted(ids), sorted(positions)))
        order = {(r.service, r.position): i for i, r in enumerate(rows)}
        broken = [r["broken"] for r in reports if r.get("broken")]
        first = min(broken, key=lambda b: order.get((b["service"], b["position"]), len(order))) if broken else None
        return {"intact": first is None, "first_broken_link": first,
                "services": [{k: v for k, v in r.items() if k != "broken"} for r in reports]}


def _security_page_token(after: tuple[datetime, str, int]) -> str:
    recorded_at, service, position = after
    return base64.urlsafe_b64encode(f"{recorded_at.isoformat()}|{service}|{position}".encode()).decode()


def _security_page_start(token: str) -> tuple[datetime, str, int]:
    """The keyset a token names; anything but a token this service made is refused."""
    try:
        recorded_at, service, position = base64.urlsafe_b64decode(token.encode()).decode().split("|")
        start = (datetime.fromisoformat(recorded_at), service, int(position))
    except ValueError:
        raise InvalidArgument.single("page_token", "is not a token from a previous response") from None
    if start[0].tzinfo is None or service not in FOLLOWED or not 0 < start[2] < 2 ** 63:
        raise InvalidArgument.single("page_token", "is not a token from a previous response")
    return start
