"""Asking for the CPS card's PIN.

The dialog shows whose card it is and how many tries are left before the user
types anything. The PIN is handed to a callback (the card service) the moment
the user validates, and the field is emptied at once; the dialog never keeps,
logs or emits it.

With a PIN-pad reader (PKCS#11 "protected authentication path") there is no
field: the dialog says "Saisissez votre code sur le clavier du lecteur" and
hands ``None`` to the callback, which starts the login on the card thread;
the reader collects the PIN itself. On the final try the user first reads
the warning and starts the entry with a button.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from dmp_desktop.smartcard.card_info import PIN_TRIES, CardInfo
from dmp_desktop.ui.card_model import card_holder_text, card_kind, card_place
from dmp_desktop.ui.icons import pixmap
from dmp_desktop.ui.style import Tone, scaled_font, set_tone

PIN_MIN = 4
PIN_MAX = 8


class PinDialog(QDialog):
    def __init__(
        self,
        card: CardInfo,
        tries_left: int,
        on_pin: Callable[[str | None], None],
        message: str | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.card = card
        self.tries_left = tries_left
        self.keypad = card.protected_auth
        self.keypad_started = False
        self._on_pin: Callable[[str | None], None] | None = on_pin
        kind = card_kind(card)
        self.setWindowTitle(self.tr("Code PIN de la carte {kind}").format(kind=kind))
        self.setModal(True)
        self.setMinimumWidth(440)

        icon = QLabel(self)
        icon.setPixmap(pixmap("card", 48, self.devicePixelRatioF()))
        icon.setAlignment(Qt.AlignmentFlag.AlignTop)
        self.holder_label = QLabel(card_holder_text(card), self)
        self.holder_label.setObjectName("holderLabel")
        self.holder_label.setFont(scaled_font(self, 1.15, bold=True))
        self.card_label = QLabel(card_place(card), self)
        self.card_label.setObjectName("cardPlace")
        self.card_label.setStyleSheet("color: palette(placeholder-text);")
        identity = QVBoxLayout()
        identity.addWidget(self.holder_label)
        identity.addWidget(self.card_label)
        top = QHBoxLayout()
        top.addWidget(icon)
        top.addLayout(identity, 1)

        # The previous attempt's outcome (e.g. "Code PIN incorrect. Il vous reste 2 essais.").
        self.error_label = QLabel(self)
        self.error_label.setObjectName("pinErrorLabel")
        self.error_label.setWordWrap(True)
        set_tone(self.error_label, Tone.ERROR, message or "")

        self.tries_label = QLabel(self)
        self.tries_label.setObjectName("triesLabel")
        self.tries_label.setWordWrap(True)
        self.final_try = tries_left == 1
        if self.final_try:
            set_tone(
                self.tries_label,
                Tone.DANGER,
                self.tr(
                    "DERNIER ESSAI : un code PIN erroné bloquera votre carte {kind}. "
                    "Il faudra alors la débloquer avec votre code PUK. "
                    "En cas de doute, annulez."
                ).format(kind=kind),
            )
        elif tries_left > 1:
            set_tone(
                self.tries_label,
                Tone.WARNING if tries_left < PIN_TRIES else Tone.INFO,
                self.tr(
                    "Essais restants : {n} sur {total}. La carte se bloque après "
                    "{total} codes erronés."
                ).format(n=tries_left, total=PIN_TRIES),
            )
        else:
            set_tone(
                self.tries_label,
                Tone.INFO,
                self.tr("La carte se bloque après {total} codes erronés.").format(total=PIN_TRIES),
            )

        self.pin_edit = QLineEdit(self)
        self.pin_edit.setObjectName("pinEdit")
        self.pin_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.pin_edit.setMaxLength(PIN_MAX)
        self.pin_edit.setInputMethodHints(
            Qt.InputMethodHint.ImhHiddenText
            | Qt.InputMethodHint.ImhSensitiveData
            | Qt.InputMethodHint.ImhNoPredictiveText
            | Qt.InputMethodHint.ImhNoAutoUppercase
        )
        self.pin_edit.setAccessibleName(self.tr("Code PIN"))
        self.pin_edit.setAccessibleDescription(self.tries_label.accessibleDescription())
        pin_label = QLabel(self.tr("&Code PIN :"), self)
        pin_label.setBuddy(self.pin_edit)
        form = QFormLayout()
        form.addRow(pin_label, self.pin_edit)
        hint = QLabel(
            self.tr(
                "{min} à {max} caractères. Le code n'est ni enregistré ni transmis au DMP."
            ).format(min=PIN_MIN, max=PIN_MAX),
            self,
        )
        hint.setStyleSheet("color: palette(placeholder-text);")
        hint.setWordWrap(True)

        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        self.ok_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setText(self.tr("&Valider"))
        self.ok_button.setEnabled(False)
        self.ok_button.setDefault(True)
        self.buttons.button(QDialogButtonBox.StandardButton.Cancel).setText(self.tr("Annuler"))
        self.buttons.accepted.connect(self._submit)
        self.buttons.rejected.connect(self.reject)
        self.pin_edit.textChanged.connect(self._on_text_changed)

        # PIN-pad reader: the code is typed on the reader, never here.
        self.keypad_label = QLabel(self)
        self.keypad_label.setObjectName("keypadLabel")
        self.keypad_label.setWordWrap(True)
        self.keypad_label.setFont(scaled_font(self, 1.15, bold=True))
        self.keypad_label.setVisible(self.keypad)
        if self.keypad:
            pin_label.hide()
            self.pin_edit.hide()
            hint.setText(
                self.tr(
                    "Le code est saisi sur le lecteur : il ne passe pas par l'ordinateur "
                    "et n'est jamais enregistré."
                )
            )
            if self.final_try:
                self.keypad_label.setText(
                    self.tr("Lisez l'avertissement ci-dessus, puis commencez la saisie.")
                )
                self.ok_button.setText(self.tr("&Saisir le code sur le lecteur"))
                self.ok_button.setEnabled(True)
            else:
                self.keypad_label.setText(
                    self.tr("Saisissez votre code sur le clavier du lecteur.")
                )
                self.ok_button.hide()

        layout = QVBoxLayout(self)
        layout.setSpacing(10)
        layout.addLayout(top)
        layout.addWidget(self.error_label)
        layout.addWidget(self.tries_label)
        layout.addLayout(form)
        layout.addWidget(self.keypad_label)
        layout.addWidget(hint)
        layout.addWidget(self.buttons)
        if self.keypad:
            self.setAccessibleDescription(self.keypad_label.text())
            self.ok_button.setFocus()
        else:
            self.pin_edit.setFocus()

    @staticmethod
    def acceptable(pin: str) -> bool:
        return PIN_MIN <= len(pin) <= PIN_MAX

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if self.keypad and not self.final_try and not self.keypad_started:
            QTimer.singleShot(0, self, self._start_keypad)  # once the dialog is on screen

    def _start_keypad(self) -> None:
        """Start the login: the reader now waits for the code on its keypad."""
        if self.keypad_started or self._on_pin is None or not self.isVisible():
            return
        self.keypad_started = True
        on_pin, self._on_pin = self._on_pin, None
        self.keypad_label.setText(self.tr("Saisissez votre code sur le clavier du lecteur."))
        self.setAccessibleDescription(self.keypad_label.text())
        self.ok_button.hide()
        on_pin(None)  # the dialog stays open until the card has answered

    def _on_text_changed(self, text: str) -> None:
        self.ok_button.setEnabled(self.acceptable(text))

    def _submit(self) -> None:
        if self.keypad:
            self._start_keypad()
            return
        pin = self.pin_edit.text()
        self.pin_edit.setText("")  # setText also drops the undo history
        if not self.acceptable(pin) or self._on_pin is None:
            return
        on_pin, self._on_pin = self._on_pin, None
        on_pin(pin)
        del pin
        self.accept()

    def done(self, result: int) -> None:
        self.pin_edit.setText("")
        self._on_pin = None
        super().done(result)
