"""The logged-in workspace: the patient (INS, DMP status), the documents and the viewer."""

from __future__ import annotations

from datetime import date

from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication, QEvent, QObject, Qt, Signal
from PySide6.QtGui import QFontDatabase, QKeyEvent, QShowEvent
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from dmp_desktop.dates import fr_date
from dmp_desktop.domain.dmp_status import Authorization, DmpState, DmpStatus
from dmp_desktop.domain.document import DocumentEntry
from dmp_desktop.domain.patient import Ins, InsError, InsKind, check_ins_text, normalize_ins_text
from dmp_desktop.domain.practitioner import Practitioner
from dmp_desktop.identity.coherence import StatedIdentity, Where, compare
from dmp_desktop.identity.convert import from_dmp_status
from dmp_desktop.identity.traits import InsIdentity
from dmp_desktop.services.consultation import ConsultationService, PaneState
from dmp_desktop.services.viewable import Viewable
from dmp_desktop.ui.documents_pane import DocumentsPane
from dmp_desktop.ui.emergency_dialog import EmergencyDialog
from dmp_desktop.ui.icons import pixmap
from dmp_desktop.ui.patient_search import MatchesList
from dmp_desktop.ui.style import Tone, make_primary, scaled_font, set_tone
from dmp_desktop.ui.viewer import DocumentViewer
from dmp_desktop.ui.widgets import heading
from dmp_desktop.usecases.access import status_summary
from dmp_desktop.usecases.patients import Candidate, PatientQuery, parse_patient_text


def _tr_dynamic(text: str) -> str:
    """Translate a text marked elsewhere with QT_TRANSLATE_NOOP."""
    return QCoreApplication.translate("StatusPanel", text)


def ins_feedback(text: str) -> tuple[Tone, str]:
    """As-you-type feedback on the INS: the tone (colour + symbol) and the message."""
    check = check_ins_text(text)
    if check.valid:
        return Tone.OK, check.message
    value = normalize_ins_text(text)
    still_typing = not check.complete and all(c in "0123456789AB" for c in value)
    return (Tone.NEUTRAL if still_typing else Tone.ERROR), check.message


class PatientPane(QFrame):
    """The patient field (an INS, or a name and a birth date), its live check, the matches.

    An INS (the text starts with a digit) is checked as it is typed and Enter
    asks the DMP (``checkRequested``); a name shows the recent patients at
    once, and with a birth date Enter searches the DMP too
    (``searchRequested``). Down enters the matches, Enter opens one
    (``candidateChosen``); the last line, like the « INSi » button, asks the
    INSi teleservice with the identity traits (``insiRequested``).
    """

    checkRequested = Signal(object)  # Ins
    searchRequested = Signal(object)  # PatientQuery
    candidateChosen = Signal(object)  # Candidate
    insiRequested = Signal(object)  # PatientQuery (what the field had)
    myPatientsRequested = Signal()
    textEdited = Signal(object)  # PatientQuery, at each keystroke (local matches)

    def __init__(self, ins_kind: InsKind, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("patientPane")
        self._ins_kind = ins_kind

        icon = QLabel(self)
        icon.setPixmap(pixmap("patient", 32, self.devicePixelRatioF()))
        title = heading(self.tr("Patient"), self)
        header = QHBoxLayout()
        header.addWidget(icon)
        header.addWidget(title, 1)

        self.ins_edit = QLineEdit(self)
        self.ins_edit.setObjectName("insEdit")
        mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        mono.setPointSizeF(scaled_font(self, 1.3).pointSizeF())
        self.ins_edit.setFont(mono)
        self.ins_edit.setMaxLength(80)  # an INS with spaces, or a name and a birth date
        self.ins_edit.setPlaceholderText(self.tr("INS, ou NOM et JJ/MM/AAAA"))
        self.ins_edit.setClearButtonEnabled(True)
        self.ins_edit.setAccessibleName(self.tr("Patient : INS, ou nom et date de naissance"))
        self.ins_label = QLabel(self.tr("&INS du patient, ou nom et date de naissance"), self)
        self.ins_label.setWordWrap(True)
        self.ins_label.setBuddy(self.ins_edit)
        self.ins_label.setFont(scaled_font(self, 1.0, bold=True))

        self.feedback_label = QLabel(self)
        self.feedback_label.setObjectName("insFeedback")
        self.feedback_label.setWordWrap(True)
        self.feedback_label.setMinimumHeight(self.fontMetrics().height() * 2 + 14)

        self.matches = MatchesList(self)
        self.matches.hide()
        self.matches.chosen.connect(self.candidateChosen)
        self.matches.insiRequested.connect(self.request_insi)
        self.matches.backToField.connect(self._back_to_field)

        self.check_button = QPushButton(self.tr("&Vérifier le DMP"), self)
        self.check_button.setObjectName("checkButton")
        make_primary(self.check_button)
        self.check_button.setEnabled(False)
        self.check_button.setToolTip(self.tr("Vérifier le DMP du patient (Entrée)"))

        self.insi_button = QPushButton(self.tr("Chercher l'INS…"), self)
        self.insi_button.setObjectName("insiButton")
        self.insi_button.setToolTip(
            self.tr("Rechercher l'INS avec les traits d'identité (téléservice INSi)")
        )
        self.my_patients_button = QPushButton(self.tr("Mes patients DMP…"), self)
        self.my_patients_button.setObjectName("myPatientsButton")
        self.my_patients_button.setToolTip(
            self.tr("Les DMP sur lesquels vous êtes autorisé (Ctrl+Maj+L)")
        )
        more = QHBoxLayout()
        more.addWidget(self.insi_button)
        more.addWidget(self.my_patients_button)

        shortcut_hint = QLabel(
            self.tr(
                "Ctrl+L : revenir au champ patient · Entrée : vérifier le DMP ou chercher · "
                "Flèche bas : choisir parmi les patients proposés"
            ),
            self,
        )
        shortcut_hint.setStyleSheet("color: palette(placeholder-text);")
        shortcut_hint.setWordWrap(True)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(18, 16, 18, 16)
        layout.setSpacing(8)
        layout.addLayout(header)
        layout.addSpacing(6)
        layout.addWidget(self.ins_label)
        layout.addWidget(self.ins_edit)
        layout.addWidget(self.feedback_label)
        layout.addWidget(self.matches)
        layout.addWidget(self.check_button)
        layout.addLayout(more)
        layout.addWidget(shortcut_hint)
        layout.addStretch(1)

        self.ins_edit.textChanged.connect(self._on_text_changed)
        self.ins_edit.returnPressed.connect(self.request_check)
        self.ins_edit.installEventFilter(self)
        self.check_button.clicked.connect(self.request_check)
        self.insi_button.clicked.connect(self.request_insi)
        self.my_patients_button.clicked.connect(self.myPatientsRequested)
        self._on_text_changed("")

    # -- what the field holds ------------------------------------------------------------
    def _name_mode(self, text: str | None = None) -> bool:
        value = (self.ins_edit.text() if text is None else text).strip()
        return bool(value) and not value[0].isdigit()

    def query(self) -> PatientQuery:
        return parse_patient_text(self.ins_edit.text(), self._ins_kind)

    def current_ins(self) -> Ins | None:
        """The INS typed, if it is complete and its key is right."""
        if self._name_mode():
            return None
        try:
            return Ins.parse(self.ins_edit.text(), self._ins_kind)
        except InsError:
            return None

    def request_check(self) -> None:
        ins = self.current_ins()
        if ins is not None:
            self.checkRequested.emit(ins)
            return
        if self._name_mode():
            query = self.query()
            if query.usable:
                self.searchRequested.emit(query)

    def request_insi(self) -> None:
        self.insiRequested.emit(self.query() if self._name_mode() else parse_patient_text(""))

    def show_patient(self, ins: Ins) -> None:
        """A patient was chosen: the field shows the INS (then checked like a typed one)."""
        self.matches.matches_model.clear()
        self.matches.hide()
        self.ins_edit.setText(ins.value)
        self.ins_edit.setFocus(Qt.FocusReason.OtherFocusReason)

    def set_busy(self, busy: bool) -> None:
        self.check_button.setEnabled(not busy and self._can_submit(self.ins_edit.text()))

    def clear(self) -> None:
        self.ins_edit.setText("")  # setText, not clear(): no undo history left behind
        self.set_matches([])
        self._on_text_changed("")

    # -- matches -------------------------------------------------------------------------
    def set_matches(self, candidates: list[Candidate], *, searched: bool = False) -> None:
        """Show ``candidates`` under the field (a name: with the INSi line)."""
        name = self._name_mode()
        self.matches.matches_model.set_candidates(candidates, insi_row=name and searched)
        shown = self.matches.matches_model.rowCount() > 0
        self.matches.setVisible(shown)
        if shown:
            self.matches.updateGeometry()
        if searched and name:
            if candidates:
                text = self.tr("{count} patient(s) trouvé(s) : flèche bas pour choisir.").format(
                    count=len(candidates)
                )
                set_tone(self.feedback_label, Tone.INFO, text)
            else:
                set_tone(
                    self.feedback_label,
                    Tone.WARNING,
                    self.tr(
                        "Aucun patient trouvé (patients récents, DMP). Vérifiez le nom de "
                        "naissance et la date, ou recherchez l'INS avec l'INSi (flèche bas)."
                    ),
                )

    def show_search_failure(self, message: str) -> None:
        set_tone(self.feedback_label, Tone.ERROR, message)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if (
            watched is self.ins_edit
            and event.type() == QEvent.Type.KeyPress
            and isinstance(event, QKeyEvent)
            and event.key() == Qt.Key.Key_Down
            and self.matches.isVisible()
        ):
            self.matches.setFocus(Qt.FocusReason.TabFocusReason)
            self.matches.select_first()
            return True
        return super().eventFilter(watched, event)

    def _back_to_field(self) -> None:
        self.ins_edit.setFocus(Qt.FocusReason.OtherFocusReason)

    def _can_submit(self, text: str) -> bool:
        if self._name_mode(text):
            return parse_patient_text(text, self._ins_kind).usable
        return self.current_ins() is not None

    def _on_text_changed(self, text: str) -> None:
        if self._name_mode(text):
            query = parse_patient_text(text, self._ins_kind)
            self.check_button.setText(self.tr("&Chercher le patient"))
            self.check_button.setToolTip(self.tr("Chercher le patient (Entrée)"))
            if query.birth_date is None:
                message = self.tr(
                    "Nom : les patients récents s'affichent. Ajoutez la date de naissance "
                    "(JJ/MM/AAAA) pour chercher aussi dans le DMP."
                )
            else:
                message = self.tr("Entrée : chercher le patient (patients récents, DMP).")
            tone = Tone.NEUTRAL
            self.textEdited.emit(query)
        else:
            self.check_button.setText(self.tr("&Vérifier le DMP"))
            self.check_button.setToolTip(self.tr("Vérifier le DMP du patient (Entrée)"))
            tone, message = ins_feedback(text)
            if not text.strip():
                message = self.tr(
                    "Saisissez l'INS du patient (15 caractères), ou son nom et sa date de "
                    "naissance."
                )
            self.set_matches([])
            self.textEdited.emit(parse_patient_text(text, self._ins_kind))
        set_tone(self.feedback_label, tone, message)
        self.feedback_label.setVisible(True)
        self.ins_edit.setAccessibleDescription(message)
        self.check_button.setEnabled(self._can_submit(text))


def _yes_no(value: bool) -> str:
    return (
        QCoreApplication.translate("StatusPanel", "oui")
        if value
        else QCoreApplication.translate("StatusPanel", "non")
    )


def _dmp_state_text(status: DmpStatus) -> str:
    if status.state is DmpState.ACTIVE:
        return QCoreApplication.translate("StatusPanel", "actif")
    if status.state is DmpState.CLOSED:
        if status.closure_date is not None:
            return QCoreApplication.translate("StatusPanel", "fermé le {date}").format(
                date=fr_date(status.closure_date)
            )
        return QCoreApplication.translate("StatusPanel", "fermé")
    return QCoreApplication.translate("StatusPanel", "pas de DMP")


_AUTHORIZATION_TEXT = {
    Authorization.VALIDE: QT_TRANSLATE_NOOP("StatusPanel", "valide"),
    # Short: the sentence above the details says what to do.
    Authorization.NON_EXISTE: QT_TRANSLATE_NOOP("StatusPanel", "absente"),
    Authorization.EXPIRE: QT_TRANSLATE_NOOP("StatusPanel", "expirée"),
    Authorization.INTERDIT: QT_TRANSLATE_NOOP("StatusPanel", "refusée (accès bloqué)"),
}


def _summary_tone(status: DmpStatus, staff: bool = False) -> Tone:
    if status.state is not DmpState.ACTIVE or staff:
        return Tone.INFO
    if status.authorization is Authorization.VALIDE:
        return Tone.OK
    if status.authorization is Authorization.INTERDIT:
        return Tone.ERROR
    return Tone.WARNING


def _birth_text(birth: date, gender: str | None) -> str:
    when = fr_date(birth)
    if gender in ("F", "f"):
        return QCoreApplication.translate("StatusPanel", "née le {date}").format(date=when)
    if gender in ("M", "m"):
        return QCoreApplication.translate("StatusPanel", "né le {date}").format(date=when)
    return QCoreApplication.translate("StatusPanel", "date de naissance : {date}").format(date=when)


class StatusPanel(QFrame):
    """The answer to "does this patient have a DMP, may I open it?" in plain French."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("statusPanel")
        self.shown_status: DmpStatus | None = None

        title = heading(self.tr("Dossier médical partagé"), self)
        self.empty_label = QLabel(
            self.tr(
                "Saisissez l'INS d'un patient, ou son nom et sa date de naissance, puis "
                "appuyez sur Entrée : DMP Desktop vous dira s'il a un DMP et si vous pouvez "
                "y accéder."
            ),
            self,
        )
        self.empty_label.setObjectName("statusEmpty")
        self.empty_label.setWordWrap(True)
        self.empty_label.setStyleSheet("color: palette(placeholder-text);")

        self.busy_label = QLabel(self.tr("Interrogation du DMP…"), self)
        self.busy_label.setObjectName("statusBusy")

        self.identity_label = QLabel(self)
        self.identity_label.setObjectName("patientName")
        self.identity_label.setFont(scaled_font(self, 1.5, bold=True))
        self.identity_label.setTextFormat(Qt.TextFormat.PlainText)
        self.birth_label = QLabel(self)
        self.birth_label.setObjectName("patientBirth")
        self.birth_label.setFont(scaled_font(self, 1.1))

        self.summary_label = QLabel(self)
        self.summary_label.setObjectName("statusSummary")
        self.summary_label.setWordWrap(True)
        self.summary_label.setFont(scaled_font(self, 1.15))
        self.summary_label.setTextFormat(Qt.TextFormat.PlainText)
        self.summary_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.details = QWidget(self)
        # Each caption with its value below: the column is narrow.
        form = QVBoxLayout(self.details)
        form.setContentsMargins(0, 4, 0, 0)
        form.setSpacing(2)
        self.dmp_value = QLabel(self.details)
        self.authorization_value = QLabel(self.details)
        self.treating_value = QLabel(self.details)
        self.minor_value = QLabel(self.details)
        self._detail_rows: list[tuple[QLabel, QLabel]] = []
        for caption, value in (
            (self.tr("DMP :"), self.dmp_value),
            (self.tr("Autorisation d'accès :"), self.authorization_value),
            (self.tr("Médecin traitant DMP :"), self.treating_value),
            (self.tr("Patient mineur :"), self.minor_value),
        ):
            label = QLabel(caption, self.details)
            label.setFont(scaled_font(self, 1.0, bold=True))
            label.setWordWrap(True)
            label.setBuddy(value)
            value.setFont(scaled_font(self, 1.05))
            value.setWordWrap(True)
            value.setTextFormat(Qt.TextFormat.PlainText)
            value.setContentsMargins(12, 0, 0, 6)
            form.addWidget(label)
            form.addWidget(value)
            self._detail_rows.append((label, value))

        # The patient's identity: the five strict traits, whether it is qualified.
        self.traits = QWidget(self)
        self.traits.setObjectName("patientTraits")
        traits_form = QFormLayout(self.traits)
        traits_form.setContentsMargins(0, 0, 0, 4)
        traits_form.setHorizontalSpacing(18)
        traits_form.setVerticalSpacing(4)
        self.birth_name_value = QLabel(self.traits)
        self.given_names_value = QLabel(self.traits)
        self.birth_date_value = QLabel(self.traits)
        self.sex_value = QLabel(self.traits)
        self.birthplace_value = QLabel(self.traits)
        self.qualification_value = QLabel(self.traits)
        for name, caption, value in (
            ("traitBirthName", self.tr("Nom de naissance :"), self.birth_name_value),
            ("traitGivenNames", self.tr("Prénom(s) de naissance :"), self.given_names_value),
            ("traitBirthDate", self.tr("Date de naissance :"), self.birth_date_value),
            ("traitSex", self.tr("Sexe :"), self.sex_value),
            ("traitBirthplace", self.tr("Lieu de naissance :"), self.birthplace_value),
            ("identityQualification", self.tr("Identité :"), self.qualification_value),
        ):
            value.setObjectName(name)
            value.setTextFormat(Qt.TextFormat.PlainText)
            value.setWordWrap(True)
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            label = QLabel(caption, self.traits)
            label.setFont(scaled_font(self, 0.95, bold=True))
            value.setAccessibleName(caption.rstrip(" :"))
            if value is self.qualification_value:
                # A sentence, not a trait: under its caption, the column's whole width
                # (beside it, it wrapped into a narrow tower at 1280 px).
                traits_form.addRow(label)
                traits_form.addRow(value)
            else:
                traits_form.addRow(label, value)
        self.identity_warning = QLabel(self)
        self.identity_warning.setObjectName("identityWarning")
        self.identity_warning.setWordWrap(True)
        self.shown_identity: InsIdentity | None = None

        self.error_label = QLabel(self)
        self.error_label.setObjectName("statusError")
        self.error_label.setWordWrap(True)

        # A readable line length on wide screens: the content keeps to the left.
        content = QWidget(self)
        content.setMaximumWidth(860)
        layout = QVBoxLayout(content)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(10)
        outer = QHBoxLayout(self)
        outer.setContentsMargins(24, 16, 24, 16)
        outer.addWidget(content, 1)
        outer.addStretch(0)
        layout.addWidget(title)
        layout.addWidget(self.empty_label)
        layout.addWidget(self.busy_label)
        layout.addWidget(self.identity_label)
        layout.addWidget(self.birth_label)
        layout.addWidget(self.traits)
        layout.addWidget(self.identity_warning)
        layout.addWidget(self.summary_label)
        layout.addWidget(self.details)
        layout.addWidget(self.error_label)
        layout.addStretch(1)
        self.clear()

    def clear(self) -> None:
        """Back to the empty state; no patient data left in any label."""
        self.shown_status = None
        self.shown_identity = None
        for value in (
            self.birth_name_value,
            self.given_names_value,
            self.birth_date_value,
            self.sex_value,
            self.birthplace_value,
            self.qualification_value,
        ):
            value.setText("")
        self.traits.hide()
        set_tone(self.identity_warning, Tone.WARNING, "")
        self.identity_warning.hide()
        for label in (self.identity_label, self.birth_label, self.summary_label):
            label.setText("")
            label.setAccessibleDescription("")
            label.hide()
        for _caption, value in self._detail_rows:
            value.setText("")
        self.details.hide()
        set_tone(self.error_label, Tone.ERROR, "")
        self.busy_label.hide()
        self.empty_label.show()

    def show_busy(self) -> None:
        self.clear()
        self.empty_label.hide()
        self.busy_label.show()

    def show_error(self, message: str) -> None:
        self.clear()
        self.empty_label.hide()
        set_tone(self.error_label, Tone.ERROR, message)

    def show_status(
        self,
        status: DmpStatus,
        identity: InsIdentity | None = None,
        *,
        practitioner: Practitioner | None = None,
    ) -> None:
        """The DMP's answer, and the patient's identity: ``identity`` (INSi, a list, the
        recent patients) when it is this INS's, else the DMP's copy of the traits.
        ``practitioner``: the card holder (a secretary feeds the DMP, never reads it); the
        sentence is :func:`usecases.access.status_summary`'s, as ``dmp status`` prints it."""
        staff = practitioner is not None and practitioner.is_staff
        self.clear()
        self.shown_status = status
        self.empty_label.hide()
        dmp_identity = from_dmp_status(status)
        if identity is None or identity.ins != status.ins:
            identity = dmp_identity
        family = (status.patient_family_name or "").upper()
        given = (status.patient_given_name or "").title()
        name = " ".join(p for p in (family, given) if p)
        if identity is not None:
            name = identity.display_name
            if identity.birth_name_line:
                name = f"{name} ({identity.birth_name_line})"
        if name:
            self.identity_label.setText(name)
            self.identity_label.show()
        if status.patient_birth_date is not None:
            self.birth_label.setText(_birth_text(status.patient_birth_date, status.patient_gender))
            self.birth_label.show()
        if identity is not None:
            self.show_identity(identity, dmp_identity)
        set_tone(
            self.summary_label, _summary_tone(status, staff), status_summary(status, practitioner)
        )
        self.details.show()
        self.dmp_value.setText(_dmp_state_text(status))
        active = status.state is DmpState.ACTIVE
        auth = _AUTHORIZATION_TEXT.get(status.authorization) if status.authorization else None
        if staff:
            auth = QT_TRANSLATE_NOOP("StatusPanel", "sans objet (secrétariat)")
        self.authorization_value.setText(
            _tr_dynamic(str(auth))
            if auth
            else QCoreApplication.translate("StatusPanel", "non précisée")
        )
        self.treating_value.setText(
            QCoreApplication.translate("StatusPanel", "oui, c'est vous")
            if status.treating_physician
            else QCoreApplication.translate("StatusPanel", "non")
        )
        self.minor_value.setText(_yes_no(status.minor))
        for caption, value in self._detail_rows[1:]:
            caption.setVisible(active)
            value.setVisible(active)

    def show_identity(self, identity: InsIdentity, dmp: InsIdentity | None = None) -> None:
        """The five strict traits of ``identity`` and whether it is qualified; a warning
        when the DMP's copy (``dmp``) names the INS otherwise."""
        _show_identity(self, identity, dmp)


def _sex_text(sex: str) -> str:
    return {
        "F": QCoreApplication.translate("StatusPanel", "féminin"),
        "M": QCoreApplication.translate("StatusPanel", "masculin"),
    }.get(sex, QCoreApplication.translate("StatusPanel", "non précisé"))


def _show_identity(panel: StatusPanel, identity: InsIdentity, dmp: InsIdentity | None) -> None:
    traits = identity.traits
    panel.shown_identity = identity
    birth_name = traits.birth_name.upper()
    if identity.used_name and identity.birth_name_line:
        birth_name = QCoreApplication.translate(
            "StatusPanel", "{birth} (nom utilisé : {used})"
        ).format(birth=birth_name, used=identity.used_name.upper())
    panel.birth_name_value.setText(birth_name)
    given = traits.given_names_text or "—"
    if not traits.given_names_complete and not identity.qualified:
        given = QCoreApplication.translate("StatusPanel", "{given} (selon le DMP)").format(
            given=given
        )
    panel.given_names_value.setText(given)
    panel.birth_date_value.setText(fr_date(traits.birth_date))
    panel.sex_value.setText(_sex_text(traits.sex))
    panel.birthplace_value.setText(
        traits.birthplace
        or QCoreApplication.translate("StatusPanel", "non connu (le DMP ne le donne pas)")
    )
    if identity.qualified:
        set_tone(
            panel.qualification_value,
            Tone.OK,
            QCoreApplication.translate("StatusPanel", "qualifiée (INS vérifiée par l'INSi)"),
        )
    else:
        set_tone(
            panel.qualification_value,
            Tone.WARNING,
            QCoreApplication.translate(
                "StatusPanel",
                "non qualifiée : traits du DMP ; recherchez l'INS avec l'INSi pour la qualifier",
            ),
        )
    panel.traits.show()
    if dmp is not None and identity is not dmp:
        differing = compare(dmp, _stated(identity), Where.FORM)
        if differing:
            traits_named = ", ".join(m.trait.label_fr for m in differing)
            set_tone(
                panel.identity_warning,
                Tone.WARNING,
                QCoreApplication.translate(
                    "StatusPanel",
                    "Attention : le DMP donne d'autres traits pour cet INS ({traits}). "
                    "Vérifiez l'identité du patient avant tout envoi.",
                ).format(traits=traits_named),
            )
            panel.identity_warning.show()


def _stated(identity: InsIdentity) -> StatedIdentity:
    traits = identity.traits
    return StatedIdentity(
        identity.ins,
        traits.birth_name,
        traits.given_names,
        traits.birth_date,
        traits.sex,
        traits.birthplace,
        has_birthplace=traits.birthplace is not None,
    )


class Workspace(QWidget):
    """Patient and DMP status on the left, the documents in the middle, the viewer on the right."""

    patientCleared = Signal()  # the INS in the field no longer matches the patient shown
    identityShown = Signal(object)  # InsIdentity: a patient's DMP status is on screen

    def __init__(
        self, ins_kind: InsKind, consultation: ConsultationService, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("workspace")
        self.consultation = consultation
        self.patient_pane = PatientPane(ins_kind, self)
        self.status_panel = StatusPanel(self)
        self.documents_pane = DocumentsPane(consultation, self)
        self.viewer = DocumentViewer(self)
        self.emergency_dialog: EmergencyDialog | None = None
        self.treating_box: QMessageBox | None = None

        left = QFrame(self)
        left.setObjectName("patientColumn")
        left.setStyleSheet(
            "#patientColumn { background: palette(base); border-right: 1px solid palette(mid); }"
        )
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.setSpacing(0)
        left_layout.addWidget(self.patient_pane)
        # The status scrolls rather than cut its text when the window is short.
        self.status_scroll = QScrollArea(left)
        self.status_scroll.setObjectName("statusScroll")
        self.status_scroll.setWidgetResizable(True)
        self.status_scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.status_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.status_scroll.setWidget(self.status_panel)
        self.status_scroll.viewport().setAutoFillBackground(False)
        self.status_panel.setAutoFillBackground(False)
        left_layout.addWidget(self.status_scroll, 1)
        left.setMinimumWidth(300)
        left.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Expanding)

        self.content_splitter = QSplitter(Qt.Orientation.Horizontal, self)
        self.content_splitter.setObjectName("contentSplitter")
        self.content_splitter.setChildrenCollapsible(False)
        self.content_splitter.addWidget(self.documents_pane)
        self.content_splitter.addWidget(self.viewer)
        self.content_splitter.setStretchFactor(0, 1)
        self.content_splitter.setStretchFactor(1, 1)
        self.viewer.hide()
        self.splitter = QSplitter(Qt.Orientation.Horizontal, self)
        self.splitter.setChildrenCollapsible(False)
        self.splitter.addWidget(left)
        self.splitter.addWidget(self.content_splitter)
        self.splitter.setStretchFactor(0, 0)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([340, 940])
        self._column_sized = False
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.splitter)
        self.pending_ins: Ins | None = None
        # The identity chosen for the INS in the field (INSi, a list, the recent patients).
        self.chosen_identity: InsIdentity | None = None
        self.patient_pane.ins_edit.textChanged.connect(self._on_ins_edited)

        self.documents_pane.openRequested.connect(self.open_document)
        self.documents_pane.emergencyRequested.connect(self.request_emergency)
        self.documents_pane.treatingRequested.connect(self.ask_treating_physician)
        self.viewer.tabsChanged.connect(self._on_tabs_changed)
        consultation.documentReady.connect(self._on_document_ready)
        consultation.documentFailed.connect(self.viewer.show_failure)
        consultation.documentsReady.connect(self._on_documents_ready)
        consultation.stateChanged.connect(self._on_state)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if not self._column_sized and self.width() > 0:
            # The patient's column grows with the screen (its traits and status wrap less
            # at 1920 px); the doctor's own splitter moves are kept afterwards.
            self._column_sized = True
            left = max(340, min(480, self.width() * 22 // 100))
            self.splitter.setSizes([left, max(1, self.width() - left)])

    # -- keyboard -----------------------------------------------------------------------
    def focus_ins(self) -> None:
        self.patient_pane.ins_edit.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.patient_pane.ins_edit.selectAll()

    def widen_period(self) -> bool:
        return self.documents_pane.widen_period()

    def focus_filter(self) -> bool:
        """Ctrl+F: the document's search field when a document has the focus, else the list's."""
        focus = QApplication.focusWidget()
        if focus is not None and self.viewer.isAncestorOf(focus) and self.viewer.focus_find():
            return True
        return self.documents_pane.focus_filter()

    def step_document(self, delta: int) -> DocumentEntry | None:
        """Alt+Up / Alt+Down: the previous / next document of the list, in a preview tab."""
        entry = self.documents_pane.step(delta)
        if entry is None:
            return None
        self.open_document(entry, transient=True)
        following = self.documents_pane.neighbour(entry, delta)
        if following is not None:
            self.consultation.open_document(following, silent=True)  # read ahead
        return entry

    def open_document(self, entry: DocumentEntry, transient: bool = False) -> None:
        self.viewer.begin(entry, transient=transient)
        self.viewer.show()
        self.consultation.open_document(entry)

    def _on_document_ready(self, entry: DocumentEntry, viewable: Viewable) -> None:
        self.viewer.show_document(entry, viewable)

    def _on_tabs_changed(self, count: int) -> None:
        self.viewer.setVisible(count > 0)
        if count > 0 and self.content_splitter.sizes()[1] < 200:
            total = sum(self.content_splitter.sizes())
            self.content_splitter.setSizes([total * 9 // 20, total * 11 // 20])

    def _on_documents_ready(self, listing: object) -> None:
        # First list after Enter in the INS field: the list takes the focus.
        focus = QApplication.focusWidget()
        if focus is None or focus is self.patient_pane.ins_edit:
            if self.documents_pane.stack.currentWidget() is self.documents_pane.list_page:
                self.documents_pane.focus_list()

    def _on_state(self, state: PaneState) -> None:
        if state is not PaneState.DOCUMENTS:
            self.viewer.clear()

    # -- dialogs ------------------------------------------------------------------------
    def _patient_label(self) -> str:
        status = self.status_panel.shown_status
        if status is None:
            return ""
        family = (status.patient_family_name or "").upper()
        given = (status.patient_given_name or "").title()
        return " ".join(p for p in (family, given) if p)

    def request_emergency(self) -> EmergencyDialog | None:
        """The separate, deliberate button: choose the mode and give the reason."""
        if not self.consultation.may_use_emergency_access:
            return None
        if self.emergency_dialog is not None:
            self.emergency_dialog.raise_()
            return self.emergency_dialog
        dialog = EmergencyDialog(self._patient_label(), self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.emergency_dialog = dialog

        def done(result: int) -> None:
            self.emergency_dialog = None
            if result == QDialog.DialogCode.Accepted and dialog.purpose is not None:
                problem = self.consultation.start_emergency_access(dialog.purpose, dialog.reason)
                if problem is not None:
                    self.documents_pane.message_page.show_message(
                        self.tr("Accès en urgence impossible"), problem, Tone.ERROR
                    )
            dialog.clear()

        dialog.finished.connect(done)
        dialog.open()
        return dialog

    def ask_treating_physician(self) -> QMessageBox | None:
        """The médecin traitant declaration: one question, two answers, never automatic."""
        if not self.consultation.may_declare_treating_physician:
            return None
        status = self.consultation.status
        female = status is not None and status.is_female
        box = QMessageBox(
            QMessageBox.Icon.Question,
            self.tr("Médecin traitant DMP"),
            self.tr("La patiente vous désigne-t-elle comme son médecin traitant DMP ?")
            if female
            else self.tr("Le patient vous désigne-t-il comme son médecin traitant DMP ?"),
            parent=self,
        )
        box.setInformativeText(
            self.tr(
                "Votre réponse est enregistrée dans le DMP. Le médecin traitant DMP peut "
                "notamment voir les documents masqués aux autres professionnels."
            )
        )
        yes = box.addButton(
            self.tr("&Oui, elle me désigne") if female else self.tr("&Oui, il me désigne"),
            QMessageBox.ButtonRole.YesRole,
        )
        no = box.addButton(self.tr("&Non"), QMessageBox.ButtonRole.NoRole)
        box.setDefaultButton(no)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.treating_box = box

        def done(_result: int) -> None:
            self.treating_box = None
            if box.clickedButton() is yes:
                self.consultation.declare_treating_physician()

        box.finished.connect(done)
        box.open()
        return box

    def close_dialogs(self) -> None:
        for dialog in (self.emergency_dialog, self.treating_box):
            if dialog is not None:
                dialog.reject()
        self.emergency_dialog = None
        self.treating_box = None

    # -- patient ------------------------------------------------------------------------
    def clear(self) -> None:
        """Forget the patient: field, feedback, status, documents, viewer, everything."""
        self.pending_ins = None
        self.chosen_identity = None
        self.close_dialogs()
        self.patient_pane.clear()
        self.status_panel.clear()
        self.documents_pane.clear()
        self.viewer.clear()

    def clear_patient_view(self) -> None:
        """Forget what is shown of the patient, keep the INS field (another patient typed)."""
        self.close_dialogs()
        self.status_panel.clear()
        self.documents_pane.clear()
        self.viewer.clear()

    def begin_check(self, ins: Ins) -> None:
        self.pending_ins = ins
        self.status_panel.show_busy()
        self.patient_pane.set_busy(True)

    def end_check(self) -> None:
        self.patient_pane.set_busy(False)
        if self.pending_ins is not None and self.status_panel.busy_label.isVisible():
            self.status_panel.clear()

    def show_status(self, status: DmpStatus) -> bool:
        """Show ``status`` if it answers the INS still in the field."""
        if self.pending_ins is None or self.patient_pane.current_ins() != self.pending_ins:
            return False
        self.status_panel.show_status(
            status, self.chosen_identity, practitioner=self.consultation.practitioner
        )
        if self.status_panel.shown_identity is not None:
            self.identityShown.emit(self.status_panel.shown_identity)
        return True

    def choose_identity(self, identity: InsIdentity) -> None:
        """A patient chosen (INSi, a list, the recent patients): its INS goes in the field."""
        self.patient_pane.show_patient(identity.ins)
        self.chosen_identity = identity

    @property
    def current_identity(self) -> InsIdentity | None:
        """The identity of the patient on screen (None while no DMP answer is shown)."""
        return self.status_panel.shown_identity

    def show_error(self, message: str) -> None:
        if self.pending_ins is None:
            return
        self.status_panel.show_error(message)

    def _on_ins_edited(self, _text: str) -> None:
        # A status on screen belongs to the INS it was asked for: never show it
        # (nor the documents) next to another patient's number.
        current = self.patient_pane.current_ins()
        if self.chosen_identity is not None and current != self.chosen_identity.ins:
            self.chosen_identity = None
        if self.pending_ins is not None and current != self.pending_ins:
            self.pending_ins = None
            self.clear_patient_view()
            self.patientCleared.emit()
