"""Small widgets of the main window: the top bar and the progress indicator."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QWidget,
)

from dmp_desktop.domain.practitioner import Practitioner
from dmp_desktop.services.card_service import CardState
from dmp_desktop.services.operations import Operation
from dmp_desktop.smartcard.specialties import headline
from dmp_desktop.ui.card_model import cards_present_text
from dmp_desktop.ui.icons import pixmap
from dmp_desktop.ui.style import (
    TRAINING_BADGE_CSS,
    Tone,
    is_dark,
    restyle,
    scaled_font,
    tone_css,
    tone_text_colour,
)


class TopBar(QFrame):
    """Who is connected with which card, and whether this is the training host."""

    def __init__(self, training_mode: bool, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("topBar")
        self.setStyleSheet(
            "#topBar { background: palette(alternate-base);"
            " border-bottom: 1px solid palette(mid); }"
        )
        layout = QHBoxLayout(self)
        layout.setContentsMargins(14, 8, 14, 8)
        layout.setSpacing(10)

        self.card_icon = QLabel(self)
        self.card_icon.setAccessibleName(self.tr("Carte"))
        self.state_label = QLabel(self)
        self.state_label.setObjectName("cardStateLabel")
        self.practitioner_label = QLabel(self)
        self.practitioner_label.setObjectName("practitionerLabel")
        self.practitioner_label.setFont(scaled_font(self, 1.15, bold=True))
        self.practitioner_label.setAccessibleName(self.tr("Professionnel connecté"))
        self.training_badge = QLabel(self.tr("MODE FORMATION"), self)
        self.training_badge.setObjectName("trainingBadge")
        self.training_badge.setStyleSheet(TRAINING_BADGE_CSS)
        self.training_badge.setToolTip(
            self.tr(
                "Vous utilisez le serveur de formation : patients et documents fictifs, "
                "rien n'est envoyé au DMP réel."
            )
        )
        self.training_badge.setAccessibleName(self.training_badge.toolTip())
        self.training_badge.setVisible(training_mode)

        layout.addWidget(self.card_icon)
        layout.addWidget(self.practitioner_label)
        layout.addWidget(self.state_label)
        layout.addStretch(1)
        layout.addWidget(self.training_badge)
        self.set_card_state(CardState.STARTING, None)

    def set_card_state(
        self,
        state: CardState,
        practitioner: Practitioner | None,
        kinds: str | Sequence[str] = "CPS",
    ) -> None:
        """``kinds``: « CPS » or « CPE », the card chosen, or one per card in the readers
        when none is chosen yet (the holder's once logged in)."""
        if isinstance(kinds, str):
            kinds = (kinds,)
        kind = kinds[0] if len(kinds) == 1 else "CPS"
        if practitioner is not None:
            kind = practitioner.card_kind
            kinds = (kind,)
        icon_name = {
            CardState.LOGGED_IN: "card",
            CardState.CARD_PRESENT: "card",
            CardState.LOGGING_IN: "card",
            CardState.LOCKED: "card-locked",
        }.get(state, "card-missing")
        self.card_icon.setPixmap(pixmap(icon_name, 28, self.devicePixelRatioF()))
        texts = {
            CardState.STARTING: self.tr("Recherche de la carte CPS…"),
            CardState.NO_MIDDLEWARE: self.tr("Logiciel de la carte CPS introuvable"),
            CardState.NO_CARD: self.tr("Aucune carte CPS"),
            CardState.CARD_PRESENT: self.tr("{cards} · non connecté"),
            CardState.LOGGING_IN: self.tr("Vérification du code PIN…"),
            CardState.LOCKED: self.tr("Carte {kind} bloquée"),
            CardState.LOGGED_IN: self.tr("✔ Carte {kind} connectée"),
        }
        self.state_label.setText(texts[state].format(kind=kind, cards=cards_present_text(kinds)))
        self.card_icon.setAccessibleName(
            self.tr("Carte {kind}").format(kind=kind)
            if len(kinds) == 1
            else self.tr("Cartes {kinds}").format(kinds=", ".join(sorted(set(kinds))))
        )
        if state is CardState.LOGGED_IN:
            restyle(
                self.state_label,
                tone_css(Tone.OK, is_dark(self.palette())).replace(
                    "border-radius: 4px; padding: 6px 8px;", "border-radius: 9px; padding: 1px 8px;"
                ),
            )
        elif state in (CardState.LOCKED, CardState.NO_MIDDLEWARE):
            colour = tone_text_colour(Tone.ERROR, self.palette()).name()
            restyle(self.state_label, f"QLabel {{ color: {colour}; font-weight: bold; }}")
        else:
            restyle(self.state_label, "")
        if state is CardState.LOGGED_IN and practitioner is not None:
            self.practitioner_label.setText(headline(practitioner))
            self.practitioner_label.show()
        else:
            self.practitioner_label.setText("")
            self.practitioner_label.hide()
        self.card_icon.setToolTip(self.state_label.text())


class ProgressIndicator(QWidget):
    """Status-bar progress: the operation's label, a busy bar and 'Annuler'."""

    cancelRequested = Signal(object)  # Operation

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("progressIndicator")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.label = QLabel(self)
        self.bar = QProgressBar(self)
        self.bar.setRange(0, 0)
        self.bar.setTextVisible(False)
        self.bar.setFixedWidth(120)
        self.bar.setAccessibleName(self.tr("Opération en cours"))
        self.cancel_button = QPushButton(self.tr("Annuler"), self)
        self.cancel_button.setToolTip(self.tr("Annuler l'opération en cours (Échap)"))
        self.cancel_button.clicked.connect(self._cancel)
        layout.addWidget(self.label)
        layout.addWidget(self.bar)
        layout.addWidget(self.cancel_button)
        self._ops: list[Operation[Any]] = []
        self.hide()

    @property
    def current(self) -> Operation[Any] | None:
        return self._ops[-1] if self._ops else None

    def add(self, op: Operation[Any]) -> None:
        if op not in self._ops:
            self._ops.append(op)
        self._refresh()

    def remove(self, op: Operation[Any]) -> None:
        if op in self._ops:
            self._ops.remove(op)
        self._refresh()

    def _refresh(self) -> None:
        op = self.current
        if op is None:
            self.hide()
            return
        self.label.setText(self.tr("{label}…").format(label=op.label))
        self.bar.setAccessibleDescription(op.label)
        self.cancel_button.setVisible(op.cancellable)
        self.show()

    def _cancel(self) -> None:
        op = self.current
        if op is not None and op.cancellable:
            self.cancelRequested.emit(op)


def heading(text: str, parent: QWidget, factor: float = 1.25) -> QLabel:
    label = QLabel(text, parent)
    label.setFont(scaled_font(parent, factor, bold=True))
    label.setTextFormat(Qt.TextFormat.PlainText)
    return label
