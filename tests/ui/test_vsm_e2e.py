"""The editor prefilled from the real DMP: SoftHSM card, the training host over real
mutual TLS, the demo patient's VSM found (ITI-18), retrieved (ITI-43) and read back."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from dmp_desktop.ui.main_window import MainWindow
from dmp_sandbox.demo import demo_patients
from tests.ui.conftest import HostWindow, log_in

pytestmark = pytest.mark.e2e

LEA = next(p for p in demo_patients() if p.key == "actif-autorise")


@pytest.fixture
def window(host_window: HostWindow) -> MainWindow:
    return host_window()


def test_the_latest_vsm_of_the_dmp_prefills_the_editor(qtbot: QtBot, window: MainWindow) -> None:
    log_in(qtbot, window)
    edit = window.workspace.patient_pane.ins_edit
    qtbot.keyClicks(edit, LEA.ins.value)
    with qtbot.waitSignal(window.dmp_service.statusReady, timeout=15000):
        qtbot.keyClick(edit, Qt.Key.Key_Return)

    assert window.vsm.fetcher() is not None  # the DMP service lends its client
    qtbot.keyClick(
        window,
        Qt.Key.Key_S,
        Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier,
    )
    editor = window.vsm.editor
    assert editor is not None
    qtbot.waitUntil(lambda: not editor.fetching, timeout=20000)
    assert editor.origin == "dmp", editor.origin_label.text()
    summary = editor.current_summary()
    assert [p.cim10 for p in summary.active_problems] == ["E10.9", "J45.0", "J30.1"]
    assert summary.allergies[0].agent == "Pollens de graminées"
    assert summary.vigilance_points == ["Asthme : éviter les bêtabloquants non cardiosélectifs."]
    assert summary.version == 2 and summary.set_id is not None
    header = editor.current_header()
    assert header.ins == LEA.ins and header.birth_family_name.upper() == "MOREAU"
    qtbot.waitUntil(lambda: "Asthme allergique persistant léger" in editor.preview.toPlainText())
