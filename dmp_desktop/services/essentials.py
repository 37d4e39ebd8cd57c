"""« L'essentiel » for the window: the use case (:mod:`dmp_desktop.usecases.essentials`) in the
background-operation API, answering with signals.

* When the document list of a patient arrives, the cache of earlier visits is
  read and « L'essentiel » built — off the UI thread — from the documents of
  that list already read.
* Every document the consultation retrieves (opened, or read ahead) comes
  here too (:attr:`ConsultationService.documentRetrieved`): it is read off
  the UI thread and the lines are rebuilt, several arrivals at once when they
  come fast. Nothing is retrieved for « L'essentiel » alone…
* …except on the doctor's request, :meth:`EssentialsService.load_structured`
  (« Charger les documents structurés »): each unread structured document is
  retrieved (the DMP traces it), and lines appear as documents arrive
  (at most every :data:`PUBLISH_EVERY_S` seconds), with a progress count and
  « Annuler ».
* The UI thread only receives finished :class:`~dmp_desktop.essentials.model.Essentials`.
  Everything about the patient is dropped when the patient changes or the
  card session ends; the encrypted cache is written off the UI thread.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from PySide6.QtCore import QObject, Qt, Signal, Slot

from dmp_desktop.domain.document import DocumentEntry, RetrievedDocument
from dmp_desktop.domain.patient import Ins
from dmp_desktop.errors import describe
from dmp_desktop.essentials.model import Essentials
from dmp_desktop.services.consultation import ConsultationService, DocumentList
from dmp_desktop.services.dmp_service import DmpClientLike, DmpService
from dmp_desktop.services.operations import Operation, OperationCancelled, OperationRunner
from dmp_desktop.settings import Settings
from dmp_desktop.storage.essentials_cache import EssentialsCache
from dmp_desktop.usecases.essentials import (
    Access,
    EssentialsSession,
    is_structured,
    load_structured,
)

log = logging.getLogger(__name__)

PUBLISH_EVERY_S = 0.25  # while loading: lines shown at most this often
SAVE_EVERY_S = 5.0  # the cache written at most this often while documents arrive


def _open_cache(settings: Settings) -> EssentialsCache:
    from dmp_desktop.storage.secure import SecureStore

    store = SecureStore.open(
        settings.local_data_dir() / "state", training_mode=settings.training_mode
    )
    return EssentialsCache(store)


@dataclass(frozen=True)
class EssentialsView:
    """What the pane shows: « L'essentiel », and how many structured documents are unread."""

    ins: Ins
    essentials: Essentials
    unread: int
    structured: int  # structured documents in the list


class _Relay(QObject):
    """Carries partial results from a worker thread to the UI thread."""

    partial = Signal(object, object)  # _Patient, EssentialsView
    progress = Signal(object, int, int)  # _Patient, done, total


class _Patient:
    """One patient's « L'essentiel » while the record is open (lives on the UI thread)."""

    def __init__(self, session: EssentialsSession) -> None:
        self.session = session
        self.entries: tuple[DocumentEntry, ...] = ()
        self.pending: list[tuple[DocumentEntry, bytes]] = []  # retrieved, not read yet
        self.lock = threading.Lock()
        self.build_op: Operation[EssentialsView] | None = None
        self.load_op: Operation[EssentialsView] | None = None
        self.again = False  # another build asked for while one runs
        self.last_save = 0.0


class EssentialsService(QObject):
    """« L'essentiel » of the patient whose record is open, for the window."""

    essentialsReady = Signal(object)  # EssentialsView
    essentialsCleared = Signal()
    loadingChanged = Signal(bool)  # « charger les documents structurés » under way
    loadProgress = Signal(int, int)  # documents read, to read
    failed = Signal(str)  # French message

    def __init__(
        self,
        settings: Settings,
        consultation: ConsultationService,
        dmp: DmpService,
        runner: OperationRunner | None = None,
        *,
        cache: Callable[[], EssentialsCache] | None = None,
        today: Callable[[], date] = date.today,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._consultation = consultation
        self._dmp = dmp
        # Its own single worker by default: reading and aggregating never take more than one
        # core, and they queue behind each other rather than racing.
        self._own_runner = runner is None
        self._runner = runner or OperationRunner(self, max_workers=1)
        self._open_cache = cache or (lambda: _open_cache(settings))
        self._cache: EssentialsCache | None = None
        self._cache_lock = threading.Lock()
        self._today = today
        self._patient: _Patient | None = None
        self._view: EssentialsView | None = None
        self._relay = _Relay(self)
        self._relay.partial.connect(self._on_partial, Qt.ConnectionType.QueuedConnection)
        self._relay.progress.connect(self._on_progress, Qt.ConnectionType.QueuedConnection)
        consultation.documentsReady.connect(self._on_documents)
        consultation.documentRetrieved.connect(self._on_retrieved)
        consultation.stateChanged.connect(self._on_state)

    # -- what the pane reads -------------------------------------------------------------
    @property
    def view(self) -> EssentialsView | None:
        return self._view

    @property
    def loading(self) -> bool:
        patient = self._patient
        return patient is not None and patient.load_op is not None and not patient.load_op.done

    @property
    def building(self) -> bool:
        patient = self._patient
        return patient is not None and patient.build_op is not None and not patient.build_op.done

    def _cache_store(self) -> EssentialsCache | None:
        with self._cache_lock:
            if self._cache is None:
                try:
                    self._cache = self._open_cache()
                except Exception as exc:  # no keyring: « L'essentiel » without its cache
                    log.warning("essentials cache unavailable: %s", type(exc).__name__)
                    return None
            return self._cache

    # -- the record ----------------------------------------------------------------------
    def clear(self) -> None:
        """Forget the patient (another patient, the session ended); the cache is saved first."""
        patient, self._patient = self._patient, None
        self._view = None
        if patient is None:
            return
        for op in (patient.build_op, patient.load_op):
            if op is not None and not op.done:
                op.on_cancel = None
                op.cancel()
        if patient.load_op is not None:
            self.loadingChanged.emit(False)
        self._runner.submit(lambda: _save_quietly(patient.session))
        self.essentialsCleared.emit()

    def _on_state(self, state: object) -> None:
        if self._consultation.ins is None:
            self.clear()

    def _on_documents(self, listing: DocumentList) -> None:
        practitioner = self._consultation.practitioner
        if practitioner is None:
            return
        patient = self._patient
        if patient is None or patient.session.ins != listing.ins or (
            patient.session.professional_id != practitioner.national_id
        ):
            self.clear()
            session = EssentialsSession(
                practitioner.national_id, listing.ins, None, today=self._today
            )
            patient = _Patient(session)
            self._patient = patient
        patient.entries = tuple(listing.entries)
        self._build(patient)

    def _on_retrieved(self, entry: DocumentEntry, document: RetrievedDocument) -> None:
        patient = self._patient
        if patient is None or entry.unique_id not in {e.unique_id for e in patient.entries}:
            return
        if not is_structured(entry):
            return
        with patient.lock:
            patient.pending.append((entry, document.content))
        self._build(patient)

    # -- building, off the UI thread ---------------------------------------------------------------
    def _build(self, patient: _Patient) -> None:
        if patient.build_op is not None and not patient.build_op.done:
            patient.again = True  # one more pass when this one ends
            return
        patient.again = False
        entries = patient.entries
        cache = self._cache_store

        def work() -> EssentialsView:
            session = patient.session
            if not session.opened:
                session.attach(cache())
                session.open()
            with patient.lock:
                pending, patient.pending = patient.pending, []
            for entry, content in pending:
                session.add(entry, content)
            view = _view_of(session, entries)
            if time.monotonic() - patient.last_save > SAVE_EVERY_S:
                patient.last_save = time.monotonic()
                _save_quietly(session)
            return view

        op = Operation(
            self.tr("Préparation de L'essentiel"),
            work,
            lambda view: self._on_built(patient, op, view),
            lambda exc: self._on_build_failed(patient, op, exc),
            silent=True,
        )
        patient.build_op = op
        self._runner.run(op)

    def _on_built(
        self, patient: _Patient, op: Operation[EssentialsView], view: EssentialsView
    ) -> None:
        if patient is not self._patient or op is not patient.build_op:
            return
        self._publish(view)
        if patient.again or patient.pending:
            self._build(patient)

    def _on_build_failed(
        self, patient: _Patient, op: Operation[EssentialsView], exc: BaseException
    ) -> None:
        if patient is not self._patient or op is not patient.build_op:
            return
        self.failed.emit(describe(exc))

    def _publish(self, view: EssentialsView) -> None:
        self._view = view
        self.essentialsReady.emit(view)

    # -- « Charger les documents structurés » ----------------------------------------------------
    def load_structured(self) -> bool:
        """Retrieve the unread structured documents of the list (the doctor asked for it)."""
        patient = self._patient
        if patient is None or (patient.load_op is not None and not patient.load_op.done):
            return False
        access = self._consultation.access
        entries = patient.entries
        relay = self._relay
        stop = threading.Event()

        def work(client: DmpClientLike) -> EssentialsView:
            session = patient.session
            if not session.opened:
                session.attach(self._cache_store())
                session.open()
            total = len(session.missing(entries))
            done = 0
            last = time.monotonic()
            relay.progress.emit(patient, 0, total)

            def arrived(_entry: DocumentEntry, _facts: object) -> None:
                nonlocal done, last
                done += 1
                relay.progress.emit(patient, done, total)
                if time.monotonic() - last >= PUBLISH_EVERY_S:
                    last = time.monotonic()
                    relay.partial.emit(patient, _view_of(session, entries))

            load_structured(
                client,
                session,
                entries,
                Access(access.purpose, access.reason),
                on_document=arrived,
                cancelled=stop.is_set,
            )
            if stop.is_set():
                raise OperationCancelled()
            view = _view_of(session, entries)
            _save_quietly(session)
            return view

        def cancelled() -> None:
            stop.set()
            if patient is self._patient:
                patient.load_op = None
                self.loadingChanged.emit(False)
                self._build(patient)  # what was read before the cancel stays shown

        op = self._dmp.call(
            self.tr("Chargement des documents structurés"),
            work,
            lambda view: self._on_loaded(patient, view),
            lambda exc: self._on_load_failed(patient, exc),
            on_cancel=cancelled,
        )
        if op is None:
            self.failed.emit(self.tr("Connectez-vous avec votre carte CPS pour consulter le DMP."))
            return False
        patient.load_op = op
        self.loadingChanged.emit(True)
        return True

    def cancel_load(self) -> None:
        patient = self._patient
        if patient is not None and patient.load_op is not None and not patient.load_op.done:
            patient.load_op.cancel()

    @Slot(object, object)
    def _on_partial(self, patient: _Patient, view: EssentialsView) -> None:
        if patient is self._patient and self.loading:
            self._publish(view)

    @Slot(object, int, int)
    def _on_progress(self, patient: _Patient, done: int, total: int) -> None:
        if patient is self._patient and self.loading:
            self.loadProgress.emit(done, total)

    def _on_loaded(self, patient: _Patient, view: EssentialsView) -> None:
        if patient is not self._patient:
            return
        patient.load_op = None
        self.loadingChanged.emit(False)
        self._publish(view)

    def _on_load_failed(self, patient: _Patient, exc: BaseException) -> None:
        if patient is not self._patient:
            return
        patient.load_op = None
        self.loadingChanged.emit(False)
        self.failed.emit(describe(exc))
        self._build(patient)  # show what was read before the failure

    def shutdown(self) -> None:
        """Application exit: save the cache, stop the worker (idempotent)."""
        patient = self._patient
        self.clear()
        if patient is not None:
            _save_quietly(patient.session)
        if self._own_runner:
            self._runner.shutdown(wait=True)

    # -- for the pane -------------------------------------------------------------------------
    def entry(self, unique_id: str) -> DocumentEntry | None:
        """The listed document a line names (to open it)."""
        patient = self._patient
        if patient is None:
            return None
        return next((e for e in patient.entries if e.unique_id == unique_id), None)


def _view_of(session: EssentialsSession, entries: tuple[DocumentEntry, ...]) -> EssentialsView:
    essentials = session.essentials(entries)
    structured = sum(1 for e in entries if is_structured(e))
    return EssentialsView(session.ins, essentials, len(session.missing(entries)), structured)


def _save_quietly(session: EssentialsSession) -> None:
    try:
        session.save()
    except Exception as exc:  # a full disk must not break the consultation
        log.warning("essentials cache not saved: %s", type(exc).__name__)


__all__ = ["EssentialsService", "EssentialsView"]
