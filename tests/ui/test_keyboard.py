"""The whole flow without a mouse: PIN, Ctrl+L, INS, Enter (rule 9)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QLabel, QLineEdit
from pytestqt.qtbot import QtBot

from tests.ui.conftest import WindowFactory
from tests.ui.fakes import PATIENT_INS, FakeCardManager, FakeDmp, ui_settings


def test_consultation_flow_by_keyboard_only(
    qtbot: QtBot, make_window: WindowFactory, fake_cards: FakeCardManager, fake_dmp: FakeDmp
) -> None:
    window = make_window(ui_settings(), fake_cards, fake_dmp)
    qtbot.waitUntil(lambda: window.pin_dialog is not None)
    dialog = window.pin_dialog
    assert dialog is not None
    qtbot.waitActive(dialog)
    assert QApplication.focusWidget() is dialog.pin_edit
    qtbot.keyClicks(QApplication.focusWidget(), "1234")
    with qtbot.waitSignal(window.card_service.loggedIn):
        qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Return)
    qtbot.waitActive(window)
    edit = window.workspace.patient_pane.ins_edit
    qtbot.waitUntil(lambda: QApplication.focusWidget() is edit)

    window.workspace.patient_pane.check_button.setFocus()
    qtbot.keyClick(window, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)
    assert QApplication.focusWidget() is edit
    qtbot.keyClicks(edit, PATIENT_INS)
    with qtbot.waitSignal(window.dmp_service.statusReady):
        qtbot.keyClick(edit, Qt.Key.Key_Return)
    assert window.workspace.status_panel.identity_label.text() == "LEGRAND Jeanne"


def test_every_field_has_a_buddy_or_an_accessible_name(
    qtbot: QtBot, make_window: WindowFactory, fake_cards: FakeCardManager, fake_dmp: FakeDmp
) -> None:
    window = make_window(ui_settings(), fake_cards, fake_dmp)
    qtbot.waitUntil(lambda: window.pin_dialog is not None)
    buddies = {label.buddy() for label in window.findChildren(QLabel) if label.buddy()}
    assert window.pin_dialog is not None
    buddies |= {label.buddy() for label in window.pin_dialog.findChildren(QLabel) if label.buddy()}
    edits = window.findChildren(QLineEdit) + window.pin_dialog.findChildren(QLineEdit)
    for edit in edits:
        assert edit in buddies or edit.accessibleName(), edit.objectName()
    ins_label = window.workspace.patient_pane.ins_label
    assert ins_label.text() == "&INS du patient, ou nom et date de naissance"
    assert ins_label.buddy() is window.workspace.patient_pane.ins_edit


def test_menus_have_mnemonics_and_standard_shortcuts(
    qtbot: QtBot, make_window: WindowFactory, fake_cards: FakeCardManager, fake_dmp: FakeDmp
) -> None:
    window = make_window(ui_settings(), fake_cards, fake_dmp)
    titles = [action.text() for action in window.menuBar().actions()]
    assert titles == ["&Fichier", "&Carte", "&Patient", "&Documents", "D&ossier", "&Aide"]
    assert window.act_quit.shortcut().toString() == "Ctrl+Q"
    assert window.act_focus_ins.shortcut().toString() == "Ctrl+L"
    card_menu = window.menuBar().actions()[1].menu()
    assert [a.text() for a in card_menu.actions()] == ["Se &connecter…", "&Fermer la session"]
