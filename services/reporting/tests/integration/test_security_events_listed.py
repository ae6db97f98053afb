"""Refused calls recorded by every service reach reporting's security events (its own table, on
PostgreSQL), listed newest first in pages, filtered, never shown as dossier history, and rebuilt
from the sources' logs exactly as they were kept live."""
from __future__ import annotations

import dataclasses

import pytest

from motcua_common.audit.access import AccessDenied
from motcua_common.events.context import Actor
from motcua_common.events.ids import platform_id

from motcua_reporting.adapters.security_events import SecurityEventQuery
from reporting_testkit import AUDITOR

pytestmark = pytest.mark.integration

STRANGER = Actor(kind="official", subject="canbo09", role="one_stop_officer", unit="000.31.09.H45", client="console")
ANONYMOUS = Actor(kind="anonymous")
SRE = Actor(kind="official", subject="sre01", role="sre", unit="000.00.31.H45", client="console")
GET_DOSSIER = "motcua.intake.v1.IntakeService/GetDossier"
LIST_CASES = "motcua.workflow.v1.WorkflowService/ListCases"
LIST_SECURITY = "motcua.audit.v1.AuditService/ListSecurityEvents"


def everything(services, query: SecurityEventQuery = SecurityEventQuery(), page_size: int = 0) -> list:  # type: ignore[no-untyped-def]
    rows, token = services.reporting.list_security_events(query, page_size, "")
    while token:
        page, token = services.reporting.list_security_events(query, page_size, token)
        rows += page
    return rows


def test_a_denial_recorded_by_intake_is_listed_by_reporting_and_is_no_part_of_the_dossiers_history(services):
    dossier = services.submit()
    services.intake.record_denial(STRANGER, GET_DOSSIER, "dossier.read", "the dossier's unit is outside your reach",
                                  dossier["id"], dossier["code"])
    services.workflow.record_denial(ANONYMOUS, LIST_CASES, "cases.list", "no token", None, "")
    services.reporting.record_denial(SRE, LIST_SECURITY, "security_events.list", "inspectors only", None, "")
    services.settle()

    rows = everything(services)
    assert [(r.service, r.rpc, r.action, r.reason, r.dossier_code, r.count) for r in rows] == [
        ("reporting", LIST_SECURITY, "security_events.list", "inspectors only", "", 1),
        ("workflow", LIST_CASES, "cases.list", "no token", "", 1),
        ("intake", GET_DOSSIER, "dossier.read", "the dossier's unit is outside your reach", dossier["code"], 1),
    ]
    assert rows[2].actor == STRANGER.as_dict() and rows[2].actor_kind == "official"
    assert rows[1].actor["kind"] == "anonymous" and rows[1].first_at <= rows[1].recorded_at
    history = services.reporting.history(AUDITOR, str(dossier["id"]), "", include_reads=True)
    assert not any(r.event_type.startswith("AccessDenied") for r in history)
    assert not services.reporting.histories.has_history(platform_id(services.settings.province))


def test_repeated_denials_are_listed_with_their_counts_and_a_second_pull_adds_nothing(services):
    for _ in range(5):
        services.intake.record_denial(ANONYMOUS, GET_DOSSIER, "dossier.read", "no token", None, "")
    services.intake.flush_denials()  # what closing does (and a timer, once the minute is over)
    services.settle()
    services.settle()
    recorded = [e.count for e in (services.intake.decode(n) for n in
                                  services.intake.recorder.select_notifications(start=1, limit=100))
                if isinstance(e, AccessDenied.Recorded)]
    rows = everything(services)
    assert sorted(r.count for r in rows) == sorted(recorded) and sum(recorded) == 5
    # one event for the first and one for the rest (up to two each if the five straddled a minute)
    assert 2 <= len(rows) <= 4 and all(r.rpc == GET_DOSSIER for r in rows)


def test_pages_run_newest_first_without_gap_or_repeat_and_filters_combine(services):
    for n in range(4):
        services.intake.record_denial(ANONYMOUS, GET_DOSSIER, "dossier.read", f"reason {n}", None, "")
        services.workflow.record_denial(STRANGER, LIST_CASES, "cases.list", f"reason {n}", None, "")
    services.settle()

    whole = everything(services)
    assert len(whole) == 8 and [r.after for r in whole] == sorted((r.after for r in whole), reverse=True)
    assert everything(services, page_size=3) == whole
    first, token = services.reporting.list_security_events(SecurityEventQuery(), 3, "")
    assert len(first) == 3 and token

    workflow = everything(services, SecurityEventQuery(service="workflow"), page_size=2)
    assert [r.reason for r in workflow] == ["reason 3", "reason 2", "reason 1", "reason 0"]
    assert everything(services, SecurityEventQuery(actor_kind="anonymous", rpc=GET_DOSSIER)) == \
        [r for r in whole if r.service == "intake"]
    assert everything(services, SecurityEventQuery(actor_kind="citizen")) == []
    middle = whole[4].recorded_at
    assert everything(services, SecurityEventQuery(since=middle)) == whole[:5]
    assert everything(services, SecurityEventQuery(until=middle)) == whole[5:]


def test_security_events_rebuild_from_the_sources_logs_equal_to_the_live_table(services, province):
    from motcua_common.events.replay import OwnPublishedLog, Replayer
    from motcua_reporting.bootstrap import replay_targets

    services.intake.record_denial(STRANGER, GET_DOSSIER, "dossier.read", "outside your reach", None, "")
    services.workflow.record_denial(ANONYMOUS, LIST_CASES, "cases.list", "no token", None, "")
    services.reporting.record_denial(SRE, LIST_SECURITY, "security_events.list", "inspectors only", None, "")
    services.settle()
    [target] = [t for t in replay_targets(services.settings) if t.name == "reporting.security_events"]
    for source in target.sources:
        if hasattr(source, "close"):
            source.close()
    # The sources' logs as their workers' pull serves them (here the applications in this process).
    target = dataclasses.replace(target, sources=[OwnPublishedLog(app) for app in services.sources.values()])
    live = province.query("SELECT * FROM reporting.security_events ORDER BY service, position")
    assert len(live) == 3
    province.query("DELETE FROM reporting.security_events WHERE service = 'workflow' RETURNING 1")

    check = Replayer(province.conninfo, target).run(check_only=True)
    assert check is not None and (check.missing_from_live, check.extra_in_live) == (1, 0)
    rebuilt = Replayer(province.conninfo, target).run()
    assert rebuilt is not None and rebuilt.swapped
    assert province.query("SELECT * FROM reporting.security_events ORDER BY service, position") == live


def test_a_denial_recorded_by_payment_is_listed_with_its_actor(services):
    dossier = services.submit("2.000884")
    services.payment.record_denial(STRANGER, "motcua.payment.v1.PaymentService/RecordCashPayment",
                                   "payment.record_cash", "the dossier's unit is outside your reach",
                                   dossier["id"], dossier["code"])
    services.settle()
    rows = everything(services, SecurityEventQuery(service="payment"))
    assert [(r.service, r.action, r.dossier_code, r.count) for r in rows] == [
        ("payment", "payment.record_cash", dossier["code"], 1)]
    assert rows[0].actor == STRANGER.as_dict()
