"""The consultation end to end: the real window, the SoftHSM card, the training host over
real mutual TLS (seeded demo patients and documents). Moreau Léa's documents are listed
and opened; Lefebvre Julien's consent is recorded only when the doctor says yes; Girard
Nathalie has blocked Dr Durand; Faure Bernard is opened in "bris de glace" mode."""

from __future__ import annotations

import logging

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from dmp_desktop.services.consultation import PURPOSE_BREAK_GLASS, PaneState
from dmp_desktop.ui.documents_model import Column
from dmp_desktop.ui.main_window import MainWindow
from dmp_desktop.ui.viewer import HtmlTab, MessageTab
from dmp_sandbox.demo import demo_patients
from tests.ui.conftest import HostWindow, enter_ins, log_in, visible_texts

pytestmark = pytest.mark.e2e

PATIENTS = {p.key: p for p in demo_patients()}
TIMEOUT = 20000


@pytest.fixture
def window(host_window: HostWindow) -> MainWindow:
    return host_window((1600, 950))


def check(qtbot: QtBot, window: MainWindow, key: str) -> None:
    enter_ins(qtbot, window, PATIENTS[key].ins.value, timeout=TIMEOUT)


def titles(window: MainWindow) -> list[str]:
    proxy = window.workspace.documents_pane.list_page.proxy
    out = []
    for row in range(proxy.rowCount()):
        found = proxy.entry_at(proxy.index(row, 0))
        assert found is not None
        out.append(found.title)
    return out


def open_title(qtbot: QtBot, window: MainWindow, title: str) -> None:
    view = window.workspace.documents_pane.table
    view.setFocus()
    view.selectRow(titles(window).index(title))
    with qtbot.waitSignal(window.consultation.documentReady, timeout=TIMEOUT):
        qtbot.keyClick(view, Qt.Key.Key_Return)


def test_consultation_against_the_training_host(
    qtbot: QtBot, window: MainWindow, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    log_in(qtbot, window)

    # Moreau Léa: authorised, médecin traitant: her documents at once.
    with qtbot.waitSignal(window.consultation.documentsReady, timeout=TIMEOUT):
        check(qtbot, window, "actif-autorise")
    assert window.workspace.status_panel.identity_label.text() == "MOREAU Léa"
    listed = titles(window)
    assert "Compte rendu de consultation de cardiologie" in listed
    assert "Synthèse médicale" in listed
    page = window.workspace.documents_pane.list_page
    assert page.masked_check.isEnabled()
    patient_rows = [
        page.proxy.data(page.proxy.index(r, int(Column.TITLE)))
        for r in range(page.proxy.rowCount())
    ]
    assert any(str(t).startswith("✎ ") for t in patient_rows)  # written by the patient

    open_title(qtbot, window, "Synthèse médicale")
    vsm = window.workspace.viewer.current_tab()
    assert isinstance(vsm, HtmlTab)
    assert "MOREAU" in vsm.browser.toPlainText().upper()
    open_title(qtbot, window, "Compte rendu de consultation de cardiologie")
    report = window.workspace.viewer.current_tab()
    assert report is not None and not isinstance(report, MessageTab)

    # Lefebvre Julien: no authorisation; nothing is recorded before "Oui".
    check(qtbot, window, "actif-sans-autorisation")
    pane = window.workspace.documents_pane
    assert window.consultation.state is PaneState.ASK_CONSENT
    assert window.workspace.viewer.count == 0  # Léa's documents are gone
    with qtbot.waitSignal(window.consultation.documentsReady, timeout=TIMEOUT):
        pane.consent_page.yes_button.click()
    assert window.workspace.status_panel.authorization_value.text() == "valide"
    assert "Compte rendu de consultation de médecine générale" in titles(window)

    # Girard Nathalie has blocked Dr Durand: no way around it.
    check(qtbot, window, "bloque")
    assert window.consultation.state is PaneState.BLOCKED
    assert not pane.consent_page.isVisible()
    assert not window.act_emergency.isEnabled()

    # Faure Bernard (expired): emergency access, with its reason, and the banner.
    check(qtbot, window, "autorisation-expiree")
    assert window.consultation.state is PaneState.ASK_CONSENT
    window.act_emergency.trigger()
    dialog = window.workspace.emergency_dialog
    assert dialog is not None
    dialog.break_glass.click()
    dialog.reason_edit.setPlainText("Patient inconscient aux urgences, antécédents cardiaques")
    with qtbot.waitSignal(window.consultation.documentsReady, timeout=TIMEOUT):
        dialog.ok_button.click()
    assert window.emergency_banner.isVisible()
    assert window.emergency_banner.label.text().startswith("⚠ ACCÈS EN MODE BRIS DE GLACE")
    assert window.consultation.access.purpose == PURPOSE_BREAK_GLASS
    assert "Compte rendu d'hospitalisation (séjour)" in titles(window)

    with qtbot.waitSignal(window.card_service.sessionEnded):
        window.act_logout.trigger()
    texts = "\n".join(visible_texts(window))
    for secret in ("MOREAU", "LEFEBVRE", "FAURE", "cardiologie", "BRIS DE GLACE"):
        assert secret not in texts
    assert window.workspace.documents_pane.list_page.model.rowCount() == 0
    assert window.workspace.viewer.count == 0

    # Rule 7: no patient in the logs.
    logged = "\n".join(record.getMessage() for record in caplog.records)
    for key in ("actif-autorise", "actif-sans-autorisation", "autorisation-expiree"):
        patient = PATIENTS[key]
        assert patient.ins.value not in logged
        assert patient.family_name.upper() not in logged.upper()
    assert "inconscient" not in logged
