"""What a professional has already seen of a patient's DMP: "new since your last consultation".

One small encrypted document per (professional, patient) in a
:class:`~dmp_desktop.storage.secure.SecureStore`. Its name must not reveal who
the patient is: it is a keyed HMAC of the professional's id and the INS. The
HMAC key is random, created on first use and kept in the same store, hence
encrypted with the store key (itself in the system keyring): without the
keyring, neither the names nor the contents mean anything.

Plain Python, no Qt; called from worker threads (file and keyring access may block).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from dmp_desktop.domain.patient import Ins
from dmp_desktop.storage.secure import SecureStore

_KEY_NAME = "last-seen-key"
_PREFIX = "seen-"
_FORMAT = 1
# A DMP rarely holds more than a few hundred documents; this bounds a damaged or hostile file.
MAX_IDS = 20_000


@dataclass(frozen=True)
class LastSeen:
    """The documents (unique ids) seen at the previous consultations, and when."""

    unique_ids: frozenset[str]
    at: datetime | None = None

    def new_among(self, unique_ids: Iterable[str]) -> set[str]:
        """The ids not seen before."""
        return {uid for uid in unique_ids if uid not in self.unique_ids}


class LastSeenStore:
    """Reads and records the documents a professional has seen in a patient's DMP."""

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

    def name_for(self, professional_id: str, ins: Ins) -> str:
        """The storage name of one (professional, patient) pair: reveals neither."""
        message = f"{professional_id}\x1f{ins.oid}\x1f{ins.value}".encode()
        digest = hmac.new(self._key(), message, hashlib.sha256).hexdigest()
        return f"{_PREFIX}{digest[:40]}"

    def load(self, professional_id: str, ins: Ins) -> LastSeen | None:
        """What was seen before, or None at the first consultation from this computer."""
        raw = self._store.read_json(self.name_for(professional_id, ins))
        if not isinstance(raw, dict) or raw.get("v") != _FORMAT:
            return None
        ids = raw.get("ids")
        if not isinstance(ids, list):
            return None
        at = None
        if isinstance(raw.get("at"), str):
            try:
                at = datetime.fromisoformat(raw["at"])
            except ValueError:
                at = None
        return LastSeen(frozenset(str(i) for i in ids[:MAX_IDS]), at)

    def record(
        self,
        professional_id: str,
        ins: Ins,
        unique_ids: Iterable[str],
        when: datetime | None = None,
    ) -> LastSeen:
        """Add ``unique_ids`` to what was seen (never forgets an id); returns the new state."""
        previous = self.load(professional_id, ins)
        seen = set(previous.unique_ids) if previous is not None else set()
        seen.update(unique_ids)
        at = when or datetime.now(UTC)
        ordered = sorted(seen)[:MAX_IDS]
        self._store.write_json(
            self.name_for(professional_id, ins),
            {"v": _FORMAT, "ids": ordered, "at": at.isoformat()},
        )
        return LastSeen(frozenset(ordered), at)

    def forget(self, professional_id: str, ins: Ins) -> None:
        self._store.delete(self.name_for(professional_id, ins))


__all__ = ["MAX_IDS", "LastSeen", "LastSeenStore"]
