"""What a professional has already seen of a patient's DMP: "new since your last consultation".

One small encrypted document per (professional, patient) in a
:class:`~dmp_desktop.storage.secure.SecureStore`. Its name must not reveal who
the patient is (:class:`~dmp_desktop.storage.names.PrivateNames`): without the
keyring, neither the names nor the contents mean anything.

Plain Python, no Qt; called from worker threads (file and keyring access may block).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from dmp_desktop.domain.patient import Ins
from dmp_desktop.storage.names import PrivateNames
from dmp_desktop.storage.secure import SecureStore

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
        self._names = PrivateNames(store)

    def name_for(self, professional_id: str, ins: Ins) -> str:
        """The storage name of one (professional, patient) pair: reveals neither."""
        return self._names.name_for(_PREFIX, professional_id, ins)

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
