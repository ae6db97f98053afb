"""The in-memory history table the use-case unit tests run on (reporting_memory.InMemoryHistories)
answers exactly as the PostgreSQL one (adapters.history_table.PostgresHistories)."""
from __future__ import annotations

import dataclasses
import json
from datetime import datetime, timedelta, timezone
from uuid import uuid4

import pytest

from motcua_common.runtime.service_setup import make_pool

from motcua_reporting.adapters.history_table import HistoryTable, PostgresHistories
from reporting_memory import InMemoryHistories, history_row

pytestmark = pytest.mark.integration

T0 = datetime(2026, 11, 23, 1, 0, tzinfo=timezone.utc)


def test_the_in_memory_histories_answer_as_postgresql_does(province):
    from motcua_reporting.bootstrap import setup_schema

    settings = province.settings()
    setup_schema(settings)
    dossier, other = uuid4(), uuid4()
    opened = history_row("workflow", "Case.Opened", T0, dossier, "C-1", 4)
    rows = [  # same instants on purpose: the order falls back to service, position, version
        history_row("intake", "Dossier.Received", T0, dossier, "C-1", 9),
        opened,
        history_row("workflow", "Case.StepAssigned", T0 + timedelta(minutes=1), dossier, "C-1", 7, follows=opened),
        dataclasses.replace(history_row("intake", "DossierRead.Recorded", T0 + timedelta(minutes=1), dossier, "C-1",
                                        1), position=None),
        history_row("reporting", "DossierRead.Recorded", T0 + timedelta(minutes=1), dossier, "C-1", 2),
        history_row("intake", "Dossier.Received", T0, other, "C-2", 3),
    ]
    table = HistoryTable("reporting")
    pool = make_pool(settings)
    with pool.connection() as conn:
        for r in rows:
            values = dataclasses.astuple(r)
            conn.execute(table.insert_sql, (*values[:10], json.dumps(r.actor), *values[11:]))
    postgres, memory = PostgresHistories(pool, table), InMemoryHistories(rows)
    try:
        for store in (postgres, memory):
            assert store.dossier_id_for("C-1") == dossier and store.dossier_id_for("C-9") is None
            assert store.has_history(other) and not store.has_history(uuid4())
        for include_reads in (True, False):
            expected = [(r.service, r.event_type, r.position) for r in postgres.rows(dossier, include_reads)]
            assert [(r.service, r.event_type, r.position) for r in memory.rows(dossier, include_reads)] == expected
        assert len(postgres.rows(dossier)) == 5 and postgres.rows(dossier) == memory.rows(dossier)
    finally:
        pool.close()
