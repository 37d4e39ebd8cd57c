"""Emergency access to a DMP: a deliberate choice (bris de glace or centre 15) with a reason,
and the red banner that stays on screen for as long as the access lasts."""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, Qt
from PySide6.QtWidgets import (
    QButtonGroup,
    QDialog,
    QDialogButtonBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from dmp_desktop.services.consultation import (
    MAX_REASON_LENGTH,
    MIN_REASON_LENGTH,
    PURPOSE_BREAK_GLASS,
    PURPOSE_CENTRE_15,
    AccessMode,
    emergency_problem,
)
from dmp_desktop.ui.style import Tone, scaled_font, set_tone
from dmp_desktop.usecases.access import clean_reason

BANNER_CSS = (
    "#emergencyBanner { background: #b3261e; border-bottom: 2px solid #7f1d18; }"
    " #emergencyBanner QLabel { color: #ffffff; font-weight: bold; }"
)


class EmergencyDialog(QDialog):
    """Choose bris de glace or centre 15, give the reason; nothing is preselected."""

    def __init__(self, patient_label: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("emergencyDialog")
        self.setWindowTitle(self.tr("Accès en urgence au DMP"))
        self.setModal(True)
        self.setMinimumWidth(520)

        title = QLabel(self.tr("Accès en urgence au DMP"), self)
        title.setFont(scaled_font(self, 1.25, bold=True))
        who = QLabel(patient_label, self)
        who.setObjectName("emergencyPatient")
        who.setTextFormat(Qt.TextFormat.PlainText)
        warning = QLabel(self)
        warning.setWordWrap(True)
        set_tone(
            warning,
            Tone.WARNING,
            self.tr(
                "Cet accès sans autorisation est tracé dans le DMP avec votre identité et le "
                "motif ; le patient en est informé. N'y recourez que si son état l'exige et "
                "qu'il ne peut pas donner son consentement."
            ),
        )

        self.break_glass = QRadioButton(
            self.tr("&Bris de glace : urgence, le patient ne peut pas consentir"), self
        )
        self.break_glass.setObjectName("breakGlassRadio")
        self.centre_15 = QRadioButton(self.tr("&Centre 15 : régulation médicale du SAMU"), self)
        self.centre_15.setObjectName("centre15Radio")
        centre_15_note = QLabel(
            self.tr(
                "Le mode centre 15 est réservé aux médecins régulateurs d'un centre 15 (SAMU). "
                "Si vous n'êtes pas dans ce cadre, choisissez le bris de glace."
            ),
            self,
        )
        centre_15_note.setWordWrap(True)
        centre_15_note.setStyleSheet("color: palette(placeholder-text); margin-left: 24px;")
        self.group = QButtonGroup(self)
        self.group.addButton(self.break_glass)
        self.group.addButton(self.centre_15)

        self.reason_label = QLabel(self.tr("&Motif de l'accès :"), self)
        self.reason_label.setFont(scaled_font(self, 1.0, bold=True))
        self.reason_edit = QPlainTextEdit(self)
        self.reason_edit.setObjectName("reasonEdit")
        self.reason_edit.setTabChangesFocus(True)
        self.reason_edit.setPlaceholderText(
            self.tr("Ex. : patient inconscient amené aux urgences, recherche d'antécédents")
        )
        self.reason_edit.setAccessibleName(self.tr("Motif de l'accès en urgence"))
        self.reason_edit.setMaximumHeight(self.fontMetrics().height() * 5)
        self.reason_label.setBuddy(self.reason_edit)
        self.feedback_label = QLabel(self)
        self.feedback_label.setObjectName("reasonFeedback")
        self.feedback_label.setWordWrap(True)

        self.buttons = QDialogButtonBox(self)
        self.ok_button = QPushButton(self.tr("&Accéder en urgence"), self)
        self.ok_button.setObjectName("emergencyOk")
        self.ok_button.setEnabled(False)
        self.buttons.addButton(self.ok_button, QDialogButtonBox.ButtonRole.AcceptRole)
        self.cancel_button = self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.cancel_button.setText(self.tr("Annuler"))
        self.cancel_button.setDefault(True)
        self.buttons.accepted.connect(self._accept)
        self.buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.setSpacing(8)
        layout.addWidget(title)
        layout.addWidget(who)
        layout.addWidget(warning)
        layout.addSpacing(4)
        layout.addWidget(self.break_glass)
        layout.addWidget(self.centre_15)
        layout.addWidget(centre_15_note)
        layout.addSpacing(4)
        layout.addWidget(self.reason_label)
        layout.addWidget(self.reason_edit)
        layout.addWidget(self.feedback_label)
        layout.addWidget(self.buttons)

        self.group.buttonToggled.connect(lambda *_: self._update())
        self.reason_edit.textChanged.connect(self._update)
        self._update()

    @property
    def purpose(self) -> str | None:
        if self.break_glass.isChecked():
            return PURPOSE_BREAK_GLASS
        if self.centre_15.isChecked():
            return PURPOSE_CENTRE_15
        return None

    @property
    def reason(self) -> str:
        return clean_reason(self.reason_edit.toPlainText())

    def problem(self) -> str | None:
        purpose = self.purpose
        if purpose is None:
            return self.tr("Choisissez le mode d'accès : bris de glace ou centre 15.")
        return emergency_problem(purpose, self.reason)

    def _update(self) -> None:
        """The one rule of the reason (usecases.access), the same for both purposes."""
        problem = self.problem()
        self.ok_button.setEnabled(problem is None)
        self.reason_label.setText(self.tr("&Motif de l'accès (obligatoire) :"))
        if problem is None:
            set_tone(self.feedback_label, Tone.OK, self.tr("Motif enregistré avec l'accès."))
        elif self.purpose is not None and len(self.reason) < MIN_REASON_LENGTH:
            missing = MIN_REASON_LENGTH - len(self.reason)
            set_tone(
                self.feedback_label,
                Tone.NEUTRAL,
                self.tr("Motif obligatoire : encore {n} caractère(s) au moins.").format(n=missing),
            )
        elif len(self.reason) > MAX_REASON_LENGTH:
            set_tone(self.feedback_label, Tone.ERROR, problem)
        else:
            set_tone(self.feedback_label, Tone.NEUTRAL, problem)

    def _accept(self) -> None:
        if self.problem() is None:
            self.accept()

    def clear(self) -> None:
        self.reason_edit.setPlainText("")


def banner_text(access: AccessMode) -> str:
    def tr(text: str) -> str:
        return QCoreApplication.translate("EmergencyBanner", text)

    if access.purpose == PURPOSE_BREAK_GLASS:
        head = tr("ACCÈS EN MODE BRIS DE GLACE")
    elif access.purpose == PURPOSE_CENTRE_15:
        head = tr("ACCÈS EN MODE CENTRE 15 (régulation médicale)")
    else:
        return ""
    if access.reason:
        return tr("⚠ {head} — motif : {reason}").format(head=head, reason=access.reason)
    return f"⚠ {head}"


class EmergencyBanner(QFrame):
    """Red, across the window, for as long as the emergency access lasts."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("emergencyBanner")
        self.setStyleSheet(BANNER_CSS)
        self.label = QLabel(self)
        self.label.setObjectName("emergencyBannerText")
        self.label.setTextFormat(Qt.TextFormat.PlainText)
        self.label.setWordWrap(True)
        self.label.setFont(scaled_font(self, 1.1, bold=True))
        layout = QHBoxLayout(self)
        layout.setContentsMargins(14, 6, 14, 6)
        layout.addWidget(self.label, 1)
        self.access: AccessMode | None = None
        self.hide()

    def show_access(self, access: AccessMode) -> None:
        text = banner_text(access)
        self.access = access if text else None
        self.label.setText(text)
        self.label.setAccessibleName(text)
        self.setAccessibleName(text)
        self.setVisible(bool(text))

    def clear(self) -> None:
        self.access = None
        self.label.setText("")
        self.label.setAccessibleName("")
        self.setAccessibleName("")
        self.hide()
