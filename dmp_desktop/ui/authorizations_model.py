"""The professionals authorised on (or blocked from) the patient's DMP (TD1.6), as a Qt model.

One row per professional: name, specialty, access (autorisé / bloqué), the
médecin traitant DMP marked, since when. The model keeps the médecin traitant
first, then the authorised, then the blocked; the proxy sorts by any column
(dates by date) and filters by access and by text.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QCoreApplication,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
)
from PySide6.QtGui import QBrush, QFont

from dmp_desktop.dates import fr_date
from dmp_desktop.dmp.td16 import STATUS_BLOCKED, STATUS_VALID, PatientAuthorization
from dmp_desktop.ui.proxy import change_filter
from dmp_desktop.ui.style import Tone, tone_text_colour

ModelIndex = QModelIndex | QPersistentModelIndex
ENTRY_ROLE = Qt.ItemDataRole.UserRole + 1
SORT_ROLE = Qt.ItemDataRole.UserRole + 2
TREATING_MARK = "★"


class Column(enum.IntEnum):
    NAME = 0
    SPECIALTY = 1
    ACCESS = 2
    TREATING = 3
    SINCE = 4


def _tr(text: str) -> str:
    return QCoreApplication.translate("AuthorizationsModel", text)


def professional_name(item: PatientAuthorization) -> str:
    name = " ".join(p for p in (item.family_name.upper(), item.given_name.title()) if p)
    return name or _tr("Professionnel {id}").format(id=item.national_id)


def access_text(item: PatientAuthorization) -> str:
    if item.status == STATUS_VALID:
        return _tr("Autorisé")
    if item.status == STATUS_BLOCKED:
        return _tr("Bloqué par le patient")
    return _tr("Expiré")


def _order(item: PatientAuthorization) -> tuple[int, str]:
    rank = 0 if item.treating_physician else (1 if item.status == STATUS_VALID else 2)
    return rank, professional_name(item).casefold()


class AuthorizationsModel(QAbstractTableModel):
    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._items: list[PatientAuthorization] = []

    def set_items(self, items: list[PatientAuthorization]) -> None:
        self.beginResetModel()
        self._items = sorted(items, key=_order)
        self.endResetModel()

    def clear(self) -> None:
        self.set_items([])

    def items(self) -> list[PatientAuthorization]:
        return list(self._items)

    def row_of(self, national_id: str) -> int:
        return next((i for i, a in enumerate(self._items) if a.national_id == national_id), -1)

    def rowCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._items)

    def columnCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(Column)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation != Qt.Orientation.Horizontal or role != Qt.ItemDataRole.DisplayRole:
            return None
        if not 0 <= section < len(Column):
            return None
        return {
            Column.NAME: _tr("Professionnel"),
            Column.SPECIALTY: _tr("Spécialité"),
            Column.ACCESS: _tr("Accès"),
            Column.TREATING: _tr("Médecin traitant DMP"),
            Column.SINCE: _tr("Depuis le"),
        }[Column(section)]

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.parent().isValid():
            return None
        row, column = index.row(), index.column()
        if not (0 <= row < len(self._items) and 0 <= column < len(Column)):
            return None
        item = self._items[row]
        col = Column(column)
        if role == ENTRY_ROLE:
            return item
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole):
            return self._text(item, col)
        if role == SORT_ROLE:
            if col is Column.SINCE:
                return item.start.isoformat() if item.start else ""
            if col is Column.TREATING:
                return 0 if item.treating_physician else 1
            return self._text(item, col).casefold()
        if role == Qt.ItemDataRole.ToolTipRole:
            if item.treating_physician:
                return _tr(
                    "{name} est le médecin traitant DMP du patient : il voit les documents "
                    "masqués et ne peut pas être bloqué."
                ).format(name=professional_name(item))
            if item.status == STATUS_BLOCKED:
                return _tr("Le patient a bloqué {name} : aucun accès, même en urgence.").format(
                    name=professional_name(item)
                )
            return None
        if role == Qt.ItemDataRole.FontRole and item.treating_physician:
            font = QFont()
            font.setBold(True)
            return font
        if role == Qt.ItemDataRole.ForegroundRole and item.status == STATUS_BLOCKED:
            return QBrush(tone_text_colour(Tone.ERROR))
        return None

    @staticmethod
    def _text(item: PatientAuthorization, col: Column) -> str:
        if col is Column.NAME:
            return professional_name(item)
        if col is Column.SPECIALTY:
            return ", ".join(item.specialty_labels or item.specialties) or "—"
        if col is Column.ACCESS:
            return access_text(item)
        if col is Column.TREATING:
            return f"{TREATING_MARK} {_tr('Médecin traitant')}" if item.treating_physician else ""
        return fr_date(item.start) if item.start else "—"


class AccessFilter(enum.Enum):
    ALL = "all"
    AUTHORISED = "authorised"
    BLOCKED = "blocked"


class AuthorizationsProxy(QSortFilterProxyModel):
    """Sorting by any column; filtering by access and by the name typed."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._access = AccessFilter.ALL
        self._text = ""
        self.setSortRole(SORT_ROLE)

    def set_access(self, access: AccessFilter) -> None:
        self._change(lambda: setattr(self, "_access", access))

    def set_text(self, text: str) -> None:
        self._change(lambda: setattr(self, "_text", text.strip().casefold()))

    def _change(self, apply: Callable[[], object]) -> None:
        change_filter(self, apply)

    def entry_at(self, index: ModelIndex) -> PatientAuthorization | None:
        if not index.isValid():
            return None
        value = self.data(index, ENTRY_ROLE)
        return value if isinstance(value, PatientAuthorization) else None

    def filterAcceptsRow(self, source_row: int, source_parent: ModelIndex) -> bool:
        model = self.sourceModel()
        if model is None:
            return False
        item = model.data(model.index(source_row, 0, source_parent), ENTRY_ROLE)
        if not isinstance(item, PatientAuthorization):
            return False
        if self._access is AccessFilter.AUTHORISED and item.status != STATUS_VALID:
            return False
        if self._access is AccessFilter.BLOCKED and item.status != STATUS_BLOCKED:
            return False
        if self._text:
            haystack = f"{professional_name(item)} {item.national_id}".casefold()
            return self._text in haystack
        return True


__all__ = [
    "ENTRY_ROLE",
    "AccessFilter",
    "AuthorizationsModel",
    "AuthorizationsProxy",
    "Column",
    "professional_name",
]
