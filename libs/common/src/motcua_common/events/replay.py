"""`motcua-replay`: rebuild a service's read models, or reporting's projections, from position 0.

    motcua-replay list
    motcua-replay rebuild workflow [--check] [--restart] [--env-file .local/quang-tri.env]

A service's own log is read from its tables; another service's log (reporting follows
intake and workflow) is pulled through that service's worker, as its consumer does.
A rebuild writes into a shadow table next to the live one, one transaction per page
with its position, so an interrupted rebuild resumes where it stopped. When the
shadow has caught up, it takes a share lock on the live table (writers wait, readers
do not), applies the last events up to exactly what the live table reflects, compares
the two row by row and, unless `--check`, swaps the shadow in. `--check` changes
nothing and exits 1 if the rebuilt rows differ from the live ones.

Each service says what it can rebuild in `motcua_<service>.bootstrap:replay_targets`.
"""
from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Protocol, Sequence

import psycopg

from eventsourcing.persistence import StoredEvent

from motcua_common.events.store import ChainingMapper, LoggedEvent, execute_in_order, make_transcoder
from motcua_common.events.published import published_from_wire
from motcua_common.config.services import SERVICES
from motcua_common.config.settings import ConfigurationError, Settings, process_environment

Statements = Iterable[tuple[str, Sequence[Any]]]


Row = Any  # an event with a `position`: LoggedEvent (own log) or PublishedEvent (another service's)


class ReplaySource(Protocol):
    name: str

    def head(self, conn: Any) -> int: ...
    def read(self, conn: Any, after: int, stop: int, limit: int) -> list[Row]: ...


@dataclass(frozen=True)
class OwnLog:
    """The rebuilding service's own log, read from its own tables."""

    name: str
    schema: str

    @property
    def events_table(self) -> str:
        return f'"{self.schema}".{self.name}_events'

    def head(self, conn: Any) -> int:
        return conn.execute(f"SELECT coalesce(max(notification_id), 0) FROM {self.events_table}").fetchone()[0]

    def read(self, conn: Any, after: int, stop: int, limit: int) -> list[Row]:
        return [LoggedEvent(self.name, r[0], r[3], r[1], r[2], bytes(r[4])) for r in conn.execute(
            f"SELECT notification_id, originator_id, originator_version, topic, state FROM {self.events_table} "
            "WHERE notification_id > %s AND notification_id <= %s ORDER BY notification_id LIMIT %s",
            (after, stop, limit)).fetchall()]


class OwnPublishedLog:
    """The rebuilding service's own log as it publishes it (with the audit records), mapped by
    its own application: for projections kept in the published form (reporting's history)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.name = app.name.lower()

    def head(self, conn: Any) -> int:
        return self.app.head_position()

    def read(self, conn: Any, after: int, stop: int, limit: int) -> list[Row]:
        page = self.app.publication.page(self.app, after + 1, min(limit, 5000), with_audit=True)
        return [e for e in page if e.position <= stop]

    def close(self) -> None:
        self.app.close()


class UpstreamLog:
    """Another service's log, pulled through its worker's RPC (`read_notifications`,
    `head_position`), exactly as a consumer pulls it: no service reads another's tables."""

    def __init__(self, name: str, amqp_uri: str, timeout: float = 60.0) -> None:
        self.name = name
        self.config = {"AMQP_URI": amqp_uri, "serializer": "json"}
        self.timeout = timeout
        self._proxy: Any = None

    def _service(self) -> Any:
        from nameko.standalone.rpc import ClusterRpcProxy

        if self._proxy is None:
            self._proxy = ClusterRpcProxy(self.config, timeout=self.timeout)
            self._cluster = self._proxy.start()
        return getattr(self._cluster, self.name)

    def head(self, conn: Any) -> int:
        return int(self._service().head_position())

    def read(self, conn: Any, after: int, stop: int, limit: int) -> list[Row]:
        # With each event's audit record: reporting's history keeps the stored events too.
        page = [published_from_wire(self.name, w)
                for w in self._service().read_notifications(after + 1, min(limit, 5000), True)]
        return [e for e in page if e.position <= stop]

    def close(self) -> None:
        if self._proxy is not None:
            self._proxy.stop()
            self._proxy = None


@dataclass(frozen=True)
class ReplayTarget:
    name: str                       # e.g. "workflow.case_summaries"
    schema: str
    table: str                      # the live table's name in `schema`
    key: Sequence[str]              # columns naming a row, for the difference report
    sources: Sequence[ReplaySource]
    #: (event, qualified table to write) -> SQL statements, the same projection the service runs live
    project: Callable[[Any, str], Statements]  # (event from a source, table) -> statements
    #: the positions the live table reflects, per source (read under the share lock)
    live_positions: Callable[[Any], dict[str, int]]

    def qualified(self, table: str | None = None) -> str:
        return f'"{self.schema}".{table or self.table}'

    @property
    def shadow(self) -> str:
        return f"{self.table}_rebuild"


def own_read_model(service: str, table: str, key: Sequence[str],
                   model_for: Callable[[str], Any]) -> ReplayTarget:
    """A read model a service keeps from its own log, in the events' transaction: rebuilt from that
    log through the upcasters, by the same `statements` the service runs live (`model_for(table)`)."""
    mapper = ChainingMapper(transcoder=make_transcoder())
    models: dict[str, Any] = {}

    def project(event: LoggedEvent, into: str) -> Statements:
        model = models.setdefault(into, model_for(into))
        stored = StoredEvent(event.originator_id, event.originator_version, event.topic, event.state)
        return model.statements(mapper.to_domain_event(stored))

    def live_positions(conn: Any) -> dict[str, int]:
        return {service: conn.execute(f'SELECT coalesce(max(notification_id), 0) FROM "{service}".{service}_events')
                .fetchone()[0]}

    return ReplayTarget(name=f"{service}.{table}", schema=service, table=table, key=key,
                        sources=[OwnLog(service, service)], project=project, live_positions=live_positions)


@dataclass
class ReplayResult:
    events: int
    seconds: float
    missing_from_live: int
    extra_in_live: int
    swapped: bool
    resumed_from: dict[str, int]

    @property
    def equal(self) -> bool:
        return self.missing_from_live == 0 and self.extra_in_live == 0

    @property
    def rate(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else 0.0


class Replayer:
    def __init__(self, conninfo: str, target: ReplayTarget, page_size: int = 2000,
                 progress: Callable[[int, int], None] | None = None) -> None:
        self.conninfo = conninfo
        self.target = target
        self.page_size = page_size
        self.progress = progress or (lambda done, total: None)

    def run(self, check_only: bool = False, restart: bool = False,
            stop_after_pages: int | None = None) -> ReplayResult | None:
        """Rebuild; returns None if stopped early by `stop_after_pages` (as an interruption would)."""
        t = self.target
        started = time.monotonic()
        with psycopg.connect(self.conninfo, autocommit=True) as conn:
            resumed = self._prepare(conn, restart)
            positions = dict(resumed)
            heads = {s.name: s.head(conn) for s in t.sources}
            total = sum(heads.values())
            done = sum(positions.values())
            self.progress(done, total)
            pages = 0
            events = 0
            for source in t.sources:
                while positions[source.name] < heads[source.name]:
                    position, count = self._apply_page(conn, source, positions[source.name], heads[source.name])
                    positions[source.name] = position
                    events += count
                    done = sum(min(positions[s.name], heads[s.name]) for s in t.sources)
                    self.progress(done, total)
                    pages += 1
                    if stop_after_pages is not None and pages >= stop_after_pages:
                        return None
            with conn.transaction():
                conn.execute(f"LOCK TABLE {t.qualified()} IN SHARE MODE")
                live = t.live_positions(conn)
                for source in t.sources:
                    while positions[source.name] < live.get(source.name, 0):
                        position, count = self._apply_page(conn, source, positions[source.name],
                                                           live[source.name], in_transaction=True)
                        positions[source.name] = position
                        events += count
                missing, extra = self._compare(conn)
                if not check_only:
                    # Copied rather than renamed: the live table keeps its name, indexes and grants.
                    conn.execute(f"TRUNCATE {t.qualified()}")
                    conn.execute(f"INSERT INTO {t.qualified()} SELECT * FROM {t.qualified(t.shadow)}")
                conn.execute(f"DROP TABLE {t.qualified(t.shadow)}")
                conn.execute(f'DELETE FROM "{t.schema}".replay_progress WHERE target = %s', (t.name,))
                swapped = not check_only
            self.progress(sum(positions.values()), max(total, sum(positions.values())))
        return ReplayResult(events, time.monotonic() - started, missing, extra, swapped, resumed)

    def _prepare(self, conn: Any, restart: bool) -> dict[str, int]:
        t = self.target
        conn.execute(f'CREATE TABLE IF NOT EXISTS "{t.schema}".replay_progress ('
                     "target text NOT NULL, source text NOT NULL, position bigint NOT NULL, "
                     "PRIMARY KEY (target, source))")
        rows = dict(conn.execute(f'SELECT source, position FROM "{t.schema}".replay_progress WHERE target = %s',
                                 (t.name,)).fetchall())
        shadow_exists = conn.execute("SELECT to_regclass(%s)", (t.qualified(t.shadow),)).fetchone()[0] is not None
        if restart or not rows or not shadow_exists:
            with conn.transaction():
                conn.execute(f"DROP TABLE IF EXISTS {t.qualified(t.shadow)}")
                # Unique keys come along, so the projection's ON CONFLICT clauses behave as they do live.
                conn.execute(f"CREATE TABLE {t.qualified(t.shadow)} (LIKE {t.qualified()} INCLUDING ALL)")
                conn.execute(f'DELETE FROM "{t.schema}".replay_progress WHERE target = %s', (t.name,))
                conn.cursor().executemany(f'INSERT INTO "{t.schema}".replay_progress VALUES (%s, %s, 0)',
                                          [(t.name, s.name) for s in t.sources])
            return {s.name: 0 for s in t.sources}
        return {s.name: int(rows.get(s.name, 0)) for s in t.sources}

    def _apply_page(self, conn: Any, source: ReplaySource, after: int, stop: int,
                    in_transaction: bool = False) -> tuple[int, int]:
        """Apply one page after `after` (up to `stop`) to the shadow with the new position; returns (position, events)."""
        t = self.target
        rows = source.read(conn, after, stop, self.page_size)
        if not rows:
            return stop, 0
        shadow = t.qualified(t.shadow)
        statements = [s for event in rows for s in t.project(event, shadow)]
        position = rows[-1].position if len(rows) >= min(self.page_size, 5000) else stop
        if in_transaction:
            self._write(conn, statements, source, position)
        else:
            with conn.transaction():
                self._write(conn, statements, source, position)
        return position, len(rows)

    def _write(self, conn: Any, statements: list, source: ReplaySource, position: int) -> None:
        with conn.cursor() as curs:
            execute_in_order(curs, statements)
            curs.execute(f'UPDATE "{self.target.schema}".replay_progress SET position = %s '
                         "WHERE target = %s AND source = %s", (position, self.target.name, source.name))

    def _compare(self, conn: Any) -> tuple[int, int]:
        t = self.target
        live, shadow = t.qualified(), t.qualified(t.shadow)
        missing = conn.execute(f"SELECT count(*) FROM (SELECT * FROM {shadow} EXCEPT ALL SELECT * FROM {live}) d").fetchone()[0]
        extra = conn.execute(f"SELECT count(*) FROM (SELECT * FROM {live} EXCEPT ALL SELECT * FROM {shadow}) d").fetchone()[0]
        return missing, extra


def _targets(service: str, settings: Any) -> list[ReplayTarget]:
    import importlib

    try:
        module = importlib.import_module(f"motcua_{service}.bootstrap")
    except ModuleNotFoundError:
        raise SystemExit(f"no service named {service!r} is installed") from None
    if not hasattr(module, "replay_targets"):
        raise SystemExit(f"{service} keeps no rebuildable projections")
    return module.replay_targets(settings)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="motcua-replay", description=__doc__.split("\n\n")[0])
    parser.add_argument("--env-file", help="a province's environment file (default: the process environment)")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="what each service can rebuild")
    rebuild = sub.add_parser("rebuild", help="rebuild a service's projections from position 0")
    rebuild.add_argument("service", help="intake, workflow, reporting...")
    rebuild.add_argument("--check", action="store_true", help="compare with the live tables only; exit 1 if they differ")
    rebuild.add_argument("--restart", action="store_true", help="discard an interrupted rebuild and start from 0")
    rebuild.add_argument("--page-size", type=int, default=2000)
    args = parser.parse_args(argv)
    env = process_environment(args.env_file)
    if "MOTCUA_AMQP_URI" not in env and "MOTCUA_AMQP_USER" in env:  # as `make run` builds it
        env["MOTCUA_AMQP_URI"] = (f"amqp://{env['MOTCUA_AMQP_USER']}:{env['MOTCUA_AMQP_PASSWORD']}"
                                  f"@127.0.0.1:5672/{env['MOTCUA_AMQP_VHOST']}")
    env.setdefault("MOTCUA_DATA_DIR", "unused")
    try:
        settings = Settings.from_env(env)
    except ConfigurationError as error:
        print(f"motcua-replay: {error}", file=sys.stderr)
        return 2
    if args.command == "list":
        for service in SERVICES:
            try:
                names = [t.name for t in _targets(service.name, settings)]
            except SystemExit:
                names = []
            print(f"{service.name:<10} {', '.join(names) or '(nothing to rebuild)'}")
        return 0
    if args.page_size < 1:
        parser.error("--page-size must be at least 1")
    differed = False
    for target in _targets(args.service, settings):
        differed |= not _rebuild_one(settings.postgres_conninfo(), target, args)
    return 1 if differed and args.check else 0


def _rebuild_one(conninfo: str, target: ReplayTarget, args: argparse.Namespace) -> bool:
    from tqdm import tqdm

    bar = tqdm(desc=target.name, unit="ev", unit_scale=True, dynamic_ncols=True, file=sys.stderr)

    def progress(done: int, total: int) -> None:
        bar.total = total
        bar.n = done
        bar.refresh()

    try:
        result = Replayer(conninfo, target, args.page_size, progress).run(check_only=args.check, restart=args.restart)
    except KeyboardInterrupt:
        bar.close()
        print(f"\n{target.name}: interrupted; run the same command again to resume", file=sys.stderr)
        raise SystemExit(130) from None
    bar.close()
    assert result is not None
    if any(result.resumed_from.values()):
        print(f"{target.name}: resumed at {result.resumed_from}")
    verdict = "equal to the live table" if result.equal else (
        f"DIFFERENT from the live table ({result.missing_from_live} rows only in the rebuild, "
        f"{result.extra_in_live} only in the live table)")
    action = "swapped in" if result.swapped else "left aside (--check)"
    print(f"{target.name}: replayed {result.events} events in {result.seconds:.1f}s "
          f"({result.rate:,.0f} events/s); {verdict}; {action}")
    return result.equal


if __name__ == "__main__":
    sys.exit(main())
