"""The pinned roots and the check of the host's certificate chain and name.

tlslite-ng does not validate the server at all: this module does, with
``cryptography.x509.verification`` (RFC 5280 path building plus the
CA/Browser-style server profile), against the pinned IGC-Santé roots only
(never the system store).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import logging
from collections.abc import Sequence
from pathlib import Path

from cryptography import x509
from cryptography.x509.verification import PolicyBuilder, Store, Subject, VerificationError

from dmp_desktop.errors import (
    TLS_BAD_NAME,
    TLS_CHAIN,
    TLS_EXPIRED,
    TLS_NAME,
    TLS_NO_CERTIFICATE,
    HostCertificateError,
    SettingsError,
)

log = logging.getLogger(__name__)

# Why a host certificate is refused (codes; the French is ``tls.reason.*`` in messages).
REASON_NO_CERTIFICATE = TLS_NO_CERTIFICATE
REASON_EXPIRED = TLS_EXPIRED
REASON_NAME = TLS_NAME
REASON_CHAIN = TLS_CHAIN
REASON_BAD_NAME = TLS_BAD_NAME

# The production root of the DMP's servers, shipped in the package (public data).
IGC_SANTE_ROOT_FILE = "ac-racine-igc-sante-elementaire.pem"
IGC_SANTE_ROOT_SHA256 = (
    "2D:9E:22:CA:19:F7:77:C6:B7:45:25:7C:72:3E:CB:8D:"
    "F3:C3:5F:A6:F1:F6:EC:36:B8:36:00:C9:73:46:96:7F"
)


def fingerprint(certificate: x509.Certificate) -> str:
    """SHA-256 fingerprint, as openssl prints it (``2D:9E:…``)."""
    from cryptography.hazmat.primitives import hashes

    return ":".join(f"{b:02X}" for b in certificate.fingerprint(hashes.SHA256()))


def igc_sante_root_path() -> Path:
    return Path(__file__).resolve().parents[1] / "resources" / "trust" / IGC_SANTE_ROOT_FILE


def load_igc_sante_root() -> list[x509.Certificate]:
    """The shipped « AC RACINE IGC-SANTE ELEMENTAIRE », refused unless its fingerprint is right."""
    roots = load_trust_roots(igc_sante_root_path())
    if len(roots) != 1 or fingerprint(roots[0]) != IGC_SANTE_ROOT_SHA256:
        raise SettingsError("settings.igc_sante_root_altered")
    return roots


def load_trust_roots(path: str | Path) -> list[x509.Certificate]:
    """Read a PEM bundle of root certificates (the pinned roots)."""
    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise SettingsError("settings.trust_roots_missing", path=str(p)) from exc
    try:
        roots = x509.load_pem_x509_certificates(data)
    except ValueError as exc:
        raise SettingsError("settings.trust_roots_unreadable", name=p.name) from exc
    if not roots:
        raise SettingsError("settings.trust_roots_empty", name=p.name)
    return roots


def _subject(host: str) -> Subject:
    name = host.strip("[]")
    try:
        return x509.IPAddress(ipaddress.ip_address(name))
    except ValueError:
        pass
    try:
        return x509.DNSName(name.rstrip(".").lower())
    except ValueError:
        raise HostCertificateError(REASON_BAD_NAME) from None


def _dns_matches(pattern: str, host: str) -> bool:
    pattern = pattern.lower().rstrip(".")
    if pattern == host:
        return True
    if pattern.startswith("*."):
        head, _, tail = host.partition(".")
        return bool(head) and tail == pattern[2:]
    return False


def name_matches(cert: x509.Certificate, host: str) -> bool:
    """Whether the certificate's SAN names this host (used to explain a failure)."""
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return False
    name = host.strip("[]")
    try:
        ip = ipaddress.ip_address(name)
    except ValueError:
        wanted = name.rstrip(".").lower()
        return any(_dns_matches(p, wanted) for p in san.get_values_for_type(x509.DNSName))
    return ip in san.get_values_for_type(x509.IPAddress)


class HostVerifier:
    """Validates a server chain against the pinned roots and the expected host name."""

    def __init__(self, roots: Sequence[x509.Certificate]) -> None:
        if not roots:
            raise SettingsError("settings.trust_roots_none")
        self._store = Store(list(roots))

    def verify(self, chain: Sequence[x509.Certificate], host: str) -> None:
        """Return quietly, or raise :class:`HostCertificateError` with a short reason."""
        if not chain:
            raise HostCertificateError(REASON_NO_CERTIFICATE)
        subject = _subject(host)
        verifier = PolicyBuilder().store(self._store).build_server_verifier(subject)
        leaf, intermediates = chain[0], list(chain[1:])
        try:
            verifier.verify(leaf, intermediates)
        except VerificationError as exc:
            log.debug("host certificate rejected: %s", exc)
            raise HostCertificateError(self._explain(leaf, host)) from None

    @staticmethod
    def _explain(leaf: x509.Certificate, host: str) -> str:
        now = dt.datetime.now(dt.UTC)
        if not leaf.not_valid_before_utc <= now <= leaf.not_valid_after_utc:
            return REASON_EXPIRED
        if not name_matches(leaf, host):
            return REASON_NAME
        return REASON_CHAIN
