"""Verification asks each source service to check its own store, over nameko RPC (a standalone
proxy: the gRPC edge is not a nameko worker). One connection is kept and shared under a lock
(a standalone proxy is not thread-safe); it is rebuilt after a failure."""
from __future__ import annotations

import threading
from typing import Any

from motcua_common.errors import Unavailable


class SourceLogs:
    def __init__(self, amqp_uri: str, timeout: float = 30.0) -> None:
        self.config = {"AMQP_URI": amqp_uri, "serializer": "json"}
        self.timeout = timeout
        self._lock = threading.Lock()
        self._proxy: Any = None
        self._cluster: Any = None

    def verify(self, service: str, originator_ids: list[str], positions: list[int]) -> dict:
        from nameko.exceptions import RpcTimeout, UnknownService

        with self._lock:
            try:
                return getattr(self._connected(), service).verify_history(originator_ids, positions)
            except (RpcTimeout, UnknownService, OSError) as error:
                self._close()
                raise Unavailable(f"{service} did not answer the verification request ({type(error).__name__}); "
                                  "retry when it is running") from error

    def _connected(self) -> Any:
        from nameko.standalone.rpc import ClusterRpcProxy

        if self._cluster is None:
            self._proxy = ClusterRpcProxy(self.config, timeout=self.timeout)
            self._cluster = self._proxy.start()
        return self._cluster

    def _close(self) -> None:
        if self._proxy is not None:
            try:
                self._proxy.stop()
            except Exception:  # noqa: BLE001 - a broken connection is dropped either way
                pass
        self._proxy = self._cluster = None
