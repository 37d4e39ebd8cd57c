"""Storage names that reveal neither the professional nor the patient.

A file about one (professional, patient) pair is named by a keyed HMAC of
the professional's id and the INS. The HMAC key is random, created on first
use and kept in the same encrypted store (hence under the store key, itself
in the system keyring): without the keyring, the names mean nothing.
Used by the « last seen » state, the cache of « L'essentiel » and the
recent patients (a file per professional).

Plain Python, no Qt; thread-safe.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading

from dmp_desktop.domain.patient import Ins
from dmp_desktop.storage.secure import SecureStore

_KEY_NAME = "last-seen-key"  # kept: files named before this module keep their names


class PrivateNames:
    """Names of per-(professional, patient) files in one :class:`SecureStore`."""

    def __init__(self, store: SecureStore) -> None:
        self._store = store
        self._lock = threading.Lock()
        self._hmac_key: bytes | None = None

    def _key(self) -> bytes:
        with self._lock:
            if self._hmac_key is None:
                key = self._store.read_bytes(_KEY_NAME)
                if key is None or len(key) != 32:
                    key = secrets.token_bytes(32)
                    self._store.write_bytes(_KEY_NAME, key)
                self._hmac_key = key
            return self._hmac_key

    def name_for(self, prefix: str, professional_id: str, ins: Ins) -> str:
        """``prefix`` + 40 hex digits: the same pair always gives the same name."""
        return self._name(prefix, f"{professional_id}\x1f{ins.oid}\x1f{ins.value}")

    def name_for_professional(self, prefix: str, professional_id: str) -> str:
        """A file about one professional only (their recent patients)."""
        return self._name(prefix, professional_id)

    def _name(self, prefix: str, message: str) -> str:
        digest = hmac.new(self._key(), message.encode(), hashlib.sha256).hexdigest()
        return f"{prefix}{digest[:40]}"
