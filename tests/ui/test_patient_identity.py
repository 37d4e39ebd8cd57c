"""The patient's identity in the window (stub DMP): the five traits, qualified or not, and
nothing sent that contradicts it."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from dmp_desktop.identity.traits import IdentitySource, IdentityTraits, InsIdentity
from dmp_desktop.settings import Settings
from dmp_desktop.ui.main_window import MainWindow
from dmp_desktop.ui.upload_dialog import UploadDialog
from tests.ui.conftest import WindowFactory
from tests.ui.consultation_fakes import AUTHORISED
from tests.ui.fakes import FakeCardManager
from tests.ui.test_upload_support import (
    PDF,
    AlimentationDmp,
    alimentation_settings,
    check,
    choose_type,
    drop_files,
    log_in,
    write,
)

# Jeanne LEGRAND as INSi gives her: all her first names, her birthplace.
QUALIFIED = InsIdentity(
    AUTHORISED,
    IdentityTraits("LEGRAND", ("JEANNE", "MARIE"), "F", dt.date(1984, 5, 12), "69123", True),
    IdentitySource.INSI,
    qualified=True,
)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return alimentation_settings(tmp_path)


@pytest.fixture
def dmp(settings: Settings) -> AlimentationDmp:
    return AlimentationDmp(settings)


def open_qualified(qtbot: QtBot, window: MainWindow) -> None:
    with qtbot.waitSignal(window.consultation.documentsReady, timeout=5000):
        window.patients.open_patient(QUALIFIED)


def test_the_dmp_copy_is_shown_as_not_qualified(
    qtbot: QtBot,
    make_window: WindowFactory,
    settings: Settings,
    fake_cards: FakeCardManager,
    dmp: AlimentationDmp,
) -> None:
    window = make_window(settings, fake_cards, dmp)
    log_in(qtbot, window)
    check(qtbot, window, AUTHORISED)
    panel = window.workspace.status_panel
    assert panel.birth_name_value.text() == "LEGRAND"
    assert panel.given_names_value.text() == "Jeanne (selon le DMP)"
    assert panel.birth_date_value.text() == "12/05/1984"
    assert panel.sex_value.text() == "féminin"
    assert panel.birthplace_value.text() == "non connu (le DMP ne le donne pas)"
    assert panel.qualification_value.property("tone") == "warning"
    assert window.workspace.current_identity is not None
    assert not window.workspace.current_identity.qualified


def test_a_qualified_identity_stays_with_its_ins(
    qtbot: QtBot,
    make_window: WindowFactory,
    settings: Settings,
    fake_cards: FakeCardManager,
    dmp: AlimentationDmp,
) -> None:
    window = make_window(settings, fake_cards, dmp)
    log_in(qtbot, window)
    open_qualified(qtbot, window)
    panel = window.workspace.status_panel
    assert panel.given_names_value.text() == "JEANNE MARIE"
    assert panel.birthplace_value.text() == "69123"
    assert panel.qualification_value.text() == "✔ qualifiée (INS vérifiée par l'INSi)"
    assert not panel.identity_warning.isVisible()  # the DMP's copy agrees
    assert window.workspace.current_identity == QUALIFIED
    # Another INS typed: the qualified identity does not follow.
    window.workspace.patient_pane.ins_edit.setText("")
    assert window.workspace.chosen_identity is None


def _ready_dialog(qtbot: QtBot, window: MainWindow, tmp_path: Path) -> UploadDialog:
    assert drop_files(window, write(tmp_path, "cr.pdf", PDF))
    dialog = window.alimentation.upload_dialog
    assert dialog is not None
    choose_type(qtbot, dialog, "consultation")
    for key in ("masked", "invisible_patient", "invisible_legal_reps"):
        dialog.choices.no[key].click()
    return dialog


def test_the_qualified_traits_go_in_the_document(
    qtbot: QtBot,
    make_window: WindowFactory,
    settings: Settings,
    fake_cards: FakeCardManager,
    dmp: AlimentationDmp,
    tmp_path: Path,
) -> None:
    window = make_window(settings, fake_cards, dmp)
    log_in(qtbot, window)
    open_qualified(qtbot, window)
    dialog = _ready_dialog(qtbot, window, tmp_path)
    assert dialog.birthplace_edit.text() == "69123"  # INSi's, not the NIR's guess (75123)
    with qtbot.waitSignal(window.alimentation.service.uploadSucceeded, timeout=5000):
        dialog.send_button.click()
    content = dmp.uploads[0].content
    assert b"JEANNE MARIE" in content and b"69123" in content


def test_a_document_contradicting_the_identity_is_not_sent(
    qtbot: QtBot,
    make_window: WindowFactory,
    settings: Settings,
    fake_cards: FakeCardManager,
    dmp: AlimentationDmp,
    tmp_path: Path,
) -> None:
    window = make_window(settings, fake_cards, dmp)
    log_in(qtbot, window)
    open_qualified(qtbot, window)
    dialog = _ready_dialog(qtbot, window, tmp_path)
    dialog.birthplace_edit.setText("75056")  # not where INSi says she was born
    service = window.alimentation.service
    with qtbot.waitSignal(service.uploadFailed, timeout=5000) as failed:
        dialog.send_button.click()
    assert failed.args is not None
    message = failed.args[1]
    assert message.startswith("Envoi refusé, identité incohérente : le lieu de naissance")
    assert dmp.uploads == []
    assert service.items == []  # nothing waits in the outbox either
