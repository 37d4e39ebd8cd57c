"""Test structure certificates, for the structure mode ("authentification indirecte renforcée").

A structure (practice, health centre, clinic) gets a certificate from the
test organisations CA, laid out like the IGC-Santé structure certificate of
the official signed VIHF example: ``C=FR, O=<name>, OU=<structure id>,
CN=<name>``, key usage digital signature, extended key usage TLS client.
The same key opens the TLS connection and signs the VIHF. It is written as
a PKCS#12 file (key, certificate, organisations CA) protected by a
passphrase, with mode 0600.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from dmp_sandbox.pki import PkiPaths, issue_leaf, load_cert, load_key, new_key

_STRUCTURE_ID = re.compile(r"^[0-9A-Za-z]{4,20}$")


@dataclass(frozen=True)
class StructureSpec:
    structure_id: str  # e.g. "499700433153007" (what the VIHF calls Identifiant_Structure)
    name: str  # e.g. "CABINET MEDICAL FORMATION"
    common_name: str | None = None  # default: the name


@dataclass(frozen=True)
class CreatedStructure:
    p12_path: Path
    passphrase: str
    certificate: x509.Certificate


def structure_subject(spec: StructureSpec) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "FR"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, spec.name),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, spec.structure_id),
            x509.NameAttribute(NameOID.COMMON_NAME, spec.common_name or spec.name),
        ]
    )


def default_p12_path(env_root: Path, structure_id: str) -> Path:
    return env_root / "structures" / f"{structure_id}.p12"


def create_structure(
    spec: StructureSpec,
    pki: PkiPaths,
    p12_path: Path,
    passphrase: str | None = None,
    *,
    issuer_cert: x509.Certificate | None = None,
    issuer_key: rsa.RSAPrivateKey | None = None,
) -> CreatedStructure:
    """Issue a structure certificate (test organisations CA) and write its PKCS#12.

    ``issuer_cert``/``issuer_key`` replace the organisations CA (tests use
    another hierarchy to make a signer the host must refuse).
    """
    if not _STRUCTURE_ID.match(spec.structure_id):
        raise ValueError("identifiant de structure invalide (4 à 20 lettres ou chiffres)")
    if not spec.name.strip():
        raise ValueError("nom de structure vide")
    passphrase = passphrase or secrets.token_urlsafe(18)
    key = new_key()
    ca_cert = issuer_cert or load_cert(pki.orgs_cert)
    ca_key = issuer_key or load_key(pki.orgs_key)
    cert = issue_leaf(
        structure_subject(spec),
        key.public_key(),
        ca_cert,
        ca_key,
        client=True,
    )
    data = pkcs12.serialize_key_and_certificates(
        spec.name.encode("utf-8"),
        key,
        cert,
        [ca_cert],
        serialization.BestAvailableEncryption(passphrase.encode("utf-8")),
    )
    p12_path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(p12_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.chmod(p12_path, 0o600)
    return CreatedStructure(p12_path, passphrase, cert)


# Where the client keeps a structure's PKCS#12 passphrase (its system keyring), so that the
# command can tell the user. Duplicated on purpose (the host imports nothing of dmp_desktop.net);
# tests/unit/test_judge_independence.py checks it stays the client's.
KEYRING_SERVICE = "dmp-desktop"
KEYRING_USER_PREFIX = "structure-p12:"


def keyring_user(path: str | Path) -> str:
    """The client's keyring entry for one PKCS#12 file: ``structure-p12:<32 hex digits>``."""
    absolute = str(Path(path).expanduser().resolve())
    return KEYRING_USER_PREFIX + hashlib.sha256(absolute.encode("utf-8")).hexdigest()[:32]
