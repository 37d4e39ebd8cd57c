"""Certificate facts the host's signature checks share (VIHF and XAdES signers).

Each check builds its own path (a VIHF signer through the trusted CAs, a
document signer from the persons CA): these are the steps they have in common.
"""

from __future__ import annotations

import datetime as dt

from cryptography import x509
from cryptography.exceptions import InvalidSignature

MAX_CHAIN = 4  # CAs between a signer and a root, at most


def is_ca(cert: x509.Certificate) -> bool:
    """Is ``cert`` a certification authority (basicConstraints CA:TRUE)?"""
    try:
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return False


def valid_at(cert: x509.Certificate, at: dt.datetime) -> bool:
    """Is ``at`` within the certificate's validity period?"""
    return cert.not_valid_before_utc <= at <= cert.not_valid_after_utc


def issued_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    """Did ``issuer`` sign ``cert`` (its name matches and its key verifies the signature)?"""
    if cert.issuer != issuer.subject:
        return False
    try:
        cert.verify_directly_issued_by(issuer)
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True
