"""The window tells the truth in French at every size (issue 18): walking its widgets.

The checks of :mod:`tests.support.ui_truth` know no widget of ours: they walk
whatever the window shows — the card screen, the PIN dialog, the workspace in
its states (empty, documents listed, consent question, blocked, a document
open), every dialog a menu action opens (each tab of it) — and fail on English,
cut text, an unnamed control, two controls on one Alt+letter, or a hard-coded
colour unreadable on the palette. They run at 1280×800 and 1920×1080, and at
1280×720 (a 1920×1080 screen at 150 %: the same logical pixels), with the light
palette and the dark one. A widget added later is checked the day it appears.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtPrintSupport import QPrintDialog, QPrinter
from PySide6.QtTest import QTest
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMessageBox,
    QPushButton,
    QTextEdit,
    QVBoxLayout,
    QWidget,
)
from pytestqt.qtbot import QtBot

from dmp_desktop import LPS_NAME
from dmp_desktop.cda.vsm import build_vsm
from dmp_desktop.domain.practitioner import Practitioner
from dmp_desktop.services.consultation import PaneState
from dmp_desktop.settings import Settings
from dmp_desktop.ui.main_window import MainWindow, window_title
from tests.support import ui_truth
from tests.support.cda_samples import full_summary, minimal_pdf
from tests.support.ui_truth import Finding
from tests.ui import scaled_run
from tests.ui.conftest import WindowFactory
from tests.ui.consultation_fakes import (
    AUTHORISED,
    BLOCKED,
    UNAUTHORISED,
    ConsultationDmp,
    entry,
    png_bytes,
)
from tests.ui.fakes import DURAND, MARTIN, FakeCard, FakeCardManager, ui_settings

SECRETARY = Practitioner(
    national_id="3499700433153007/SEC0001",
    family_name="BERNARD",
    given_name="SOPHIE",
    profession="Secrétaire médicale",
    profession_code=None,
    structure_id="499700433153007",
    structure_name="Cabinet médical des Tilleuls",
)
# Logical sizes: 1280×800, 1920×1080, and 1920×1080 at 150 % (1280×720 logical pixels),
# with the light palette and a dark one.
SIZES = [(1280, 800), (1920, 1080), (1280, 720)]
LOOKS = [(1280, 800, "clair"), (1920, 1080, "sombre"), (1280, 720, "clair"), (1280, 720, "sombre")]
# Menu actions that end the session or the program: not explored. The VSM editor is a
# page of the window, not a dialog: walked on its own (_walk_editor).
NOT_EXPLORED = {"Quitter", "Fermer la session", "Synthèse médicale (VSM)…"}
WITH_MEDIA = "1.2.250.1.999.9.1"  # a structured report carrying a PDF and an image


def assert_truthful(found: list[Finding], where: str) -> None:
    assert not found, f"{where}:\n{ui_truth.report(found)}"


# -- the checks themselves can fail -----------------------------------------------------
@pytest.mark.parametrize(
    ("text", "english"),
    [
        ("&Look in:", True),
        ("Files of &type:", True),
        ("usage: dmp [-h]", False),  # « usage » is French too; the CLI test reads argparse
        ("error: invalid choice", True),
        ("Carte CPS3-DURAND · SoftHSM slot ID 0x2ae460de", True),
        ("Le patient consent-il à ce que vous accédiez à son DMP ?", False),
        ("Type : tous · Date : 12/05/2024 · Options", False),
        ("E11.9 Diabète sucré de type 2 — CPS3-DURAND", False),
        ("Compte rendu opératoire (Dr Hélène BONNET)", False),
    ],
)
def test_english_is_recognised_by_english_only_words(text: str, english: bool) -> None:
    assert ui_truth.looks_english(text) is english


def test_each_check_finds_its_defect(qtbot: QtBot) -> None:
    window = QMainWindow()
    qtbot.addWidget(window)
    central = QWidget(window)
    layout = QVBoxLayout(central)
    cut = QLabel("Autorisation d'accès absente : demandez le consentement du patient")
    cut.setObjectName("cut")
    cut.setMaximumWidth(80)
    english = QPushButton("&Open")
    first = QCheckBox("&archivés")
    second = QCheckBox("&actifs")
    unnamed = QLineEdit()
    named = QLineEdit()
    named.setAccessibleName("Nom")
    faint = QLabel("DMP : prêt")
    for widget in (cut, english, first, second, unnamed, named, faint):
        layout.addWidget(widget)
    window.setCentralWidget(central)
    window.resize(400, 300)
    dark = window.palette()
    dark.setColor(dark.ColorRole.Window, Qt.GlobalColor.black)
    faint.setPalette(dark)
    faint.setStyleSheet("color: #1b5e20;")  # dark green on a dark background
    window.show()
    qtbot.waitExposed(window)

    found = ui_truth.check(window)
    kinds = sorted({f.check for f in found})
    assert kinds == ["Alt+lettre", "anglais", "contraste", "coupé", "sans nom"]
    assert [f.text for f in found if f.check == "anglais"] == ["&Open"]
    assert [f.where.rsplit(" > ", 1)[-1] for f in found if f.check == "coupé"] == ["QLabel#cut"]
    assert [f.text for f in found if f.check == "Alt+lettre"] == ["Alt+A"]
    assert len([f for f in found if f.check == "sans nom"]) == 1
    assert [f.text for f in found if f.check == "contraste"] == ["DMP : prêt"]


def test_exploring_the_menus_sees_modal_and_late_windows_and_closes_them(qtbot: QtBot) -> None:
    """The menu walk inspects a modal dialog from inside its own loop, a window shown a
    moment after the click, and leaves no dialog open behind it."""
    from PySide6.QtCore import QTimer
    from PySide6.QtGui import QAction

    window = QMainWindow()
    qtbot.addWidget(window)
    window.setCentralWidget(QLabel("Fenêtre principale"))
    opened: list[QDialog] = []

    def dialog(text: str) -> QDialog:
        box = QDialog(window)
        box.setWindowTitle("Dialogue")
        QVBoxLayout(box).addWidget(QPushButton(text, box))
        opened.append(box)
        return box

    modal = QAction("Modal", window)
    modal.triggered.connect(lambda: dialog("&Cancel").exec())
    late = QAction("Plus tard", window)
    late.triggered.connect(lambda: QTimer.singleShot(0, lambda: dialog("&Browse").show()))
    quiet = QAction("Rien", window)
    window.show()
    qtbot.waitExposed(window)

    def settle() -> None:
        qtbot.wait(1)

    results = ui_truth.explore_actions(window, [modal, late, quiet], settle=settle)
    assert [f.text for f in results["Modal"] if f.check == "anglais"] == ["&Cancel"]
    assert [f.text for f in results["Plus tard"] if f.check == "anglais"] == ["&Browse"]
    assert results["Rien"] == []
    assert QApplication.activeModalWidget() is None
    assert len(opened) == 2 and not any(box.isVisible() for box in opened)


def test_a_dialog_where_entree_does_nothing_or_cancels_is_found(qtbot: QtBot) -> None:
    dead = QDialog()
    qtbot.addWidget(dead)
    dead.setWindowTitle("Sans défaut")
    row = QVBoxLayout(dead)
    for text in ("&Envoyer", "A&nnuler"):
        button = QPushButton(text, dead)
        button.setAutoDefault(False)
        row.addWidget(button)
    dead.show()
    qtbot.waitExposed(dead)
    assert [(f.check, f.text) for f in ui_truth.no_default_action(dead)] == [
        ("Entrée", "aucun bouton par défaut")
    ]

    cancelling = QDialog()
    qtbot.addWidget(cancelling)
    box = QDialogButtonBox(
        QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, cancelling
    )
    QVBoxLayout(cancelling).addWidget(box)
    cancel = box.button(QDialogButtonBox.StandardButton.Cancel)
    cancel.setDefault(True)
    cancelling.show()
    qtbot.waitExposed(cancelling)
    assert [f.check for f in ui_truth.no_default_action(cancelling)] == ["Entrée"]
    box.button(QDialogButtonBox.StandardButton.Ok).setDefault(True)
    assert ui_truth.no_default_action(cancelling) == []


# -- Qt's own dialogs ---------------------------------------------------------------------
def _qt_windows(qtbot: QtBot) -> Iterator[QWidget]:
    opened = QFileDialog(None, "Envoyer un document au DMP")
    opened.setOption(QFileDialog.Option.DontUseNativeDialog, True)
    opened.setNameFilters(["Documents (*.pdf *.jpg *.png *.txt)", "Tous les fichiers (*)"])
    yield opened
    saved = QFileDialog(None, "Enregistrer le document")
    saved.setOption(QFileDialog.Option.DontUseNativeDialog, True)
    saved.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
    yield saved
    printer = QPrinter()  # the dialog keeps a pointer to it: alive as long as the dialog
    yield QPrintDialog(printer)
    box = QMessageBox(QMessageBox.Icon.Question, "Archiver", "Archiver le document ?")
    box.setStandardButtons(
        QMessageBox.StandardButton.Yes
        | QMessageBox.StandardButton.No
        | QMessageBox.StandardButton.Cancel
    )
    box.setDetailedText("Détails")
    yield box


def test_qt_own_dialogs_speak_french(qtbot: QtBot) -> None:
    """Qt's translations are loaded and completed where qtbase_fr lacks a string."""
    for window in _qt_windows(qtbot):
        qtbot.addWidget(window)
        window.resize(900, 600)
        window.show()
        qtbot.waitExposed(window)
        found = ui_truth.english(window)
        assert_truthful(found, window.windowTitle())
        assert_truthful(ui_truth.mnemonic_clashes(window), window.windowTitle())
        window.close()
    for editor in (QLineEdit(), QTextEdit()):
        menu = editor.createStandardContextMenu()
        texts = [a.text() for a in menu.actions() if not a.isSeparator()]
        assert texts and not [t for t in texts if ui_truth.looks_english(t)], texts


def test_window_title_names_the_application_once(
    qtbot: QtBot, make_window: WindowFactory, fake_cards: FakeCardManager, tmp_path: Path
) -> None:
    """Qt ends a title with the display name unless it already does (it did twice)."""
    assert QGuiApplication.applicationDisplayName() == LPS_NAME
    for training in (True, False):
        title = window_title(training)
        assert title.endswith(LPS_NAME) and title.count(LPS_NAME) == 1
    window = make_window(_settings(tmp_path), fake_cards, ConsultationDmp())
    assert window.windowTitle() == "Mode formation — DMP Desktop"


# -- the window, walked ---------------------------------------------------------------------
def _settings(tmp_path: Path) -> Settings:
    return dataclasses.replace(ui_settings(), data_dir=str(tmp_path / "data"))


def _log_in(qtbot: QtBot, window: MainWindow, pin: str) -> None:
    qtbot.waitUntil(lambda: window.pin_dialog is not None and window.pin_dialog.isVisible())
    dialog = window.pin_dialog
    assert dialog is not None
    qtbot.keyClicks(dialog.pin_edit, pin)
    with qtbot.waitSignal(window.card_service.loggedIn):
        qtbot.keyClick(dialog.pin_edit, Qt.Key.Key_Return)


def _check_patient(qtbot: QtBot, window: MainWindow, ins_value: str) -> None:
    edit = window.workspace.patient_pane.ins_edit
    edit.setText("")
    qtbot.keyClicks(edit, ins_value)
    with qtbot.waitSignal(window.dmp_service.statusReady):
        qtbot.keyClick(edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not window.dmp_service.busy)


def _walk(window: MainWindow, state: str) -> list[Finding]:
    """Every window on screen now: the main window and what is open over it.

    Judged once the layout has settled: a splitter or a pane that resizes itself in a
    later turn of the event loop (a document just opened) can leave a label short for
    that turn on a loaded machine. What is still wrong after a second is reported."""
    assert window.isVisible()
    found = ui_truth.check_windows()
    for _ in range(20):
        if not found:
            break
        QTest.qWait(50)
        found = ui_truth.check_windows()
    return [dataclasses.replace(f, where=f"{state} · {f.where}") for f in found]


def _report_with_media() -> bytes:
    """A structured CDA (the sample VSM) with a PDF and an image embedded as the ANS
    examples do (observationMedia, the image referenced by the narrative)."""
    import base64

    summary = build_vsm(full_summary()).decode()
    pdf = base64.b64encode(minimal_pdf("Compte rendu joint")).decode()
    png = base64.b64encode(png_bytes("PNG", 120, 80)).decode()
    section = f"""<component><section>
<code code="11502-2" codeSystem="2.16.840.1.113883.6.1"/>
<title>Documents joints</title>
<text><paragraph>Courbe :</paragraph><renderMultiMedia referencedObject="IMG1"/></text>
<entry><observationMedia classCode="OBS" moodCode="EVN" ID="PDF1">
<value mediaType="application/pdf" representation="B64">{pdf}</value></observationMedia></entry>
<entry><observationMedia classCode="OBS" moodCode="EVN" ID="IMG1">
<value mediaType="image/png" representation="B64">{png}</value></observationMedia></entry>
</section></component>"""
    return summary.replace("</structuredBody>", section + "</structuredBody>").encode()


def _walk_documents(qtbot: QtBot, window: MainWindow, dmp: ConsultationDmp) -> list[Finding]:
    """The viewer with a VSM and a report embedding a PDF and an image: every tab of it."""
    from tests.ui.test_consultation import open_row

    found: list[Finding] = []
    for unique_id in ("1.2.250.1.999.1.3", WITH_MEDIA):
        open_row(qtbot, window, unique_id)
        found += _walk(window, f"document ouvert {unique_id}")
    viewer = window.workspace.viewer
    while viewer.current_tab() is not None:
        viewer.close_current()
    return found


def _walk_editor(qtbot: QtBot, window: MainWindow) -> list[Finding]:
    """The VSM editor, open for the patient shown, with the sample summary's every section."""
    window.vsm.fetch_latest = lambda _ins: full_summary()
    editor = window.vsm.open_editor()
    assert editor is not None
    qtbot.waitUntil(lambda: not editor.fetching, timeout=10000)
    found = _walk(window, "éditeur de synthèse")
    window.vsm.close_editor()
    return found


def _explore_menus(qtbot: QtBot, window: MainWindow, state: str) -> list[Finding]:
    actions = []
    for _title, menu_actions in ui_truth.window_menus(window)[1:]:
        actions += [
            a
            for a in menu_actions
            if a.menu() is None and ui_truth.plain(a.text()) not in NOT_EXPLORED
        ]

    def settle() -> None:  # what an action started has finished, and its windows are shown
        qtbot.wait(1)
        qtbot.waitUntil(lambda: not window.runner.running, timeout=10000)
        qtbot.wait(1)

    results = ui_truth.explore_actions(window, actions, settle=settle)
    found: list[Finding] = []
    for action, findings in results.items():
        found += [dataclasses.replace(f, where=f"{state} · {action} · {f.where}") for f in findings]
    found += _walk(window, f"{state} · après les menus")
    return found


@pytest.fixture
def palette(request: pytest.FixtureRequest) -> Iterator[str]:
    """The application's palette for the test: « clair » (Fusion's) or « sombre »."""
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    before = app.palette()
    if request.param == "sombre":
        app.setPalette(ui_truth.dark_palette())
    yield str(request.param)
    app.setPalette(before)


@pytest.mark.parametrize(
    ("width", "height", "palette"),
    LOOKS,
    ids=[f"{w}x{h}-{p}" for w, h, p in LOOKS],
    indirect=["palette"],
)
def test_the_doctors_window_is_french_whole_and_named(
    qtbot: QtBot,
    make_window: WindowFactory,
    tmp_path: Path,
    width: int,
    height: int,
    palette: str,
) -> None:
    size = (width, height)
    cards = FakeCardManager(
        [
            FakeCard("CPS3-DURAND", DURAND, "1234"),
            FakeCard("CPS4-MARTIN", MARTIN, "4321", slot_id=2),
            FakeCard("CPE-BERNARD", SECRETARY, "1111", slot_id=3),
        ]
    )
    try:
        dmp = ConsultationDmp()
        dmp.add(
            AUTHORISED,
            entry(WITH_MEDIA, "Compte rendu avec pièces jointes", days_ago=3),
            _report_with_media(),
        )
        window = make_window(_settings(tmp_path), cards, dmp)
        window.resize(*size)
        qtbot.waitUntil(lambda: window.card_screen.model.rowCount() == 3)
        found = _walk(window, "écran de la carte")
        screen = window.card_screen
        screen.card_list.setCurrentIndex(screen.model.index(0, 0))
        with qtbot.waitSignal(window.card_service.pinRequested):
            qtbot.keyClick(screen.card_list, Qt.Key.Key_Return)
        qtbot.waitUntil(lambda: window.pin_dialog is not None and window.pin_dialog.isVisible())
        found += _walk(window, "code PIN")
        _log_in(qtbot, window, "1234")
        found += _walk(window, "connecté, sans patient")

        with qtbot.waitSignal(window.consultation.documentsReady, timeout=5000):
            _check_patient(qtbot, window, AUTHORISED.value)
        found += _walk(window, "documents listés")
        found += _walk_documents(qtbot, window, dmp)
        found += _walk_editor(qtbot, window)
        pane = window.workspace.documents_pane

        _check_patient(qtbot, window, UNAUTHORISED.value)
        qtbot.waitUntil(lambda: pane.consent_page.isVisible())
        found += _walk(window, "question du consentement")
        _check_patient(qtbot, window, BLOCKED.value)
        qtbot.waitUntil(lambda: window.consultation.state is PaneState.BLOCKED)
        found += _walk(window, "professionnel bloqué")
        if size == SIZES[0]:  # dialogs do not depend on the main window's size
            with qtbot.waitSignal(window.consultation.documentsReady, timeout=5000):
                _check_patient(qtbot, window, AUTHORISED.value)
            pane.focus_list()
            found += _explore_menus(qtbot, window, "documents listés")
        assert_truthful(found, f"fenêtre {width}x{height}, palette {palette}")
    finally:
        cards.close()


@pytest.mark.skipif(scaled_run.is_scaled_run(), reason="this run is the one at 150 %")
def test_the_window_holds_at_150_percent(scaled_window_run: scaled_run.ScaledRun) -> None:
    """The walk again with Qt scaling at 150 % (QT_SCALE_FACTOR, as a 1920×1080 laptop set to
    150 %): icons and pixel sizes scaled by Qt, fonts by the screen's logical DPI. It runs
    in its own interpreter, started with the session (tests/ui/scaled_run.py)."""
    code, output = scaled_window_run.outcome()
    assert code == 0, output[-8000:]
    assert "2 passed" in output
