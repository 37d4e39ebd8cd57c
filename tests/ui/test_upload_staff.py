"""A secretary's card in the window: the upload dialog asks "Pour le compte de" (the
practice's professionals, none preselected) instead of showing the card holder as author;
nothing is sent until a professional is chosen; the submission names the professional as
the document's author and the secretary as the submitter. A doctor's dialog is unchanged."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from dmp_desktop.dmp import xades
from dmp_desktop.dmp.feed_errors import problem_fr
from dmp_desktop.dmp.xds import parse_xcn
from dmp_desktop.services.consultation import PaneState
from dmp_desktop.settings import Settings
from tests.ui.conftest import WindowFactory, visible_texts
from tests.ui.consultation_fakes import AUTHORISED
from tests.ui.fakes import DURAND, FakeCard, FakeCardManager, ui_settings
from tests.ui.test_document_actions import SECRETARY, check, log_in
from tests.ui.test_upload_support import (
    PDF,
    AlimentationDmp,
    answer,
    choose_type,
    drop_files,
    write,
)
from tests.unit.test_alimentation_support import SoftSigner

PROFESSIONALS = [
    {
        "national_id": "899700433153",
        "family_name": "Durand",
        "given_name": "Marie",
        "profession_code": "10",
        "profession": "Médecin",
        "specialty_code": "SM26",
    },
    {
        "national_id": "899700433160",
        "family_name": "Martin",
        "given_name": "Paul",
        "profession_code": "10",
    },
]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return dataclasses.replace(
        ui_settings(),
        data_dir=str(tmp_path / "data"),
        structure_id="499700433153007",
        extra={"structure_name": "Cabinet médical des Tilleuls"},
        practice_professionals=PROFESSIONALS,
    )


@pytest.fixture
def dmp(settings: Settings) -> AlimentationDmp:
    return AlimentationDmp(settings)


def test_a_secretary_chooses_the_professional_before_sending(
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
        assert window.consultation.state is PaneState.STAFF  # never lists
        drop_files(window, write(tmp_path, "courrier.pdf", PDF))
        dialog = window.alimentation.upload_dialog
        assert dialog is not None
        combo = dialog.on_behalf_combo
        assert combo is not None and combo.isVisible()
        assert combo.currentIndex() == -1  # none preselected
        assert [combo.itemText(i) for i in range(combo.count())] == [
            "Dr Marie DURAND, médecin",
            "Dr Paul MARTIN, médecin",
        ]
        texts = [t.replace("&", "") for t in visible_texts(dialog)]
        assert "Pour le compte de :" in texts
        assert "Auteur :" not in texts
        assert "(personnel de structure)" in dialog.author_label.text()  # "Envoyé par"
        choose_type(qtbot, dialog, "consultation")
        answer(dialog, False, False, False)
        assert not dialog.send_button.isEnabled()
        assert problem_fr("on_behalf_of_missing") in dialog.author_message.text()

        combo.setCurrentIndex(0)
        assert dialog.send_button.isEnabled(), dialog.field_problems()
        assert dialog.author_message.text() == ""
        service = window.alimentation.service
        with qtbot.waitSignal(service.uploadPrepared, timeout=5000) as prepared:
            dialog.send_button.click()
        # The parapheur: checked, kept « à signer par Dr Marie DURAND », nothing sent.
        (item,) = prepared.args
        assert item.awaiting_signature and item.signer_id == DURAND.national_id
        assert dmp.uploads == []
        qtbot.waitUntil(lambda: [i.id for i in service.items] == [item.id], timeout=5000)
        assert "à signer par Dr Marie DURAND" in window.statusBar().currentMessage()
        # Her « Envois en attente » shows it waiting; « Reprendre » cannot send it unsigned.
        panel = window.alimentation.show_outbox()
        assert panel is not None
        row = [panel.proxy.index(0, c).data() for c in range(panel.proxy.columnCount())]
        assert row[4] == "à signer par Dr Marie DURAND"
        assert not panel.resume_button.isEnabled() and panel.discard_button.isEnabled()
        assert "il partira quand Dr Marie DURAND l'aura signé" in panel.detail.text()
        assert panel.resume_current() is False and dmp.uploads == []
        panel.close()
        # Signed (Dr Durand's card, tests/ui/test_parapheur.py), her session sends it.
        signer = SoftSigner(DURAND)
        ((_, signed),) = service.desk.sign(signer)
        assert not isinstance(signed, Exception)
        service.reload_outbox()
        qtbot.waitUntil(lambda: not service.items[0].awaiting_signature, timeout=5000)
        with qtbot.waitSignal(service.uploadSucceeded, timeout=5000):
            assert service.send(service.items[0])
        assert signer.signed == 1
        submission = dmp.uploads[0]
        # What left is Dr Durand's signature over the very CDA she prepared.
        (signature,) = dmp.signatures
        assert signature is not None
        verified = xades.verify_signature(
            signature, {submission.document.unique_id: submission.content}
        )
        assert verified.certificate == signer.sign_certificate
        assert parse_xcn(submission.author.person)[0] == SECRETARY.national_id
        assert submission.document_author is not None
        assert parse_xcn(submission.document_author.person)[:3] == (
            DURAND.national_id,
            "Durand",
            "Marie",
        )
        assert b"899700433153" in submission.content  # the CDA's author
        assert dmp.finds == [] and dmp.retrievals == []
    finally:
        cards.close()


def test_a_secretary_without_the_practice_list_is_told_what_to_do(
    qtbot: QtBot,
    make_window: WindowFactory,
    settings: Settings,
    dmp: AlimentationDmp,
    tmp_path: Path,
) -> None:
    cards = FakeCardManager([FakeCard("CPE-BERNARD", SECRETARY, "1111")])
    bare = dataclasses.replace(settings, practice_professionals=[])
    try:
        window = make_window(bare, cards, dmp)
        log_in(qtbot, window, "1111")
        check(qtbot, window, AUTHORISED, listed=False)
        drop_files(window, write(tmp_path, "courrier.pdf", PDF))
        dialog = window.alimentation.upload_dialog
        assert dialog is not None and dialog.on_behalf_combo is not None
        answer(dialog, False, False, False)
        assert not dialog.send_button.isEnabled()
        assert "Aucun professionnel du cabinet" in dialog.author_message.text()
    finally:
        cards.close()


def test_a_doctor_sees_no_on_behalf_choice(
    qtbot: QtBot,
    make_window: WindowFactory,
    settings: Settings,
    dmp: AlimentationDmp,
    tmp_path: Path,
) -> None:
    cards = FakeCardManager([FakeCard("CPS3-DURAND", DURAND, "1234")])
    try:
        window = make_window(settings, cards, dmp)
        log_in(qtbot, window)
        check(qtbot, window, AUTHORISED)
        drop_files(window, write(tmp_path, "courrier.pdf", PDF))
        dialog = window.alimentation.upload_dialog
        assert dialog is not None
        assert dialog.on_behalf_combo is None
        texts = [t.replace("&", "") for t in visible_texts(dialog)]
        assert "Auteur :" in texts and "Pour le compte de :" not in texts
        dialog.reject()
    finally:
        cards.close()
