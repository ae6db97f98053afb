"""Documents signed with a unit's X.509 key (result documents today), and their verification.

Keys live in a directory outside the database (a Kubernetes secret in production,
.local/unit-keys/<province>/ locally): `ca.crt.pem`, the province's signing CA, and for
each unit `<unit code>.key.pem` and `<unit code>.crt.pem`. The signature (ECDSA P-256 over
the document's SHA-256) travels with the case's ResultSigned event together with the
certificate, so anyone with the CA certificate can verify a result, now or years later.
"""
from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, utils
from cryptography.x509.oid import NameOID

from motcua_common.errors import RuleViolated


@dataclass(frozen=True)
class ResultCheck:
    matches: bool           # the document given is the one signed
    signature_valid: bool   # the signature verifies with the certificate
    certificate_trusted: bool  # the certificate was issued by the province's CA
    signer: str             # the certificate's subject
    detail: str


class UnitKeys:
    def __init__(self, directory: Path | None) -> None:
        self.directory = directory

    def _ca(self) -> x509.Certificate:
        return x509.load_pem_x509_certificate((self._dir() / "ca.crt.pem").read_bytes())

    def _dir(self) -> Path:
        if self.directory is None or not (self.directory / "ca.crt.pem").exists():
            raise RuleViolated("NO_SIGNING_KEYS", "this deployment has no unit signing keys "
                                                  "(set MOTCUA_UNIT_KEYS_DIR; see the runbook)")
        return self.directory

    def sign(self, unit_code: str, sha256_hex: str, now: datetime) -> tuple[str, str]:
        """(signature base64, certificate PEM) of the unit over the document hash."""
        key_path, cert_path = self._dir() / f"{unit_code}.key.pem", self._dir() / f"{unit_code}.crt.pem"
        if not key_path.exists() or not cert_path.exists():
            raise RuleViolated("NO_UNIT_KEY", f"unit {unit_code} has no signing key and certificate")
        certificate = x509.load_pem_x509_certificate(cert_path.read_bytes())
        if not certificate.not_valid_before_utc <= now <= certificate.not_valid_after_utc:
            raise RuleViolated("CERTIFICATE_EXPIRED", f"unit {unit_code}'s certificate is not valid at {now.isoformat()}")
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
        assert isinstance(key, ec.EllipticCurvePrivateKey)
        signature = key.sign(bytes.fromhex(sha256_hex), ec.ECDSA(utils.Prehashed(hashes.SHA256())))
        return base64.b64encode(signature).decode(), certificate.public_bytes(serialization.Encoding.PEM).decode()

    def check(self, content: bytes, result: dict) -> ResultCheck:
        digest = hashlib.sha256(content).hexdigest()
        matches = digest == result["sha256"]
        certificate = x509.load_pem_x509_certificate(result["certificate_pem"].encode())
        signer = certificate.subject.rfc4514_string()
        public_key = certificate.public_key()
        assert isinstance(public_key, ec.EllipticCurvePublicKey)
        try:
            public_key.verify(base64.b64decode(result["signature"]), bytes.fromhex(result["sha256"]),
                              ec.ECDSA(utils.Prehashed(hashes.SHA256())))
            signature_valid = True
        except InvalidSignature:
            signature_valid = False
        try:
            certificate.verify_directly_issued_by(self._ca())
            trusted = True
        except (ValueError, TypeError, InvalidSignature):
            trusted = False
        if not matches:
            detail = f"the document's SHA-256 is {digest}, but the signed result's is {result['sha256']}"
        elif not signature_valid:
            detail = "the signature does not verify with the certificate"
        elif not trusted:
            detail = "the certificate was not issued by this province's signing CA"
        else:
            detail = f"the signed result, signed by {signer}"
        return ResultCheck(matches, signature_valid, trusted, signer, detail)


def issue_unit_keys(directory: Path, province_name: str, unit_codes: list[str], days: int = 3650) -> list[Path]:
    """A province CA and one key and certificate per unit (for development and tests; production
    uses certificates from the national CA for government bodies)."""
    directory.mkdir(parents=True, exist_ok=True)
    now = datetime.now(timezone.utc) - timedelta(minutes=5)
    ca_key_path = directory / "ca.key.pem"
    if ca_key_path.exists():
        ca_key = serialization.load_pem_private_key(ca_key_path.read_bytes(), password=None)
        ca_cert = x509.load_pem_x509_certificate((directory / "ca.crt.pem").read_bytes())
    else:
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca_name = x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
                             x509.NameAttribute(NameOID.ORGANIZATION_NAME, province_name),
                             x509.NameAttribute(NameOID.COMMON_NAME, f"{province_name} - motcua result signing CA")])
        ca_cert = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
                   .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(now).not_valid_after(now + timedelta(days=days))
                   .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
                   .sign(ca_key, hashes.SHA256()))
        _write(ca_key_path, ca_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                 serialization.NoEncryption()))
        _write(directory / "ca.crt.pem", ca_cert.public_bytes(serialization.Encoding.PEM))
    written = []
    for code in unit_codes:
        if (directory / f"{code}.crt.pem").exists():
            continue
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
                          x509.NameAttribute(NameOID.ORGANIZATION_NAME, province_name),
                          x509.NameAttribute(NameOID.COMMON_NAME, code)])
        cert = (x509.CertificateBuilder().subject_name(name).issuer_name(ca_cert.subject)
                .public_key(key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(now).not_valid_after(now + timedelta(days=days))
                .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=True, key_encipherment=False,
                                             data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                             crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
                .sign(ca_key, hashes.SHA256()))  # type: ignore[arg-type]
        _write(directory / f"{code}.key.pem", key.private_bytes(serialization.Encoding.PEM,
                                                                 serialization.PrivateFormat.PKCS8,
                                                                 serialization.NoEncryption()))
        _write(directory / f"{code}.crt.pem", cert.public_bytes(serialization.Encoding.PEM))
        written.append(directory / f"{code}.crt.pem")
    return written


def _write(path: Path, data: bytes) -> None:
    path.touch(mode=0o600, exist_ok=True)
    path.write_bytes(data)
