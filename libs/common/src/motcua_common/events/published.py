"""The published contract: what a service's stored events look like to other services.

Stored events are the producer's audit record; other services and integrators see only
their projection to the producer's published protobuf messages (protos/motcua/<service>/
events/v1, listed in protos/EVENTS.md). The producer maps its own stored events, after
upcasting, with a `Publication` it defines in its adapters; the relay, the pull API
(`read_notifications`) and the gRPC subscription all serve what this module builds.

The envelope follows CloudEvents: on RabbitMQ (binary content mode: attributes as AMQP
headers, the protobuf message as the body) and in the JSON the pull API returns, its
attributes have the CloudEvents names (`ce_id`, `ce_source`, `ce_type`,
`ce_time`, `ce_subject`, `ce_specversion`) plus motcua extensions (`ce_motcuaposition`,
`ce_motcuaprevious`, `ce_motcuaactor`, `ce_motcuacausation`, `ce_motcuadossiercode`,
`ce_motcuastoredhash`, `ce_motcuaoccurredat`) and `traceparent`; in JSON, `data` is the
protobuf message in base64. `ce_motcuaprevious` links each published event to the previous
published one, so a consumer applies a push directly when it follows what it has.

Audit: reporting keeps every dossier's stored events as they were recorded (hash-chained,
signed). It asks for them explicitly (`with_audit=True`), and gets them in the `audit`
part of the wire, apart from the contract; no other consumer reads that part.
"""
from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, TypeVar
from uuid import UUID

from eventsourcing.persistence import Notification
from eventsourcing.utils import get_topic
from google.protobuf import timestamp_pb2
from google.protobuf.message import Message

from motcua.events.v1 import events_pb2 as envelope_pb
from motcua_common.events.topics import stored_topics
from motcua_common.events.store import ChainingMapper, LoggedEvent, make_transcoder, stored_event_hash
from motcua_common.events.stored_contract import load_samples

SPEC_VERSION = "1.0"
_M = TypeVar("_M", bound=Message)

#: a stored domain event (after upcasting) -> its published message, or None (not published)
MapEvent = Callable[[Any], Message | None]


def timestamp(value: datetime | None) -> timestamp_pb2.Timestamp | None:
    if value is None:
        return None
    ts = timestamp_pb2.Timestamp()
    ts.FromDatetime(value.astimezone(timezone.utc))
    return ts


def to_datetime(value: timestamp_pb2.Timestamp) -> datetime:
    return value.ToDatetime(tzinfo=timezone.utc)


@dataclass(frozen=True)
class StoredRecord:
    """The stored event itself (the audit record), for reporting only."""

    topic: str
    originator_id: UUID
    originator_version: int
    state: bytes


@dataclass(frozen=True)
class PublishedEvent:
    """One published event of `upstream`, as its consumers see it."""

    upstream: str
    id: str
    source: str
    type: str
    time: datetime
    subject: str
    position: int
    previous_position: int
    actor: dict
    causation: str
    traceparent: str
    dossier_code: str
    stored_hash: str
    occurred_at: datetime | None
    data: bytes
    audit: StoredRecord | None = None

    def message(self, cls: type[_M]) -> _M:
        """The event message, decoded as `cls` (which must be the event's type)."""
        if cls.DESCRIPTOR.full_name != self.type:
            raise TypeError(f"event {self.id} is a {self.type}, not a {cls.DESCRIPTOR.full_name}")
        message = cls()
        message.ParseFromString(self.data)
        return message

    @property
    def ref(self) -> str:
        """How a consequence names its cause ("<service>:<aggregate id>:<version>")."""
        return self.id

    def audit_record(self) -> LoggedEvent:
        """The stored event (reporting's audit history only); requires a page read `with_audit`."""
        if self.audit is None:
            raise ValueError(f"event {self.id} was read without its audit record")
        a = self.audit
        return LoggedEvent(self.upstream, self.position, a.topic, a.originator_id, a.originator_version, a.state)

    @property
    def dossier_id(self) -> UUID | None:
        return UUID(self.subject) if self.subject else None

    def to_wire(self) -> dict:
        wire: dict[str, Any] = {
            "ce_id": self.id, "ce_source": self.source, "ce_type": self.type, "ce_time": self.time.isoformat(),
            "ce_subject": self.subject, "ce_specversion": SPEC_VERSION,
            "ce_datacontenttype": "application/protobuf", "ce_dataschema": f"proto:{self.type}",
            "ce_motcuaposition": self.position, "ce_motcuaprevious": self.previous_position,
            "ce_motcuaactor": json.dumps(self.actor, sort_keys=True), "ce_motcuacausation": self.causation,
            "ce_motcuadossiercode": self.dossier_code, "ce_motcuastoredhash": self.stored_hash,
            "ce_motcuaoccurredat": self.occurred_at.isoformat() if self.occurred_at else "",
            "traceparent": self.traceparent,
            "data": base64.b64encode(self.data).decode(),
        }
        if self.audit is not None:
            wire["audit"] = {"topic": self.audit.topic, "originator_id": str(self.audit.originator_id),
                             "originator_version": self.audit.originator_version,
                             "state": base64.b64encode(self.audit.state).decode()}
        return wire

    def to_proto(self) -> envelope_pb.PublishedEvent:
        """The envelope message of the gRPC subscription (the event message packed in `data`)."""
        event = envelope_pb.PublishedEvent(
            id=self.id, source=self.source, type=self.type, time=timestamp(self.time), subject=self.subject,
            spec_version=SPEC_VERSION, position=self.position, previous_position=self.previous_position,
            actor=envelope_pb.Actor(**{k: str(self.actor.get(k, "")) for k in envelope_pb.Actor.DESCRIPTOR.fields_by_name}),
            causation=self.causation, traceparent=self.traceparent, dossier_code=self.dossier_code,
            stored_hash=self.stored_hash, occurred_at=timestamp(self.occurred_at))
        event.data.type_url = f"type.googleapis.com/{self.type}"
        event.data.value = self.data
        return event


def amqp_headers(wire: dict) -> dict:
    """The CloudEvents attributes as AMQP 0-9-1 headers (binary content mode)."""
    return {k: v for k, v in wire.items() if k.startswith("ce_") or k == "traceparent"}


#: the content type of a published event's AMQP body: the protobuf message itself
PROTOBUF_CONTENT_TYPE = "application/protobuf"


def wire_from_amqp(headers: dict, body: bytes) -> dict:
    """The wire form of an event received from RabbitMQ (attributes in headers, message as body)."""
    wire = {k: v for k, v in headers.items() if k.startswith("ce_") or k == "traceparent"}
    wire["data"] = base64.b64encode(body).decode()
    return wire


def raw_bytes(data: bytes) -> bytes:
    """kombu codec for PROTOBUF_CONTENT_TYPE: the body stays bytes (decoded by the consumer)."""
    return data


def published_from_wire(upstream: str, wire: dict) -> PublishedEvent:
    audit = wire.get("audit")
    return PublishedEvent(
        upstream=upstream, id=wire["ce_id"], source=wire["ce_source"], type=wire["ce_type"],
        time=datetime.fromisoformat(wire["ce_time"]), subject=wire.get("ce_subject", ""),
        position=int(wire["ce_motcuaposition"]), previous_position=int(wire["ce_motcuaprevious"]),
        actor=json.loads(wire.get("ce_motcuaactor") or "{}"), causation=wire.get("ce_motcuacausation", ""),
        traceparent=wire.get("traceparent", ""), dossier_code=wire.get("ce_motcuadossiercode", ""),
        stored_hash=wire.get("ce_motcuastoredhash", ""),
        occurred_at=datetime.fromisoformat(wire["ce_motcuaoccurredat"]) if wire.get("ce_motcuaoccurredat") else None,
        data=base64.b64decode(wire["data"]),
        audit=StoredRecord(audit["topic"], UUID(audit["originator_id"]), int(audit["originator_version"]),
                           base64.b64decode(audit["state"])) if audit else None,
    )


def wire_position(wire: dict) -> int:
    return int(wire["ce_motcuaposition"])


def wire_previous(wire: dict) -> int:
    return int(wire["ce_motcuaprevious"])


class Publication:
    """A producer's published events: which stored event classes are published, and how each maps.

    Every event of a published class is published (so the pull selects by topic in SQL and
    links each event to the previous published one); `mappers` maps the event class to a
    function of the upcast domain event.
    """

    def __init__(self, service: str, mappers: dict[type, MapEvent]) -> None:
        self.service = service
        self.mappers = mappers
        self.topics = [t for cls in mappers for t in stored_topics(cls)]

    def publish(self, app: Any, notification: Any, previous_position: int, with_audit: bool = False) -> PublishedEvent:
        event = app.mapper.to_domain_event(notification)  # upcast to the current class version
        message = self.mappers[type(event)](event)
        envelope = event.envelope
        occurred = envelope.get("occurred_at")
        return PublishedEvent(
            upstream=self.service, id=f"{self.service}:{notification.originator_id}:{notification.originator_version}",
            source=f"motcua/{envelope.get('province', '')}/{self.service}", type=message.DESCRIPTOR.full_name,
            time=event.timestamp, subject=envelope.get("correlation_id") or "", position=notification.id,
            previous_position=previous_position, actor=dict(envelope.get("actor") or {}),
            causation=envelope.get("causation_id") or "", traceparent=envelope.get("traceparent") or "",
            dossier_code=envelope.get("dossier_code") or "",
            stored_hash=stored_event_hash(notification.topic, notification.state),
            occurred_at=datetime.fromisoformat(occurred) if isinstance(occurred, str) else occurred,
            data=message.SerializeToString(deterministic=True),
            audit=StoredRecord(notification.topic, notification.originator_id, notification.originator_version,
                               notification.state) if with_audit else None,
        )

    def page(self, app: Any, start: int, limit: int, with_audit: bool = False) -> list[PublishedEvent]:
        """Published events at positions >= start (at most `limit`), each linked to its predecessor."""
        limit = max(1, min(int(limit), 5000))
        start = max(1, int(start))
        topics = self.topics
        previous = self._previous_published(app, start, topics)
        events = []
        for n in app.recorder.select_notifications(start=start, limit=limit, topics=topics):
            events.append(self.publish(app, n, previous, with_audit))
            previous = n.id
        return events

    def last_position(self, app: Any) -> int:
        """The position of the last published event (what a consumer that is up to date has tracked)."""
        return self._previous_published(app, app.head_position() + 1, self.topics)

    def _previous_published(self, app: Any, start: int, topics: list[str]) -> int:
        if not hasattr(app.recorder, "datastore"):  # eventsourcing's in-memory recorder (unit tests)
            earlier = [n.id for n in app.recorder.select_notifications(start=1, limit=max(start - 1, 1), stop=start - 1,
                                                                       topics=topics)] if start > 1 else []
            return max(earlier, default=0)
        with app.recorder.datastore.transaction(commit=False) as curs:
            table = f'"{app.recorder.datastore.schema}"."{app.recorder.events_table_name}"'
            curs.execute(f"SELECT max(notification_id) AS p FROM {table} "
                         "WHERE notification_id < %s AND topic = ANY(%s)", (start, topics))
            row = curs.fetchone()
        return int(row["p"] or 0)



def map_dossier_read(event: Any) -> Message:
    """Every service records reads of a dossier (motcua_common.audit.access) and publishes them alike."""
    return envelope_pb.DossierRead(what=event.what)


def map_access_denied(event: Any) -> Message:
    """Every service records the calls its edge refuses (motcua_common.audit.access) and publishes them alike."""
    return envelope_pb.AccessDenied(rpc=event.rpc, action=event.action, reason=event.reason, count=event.count)


#: the shared messages every service may publish beside its own events package
SHARED_MESSAGES = frozenset({envelope_pb.DossierRead.DESCRIPTOR.full_name, envelope_pb.AccessDenied.DESCRIPTOR.full_name})


def check_publication(publication: Publication, samples: Any) -> list[str]:
    """Problems mapping the service's stored samples (tests/stored_events: every version it ever
    stored) to its published events: each published class's every stored shape must map, after
    upcasting, to a message of the service's own events package (or a shared one: SHARED_MESSAGES)."""
    mapper = ChainingMapper(transcoder=make_transcoder())
    by_topic = {t: cls for cls in publication.mappers for t in stored_topics(cls)}
    own_package = f"motcua.{publication.service}.events.v1."
    problems, mapped = [], set()
    for sample in load_samples(Path(samples)):
        cls = by_topic.get(sample.topic)
        if cls is None:
            continue
        try:
            event = mapper.to_domain_event(Notification(UUID(int=1), 2, sample.topic, sample.state, 1))
            message = publication.mappers[cls](event)
            message.SerializeToString(deterministic=True)
        except Exception as error:  # noqa: BLE001 - every failure is a broken mapping, reported by sample
            problems.append(f"{sample.path.name}: does not map to a published event: {type(error).__name__}: {error}")
            continue
        name = message.DESCRIPTOR.full_name
        if not (name.startswith(own_package) or name in SHARED_MESSAGES):
            problems.append(f"{sample.path.name}: maps to {name}, outside {own_package}")
        mapped.add(cls)
    problems += [f"{get_topic(cls)}: published but no stored sample maps it" for cls in publication.mappers
                 if cls not in mapped]
    return problems
