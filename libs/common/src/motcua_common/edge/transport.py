"""Transport security of the gRPC edges: TLS when certificates are configured, mutual TLS for integrators.

`server_credentials(settings)` is the one place the edges' server credentials are built
(create_server/run_edge use it); `channel_credentials(...)` is the client side (the health check).

Client authentication is `off` or `required`: grpcio's Python API only offers
`require_client_auth` true/false (with false, no client certificate is even requested), so an
"optional" mode, verifying a certificate only when one is presented, cannot be built on it.

The certificate files are read again when they change (checked on each new connection), so a
rotated certificate (a renewed Kubernetes Secret) is served without restarting the edge. A changed
file that does not load (a half-written rotation) is logged and the previous certificate kept.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import grpc
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from motcua_common.config.settings import ConfigurationError, Settings
from motcua_common.observability.logs import get_logger

log = get_logger()

CERT_SETTING = "MOTCUA_GRPC_TLS_CERT_FILE"
KEY_SETTING = "MOTCUA_GRPC_TLS_KEY_FILE"
CLIENT_CA_SETTING = "MOTCUA_GRPC_TLS_CLIENT_CA_FILE"


def _read(path: str, setting: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as error:
        raise ConfigurationError(f"{setting}: cannot read {path} ({error.strerror or error})") from None


def _certificates(data: bytes, path: str, setting: str) -> list[x509.Certificate]:
    try:
        certificates = x509.load_pem_x509_certificates(data)
    except ValueError:
        certificates = []
    if not certificates:
        raise ConfigurationError(f"{setting}: {path} holds no PEM certificate")
    return certificates


@dataclass(frozen=True)
class ServerCertificate:
    """A checked PEM key and certificate chain, and the CA bundle client certificates must chain to."""

    key: bytes
    chain: bytes
    client_ca: bytes | None

    @classmethod
    def load(cls, cert_file: str, key_file: str, client_ca_file: str = "") -> "ServerCertificate":
        chain = _read(cert_file, CERT_SETTING)
        leaf = _certificates(chain, cert_file, CERT_SETTING)[0]
        key_pem = _read(key_file, KEY_SETTING)
        try:
            key = serialization.load_pem_private_key(key_pem, password=None)
        except (ValueError, TypeError):
            raise ConfigurationError(f"{KEY_SETTING}: {key_file} holds no unencrypted PEM private key") from None
        public = serialization.PublicFormat.SubjectPublicKeyInfo
        if (key.public_key().public_bytes(serialization.Encoding.DER, public)
                != leaf.public_key().public_bytes(serialization.Encoding.DER, public)):
            raise ConfigurationError(f"{KEY_SETTING}: {key_file} is not the key of the certificate in {cert_file}")
        client_ca = None
        if client_ca_file:
            client_ca = _read(client_ca_file, CLIENT_CA_SETTING)
            _certificates(client_ca, client_ca_file, CLIENT_CA_SETTING)
        return cls(key_pem, chain, client_ca)

    def configuration(self) -> grpc.ServerCertificateConfiguration:
        return grpc.ssl_server_certificate_configuration([(self.key, self.chain)], self.client_ca)


class _Reloader:
    """The certificate configuration, read again when one of its files changed since it was last read."""

    def __init__(self, files: tuple[str, ...], load: Callable[[], ServerCertificate]) -> None:
        self.files, self.load = files, load
        self.stamps = self._stamps()
        self.current = load()

    def _stamps(self) -> tuple:
        stamps = []
        for path in self.files:
            try:
                stat = os.stat(path)
                stamps.append((stat.st_mtime_ns, stat.st_size, stat.st_ino))
            except OSError:
                stamps.append(None)
        return tuple(stamps)

    def fetch(self) -> grpc.ServerCertificateConfiguration | None:
        """Called by grpc on each new connection; None keeps the configuration it has."""
        stamps = self._stamps()
        if stamps == self.stamps:
            return None
        try:
            loaded = self.load()
        except ConfigurationError as error:
            log.warning("grpc_tls_reload_failed", error=str(error))
            return None
        self.stamps, self.current = stamps, loaded
        log.info("grpc_tls_reloaded", files=list(self.files))
        return loaded.configuration()


def server_credentials(settings: Settings) -> grpc.ServerCredentials | None:
    """The edge's server credentials, or None for a plaintext port (no certificate configured).

    Bad or missing files raise ConfigurationError naming the setting. A plaintext edge in
    production is allowed (TLS may end at an ingress) but logged as a warning.
    """
    if not settings.grpc_tls_cert_file:
        if settings.environment == "production":
            log.warning("grpc_plaintext", reason=f"{CERT_SETTING} is not set: this edge serves without TLS; "
                                                 "only acceptable behind a TLS-terminating proxy")
        return None
    files = tuple(f for f in (settings.grpc_tls_cert_file, settings.grpc_tls_key_file,
                              settings.grpc_tls_client_ca_file) if f)
    reloader = _Reloader(files, lambda: ServerCertificate.load(
        settings.grpc_tls_cert_file, settings.grpc_tls_key_file, settings.grpc_tls_client_ca_file))
    return grpc.dynamic_ssl_server_credentials(reloader.current.configuration(), reloader.fetch,
                                               require_client_authentication=settings.grpc_tls_client_auth == "required")


def channel_credentials(ca_file: str = "", cert_file: str = "", key_file: str = "") -> grpc.ChannelCredentials:
    """A client's TLS credentials: the CA that signed the server's certificate (default: the system's),
    and a client certificate for an edge requiring mutual TLS."""
    if bool(cert_file) != bool(key_file):
        raise ConfigurationError("a client certificate needs both its certificate and its key file")
    return grpc.ssl_channel_credentials(
        root_certificates=Path(ca_file).read_bytes() if ca_file else None,
        private_key=Path(key_file).read_bytes() if key_file else None,
        certificate_chain=Path(cert_file).read_bytes() if cert_file else None,
    )
