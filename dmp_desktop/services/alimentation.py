"""Feeding the patient's DMP from the window: the Qt service over the alimentation core.

The core (:mod:`dmp_desktop.alimentation`) knows how to check an upload, keep
it in the encrypted outbox and send it without ever sending it twice. This
service runs that work off the UI thread and answers with signals:

* :meth:`AlimentationService.submit` puts the request in the outbox first (an
  operation of its own), then sends it (:meth:`send`, through
  :meth:`DmpService.call`, with the card session that signs the submission);
* :meth:`send_vsm` builds the medical summary (VSM), replacing the author's
  previous one when the DMP holds it (RPLC), and sends it the same way;
* :meth:`change_visibility`, :meth:`archive`, :meth:`delete` change a
  document of the list and refresh it (:meth:`ConsultationService.refresh`);
* the outbox is read again after every change and at login: ``outboxChanged``
  carries what waits for this professional (items prepared with another card
  are never shown), ``pendingAtLogin`` says that uploads were left behind by a
  crash or a removed card.

Two small encrypted files live next to the outbox (:class:`SecureStore`): the
patient's objections (one click in the upload dialog: that file is never sent
for that patient, recognised by the SHA-256 of its content) and how often this
doctor chose each document type (the most used come first).

What the window needs about the patient comes from the DMP's own answer
(TD0.2) for that INS: :class:`UploadContext`. Nothing here logs a patient,
a title or a file name.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from PySide6.QtCore import QCoreApplication, QObject, Qt, Signal

from dmp_desktop.alimentation import (
    MEDIA_CDA,
    Outbox,
    OutboxItem,
    OutboxState,
    UploadRequest,
    UploadUnconfirmedError,
    check_upload,
    type_code,
)
from dmp_desktop.alimentation.build import version_of
from dmp_desktop.dates import fr_date
from dmp_desktop.dmp.feed_errors import OutboxItemGoneError, UploadInvalidError
from dmp_desktop.domain.dmp_status import Authorization, DmpState, DmpStatus
from dmp_desktop.domain.document import DocumentEntry, DocumentQuery, DocumentStatus
from dmp_desktop.domain.patient import Ins, InsKind
from dmp_desktop.domain.practitioner import Practitioner
from dmp_desktop.domain.summary import Gender, MedicalSummary, PatientIdentity
from dmp_desktop.errors import DmpDesktopError, describe
from dmp_desktop.services.card_service import CardService
from dmp_desktop.services.consultation import ConsultationService, PaneState
from dmp_desktop.services.dmp_service import DmpService
from dmp_desktop.services.operations import Operation, OperationRunner
from dmp_desktop.settings import Settings
from dmp_desktop.storage.secure import SecureStore

log = logging.getLogger(__name__)

VSM_TYPE = "SYNTH"
OBJECTIONS_FILE = "objections"
TYPE_USAGE_FILE = "type-usage"
MAX_FAVOURITE_TYPES = 6
_GENDERS = {"F": Gender.FEMALE, "M": Gender.MALE, "U": Gender.UNKNOWN}


def _tr(text: str) -> str:
    return QCoreApplication.translate("AlimentationService", text)


# -- the patient ------------------------------------------------------------------------------
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
        today = self.today or date.today()
        age = today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))
        return age < 18

    @property
    def birthplace_guess(self) -> str | None:
        return birthplace_from_ins(self.ins)

    def identity(self, birthplace: str | None) -> PatientIdentity | None:
        """The INS traits for the document's header, from the DMP's answer; None if incomplete."""
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


def upload_refusal(status: DmpStatus | None, practitioner: Practitioner | None) -> str | None:
    """Why nothing can be sent to this patient's DMP now (French), or None."""
    if practitioner is None:
        return _tr("Connectez-vous avec votre carte CPS pour envoyer un document au DMP.")
    if status is None:
        return _tr(
            "Vérifiez d'abord le DMP du patient (Ctrl+L, INS, Entrée) : le document est "
            "envoyé au patient affiché."
        )
    if status.state is DmpState.NONE:
        return _tr("Ce patient n'a pas de DMP : aucun document ne peut y être envoyé.")
    if status.state is DmpState.CLOSED:
        return _tr("Le DMP de ce patient est fermé : il n'accepte plus de documents.")
    if practitioner.is_staff:
        return None  # the DMP checks the authors' authorisations
    if status.authorization is Authorization.INTERDIT:
        return _tr(
            "Le patient vous a bloqué : vous ne pouvez pas envoyer de document dans son DMP."
        )
    if status.authorization is not Authorization.VALIDE:
        return _tr(
            "Pour envoyer un document, il faut l'autorisation d'accès du patient : répondez "
            "d'abord à la question du consentement."
        )
    return None


def is_author(entry: DocumentEntry, practitioner: Practitioner | None) -> bool:
    return practitioner is not None and any(
        a.national_id == practitioner.national_id for a in entry.authors
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

    def find(self, ins: Ins, digest: str) -> datetime | None:
        """When the patient objected to the file of this hash (None: no objection)."""
        with self._lock:
            for record in self._load():
                if (
                    record.get("ins") == ins.value
                    and record.get("oid") == ins.oid
                    and record.get("sha256") == digest
                ):
                    try:
                        return datetime.fromisoformat(record.get("at", ""))
                    except ValueError:
                        return datetime.now(UTC)
        return None

    def record(self, ins: Ins, digest: str, when: datetime | None = None) -> None:
        with self._lock:
            records = self._load()
            if any(
                r.get("ins") == ins.value and r.get("oid") == ins.oid and r.get("sha256") == digest
                for r in records
            ):
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


# -- the VSM ----------------------------------------------------------------------------------
def previous_vsm(client: Any, ins: Ins, national_id: str) -> DocumentEntry | None:
    """The newest active VSM of this DMP written by ``national_id`` (what a new one replaces)."""
    query = DocumentQuery(
        patient=ins,
        statuses=frozenset({DocumentStatus.APPROVED}),
        include_masked=True,
        type_codes=(type_code(VSM_TYPE),),
    )
    found = [
        e
        for e in client.find_documents(query)
        if e.type_code.code == VSM_TYPE
        and e.status is DocumentStatus.APPROVED
        and any(a.national_id == national_id for a in e.authors)
    ]
    if not found:
        return None

    def when(entry: DocumentEntry) -> datetime:
        moment = entry.creation_time or entry.submission_time or entry.service_start
        if moment is None:
            return datetime.min.replace(tzinfo=UTC)
        return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)

    return max(found, key=when)


@dataclass(frozen=True)
class Visibility:
    """The three choices, always made explicitly."""

    masked: bool
    invisible_patient: bool
    invisible_legal_reps: bool


# -- the service ------------------------------------------------------------------------------
def _open_outbox(settings: Settings) -> Outbox:
    return Outbox.open(settings)


def _open_state(settings: Settings) -> SecureStore:
    return SecureStore.open(
        Path(settings.local_data_dir()) / "alimentation", training_mode=settings.training_mode
    )


class AlimentationService(QObject):
    """Uploads, the outbox and the changes to documents, for the window."""

    outboxChanged = Signal(object)  # list[OutboxItem]: what waits for this professional
    pendingAtLogin = Signal(object)  # list[OutboxItem] left behind (crash, card removed)
    uploadQueued = Signal(object)  # OutboxItem: in the outbox, being sent
    uploadSucceeded = Signal(object, object)  # OutboxItem, DocumentEntry
    uploadFailed = Signal(object, str)  # OutboxItem or None, French message
    sendingChanged = Signal(object)  # set of outbox item ids being sent
    changeSucceeded = Signal(str, object)  # action, DocumentEntry as it now stands
    changeFailed = Signal(str, str)  # action, French message
    objectionRecorded = Signal()
    problem = Signal(str)  # French: the local store cannot be used
    _touched = Signal()  # a worker changed the outbox (reload it on the UI thread)

    def __init__(
        self,
        settings: Settings,
        dmp: DmpService,
        card: CardService,
        consultation: ConsultationService,
        runner: OperationRunner,
        *,
        open_outbox: Callable[[Settings], Outbox] = _open_outbox,
        open_state: Callable[[Settings], SecureStore] = _open_state,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._settings = settings
        self._dmp = dmp
        self._card = card
        self._consultation = consultation
        self._runner = runner
        self._open_outbox = open_outbox
        self._open_state = open_state
        self._stores_lock = threading.Lock()
        self._outbox: Outbox | None = None
        self._objections: ObjectionStore | None = None
        self._usage: TypeUsage | None = None
        self._items: list[OutboxItem] = []
        self._errors: dict[str, str] = {}
        self._sending: dict[str, Operation[Any]] = {}
        self._changes: set[Operation[Any]] = set()
        self._reload_op: Operation[list[OutboxItem]] | None = None
        self._reload_again = False
        self._announce = False
        self._touched.connect(self.reload_outbox, Qt.ConnectionType.QueuedConnection)
        card.loggedIn.connect(self._on_logged_in)
        card.sessionEnded.connect(self._on_session_ended)

    # -- what the window reads ------------------------------------------------------------
    @property
    def practitioner(self) -> Practitioner | None:
        return self._card.practitioner if self._card.session is not None else None

    @property
    def items(self) -> list[OutboxItem]:
        return list(self._items)

    @property
    def sending(self) -> frozenset[str]:
        return frozenset(self._sending)

    def last_error(self, item_id: str) -> str | None:
        return self._errors.get(item_id)

    def context(self) -> UploadContext | str:
        """The patient on screen and the card holder, or why nothing can be sent (French)."""
        practitioner = self.practitioner
        status = self._consultation.status
        refusal = upload_refusal(status, practitioner)
        if refusal is not None or status is None or practitioner is None:
            return refusal or _tr("Aucun patient affiché.")
        structure = practitioner.structure_name or str(
            (self._settings.extra or {}).get("structure_name", "")
        )
        structure_id = practitioner.structure_id or self._settings.structure_id
        professionals: tuple[Practitioner, ...] = ()
        if practitioner.is_staff:
            try:
                professionals = tuple(self._settings.professionals())
            except DmpDesktopError as exc:
                return describe(exc)
        return UploadContext(
            status, practitioner, structure, structure_id, professionals=professionals
        )

    # -- stores -----------------------------------------------------------------------------
    def _stores(self) -> tuple[Outbox, ObjectionStore, TypeUsage]:
        """Open the outbox and the small records once (any thread); raises DmpDesktopError."""
        with self._stores_lock:
            if self._outbox is None:
                self._outbox = self._open_outbox(self._settings)
            if self._objections is None or self._usage is None:
                state = self._open_state(self._settings)
                self._objections = ObjectionStore(state)
                self._usage = TypeUsage(state)
            return self._outbox, self._objections, self._usage

    def _safe_stores(self) -> tuple[Outbox, ObjectionStore, TypeUsage] | None:
        try:
            return self._stores()
        except (DmpDesktopError, OSError) as exc:
            log.warning("alimentation store unavailable: %s", type(exc).__name__)
            self.problem.emit(self._store_message(exc))
            return None

    def _store_message(self, exc: BaseException) -> str:
        return self.tr(
            "La boîte d'envoi locale ne peut pas être ouverte : {why} Aucun document ne peut "
            "être envoyé tant qu'elle est indisponible."
        ).format(why=describe(exc))

    def type_ranking(self) -> list[str]:
        """This professional's most used types, most used first (at most a few)."""
        practitioner = self.practitioner
        stores = self._safe_stores() if practitioner is not None else None
        if stores is None or practitioner is None:
            return []
        try:
            return stores[2].ranking(practitioner.national_id)[:MAX_FAVOURITE_TYPES]
        except (DmpDesktopError, OSError, ValueError) as exc:
            log.warning("type usage unreadable: %s", type(exc).__name__)
            return []

    # -- objections -------------------------------------------------------------------------
    def objection(self, ins: Ins, data: bytes) -> datetime | None:
        """When the patient objected to sending this file (None: no objection recorded)."""
        stores = self._safe_stores()
        if stores is None:
            return None
        try:
            return stores[1].find(ins, sha256(data))
        except (DmpDesktopError, OSError) as exc:
            log.warning("objections unreadable: %s", type(exc).__name__)
            return None

    def record_objection(self, ins: Ins, data: bytes) -> bool:
        """One click: the patient objects; this file will never be sent for this patient."""
        stores = self._safe_stores()
        if stores is None:
            return False
        try:
            stores[1].record(ins, sha256(data))
        except (DmpDesktopError, OSError) as exc:
            self.problem.emit(self._store_message(exc))
            return False
        log.info("patient objection recorded")
        self.objectionRecorded.emit()
        return True

    # -- the outbox -------------------------------------------------------------------------
    def reload_outbox(self) -> None:
        """Read the outbox again (off the UI thread); answers with outboxChanged."""
        if self.practitioner is None:
            return
        if self._reload_op is not None and not self._reload_op.done:
            self._reload_again = True
            return

        def work() -> list[OutboxItem]:
            outbox = self._stores()[0]
            return outbox.items()

        op: Operation[list[OutboxItem]] = Operation(
            self.tr("Lecture des envois en attente"),
            work,
            lambda items: self._on_reloaded(op, items),
            lambda exc: self._on_reload_failed(op, exc),
            silent=True,
        )
        self._reload_op = op
        self._runner.run(op)

    def _mine(self, items: list[OutboxItem]) -> list[OutboxItem]:
        practitioner = self.practitioner
        if practitioner is None:
            return []
        return [i for i in items if i.author_id in (None, practitioner.national_id)]

    def _on_reloaded(self, op: Operation[list[OutboxItem]], items: list[OutboxItem]) -> None:
        if op is not self._reload_op:
            return
        self._reload_op = None
        self._items = self._mine(items)
        waiting = {i.id for i in self._items}
        self._errors = {k: v for k, v in self._errors.items() if k in waiting}
        self.outboxChanged.emit(self.items)
        if self._announce:
            self._announce = False
            if self._items:
                self.pendingAtLogin.emit(self.items)
        if self._reload_again:
            self._reload_again = False
            self.reload_outbox()

    def _on_reload_failed(self, op: Operation[list[OutboxItem]], exc: BaseException) -> None:
        if op is not self._reload_op:
            return
        self._reload_op = None
        self._announce = False
        self.problem.emit(self._store_message(exc))

    def _touch(self) -> None:
        """From a worker: the outbox changed."""
        try:
            self._touched.emit()
        except RuntimeError:  # the service is gone (application exit)
            pass

    # -- uploads ----------------------------------------------------------------------------
    def submit(self, req: UploadRequest) -> bool:
        """Put ``req`` in the outbox, then send it. False when it cannot even be queued."""
        practitioner = self.practitioner
        if practitioner is None:
            self.uploadFailed.emit(None, upload_refusal(None, None) or "")
            return False
        if req.media_type != MEDIA_CDA:
            when = self.objection(req.patient, req.data())
            if when is not None:
                self.uploadFailed.emit(None, objection_message(when))
                return False
        national_id = practitioner.national_id

        def work() -> OutboxItem:
            outbox, _objections, usage = self._stores()
            item = outbox.add(req)
            try:
                usage.record(national_id, req.type_code.code)
            except (DmpDesktopError, OSError) as exc:
                log.warning("type usage not recorded: %s", type(exc).__name__)
            return item

        self._runner.run(
            Operation(
                self.tr("Préparation de l'envoi"),
                work,
                self._on_queued,
                lambda exc: self.uploadFailed.emit(None, describe(exc)),
                cancellable=False,
            )
        )
        return True

    def _on_queued(self, item: OutboxItem) -> None:
        self.uploadQueued.emit(item)
        self.reload_outbox()
        self.send(item)

    def send(self, item: OutboxItem) -> bool:
        """Send (or resume) one outbox item; False if it is already being sent or impossible."""
        if item.id in self._sending:
            return False
        session = self._card.session
        if session is None or self.practitioner is None:
            self.uploadFailed.emit(
                item,
                self.tr(
                    "Connectez-vous avec votre carte CPS : le document reste dans les envois "
                    "en attente."
                ),
            )
            return False
        try:
            outbox = self._stores()[0]
        except (DmpDesktopError, OSError) as exc:
            self.uploadFailed.emit(item, self._store_message(exc))
            return False

        def work(client: Any) -> DocumentEntry:
            try:
                return outbox.send(item, client, session)  # type: ignore[arg-type]
            finally:
                self._touch()

        op = self._dmp.call(
            self.tr("Envoi du document au DMP"),
            work,
            lambda entry: self._on_sent(item, entry),
            lambda exc: self._on_send_failed(item, exc),
            on_cancel=lambda: self._on_send_cancelled(item),
        )
        if op is None:
            self.uploadFailed.emit(
                item,
                self.tr(
                    "Connectez-vous avec votre carte CPS : le document reste dans les envois "
                    "en attente."
                ),
            )
            return False
        self._sending[item.id] = op
        self._errors.pop(item.id, None)
        self.sendingChanged.emit(self.sending)
        log.info("outbox %s: sending", item.id)
        return True

    def _done_sending(self, item: OutboxItem) -> None:
        if self._sending.pop(item.id, None) is not None:
            self.sendingChanged.emit(self.sending)

    def _on_sent(self, item: OutboxItem, entry: DocumentEntry) -> None:
        self._done_sending(item)
        self._errors.pop(item.id, None)
        self.uploadSucceeded.emit(item, entry)
        consultation = self._consultation
        ins = consultation.ins
        if (
            ins is not None
            and same_ins(ins, item.patient)
            and consultation.state is PaneState.DOCUMENTS
        ):
            consultation.refresh()

    def _on_send_failed(self, item: OutboxItem, exc: BaseException) -> None:
        self._done_sending(item)
        message = describe(exc)
        if isinstance(exc, OutboxItemGoneError):
            self.uploadFailed.emit(item, message)
            return
        if not isinstance(exc, UploadUnconfirmedError):
            message += " " + self.tr(
                "Le document reste dans les envois en attente : « Reprendre » pour réessayer, "
                "« Abandonner » pour y renoncer."
            )
        self._errors[item.id] = message
        self.uploadFailed.emit(item, message)

    def _on_send_cancelled(self, item: OutboxItem) -> None:
        self._done_sending(item)
        message = self.tr(
            "Envoi interrompu. Le document reste dans les envois en attente : à la reprise, "
            "le logiciel vérifiera d'abord s'il est déjà dans le DMP, pour ne jamais "
            "l'envoyer deux fois."
        )
        self._errors[item.id] = message
        self.uploadFailed.emit(item, message)
        self.reload_outbox()

    def discard(self, item: OutboxItem) -> None:
        """Remove an item from the outbox (the user confirmed): it will not be sent."""
        if item.id in self._sending:
            return

        def work() -> None:
            try:
                self._stores()[0].discard(item.id)
            finally:
                self._touch()

        self._runner.run(
            Operation(
                self.tr("Retrait de la boîte d'envoi"),
                work,
                None,
                lambda exc: self.uploadFailed.emit(item, describe(exc)),
                cancellable=False,
            )
        )

    # -- the VSM ----------------------------------------------------------------------------
    def send_vsm(
        self, identity: PatientIdentity, summary: MedicalSummary, visibility: Visibility
    ) -> bool:
        """Build the VSM (replacing my previous one, RPLC) and send it through the outbox."""
        practitioner = self.practitioner
        if practitioner is None:
            self.uploadFailed.emit(None, upload_refusal(None, None) or "")
            return False
        national_id = practitioner.national_id
        ins = identity.ins

        def work(client: Any) -> OutboxItem:
            from dmp_desktop.cda.vsm import build_vsm

            previous = previous_vsm(client, ins, national_id)
            set_id, version = None, 1
            if previous is not None:
                found = version_of(client.retrieve_document(previous).content)
                if found is not None:
                    set_id, version = found[0], found[1] + 1
            document = replace(
                summary, patient=identity, document_id=None, set_id=set_id, version=version
            )
            cda = build_vsm(document)
            req = UploadRequest(
                patient=ins,
                source=cda,
                filename="vsm.xml",
                media_type=MEDIA_CDA,
                type_code=type_code(VSM_TYPE),
                service_date=document.effective_time.date(),
                title=document.title or "Synthèse médicale",
                masked=visibility.masked,
                invisible_patient=visibility.invisible_patient,
                invisible_legal_reps=visibility.invisible_legal_reps,
                replaces=previous,
                identity=identity,
            )
            problems = check_upload(req)
            if problems:
                raise UploadInvalidError(problems)
            return self._stores()[0].add(req)

        op = self._dmp.call(
            self.tr("Préparation de la synthèse médicale"),
            work,
            self._on_queued,
            lambda exc: self.uploadFailed.emit(None, describe(exc)),
        )
        if op is None:
            self.uploadFailed.emit(None, upload_refusal(None, None) or "")
            return False
        return True

    # -- changes to documents ---------------------------------------------------------------
    def change_visibility(self, entry: DocumentEntry, visibility: Visibility) -> bool:
        def work(client: Any) -> DocumentEntry:
            result: DocumentEntry = client.update_confidentiality(
                entry,
                masked=visibility.masked,
                invisible_patient=visibility.invisible_patient,
                invisible_legal_reps=visibility.invisible_legal_reps,
            )
            return result

        return self._change("visibility", self.tr("Modification de la visibilité"), work)

    def archive(self, entry: DocumentEntry) -> bool:
        def work(client: Any) -> DocumentEntry:
            result: DocumentEntry = client.archive_document(entry)
            return result

        return self._change("archive", self.tr("Archivage du document"), work)

    def delete(self, entry: DocumentEntry) -> bool:
        def work(client: Any) -> DocumentEntry:
            result: DocumentEntry = client.delete_document(entry)
            return result

        return self._change("delete", self.tr("Suppression du document"), work)

    def _change(self, action: str, label: str, work: Callable[[Any], DocumentEntry]) -> bool:
        holder: list[Operation[Any]] = []

        def done() -> None:
            if holder:
                self._changes.discard(holder[0])

        def succeeded(entry: DocumentEntry) -> None:
            done()
            self.changeSucceeded.emit(action, entry)
            self._consultation.refresh()

        def failed(exc: BaseException) -> None:
            done()
            self.changeFailed.emit(action, describe(exc))

        def cancelled() -> None:
            done()
            self.changeFailed.emit(
                action,
                self.tr(
                    "Modification interrompue : elle a pu être enregistrée ou non. "
                    "Actualisez la liste (F5) pour voir l'état du document."
                ),
            )

        op = self._dmp.call(label, work, succeeded, failed, on_cancel=cancelled)
        if op is None:
            self.changeFailed.emit(action, upload_refusal(None, None) or "")
            return False
        holder.append(op)
        self._changes.add(op)
        return True

    # -- session ----------------------------------------------------------------------------
    def _on_logged_in(self, _practitioner: object) -> None:
        self._announce = True
        self.reload_outbox()

    def _on_session_ended(self, _reason: str) -> None:
        """Nothing of the patients stays: the list is emptied (the files stay, encrypted)."""
        for op in [*self._sending.values(), *self._changes]:
            if not op.done:
                op.on_cancel = None
                op.on_success = None
                op.on_failure = None
                op.cancel()
        if self._sending:
            self._sending.clear()
            self.sendingChanged.emit(self.sending)
        self._changes.clear()
        if self._reload_op is not None and not self._reload_op.done:
            self._reload_op.cancel()
        self._reload_op = None
        self._reload_again = False
        self._announce = False
        self._items = []
        self._errors.clear()
        self.outboxChanged.emit([])


def objection_message(when: datetime) -> str:
    return _tr(
        "Le patient s'est opposé à l'envoi de ce document au DMP (opposition enregistrée le "
        "{date}) : il ne sera pas envoyé."
    ).format(date=fr_date(when))


def item_patient_text(item: OutboxItem) -> str:
    """The patient of an outbox item as the panel shows it (name, else the INS)."""
    identity = item.request.identity
    if identity is not None and identity.birth_family_name:
        given = identity.first_given_name.title()
        return f"{identity.birth_family_name.upper()} {given}".strip()
    return item.patient.value


def item_state_text(item: OutboxItem, sending: bool = False) -> str:
    if sending:
        return _tr("envoi en cours…")
    if item.state is OutboxState.SENT_UNCONFIRMED:
        return _tr("envoyé, réception non confirmée")
    if item.attempts:
        return _tr("en attente (dernier essai refusé)")
    return _tr("en attente d'envoi")


__all__ = [
    "MAX_FAVOURITE_TYPES",
    "VSM_TYPE",
    "AlimentationService",
    "ObjectionStore",
    "TypeUsage",
    "UploadContext",
    "Visibility",
    "birthplace_from_ins",
    "is_author",
    "item_patient_text",
    "item_state_text",
    "objection_message",
    "previous_vsm",
    "same_ins",
    "sha256",
    "upload_refusal",
]
