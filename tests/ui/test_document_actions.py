"""What one may do to a document of the list, with a stub DMP: the context menu and the
Documents menu follow the DMP's rules (author, médecin traitant) and say why an action is
not available; replace (RPLC), mask / unmask, visibility, archive, delete (confirmed,
naming the document) each run off the UI thread and refresh the list. A secretary's
card never lists documents but can upload. The VSM editor's "Envoyer au DMP"."""

from __future__ import annotations

import re
import threading
from dataclasses import replace
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget
from pytestqt.qtbot import QtBot

from dmp_desktop.dmp import iti41
from dmp_desktop.domain.document import DocumentEntry, DocumentStatus
from dmp_desktop.domain.patient import Ins
from dmp_desktop.domain.practitioner import Practitioner
from dmp_desktop.errors import DmpServiceError
from dmp_desktop.services.alimentation import Visibility
from dmp_desktop.services.consultation import PaneState
from dmp_desktop.settings import Settings
from dmp_desktop.ui.main_window import MainWindow
from tests.support import ui_truth
from tests.ui.conftest import WindowFactory, visible_texts
from tests.ui.consultation_fakes import AUTHORISED, NOT_TREATING
from tests.ui.fakes import FakeCard, FakeCardManager
from tests.ui.test_upload_support import (
    PDF,
    AlimentationDmp,
    alimentation_settings,
    answer,
    check,
    drop_files,
    log_in,
    ready_window,
    wait_file_read,
    write,
)

MINE = "1.2.250.1.999.1.2"  # "Lettre de liaison", Dr DURAND
THEIRS = "1.2.250.1.999.1.1"  # "Consultation de cardiologie", Dr BONNET
SECRETARY = Practitioner(
    national_id="3499700433153007/SEC0001",
    family_name="BERNARD",
    given_name="SOPHIE",
    profession="Secrétaire médicale",
    profession_code=None,
    structure_id="499700433153007",
    structure_name="Cabinet médical des Tilleuls",
)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return alimentation_settings(tmp_path)


@pytest.fixture
def dmp(settings: Settings) -> AlimentationDmp:
    return AlimentationDmp(settings)


def select(window: MainWindow, unique_id: str) -> DocumentEntry:
    pane = window.workspace.documents_pane
    index = pane.list_page.proxy.index_of(unique_id)
    assert index.isValid(), unique_id
    pane.table.setCurrentIndex(index)
    entry = pane.list_page.current_entry()
    assert entry is not None
    return entry


def stored(dmp: AlimentationDmp, unique_id: str, ins: Ins = AUTHORISED) -> DocumentEntry:
    return dmp.patients[ins.value].documents[unique_id][0]


@pytest.fixture
def window(
    qtbot: QtBot,
    make_window: WindowFactory,
    settings: Settings,
    fake_cards: FakeCardManager,
    dmp: AlimentationDmp,
) -> MainWindow:
    """The window over the fake DMP, logged in, the authorised patient checked."""
    return ready_window(qtbot, make_window, settings, fake_cards, dmp)


def test_the_context_menu_follows_the_rules_and_says_why(
    qtbot: QtBot,
    window: MainWindow,
    dmp: AlimentationDmp,
) -> None:
    actions = window.alimentation
    table = window.workspace.documents_pane.table

    # My own document: everything.
    index = window.workspace.documents_pane.list_page.proxy.index_of(MINE)
    menu = actions.show_context_menu(table.visualRect(index).center())
    assert menu is not None
    texts = [a.text() for a in menu.actions() if not a.isSeparator()]
    assert texts == [
        "&Remplacer par une nouvelle version…",
        "&Masquer aux professionnels…",  # each asks for a confirmation
        "Modifier la &visibilité…",
        "Arc&hiver…",
        "&Supprimer…",
        "&Envoyer un document…",
    ]
    assert all(a.isEnabled() for a in menu.actions())
    menu.close()

    # Another doctor's document, and I am the médecin traitant: not replace nor delete.
    select(window, THEIRS)
    actions.update_actions()
    assert not actions.act_replace.isEnabled()
    assert actions.act_replace.toolTip() == "Seul l'auteur d'un document peut le remplacer."
    assert not actions.act_delete.isEnabled()
    assert actions.act_delete.toolTip() == "Seul l'auteur d'un document peut le supprimer."
    assert actions.act_mask.isEnabled() and actions.act_archive.isEnabled()

    # Not the médecin traitant: only what the author may do, and it says so.
    check(qtbot, window, NOT_TREATING)
    select(window, THEIRS)
    actions.update_actions()
    for action in (actions.act_mask, actions.act_visibility, actions.act_archive):
        assert not action.isEnabled()
        assert action.toolTip() == (
            "Réservé à l'auteur du document et au médecin traitant DMP du patient."
        )
    # Refused actions do nothing, with the reason next to the list.
    assert not actions.set_masked(True)
    assert "Réservé à l'auteur" in window.workspace.documents_pane.list_page.notice_label.text()
    assert dmp.changes == []


def test_mask_then_unmask_my_document(
    qtbot: QtBot,
    window: MainWindow,
    dmp: AlimentationDmp,
) -> None:
    actions = window.alimentation
    select(window, MINE)
    actions.update_actions()
    assert actions.act_mask.isVisible() and not actions.act_unmask.isVisible()
    # Masking asks first, naming the document; « Annuler » (the default) changes nothing.
    box = actions.request_mask()
    assert isinstance(box, QMessageBox)
    assert box.text() == "Masquer « Lettre de liaison » aux professionnels ?"
    assert box.defaultButton() is not None and box.defaultButton().text() == "Annuler"
    box.defaultButton().click()
    assert dmp.changes == [] and not stored(dmp, MINE).masked_from_professionals
    actions.act_mask.trigger()
    box = actions.confirm_box
    assert isinstance(box, QMessageBox)
    confirm = next(b for b in box.buttons() if b.text() == "&Masquer le document")
    with qtbot.waitSignal(window.consultation.documentsReady, timeout=5000):
        confirm.click()
    assert dmp.changes[0][0] == "visibility"
    assert dmp.changes[0][1] is not threading.main_thread()
    assert stored(dmp, MINE).masked_from_professionals
    notice = window.workspace.documents_pane.list_page.notice_label.text()
    assert "Visibilité de « Lettre de liaison » : masqué aux professionnels" in notice

    # Masked documents are listed for the médecin traitant who asks for them.
    window.workspace.documents_pane.list_page.masked_check.setChecked(True)
    qtbot.waitUntil(
        lambda: window.workspace.documents_pane.list_page.proxy.index_of(MINE).isValid(),
        timeout=5000,
    )
    select(window, MINE)
    actions.update_actions()
    assert actions.act_unmask.isVisible() and not actions.act_mask.isVisible()
    with qtbot.waitSignal(window.consultation.documentsReady, timeout=5000):
        actions.act_unmask.trigger()
    assert not stored(dmp, MINE).masked_from_professionals


def test_change_the_visibility_with_the_three_questions(
    qtbot: QtBot,
    window: MainWindow,
    dmp: AlimentationDmp,
) -> None:
    select(window, MINE)
    dialog = window.alimentation.request_visibility()
    assert dialog is not None
    # The current visibility is shown (a document already in the DMP has one).
    assert dialog.choices.no["masked"].isChecked()
    assert dialog.choices.no["invisible_patient"].isChecked()
    dialog.choices.yes["masked"].click()
    dialog.choices.yes["invisible_patient"].click()
    assert not dialog.ok_button.isEnabled()
    assert "à la fois masqué" in dialog.choices.message.text()
    dialog.choices.no["masked"].click()
    dialog.choices.yes["invisible_legal_reps"].click()
    with qtbot.waitSignal(window.consultation.documentsReady, timeout=5000):
        dialog.ok_button.click()
    entry = stored(dmp, MINE)
    assert entry.invisible_to_patient and entry.invisible_to_legal_reps
    assert not entry.masked_from_professionals


def test_archive_then_delete_with_a_confirmation_naming_the_document(
    qtbot: QtBot,
    window: MainWindow,
    dmp: AlimentationDmp,
) -> None:
    actions = window.alimentation
    select(window, THEIRS)  # médecin traitant: may archive another doctor's document
    box = actions.request_archive()
    assert isinstance(box, QMessageBox)
    assert box.text() == "Archiver « Consultation de cardiologie » ?"
    assert "désarchiver" in box.informativeText()
    archive = next(b for b in box.buttons() if b.text() == "&Archiver le document")
    with qtbot.waitSignal(window.consultation.documentsReady, timeout=5000):
        archive.click()
    assert stored(dmp, THEIRS).status is DocumentStatus.ARCHIVED
    page = window.workspace.documents_pane.list_page
    assert not page.proxy.index_of(THEIRS).isValid()
    assert "est archivé" in page.notice_label.text()

    # « Désarchiver »: shown for an archived document, it comes back without a question.
    page.archived_check.setChecked(True)
    qtbot.waitUntil(lambda: page.proxy.index_of(THEIRS).isValid(), timeout=5000)
    select(window, THEIRS)
    actions.update_actions()
    assert actions.act_unarchive.isVisible() and not actions.act_archive.isVisible()
    with qtbot.waitSignal(window.consultation.documentsReady, timeout=5000):
        actions.act_unarchive.trigger()
    assert stored(dmp, THEIRS).status is DocumentStatus.APPROVED
    assert "de nouveau actif" in page.notice_label.text()

    select(window, MINE)
    box = actions.request_delete()
    assert isinstance(box, QMessageBox)
    assert box.text() == "Supprimer définitivement « Lettre de liaison » du DMP du patient ?"
    cancel = next(b for b in box.buttons() if b.text() == "Annuler")
    assert box.defaultButton() is cancel
    cancel.click()
    assert MINE in dmp.patients[AUTHORISED.value].documents

    box = actions.request_delete()
    assert box is not None
    delete = next(b for b in box.buttons() if b.text() == "&Supprimer le document")
    with qtbot.waitSignal(window.consultation.documentsReady, timeout=5000):
        delete.click()
    assert MINE not in dmp.patients[AUTHORISED.value].documents
    assert not window.workspace.documents_pane.list_page.proxy.index_of(MINE).isValid()
    assert "a été supprimé du DMP" in window.workspace.documents_pane.list_page.notice_label.text()


def test_a_refused_change_says_why(
    qtbot: QtBot,
    window: MainWindow,
    dmp: AlimentationDmp,
) -> None:
    dmp.change_error = DmpServiceError("DMPAccessDenied")
    select(window, MINE)
    box = window.alimentation.request_archive()
    assert box is not None
    archive = next(b for b in box.buttons() if b.text() == "&Archiver le document")
    with qtbot.waitSignal(window.alimentation.service.changeFailed, timeout=5000) as failed:
        archive.click()
    assert failed.args[0] == "archive"
    notice = window.workspace.documents_pane.list_page.notice_label
    assert notice.text().startswith("✖ ") and "refusé" in notice.text()


def test_replace_my_document_with_a_new_version(
    qtbot: QtBot,
    window: MainWindow,
    dmp: AlimentationDmp,
    tmp_path: Path,
) -> None:
    old = select(window, MINE)
    qtbot.keyClick(
        window,
        Qt.Key.Key_U,
        Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier,
    )
    chooser = window.alimentation.file_dialog
    assert chooser is not None
    assert chooser.windowTitle() == "Nouvelle version de « Lettre de liaison »"
    chooser.fileSelected.emit(str(write(tmp_path, "lettre-v2.pdf", PDF + b"% v2\n")))
    wait_file_read(window)
    chooser.reject()
    dialog = window.alimentation.upload_dialog
    assert dialog is not None
    assert "Remplacer un document" in dialog.windowTitle()
    assert "Remplace « Lettre de liaison »" in dialog.replaces_label.text()
    assert dialog.title_edit.text() == "Lettre de liaison"
    code = dialog.type_picker.code
    assert code is not None and code.code == "11490-0"
    # The replaced document's visibility is proposed (still shown, and changeable).
    previous = stored(dmp, MINE)
    assert dialog.choices.visibility() == Visibility(
        previous.masked_from_professionals,
        previous.invisible_to_patient,
        previous.invisible_to_legal_reps,
    )
    answer(dialog, False, False, False)
    with qtbot.waitSignal(window.alimentation.service.uploadSucceeded, timeout=5000):
        dialog.send_button.click()
    submission = dmp.uploads[0]
    assert submission.replaces_entry_uuid == old.entry_uuid
    assert stored(dmp, MINE).status is DocumentStatus.DEPRECATED
    new_id = submission.document.unique_id
    qtbot.waitUntil(
        lambda: window.workspace.documents_pane.list_page.proxy.index_of(new_id).isValid(),
        timeout=5000,
    )
    assert not window.workspace.documents_pane.list_page.proxy.index_of(MINE).isValid()

    # Another doctor's document cannot be replaced.
    select(window, THEIRS)
    assert window.alimentation.request_replace() is None


def test_a_secretary_uploads_but_never_lists(
    qtbot: QtBot,
    make_window: WindowFactory,
    settings: Settings,
    dmp: AlimentationDmp,
    tmp_path: Path,
) -> None:
    cards = FakeCardManager([FakeCard("CPE-BERNARD", SECRETARY, "1111")])
    try:
        window = make_window(settings, cards, dmp)
        log_in(qtbot, window, "1111")
        check(qtbot, window, AUTHORISED, listed=False)
        assert window.consultation.state is PaneState.STAFF
        pane = window.workspace.documents_pane
        box = window.alimentation.staff_box
        assert pane.stack.currentWidget() is pane.message_page
        assert box.isVisible()
        assert box.upload_button.isVisible() and box.outbox_button.isVisible()
        assert dmp.finds == [] and dmp.retrievals == []
        for action in window.alimentation.entry_actions.values():
            assert not action.isEnabled()

        drop_files(window, write(tmp_path, "courrier.pdf", PDF))
        dialog = window.alimentation.upload_dialog
        assert dialog is not None
        assert "(personnel de structure)" in dialog.author_label.text()
        dialog.reject()
        box.upload_button.click()
        assert window.alimentation.file_dialog is not None
        window.alimentation.file_dialog.reject()
        box.outbox_button.click()
        assert window.alimentation.panel is not None and window.alimentation.panel.isVisible()
        assert dmp.finds == []
    finally:
        cards.close()


def test_the_documents_menu_holds_the_actions(
    qtbot: QtBot,
    window: MainWindow,
) -> None:
    menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Documents")
    texts = [a.text() for a in menu.actions()]
    assert texts[:2] == ["&Envoyer un document…", "Envois en a&ttente…"]
    assert "&Supprimer…" in texts and "&Démasquer" in texts
    assert menu.toolTipsVisible()
    assert window.alimentation.act_upload.shortcut().toString() == "Ctrl+U"
    # No document chosen: disabled, saying why.
    window.workspace.documents_pane.table.clearSelection()
    window.workspace.documents_pane.table.setCurrentIndex(
        window.workspace.documents_pane.list_page.proxy.index(-1, -1)
    )
    window.alimentation.update_actions()
    assert not window.alimentation.act_delete.isEnabled()
    assert window.alimentation.act_delete.toolTip() == (
        "Choisissez d'abord un document dans la liste."
    )
    # Right-click on an empty spot of the list still offers "Envoyer un document".
    menu2 = window.alimentation.show_context_menu(QPoint(5, 2000))
    assert menu2 is not None
    assert menu2.actions()[-1] is window.alimentation.act_upload
    menu2.close()


def test_the_card_leaving_closes_every_dialog(
    qtbot: QtBot,
    window: MainWindow,
    fake_cards: FakeCardManager,
    dmp: AlimentationDmp,
) -> None:
    select(window, MINE)
    box = window.alimentation.request_delete()
    assert box is not None
    with qtbot.waitSignal(window.card_service.sessionEnded, timeout=5000):
        fake_cards.remove(1)
        window.card_service.poll_now()
    assert window.alimentation.confirm_box is None
    texts = "\n".join(visible_texts(window))
    assert "Lettre de liaison" not in texts and "LEGRAND" not in texts
    assert dmp.changes == []


def test_the_vsm_editor_sends_the_summary_replacing_my_previous_one(
    qtbot: QtBot,
    make_window: WindowFactory,
    settings: Settings,
    fake_cards: FakeCardManager,
    dmp: AlimentationDmp,
) -> None:
    from dmp_desktop import xmlsafe
    from dmp_desktop.alimentation.build import version_of
    from dmp_desktop.cda.header import read_header

    window = ready_window(qtbot, make_window, settings, fake_cards, dmp)
    documents = dmp.patients[AUTHORISED.value].documents
    previous = stored(dmp, "1.2.250.1.999.1.3")  # my VSM, already in the DMP: masked
    masked = iti41.confidentiality_codes(
        masked=True, invisible_patient=False, invisible_legal_reps=False
    )
    previous = replace(previous, confidentiality=masked)
    documents[previous.unique_id] = (previous, *documents[previous.unique_id][1:])
    old_set = version_of(dmp.patients[AUTHORISED.value].documents[previous.unique_id][1])
    assert old_set is not None
    window.vsm.fetch_latest = lambda _ins: None
    editor = window.vsm.open_editor()
    assert editor is not None
    qtbot.waitUntil(lambda: not editor.fetching)
    editor.send_button.click()  # not ready yet: the birthplace is missing
    box = window.alimentation.message_box
    assert box is not None and "points à corriger" in box.text()
    box.close()
    editor.header_box.birthplace.setText("75123")
    editor._allergy_box().none_known.setChecked(True)

    editor.send_button.click()
    dialog = window.alimentation.upload_dialog
    assert dialog is not None and dialog.vsm
    code = dialog.type_picker.code
    assert code is not None and code.code == "SYNTH" and not dialog.type_picker.isEnabled()
    assert dialog.title_edit.text() == "Synthèse médicale"
    assert not dialog.objection_button.isVisible()
    # Proposed once found: the answers of my previous VSM, which this one replaces.
    qtbot.waitUntil(lambda: dialog.choices.visibility() is not None, timeout=5000)
    assert dialog.choices.visibility() == Visibility(True, False, False)
    assert "que cet envoi remplace" in dialog.choices.toolTip()
    answer(dialog, False, False, False)  # still the doctor's choice
    with qtbot.waitSignal(window.alimentation.service.uploadSucceeded, timeout=10000):
        dialog.send_button.click()
    sent = dmp.uploads[0]
    assert sent.document.type_code.code == "SYNTH"
    assert sent.document.format_code.code == "urn:asip:ci-sis:vsm:2012"
    assert sent.replaces_entry_uuid == previous.entry_uuid
    header = read_header(xmlsafe.parse(sent.content))
    assert header.set_id == old_set[0] and header.version == old_set[1] + 1
    assert stored(dmp, previous.unique_id).status is DocumentStatus.DEPRECATED


def test_a_late_proposal_never_overrides_an_answer(qtbot: QtBot) -> None:
    from dmp_desktop.ui.upload_dialog import VisibilityChoices

    choices = VisibilityChoices(minor=False)
    qtbot.addWidget(choices)
    choices.no["masked"].setChecked(True)  # the doctor answered one question already
    assert not choices.propose(Visibility(True, True, False))
    assert choices.answer("masked") is False and choices.answer("invisible_patient") is None
    fresh = VisibilityChoices(minor=False)
    qtbot.addWidget(fresh)
    assert fresh.propose(Visibility(True, False, False))
    assert fresh.visibility() == Visibility(True, False, False)


def test_the_drop_box_follows_the_palette(qtbot: QtBot) -> None:
    """The box over the patient's view while a file is dragged: dark in a dark window (it
    stayed light blue), its text readable in both palettes."""
    from dmp_desktop.ui.document_actions import DropOverlay

    app = QApplication.instance()
    assert isinstance(app, QApplication)
    before = app.palette()
    target = QWidget()
    qtbot.addWidget(target)
    target.resize(400, 300)
    overlay = DropOverlay(target)
    try:
        for dark in (True, False):
            app.setPalette(ui_truth.dark_palette() if dark else before)
            QApplication.processEvents()
            overlay.show_over(target, "Déposez le fichier ici")
            sheet = overlay.styleSheet()
            rgba = re.search(r"background:\s*rgba\((\d+), (\d+), (\d+)", sheet)
            fg = re.search(r"(?<![-\w])color:\s*(#[0-9a-fA-F]{6})", sheet)
            assert rgba is not None and fg is not None, sheet
            bg = QColor(*(int(v) for v in rgba.groups()))
            assert (bg.lightness() < 128) == dark, bg.name()
            assert ui_truth.contrast(QColor(fg.group(1)), bg) >= ui_truth.MIN_CONTRAST
    finally:
        app.setPalette(before)
