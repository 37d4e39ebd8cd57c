"""The window's words, on the real card and the training host (real mutual TLS).

* where the DMP gives the patient's sex, the words agree: « née le », « La patiente
  vous a bloqué », « Le DMP de cette patiente a été fermé »; a man keeps « le patient »;
* the secretary (CPE card) is never told to ask for a consent she cannot use: the
  status says what she may do, like the documents pane;
* Entrée on the focused consent answer answers (here: « Oui », recorded in the DMP);
* the VSM's narrative shows « paquets-années », never a raw « {pack}/a ».
"""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from dmp_desktop.cda.vsm import build_vsm
from dmp_desktop.services.consultation import PaneState
from dmp_desktop.ui.documents_pane import ConsentPage
from dmp_desktop.ui.main_window import MainWindow
from dmp_sandbox.demo import demo_patients
from tests.support import ui_truth
from tests.support.cda_samples import full_summary
from tests.ui.conftest import HostWindow, enter_ins, log_in

pytestmark = pytest.mark.e2e

PATIENTS = {p.key: p for p in demo_patients()}
TIMEOUT = 20000


@pytest.fixture
def window(host_window: HostWindow) -> MainWindow:
    return host_window((1280, 800))


def check(qtbot: QtBot, window: MainWindow, key: str) -> None:
    enter_ins(qtbot, window, PATIENTS[key].ins.value, timeout=TIMEOUT)


def panel_texts(window: MainWindow) -> str:
    panel = window.workspace.status_panel
    return " ".join(
        (panel.birth_label.text(), panel.summary_label.text(), panel.authorization_value.text())
    )


def pane_message(window: MainWindow) -> str:
    page = window.workspace.documents_pane.message_page
    return f"{page.title_label.text()} {page.text_label.text()}"


def test_words_agree_with_the_patients_sex(qtbot: QtBot, window: MainWindow) -> None:
    log_in(qtbot, window)

    check(qtbot, window, "bloque")  # Nathalie GIRARD has blocked Dr Durand
    qtbot.waitUntil(lambda: window.consultation.state is PaneState.BLOCKED, timeout=TIMEOUT)
    texts = panel_texts(window)
    assert "née le " in texts and "né(e)" not in texts
    assert "La patiente a un DMP actif." in texts
    assert "La patiente vous a bloqué" in texts
    assert "Le patient" not in texts
    message = pane_message(window)
    assert "Accès refusé par la patiente" in message
    assert "Seule la patiente peut lever ce blocage" in message

    check(qtbot, window, "ferme")  # Monique BLANC: closed record
    qtbot.waitUntil(lambda: window.consultation.state is PaneState.CLOSED, timeout=TIMEOUT)
    assert "Le DMP de cette patiente a été fermé" in panel_texts(window)
    assert "cette patiente est fermé" in pane_message(window)

    check(qtbot, window, "actif-sans-autorisation")  # Julien LEFEBVRE: the masculine stays
    qtbot.waitUntil(lambda: window.consultation.state is PaneState.ASK_CONSENT, timeout=TIMEOUT)
    page = window.workspace.documents_pane.consent_page
    assert page.question_label.text() == (
        "Le patient consent-il à ce que vous accédiez à son DMP ?"
    )
    assert "né le " in panel_texts(window)
    assert "Le patient a un DMP actif." in panel_texts(window)


def test_the_consent_page_for_a_woman(qtbot: QtBot) -> None:
    page = ConsentPage()
    qtbot.addWidget(page)
    page.reset(expired=False, doctor=True, female=True)
    assert page.question_label.text() == (
        "La patiente consent-elle à ce que vous accédiez à son DMP ?"
    )
    assert page.yes_button.text() == "Oui, la patiente con&sent"
    assert "La patiente me désigne" in page.treating_check.text()
    assert "la patiente en est informée" in page.emergency_label.text()
    page.reset(expired=False, doctor=True, female=False)
    assert page.yes_button.text() == "Oui, le patient con&sent"


def test_entree_on_the_focused_answer_records_the_consent(qtbot: QtBot, window: MainWindow) -> None:
    log_in(qtbot, window)
    check(qtbot, window, "actif-sans-autorisation")
    qtbot.waitUntil(lambda: window.consultation.state is PaneState.ASK_CONSENT, timeout=TIMEOUT)
    yes = window.workspace.documents_pane.consent_page.yes_button
    yes.setFocus(Qt.FocusReason.TabFocusReason)
    qtbot.waitUntil(yes.hasFocus)
    with qtbot.waitSignal(window.consultation.documentsReady, timeout=TIMEOUT):
        qtbot.keyClick(yes, Qt.Key.Key_Return)  # recorded in the DMP, then the list
    assert window.consultation.state is PaneState.DOCUMENTS


def test_the_secretary_is_not_told_to_ask_for_consent(qtbot: QtBot, window: MainWindow) -> None:
    log_in(qtbot, window, "CPE-BERNARD", "1111")
    check(qtbot, window, "actif-autorise")
    qtbot.waitUntil(lambda: window.consultation.state is PaneState.STAFF, timeout=TIMEOUT)
    texts = panel_texts(window)
    assert "Secrétariat : vous pouvez envoyer des documents dans ce DMP" in texts
    assert "sans objet (secrétariat)" in texts
    assert "consentement" not in texts and "demandez" not in texts
    assert "alimenter le DMP, pas de le consulter" in pane_message(window)
    assert ui_truth.raw_placeholders(window) == []


def test_no_raw_unit_in_a_summary(qtbot: QtBot) -> None:
    from PySide6.QtWidgets import QTextBrowser

    from dmp_desktop.cda.render import render_html

    summary = full_summary()
    assert any(item.unit == "{pack}/a" for item in summary.lifestyle)
    html = render_html(build_vsm(summary))
    browser = QTextBrowser()
    qtbot.addWidget(browser)
    browser.setHtml(html)
    browser.show()
    shown = browser.toPlainText()
    assert "paquets-années" in shown
    assert "{pack}" not in shown
    assert ui_truth.raw_placeholders(browser) == []


def test_a_plain_text_document_is_wrapped_to_the_tab(qtbot: QtBot) -> None:
    from PySide6.QtWidgets import QPlainTextEdit

    from dmp_desktop.ui.viewer import TextTab
    from tests.ui.consultation_fakes import entry

    line = "Compte rendu de consultation sans retour à la ligne. " * 40
    tab = TextTab(entry("1.2.250.1.999.9.1", "Note en texte brut", days_ago=1), line)
    qtbot.addWidget(tab)
    tab.resize(600, 400)
    tab.show()
    qtbot.waitExposed(tab)
    assert tab.editor.lineWrapMode() is QPlainTextEdit.LineWrapMode.WidgetWidth
    editor = tab.editor
    layout = editor.document().documentLayout()  # its height counts lines
    qtbot.waitUntil(lambda: layout.documentSize().height() > 1)
    # Read down, never sideways: the long line is wrapped to the tab's width.
    assert editor.document().documentLayout().documentSize().width() <= editor.viewport().width()
    assert editor.horizontalScrollBar().maximum() == 0
