"""As-you-type INS feedback: colour and text, never colour alone."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from dmp_desktop.domain.patient import InsKind
from dmp_desktop.ui.workspace import PatientPane
from tests.ui.fakes import PATIENT_INS


@pytest.fixture
def pane(qtbot: QtBot) -> PatientPane:
    pane = PatientPane(InsKind.TEST_NIR)
    qtbot.addWidget(pane)
    pane.show()
    return pane


def wrong_key(ins: str) -> str:
    key = (int(ins[13:]) % 97) + 1
    return f"{ins[:13]}{key:02d}"


def test_incomplete_is_neutral_and_counts(qtbot: QtBot, pane: PatientPane) -> None:
    qtbot.keyClicks(pane.ins_edit, "2 84 05")
    label = pane.feedback_label
    assert label.text() == "5/15 caractères saisis."
    assert label.property("tone") == "neutral"
    assert not pane.check_button.isEnabled()


def test_valid_key_is_green_with_a_check_mark(qtbot: QtBot, pane: PatientPane) -> None:
    spaced = " ".join([PATIENT_INS[:1], PATIENT_INS[1:3], PATIENT_INS[3:5], PATIENT_INS[5:]])
    qtbot.keyClicks(pane.ins_edit, spaced)
    label = pane.feedback_label
    assert label.text() == "✔ INS valide (clé de contrôle correcte)."
    assert label.property("tone") == "ok"
    assert "#1b5e20" in label.styleSheet()
    assert pane.check_button.isEnabled()
    assert pane.ins_edit.accessibleDescription() == "INS valide (clé de contrôle correcte)."
    ins = pane.current_ins()
    assert ins is not None and ins.value == PATIENT_INS and ins.kind is InsKind.TEST_NIR


def test_wrong_key_is_red_and_says_so(qtbot: QtBot, pane: PatientPane) -> None:
    qtbot.keyClicks(pane.ins_edit, wrong_key(PATIENT_INS))
    label = pane.feedback_label
    assert label.text().startswith("✖ La clé de l'INS ne correspond pas au numéro")
    assert label.property("tone") == "error"
    assert not pane.check_button.isEnabled()
    with qtbot.assertNotEmitted(pane.checkRequested):
        qtbot.keyClick(pane.ins_edit, Qt.Key.Key_Return)


def test_letters_are_flagged_at_once(qtbot: QtBot, pane: PatientPane) -> None:
    qtbot.keyClicks(pane.ins_edit, "1X")
    assert pane.feedback_label.property("tone") == "error"
    assert "chiffres" in pane.feedback_label.text()


def test_feedback_follows_each_keystroke(qtbot: QtBot, pane: PatientPane) -> None:
    qtbot.keyClicks(pane.ins_edit, PATIENT_INS[:14])
    assert pane.feedback_label.text() == "14/15 caractères saisis."
    qtbot.keyClicks(pane.ins_edit, PATIENT_INS[14])
    assert pane.feedback_label.property("tone") == "ok"
    qtbot.keyClick(pane.ins_edit, Qt.Key.Key_Backspace)
    assert pane.feedback_label.property("tone") == "neutral"
    qtbot.keyClicks(pane.ins_edit, PATIENT_INS[14])
    with qtbot.waitSignal(pane.checkRequested) as requested:
        qtbot.keyClick(pane.ins_edit, Qt.Key.Key_Return)
    assert requested.args is not None and requested.args[0].value == PATIENT_INS
