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

import atexit
import concurrent.futures
import concurrent.futures.process
import logging
import multiprocessing
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from PySide6.QtCore import QObject, Qt, Signal, Slot

from dmp_desktop.domain.document import DocumentEntry, RetrievedDocument
from dmp_desktop.domain.patient import Ins
from dmp_desktop.errors import describe
from dmp_desktop.essentials.model import DocumentFacts, Essentials, Source
from dmp_desktop.essentials.reading import read_document
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
READ_TIMEOUT_S = 60.0  # one document read by the reading process


class ReadingProcess:
    """Documents read in another process: parsing XML holds Python's interpreter lock for
    long stretches, and a UI thread that waits for it cannot paint (issue #19: the UI thread
    never stalls more than 50 ms). One process, started on first use and kept; if it cannot be
    started (or dies), documents are read in the calling thread instead."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pool: concurrent.futures.ProcessPoolExecutor | None = None
        self._broken = False

    def _executor(self) -> concurrent.futures.ProcessPoolExecutor | None:
        with self._lock:
            if self._pool is None and not self._broken:
                try:
                    context = multiprocessing.get_context("spawn")  # never fork a Qt process
                    self._pool = concurrent.futures.ProcessPoolExecutor(
                        1, mp_context=context, initializer=_background_priority
                    )
                except (OSError, ValueError) as exc:
                    log.warning("no reading process: %s", type(exc).__name__)
                    self._broken = True
            return self._pool

    def warm_up(self) -> None:
        """Start the process ahead of the first document (worker thread)."""
        pool = self._executor()
        if pool is not None:
            try:
                pool.submit(_imported).result(timeout=READ_TIMEOUT_S)
            except Exception as exc:
                self._give_up(exc)

    def read(self, content: bytes, source: Source) -> DocumentFacts:
        pool = self._executor()
        if pool is not None:
            try:
                return pool.submit(read_document, content, source).result(timeout=READ_TIMEOUT_S)
            except concurrent.futures.process.BrokenProcessPool as exc:
                self._give_up(exc)
            except concurrent.futures.TimeoutError as exc:
                self._give_up(exc)
        return read_document(content, source)

    def _give_up(self, exc: BaseException) -> None:
        log.warning("reading process unusable: %s", type(exc).__name__)
        with self._lock:
            pool, self._pool = self._pool, None
            self._broken = True
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)

    def shutdown(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


def _background_priority() -> None:
    """The reading process yields the processor to the window (lower priority)."""
    try:
        os.nice(10)
    except (AttributeError, OSError):  # not on this system: still correct, less gentle
        pass


def _imported() -> bool:
    """Run in the reading process: its imports done before the first document."""
    import dmp_desktop.essentials.reading  # noqa: F401

    return True


_READING = ReadingProcess()
atexit.register(_READING.shutdown)


def reading_process() -> ReadingProcess:
    return _READING
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
    prepared: object = None  # what the pane prepared off the UI thread (its rows' texts)

    def signature(self, *, lines_only: bool = False) -> tuple[object, ...]:
        """Equal for two views that show the same thing (an update that changes nothing);
        ``lines_only``: the same lines, whatever documents stand behind them."""
        if lines_only:
            return (
                self.ins,
                tuple((line.fingerprint, line.conflict) for line in self.essentials.lines),
            )
        lines = tuple(
            (line.fingerprint, line.conflict, tuple(s.unique_id for s in line.sources), line.new)
            for line in self.essentials.lines
        )
        return (self.ins, self.unread, self.structured, len(self.essentials.left_out), lines)


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
        prepare: Callable[[Essentials], object] | None = None,
        reader: ReadingProcess | None = None,
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
        self._prepare = prepare  # the pane's texts, made in the worker with the lines
        self._reader = reader
        self._shown: tuple[object, ...] | None = None
        self._shown_lines: tuple[object, ...] | None = None
        self._patient: _Patient | None = None
        self._view: EssentialsView | None = None
        self._closed = False
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
        self._shown = self._shown_lines = None
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
        if (
            patient is None
            or patient.session.ins != listing.ins
            or (patient.session.professional_id != practitioner.national_id)
        ):
            self.clear()
            reader = self._reader
            session = EssentialsSession(
                practitioner.national_id,
                listing.ins,
                None,
                today=self._today,
                reader=reader.read if reader is not None else read_document,
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
                if self._reader is not None and session.missing(entries):
                    self._reader.warm_up()
            with patient.lock:
                pending, patient.pending = patient.pending, []
            for entry, content in pending:
                session.add(entry, content)
            view = _view_of(session, entries, self._prepare)
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

    def _publish(self, view: EssentialsView, *, partial: bool = False) -> None:
        """Show ``view`` unless it shows nothing new; while loading (``partial``), only new
        or changed lines count (the documents behind them are shown when the load ends)."""
        signature = view.signature(lines_only=partial)
        self._view = view
        if signature == self._shown or (partial and signature == self._shown_lines):
            return  # nothing new to show: spare the UI thread
        self._shown = view.signature()
        self._shown_lines = view.signature(lines_only=True)
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
                if time.monotonic() - last >= PUBLISH_EVERY_S:  # lines and count, not too often
                    last = time.monotonic()
                    relay.progress.emit(patient, done, total)
                    relay.partial.emit(patient, _view_of(session, entries, self._prepare))

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
            relay.progress.emit(patient, done, total)
            view = _view_of(session, entries, self._prepare)
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
            self._publish(view, partial=True)

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
        if self._closed:
            return
        self._closed = True
        consultation = self._consultation
        consultation.documentsReady.disconnect(self._on_documents)
        consultation.documentRetrieved.disconnect(self._on_retrieved)
        consultation.stateChanged.disconnect(self._on_state)
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


def _view_of(
    session: EssentialsSession,
    entries: tuple[DocumentEntry, ...],
    prepare: Callable[[Essentials], object] | None = None,
) -> EssentialsView:
    essentials = session.essentials(entries)
    structured = sum(1 for e in entries if is_structured(e))
    prepared = prepare(essentials) if prepare is not None else None
    return EssentialsView(
        session.ins, essentials, len(session.missing(entries)), structured, prepared
    )


def _save_quietly(session: EssentialsSession) -> None:
    try:
        session.save()
    except Exception as exc:  # a full disk must not break the consultation
        log.warning("essentials cache not saved: %s", type(exc).__name__)


__all__ = ["EssentialsService", "EssentialsView"]
