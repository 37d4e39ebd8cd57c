"""The one way to run background work: :class:`Operation` and :class:`OperationRunner`.

An operation is a callable run off the UI thread (on a thread pool, or on any
executor such as the card thread), with a label, a success callback and a
failure callback. Whatever happens in the worker, the callbacks always run on
the UI thread. Progress is announced only when the work takes longer than
``progress_delay_ms`` (half a second by default), and every operation can be
cancelled: its result is then ignored (and handed to ``discard`` so that a
connection or a card session built for nothing gets closed) and
``on_cancel`` runs, e.g. to close the connection the work is using.

Logs name operations by number and label only, never by their data.
"""

from __future__ import annotations

import concurrent.futures
import enum
import itertools
import logging
from collections.abc import Callable
from typing import Any, Generic, Protocol, TypeVar

from PySide6.QtCore import QObject, Qt, QTimer, Signal, Slot

log = logging.getLogger(__name__)

T = TypeVar("T")

Submit = Callable[[Callable[[], Any]], "concurrent.futures.Future[Any]"]

DEFAULT_PROGRESS_DELAY_MS = 500


class OperationCancelled(Exception):
    """Raised by a work function that notices it has been cancelled."""


class OperationState(enum.Enum):
    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


_ids = itertools.count(1)


class Operation(Generic[T]):
    """A unit of background work and what to do with its outcome (on the UI thread)."""

    def __init__(
        self,
        label: str,
        work: Callable[[], T],
        on_success: Callable[[T], None] | None = None,
        on_failure: Callable[[BaseException], None] | None = None,
        *,
        on_cancel: Callable[[], None] | None = None,
        discard: Callable[[T], None] | None = None,
        silent: bool = False,
        cancellable: bool = True,
    ) -> None:
        self.id = next(_ids)
        self.label = label
        self.work = work
        self.on_success = on_success
        self.on_failure = on_failure
        self.on_cancel = on_cancel
        self.discard = discard
        self.silent = silent
        self.cancellable = cancellable
        self.state = OperationState.PENDING
        self.runner: OperationRunner | None = None

    @property
    def done(self) -> bool:
        return self.state in (
            OperationState.SUCCEEDED,
            OperationState.FAILED,
            OperationState.CANCELLED,
        )

    def cancel(self) -> None:
        if self.runner is not None:
            self.runner.cancel(self)
        elif not self.done:
            self.state = OperationState.CANCELLED
            self.release()

    def release(self) -> None:
        """Let go of the callbacks once nothing will call them (cancelled): they hold the
        data they were for (a patient's INS, her documents), and the runner keeps the
        operation until its worker returns — after the card is pulled, say. The worker
        already has the function it runs; ``discard`` stays, to release its result."""
        self.work = _released
        self.on_success = self.on_failure = self.on_cancel = None

    def __repr__(self) -> str:
        return f"<Operation #{self.id} {self.label!r} {self.state.value}>"


def _released() -> Any:
    raise OperationCancelled()


class _Relay(QObject):
    """Carries a finished future from whichever thread finished it to the UI thread."""

    finished = Signal(object, object)  # Operation, Future


class OperationRunner(QObject):
    """Runs operations off the UI thread; outcomes and progress come back as signals."""

    progressShown = Signal(object)  # Operation: still running after the delay
    progressHidden = Signal(object)  # Operation: finished or cancelled
    operationFinished = Signal(object)  # Operation, in any final state

    def __init__(
        self,
        parent: QObject | None = None,
        *,
        max_workers: int = 4,
        progress_delay_ms: int = DEFAULT_PROGRESS_DELAY_MS,
    ) -> None:
        super().__init__(parent)
        self._executor = concurrent.futures.ThreadPoolExecutor(
            max_workers=max_workers, thread_name_prefix="dmp-op"
        )
        self._progress_delay_ms = progress_delay_ms
        # No Qt parent: the relay's C++ object lives as long as a Python reference
        # (this runner or a future's callback) does. As a child of the runner it was
        # destroyed with the window while a worker thread could be emitting on it
        # (a segfault seen at window teardown); when the runner goes first, Qt
        # drops the queued connection to it.
        self._relay = _Relay()
        self._relay.finished.connect(self._on_finished, Qt.ConnectionType.QueuedConnection)
        self._running: dict[int, Operation[Any]] = {}
        self._timers: dict[int, QTimer] = {}
        self._visible: list[Operation[Any]] = []
        self._closed = False

    # -- running ----------------------------------------------------------------
    @property
    def executor(self) -> concurrent.futures.Executor:
        return self._executor

    def run(self, op: Operation[T], submit: Submit | None = None) -> Operation[T]:
        """Start ``op`` on the pool (or through ``submit``, e.g. the card thread's)."""
        if self._closed:
            raise RuntimeError("OperationRunner is shut down")
        op.runner = self
        op.state = OperationState.RUNNING
        self._running[op.id] = op
        log.debug("operation #%d started: %s", op.id, op.label)
        try:
            future = (submit or self._executor.submit)(op.work)
        except RuntimeError:  # the thread it goes to has stopped: never started
            self._running.pop(op.id, None)
            op.state = OperationState.CANCELLED
            raise
        relay = self._relay

        def finished(fut: concurrent.futures.Future[Any]) -> None:
            try:
                relay.finished.emit(op, fut)
            except RuntimeError:  # the relay is gone: the application is closing
                pass

        future.add_done_callback(finished)
        if not op.silent and not op.done:
            timer = QTimer(self)
            timer.setSingleShot(True)
            timer.setInterval(self._progress_delay_ms)
            timer.timeout.connect(lambda: self._show_progress(op))
            self._timers[op.id] = timer
            timer.start()
        return op

    def submit(self, fn: Callable[[], T]) -> concurrent.futures.Future[T]:
        """Fire-and-forget work with no outcome for the UI (closing a connection)."""
        return self._executor.submit(fn)

    def cancel(self, op: Operation[Any]) -> None:
        """Ignore the operation's result from now on and run its ``on_cancel``."""
        if op.done:
            return
        op.state = OperationState.CANCELLED
        log.debug("operation #%d cancelled", op.id)
        self._forget_progress(op)
        # The future is still running: _on_finished will discard its result.
        if op.on_cancel is not None:
            op.on_cancel()
        op.release()
        self.operationFinished.emit(op)

    def cancel_all(self) -> None:
        for op in list(self._running.values()):
            self.cancel(op)

    @property
    def running(self) -> list[Operation[Any]]:
        return [op for op in self._running.values() if not op.done]

    @property
    def visible(self) -> list[Operation[Any]]:
        return list(self._visible)

    def shutdown(self, wait: bool = False) -> None:
        """Cancel everything; ``wait`` joins the worker threads (application exit)."""
        if self._closed:
            return
        self.cancel_all()
        self._closed = True
        self._executor.shutdown(wait=wait, cancel_futures=True)

    # -- UI thread side ---------------------------------------------------------------
    def _show_progress(self, op: Operation[Any]) -> None:
        self._timers.pop(op.id, None)
        if op.done or op in self._visible:
            return
        self._visible.append(op)
        self.progressShown.emit(op)

    def _forget_progress(self, op: Operation[Any]) -> None:
        timer = self._timers.pop(op.id, None)
        if timer is not None:
            timer.stop()
            timer.deleteLater()
        if op in self._visible:
            self._visible.remove(op)
            self.progressHidden.emit(op)

    @Slot(object, object)
    def _on_finished(self, op: Operation[Any], future: concurrent.futures.Future[Any]) -> None:
        self._running.pop(op.id, None)
        if op.state is OperationState.CANCELLED:
            self._discard(op, future)
            return
        self._forget_progress(op)
        exc = future.exception() if not future.cancelled() else OperationCancelled()
        if exc is None:
            op.state = OperationState.SUCCEEDED
            log.debug("operation #%d succeeded", op.id)
            self.operationFinished.emit(op)
            if op.on_success is not None:
                op.on_success(future.result())
            return
        if isinstance(exc, OperationCancelled):
            op.state = OperationState.CANCELLED
            self.operationFinished.emit(op)
            return
        op.state = OperationState.FAILED
        # The type only: exception messages may carry data we must not log.
        log.info("operation #%d failed: %s", op.id, type(exc).__name__)
        self.operationFinished.emit(op)
        if op.on_failure is not None:
            op.on_failure(exc)

    def _discard(self, op: Operation[Any], future: concurrent.futures.Future[Any]) -> None:
        """A cancelled operation finished anyway: release what it built, off the UI thread."""
        if op.discard is None or future.cancelled() or future.exception() is not None:
            return
        result = future.result()
        if self._closed:  # application exit: no pool left, release it here
            op.discard(result)
            return
        self._executor.submit(op.discard, result)


class ClientCaller(Protocol):
    """A service that runs ``work(client)`` off the UI thread (``DmpService.call``)."""

    def call(
        self,
        label: str,
        work: Callable[[Any], Any],
        on_success: Callable[[Any], None],
        on_failure: Callable[[BaseException], None],
    ) -> Operation[Any] | None: ...
