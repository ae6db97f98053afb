"""The integrators' subscription (motcua.events.v1.EventStreamService): a service's published
events, in log order, from a position, through the same pages the internal consumers pull.

A subscriber that reconnects with `after_position` = the last position it processed resumes
exactly after it: positions only grow, and every page starts after the last event sent.
While following, the stream waits for new events (polling the log), and ends when the client
goes away or the server stops. Each follower holds one of the edge's worker threads.
"""
from __future__ import annotations

import threading
from typing import Iterator

import grpc

from motcua.events.v1 import events_pb2 as pb
from motcua.events.v1 import events_pb2_grpc as pb_grpc
from motcua_common.errors import InvalidArgument
from motcua_common.events.store import MotcuaApplication

PAGE_SIZE = 500


class EventStreamServicer(pb_grpc.EventStreamServiceServicer):
    def __init__(self, app: MotcuaApplication, poll_seconds: float = 0.5) -> None:
        self.app = app
        self.poll_seconds = poll_seconds

    def Subscribe(self, request: pb.SubscribeRequest, context: grpc.ServicerContext) -> Iterator[pb.SubscribeResponse]:
        if request.after_position < 0:
            raise InvalidArgument.single("after_position", "must be 0 (from the beginning) or a position")
        if any(not t or len(t) > 200 or not t.replace(".", "").replace("_", "").isalnum() for t in request.types):
            raise InvalidArgument.single("types", "give full protobuf names, e.g. motcua.workflow.events.v1.CaseOpened")
        return self._stream(request, context)

    def _stream(self, request: pb.SubscribeRequest, context: grpc.ServicerContext) -> Iterator[pb.SubscribeResponse]:
        wanted = set(request.types)
        after = request.after_position
        gone = threading.Event()
        context.add_callback(gone.set)
        while not gone.is_set():
            page = self.app.publication.page(self.app, after + 1, PAGE_SIZE) if self.app.publication else []
            for event in page:
                if not wanted or event.type in wanted:
                    yield pb.SubscribeResponse(event=event.to_proto())
                after = event.position
            if len(page) < PAGE_SIZE:
                if not request.follow:
                    return
                gone.wait(self.poll_seconds)


EVENT_STREAM_SERVICE = pb.DESCRIPTOR.services_by_name["EventStreamService"].full_name


def add_event_stream(server: grpc.Server, app: MotcuaApplication) -> None:
    """Serve `app`'s published events on `server` (as EVENT_STREAM_SERVICE)."""
    pb_grpc.add_EventStreamServiceServicer_to_server(EventStreamServicer(app), server)
