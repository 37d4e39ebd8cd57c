"""More of a doctor's day in the real window, on the SoftHSM card and the training host over real
mutual TLS (the flows the other end-to-end UI tests do not walk):

- a wrong PIN on the real card: the card's own answer, « il vous reste 2 essais », in the
  next PIN dialog; the right PIN then logs in;
- a document's life from the list: its visibility changed, archived (gone from the usual
  list, there with « archivés »), brought back — each time as the host records it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from dmp_desktop.domain.document import DocumentEntry, DocumentStatus
from dmp_desktop.ui.main_window import MainWindow
from dmp_sandbox.demo import demo_patients
from dmp_sandbox.server import RunningHost
from dmp_sandbox.store import DocumentRecord
from tests.ui.conftest import HostWindow, log_in
from tests.ui.test_upload_support import answer

pytestmark = pytest.mark.e2e

PATIENTS = {p.key: p for p in demo_patients()}
LEA = PATIENTS["actif-autorise"]  # Dr Durand authorised, médecin traitant
CERTIFICATE = "Certificat médical de non contre-indication à la course à pied"  # by Dr Durand
TIMEOUT = 20000


@pytest.fixture
def window(host_window: HostWindow, tmp_path: Path) -> MainWindow:
    return host_window((1600, 950), data_dir=tmp_path / "data")


def open_lea(qtbot: QtBot, window: MainWindow) -> None:
    edit = window.workspace.patient_pane.ins_edit
    qtbot.keyClicks(edit, LEA.ins.value)
    with qtbot.waitSignal(window.consultation.documentsReady, timeout=TIMEOUT):
        qtbot.keyClick(edit, Qt.Key.Key_Return)


def listed(window: MainWindow, unique_id: str) -> DocumentEntry | None:
    page = window.workspace.documents_pane.list_page
    return page.proxy.entry_at(page.proxy.index_of(unique_id))


def select_title(window: MainWindow, title: str) -> DocumentEntry:
    pane = window.workspace.documents_pane
    page = pane.list_page
    for row in range(page.proxy.rowCount()):
        index = page.proxy.index(row, 0)
        entry = page.proxy.entry_at(index)
        if entry is not None and entry.title == title:
            pane.table.setCurrentIndex(index)
            current = page.current_entry()
            assert current is not None and current.unique_id == entry.unique_id
            return current
    raise AssertionError(f"not listed: {title}")


def select(window: MainWindow, unique_id: str) -> None:
    pane = window.workspace.documents_pane
    index = pane.list_page.proxy.index_of(unique_id)
    assert index.isValid()
    pane.table.setCurrentIndex(index)


def host_record(host: RunningHost, unique_id: str) -> DocumentRecord:
    with host.store.session() as session:
        record = session.query(DocumentRecord).filter_by(unique_id=unique_id).one()
        session.expunge(record)
        return record


def test_a_wrong_pin_on_the_real_card_then_the_right_one(qtbot: QtBot, window: MainWindow) -> None:
    service = window.card_service
    log_in_failed: list[str] = []
    service.loginFailed.connect(log_in_failed.append)
    screen = window.card_screen
    model = screen.model
    qtbot.waitUntil(
        lambda: any("CPS4-MARTIN" in model.data(model.index(r, 0)) for r in range(model.rowCount()))
    )
    row = next(r for r in range(model.rowCount()) if "CPS4-MARTIN" in model.data(model.index(r, 0)))
    screen.card_list.setCurrentIndex(model.index(row, 0))
    with qtbot.waitSignal(service.pinRequested, timeout=10000):
        qtbot.keyClick(screen.card_list, Qt.Key.Key_Return)
    dialog = window.pin_dialog
    assert dialog is not None
    qtbot.keyClicks(dialog.pin_edit, "9999")
    with qtbot.waitSignal(service.pinRequested, timeout=10000) as asked_again:
        qtbot.keyClick(dialog.pin_edit, Qt.Key.Key_Return)
    assert asked_again.args[1] == 2  # the card's own counter
    assert log_in_failed == ["Code PIN incorrect. Il vous reste 2 essais."]
    again = window.pin_dialog
    assert again is not None and again is not dialog
    assert "Il vous reste 2 essais" in again.error_label.text()
    assert "Essais restants : 2 sur 3" in again.tries_label.text()
    qtbot.keyClicks(again.pin_edit, "4321")
    with qtbot.waitSignal(service.loggedIn, timeout=10000) as logged:
        qtbot.keyClick(again.pin_edit, Qt.Key.Key_Return)
    assert logged.args[0].family_name.upper() == "MARTIN"


def test_visibility_archive_and_back_from_the_list(
    qtbot: QtBot, window: MainWindow, training_host: RunningHost
) -> None:
    log_in(qtbot, window)
    open_lea(qtbot, window)
    actions = window.alimentation
    changed = actions.service.changeSucceeded
    entry = select_title(window, CERTIFICATE)
    assert not entry.invisible_to_patient

    # Visibility: hidden from the patient (as the doctor answers the question).
    dialog = actions.request_visibility()
    assert dialog is not None
    answer(dialog, False, True, False)
    with qtbot.waitSignal(changed, timeout=TIMEOUT):
        assert dialog.try_accept()
    qtbot.waitUntil(
        lambda: (e := listed(window, entry.unique_id)) is not None and e.invisible_to_patient,
        timeout=TIMEOUT,
    )
    codes = {c["code"] for c in host_record(training_host, entry.unique_id).confidentiality}
    assert "INVISIBLE_PATIENT" in codes

    # Archived: confirmed first, then gone from the usual list, there with « archivés ».
    select(window, entry.unique_id)
    box = actions.request_archive()
    assert box is not None and f"« {CERTIFICATE} »" in box.text()
    archive = next(b for b in box.buttons() if b.text() == "&Archiver le document")
    with qtbot.waitSignal(changed, timeout=TIMEOUT):
        archive.click()
    qtbot.waitUntil(lambda: listed(window, entry.unique_id) is None, timeout=TIMEOUT)
    assert host_record(training_host, entry.unique_id).status.endswith(":Archived")
    window.workspace.documents_pane.list_page.archived_check.setChecked(True)
    qtbot.waitUntil(lambda: listed(window, entry.unique_id) is not None, timeout=TIMEOUT)
    archived = listed(window, entry.unique_id)
    assert archived is not None and archived.status is DocumentStatus.ARCHIVED

    # Brought back (« Désarchiver »): in the usual list again.
    select(window, entry.unique_id)
    with qtbot.waitSignal(changed, timeout=TIMEOUT):
        assert actions.request_unarchive()
    assert host_record(training_host, entry.unique_id).status.endswith(":Approved")
    window.workspace.documents_pane.list_page.archived_check.setChecked(False)
    qtbot.waitUntil(
        lambda: (
            (e := listed(window, entry.unique_id)) is not None
            and e.status is DocumentStatus.APPROVED
        ),
        timeout=TIMEOUT,
    )
