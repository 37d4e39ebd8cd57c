"""The card pulled out and put back: after the PIN, the doctor is where they were.

The real window, the real SoftHSM cards and the training host over real mutual
TLS. SoftHSM cannot be pulled out of a reader, so the one fake is a thin layer
over the real card manager that hides a card (the state a real component cannot
show, rule of the guide); everything else — login, the card's signatures, the
DMP — is real.

While the card is out nothing of the patient is on screen; only a sealed point
stays, which the same card opens (another card opens nothing).
"""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from dmp_desktop.errors import CardRemovedError, NoCardError
from dmp_desktop.services.card_service import CardBackend
from dmp_desktop.smartcard.card import CardInfo
from dmp_desktop.ui.main_window import MainWindow
from dmp_sandbox.demo import demo_patients
from tests.ui.conftest import HostWindow, log_in, visible_texts

pytestmark = pytest.mark.e2e

LEA = next(p for p in demo_patients() if p.key == "actif-autorise")
TIMEOUT = 20000


class _Session:
    """The real card session, which says it is gone once its card is pulled."""

    def __init__(self, real: Any, reader: PullableCards) -> None:
        self._real = real
        self._reader = reader

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)

    def is_alive(self) -> bool:
        return self._real.card.token_label not in self._reader.pulled and self._real.is_alive()


class PullableCards:
    """The real card manager, where a card can be taken out of its reader and put back."""

    def __init__(self, real: CardBackend) -> None:
        self._real = real
        self.thread = real.thread
        self.pulled: set[str] = set()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)

    def list_cards(self) -> list[CardInfo]:
        return [c for c in self._real.list_cards() if c.token_label not in self.pulled]

    def pin_state(self, card: CardInfo) -> Any:
        if card.token_label in self.pulled:
            raise NoCardError()
        return self._real.pin_state(card)

    def login(self, card: CardInfo, pin: str | None) -> Any:
        if card.token_label in self.pulled:
            raise CardRemovedError()
        return _Session(self._real.login(card, pin), self)

    def look_needed(self) -> bool:
        return True

    def close(self) -> None:  # the real manager belongs to the test session
        pass


@pytest.fixture
def cards(real_card_manager: CardBackend) -> PullableCards:
    return PullableCards(real_card_manager)


@pytest.fixture
def window(host_window: HostWindow, cards: PullableCards) -> MainWindow:
    return host_window((1280, 800), cards=cards)


def show_lea_with_two_documents(qtbot: QtBot, window: MainWindow) -> list[str]:
    edit = window.workspace.patient_pane.ins_edit
    qtbot.keyClicks(edit, LEA.ins.value)
    with qtbot.waitSignal(window.consultation.documentsReady, timeout=TIMEOUT):
        qtbot.keyClick(edit, Qt.Key.Key_Return)
    listing = window.consultation.documents
    assert listing is not None and len(listing.entries) >= 3
    opened = [listing.entries[2], listing.entries[0]]
    for entry in opened:
        with qtbot.waitSignal(window.consultation.documentReady, timeout=TIMEOUT):
            window.workspace.open_document(entry)
    qtbot.waitUntil(lambda: window.workspace.viewer.count == 2, timeout=TIMEOUT)
    return [e.unique_id for e in opened]


def seal_armed(window: MainWindow) -> bool:
    return window.resume_seal.armed


def pull(qtbot: QtBot, window: MainWindow, cards: PullableCards, label: str) -> None:
    cards.pulled.add(label)
    with qtbot.waitSignal(window.card_service.sessionEnded, timeout=TIMEOUT):
        window.card_service.poll_now()
    assert window.stack.currentWidget() is window.card_screen


def tab_ids(window: MainWindow) -> list[str]:
    return [tab.entry.unique_id for tab in window.workspace.viewer.all_tabs()]


def test_the_same_card_back_brings_back_the_patient_and_her_documents(
    qtbot: QtBot, window: MainWindow, cards: PullableCards
) -> None:
    log_in(qtbot, window)
    opened = show_lea_with_two_documents(qtbot, window)
    qtbot.waitUntil(lambda: seal_armed(window), timeout=TIMEOUT)
    current = window.workspace.viewer.current_tab()
    assert current is not None and current.entry.unique_id == opened[1]

    pull(qtbot, window, cards, "CPS3-DURAND")
    texts = " ".join(visible_texts(window))
    assert LEA.ins.value not in texts and "MOREAU" not in texts
    assert window.consultation.ins is None and window.workspace.viewer.count == 0
    assert not window.resume_seal.armed and window.resume_seal.has_point

    cards.pulled.discard("CPS3-DURAND")
    with qtbot.waitSignal(window.consultation.documentsReady, timeout=TIMEOUT):
        log_in(qtbot, window)
    qtbot.waitUntil(lambda: window.workspace.viewer.count == 2, timeout=TIMEOUT)
    assert window.consultation.ins == LEA.ins
    assert window.workspace.patient_pane.ins_edit.text() == LEA.ins.value
    assert sorted(tab_ids(window)) == sorted(opened)
    now = window.workspace.viewer.current_tab()
    assert now is not None and now.entry.unique_id == opened[1]
    assert not window.resume_seal.has_point  # opened once


def test_another_card_opens_nothing_and_a_logout_keeps_nothing(
    qtbot: QtBot, window: MainWindow, cards: PullableCards
) -> None:
    log_in(qtbot, window)
    show_lea_with_two_documents(qtbot, window)
    qtbot.waitUntil(lambda: seal_armed(window), timeout=TIMEOUT)
    pull(qtbot, window, cards, "CPS3-DURAND")
    assert window.resume_seal.has_point

    # Dr Martin's card in the reader: his session starts empty, the point is gone.
    log_in(qtbot, window, "CPS4-MARTIN", "4321")
    qtbot.waitUntil(lambda: seal_armed(window), timeout=TIMEOUT)
    assert window.consultation.ins is None
    assert window.workspace.patient_pane.ins_edit.text() == ""
    assert not window.resume_seal.has_point
    pull(qtbot, window, cards, "CPS4-MARTIN")  # he had no patient: nothing sealed
    assert not window.resume_seal.has_point

    # Dr Durand back: nothing to resume (Martin's login consumed it); a logout keeps nothing.
    cards.pulled.clear()
    log_in(qtbot, window)
    qtbot.waitUntil(lambda: seal_armed(window), timeout=TIMEOUT)
    assert window.consultation.ins is None
    show_lea_with_two_documents(qtbot, window)
    window.act_logout.trigger()
    assert not window.resume_seal.has_point and not window.resume_seal.armed
