"""Terminologies for the VSM editor: searches as the doctor types, imports with progress.

Searches run on a worker thread of their own (one at a time, in order) as
silent :class:`Operation` s: a search takes well under a millisecond on the
full lists, but up to 40 ms while an import runs (docs/terminology.md), too
much for the UI thread between two keystrokes. Callers debounce (about 40 ms)
and keep only the answer to their latest question.

Imports (ATIH CIM-10 file, ANSM BDPM folder) are cancellable operations with
a progress fraction; a cancelled or failed import changes nothing. The index
is opened on first use, on a worker, with the bundled starter set.
"""

from __future__ import annotations

import concurrent.futures
import enum
import logging
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from dmp_desktop.errors import describe
from dmp_desktop.services.operations import Operation, OperationRunner
from dmp_desktop.settings import Settings
from dmp_desktop.terminology import (
    Concept,
    ImportCancelledError,
    ImportReport,
    SourceInfo,
    System,
    TerminologyIndex,
    import_bdpm,
    import_cim10,
)

log = logging.getLogger(__name__)

INDEX_FILE = "terminology.sqlite"
DEFAULT_LIMIT = 12


class ImportKind(enum.Enum):
    CIM10 = "cim10"  # ATIH LIBCIM10MULTI.TXT (or the same columns as CSV)
    BDPM = "bdpm"  # ANSM folder holding CIS_bdpm.txt


def index_path(settings: Settings) -> Path:
    return Path(settings.local_data_dir()) / INDEX_FILE


class TerminologyService(QObject):
    """The terminology index of the editor, off the UI thread."""

    importProgress = Signal(float)  # 0.0 .. 1.0
    importSucceeded = Signal(object)  # ImportReport
    importFailed = Signal(str)  # French message
    importCancelled = Signal()
    importEnded = Signal()  # the worker is done (after its rollback when cancelled)

    def __init__(
        self,
        path: Path,
        runner: OperationRunner,
        parent: QObject | None = None,
        *,
        opener: Callable[[Path], TerminologyIndex] = TerminologyIndex.with_starter_set,
    ) -> None:
        super().__init__(parent)
        self._path = Path(path)
        self._runner = runner
        self._opener = opener
        self._lock = threading.Lock()
        self._index: TerminologyIndex | None = None
        self._closed = False
        self._search_executor = concurrent.futures.ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="dmp-terminology"
        )
        self._import_op: Operation[ImportReport] | None = None
        self._import_cancel: threading.Event | None = None

    # -- the index ----------------------------------------------------------------------
    def index(self) -> TerminologyIndex:
        """The open index (worker threads only: the first call creates the file)."""
        with self._lock:
            if self._closed:
                raise RuntimeError("terminology service closed")
            if self._index is None:
                self._index = self._opener(self._path)
            return self._index

    def close(self) -> None:
        """Stop searching and close the index (application exit; idempotent)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        if self._import_cancel is not None:
            self._import_cancel.set()
        self._search_executor.shutdown(wait=True, cancel_futures=True)
        with self._lock:
            index, self._index = self._index, None
        if index is not None:
            index.close()

    # -- searching ----------------------------------------------------------------------
    def search(
        self,
        systems: Sequence[System],
        text: str,
        on_results: Callable[[list[Concept]], None],
        *,
        limit: int = DEFAULT_LIMIT,
    ) -> Operation[list[Concept]] | None:
        """Search ``systems`` in order; ``on_results`` runs on the UI thread.

        Several systems share the limit (allergy agents: classes, then drugs).
        Failures are silent: the field still accepts free text.
        """
        if self._closed or not text.strip():
            return None
        wanted = tuple(systems)

        def work() -> list[Concept]:
            index = self.index()
            found: list[Concept] = []
            for system in wanted:
                if len(found) >= limit:
                    break
                found.extend(index.search(text, system, limit - len(found)))
            return found

        def failed(exc: BaseException) -> None:
            log.info("terminology search failed: %s", type(exc).__name__)

        op = Operation("Recherche dans les terminologies", work, on_results, failed, silent=True)
        try:
            return self._runner.run(op, submit=self._search_executor.submit)
        except RuntimeError:  # shutting down
            return None

    def concepts(
        self, system: System, on_results: Callable[[list[Concept]], None]
    ) -> Operation[list[Concept]] | None:
        """Every concept of a small system (allergy types), on the UI thread when ready."""
        if self._closed:
            return None
        op = Operation(
            "Lecture d'une terminologie",
            lambda: list(self.index().concepts(system)),
            on_results,
            silent=True,
        )
        try:
            return self._runner.run(op, submit=self._search_executor.submit)
        except RuntimeError:
            return None

    def sources(
        self, on_results: Callable[[list[SourceInfo]], None]
    ) -> Operation[list[SourceInfo]] | None:
        """Where each system of the index comes from (on the UI thread when ready)."""
        if self._closed:
            return None
        op = Operation(
            "Lecture des terminologies", lambda: self.index().sources(), on_results, silent=True
        )
        try:
            return self._runner.run(op, submit=self._search_executor.submit)
        except RuntimeError:
            return None

    # -- importing ----------------------------------------------------------------------
    @property
    def importing(self) -> bool:
        return self._import_op is not None and not self._import_op.done

    def start_import(self, kind: ImportKind, path: Path) -> Operation[ImportReport]:
        """Import the official file (CIM-10) or folder (BDPM) at ``path``.

        Outcome by signal: importSucceeded, importFailed (French) or
        importCancelled; importEnded once the worker has really stopped.
        """
        if self.importing:
            raise RuntimeError("an import is already running")
        cancel = threading.Event()
        self._import_cancel = cancel
        importer = import_cim10 if kind is ImportKind.CIM10 else import_bdpm

        def progress(fraction: float) -> None:
            self.importProgress.emit(max(0.0, min(1.0, float(fraction))))

        def work() -> ImportReport:
            try:
                return importer(path, self.index(), progress=progress, cancelled=cancel.is_set)
            finally:
                self.importEnded.emit()

        def failed(exc: BaseException) -> None:
            if isinstance(exc, ImportCancelledError):
                self.importCancelled.emit()
            else:
                self.importFailed.emit(describe(exc))

        label = (
            self.tr("Import de la CIM-10")
            if kind is ImportKind.CIM10
            else self.tr("Import des médicaments (BDPM)")
        )
        op = Operation(
            label,
            work,
            self.importSucceeded.emit,
            failed,
            on_cancel=lambda: self._on_import_cancel(cancel),
        )
        self._import_op = op
        return self._runner.run(op)

    def cancel_import(self) -> None:
        if self._import_op is not None and not self._import_op.done:
            self._import_op.cancel()

    def _on_import_cancel(self, cancel: threading.Event) -> None:
        cancel.set()  # the importer stops at its next check and rolls back
        self.importCancelled.emit()
