"""The CPS card as the window sees it: a state, a few signals, and a PIN round-trip.

Every call into the smartcard layer is submitted to the card manager's own
thread (rule 2) through the :class:`OperationRunner`; results come back on the
UI thread. A QTimer ticks about once a second; at each tick the manager says
whether the readers must be looked at (a slot event arrived, or the
middleware cannot report events: see :mod:`dmp_desktop.smartcard.watch`), so
an insertion or a removal is seen within two seconds. A look never overlaps
the previous one, so a slow reader only slows the watching down.

The PIN travels once, from :meth:`CardService.submit_pin` to the card
thread, and is dropped as soon as the login call returns. It is never stored,
logged, or put in a signal.
"""

from __future__ import annotations

import dataclasses
import enum
import logging
from collections.abc import Callable
from typing import Any, Protocol

from PySide6.QtCore import QObject, QTimer, Signal

from dmp_desktop.domain.practitioner import Practitioner
from dmp_desktop.errors import (
    CardNotRecognisedError,
    CardRemovedError,
    MiddlewareNotFoundError,
    PinIncorrectError,
    PinLockedError,
    describe,
)
from dmp_desktop.messages import text
from dmp_desktop.services.operations import Operation, OperationRunner
from dmp_desktop.smartcard.card_data import choose_situation
from dmp_desktop.smartcard.card_info import CardInfo, PinState
from dmp_desktop.smartcard.thread import CardThread

log = logging.getLogger(__name__)

DEFAULT_POLL_INTERVAL_MS = 1000
# What a tick returns when the middleware reports that nothing changed.
_UNCHANGED = object()


class CardSessionLike(Protocol):
    """What the services need of a logged-in card (``smartcard.CardSession``)."""

    card: CardInfo
    practitioner: Practitioner

    def is_alive(self) -> bool: ...

    def close(self) -> None: ...


class CardBackend(Protocol):
    """What the services need of ``smartcard.CardManager`` (blocking calls).

    Optional, used when present: ``look_needed() -> bool`` (slot events) and
    ``set_module_candidates(paths)`` (another PKCS#11 module from the settings).
    """

    thread: CardThread

    def list_cards(self) -> list[CardInfo]: ...

    def pin_state(self, card: CardInfo) -> PinState: ...

    def login(self, card: CardInfo, pin: str | None) -> CardSessionLike: ...

    def close(self) -> None: ...


class CardState(enum.Enum):
    STARTING = "starting"  # the first look at the readers is under way
    NO_MIDDLEWARE = "no_middleware"  # the Cryptolib CPS (PKCS#11 module) is missing
    NO_CARD = "no_card"
    CARD_PRESENT = "card_present"  # a card is there; its PIN is needed
    LOGGING_IN = "logging_in"
    LOCKED = "locked"  # the chosen card's PIN is blocked (PUK needed)
    LOGGED_IN = "logged_in"


class CardService(QObject):
    """Owns the card manager; turns the card's life into states and signals."""

    stateChanged = Signal(object)  # CardState
    cardsChanged = Signal(object)  # list[CardInfo], the cards present now
    pinRequested = Signal(object, int)  # CardInfo, tries left (-1: unknown)
    loggedIn = Signal(object)  # Practitioner
    # The card holds several practice situations: which one today? (tuple[PracticeSituation])
    situationRequested = Signal(object)
    loginFailed = Signal(str)  # French message (errors.describe)
    sessionEnded = Signal(str)  # French reason

    def __init__(
        self,
        manager: CardBackend,
        runner: OperationRunner,
        *,
        owns_manager: bool = False,
        poll_interval_ms: int = DEFAULT_POLL_INTERVAL_MS,
        preferred_structure: Callable[[], str | None] | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        # The structure the user chose last time (settings), to pick the situation.
        self._preferred_structure = preferred_structure or (lambda: None)
        self._pending: CardSessionLike | None = None  # logged in, situation not chosen yet
        self._manager = manager
        self._runner = runner
        self._owns_manager = owns_manager
        self._state = CardState.STARTING
        self._cards: list[CardInfo] = []
        self._selected: CardInfo | None = None
        self._session: CardSessionLike | None = None
        self._problem: BaseException | None = None
        self._last_pin_error: str | None = None
        self._prompted: set[tuple[int, str]] = set()
        self._poll_op: Operation[object] | None = None
        self._poll_again = False
        self._login_op: Operation[CardSessionLike] | None = None
        self._closed = False
        # The last session ended because the card left the reader (not a logout).
        self.card_removed = False
        self._timer = QTimer(self)
        self._timer.setInterval(poll_interval_ms)
        self._timer.timeout.connect(self.poll_now)

    # -- what the window reads --------------------------------------------------------
    @property
    def state(self) -> CardState:
        return self._state

    @property
    def cards(self) -> list[CardInfo]:
        return list(self._cards)

    @property
    def selected_card(self) -> CardInfo | None:
        return self._selected

    @property
    def session(self) -> CardSessionLike | None:
        return self._session

    @property
    def practitioner(self) -> Practitioner | None:
        return self._session.practitioner if self._session is not None else None

    @property
    def card_thread(self) -> CardThread:
        """The one thread of every PKCS#11 call (settings' "Tester" runs there too)."""
        return self._manager.thread

    @property
    def problem(self) -> BaseException | None:
        """The last error met while looking for cards (missing middleware, no reader)."""
        return self._problem

    @property
    def last_pin_error(self) -> str | None:
        """The French message of the wrong PIN that led to the current PIN request."""
        return self._last_pin_error

    @property
    def missing_middleware_path(self) -> str | None:
        if isinstance(self._problem, MiddlewareNotFoundError):
            return self._problem.path
        return None

    # -- lifecycle ----------------------------------------------------------------------
    def start(self) -> None:
        """Look at the readers now, then about once a second."""
        if self._closed:
            return
        self._timer.start()
        self.poll_now()

    def shutdown(self) -> None:
        """Stop polling, close the session; the card thread ends if we own the manager."""
        if self._closed:
            return
        self._closed = True
        self._timer.stop()
        for op in (self._poll_op, self._login_op):
            if op is not None:
                op.cancel()
        session, self._session = self._session or self._pending, None
        self._pending = None
        if session is not None:
            try:
                self._manager.thread.submit(session.close).result(timeout=5)
            except Exception as exc:
                log.warning("card session close failed: %s", type(exc).__name__)
        if self._owns_manager:
            self._manager.close()

    # -- polling ------------------------------------------------------------------------
    def poll_now(self) -> None:
        """Look at the readers (or the logged-in card) now, unless a look is under way."""
        if self._closed:
            return
        if self._poll_op is not None and not self._poll_op.done:
            self._poll_again = True
            return
        self._poll_again = False
        session = self._session
        look_needed = getattr(self._manager, "look_needed", None)
        op: Operation[object]
        if session is not None:

            def alive() -> bool:
                if callable(look_needed) and not look_needed():
                    return True  # no slot event: the card is where it was
                return session.is_alive()

            op = Operation(
                self.tr("Surveillance de la carte CPS"),
                alive,
                lambda alive: self._on_session_polled(session, bool(alive)),
                lambda exc: self._on_session_polled(session, False),
                silent=True,
            )
        else:
            manager = self._manager
            # Until a first listing succeeded, every tick looks (nothing to compare with).
            must_look = self._state is CardState.STARTING or self._problem is not None

            def look() -> object:
                if not must_look and callable(look_needed) and not look_needed():
                    return _UNCHANGED
                return manager.list_cards()

            op = Operation(
                self.tr("Recherche de la carte CPS"),
                look,
                self._on_cards_polled,
                self._on_poll_failed,
                silent=True,
            )
        self._poll_op = op
        try:
            self._runner.run(op, submit=self._manager.thread.submit)
        except RuntimeError:  # the reader's thread has stopped: the application is closing
            self._poll_op = None
            log.info("card poll skipped: the card reader's thread has stopped")

    def _poll_finished(self) -> None:
        if self._poll_again:
            self.poll_now()

    def _on_session_polled(self, session: CardSessionLike, alive: bool) -> None:
        if session is self._session and not alive:
            gone = session.card.key
            self._cards = [c for c in self._cards if c.key != gone]
            self._prompted.discard(gone)
            self.card_removed = True  # not the user's choice: the window may offer to resume
            self._end_session(describe(CardRemovedError()))
            self.cardsChanged.emit(self.cards)
            self._poll_again = True
        self._poll_finished()

    def _on_cards_polled(self, result: object) -> None:
        if result is _UNCHANGED:
            self._poll_finished()
            return
        if self._session is None:
            cards = list(result) if isinstance(result, list) else []
            self._problem = None
            self._set_cards(cards)
            self._maybe_prompt()
        self._poll_finished()

    def _on_poll_failed(self, exc: BaseException) -> None:
        if not isinstance(exc, MiddlewareNotFoundError):
            log.warning("card poll failed: %s", type(exc).__name__)
        self._problem = exc
        self._set_cards([])
        self._poll_finished()

    def _set_cards(self, cards: list[CardInfo]) -> None:
        keys = {c.key for c in cards}
        self._prompted &= keys
        if self._selected is not None:
            self._selected = next((c for c in cards if c.key == self._selected.key), None)
        changed = cards != self._cards
        self._cards = cards
        if changed:
            self.cardsChanged.emit(self.cards)
        self._update_state()

    def _update_state(self) -> None:
        target = self._target_card()
        if self._session is not None:
            state = CardState.LOGGED_IN
        elif self._login_op is not None and not self._login_op.done:
            state = CardState.LOGGING_IN
        elif isinstance(self._problem, MiddlewareNotFoundError):
            state = CardState.NO_MIDDLEWARE
        elif not self._cards:
            state = CardState.NO_CARD
        elif target is not None and target.pin_state is PinState.LOCKED:
            state = CardState.LOCKED
        else:
            state = CardState.CARD_PRESENT
        if state is not self._state:
            self._state = state
            self.stateChanged.emit(state)

    def _target_card(self) -> CardInfo | None:
        if self._selected is not None:
            return self._selected
        if len(self._cards) == 1:
            return self._cards[0]
        return None

    def _maybe_prompt(self) -> None:
        """A single card just inserted: ask for its PIN without a click."""
        if self._state is not CardState.CARD_PRESENT or len(self._cards) != 1:
            return
        card = self._cards[0]
        if card.key in self._prompted or not card.recognised:
            return
        self._prompted.add(card.key)
        self.request_login(card)

    # -- choosing a card and logging in -------------------------------------------------
    def select_card(self, card: CardInfo | None) -> None:
        """The user picked one of several cards (no card call: only the state moves)."""
        if card is not None:
            card = next((c for c in self._cards if c.key == card.key), None)
        self._selected = card
        self._update_state()

    def request_login(self, card: CardInfo | None = None) -> bool:
        """Read the PIN state afresh, then emit ``pinRequested`` (or explain the lock)."""
        if self._closed or self._session is not None:
            return False
        if self._login_op is not None and not self._login_op.done:
            return False
        card = card or self._target_card()
        if card is None:
            return False
        self._selected = card
        self._prompted.add(card.key)
        self._last_pin_error = None
        if not card.recognised:
            self.loginFailed.emit(describe(card.problem or CardNotRecognisedError()))
            return False
        manager = self._manager
        self._runner.run(
            Operation(
                self.tr("Lecture de la carte CPS"),
                lambda: manager.pin_state(card),
                lambda pin_state: self._ask_pin(card, pin_state),
                self._on_pin_state_failed,
                silent=True,
            ),
            submit=manager.thread.submit,
        )
        return True

    def _ask_pin(self, card: CardInfo, pin_state: PinState) -> None:
        if self._session is not None or self._closed:
            return
        self._remember_pin_state(card, pin_state)
        if pin_state is PinState.LOCKED:
            self.loginFailed.emit(describe(PinLockedError()))
            return
        self.pinRequested.emit(card, pin_state.tries_left)

    def _on_pin_state_failed(self, exc: BaseException) -> None:
        self.loginFailed.emit(describe(exc))
        self.poll_now()

    def _remember_pin_state(self, card: CardInfo, pin_state: PinState) -> None:
        updated = dataclasses.replace(card, pin_state=pin_state)
        self._cards = [updated if c.key == card.key else c for c in self._cards]
        if self._selected is not None and self._selected.key == card.key:
            self._selected = updated
        self._update_state()

    def submit_pin(self, card: CardInfo, pin: str | None) -> None:
        """Log in with ``pin`` (``None``: PIN-pad reader) on the card thread."""
        if self._closed or self._session is not None:
            return
        if self._login_op is not None and not self._login_op.done:
            return
        manager = self._manager
        box = [pin]  # the one place the PIN lives until the card thread takes it
        del pin

        def work() -> CardSessionLike:
            secret = box.pop()
            try:
                return manager.login(card, secret)
            finally:
                del secret  # not kept alive by a traceback's frame

        self._selected = card
        self._login_op = self._runner.run(
            Operation(
                self.tr("Vérification du code PIN"),
                work,
                self._on_logged_in,
                lambda exc: self._on_login_failed(card, exc),
                discard=lambda session: session.close(),
                cancellable=False,
            ),
            submit=manager.thread.submit,
        )
        self._update_state()

    def _on_logged_in(self, session: CardSessionLike) -> None:
        self._login_op = None
        situations: tuple[Any, ...] = tuple(getattr(session, "situations", ()))
        if len(situations) > 1 and getattr(session, "situation", None) is None:
            chosen = choose_situation(situations, self._preferred_structure())
            if chosen is None:
                self._pending = session
                self.situationRequested.emit(situations)
                return
            session.choose_situation(chosen.structure_id)  # type: ignore[attr-defined]
        self._open_session(session)

    def choose_situation(self, structure_id: str | None) -> None:
        """The situation chosen for the pending session; None: the user declined (logout)."""
        session, self._pending = self._pending, None
        if session is None or self._closed:
            return
        if structure_id is None:
            self._runner.run(
                Operation(self.tr("Fermeture de la session"), session.close, silent=True),
                submit=self._manager.thread.submit,
            )
            self.loginFailed.emit(text("card.situation_declined"))
            self._update_state()
            return
        session.choose_situation(structure_id)  # type: ignore[attr-defined]
        self._open_session(session)

    def _open_session(self, session: CardSessionLike) -> None:
        self.card_removed = False
        self._session = session
        self._selected = session.card
        self._problem = None
        self._last_pin_error = None
        log.info("card session opened")
        self.loggedIn.emit(session.practitioner)
        self._update_state()

    def _on_login_failed(self, card: CardInfo, exc: BaseException) -> None:
        self._login_op = None
        if isinstance(exc, PinIncorrectError):
            tries = exc.tries_left if exc.tries_left is not None else -1
            if exc.final_try:
                tries = 1
            by_tries = {state.tries_left: state for state in PinState}
            self._remember_pin_state(card, by_tries.get(tries, card.pin_state))
            self._last_pin_error = describe(exc)
            self.loginFailed.emit(self._last_pin_error)
            self.pinRequested.emit(card, tries)
            return
        if isinstance(exc, PinLockedError):
            self._remember_pin_state(card, PinState.LOCKED)
            self.loginFailed.emit(describe(exc))
            return
        self._update_state()
        self.loginFailed.emit(describe(exc))
        self.poll_now()

    # -- settings -----------------------------------------------------------------------
    def reload_middleware(self, module_candidates: list[str]) -> None:
        """Use another PKCS#11 module (settings changed): the session ends, cards are re-read."""
        if self._closed:
            return
        self._end_session(self.tr("Le module de la carte CPS a changé : reconnectez-vous."))
        switch = getattr(self._manager, "set_module_candidates", None)
        self._problem = None
        self._cards = []
        self._selected = None
        self._prompted.clear()
        self.cardsChanged.emit([])
        if self._state is not CardState.STARTING:
            self._state = CardState.STARTING
            self.stateChanged.emit(self._state)
        if callable(switch):
            self._runner.run(
                Operation(
                    self.tr("Chargement du module de la carte CPS"),
                    lambda: switch(module_candidates),
                    lambda _result: self.poll_now(),
                    lambda exc: self._on_poll_failed(exc),
                    silent=True,
                ),
                submit=self._manager.thread.submit,
            )
        else:
            self.poll_now()

    # -- leaving ------------------------------------------------------------------------
    def logout(self) -> None:
        """Close the session at the user's request (the card stays in the reader)."""
        if self._session is not None:
            self._end_session(
                self.tr("Session fermée. Les données du patient ont été effacées de l'écran.")
            )
            self.poll_now()

    def _end_session(self, reason: str) -> None:
        pending, self._pending = self._pending, None
        if pending is not None:  # the situation was never chosen
            self._runner.run(
                Operation(self.tr("Fermeture de la session"), pending.close, silent=True),
                submit=self._manager.thread.submit,
            )
        session, self._session = self._session, None
        if session is None:
            return
        log.info("card session ended")
        self._runner.run(
            Operation(self.tr("Fermeture de la session"), session.close, silent=True),
            submit=self._manager.thread.submit,
        )
        self.sessionEnded.emit(reason)
        self._update_state()
