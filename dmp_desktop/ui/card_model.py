"""The cards present in the readers, as a Qt list model (rule 5)."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import (
    QAbstractListModel,
    QCoreApplication,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
)

from dmp_desktop.smartcard.card_info import CardInfo, PinState
from dmp_desktop.smartcard.specialties import headline
from dmp_desktop.ui.icons import icon

CardRole = Qt.ItemDataRole.UserRole + 1

Index = QModelIndex | QPersistentModelIndex


SOFTWARE_READER = re.compile(r"softhsm|\bslot\b", re.IGNORECASE)


def card_kind(card: CardInfo | None) -> str:
    """« CPS » or « CPE » (a secretary's card) when the holder is known; « CPS » otherwise."""
    holder = card.holder if card is not None else None
    return holder.card_kind if holder is not None else "CPS"


def cards_present_text(kinds: Sequence[str]) -> str:
    """What is in the readers, each card named by its kind: « Carte CPE insérée »,
    « 2 cartes CPS insérées », « 3 cartes insérées (2 CPS, 1 CPE) » (``kinds``: one per
    card, as :func:`card_kind` names it)."""
    tr = QCoreApplication.translate
    if len(kinds) <= 1:
        kind = kinds[0] if kinds else "CPS"
        return tr("TopBar", "Carte {kind} insérée").format(kind=kind)
    counts = Counter(kinds)
    if len(counts) == 1:
        return tr("TopBar", "{count} cartes {kind} insérées").format(
            count=len(kinds), kind=kinds[0]
        )
    detail = ", ".join(f"{n} {kind}" for kind, n in sorted(counts.items()))
    return tr("TopBar", "{count} cartes insérées ({detail})").format(
        count=len(kinds), detail=detail
    )


def reader_text(card: CardInfo) -> str | None:
    """The reader's name as the user knows it; None for a software test token (SoftHSM's
    « slot ID 0x… » is an internal word: shown only in the training diagnostics)."""
    reader = card.reader.strip()
    if not reader or SOFTWARE_READER.search(reader):
        return None
    return reader


def card_place(card: CardInfo) -> str:
    """« Carte CPS3-DURAND · Lecteur Omnikey », or « Carte de test CPS3-DURAND » (a software
    token)."""
    reader = reader_text(card)
    if reader is None:
        return QCoreApplication.translate("CardListModel", "Carte de test {label}").format(
            label=card.token_label
        )
    return QCoreApplication.translate("CardListModel", "Carte {label} · {reader}").format(
        label=card.token_label, reader=reader
    )


def card_holder_text(card: CardInfo) -> str:
    """'Dr Marie DURAND · Médecin généraliste', or the card's label when the holder is unknown."""
    if card.holder is None:
        return QCoreApplication.translate("CardListModel", "Carte {label}").format(
            label=card.token_label
        )
    return headline(card.holder)


def card_line(card: CardInfo) -> str:
    line = f"{card_holder_text(card)} — {card.token_label}"
    if not card.recognised:
        line += QCoreApplication.translate("CardListModel", " — non reconnue")
    elif card.pin_state is PinState.LOCKED:
        line += QCoreApplication.translate("CardListModel", " — bloquée")
    return line


class CardListModel(QAbstractListModel):
    """One row per card present; ``CardRole`` gives the :class:`CardInfo`."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._cards: list[CardInfo] = []

    def set_cards(self, cards: list[CardInfo]) -> None:
        self.beginResetModel()
        self._cards = list(cards)
        self.endResetModel()

    def card_at(self, row: int) -> CardInfo | None:
        if 0 <= row < len(self._cards):
            return self._cards[row]
        return None

    def row_of(self, card: CardInfo | None) -> int:
        if card is None:
            return -1
        return next((i for i, c in enumerate(self._cards) if c.key == card.key), -1)

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt API
        return 0 if parent.isValid() else len(self._cards)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._cards):
            return None
        card = self._cards[index.row()]
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole):
            return card_line(card)
        if role == Qt.ItemDataRole.DecorationRole:
            return icon("card-locked" if card.pin_state is PinState.LOCKED else "card")
        if role == Qt.ItemDataRole.ToolTipRole:
            return card_place(card)
        if role == CardRole:
            return card
        return None
