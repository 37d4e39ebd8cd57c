"""Feeding the patient's DMP, once for both doors: who may send, the patient's objection,
the outbox and who owns what waits in it.

The rules:

* **Who may send** (:func:`upload_refusal`): a card holder, to a patient
  whose DMP exists and is open; a professional needs the patient's
  authorisation (and is not blocked); a staff card sends for a professional
  of the practice and the DMP checks that professional's rights.
* **The patient's objection** is remembered by the file's SHA-256, per
  patient, encrypted (:class:`ObjectionStore`); every upload of a file —
  through the window or the ``dmp`` command — is checked against it
  (:meth:`UploadDesk.queue`), and withdrawing an item of the outbox because
  the patient objects records the objection (:meth:`UploadDesk.withdraw`).
* **Pending uploads belong to the card holder who prepared them**: the
  outbox is listed, sent, discarded or withdrawn only with that card
  (:meth:`UploadDesk.pending`, :meth:`UploadDesk.item`); without a card,
  nothing of it is shown.
* **The parapheur**: a secretary's card (staff) feeds the DMP for a
  professional of the practice, and the DMP wants that professional's
  signature on the submission. Her upload is checked as any other, then waits
  « à signer par Dr X » (:meth:`UploadDesk.queue`); Dr X's card, and only his,
  signs every upload waiting for him in one go (:meth:`UploadDesk.to_sign`,
  :meth:`UploadDesk.sign`, :meth:`UploadDesk.sign_and_send`); a signed upload
  is then sent by the secretary's session (:meth:`UploadDesk.resume`) or by
  his. The secretary sees hers waiting; Dr X sees only those filed for him.
* Nothing is lost nor sent twice: that is the outbox's own promise
  (:mod:`dmp_desktop.alimentation.outbox`).

:class:`UploadDesk` holds the local encrypted stores (outbox, objections,
favourite document types), opened on first use, from any thread; the window
calls it from worker threads, the ``dmp`` command directly.
"""

from __future__ import annotations

import enum
import hashlib
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Protocol

from dmp_desktop.alimentation import (
    MAX_SOURCE_BYTES,
    MEDIA_CDA,
    Outbox,
    OutboxItem,
    OutboxState,
    UploadRequest,
    check_upload,
)
from dmp_desktop.alimentation.convert import check_source
from dmp_desktop.dates import paris_today
from dmp_desktop.dmp.feed_errors import (
    OutboxItemGoneError,
    SignatureAwaitedError,
    UploadInvalidError,
)
from dmp_desktop.domain.dmp_status import Authorization, DmpState, DmpStatus
from dmp_desktop.domain.document import DocumentEntry
from dmp_desktop.domain.patient import Ins, InsKind
from dmp_desktop.domain.practitioner import Practitioner
from dmp_desktop.domain.summary import Gender, PatientIdentity
from dmp_desktop.errors import CardError, DmpDesktopError
from dmp_desktop.identity.traits import InsIdentity
from dmp_desktop.settings import Settings
from dmp_desktop.storage.secure import SecureStore
from dmp_desktop.usecases.errors import NotYourUploadError, ObjectionError, UploadRefusedError
from dmp_desktop.usecases.patients import reference_identity

log = logging.getLogger(__name__)

OBJECTIONS_FILE = "objections"
TYPE_USAGE_FILE = "type-usage"
MAX_FAVOURITE_TYPES = 6
_GENDERS = {"F": Gender.FEMALE, "M": Gender.MALE, "U": Gender.UNKNOWN}


# -- identity coherence ---------------------------------------------------------------------------
def check_identity(reference: InsIdentity, req: UploadRequest) -> None:
    """What ``req`` will send (CDA header, XDS metadata) names the patient of ``reference``
    (dmp_desktop.identity.coherence); raises IdentityMismatchError."""
    from dmp_desktop.identity.coherence import check_request

    check_request(reference, req)


# -- who may send --------------------------------------------------------------------------------
def upload_refusal(status: DmpStatus | None, practitioner: Practitioner | None) -> str | None:
    """Why nothing can be sent to this patient's DMP now (a code of
    :class:`~dmp_desktop.usecases.errors.UploadRefusedError`), or None."""
    if practitioner is None:
        return "no_card"
    if status is None:
        return "no_status"
    if status.state is DmpState.NONE:
        return "no_dmp"
    if status.state is DmpState.CLOSED:
        return "closed"
    if practitioner.is_staff:
        return None  # the DMP checks the authors' authorisations
    if status.authorization is Authorization.INTERDIT:
        return "blocked"
    if status.authorization is not Authorization.VALIDE:
        return "no_authorisation"
    return None


def require_upload_allowed(status: DmpStatus | None, practitioner: Practitioner | None) -> None:
    refusal = upload_refusal(status, practitioner)
    if refusal is not None:
        raise UploadRefusedError(refusal)


@dataclass(frozen=True)
class Visibility:
    """The three choices, always made explicitly."""

    masked: bool
    invisible_patient: bool
    invisible_legal_reps: bool


def birthplace_from_ins(ins: Ins) -> str | None:
    """The INSEE code of the birthplace a NIR carries (its 6th to 10th characters).

    A NIR of someone born in France holds the department and the commune of
    birth; born abroad, ``99`` and the country code: both are the COG code
    the CDA header wants. A NIA or a temporary number (7, 8) says nothing.
    It is a starting point the doctor can correct, not the INSi's answer.
    """
    if ins.kind is InsKind.NIA or ins.value[0] not in "12":
        return None
    code = ins.value[5:10].upper()
    return code if len(code) == 5 else None


def same_ins(a: Ins, b: Ins) -> bool:
    return a.value == b.value and a.kind is b.kind


def is_author(entry: DocumentEntry, practitioner: Practitioner | None) -> bool:
    return practitioner is not None and any(
        a.national_id == practitioner.national_id for a in entry.authors
    )


@dataclass(frozen=True)
class UploadContext:
    """Who sends what to whom: the DMP's answer for the patient and the card holder."""

    status: DmpStatus
    practitioner: Practitioner
    structure_name: str = ""
    structure_id: str = ""
    today: date | None = None
    # A staff card: the practice's professionals it may upload for (settings).
    professionals: tuple[Practitioner, ...] = ()
    # The patient's qualified identity (INSi) when the caller has it: its traits go in
    # the header rather than the DMP's copy (every birth first name, the birthplace).
    known: InsIdentity | None = None

    @property
    def qualified(self) -> InsIdentity | None:
        known = self.known
        return known if known is not None and known.qualified and known.ins == self.ins else None

    @property
    def ins(self) -> Ins:
        return self.status.ins

    @property
    def patient_name(self) -> str:
        family = (self.status.patient_family_name or "").strip().upper()
        given = (self.status.patient_given_name or "").strip().title()
        return " ".join(p for p in (family, given) if p)

    @property
    def minor(self) -> bool:
        if self.status.minor:
            return True
        birth = self.status.patient_birth_date
        if birth is None:
            return False
        today = self.today or paris_today()
        age = today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))
        return age < 18

    @property
    def birthplace_guess(self) -> str | None:
        qualified = self.qualified
        if qualified is not None and qualified.traits.birthplace:
            return qualified.traits.birthplace
        return birthplace_from_ins(self.ins)

    def identity(self, birthplace: str | None) -> PatientIdentity | None:
        """The INS traits for the document's header: the qualified identity's when known,
        else the DMP's answer's; None if incomplete."""
        qualified = self.qualified
        if qualified is not None:
            from dmp_desktop.identity.convert import to_document_patient

            patient = to_document_patient(qualified)
            typed = (birthplace or "").strip().upper() or None
            return replace(patient, birthplace_code=typed or patient.birthplace_code)
        status = self.status
        family = (status.patient_family_name or "").strip().upper()
        given = (status.patient_given_name or "").strip().upper()
        gender = _GENDERS.get((status.patient_gender or "").strip().upper())
        if not family or not given or status.patient_birth_date is None or gender is None:
            return None
        return PatientIdentity(
            ins=status.ins,
            birth_family_name=family,
            birth_given_names=given.split(),
            birth_date=status.patient_birth_date,
            gender=gender,
            birthplace_code=(birthplace or "").strip().upper() or None,
        )


def upload_context(
    status: DmpStatus | None,
    practitioner: Practitioner | None,
    settings: Settings,
    known: InsIdentity | None = None,
) -> UploadContext:
    """The context of an upload, or UploadRefusedError (no card, no DMP, no consent...).

    A staff card gets the practice's professionals it may send for (settings;
    a SettingsError says what is wrong with them).
    """
    require_upload_allowed(status, practitioner)
    assert status is not None and practitioner is not None  # noqa: S101 - checked above
    structure = practitioner.structure_name or str((settings.extra or {}).get("structure_name", ""))
    structure_id = practitioner.structure_id or settings.structure_id
    professionals: tuple[Practitioner, ...] = ()
    if practitioner.is_staff:
        professionals = tuple(settings.professionals())
    return UploadContext(
        status, practitioner, structure, structure_id, professionals=professionals, known=known
    )


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# -- small encrypted records ------------------------------------------------------------------
class ObjectionStore:
    """The patient objected to this file being sent: remembered, encrypted, by content hash."""

    def __init__(self, store: SecureStore) -> None:
        self._store = store
        self._lock = threading.Lock()

    def _load(self) -> list[dict[str, str]]:
        raw = self._store.read_json(OBJECTIONS_FILE)
        return [r for r in raw if isinstance(r, dict)] if isinstance(raw, list) else []

    @staticmethod
    def _matches(record: dict[str, str], ins: Ins, digest: str) -> bool:
        return (
            record.get("ins") == ins.value
            and record.get("oid") == ins.oid
            and record.get("sha256") == digest
        )

    def find(self, ins: Ins, digest: str) -> datetime | None:
        """When the patient objected to the file of this hash (None: no objection)."""
        with self._lock:
            for record in self._load():
                if self._matches(record, ins, digest):
                    try:
                        return datetime.fromisoformat(record.get("at", ""))
                    except ValueError:
                        return datetime.now(UTC)
        return None

    def record(self, ins: Ins, digest: str, when: datetime | None = None) -> None:
        with self._lock:
            records = self._load()
            if any(self._matches(r, ins, digest) for r in records):
                return
            records.append(
                {
                    "ins": ins.value,
                    "oid": ins.oid,
                    "sha256": digest,
                    "at": (when or datetime.now(UTC)).isoformat(),
                }
            )
            self._store.write_json(OBJECTIONS_FILE, records)


class TypeUsage:
    """How often each professional chose each document type (most used first in the dialog)."""

    def __init__(self, store: SecureStore) -> None:
        self._store = store
        self._lock = threading.Lock()

    def _load(self) -> dict[str, dict[str, int]]:
        raw = self._store.read_json(TYPE_USAGE_FILE)
        if not isinstance(raw, dict):
            return {}
        return {
            str(who): {str(c): int(n) for c, n in counts.items() if isinstance(n, int)}
            for who, counts in raw.items()
            if isinstance(counts, dict)
        }

    def ranking(self, national_id: str) -> list[str]:
        with self._lock:
            counts = self._load().get(national_id, {})
        return sorted(counts, key=lambda code: (-counts[code], code))

    def record(self, national_id: str, code: str) -> None:
        with self._lock:
            data = self._load()
            mine = data.setdefault(national_id, {})
            mine[code] = mine.get(code, 0) + 1
            self._store.write_json(TYPE_USAGE_FILE, data)


# -- the file -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class FileToSend:
    """A file read and checked before the upload dialog: what it is, and what is wrong."""

    data: bytes
    filename: str
    media_type: str | None
    problems: tuple[str, ...]  # codes of dmp_desktop.dmp.feed_errors.PROBLEMS_FR
    objected_at: datetime | None  # the patient objected to this very file


class PendingState(enum.Enum):
    """Where a pending upload stands, as both doors say it."""

    TO_SIGN = "to_sign"  # prepared by the secretariat: waits for the professional's signature
    SIGNED = "signed"  # signed by the professional, never tried yet
    WAITING = "waiting"  # never tried
    REFUSED = "refused"  # the DMP (or the card) said no at the last try: nothing registered
    UNCONFIRMED = "unconfirmed"  # sent, the answer was lost: it may be in the DMP

    @classmethod
    def of(cls, item: OutboxItem) -> PendingState:
        if item.state is OutboxState.TO_SIGN:
            return cls.TO_SIGN
        if item.state is OutboxState.SENT_UNCONFIRMED:
            return cls.UNCONFIRMED
        if item.attempts:
            return cls.REFUSED
        if item.signed_at is not None:
            return cls.SIGNED
        return cls.WAITING


# {signer}: the professional the upload is filed for (« Dr Marie DURAND »).
PENDING_FR = {
    PendingState.TO_SIGN: "à signer par {signer}",
    PendingState.SIGNED: "signé par {signer}, en attente d'envoi",
    PendingState.WAITING: "en attente d'envoi",
    PendingState.REFUSED: "en attente (dernier essai refusé)",
    PendingState.UNCONFIRMED: "envoyé, réception non confirmée",
}


def pending_fr(item: OutboxItem) -> str:
    """Where ``item`` stands, in French (« à signer par Dr Marie DURAND »)."""
    return PENDING_FR[PendingState.of(item)].format(signer=item.signer_name)


def to_sign_fr(count: int) -> str:
    """What the professional's card is told when the secretariat prepared uploads for him."""
    if count == 1:
        return "1 envoi préparé par le secrétariat attend votre signature"
    return f"{count} envois préparés par le secrétariat attendent votre signature"


class Signer(Protocol):
    """A logged-in card (signs the submission, names the practitioner)."""

    @property
    def practitioner(self) -> Practitioner: ...


def open_outbox_store(settings: Settings) -> Outbox:
    return Outbox.open(settings)


def open_state_store(settings: Settings) -> SecureStore:
    return SecureStore.open(
        Path(settings.local_data_dir()) / "alimentation", training_mode=settings.training_mode
    )


class UploadDesk:
    """The outbox, the patient's objections and the favourite types of this computer."""

    def __init__(
        self,
        settings: Settings,
        *,
        open_outbox: Callable[[Settings], Outbox] = open_outbox_store,
        open_state: Callable[[Settings], SecureStore] = open_state_store,
    ) -> None:
        self._settings = settings
        self._open_outbox = open_outbox
        self._open_state = open_state
        self._lock = threading.Lock()
        self._outbox: Outbox | None = None
        self._objections: ObjectionStore | None = None
        self._usage: TypeUsage | None = None

    # -- stores (opened once, any thread; raise DmpDesktopError when unavailable) -----------------
    def outbox(self) -> Outbox:
        with self._lock:
            if self._outbox is None:
                self._outbox = self._open_outbox(self._settings)
            return self._outbox

    def _state(self) -> tuple[ObjectionStore, TypeUsage]:
        with self._lock:
            if self._objections is None or self._usage is None:
                state = self._open_state(self._settings)
                self._objections = ObjectionStore(state)
                self._usage = TypeUsage(state)
            return self._objections, self._usage

    def open(self) -> None:
        """Open every store now (a worker thread at login: the keyring is read here)."""
        self.outbox()
        self._state()

    # -- the patient's objection ----------------------------------------------------------------
    def objection(self, ins: Ins, data: bytes) -> datetime | None:
        """When the patient objected to sending this file (None: no objection recorded)."""
        return self._state()[0].find(ins, sha256(data))

    def record_objection(self, ins: Ins, data: bytes) -> None:
        """The patient objects: this file will never be sent to this patient's DMP."""
        self._state()[0].record(ins, sha256(data))
        log.info("patient objection recorded")

    def check_not_objected(self, req: UploadRequest) -> None:
        """Raises :class:`ObjectionError` if the patient objected to this file.

        A document this software builds (the VSM, ``MEDIA_CDA``) is not a file the
        patient was shown: it has no objection of its own.
        """
        if req.media_type == MEDIA_CDA:
            return
        when = self.objection(req.patient, req.data())
        if when is not None:
            raise ObjectionError(when)

    # -- a file to send -------------------------------------------------------------------------
    def check_file(self, ins: Ins, data: bytes, filename: str) -> FileToSend:
        """What the file is, what is wrong with it, whether the patient objected to it."""
        media, problems = check_source(data, None)
        objected = self.objection(ins, data) if not problems else None
        return FileToSend(data, filename, media or None, tuple(problems), objected)

    def read_file(self, ins: Ins, path: Path) -> FileToSend:
        """Read (at most 20 MB) and check a file; OSError when it cannot be read."""
        if not path.is_file():
            raise IsADirectoryError(str(path)) if path.is_dir() else FileNotFoundError(str(path))
        if path.stat().st_size > MAX_SOURCE_BYTES:
            return FileToSend(b"", path.name, None, ("file_too_large",), None)
        return self.check_file(ins, path.read_bytes(), path.name)

    # -- the outbox -----------------------------------------------------------------------------
    def queue(
        self, req: UploadRequest, holder: Practitioner, *, reference: InsIdentity | None = None
    ) -> OutboxItem:
        """Check ``req`` (every rule, the objection included) and keep it in the outbox,
        owned by ``holder``. Raises UploadInvalidError, ObjectionError.

        ``reference``: the patient's INS identity when the caller knows it (the window's
        patient): the request must agree with it (identity coherence, IdentityMismatchError);
        :meth:`send` checks again in any case.
        """
        problems = check_upload(req, holder=holder)
        if problems:
            raise UploadInvalidError(problems)
        if reference is not None:
            check_identity(reference, req)
        self.check_not_objected(req)
        if holder.is_staff:
            # The parapheur: it waits for the signature of the professional it is filed for.
            item = self.outbox().add_for_signature(req, holder, self._settings)
        else:
            item = self.outbox().add(req, author_id=holder.national_id)
        try:
            self._state()[1].record(holder.national_id, req.type_code.code)
        except (DmpDesktopError, OSError) as exc:
            log.warning("type usage not recorded: %s", type(exc).__name__)
        return item

    def send(
        self,
        item: OutboxItem,
        client: Any,
        session: Signer,
        *,
        reference: InsIdentity | None = None,
    ) -> DocumentEntry:
        """Send (or resume) one item of the card holder's (see :meth:`Outbox.send`).

        Identity coherence first: what the item will send must name the patient of its
        INS — ``reference`` when the caller has it (from the DMP's answer it just got, or
        the window's patient), else the DMP's TD0.2 answer asked now. Raises
        IdentityMismatchError (nothing sent, the item stays) otherwise.
        """
        self._require_sender(item, session.practitioner)
        if item.awaiting_signature:
            raise SignatureAwaitedError(item.signer_name)
        if reference is None or reference.ins != item.patient:
            reference = reference_identity(client, item.patient)
        check_identity(reference, item.request)
        return self.outbox().send(item, client, session)  # type: ignore[arg-type]

    def pending(self, holder: Practitioner) -> list[OutboxItem]:
        """What waits for this card holder, oldest first; nobody else's (a secretary's
        uploads waiting for a professional's signature included)."""
        return [i for i in self.outbox().items() if _owned_by(i, holder)]

    # -- the parapheur ------------------------------------------------------------------------
    def to_sign(self, holder: Practitioner) -> list[OutboxItem]:
        """The uploads the secretariat prepared for this professional, waiting for his
        signature, oldest first (nobody else's; a staff card signs nothing)."""
        return self.pending_and_to_sign(holder)[1]

    def pending_and_to_sign(
        self, holder: Practitioner
    ) -> tuple[list[OutboxItem], list[OutboxItem]]:
        """:meth:`pending` and :meth:`to_sign` from one reading of the outbox."""
        items = self.outbox().items()
        mine = [i for i in items if _owned_by(i, holder)]
        if holder.is_staff:
            return mine, []
        for_me = [i for i in items if i.awaiting_signature and i.signer_id == holder.national_id]
        return mine, for_me

    def sign(
        self, session: Signer, item_ids: list[str] | None = None
    ) -> list[tuple[OutboxItem, OutboxItem | DmpDesktopError]]:
        """The professional's card signs, in one go, the uploads waiting for his signature
        (``item_ids``: those he chose; default: all). One result each: the signed item, or
        the error (NotSignerError for an upload filed for someone else). A card error (card
        removed, locked) stops the batch: it is raised, what was signed stays signed."""
        holder = session.practitioner
        if item_ids is None:
            chosen = self.to_sign(holder)
        else:
            chosen = [self._to_sign_item(i) for i in item_ids]
        results: list[tuple[OutboxItem, OutboxItem | DmpDesktopError]] = []
        for item in chosen:
            try:
                results.append((item, self.outbox().sign(item.id, session)))  # type: ignore[arg-type]
            except CardError:
                raise
            except DmpDesktopError as exc:
                results.append((item, exc))
        return results

    def sign_and_send(
        self, client: Any, session: Signer, item_ids: list[str] | None = None
    ) -> list[tuple[OutboxItem, DocumentEntry | DmpDesktopError]]:
        """« Signer et envoyer »: sign (as :meth:`sign`), then send each signed upload with
        the professional's own session (identity coherence checked first, as any send)."""
        results: list[tuple[OutboxItem, DocumentEntry | DmpDesktopError]] = []
        for item, signed in self.sign(session, item_ids):
            if isinstance(signed, DmpDesktopError):
                results.append((item, signed))
                continue
            try:
                results.append((signed, self.send(signed, client, session)))
            except DmpDesktopError as exc:
                results.append((signed, exc))
        return results

    def _to_sign_item(self, item_id: str) -> OutboxItem:
        item = self.outbox().get(item_id.strip())
        if item is None:
            raise OutboxItemGoneError()
        return item

    def item(self, item_id: str, holder: Practitioner) -> OutboxItem:
        """One of the card holder's pending items (OutboxItemGoneError, NotYourUploadError)."""
        item = self.outbox().get(item_id.strip())
        if item is None:
            raise OutboxItemGoneError()
        self._require_mine(item, holder)
        return item

    def discard(self, item_id: str, holder: Practitioner) -> OutboxItem:
        """The card holder gives up sending this item: it is removed."""
        item = self.item(item_id, holder)
        self.outbox().discard(item.id)
        return item

    def withdraw(self, item_id: str, holder: Practitioner) -> OutboxItem:
        """The patient objects to this pending document: the objection is recorded (the file
        will never be sent again, from either door) and the item removed."""
        item = self.item(item_id, holder)
        if item.request.media_type != MEDIA_CDA:
            self.record_objection(item.patient, item.request.data())
        self.outbox().discard(item.id)
        log.info("outbox %s withdrawn: patient objection", item.id)
        return item

    def resume(
        self, client: Any, session: Signer
    ) -> list[tuple[OutboxItem, DocumentEntry | DmpDesktopError]]:
        """Send every item the card holder prepared: one result each (an upload still
        waiting for a professional's signature stays, untouched: see :meth:`to_sign`)."""
        results: list[tuple[OutboxItem, DocumentEntry | DmpDesktopError]] = []
        for item in self.pending(session.practitioner):
            if item.awaiting_signature:
                continue
            try:
                results.append((item, self.send(item, client, session)))
            except DmpDesktopError as exc:
                results.append((item, exc))
        return results

    # -- favourite types ---------------------------------------------------------------------------
    def type_ranking(self, national_id: str) -> list[str]:
        """This professional's most used types, most used first (at most a few)."""
        return self._state()[1].ranking(national_id)[:MAX_FAVOURITE_TYPES]

    @staticmethod
    def _require_mine(item: OutboxItem, holder: Practitioner) -> None:
        if not _owned_by(item, holder):
            raise NotYourUploadError()

    @staticmethod
    def _require_sender(item: OutboxItem, holder: Practitioner) -> None:
        """Its owner sends it; so may the professional it is filed for, once signed
        (« Signer et envoyer »; unsigned, :meth:`send` says it awaits his signature)."""
        signer = item.signer_id is not None and item.signer_id == holder.national_id
        if not (_owned_by(item, holder) or (signer and not holder.is_staff)):
            raise NotYourUploadError()


def _owned_by(item: OutboxItem, holder: Practitioner) -> bool:
    # An item of an older version has no owner yet: the first card holder who sends it.
    return item.author_id in (None, holder.national_id)


__all__ = [
    "MAX_FAVOURITE_TYPES",
    "PENDING_FR",
    "FileToSend",
    "ObjectionStore",
    "PendingState",
    "TypeUsage",
    "UploadContext",
    "UploadDesk",
    "Visibility",
    "birthplace_from_ins",
    "is_author",
    "pending_fr",
    "require_upload_allowed",
    "same_ins",
    "sha256",
    "to_sign_fr",
    "upload_context",
    "upload_refusal",
]
