"""Finding the patient in the main window: the field's matches, INSi, « Mes patients DMP ».

The window creates one :class:`PatientFinding`. It adds two actions
(« Chercher l'INS… », Ctrl+I; « Mes patients DMP… », Ctrl+Shift+L)
and wires the patient field to :class:`~dmp_desktop.services.patients.PatientSearchService`:

* typing a name shows the recent patients at once; Enter with a birth date
  searches the DMP (TD0.5) too; choosing a match puts its INS in the field
  and asks the DMP (TD0.2) as for a typed INS, the chosen identity (maybe
  qualified) staying with it;
* the INSi dialog (prefilled with what the field had) and « Mes patients
  DMP » open the patient the same way;
* every patient whose DMP status is shown becomes the first recent patient.

Removing the card closes the dialogs and forgets the recent patients held in
memory.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMenu

from dmp_desktop.dmp.td04 import AuthorisedPatient
from dmp_desktop.identity.traits import InsIdentity, TraitsQuery
from dmp_desktop.services.patients import PatientSearchService, RecentFactory, open_recent
from dmp_desktop.ui.my_patients import MyPatientsDialog
from dmp_desktop.ui.patient_search import InsiSearchDialog
from dmp_desktop.usecases.patients import Candidate, PatientQuery, TraitsSearch

if TYPE_CHECKING:
    from dmp_desktop.ui.main_window import MainWindow


class PatientFinding(QObject):
    """The patient search of the main window (module docstring)."""

    def __init__(self, window: MainWindow, recent_factory: RecentFactory = open_recent) -> None:
        super().__init__(window)
        self.window = window
        self.service = PatientSearchService(
            window.settings,
            window.runner,
            window.dmp_service,
            window.card_service,
            recent_factory,
            parent=self,
        )
        self.insi_dialog: InsiSearchDialog | None = None
        self.my_patients_dialog: MyPatientsDialog | None = None

        self.act_insi = QAction(self.tr("Rec&hercher l'INS (téléservice INSi)…"), window)
        self.act_insi.setShortcut(QKeySequence("Ctrl+I"))
        self.act_insi.setStatusTip(
            self.tr("Rechercher l'INS du patient avec ses traits d'identité")
        )
        self.act_insi.triggered.connect(lambda: self.open_insi(self._field_query()))
        self.act_my_patients = QAction(self.tr("&Mes patients DMP…"), window)
        self.act_my_patients.setShortcut(QKeySequence("Ctrl+Shift+L"))
        self.act_my_patients.setStatusTip(self.tr("Les DMP sur lesquels vous êtes autorisé"))
        self.act_my_patients.triggered.connect(self.open_my_patients)
        for action in (self.act_insi, self.act_my_patients):
            action.setEnabled(False)
            window.addAction(action)  # works whichever widget has the focus

        pane = window.workspace.patient_pane
        pane.textEdited.connect(self._on_text_edited)
        pane.searchRequested.connect(self.service.find)
        pane.candidateChosen.connect(self._on_candidate)
        pane.insiRequested.connect(self.open_insi)
        pane.myPatientsRequested.connect(self.open_my_patients)
        window.workspace.identityShown.connect(self.service.opened)
        self.service.matchesReady.connect(self._on_matches)
        self.service.matchesFailed.connect(lambda _q, message: pane.show_search_failure(message))
        self.service.insiDone.connect(self._on_insi_done)
        self.service.insiFailed.connect(self._on_insi_failed)
        self.service.myPatientsReady.connect(self._on_my_patients)
        self.service.myPatientsFailed.connect(self._on_my_patients_failed)
        window.card_service.loggedIn.connect(lambda _p: self._set_enabled(True))
        window.card_service.sessionEnded.connect(lambda _reason: self.close())

    def fill_menu(self, menu: QMenu) -> None:
        menu.addAction(self.act_insi)
        menu.addAction(self.act_my_patients)

    def _set_enabled(self, enabled: bool) -> None:
        for action in (self.act_insi, self.act_my_patients):
            action.setEnabled(enabled)
        pane = self.window.workspace.patient_pane
        pane.insi_button.setEnabled(enabled)
        pane.my_patients_button.setEnabled(enabled)

    def _field_query(self) -> PatientQuery:
        pane = self.window.workspace.patient_pane
        return pane.query() if pane.current_ins() is None else PatientQuery("")

    # -- the patient field ----------------------------------------------------------------
    def _on_text_edited(self, query: PatientQuery) -> None:
        pane = self.window.workspace.patient_pane
        if query.ins is None and query.family_name:
            pane.set_matches(self.service.local_matches(query))

    def _on_matches(self, query: PatientQuery, candidates: list[Candidate]) -> None:
        pane = self.window.workspace.patient_pane
        if query.text == " ".join(pane.ins_edit.text().split()):  # still what the field says
            pane.set_matches(candidates, searched=True)

    def _on_candidate(self, candidate: Candidate) -> None:
        self.open_patient(candidate.identity)

    def open_patient(self, identity: InsIdentity) -> None:
        """Show ``identity``'s INS in the field and ask the DMP, as for a typed INS."""
        workspace = self.window.workspace
        workspace.choose_identity(identity)
        workspace.patient_pane.request_check()

    # -- INSi -----------------------------------------------------------------------------
    def open_insi(self, query: PatientQuery | None = None) -> InsiSearchDialog | None:
        if self.window.card_service.session is None:
            return None
        if self.insi_dialog is not None:
            self.insi_dialog.raise_()
            return self.insi_dialog
        dialog = InsiSearchDialog(self.window)
        self.insi_dialog = dialog
        dialog.searchRequested.connect(self._search_insi)
        dialog.identityChosen.connect(self.open_patient)
        dialog.finished.connect(lambda _r: self._forget_insi(dialog))
        dialog.open()
        dialog.activateWindow()
        dialog.prefill(query or PatientQuery(""))  # and the focus on what is left to type
        return dialog

    def _search_insi(self, query: TraitsQuery) -> None:
        self.service.search_by_traits(query)

    def _on_insi_done(self, result: TraitsSearch) -> None:
        if self.insi_dialog is not None:
            self.insi_dialog.show_result(result)

    def _on_insi_failed(self, message: str) -> None:
        if self.insi_dialog is not None:
            self.insi_dialog.show_failure(message)

    def _forget_insi(self, dialog: InsiSearchDialog) -> None:
        if self.insi_dialog is dialog:
            self.insi_dialog = None
        dialog.deleteLater()

    # -- « Mes patients DMP » -------------------------------------------------------------
    def open_my_patients(self) -> MyPatientsDialog | None:
        if self.window.card_service.session is None:
            return None
        if self.my_patients_dialog is not None:
            self.my_patients_dialog.raise_()
            return self.my_patients_dialog
        dialog = MyPatientsDialog(self.window)
        self.my_patients_dialog = dialog
        dialog.patientChosen.connect(self._on_my_patient)
        dialog.finished.connect(lambda _r: self._forget_my_patients(dialog))
        dialog.open()
        dialog.activateWindow()
        dialog.filter_edit.setFocus()
        self.service.load_my_patients()
        return dialog

    def _on_my_patients(self, rows: list[AuthorisedPatient]) -> None:
        if self.my_patients_dialog is not None:
            self.my_patients_dialog.show_rows(rows)

    def _on_my_patients_failed(self, message: str) -> None:
        if self.my_patients_dialog is not None:
            self.my_patients_dialog.show_failure(message)

    def _on_my_patient(self, row: AuthorisedPatient) -> None:
        self.open_patient(row.identity)

    def _forget_my_patients(self, dialog: MyPatientsDialog) -> None:
        if self.my_patients_dialog is dialog:
            self.my_patients_dialog = None
        dialog.deleteLater()

    # -- session --------------------------------------------------------------------------
    def close(self) -> None:
        """The card is gone: no dialog, nothing of the patients left."""
        self._set_enabled(False)
        for dialog in (self.insi_dialog, self.my_patients_dialog):
            if dialog is not None:
                dialog.reject()
        self.insi_dialog = None
        self.my_patients_dialog = None


__all__ = ["PatientFinding"]
