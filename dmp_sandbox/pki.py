"""A test PKI shaped like IGC-Santé: one TEST root, a persons CA, an organisations CA.

Names are deterministic (the same for every run); keys are fresh and written
with mode 0600. Real X.509 built with ``cryptography``.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

_BASE = [
    x509.NameAttribute(NameOID.COUNTRY_NAME, "FR"),
    x509.NameAttribute(NameOID.ORGANIZATION_NAME, "ASIP-SANTE"),
    x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "0002 187512751"),
    x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "IGC-SANTE TEST"),
]
ROOT_NAME = x509.Name(
    [*_BASE, x509.NameAttribute(NameOID.COMMON_NAME, "TEST AC RACINE IGC-SANTE FORT")]
)
PERSONS_NAME = x509.Name(
    [*_BASE, x509.NameAttribute(NameOID.COMMON_NAME, "TEST AC IGC-SANTE FORT PERSONNES")]
)
ORGS_NAME = x509.Name(
    [*_BASE, x509.NameAttribute(NameOID.COMMON_NAME, "TEST AC IGC-SANTE FORT ORGANISATIONS")]
)

_VALIDITY = dt.timedelta(days=3650)


@dataclass(frozen=True)
class PkiPaths:
    root: Path

    @property
    def root_cert(self) -> Path:
        return self.root / "root-ca.pem"

    @property
    def root_key(self) -> Path:
        return self.root / "private" / "root-ca.key"

    @property
    def persons_cert(self) -> Path:
        return self.root / "persons-ca.pem"

    @property
    def persons_key(self) -> Path:
        return self.root / "private" / "persons-ca.key"

    @property
    def orgs_cert(self) -> Path:
        return self.root / "organisations-ca.pem"

    @property
    def orgs_key(self) -> Path:
        return self.root / "private" / "organisations-ca.key"

    @property
    def host_cert(self) -> Path:
        """The host certificate followed by its issuing CA (what a TLS server sends)."""
        return self.root / "host-chain.pem"

    @property
    def host_key(self) -> Path:
        return self.root / "private" / "host.key"

    @property
    def trust_roots(self) -> Path:
        """What the client pins: the TEST root only."""
        return self.root / "trust-roots.pem"

    @property
    def client_cas(self) -> Path:
        """What the host accepts client certificates from: the root and both CAs."""
        return self.root / "client-cas.pem"


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def new_key(bits: int = 2048) -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def write_key(path: Path, key: rsa.RSAPrivateKey) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(path.parent, 0o700)
    data = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.chmod(path, 0o600)


def load_key(path: Path) -> rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey)  # noqa: S101 - our own files
    return key


def load_cert(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def pem(*certs: x509.Certificate) -> bytes:
    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs)


def _ca_cert(
    subject: x509.Name,
    key: rsa.RSAPrivateKey,
    issuer: x509.Name,
    issuer_key: rsa.RSAPrivateKey,
    path_len: int | None,
) -> x509.Certificate:
    now = _now()
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + _VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=path_len), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
            critical=False,
        )
        .sign(issuer_key, hashes.SHA256())
    )


def issue_leaf(
    subject: x509.Name,
    public_key: rsa.RSAPublicKey,
    issuer_cert: x509.Certificate,
    issuer_key: rsa.RSAPrivateKey,
    *,
    client: bool = False,
    server: bool = False,
    signing: bool = False,
    dns_names: list[str] | None = None,
    ips: list[str] | None = None,
    days: int = 1095,
    not_before: dt.datetime | None = None,
    extensions: list[x509.UnrecognizedExtension] | None = None,
) -> x509.Certificate:
    """An end-entity certificate; ``extensions``: private ones (IGC-Santé's, non-critical)."""
    now = not_before or _now() - dt.timedelta(days=1)
    eku = []
    if client:
        eku.append(ExtendedKeyUsageOID.CLIENT_AUTH)
    if server:
        eku.append(ExtendedKeyUsageOID.SERVER_AUTH)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_cert.subject)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=not signing,
                content_commitment=signing,
                key_encipherment=server,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_cert.public_key()),  # type: ignore[arg-type]
            critical=False,
        )
    )
    if eku:
        builder = builder.add_extension(x509.ExtendedKeyUsage(eku), critical=False)
    sans: list[x509.GeneralName] = [x509.DNSName(n) for n in dns_names or []]
    sans += [x509.IPAddress(ipaddress.ip_address(i)) for i in ips or []]
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    for extension in extensions or []:
        builder = builder.add_extension(extension, critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def init_pki(directory: Path, host_names: list[str] | None = None) -> PkiPaths:
    """Write a fresh TEST hierarchy and a host certificate for localhost/127.0.0.1."""
    paths = PkiPaths(Path(directory))
    paths.root.mkdir(parents=True, exist_ok=True)
    root_key = new_key(3072)
    root = _ca_cert(ROOT_NAME, root_key, ROOT_NAME, root_key, path_len=1)
    persons_key = new_key()
    persons = _ca_cert(PERSONS_NAME, persons_key, ROOT_NAME, root_key, path_len=0)
    orgs_key = new_key()
    orgs = _ca_cert(ORGS_NAME, orgs_key, ROOT_NAME, root_key, path_len=0)
    host_key = new_key()
    names = host_names or ["localhost"]
    host = issue_leaf(
        x509.Name(
            [
                x509.NameAttribute(NameOID.COUNTRY_NAME, "FR"),
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "DMP FORMATION"),
                x509.NameAttribute(NameOID.COMMON_NAME, names[0]),
            ]
        ),
        host_key.public_key(),
        orgs,
        orgs_key,
        server=True,
        dns_names=names,
        ips=["127.0.0.1"],
    )
    for p, k in (
        (paths.root_key, root_key),
        (paths.persons_key, persons_key),
        (paths.orgs_key, orgs_key),
        (paths.host_key, host_key),
    ):
        write_key(p, k)
    paths.root_cert.write_bytes(pem(root))
    paths.persons_cert.write_bytes(pem(persons))
    paths.orgs_cert.write_bytes(pem(orgs))
    paths.host_cert.write_bytes(pem(host, orgs))
    paths.trust_roots.write_bytes(pem(root))
    paths.client_cas.write_bytes(pem(root, persons, orgs))
    return paths
