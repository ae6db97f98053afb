"""Container health check through gRPC health: `python -m motcua_common.healthcheck [address]`.

Exit 0 when the server reports SERVING, 1 otherwise (Docker HEALTHCHECK, Kubernetes exec probes).
"""
from __future__ import annotations

import sys

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from motcua_common.settings import process_environment


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    address = argv[0] if argv else process_environment().get("MOTCUA_HEALTH_ADDRESS", "127.0.0.1:50051")
    try:
        with grpc.insecure_channel(address) as channel:
            reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=3)
    except grpc.RpcError as error:
        print(f"{address}: {error.code().name}", file=sys.stderr)
        return 1
    return 0 if reply.status == health_pb2.HealthCheckResponse.SERVING else 1


if __name__ == "__main__":
    sys.exit(main())
