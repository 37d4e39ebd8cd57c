"""The PIN dialog: holder and tries before typing, 4-8 characters, PIN never kept."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLineEdit
from pytestqt.qtbot import QtBot

from dmp_desktop.smartcard.card import PinState
from dmp_desktop.ui.pin_dialog import PinDialog
from tests.ui.fakes import DURAND, FakeCard


def make_dialog(
    qtbot: QtBot, tries: int = 3, message: str | None = None
) -> tuple[PinDialog, list[str]]:
    received: list[str] = []
    card = FakeCard("CPS3-DURAND", DURAND, "1234").info()
    dialog = PinDialog(card, tries, received.append, message)
    qtbot.addWidget(dialog)
    dialog.open()
    return dialog, received


def test_ok_only_for_four_to_eight_characters(qtbot: QtBot) -> None:
    dialog, _ = make_dialog(qtbot)
    assert dialog.pin_edit.echoMode() is QLineEdit.EchoMode.Password
    assert not dialog.ok_button.isEnabled()
    qtbot.keyClicks(dialog.pin_edit, "123")
    assert not dialog.ok_button.isEnabled()
    qtbot.keyClicks(dialog.pin_edit, "4")
    assert dialog.ok_button.isEnabled()
    qtbot.keyClicks(dialog.pin_edit, "567890")
    assert dialog.pin_edit.text() == "12345678"  # capped at 8


def test_pin_is_handed_over_once_and_the_field_emptied(qtbot: QtBot) -> None:
    dialog, received = make_dialog(qtbot)
    qtbot.keyClicks(dialog.pin_edit, "1234")
    with qtbot.waitSignal(dialog.accepted):
        qtbot.keyClick(dialog.pin_edit, Qt.Key.Key_Return)
    assert received == ["1234"]
    assert dialog.pin_edit.text() == ""
    assert not dialog.pin_edit.isUndoAvailable()


def test_cancel_hands_nothing_over(qtbot: QtBot) -> None:
    dialog, received = make_dialog(qtbot)
    qtbot.keyClicks(dialog.pin_edit, "1234")
    with qtbot.waitSignal(dialog.rejected):
        qtbot.keyClick(dialog.pin_edit, Qt.Key.Key_Escape)
    assert received == []
    assert dialog.pin_edit.text() == ""


def test_holder_tries_and_previous_error_shown_before_typing(qtbot: QtBot) -> None:
    dialog, _ = make_dialog(qtbot, tries=2, message="Code PIN incorrect. Il vous reste 2 essais.")
    assert dialog.holder_label.text() == "Dr Marie DURAND · Médecin"
    assert "CPS3-DURAND" in dialog.card_label.text()
    assert dialog.error_label.text() == "✖ Code PIN incorrect. Il vous reste 2 essais."
    assert dialog.tries_label.text().startswith("⚠ Essais restants : 2 sur 3.")
    assert dialog.tries_label.property("tone") == "warning"
    assert PinState.COUNT_LOW.tries_left == 2


def test_final_try_is_red_and_explicit(qtbot: QtBot) -> None:
    dialog, _ = make_dialog(qtbot, tries=1)
    assert dialog.final_try
    assert dialog.tries_label.property("tone") == "danger"
    assert dialog.tries_label.text().startswith("⚠ DERNIER ESSAI")
    assert dialog.pin_edit.accessibleDescription().startswith("DERNIER ESSAI")
