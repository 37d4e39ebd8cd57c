"""Where the doctor was when the card left the reader, sealed so that only that card opens it.

Pulling the card out must leave nothing of the patient readable in memory (the
next person at the desk sees nothing). Putting the same card back and typing
the PIN should bring the doctor back where they were: the same patient, the
same documents open. Both hold with a seal:

* while the session is open, the card signs a fixed challenge once (raw
  PKCS#1 v1.5, deterministic: the same card always gives the same signature);
  its SHA-256 is the sealing key, kept in memory for the session only;
* when the card leaves, the resume point (INS, open documents' unique ids) is
  encrypted with that key (AES-GCM) and the key is dropped: what stays is
  ciphertext;
* after the next login, the new card session signs the challenge again: the
  same card finds the same key and opens the point; another card (or a point
  older than :data:`RESUME_WINDOW_S`) opens nothing.

Qt-free; the window runs :meth:`SessionSeal.derive` on a worker (the card signs).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

# cryptography where used: the window holds a seal from its start (before its first paint),
# and seals or opens one only once a card session exists (cryptography loaded by then).

RESUME_WINDOW_S = 15 * 60  # a card put back later starts afresh
# DER DigestInfo prefix for SHA-256 (RFC 8017, section 9.2, note 1).
_SHA256_DIGEST_INFO = bytes.fromhex("3031300d060960864801650304020105000420")


class SigningCard(Protocol):
    def sign_auth_pkcs1(self, digest_info: bytes) -> bytes: ...


@dataclass(frozen=True)
class ResumePoint:
    """What to bring back: the patient's INS, the documents open (unique ids), the current one."""

    ins: str
    ins_root: str
    documents: tuple[str, ...] = ()
    current: str | None = None

    def to_bytes(self) -> bytes:
        return json.dumps(
            {
                "ins": self.ins,
                "root": self.ins_root,
                "documents": list(self.documents),
                "current": self.current,
            }
        ).encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> ResumePoint:
        raw = json.loads(data)
        return cls(
            str(raw["ins"]),
            str(raw["root"]),
            tuple(str(d) for d in raw.get("documents", ())),
            raw.get("current"),
        )


@dataclass(frozen=True)
class _Sealed:
    challenge: bytes
    nonce: bytes
    ciphertext: bytes
    at: float


class SessionSeal:
    """One window's seal: the key of the open session, and the point left by the last one."""

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._challenge = os.urandom(32)  # per program run: a copied blob is useless elsewhere
        self._key: bytes | None = None
        self._sealed: _Sealed | None = None
        self._clock = clock

    @property
    def armed(self) -> bool:
        return self._key is not None

    @property
    def has_point(self) -> bool:
        return self._sealed is not None

    def derive(self, card: SigningCard) -> bytes:
        """The card's key for this run (call off the UI thread: the card signs)."""
        import hashlib  # here: OpenSSL's loading is not paid before the window's first paint

        digest_info = _SHA256_DIGEST_INFO + hashlib.sha256(self._challenge).digest()
        return hashlib.sha256(b"dmp-desktop resume\0" + card.sign_auth_pkcs1(digest_info)).digest()

    def arm(self, key: bytes) -> None:
        """The open session's key (from :meth:`derive`)."""
        self._key = key

    def disarm(self) -> None:
        self._key = None

    def seal(self, point: ResumePoint | None) -> None:
        """The card left: keep ``point`` encrypted, drop the key."""
        key, self._key = self._key, None
        self._sealed = None
        if key is None or point is None:
            return
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        nonce = os.urandom(12)
        ciphertext = AESGCM(key).encrypt(nonce, point.to_bytes(), self._challenge)
        self._sealed = _Sealed(self._challenge, nonce, ciphertext, self._clock())

    def forget(self) -> None:
        self._sealed = None

    def open(self, key: bytes) -> ResumePoint | None:
        """The point left by this same card (``key`` from the new session), once; else None."""
        sealed, self._sealed = self._sealed, None
        if sealed is None or self._clock() - sealed.at > RESUME_WINDOW_S:
            return None
        from cryptography.exceptions import InvalidTag
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        try:
            data = AESGCM(key).decrypt(sealed.nonce, sealed.ciphertext, sealed.challenge)
        except InvalidTag:  # another card
            return None
        return ResumePoint.from_bytes(data)


__all__ = ["RESUME_WINDOW_S", "ResumePoint", "SessionSeal"]
