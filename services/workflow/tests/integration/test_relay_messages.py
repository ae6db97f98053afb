"""What the relay puts on RabbitMQ: CloudEvents in binary content mode (attributes as AMQP
headers, the published protobuf message as the body), never the stored event."""
from __future__ import annotations

from urllib.parse import unquote, urlparse

import amqp
import psycopg
import pytest

from motcua.intake.events.v1 import events_pb2 as pb
from motcua_common.events.relay import Relay

from workflow_testkit import submit_dossiers

pytestmark = pytest.mark.integration


def test_the_relay_publishes_cloudevents_with_the_protobuf_message_as_the_body(apps):
    intake, _, _, settings = apps
    url = urlparse(settings.amqp_uri)
    conn = amqp.Connection(host=f"{url.hostname}:{url.port or 5672}", userid=unquote(url.username),
                           password=unquote(url.password), virtual_host=unquote(url.path[1:]))
    conn.connect()
    channel = conn.channel()
    channel.exchange_declare("intake.events", "topic", durable=True, auto_delete=False)
    queue, _, _ = channel.queue_declare(exclusive=True)
    channel.queue_bind(queue, "intake.events", "#")
    dossier = submit_dossiers(intake, 1)[0]

    relay = Relay(intake, settings.postgres_conninfo(), settings.amqp_uri, "intake")
    with psycopg.connect(settings.postgres_conninfo(), autocommit=True) as db:
        assert relay.publish_pending(db) > 0

    messages = []
    while (message := channel.basic_get(queue, no_ack=True)) is not None:
        messages.append(message)
    conn.close()
    received = [m for m in messages if m.headers["ce_type"] == "motcua.intake.events.v1.DossierReceived"]
    assert len(received) == 1 and len(messages) == len(intake.read_notifications(1, 100))
    message = received[0]
    assert message.properties["content_type"] == "application/protobuf"
    assert message.headers["ce_specversion"] == "1.0" and message.headers["ce_subject"] == str(dossier["id"])
    assert message.headers["ce_source"].endswith("/intake") and message.headers["ce_motcuaposition"] > 0
    event = pb.DossierReceived()
    event.ParseFromString(message.body)
    assert event.code == message.headers["ce_motcuadossiercode"] and event.applicant.subject_id
    assert b"envelope" not in message.body and b"sealed" not in message.body  # not the stored event
