"""The cache of « L'essentiel »: what the retrieved documents gave, per professional and patient.

One encrypted document per (professional, patient) in a
:class:`~dmp_desktop.storage.secure.SecureStore`, named so that it reveals
neither (:class:`~dmp_desktop.storage.names.PrivateNames`). It holds:

- the facts read from each retrieved document (by unique id; never the
  document itself), so that the next visit shows them without retrieving the
  document again — the DMP traces every retrieval;
- the fingerprints of the lines shown at the previous visit, for the
  « nouveau depuis votre dernière visite » marks, and when that was.

A damaged file or one written by another version is ignored (the documents
are read again when the doctor retrieves them): it never stops the record
from opening. Plain Python, no Qt; called from worker threads.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from dmp_desktop.domain.patient import Ins
from dmp_desktop.essentials.codec import facts_from_dict, facts_to_dict
from dmp_desktop.essentials.model import DocumentFacts
from dmp_desktop.storage.names import PrivateNames
from dmp_desktop.storage.secure import CorruptFileError, SecureStore

log = logging.getLogger(__name__)

_PREFIX = "essentials-"
_FORMAT = 1
MAX_DOCUMENTS = 5_000  # bounds a damaged or hostile file
MAX_FINGERPRINTS = 50_000


@dataclass
class CachedEssentials:
    """What the cache holds for one professional and one patient."""

    documents: dict[str, DocumentFacts] = field(default_factory=dict)
    seen: frozenset[str] | None = None  # fingerprints of the previous visit (None: none yet)
    at: datetime | None = None  # when they were recorded


class EssentialsCache:
    """Reads and writes the cache of « L'essentiel » (atomic writes of the store)."""

    def __init__(self, store: SecureStore) -> None:
        self._store = store
        self._names = PrivateNames(store)

    def name_for(self, professional_id: str, ins: Ins) -> str:
        return self._names.name_for(_PREFIX, professional_id, ins)

    def load(self, professional_id: str, ins: Ins) -> CachedEssentials:
        """What was cached (empty at the first visit or when the file is unusable)."""
        try:
            raw = self._store.read_json(self.name_for(professional_id, ins))
        except (CorruptFileError, ValueError, UnicodeDecodeError, OSError) as exc:
            log.warning("essentials cache unreadable: %s", type(exc).__name__)
            return CachedEssentials()
        if not isinstance(raw, dict) or raw.get("v") != _FORMAT:
            return CachedEssentials()
        out = CachedEssentials()
        documents = raw.get("documents")
        if isinstance(documents, dict):
            for uid, data in list(documents.items())[:MAX_DOCUMENTS]:
                try:
                    out.documents[str(uid)] = facts_from_dict(data)
                except ValueError:
                    continue  # another reader's version: read again when retrieved
        seen = raw.get("seen")
        if isinstance(seen, list):
            out.seen = frozenset(str(s) for s in seen[:MAX_FINGERPRINTS])
        if isinstance(raw.get("at"), str):
            try:
                out.at = datetime.fromisoformat(raw["at"])
            except ValueError:
                out.at = None
        return out

    def save(
        self,
        professional_id: str,
        ins: Ins,
        documents: dict[str, DocumentFacts],
        seen: frozenset[str] | None,
        at: datetime | None,
    ) -> None:
        self._store.write_json(
            self.name_for(professional_id, ins),
            {
                "v": _FORMAT,
                "documents": {uid: facts_to_dict(f) for uid, f in documents.items()},
                "seen": sorted(seen) if seen is not None else None,
                "at": at.isoformat() if at is not None else None,
            },
        )

    def forget(self, professional_id: str, ins: Ins) -> None:
        self._store.delete(self.name_for(professional_id, ins))


__all__ = ["CachedEssentials", "EssentialsCache"]
