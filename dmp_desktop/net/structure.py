"""The structure's certificate ("authentification indirecte renforcée").

A practice or a clinic may connect with the certificate of the structure
instead of each doctor's card: the PKCS#12 file holds the structure's key and
certificate, used both as the TLS client certificate and to sign the VIHF.
The professional still logs in locally with the card and its PIN, and the
VIHF names the card holder.

The PKCS#12 passphrase lives in the system keyring only (service
``dmp-desktop``, user ``structure-p12:<hash of the file's absolute path>``),
never in the settings file, never in a log.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path

import keyring
import keyring.errors
from cryptography import x509
from cryptography.x509.oid import NameOID

from dmp_desktop.errors import SettingsError
from dmp_desktop.net.keys import FileClientKey

log = logging.getLogger(__name__)

KEYRING_SERVICE = "dmp-desktop"
KEYRING_USER_PREFIX = "structure-p12:"


def keyring_user(path: str | Path) -> str:
    """The keyring entry of one PKCS#12 file: ``structure-p12:<32 hex digits>``."""
    absolute = str(Path(path).expanduser().resolve())
    return KEYRING_USER_PREFIX + hashlib.sha256(absolute.encode("utf-8")).hexdigest()[:32]


def keyring_available() -> bool:
    backend = keyring.get_keyring()
    return not type(backend).__module__.startswith("keyring.backends.fail")


def _no_keyring() -> SettingsError:
    return SettingsError("settings.structure_no_keyring")


def store_passphrase(path: str | Path, passphrase: str) -> None:
    """Keep the passphrase of ``path`` in the system keyring (may block: not on the UI thread)."""
    if not keyring_available():
        raise _no_keyring()
    try:
        keyring.set_password(KEYRING_SERVICE, keyring_user(path), passphrase)
    except keyring.errors.KeyringError as exc:
        raise _no_keyring() from exc


def load_passphrase(path: str | Path) -> str | None:
    """The passphrase kept for ``path``, or None."""
    if not keyring_available():
        raise _no_keyring()
    try:
        return keyring.get_password(KEYRING_SERVICE, keyring_user(path))
    except keyring.errors.KeyringError as exc:
        raise _no_keyring() from exc


def forget_passphrase(path: str | Path) -> None:
    if not keyring_available():
        return
    try:
        keyring.delete_password(KEYRING_SERVICE, keyring_user(path))
    except keyring.errors.PasswordDeleteError:
        pass


def _attribute(name: x509.Name, oid: x509.ObjectIdentifier) -> str | None:
    values = name.get_attributes_for_oid(oid)
    if not values:
        return None
    value = values[0].value
    return value if isinstance(value, str) else value.decode("utf-8", "replace")


@dataclass(frozen=True)
class StructureCredentials:
    """The structure's key (TLS client key and VIHF signer) and who it is."""

    key: FileClientKey
    certificate: x509.Certificate
    structure_id: str  # the certificate's OU, as in the official VIHF (Identifiant_Structure)
    name: str

    @property
    def subject_dn(self) -> str:
        """The VIHF ``Issuer``: the certificate's subject, as the official example writes it."""
        return self.certificate.subject.rfc4514_string()


def load_structure(path: str | Path, passphrase: str | None = None) -> StructureCredentials:
    """Open the structure's PKCS#12 (passphrase from the keyring unless given)."""
    if not path:
        raise SettingsError("settings.structure_p12_unset")
    p = Path(path).expanduser()
    if not p.is_file():
        raise SettingsError("settings.structure_p12_missing", path=str(p))
    if passphrase is None:
        passphrase = load_passphrase(p)
        if passphrase is None:
            raise SettingsError("settings.structure_passphrase_missing")
    key = FileClientKey.from_pkcs12(p, passphrase.encode("utf-8") if passphrase else None)
    certificate = key.certificate_chain()[0]
    structure_id = _attribute(certificate.subject, NameOID.ORGANIZATIONAL_UNIT_NAME)
    if not structure_id:
        raise SettingsError("settings.structure_not_structure_certificate")
    name = _attribute(certificate.subject, NameOID.ORGANIZATION_NAME) or structure_id
    log.info("structure certificate loaded")
    return StructureCredentials(key, certificate, structure_id, name)
