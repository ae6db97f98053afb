"""The events room on its own (no service): a store given the audit hooks chains what it
stores; a consumer applies an upstream's published events exactly once and in order, pulling
what a push skipped; replay rebuilds a projection from position 0; the relay publishes each
published event once, in order (CloudEvents attributes as AMQP headers, the message as body). Services test their own policies; this is the library's own proof."""
from __future__ import annotations

from uuid import NAMESPACE_URL, UUID, uuid5

import psycopg
import pytest
from eventsourcing.domain import event
from google.protobuf.wrappers_pb2 import StringValue

from motcua_common.audit.access import DossierRead
from motcua_common.audit.log import CHAIN
from motcua_common.config.clock import SystemClock
from motcua_common.events.consumer import EveryEvent, UnitOfWork
from motcua_common.events.context import Actor, CommandContext, command_context, concerning
from motcua_common.events.domain import MotcuaAggregate
from motcua_common.events.published import Publication, PublishedEvent, wire_position
from motcua_common.events.store import MotcuaApplication, create_tables

pytestmark = pytest.mark.integration


class Note(MotcuaAggregate):
    @event("Written")
    def __init__(self, text: str) -> None:
        self.text = text


class Copy(MotcuaAggregate):
    @event("Made")
    def __init__(self, source: str, text: str) -> None:
        self.source = source
        self.text = text


class Upstream(MotcuaApplication):
    name = "roomsup"
    chain = CHAIN  # as a service gives them: class attributes
    reads = DossierRead
    #: what it publishes: each note's text (a stand-in for a service's own events package)
    publication = Publication("roomsup", {Note.Written: lambda e: StringValue(value=e.text)})


class Downstream(MotcuaApplication):
    name = "roomsdown"


class CopyEveryNote:
    """Not idempotent on purpose (a new copy, a new id, each time): only the consumer's tracking
    keeps a redelivered event from being copied twice."""

    handles = EveryEvent()

    def __call__(self, event: PublishedEvent, work: UnitOfWork) -> None:
        work.add(Copy(source=event.id, text=event.message(StringValue).value))


@pytest.fixture
def rooms(province):  # type: ignore[no-untyped-def]
    from motcua_common.events.consumer import UpstreamFollower

    settings = province.settings()
    apps = []
    for cls in (Upstream, Downstream):
        env = settings.eventsourcing_env(cls.name)
        create_tables(type(cls.__name__, (cls,), {"chain": CHAIN, "name": cls.name}), env)
        apps.append(cls(env=env) if cls.chain else cls(env=env, chain=CHAIN, reads=DossierRead))  # or arguments
    upstream, downstream = apps
    clock = SystemClock()
    follower = UpstreamFollower(downstream, "roomsup", CopyEveryNote(), clock=clock, province=settings.province)
    yield upstream, downstream, follower, settings, clock
    upstream.close()
    downstream.close()


def write_notes(upstream: Upstream, clock: SystemClock, province: str, count: int) -> None:
    with command_context(CommandContext(actor=Actor.system("test"), province=province, clock=clock)):
        for i in range(count):
            with concerning(uuid5(NAMESPACE_URL, f"dossier {i}"), dossier_code=f"D{i}"):
                upstream.save(Note(text=f"note {i}"))


def copies(settings, app: MotcuaApplication) -> list[UUID]:  # type: ignore[no-untyped-def]
    with psycopg.connect(settings.postgres_conninfo()) as conn:
        return [r[0] for r in conn.execute(f'SELECT originator_id FROM "{app.name}".{app.name}_events')]


def test_the_store_chains_what_it_stores_with_the_hooks_it_was_given(rooms):
    upstream, downstream, follower, settings, clock = rooms
    write_notes(upstream, clock, settings.province, 3)
    follower.catch_up(lambda start, limit: upstream.read_notifications(start, limit))
    with psycopg.connect(settings.postgres_conninfo()) as conn:
        chained = [conn.execute(f'SELECT count(*) FROM "{app.name}".log_chain').fetchone()[0]
                   for app in (upstream, downstream)]
    assert follower.position() == 3 and len(copies(settings, downstream)) == 3
    assert chained == [3, 3]


def test_a_consumer_applies_each_event_once_in_order_and_pulls_what_a_push_skipped(rooms):
    upstream, downstream, follower, settings, clock = rooms
    write_notes(upstream, clock, settings.province, 4)
    log = upstream.read_notifications(1, 100)
    read_page = lambda start, limit: upstream.read_notifications(start, limit)  # noqa: E731

    follower.on_push(log[-1], read_page)  # the last arrives first: the range before it is pulled
    for wire in log:                      # then everything again, redelivered
        follower.on_push(wire, read_page)

    assert follower.position() == wire_position(log[-1]) and follower.stuck is None
    made = copies(settings, downstream)
    assert len(made) == len(set(made)) == 4


def test_replay_rebuilds_a_projection_from_position_0_and_finds_what_the_live_table_lost(rooms):
    from motcua_common.events.replay import OwnLog, Replayer, ReplayTarget

    upstream, _, _, settings, clock = rooms
    write_notes(upstream, clock, settings.province, 5)
    with psycopg.connect(settings.postgres_conninfo(), autocommit=True) as conn:
        conn.execute('CREATE TABLE "roomsup".notes (id uuid PRIMARY KEY, text text NOT NULL)')
        for n in upstream.recorder.select_notifications(start=1, limit=100):  # the live projection
            note = upstream.repository.get(n.originator_id)
            conn.execute('INSERT INTO "roomsup".notes VALUES (%s, %s)', (note.id, note.text))
        head = conn.execute('SELECT max(notification_id) FROM "roomsup".roomsup_events').fetchone()[0]
    target = ReplayTarget(
        name="roomsup.notes", schema="roomsup", table="notes", key=("id",),
        sources=[OwnLog("roomsup", "roomsup")],
        project=lambda e, table: [(f"INSERT INTO {table} (id, text) VALUES (%s, %s)",
                                   (e.originator_id, e.data["text"]))],
        live_positions=lambda conn: {"roomsup": head})

    intact = Replayer(settings.postgres_conninfo(), target, page_size=2).run(check_only=True)
    assert intact is not None and intact.events == 5 and intact.equal

    with psycopg.connect(settings.postgres_conninfo(), autocommit=True) as conn:
        conn.execute('DELETE FROM "roomsup".notes WHERE text = %s', ("note 3",))
    lost = Replayer(settings.postgres_conninfo(), target, page_size=2).run(check_only=True, restart=True)
    assert lost is not None and (lost.missing_from_live, lost.extra_in_live) == (1, 0)

    rebuilt = Replayer(settings.postgres_conninfo(), target, page_size=2).run(restart=True)
    assert rebuilt is not None and rebuilt.swapped
    with psycopg.connect(settings.postgres_conninfo()) as conn:
        assert conn.execute('SELECT count(*) FROM "roomsup".notes').fetchone()[0] == 5


def test_the_relay_publishes_each_published_event_once_in_order_and_remembers_where_it_stopped(rooms):
    from urllib.parse import unquote, urlparse

    import amqp

    from motcua_common.events.relay import Relay, create_position_table

    upstream, _, _, settings, clock = rooms
    write_notes(upstream, clock, settings.province, 3)
    url = urlparse(settings.amqp_uri)
    broker = amqp.Connection(host=f"{url.hostname}:{url.port or 5672}", userid=unquote(url.username),
                             password=unquote(url.password), virtual_host=unquote(url.path[1:]))
    broker.connect()
    try:
        channel = broker.channel()
        channel.exchange_declare("roomsup.events", "topic", durable=True, auto_delete=False)
        channel.queue_declare("rooms-test", durable=False, auto_delete=False)
        channel.queue_bind("rooms-test", "roomsup.events", "#")
        relay = Relay(upstream, settings.postgres_conninfo(), settings.amqp_uri, schema="roomsup", batch_size=2)
        with psycopg.connect(settings.postgres_conninfo(), autocommit=True) as conn:
            create_position_table(conn, "roomsup")
            published = [relay.publish_pending(conn) for _ in range(3)]
            position = relay.position(conn)
        assert published == [2, 1, 0] and position == 3
        received = []
        while (message := channel.basic_get("rooms-test", no_ack=True)) is not None:
            received.append((message.headers["ce_motcuaposition"], StringValue.FromString(message.body).value))
        assert received == [(1, "note 0"), (2, "note 1"), (3, "note 2")]
    finally:
        broker.close()
