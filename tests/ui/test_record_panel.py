"""The record's life in the window, with a stub DMP (the training host is in
test_record_life_e2e.py): the banner's « Créer le DMP… » for a patient without DMP, the
wizard's answer re-checking the patient, the Dossier menu's rules with their reasons,
the médecin traitant blocking from the authorisations list, closure (reason required,
the button names the patient) and reactivation, the upload refused on a closed record,
French errors, and every dialog closed when the card leaves."""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication, QMessageBox, QWizard
from pytestqt.qtbot import QtBot

from dmp_desktop.dmp.td11 import CreationConsent, PatientIdentity, RegistrationResult
from dmp_desktop.dmp.td16 import PatientAuthorization
from dmp_desktop.domain.dmp_status import Authorization, DmpState, DmpStatus
from dmp_desktop.domain.document import DocumentEntry, DocumentQuery
from dmp_desktop.domain.patient import Ins
from dmp_desktop.errors import DmpServiceError
from dmp_desktop.settings import Settings
from dmp_desktop.ui.admin_data_dialog import AdminDataDialog
from dmp_desktop.ui.main_window import MainWindow
from dmp_sandbox.demo import demo_ins
from tests.ui.conftest import WindowFactory, visible_texts
from tests.ui.fakes import FakeCardManager, ui_settings
from tests.ui.test_consultation import log_in

ROUSSEL = demo_ins("1900675120045")
LEA = demo_ins("2070585756270")
EMMA = demo_ins("2150444109033")  # a minor
DURAND_ID, MARTIN_ID = "899700433153", "899700433160"


class RecordClient:
    def __init__(self, owner: RecordDmp) -> None:
        self.owner = owner

    def _record(self, name: str, *args: object) -> None:
        self.owner.calls.append((name, args))
        self.owner.threads.add(threading.current_thread().name)
        if self.owner.fail is not None:
            error, self.owner.fail = self.owner.fail, None
            raise error

    def use_secret_connections(self, registry: set[str]) -> None:
        self.owner.registries.append(registry)

    def test_existence(self, ins: Ins, purpose: str = "normal") -> DmpStatus:
        # What the real client would declare in this request's VIHF.
        secret = any(ins.value in registry for registry in self.owner.registries[-1:])
        self.owner.calls.append(("status", (ins.value, secret)))
        return self.owner.statuses[ins.value]

    def find_documents(
        self, query: DocumentQuery, *, purpose: str = "normal", reason: str | None = None
    ) -> list[DocumentEntry]:
        return []

    def create_dmp(
        self, ins: Ins, identity: PatientIdentity, consent: CreationConsent
    ) -> RegistrationResult:
        self._record("create", identity, consent)
        self.owner.statuses[ins.value] = DmpStatus(
            ins,
            DmpState.ACTIVE,
            Authorization.VALIDE,
            patient_family_name=identity.family_name.upper(),
            patient_given_name=identity.given_name.upper(),
        )
        return RegistrationResult("PRPA_IN201312UV02", "active", "1234")

    def close_dmp(
        self,
        ins: Ins,
        family: str,
        given: str,
        *,
        reason: str,
        reason_text: str | None,
        gender: str | None = None,
    ) -> RegistrationResult:
        self._record("close", family, given, reason, reason_text)
        status = self.owner.statuses[ins.value]
        self.owner.statuses[ins.value] = dataclasses.replace(
            status, state=DmpState.CLOSED, closure_date=dt.date(2026, 11, 25)
        )
        return RegistrationResult("PRPA_IN201315UV02", "terminated")

    def reactivate_dmp(
        self, ins: Ins, family: str, given: str, gender: str | None = None
    ) -> RegistrationResult:
        self._record("reactivate", family, given)
        status = self.owner.statuses[ins.value]
        self.owner.statuses[ins.value] = dataclasses.replace(
            status, state=DmpState.ACTIVE, closure_date=None
        )
        return RegistrationResult("PRPA_IN201315UV02", "active")

    def list_authorizations(self, ins: Ins) -> list[PatientAuthorization]:
        self._record("list")
        return list(self.owner.authorizations)

    def set_professional_blocked(self, ins: Ins, national_id: str, *, blocked: bool) -> str:
        self._record("block", national_id, blocked)
        self.owner.authorizations = [
            dataclasses.replace(a, status="INTERDIT" if blocked else "VALIDE")
            if a.national_id == national_id
            else a
            for a in self.owner.authorizations
        ]
        return "Dr Paul MARTIN est bloqué : il ne peut plus accéder au DMP du patient."

    def get_admin_data(self, ins: Ins) -> object:
        raise DmpServiceError("DMPAccessDenied")

    def close(self) -> None:
        pass


class RecordDmp:
    def __init__(self) -> None:
        self.statuses: dict[str, DmpStatus] = {
            ROUSSEL.value: DmpStatus(ROUSSEL, DmpState.NONE),
            LEA.value: DmpStatus(
                LEA,
                DmpState.ACTIVE,
                Authorization.VALIDE,
                treating_physician=True,
                patient_family_name="MOREAU",
                patient_given_name="LÉA",
            ),
            EMMA.value: DmpStatus(
                EMMA,
                DmpState.ACTIVE,
                Authorization.VALIDE,
                minor=True,
                patient_family_name="CHEVALIER",
                patient_given_name="EMMA",
            ),
        }
        self.registries: list[set[str]] = []
        self.authorizations = [
            PatientAuthorization(DURAND_ID, "DURAND", "MARIE", "VALIDE", treating_physician=True),
            PatientAuthorization(MARTIN_ID, "MARTIN", "PAUL", "VALIDE"),
        ]
        self.calls: list[tuple[str, tuple[object, ...]]] = []
        self.threads: set[str] = set()
        self.fail: BaseException | None = None

    def factory(self, settings: Settings, session: object) -> RecordClient:
        return RecordClient(self)


@pytest.fixture
def window(
    qtbot: QtBot, make_window: WindowFactory, fake_cards: FakeCardManager, tmp_path: Path
) -> MainWindow:
    dmp = RecordDmp()
    settings = dataclasses.replace(ui_settings(), data_dir=str(tmp_path / "data"))
    window = make_window(settings, fake_cards, dmp)  # type: ignore[arg-type]
    window.record_dmp = dmp  # type: ignore[attr-defined]
    log_in(qtbot, window)
    return window


def dmp_of(window: MainWindow) -> RecordDmp:
    return window.record_dmp  # type: ignore[attr-defined, no-any-return]


def check(qtbot: QtBot, window: MainWindow, ins: Ins) -> None:
    pane = window.workspace.patient_pane
    pane.ins_edit.setText(ins.value)
    with qtbot.waitSignal(window.dmp_service.statusReady):
        pane.request_check()


def message_box(qtbot: QtBot) -> QMessageBox:
    def found() -> QMessageBox | None:
        return next(
            (
                w
                for w in QApplication.topLevelWidgets()
                if isinstance(w, QMessageBox) and w.isVisible()
            ),
            None,
        )

    qtbot.waitUntil(lambda: found() is not None)
    box = found()
    assert box is not None
    return box


def test_create_from_the_banner_then_the_new_record_shows(qtbot: QtBot, window: MainWindow) -> None:
    record = window.record
    check(qtbot, window, ROUSSEL)
    assert record.create_button.isVisible()
    assert record.act_create.isEnabled()
    for action in (record.act_authorizations, record.act_close, record.act_reactivate):
        assert not action.isEnabled() and action.toolTip() == "Ce patient n'a pas de DMP."
    record.create_button.click()
    wizard = record.wizard
    assert wizard is not None and wizard.isVisible()
    wizard.family_edit.setText("Roussel")
    wizard.given_edit.setText("Lucas")
    wizard.birth_edit.setText("12/06/1990")
    wizard.next()
    wizard.consent_check.setChecked(True)
    wizard.next()
    wizard.bris_de_glace.oppose_button.setChecked(True)
    wizard.centre_15.accept_button.setChecked(True)
    wizard.next()
    wizard.next()
    # The host refuses once: the wizard stays, in French.
    dmp_of(window).fail = DmpServiceError("DMPInvalidRequest")
    with qtbot.waitSignal(record.service.failed):
        wizard.button(QWizard.WizardButton.FinishButton).click()
    assert wizard.isVisible() and "requête mal formée" in wizard.send_status.text()
    with qtbot.waitSignal(window.dmp_service.statusReady, timeout=5000):
        wizard.button(QWizard.WizardButton.FinishButton).click()
    assert record.wizard is None
    assert not record.create_button.isVisible()
    assert window.workspace.status_panel.dmp_value.text() == "actif"
    created = [args for name, args in dmp_of(window).calls if name == "create"]
    assert len(created) == 2
    consent = created[-1][1]
    assert isinstance(consent, CreationConsent) and consent.opposition_bris_de_glace
    assert "MainThread" not in dmp_of(window).threads


def test_treating_physician_blocks_from_the_authorisations(
    qtbot: QtBot, window: MainWindow
) -> None:
    record = window.record
    check(qtbot, window, LEA)
    assert not record.create_button.isVisible()
    assert record.act_create.toolTip() == "Ce patient a déjà un DMP."
    with qtbot.waitSignal(record.service.authorizationsReady):
        dialog = record.open_authorizations()
    assert dialog is not None and dialog.model.rowCount() == 2
    assert dialog.model.data(dialog.model.index(0, 3)) == "★ Médecin traitant"
    assert "MOREAU Léa" in " ".join(visible_texts(dialog))
    row = dialog.model.row_of(MARTIN_ID)
    dialog.table.setCurrentIndex(dialog.proxy.mapFromSource(dialog.model.index(row, 0)))
    dialog.block_button.click()
    box = record.confirm_box
    assert box is not None and "MARTIN Paul" in box.text()
    yes = next(b for b in box.buttons() if "Bloquer" in b.text())
    with qtbot.waitSignal(record.service.authorizationsReady, timeout=5000):
        yes.click()
    assert ("block", (MARTIN_ID, True)) in dmp_of(window).calls
    blocked = dialog.model.items()[dialog.model.row_of(MARTIN_ID)]
    assert blocked.status == "INTERDIT"
    assert "bloqué" in dialog.notice.text()

    # The administrative data: the other helper's dialog, for the patient on screen.
    admin = record.open_admin_data()
    assert isinstance(admin, AdminDataDialog)
    admin.reject()

    # The card leaves: nothing stays open.
    window.card_service.logout()
    qtbot.waitUntil(lambda: record.authorizations is None)
    assert not dialog.isVisible()


def test_close_then_reactivate_and_uploads_refused_while_closed(
    qtbot: QtBot, window: MainWindow
) -> None:
    record = window.record
    check(qtbot, window, LEA)
    dialog = record.request_close()
    assert dialog is not None
    assert dialog.close_button.text() == "Fermer le DMP de MOREAU Léa"
    assert not dialog.close_button.isEnabled()  # the reason is required
    dialog.reason_edit.setText("Le patient ne souhaite plus de DMP")
    assert dialog.close_button.isEnabled()
    with qtbot.waitSignal(window.dmp_service.statusReady, timeout=5000):
        dialog.close_button.click()
    assert (
        "close",
        ("MOREAU", "LÉA", "FERMETURE_DEMANDE_PATIENT", "Le patient ne souhaite plus de DMP"),
    ) in dmp_of(window).calls
    upload = window.alimentation.act_upload
    assert not upload.isEnabled()
    assert "fermé" in upload.toolTip() and "Réactiver le DMP" in upload.toolTip()
    assert record.reactivate_button.isVisible() and record.act_reactivate.isEnabled()
    assert "fermé" in record.act_authorizations.toolTip()

    # The host refuses the reactivation once: said in French.
    dmp_of(window).fail = DmpServiceError("DMPAccessDenied")
    box = record.request_reactivate()
    assert box is not None and "MOREAU Léa" in box.text()
    yes = next(b for b in box.buttons() if "Réactiver" in b.text())
    with qtbot.waitSignal(record.service.failed):
        yes.click()
    error = message_box(qtbot)
    assert error.windowTitle() == "Réactivation impossible"
    assert "refusé l'accès" in error.text()
    error.close()

    box = record.request_reactivate()
    assert box is not None
    yes = next(b for b in box.buttons() if "Réactiver" in b.text())
    with qtbot.waitSignal(window.dmp_service.statusReady, timeout=5000):
        yes.click()
    assert window.alimentation.act_upload.isEnabled()
    assert not record.reactivate_button.isVisible()


def test_a_minors_secret_connection_lasts_the_card_session(
    qtbot: QtBot, window: MainWindow
) -> None:
    record = window.record
    check(qtbot, window, LEA)  # 19 years old: not a minor
    assert not record.act_secret.isEnabled()
    assert record.act_secret.toolTip() == "Réservé au DMP d'un patient mineur, à sa demande."

    check(qtbot, window, EMMA)
    assert record.act_secret.isEnabled() and not record.act_secret.isChecked()
    record.act_secret.trigger()  # ticks it
    assert record.act_secret.isChecked()
    assert window.dmp_service.is_secret_connection(EMMA)
    assert "Connexion secrète pour CHEVALIER Emma" in window.statusBar().currentMessage()
    check(qtbot, window, EMMA)
    assert dmp_of(window).calls[-1] == ("status", (EMMA.value, True))
    assert record.act_secret.isChecked()

    # A cancelled question opens a new connection: the declaration stays.
    clients = len(dmp_of(window).registries)
    window.dmp_service._drop_connection(window.dmp_service._conn)  # type: ignore[arg-type]
    check(qtbot, window, EMMA)
    registries = dmp_of(window).registries
    assert len(registries) > clients and all(r is registries[0] for r in registries)
    assert dmp_of(window).calls[-1] == ("status", (EMMA.value, True))

    record.act_secret.trigger()  # unticks it
    assert not window.dmp_service.is_secret_connection(EMMA)
    check(qtbot, window, EMMA)
    assert dmp_of(window).calls[-1] == ("status", (EMMA.value, False))

    # A new card session starts ordinary.
    record.act_secret.trigger()
    window.card_service.logout()
    qtbot.waitUntil(lambda: not window.dmp_service.session_open)
    assert not window.dmp_service.is_secret_connection(EMMA)
