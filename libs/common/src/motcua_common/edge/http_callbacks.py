"""The HTTP edge where outside systems call back (a payment gateway's callback, later a bank's credit
notifications and delivery receipts): one small threaded server from the standard library, in its
own process. Each route verifies its caller (a signature) before anything is recorded and then calls
the application as a gRPC command would; this module only frames requests and answers.

A route is `handler(body: bytes, query: dict[str, str]) -> Reply`; a route that checks a signature sent
in a header reads it with `request_header(name)` (the request being served on this thread). `GET /health` answers when the
process listens (the chart's probes). Bodies above MAX_BODY are refused before they are read.
"""
from __future__ import annotations

import json
import signal
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable, Mapping
from urllib.parse import parse_qs, urlsplit

from motcua_common.observability.logs import get_logger

log = get_logger()
MAX_BODY = 64 * 1024  # a callback is a few hundred bytes


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes
    content_type: str = "application/json"
    headers: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, value: object, status: int = 200) -> "Reply":
        return cls(status, json.dumps(value, ensure_ascii=False).encode("utf-8"))

    @classmethod
    def html(cls, text: str, status: int = 200) -> "Reply":
        return cls(status, text.encode("utf-8"), "text/html; charset=utf-8")


Handler = Callable[[bytes, Mapping[str, str]], Reply]


def make_server(address: str, posts: Mapping[str, Handler], gets: Mapping[str, Handler] | None = None
                ) -> ThreadingHTTPServer:
    """A server for `posts`/`gets` (path -> handler) at host:port (port 0: any free port)."""
    gets = {"/health": lambda body, query: Reply.json({"status": "ok"}), **(gets or {})}

    class RequestHandler(BaseHTTPRequestHandler):
        server_version = "motcua-callbacks"
        sys_version = ""

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the structured log says it
            pass

        def _reply(self, reply: Reply) -> None:
            self.send_response(reply.status)
            self.send_header("Content-Type", reply.content_type)
            self.send_header("Content-Length", str(len(reply.body)))
            for key, value in reply.headers.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(reply.body)

        def _serve(self, routes: Mapping[str, Handler], with_body: bool) -> None:
            url = urlsplit(self.path)
            route = routes.get(url.path)
            if route is None:
                return self._reply(Reply.json({"error": "not found"}, 404))
            body = b""
            if with_body:
                try:
                    length = int(self.headers.get("Content-Length") or 0)
                except ValueError:
                    length = -1
                if length < 0 or length > MAX_BODY:
                    self.close_connection = True
                    return self._reply(Reply.json({"error": "body too large or unsized"}, 413))
                body = self.rfile.read(length)
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            _current.headers = self.headers
            try:
                reply = route(body, query)
            except Exception:  # a route's bug must not kill the server; the caller retries
                log.exception("http_callback_failed", path=url.path)
                reply = Reply.json({"error": "internal error"}, 500)
            finally:
                _current.headers = None
            self._reply(reply)

        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            self._serve(gets, with_body=False)

        def do_POST(self) -> None:  # noqa: N802
            self._serve(posts, with_body=True)

    host, port = address.rsplit(":", 1)
    server = ThreadingHTTPServer((host, int(port)), RequestHandler)
    server.daemon_threads = True
    return server


def serve_until_signalled(server: ThreadingHTTPServer) -> None:
    """Serve until SIGTERM or SIGINT, then finish the requests under way."""
    def stop(*_: object) -> None:
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        server.serve_forever()
    finally:
        server.server_close()


_current = threading.local()


def request_header(name: str) -> str:
    """A header of the request the calling route is serving ("" when absent or outside a request)."""
    headers = getattr(_current, "headers", None)
    return (headers.get(name) or "") if headers is not None else ""
