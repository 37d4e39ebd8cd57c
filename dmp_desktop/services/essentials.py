"""« L'essentiel » for the window: the use case (:mod:`dmp_desktop.usecases.essentials`) in the
background-operation API, answering with signals.

* When the document list of a patient arrives, the cache of earlier visits is
  read and « L'essentiel » built from the documents of that list already read.
* Every document the consultation retrieves (opened, or read ahead) comes
  here too (:attr:`ConsultationService.documentRetrieved`): it is read and the
  lines rebuilt, several arrivals at once when they come fast. Nothing is
  retrieved for « L'essentiel » alone…
* …except on the doctor's request, :meth:`EssentialsService.load_structured`
  (« Charger les documents structurés »): each unread structured document is
  retrieved (the DMP traces it), and lines appear as documents arrive (at most
  every :data:`PUBLISH_EVERY_S` seconds), with a count and « Annuler ».

Where the work happens: reading CDA, aggregating and writing the encrypted
cache are Python work that holds the interpreter lock, and a UI thread waiting
for that lock cannot paint. The session therefore lives in a worker process
(:class:`SessionProcess`, functions of :mod:`dmp_desktop.essentials.worker`,
lower priority); this process's threads only wait for it, and the UI thread
receives finished :class:`EssentialsView` objects whose texts are already
prepared. Everything about the patient is dropped when the patient changes or
the card session ends.
"""

from __future__ import annotations

import atexit
import concurrent.futures
import concurrent.futures.process
import logging
import multiprocessing
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any, TypeVar

from PySide6.QtCore import QObject, Qt, Signal, Slot

from dmp_desktop.dates import paris_today
from dmp_desktop.domain.document import DocumentEntry, RetrievedDocument
from dmp_desktop.domain.patient import Ins
from dmp_desktop.errors import describe
from dmp_desktop.essentials import worker
from dmp_desktop.essentials.model import Essentials
from dmp_desktop.essentials.structured import is_structured
from dmp_desktop.essentials.text import RowTexts
from dmp_desktop.services.consultation import ConsultationService, DocumentList
from dmp_desktop.services.dmp_service import ConnectionState, DmpClientLike, DmpService
from dmp_desktop.services.operations import Operation, OperationCancelled, OperationRunner
from dmp_desktop.settings import Settings

log = logging.getLogger(__name__)

PUBLISH_EVERY_S = 0.25  # while loading: lines shown at most this often
SAVE_EVERY_S = 5.0  # the cache written at most this often while documents arrive
CALL_TIMEOUT_S = 120.0
SEND_BATCH = 500  # listed documents sent to the worker process together
T = TypeVar("T")


class SessionProcess:
    """Runs the functions of :mod:`dmp_desktop.essentials.worker` in a process of their own.

    One process, started on first use and kept for the application's life (spawned, never
    forked from a Qt process; lower priority). If it cannot be started or dies, the same
    functions run in the calling thread from then on: slower for the UI, still correct.
    """

    def __init__(self, *, in_process: bool = False) -> None:
        self._lock = threading.Lock()
        self._pool: concurrent.futures.ProcessPoolExecutor | None = None
        self._broken = in_process
        self._ready = False

    def _executor(self) -> concurrent.futures.ProcessPoolExecutor | None:
        with self._lock:
            if self._pool is None and not self._broken:
                try:
                    self._pool = concurrent.futures.ProcessPoolExecutor(
                        1,
                        mp_context=multiprocessing.get_context("spawn"),
                        initializer=worker.background_priority,
                    )
                except (OSError, ValueError) as exc:
                    log.warning("no essentials process: %s", type(exc).__name__)
                    self._broken = True
            return self._pool

    def call(self, function: Callable[..., T], *args: Any) -> T:
        pool = self._executor()
        if pool is not None:
            try:
                return pool.submit(function, *args).result(timeout=CALL_TIMEOUT_S)
            except (
                concurrent.futures.process.BrokenProcessPool,
                concurrent.futures.TimeoutError,
                RuntimeError,  # the pool was shut down meanwhile
            ) as exc:
                self._give_up(exc)
        return function(*args)

    def start(self) -> None:
        """Start the process if it is not running yet; return once it answers (from a
        worker thread: its first start takes seconds)."""
        if not self._ready:
            self.call(worker.ready)
            self._ready = True

    def _give_up(self, exc: BaseException) -> None:
        log.warning("essentials process unusable: %s", type(exc).__name__)
        with self._lock:
            pool, self._pool = self._pool, None
            self._broken = True
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)

    def shutdown(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
            self._ready = False
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


_PROCESS = SessionProcess()
atexit.register(_PROCESS.shutdown)


def session_process() -> SessionProcess:
    """The application's one worker process for « L'essentiel »."""
    return _PROCESS


def _cache_store(settings: Settings) -> tuple[str, bytes]:
    """The encrypted store's folder and key, for the worker process (blocking: keyring)."""
    from dmp_desktop.storage.secure import load_or_create_key

    directory = settings.local_data_dir() / "state"
    key = load_or_create_key(directory if settings.training_mode else None)
    return str(directory), key


@dataclass(frozen=True)
class EssentialsView:
    """What the pane shows: « L'essentiel », and how many structured documents are unread."""

    ins: Ins
    essentials: Essentials
    unread: int
    structured: int  # structured documents in the list
    rows: tuple[RowTexts, ...] = ()  # the texts of the lines, prepared with them

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

    def __init__(self, professional_id: str, ins: Ins) -> None:
        self.key = uuid.uuid4().hex  # the session's name in the worker process
        self.professional_id = professional_id
        self.ins: Ins | None = ins  # None once closed
        self.entries: tuple[DocumentEntry, ...] = ()
        self.sent: tuple[DocumentEntry, ...] | None = None  # the list the worker process has
        self.pending: list[tuple[DocumentEntry, bytes]] = []  # retrieved, not read yet
        self.lock = threading.Lock()
        self.build_op: Operation[EssentialsView] | None = None
        self.load_op: Operation[EssentialsView] | None = None
        self.again = False  # another build asked for while one runs
        self.last_save = time.monotonic()
        # Set on the UI thread when the record is closed (card pulled, another patient):
        # the worker threads then send nothing more of hers to the worker process.
        self.closed = False

    def check_open(self) -> Ins:
        """Her INS while her record is open; OperationCancelled once it is closed."""
        ins = self.ins
        if self.closed or ins is None:
            raise OperationCancelled()
        return ins

    def close(self) -> None:
        """Let go of her data (UI thread): work still queued finds nothing to send."""
        self.closed = True
        self.ins = None
        self.entries = ()
        self.sent = None
        with self.lock:
            self.pending = []


class _RemoteSession:
    """The session in the worker process, as :func:`load_structured` uses it."""

    BATCH = 8  # documents sent to the worker process together

    def __init__(self, process: SessionProcess, patient: _Patient) -> None:
        self.process = process
        self.patient = patient
        self.key = patient.key
        self.buffer: list[tuple[DocumentEntry, bytes]] = []

    def flush(self) -> None:
        if self.buffer:
            batch, self.buffer = self.buffer, []
            self.patient.check_open()
            self.process.call(worker.add_many, self.key, batch)

    def missing(self, entries: Iterable[DocumentEntry]) -> list[DocumentEntry]:
        """The unread ones of ``entries`` (the list the worker process was given)."""
        unread = set(self.process.call(worker.missing_ids, self.key))
        return [e for e in entries if e.unique_id in unread]

    def add(self, entry: DocumentEntry, content: bytes) -> None:
        self.buffer.append((entry, content))
        if len(self.buffer) >= self.BATCH:
            self.flush()


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
        process: SessionProcess | None = None,
        phrases: Callable[[], dict[str, str]] | None = None,
        today: Callable[[], date] = paris_today,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._settings = settings
        self._consultation = consultation
        self._dmp = dmp
        # Its own worker thread by default: waiting for the worker process, never racing.
        self._own_runner = runner is None
        self._runner = runner or OperationRunner(self, max_workers=1)
        self._process = process or session_process()
        self._store: tuple[str, bytes] | None = None
        self._store_lock = threading.Lock()
        self._store_tried = False
        self._today = today
        self._phrases = phrases  # the pane's words, translated: its texts are made with the lines
        self._shown: tuple[object, ...] | None = None
        self._shown_lines: tuple[object, ...] | None = None
        self._patient: _Patient | None = None
        self._view: EssentialsView | None = None
        self._closed = False
        self._started = False
        self._relay = _Relay(self)
        self._relay.partial.connect(self._on_partial, Qt.ConnectionType.QueuedConnection)
        self._relay.progress.connect(self._on_progress, Qt.ConnectionType.QueuedConnection)
        consultation.documentsReady.connect(self._on_documents)
        consultation.documentRetrieved.connect(self._on_retrieved)
        consultation.stateChanged.connect(self._on_state)
        dmp.connectionChanged.connect(self._on_connection)

    def _on_connection(self, state: ConnectionState) -> None:
        """A card session: start the worker process now, before a record is opened."""
        if state is ConnectionState.IDLE and not self._closed and not self._started:
            self._started = True
            self._runner.submit(self._process.start)

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

    def entry(self, unique_id: str) -> DocumentEntry | None:
        """The listed document a line names (to open it)."""
        patient = self._patient
        if patient is None:
            return None
        return next((e for e in patient.entries if e.unique_id == unique_id), None)

    # -- the worker process (called from worker threads) ----------------------------------------
    def _cache(self) -> tuple[str, bytes] | None:
        with self._store_lock:
            if not self._store_tried:
                self._store_tried = True
                try:
                    self._store = _cache_store(self._settings)
                except Exception as exc:  # no keyring: « L'essentiel » without its cache
                    log.warning("essentials cache unavailable: %s", type(exc).__name__)
            return self._store

    def _open(self, patient: _Patient, entries: tuple[DocumentEntry, ...]) -> None:
        """The patient's session in the worker process, with this list (idempotent).

        Nothing of hers is handed to the pool before the process is up (its first start
        takes seconds), nor once her record is closed: a call in flight is held by the
        pool until it returns."""
        self._process.start()
        ins = patient.check_open()
        self._process.call(
            worker.open_session,
            patient.key,
            patient.professional_id,
            ins,
            self._cache(),
            self._today(),
            self._phrases() if self._phrases is not None else None,
        )
        if patient.sent is not entries:
            # Only the structured documents have lines to give, and a list can hold
            # thousands: each DocumentEntry sent is pickled by this process (work that
            # holds the interpreter lock, the UI thread waiting for it), so the others
            # stay here and the rest goes in pieces.
            structured = [entry for entry in entries if is_structured(entry)]
            for start in range(0, max(1, len(structured)), SEND_BATCH):
                patient.check_open()
                self._process.call(
                    worker.set_entries if start == 0 else worker.add_entries,
                    patient.key,
                    structured[start : start + SEND_BATCH],
                )
            patient.sent = entries

    def _view_of(self, patient: _Patient) -> EssentialsView:
        essentials, unread, structured, rows = self._process.call(worker.essentials, patient.key)
        return EssentialsView(patient.check_open(), essentials, unread, structured, rows)

    def _save(self, key: str, *, close: bool = False) -> None:
        try:
            self._process.call(worker.close if close else worker.save, key)
        except Exception as exc:  # a full disk must not break the consultation
            log.warning("essentials cache not saved: %s", type(exc).__name__)

    # -- the record ----------------------------------------------------------------------
    def clear(self) -> None:
        """Forget the patient (another patient, the session ended); the cache is saved first."""
        patient, self._patient = self._patient, None
        self._view = None
        self._shown = self._shown_lines = None
        if patient is None:
            return
        patient.close()
        for op in (patient.build_op, patient.load_op):
            if op is not None and not op.done:
                op.on_cancel = None
                op.cancel()
        if patient.load_op is not None:
            self.loadingChanged.emit(False)
        if not self._closed:
            key = patient.key
            self._runner.submit(lambda: self._save(key, close=True))
        self.essentialsCleared.emit()

    def _on_state(self, _state: object) -> None:
        if self._consultation.ins is None:
            self.clear()

    def _on_documents(self, listing: DocumentList) -> None:
        practitioner = self._consultation.practitioner
        if practitioner is None:
            return
        patient = self._patient
        if (
            patient is None
            or patient.ins != listing.ins
            or patient.professional_id != practitioner.national_id
        ):
            self.clear()
            patient = _Patient(practitioner.national_id, listing.ins)
            self._patient = patient
        patient.entries = tuple(listing.entries)
        self._build(patient)

    def _on_retrieved(self, entry: DocumentEntry, document: RetrievedDocument) -> None:
        patient = self._patient
        if patient is None or not is_structured(entry):
            return
        if entry.unique_id not in {e.unique_id for e in patient.entries}:
            return
        with patient.lock:
            patient.pending.append((entry, document.content))
        self._build(patient)

    # -- building ---------------------------------------------------------------------------
    def _build(self, patient: _Patient) -> None:
        if patient.build_op is not None and not patient.build_op.done:
            patient.again = True  # one more pass when this one ends
            return
        patient.again = False

        def work() -> EssentialsView:
            self._open(patient, patient.entries)  # the latest list (a closed record: none)
            with patient.lock:
                pending, patient.pending = patient.pending, []
            if pending:
                patient.check_open()
                self._process.call(worker.add_many, patient.key, pending)
            view = self._view_of(patient)
            if pending and time.monotonic() - patient.last_save > SAVE_EVERY_S:
                patient.last_save = time.monotonic()
                self._save(patient.key)
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
            self._open(patient, entries)
            session = _RemoteSession(self._process, patient)
            total = len(session.missing(entries))
            done = 0
            last = time.monotonic()
            relay.progress.emit(patient, 0, total)

            def arrived(_entry: DocumentEntry, _facts: object) -> None:
                nonlocal done, last
                done += 1
                if time.monotonic() - last >= PUBLISH_EVERY_S:  # lines and count, not too often
                    last = time.monotonic()
                    session.flush()
                    relay.progress.emit(patient, done, total)
                    relay.partial.emit(patient, self._view_of(patient))

            from dmp_desktop.usecases.essentials import load_structured

            load_structured(
                client,
                session,
                entries,
                access,
                on_document=arrived,
                cancelled=lambda: stop.is_set() or patient.closed,
            )
            if patient.closed:  # the record was closed: nothing more of hers is sent
                raise OperationCancelled()
            session.flush()  # what was retrieved is read, even when cancelled
            if stop.is_set():
                raise OperationCancelled()
            relay.progress.emit(patient, done, total)
            view = self._view_of(patient)
            self._save(patient.key)
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

    # -- exit ---------------------------------------------------------------------------------
    def shutdown(self) -> None:
        """Application exit: save the cache, stop the worker thread (idempotent)."""
        if self._closed:
            return
        consultation = self._consultation
        consultation.documentsReady.disconnect(self._on_documents)
        consultation.documentRetrieved.disconnect(self._on_retrieved)
        consultation.stateChanged.disconnect(self._on_state)
        self._dmp.connectionChanged.disconnect(self._on_connection)
        patient = self._patient
        self.clear()
        self._closed = True
        if self._own_runner:
            self._runner.shutdown(wait=True)
        if patient is not None:
            self._save(patient.key, close=True)


__all__ = ["EssentialsService", "EssentialsView", "SessionProcess", "session_process"]
