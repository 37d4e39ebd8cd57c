"""Sending a document from the window, with a stub DMP (the training host is in
test_alimentation_e2e.py): drop a file, check the type, answer the three visibility
questions (never preselected), send; the document appears in the list, selected.
Empty files, other formats, the patient's objection, no qualified INS, no authorisation."""

from __future__ import annotations

import dataclasses
import threading
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog
from pytestqt.qtbot import QtBot

from dmp_desktop.dates import paris_today
from dmp_desktop.domain.dmp_status import DmpStatus
from dmp_desktop.domain.document import Confidentiality
from dmp_desktop.domain.patient import Ins
from dmp_desktop.services.alimentation import birthplace_from_ins
from dmp_desktop.settings import Settings
from dmp_desktop.ui.main_window import MainWindow
from dmp_desktop.ui.upload_dialog import UploadDialog
from tests.ui.conftest import WindowFactory, visible_texts
from tests.ui.consultation_fakes import AUTHORISED, UNAUTHORISED, ConsultationClient
from tests.ui.fakes import FakeCardManager
from tests.ui.test_upload_support import (
    PDF,
    AlimentationDmp,
    alimentation_settings,
    answer,
    check,
    choose_type,
    drop_files,
    jpeg_bytes,
    log_in,
    ready_window,
    wait_file_read,
    write,
)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return alimentation_settings(tmp_path)


@pytest.fixture
def dmp(settings: Settings) -> AlimentationDmp:
    return AlimentationDmp(settings)


def upload_dialog(window: MainWindow) -> UploadDialog:
    dialog = window.alimentation.upload_dialog
    assert dialog is not None and dialog.isVisible()
    return dialog


def shown_titles(window: MainWindow) -> list[str]:
    proxy = window.workspace.documents_pane.list_page.proxy
    titles = []
    for row in range(proxy.rowCount()):
        entry = proxy.entry_at(proxy.index(row, 0))
        assert entry is not None
        titles.append(entry.title)
    return titles


def test_drop_check_answer_send(
    qtbot: QtBot,
    make_window: WindowFactory,
    settings: Settings,
    fake_cards: FakeCardManager,
    dmp: AlimentationDmp,
    tmp_path: Path,
) -> None:
    window = ready_window(qtbot, make_window, settings, fake_cards, dmp)
    assert drop_files(window, write(tmp_path, "cr-consultation.pdf", PDF))
    dialog = upload_dialog(window)

    # Shown, not typed: the patient from the DMP's answer, the author from the card.
    assert dialog.patient_label.text() == "LEGRAND Jeanne"
    assert "née le 12/05/1984" in dialog.patient_details.text()
    assert AUTHORISED.value in dialog.patient_details.text()
    assert dialog.birthplace_edit.text() == birthplace_from_ins(AUTHORISED) == "75123"
    assert dialog.author_label.text().startswith("Dr Marie DURAND")
    assert "cr-consultation.pdf" in dialog.file_label.text()
    assert "document PDF" in dialog.file_label.text()
    assert dialog.date_edit.date().toPython() == paris_today()

    # Nothing preselected: "Envoyer" waits for a type and the three answers.
    assert dialog.type_picker.code is None
    for key in ("masked", "invisible_patient", "invisible_legal_reps"):
        assert not dialog.choices.yes[key].isChecked()
        assert not dialog.choices.no[key].isChecked()
    assert not dialog.send_button.isEnabled()
    assert dialog.hint_label.text() == "Pour envoyer, répondez aux 3 questions de visibilité."

    choose_type(qtbot, dialog, "consultation")
    code = dialog.type_picker.code
    assert code is not None and code.code == "11488-4"
    assert dialog.class_label.text() == "Catégorie : Compte rendu"
    today = f"{paris_today():%d/%m/%Y}"
    assert dialog.title_edit.text() == f"CR ou fiche de consultation ou de visite du {today}"

    dialog.choices.no["masked"].click()
    dialog.choices.no["invisible_patient"].click()
    assert not dialog.send_button.isEnabled()
    assert (
        dialog.hint_label.text() == "Pour envoyer, répondez à la question de visibilité restante."
    )
    dialog.choices.no["invisible_legal_reps"].click()
    assert dialog.send_button.isEnabled()
    assert (
        "ne concerne que les patients mineurs"
        in dialog.findChild(type(dialog.hint_label), "invisible_legal_repsNote").text().lower()
    )

    service = window.alimentation.service
    with qtbot.waitSignal(service.uploadSucceeded, timeout=5000):
        dialog.send_button.click()
    assert window.alimentation.upload_dialog is None
    submission = dmp.uploads[0]
    assert dmp.upload_threads[0] is not threading.main_thread()
    meta = submission.document
    assert meta.patient == AUTHORISED
    assert meta.type_code.code == "11488-4" and meta.class_code.code == "10"
    assert {c.code for c in meta.confidentiality} == {"N"}
    assert meta.title == f"CR ou fiche de consultation ou de visite du {today}"
    assert b"75123" in submission.content  # the birthplace in the CDA header
    # The list is refreshed: the new document is there, selected, marked as mine.
    qtbot.waitUntil(lambda: meta.title in shown_titles(window), timeout=5000)
    current = window.workspace.documents_pane.list_page.current_entry()
    assert current is not None and current.unique_id == meta.unique_id
    notice = window.workspace.documents_pane.list_page.notice_label.text()
    assert "Votre document" in notice and "est enregistré dans le DMP" in notice
    assert window.alimentation.service.items == []
    assert not window.alimentation.indicator.isVisible()
    # It opens.
    with qtbot.waitSignal(window.consultation.documentReady, timeout=5000):
        window.workspace.open_document(current)


def test_the_forbidden_pair_is_refused_next_to_the_questions(
    qtbot: QtBot,
    make_window: WindowFactory,
    settings: Settings,
    fake_cards: FakeCardManager,
    dmp: AlimentationDmp,
    tmp_path: Path,
) -> None:
    window = ready_window(qtbot, make_window, settings, fake_cards, dmp)
    drop_files(window, write(tmp_path, "note.txt", b"Tension 12/8.\n"))
    dialog = upload_dialog(window)
    assert "texte" in dialog.file_label.text()
    choose_type(qtbot, dialog, "11488")
    answer(dialog, True, True, False)
    message = dialog.choices.message
    assert message.isVisible()
    assert "à la fois masqué aux professionnels" in message.text()
    assert not dialog.send_button.isEnabled()
    dialog.choices.no["invisible_patient"].click()
    assert not message.isVisible()
    assert dialog.send_button.isEnabled()
    with qtbot.waitSignal(window.alimentation.service.uploadSucceeded, timeout=5000):
        qtbot.keyClick(dialog.title_edit, Qt.Key.Key_Return)  # Enter sends once ready
    codes = {c.code for c in dmp.uploads[0].document.confidentiality}
    assert Confidentiality.MASKED_PS.value in codes


def test_the_title_follows_the_type_until_typed(
    qtbot: QtBot,
    make_window: WindowFactory,
    settings: Settings,
    fake_cards: FakeCardManager,
    dmp: AlimentationDmp,
    tmp_path: Path,
) -> None:
    window = ready_window(qtbot, make_window, settings, fake_cards, dmp)
    drop_files(window, write(tmp_path, "bio.pdf", PDF))
    dialog = upload_dialog(window)
    choose_type(qtbot, dialog, "examens biologiques")
    assert dialog.title_edit.text().startswith("CR d'examens biologiques du ")
    dialog.title_edit.setFocus()
    dialog.title_edit.selectAll()
    qtbot.keyClicks(dialog.title_edit, "Bilan lipidique")
    choose_type(qtbot, dialog, "compte rendu consultation")
    assert dialog.title_edit.text() == "Bilan lipidique"
    dialog.title_edit.clear()
    qtbot.keyClicks(dialog.title_edit, " ")
    assert "Donnez un titre au document." in dialog.title_message.text()
    answer(dialog, False, False, False)
    assert not dialog.send_button.isEnabled()
    # A word that names nothing leaves the type unchosen, with a message next to it.
    dialog.type_picker.edit.setText("zzzz")
    assert dialog.type_picker.code is None
    assert "Choisissez le type" in dialog.type_message.text()
    dialog.reject()
    assert dmp.uploads == []


def test_an_image_becomes_a_pdf_and_usual_types_come_first(
    qtbot: QtBot,
    make_window: WindowFactory,
    settings: Settings,
    fake_cards: FakeCardManager,
    dmp: AlimentationDmp,
    tmp_path: Path,
) -> None:
    window = ready_window(qtbot, make_window, settings, fake_cards, dmp)
    drop_files(window, write(tmp_path, "ecg.jpg", jpeg_bytes()))
    dialog = upload_dialog(window)
    assert "image JPEG, convertie en PDF à l'envoi" in dialog.file_label.text()
    choose_type(qtbot, dialog, "imagerie")
    chosen = dialog.type_picker.code
    assert chosen is not None
    answer(dialog, False, False, False)
    with qtbot.waitSignal(window.alimentation.service.uploadSucceeded, timeout=5000):
        dialog.send_button.click()
    sent = dmp.uploads[0]
    assert sent.document.format_code.code == "urn:ihe:iti:xds-sd:pdf:2008"
    assert b"JVBERi0" in sent.content  # base64 of "%PDF-" in the level-1 CDA

    # The next time, the type chosen last is preselected and first in the list.
    drop_files(window, write(tmp_path, "ecg2.pdf", PDF + b"%2"))
    dialog = upload_dialog(window)
    assert dialog.type_picker.code == chosen
    assert dialog.type_picker.itemText(0).startswith("★ ")
    assert dialog.type_picker.itemData(0) == chosen.code
    # The visibility is asked again, every time.
    assert dialog.choices.visibility() is None
    dialog.reject()


@pytest.mark.parametrize(
    ("name", "data", "expected"),
    [
        ("vide.pdf", b"", "Le fichier est vide"),
        ("blanc.txt", b"   \n", "Le fichier est vide"),
        ("archive.zip", b"PK\x03\x04\x00\x00\x00binary\x00\x01", "Format de fichier non pris"),
    ],
)
def test_files_that_cannot_be_sent_are_refused_at_the_drop(
    qtbot: QtBot,
    make_window: WindowFactory,
    settings: Settings,
    fake_cards: FakeCardManager,
    dmp: AlimentationDmp,
    tmp_path: Path,
    name: str,
    data: bytes,
    expected: str,
) -> None:
    window = ready_window(qtbot, make_window, settings, fake_cards, dmp)
    drop_files(window, write(tmp_path, name, data))
    assert window.alimentation.upload_dialog is None
    box = window.alimentation.message_box
    assert box is not None and box.isVisible()
    assert expected in box.text()
    assert name in box.text()
    box.close()


def test_several_files_at_once_are_refused(
    qtbot: QtBot,
    make_window: WindowFactory,
    settings: Settings,
    fake_cards: FakeCardManager,
    dmp: AlimentationDmp,
    tmp_path: Path,
) -> None:
    window = ready_window(qtbot, make_window, settings, fake_cards, dmp)
    drop_files(window, write(tmp_path, "a.pdf", PDF), write(tmp_path, "b.pdf", PDF + b"b"))
    assert window.alimentation.upload_dialog is None
    box = window.alimentation.message_box
    assert box is not None and "un seul fichier à la fois" in box.text()


def test_the_patient_objects_once_and_that_file_is_never_sent(
    qtbot: QtBot,
    make_window: WindowFactory,
    settings: Settings,
    fake_cards: FakeCardManager,
    dmp: AlimentationDmp,
    tmp_path: Path,
) -> None:
    window = ready_window(qtbot, make_window, settings, fake_cards, dmp)
    path = write(tmp_path, "resultats.pdf", PDF + b"% secret\n")
    drop_files(window, path)
    dialog = upload_dialog(window)
    with qtbot.waitSignal(window.alimentation.service.objectionRecorded):
        dialog.objection_button.click()  # one click
    assert window.alimentation.upload_dialog is None
    notice = window.workspace.documents_pane.list_page.notice_label.text()
    assert "Opposition du patient enregistrée" in notice
    # Kept encrypted: the patient is not readable on disk.
    stored = list((Path(settings.data_dir or "") / "alimentation").glob("*"))
    assert stored and all(AUTHORISED.value.encode() not in p.read_bytes() for p in stored)

    # The same content, under another name: refused, saying why.
    drop_files(window, write(tmp_path, "copie.pdf", path.read_bytes()))
    assert window.alimentation.upload_dialog is None
    box = window.alimentation.message_box
    assert box is not None
    assert "Le patient s'est opposé à l'envoi de ce document" in box.text()
    assert f"{paris_today():%d/%m/%Y}" in box.text()
    box.close()
    # Another file for the same patient is fine; the same file for another patient too.
    drop_files(window, write(tmp_path, "autre.pdf", PDF + b"% autre\n"))
    upload_dialog(window).reject()
    check(qtbot, window, AUTHORISED)  # still the same patient
    assert dmp.uploads == []


def test_ctrl_u_opens_the_file_chooser_then_the_dialog(
    qtbot: QtBot,
    make_window: WindowFactory,
    settings: Settings,
    fake_cards: FakeCardManager,
    dmp: AlimentationDmp,
    tmp_path: Path,
) -> None:
    window = ready_window(qtbot, make_window, settings, fake_cards, dmp)
    window.workspace.documents_pane.table.setFocus()
    qtbot.keyClick(window, Qt.Key.Key_U, Qt.KeyboardModifier.ControlModifier)
    chooser = window.alimentation.file_dialog
    assert chooser is not None and chooser.isVisible()
    assert chooser.windowTitle() == "Envoyer un document au DMP"
    chooser.fileSelected.emit(str(write(tmp_path, "lettre.pdf", PDF)))
    wait_file_read(window)
    chooser.reject()
    dialog = upload_dialog(window)
    assert "lettre.pdf" in dialog.file_label.text()
    dialog.reject()
    assert window.alimentation.act_upload in window.menuBar().actions()[3].menu().actions()


def test_no_patient_no_dmp_no_authorisation_no_upload(
    qtbot: QtBot,
    make_window: WindowFactory,
    settings: Settings,
    fake_cards: FakeCardManager,
    dmp: AlimentationDmp,
    tmp_path: Path,
) -> None:
    window = make_window(settings, fake_cards, dmp)
    log_in(qtbot, window)
    path = write(tmp_path, "cr.pdf", PDF)
    drop_files(window, path)
    box = window.alimentation.message_box
    assert box is not None and "Vérifiez d'abord le DMP du patient" in box.text()
    box.close()

    check(qtbot, window, UNAUTHORISED, listed=False)
    drop_files(window, path)
    box = window.alimentation.message_box
    assert box is not None and "il faut l'autorisation d'accès du patient" in box.text()
    assert window.alimentation.upload_dialog is None
    box.close()


def test_no_upload_without_the_traits_of_a_qualified_ins(
    qtbot: QtBot,
    make_window: WindowFactory,
    settings: Settings,
    fake_cards: FakeCardManager,
    dmp: AlimentationDmp,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    answer_of = ConsultationClient.test_existence

    def without_traits(self: ConsultationClient, ins: Ins, purpose: str = "normal") -> DmpStatus:
        status = answer_of(self, ins, purpose)
        return dataclasses.replace(status, patient_given_name=None, patient_birth_date=None)

    monkeypatch.setattr(ConsultationClient, "test_existence", without_traits)
    window = ready_window(qtbot, make_window, settings, fake_cards, dmp)
    drop_files(window, write(tmp_path, "cr.pdf", PDF))
    dialog = upload_dialog(window)
    choose_type(qtbot, dialog, "11488")
    answer(dialog, False, False, False)
    assert "L'INS du patient n'est pas qualifié" in dialog.patient_message.text()
    assert not dialog.send_button.isEnabled()
    assert not dialog.try_accept()
    dialog.reject()
    assert dmp.uploads == []


def test_the_birthplace_is_required_and_can_be_corrected(
    qtbot: QtBot,
    make_window: WindowFactory,
    settings: Settings,
    fake_cards: FakeCardManager,
    dmp: AlimentationDmp,
    tmp_path: Path,
) -> None:
    window = ready_window(qtbot, make_window, settings, fake_cards, dmp)
    drop_files(window, write(tmp_path, "cr.pdf", PDF))
    dialog = upload_dialog(window)
    choose_type(qtbot, dialog, "11488")
    answer(dialog, False, False, False)
    dialog.birthplace_edit.clear()
    qtbot.keyClicks(dialog.birthplace_edit, " ")
    assert "Le lieu de naissance du patient" in dialog.patient_message.text()
    assert not dialog.send_button.isEnabled()
    dialog.birthplace_edit.clear()
    qtbot.keyClicks(dialog.birthplace_edit, "99134")
    assert dialog.send_button.isEnabled()
    with qtbot.waitSignal(window.alimentation.service.uploadSucceeded, timeout=5000):
        dialog.send_button.click()
    assert b'code="99134"' in dmp.uploads[0].content or b"99134" in dmp.uploads[0].content


def test_a_minor_gets_the_legal_representatives_question_explained(
    qtbot: QtBot,
    make_window: WindowFactory,
    settings: Settings,
    fake_cards: FakeCardManager,
    dmp: AlimentationDmp,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    answer_of = ConsultationClient.test_existence

    def minor(self: ConsultationClient, ins: Ins, purpose: str = "normal") -> DmpStatus:
        return dataclasses.replace(answer_of(self, ins, purpose), minor=True)

    monkeypatch.setattr(ConsultationClient, "test_existence", minor)
    window = ready_window(qtbot, make_window, settings, fake_cards, dmp)
    drop_files(window, write(tmp_path, "cr.pdf", PDF))
    dialog = upload_dialog(window)
    note = dialog.choices.findChild(type(dialog.hint_label), "invisible_legal_repsNote")
    assert note is not None and note.text().startswith("Patient mineur")
    assert "patient mineur" in dialog.patient_details.text()
    dialog.reject()


def test_nothing_of_the_patient_stays_when_the_card_leaves(
    qtbot: QtBot,
    make_window: WindowFactory,
    settings: Settings,
    fake_cards: FakeCardManager,
    dmp: AlimentationDmp,
    tmp_path: Path,
) -> None:
    window = ready_window(qtbot, make_window, settings, fake_cards, dmp)
    drop_files(window, write(tmp_path, "cr.pdf", PDF))
    dialog = upload_dialog(window)
    with qtbot.waitSignal(window.card_service.sessionEnded, timeout=5000):
        fake_cards.remove(1)
        window.card_service.poll_now()
    qtbot.waitUntil(lambda: not dialog.isVisible())
    assert window.alimentation.upload_dialog is None
    assert dialog.result() == QDialog.DialogCode.Rejected
    texts = "\n".join(visible_texts(window))
    assert "LEGRAND" not in texts and AUTHORISED.value not in texts
    assert dmp.uploads == []
