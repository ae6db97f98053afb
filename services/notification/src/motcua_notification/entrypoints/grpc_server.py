"""notification's gRPC edge (its own process; never inside nameko/eventlet)."""
from __future__ import annotations

import time
from datetime import date
from typing import Any, Iterator
from uuid import UUID

import grpc
from google.protobuf.timestamp_pb2 import Timestamp

from motcua.notification.v1 import notification_pb2 as pb
from motcua.notification.v1 import notification_pb2_grpc as pb_grpc
from motcua_common.edge.access import Guard, caller
from motcua_common.edge.grpc_server import DossierCalls, run_edge
from motcua_common.errors import InvalidArgument, NotFound
from motcua_common.identity.authorisation import Target
from motcua_common.observability.logs import get_logger

from motcua_notification.application import NotificationApplication
from motcua_notification.domain.templates import CHANNELS, DEFAULT_LANGUAGE

log = get_logger()
SERVICE_NAME = pb.DESCRIPTOR.services_by_name["NotificationService"].full_name
MAX_VARIABLES = 20
FOLLOW_POLL_SECONDS = 0.5


def _timestamp(value: Any) -> Timestamp | None:
    if value is None:
        return None
    stamp = Timestamp()
    stamp.FromDatetime(value)
    return stamp


def _variables(raw: Any) -> dict:
    """Preview variables come as text: dates (yyyy-mm-dd) and whole numbers are read as such, a value
    with "|" as a list of text (what templates such as supplement_requested loop over)."""
    if len(raw) > MAX_VARIABLES:
        raise InvalidArgument.single("variables", f"at most {MAX_VARIABLES} variables")
    values: dict[str, Any] = {}
    for name, text in raw.items():
        if len(name) > 64 or len(text) > 500:
            raise InvalidArgument.single(f"variables.{name[:64]}", "names up to 64 and values up to 500 characters")
        if text.isdigit():
            values[name] = int(text)
        elif len(text) == 10 and text[4] == "-" and text[7] == "-":
            try:
                values[name] = date.fromisoformat(text)
            except ValueError:
                raise InvalidArgument.single(f"variables.{name}", "is not a date (yyyy-mm-dd)") from None
        elif "|" in text:
            values[name] = [item.strip() for item in text.split("|")]
        else:
            values[name] = text
    return values


def _channels(values: Any, field: str) -> list[str]:
    for i, channel in enumerate(values):
        if channel not in CHANNELS:
            raise InvalidArgument.single(f"{field}[{i}]", f"must be one of {', '.join(CHANNELS)}")
    return list(values)


class NotificationServicer(pb_grpc.NotificationServiceServicer):
    def __init__(self, app: NotificationApplication) -> None:
        self.app = app

    def PreviewTemplate(self, request: pb.PreviewTemplateRequest,
                        context: grpc.ServicerContext) -> pb.PreviewTemplateResponse:
        if not request.template_id:
            raise InvalidArgument.single("template_id", "is required")
        if request.version < 0:
            raise InvalidArgument.single("version", "must be 0 (the latest) or a version number")
        preview = self.app.preview(request.template_id, request.version, request.channel or "email",
                                   _variables(request.variables), request.language or DEFAULT_LANGUAGE)
        rendered = preview["rendered"]
        sms = rendered.sms
        return pb.PreviewTemplateResponse(template_id=request.template_id, version=preview["version"],
                                          language=rendered.language, subject=rendered.subject, body=rendered.body,
                                          sms_text=sms.text if sms else "", sms_segments=sms.segments if sms else 0)

    def GetPreferences(self, request: pb.GetPreferencesRequest,
                       context: grpc.ServicerContext) -> pb.GetPreferencesResponse:
        dossier = _dossier(self.app, request)
        return pb.GetPreferencesResponse(opted_out=sorted(self.app.opted_out(dossier["applicant"])))

    def SetPreferences(self, request: pb.SetPreferencesRequest,
                       context: grpc.ServicerContext) -> pb.SetPreferencesResponse:
        opt_out, opt_in = _channels(request.opt_out, "opt_out"), _channels(request.opt_in, "opt_in")
        if set(opt_out) & set(opt_in):
            raise InvalidArgument.single("opt_in", "a channel cannot be opted out of and into at once")
        dossier = _dossier(self.app, request)
        opted_out = self.app.set_preferences(request.idempotency_key, dossier["applicant"], opt_out, opt_in, caller())
        log.info("preferences_set", opted_out=sorted(opted_out), dossier_code=dossier["dossier_code"])
        return pb.SetPreferencesResponse(opted_out=sorted(opted_out))

    def ListMessages(self, request: pb.ListMessagesRequest,
                     context: grpc.ServicerContext) -> pb.ListMessagesResponse:
        dossier = _dossier(self.app, request)
        rows = self.app.messages_of(UUID(str(dossier["dossier_id"])))
        return pb.ListMessagesResponse(messages=[_message(r) for r in rows])


    def StreamMessages(self, request: pb.StreamMessagesRequest,
                       context: grpc.ServicerContext) -> Iterator[pb.StreamMessagesResponse]:
        dossier = _dossier(self.app, request)
        dossier_id = UUID(str(dossier["dossier_id"]))
        rows = _in_app(self.app.messages_of(dossier_id))
        seen: set[str] = set()
        if request.after_message_id:
            _uuid(request.after_message_id, "after_message_id")
            ids = [str(r["message_id"]) for r in rows]
            if request.after_message_id not in ids:
                raise NotFound("after_message_id", "no message of this dossier has that id")
            seen.update(ids[:ids.index(request.after_message_id) + 1])
        while True:
            for row in rows:
                if str(row["message_id"]) in seen:
                    continue
                seen.add(str(row["message_id"]))
                rendered = self.app.rendered(row["message_id"])
                yield pb.StreamMessagesResponse(message=_message(row), subject=rendered.subject, body=rendered.body)
            if not request.follow or not context.is_active():
                return
            time.sleep(FOLLOW_POLL_SECONDS)
            rows = _in_app(self.app.messages_of(dossier_id))


def _message(r: dict) -> pb.Message:
    return pb.Message(message_id=str(r["message_id"]), dossier_id=str(r["dossier_id"]), dossier_code=r["dossier_code"],
                      channel=r["channel"], template_id=r["template_id"], template_version=r["template_version"],
                      status=r["status"], attempts=r["attempts"], failure_reason=r["failure_reason"],
                      queued_at=_timestamp(r["queued_at"]), sent_at=_timestamp(r["sent_at"]),
                      delivered_at=_timestamp(r["delivered_at"]))


def _in_app(rows: list[dict]) -> list[dict]:
    """One entry per notice (the first channel's message of each trigger and template), oldest first:
    the app shows a notice once, however many channels carried it."""
    first: dict[tuple[str, str], dict] = {}
    for row in rows:
        first.setdefault((row["trigger_event_id"], row["template_id"]), row)
    return list(first.values())


def _uuid(value: str, field: str) -> UUID:
    try:
        return UUID(value)
    except ValueError:
        raise InvalidArgument.single(field, "is not a UUID") from None


def _dossier_ref(request: Any) -> tuple[UUID | None, str]:
    if request.dossier_id and request.dossier_code:
        raise InvalidArgument.single("dossier_code", "give either dossier_id or dossier_code, not both")
    if not request.dossier_id and not request.dossier_code:
        raise InvalidArgument.single("dossier_id", "give the dossier's id or its code (dossier_code)")
    if request.dossier_id:
        try:
            return UUID(request.dossier_id), ""
        except ValueError:
            raise InvalidArgument.single("dossier_id", "is not a UUID") from None
    return None, request.dossier_code


def _dossier(app: NotificationApplication, request: Any) -> dict:
    dossier_id, dossier_code = _dossier_ref(request)
    found = app.dossier(dossier_id=dossier_id, dossier_code=dossier_code)
    if found is None:
        raise NotFound("dossier_id" if dossier_id else "dossier_code", "notification knows no such dossier")
    return found


def servicers(app: NotificationApplication):  # type: ignore[no-untyped-def]
    def add(server: grpc.Server) -> None:
        pb_grpc.add_NotificationServiceServicer_to_server(NotificationServicer(app), server)

    return add, [SERVICE_NAME], [dossier_calls(app)]


def guards(app: NotificationApplication | None) -> dict[str, Guard]:
    """How the edge authorises each RPC (access-policy.yaml): a dossier's messages and its applicant's
    preferences on the dossier's receiving unit and its applicant, as notification learnt them from
    intake's events."""
    def locate(request: Any) -> Target | None:
        dossier_id, dossier_code = _dossier_ref(request)
        row = app.dossier(dossier_id=dossier_id, dossier_code=dossier_code) if app is not None else None
        return None if row is None else Target(unit=row["unit_code"], applicant=row["applicant"],
                                               dossier_id=row["dossier_id"], dossier_code=row["dossier_code"])

    return {
        "PreviewTemplate": Guard("notification.preview"),
        "GetPreferences": Guard("notification.preferences_read", locate=locate),
        "SetPreferences": Guard("notification.preferences_set", locate=locate),
        "ListMessages": Guard("notification.messages_read", locate=locate),
        "StreamMessages": Guard("notification.messages_read", locate=locate),
    }


def dossier_calls(app: NotificationApplication) -> DossierCalls:
    return DossierCalls(SERVICE_NAME, others=frozenset({"PreviewTemplate", "GetPreferences", "SetPreferences",
                                                        "ListMessages", "StreamMessages"}),
                        record_read=app.record_read, guards=guards(app))


def main() -> None:
    from motcua_notification.bootstrap import bootstrap

    run_edge("notification", 50054, servicers, bootstrap)


if __name__ == "__main__":
    main()
