"""The real window end to end: SoftHSM card, PIN, and the training host over real
mutual TLS (the card signs the handshake), with the demo patients seeded."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from dmp_desktop.services.card_service import CardBackend
from dmp_desktop.services.dmp_service import ConnectionState
from dmp_desktop.ui.main_window import MainWindow
from dmp_sandbox.demo import demo_patients
from dmp_sandbox.server import RunningHost
from dmp_sandbox.training import TrainingEnv
from tests.ui.conftest import log_in, real_window, visible_texts

pytestmark = pytest.mark.e2e

PATIENTS = {p.key: p for p in demo_patients()}


@pytest.fixture
def window(
    qtbot: QtBot,
    training_env: TrainingEnv,
    training_host: RunningHost,
    real_card_manager: CardBackend,
) -> MainWindow:
    return real_window(qtbot, training_env, training_host.url, real_card_manager)


def test_card_pin_and_status_from_the_training_host(qtbot: QtBot, window: MainWindow) -> None:
    log_in(qtbot, window, "CPS3-DURAND", "1234")
    assert window.top_bar.practitioner_label.text() == "Dr Marie DURAND · Médecin généraliste"
    assert window.top_bar.training_badge.isVisible()

    moreau = PATIENTS["actif-autorise"]
    edit = window.workspace.patient_pane.ins_edit
    qtbot.keyClicks(edit, moreau.ins.value)
    with qtbot.waitSignal(window.dmp_service.statusReady, timeout=15000):
        qtbot.keyClick(edit, Qt.Key.Key_Return)
    panel = window.workspace.status_panel
    assert panel.identity_label.text() == "MOREAU Léa"
    assert panel.birth_label.text() == "née le 25/05/2007"
    assert panel.summary_label.text().startswith("✔ La patiente a un DMP actif.")  # the DMP says F
    assert panel.authorization_value.text() == "valide"
    assert panel.treating_value.text().startswith("oui")
    assert window.dmp_service.connection_state is ConnectionState.CONNECTED
    assert window.connection_label.text() == "● Connecté au DMP"

    blocked = PATIENTS["bloque"]
    edit.setText("")
    qtbot.keyClicks(edit, blocked.ins.value)
    with qtbot.waitSignal(window.dmp_service.statusReady, timeout=15000):
        qtbot.keyClick(edit, Qt.Key.Key_Return)
    assert panel.identity_label.text() == "GIRARD Nathalie"
    assert panel.summary_label.property("tone") == "error"
    assert "vous a bloqué" in panel.summary_label.text()

    without = PATIENTS["sans-dmp"]
    edit.setText("")
    qtbot.keyClicks(edit, without.ins.value)
    with qtbot.waitSignal(window.dmp_service.statusReady, timeout=15000):
        qtbot.keyClick(edit, Qt.Key.Key_Return)
    assert "Ce patient n'a pas de DMP." in panel.summary_label.text()

    with qtbot.waitSignal(window.card_service.sessionEnded):
        window.act_logout.trigger()
    texts = "\n".join(visible_texts(window))
    for name in ("MOREAU", "GIRARD", "ROUSSEL", moreau.ins.value, without.ins.value):
        assert name not in texts
