"""The medical summary end to end, with the keyboard only: the real window, the SoftHSM
card (PIN typed) and the training host over real mutual TLS. Dr Durand writes a VSM for
Moreau Léa (a problem found by typing "diab", an allergy, a treatment found by typing
"metf"); the autosaver writes the draft; the application is "killed" (its close handlers
never run); a new window on the same data folder finds the draft, sends it (the three
visibility questions answered with the keyboard) and the new VSM is in her list and opens."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest
import shiboken6
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from dmp_desktop.app import build_app
from dmp_desktop.domain.document import DocumentEntry, DocumentStatus
from dmp_desktop.domain.summary import MedicalSummary
from dmp_desktop.services.card_service import CardBackend
from dmp_desktop.services.drafts import DraftStore
from dmp_desktop.settings import Settings
from dmp_desktop.ui.main_window import MainWindow
from dmp_desktop.ui.viewer import HtmlTab
from dmp_desktop.ui.vsm_editor import VsmEditor
from dmp_desktop.ui.vsm_sections import AllergyEntry, ProblemEntry, TreatmentEntry
from dmp_sandbox.demo import demo_patients
from dmp_sandbox.server import RunningHost, run_in_thread
from dmp_sandbox.training import TrainingEnv
from tests.ui.conftest import demo_db_copy
from tests.ui.test_vsm_keyboard import choose_suggestion, focused, key, tab_to, type_text

pytestmark = pytest.mark.e2e

Mod = Qt.KeyboardModifier
LEA = next(p for p in demo_patients() if p.key == "actif-autorise")
DURAND_ID = "899700433153"
TIMEOUT = 20000
TABS = 300  # the prefilled summary (Dr Durand's previous VSM) has many fields to Tab past


@pytest.fixture
def training_host(
    training_env: TrainingEnv, seeded_demo_db: Path, tmp_path: Path
) -> Iterator[RunningHost]:
    with run_in_thread(training_env, demo_db_copy(seeded_demo_db, tmp_path / "host.db")) as host:
        yield host


@pytest.fixture
def settings(training_env: TrainingEnv, training_host: RunningHost, tmp_path: Path) -> Settings:
    return dataclasses.replace(
        training_env.client_settings(), host_url=training_host.url, data_dir=str(tmp_path / "data")
    )


@pytest.fixture
def start_app(
    qtbot: QtBot, settings: Settings, real_card_manager: CardBackend
) -> Iterator[list[MainWindow]]:
    """Windows built by build_app on the same settings; whatever is left is closed at the end."""
    windows: list[MainWindow] = []
    yield windows
    for window in windows:
        if shiboken6.isValid(window):
            window.close()
            window.deleteLater()


def new_window(windows: list[MainWindow], settings: Settings, cards: CardBackend) -> MainWindow:
    window = build_app(settings, card_manager=cards)  # the real open_dmp
    windows.append(window)
    window.resize(1600, 950)
    window.show()
    return window


def log_in_and_open_lea(qtbot: QtBot, window: MainWindow) -> None:
    """Choose Dr Durand's card with the arrows, type the PIN, Ctrl+L, the INS, Entrée."""
    screen = window.card_screen
    qtbot.waitUntil(lambda: screen.model.rowCount() >= 1, timeout=TIMEOUT)
    screen.card_list.setFocus(Qt.FocusReason.OtherFocusReason)
    qtbot.waitUntil(lambda: focused() is screen.card_list)
    key(qtbot, Qt.Key.Key_Home)
    for _ in range(screen.model.rowCount()):
        current = screen.card_list.currentIndex()
        if current.isValid() and "CPS3-DURAND" in screen.model.data(current):
            break
        key(qtbot, Qt.Key.Key_Down)
    with qtbot.waitSignal(window.card_service.pinRequested, timeout=TIMEOUT):
        key(qtbot, Qt.Key.Key_Return)
    dialog = window.pin_dialog
    assert dialog is not None
    qtbot.waitUntil(lambda: focused() is dialog.pin_edit)
    type_text(qtbot, "1234")
    with qtbot.waitSignal(window.card_service.loggedIn, timeout=TIMEOUT):
        key(qtbot, Qt.Key.Key_Return)
    qtbot.waitActive(window)

    key(qtbot, Qt.Key.Key_L, Mod.ControlModifier)
    assert focused() is window.workspace.patient_pane.ins_edit
    type_text(qtbot, LEA.ins.value)
    with qtbot.waitSignal(window.consultation.documentsReady, timeout=TIMEOUT):
        key(qtbot, Qt.Key.Key_Return)
    qtbot.waitUntil(
        lambda: window.vsm.act_open.isEnabled() and window.vsm.shown_status() is not None
    )


def open_editor(qtbot: QtBot, window: MainWindow) -> VsmEditor:
    window.vsm.autosave_ms = 50
    key(qtbot, Qt.Key.Key_S, Mod.ControlModifier | Mod.ShiftModifier)
    editor = window.vsm.editor
    assert editor is not None and window.stack.currentWidget() is editor
    qtbot.waitUntil(lambda: not editor.fetching, timeout=TIMEOUT)
    return editor


def add_entry(qtbot: QtBot, editor: VsmEditor, section: str) -> object:
    box = editor.sections[section]
    before = len(box.entries)
    tab_to(qtbot, lambda w: w is box.add_button, limit=TABS)
    key(qtbot, Qt.Key.Key_Space)
    assert len(box.entries) == before + 1
    return box.entries[-1]


def draft_files(settings: Settings) -> dict[str, bytes]:
    folder = DraftStore.open(settings).directory
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir()) if path.is_file()}


def listed(window: MainWindow, unique_id: str) -> DocumentEntry | None:
    page = window.workspace.documents_pane.list_page
    return page.proxy.entry_at(page.proxy.index_of(unique_id))


def write_then_kill(
    qtbot: QtBot, windows: list[MainWindow], settings: Settings, cards: CardBackend
) -> MedicalSummary:
    """The first run: the summary typed, the draft saved by itself, then the "kill".
    Returns what was typed; nothing of this run is referenced once it returns."""
    window = new_window(windows, settings, cards)
    log_in_and_open_lea(qtbot, window)
    editor = open_editor(qtbot, window)
    assert editor.origin in ("dmp", "new")  # Dr Durand's previous VSM, if the DMP has one
    header = editor.header_box
    assert header.family.text().upper() == LEA.family_name.upper()

    # The birthplace, if the header asks for it.
    if not header.birthplace.text():
        tab_to(qtbot, lambda w: w is header.birthplace, limit=TABS)
        type_text(qtbot, "85191")

    # A coded problem found by typing "diab".
    problem = add_entry(qtbot, editor, "active_problems")
    assert isinstance(problem, ProblemEntry) and focused() is problem.label_field.edit
    choose_suggestion(qtbot, problem.label_field, "diab", "E11.9")

    # An allergy, its reaction and severity.
    allergy = add_entry(qtbot, editor, "allergies")
    assert isinstance(allergy, AllergyEntry) and focused() is allergy.agent.edit
    type_text(qtbot, "Pénicillines")
    tab_to(qtbot, lambda w: w is allergy.reaction)
    type_text(qtbot, "Œdème de Quincke")
    tab_to(qtbot, lambda w: w is allergy.severity)
    type_text(qtbot, "g")  # « grave »

    # A treatment found by typing "metf".
    treatment = add_entry(qtbot, editor, "treatments")
    assert isinstance(treatment, TreatmentEntry) and focused() is treatment.name.edit
    choose_suggestion(qtbot, treatment.name, "metf", "67346461")
    tab_to(qtbot, lambda w: w is treatment.dosage)
    type_text(qtbot, "1 comprimé matin et soir")

    # The autosaver writes the draft by itself.
    saver = editor.autosaver
    assert saver is not None
    qtbot.waitUntil(lambda: not saver.dirty and not saver.pending, timeout=TIMEOUT)
    qtbot.waitUntil(lambda: editor.draft_label.text().startswith("Brouillon enregistré à"))
    assert editor.document_ready(), editor.problems
    typed = editor.current_summary()
    assert "E11.9" in [p.cim10 for p in typed.active_problems]
    assert "Pénicillines" in [a.agent for a in typed.allergies]
    assert "67346461" in [t.cis for t in typed.treatments]

    # On disk, complete, before anything is closed: read back by a store of its own.
    on_disk = DraftStore.open(settings).load(editor.author, LEA.ins)
    assert on_disk is not None
    for section in ("active_problems", "allergies", "treatments", "vigilance_points"):
        assert getattr(on_disk.summary, section) == getattr(typed, section), section
    assert on_disk.header.birthplace_code == editor.current_header().birthplace_code
    before_kill = draft_files(settings)
    assert any(name.startswith("vsm-") for name in before_kill)

    # "Kill": the summary's close handler (the graceful save) never runs; the services
    # stop as they would with the process (the card session is released), the window goes.
    window.removeEventFilter(window.vsm)
    window.hide()
    window.shutdown()
    window.deleteLater()
    qtbot.waitUntil(lambda: not shiboken6.isValid(window))
    assert draft_files(settings) == before_kill  # nothing written after the "kill"
    return typed


def test_summary_typed_killed_restarted_sent_and_listed(
    qtbot: QtBot,
    settings: Settings,
    start_app: list[MainWindow],
    real_card_manager: CardBackend,
) -> None:
    typed = write_then_kill(qtbot, start_app, settings, real_card_manager)

    # "Restart": a new window on the same data folder; the draft is there.
    again = new_window(start_app, settings, real_card_manager)
    log_in_and_open_lea(qtbot, again)
    restored = open_editor(qtbot, again)
    assert restored.origin == "draft"
    assert "Brouillon du" in restored.origin_label.text()
    found = restored.current_summary()
    for section in ("active_problems", "allergies", "treatments", "vigilance_points"):
        assert getattr(found, section) == getattr(typed, section), section
    assert restored.document_ready(), restored.problems

    # « Envoyer au DMP… » (Alt+E), the three questions answered « Non », Entrée.
    previous = [
        e.unique_id
        for e in again.workspace.documents_pane.list_page.model.entries
        if e.type_code.code == "SYNTH" and e.status is DocumentStatus.APPROVED
    ]
    key(qtbot, Qt.Key.Key_E, Mod.AltModifier)
    qtbot.waitUntil(lambda: again.alimentation.upload_dialog is not None)
    dialog = again.alimentation.upload_dialog
    assert dialog is not None and dialog.vsm
    qtbot.waitUntil(lambda: focused() is dialog.choices.yes["masked"])
    for question in ("masked", "invisible_patient", "invisible_legal_reps"):
        tab_to(qtbot, lambda w, q=question: w in (dialog.choices.yes[q], dialog.choices.no[q]))
        if focused() is dialog.choices.yes[question]:
            key(qtbot, Qt.Key.Key_Right)  # to « Non »
        assert focused() is dialog.choices.no[question], question
        if not dialog.choices.no[question].isChecked():
            key(qtbot, Qt.Key.Key_Space)
        assert dialog.choices.no[question].isChecked(), question
    assert dialog.send_button.isEnabled()
    service = again.alimentation.service
    with qtbot.waitSignal(service.uploadSucceeded, timeout=TIMEOUT) as done:
        key(qtbot, Qt.Key.Key_Return)
    sent = done.args[1]
    # The offscreen platform has no window manager to give the window back the focus
    # once the dialog is gone: do what the desktop does.
    again.activateWindow()
    qtbot.waitActive(again)
    qtbot.waitUntil(lambda: again.focusWidget() is not None and focused().window() is again)
    assert isinstance(sent, DocumentEntry) and sent.type_code.code == "SYNTH"

    # Back to the record: the new VSM is listed (type SYNTH, Dr DURAND); the old one is gone.
    key(qtbot, Qt.Key.Key_R, Mod.AltModifier)  # « Retour au dossier »
    qtbot.waitUntil(lambda: again.vsm.editor is None)
    assert again.stack.currentWidget() is again.workspace
    if listed(again, sent.unique_id) is None:
        with qtbot.waitSignal(again.consultation.documentsReady, timeout=TIMEOUT):
            key(qtbot, Qt.Key.Key_F5)
    entry = listed(again, sent.unique_id)
    assert entry is not None
    assert entry.type_code.code == "SYNTH"
    assert any(a.national_id == DURAND_ID for a in entry.authors)
    for old in previous:
        assert listed(again, old) is None  # replaced

    # It opens in the viewer (Entrée on its row), the problem's label visible.
    pane = again.workspace.documents_pane
    pane.table.setFocus(Qt.FocusReason.OtherFocusReason)
    pane.table.setCurrentIndex(pane.list_page.proxy.index_of(sent.unique_id))
    with qtbot.waitSignal(again.consultation.documentReady, timeout=TIMEOUT):
        key(qtbot, Qt.Key.Key_Return)
    tab = again.workspace.viewer.current_tab()
    assert isinstance(tab, HtmlTab)
    shown = tab.browser.toPlainText()
    assert "Diabète sucré de type 2" in shown
    assert "Pénicillines" in shown
