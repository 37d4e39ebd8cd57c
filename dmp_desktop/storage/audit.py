"""The local journal of emergency accesses (« bris de glace », « centre 15 »).

No official DMP material says where the reason typed for an emergency access
travels (see ``docs/wire-conventions.md``), so outside the training profile
it does not travel at all: it is kept here, with who, when, for which
patient and in which practice situation, so that the practice can account
for every emergency access. Encrypted like every local file about patients
(:class:`~dmp_desktop.storage.secure.SecureStore`), one file per month,
never logged. The window and the CLI show the reason for the whole session
(homologation rule); this journal is what remains afterwards.
"""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from dmp_desktop.storage.secure import SecureStore

_LOCK = threading.Lock()


@dataclass(frozen=True)
class EmergencyAccess:
    at: str  # ISO 8601, UTC
    professional: str  # national id (idNat_PS)
    structure: str
    patient_ins: str
    purpose: str  # bris_de_glace | centre_15
    reason: str
    transaction: str  # TD0.2, TD3.1, TD3.2…


class EmergencyJournal:
    """Append-only, per month; entries repeated within a session are written once."""

    def __init__(self, store: SecureStore) -> None:
        self._store = store
        self._seen: set[tuple[str, str, str, str]] = set()

    @classmethod
    def open(cls, directory: Path, *, training_mode: bool) -> EmergencyJournal:
        return cls(SecureStore.open(Path(directory), training_mode=training_mode))

    @staticmethod
    def _name(moment: datetime) -> str:
        return f"acces-urgence-{moment:%Y-%m}"

    def record(
        self,
        *,
        professional: str,
        structure: str,
        patient_ins: str,
        purpose: str,
        reason: str,
        transaction: str,
        now: datetime | None = None,
    ) -> bool:
        """Write the access (once per session for the same patient, purpose and reason).

        Returns whether an entry was written. Storage errors come out typed
        (the caller refuses the access rather than lose its reason).
        """
        key = (professional, patient_ins, purpose, reason)
        if key in self._seen:
            return False
        moment = (now or datetime.now(UTC)).astimezone(UTC)
        entry = EmergencyAccess(
            at=moment.isoformat(timespec="seconds"),
            professional=professional,
            structure=structure,
            patient_ins=patient_ins,
            purpose=purpose,
            reason=reason,
            transaction=transaction,
        )
        name = self._name(moment)
        with _LOCK:
            entries: list[dict[str, Any]] = list(self._store.read_json(name) or [])
            entries.append(asdict(entry))
            self._store.write_json(name, entries)
        self._seen.add(key)
        return True

    def entries(self) -> list[EmergencyAccess]:
        """Every entry kept, oldest first."""
        out: list[EmergencyAccess] = []
        for name in self._store.names():
            if name.startswith("acces-urgence-"):
                for raw in self._store.read_json(name) or []:
                    out.append(EmergencyAccess(**raw))
        return sorted(out, key=lambda e: e.at)


__all__ = ["EmergencyAccess", "EmergencyJournal"]
