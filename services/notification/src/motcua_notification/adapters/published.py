"""notification's published events (protos/motcua/notification/events/v1): its stored Message events
mapped to the contract other services (reporting's dossier histories) and integrators read. No
contact detail is in them: recipients are subject ids."""
from __future__ import annotations

from typing import Any

from motcua.notification.events.v1 import events_pb2 as pb
from motcua_common.audit.access import AccessDenied, DossierRead
from motcua_common.events.published import Publication, map_access_denied, map_dossier_read, timestamp

from motcua_notification.domain.message import Message


def _queued(e: Any) -> pb.MessageQueued:
    return pb.MessageQueued(message_id=str(e.originator_id), dossier_id=str(e.dossier_id), dossier_code=e.dossier_code,
                            recipient=e.recipient, channel=e.channel, template_id=e.template_id,
                            template_version=int(e.template_version), language=e.language,
                            trigger_event_id=e.trigger_event_id)


def publication() -> Publication:
    return Publication("notification", {
        Message.Queued: _queued,
        Message.Sent: lambda e: pb.MessageSent(message_id=str(e.originator_id), reference=e.reference,
                                               provider_message_id=e.provider_message_id,
                                               sent_at=timestamp(e.sent_at)),
        Message.Delivered: lambda e: pb.MessageDelivered(message_id=str(e.originator_id), reference=e.reference,
                                                         provider_message_id=e.provider_message_id,
                                                         delivered_at=timestamp(e.delivered_at)),
        Message.FailedTemporarily: lambda e: pb.MessageFailed(message_id=str(e.originator_id), reference=e.reference,
                                                              attempt=int(e.attempt), reason=e.reason,
                                                              permanent=False, retry_at=timestamp(e.retry_at)),
        Message.FailedPermanently: lambda e: pb.MessageFailed(message_id=str(e.originator_id), reference=e.reference,
                                                              attempt=int(e.attempt), reason=e.reason,
                                                              permanent=True),
        DossierRead.Recorded: map_dossier_read,
        AccessDenied.Recorded: map_access_denied,
    })
