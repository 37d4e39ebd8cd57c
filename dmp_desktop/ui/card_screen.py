"""The calm screen shown while nobody is logged in: what is missing, what to do."""

from __future__ import annotations

from PySide6.QtCore import QItemSelectionModel, QModelIndex, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QHBoxLayout,
    QLabel,
    QListView,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from dmp_desktop.errors import (
    CardNotRecognisedError,
    MiddlewareLoadError,
    MiddlewareNotFoundError,
    NoReaderError,
    PinLockedError,
    describe,
)
from dmp_desktop.services.card_service import CardState
from dmp_desktop.smartcard.card_info import CardInfo
from dmp_desktop.ui.card_model import CardListModel, CardRole, card_holder_text, card_kind
from dmp_desktop.ui.icons import pixmap
from dmp_desktop.ui.style import Tone, make_primary, scaled_font, set_tone


class CardScreen(QWidget):
    """One message, one action; the list of cards when several are inserted."""

    loginRequested = Signal(object)  # CardInfo | None
    cardSelected = Signal(object)  # CardInfo | None
    settingsRequested = Signal()  # "Paramètres…": choose the card's middleware

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("cardScreen")
        self._state = CardState.STARTING

        panel = QFrame(self)
        panel.setObjectName("cardPanel")
        panel.setMaximumWidth(640)
        panel.setStyleSheet(
            "#cardPanel { background: palette(base); border: 1px solid palette(mid);"
            " border-radius: 8px; }"
        )
        self.icon_label = QLabel(panel)
        self.icon_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.title_label = QLabel(panel)
        self.title_label.setObjectName("cardTitle")
        self.title_label.setFont(scaled_font(self, 1.6, bold=True))
        self.title_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.title_label.setWordWrap(True)
        self.detail_label = QLabel(panel)
        self.detail_label.setObjectName("cardDetail")
        self.detail_label.setFont(scaled_font(self, 1.1))
        self.detail_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.detail_label.setWordWrap(True)
        self.detail_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.model = CardListModel(self)
        self.card_list = QListView(panel)
        self.card_list.setObjectName("cardList")
        self.card_list.setModel(self.model)
        self.card_list.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.card_list.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.card_list.setAccessibleName(self.tr("Cartes insérées"))
        self.card_list.selectionModel().currentChanged.connect(self._on_current_changed)
        self.card_list.activated.connect(self._on_activated)
        self.list_label = QLabel(self.tr("Cartes &insérées :"), panel)
        self.list_label.setBuddy(self.card_list)

        self.login_button = QPushButton(self.tr("Se co&nnecter…"), panel)
        self.login_button.setObjectName("loginButton")
        make_primary(self.login_button)
        self.login_button.setDefault(True)
        self.login_button.setAutoDefault(True)
        self.login_button.clicked.connect(self._on_login_clicked)

        self.settings_button = QPushButton(self.tr("&Paramètres…"), panel)
        self.settings_button.setObjectName("cardSettingsButton")
        self.settings_button.setToolTip(self.tr("Choisir le module de la carte CPS (Ctrl+,)"))
        self.settings_button.clicked.connect(self.settingsRequested)
        self.settings_button.hide()

        self.notice_label = QLabel(panel)
        self.notice_label.setObjectName("cardNotice")
        self.notice_label.setWordWrap(True)
        set_tone(self.notice_label, Tone.INFO, "")

        inner = QVBoxLayout(panel)
        inner.setContentsMargins(32, 28, 32, 28)
        inner.setSpacing(14)
        inner.addWidget(self.icon_label)
        inner.addWidget(self.title_label)
        inner.addWidget(self.detail_label)
        inner.addWidget(self.notice_label)
        inner.addWidget(self.list_label)
        inner.addWidget(self.card_list)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.login_button)
        buttons.addWidget(self.settings_button)
        buttons.addStretch(1)
        inner.addLayout(buttons)

        outer = QVBoxLayout(self)
        outer.addStretch(1)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(panel, 4)
        row.addStretch(1)
        outer.addLayout(row)
        outer.addStretch(2)

    # -- fed by the window --------------------------------------------------------------
    def set_cards(self, cards: list[CardInfo], selected: CardInfo | None) -> None:
        self.model.set_cards(cards)
        row = self.model.row_of(selected)
        if row < 0 and len(cards) > 1:
            row = 0  # a card is always chosen: Enter goes straight to its PIN
        if row >= 0:
            self.card_list.selectionModel().setCurrentIndex(
                self.model.index(row, 0), QItemSelectionModel.SelectionFlag.ClearAndSelect
            )
        self._refresh_list()

    def set_state(
        self,
        state: CardState,
        cards: list[CardInfo],
        selected: CardInfo | None,
        problem: BaseException | None,
    ) -> None:
        self._state = state
        several = len(cards) > 1
        target = selected or (cards[0] if len(cards) == 1 else None)
        icon = "card-missing"
        if state is CardState.STARTING:
            title = self.tr("Recherche de la carte CPS…")
            detail = self.tr("Un instant : DMP Desktop interroge le lecteur de cartes.")
        elif state is CardState.NO_MIDDLEWARE:
            if isinstance(problem, MiddlewareLoadError):
                title = self.tr("Logiciel de la carte CPS inutilisable…")
                detail = describe(problem)
            else:
                title = self.tr("Logiciel de la carte CPS introuvable…")
                path = problem.path if isinstance(problem, MiddlewareNotFoundError) else None
                detail = describe(MiddlewareNotFoundError(path))
        elif state is CardState.NO_CARD and isinstance(problem, NoReaderError):
            title = self.tr("Aucun lecteur de cartes détecté")
            detail = describe(problem)
        elif state is CardState.NO_CARD:
            title = self.tr("Insérez votre carte CPS dans le lecteur")
            detail = (
                describe(problem)
                if problem is not None
                else self.tr(
                    "DMP Desktop se connecte au DMP avec votre carte CPS et son code PIN. "
                    "La carte est détectée dès que vous l'insérez."
                )
            )
        elif state is CardState.LOCKED:
            icon = "card-locked"
            title = self.tr("Carte bloquée…")
            detail = describe(PinLockedError())
            if several:
                detail += " " + self.tr("Vous pouvez choisir une autre carte ci-dessous.")
        elif state is CardState.LOGGING_IN:
            icon = "card"
            title = self.tr("Vérification du code PIN…")
            detail = self.tr("La carte vérifie votre code PIN.")
        elif target is not None and not target.recognised and not several:
            icon = "card-missing"
            title = self.tr("Carte non reconnue")
            if target.problem is not None:  # a CPS card we cannot use (e.g. its profession)
                detail = describe(target.problem)
            else:
                detail = (
                    describe(CardNotRecognisedError())
                    + " "
                    + self.tr("Retirez-la et insérez votre carte CPS.")
                )
        elif several:
            icon = "card"
            title = self.tr("Plusieurs cartes sont insérées")
            detail = self.tr(
                "Choisissez votre carte dans la liste (flèches, puis Entrée) pour saisir "
                "son code PIN."
            )
        else:
            icon = "card"
            title = self.tr("Carte {kind} détectée").format(kind=card_kind(target))
            who = card_holder_text(target) if target is not None else ""
            detail = self.tr("{who}. Saisissez votre code PIN pour vous connecter au DMP.").format(
                who=who
            )
        self.icon_label.setPixmap(pixmap(icon, 96, self.devicePixelRatioF()))
        self.title_label.setText(title)
        self.detail_label.setText(detail)
        self.setAccessibleDescription(f"{title}. {detail}")
        self._refresh_list()

    def set_notice(self, text: str, tone: Tone = Tone.INFO) -> None:
        set_tone(self.notice_label, tone, text)

    def clear_notice(self) -> None:
        set_tone(self.notice_label, Tone.INFO, "")

    def selected_card(self) -> CardInfo | None:
        index = self.card_list.currentIndex()
        card = index.data(CardRole) if index.isValid() else None
        return card if isinstance(card, CardInfo) else None

    def focus_default(self) -> None:
        if self.card_list.isVisible() and self.model.rowCount() > 1:
            self.card_list.setFocus()
        else:
            self.login_button.setFocus()

    # -- internals ----------------------------------------------------------------------
    def _refresh_list(self) -> None:
        rows = self.model.rowCount()
        several = rows > 1
        if several:
            frame = 2 * self.card_list.frameWidth() + 4
            self.card_list.setFixedHeight(min(rows, 5) * self.card_list.sizeHintForRow(0) + frame)
        self.card_list.setVisible(several)
        self.list_label.setVisible(several)
        chosen = self.selected_card() if several else self.model.card_at(0)
        can_login = (
            self._state in (CardState.CARD_PRESENT,)
            and (not several or chosen is not None)
            and (chosen is None or chosen.recognised)
        )
        unknown_card = not several and chosen is not None and not chosen.recognised
        self.login_button.setVisible(
            self._state in (CardState.CARD_PRESENT, CardState.LOCKED) and not unknown_card
        )
        self.login_button.setEnabled(can_login)
        self.settings_button.setVisible(self._state is CardState.NO_MIDDLEWARE)

    def _on_current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        card = current.data(CardRole) if current.isValid() else None
        self.cardSelected.emit(card if isinstance(card, CardInfo) else None)
        self._refresh_list()

    def _on_activated(self, index: QModelIndex) -> None:
        card = index.data(CardRole)
        if isinstance(card, CardInfo):
            self.loginRequested.emit(card)

    def _on_login_clicked(self) -> None:
        self.loginRequested.emit(self.selected_card())
