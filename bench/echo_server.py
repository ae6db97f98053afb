"""A bare grpcio unary echo server (sync, same thread pool size as the platform's edges).

It returns the request bytes as they came: EchoResponse has EchoRequest's wire format,
so no generated code is needed.  usage: python bench/echo_server.py PORT
"""
from __future__ import annotations

import signal
import sys
import threading
from concurrent import futures

import grpc


def main() -> None:
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=16))
    handler = grpc.method_handlers_generic_handler(
        "motcua.bench.v1.EchoService", {"Echo": grpc.unary_unary_rpc_method_handler(lambda request, _: request)})
    server.add_generic_rpc_handlers((handler,))
    server.add_insecure_port(f"127.0.0.1:{sys.argv[1]}")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    server.start()
    print("serving", flush=True)
    stop.wait()
    server.stop(1).wait()


if __name__ == "__main__":
    main()
