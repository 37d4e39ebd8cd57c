"""The real card: SoftHSM tokens through the real CardManager, in the real window.

The DMP client is a stub here (the training host is in test_window_e2e.py).
SoftHSM counts wrong PINs per token: the wrong PIN below is followed by the
right one on the same card, which resets its counter.
"""

from __future__ import annotations

import logging
import threading

import pytest
import shiboken6
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from dmp_desktop.services.card_service import CardBackend, CardState
from dmp_desktop.services.dmp_service import ConnectionState
from dmp_desktop.smartcard.card import PinState
from dmp_desktop.ui.main_window import MainWindow
from tests.ui.conftest import WindowFactory, visible_texts
from tests.ui.fakes import PATIENT_FAMILY, PATIENT_GIVEN, PATIENT_INS, FakeDmp


def choose_card(qtbot: QtBot, window: MainWindow, label: str) -> None:
    screen = window.card_screen
    qtbot.waitUntil(lambda: screen.model.rowCount() >= 3)  # the three demo cards
    assert window.card_service.state is CardState.CARD_PRESENT
    assert screen.title_label.text() == "Plusieurs cartes sont insérées"
    rows = range(screen.model.rowCount())
    row = next(r for r in rows if label in screen.model.data(screen.model.index(r, 0)))
    screen.card_list.setCurrentIndex(screen.model.index(row, 0))
    with qtbot.waitSignal(window.card_service.pinRequested):
        qtbot.mouseClick(screen.login_button, Qt.MouseButton.LeftButton)


def test_softhsm_card_pin_then_status(
    qtbot: QtBot,
    make_window: WindowFactory,
    training_env: object,
    real_card_manager: CardBackend,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    dmp = FakeDmp()
    settings = training_env.client_settings()  # type: ignore[attr-defined]
    window = make_window(settings, real_card_manager, dmp)

    choose_card(qtbot, window, "CPS3-DURAND")
    dialog = window.pin_dialog
    assert dialog is not None
    # Holder and tries are known before anything is typed.
    assert dialog.holder_label.text() == "Dr Marie DURAND · Médecin généraliste"
    assert dialog.tries_left == 3

    qtbot.keyClicks(dialog.pin_edit, "9999")
    with qtbot.waitSignal(window.card_service.pinRequested, timeout=10000) as again:
        qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    assert again.args is not None and again.args[1] == 2
    retry = window.pin_dialog
    assert retry is not None and retry is not dialog
    assert "Il vous reste 2 essais" in retry.error_label.text()
    assert "Essais restants : 2 sur 3" in retry.tries_label.text()

    qtbot.keyClicks(retry.pin_edit, "1234")
    with qtbot.waitSignal(window.card_service.loggedIn, timeout=10000):
        qtbot.keyClick(retry.pin_edit, Qt.Key.Key_Return)
    assert window.pin_dialog is None
    qtbot.waitUntil(lambda: not shiboken6.isValid(retry))  # the dialog is destroyed
    assert "Dr Marie DURAND" in window.top_bar.practitioner_label.text()
    assert window.top_bar.practitioner_label.text() == "Dr Marie DURAND · Médecin généraliste"
    assert window.stack.currentWidget() is window.workspace
    assert window.card_service.selected_card is not None
    assert window.card_service.selected_card.pin_state is PinState.OK  # reset by the login

    edit = window.workspace.patient_pane.ins_edit
    qtbot.keyClicks(edit, PATIENT_INS)
    with qtbot.waitSignal(window.dmp_service.statusReady, timeout=10000):
        qtbot.keyClick(edit, Qt.Key.Key_Return)
    panel = window.workspace.status_panel
    assert panel.summary_label.text().startswith("✔ La patiente a un DMP actif.")  # the DMP says F
    assert panel.identity_label.text() == f"{PATIENT_FAMILY} {PATIENT_GIVEN}"
    assert window.dmp_service.connection_state is ConnectionState.CONNECTED
    session = dmp.clients[0].session
    assert session.practitioner.family_name == "DURAND"  # type: ignore[attr-defined]
    assert dmp.factory_threads[0] is not threading.main_thread()

    with qtbot.waitSignal(window.card_service.sessionEnded):
        window.act_logout.trigger()
    assert PATIENT_FAMILY not in "\n".join(visible_texts(window))

    # Rule 7: neither the PINs nor the patient reach the logs.
    logged = "\n".join(record.getMessage() for record in caplog.records)
    for secret in ("1234", "9999", PATIENT_INS, PATIENT_FAMILY, PATIENT_GIVEN):
        assert secret not in logged


def test_softhsm_pin_state_is_read_before_typing(
    qtbot: QtBot, make_window: WindowFactory, training_env: object, real_card_manager: CardBackend
) -> None:
    settings = training_env.client_settings()  # type: ignore[attr-defined]
    window = make_window(settings, real_card_manager, FakeDmp())
    choose_card(qtbot, window, "CPS4-MARTIN")
    dialog = window.pin_dialog
    assert dialog is not None
    assert dialog.holder_label.text() == "Dr Paul MARTIN · Médecin"
    assert dialog.tries_left == 3 and not dialog.final_try
    qtbot.keyClicks(dialog.pin_edit, "4321")
    with qtbot.waitSignal(window.card_service.loggedIn, timeout=10000):
        qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    assert window.top_bar.practitioner_label.text() == "Dr Paul MARTIN · Médecin"
