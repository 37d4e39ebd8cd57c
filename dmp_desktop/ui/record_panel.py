"""The record's life in the window: the « Dossier » menu and the patient banner's buttons.

The main window creates one :class:`RecordActions`. It offers, for the patient
on screen:

- « Créer le DMP… » when TD0.2 says the patient has none (menu and a button in
  the patient banner): the wizard (:mod:`dmp_desktop.ui.record_wizard`); on
  success the patient is checked again and the new record shows;
- « Autorisations… »: the professionals authorised and blocked (TD1.6), the
  médecin traitant DMP marked; the médecin traitant may block or unblock a
  professional there on the patient's behalf (training extension);
- « Fermer le DMP… » at the patient's request (TD1.4, reason required, the
  button names the patient), « Réactiver le DMP… » when it is closed (TD1.2);
- « Données administratives… » (the dialog of ``ui/admin_data_dialog.py``);
- « Connexion secrète (patient mineur) »: at a minor's request, every later
  request about them in this card session carries the official VIHF
  confidentiality code (invisible to the legal representatives); unticked,
  the requests are ordinary again.

Actions that do not apply stay visible but disabled, with a tooltip saying why.
Every exchange runs through :class:`~dmp_desktop.services.records.RecordService`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMenu,
    QMessageBox,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from dmp_desktop.dmp.td12_14 import (
    CLOSURE_DECEASED,
    CLOSURE_OTHER,
    CLOSURE_PATIENT_REQUEST,
)
from dmp_desktop.dmp.td16 import STATUS_BLOCKED, PatientAuthorization
from dmp_desktop.domain.dmp_status import DmpState, DmpStatus
from dmp_desktop.domain.patient import Ins
from dmp_desktop.services import records
from dmp_desktop.services.records import RecordService
from dmp_desktop.ui.authorizations_model import (
    AccessFilter,
    AuthorizationsModel,
    AuthorizationsProxy,
    Column,
    professional_name,
)
from dmp_desktop.ui.confirm import open_confirmation
from dmp_desktop.ui.record_wizard import RecordWizard
from dmp_desktop.ui.style import Tone, make_primary, scaled_font, set_tone
from dmp_desktop.usecases.records import (
    MAX_CLOSURE_REASON,
    MIN_CLOSURE_REASON,
    closure_problem,
    record_action_refusals,
)

if TYPE_CHECKING:
    from dmp_desktop.ui.main_window import MainWindow

MIN_REASON_LENGTH = MIN_CLOSURE_REASON  # the use case's rule (usecases.records)
NOTICE_MS = 10000
KEYS = ("create", "authorizations", "close", "reactivate", "admin_data", "secret")


def patient_label(status: DmpStatus | None) -> str:
    if status is None:
        return ""
    family = (status.patient_family_name or "").upper()
    given = (status.patient_given_name or "").title()
    return " ".join(p for p in (family, given) if p) or status.ins.value


class AuthorizationsDialog(QDialog):
    """TD1.6 for one patient; block / unblock for the médecin traitant."""

    refreshRequested = Signal()
    blockRequested = Signal(object, bool)  # PatientAuthorization, block

    def __init__(
        self, ins: Ins, patient: str, treating: bool, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("authorizationsDialog")
        self.ins = ins
        self.treating = treating
        self.setWindowTitle(self.tr("Autorisations d'accès — {patient}").format(patient=patient))
        self.resize(860, 460)
        title = QLabel(
            self.tr("Professionnels autorisés et bloqués sur le DMP de {patient}").format(
                patient=patient
            ),
            self,
        )
        title.setFont(scaled_font(self, 1.2, bold=True))
        title.setTextFormat(Qt.TextFormat.PlainText)
        legend = QLabel(
            self.tr(
                "★ Médecin traitant DMP : il voit les documents masqués et ne peut pas être "
                "bloqué. Un professionnel bloqué n'a plus aucun accès, même en urgence."
            ),
            self,
        )
        legend.setWordWrap(True)
        self.model = AuthorizationsModel(self)
        self.proxy = AuthorizationsProxy(self)
        self.proxy.setSourceModel(self.model)
        self.filter_edit = QLineEdit(self)
        self.filter_edit.setObjectName("authorizationsFilter")
        self.filter_edit.setPlaceholderText(self.tr("Nom ou n° RPPS"))
        self.filter_edit.setClearButtonEnabled(True)
        self.filter_edit.setAccessibleName(self.tr("Filtrer les professionnels"))
        self.access_combo = QComboBox(self)
        self.access_combo.setObjectName("authorizationsAccess")
        self.access_combo.setAccessibleName(self.tr("Accès"))
        for label, value in (
            (self.tr("Tous"), AccessFilter.ALL),
            (self.tr("Autorisés"), AccessFilter.AUTHORISED),
            (self.tr("Bloqués"), AccessFilter.BLOCKED),
        ):
            self.access_combo.addItem(label, value)
        filter_label = QLabel(self.tr("&Filtrer :"), self)
        filter_label.setBuddy(self.filter_edit)
        access_label = QLabel(self.tr("A&ccès :"), self)
        access_label.setBuddy(self.access_combo)
        filters = QHBoxLayout()
        filters.addWidget(filter_label)
        filters.addWidget(self.filter_edit, 1)
        filters.addWidget(access_label)
        filters.addWidget(self.access_combo)

        self.table = QTableView(self)
        self.table.setObjectName("authorizationsTable")
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(-1, Qt.SortOrder.AscendingOrder)  # the model's order
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.setAlternatingRowColors(True)
        self.table.setAccessibleName(self.tr("Professionnels autorisés et bloqués"))
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(int(Column.NAME), QHeaderView.ResizeMode.Stretch)
        for column in (Column.SPECIALTY, Column.ACCESS, Column.TREATING, Column.SINCE):
            header.setSectionResizeMode(int(column), QHeaderView.ResizeMode.ResizeToContents)

        self.notice = QLabel(self)
        self.notice.setObjectName("authorizationsNotice")
        self.notice.setWordWrap(True)
        self.notice.setTextFormat(Qt.TextFormat.PlainText)
        self.block_button = QPushButton(self.tr("&Bloquer ce professionnel…"), self)
        self.block_button.setObjectName("blockButton")
        self.unblock_button = QPushButton(self.tr("&Débloquer…"), self)
        self.unblock_button.setObjectName("unblockButton")
        self.refresh_button = QPushButton(self.tr("&Actualiser"), self)
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        close.button(QDialogButtonBox.StandardButton.Close).setText(self.tr("Fermer"))
        close.rejected.connect(self.reject)
        for button in (self.block_button, self.unblock_button, self.refresh_button):
            button.setAutoDefault(False)
        buttons = QHBoxLayout()
        buttons.addWidget(self.block_button)
        buttons.addWidget(self.unblock_button)
        buttons.addStretch(1)
        buttons.addWidget(self.refresh_button)
        buttons.addWidget(close)

        layout = QVBoxLayout(self)
        layout.addWidget(title)
        layout.addWidget(legend)
        layout.addLayout(filters)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.notice)
        layout.addLayout(buttons)

        self.filter_edit.textChanged.connect(self.proxy.set_text)
        self.access_combo.currentIndexChanged.connect(
            lambda _i: self.proxy.set_access(self.access_combo.currentData())
        )
        self.table.selectionModel().currentRowChanged.connect(lambda *_a: self.update_buttons())
        self.proxy.modelReset.connect(self.update_buttons)
        self.proxy.layoutChanged.connect(self.update_buttons)
        self.refresh_button.clicked.connect(self.refreshRequested)
        self.block_button.clicked.connect(lambda: self._request(True))
        self.unblock_button.clicked.connect(lambda: self._request(False))
        set_tone(self.notice, Tone.INFO, self.tr("Chargement de la liste…"))
        self.update_buttons()

    def current(self) -> PatientAuthorization | None:
        return self.proxy.entry_at(self.table.currentIndex())

    def set_items(self, items: list[PatientAuthorization], notice: str | None = None) -> None:
        selected = self.current()
        self.model.set_items(items)
        row = self.model.row_of(selected.national_id) if selected is not None else 0
        if self.proxy.rowCount() > 0:
            index = self.proxy.mapFromSource(self.model.index(max(row, 0), 0))
            if index.isValid():
                self.table.setCurrentIndex(index)
        if notice:
            set_tone(self.notice, Tone.OK, notice)
        elif not items:
            set_tone(self.notice, Tone.INFO, self.tr("Aucun professionnel autorisé ni bloqué."))
        else:
            set_tone(
                self.notice,
                Tone.NEUTRAL,
                self.tr("{n} professionnel(s) autorisé(s) ou bloqué(s).").format(n=len(items)),
            )
        self.update_buttons()

    def show_error(self, message: str) -> None:
        set_tone(self.notice, Tone.ERROR, message)
        self.update_buttons()

    def reasons(self) -> dict[str, str | None]:
        """Why block / unblock are not possible now (French), or None."""
        item = self.current()
        if not self.treating:
            why = self.tr(
                "Seul le médecin traitant DMP du patient peut bloquer ou débloquer un "
                "professionnel en son nom."
            )
            return {"block": why, "unblock": why}
        if item is None:
            why = self.tr("Choisissez d'abord un professionnel dans la liste.")
            return {"block": why, "unblock": why}
        blocked = item.status == STATUS_BLOCKED
        block: str | None = None
        if item.treating_physician:
            block = self.tr("Le médecin traitant DMP ne peut pas être bloqué.")
        elif blocked:
            block = self.tr("Ce professionnel est déjà bloqué.")
        unblock = None if blocked else self.tr("Ce professionnel n'est pas bloqué.")
        return {"block": block, "unblock": unblock}

    def update_buttons(self) -> None:
        reasons = self.reasons()
        for key, button, text in (
            (
                "block",
                self.block_button,
                self.tr("Bloquer ce professionnel à la demande du patient"),
            ),
            ("unblock", self.unblock_button, self.tr("Lever le blocage à la demande du patient")),
        ):
            why = reasons[key]
            button.setEnabled(why is None)
            button.setToolTip(why or text)

    def _request(self, block: bool) -> None:
        item = self.current()
        if item is not None and self.reasons()["block" if block else "unblock"] is None:
            self.blockRequested.emit(item, block)


class CloseRecordDialog(QDialog):
    """TD1.4 at the patient's request: the reason, then a button naming the patient."""

    def __init__(self, ins: Ins, patient: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("closeRecordDialog")
        self.ins = ins
        self.setWindowTitle(self.tr("Fermer le DMP"))
        self.setMinimumWidth(560)
        text = QLabel(
            self.tr(
                "Vous allez fermer le DMP de {patient}, à sa demande. Le DMP ne pourra plus "
                "être consulté ni alimenté ; ses données sont conservées 10 ans puis détruites. "
                "Il peut être réactivé à la demande du patient pendant ce délai."
            ).format(patient=patient),
            self,
        )
        text.setWordWrap(True)
        text.setTextFormat(Qt.TextFormat.PlainText)
        self.reason_combo = QComboBox(self)
        self.reason_combo.setObjectName("closeReason")
        for label, code in (
            (self.tr("À la demande du patient"), CLOSURE_PATIENT_REQUEST),
            (self.tr("Décès du patient"), CLOSURE_DECEASED),
            (self.tr("Autre motif"), CLOSURE_OTHER),
        ):
            self.reason_combo.addItem(label, code)
        self.reason_edit = QLineEdit(self)
        self.reason_edit.setObjectName("closeReasonText")
        self.reason_edit.setMaxLength(MAX_CLOSURE_REASON)
        self.reason_edit.setPlaceholderText(self.tr("Précisez le motif donné par le patient"))
        self.reason_edit.setAccessibleName(self.tr("Motif de la fermeture"))
        self.feedback = QLabel(self)
        self.feedback.setWordWrap(True)
        form = QFormLayout()
        kind_label = QLabel(self.tr("&Motif :"), self)
        kind_label.setBuddy(self.reason_combo)
        text_label = QLabel(self.tr("&Précision :"), self)
        text_label.setBuddy(self.reason_edit)
        form.addRow(kind_label, self.reason_combo)
        form.addRow(text_label, self.reason_edit)
        form.addRow(self.feedback)
        self.buttons = QDialogButtonBox(self)
        self.close_button = self.buttons.addButton(
            self.tr("Fermer le DMP de {patient}").format(patient=patient),
            QDialogButtonBox.ButtonRole.AcceptRole,
        )
        self.close_button.setObjectName("confirmCloseButton")
        cancel = self.buttons.addButton(self.tr("Annuler"), QDialogButtonBox.ButtonRole.RejectRole)
        cancel.setAutoDefault(False)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(text)
        layout.addLayout(form)
        layout.addWidget(self.buttons)
        self.reason_edit.textChanged.connect(self._changed)
        self._changed()

    def reason(self) -> str:
        return str(self.reason_combo.currentData())

    def reason_text(self) -> str:
        return " ".join(self.reason_edit.text().split())

    def acceptable(self) -> bool:
        """The use case's rule (``usecases.records.closure_problem``)."""
        return closure_problem(self.reason(), self.reason_text()) is None

    def _changed(self, *_args: object) -> None:
        ok = self.acceptable()
        self.close_button.setEnabled(ok)
        self.close_button.setDefault(ok)
        set_tone(
            self.feedback,
            Tone.NEUTRAL if ok else Tone.INFO,
            ""
            if ok
            else self.tr("Le motif est obligatoire ({n} caractères au moins).").format(
                n=MIN_REASON_LENGTH
            ),
        )

    def accept(self) -> None:
        if self.acceptable():
            super().accept()


class RecordActions(QObject):
    """The record's life for the patient on screen (see the module docstring)."""

    def __init__(self, window: MainWindow, service: RecordService | None = None) -> None:
        super().__init__(window)
        self.window = window
        self.service = service or RecordService(window.dmp_service, self)
        self.wizard: RecordWizard | None = None
        self.authorizations: AuthorizationsDialog | None = None
        self.close_dialog: CloseRecordDialog | None = None
        self.confirm_box: QMessageBox | None = None
        self.admin_dialog: QDialog | None = None
        self._reasons: dict[str, str] = {}
        self._block_notice: str | None = None
        self._build_actions()
        self._build_banner()

        service = self.service
        service.created.connect(self._on_created)
        service.closed.connect(self._on_closed)
        service.reactivated.connect(self._on_reactivated)
        service.authorizationsReady.connect(self._on_authorizations)
        service.blockChanged.connect(self._on_block_changed)
        service.failed.connect(self._on_failed)
        window.consultation.stateChanged.connect(lambda _s: self._on_patient())
        window.card_service.stateChanged.connect(lambda _s: self.update_actions())
        window.card_service.sessionEnded.connect(lambda _r: self.forget())
        window.dmp_service.busyChanged.connect(lambda _b: self.update_actions())
        self.update_actions()

    # -- actions ------------------------------------------------------------------------
    def _build_actions(self) -> None:
        window = self.window
        self.act_create = QAction(self.tr("&Créer le DMP…"), window)
        self.act_create.setStatusTip(self.tr("Créer le DMP du patient, avec son consentement"))
        self.act_create.triggered.connect(self.open_wizard)
        self.act_authorizations = QAction(self.tr("&Autorisations…"), window)
        self.act_authorizations.setStatusTip(
            self.tr("Professionnels autorisés et bloqués sur le DMP du patient")
        )
        self.act_authorizations.triggered.connect(self.open_authorizations)
        self.act_admin_data = QAction(self.tr("&Données administratives…"), window)
        self.act_admin_data.triggered.connect(self.open_admin_data)
        self.act_close = QAction(self.tr("&Fermer le DMP…"), window)
        self.act_close.setStatusTip(self.tr("Fermer le DMP à la demande du patient"))
        self.act_close.triggered.connect(self.request_close)
        self.act_reactivate = QAction(self.tr("&Réactiver le DMP…"), window)
        self.act_reactivate.setStatusTip(self.tr("Réactiver le DMP fermé, à la demande du patient"))
        self.act_reactivate.triggered.connect(self.request_reactivate)
        self.act_secret = QAction(self.tr("Connexion &secrète (patient mineur)"), window)
        self.act_secret.setCheckable(True)
        self.act_secret.setStatusTip(
            self.tr(
                "À la demande du patient mineur : vos accès à son DMP restent invisibles "
                "à ses représentants légaux"
            )
        )
        self.act_secret.triggered.connect(self.toggle_secret_connection)
        self.actions = {
            "create": self.act_create,
            "authorizations": self.act_authorizations,
            "admin_data": self.act_admin_data,
            "close": self.act_close,
            "reactivate": self.act_reactivate,
            "secret": self.act_secret,
        }

    def fill_menu(self, menu: QMenu) -> None:
        menu.setToolTipsVisible(True)
        menu.addAction(self.act_create)
        menu.addSeparator()
        menu.addAction(self.act_authorizations)
        menu.addAction(self.act_admin_data)
        menu.addAction(self.act_secret)
        menu.addSeparator()
        menu.addAction(self.act_close)
        menu.addAction(self.act_reactivate)

    def _build_banner(self) -> None:
        """« Créer le DMP… » / « Réactiver le DMP… » in the patient banner."""
        panel = self.window.workspace.status_panel
        box = QWidget(panel)
        box.setObjectName("recordButtons")
        row = QHBoxLayout(box)
        row.setContentsMargins(0, 6, 0, 0)
        self.create_button = QPushButton(self.tr("Créer le D&MP…"), box)
        self.create_button.setObjectName("createDmpButton")
        make_primary(self.create_button)
        self.create_button.clicked.connect(self.act_create.trigger)
        self.reactivate_button = QPushButton(self.tr("Réac&tiver le DMP…"), box)
        self.reactivate_button.setObjectName("reactivateDmpButton")
        self.reactivate_button.clicked.connect(self.act_reactivate.trigger)
        row.addWidget(self.create_button)
        row.addWidget(self.reactivate_button)
        row.addStretch(1)
        content = panel.details.parentWidget()
        layout = content.layout() if content is not None else None
        if isinstance(layout, QVBoxLayout):
            layout.insertWidget(layout.indexOf(panel.details) + 1, box)
        self.banner = box
        box.hide()

    def rules(self) -> dict[str, str | None]:
        """For each action: None when it applies now, else why not (French).

        The rule is :func:`dmp_desktop.usecases.records.record_action_refusals`.
        """
        consultation = self.window.consultation
        practitioner = consultation.practitioner
        if self.window.card_service.session is None:
            practitioner = None
        codes = record_action_refusals(consultation.status, practitioner)
        texts = {
            "no_card": self.tr("Connectez-vous avec votre carte CPS."),
            "no_status": self.tr("Vérifiez d'abord le DMP du patient (Ctrl+L, INS, Entrée)."),
            "no_dmp": self.tr("Ce patient n'a pas de DMP."),
            "has_dmp": self.tr("Ce patient a déjà un DMP."),
            "staff": self.tr("Réservé aux professionnels de santé."),
            "blocked": self.tr("Le patient vous a bloqué : vous ne pouvez pas agir sur son DMP."),
            "closed": self.tr(
                "Le DMP de ce patient est fermé : réactivez-le d'abord, à la demande du patient."
            ),
            "active": self.tr("Le DMP de ce patient est actif : il n'est pas fermé."),
            "no_authorisation": self.tr(
                "Il faut d'abord une autorisation d'accès valide (consentement du patient)."
            ),
            "not_minor": self.tr("Réservé au DMP d'un patient mineur, à sa demande."),
        }
        return {key: texts[code] if code else None for key, code in codes.items()}

    def update_actions(self) -> None:
        rules = self.rules()
        self._reasons = {k: v for k, v in rules.items() if v is not None}
        for key, action in self.actions.items():
            why = rules.get(key)
            action.setEnabled(why is None)
            action.setToolTip(why or action.statusTip() or action.text().replace("&", ""))
        status = self.window.consultation.status
        self.act_secret.setChecked(
            status is not None and self.window.dmp_service.is_secret_connection(status.ins)
        )
        self.create_button.setVisible(rules["create"] is None)
        self.reactivate_button.setVisible(status is not None and status.state is DmpState.CLOSED)
        self.reactivate_button.setEnabled(rules["reactivate"] is None)
        self.reactivate_button.setToolTip(rules["reactivate"] or self.act_reactivate.statusTip())
        self.banner.setVisible(
            not self.window.dmp_service.busy
            and (
                self.create_button.isVisibleTo(self.banner)
                or self.reactivate_button.isVisibleTo(self.banner)
            )
        )

    def _allowed(self, key: str) -> DmpStatus | None:
        self.update_actions()
        why = self._reasons.get(key)
        status = self.window.consultation.status
        if why is not None or status is None:
            if why:
                self.window.statusBar().showMessage(why, NOTICE_MS)
            return None
        return status

    def _recheck(self, ins: Ins) -> None:
        pane = self.window.workspace.patient_pane
        if pane.current_ins() == ins:
            pane.request_check()

    def _current(self, ins: Ins) -> bool:
        return self.window.consultation.ins == ins

    # -- a minor's secret connection ---------------------------------------------------
    def toggle_secret_connection(self, secret: bool) -> None:
        """Tick: at the minor's request, access their DMP secretly; untick: ordinarily."""
        status = self._allowed("secret")
        if status is None:
            self.update_actions()
            return
        if self.window.dmp_service.set_secret_connection(status, secret):
            patient = patient_label(status)
            self.window.statusBar().showMessage(
                self.tr(
                    "Connexion secrète pour {0} : vos accès à son DMP restent invisibles à ses "
                    "représentants légaux jusqu'à la fin de la session de la carte."
                ).format(patient)
                if secret
                else self.tr("Connexion ordinaire pour {0}.").format(patient),
                NOTICE_MS,
            )
        self.update_actions()

    # -- creation -----------------------------------------------------------------------
    def open_wizard(self) -> RecordWizard | None:
        status = self._allowed("create")
        if status is None:
            return None
        if self.wizard is not None:
            self.wizard.raise_()
            return self.wizard
        wizard = RecordWizard(status.ins, parent=self.window)
        wizard.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        wizard.sendRequested.connect(
            lambda identity, consent: self._send_creation(wizard, identity, consent)
        )
        wizard.finished.connect(lambda _r: self._forget_wizard(wizard))
        self.wizard = wizard
        wizard.open()
        wizard.family_edit.setFocus(Qt.FocusReason.OtherFocusReason)
        return wizard

    def _forget_wizard(self, wizard: RecordWizard) -> None:
        if self.wizard is wizard:
            self.wizard = None

    def _send_creation(self, wizard: RecordWizard, identity: Any, consent: Any) -> None:
        # When nothing is sent, the service has already said why (failed → _on_failed →
        # wizard.creation_failed), or a creation is still under way and will answer.
        self.service.create(wizard.ins, identity, consent)

    def _on_created(self, ins: Ins) -> None:
        wizard = self.wizard
        if wizard is not None and wizard.ins == ins:
            wizard.creation_succeeded()
        self.window.statusBar().showMessage(self.tr("Le DMP du patient a été créé."), NOTICE_MS)
        self._recheck(ins)

    # -- authorisations -----------------------------------------------------------------
    def open_authorizations(self) -> AuthorizationsDialog | None:
        status = self._allowed("authorizations")
        if status is None:
            return None
        if self.authorizations is not None:
            self.authorizations.raise_()
            self.authorizations.activateWindow()
            return self.authorizations
        dialog = AuthorizationsDialog(
            status.ins, patient_label(status), status.treating_physician, self.window
        )
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.refreshRequested.connect(lambda: self.service.list_authorizations(dialog.ins))
        dialog.blockRequested.connect(lambda item, block: self.confirm_block(dialog, item, block))
        dialog.finished.connect(lambda _r: self._forget_authorizations(dialog))
        self.authorizations = dialog
        dialog.open()
        dialog.table.setFocus(Qt.FocusReason.OtherFocusReason)
        self.service.list_authorizations(status.ins)
        return dialog

    def _forget_authorizations(self, dialog: AuthorizationsDialog) -> None:
        if self.authorizations is dialog:
            self.authorizations = None

    def _on_authorizations(self, ins: Ins, items: list[PatientAuthorization]) -> None:
        dialog = self.authorizations
        if dialog is not None and dialog.ins == ins:
            notice, self._block_notice = self._block_notice, None
            dialog.set_items(items, notice)

    def confirm_block(
        self, dialog: AuthorizationsDialog, item: PatientAuthorization, block: bool
    ) -> QMessageBox:
        name = professional_name(item)
        if block:
            text = self.tr("Bloquer {name} à la demande du patient ?").format(name=name)
            info = self.tr(
                "{name} n'aura plus aucun accès au DMP du patient, même en urgence, tant que "
                "le blocage n'est pas levé. Le patient en est informé."
            ).format(name=name)
            label = self.tr("&Bloquer {name}").format(name=name)
        else:
            text = self.tr("Lever le blocage de {name} à la demande du patient ?").format(name=name)
            info = self.tr(
                "{name} pourra de nouveau accéder au DMP quand le patient l'y autorisera."
            ).format(name=name)
            label = self.tr("&Débloquer {name}").format(name=name)

        def send() -> None:
            set_tone(dialog.notice, Tone.INFO, self.tr("Envoi au DMP…"))
            self.service.set_blocked(dialog.ins, item.national_id, block)

        return open_confirmation(
            dialog,
            title=dialog.windowTitle(),
            text=text,
            detail=info,
            yes=label,
            keep=self.tr("Annuler"),
            on_yes=send,
            hold=self._hold_confirmation,
        )

    def _hold_confirmation(self, box: QMessageBox | None) -> None:
        self.confirm_box = box

    def _on_block_changed(self, ins: Ins, _national_id: str, _blocked: bool, text: str) -> None:
        self.window.statusBar().showMessage(text, NOTICE_MS)
        dialog = self.authorizations
        if dialog is not None and dialog.ins == ins:
            self._block_notice = text
            set_tone(dialog.notice, Tone.OK, text)
            self.service.list_authorizations(ins)

    # -- closure, reactivation ----------------------------------------------------------
    def request_close(self) -> CloseRecordDialog | None:
        status = self._allowed("close")
        if status is None:
            return None
        dialog = CloseRecordDialog(status.ins, patient_label(status), self.window)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.close_dialog = dialog
        ins = status.ins

        def done(result: int) -> None:
            self.close_dialog = None
            if result == QDialog.DialogCode.Accepted and self._current(ins):
                self.service.close(status, reason=dialog.reason(), reason_text=dialog.reason_text())
                self.window.statusBar().showMessage(self.tr("Fermeture du DMP…"), NOTICE_MS)

        dialog.finished.connect(done)
        dialog.open()
        dialog.reason_edit.setFocus(Qt.FocusReason.OtherFocusReason)
        return dialog

    def _on_closed(self, ins: Ins) -> None:
        self.window.statusBar().showMessage(
            self.tr("Le DMP du patient est fermé. Il peut être réactivé à sa demande."), NOTICE_MS
        )
        self._recheck(ins)

    def request_reactivate(self) -> QMessageBox | None:
        status = self._allowed("reactivate")
        if status is None:
            return None
        name = patient_label(status)
        ins = status.ins

        def reactivate() -> None:
            if self._current(ins):
                self.service.reactivate(status)

        return open_confirmation(
            self.window,
            title=self.tr("Réactiver le DMP"),
            text=self.tr("Réactiver le DMP de {patient}, à sa demande ?").format(patient=name),
            detail=self.tr(
                "Le DMP redevient consultable et alimentable par les professionnels autorisés. "
                "Le patient en est informé."
            ),
            yes=self.tr("&Réactiver le DMP de {patient}").format(patient=name),
            keep=self.tr("Annuler"),
            default_yes=True,
            on_yes=reactivate,
            hold=self._hold_confirmation,
        )

    def _on_reactivated(self, ins: Ins) -> None:
        self.window.statusBar().showMessage(self.tr("Le DMP du patient est réactivé."), NOTICE_MS)
        self._recheck(ins)

    # -- administrative data ------------------------------------------------------------
    def open_admin_data(self) -> QDialog | None:
        status = self._allowed("admin_data")
        if status is None:
            return None
        from dmp_desktop.ui.admin_data_dialog import open_admin_data_dialog

        dialog = open_admin_data_dialog(
            self.window,
            self.window.dmp_service,
            status.ins,
            minor=status.minor,
            online_access=self.window.settings.is_training,  # TD1.5: training host only
        )
        self.admin_dialog = dialog
        dialog.finished.connect(lambda _r: setattr(self, "admin_dialog", None))
        return dialog

    # -- errors, patient change, session end --------------------------------------------
    def _on_failed(self, action: str, message: str) -> None:
        if action == records.CREATE and self.wizard is not None:
            self.wizard.creation_failed(message)
        elif action in (records.LIST, records.BLOCK) and self.authorizations is not None:
            self.authorizations.show_error(message)
        else:
            box = QMessageBox(
                QMessageBox.Icon.Warning,
                self.tr("Fermeture impossible")
                if action == records.CLOSE
                else self.tr("Réactivation impossible")
                if action == records.REACTIVATE
                else self.tr("Opération impossible"),
                message,
                parent=self.window,
            )
            box.setTextFormat(Qt.TextFormat.PlainText)
            box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
            box.open()
        self.window.statusBar().showMessage(message, NOTICE_MS)

    def _on_patient(self) -> None:
        """Another patient (or none): dialogs about the previous one are closed."""
        current = self.window.consultation.ins
        for dialog in (self.authorizations, self.close_dialog):
            if dialog is not None and dialog.ins != current:
                dialog.reject()
        if self.wizard is not None and self.wizard.ins != current and not self.wizard.sending:
            self.wizard.reject()
        self.update_actions()

    def forget(self) -> None:
        """The session ended: every dialog closed, nothing of the patient left."""
        self.service.cancel_all()
        if self.wizard is not None:
            self.wizard.forget()
            self.wizard.reject()
        for dialog in (self.authorizations, self.close_dialog, self.confirm_box, self.admin_dialog):
            if dialog is not None:
                dialog.reject()
        if self.authorizations is not None:
            self.authorizations.model.clear()
        self.wizard = self.authorizations = self.close_dialog = None
        self.confirm_box = None
        self.admin_dialog = None
        self.update_actions()


__all__ = ["AuthorizationsDialog", "CloseRecordDialog", "RecordActions", "patient_label"]
