"""Drafts of the medical summary (VSM): encrypted, crash-safe, saved while the doctor types.

A draft is what the editor holds: the patient's identity traits as far as they
are known (:class:`PatientHeader`: the DMP's answer gives the birth name,
first given name, birth date and sex; the doctor completes the rest), the
summary's clinical content (:class:`MedicalSummary`) and the texts of fields
that could not be read yet (a date typed halfway).

:class:`DraftStore` keeps one draft per professional and patient in a
:class:`~dmp_desktop.storage.secure.SecureStore` (AES-GCM, key in the system
keyring, atomic writes): a ``kill -9`` leaves the previous or the new draft,
never a torn file. File names are a keyed hash of the professional and the
INS, so the folder does not reveal who the patients are; the naming key is
itself kept encrypted in the store.

:class:`DraftAutosaver` (Qt) saves about one second after the last change,
on a worker thread, and synchronously on :meth:`DraftAutosaver.flush` (when
the editor closes). Nothing here logs a name, an INS or a text.
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import hmac
import json
import logging
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from dmp_desktop.dates import paris_now, parse_iso_date
from dmp_desktop.domain.dmp_status import DmpStatus
from dmp_desktop.domain.patient import Ins, InsError, InsKind
from dmp_desktop.domain.summary import (
    CareProvider,
    Gender,
    MedicalSummary,
    PatientIdentity,
    SummaryFormatError,
    summary_from_dict,
    summary_to_dict,
)
from dmp_desktop.errors import describe
from dmp_desktop.services.operations import Operation, OperationRunner
from dmp_desktop.settings import Settings
from dmp_desktop.storage.secure import CorruptFileError, SecureStore

log = logging.getLogger(__name__)

DRAFT_FORMAT = "dmp-desktop/vsm-draft/1"
DRAFTS_FOLDER = "drafts"
NAMING_KEY_ENTRY = "naming-key"
DRAFT_PREFIX = "vsm-"
DEFAULT_AUTOSAVE_MS = 1000

# Stand-ins used only to read the stored JSON back with summary_from_dict; the
# real patient and author replace them at once (see _read_draft).
_STUB_PATIENT_DATE = "1900-01-01"
_STUB_AUTHOR: dict[str, Any] = {
    "practitioner": {"national_id": "0", "family_name": "-", "given_name": "-"},
    "structure": {"id": "0", "name": "-"},
}


class DraftUnreadableError(CorruptFileError):
    """A draft was decrypted but is not a draft this version can read."""


# --- the patient as the editor knows it ------------------------------------------------------


_GENDER_CODES = {"F": Gender.FEMALE, "M": Gender.MALE, "U": Gender.UNKNOWN, "UN": Gender.UNKNOWN}
_GENDER_NAMES = {Gender.FEMALE: "F", Gender.MALE: "M", Gender.UNKNOWN: "U"}


@dataclass
class PatientHeader:
    """The INS traits the VSM header needs, possibly incomplete while the doctor types.

    ``birth_given_names`` are every first name of the birth certificate in
    order; ``birthplace_code`` is the INSEE (COG) code of the birthplace.
    """

    ins: Ins
    birth_family_name: str = ""
    birth_given_names: list[str] = field(default_factory=list)
    birth_date: date | None = None
    gender: Gender | None = None
    birthplace_code: str | None = None
    used_family_name: str | None = None
    used_given_name: str | None = None

    @classmethod
    def from_status(cls, status: DmpStatus) -> PatientHeader:
        """What the DMP's answer (TD0.2) tells: birth name, first given name, birth date, sex."""
        given = (status.patient_given_name or "").strip()
        return cls(
            ins=status.ins,
            birth_family_name=(status.patient_family_name or "").strip(),
            birth_given_names=[given] if given else [],
            birth_date=status.patient_birth_date,
            gender=_GENDER_CODES.get((status.patient_gender or "").upper()),
        )

    @classmethod
    def from_identity(cls, identity: PatientIdentity) -> PatientHeader:
        return cls(
            ins=identity.ins,
            birth_family_name=identity.birth_family_name,
            birth_given_names=list(identity.birth_given_names),
            birth_date=identity.birth_date,
            gender=identity.gender,
            birthplace_code=identity.birthplace_code,
            used_family_name=identity.used_family_name,
            used_given_name=identity.used_given_name,
        )

    def completed_from(self, identity: PatientIdentity) -> PatientHeader:
        """Fill what is missing from another document about the same patient (same INS).

        What is already known wins; the other document's given names are taken
        when they start with the first given name known (they complete it).
        """
        if identity.ins.value != self.ins.value:
            return self
        given = list(self.birth_given_names)
        theirs = [g for g in identity.birth_given_names if g.strip()]
        if not given or (
            theirs and len(theirs) > len(given) and theirs[0].casefold() == given[0].casefold()
        ):
            given = theirs or given
        return replace(
            self,
            birth_family_name=self.birth_family_name or identity.birth_family_name,
            birth_given_names=given,
            birth_date=self.birth_date or identity.birth_date,
            gender=self.gender or identity.gender,
            birthplace_code=self.birthplace_code or identity.birthplace_code,
            used_family_name=self.used_family_name or identity.used_family_name,
            used_given_name=self.used_given_name or identity.used_given_name,
        )

    @property
    def display_name(self) -> str:
        family = (self.used_family_name or self.birth_family_name).upper()
        given = self.used_given_name or (
            self.birth_given_names[0] if self.birth_given_names else ""
        )
        return f"{family} {given.title()}".strip()

    def missing(self) -> list[str]:
        """Fields the header cannot do without and that are not known (not checked by the CDA)."""
        out = []
        if self.birth_date is None:
            out.append("birth_date")
        if self.gender is None:
            out.append("gender")
        return out

    def identity(self) -> PatientIdentity | None:
        """The identity for the document, or None while the birth date or the sex is unknown."""
        if self.birth_date is None or self.gender is None:
            return None
        return self._identity(self.birth_date, self.gender)

    def stand_in(self) -> PatientIdentity:
        """An identity for checks and previews while the header is incomplete.

        The unknown birth date is a placeholder the preview removes; the
        unknown sex is "inconnu". Never used to build a document to send.
        """
        return self._identity(self.birth_date or date(1900, 1, 1), self.gender or Gender.UNKNOWN)

    def _identity(self, birth_date: date, gender: Gender) -> PatientIdentity:
        return PatientIdentity(
            ins=self.ins,
            birth_family_name=self.birth_family_name,
            birth_given_names=list(self.birth_given_names),
            birth_date=birth_date,
            gender=gender,
            birthplace_code=self.birthplace_code or None,
            used_family_name=self.used_family_name or None,
            used_given_name=self.used_given_name or None,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "ins": self.ins.value,
            "ins_oid": self.ins.oid,
            "birth_family_name": self.birth_family_name,
            "birth_given_names": list(self.birth_given_names),
            "birth_date": self.birth_date.isoformat() if self.birth_date else None,
            "gender": _GENDER_NAMES[self.gender] if self.gender else None,
            "birthplace_code": self.birthplace_code,
            "used_family_name": self.used_family_name,
            "used_given_name": self.used_given_name,
        }

    @classmethod
    def from_dict(cls, data: Any) -> PatientHeader:
        if not isinstance(data, dict):
            raise ValueError("header")
        ins = Ins(str(data["ins"]), InsKind.from_oid(str(data["ins_oid"])))
        birth = data.get("birth_date")
        gender = data.get("gender")
        return cls(
            ins=ins,
            birth_family_name=str(data.get("birth_family_name") or ""),
            birth_given_names=[str(g) for g in data.get("birth_given_names") or []],
            birth_date=parse_iso_date(birth) if birth else None,
            gender=_GENDER_CODES[gender] if gender else None,
            birthplace_code=data.get("birthplace_code") or None,
            used_family_name=data.get("used_family_name") or None,
            used_given_name=data.get("used_given_name") or None,
        )


# --- a draft ---------------------------------------------------------------------------------


@dataclass
class VsmDraft:
    """Everything the editor holds for one patient.

    ``summary.patient`` is :meth:`PatientHeader.stand_in` while the header is
    incomplete; ``header`` is the truth. ``unparsed`` keeps, by model path
    (``active_problems[0].onset``), the text of fields that are not readable
    yet, so that a half-typed date survives a crash too.
    """

    header: PatientHeader
    summary: MedicalSummary
    unparsed: dict[str, str] = field(default_factory=dict)
    saved_at: datetime | None = None


def draft_to_bytes(draft: VsmDraft, saved_at: datetime) -> bytes:
    content = summary_to_dict(draft.summary)
    content.pop("patient", None)
    content.pop("author", None)  # the author is whoever holds the card when the draft opens
    data = {
        "format": DRAFT_FORMAT,
        "saved_at": saved_at.isoformat(),
        "header": draft.header.to_dict(),
        "unparsed": dict(draft.unparsed),
        "summary": content,
    }
    return json.dumps(data, ensure_ascii=False).encode("utf-8")


def draft_from_bytes(name: str, raw: bytes, author: CareProvider) -> VsmDraft:
    """Read a stored draft; ``author`` becomes the summary's author."""
    try:
        data = json.loads(raw.decode("utf-8"))
        if not isinstance(data, dict) or data.get("format") != DRAFT_FORMAT:
            raise ValueError("format")
        header = PatientHeader.from_dict(data["header"])
        content = dict(data["summary"])
        stub = header.to_dict()
        content["patient"] = {
            "ins": header.ins.value,
            "ins_kind": _INS_KIND_NAMES[header.ins.kind],
            "birth_family_name": stub["birth_family_name"] or "-",
            "birth_given_names": stub["birth_given_names"] or ["-"],
            "birth_date": _STUB_PATIENT_DATE,
            "gender": "U",
        }
        content["author"] = _STUB_AUTHOR
        summary = summary_from_dict(content)
        unparsed = data.get("unparsed") or {}
        if not isinstance(unparsed, dict):
            raise ValueError("unparsed")
        saved = data.get("saved_at")
        saved_at = datetime.fromisoformat(saved) if isinstance(saved, str) else None
    except (ValueError, KeyError, TypeError, InsError, SummaryFormatError) as exc:
        raise DraftUnreadableError(name) from exc
    summary.patient = header.stand_in()
    summary.author = author
    return VsmDraft(
        header=header,
        summary=summary,
        unparsed={str(k): str(v) for k, v in unparsed.items()},
        saved_at=saved_at,
    )


_INS_KIND_NAMES = {
    InsKind.NIR: "nir",
    InsKind.NIA: "nia",
    InsKind.TEST_NIR: "test_nir",
    InsKind.DEMO_NIR: "demo_nir",
}


# --- the store -------------------------------------------------------------------------------


class DraftStore:
    """One encrypted draft per (professional, patient), named by a keyed hash.

    Built on a :class:`SecureStore`, or on a way to open one: then the store (and
    the keyring that holds its key) is opened on first use, from the thread that
    uses it first — :meth:`ready` on a worker when the editor opens, so that the
    UI thread never waits for the keyring.
    """

    def __init__(
        self, store: SecureStore | Callable[[], SecureStore], directory: Path | None = None
    ) -> None:
        if isinstance(store, SecureStore):
            self._opened: SecureStore | None = store
            self._opener: Callable[[], SecureStore] | None = None
            self._directory = store.directory
        else:
            self._opened, self._opener = None, store
            self._directory = directory or Path()
        self._naming_key: bytes | None = None
        self._lock = threading.Lock()
        self._open_lock = threading.Lock()

    @classmethod
    def open(cls, settings: Settings) -> DraftStore:
        """The drafts folder of the local data directory, opened on first use (that use
        may raise KeyUnavailableError)."""
        folder = Path(settings.local_data_dir()) / DRAFTS_FOLDER
        return cls(lambda: SecureStore.open(folder, training_mode=settings.training_mode), folder)

    @property
    def _store(self) -> SecureStore:
        with self._open_lock:
            if self._opened is None:
                assert self._opener is not None  # noqa: S101 - one of the two is given
                self._opened = self._opener()
            return self._opened

    def ready(self) -> None:
        """Open the store now (reads the keyring: call it from a worker)."""
        self._store  # noqa: B018 - opening is the point

    @property
    def directory(self) -> Path:
        return self._directory

    def _key(self) -> bytes:
        with self._lock:
            if self._naming_key is None:
                key = self._store.read_bytes(NAMING_KEY_ENTRY)
                if key is None or len(key) != 32:
                    key = secrets.token_bytes(32)
                    self._store.write_bytes(NAMING_KEY_ENTRY, key)
                self._naming_key = key
            return self._naming_key

    def name_for(self, author_id: str, ins: Ins) -> str:
        """The file name of a draft: reveals neither the patient nor the professional."""
        message = f"{author_id}|{ins.oid}|{ins.value}".encode()
        digest = hmac.new(self._key(), message, hashlib.sha256).hexdigest()
        return f"{DRAFT_PREFIX}{digest[:40]}"

    def write(self, name: str, payload: bytes) -> None:
        self._store.write_bytes(name, payload)

    def save(self, author_id: str, draft: VsmDraft, saved_at: datetime | None = None) -> datetime:
        when = saved_at or paris_now()
        self.write(self.name_for(author_id, draft.header.ins), draft_to_bytes(draft, when))
        return when

    def load(self, author: CareProvider, ins: Ins) -> VsmDraft | None:
        """The draft of this professional for this patient, or None.

        Raises :class:`CorruptFileError` (or its :class:`DraftUnreadableError`)
        when a draft exists but cannot be read; the file is left in place.
        """
        name = self.name_for(author.practitioner.national_id, ins)
        raw = self._store.read_bytes(name)
        if raw is None:
            return None
        draft = draft_from_bytes(name, raw, author)
        if draft.header.ins != ins:
            raise DraftUnreadableError(name)
        return draft

    def delete(self, author_id: str, ins: Ins) -> None:
        self._store.delete(self.name_for(author_id, ins))

    def count(self) -> int:
        return sum(1 for name in self._store.names() if name.startswith(DRAFT_PREFIX))


# --- saving as the doctor types ----------------------------------------------------------------


class DraftAutosaver(QObject):
    """Saves the editor's draft ``delay_ms`` after the last change, and at once on flush().

    ``snapshot`` is called on the UI thread and returns the draft to save.
    Serialising happens on the UI thread (cheap); encrypting and writing with
    fsync on a worker thread of its own, as an :class:`Operation`, so that
    saves reach the disk in order. A save never overwrites a newer one.
    """

    saved = Signal(object)  # datetime of the save now on disk
    failed = Signal(str)  # French message

    def __init__(
        self,
        store: DraftStore,
        author_id: str,
        snapshot: Callable[[], VsmDraft],
        runner: OperationRunner,
        *,
        delay_ms: int = DEFAULT_AUTOSAVE_MS,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._store = store
        self._author_id = author_id
        self._snapshot = snapshot
        self._runner = runner
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(delay_ms)
        self._timer.timeout.connect(self.save_soon_now)
        self._executor = concurrent.futures.ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="dmp-draft"
        )
        self._write_lock = threading.Lock()
        self._changes = 0  # generation of the latest change
        self._on_disk = 0  # generation last written
        self._closed = False
        self.last_saved: datetime | None = None

    @property
    def dirty(self) -> bool:
        """Changes not yet on disk."""
        with self._write_lock:
            return self._changes > self._on_disk

    @property
    def pending(self) -> bool:
        return self._timer.isActive()

    def changed(self) -> None:
        """Something changed: save about ``delay_ms`` from now (the timer restarts)."""
        if self._closed:
            return
        self._changes += 1
        self._timer.start()

    def save_soon_now(self) -> None:
        """Save now, off the UI thread."""
        self._timer.stop()
        if self._closed or not self.dirty:
            return
        generation = self._changes
        name, payload, when = self._prepare()
        op: Operation[datetime | None] = Operation(
            "Enregistrement du brouillon",
            lambda: self._write(generation, name, payload, when),
            self._on_saved,
            self._on_failed,
            silent=True,
            cancellable=False,
        )
        try:
            self._runner.run(op, submit=self._executor.submit)
        except RuntimeError:  # the runner is shut down: the application is closing
            self.flush()

    def flush(self) -> bool:
        """Write pending changes now, in the calling thread; True when the disk is up to date."""
        self._timer.stop()
        if not self.dirty:
            return True
        generation = self._changes
        try:
            name, payload, when = self._prepare()
            written = self._write(generation, name, payload, when)
        except Exception as exc:
            self._on_failed(exc)
            return False
        self._on_saved(written)
        return True

    def discard(self) -> None:
        """Forget pending changes and delete the draft on disk."""
        self._timer.stop()
        with self._write_lock:
            self._on_disk = self._changes = max(self._changes, self._on_disk) + 1
            draft = self._snapshot()
            self._store.delete(self._author_id, draft.header.ins)
        self.last_saved = None

    def stop(self) -> None:
        """Stop saving without writing (the store cannot be used on this computer)."""
        self._timer.stop()
        self._closed = True
        self._executor.shutdown(wait=False)

    def close(self) -> bool:
        """Flush, then stop the worker (idempotent)."""
        if self._closed:
            return True
        ok = self.flush()
        self._closed = True
        self._executor.shutdown(wait=True)
        return ok

    def _prepare(self) -> tuple[str, bytes, datetime]:
        draft = self._snapshot()
        when = paris_now()
        return (
            self._store.name_for(self._author_id, draft.header.ins),
            draft_to_bytes(draft, when),
            when,
        )

    def _write(self, generation: int, name: str, payload: bytes, when: datetime) -> datetime | None:
        with self._write_lock:
            if generation <= self._on_disk:
                return None  # a newer save (or a discard) got there first
            self._store.write(name, payload)
            self._on_disk = generation
        return when

    def _on_saved(self, when: datetime | None) -> None:
        if when is not None:
            self.last_saved = when
            self.saved.emit(when)

    def _on_failed(self, exc: BaseException) -> None:
        log.warning("draft save failed: %s", type(exc).__name__)
        self.failed.emit(describe(exc))
