"""Feeding the DMP end to end: the real window, the SoftHSM card (which signs the
submission), the training host over real mutual TLS. A PDF dropped on Moreau Léa's
record goes through the dialog (type, the three visibility questions) and the outbox,
appears in her list and opens; it is replaced by a new version, masked, then deleted;
the VSM written in the editor is sent and replaces Dr Durand's previous one."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from dmp_desktop.domain.document import DocumentEntry, DocumentStatus
from dmp_desktop.ui.main_window import MainWindow
from dmp_desktop.ui.viewer import MessageTab
from dmp_sandbox.demo import demo_patients
from tests.support.cda_samples import minimal_pdf
from tests.ui.conftest import HostWindow, log_in
from tests.ui.test_upload_support import answer, choose_type, drop_files, wait_file_read, write

pytestmark = pytest.mark.e2e

LEA = next(p for p in demo_patients() if p.key == "actif-autorise")
TIMEOUT = 20000
PDF = minimal_pdf("Compte rendu de consultation (formation)")


@pytest.fixture
def window(host_window: HostWindow) -> MainWindow:
    return host_window((1600, 950))


def listed(window: MainWindow, unique_id: str) -> DocumentEntry | None:
    page = window.workspace.documents_pane.list_page
    return page.proxy.entry_at(page.proxy.index_of(unique_id))


def select(window: MainWindow, unique_id: str) -> DocumentEntry:
    pane = window.workspace.documents_pane
    index = pane.list_page.proxy.index_of(unique_id)
    assert index.isValid()
    pane.table.setCurrentIndex(index)
    entry = pane.list_page.current_entry()
    assert entry is not None
    return entry


def send_dialog(qtbot: QtBot, window: MainWindow, *, replacing: bool = False) -> DocumentEntry:
    """Answer the three questions (all "Non") and send; the entry the DMP registered.

    A new version is proposed the answers of the one it replaces (all "Non" here);
    anything else starts with nothing chosen.
    """
    dialog = window.alimentation.upload_dialog
    assert dialog is not None
    if replacing:  # a VSM's previous one is looked up once the dialog is open
        qtbot.waitUntil(dialog.send_button.isEnabled, timeout=TIMEOUT)
    else:
        assert not dialog.send_button.isEnabled()  # nothing preselected
    answer(dialog, False, False, False)
    with qtbot.waitSignal(window.alimentation.service.uploadSucceeded, timeout=TIMEOUT) as done:
        dialog.send_button.click()
    entry = done.args[1]
    assert isinstance(entry, DocumentEntry)
    qtbot.waitUntil(lambda: listed(window, entry.unique_id) is not None, timeout=TIMEOUT)
    return entry


def test_feed_the_dmp_from_the_window(
    qtbot: QtBot, window: MainWindow, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    log_in(qtbot, window)
    edit = window.workspace.patient_pane.ins_edit
    qtbot.keyClicks(edit, LEA.ins.value)
    with qtbot.waitSignal(window.consultation.documentsReady, timeout=TIMEOUT):
        qtbot.keyClick(edit, Qt.Key.Key_Return)

    # Drop a PDF: type, three answers, send; it is in the list, selected, and opens.
    assert drop_files(window, write(tmp_path, "consultation.pdf", PDF))
    dialog = window.alimentation.upload_dialog
    assert dialog is not None
    assert dialog.patient_label.text() == "MOREAU Léa"
    choose_type(qtbot, dialog, "consultation")
    code = dialog.type_picker.code
    assert code is not None and code.code == "11488-4"
    first = send_dialog(qtbot, window)
    current = window.workspace.documents_pane.list_page.current_entry()
    assert current is not None and current.unique_id == first.unique_id
    assert any(a.national_id == "899700433153" for a in current.authors)
    assert window.alimentation.service.items == []
    with qtbot.waitSignal(window.consultation.documentReady, timeout=TIMEOUT):
        window.workspace.open_document(current)
    tab = window.workspace.viewer.current_tab()
    assert tab is not None and not isinstance(tab, MessageTab)

    # Replace it with a new version (RPLC): the old one is obsolete.
    select(window, first.unique_id)
    window.alimentation.act_replace.trigger()
    chooser = window.alimentation.file_dialog
    assert chooser is not None
    chooser.fileSelected.emit(
        str(
            write(
                tmp_path,
                "consultation-v2.pdf",
                minimal_pdf("Compte rendu de consultation, version 2"),
            )
        )
    )
    wait_file_read(window)
    chooser.reject()
    second = send_dialog(qtbot, window, replacing=True)
    qtbot.waitUntil(lambda: listed(window, first.unique_id) is None, timeout=TIMEOUT)

    # Mask it: it leaves the default list; the médecin traitant sees it with the flag.
    select(window, second.unique_id)
    box = window.alimentation.request_mask()
    assert box is not None and "« " + second.title + " »" in box.text()
    mask = next(b for b in box.buttons() if b.text() == "&Masquer le document")
    with qtbot.waitSignal(window.alimentation.service.changeSucceeded, timeout=TIMEOUT):
        mask.click()
    qtbot.waitUntil(lambda: listed(window, second.unique_id) is None, timeout=TIMEOUT)
    window.workspace.documents_pane.list_page.masked_check.setChecked(True)
    qtbot.waitUntil(lambda: listed(window, second.unique_id) is not None, timeout=TIMEOUT)
    masked = listed(window, second.unique_id)
    assert masked is not None and masked.masked_from_professionals

    # Delete it (confirmed, naming it): gone.
    select(window, second.unique_id)
    box = window.alimentation.request_delete()
    assert box is not None and "« " + second.title + " »" in box.text()
    delete = next(b for b in box.buttons() if b.text() == "&Supprimer le document")
    with qtbot.waitSignal(window.alimentation.service.changeSucceeded, timeout=TIMEOUT):
        delete.click()
    qtbot.waitUntil(lambda: listed(window, second.unique_id) is None, timeout=TIMEOUT)

    # The VSM: prefilled from the DMP, sent, replacing Dr Durand's previous one.
    before = [
        e
        for e in window.workspace.documents_pane.list_page.model.entries
        if e.type_code.code == "SYNTH" and e.status is DocumentStatus.APPROVED
    ]
    window.vsm.act_open.trigger()  # Ctrl+Shift+S
    editor = window.vsm.editor
    assert editor is not None
    qtbot.waitUntil(lambda: not editor.fetching, timeout=TIMEOUT)
    if not editor.header_box.birthplace.text():
        editor.header_box.birthplace.setText("85756")
    if not editor.document_ready():
        editor._allergy_box().none_known.setChecked(True)
    assert editor.document_ready(), editor.problems
    editor.send_button.click()
    dialog = window.alimentation.upload_dialog
    assert dialog is not None and dialog.vsm
    vsm = send_dialog(qtbot, window, replacing=True)  # proposed: the previous VSM's answers
    assert vsm.type_code.code == "SYNTH"
    editor.request_close()
    for old in before:
        if any(a.national_id == "899700433153" for a in old.authors):
            assert listed(window, old.unique_id) is None  # replaced: obsolete

    # Rule 7: no patient, no title in the logs.
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert LEA.ins.value not in logged
    assert LEA.family_name.upper() not in logged.upper()
    assert "consultation.pdf" not in logged
