"""The medical summary in the main window: the Ctrl+Shift+S action and the editor pane.

The window creates one :class:`VsmFeature`; it adds nothing to the window but
an action (``act_open``) and, while the editor is open, a page of the
window's stack. The patient is the one whose DMP status is on screen; the
author is the professional logged in with the card, in the structure the
card (or the settings) names. Removing the card saves the draft and clears
the editor at once; closing the window saves it too.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QAction, QKeySequence

from dmp_desktop.domain.dmp_status import Authorization, DmpState, DmpStatus
from dmp_desktop.domain.practitioner import Practitioner
from dmp_desktop.domain.summary import CareProvider, MedicalSummary, can_author_summary
from dmp_desktop.errors import DmpDesktopError, describe
from dmp_desktop.services.card_service import CardState
from dmp_desktop.services.drafts import DEFAULT_AUTOSAVE_MS, DraftStore, PatientHeader
from dmp_desktop.services.vsm_source import (
    LatestVsm,
    VsmFetcher,
    blocking_fetcher,
    client_fetcher,
)
from dmp_desktop.services.vsm_terminology import TerminologyService, index_path
from dmp_desktop.settings import Settings
from dmp_desktop.terminology import SourceInfo, System
from dmp_desktop.terminology.sources import REFERENCE_DATA_ENV
from dmp_desktop.terminology.vocabulary import use_index
from dmp_desktop.ui.vsm_editor import VsmEditor
from dmp_desktop.ui.vsm_import import TerminologyImportDialog
from dmp_desktop.usecases.vsm import vsm_author

if TYPE_CHECKING:
    from dmp_desktop.ui.main_window import MainWindow

log = logging.getLogger(__name__)


def author_for(practitioner: Practitioner, settings: Settings) -> CareProvider:
    """The professional of the card, acting for the structure of the card or of the settings
    (the use case's rule: :func:`dmp_desktop.usecases.vsm.vsm_author`)."""
    return vsm_author(practitioner, settings)


class VsmFeature(QObject):
    """Opens, keeps and closes the VSM editor of the main window."""

    def __init__(self, window: MainWindow, fetch_latest: LatestVsm | None = None) -> None:
        super().__init__(window)
        self.window = window
        # (ins) -> latest VSM of the DMP, run on a worker; None: start from the draft or empty.
        self.fetch_latest = fetch_latest
        self.autosave_ms = DEFAULT_AUTOSAVE_MS
        self.editor: VsmEditor | None = None
        self.import_dialog: TerminologyImportDialog | None = None
        self._terminology: TerminologyService | None = None
        self._drafts: DraftStore | None = None
        self._drafts_problem: str | None = None
        self._closed = False

        self.act_open = QAction(self.tr("&Synthèse médicale (VSM)…"), window)
        self.act_open.setShortcut(QKeySequence("Ctrl+Shift+S"))
        self.act_open.setStatusTip(
            self.tr("Rédiger ou mettre à jour la synthèse médicale du patient affiché")
        )
        self.act_open.triggered.connect(lambda: self.open_editor())
        self.act_open.setEnabled(False)
        window.addAction(self.act_open)  # works whichever widget has the focus

        card = window.card_service
        card.stateChanged.connect(self._on_card_state)
        card.sessionEnded.connect(self._on_session_ended)
        window.installEventFilter(self)

    # -- services, created on first use ---------------------------------------------------
    @property
    def settings(self) -> Settings:
        return self.window.settings

    def terminology(self) -> TerminologyService:
        if self._terminology is None:
            self._terminology = TerminologyService(
                index_path(self.settings), self.window.runner, self
            )
            use_index(index_path(self.settings))  # building a VSM checks its codes against it
            self._terminology.importEnded.connect(self._refresh_offer)
        return self._terminology

    def _refresh_offer(self) -> None:
        if self.editor is not None:
            self.offer_first_run_import(self.editor)

    def offer_first_run_import(self, editor: VsmEditor) -> None:
        """While only the bundled extract is installed, the editor offers the official lists
        (a banner with its button: nothing takes the focus from the doctor)."""

        def check(sources: list[SourceInfo]) -> None:
            imported = {info.system for info in sources if not info.starter}
            if self._closed or self.editor is not editor:
                return
            editor.vocabulary_offer.setVisible(not {System.CIM10, System.CIS} <= imported)

        self.terminology().sources(check)

    def drafts(self) -> DraftStore | None:
        if self._drafts is None and self._drafts_problem is None:
            try:
                self._drafts = DraftStore.open(self.settings)
            except DmpDesktopError as exc:
                log.warning("drafts unavailable: %s", type(exc).__name__)
                self._drafts_problem = self.tr(
                    "Les brouillons ne peuvent pas être enregistrés sur cet ordinateur : {why}"
                ).format(why=describe(exc))
        return self._drafts

    def fetcher(self) -> VsmFetcher | None:
        """How to get the latest VSM: the injected callable, else the DMP service's client."""
        if self.fetch_latest is not None:
            return blocking_fetcher(self.fetch_latest, self.window.runner)
        service = self.window.dmp_service
        if callable(getattr(service, "call", None)):
            return client_fetcher(service)
        return None

    # -- the editor -------------------------------------------------------------------------
    def patient_header(self, status: DmpStatus) -> PatientHeader:
        """The VSM header's patient: the qualified identity on screen (INSi: every birth
        first name, the birthplace) when there is one, else what the DMP's answer tells."""
        identity = getattr(self.window.workspace, "current_identity", None)
        if identity is not None and identity.qualified and identity.ins == status.ins:
            from dmp_desktop.identity.convert import to_document_patient

            return PatientHeader.from_identity(to_document_patient(identity))
        return PatientHeader.from_status(status)

    def shown_status(self) -> DmpStatus | None:
        panel = getattr(self.window.workspace, "status_panel", None)
        status = getattr(panel, "shown_status", None)
        return status if isinstance(status, DmpStatus) else None

    def open_editor(
        self, prefill: tuple[Callable[[MedicalSummary], MedicalSummary], str] | None = None
    ) -> VsmEditor | None:
        """Open the editor for the patient shown; ``prefill`` (a filler and its note in
        French) starts a new summary from lines of L'essentiel instead of the draft or the DMP."""
        window = self.window
        practitioner = window.card_service.practitioner
        if window.card_service.session is None or practitioner is None:
            return None
        if not can_author_summary(practitioner):
            window.statusBar().showMessage(
                self.tr(
                    "La synthèse médicale (VSM) est rédigée par un médecin, avec sa carte CPS."
                ),
                10000,
            )
            return None
        status = self.shown_status()
        if status is None:
            window.statusBar().showMessage(
                self.tr(
                    "Vérifiez d'abord le DMP du patient (Ctrl+L, INS, Entrée) : "
                    "la synthèse s'ouvre pour le patient affiché."
                ),
                10000,
            )
            return None
        if self.editor is not None:
            if prefill is not None:
                self.close_editor()  # its draft is saved; the doctor starts from chosen lines
            elif self.editor.current_header().ins == status.ins:
                window.stack.setCurrentWidget(self.editor)
                return self.editor
            self.close_editor()
        fetcher = self.fetcher()
        if status.state is not DmpState.ACTIVE or status.authorization is not Authorization.VALIDE:
            fetcher = None  # nothing to read in the DMP (or no right to)
        drafts = self.drafts()
        editor = VsmEditor(
            header=self.patient_header(status),
            author=author_for(practitioner, self.settings),
            runner=window.runner,
            terminology=self.terminology(),
            drafts=drafts,
            fetcher=fetcher,
            drafts_problem=self._drafts_problem,
            autosave_ms=self.autosave_ms,
            parent=window.stack,
        )
        editor.closeRequested.connect(self.close_editor)
        editor.importRequested.connect(self.show_import_dialog)
        self.editor = editor
        window.stack.addWidget(editor)
        window.stack.setCurrentWidget(editor)
        editor.firstRunImportRequested.connect(lambda: self.show_import_dialog(first_run=True))
        if prefill is not None:
            editor.start_prefilled(*prefill)
        else:
            editor.start()
        editor.focus_first_field()
        self.offer_first_run_import(editor)
        return editor

    def close_editor(self) -> None:
        """Save the draft, remove the pane, back to the patient's record."""
        editor, self.editor = self.editor, None
        if editor is None:
            return
        editor.shutdown()
        editor.clear()
        stack = self.window.stack
        logged_in = self.window.card_service.session is not None
        if stack.currentWidget() is editor and logged_in:
            stack.setCurrentWidget(self.window.workspace)
        stack.removeWidget(editor)
        editor.hide()
        editor.deleteLater()
        if logged_in and stack.currentWidget() is self.window.workspace:
            self.window.workspace.setFocus(Qt.FocusReason.OtherFocusReason)

    def show_import_dialog(self, *, first_run: bool = False) -> TerminologyImportDialog:
        if self.import_dialog is None:
            reference = os.environ.get(REFERENCE_DATA_ENV)
            self.import_dialog = TerminologyImportDialog(
                self.terminology(),
                self.window,
                first_run=first_run,
                reference_data=Path(reference) if reference else None,
            )
        self.import_dialog.show()
        self.import_dialog.raise_()
        return self.import_dialog

    # -- session and exit -----------------------------------------------------------------
    def _on_card_state(self, state: CardState) -> None:
        practitioner = self.window.card_service.practitioner
        logged_in = state is CardState.LOGGED_IN and self.window.card_service.session is not None
        medical = can_author_summary(practitioner)
        self.act_open.setEnabled(logged_in and medical)
        self.act_open.setVisible(practitioner is None or medical)  # not offered to staff cards

    def _on_session_ended(self, _reason: str) -> None:
        self.act_open.setEnabled(False)
        self.close_editor()

    def shutdown(self) -> None:
        """Save the draft and close the terminology index (idempotent)."""
        if self._closed:
            return
        self._closed = True
        self.close_editor()
        if self.import_dialog is not None:
            self.import_dialog.close()
        if self._terminology is not None:
            self._terminology.close()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.window and event.type() == QEvent.Type.Close:
            self.shutdown()
        return False

    def __repr__(self) -> str:  # never the patient
        return f"<VsmFeature open={self.editor is not None}>"
