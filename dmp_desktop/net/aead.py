"""AES-GCM for tlslite-ng's record layer, computed by ``cryptography`` (OpenSSL).

Why: tlslite-ng's own AES-GCM is pure Python (about 0.5 MB/s, a 20 MB download
takes 40 s). ``cryptography``'s AESGCM runs at memory speed and is constant-time.

The hook (the ONE place where tlslite-ng is patched): the record layer gets the
AEAD object of a negotiated AES-GCM suite by calling the module-level name
``tlslite.recordlayer.createAESGCM(key, implementations)`` from
``RecordLayer._getCipherSettings`` (TLS 1.2 and TLS 1.3 alike). It then only
uses the small interface that :class:`CryptographyAESGCM` implements:

* ``seal(nonce, plaintext, aad) -> ciphertext || tag``
* ``open(nonce, ciphertext || tag, aad) -> plaintext``, or ``None`` on a bad tag
* attributes ``isAEAD``, ``isBlockCipher``, ``name``, ``nonceLength``,
  ``tagLength``, ``implementation`` and ``key``.

:func:`install` rebinds that one name, once, when :mod:`dmp_desktop.net` is
imported. It affects every tlslite-ng connection of the process, which is
intended: the result is byte-for-byte the same (checked in
``tests/unit/test_net_aead.py`` against tlslite-ng's implementation), only
faster. ``CryptographyAESGCM.implementation == "cryptography"`` shows up in
``TLSConnection.getCipherImplementation()``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from dmp_desktop.net import _tlslite_import  # noqa: F401 - before any tlslite import

# isort: split
from tlslite import recordlayer

IMPLEMENTATION = "cryptography"

Buffer = bytes | bytearray


class CryptographyAESGCM:
    """tlslite-ng's AEAD interface over ``cryptography``'s AESGCM."""

    isBlockCipher = False
    isAEAD = True
    nonceLength = 12
    tagLength = 16
    implementation = IMPLEMENTATION

    def __init__(self, key: Buffer) -> None:
        if len(key) == 16:
            self.name = "aes128gcm"
        elif len(key) == 32:
            self.name = "aes256gcm"
        else:
            raise ValueError("AES-GCM key must be 16 or 32 bytes")
        self.key = bytearray(key)
        self._aead = AESGCM(bytes(key))

    def seal(self, nonce: Buffer, plaintext: Buffer, data: Buffer) -> bytearray:
        if len(nonce) != self.nonceLength:
            raise ValueError("Bad nonce length")
        return bytearray(self._aead.encrypt(bytes(nonce), plaintext, data))

    def open(self, nonce: Buffer, ciphertext: Buffer, data: Buffer) -> bytearray | None:
        if len(nonce) != self.nonceLength:
            raise ValueError("Bad nonce length")
        if len(ciphertext) < self.tagLength:
            return None
        try:
            return bytearray(self._aead.decrypt(bytes(nonce), ciphertext, data))
        except InvalidTag:
            return None


def create_aesgcm(key: Buffer, implList: Any = None) -> CryptographyAESGCM:
    """Drop-in for ``tlslite.utils.cipherfactory.createAESGCM`` (implList is ignored)."""
    return CryptographyAESGCM(key)


_lock = threading.Lock()
_original: Callable[..., Any] | None = None


def install() -> None:
    """Route tlslite-ng's AES-GCM through ``cryptography`` (idempotent)."""
    global _original
    with _lock:
        if _original is not None:
            return
        if not hasattr(recordlayer, "createAESGCM"):  # pragma: no cover - tlslite-ng changed
            raise RuntimeError("tlslite-ng record layer has no createAESGCM hook")
        _original = recordlayer.createAESGCM
        recordlayer.createAESGCM = create_aesgcm


def installed() -> bool:
    return recordlayer.createAESGCM is create_aesgcm
