"""The record's life end to end in the window: the real window, the SoftHSM card, the training
host over real mutual TLS. Roussel Lucas has no DMP: the banner offers « Créer le DMP… »,
the wizard (keyboard) creates it, the patient is checked again and the record shows; the
authorisations list shows Dr Durand (its creator); the record is closed at the patient's
request (uploads are then refused, by the window and by the host, in French) and
reactivated. The host's store and the patient's history agree."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWizard
from pytestqt.qtbot import QtBot

from dmp_desktop.domain.dmp_status import DmpState
from dmp_desktop.errors import DmpServiceError, describe
from dmp_desktop.ui.main_window import MainWindow
from dmp_sandbox.demo import demo_patients
from dmp_sandbox.patient_cli import history
from dmp_sandbox.server import RunningHost, run_in_thread
from dmp_sandbox.training import TrainingEnv
from tests.ui.conftest import HostWindow, enter_ins, log_in

pytestmark = pytest.mark.e2e

ROUSSEL = next(p for p in demo_patients() if p.key == "sans-dmp")
TIMEOUT = 20000


@pytest.fixture
def training_host(training_env: TrainingEnv, host_db_url: str) -> Iterator[RunningHost]:
    with run_in_thread(training_env, host_db_url, seed=True) as host:
        yield host


@pytest.fixture
def window(host_window: HostWindow) -> MainWindow:
    return host_window((1400, 900))


def check(qtbot: QtBot, window: MainWindow) -> None:
    enter_ins(qtbot, window, ROUSSEL.ins.value, timeout=TIMEOUT)


def enter(qtbot: QtBot, wizard: QWizard) -> None:
    qtbot.keyClick(wizard.focusWidget() or wizard, Qt.Key.Key_Return)


def test_create_list_close_reactivate(
    qtbot: QtBot, window: MainWindow, training_host: RunningHost
) -> None:
    log_in(qtbot, window)
    record = window.record
    check(qtbot, window)
    status = window.consultation.status
    assert status is not None and status.state is DmpState.NONE
    assert record.create_button.isVisible()

    # The wizard, by the keyboard.
    record.create_button.click()
    wizard = record.wizard
    assert wizard is not None
    qtbot.keyClicks(wizard.family_edit, ROUSSEL.family_name)
    qtbot.keyClicks(wizard.given_edit, ROUSSEL.given_name)
    qtbot.keyClicks(wizard.birth_edit, f"{ROUSSEL.birth_date:%d/%m/%Y}")
    enter(qtbot, wizard)
    qtbot.keyClick(wizard.consent_check, Qt.Key.Key_Space)
    enter(qtbot, wizard)
    qtbot.keyClick(wizard.bris_de_glace.accept_button, Qt.Key.Key_Space)
    wizard.centre_15.oppose_button.setFocus()
    qtbot.keyClick(wizard.centre_15.oppose_button, Qt.Key.Key_Space)
    enter(qtbot, wizard)
    qtbot.keyClicks(wizard.mobile_edit, "06 11 22 33 44")
    enter(qtbot, wizard)
    assert "Accès par le centre 15 (SAMU) : le patient s'y oppose" in wizard.summary_label.text()
    with qtbot.waitSignal(window.dmp_service.statusReady, timeout=TIMEOUT):
        enter(qtbot, wizard)
    assert record.wizard is None
    status = window.consultation.status
    assert status is not None and status.state is DmpState.ACTIVE
    assert window.workspace.status_panel.identity_label.text() == "ROUSSEL Lucas"
    assert not record.create_button.isVisible()
    with training_host.store.session() as session:
        patient = training_host.store.find_patient(session, ROUSSEL.ins.value, ROUSSEL.ins.oid)
        assert patient is not None
        assert patient.opposition_centre_15 and not patient.opposition_bris_de_glace
        assert patient.internet_account_open and patient.mobile == "0611223344"

    # The authorisations: Dr Durand, who created it.
    with qtbot.waitSignal(record.service.authorizationsReady, timeout=TIMEOUT):
        dialog = record.open_authorizations()
    assert dialog is not None
    items = dialog.model.items()
    assert [(a.national_id, a.status) for a in items] == [("899700433153", "VALIDE")]
    assert not dialog.block_button.isEnabled()  # Dr Durand is not his médecin traitant
    dialog.reject()

    # Closed at the patient's request.
    close = record.request_close()
    assert close is not None
    assert close.close_button.text() == "Fermer le DMP de ROUSSEL Lucas"
    qtbot.keyClicks(close.reason_edit, "Demande du patient par courrier")
    with qtbot.waitSignal(window.dmp_service.statusReady, timeout=TIMEOUT):
        qtbot.keyClick(close.reason_edit, Qt.Key.Key_Return)
    status = window.consultation.status
    assert status is not None and status.state is DmpState.CLOSED
    upload = window.alimentation.act_upload
    assert not upload.isEnabled() and "fermé" in upload.toolTip()
    assert record.reactivate_button.isVisible()

    # Ctrl+U anyway: refused by the window, in French (the host refuses it too:
    # tests/host/test_alimentation.py; its DMPClosed reads as below).
    assert window.alimentation.request_upload() is None
    warning = window.alimentation.message_box
    assert warning is not None and "fermé" in warning.text()
    warning.close()
    assert "n'accepte plus de nouveaux documents" in describe(DmpServiceError("DMPClosed"))

    # Reactivated.
    box = record.request_reactivate()
    assert box is not None and "ROUSSEL Lucas" in box.text()
    yes = next(b for b in box.buttons() if "Réactiver" in b.text())
    with qtbot.waitSignal(window.dmp_service.statusReady, timeout=TIMEOUT):
        yes.click()
    status = window.consultation.status
    assert status is not None and status.state is DmpState.ACTIVE
    assert window.alimentation.act_upload.isEnabled()

    lines = history(training_host.store, ROUSSEL.ins)
    for what in (
        "a créé votre DMP",
        "a consulté la liste des professionnels autorisés",
        "a fermé votre DMP",
        "a réactivé votre DMP",
    ):
        assert any(what in line for line in lines), what
