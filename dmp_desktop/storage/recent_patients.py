"""The professional's recent patients, kept on this computer, encrypted.

One small encrypted document per professional in a
:class:`~dmp_desktop.storage.secure.SecureStore` (AES-256-GCM, key in the
system keyring). Its name reveals neither who the professional is nor
anything of the patients: a keyed HMAC of the professional's national id
(:class:`~dmp_desktop.storage.names.PrivateNames`). Each
professional sees only their own list: another card opens another file.

What is kept per patient: the INS and its authority, the five strict traits,
the used names, whether the identity is qualified (INSi) and its source, and
when the professional last opened the patient. At most :data:`MAX_RECENT`
patients, most recent first.

Plain Python, no Qt; called from worker threads (file and keyring access may block).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from dmp_desktop.dates import DateFormatError, parse_iso_date, parse_iso_instant
from dmp_desktop.domain.patient import Ins, InsError, InsKind
from dmp_desktop.identity.traits import IdentitySource, IdentityTraits, InsIdentity
from dmp_desktop.settings import Settings
from dmp_desktop.storage.names import PrivateNames
from dmp_desktop.storage.secure import SecureStore

_PREFIX = "recent-"
_FORMAT = 1
MAX_RECENT = 30


@dataclass(frozen=True)
class RecentPatient:
    identity: InsIdentity
    opened_at: datetime


def _to_json(item: RecentPatient) -> dict[str, Any]:
    identity, traits = item.identity, item.identity.traits
    return {
        "ins": identity.ins.value,
        "oid": identity.ins.oid,
        "birth_name": traits.birth_name,
        "given_names": list(traits.given_names),
        "complete": traits.given_names_complete,
        "sex": traits.sex,
        "birth_date": traits.birth_date.isoformat(),
        "birthplace": traits.birthplace,
        "qualified": identity.qualified,
        "source": identity.source.value,
        "used_name": identity.used_name,
        "used_given_name": identity.used_given_name,
        "at": item.opened_at.isoformat(),
    }


def _text(raw: dict[str, Any], key: str) -> str | None:
    value = raw.get(key)
    return value[:200] if isinstance(value, str) and value else None


def _from_json(raw: object) -> RecentPatient | None:
    """One kept patient; None for an entry that cannot be read (skipped, never fatal)."""
    if not isinstance(raw, dict):
        return None
    try:
        ins = Ins(str(raw["ins"]), InsKind.from_oid(str(raw["oid"])))
        given = raw.get("given_names")
        traits = IdentityTraits(
            birth_name=str(raw["birth_name"])[:200],
            given_names=tuple(str(g)[:100] for g in given[:20]) if isinstance(given, list) else (),
            sex=str(raw.get("sex", "U"))[:1] or "U",
            birth_date=parse_iso_date(str(raw["birth_date"])),
            birthplace=_text(raw, "birthplace"),
            given_names_complete=bool(raw.get("complete")),
        )
        source = IdentitySource(str(raw.get("source", "dmp")))
        opened = parse_iso_instant(str(raw["at"]))
    except (KeyError, ValueError, InsError, TypeError, DateFormatError):
        return None
    identity = InsIdentity(
        ins,
        traits,
        source,
        qualified=bool(raw.get("qualified")) and source is IdentitySource.INSI,
        used_name=_text(raw, "used_name"),
        used_given_name=_text(raw, "used_given_name"),
    )
    return RecentPatient(identity, opened)


class RecentPatients:
    """Reads and records the patients a professional opened from this computer."""

    def __init__(self, store: SecureStore) -> None:
        self._store = store
        self._names = PrivateNames(store)
        self._lock = threading.RLock()

    def name_for(self, professional_id: str) -> str:
        return self._names.name_for_professional(_PREFIX, professional_id)

    def load(self, professional_id: str) -> list[RecentPatient]:
        """The professional's recent patients, most recent first (empty at first use)."""
        raw = self._store.read_json(self.name_for(professional_id))
        if not isinstance(raw, dict) or raw.get("v") != _FORMAT:
            return []
        items = raw.get("patients")
        if not isinstance(items, list):
            return []
        found = [p for p in (_from_json(i) for i in items[:MAX_RECENT]) if p is not None]
        return sorted(found, key=lambda p: p.opened_at, reverse=True)

    def record(
        self, professional_id: str, identity: InsIdentity, when: datetime | None = None
    ) -> list[RecentPatient]:
        """Put ``identity`` first (replacing its previous entry); returns the new list.

        A qualified identity is never replaced by an unqualified copy of the
        same INS: the qualified traits are kept.
        """
        with self._lock:
            current = self.load(professional_id)
            previous = next((p for p in current if p.identity.ins == identity.ins), None)
            if previous is not None and previous.identity.qualified and not identity.qualified:
                identity = previous.identity
            kept = [p for p in current if p.identity.ins != identity.ins]
            entry = RecentPatient(identity, when or datetime.now(UTC))
            items = [entry, *kept][:MAX_RECENT]
            self._store.write_json(
                self.name_for(professional_id),
                {"v": _FORMAT, "patients": [_to_json(p) for p in items]},
            )
            return items

    def forget(self, professional_id: str, ins: Ins | None = None) -> None:
        """Forget one patient (``ins``), or the whole list."""
        with self._lock:
            if ins is None:
                self._store.delete(self.name_for(professional_id))
                return
            items = [p for p in self.load(professional_id) if p.identity.ins != ins]
            self._store.write_json(
                self.name_for(professional_id),
                {"v": _FORMAT, "patients": [_to_json(p) for p in items]},
            )


def open_recent_patients(settings: Settings) -> RecentPatients:
    """The recent patients of this computer (folder ``patients`` of the local data)."""
    store = SecureStore.open(
        settings.local_data_dir() / "patients", training_mode=settings.training_mode
    )
    return RecentPatients(store)


__all__ = ["MAX_RECENT", "RecentPatient", "RecentPatients", "open_recent_patients"]
