"""The relay: follows a service's notification log (its outbox) and publishes its published
events (motcua_common.events.published: the contract, never the stored JSON) to RabbitMQ, with
publisher confirms awaited per batch. Each message is a CloudEvent in binary content mode:
the attributes as AMQP headers (`ce_id`, `ce_type`, ...) and the protobuf message as the body
(`application/protobuf`); consumers' workers receive it through `published_event_handler`.

At-least-once: the durable position advances only after the broker confirmed the
whole batch, so a crash re-publishes at most one batch; consumers drop repeats
by position. Woken by PostgreSQL NOTIFY on insert, and polls as a fallback.
"""
from __future__ import annotations

import socket
import threading
import time
from typing import Any
from urllib.parse import unquote, urlparse

import amqp
import psycopg

from opentelemetry.metrics import Observation
from opentelemetry.trace import SpanKind

from motcua_common.events.store import MotcuaApplication
from motcua_common.events.published import PROTOBUF_CONTENT_TYPE, amqp_headers
from motcua_common.observability.logs import bound, get_logger
from motcua_common.observability.telemetry import DOSSIER_CODE, current_traceparent, meter, span

log = get_logger()
_published = meter().create_counter("motcua.relay.published", description="events published to RabbitMQ")


def create_position_table(conn: Any, schema: str) -> None:
    conn.execute(f'CREATE TABLE IF NOT EXISTS "{schema}".relay_position (relay text PRIMARY KEY, position bigint NOT NULL)')


class BrokerUnavailable(ConnectionError):
    pass


class ConfirmingPublisher:
    """Publishes nameko-format event messages on one confirm-mode channel."""

    def __init__(self, amqp_uri: str, source_service: str) -> None:
        url = urlparse(amqp_uri)
        self._params = dict(
            host=f"{url.hostname or 'localhost'}:{url.port or 5672}",
            userid=unquote(url.username or "guest"),
            password=unquote(url.password or "guest"),
            virtual_host=unquote(url.path[1:]) if len(url.path) > 1 else "/",
            connect_timeout=5,
            read_timeout=30,
            write_timeout=30,
        )
        self.exchange = f"{source_service}.events"
        self._service = source_service
        self._conn: amqp.Connection | None = None
        self._channel: Any = None
        self._acked = 0
        self._nacked = False
        self._published = 0

    def _connect(self) -> None:
        conn = amqp.Connection(**self._params)
        conn.connect()
        channel = conn.channel()
        channel.confirm_select()
        channel.exchange_declare(self.exchange, "topic", durable=True, auto_delete=False)
        channel.events["basic_ack"].add(self._on_ack)
        channel.events["basic_nack"].add(self._on_nack)
        self._conn, self._channel, self._acked, self._published, self._nacked = conn, channel, 0, 0, False

    def _on_ack(self, delivery_tag: int, multiple: bool) -> None:
        self._acked = max(self._acked, delivery_tag)

    def _on_nack(self, delivery_tag: int, multiple: bool) -> None:
        self._nacked = True

    def close(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            except Exception:
                pass
        self._conn = self._channel = None

    def publish_batch(self, messages: list[tuple[str, bytes, dict]], timeout: float = 30.0) -> None:
        """Publish (routing_key, protobuf body, headers) and return once the broker confirmed all of them."""
        try:
            if self._conn is None:
                self._connect()
            for routing_key, body, headers in messages:
                msg = amqp.Message(
                    body,
                    content_type=PROTOBUF_CONTENT_TYPE,
                    content_encoding="binary",
                    delivery_mode=2,
                    application_headers={"nameko.call_id_stack": [f"{self._service}.relay.{headers.get('ce_id')}"],
                                         **headers},
                )
                self._channel.basic_publish(msg, exchange=self.exchange, routing_key=routing_key)
                self._published += 1
            deadline = time.monotonic() + timeout
            while self._acked < self._published:
                if self._nacked:
                    raise BrokerUnavailable("the broker refused (nacked) a message")
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise BrokerUnavailable("publisher confirms timed out")
                self._conn.drain_events(timeout=min(remaining, 1.0))
        except (OSError, socket.timeout, amqp.exceptions.AMQPError, BrokerUnavailable) as exc:
            self.close()
            raise BrokerUnavailable(str(exc) or type(exc).__name__) from exc


class Relay:
    def __init__(self, app: MotcuaApplication, conninfo: str, amqp_uri: str, schema: str,
                 batch_size: int = 500, idle_poll: float = 1.0) -> None:
        self.app = app
        self.name = f"{app.name}-relay"
        self._conninfo = conninfo
        self._schema = schema
        self._publisher = ConfirmingPublisher(amqp_uri, app.name)
        self._batch_size = batch_size
        self._idle_poll = idle_poll
        self._channel = f"{app.name.lower()}_events"
        self.backlog = 0
        meter().create_observable_gauge(
            "motcua.relay.backlog", callbacks=[self._observe_backlog],
            description="stored events not yet published to RabbitMQ")

    def _observe_backlog(self, _options: Any) -> list[Observation]:
        return [Observation(self.backlog, {"service": self.app.name})]

    def position(self, conn: Any) -> int:
        row = conn.execute(f'SELECT position FROM "{self._schema}".relay_position WHERE relay = %s', (self.name,)).fetchone()
        return row[0] if row else 0

    def _save_position(self, conn: Any, position: int) -> None:
        conn.execute(
            f'INSERT INTO "{self._schema}".relay_position (relay, position) VALUES (%s, %s) '
            "ON CONFLICT (relay) DO UPDATE SET position = EXCLUDED.position",
            (self.name, position),
        )

    def publish_pending(self, conn: Any) -> int:
        """Publish the published events of one batch of the log after the durable position; returns
        how many were published. The position advances over unpublished events too."""
        position = self.position(conn)
        notifications = self.app.recorder.select_notifications(start=position + 1, limit=self._batch_size)
        if not notifications:
            return 0
        last = notifications[-1].id
        published = self.app.publication.page(self.app, position + 1, self._batch_size) \
            if self.app.publication is not None else []
        messages = []
        for event in published:
            if event.position > last:
                break
            # A producer span per event, child of the span that recorded it: one trace per dossier.
            with span(f"{self.app.name}.relay publish {event.type}", event.traceparent, SpanKind.PRODUCER,
                      **{"messaging.system": "rabbitmq", "motcua.position": event.position,
                         DOSSIER_CODE: event.dossier_code}):
                wire = event.to_wire()
                headers = {**amqp_headers(wire), "nameko.traceparent": current_traceparent(),
                           "traceparent": current_traceparent()}
                with bound(dossier_code=event.dossier_code or None):
                    log.debug("event_publishing", position=event.position, type=event.type)
            messages.append((event.type, event.data, headers))
        if messages:
            self._publisher.publish_batch(messages)
        self._save_position(conn, last)
        self.backlog = max(0, self.app.head_position() - last)
        _published.add(len(messages), {"service": self.app.name})
        log.info("relay_published", count=len(messages), position=last, backlog=self.backlog)
        return len(notifications)

    def run(self, stop: threading.Event) -> None:
        backoff = 0.2
        broker_down = db_down = False
        while not stop.is_set():
            try:
                with psycopg.connect(self._conninfo, autocommit=True) as conn:
                    if db_down:
                        log.info("store_reconnected")
                        db_down = False
                    conn.execute(f'LISTEN "{self._channel}"')
                    while not stop.is_set():
                        try:
                            published = self.publish_pending(conn)
                        except BrokerUnavailable as exc:
                            if not broker_down:
                                log.warning("broker_unavailable", error=str(exc)[:200])
                            broker_down = True
                            stop.wait(backoff)
                            backoff = min(backoff * 2, 5.0)
                            continue
                        if broker_down:
                            log.info("broker_reconnected")
                            broker_down = False
                        backoff = 0.2
                        if published == 0:
                            self.backlog = max(0, self.app.head_position() - self.position(conn))
                        if published < self._batch_size:
                            for _ in conn.notifies(timeout=self._idle_poll, stop_after=1):
                                pass
            except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
                if not db_down:
                    log.warning("store_unavailable", error=str(exc)[:200])
                db_down = True
                stop.wait(backoff)
                backoff = min(backoff * 2, 5.0)
            except Exception as exc:  # the store layer wraps psycopg errors in its own types
                if "OperationalError" in type(exc).__name__ or "InterfaceError" in type(exc).__name__:
                    if not db_down:
                        log.warning("store_unavailable", error=str(exc)[:200])
                    db_down = True
                    stop.wait(backoff)
                    backoff = min(backoff * 2, 5.0)
                else:
                    raise
        self._publisher.close()
