"""TLS on the gRPC edges, over real sockets: a test CA issues the server's and the clients' certificates."""
from __future__ import annotations

import datetime
import ipaddress
import os
from pathlib import Path

import grpc
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from grpc_health.v1 import health_pb2, health_pb2_grpc
from structlog.testing import capture_logs

from motcua_common.config.settings import ConfigurationError, Settings
from motcua_common.edge import healthcheck
from motcua_common.edge.grpc_server import create_server
from motcua_common.edge.transport import channel_credentials, server_credentials

pytestmark = pytest.mark.integration

BASE = {"MOTCUA_PROVINCE": "quang-tri", "MOTCUA_PG_USER": "u", "MOTCUA_PG_PASSWORD": "p", "MOTCUA_PG_DBNAME": "d",
        "MOTCUA_AMQP_URI": "amqp://u:p@127.0.0.1:5672/v", "MOTCUA_DATA_DIR": "/tmp",
        "MOTCUA_SUBJECT_KEK": "a2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2s=",
        "MOTCUA_AUDIT_SIGNING_KEY": "c3Nzc3Nzc3Nzc3Nzc3Nzc3Nzc3Nzc3Nzc3Nzc3Nzc3M="}


class Authority:
    """A certificate authority made for one test, writing PEM files under `directory`."""

    def __init__(self, directory: Path, name: str) -> None:
        self.directory, self.name = directory, name
        self.key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        self.certificate = (self._builder(subject, self.key.public_key())
                            .issuer_name(subject)
                            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                            .sign(self.key, hashes.SHA256()))
        self.ca_file = self._write(f"{name}-ca.crt", self.certificate.public_bytes(serialization.Encoding.PEM))

    @staticmethod
    def _builder(subject: x509.Name, public_key) -> x509.CertificateBuilder:  # type: ignore[no-untyped-def]
        now = datetime.datetime.now(datetime.timezone.utc)
        return (x509.CertificateBuilder().subject_name(subject).public_key(public_key)
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(minutes=5))
                .not_valid_after(now + datetime.timedelta(days=1)))

    def _write(self, name: str, data: bytes) -> str:
        path = self.directory / name
        path.write_bytes(data)
        return str(path)

    def issue(self, name: str, server: bool = False) -> tuple[str, str]:
        """(certificate file, key file) for `name`: a server's for localhost/127.0.0.1, or a client's."""
        key = ec.generate_private_key(ec.SECP256R1())
        builder = (self._builder(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]), key.public_key())
                   .issuer_name(self.certificate.subject))
        if server:
            builder = builder.add_extension(x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        certificate = builder.sign(self.key, hashes.SHA256())
        key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
        return (self._write(f"{name}.crt", certificate.public_bytes(serialization.Encoding.PEM)),
                self._write(f"{name}.key", key_pem))


@pytest.fixture
def authority(tmp_path: Path) -> Authority:
    return Authority(tmp_path, "province")


def tls_edge(env: dict[str, str]):  # type: ignore[no-untyped-def]
    """An edge (health and reflection only) on a free port, with the credentials `env` configures."""
    settings = Settings.from_env({**BASE, **env})
    server, port, _ = create_server("127.0.0.1:0", lambda server: [], credentials=server_credentials(settings))
    server.start()
    return server, f"localhost:{port}"


def health(channel: grpc.Channel) -> int:
    return health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=5).status


@pytest.fixture
def edges():  # type: ignore[no-untyped-def]
    started = []

    def start(env: dict[str, str]) -> str:
        server, address = tls_edge(env)
        started.append(server)
        return address

    yield start
    for server in started:
        server.stop(0)


def test_a_tls_channel_is_served_and_a_plaintext_channel_to_the_tls_port_fails(authority, edges):
    cert, key = authority.issue("edge", server=True)
    address = edges({"MOTCUA_GRPC_TLS_CERT_FILE": cert, "MOTCUA_GRPC_TLS_KEY_FILE": key})

    with grpc.secure_channel(address, channel_credentials(authority.ca_file)) as channel:
        assert health(channel) == health_pb2.HealthCheckResponse.SERVING
    with grpc.insecure_channel(address) as channel, pytest.raises(grpc.RpcError) as refused:
        health(channel)
    assert refused.value.code() == grpc.StatusCode.UNAVAILABLE


def test_a_client_trusting_another_ca_refuses_the_edge(authority, edges, tmp_path):
    cert, key = authority.issue("edge", server=True)
    address = edges({"MOTCUA_GRPC_TLS_CERT_FILE": cert, "MOTCUA_GRPC_TLS_KEY_FILE": key})
    stranger = Authority(tmp_path, "stranger")

    with grpc.secure_channel(address, channel_credentials(stranger.ca_file)) as channel, \
            pytest.raises(grpc.RpcError) as refused:
        health(channel)
    assert refused.value.code() == grpc.StatusCode.UNAVAILABLE


def test_with_client_certificates_required_only_a_client_with_one_signed_by_the_ca_is_served(authority, edges, tmp_path):
    cert, key = authority.issue("edge", server=True)
    integrators = Authority(tmp_path, "integrators")
    portal_cert, portal_key = integrators.issue("national-portal")
    stranger_cert, stranger_key = Authority(tmp_path, "stranger").issue("stranger")
    address = edges({"MOTCUA_GRPC_TLS_CERT_FILE": cert, "MOTCUA_GRPC_TLS_KEY_FILE": key,
                     "MOTCUA_GRPC_TLS_CLIENT_CA_FILE": integrators.ca_file})

    with grpc.secure_channel(address, channel_credentials(authority.ca_file, portal_cert, portal_key)) as channel:
        assert health(channel) == health_pb2.HealthCheckResponse.SERVING
    for credentials in (channel_credentials(authority.ca_file),
                        channel_credentials(authority.ca_file, stranger_cert, stranger_key)):
        with grpc.secure_channel(address, credentials) as channel, pytest.raises(grpc.RpcError) as refused:
            health(channel)
        assert refused.value.code() == grpc.StatusCode.UNAVAILABLE


def test_the_health_check_command_reaches_a_tls_edge_requiring_client_certificates(authority, edges, monkeypatch):
    cert, key = authority.issue("edge", server=True)
    probe_cert, probe_key = authority.issue("probe")
    address = edges({"MOTCUA_GRPC_TLS_CERT_FILE": cert, "MOTCUA_GRPC_TLS_KEY_FILE": key,
                     "MOTCUA_GRPC_TLS_CLIENT_CA_FILE": authority.ca_file})
    port = address.rsplit(":", 1)[1]
    monkeypatch.setenv("MOTCUA_HEALTH_TLS_CA_FILE", authority.ca_file)
    monkeypatch.setenv("MOTCUA_HEALTH_TLS_SERVER_NAME", "localhost")

    # A probe calls the pod's own address, not the certificate's name: the server name says what to check.
    assert healthcheck.main([f"127.0.0.1:{port}", "--tls-cert", probe_cert, "--tls-key", probe_key]) == 0
    assert healthcheck.main([f"127.0.0.1:{port}"]) == 1  # no client certificate: refused
    monkeypatch.delenv("MOTCUA_HEALTH_TLS_CA_FILE")
    assert healthcheck.main([f"127.0.0.1:{port}"]) == 1  # plaintext to a TLS port


def test_a_rotated_certificate_is_served_on_new_connections_without_a_restart(authority, edges, tmp_path):
    cert, key = authority.issue("edge", server=True)
    address = edges({"MOTCUA_GRPC_TLS_CERT_FILE": cert, "MOTCUA_GRPC_TLS_KEY_FILE": key})
    (tmp_path / "renewed").mkdir()
    renewed = Authority(tmp_path / "renewed", "renewed")
    new_cert, new_key = renewed.issue("edge", server=True)
    # Kubernetes updates a mounted Secret by swapping files; replace both, as it does.
    os.replace(new_cert, cert)
    os.replace(new_key, key)

    with grpc.secure_channel(address, channel_credentials(renewed.ca_file)) as channel:
        assert health(channel) == health_pb2.HealthCheckResponse.SERVING


def test_a_rotation_that_does_not_load_keeps_the_previous_certificate(authority, edges):
    cert, key = authority.issue("edge", server=True)
    address = edges({"MOTCUA_GRPC_TLS_CERT_FILE": cert, "MOTCUA_GRPC_TLS_KEY_FILE": key})
    Path(cert).write_text("half-written")

    with grpc.secure_channel(address, channel_credentials(authority.ca_file)) as channel:
        assert health(channel) == health_pb2.HealthCheckResponse.SERVING


@pytest.mark.parametrize("broken, setting, message", [
    ("cert", "MOTCUA_GRPC_TLS_CERT_FILE", "holds no PEM certificate"),
    ("key", "MOTCUA_GRPC_TLS_KEY_FILE", "holds no unencrypted PEM private key"),
    ("client_ca", "MOTCUA_GRPC_TLS_CLIENT_CA_FILE", "holds no PEM certificate"),
])
def test_a_file_that_is_not_pem_is_refused_naming_its_setting(authority, tmp_path, broken, setting, message):
    cert, key = authority.issue("edge", server=True)
    files = {"cert": cert, "key": key, "client_ca": authority.ca_file}
    files[broken] = str(tmp_path / "garbage.pem")
    Path(files[broken]).write_text("not a pem file")
    settings = Settings.from_env({**BASE, "MOTCUA_GRPC_TLS_CERT_FILE": files["cert"],
                                  "MOTCUA_GRPC_TLS_KEY_FILE": files["key"],
                                  "MOTCUA_GRPC_TLS_CLIENT_CA_FILE": files["client_ca"]})
    with pytest.raises(ConfigurationError, match=f"{setting}: .* {message}"):
        server_credentials(settings)


def test_a_key_that_does_not_match_the_certificate_is_refused(authority):
    cert, _ = authority.issue("edge", server=True)
    _, other_key = authority.issue("other", server=True)
    settings = Settings.from_env({**BASE, "MOTCUA_GRPC_TLS_CERT_FILE": cert, "MOTCUA_GRPC_TLS_KEY_FILE": other_key})
    with pytest.raises(ConfigurationError, match="MOTCUA_GRPC_TLS_KEY_FILE: .* is not the key of the certificate"):
        server_credentials(settings)


def test_without_certificates_the_port_stays_plaintext():
    assert server_credentials(Settings.from_env(BASE)) is None


def test_a_plaintext_edge_is_logged_as_a_warning_in_production_only():
    with capture_logs() as production:
        server_credentials(Settings.from_env({**BASE, "MOTCUA_ENVIRONMENT": "production"}))
    with capture_logs() as development:
        server_credentials(Settings.from_env(BASE))
    assert [(r["event"], r["log_level"]) for r in production] == [("grpc_plaintext", "warning")]
    assert development == []
