"""« L'essentiel » as a Qt item model: rubrics, their lines, and a filtering proxy.

Two levels: a rubric (« Traitements en cours ») and its lines. Columns:
the item (label and code), what the source says of it (posology, value and
trend, reaction), its date, and the document it comes from. A line can be
checked to go into « Préparer la synthèse »; the checks survive an update
of the lines (documents arriving). Meaning is never carried by colour alone:
a line from disagreeing sources starts with « ⚠ », a new one ends with
« ● nouveau », and both are said in the tooltip and the accessible text.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import (
    QT_TRANSLATE_NOOP,
    QAbstractItemModel,
    QCoreApplication,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
)
from PySide6.QtGui import QBrush, QColor, QFont

from dmp_desktop.essentials.model import Category, Essentials, Line
from dmp_desktop.essentials.text import RowTexts, prepare_rows, row_texts
from dmp_desktop.essentials.wording import normalized
from dmp_desktop.ui.proxy import change_filter
from dmp_desktop.ui.style import Tone, tone_text_colour

Index = QModelIndex | QPersistentModelIndex
_ROOT = 0  # internal id of a rubric; a line's is its rubric's row + 1 (ids are unsigned)


class Column(enum.IntEnum):
    ITEM = 0
    DETAIL = 1
    DATE = 2
    SOURCE = 3


LineRole = Qt.ItemDataRole.UserRole + 1  # the Line (None on a rubric)
SourceIdRole = Qt.ItemDataRole.UserRole + 2  # the unique id of the line's document
CategoryRole = Qt.ItemDataRole.UserRole + 3  # the rubric (Category)
FilterTextRole = Qt.ItemDataRole.UserRole + 4  # what the filter looks into, normalized

CONFLICT_COLOUR = QColor("#8c1d18")  # on a light palette; tone_text_colour picks it
_COLUMNS = len(Column)


def _tr(text: str) -> str:
    return QCoreApplication.translate("EssentialsModel", text)


# The rows' words, for Qt's translation tools (the source text is French).
_PHRASES = {
    "new": QT_TRANSLATE_NOOP("EssentialsModel", "nouveau"),
    "new_since": QT_TRANSLATE_NOOP("EssentialsModel", "Nouveau depuis votre dernière visite."),
    "values": QT_TRANSLATE_NOOP("EssentialsModel", "Valeurs sur la période : {v}"),
    "source": QT_TRANSLATE_NOOP("EssentialsModel", "Source : {s}"),
    "also": QT_TRANSLATE_NOOP("EssentialsModel", "Aussi dans : {s}"),
    "enter": QT_TRANSLATE_NOOP("EssentialsModel", "Entrée : ouvrir le document source."),
    "up": QT_TRANSLATE_NOOP("EssentialsModel", "en hausse"),
    "down": QT_TRANSLATE_NOOP("EssentialsModel", "en baisse"),
    "stable": QT_TRANSLATE_NOOP("EssentialsModel", "stable"),
}


def translated_phrases() -> dict[str, str]:
    """The rows' words in the user's language (given to whoever prepares the rows)."""
    return {key: _tr(str(text)) for key, text in _PHRASES.items()}


class EssentialsModel(QAbstractItemModel):
    """Rubrics (top level) and their lines; internal ids: 0 for a rubric, its row + 1 for a line."""

    HEADERS = ("Élément", "Détail", "Date", "Source")

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._groups: list[tuple[Category, list[Line]]] = []
        self._rows: dict[int, RowTexts] = {}  # by id() of the line
        self._checked: set[str] = set()  # fingerprints of the checked lines

    # -- content -------------------------------------------------------------------------
    def set_essentials(
        self, essentials: Essentials | None, rows: Sequence[RowTexts] | None = None
    ) -> None:
        """Show ``essentials``; ``rows`` are its lines' texts prepared beforehand (else here)."""
        self.beginResetModel()
        self._groups = []
        self._rows = {}
        if essentials is not None:
            if rows is None or len(rows) != len(essentials.lines):
                rows = prepare_rows(essentials, translated_phrases())
            self._rows = {id(line): row for line, row in zip(essentials.lines, rows, strict=True)}
            for category in Category:
                lines = essentials.in_category(category)
                if lines:
                    self._groups.append((category, lines))
        present = {line.fingerprint for _, lines in self._groups for line in lines}
        self._checked &= present
        self.endResetModel()

    def clear(self) -> None:
        self._checked.clear()
        self.set_essentials(None)

    def line(self, index: Index) -> Line | None:
        if not index.isValid() or index.internalId() == _ROOT:
            return None
        group_row = index.internalId() - 1
        if not 0 <= group_row < len(self._groups):
            return None
        group = self._groups[group_row][1]
        return group[index.row()] if 0 <= index.row() < len(group) else None

    def lines(self) -> list[Line]:
        return [line for _, lines in self._groups for line in lines]

    def checked_lines(self) -> list[Line]:
        return [line for line in self.lines() if line.fingerprint in self._checked]

    def set_checked(self, line: Line, checked: bool) -> None:
        for g, (_, lines) in enumerate(self._groups):
            for row, candidate in enumerate(lines):
                if candidate.fingerprint == line.fingerprint:
                    self.setData(
                        self.createIndex(row, Column.ITEM, g + 1),
                        Qt.CheckState.Checked if checked else Qt.CheckState.Unchecked,
                        Qt.ItemDataRole.CheckStateRole,
                    )

    def category_index(self, category: Category) -> QModelIndex:
        for row, (cat, _) in enumerate(self._groups):
            if cat is category:
                return self.createIndex(row, 0, _ROOT)
        return QModelIndex()

    # -- structure -----------------------------------------------------------------------
    def index(self, row: int, column: int, parent: Index = QModelIndex()) -> QModelIndex:  # noqa: B008
        if column < 0 or column >= _COLUMNS or row < 0:
            return QModelIndex()
        if not parent.isValid():
            if row >= len(self._groups):
                return QModelIndex()
            return self.createIndex(row, column, _ROOT)
        if parent.internalId() != _ROOT or parent.column() != 0:
            return QModelIndex()
        group = parent.row()
        if group >= len(self._groups) or row >= len(self._groups[group][1]):
            return QModelIndex()
        return self.createIndex(row, column, group + 1)

    def parent(self, index: Index = QModelIndex()) -> QModelIndex:  # type: ignore[override]  # noqa: B008
        if not index.isValid() or index.internalId() == _ROOT:
            return QModelIndex()
        return self.createIndex(index.internalId() - 1, 0, _ROOT)

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        if not parent.isValid():
            return len(self._groups)
        if parent.internalId() == _ROOT and parent.column() == 0:
            return len(self._groups[parent.row()][1])
        return 0

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return _COLUMNS

    def hasChildren(self, parent: Index = QModelIndex()) -> bool:  # noqa: B008
        return self.rowCount(parent) > 0

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            if 0 <= section < len(self.HEADERS):
                return self.tr(self.HEADERS[section])
        return None

    def flags(self, index: Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        flags = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        if index.internalId() != _ROOT and index.column() == Column.ITEM:
            flags |= Qt.ItemFlag.ItemIsUserCheckable
        return flags

    # -- data ----------------------------------------------------------------------------
    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        if index.internalId() == _ROOT:
            return self._category_data(index, role)
        line = self.line(index)
        if line is None:
            return None
        column = index.column()
        texts = self._rows.get(id(line)) or row_texts(line, translated_phrases())
        if role == Qt.ItemDataRole.DisplayRole:
            return texts.cells[column]
        if role == Qt.ItemDataRole.ToolTipRole or role == Qt.ItemDataRole.AccessibleTextRole:
            return texts.explained
        if role == Qt.ItemDataRole.CheckStateRole and column == Column.ITEM:
            return (
                Qt.CheckState.Checked
                if line.fingerprint in self._checked
                else Qt.CheckState.Unchecked
            )
        if role == Qt.ItemDataRole.ForegroundRole and line.conflict and column == Column.ITEM:
            return QBrush(tone_text_colour(Tone.ERROR))
        if role == Qt.ItemDataRole.FontRole and line.new:
            font = QFont()
            font.setBold(True)
            return font
        if role == LineRole:
            return line
        if role == SourceIdRole:
            return line.source.unique_id
        if role == CategoryRole:
            return line.category
        if role == FilterTextRole:
            return texts.filter_text
        return None

    def setData(self, index: Index, value: Any, role: int = Qt.ItemDataRole.EditRole) -> bool:
        line = self.line(index)
        if line is None or role != Qt.ItemDataRole.CheckStateRole or index.column() != Column.ITEM:
            return False
        checked = value in (Qt.CheckState.Checked, Qt.CheckState.Checked.value, 2, True)
        if checked:
            self._checked.add(line.fingerprint)
        else:
            self._checked.discard(line.fingerprint)
        self.dataChanged.emit(index, index, [Qt.ItemDataRole.CheckStateRole])
        return True

    def _category_data(self, index: Index, role: int) -> Any:
        if index.row() >= len(self._groups):
            return None
        category, lines = self._groups[index.row()]
        if role == Qt.ItemDataRole.DisplayRole and index.column() == Column.ITEM:
            conflicts = sum(1 for line in lines if line.conflict)
            text = f"{category.label} ({len(lines)})"
            if conflicts:
                text += " — ⚠ " + self.tr("{n} à vérifier").format(n=conflicts)
            return text
        if role == Qt.ItemDataRole.FontRole:
            font = QFont()
            font.setBold(True)
            return font
        if role == CategoryRole:
            return category
        if role == FilterTextRole:
            return ""
        return None


class EssentialsProxy(QSortFilterProxyModel):
    """Filters lines by the words typed (accents and case ignored); rubrics follow their lines."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._words: list[str] = []
        self.setRecursiveFilteringEnabled(True)
        self.setAutoAcceptChildRows(True)

    def set_filter_text(self, text: str) -> None:
        words = normalized(text).split()
        if words == self._words:
            return
        change_filter(self, lambda: setattr(self, "_words", words))

    def filterAcceptsRow(self, source_row: int, source_parent: Index) -> bool:
        if not self._words:
            return True
        model = self.sourceModel()
        index = model.index(source_row, 0, source_parent)
        haystack = model.data(index, FilterTextRole) or ""
        return all(word in haystack for word in self._words)
