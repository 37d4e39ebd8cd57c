"""Client keys for mutual TLS: the card's authentication key, or a key held in a file.

The TLS layer only needs three things from a key holder (:class:`ClientKey`):
the certificate chain to send, a raw RSA PKCS#1 v1.5 signature over a DER
``DigestInfo`` (what ``CKM_RSA_PKCS`` computes on a CPS card), and, when the
key allows it, an RSASSA-PSS signature over a digest. The private key itself
never crosses this interface.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed
from cryptography.hazmat.primitives.serialization import pkcs12

from dmp_desktop.errors import SettingsError

if TYPE_CHECKING:
    from dmp_desktop.smartcard.card import CardSession

log = logging.getLogger(__name__)


class ClientKey(Protocol):
    """What the TLS layer needs from whoever holds the client private key."""

    # True when the key may produce RSASSA-PSS signatures (CPS4); a CPS3 card
    # only signs PKCS#1 v1.5, which also rules out TLS 1.3.
    supports_pss: bool

    def certificate_chain(self) -> list[x509.Certificate]:
        """The client certificate first, then any intermediates to send."""
        ...

    def sign_pkcs1(self, digest_info: bytes) -> bytes:
        """Raw RSA PKCS#1 v1.5 signature of an already DER-encoded DigestInfo."""
        ...

    def sign_pss(self, digest: bytes, hash_name: str, salt_len: int) -> bytes:
        """RSASSA-PSS (MGF1 with the same hash) over an already computed digest."""
        ...


# --- DigestInfo (PKCS#1 v2.2, section 9.2) -----------------------------------

_HASH_OIDS: dict[str, str] = {
    "sha1": "1.3.14.3.2.26",
    "sha224": "2.16.840.1.101.3.4.2.4",
    "sha256": "2.16.840.1.101.3.4.2.1",
    "sha384": "2.16.840.1.101.3.4.2.2",
    "sha512": "2.16.840.1.101.3.4.2.3",
}

_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "sha1": hashes.SHA1,
    "sha224": hashes.SHA224,
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}


def hash_algorithm(hash_name: str) -> hashes.HashAlgorithm:
    """The ``cryptography`` hash object for a TLS-style lower-case hash name."""
    try:
        return _HASHES[hash_name.lower()]()
    except KeyError:
        raise ValueError(f"unsupported hash: {hash_name}") from None


def _der(tag: int, content: bytes) -> bytes:
    length = len(content)
    if length < 0x80:
        head = bytes([length])
    else:
        size = length.to_bytes((length.bit_length() + 7) // 8, "big")
        head = bytes([0x80 | len(size)]) + size
    return bytes([tag]) + head + content


def _der_oid(dotted: str) -> bytes:
    arcs = [int(a) for a in dotted.split(".")]
    body = bytearray([40 * arcs[0] + arcs[1]])
    for arc in arcs[2:]:
        chunk = [arc & 0x7F]
        arc >>= 7
        while arc:
            chunk.append(0x80 | (arc & 0x7F))
            arc >>= 7
        body.extend(reversed(chunk))
    return _der(0x06, bytes(body))


def _digest_info_prefix(hash_name: str) -> bytes:
    """DER of a DigestInfo up to (and including) the OCTET STRING header."""
    size = hash_algorithm(hash_name).digest_size
    algorithm = _der(0x30, _der_oid(_HASH_OIDS[hash_name]) + b"\x05\x00")
    full = _der(0x30, algorithm + _der(0x04, bytes(size)))
    return full[: len(full) - size]


_PREFIXES: dict[str, bytes] = {name: _digest_info_prefix(name) for name in _HASH_OIDS}


def encode_digest_info(hash_name: str, digest: bytes) -> bytes:
    """``DigestInfo ::= SEQUENCE { AlgorithmIdentifier (with NULL), OCTET STRING }``."""
    name = hash_name.lower()
    if name not in _PREFIXES:
        raise ValueError(f"unsupported hash: {hash_name}")
    if len(digest) != hash_algorithm(name).digest_size:
        raise ValueError("digest length does not match the hash")
    return _PREFIXES[name] + bytes(digest)


def parse_digest_info(digest_info: bytes) -> tuple[str, bytes]:
    """Inverse of :func:`encode_digest_info`; refuses anything else (no raw-sign oracle)."""
    data = bytes(digest_info)
    for name, prefix in _PREFIXES.items():
        if data.startswith(prefix) and len(data) == len(prefix) + hash_algorithm(name).digest_size:
            return name, data[len(prefix) :]
    raise ValueError("not a DER DigestInfo for a supported hash")


# --- key holders --------------------------------------------------------------


class CardClientKey:
    """The CPS card's authentication key, through a logged-in :class:`CardSession`.

    Every signature is a PKCS#11 call on the card thread; the caller's thread
    waits for it. A removed card surfaces as :class:`~dmp_desktop.errors.CardRemovedError`.
    """

    def __init__(
        self, session: CardSession, extra_chain: list[x509.Certificate] | None = None
    ) -> None:
        self._session = session
        self._extra_chain = list(extra_chain or [])
        self.supports_pss: bool = bool(session.supports_pss)

    @property
    def available(self) -> bool:
        """False once the card session has ended: nothing may be done in its name any more."""
        return not self._session.closed

    def certificate_chain(self) -> list[x509.Certificate]:
        return [self._session.auth_certificate, *self._extra_chain]

    def sign_pkcs1(self, digest_info: bytes) -> bytes:
        parse_digest_info(digest_info)  # only ever sign a well-formed DigestInfo
        log.debug("card signature for TLS (PKCS#1 v1.5)")
        return self._session.sign_auth_pkcs1(bytes(digest_info))

    def sign_pss(self, digest: bytes, hash_name: str, salt_len: int) -> bytes:
        if not self.supports_pss:
            raise ValueError("this card does not sign with RSASSA-PSS")
        log.debug("card signature for TLS (PSS %s)", hash_name)
        return self._session.sign_auth_pss(bytes(digest), hash_name, salt_len)


class FileClientKey:
    """An RSA key and its certificate held by ``cryptography`` (structure certificate, tests)."""

    def __init__(
        self,
        private_key: rsa.RSAPrivateKey,
        chain: Sequence[x509.Certificate],
        *,
        supports_pss: bool = True,
    ) -> None:
        if not isinstance(private_key, rsa.RSAPrivateKey):
            raise ValueError("only RSA client keys are supported")
        if not chain:
            raise ValueError("a client certificate is required")
        leaf_key = chain[0].public_key()
        if (
            not isinstance(leaf_key, rsa.RSAPublicKey)
            or leaf_key.public_numbers() != private_key.public_key().public_numbers()
        ):
            raise ValueError("the certificate does not match the private key")
        self._key = private_key
        self._chain = list(chain)
        self.supports_pss: bool = supports_pss

    @classmethod
    def from_pem(
        cls,
        cert_path: str | Path,
        key_path: str | Path,
        password: bytes | None = None,
        *,
        supports_pss: bool = True,
    ) -> FileClientKey:
        """A PEM certificate (chain) file and a PEM private key file."""
        try:
            certs = x509.load_pem_x509_certificates(Path(cert_path).read_bytes())
            key = serialization.load_pem_private_key(Path(key_path).read_bytes(), password)
        except (OSError, ValueError, TypeError) as exc:
            raise SettingsError("settings.key_unreadable") from exc
        if not isinstance(key, rsa.RSAPrivateKey):
            raise SettingsError("settings.key_not_rsa")
        return cls(key, certs, supports_pss=supports_pss)

    @classmethod
    def from_pkcs12(
        cls, path: str | Path, password: bytes | None, *, supports_pss: bool = True
    ) -> FileClientKey:
        """A PKCS#12 (.p12/.pfx) file holding the key, its certificate and intermediates."""
        try:
            key, cert, extra = pkcs12.load_key_and_certificates(Path(path).read_bytes(), password)
        except (OSError, ValueError, TypeError) as exc:
            raise SettingsError("settings.p12_unreadable") from exc
        if not isinstance(key, rsa.RSAPrivateKey) or cert is None:
            raise SettingsError("settings.p12_incomplete")
        return cls(key, [cert, *extra], supports_pss=supports_pss)

    def certificate_chain(self) -> list[x509.Certificate]:
        return list(self._chain)

    def sign_pkcs1(self, digest_info: bytes) -> bytes:
        hash_name, digest = parse_digest_info(digest_info)
        # PKCS1v15 over a pre-hashed value rebuilds exactly this DigestInfo.
        return self._key.sign(digest, padding.PKCS1v15(), Prehashed(hash_algorithm(hash_name)))

    def sign_pss(self, digest: bytes, hash_name: str, salt_len: int) -> bytes:
        if not self.supports_pss:
            raise ValueError("PSS disabled for this key")
        algorithm = hash_algorithm(hash_name)
        return self._key.sign(
            bytes(digest),
            padding.PSS(mgf=padding.MGF1(algorithm), salt_length=salt_len),
            Prehashed(algorithm),
        )
