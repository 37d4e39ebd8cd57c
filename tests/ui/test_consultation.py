"""The consultation in the window, with a stub DMP (the training host is in the e2e test):
honest authorisation, the blocked professional, emergency access, the list and its
filters, "new since your last consultation", refresh, the keyboard-only flow, and
nothing left on screen or in memory once the card is gone."""

from __future__ import annotations

import dataclasses
import threading
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QBuffer, QIODevice, Qt
from PySide6.QtGui import QPdfWriter
from PySide6.QtWidgets import QApplication, QComboBox, QTableView
from pytestqt.qtbot import QtBot

from dmp_desktop.dates import paris_today
from dmp_desktop.domain.document import DocumentStatus
from dmp_desktop.domain.patient import Ins
from dmp_desktop.services.consultation import (
    PURPOSE_BREAK_GLASS,
    PURPOSE_CENTRE_15,
    PaneState,
    Period,
)
from dmp_desktop.services.operations import Operation
from dmp_desktop.settings import Settings
from dmp_desktop.ui.documents_model import NEW_MARK, Column, IsNewRole
from dmp_desktop.ui.main_window import MainWindow
from dmp_desktop.ui.viewer import HtmlTab, ImageTab, MessageTab, PdfTab, TextTab
from tests.ui.conftest import WindowFactory, visible_texts
from tests.ui.consultation_fakes import (
    AUTHORISED,
    BLOCKED,
    EXPIRED,
    NAMES,
    NOT_TREATING,
    UNAUTHORISED,
    ConsultationDmp,
    entry,
)
from tests.ui.fakes import DURAND, MARTIN, FakeCard, FakeCardManager, ui_settings


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return dataclasses.replace(ui_settings(), data_dir=str(tmp_path / "data"))


@pytest.fixture
def dmp() -> ConsultationDmp:
    return ConsultationDmp()


def log_in(qtbot: QtBot, window: MainWindow, pin: str = "1234") -> None:
    qtbot.waitUntil(lambda: window.pin_dialog is not None and window.pin_dialog.isVisible())
    dialog = window.pin_dialog
    assert dialog is not None
    qtbot.keyClicks(dialog.pin_edit, pin)
    with qtbot.waitSignal(window.card_service.loggedIn):
        qtbot.keyClick(dialog.pin_edit, Qt.Key.Key_Return)


def open_window(
    qtbot: QtBot,
    make_window: WindowFactory,
    settings: Settings,
    cards: FakeCardManager,
    dmp: ConsultationDmp,
) -> MainWindow:
    window = make_window(settings, cards, dmp)
    log_in(qtbot, window)
    return window


def check(qtbot: QtBot, window: MainWindow, ins: Ins) -> None:
    edit = window.workspace.patient_pane.ins_edit
    edit.setText("")
    qtbot.keyClicks(edit, ins.value)
    with qtbot.waitSignal(window.dmp_service.statusReady):
        qtbot.keyClick(edit, Qt.Key.Key_Return)


def check_and_list(qtbot: QtBot, window: MainWindow, ins: Ins) -> None:
    with qtbot.waitSignal(window.consultation.documentsReady, timeout=5000):
        check(qtbot, window, ins)


def only_running(window: MainWindow, label: str) -> Operation[Any]:
    """The one operation running under this label (others may run beside it)."""
    (op,) = [op for op in window.runner.running if op.label == label]
    return op


def table(window: MainWindow) -> QTableView:
    return window.workspace.documents_pane.table


def shown_ids(window: MainWindow) -> list[str]:
    proxy = window.workspace.documents_pane.list_page.proxy
    out = []
    for row in range(proxy.rowCount()):
        found = proxy.entry_at(proxy.index(row, 0))
        assert found is not None
        out.append(found.unique_id)
    return out


def row_of(window: MainWindow, unique_id: str) -> int:
    return window.workspace.documents_pane.list_page.proxy.index_of(unique_id).row()


@pytest.fixture
def window(
    qtbot: QtBot,
    make_window: WindowFactory,
    settings: Settings,
    fake_cards: FakeCardManager,
    dmp: ConsultationDmp,
) -> MainWindow:
    """The window over the fake DMP, Dr Durand logged in."""
    return open_window(qtbot, make_window, settings, fake_cards, dmp)


# -- authorisation ------------------------------------------------------------------------
def test_authorised_patient_lists_documents_at_once(
    qtbot: QtBot,
    window: MainWindow,
    dmp: ConsultationDmp,
) -> None:
    check_and_list(qtbot, window, AUTHORISED)
    pane = window.workspace.documents_pane
    assert window.consultation.state is PaneState.DOCUMENTS
    assert pane.stack.currentWidget() is pane.list_page
    # 2 years, active, not masked: 5 documents of the 10.
    assert sorted(shown_ids(window)) == [f"1.2.250.1.999.1.{n}" for n in (1, 2, 3, 4, 6)]
    assert shown_ids(window)[0] == "1.2.250.1.999.1.1"  # newest first
    query, purpose, reason, thread = dmp.finds[0]
    assert purpose == "normal" and reason is None
    today = paris_today()  # the DMP's day
    assert query.since == today.replace(year=today.year - 2)
    assert query.statuses == {DocumentStatus.APPROVED} and not query.include_masked
    assert thread is not threading.main_thread()
    assert dmp.authorizations == []
    assert pane.list_page.count_label.text() == "5 document(s)"
    assert "Première consultation" in pane.list_page.notice_label.text()
    assert not pane.list_page.new_label.isVisible()
    assert pane.list_page.masked_check.isEnabled()  # médecin traitant
    assert not window.emergency_banner.isVisible()
    assert window.sync_label.text().startswith("Documents synchronisés à ")


@pytest.mark.parametrize("ins", [UNAUTHORISED, EXPIRED])
def test_consent_is_asked_and_never_recorded_automatically(
    qtbot: QtBot,
    window: MainWindow,
    dmp: ConsultationDmp,
    ins: Ins,
) -> None:
    check(qtbot, window, ins)
    pane = window.workspace.documents_pane
    page = pane.consent_page
    assert pane.stack.currentWidget() is page
    assert page.question_label.text() == "Le patient consent-il à ce que vous accédiez à son DMP ?"
    assert page.yes_button.isVisible() and page.no_button.isVisible()
    assert page.emergency_button.isVisible()  # apart, below
    assert page.treating_check.isVisible() and not page.treating_check.isChecked()
    if ins == EXPIRED:
        assert "a expiré" in page.context_label.text()
    # Nothing is sent by itself: not after the answer, not after the events settle.
    with qtbot.assertNotEmitted(window.consultation.authorizationRecorded, wait=50):
        QApplication.processEvents()
    assert dmp.authorizations == [] and dmp.finds == []
    # Entrée answers only on the answer the doctor moved to (Tab): never by itself.
    assert not page.yes_button.isDefault() and not page.yes_button.hasFocus()

    with qtbot.waitSignal(window.consultation.documentsReady, timeout=5000):
        qtbot.mouseClick(page.yes_button, Qt.MouseButton.LeftButton)
    recorded_ins, grant, treating, thread = dmp.authorizations[0]
    assert (recorded_ins, grant, treating) == (ins, True, False)
    assert thread is not threading.main_thread()
    assert len(dmp.authorizations) == 1
    # The status was asked again and now says "valide": the list is there.
    assert window.workspace.status_panel.authorization_value.text() == "valide"
    assert pane.stack.currentWidget() is pane.list_page
    assert len(shown_ids(window)) == 5
    assert not pane.list_page.masked_check.isEnabled()  # not médecin traitant
    assert pane.list_page.treating_button.isVisible()


def test_treating_physician_is_a_separate_explicit_choice(
    qtbot: QtBot,
    window: MainWindow,
    dmp: ConsultationDmp,
) -> None:
    check(qtbot, window, UNAUTHORISED)
    page = window.workspace.documents_pane.consent_page
    page.treating_check.setChecked(True)
    with qtbot.waitSignal(window.consultation.documentsReady, timeout=5000):
        page.yes_button.click()
    assert [(a[1], a[2]) for a in dmp.authorizations] == [(True, True)]
    assert window.workspace.status_panel.treating_value.text().startswith("oui")
    assert window.workspace.documents_pane.list_page.masked_check.isEnabled()

    # Already authorised, not médecin traitant: a question, two answers.
    check_and_list(qtbot, window, NOT_TREATING)
    list_page = window.workspace.documents_pane.list_page
    assert list_page.treating_button.isVisible()
    list_page.treating_button.click()
    box = window.workspace.treating_box
    assert box is not None
    assert box.text() == "Le patient vous désigne-t-il comme son médecin traitant DMP ?"
    assert len(dmp.authorizations) == 1  # nothing before the answer
    no = next(b for b in box.buttons() if b.text() == "&Non")
    no.click()
    assert len(dmp.authorizations) == 1
    list_page.treating_button.click()
    box = window.workspace.treating_box
    assert box is not None
    yes = next(b for b in box.buttons() if b.text() == "&Oui, il me désigne")
    with qtbot.waitSignal(window.dmp_service.statusReady, timeout=5000):
        yes.click()
    assert dmp.authorizations[-1][:3] == (NOT_TREATING, True, True)
    qtbot.waitUntil(lambda: list_page.masked_check.isEnabled())
    assert not list_page.treating_button.isVisible()


def test_no_records_nothing_and_keeps_the_emergency_apart(
    qtbot: QtBot,
    window: MainWindow,
    dmp: ConsultationDmp,
) -> None:
    check(qtbot, window, UNAUTHORISED)
    pane = window.workspace.documents_pane
    pane.consent_page.no_button.click()
    assert window.consultation.state is PaneState.DECLINED
    assert pane.stack.currentWidget() is pane.message_page
    assert "rien n'a été enregistré" in pane.message_page.text_label.text()
    assert pane.message_page.emergency_button.isVisible()
    assert dmp.authorizations == [] and dmp.finds == []
    pane.message_page.again_button.click()
    assert pane.stack.currentWidget() is pane.consent_page


def test_blocked_professional_has_no_way_around(
    qtbot: QtBot,
    window: MainWindow,
    dmp: ConsultationDmp,
) -> None:
    check(qtbot, window, BLOCKED)
    pane = window.workspace.documents_pane
    assert window.consultation.state is PaneState.BLOCKED
    assert pane.stack.currentWidget() is pane.message_page
    assert pane.message_page.title_label.text() == "Accès refusé par la patiente"  # Nathalie
    assert "même en urgence" in pane.message_page.text_label.text()
    visible_buttons = [
        b.text() for b in pane.findChildren(type(pane.consent_page.yes_button)) if b.isVisible()
    ]
    assert visible_buttons == []  # no consent, no emergency, nothing to click
    assert not window.act_emergency.isEnabled()
    assert window.workspace.request_emergency() is None
    problem = window.consultation.start_emergency_access(PURPOSE_BREAK_GLASS, "patient inconscient")
    assert problem is not None
    assert not window.emergency_banner.isVisible()
    assert dmp.finds == [] and dmp.authorizations == []


# -- emergency access ------------------------------------------------------------------------
def test_emergency_access_needs_a_reason_and_the_banner_stays(
    qtbot: QtBot,
    window: MainWindow,
    dmp: ConsultationDmp,
) -> None:
    check(qtbot, window, UNAUTHORISED)
    assert window.act_emergency.isEnabled()
    window.workspace.documents_pane.consent_page.emergency_button.click()
    dialog = window.workspace.emergency_dialog
    assert dialog is not None and dialog.isVisible()
    assert "LEFEBVRE Julien" in visible_texts(dialog)
    # Nothing preselected; a mode and a reason are needed.
    assert not dialog.break_glass.isChecked() and not dialog.centre_15.isChecked()
    assert not dialog.ok_button.isEnabled()
    dialog.break_glass.click()
    assert not dialog.ok_button.isEnabled()
    qtbot.keyClicks(dialog.reason_edit, "coma")
    assert not dialog.ok_button.isEnabled()
    assert "encore" in dialog.feedback_label.text()
    reason = "Patient inconscient aux urgences, recherche d'allergies"
    dialog.reason_edit.setPlainText(reason)
    assert dialog.ok_button.isEnabled()
    with qtbot.waitSignal(window.consultation.documentsReady, timeout=5000):
        dialog.ok_button.click()
    banner = window.emergency_banner
    assert banner.isVisible()
    assert banner.label.text() == f"⚠ ACCÈS EN MODE BRIS DE GLACE — motif : {reason}"
    assert dmp.authorizations == []  # an emergency access records no authorisation
    _query, purpose, sent_reason, _thread = dmp.finds[-1]
    assert (purpose, sent_reason) == (PURPOSE_BREAK_GLASS, reason)
    assert len(shown_ids(window)) == 5
    # Retrievals and refreshes carry the same purpose; the banner stays.
    first = window.workspace.documents_pane.list_page.proxy.entry_at(
        window.workspace.documents_pane.list_page.proxy.index(0, 0)
    )
    assert first is not None
    with qtbot.waitSignal(window.consultation.documentReady, timeout=5000):
        window.workspace.open_document(first)
    assert dmp.retrievals[-1][1:3] == (PURPOSE_BREAK_GLASS, reason)
    with qtbot.waitSignal(window.consultation.documentsReady, timeout=5000):
        window.act_refresh.trigger()
    assert dmp.finds[-1][1:3] == (PURPOSE_BREAK_GLASS, reason)
    assert banner.isVisible()
    # Another patient: the emergency mode ends with the patient.
    check_and_list(qtbot, window, AUTHORISED)
    assert not banner.isVisible()
    assert dmp.finds[-1][1:3] == ("normal", None)


def test_centre_15_is_explained_and_the_card_removal_ends_it(
    qtbot: QtBot,
    window: MainWindow,
    fake_cards: FakeCardManager,
    dmp: ConsultationDmp,
) -> None:
    check(qtbot, window, EXPIRED)
    window.act_emergency.trigger()
    dialog = window.workspace.emergency_dialog
    assert dialog is not None
    assert any("médecins régulateurs" in t for t in visible_texts(dialog))
    dialog.centre_15.click()
    # One rule for the reason, the same as for the bris de glace (usecases.access).
    assert not dialog.ok_button.isEnabled()
    assert "(obligatoire)" in dialog.reason_label.text()
    qtbot.keyClicks(dialog.reason_edit, "court")
    assert not dialog.ok_button.isEnabled()
    assert "encore 5 caractère(s)" in dialog.feedback_label.text()
    qtbot.keyClicks(dialog.reason_edit, " : detresse respiratoire")
    assert dialog.ok_button.isEnabled()
    with qtbot.waitSignal(window.consultation.documentsReady, timeout=5000):
        dialog.ok_button.click()
    reason = "court : detresse respiratoire"
    assert window.emergency_banner.label.text() == (
        f"⚠ ACCÈS EN MODE CENTRE 15 (régulation médicale) — motif : {reason}"
    )
    assert dmp.finds[-1][1:3] == (PURPOSE_CENTRE_15, reason)
    fake_cards.remove(1)
    with qtbot.waitSignal(window.card_service.sessionEnded):
        window.card_service.poll_now()
    assert not window.emergency_banner.isVisible()
    assert window.emergency_banner.label.text() == ""


# -- the list ------------------------------------------------------------------------------
def test_period_and_statuses_widen_by_asking_and_narrow_locally(
    qtbot: QtBot,
    window: MainWindow,
    dmp: ConsultationDmp,
) -> None:
    check_and_list(qtbot, window, AUTHORISED)
    page = window.workspace.documents_pane.list_page
    assert page.period_combo.currentText() == "2 ans"
    assert [page.period_combo.itemText(i) for i in range(3)] == ["2 ans", "5 ans", "Tout"]
    with qtbot.waitSignal(window.consultation.documentsReady, timeout=5000):
        page.period_combo.setCurrentIndex(page.period_combo.findData(Period.ALL))
    assert dmp.finds[-1][0].since is None
    assert "1.2.250.1.999.1.7" in shown_ids(window)  # 6 years old
    finds = len(dmp.finds)
    page.period_combo.setCurrentIndex(page.period_combo.findData(Period.TWO_YEARS))
    assert len(dmp.finds) == finds  # narrowing: filtered here, no request
    assert "1.2.250.1.999.1.7" not in shown_ids(window)
    assert page.count_label.text() == "5 affiché(s) sur 7"

    with qtbot.waitSignal(window.consultation.documentsReady, timeout=5000):
        page.deprecated_check.setChecked(True)
    assert dmp.finds[-1][0].statuses == {DocumentStatus.APPROVED, DocumentStatus.DEPRECATED}
    assert dmp.finds[-1][0].since is None  # what was loaded stays covered
    assert "1.2.250.1.999.1.8" in shown_ids(window)
    with qtbot.waitSignal(window.consultation.documentsReady, timeout=5000):
        page.archived_check.setChecked(True)
    assert "1.2.250.1.999.1.9" not in shown_ids(window)  # archived, but 3 years old
    page.period_combo.setCurrentIndex(page.period_combo.findData(Period.FIVE_YEARS))
    assert "1.2.250.1.999.1.9" in shown_ids(window)
    finds = len(dmp.finds)
    page.archived_check.setChecked(False)
    assert len(dmp.finds) == finds
    assert "1.2.250.1.999.1.9" not in shown_ids(window)

    # Masked documents: the médecin traitant only, by asking.
    with qtbot.waitSignal(window.consultation.documentsReady, timeout=5000):
        page.masked_check.setChecked(True)
    assert dmp.finds[-1][0].include_masked
    assert "1.2.250.1.999.1.10" in shown_ids(window)
    row = row_of(window, "1.2.250.1.999.1.10")
    flags = page.proxy.data(page.proxy.index(row, int(Column.FLAGS)))
    assert flags == "masqué aux professionnels"


def test_filters_combos_and_text(
    qtbot: QtBot,
    window: MainWindow,
) -> None:
    check_and_list(qtbot, window, AUTHORISED)
    page = window.workspace.documents_pane.list_page
    authors = page.combos[Column.AUTHOR]
    items = [authors.itemText(i) for i in range(authors.count())]
    assert items == [
        "Auteur : tous",
        "Ajouté par le patient",
        "Hélène BONNET",
        "Marc PETIT",
        "Marie DURAND",
    ]
    authors.setCurrentIndex(authors.findText("Marie DURAND"))
    assert sorted(shown_ids(window)) == ["1.2.250.1.999.1.2", "1.2.250.1.999.1.3"]
    assert page.count_label.text() == "2 affiché(s) sur 5"
    categories = page.combos[Column.CATEGORY]
    categories.setCurrentIndex(categories.findText("Synthèse"))
    assert shown_ids(window) == ["1.2.250.1.999.1.3"]
    authors.setCurrentIndex(0)
    categories.setCurrentIndex(0)
    window.act_filter.trigger()
    assert QApplication.focusWidget() is page.filter_edit
    qtbot.keyClicks(page.filter_edit, "radio")
    assert shown_ids(window) == ["1.2.250.1.999.1.4"]
    for column in (Column.TYPE, Column.SPECIALTY, Column.STATUS):
        combo: QComboBox = page.combos[column]
        assert combo.count() > 1 and combo.itemData(0) is None


def test_new_since_last_consultation_across_two_sessions(
    qtbot: QtBot, make_window: WindowFactory, settings: Settings, dmp: ConsultationDmp
) -> None:
    first_cards = FakeCardManager([FakeCard("CPS3-DURAND", DURAND, "1234")])
    try:
        window = open_window(qtbot, make_window, settings, first_cards, dmp)
        check_and_list(qtbot, window, AUTHORISED)
        page = window.workspace.documents_pane.list_page
        assert not page.new_label.isVisible()
        assert page.model.new_ids == frozenset()
        window.close()
    finally:
        first_cards.close()
    # Between the two sessions, a colleague sends two documents.
    dmp.add(AUTHORISED, entry("1.2.250.1.999.2.1", "Holter ECG", days_ago=2), b"%PDF-1.4")
    dmp.add(
        AUTHORISED,
        entry("1.2.250.1.999.2.2", "Compte rendu opératoire", days_ago=3),
        b"%PDF-1.4",
    )
    # Files on disk: encrypted, and their names do not give the patient away.
    stored = list((Path(settings.data_dir) / "state").iterdir())
    assert stored
    for path in stored:
        assert AUTHORISED.value not in path.name and "899700433153" not in path.name
        assert b"1.2.250.1.999.1.1" not in path.read_bytes()

    second_cards = FakeCardManager([FakeCard("CPS3-DURAND", DURAND, "1234")])
    try:
        window = open_window(qtbot, make_window, settings, second_cards, dmp)
        check_and_list(qtbot, window, AUTHORISED)
        page = window.workspace.documents_pane.list_page
        assert page.new_label.isVisible()
        assert page.new_label.text() == "● 2 nouveaux depuis votre dernière consultation"
        assert page.model.new_ids == {"1.2.250.1.999.2.1", "1.2.250.1.999.2.2"}
        proxy = page.proxy
        for uid in ("1.2.250.1.999.2.1", "1.2.250.1.999.1.1"):
            index = proxy.index_of(uid)
            new = uid.startswith("1.2.250.1.999.2.")
            assert proxy.data(index, IsNewRole) is new
            mark = proxy.data(proxy.index(index.row(), int(Column.NEW)))
            assert mark == (NEW_MARK if new else "")
            font = proxy.data(proxy.index(index.row(), int(Column.TITLE)), Qt.ItemDataRole.FontRole)
            assert (font is not None and font.bold()) is new
        # Sorting on the "new" column puts them first.
        table(window).sortByColumn(int(Column.NEW), Qt.SortOrder.DescendingOrder)
        assert set(shown_ids(window)[:2]) == {"1.2.250.1.999.2.1", "1.2.250.1.999.2.2"}
        window.close()
    finally:
        second_cards.close()
    # Another doctor on the same computer has a "last seen" of his own.
    third_cards = FakeCardManager([FakeCard("CPS4-MARTIN", MARTIN, "4321")])
    try:
        window = make_window(settings, third_cards, dmp)
        log_in(qtbot, window, "4321")
        check_and_list(qtbot, window, AUTHORISED)
        page = window.workspace.documents_pane.list_page
        assert page.model.new_ids == frozenset()
        assert "Première consultation" in page.notice_label.text()
        window.close()
    finally:
        third_cards.close()


def test_refresh_deduplicates_and_says_what_changed(
    qtbot: QtBot,
    make_window: WindowFactory,
    settings: Settings,
    fake_cards: FakeCardManager,
    dmp: ConsultationDmp,
) -> None:
    dmp.patients[AUTHORISED.value].duplicate_first = True
    window = open_window(qtbot, make_window, settings, fake_cards, dmp)
    check_and_list(qtbot, window, AUTHORISED)
    page = window.workspace.documents_pane.list_page
    assert len(shown_ids(window)) == 5  # the duplicate answer shows once
    table(window).setFocus()
    page.table.selectRow(row_of(window, "1.2.250.1.999.1.3"))

    dmp.add(
        AUTHORISED, entry("1.2.250.1.999.3.1", "Échographie cardiaque", days_ago=1), b"%PDF-1.4"
    )
    old, _content = dmp.patients[AUTHORISED.value].documents["1.2.250.1.999.1.2"]
    dmp.replace(AUTHORISED, dataclasses.replace(old, title="Lettre de liaison (corrigée)"))
    dmp.remove(AUTHORISED, "1.2.250.1.999.1.4")
    with qtbot.waitSignal(window.consultation.documentsReady, timeout=5000):
        qtbot.keyClick(table(window), Qt.Key.Key_F5)
    assert page.notice_label.text().endswith(
        ": 1 nouveau document, 1 document modifié, 1 document retiré."
    )
    assert page.notice_label.text().startswith("ℹ Liste actualisée à ")
    assert sorted(shown_ids(window)) == sorted(
        [
            "1.2.250.1.999.1.1",
            "1.2.250.1.999.1.2",
            "1.2.250.1.999.1.3",
            "1.2.250.1.999.1.6",
            "1.2.250.1.999.3.1",
        ]
    )
    assert page.new_label.text() == "● 1 nouveau depuis votre dernière consultation"
    current = page.current_entry()
    assert current is not None and current.unique_id == "1.2.250.1.999.1.3"  # selection kept
    with qtbot.waitSignal(window.consultation.documentsReady, timeout=5000):
        window.act_refresh.trigger()
    assert page.notice_label.text().endswith(": aucun changement.")


def test_refused_search_is_said_in_french(
    qtbot: QtBot,
    make_window: WindowFactory,
    settings: Settings,
    fake_cards: FakeCardManager,
    dmp: ConsultationDmp,
) -> None:
    from dmp_desktop.errors import HostUnreachableError

    window = open_window(qtbot, make_window, settings, fake_cards, dmp)
    check_and_list(qtbot, window, AUTHORISED)
    dmp.error = HostUnreachableError("refused")
    with qtbot.waitSignal(window.consultation.documentsFailed, timeout=5000):
        window.act_refresh.trigger()
    notice = window.workspace.documents_pane.list_page.notice_label
    assert notice.text().startswith("✖ Impossible de joindre le DMP")
    assert len(shown_ids(window)) == 5  # the list in memory stays


# -- the viewer ------------------------------------------------------------------------------
def open_row(qtbot: QtBot, window: MainWindow, unique_id: str) -> None:
    view = table(window)
    view.setFocus()
    view.selectRow(row_of(window, unique_id))
    with qtbot.waitSignal(window.consultation.documentReady, timeout=5000):
        qtbot.keyClick(view, Qt.Key.Key_Return)


def test_viewer_opens_pdf_level1_vsm_image_and_text(
    qtbot: QtBot,
    window: MainWindow,
    dmp: ConsultationDmp,
) -> None:
    check_and_list(qtbot, window, AUTHORISED)
    viewer = window.workspace.viewer
    assert not viewer.isVisible()

    open_row(qtbot, window, "1.2.250.1.999.1.1")
    assert viewer.isVisible()
    pdf = viewer.current_tab()
    assert isinstance(pdf, PdfTab) and pdf.loaded and pdf.page_count == 1
    assert pdf.title_label.text() == "Consultation de cardiologie"
    assert dmp.retrievals[-1][3] is not threading.main_thread()
    pdf.find_bar.edit.setText("echographie")
    qtbot.keyClick(pdf.find_bar.edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: pdf.result_count == 1)
    qtbot.waitUntil(lambda: pdf.find_bar.result_label.text() == "1 sur 1")
    pdf.zoom_in()
    assert pdf.view.zoomMode() is pdf.view.ZoomMode.Custom
    zoomed = pdf.view.zoomFactor()
    pdf.zoom_out()
    assert pdf.view.zoomFactor() < zoomed
    pdf.zoom_fit()
    assert pdf.view.zoomMode() is pdf.view.ZoomMode.FitToWidth
    # Ctrl+F in a document searches the document; in the list, filters the list.
    pdf.view.setFocus()
    qtbot.keyClick(pdf.view, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    assert QApplication.focusWidget() is pdf.find_bar.edit

    open_row(qtbot, window, "1.2.250.1.999.1.2")  # CDA level 1 carrying a PDF
    level1 = viewer.current_tab()
    assert isinstance(level1, PdfTab) and level1.loaded
    assert level1.meta_label.text().endswith("CDA niveau 1")

    open_row(qtbot, window, "1.2.250.1.999.1.3")  # the VSM, rendered
    vsm = viewer.current_tab()
    assert isinstance(vsm, HtmlTab)
    text = vsm.browser.toPlainText()
    assert "Pathologies en cours" in text or "Problèmes" in text or "Antécédents" in text
    assert vsm.find_text("diab") or vsm.find_text("Traitement")

    open_row(qtbot, window, "1.2.250.1.999.1.4")  # a PNG
    image = viewer.current_tab()
    assert isinstance(image, ImageTab) and image.loaded
    assert image.image.width() == 320

    page = window.workspace.documents_pane.list_page
    page.period_combo.setCurrentIndex(page.period_combo.findData(Period.FIVE_YEARS))
    qtbot.waitUntil(lambda: "1.2.250.1.999.1.5" in shown_ids(window), timeout=5000)
    open_row(qtbot, window, "1.2.250.1.999.1.5")  # a level-1 CDA carrying text
    notes = viewer.current_tab()
    assert isinstance(notes, TextTab)
    assert notes.editor.toPlainText() == "Tension 13/8.\nPoids stable."
    assert viewer.count == 5
    # Opening one again goes back to its tab, from memory.
    retrievals = len(dmp.retrievals)
    view = table(window)
    view.selectRow(row_of(window, "1.2.250.1.999.1.1"))
    qtbot.keyClick(view, Qt.Key.Key_Return)
    assert viewer.current_tab() is pdf and len(dmp.retrievals) == retrievals

    # Printing renders in memory (here into a PDF buffer, as a printer would).
    for tab in (pdf, vsm, image, notes):
        buffer = QBuffer()
        buffer.open(QIODevice.OpenModeFlag.WriteOnly)
        writer = QPdfWriter(buffer)
        assert tab.render_to(writer)
        del writer
        assert bytes(buffer.data().data()).startswith(b"%PDF")


def test_document_that_cannot_be_read_says_so(
    qtbot: QtBot,
    make_window: WindowFactory,
    settings: Settings,
    fake_cards: FakeCardManager,
    dmp: ConsultationDmp,
) -> None:
    broken = entry("1.2.250.1.999.4.1", "Document abîmé", days_ago=1)
    dmp.add(AUTHORISED, broken, b"<ClinicalDocument><broken")
    window = open_window(qtbot, make_window, settings, fake_cards, dmp)
    check_and_list(qtbot, window, AUTHORISED)
    view = table(window)
    view.setFocus()
    view.selectRow(row_of(window, "1.2.250.1.999.4.1"))
    with qtbot.waitSignal(window.consultation.documentFailed, timeout=5000):
        qtbot.keyClick(view, Qt.Key.Key_Return)
    tab = window.workspace.viewer.current_tab()
    assert isinstance(tab, MessageTab)
    assert tab.message_label.text() == (
        "✖ Ce document n'est pas un document CDA lisible ; il n'a pas été ouvert."
    )


# -- keyboard and the end of the session ---------------------------------------------------
def test_keyboard_only_flow(
    qtbot: QtBot,
    make_window: WindowFactory,
    settings: Settings,
    fake_cards: FakeCardManager,
    dmp: ConsultationDmp,
) -> None:
    window = make_window(settings, fake_cards, dmp)
    log_in(qtbot, window)
    qtbot.waitActive(window)
    edit = window.workspace.patient_pane.ins_edit
    window.workspace.patient_pane.check_button.setFocus()
    qtbot.keyClick(window, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)
    assert QApplication.focusWidget() is edit
    qtbot.keyClicks(edit, AUTHORISED.value)
    with qtbot.waitSignal(window.consultation.documentsReady, timeout=5000):
        qtbot.keyClick(edit, Qt.Key.Key_Return)
    view = table(window)
    qtbot.waitUntil(lambda: QApplication.focusWidget() is view)  # the list takes the focus
    first = window.workspace.documents_pane.list_page.current_entry()
    assert first is not None and first.unique_id == "1.2.250.1.999.1.1"  # the newest
    viewer = window.workspace.viewer

    with qtbot.waitSignal(window.consultation.documentReady, timeout=5000):
        qtbot.keyClick(view, Qt.Key.Key_Return)
    assert viewer.count == 1 and not viewer.current_tab().transient  # type: ignore[union-attr]
    assert QApplication.focusWidget() is view

    with qtbot.waitSignal(window.consultation.documentReady, timeout=5000):
        qtbot.keyClick(view, Qt.Key.Key_Down, Qt.KeyboardModifier.AltModifier)
    second = window.workspace.documents_pane.list_page.current_entry()
    assert second is not None and second.unique_id == "1.2.250.1.999.1.2"
    assert viewer.count == 2
    preview = viewer.current_tab()
    assert preview is not None and preview.transient and preview.entry == second
    # Alt+Down again: the preview shows the next one instead of piling up tabs.
    qtbot.keyClick(view, Qt.Key.Key_Down, Qt.KeyboardModifier.AltModifier)
    third = window.workspace.documents_pane.list_page.current_entry()
    assert third is not None and third.unique_id == "1.2.250.1.999.1.3"
    qtbot.waitUntil(lambda: isinstance(viewer.current_tab(), HtmlTab), timeout=5000)
    assert viewer.count == 2
    qtbot.keyClick(view, Qt.Key.Key_Up, Qt.KeyboardModifier.AltModifier)
    qtbot.waitUntil(lambda: isinstance(viewer.current_tab(), PdfTab), timeout=5000)
    assert viewer.current_tab().entry.unique_id == "1.2.250.1.999.1.2"  # type: ignore[union-attr]
    # Enter keeps the preview as a regular tab.
    qtbot.keyClick(view, Qt.Key.Key_Return)
    assert not viewer.current_tab().transient  # type: ignore[union-attr]

    qtbot.keyClick(view, Qt.Key.Key_Tab, Qt.KeyboardModifier.ControlModifier)
    assert viewer.tabs.currentIndex() == 0
    qtbot.keyClick(view, Qt.Key.Key_W, Qt.KeyboardModifier.ControlModifier)
    assert viewer.count == 1
    qtbot.keyClick(view, Qt.Key.Key_W, Qt.KeyboardModifier.ControlModifier)
    assert viewer.count == 0 and not viewer.isVisible()
    # Ctrl+F goes to the filter; Down goes back to the list.
    qtbot.keyClick(view, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    filter_edit = window.workspace.documents_pane.list_page.filter_edit
    assert QApplication.focusWidget() is filter_edit
    qtbot.keyClick(filter_edit, Qt.Key.Key_Down)
    assert QApplication.focusWidget() is view


def test_card_removed_leaves_nothing_of_the_patient(
    qtbot: QtBot,
    window: MainWindow,
    fake_cards: FakeCardManager,
) -> None:
    check_and_list(qtbot, window, AUTHORISED)
    for uid in ("1.2.250.1.999.1.1", "1.2.250.1.999.1.3", "1.2.250.1.999.1.4"):
        open_row(qtbot, window, uid)
    page = window.workspace.documents_pane.list_page
    page.filter_edit.setText("cardio")
    viewer = window.workspace.viewer
    vsm_tab = viewer.tab(viewer.index_of("1.2.250.1.999.1.3"))
    assert isinstance(vsm_tab, HtmlTab)
    vsm_text = vsm_tab.browser.toPlainText()
    assert window.consultation.cached_documents == 3
    family, given, _gender = NAMES[AUTHORISED.value]
    on_screen = "\n".join(visible_texts(window))
    assert family in on_screen and "Consultation de cardiologie" in on_screen

    fake_cards.remove(1)
    with qtbot.waitSignal(window.card_service.sessionEnded):
        window.card_service.poll_now()
    assert window.stack.currentWidget() is window.card_screen
    texts = "\n".join(visible_texts(window))
    for secret in (
        AUTHORISED.value,
        family,
        given,
        "Consultation de cardiologie",
        "cardio",
        "Volet de synthèse",
    ):
        assert secret not in texts
    assert vsm_text and vsm_text[:40] not in texts
    # Models, combos, tabs, memory: empty.
    assert page.model.rowCount() == 0 and page.proxy.rowCount() == 0
    assert all(combo.count() == 1 for combo in page.combos.values())
    assert page.filter_edit.text() == "" and not page.filter_edit.isUndoAvailable()
    assert viewer.count == 0 and not viewer.isVisible()
    assert window.consultation.cached_documents == 0
    assert window.consultation.ins is None and window.consultation.documents is None
    assert window.consultation.state is PaneState.EMPTY
    assert window.sync_label.text() == ""
    tab_texts = [viewer.tabs.tabText(i) for i in range(viewer.count)]
    assert tab_texts == []


def test_another_patient_replaces_everything(
    qtbot: QtBot,
    window: MainWindow,
) -> None:
    check_and_list(qtbot, window, AUTHORISED)
    open_row(qtbot, window, "1.2.250.1.999.1.1")
    # Typing another INS clears the documents at once (they belong to the first patient).
    edit = window.workspace.patient_pane.ins_edit
    qtbot.keyClick(edit, Qt.Key.Key_Backspace)
    assert window.workspace.viewer.count == 0
    assert window.workspace.documents_pane.list_page.model.rowCount() == 0
    assert window.consultation.ins is None
    check(qtbot, window, UNAUTHORISED)
    assert window.consultation.state is PaneState.ASK_CONSENT


def test_cancelled_retrieval_and_search_leave_a_clear_state(
    qtbot: QtBot,
    window: MainWindow,
    dmp: ConsultationDmp,
) -> None:
    check_and_list(qtbot, window, AUTHORISED)
    dmp.retrieve_gate = threading.Event()
    view = table(window)
    view.setFocus()
    view.selectRow(row_of(window, "1.2.250.1.999.1.1"))
    qtbot.keyClick(view, Qt.Key.Key_Return)
    tab = window.workspace.viewer.current_tab()
    assert isinstance(tab, MessageTab) and "Ouverture du document" in tab.message_label.text()
    # Other work may still run beside it (« L'essentiel » is prepared after the list).
    op = only_running(window, "Ouverture du document")
    with qtbot.waitSignal(window.consultation.documentFailed):
        window.runner.cancel(op)  # what "Annuler" and Échap do
    tab = window.workspace.viewer.current_tab()
    assert isinstance(tab, MessageTab)
    assert tab.message_label.text() == "✖ Ouverture annulée. Appuyez sur Entrée pour réessayer."
    dmp.retrieve_gate.set()

    dmp.find_gate = threading.Event()
    window.act_refresh.trigger()
    page = window.workspace.documents_pane.list_page
    assert page.loading_label.isVisible()
    op = only_running(window, "Actualisation de la liste des documents")
    with qtbot.waitSignal(window.consultation.loadingChanged):
        window.runner.cancel(op)
    assert not page.loading_label.isVisible() and not window.consultation.loading
    assert "annulée" in page.notice_label.text()
    assert len(shown_ids(window)) == 5  # the list in memory stays
    dmp.find_gate.set()
    dmp.find_gate = None
    with qtbot.waitSignal(window.consultation.documentsReady, timeout=5000):
        window.act_refresh.trigger()  # a new connection, and it works
    assert len(dmp.clients) == 3  # each cancellation closed the connection in use


def test_documents_show_even_without_a_keyring_for_the_last_seen_state(
    qtbot: QtBot,
    make_window: WindowFactory,
    settings: Settings,
    fake_cards: FakeCardManager,
    dmp: ConsultationDmp,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from dmp_desktop.services import consultation
    from dmp_desktop.storage.secure import KeyUnavailableError

    def no_keyring(_settings: Settings) -> object:
        raise KeyUnavailableError()

    monkeypatch.setattr(consultation, "_open_last_seen", no_keyring)
    from dmp_desktop.services import essentials

    monkeypatch.setattr(essentials, "_cache_store", no_keyring)  # « L'essentiel » has none either
    window = open_window(qtbot, make_window, settings, fake_cards, dmp)
    check_and_list(qtbot, window, AUTHORISED)
    page = window.workspace.documents_pane.list_page
    assert len(shown_ids(window)) == 5
    assert page.notice_label.property("tone") == "warning"
    assert page.notice_label.text().startswith(
        "⚠ Les nouveautés depuis votre dernière consultation ne peuvent pas être suivies : "
        "Aucun trousseau de clés système"
    )
    assert not (Path(settings.data_dir) / "state").exists()


def test_a_list_is_merged_and_its_news_decided_off_the_ui_thread(
    qtbot: QtBot, window: MainWindow, dmp: ConsultationDmp, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A record of thousands of documents: every loop over its entries (de-duplication,
    # what changed, what is new) runs on the worker thread, never on the UI thread.
    from dmp_desktop.services import consultation

    threads: list[threading.Thread] = []
    authored_by = consultation._authored_by

    def spy(*args: object, **kwargs: object) -> bool:
        threads.append(threading.current_thread())
        return authored_by(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(consultation, "_authored_by", spy)
    check_and_list(qtbot, window, AUTHORISED)
    assert len(shown_ids(window)) == 5
    assert threads and threading.main_thread() not in threads
    threads.clear()
    dmp.add(AUTHORISED, entry("1.2.250.1.999.3.1", "Échographie", days_ago=1), b"%PDF-1.4")
    with qtbot.waitSignal(window.consultation.documentsReady, timeout=5000):
        qtbot.keyClick(table(window), Qt.Key.Key_F5)  # a refresh too
    assert threads and threading.main_thread() not in threads
    assert window.workspace.documents_pane.list_page.model.new_ids == {"1.2.250.1.999.3.1"}
