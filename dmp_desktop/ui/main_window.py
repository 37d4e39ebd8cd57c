"""The main window: top bar, card screen or workspace, status bar, menus.

The window holds no state of its own about the card or the DMP: it shows what
the services say and calls their methods. When the session ends, for any
reason, it forgets the patient at once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import shiboken6
from PySide6.QtCore import QCoreApplication, QEvent, QObject, Qt, QTimer
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from dmp_desktop import LPS_NAME, __version__
from dmp_desktop.dates import fr_time, utc_now
from dmp_desktop.domain.patient import Ins, InsKind
from dmp_desktop.services.card_service import CardService, CardState
from dmp_desktop.services.dmp_service import ConnectionState, DmpService
from dmp_desktop.services.operations import Operation, OperationRunner
from dmp_desktop.services.session_resume import ResumePoint, SessionSeal
from dmp_desktop.settings import Settings
from dmp_desktop.ui.card_model import card_kind
from dmp_desktop.ui.card_screen import CardScreen
from dmp_desktop.ui.icons import icon
from dmp_desktop.ui.pin_dialog import PinDialog
from dmp_desktop.ui.style import Tone, restyle, tone_text_colour
from dmp_desktop.ui.widgets import ProgressIndicator, TopBar

# The workspace, the consultation and the features (upload, VSM, L'essentiel, record,
# patients) are imported where the window builds them (_build_features): with
# ``defer_features`` the card screen is painted before they are imported and built.
if TYPE_CHECKING:
    from dmp_desktop.domain.dmp_status import DmpStatus
    from dmp_desktop.domain.practitioner import Practitioner
    from dmp_desktop.services.consultation import (
        AccessMode,
        ConsultationService,
        DocumentList,
        PaneState,
    )
    from dmp_desktop.smartcard.card import CardInfo
    from dmp_desktop.ui.document_actions import DocumentActions
    from dmp_desktop.ui.emergency_dialog import EmergencyBanner
    from dmp_desktop.ui.essentials_feature import EssentialsFeature
    from dmp_desktop.ui.patient_finding import PatientFinding
    from dmp_desktop.ui.record_panel import RecordActions
    from dmp_desktop.ui.vsm_feature import VsmFeature
    from dmp_desktop.ui.workspace import Workspace

log = logging.getLogger(__name__)


def window_title(training: bool) -> str:
    """« Mode formation — DMP Desktop »: ends with the application's name, once.

    Qt adds the application display name to a window title that does not end
    with it (« DMP Desktop — mode formation — DMP Desktop » before).
    """
    if training:
        return QCoreApplication.translate("MainWindow", "Mode formation — {app}").format(
            app=LPS_NAME
        )
    return LPS_NAME


def _ins_kind(settings: Settings) -> InsKind:
    try:
        return InsKind[settings.ins_kind]
    except KeyError:
        return InsKind.NIR


WINDOW_MIN_WIDTH = 960
WINDOW_MIN_HEIGHT = 600


class _FirstPaint(QObject):
    """Calls ``then`` once, just after the window's first paint."""

    def __init__(self, window: QMainWindow, then: Callable[[], None]) -> None:
        super().__init__(window)
        self._then = then
        window.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Paint:
            watched.removeEventFilter(self)
            QTimer.singleShot(0, self._then)  # once this paint is done
        return False


class MainWindow(QMainWindow):
    """The window. With ``defer_features`` (the application's start), only the card
    screen, the top bar, the status bar and the File and Card menus are built at once;
    the workspace and the features are imported and built just after the first paint
    (:meth:`ensure_features`; ``features_built`` tells), and functions given to
    :meth:`after_features` run then (the entry point starts the card service there)."""

    # Longest wait for the first paint before the features are built anyway (hidden window).
    FEATURES_AT_LATEST_MS = 1000

    def __init__(
        self,
        settings: Settings,
        card_service: CardService,
        dmp_service: DmpService,
        runner: OperationRunner,
        parent: QWidget | None = None,
        *,
        consultation: ConsultationService | None = None,
        defer_features: bool = False,
    ) -> None:
        super().__init__(parent)
        self.settings = settings
        self.card_service = card_service
        self.dmp_service = dmp_service
        self.runner = runner
        self._given_consultation = consultation
        self.pin_dialog: PinDialog | None = None
        self.situation_dialog: Any = None  # SituationDialog while open
        # Where the settings were read from (the entry point sets it): choices made in
        # the window (the practice situation) are written back there. None: not saved.
        self.settings_file: Path | None = None
        self._closed = False
        self._synced_at: datetime | None = None  # when the list on screen was read
        # Where the doctor was when the card left, sealed by the card (session_resume).
        self.resume_seal = SessionSeal()
        self._resume_tabs: ResumePoint | None = None  # tabs to reopen once the list is there
        self.features_built = False
        self._after_features: list[Callable[[], None]] = []
        # The widget of this window that had the focus last: where it goes back after a
        # dialog closes (window managers do not always give it back; offscreen never does).
        self._last_focus: QWidget | None = None
        app = QApplication.instance()
        if isinstance(app, QApplication):
            app.focusChanged.connect(self._on_focus_changed)

        self.setWindowTitle(window_title(settings.training_mode))
        self.setWindowIcon(icon("dmp-desktop"))
        self.resize(1280, 800)
        # An explicit minimum: a pane's content (a wide table, a long label) is scrolled,
        # wrapped or clipped inside the window; it never makes the window grow past the screen.
        self.setMinimumSize(WINDOW_MIN_WIDTH, WINDOW_MIN_HEIGHT)

        self.top_bar = TopBar(settings.training_mode, self)
        self.card_screen = CardScreen(self)
        if not defer_features:  # built in the same order as ever (focus chain)
            self._build_workspace()
        self.stack = QStackedWidget(self)
        self.stack.addWidget(self.card_screen)
        central = QWidget(self)
        self._layout = QVBoxLayout(central)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setSpacing(0)
        self._layout.addWidget(self.top_bar)
        self._layout.addWidget(self.stack, 1)
        self.setCentralWidget(central)

        self._build_status_bar()
        self._build_card_actions()
        self._menus_before_features()
        if defer_features:
            card = card_service
            self.top_bar.set_card_state(card.state, card.practitioner, self._card_kind())
            self.card_screen.set_state(card.state, card.cards, card.selected_card, card.problem)
            self.act_login.setEnabled(False)
            self.act_logout.setEnabled(False)
            self._first_paint = _FirstPaint(self, self.ensure_features)
            QTimer.singleShot(self.FEATURES_AT_LATEST_MS, self.ensure_features)
        else:
            self.ensure_features()

    def after_features(self, then: Callable[[], None]) -> None:
        """Run ``then`` once the features are built (at once if they are)."""
        if self.features_built:
            then()
        else:
            self._after_features.append(then)

    def ensure_features(self) -> None:
        """Import and build the workspace and the features (once)."""
        if self.features_built or self._closed:
            return
        from dmp_desktop.ui.document_actions import DocumentActions
        from dmp_desktop.ui.essentials_feature import EssentialsFeature
        from dmp_desktop.ui.patient_finding import PatientFinding
        from dmp_desktop.ui.record_panel import RecordActions
        from dmp_desktop.ui.vsm_feature import VsmFeature

        self._given_consultation_or_new()
        if not hasattr(self, "workspace"):
            self._build_workspace()
        self.stack.addWidget(self.workspace)
        self._layout.insertWidget(1, self.emergency_banner)
        self._build_document_actions()
        # The medical summary editor (Ctrl+Shift+S); « L'essentiel » above the list (Ctrl+E);
        # uploads (Ctrl+U), outbox, document changes; the record's life (create,
        # authorisations, close); finding the patient (INS or name, INSi, « Mes patients »).
        self.vsm: VsmFeature = VsmFeature(self)
        self.essentials: EssentialsFeature = EssentialsFeature(self)
        self.alimentation: DocumentActions = DocumentActions(self)
        self.record: RecordActions = RecordActions(self)
        self.patients: PatientFinding = PatientFinding(self)
        self._menus_of_features()
        self._connect()
        self.features_built = True
        self._on_card_state(self.card_service.state)
        self._on_connection_state(self.dmp_service.connection_state)
        waiting, self._after_features = self._after_features, []
        for then in waiting:
            then()

    def _build_workspace(self) -> None:
        from dmp_desktop.ui.emergency_dialog import EmergencyBanner
        from dmp_desktop.ui.workspace import Workspace

        self.workspace: Workspace = Workspace(
            _ins_kind(self.settings), self._given_consultation_or_new(), self
        )
        self.emergency_banner: EmergencyBanner = EmergencyBanner(self)

    def _given_consultation_or_new(self) -> ConsultationService:
        if not hasattr(self, "consultation"):
            from dmp_desktop.services.consultation import ConsultationService

            self.consultation: ConsultationService = (
                self._given_consultation
                or ConsultationService(self.settings, self.dmp_service, parent=self)
            )
        return self.consultation

    # -- construction -------------------------------------------------------------------
    def _build_status_bar(self) -> None:
        bar = self.statusBar()
        self.connection_label = QLabel(self)
        self.connection_label.setObjectName("connectionLabel")
        self.progress = ProgressIndicator(self)
        parts = urlsplit(self.settings.host_url)
        where = parts.netloc or self.settings.host_url
        if self.settings.training_mode:
            host = self.tr("Hôte : formation ({host})").format(host=where)
        else:
            host = self.tr("Hôte : production ({host})").format(host=where)
        self.host_label = QLabel(host, self)
        self.host_label.setObjectName("hostLabel")
        bar.setStyleSheet("QStatusBar QLabel { padding: 2px 8px; }")
        self.sync_label = QLabel(self)
        self.sync_label.setObjectName("syncLabel")
        bar.addWidget(self.connection_label)
        bar.addWidget(self.sync_label)
        bar.addWidget(self.progress)
        bar.addPermanentWidget(self.host_label)

    def _open_settings(self) -> None:
        from dmp_desktop.ui.settings_dialog import open_settings_dialog

        open_settings_dialog(self)

    def _build_card_actions(self) -> None:
        """The actions of the card screen (built before the first paint)."""
        self.act_quit = QAction(self.tr("&Quitter"), self)
        self.act_quit.setShortcut(QKeySequence("Ctrl+Q"))
        self.act_quit.setMenuRole(QAction.MenuRole.QuitRole)
        self.act_quit.triggered.connect(self.close)

        self.act_settings = QAction(self.tr("&Paramètres…"), self)
        self.act_settings.setShortcut(QKeySequence("Ctrl+,"))
        self.act_settings.setMenuRole(QAction.MenuRole.PreferencesRole)
        self.act_settings.triggered.connect(self._open_settings)
        self.addAction(self.act_settings)

        self.act_login = QAction(icon("card"), self.tr("Se &connecter…"), self)
        self.act_login.setStatusTip(self.tr("Saisir le code PIN de votre carte"))
        self.act_login.triggered.connect(lambda: self._request_login(None))

        self.act_logout = QAction(self.tr("&Fermer la session"), self)
        self.act_logout.setStatusTip(self.tr("Fermer la session et effacer le patient de l'écran"))
        self.act_logout.triggered.connect(self.card_service.logout)

        self.act_cancel = QAction(self.tr("&Annuler l'opération en cours"), self)
        self.act_cancel.setShortcut(QKeySequence(Qt.Key.Key_Escape))
        self.act_cancel.setEnabled(False)
        self.act_cancel.triggered.connect(self._cancel_current)

        self.act_shortcuts = QAction(self.tr("&Raccourcis clavier"), self)
        self.act_shortcuts.triggered.connect(self._show_shortcuts)
        self.act_about = QAction(self.tr("À &propos de DMP Desktop"), self)
        self.act_about.setMenuRole(QAction.MenuRole.AboutRole)
        self.act_about.triggered.connect(self._show_about)

    def _build_document_actions(self) -> None:
        """The actions of the workspace (patient, documents), built with it."""
        self.act_focus_ins = QAction(icon("patient"), self.tr("Saisir l'&INS du patient"), self)
        self.act_focus_ins.setShortcut(QKeySequence("Ctrl+L"))
        self.act_focus_ins.triggered.connect(self.workspace.focus_ins)

        self.act_check = QAction(self.tr("&Vérifier le DMP"), self)
        self.act_check.setStatusTip(
            self.tr("Vérifier le DMP du patient (Entrée dans le champ INS)")
        )
        self.act_check.triggered.connect(self.workspace.patient_pane.request_check)

        self.act_refresh = QAction(self.tr("A&ctualiser"), self)
        self.act_refresh.setShortcut(QKeySequence(QKeySequence.StandardKey.Refresh))
        self.act_refresh.setStatusTip(
            self.tr("Actualiser la liste des documents (ou vérifier le DMP du patient)")
        )
        self.act_refresh.triggered.connect(self._refresh)

        self.act_filter = QAction(self.tr("&Filtrer la liste…"), self)
        self.act_filter.setShortcut(QKeySequence(QKeySequence.StandardKey.Find))
        self.act_filter.triggered.connect(self.workspace.focus_filter)
        self.act_all_periods = QAction(self.tr("Toutes &les périodes"), self)
        self.act_all_periods.setShortcut(QKeySequence("Ctrl+Shift+T"))
        self.act_all_periods.setStatusTip(
            self.tr("Afficher aussi les documents de plus de 2 ans (période « Tout »)")
        )
        self.act_all_periods.triggered.connect(self.workspace.widen_period)
        self.act_previous_doc = QAction(self.tr("Document &précédent"), self)
        self.act_previous_doc.setShortcut(QKeySequence("Alt+Up"))
        self.act_previous_doc.triggered.connect(lambda: self.workspace.step_document(-1))
        self.act_next_doc = QAction(self.tr("Document s&uivant"), self)
        self.act_next_doc.setShortcut(QKeySequence("Alt+Down"))
        self.act_next_doc.triggered.connect(lambda: self.workspace.step_document(1))
        self.act_close_tab = QAction(self.tr("Fermer l'&onglet"), self)
        self.act_close_tab.setShortcut(QKeySequence("Ctrl+W"))
        self.act_close_tab.triggered.connect(self.workspace.viewer.close_current)
        self.act_next_tab = QAction(self.tr("Onglet suiva&nt"), self)
        self.act_next_tab.setShortcut(QKeySequence("Ctrl+Tab"))
        self.act_next_tab.triggered.connect(lambda: self.workspace.viewer.next_tab(1))
        self.act_previous_tab = QAction(self.tr("Onglet pré&cédent"), self)
        self.act_previous_tab.setShortcut(QKeySequence("Ctrl+Shift+Tab"))
        self.act_previous_tab.triggered.connect(lambda: self.workspace.viewer.next_tab(-1))
        self.act_zoom_in = QAction(self.tr("Zoom &avant"), self)
        self.act_zoom_in.setShortcut(QKeySequence(QKeySequence.StandardKey.ZoomIn))
        self.act_zoom_in.triggered.connect(self.workspace.viewer.zoom_in)
        self.act_zoom_out = QAction(self.tr("&Zoom arrière"), self)
        self.act_zoom_out.setShortcut(QKeySequence(QKeySequence.StandardKey.ZoomOut))
        self.act_zoom_out.triggered.connect(self.workspace.viewer.zoom_out)
        self.act_print = QAction(self.tr("&Imprimer le document…"), self)
        self.act_print.setShortcut(QKeySequence(QKeySequence.StandardKey.Print))
        self.act_print.triggered.connect(self.workspace.viewer.print_current)
        self.act_emergency = QAction(self.tr("Accès en &urgence…"), self)
        self.act_emergency.setStatusTip(
            self.tr("Accéder au DMP sans autorisation : bris de glace ou centre 15")
        )
        self.act_emergency.triggered.connect(self.workspace.request_emergency)
        self.document_actions = [
            self.act_refresh,
            self.act_filter,
            self.act_all_periods,
            self.act_previous_doc,
            self.act_next_doc,
            self.act_close_tab,
            self.act_next_tab,
            self.act_previous_tab,
            self.act_zoom_in,
            self.act_zoom_out,
            self.act_print,
        ]

        for action in (self.act_focus_ins, self.act_check, self.act_cancel, *self.document_actions):
            self.addAction(action)  # shortcuts work whichever widget has the focus

    def _menus_before_features(self) -> None:
        menu_bar = self.menuBar()
        file_menu = menu_bar.addMenu(self.tr("&Fichier"))
        file_menu.addAction(self.act_settings)
        file_menu.addAction(self.act_quit)
        card_menu = menu_bar.addMenu(self.tr("&Carte"))
        card_menu.addAction(self.act_login)
        card_menu.addAction(self.act_logout)

    def _menus_of_features(self) -> None:
        menu_bar = self.menuBar()
        patient_menu = menu_bar.addMenu(self.tr("&Patient"))
        patient_menu.addAction(self.act_focus_ins)
        patient_menu.addAction(self.act_check)
        self.patients.fill_menu(patient_menu)
        patient_menu.addAction(self.vsm.act_open)
        patient_menu.addAction(self.act_refresh)
        patient_menu.addSeparator()
        patient_menu.addAction(self.act_emergency)
        patient_menu.addSeparator()
        patient_menu.addAction(self.act_cancel)
        documents_menu = menu_bar.addMenu(self.tr("&Documents"))
        self.alimentation.fill_menu(documents_menu)
        documents_menu.addAction(self.act_filter)
        documents_menu.addAction(self.act_all_periods)
        documents_menu.addAction(self.act_previous_doc)
        documents_menu.addAction(self.act_next_doc)
        documents_menu.addSeparator()
        documents_menu.addAction(self.act_close_tab)
        documents_menu.addAction(self.act_next_tab)
        documents_menu.addAction(self.act_previous_tab)
        documents_menu.addAction(self.act_zoom_in)
        documents_menu.addAction(self.act_zoom_out)
        documents_menu.addSeparator()
        documents_menu.addAction(self.act_print)
        record_menu = menu_bar.addMenu(self.tr("D&ossier"))
        self.record.fill_menu(record_menu)
        help_menu = menu_bar.addMenu(self.tr("&Aide"))
        help_menu.addAction(self.act_shortcuts)
        help_menu.addAction(self.act_about)

    def _connect(self) -> None:
        card = self.card_service
        card.stateChanged.connect(self._on_card_state)
        card.cardsChanged.connect(self._on_cards_changed)
        card.pinRequested.connect(self._on_pin_requested)
        card.loginFailed.connect(self._on_login_failed)
        card.loggedIn.connect(self._on_logged_in)
        card.situationRequested.connect(self._on_situation_requested)
        card.sessionEnded.connect(self._on_session_ended)

        dmp = self.dmp_service
        dmp.connectionChanged.connect(self._on_connection_state)
        dmp.connectionFailed.connect(self._on_connection_failed)
        dmp.statusReady.connect(self._on_status_ready)
        dmp.statusFailed.connect(self._on_status_failed)
        dmp.busyChanged.connect(self._on_busy_changed)

        self.runner.progressShown.connect(self._on_progress_shown)
        self.runner.progressHidden.connect(self._on_progress_hidden)
        self.progress.cancelRequested.connect(self.runner.cancel)

        self.card_screen.loginRequested.connect(self._request_login)
        self.card_screen.settingsRequested.connect(self.act_settings.trigger)
        self.card_screen.cardSelected.connect(card.select_card)
        self.workspace.patient_pane.checkRequested.connect(self._on_check_requested)
        self.workspace.patientCleared.connect(self.consultation.close_patient)

        consultation = self.consultation
        consultation.accessChanged.connect(self._on_access_changed)
        consultation.authorizationRecorded.connect(self._on_authorization_recorded)
        consultation.documentsReady.connect(self._on_documents_ready)
        consultation.documentsFailed.connect(self._on_documents_failed)
        consultation.stateChanged.connect(self._on_consultation_state)
        self.workspace.viewer.tabsChanged.connect(lambda _n: self._update_document_actions())

    # -- card ---------------------------------------------------------------------------
    def _on_card_state(self, state: CardState) -> None:
        card = self.card_service
        logged_in = state is CardState.LOGGED_IN and card.session is not None
        self.top_bar.set_card_state(state, card.practitioner, self._card_kind())
        self.card_screen.set_state(state, card.cards, card.selected_card, card.problem)
        self.act_login.setEnabled(state is CardState.CARD_PRESENT)
        self.act_logout.setEnabled(logged_in)
        self.act_focus_ins.setEnabled(logged_in)
        self.act_check.setEnabled(logged_in)
        self.act_refresh.setEnabled(logged_in)
        self._update_document_actions()
        if logged_in:
            if self.stack.currentWidget() is not self.workspace:
                self.workspace.clear()
                self.stack.setCurrentWidget(self.workspace)
            self.card_screen.clear_notice()
            self.activateWindow()  # the PIN dialog just closed: ready for the INS
            self.workspace.focus_ins()
        else:
            self._show_card_screen()

    def _card_kind(self) -> tuple[str, ...]:
        """« CPS » or « CPE », one per card in the readers before login (the top bar names
        what is inserted); the card chosen otherwise (locked, logging in)."""
        card = self.card_service
        if card.state is CardState.CARD_PRESENT and len(card.cards) > 1:
            return tuple(card_kind(c) for c in card.cards)
        return (card_kind(card.selected_card or (card.cards[0] if card.cards else None)),)

    # -- focus ------------------------------------------------------------------------------
    def _on_focus_changed(self, old: QWidget | None, new: QWidget | None) -> None:
        if self._closed or not shiboken6.isValid(self):
            return
        if new is not None and new.window() is self:
            self._last_focus = new
        elif (
            new is None and old is not None and shiboken6.isValid(old) and old.window() is not self
        ):
            QTimer.singleShot(0, self._restore_focus)  # a dialog closed: focus nowhere

    def _restore_focus(self) -> None:
        """Back where the doctor was (or the sensible place of the page shown)."""
        if self._closed or not shiboken6.isValid(self) or not self.isVisible():
            return
        if QApplication.activeModalWidget() is not None or QApplication.focusWidget() is not None:
            return
        others = [
            w
            for w in QApplication.topLevelWidgets()
            if w is not self and w.isVisible() and isinstance(w, QDialog)
        ]
        if others:
            return  # another window of ours is open: it keeps the focus
        target = self._last_focus
        usable = (
            target is not None
            and shiboken6.isValid(target)
            and target.window() is self
            and target.isVisible()
            and target.isEnabled()
        )
        self.activateWindow()
        if usable and target is not None:
            target.setFocus(Qt.FocusReason.OtherFocusReason)
        elif self.stack.currentWidget() is self.card_screen:
            self.card_screen.focus_default()
        elif not self.features_built:
            return
        elif self.consultation.state.name == "DOCUMENTS":
            self.workspace.documents_pane.focus_list()
        else:
            self.workspace.focus_ins()

    def _show_card_screen(self) -> None:
        if self.stack.currentWidget() is not self.card_screen:
            self._forget_patient()
            self.stack.setCurrentWidget(self.card_screen)
            self.card_screen.focus_default()

    def _on_cards_changed(self, cards: list[CardInfo]) -> None:
        card = self.card_service
        self.card_screen.set_cards(cards, card.selected_card)
        self.card_screen.set_state(card.state, card.cards, card.selected_card, card.problem)
        self.top_bar.set_card_state(card.state, card.practitioner, self._card_kind())
        dialog = self.pin_dialog
        if dialog is not None and all(c.key != dialog.card.key for c in cards):
            self._close_pin_dialog()  # its card was pulled out

    def _request_login(self, card: CardInfo | None) -> None:
        self.card_screen.clear_notice()
        self.card_service.request_login(card or self.card_screen.selected_card())

    def _on_pin_requested(self, card: CardInfo, tries_left: int) -> None:
        self._close_pin_dialog()
        service = self.card_service

        def hand_over(pin: str | None) -> None:  # None: typed on the reader's keypad
            service.submit_pin(card, pin)

        dialog = PinDialog(card, tries_left, hand_over, service.last_pin_error, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.finished.connect(lambda _result: self._forget_pin_dialog(dialog))
        self.pin_dialog = dialog
        dialog.open()

    def _forget_pin_dialog(self, dialog: PinDialog) -> None:
        if self.pin_dialog is dialog:
            self.pin_dialog = None

    def _close_pin_dialog(self) -> None:
        dialog, self.pin_dialog = self.pin_dialog, None
        if dialog is not None:
            dialog.reject()

    def _on_login_failed(self, message: str) -> None:
        self._close_pin_dialog()  # a PIN-pad dialog stays open until the card answers
        self.card_screen.set_notice(message, Tone.ERROR)

    def _on_logged_in(self, practitioner: Practitioner) -> None:
        self._close_pin_dialog()
        self.consultation.set_practitioner(practitioner)
        self._arm_resume()

    # -- the card back in the reader: where the doctor was ---------------------------------
    def _arm_resume(self) -> None:
        """The card signs the seal's challenge (worker): the key that seals, and opens, a
        resume point. A card that cannot sign only loses the resumption."""
        session = self.card_service.session
        seal = self.resume_seal
        sign = getattr(session, "sign_auth_pkcs1", None)
        if session is None or sign is None:
            seal.forget()
            return

        def derived(key: bytes) -> None:
            if self.card_service.session is not session:
                return  # the card left meanwhile
            point = seal.open(key) if seal.has_point else None
            seal.arm(key)
            if point is not None:
                self._resume(point)

        def failed(exc: BaseException) -> None:
            log.info("resume seal unavailable: %s", type(exc).__name__)
            seal.forget()

        self.runner.run(
            Operation(
                self.tr("Préparation de la carte"),
                lambda: seal.derive(session),  # type: ignore[arg-type]
                derived,
                failed,
                silent=True,
            )
        )

    def _resume_point(self) -> ResumePoint | None:
        ins = self.consultation.ins
        if ins is None:
            return None
        current = self.workspace.viewer.current_tab()
        return ResumePoint(
            ins.value,
            ins.kind.value,
            tuple(tab.entry.unique_id for tab in self.workspace.viewer.all_tabs()),
            current.entry.unique_id if current is not None else None,
        )

    def _resume(self, point: ResumePoint) -> None:
        """The same card is back: the same patient, then the same documents once listed."""
        try:
            ins = Ins(point.ins, InsKind(point.ins_root))
        except ValueError:
            return
        self._resume_tabs = point if point.documents else None
        self.workspace.patient_pane.show_patient(ins)
        self._on_check_requested(ins)
        self.statusBar().showMessage(
            self.tr("Carte remise : retour au dossier que vous consultiez."), 8000
        )

    def _reopen_tabs(self, listing: DocumentList) -> None:
        point, self._resume_tabs = self._resume_tabs, None
        if point is None or listing.ins.value != point.ins:
            return
        entries = {entry.unique_id: entry for entry in listing.entries}
        for unique_id in point.documents:
            entry = entries.get(unique_id)
            if entry is not None:
                self.workspace.open_document(entry)
        viewer = self.workspace.viewer
        for index, tab in enumerate(viewer.all_tabs()):
            if tab.entry.unique_id == point.current:
                viewer.tabs.setCurrentIndex(index)

    def _on_situation_requested(self, situations: tuple[Any, ...]) -> None:
        """The card holds several practice situations: ask which one (remembered)."""
        from dmp_desktop.ui.situation_dialog import SituationDialog

        self._close_pin_dialog()
        dialog = SituationDialog(situations, self.settings.structure_id, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.chosen.connect(self._on_situation_chosen)
        self.situation_dialog = dialog
        dialog.open()

    def _on_situation_chosen(self, structure_id: str | None) -> None:
        self.situation_dialog = None
        if structure_id is not None and structure_id != self.settings.structure_id:
            from dmp_desktop.settings import save_settings

            self.settings.structure_id = structure_id  # offered first next time
            settings, path = self.settings, self.settings_file
            if path is not None:
                self.runner.run(
                    Operation(
                        self.tr("Enregistrement des paramètres"),
                        lambda: save_settings(settings, path),
                        silent=True,
                    )
                )
        self.card_service.choose_situation(structure_id)

    def _on_session_ended(self, reason: str) -> None:
        """The card left (or the user closed the session): nothing of the patient stays.

        Only a sealed resume point: the same card, put back, opens it (session_resume)."""
        self._resume_tabs = None
        self.resume_seal.seal(self._resume_point() if self.card_service.card_removed else None)
        self._close_pin_dialog()
        self._forget_patient()
        self.consultation.end_session()
        self._show_card_screen()
        self.top_bar.set_card_state(self.card_service.state, None, self._card_kind())
        self.act_logout.setEnabled(False)
        self.act_focus_ins.setEnabled(False)
        self.act_check.setEnabled(False)
        self.act_refresh.setEnabled(False)
        self._update_document_actions()
        self.card_screen.set_notice(reason, Tone.INFO)

    def _forget_patient(self) -> None:
        """Nothing of the patient stays: widgets, models, documents in memory, banner."""
        self.consultation.close_patient()
        self.workspace.clear()
        self.emergency_banner.clear()
        self._set_sync_text("")

    # -- DMP ----------------------------------------------------------------------------
    def _on_check_requested(self, ins: Ins) -> None:
        if self.card_service.session is None:
            return
        if self.consultation.ins is not None and self.consultation.ins != ins:
            self.consultation.close_patient()  # another patient: nothing of the previous one
            self.workspace.clear_patient_view()
            self._set_sync_text("")
        self.workspace.begin_check(ins)
        self.dmp_service.check_status(ins)

    def _refresh(self) -> None:
        """F5: the list of documents again (what changed), or the DMP status."""
        current = self.workspace.patient_pane.current_ins()
        if current is not None and current == self.consultation.ins:
            if self.consultation.refresh():
                return
        self.workspace.patient_pane.request_check()

    def _on_authorization_recorded(self, ins: Ins) -> None:
        """The authorisation is recorded: ask the DMP again, it says what we may now do."""
        self.statusBar().showMessage(self.tr("Autorisation d'accès enregistrée dans le DMP."), 8000)
        if self.workspace.patient_pane.current_ins() == ins:
            self._on_check_requested(ins)

    def _on_access_changed(self, access: AccessMode) -> None:
        self.emergency_banner.show_access(access)

    def _set_sync_text(self, text: str, tone: Tone | None = None) -> None:
        self.sync_label.setText(text)
        self.sync_label.setAccessibleName(text)
        colour = tone_text_colour(tone, self.palette()).name() if tone is not None else ""
        restyle(self.sync_label, f"color: {colour};" if colour else "")

    def _on_documents_ready(self, listing: DocumentList) -> None:
        """When the list on screen was last read from the DMP (this patient's list only)."""
        if listing.ins != self.consultation.ins:
            return
        if self._resume_tabs is not None:
            self._reopen_tabs(listing)
        self._synced_at = utc_now()
        self._set_sync_text(
            self.tr("Documents synchronisés à {time}").format(time=fr_time(self._synced_at))
        )

    def _on_documents_failed(self, _message: str) -> None:
        """The refresh failed: the list shown is the older one, and the bar says so."""
        synced = self._synced_at
        if self.consultation.documents is None or synced is None:
            self._set_sync_text("")
            return
        self._set_sync_text(
            self.tr("Liste du DMP de {time}, non actualisée").format(time=fr_time(synced)),
            Tone.WARNING,
        )

    def _on_consultation_state(self, state: PaneState) -> None:
        from dmp_desktop.services.consultation import PaneState

        if state is not PaneState.DOCUMENTS:
            self._synced_at = None
            self._set_sync_text("")  # no list on screen: nothing was synchronised
        self._update_document_actions()

    def _update_document_actions(self) -> None:
        from dmp_desktop.services.consultation import PaneState

        logged_in = self.card_service.session is not None
        listing = logged_in and self.consultation.state is PaneState.DOCUMENTS
        tabs = logged_in and self.workspace.viewer.count > 0
        self.act_filter.setEnabled(listing)
        self.act_all_periods.setEnabled(listing)
        self.act_previous_doc.setEnabled(listing)
        self.act_next_doc.setEnabled(listing)
        for action in (
            self.act_close_tab,
            self.act_next_tab,
            self.act_previous_tab,
            self.act_zoom_in,
            self.act_zoom_out,
            self.act_print,
        ):
            action.setEnabled(tabs)
        self.act_emergency.setEnabled(logged_in and self.consultation.may_use_emergency_access)

    def _on_busy_changed(self, busy: bool) -> None:
        if not busy:
            self.workspace.end_check()

    def _on_status_ready(self, status: DmpStatus) -> None:
        if self.workspace.show_status(status):
            self.consultation.show_status(status)

    def _on_status_failed(self, message: str) -> None:
        self.workspace.show_error(message)

    def _on_connection_state(self, state: ConnectionState) -> None:
        texts = {
            ConnectionState.OFF: ("○", self.tr("Non connecté au DMP"), None),
            ConnectionState.IDLE: ("○", self.tr("DMP : prêt"), None),
            ConnectionState.CONNECTING: ("◌", self.tr("Connexion au DMP…"), None),
            ConnectionState.READY: ("●", self.tr("DMP : prêt"), Tone.OK),
            ConnectionState.CONNECTED: ("●", self.tr("Connecté au DMP"), Tone.OK),
            ConnectionState.FAILED: ("✖", self.tr("DMP injoignable"), Tone.ERROR),
        }
        symbol, text, tone = texts[state]
        self.connection_label.setText(f"{symbol} {text}")
        colour = tone_text_colour(tone, self.palette()).name() if tone is not None else ""
        restyle(self.connection_label, f"color: {colour};" if colour else "")
        self.connection_label.setAccessibleName(text)
        if state is not ConnectionState.FAILED:
            self.connection_label.setToolTip("")

    def _on_connection_failed(self, message: str) -> None:
        self.connection_label.setToolTip(message)
        self.statusBar().showMessage(message, 10000)

    # -- progress -----------------------------------------------------------------------
    def _on_progress_shown(self, op: Operation[Any]) -> None:
        self.progress.add(op)
        self.act_cancel.setEnabled(self.progress.current is not None)

    def _on_progress_hidden(self, op: Operation[Any]) -> None:
        self.progress.remove(op)
        self.act_cancel.setEnabled(self.progress.current is not None)

    def _cancel_current(self) -> None:
        op = self.progress.current
        if op is not None and op.cancellable:
            self.runner.cancel(op)

    # -- help ---------------------------------------------------------------------------
    def _show_message(self, title: str, text: str) -> None:
        box = QMessageBox(QMessageBox.Icon.Information, title, text, parent=self)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.setTextFormat(Qt.TextFormat.PlainText)
        box.open()

    def _show_shortcuts(self) -> None:
        self._show_message(
            self.tr("Raccourcis clavier"),
            self.tr(
                "Ctrl+L : saisir l'INS du patient, ou son nom et sa date de naissance\n"
                "Entrée : vérifier le DMP du patient, puis ouvrir le document choisi\n"
                "↓ dans le champ patient : choisir parmi les patients proposés\n"
                "Ctrl+I : rechercher l'INS avec les traits d'identité (INSi)\n"
                "Ctrl+Shift+L : mes patients DMP\n"
                "F5 : actualiser la liste des documents\n"
                "Ctrl+F : filtrer la liste (ou chercher dans le document ouvert)\n"
                "Ctrl+Shift+T : afficher les documents de toutes les périodes\n"
                "Ctrl+U : envoyer un document (ou glissez le fichier sur le dossier)\n"
                "Ctrl+Shift+U : remplacer le document choisi par une nouvelle version\n"
                "Alt+↑ / Alt+↓ : document précédent / suivant\n"
                "Ctrl+W : fermer l'onglet · Ctrl+Tab : onglet suivant\n"
                "Ctrl+P : imprimer le document\n"
                "Échap : annuler l'opération en cours\n"
                "Ctrl+Q : quitter"
            ),
        )

    def _show_about(self) -> None:
        self._show_message(
            self.tr("À propos de DMP Desktop"),
            self.tr(
                "{app} {version}\n\nClient du Dossier Médical Partagé pour les "
                "professionnels de santé, avec la carte CPS."
            ).format(app=LPS_NAME, version=__version__),
        )

    # -- closing ------------------------------------------------------------------------
    def shutdown(self) -> None:
        """Stop the services (idempotent): session closed, card thread released."""
        if self._closed:
            return
        self._closed = True
        self._close_pin_dialog()
        if self.features_built:
            self._forget_patient()
            self.consultation.end_session()
        self.dmp_service.stop(wait=True)
        self.card_service.shutdown()
        self.runner.shutdown()

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange and hasattr(self, "connection_label"):
            # Dark mode switched on or off: colours chosen for the old palette are redone.
            self._on_connection_state(self.dmp_service.connection_state)
            self.top_bar.set_card_state(
                self.card_service.state, self.card_service.practitioner, self._card_kind()
            )

    def closeEvent(self, event: QCloseEvent) -> None:
        self.shutdown()
        super().closeEvent(event)
