"""Pieces every bootstrap() needs: the clock, the calendar, pools, and schema setup."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Callable

import psycopg
import yaml
from psycopg_pool import ConnectionPool

from motcua_common.config.clock import make_clock  # noqa: F401 - bootstraps import it here
from motcua_common.events.relay import create_position_table
from motcua_common.config.settings import Settings
from motcua_common.province.working_calendar import WorkingCalendar
from motcua_common.events.store import create_tables


def make_pool(settings: Settings, max_size: int = 8) -> ConnectionPool:
    return ConnectionPool(settings.postgres_conninfo(), min_size=1, max_size=max_size, open=True,
                          kwargs={"autocommit": True})


def calendars(settings: Settings) -> Callable[[str | None], WorkingCalendar]:
    data = yaml.safe_load((Path(settings.data_dir) / "calendar.yaml").read_text(encoding="utf-8"))

    @lru_cache(maxsize=None)
    def calendar_for(group: str | None) -> WorkingCalendar:
        return WorkingCalendar.from_data(data, group=group)

    return calendar_for


def setup_platform_schema(settings: Settings) -> None:
    with psycopg.connect(settings.postgres_conninfo(), autocommit=True) as conn:
        # A service's own role may read and move the clock but not create it (provisioning did).
        if conn.execute("SELECT to_regclass('platform.clock')").fetchone()[0] is not None:
            return
        conn.execute("CREATE SCHEMA IF NOT EXISTS platform")
        conn.execute("CREATE TABLE IF NOT EXISTS platform.clock (id int PRIMARY KEY CHECK (id = 1), offset_us bigint NOT NULL)")
        conn.execute("INSERT INTO platform.clock VALUES (1, 0) ON CONFLICT DO NOTHING")


def setup_service_schema(settings: Settings, service: str, app_class: type, extra: Callable | None = None) -> None:
    """Create a service's schema, event tables, relay position and its own tables, once."""
    setup_platform_schema(settings)
    create_tables(app_class, settings.eventsourcing_env(service))
    with psycopg.connect(settings.postgres_conninfo(), autocommit=True) as conn:
        create_position_table(conn, service)
        if extra is not None:
            extra(conn, service)
