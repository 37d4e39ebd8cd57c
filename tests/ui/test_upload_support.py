"""A stub DMP that also takes uploads and changes, for the alimentation window tests.

It extends the consultation stub: an upload (the real outbox builds the real
CDA and submission) lands in the patient's documents, so that the list shows
it and it opens; a replacement makes the old one obsolete; visibility,
archive and delete change the stored entry. It can hold an upload at a gate
(progress, cancel), refuse one (a DMP error), or store it and lose the answer
(a state the real host only shows with a broken connection).
"""

from __future__ import annotations

import dataclasses
import threading
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, Qt
from PySide6.QtGui import QColor, QImage

from dmp_desktop.dmp import iti41, rim
from dmp_desktop.domain.document import (
    Author,
    Code,
    DocumentEntry,
    DocumentStatus,
)
from dmp_desktop.domain.patient import Ins
from dmp_desktop.errors import DmpDesktopError, TimeoutError_
from dmp_desktop.settings import Settings
from tests.ui.consultation_fakes import (
    AUTHORISED,
    REPOSITORY,
    ConsultationClient,
    ConsultationDmp,
)
from tests.ui.fakes import ui_settings

if TYPE_CHECKING:
    from pytestqt.qtbot import QtBot

    from dmp_desktop.ui.main_window import MainWindow
    from tests.ui.conftest import WindowFactory
    from tests.ui.fakes import FakeCardManager

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def jpeg_bytes() -> bytes:
    image = QImage(40, 30, QImage.Format.Format_RGB32)
    image.fill(QColor("#4080c0"))
    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "JPEG")
    return bytes(QByteArray(buffer.data()).data())


def write(tmp: Path, name: str, data: bytes) -> Path:
    path = tmp / name
    path.write_bytes(data)
    return path


class AlimentationClient(ConsultationClient):
    owner: AlimentationDmp

    @property
    def settings(self) -> Settings:
        return self.owner.settings

    @property
    def lps_oid(self) -> str:
        return "2.25.1234"

    def author_values(self) -> rim.AuthorValues:
        p = self.session.practitioner  # type: ignore[attr-defined]
        return rim.AuthorValues(person=rim.xcn(p.national_id, p.family_name, p.given_name))

    def upload_document(
        self, submission: iti41.Submission, signer: object, *, signature: bytes | None = None
    ) -> str:
        owner = self.owner
        owner.signatures.append(signature)  # made beforehand by the professional (parapheur)
        owner.upload_threads.append(threading.current_thread())
        if owner.upload_gate is not None:
            owner.upload_gate.wait(10)
        if owner.upload_error is not None:
            raise owner.upload_error
        meta = submission.document
        practitioner = self.session.practitioner  # type: ignore[attr-defined]
        entry = DocumentEntry(
            entry_uuid=f"urn:uuid:{uuid.uuid4()}",
            unique_id=meta.unique_id,
            repository_id=REPOSITORY,
            patient=meta.patient,
            title=meta.title,
            type_code=meta.type_code,
            class_code=meta.class_code,
            format_code=meta.format_code,
            creation_time=meta.creation_time,
            service_start=datetime.combine(meta.service_start, datetime.min.time(), UTC)
            if meta.service_start
            else None,
            submission_time=datetime.now(UTC),
            authors=(
                Author(
                    national_id=practitioner.national_id,
                    family_name=practitioner.family_name,
                    given_name=practitioner.given_name,
                    role=practitioner.profession,
                ),
            ),
            confidentiality=meta.confidentiality,
        )
        if submission.replaces_entry_uuid:
            for old, content in list(owner.patients[meta.patient.value].documents.values()):
                if old.entry_uuid == submission.replaces_entry_uuid:
                    owner.add(
                        meta.patient,
                        dataclasses.replace(old, status=DocumentStatus.DEPRECATED),
                        content,
                    )
        owner.add(meta.patient, entry, submission.content)
        owner.uploads.append(submission)
        if owner.lose_answer:
            owner.lose_answer = False
            raise TimeoutError_()
        return meta.unique_id

    def replace_document(
        self,
        old: DocumentEntry,
        submission: iti41.Submission,
        signer: object,
        *,
        signature: bytes | None = None,
    ) -> str:
        submission = dataclasses.replace(submission, replaces_entry_uuid=old.entry_uuid)
        return self.upload_document(submission, signer, signature=signature)

    def find_by_unique_id(
        self, patient: Ins, unique_id: str, *, type_code: Code | None = None
    ) -> DocumentEntry | None:
        self.owner.lookups.append(unique_id)
        found = self.owner.patients[patient.value].documents.get(unique_id)
        return found[0] if found is not None else None

    def _store(self, entry: DocumentEntry) -> DocumentEntry:
        record = self.owner.patients[entry.patient.value]
        _old, content = record.documents[entry.unique_id]
        record.documents[entry.unique_id] = (entry, content)
        return entry

    def _check(self, action: str) -> None:
        self.owner.changes.append((action, threading.current_thread()))
        if self.owner.change_gate is not None:
            self.owner.change_gate.wait(10)
        if self.owner.change_error is not None:
            raise self.owner.change_error

    def update_confidentiality(
        self,
        entry: DocumentEntry,
        *,
        masked: bool,
        invisible_patient: bool,
        invisible_legal_reps: bool,
    ) -> DocumentEntry:
        self._check("visibility")
        codes = iti41.confidentiality_codes(
            masked=masked,
            invisible_patient=invisible_patient,
            invisible_legal_reps=invisible_legal_reps,
        )
        return self._store(dataclasses.replace(entry, confidentiality=codes))

    def archive_document(self, entry: DocumentEntry) -> DocumentEntry:
        self._check("archive")
        return self._store(dataclasses.replace(entry, status=DocumentStatus.ARCHIVED))

    def unarchive_document(self, entry: DocumentEntry) -> DocumentEntry:
        self._check("unarchive")
        return self._store(dataclasses.replace(entry, status=DocumentStatus.APPROVED))

    def delete_document(self, entry: DocumentEntry) -> DocumentEntry:
        self._check("delete")
        self.owner.remove(entry.patient, entry.unique_id)
        return dataclasses.replace(entry, status=DocumentStatus.DELETED)


class AlimentationDmp(ConsultationDmp):
    def __init__(self, settings: Settings) -> None:
        super().__init__()
        self.settings = settings
        self.uploads: list[iti41.Submission] = []
        self.signatures: list[bytes | None] = []
        self.upload_threads: list[threading.Thread] = []
        self.lookups: list[str] = []
        self.changes: list[tuple[str, threading.Thread]] = []
        self.upload_gate: threading.Event | None = None
        self.change_gate: threading.Event | None = None
        self.upload_error: DmpDesktopError | None = None
        self.change_error: DmpDesktopError | None = None
        self.lose_answer = False

    def factory(self, settings: Settings, session: object) -> AlimentationClient:
        self.factory_threads.append(threading.current_thread())
        client = AlimentationClient(self, session)
        self.clients.append(client)
        return client


# -- driving the window ---------------------------------------------------------------------
def drop_files(window: object, *paths: Path) -> bool:
    """Drag files from the file manager and drop them on the patient's view."""
    from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
    from PySide6.QtGui import QDragEnterEvent, QDropEvent
    from PySide6.QtWidgets import QApplication

    target = window.workspace  # type: ignore[attr-defined]
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    centre = QPoint(target.width() // 2, target.height() // 2)
    enter = QDragEnterEvent(
        centre,
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(target, enter)
    if not enter.isAccepted():
        return False
    event = QDropEvent(
        QPointF(centre),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(target, event)
    wait_file_read(window)
    return True


def wait_file_read(window: object, timeout_ms: int = 10000) -> None:
    """The dropped file is read and checked off the UI thread: wait until it is done."""
    from PySide6.QtTest import QTest

    actions = window.alimentation  # type: ignore[attr-defined]
    waited = 0
    while actions.reading_file and waited < timeout_ms:
        QTest.qWait(5)
        waited += 5
    assert not actions.reading_file, "the file was not read in time"


def choose_type(qtbot: object, dialog: object, words: str, row: int = 0) -> None:
    """Type a few words in the type field and pick a suggestion with the keyboard."""
    from PySide6.QtCore import Qt

    picker = dialog.type_picker  # type: ignore[attr-defined]
    picker.edit.setFocus()
    picker.edit.selectAll()
    qtbot.keyClicks(picker.edit, words)  # type: ignore[attr-defined]
    popup = picker.completer_.popup()
    qtbot.waitUntil(popup.isVisible)  # type: ignore[attr-defined]
    for _ in range(row + 1):
        qtbot.keyClick(popup, Qt.Key.Key_Down)  # type: ignore[attr-defined]
    qtbot.keyClick(popup, Qt.Key.Key_Return)  # type: ignore[attr-defined]


def answer(dialog: object, masked: bool, patient: bool, legal: bool) -> None:
    choices = dialog.choices  # type: ignore[attr-defined]
    for key, value in (
        ("masked", masked),
        ("invisible_patient", patient),
        ("invisible_legal_reps", legal),
    ):
        (choices.yes if value else choices.no)[key].click()


def alimentation_settings(tmp_path: Path) -> Settings:
    """Window settings with a data folder and a known structure (the upload needs one)."""
    return dataclasses.replace(
        ui_settings(),
        data_dir=str(tmp_path / "data"),
        structure_id="10B0012345",
        extra={"structure_name": "Cabinet médical des Tilleuls"},
    )


def log_in(qtbot: QtBot, window: MainWindow, pin: str = "1234") -> None:
    qtbot.waitUntil(lambda: window.pin_dialog is not None and window.pin_dialog.isVisible())
    dialog = window.pin_dialog
    assert dialog is not None
    qtbot.keyClicks(dialog.pin_edit, pin)
    with qtbot.waitSignal(window.card_service.loggedIn):
        qtbot.keyClick(dialog.pin_edit, Qt.Key.Key_Return)


def check(qtbot: QtBot, window: MainWindow, ins: Ins, *, listed: bool = True) -> None:
    edit = window.workspace.patient_pane.ins_edit
    edit.setText("")
    qtbot.keyClicks(edit, ins.value)
    signal = window.consultation.documentsReady if listed else window.dmp_service.statusReady
    with qtbot.waitSignal(signal, timeout=5000):
        qtbot.keyClick(edit, Qt.Key.Key_Return)


def ready_window(
    qtbot: QtBot,
    make_window: WindowFactory,
    settings: Settings,
    cards: FakeCardManager,
    dmp: AlimentationDmp,
    ins: Ins = AUTHORISED,
) -> MainWindow:
    window = make_window(settings, cards, dmp)
    log_in(qtbot, window)
    check(qtbot, window, ins)
    return window
