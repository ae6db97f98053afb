"""Intake's use cases in memory: each adapter the application is given (numbering, subject vault,
component register, apologies, catalogue store, dossier index) as a dict, changed by the same hooks
the PostgreSQL adapters run in the events' transaction."""
from __future__ import annotations

import itertools
from datetime import datetime
from typing import Any, Callable, Sequence
from uuid import UUID, uuid4, uuid5

from motcua_common.privacy.sealing import SubjectErased
from motcua_common.province.search_text import fold

from motcua_intake.domain.payment_status import shown_status
from motcua_intake.adapters.dossier_index import COLUMNS, applicant_subject, submitting_client, within_reach


class InMemoryNumbering:
    def __init__(self) -> None:
        self.counters: dict[tuple[str, str], itertools.count] = {}

    def next_number(self, agency_code: str, day: str) -> int:
        return next(self.counters.setdefault((agency_code, day), itertools.count(1)))


class InMemoryVault:
    """Sealed data kept apart from the events (the events hold only an opaque token)."""

    def __init__(self) -> None:
        self.sealed: dict[str, tuple[UUID, dict]] = {}
        self.erased: set[UUID] = set()

    def subject_id(self, kind: str, identifier: str) -> UUID:
        return uuid5(UUID(int=0), f"{kind}|{identifier}")

    def seal(self, subject_id: UUID, data: dict) -> str:
        token = uuid4().hex
        self.sealed[token] = (subject_id, dict(data))
        return token

    def unseal(self, subject_id: UUID, sealed: str) -> dict:
        if subject_id in self.erased:
            raise SubjectErased(str(subject_id))
        owner, data = self.sealed[sealed]
        assert owner == subject_id
        return dict(data)

    def erase(self, subject_id: UUID) -> None:
        self.erased.add(subject_id)


class InMemoryComponentRegister:
    def __init__(self) -> None:
        self.first_seen: dict[tuple[UUID, str], str] = {}

    def first_dossier_with(self, subject_id: UUID, sha256s: list[str]) -> dict[str, str]:
        return {d: self.first_seen[(subject_id, d)] for d in sha256s if (subject_id, d) in self.first_seen}

    def remember_hook(self, subject_id: UUID, dossier_code: str, sha256s: list[str]) -> Callable[[Any], None]:
        def remember(_cursor: Any) -> None:
            for digest in sha256s:
                self.first_seen.setdefault((subject_id, digest), dossier_code)
        return remember


class InMemoryApologies:
    def __init__(self) -> None:
        self.by_dossier: dict[UUID, list[dict]] = {}

    def latest(self, dossier_id: UUID) -> dict | None:
        found = self.by_dossier.get(dossier_id)
        return found[-1] if found else None


class InMemoryCatalogueStore:
    def __init__(self) -> None:
        self.known: set[str] = set()
        self.imports = 0

    def version(self) -> int:
        return self.imports

    def codes(self) -> list[str]:
        return sorted(self.known)

    def import_hook(self, codes: list[str]) -> Callable[[Any], None]:
        def record(_cursor: Any) -> None:
            self.known.update(codes)
            self.imports += 1
        return record


class InMemoryDossierIndex:
    """SearchDossiers' index (adapters.dossier_index.DossierIndex.statements, as dict updates)."""

    def __init__(self, payment_standing: "InMemoryPaymentStanding | None" = None) -> None:
        self.rows: dict[UUID, dict] = {}
        self.payment_standing = payment_standing  # joined as the PostgreSQL search joins its table

    def hook_for(self, domain_events: Sequence[Any]) -> Callable[[Any], None] | None:
        events = [e for e in domain_events if type(e).__qualname__.startswith(("Dossier.", "PendingDossier."))]
        return (lambda _cursor: [self._apply(e) for e in events]) if events else None  # type: ignore[func-returns-value]

    def _by_pending(self, pending_id: UUID) -> dict | None:
        return next((r for r in self.rows.values() if r["pending_id"] == pending_id), None)

    def _apply(self, e: Any) -> None:
        name = type(e).__qualname__
        if name == "PendingDossier.Registered":
            self.rows[e.dossier_id] = dict(zip(COLUMNS, (
                e.dossier_id, e.originator_id, e.code, e.procedure_code, e.receiving_agency_code, e.channel, 1,
                e.registered_at, None, e.originator_version, applicant_subject(e), submitting_client(e))))
        elif name == "Dossier.Received":
            row = self.rows.setdefault(e.originator_id, dict(zip(COLUMNS, (
                e.originator_id, None, e.code, e.procedure_code, e.receiving_agency_code, e.channel, 2,
                e.received_at, e.appointment_at, e.originator_version, applicant_subject(e),
                submitting_client(e)))))
            row.update(national_status=2, received_at=e.received_at, appointment_at=e.appointment_at,
                       version=e.originator_version)
        elif name.startswith("Dossier."):
            row = self.rows[e.originator_id]
            row["version"] = e.originator_version
            if name == "Dossier.Withdrawn":
                row["national_status"] = 7
        else:
            row = self._by_pending(e.originator_id)
            if row is None or row["national_status"] == 2:
                return
            row["version"] = e.originator_version
            if name in ("PendingDossier.SupplementRequested", "PendingDossier.Refused"):
                row["national_status"] = 5 if name.endswith("SupplementRequested") else 3

    def search(self, query: Any, procedure_codes: list[str] | None, after: tuple[datetime, UUID] | None,
               limit: int) -> list[dict]:
        def wanted(r: dict) -> bool:
            return ((not query.dossier_code or fold(query.dossier_code.strip()) in r["dossier_code"].lower())
                    and (procedure_codes is None or r["procedure_code"] in procedure_codes)
                    and (not query.unit_code or r["receiving_agency_code"] == query.unit_code)
                    and (not query.national_status or r["national_status"] == query.national_status)
                    and (query.received_from is None or r["received_at"] >= query.received_from)
                    and (query.received_until is None or r["received_at"] < query.received_until)
                    and (after is None or (r["received_at"], r["dossier_id"]) < after)
                    and within_reach(query.reach, r))

        def shown(r: dict) -> dict:
            awaiting = self.payment_standing.awaiting(r["dossier_id"]) if self.payment_standing else False
            return {**r, "national_status": shown_status(r["national_status"], awaiting)}

        found = sorted((r for r in map(shown, self.rows.values()) if wanted(r)),
                       key=lambda r: (r["received_at"], r["dossier_id"]), reverse=True)
        return [dict(r) for r in found[:limit]]

    def access_target(self, dossier_id: UUID | None = None, code: str = "") -> dict | None:
        found = (self.rows.get(dossier_id) if dossier_id is not None
                 else next((r for r in self.rows.values() if r["dossier_code"] == code), None))
        return dict(found) if found else None


class InMemoryPaymentStanding:
    """adapters.payment_standing.PaymentStanding in memory: the rows its upsert writes, a later position winning."""

    def __init__(self) -> None:
        self.rows: dict[UUID, tuple[bool, int | None, int]] = {}

    def apply(self, statements: list[tuple[str, tuple]]) -> None:
        for _sql, (dossier_id, awaiting, online_flag, position) in statements:
            if dossier_id not in self.rows or self.rows[dossier_id][2] < position:
                self.rows[dossier_id] = (awaiting, online_flag, position)

    def awaiting(self, dossier_id: UUID) -> bool:
        return self.of(dossier_id)[0]

    def of(self, dossier_id: UUID) -> tuple[bool, int | None]:
        awaiting, online_flag, _ = self.rows.get(dossier_id, (False, None, 0))
        return awaiting, online_flag
