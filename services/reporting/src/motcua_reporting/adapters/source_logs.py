"""Verification asks each source service to check its own store, over nameko RPC
(a standalone proxy: the gRPC edge is not a nameko worker)."""
from __future__ import annotations

from motcua_common.errors import Unavailable


class SourceLogs:
    def __init__(self, amqp_uri: str, timeout: float = 30.0) -> None:
        self.config = {"AMQP_URI": amqp_uri, "serializer": "json"}
        self.timeout = timeout

    def verify(self, service: str, originator_ids: list[str], positions: list[int]) -> dict:
        from nameko.exceptions import RpcTimeout, UnknownService
        from nameko.standalone.rpc import ClusterRpcProxy

        try:
            with ClusterRpcProxy(self.config, timeout=self.timeout) as cluster:
                return getattr(cluster, service).verify_history(originator_ids, positions)
        except (RpcTimeout, UnknownService, OSError) as error:
            raise Unavailable(f"{service} did not answer the verification request ({type(error).__name__}); "
                              "retry when it is running") from error
