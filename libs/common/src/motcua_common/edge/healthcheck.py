"""Health checks for containers and operators.

    python -m motcua_common.edge.healthcheck [address]       a gRPC server, through gRPC health
    python -m motcua_common.edge.healthcheck --worker intake  a worker: prints each consumer's detail
                                                         (position, and where and why it is stuck)

Exit 0 when healthy (gRPC SERVING; no consumer stuck), 1 otherwise (Docker HEALTHCHECK,
Kubernetes exec probes). A worker is asked through its `health` RPC over the broker
(MOTCUA_AMQP_URI, or --env-file).

A TLS edge is checked over TLS when a CA is given (--tls-ca or MOTCUA_HEALTH_TLS_CA_FILE: the CA that
signed the edge's certificate); an edge requiring client certificates also needs --tls-cert/--tls-key
(MOTCUA_HEALTH_TLS_CERT_FILE/MOTCUA_HEALTH_TLS_KEY_FILE). --tls-server-name
(MOTCUA_HEALTH_TLS_SERVER_NAME) is the name the certificate is checked against when the address is
not it (a probe calling 127.0.0.1).
"""
from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

from motcua_common.config.settings import process_environment
from motcua_common.edge.transport import channel_credentials
from motcua_common.runtime.platform_runner import platform_env


@dataclass(frozen=True)
class ClientTls:
    """How the health check reaches a TLS edge (empty ca_file: plaintext)."""

    ca_file: str = ""
    cert_file: str = ""
    key_file: str = ""
    server_name: str = ""


def _channel(address: str, tls: ClientTls | None):  # type: ignore[no-untyped-def]
    import grpc

    if tls is None or not tls.ca_file:
        return grpc.insecure_channel(address)
    options = [("grpc.ssl_target_name_override", tls.server_name)] if tls.server_name else []
    return grpc.secure_channel(address, channel_credentials(tls.ca_file, tls.cert_file, tls.key_file), options)


def grpc_health(address: str, tls: ClientTls | None = None) -> int:
    import grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    try:
        with _channel(address, tls) as channel:
            reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=3)
    except grpc.RpcError as error:
        print(f"{address}: {error.code().name}", file=sys.stderr)
        return 1
    return 0 if reply.status == health_pb2.HealthCheckResponse.SERVING else 1


def worker_health(service: str, amqp_uri: str, timeout: float = 5.0) -> dict:
    from nameko.standalone.rpc import ClusterRpcProxy

    with ClusterRpcProxy({"AMQP_URI": amqp_uri, "serializer": "json"}, timeout=timeout) as cluster:
        return getattr(cluster, service).health()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="motcua-healthcheck", description=__doc__.split("\n\n")[0])
    parser.add_argument("address", nargs="?", default=None, help="a gRPC server (default MOTCUA_HEALTH_ADDRESS)")
    parser.add_argument("--worker", metavar="SERVICE", help="ask this service's worker instead of a gRPC server")
    parser.add_argument("--env-file", type=Path, help="a province's environment file (for --worker)")
    for option, variable, what in (("--tls-ca", "CA_FILE", "CA that signed the edge's certificate (turns TLS on)"),
                                   ("--tls-cert", "CERT_FILE", "client certificate, for an edge requiring one"),
                                   ("--tls-key", "KEY_FILE", "the client certificate's key"),
                                   ("--tls-server-name", "SERVER_NAME", "name the edge's certificate is checked against")):
        parser.add_argument(option, default=None, help=f"{what} (default MOTCUA_HEALTH_TLS_{variable})")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    if not args.worker:
        env = process_environment()
        tls = ClientTls(*(value if value is not None else env.get(f"MOTCUA_HEALTH_TLS_{variable}", "")
                          for value, variable in ((args.tls_ca, "CA_FILE"), (args.tls_cert, "CERT_FILE"),
                                                  (args.tls_key, "KEY_FILE"), (args.tls_server_name, "SERVER_NAME"))))
        if bool(tls.cert_file) != bool(tls.key_file):
            parser.error("a client certificate needs both --tls-cert and --tls-key")
        for path in (tls.ca_file, tls.cert_file, tls.key_file):
            if path and not Path(path).is_file():
                parser.error(f"no such file {path}")
        return grpc_health(args.address or env.get("MOTCUA_HEALTH_ADDRESS", "127.0.0.1:50051"), tls)
    if args.env_file and not args.env_file.is_file():
        parser.error(f"--env-file {args.env_file}: no such file")
    env = process_environment(args.env_file)
    if args.env_file:
        env = platform_env(env, Path(__file__).resolve().parents[5])
    if not env.get("MOTCUA_AMQP_URI"):
        parser.error("MOTCUA_AMQP_URI is not set (or give the province's --env-file)")
    try:
        detail = worker_health(args.worker, env["MOTCUA_AMQP_URI"])
    except Exception as error:  # no answer is unhealthy, not a crash
        print(f"{args.worker} worker: no answer ({type(error).__name__})", file=sys.stderr)
        return 1
    print(json.dumps(detail, ensure_ascii=False, sort_keys=True))
    return 0 if detail.get("status") == "SERVING" else 1


if __name__ == "__main__":
    sys.exit(main())
