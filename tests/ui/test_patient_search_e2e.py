"""Finding the patient in the real window, keyboard only: SoftHSM card, training host, real TLS.

* a name and a birth date typed in the patient field, Enter: the DMP's match
  (TD0.5) is offered; Down, Enter: her DMP is checked and her documents are
  listed; her identity shows the five traits, not qualified (the DMP's copy);
* she is then a recent patient: typing her name offers her at once, without
  asking the DMP;
* « Mes patients DMP » (Ctrl+Shift+L, TD0.4): the filter, Down, Enter opens
  the patient.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QWidget
from pytestqt.qtbot import QtBot

from dmp_desktop.services.card_service import CardBackend
from dmp_desktop.ui.main_window import MainWindow
from dmp_sandbox.demo import demo_patients
from dmp_sandbox.server import RunningHost
from dmp_sandbox.training import TrainingEnv
from tests.ui.conftest import log_in, real_window

pytestmark = pytest.mark.e2e

PATIENTS = {p.key: p for p in demo_patients()}
LEA = PATIENTS["actif-autorise"]
EMMA = PATIENTS["mineur"]
WAIT = 20000


@pytest.fixture
def window(
    qtbot: QtBot,
    training_env: TrainingEnv,
    training_host: RunningHost,
    real_card_manager: CardBackend,
    tmp_path: Path,
) -> MainWindow:
    window = real_window(
        qtbot, training_env, training_host.url, real_card_manager, data_dir=tmp_path / "data"
    )
    log_in(qtbot, window, "CPS3-DURAND", "1234")
    return window


def focused() -> object:
    return QApplication.focusWidget()


def type_keys(qtbot: QtBot, text: str) -> None:
    widget = focused()
    assert widget is not None
    qtbot.keyClicks(widget, text)


def press(
    qtbot: QtBot, key: Qt.Key, modifier: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier
) -> None:
    widget = focused()
    assert widget is not None
    qtbot.keyClick(widget, key, modifier)


def screenshot(widget: QWidget, name: str) -> None:
    """With DMP_SCREENSHOT_DIR set (docs/ refresh), save ``widget`` as ``name``."""
    target = os.environ.get("DMP_SCREENSHOT_DIR")
    if target:
        QApplication.processEvents()
        assert widget.grab().save(str(Path(target) / name))


def documents_shown(window: MainWindow) -> int:
    return window.workspace.documents_pane.list_page.proxy.rowCount()


def test_name_and_birth_date_then_pick_the_patient_then_her_documents(
    qtbot: QtBot, window: MainWindow
) -> None:
    pane = window.workspace.patient_pane
    press(qtbot, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)
    assert focused() is pane.ins_edit
    type_keys(qtbot, "moreau 25/05/2007")
    assert pane.check_button.text() == "&Chercher le patient"
    with qtbot.waitSignal(window.patients.service.matchesReady, timeout=WAIT):
        press(qtbot, Qt.Key.Key_Return)
    model = pane.matches.matches_model
    assert pane.matches.isVisible()
    assert [c.ins for c in model.candidates] == [LEA.ins]
    first_line = model.data(model.index(0))
    assert first_line.startswith("MOREAU Léa, née le 25/05/2007\nINS 207058575627097 · DMP actif")
    # The last line asks INSi.
    assert "INSi" in model.data(model.index(model.rowCount() - 1))
    screenshot(window, "screenshot-patient-search.png")

    press(qtbot, Qt.Key.Key_Down)
    assert focused() is pane.matches and pane.matches.currentIndex().row() == 0
    with qtbot.waitSignal(window.consultation.documentsReady, timeout=WAIT):
        press(qtbot, Qt.Key.Key_Return)
    assert pane.ins_edit.text() == LEA.ins.value
    assert documents_shown(window) > 0
    assert window.workspace.documents_pane.isAncestorOf(focused())  # the list has the focus

    panel = window.workspace.status_panel
    assert panel.identity_label.text() == "MOREAU Léa"
    assert panel.birth_name_value.text() == "MOREAU"
    assert panel.given_names_value.text() == "LÉA (selon le DMP)"
    assert panel.birth_date_value.text() == "25/05/2007"
    assert panel.sex_value.text() == "féminin"
    assert panel.birthplace_value.text().startswith("non connu")
    assert panel.qualification_value.text().startswith("⚠ non qualifiée")

    # She is now a recent patient: her name alone offers her, with no question to the DMP.
    qtbot.waitUntil(lambda: bool(window.patients.service.recent), timeout=WAIT)
    press(qtbot, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)
    before = window.dmp_service.connection_state
    type_keys(qtbot, "mor")
    assert pane.matches.isVisible()
    assert [c.ins for c in model.candidates] == [LEA.ins] and model.candidates[0].recent
    assert window.dmp_service.connection_state is before


def test_my_dmp_patients_filter_then_open(qtbot: QtBot, window: MainWindow) -> None:
    press(
        qtbot, Qt.Key.Key_L, Qt.KeyboardModifier.ShiftModifier | Qt.KeyboardModifier.ControlModifier
    )
    dialog = window.patients.my_patients_dialog
    assert dialog is not None
    qtbot.waitUntil(lambda: dialog.model.rowCount() > 0, timeout=WAIT)
    names = [dialog.model.row_at(r).identity.ins for r in range(dialog.model.rowCount())]
    assert set(names) == {LEA.ins, EMMA.ins}  # Dr Durand's valid authorisations on active DMPs
    assert focused() is dialog.filter_edit
    type_keys(qtbot, "chev")
    assert dialog.proxy.rowCount() == 1
    press(qtbot, Qt.Key.Key_Down)
    assert focused() is dialog.table
    with qtbot.waitSignal(window.dmp_service.statusReady, timeout=WAIT):
        press(qtbot, Qt.Key.Key_Return)
    assert window.patients.my_patients_dialog is None
    assert window.workspace.patient_pane.ins_edit.text() == EMMA.ins.value
    assert window.workspace.status_panel.identity_label.text() == "CHEVALIER Emma"


def test_insi_02_then_the_other_first_names_then_the_qualified_identity(
    qtbot: QtBot, window: MainWindow
) -> None:
    """Ctrl+I, the traits, 02 (a homonym), the other first names, 00, open: keyboard only."""
    press(qtbot, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)
    type_keys(qtbot, "lefebvre julien M 02/11/1982")
    press(qtbot, Qt.Key.Key_I, Qt.KeyboardModifier.ControlModifier)
    dialog = window.patients.insi_dialog
    assert dialog is not None
    qtbot.waitUntil(lambda: QApplication.activeWindow() is dialog)
    # Prefilled from the field; the focus on the first field left to type (none: the sex).
    assert dialog.birth_name.text() == "LEFEBVRE" and dialog.given_names.text() == "JULIEN"
    assert dialog.birth_date.text() == "02/11/1982" and dialog.sex.currentData() == "M"
    assert focused() is dialog.sex  # every field filled: the focus waits on the first choice
    searches: list[object] = []
    dialog.searchRequested.connect(searches.append)
    with qtbot.waitSignal(window.patients.service.insiDone, timeout=WAIT):
        press(qtbot, Qt.Key.Key_Return)
    assert len(searches) == 1  # one request per Enter
    assert dialog.search_result is not None and dialog.search_result.insi.code == "02"
    assert "autres prénoms" in dialog.message.text()
    assert focused() is dialog.given_names  # where to add the other first names
    press(qtbot, Qt.Key.Key_End)
    type_keys(qtbot, " ANDRE")
    with qtbot.waitSignal(window.patients.service.insiDone, timeout=WAIT):
        press(qtbot, Qt.Key.Key_Return)
    assert dialog.search_result is not None and dialog.search_result.identity is not None
    assert "LEFEBVRE" in dialog.identity_label.text() and "69383" in dialog.identity_label.text()
    screenshot(dialog, "screenshot-insi-search.png")
    assert focused() is dialog.open_button
    with qtbot.waitSignal(window.dmp_service.statusReady, timeout=WAIT):
        press(qtbot, Qt.Key.Key_Return)
    panel = window.workspace.status_panel
    assert window.workspace.patient_pane.ins_edit.text() == "182116938311206"
    assert panel.birth_name_value.text() == "LEFEBVRE"
    assert panel.given_names_value.text() == "JULIEN ANDRE MARIE"
    assert panel.birthplace_value.text() == "69383"
    assert panel.qualification_value.text() == "✔ qualifiée (INS vérifiée par l'INSi)"
    assert not panel.identity_warning.isVisible()  # the DMP's copy agrees
    assert window.workspace.current_identity is not None
    assert window.workspace.current_identity.qualified
