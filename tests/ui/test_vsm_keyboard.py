"""A medical summary written with the keyboard only, in the real window: Ctrl+Shift+S,
a problem found by typing "diab", an allergy, a treatment found by typing "metf",
the draft saved by itself; after a restart (a new window on the same data folder)
the draft is there."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from pathlib import Path

import pytest
from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QApplication, QWidget
from pytestqt.qtbot import QtBot

from dmp_desktop.domain.summary import Severity
from dmp_desktop.settings import Settings
from dmp_desktop.ui.main_window import MainWindow
from dmp_desktop.ui.vsm_editor import VsmEditor
from dmp_desktop.ui.vsm_fields import CodedField
from dmp_desktop.ui.vsm_sections import AllergyEntry, ProblemEntry, TreatmentEntry
from tests.ui.conftest import WindowFactory, visible_texts
from tests.ui.fakes import (
    DURAND,
    PATIENT_FAMILY,
    PATIENT_INS,
    FakeCard,
    FakeCardManager,
    FakeDmp,
    ui_settings,
)

Mod = Qt.KeyboardModifier
STRUCTURED_DURAND = dataclasses.replace(
    DURAND, structure_id="499700433153007", structure_name="Cabinet médical des Tilleuls"
)


@pytest.fixture
def cards() -> FakeCardManager:
    manager = FakeCardManager([FakeCard("CPS3-DURAND", STRUCTURED_DURAND, "1234")])
    yield manager
    manager.close()


def focused() -> QWidget:
    widget = QApplication.focusWidget()
    assert widget is not None
    return widget


def key(qtbot: QtBot, code: Qt.Key, modifiers: Qt.KeyboardModifier = Mod.NoModifier) -> None:
    """A key press goes where the keyboard goes: the open popup, else the focused widget."""
    target = QApplication.activePopupWidget() or focused()
    qtbot.keyClick(target, code, modifiers)


def type_text(qtbot: QtBot, text: str) -> None:
    for char in text:
        target = QApplication.activePopupWidget() or focused()
        if char.isascii():
            qtbot.keyClicks(target, char)
            continue
        for kind in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease):  # é, Œ: text-carrying keys
            QApplication.sendEvent(
                target, QKeyEvent(kind, Qt.Key.Key_unknown, Mod.NoModifier, char)
            )


def tab_to(qtbot: QtBot, wanted: Callable[[QWidget], bool], limit: int = 80) -> QWidget:
    for _ in range(limit):
        if wanted(focused()):
            return focused()
        key(qtbot, Qt.Key.Key_Tab)
    seen = []
    for _ in range(12):
        key(qtbot, Qt.Key.Key_Tab)
        seen.append(
            f"{type(focused()).__name__}:{focused().objectName()}:{focused().accessibleName()}"
        )
    raise AssertionError(f"Tab never reached the field (focus on {focused()!r}) {seen}")


def choose_suggestion(qtbot: QtBot, field: CodedField, text: str, code: str) -> None:
    with qtbot.waitSignal(field.suggestionsShown, timeout=5000):
        type_text(qtbot, text)
    row = field.model.row_of(code)
    assert row >= 0, [c.display_code for c in field.model.concepts()]
    assert QApplication.activePopupWidget() is field.popup()
    for _ in range(row + 1):
        key(qtbot, Qt.Key.Key_Down)
    key(qtbot, Qt.Key.Key_Return)
    assert field.choice is not None and field.choice.code == code


def open_patient(qtbot: QtBot, window: MainWindow) -> None:
    qtbot.waitUntil(lambda: window.pin_dialog is not None)
    dialog = window.pin_dialog
    assert dialog is not None
    qtbot.waitActive(dialog)
    type_text(qtbot, "1234")
    with qtbot.waitSignal(window.card_service.loggedIn):
        key(qtbot, Qt.Key.Key_Return)
    qtbot.waitActive(window)
    key(qtbot, Qt.Key.Key_L, Mod.ControlModifier)
    type_text(qtbot, PATIENT_INS)
    with qtbot.waitSignal(window.dmp_service.statusReady):
        key(qtbot, Qt.Key.Key_Return)


def open_editor(qtbot: QtBot, window: MainWindow) -> VsmEditor:
    window.vsm.fetch_latest = lambda _ins: None  # this patient's DMP holds no VSM yet
    window.vsm.autosave_ms = 50
    key(qtbot, Qt.Key.Key_S, Mod.ControlModifier | Mod.ShiftModifier)
    editor = window.vsm.editor
    assert editor is not None and window.stack.currentWidget() is editor
    qtbot.waitUntil(lambda: not editor.fetching)
    return editor


def test_summary_by_keyboard_only_then_found_again_after_a_restart(
    qtbot: QtBot,
    make_window: WindowFactory,
    cards: FakeCardManager,
    fake_dmp: FakeDmp,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    settings: Settings = dataclasses.replace(ui_settings(), data_dir=str(tmp_path / "data"))
    window = make_window(settings, cards, fake_dmp)
    open_patient(qtbot, window)
    assert window.vsm.act_open.shortcut().toString() == "Ctrl+Shift+S"
    editor = open_editor(qtbot, window)
    sections = editor.sections
    header = editor.header_box
    assert header.family.text() == PATIENT_FAMILY and header.given.text() == "Jeanne"
    assert header.birth_date.text() == "12/05/1984"
    assert "lieu de naissance" in header.messages["birthplace_code"].accessibleDescription()
    assert focused() is sections["active_problems"].add_button

    # The birthplace the DMP did not give.
    key(qtbot, Qt.Key.Key_Tab, Mod.ShiftModifier)
    assert focused() is header.birthplace
    type_text(qtbot, "75056")

    # A coded problem found by typing "diab", with its onset.
    tab_to(qtbot, lambda w: w is sections["active_problems"].add_button)
    key(qtbot, Qt.Key.Key_Space)
    problem = sections["active_problems"].entries[0]
    assert isinstance(problem, ProblemEntry) and focused() is problem.label_field.edit
    choose_suggestion(qtbot, problem.label_field, "diab", "E11.9")
    tab_to(qtbot, lambda w: w is problem.onset)
    type_text(qtbot, "03/2016")

    # An allergy in free text, its reaction and severity.
    tab_to(qtbot, lambda w: w is sections["allergies"].add_button)
    key(qtbot, Qt.Key.Key_Space)
    allergy = sections["allergies"].entries[0]
    assert isinstance(allergy, AllergyEntry) and focused() is allergy.agent.edit
    type_text(qtbot, "Pénicillines")
    tab_to(qtbot, lambda w: w is allergy.reaction)
    type_text(qtbot, "Œdème de Quincke")
    tab_to(qtbot, lambda w: w is allergy.severity)
    type_text(qtbot, "g")  # the list jumps to « grave »

    # A treatment found by typing "metf", with its dosage.
    tab_to(qtbot, lambda w: w is sections["treatments"].add_button)
    key(qtbot, Qt.Key.Key_Space)
    treatment = sections["treatments"].entries[0]
    assert isinstance(treatment, TreatmentEntry) and focused() is treatment.name.edit
    choose_suggestion(qtbot, treatment.name, "metf", "67346461")
    tab_to(qtbot, lambda w: w is treatment.dosage)
    type_text(qtbot, "1 comprimé matin et soir")

    # A point of vigilance, added with Ctrl+Entrée from inside its section.
    key(qtbot, Qt.Key.Key_Tab, Mod.ShiftModifier)
    tab_to(qtbot, lambda w: w is sections["vigilance_points"].add_button)
    key(qtbot, Qt.Key.Key_Space)
    type_text(qtbot, "Insuffisance rénale débutante : adapter la metformine")
    key(qtbot, Qt.Key.Key_Return, Mod.ControlModifier)
    assert len(sections["vigilance_points"].entries) == 2  # an empty one: not in the summary

    assert editor.autosaver is not None
    saver = editor.autosaver
    qtbot.waitUntil(lambda: editor.draft_label.text().startswith("Brouillon enregistré à"))
    qtbot.waitUntil(lambda: not saver.dirty and not saver.pending)
    with qtbot.waitSignal(editor.previewUpdated, timeout=5000):
        assert editor.document_ready(), editor.problems
    summary = editor.current_summary()
    assert [
        (p.label, p.cim10, p.onset.iso() if p.onset else None) for p in summary.active_problems
    ] == [("Diabète sucré de type 2, sans complication", "E11.9", "2016-03")]
    assert summary.allergies[0].agent == "Pénicillines"
    assert summary.allergies[0].reaction == "Œdème de Quincke"
    assert summary.allergies[0].severity is Severity.SEVERE
    assert (summary.treatments[0].cis, summary.treatments[0].atc) == ("67346461", "A10BA02")
    assert summary.treatments[0].dosage == "1 comprimé matin et soir"
    assert summary.vigilance_points == ["Insuffisance rénale débutante : adapter la metformine"]
    preview = editor.preview.toPlainText()
    for expected in ("Diabète sucré de type 2", "Pénicillines", "METFORMINE", "LEGRAND"):
        assert expected in preview

    # « Retour au dossier » with its mnemonic, then the window is closed (restart).
    key(qtbot, Qt.Key.Key_R, Mod.AltModifier)
    qtbot.waitUntil(lambda: window.vsm.editor is None)  # a mnemonic "animates" the click
    assert window.stack.currentWidget() is window.workspace
    assert not any("Pénicillines" in text for text in visible_texts(window))
    window.close()

    again = make_window(settings, cards, fake_dmp)
    open_patient(qtbot, again)
    restored = open_editor(qtbot, again)
    assert restored.origin == "draft"
    assert "Brouillon du" in restored.origin_label.text()
    assert restored.current_header().birthplace_code == "75056"
    found = restored.current_summary()
    for key_name in ("active_problems", "allergies", "treatments", "vigilance_points"):
        assert getattr(found, key_name) == getattr(summary, key_name), key_name
    assert restored.document_ready()

    # Nothing of the patient in the logs: operations are logged by number and label only.
    logged = "\n".join(record.getMessage() for record in caplog.records)
    for secret in (PATIENT_INS, PATIENT_FAMILY, "Pénicillines", "Diabète", "metformine"):
        assert secret not in logged


def test_the_editor_needs_a_patient_and_goes_away_with_the_card(
    qtbot: QtBot,
    make_window: WindowFactory,
    cards: FakeCardManager,
    fake_dmp: FakeDmp,
    tmp_path: Path,
) -> None:
    settings: Settings = dataclasses.replace(ui_settings(), data_dir=str(tmp_path / "data"))
    window = make_window(settings, cards, fake_dmp)
    assert not window.vsm.act_open.isEnabled()  # no card session yet
    qtbot.waitUntil(lambda: window.pin_dialog is not None)
    dialog = window.pin_dialog
    assert dialog is not None
    qtbot.waitActive(dialog)
    type_text(qtbot, "1234")
    with qtbot.waitSignal(window.card_service.loggedIn):
        key(qtbot, Qt.Key.Key_Return)
    assert window.vsm.act_open.isEnabled()
    assert window.vsm.open_editor() is None  # no patient on screen yet
    assert "Vérifiez d'abord le DMP du patient" in window.statusBar().currentMessage()

    key(qtbot, Qt.Key.Key_L, Mod.ControlModifier)
    type_text(qtbot, PATIENT_INS)
    with qtbot.waitSignal(window.dmp_service.statusReady):
        key(qtbot, Qt.Key.Key_Return)
    editor = open_editor(qtbot, window)
    entry = editor.sections["vigilance_points"].add_entry()
    entry.first_field().setFocus()
    type_text(qtbot, "Chutes")
    assert editor.autosaver is not None and editor.autosaver.dirty

    with qtbot.waitSignal(window.card_service.sessionEnded, timeout=10000):
        cards.remove(1)  # the card is pulled out
        window.card_service.poll_now()
    assert window.vsm.editor is None
    assert window.stack.currentWidget() is window.card_screen
    texts = visible_texts(window)
    for secret in ("Chutes", PATIENT_FAMILY, PATIENT_INS):
        assert not [t for t in texts if secret in t], secret
    assert window.vsm.drafts() is not None and window.vsm.drafts().count() == 1  # saved first


def test_the_official_lists_are_offered_while_only_the_extract_is_installed(
    qtbot: QtBot,
    make_window: WindowFactory,
    cards: FakeCardManager,
    fake_dmp: FakeDmp,
    tmp_path: Path,
) -> None:
    """First use: a banner in the editor (it takes no focus) opens the import assistant."""
    settings: Settings = dataclasses.replace(ui_settings(), data_dir=str(tmp_path / "data"))
    window = make_window(settings, cards, fake_dmp)
    open_patient(qtbot, window)
    editor = open_editor(qtbot, window)
    qtbot.waitUntil(editor.vocabulary_offer.isVisible)
    assert focused() is not editor.vocabulary_offer_button
    editor.vocabulary_offer_button.click()
    dialog = window.vsm.import_dialog
    assert dialog is not None and dialog.isVisible() and dialog.first_run
    dialog.close()
