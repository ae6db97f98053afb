"""The shared HTTP edge for outside systems' callbacks (edge/http_callbacks.py): routes by path and
method, answers /health, refuses oversized bodies unread, and survives a failing route."""
from __future__ import annotations

import http.client
import json
import threading

import pytest

from motcua_common.edge.http_callbacks import MAX_BODY, Reply, make_server


def failing(body: bytes, query: dict) -> Reply:
    raise RuntimeError("a bug in a route")


@pytest.fixture
def server():
    seen: list[bytes] = []

    def record(body: bytes, query: dict) -> Reply:
        seen.append(body)
        return Reply.json({"got": body.decode(), "query": dict(query)})

    server = make_server("127.0.0.1:0", posts={"/cb": record, "/broken": failing})
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1], seen
    server.shutdown()
    server.server_close()


def call(port: int, method: str, path: str, body: bytes = b"", headers: dict | None = None) -> tuple[int, dict]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request(method, path, body, headers or {})
    response = connection.getresponse()
    result = response.status, json.loads(response.read() or b"null")
    connection.close()
    return result


def test_a_post_reaches_its_route_with_body_and_query(server):
    port, seen = server
    assert call(port, "POST", "/cb?a=1", b'{"x": 1}') == (200, {"got": '{"x": 1}', "query": {"a": "1"}})
    assert seen == [b'{"x": 1}']


def test_health_answers_and_unknown_paths_and_methods_are_not_found(server):
    port, seen = server
    assert call(port, "GET", "/health") == (200, {"status": "ok"})
    assert call(port, "POST", "/elsewhere", b"{}")[0] == 404
    assert call(port, "GET", "/cb")[0] == 404 and seen == []


def test_a_body_above_the_limit_is_refused_unread(server):
    port, seen = server
    status, _ = call(port, "POST", "/cb", b"x", {"Content-Length": str(MAX_BODY + 1)})
    assert status == 413 and seen == []


def test_a_failing_route_answers_500_and_the_server_keeps_serving(server):
    port, seen = server
    assert call(port, "POST", "/broken", b"{}")[0] == 500
    assert call(port, "POST", "/cb", b"ok")[0] == 200
