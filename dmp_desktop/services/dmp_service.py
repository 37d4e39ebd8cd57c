"""The DMP as the window sees it: one client per card session, questions as operations.

The client is built by an injected factory (``dmp_desktop.connect.open_dmp`` in
the application, a fake in tests) on a worker thread right after login, and
closed when the session ends. Every question runs as an :class:`Operation`;
answers and errors come back as signals, errors already in French.
"""

from __future__ import annotations

import enum
import logging
import threading
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from PySide6.QtCore import QObject, Signal

from dmp_desktop.domain.dmp_status import DmpStatus
from dmp_desktop.domain.document import DocumentEntry, DocumentQuery, RetrievedDocument
from dmp_desktop.domain.patient import Ins
from dmp_desktop.errors import (
    CardRemovedError,
    DmpProtocolError,
    DmpServiceError,
    NetworkError,
    describe,
)
from dmp_desktop.services.card_service import CardService
from dmp_desktop.services.operations import Operation, OperationCancelled, OperationRunner
from dmp_desktop.settings import Settings

log = logging.getLogger(__name__)

T = TypeVar("T")


class DmpClientLike(Protocol):
    """What the window needs of ``dmp_desktop.dmp.client.DmpClient``."""

    def test_existence(self, ins: Ins, purpose: str = "normal") -> DmpStatus: ...

    def find_documents(
        self, query: DocumentQuery, *, purpose: str = "normal", reason: str | None = None
    ) -> list[DocumentEntry]: ...

    def retrieve_document(
        self, entry: DocumentEntry, *, purpose: str = "normal", reason: str | None = None
    ) -> RetrievedDocument: ...

    def set_authorization(
        self, ins: Ins, *, grant: bool = True, treating_physician: bool = False
    ) -> None: ...

    def close(self) -> None: ...


# (settings, logged-in card session) -> client; blocking, called on a worker thread.
DmpFactory = Callable[[Settings, Any], DmpClientLike]


class ConnectionState(enum.Enum):
    OFF = "off"  # no card session
    IDLE = "idle"  # a session; the client is built on demand
    CONNECTING = "connecting"
    READY = "ready"  # client built, nothing exchanged yet
    CONNECTED = "connected"  # the host answered
    FAILED = "failed"  # the last exchange could not reach the host


class _Connection:
    """One DMP client for one card session; built on first use, on a worker thread."""

    def __init__(
        self,
        factory: DmpFactory,
        settings: Settings,
        session: Any,
        secret_connections: set[str] | None = None,
    ) -> None:
        self._factory = factory
        self._settings = settings
        self._session = session
        self._lock = threading.Lock()
        self._client: DmpClientLike | None = None
        self._closed = False
        # INS values of the minors accessed secretly in this card session (shared with
        # every client of the session, so a new connection keeps the declarations).
        self.secret_connections = secret_connections if secret_connections is not None else set()

    def renewed(self) -> _Connection:
        return _Connection(self._factory, self._settings, self._session, self.secret_connections)

    def client(self) -> DmpClientLike:
        """The client, built if needed (worker thread only: may block on the network)."""
        with self._lock:
            if self._closed:
                raise OperationCancelled()
            if self._client is None:
                client = self._factory(self._settings, self._session)
                if self._closed:  # closed while we were building it
                    _close_quietly(client)
                    raise OperationCancelled()
                share = getattr(client, "use_secret_connections", None)
                if share is not None:
                    share(self.secret_connections)
                self._client = client
            return self._client

    def close(self, timeout: float = -1) -> None:
        """Close the client (on a worker; ``timeout`` bounds the wait at exit).

        A client being built meanwhile is closed by its builder as soon as it exists.
        """
        self._closed = True
        if not self._lock.acquire(timeout=timeout):
            return
        try:
            client, self._client = self._client, None
        finally:
            self._lock.release()
        if client is not None:
            _close_quietly(client)


def _close_quietly(client: DmpClientLike) -> None:
    try:
        client.close()
    except Exception as exc:
        log.warning("DMP client close failed: %s", type(exc).__name__)


class DmpService(QObject):
    """Asks the DMP questions for the window, off the UI thread."""

    connectionChanged = Signal(object)  # ConnectionState
    connectionFailed = Signal(str)  # French message
    statusReady = Signal(object)  # DmpStatus
    statusFailed = Signal(str)  # French message
    busyChanged = Signal(bool)
    cardLost = Signal()  # an exchange found the card gone: poll the card now

    def __init__(
        self,
        settings: Settings,
        runner: OperationRunner,
        factory: DmpFactory,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._settings = settings
        self._runner = runner
        self._factory = factory
        self._conn: _Connection | None = None
        self._connect_op: Operation[DmpClientLike] | None = None
        self._check_op: Operation[DmpStatus] | None = None
        self._state = ConnectionState.OFF
        self._card_service: CardService | None = None

    @property
    def connection_state(self) -> ConnectionState:
        return self._state

    @property
    def busy(self) -> bool:
        return self._check_op is not None and not self._check_op.done

    @property
    def current_operation(self) -> Operation[DmpStatus] | None:
        return self._check_op if self.busy else None

    def _set_state(self, state: ConnectionState) -> None:
        if state is not self._state:
            self._state = state
            self.connectionChanged.emit(state)

    # -- session ------------------------------------------------------------------------
    def follow(self, card_service: CardService) -> None:
        """Open a client when ``card_service`` logs in, close it when the session ends."""
        card_service.loggedIn.connect(self._on_logged_in)
        card_service.sessionEnded.connect(self._on_session_ended)
        self.cardLost.connect(card_service.poll_now)
        self._card_service = card_service

    def _on_logged_in(self, _practitioner: object) -> None:
        if self._card_service is not None and self._card_service.session is not None:
            self.start(self._card_service.session)

    def _on_session_ended(self, _reason: str) -> None:
        self.stop()

    def start(self, session: Any) -> None:
        """A card session opened: build the DMP client in the background."""
        self.stop()
        conn = _Connection(self._factory, self._settings, session)
        self._conn = conn
        self._set_state(ConnectionState.CONNECTING)
        self._connect_op = self._runner.run(
            Operation(
                self.tr("Connexion au DMP"),
                conn.client,
                lambda _client: self._on_connected(conn),
                lambda exc: self._on_connect_failed(conn, exc),
                on_cancel=lambda: self._drop_connection(conn),
            )
        )

    def stop(self, wait: bool = False) -> None:
        """The session ended: forget every question under way and close the client.

        ``wait`` closes the client in the calling thread (application exit only).
        """
        conn, self._conn = self._conn, None
        for op in (self._connect_op, self._check_op):
            if op is not None and not op.done:
                op.on_cancel = None
                op.cancel()
        self._connect_op = None
        was_busy = self._check_op is not None
        self._check_op = None
        if conn is not None:
            if wait:
                conn.close(timeout=2.0)
            else:
                self._runner.submit(conn.close)
        if was_busy:
            self.busyChanged.emit(False)
        self._set_state(ConnectionState.OFF)

    def _on_connected(self, conn: _Connection) -> None:
        if conn is self._conn and self._state is ConnectionState.CONNECTING:
            self._set_state(ConnectionState.READY)

    def _on_connect_failed(self, conn: _Connection, exc: BaseException) -> None:
        if conn is not self._conn:
            return
        self._set_state(ConnectionState.FAILED)
        self.connectionFailed.emit(describe(exc))
        if isinstance(exc, CardRemovedError):
            self.cardLost.emit()

    def _drop_connection(self, conn: _Connection) -> None:
        """Cancelled: close the connection in use; the next question opens a new one."""
        if conn is self._conn:
            self._conn = conn.renewed()
            self._set_state(ConnectionState.IDLE)
        self._runner.submit(conn.close)

    # -- a minor's secret connection -----------------------------------------------------
    def set_secret_connection(self, status: DmpStatus, secret: bool) -> bool:
        """At a minor's request, access their DMP secretly (``secret``) for this card session.

        Every later request about this patient carries the VIHF confidentiality code
        (see ``DmpClient.declare_secret_connection``). False when no card session
        is open; ValueError when ``status`` is not a minor's.
        """
        conn = self._conn
        if conn is None:
            return False
        if secret and not status.minor:
            raise ValueError("a secret connection is for a minor's DMP only")
        if secret:
            conn.secret_connections.add(status.ins.value)
        else:
            conn.secret_connections.discard(status.ins.value)
        return True

    def is_secret_connection(self, ins: Ins) -> bool:
        conn = self._conn
        return conn is not None and ins.value in conn.secret_connections

    # -- any exchange -------------------------------------------------------------------
    @property
    def session_open(self) -> bool:
        return self._conn is not None

    def call(
        self,
        label: str,
        work: Callable[[DmpClientLike], T],
        on_success: Callable[[T], None],
        on_failure: Callable[[BaseException], None],
        *,
        silent: bool = False,
        on_cancel: Callable[[], None] | None = None,
    ) -> Operation[T] | None:
        """Run ``work(client)`` off the UI thread; None when no card session is open.

        The outcome comes back on the UI thread through the callbacks and updates
        the connection state; cancelling (``on_cancel`` then runs) closes the
        connection in use (an HTTP exchange under way cannot be interrupted
        otherwise) and the next exchange opens a new one.
        """
        conn = self._conn
        if conn is None:
            return None

        def run() -> T:
            return work(conn.client())

        def succeeded(result: T) -> None:
            if conn is self._conn:
                self._set_state(ConnectionState.CONNECTED)
            on_success(result)

        def failed(exc: BaseException) -> None:
            if conn is self._conn:
                if isinstance(exc, NetworkError):
                    self._set_state(ConnectionState.FAILED)
                elif isinstance(exc, (DmpServiceError, DmpProtocolError)):
                    self._set_state(ConnectionState.CONNECTED)
            on_failure(exc)
            if isinstance(exc, CardRemovedError):
                self.cardLost.emit()

        def cancelled() -> None:
            self._drop_connection(conn)
            if on_cancel is not None:
                on_cancel()

        op: Operation[T] = Operation(
            label, run, succeeded, failed, on_cancel=cancelled, silent=silent
        )
        if self._state in (ConnectionState.IDLE, ConnectionState.FAILED):
            self._set_state(ConnectionState.CONNECTING)
        return self._runner.run(op)

    # -- questions ----------------------------------------------------------------------
    def check_status(self, ins: Ins, purpose: str = "normal") -> Operation[DmpStatus] | None:
        """Does the patient have a DMP, may I access it? Answers by signal."""
        conn = self._conn
        if conn is None:
            self.statusFailed.emit(
                self.tr("Connectez-vous avec votre carte CPS pour consulter le DMP.")
            )
            return None
        previous = self._check_op
        if previous is not None and not previous.done:
            previous.on_cancel = None  # superseded: ignore its answer, keep the connection
            previous.cancel()

        def work() -> DmpStatus:
            return conn.client().test_existence(ins, purpose=purpose)

        op = Operation(
            self.tr("Vérification du DMP du patient"),
            work,
            lambda status: self._on_status(op, status),
            lambda exc: self._on_status_failed(op, exc),
            on_cancel=lambda: self._on_check_cancelled(conn),
        )
        self._check_op = op
        if self._state in (ConnectionState.IDLE, ConnectionState.FAILED):
            self._set_state(ConnectionState.CONNECTING)
        self._runner.run(op)
        self.busyChanged.emit(True)
        return op

    def cancel(self) -> None:
        """Cancel the question under way (its answer is ignored, its connection closed)."""
        if self._check_op is not None and not self._check_op.done:
            self._check_op.cancel()

    def _on_check_cancelled(self, conn: _Connection) -> None:
        self._drop_connection(conn)
        self.busyChanged.emit(False)

    def _on_status(self, op: Operation[DmpStatus], status: DmpStatus) -> None:
        if op is not self._check_op:
            return
        self._check_op = None
        self._set_state(ConnectionState.CONNECTED)
        self.busyChanged.emit(False)
        self.statusReady.emit(status)

    def _on_status_failed(self, op: Operation[DmpStatus], exc: BaseException) -> None:
        if op is not self._check_op:
            return
        self._check_op = None
        if isinstance(exc, NetworkError):
            self._set_state(ConnectionState.FAILED)
        elif isinstance(exc, (DmpServiceError, DmpProtocolError)):
            self._set_state(ConnectionState.CONNECTED)  # the host answered, with a refusal
        self.busyChanged.emit(False)
        self.statusFailed.emit(describe(exc))
        if isinstance(exc, CardRemovedError):
            self.cardLost.emit()
