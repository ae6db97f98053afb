"""The platform's clock: every service takes "now" from here, never from the system.

Outside production the clock can be moved forward (MOTCUA_CLOCK=settable). The
offset is stored in the province's database, so every process of the province
sees the same time; each process re-reads it at most every `ttl` seconds.
"""
from __future__ import annotations

import argparse
import re
import sys
import threading
import time
from datetime import datetime, timedelta, timezone
from typing import Protocol

import psycopg

from motcua_common.config.settings import Settings, process_environment

UTC = timezone.utc


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class ClockMovedBackwards(ValueError):
    pass


class SettableClock:
    """System time plus a forward-only offset shared through PostgreSQL."""

    def __init__(self, conninfo: str, ttl: float = 0.2) -> None:
        self._conninfo = conninfo
        self._ttl = ttl
        self._lock = threading.Lock()
        self._offset = timedelta(0)
        self._read_at = float("-inf")

    def now(self) -> datetime:
        with self._lock:
            if time.monotonic() - self._read_at > self._ttl:
                self._offset = self._read_offset()
                self._read_at = time.monotonic()
            return datetime.now(UTC) + self._offset

    def advance(self, delta: timedelta) -> datetime:
        if delta < timedelta(0):
            raise ClockMovedBackwards("the platform clock only moves forward")
        with psycopg.connect(self._conninfo, autocommit=True) as conn:
            conn.execute(
                "UPDATE platform.clock SET offset_us = offset_us + %s WHERE id = 1",
                (int(delta.total_seconds() * 1_000_000),),
            )
        self._read_at = float("-inf")
        return self.now()

    def set(self, instant: datetime) -> datetime:
        current = self.now()
        if instant < current:
            raise ClockMovedBackwards(f"{instant.isoformat()} is before the platform's now {current.isoformat()}")
        return self.advance(instant - current)

    def _read_offset(self) -> timedelta:
        with psycopg.connect(self._conninfo, autocommit=True) as conn:
            row = conn.execute("SELECT offset_us FROM platform.clock WHERE id = 1").fetchone()
        return timedelta(microseconds=row[0] if row else 0)


class FixedClock:
    """A clock that moves only when told to; for unit tests."""

    def __init__(self, start: datetime) -> None:
        self._now = start

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta) -> None:
        self._now += delta


def make_clock(settings: Settings) -> Clock:
    if settings.clock == "settable":
        return SettableClock(settings.postgres_conninfo(), ttl=settings.clock_ttl_seconds)
    return SystemClock()


def _parse_duration(text: str) -> timedelta:
    match = re.fullmatch(r"(\d+)([smhd])", text)
    if not match:
        raise argparse.ArgumentTypeError("durations look like 90s, 15m, 3h or 2d")
    unit = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}[match.group(2)]
    return timedelta(**{unit: int(match.group(1))})


def main(argv: list[str] | None = None) -> int:
    """`motcua-clock [--env-file .local/quang-tri.env] show|advance 2d|set 2026-12-01T08:00:00+07:00`
    (non-production only; the province's settings come from the file, else the process environment)."""
    from pathlib import Path

    parser = argparse.ArgumentParser(prog="motcua-clock", description=main.__doc__)
    parser.add_argument("--env-file", type=Path, help="a province's environment file (default: the process environment)")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("show")
    adv = sub.add_parser("advance")
    adv.add_argument("duration", type=_parse_duration)
    st = sub.add_parser("set")
    st.add_argument("instant", type=datetime.fromisoformat)
    args = parser.parse_args(argv)
    if args.env_file and not args.env_file.is_file():
        parser.error(f"--env-file {args.env_file}: no such file")
    env = process_environment(args.env_file)
    env.setdefault("MOTCUA_AMQP_URI", "amqp://unused")  # the clock lives in the database only
    env.setdefault("MOTCUA_DATA_DIR", "unused")
    settings = Settings.from_env(env)
    if settings.clock != "settable":
        where = args.env_file or "the process environment"
        print(f"the clock is the system clock in {where} (MOTCUA_CLOCK=settable outside production)", file=sys.stderr)
        return 2
    clock = SettableClock(settings.postgres_conninfo(), ttl=0)
    if args.command == "advance":
        clock.advance(args.duration)
    elif args.command == "set":
        clock.set(args.instant)
    print(clock.now().isoformat())
    return 0
