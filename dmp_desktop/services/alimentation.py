"""Feeding the patient's DMP from the window: the use cases of
:mod:`dmp_desktop.usecases.upload`, :mod:`~dmp_desktop.usecases.vsm` and
:mod:`~dmp_desktop.usecases.documents`, run off the UI thread, answering with signals.

* :meth:`AlimentationService.prepare_file` reads and checks a file (up to 20 MB),
  and looks the patient's objections up by its hash: an operation, answered by
  ``fileReady`` / ``fileFailed``;
* :meth:`AlimentationService.submit` puts the request in the outbox (owned by
  the card holder; every rule checked, the objection included), then sends it
  (:meth:`send`, through :meth:`DmpService.call`, with the card session that
  signs the submission);
* :meth:`send_vsm` prepares the medical summary (VSM), replacing the author's
  previous one when the DMP holds it (RPLC), and sends it the same way;
* :meth:`change_visibility`, :meth:`archive`, :meth:`delete` change a
  document of the list and refresh it (:meth:`ConsultationService.refresh`);
* the outbox is read again after every change and at login: ``outboxChanged``
  carries what waits for this professional (items prepared with another card
  are never shown), ``pendingAtLogin`` says that uploads were left behind by a
  crash or a removed card;
* the parapheur: a secretary's upload is checked and kept « à signer par Dr X »
  (``uploadPrepared``, nothing sent); Dr X's session hears ``toSignChanged``
  (what the secretariat prepared for him) and :meth:`sign_all` signs them in
  one go with his card (``send=True``: « Signer et envoyer »), answering
  ``signingDone``.

The rules live in the use cases; the local stores (outbox, objections,
favourite types) are the use cases' :class:`UploadDesk`, opened at login on a
worker (the keyring is read there). Nothing here logs a patient, a title or a
file name.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from PySide6.QtCore import QCoreApplication, QObject, Qt, QTimer, Signal

from dmp_desktop.alimentation import Outbox, OutboxItem, UploadRequest
from dmp_desktop.dmp.feed_errors import OutboxItemGoneError, UploadUnconfirmedError
from dmp_desktop.domain.document import DocumentEntry
from dmp_desktop.domain.patient import Ins
from dmp_desktop.domain.practitioner import Practitioner
from dmp_desktop.domain.summary import MedicalSummary, PatientIdentity
from dmp_desktop.errors import DmpDesktopError, HostNotReachedError, NetworkError, describe
from dmp_desktop.identity.traits import InsIdentity
from dmp_desktop.services.card_service import CardService
from dmp_desktop.services.consultation import ConsultationService, PaneState
from dmp_desktop.services.dmp_service import ConnectionState, DmpService
from dmp_desktop.services.operations import Operation, OperationRunner
from dmp_desktop.settings import Settings
from dmp_desktop.storage.secure import SecureStore
from dmp_desktop.usecases import documents as document_rules
from dmp_desktop.usecases.errors import ObjectionError, UploadRefusedError
from dmp_desktop.usecases.upload import (
    MAX_FAVOURITE_TYPES,
    FileToSend,
    ObjectionStore,
    PendingState,
    TypeUsage,
    UploadContext,
    UploadDesk,
    Visibility,
    birthplace_from_ins,
    is_author,
    open_outbox_store,
    open_state_store,
    same_ins,
    sha256,
    upload_context,
)
from dmp_desktop.usecases.vsm import VSM_TYPE, my_previous_vsm, prepare_vsm

log = logging.getLogger(__name__)

# What the outbox reading gives: my pending items, my favourite types, what I must sign.
_Reloaded = tuple[list[OutboxItem], list[str], list[OutboxItem]]


def _tr(text: str) -> str:
    return QCoreApplication.translate("AlimentationService", text)


def upload_refusal(status: Any, practitioner: Practitioner | None) -> str | None:
    """Why nothing can be sent to this patient's DMP now (French), or None.

    The rule is :func:`dmp_desktop.usecases.upload.upload_refusal`; this is its text.
    """
    from dmp_desktop.usecases.upload import upload_refusal as rule

    code = rule(status, practitioner)
    return describe(UploadRefusedError(code)) if code is not None else None


# -- the service ------------------------------------------------------------------------------
RESUME_INTERVAL_MS = 20_000  # a new try while the DMP stays silent


class AlimentationService(QObject):
    """Uploads, the outbox and the changes to documents, for the window."""

    outboxChanged = Signal(object)  # list[OutboxItem]: what waits for this professional
    pendingAtLogin = Signal(object)  # list[OutboxItem] left behind (crash, card removed)
    fileReady = Signal(object, object)  # FileToSend, context (what prepare_file was given)
    fileFailed = Signal(object, str)  # context, French message
    uploadQueued = Signal(object)  # OutboxItem: in the outbox, being sent
    uploadPrepared = Signal(object)  # OutboxItem: a secretary's, waiting for Dr X's signature
    toSignChanged = Signal(object)  # list[OutboxItem] the secretariat prepared for this doctor
    # list[(OutboxItem, OutboxItem | DocumentEntry | DmpDesktopError)], sent (bool)
    signingDone = Signal(object, bool)
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
        open_outbox: Callable[[Settings], Outbox] = open_outbox_store,
        open_state: Callable[[Settings], SecureStore] = open_state_store,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._settings = settings
        self._dmp = dmp
        self._card = card
        # The patient's INS identity shown by the window (set by the window's document
        # actions): every upload and VSM is checked against it (identity coherence).
        self.reference_provider: Callable[[], InsIdentity | None] | None = None
        self._consultation = consultation
        self._runner = runner
        self._desk = UploadDesk(settings, open_outbox=open_outbox, open_state=open_state)
        self._items: list[OutboxItem] = []
        self._to_sign: list[OutboxItem] = []
        self._signing: Operation[Any] | None = None
        self._ranking: list[str] = []
        self._errors: dict[str, str] = {}
        self._sending: dict[str, Operation[Any]] = {}
        self._changes: set[Operation[Any]] = set()
        self._reload_op: Operation[_Reloaded] | None = None
        self._reload_again = False
        self._announce = False
        # Sent while the DMP did not answer: sent again by themselves once it answers
        # (an answer to any request, or a new try every ``resume_interval_ms``).
        self._offline: set[str] = set()
        self._resume_timer = QTimer(self)
        self._resume_timer.setSingleShot(True)
        self._resume_timer.setInterval(RESUME_INTERVAL_MS)
        self._resume_timer.timeout.connect(self.resume_offline)
        dmp.connectionChanged.connect(self._on_connection)
        self._touched.connect(self.reload_outbox, Qt.ConnectionType.QueuedConnection)
        card.loggedIn.connect(self._on_logged_in)
        card.sessionEnded.connect(self._on_session_ended)

    # -- what the window reads ------------------------------------------------------------
    @property
    def desk(self) -> UploadDesk:
        """The use cases' stores (call them from workers only: they read the keyring)."""
        return self._desk

    @property
    def practitioner(self) -> Practitioner | None:
        return self._card.practitioner if self._card.session is not None else None

    @property
    def items(self) -> list[OutboxItem]:
        return list(self._items)

    @property
    def to_sign(self) -> list[OutboxItem]:
        """What the secretariat prepared for this professional, waiting for his signature."""
        return list(self._to_sign)

    @property
    def signing(self) -> bool:
        return self._signing is not None and not self._signing.done

    @property
    def sending(self) -> frozenset[str]:
        return frozenset(self._sending)

    def last_error(self, item_id: str) -> str | None:
        return self._errors.get(item_id)

    def context(self) -> UploadContext | str:
        """The patient on screen and the card holder, or why nothing can be sent (French)."""
        try:
            return upload_context(
                self._consultation.status, self.practitioner, self._settings, self._reference()
            )
        except DmpDesktopError as exc:
            return describe(exc)

    def _store_message(self, exc: BaseException) -> str:
        return self.tr(
            "La boîte d'envoi locale ne peut pas être ouverte : {why} Aucun document ne peut "
            "être envoyé tant qu'elle est indisponible."
        ).format(why=describe(exc))

    def type_ranking(self) -> list[str]:
        """This professional's most used types, most used first (read with the outbox)."""
        return list(self._ranking) if self.practitioner is not None else []

    # -- the file and the patient's objection ---------------------------------------------------
    def prepare_file(
        self, ins: Ins, source: Path | tuple[bytes, str], context: object = None
    ) -> Operation[FileToSend]:
        """Read (a path: at most 20 MB), check the file and look the patient's objections up,
        off the UI thread; answers with ``fileReady(file, context)`` or ``fileFailed``."""
        desk = self._desk

        def work() -> FileToSend:
            if isinstance(source, Path):
                return desk.read_file(ins, source)
            return desk.check_file(ins, source[0], source[1])

        def failed(exc: BaseException) -> None:
            if isinstance(exc, OSError):
                name = source.name if isinstance(source, Path) else source[1]
                self.fileFailed.emit(
                    context,
                    self.tr(
                        "Le fichier « {name} » ne peut pas être lu (introuvable, dossier ou "
                        "droits insuffisants) : vérifiez-le puis recommencez."
                    ).format(name=name),
                )
            else:
                self.fileFailed.emit(context, self._store_message(exc))

        return self._runner.run(
            Operation(
                self.tr("Lecture du fichier"),
                work,
                lambda file: self.fileReady.emit(file, context),
                failed,
            )
        )

    def record_objection(self, ins: Ins, data: bytes) -> Operation[None]:
        """One click: the patient objects; this file will never be sent for this patient
        (from the window or the ``dmp`` command). Answers with ``objectionRecorded``."""
        desk = self._desk

        def failed(exc: BaseException) -> None:
            self.problem.emit(self._store_message(exc))

        return self._runner.run(
            Operation(
                self.tr("Enregistrement de l'opposition du patient"),
                lambda: desk.record_objection(ins, data),
                lambda _none: self.objectionRecorded.emit(),
                failed,
                cancellable=False,
            )
        )

    def withdraw(self, item: OutboxItem) -> bool:
        """The patient objects to a pending document: objection recorded, item removed."""
        practitioner = self.practitioner
        if practitioner is None or item.id in self._sending:
            return False
        desk = self._desk

        def work() -> None:
            try:
                desk.withdraw(item.id, practitioner)
            finally:
                self._touch()

        self._runner.run(
            Operation(
                self.tr("Enregistrement de l'opposition du patient"),
                work,
                lambda _none: self.objectionRecorded.emit(),
                lambda exc: self.uploadFailed.emit(item, describe(exc)),
                cancellable=False,
            )
        )
        return True

    # -- the outbox -------------------------------------------------------------------------
    def reload_outbox(self) -> None:
        """Read this professional's pending uploads again (off the UI thread): outboxChanged."""
        practitioner = self.practitioner
        if practitioner is None:
            return
        if self._reload_op is not None and not self._reload_op.done:
            self._reload_again = True
            return
        desk = self._desk

        def work() -> _Reloaded:
            items, to_sign = desk.pending_and_to_sign(practitioner)
            try:
                ranking = desk.type_ranking(practitioner.national_id)
            except (DmpDesktopError, OSError, ValueError) as exc:
                log.warning("type usage unreadable: %s", type(exc).__name__)
                ranking = []
            return items, ranking, to_sign

        op: Operation[_Reloaded] = Operation(
            self.tr("Lecture des envois en attente"),
            work,
            lambda found: self._on_reloaded(op, practitioner, found),
            lambda exc: self._on_reload_failed(op, exc),
            silent=True,
        )
        self._reload_op = op
        self._runner.run(op)

    def _on_reloaded(
        self,
        op: Operation[_Reloaded],
        practitioner: Practitioner,
        found: _Reloaded,
    ) -> None:
        if op is not self._reload_op:
            return
        self._reload_op = None
        if self.practitioner != practitioner:
            return
        self._items, self._ranking = found[0], found[1][:MAX_FAVOURITE_TYPES]
        waiting = {i.id for i in self._items}
        self._errors = {k: v for k, v in self._errors.items() if k in waiting}
        self.outboxChanged.emit(self.items)
        if [i.id for i in found[2]] != [i.id for i in self._to_sign] or self._announce:
            self._to_sign = list(found[2])
            self.toSignChanged.emit(self.to_sign)
        if self._announce:
            self._announce = False
            if self._items:
                self.pendingAtLogin.emit(self.items)
        if self._reload_again:
            self._reload_again = False
            self.reload_outbox()

    def _on_reload_failed(self, op: Operation[Any], exc: BaseException) -> None:
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
    def _reference(self) -> InsIdentity | None:
        """The patient's INS identity the window shows (``reference_provider``): what is sent
        for that patient is checked against it (identity coherence); for another patient's
        item, the use case asks the DMP (TD0.2)."""
        provider = self.reference_provider
        return provider() if provider is not None else None

    def submit(self, req: UploadRequest) -> bool:
        """Put ``req`` in the outbox (every rule checked off the UI thread, the patient's
        objection included), then send it. False when there is no card session."""
        practitioner = self.practitioner
        if practitioner is None:
            self.uploadFailed.emit(None, upload_refusal(None, None) or "")
            return False
        desk = self._desk
        reference = self._reference()
        self._runner.run(
            Operation(
                self.tr("Préparation de l'envoi"),
                lambda: desk.queue(req, practitioner, reference=reference),
                self._on_queued,
                lambda exc: self.uploadFailed.emit(None, describe(exc)),
                cancellable=False,
            )
        )
        return True

    def _on_queued(self, item: OutboxItem) -> None:
        if item.awaiting_signature:  # a secretary's: it leaves once Dr X signed it
            self.uploadPrepared.emit(item)
            self.reload_outbox()
            return
        self.uploadQueued.emit(item)
        self.reload_outbox()
        self.send(item)

    # -- the parapheur ----------------------------------------------------------------------
    def sign_all(self, send: bool = False, item_ids: list[str] | None = None) -> bool:
        """Sign, in one go with this professional's card, what the secretariat prepared for
        him (``item_ids``: the ones reviewed; default: all shown); ``send``: and send them with
        his session. Answers ``signingDone(results, send)``. False when impossible now."""
        session = self._card.session
        practitioner = self.practitioner
        if session is None or practitioner is None or self.signing:
            return False
        ids = item_ids if item_ids is not None else [i.id for i in self._to_sign]
        if not ids:
            return False
        desk = self._desk

        def done(results: list[tuple[OutboxItem, Any]]) -> None:
            self._signing = None
            self.signingDone.emit(results, send)
            self.reload_outbox()
            if send and any(isinstance(r, DocumentEntry) for _i, r in results):
                consultation = self._consultation
                if consultation.state is PaneState.DOCUMENTS:
                    consultation.refresh()

        def failed(exc: BaseException) -> None:
            self._signing = None
            self.reload_outbox()
            self.uploadFailed.emit(None, describe(exc))

        def cancelled() -> None:
            self._signing = None
            self.reload_outbox()
            self.uploadFailed.emit(
                None,
                self.tr(
                    "Signature et envoi interrompus : les documents signés partiront à la "
                    "reprise, sans doublon ; les autres attendent encore votre signature."
                ),
            )

        if send:

            def sign_and_send(client: Any) -> list[tuple[OutboxItem, Any]]:
                try:
                    return list(desk.sign_and_send(client, session, ids))
                finally:
                    self._touch()

            op = self._dmp.call(
                self.tr("Signature et envoi des documents préparés"),
                sign_and_send,
                done,
                failed,
                on_cancel=cancelled,
            )
            if op is None:
                return self._not_logged_in_to_sign()
        else:

            def sign() -> list[tuple[OutboxItem, Any]]:
                try:
                    return list(desk.sign(session, ids))
                finally:
                    self._touch()

            op = self._runner.run(
                Operation(
                    self.tr("Signature des documents préparés"),
                    sign,
                    done,
                    failed,
                    cancellable=False,
                )
            )
        self._signing = op
        return True

    def _not_logged_in_to_sign(self) -> bool:
        self.uploadFailed.emit(
            None,
            self.tr(
                "Connectez-vous avec votre carte CPS : les documents préparés restent en "
                "attente de votre signature."
            ),
        )
        return False

    def _not_logged_in(self, item: OutboxItem) -> bool:
        self.uploadFailed.emit(
            item,
            self.tr(
                "Connectez-vous avec votre carte CPS : le document reste dans les envois "
                "en attente."
            ),
        )
        return False

    @property
    def waiting_for_host(self) -> frozenset[str]:
        """Items that will be sent again by themselves when the DMP answers."""
        return frozenset(self._offline)

    def set_resume_interval(self, milliseconds: int) -> None:
        self._resume_timer.setInterval(milliseconds)

    def _on_connection(self, state: ConnectionState) -> None:
        if state is ConnectionState.CONNECTED and self._offline:
            QTimer.singleShot(0, self.resume_offline)  # the DMP answers again

    def resume_offline(self) -> None:
        """Send again what waited for the DMP (each resumption checks by unique id first)."""
        if self.practitioner is None:
            return
        known = {item.id: item for item in self._items}
        self._offline &= set(known)  # withdrawn or confirmed meanwhile
        for item_id in sorted(self._offline):
            if item_id not in self._sending:
                self.send(known[item_id], automatic=True)

    def send(self, item: OutboxItem, *, automatic: bool = False) -> bool:
        """Send (or resume) one outbox item; False if it is already being sent or impossible.

        ``automatic``: a resumption the doctor did not ask for (no progress shown;
        a failure that is again the silence of the DMP is not told twice).
        """
        if item.id in self._sending:
            return False
        session = self._card.session
        if session is None or self.practitioner is None:
            return self._not_logged_in(item)
        desk = self._desk
        reference = self._reference()

        def work(client: Any) -> DocumentEntry:
            try:
                return desk.send(item, client, session, reference=reference)
            finally:
                self._touch()

        op = self._dmp.call(
            self.tr("Envoi du document au DMP"),
            work,
            lambda entry: self._on_sent(item, entry),
            lambda exc: self._on_send_failed(item, exc, automatic=automatic),
            silent=automatic,
            on_cancel=lambda: self._on_send_cancelled(item),
        )
        if op is None:
            return self._not_logged_in(item)
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
        self._offline.discard(item.id)
        self.uploadSucceeded.emit(item, entry)
        consultation = self._consultation
        ins = consultation.ins
        if (
            ins is not None
            and same_ins(ins, item.patient)
            and consultation.state is PaneState.DOCUMENTS
        ):
            consultation.refresh()

    def _on_send_failed(
        self, item: OutboxItem, exc: BaseException, *, automatic: bool = False
    ) -> None:
        self._done_sending(item)
        message = describe(exc)
        if isinstance(exc, OutboxItemGoneError):
            self._offline.discard(item.id)
            self.uploadFailed.emit(item, message)
            return
        if isinstance(exc, NetworkError | UploadUnconfirmedError):
            told = automatic and item.id in self._offline
            self._offline.add(item.id)
            self._resume_timer.start()
            if isinstance(exc, HostNotReachedError):
                message += " " + self.tr(
                    "Rien n'a été envoyé : le document reste dans les envois en attente et "
                    "partira de lui-même dès que le DMP répondra."
                )
            elif isinstance(exc, UploadUnconfirmedError):
                message += " " + self.tr("La reprise se fera d'elle-même dès que le DMP répondra.")
            else:
                message += " " + self.tr(
                    "Le document reste dans les envois en attente : il sera renvoyé de "
                    "lui-même dès que le DMP répondra, après avoir vérifié qu'il n'y est pas "
                    "déjà."
                )
            self._errors[item.id] = message
            if told:
                self.reload_outbox()  # its state may have changed; said once already
            else:
                self.uploadFailed.emit(item, message)
            return
        self._offline.discard(item.id)
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
        """Remove one of my items from the outbox (the user confirmed): it will not be sent."""
        practitioner = self.practitioner
        if item.id in self._sending or practitioner is None:
            return
        desk = self._desk

        def work() -> None:
            try:
                desk.discard(item.id, practitioner)
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
        """Prepare the VSM (replacing my previous one, RPLC) and send it through the outbox."""
        practitioner = self.practitioner
        if practitioner is None:
            self.uploadFailed.emit(None, upload_refusal(None, None) or "")
            return False
        settings, desk = self._settings, self._desk
        reference = self._reference()

        def work(client: Any) -> OutboxItem:
            req = prepare_vsm(
                client, practitioner, settings, identity.ins, summary, visibility, identity=identity
            )
            return desk.queue(req, practitioner, reference=reference)

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

    def find_my_previous_vsm(self, ins: Ins, found: Callable[[DocumentEntry | None], None]) -> bool:
        """Look up, off the UI thread, the newest VSM of ``ins`` written by the card holder
        (the use case's lookup: what a new VSM replaces); ``found`` gets it, or None.

        A failed lookup only logs: the question is asked again without a proposal.
        """
        practitioner = self.practitioner
        if practitioner is None:
            return False
        national_id = practitioner.national_id
        op = self._dmp.call(
            self.tr("Recherche de votre synthèse précédente"),
            lambda client: my_previous_vsm(client, ins, national_id),
            found,
            lambda exc: log.info("previous VSM not found: %s", describe(exc)),
            silent=True,
        )
        return op is not None

    # -- changes to documents ---------------------------------------------------------------
    def change_visibility(self, entry: DocumentEntry, visibility: Visibility) -> bool:
        return self._change(
            "visibility",
            self.tr("Modification de la visibilité"),
            lambda client: document_rules.change_visibility(client, entry, visibility),
        )

    def archive(self, entry: DocumentEntry) -> bool:
        return self._change(
            "archive",
            self.tr("Archivage du document"),
            lambda client: document_rules.archive(client, entry),
        )

    def unarchive(self, entry: DocumentEntry) -> bool:
        def work(client: Any) -> DocumentEntry:
            result: DocumentEntry = client.unarchive_document(entry)
            return result

        return self._change("unarchive", self.tr("Désarchivage du document"), work)

    def delete(self, entry: DocumentEntry) -> bool:
        return self._change(
            "delete",
            self.tr("Suppression du document"),
            lambda client: document_rules.delete(client, entry),
        )

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
        self.reload_outbox()  # opens the stores on a worker (keyring), reads my outbox

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
        self._ranking = []
        self._errors.clear()
        self._offline.clear()
        self._resume_timer.stop()
        if self._signing is not None and not self._signing.done:
            self._signing.on_success = None
            self._signing.on_failure = None
            self._signing.cancel()
        self._signing = None
        self.outboxChanged.emit([])
        if self._to_sign:
            self._to_sign = []
            self.toSignChanged.emit([])


def objection_message(when: datetime) -> str:
    return describe(ObjectionError(when))


def item_patient_text(item: OutboxItem) -> str:
    """The patient of an outbox item as the panel shows it (name, else the INS)."""
    identity = item.request.identity
    if identity is not None and identity.birth_family_name:
        given = identity.first_given_name.title()
        return f"{identity.birth_family_name.upper()} {given}".strip()
    return item.patient.value


_PENDING_TEXTS = {
    PendingState.TO_SIGN: lambda: _tr("à signer par {signer}"),
    PendingState.SIGNED: lambda: _tr("signé par {signer}, en attente d'envoi"),
    PendingState.WAITING: lambda: _tr("en attente d'envoi"),
    PendingState.REFUSED: lambda: _tr("en attente (dernier essai refusé)"),
    PendingState.UNCONFIRMED: lambda: _tr("envoyé, réception non confirmée"),
}


def item_state_text(item: OutboxItem, sending: bool = False) -> str:
    """Where the item stands (the classification is the use case's :class:`PendingState`)."""
    if sending:
        return _tr("envoi en cours…")
    return _PENDING_TEXTS[PendingState.of(item)]().format(signer=item.signer_name)


def to_sign_text(count: int) -> str:
    """The doctor's banner: what the secretariat prepared for him."""
    if count == 1:
        return _tr("1 envoi préparé par le secrétariat attend votre signature")
    return _tr("{n} envois préparés par le secrétariat attendent votre signature").format(n=count)


__all__ = [
    "MAX_FAVOURITE_TYPES",
    "VSM_TYPE",
    "AlimentationService",
    "FileToSend",
    "ObjectionStore",
    "TypeUsage",
    "UploadContext",
    "Visibility",
    "birthplace_from_ins",
    "is_author",
    "item_patient_text",
    "item_state_text",
    "objection_message",
    "same_ins",
    "sha256",
    "to_sign_text",
    "upload_refusal",
]
