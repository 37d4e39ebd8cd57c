"""The patient's documents as a Qt table model, and the proxy that sorts and filters them.

Meaning is never carried by colour alone: a new document is bold *and* marked
with a dot; a document written by the patient (class 90) has a tinted row *and*
a "✎" before its title, "Ajouté par le patient" as author and the words "ajouté par le
patient" in the flags; the Assurance Maladie's care history says "Assurance Maladie" as
author and in the flags (see :mod:`dmp_desktop.domain.origin`).
"""

from __future__ import annotations

import enum
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime

from PySide6.QtCore import (
    QAbstractTableModel,
    QCoreApplication,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
)
from PySide6.QtGui import QBrush, QColor, QFont

from dmp_desktop.domain.document import DocumentEntry, DocumentStatus
from dmp_desktop.domain.origin import DocumentOrigin, in_patient_space, origin_of, type_label
from dmp_desktop.services.consultation import ListScope, entry_date
from dmp_desktop.ui.proxy import change_filter

AnyIndex = QModelIndex | QPersistentModelIndex

NEW_MARK = "●"
PATIENT_MARK = "✎"
# Rows written by the patient: a violet tint with dark text (readable on any palette).
PATIENT_ROW_BACKGROUND = QColor("#efe4fa")
PATIENT_ROW_FOREGROUND = QColor("#2e1650")


def _tr(text: str) -> str:
    return QCoreApplication.translate("DocumentsModel", text)


class Column(enum.IntEnum):
    NEW = 0
    DATE = 1
    TITLE = 2
    TYPE = 3
    AUTHOR = 4
    SPECIALTY = 5
    CATEGORY = 6
    STATUS = 7
    FLAGS = 8


# Custom roles.
EntryRole = int(Qt.ItemDataRole.UserRole) + 1  # the DocumentEntry
SortRole = int(Qt.ItemDataRole.UserRole) + 2  # str or int, comparable within a column
IsNewRole = int(Qt.ItemDataRole.UserRole) + 3  # bool
UniqueIdRole = int(Qt.ItemDataRole.UserRole) + 4  # str
OriginRole = int(Qt.ItemDataRole.UserRole) + 5  # DocumentOrigin


def fold(text: str) -> str:
    """Case- and accent-insensitive form for searching ("Échographie" ~ "echo")."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def type_text(entry: DocumentEntry) -> str:
    return type_label(entry)


def category_text(entry: DocumentEntry) -> str:
    return entry.class_code.display or entry.class_code.code


def author_text(entry: DocumentEntry) -> str:
    origin = origin_of(entry)
    if origin is DocumentOrigin.PATIENT:
        return _tr("Ajouté par le patient")
    if origin is DocumentOrigin.INSURER:
        return _tr("Assurance Maladie")
    author = entry.main_author
    if author is None:
        return ""
    name = author.display_name
    if not name and author.institution:
        return author.institution
    return name


def specialty_text(entry: DocumentEntry) -> str:
    author = entry.main_author
    if author is None:
        return ""
    if author.specialty is not None:
        return author.specialty.display or author.specialty.code
    return author.role


def status_text(entry: DocumentEntry) -> str:
    return {
        DocumentStatus.APPROVED: _tr("actif"),
        DocumentStatus.DEPRECATED: _tr("remplacé (obsolète)"),
        DocumentStatus.ARCHIVED: _tr("archivé"),
        DocumentStatus.DELETED: _tr("supprimé"),
    }[entry.status]


def flag_texts(entry: DocumentEntry) -> list[str]:
    flags = []
    origin = origin_of(entry)
    if origin is DocumentOrigin.PATIENT:
        flags.append(_tr("ajouté par le patient"))
    elif origin is DocumentOrigin.INSURER:
        flags.append(_tr("alimenté par l'Assurance Maladie"))
    if entry.masked_from_professionals:
        flags.append(_tr("masqué aux professionnels"))
    if entry.invisible_to_patient:
        flags.append(_tr("invisible pour le patient"))
    if entry.invisible_to_legal_reps:
        flags.append(_tr("invisible pour les représentants légaux"))
    return flags


def date_text(entry: DocumentEntry) -> str:
    when = entry_date(entry)
    return f"{when:%d/%m/%Y}" if when is not None else ""


def _date_key(entry: DocumentEntry) -> str:
    when = entry_date(entry)
    if when is None:
        return ""
    if isinstance(when, datetime):
        return when.replace(tzinfo=None).isoformat()
    return when.isoformat()


class DocumentsModel(QAbstractTableModel):
    """One row per DocumentEntry (unique ids are unique: the service de-duplicates)."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._entries: list[DocumentEntry] = []
        self._new: frozenset[str] = frozenset()
        self._rows: dict[str, int] = {}
        self._bold = QFont()
        self._bold.setBold(True)
        self._patient_bg = QBrush(PATIENT_ROW_BACKGROUND)
        self._patient_fg = QBrush(PATIENT_ROW_FOREGROUND)

    # -- content ------------------------------------------------------------------------
    def set_entries(self, entries: Sequence[DocumentEntry], new_ids: Iterable[str] = ()) -> None:
        self.beginResetModel()
        self._entries = list(entries)
        self._new = frozenset(new_ids)
        self._rows = {e.unique_id: row for row, e in enumerate(self._entries)}
        self.endResetModel()

    def clear(self) -> None:
        self.set_entries([], ())

    @property
    def entries(self) -> list[DocumentEntry]:
        return list(self._entries)

    @property
    def new_ids(self) -> frozenset[str]:
        return self._new

    def entry(self, row: int) -> DocumentEntry:
        return self._entries[row]

    def row_of(self, unique_id: str) -> int:
        return self._rows.get(unique_id, -1)

    def is_new(self, entry: DocumentEntry) -> bool:
        return entry.unique_id in self._new

    # -- Qt model -------------------------------------------------------------------------
    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._entries)

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(Column)

    def flags(self, index: AnyIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> object:
        if orientation is not Qt.Orientation.Horizontal or not 0 <= section < len(Column):
            return None
        column = Column(section)
        if role == Qt.ItemDataRole.DisplayRole:
            return _HEADERS[column]()
        if role in (Qt.ItemDataRole.ToolTipRole, Qt.ItemDataRole.AccessibleTextRole):
            if column is Column.NEW:
                return _tr("Nouveau depuis votre dernière consultation")
            return _HEADERS[column]()
        return None

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid() or index.parent().isValid():
            return None
        row, col = index.row(), index.column()
        if not (0 <= row < len(self._entries) and 0 <= col < len(Column)):
            return None
        entry = self._entries[row]
        column = Column(col)
        new = entry.unique_id in self._new
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(entry, column, new)
        if role == Qt.ItemDataRole.FontRole:
            return self._bold if new else None
        if role == Qt.ItemDataRole.BackgroundRole:
            return self._patient_bg if entry.patient_authored else None
        if role == Qt.ItemDataRole.ForegroundRole:
            return self._patient_fg if entry.patient_authored else None
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(entry, column, new)
        if role == Qt.ItemDataRole.AccessibleTextRole:
            if column is Column.NEW:
                return _tr("nouveau") if new else _tr("déjà vu")
            return self._display(entry, column, new)
        if role == Qt.ItemDataRole.TextAlignmentRole and column is Column.NEW:
            return int(Qt.AlignmentFlag.AlignCenter)
        if role == SortRole:
            return self._sort_key(entry, column, new)
        if role == EntryRole:
            return entry
        if role == IsNewRole:
            return new
        if role == UniqueIdRole:
            return entry.unique_id
        if role == OriginRole:
            return origin_of(entry)
        return None

    def _display(self, entry: DocumentEntry, column: Column, new: bool) -> str:
        if column is Column.NEW:
            return NEW_MARK if new else ""
        if column is Column.DATE:
            return date_text(entry)
        if column is Column.TYPE:
            return type_text(entry)
        if column is Column.TITLE:
            title = entry.title or type_text(entry)
            return f"{PATIENT_MARK} {title}" if entry.patient_authored else title
        if column is Column.AUTHOR:
            return author_text(entry)
        if column is Column.SPECIALTY:
            return specialty_text(entry)
        if column is Column.CATEGORY:
            return category_text(entry)
        if column is Column.STATUS:
            return status_text(entry)
        return ", ".join(flag_texts(entry))

    def _tooltip(self, entry: DocumentEntry, column: Column, new: bool) -> str | None:
        if column is Column.NEW:
            return _tr("Nouveau depuis votre dernière consultation") if new else None
        if column is Column.TITLE and entry.patient_authored:
            return _tr("Document ajouté par le patient : {title}").format(title=entry.title)
        if column is Column.TITLE and origin_of(entry) is DocumentOrigin.INSURER:
            return _tr(
                "Document de l'Assurance Maladie (soins remboursés, sans montant) : {title}"
            ).format(title=entry.title)
        text = self._display(entry, column, new)
        return text or None

    def _sort_key(self, entry: DocumentEntry, column: Column, new: bool) -> object:
        if column is Column.NEW:
            return 1 if new else 0
        if column is Column.DATE:
            return _date_key(entry)
        if column is Column.TITLE:
            return fold(entry.title or type_text(entry))
        return fold(self._display(entry, column, new))


_HEADERS = {
    Column.NEW: lambda: NEW_MARK,
    Column.DATE: lambda: _tr("Date"),
    Column.TITLE: lambda: _tr("Titre"),
    Column.TYPE: lambda: _tr("Type"),
    Column.AUTHOR: lambda: _tr("Auteur"),
    Column.SPECIALTY: lambda: _tr("Spécialité"),
    Column.CATEGORY: lambda: _tr("Catégorie"),
    Column.STATUS: lambda: _tr("Statut"),
    Column.FLAGS: lambda: _tr("Particularités"),
}

# The combo filters and the columns whose text they match exactly.
FILTER_COLUMNS = (Column.TYPE, Column.AUTHOR, Column.SPECIALTY, Column.CATEGORY, Column.STATUS)


class DocumentsProxy(QSortFilterProxyModel):
    """Sorts on every column (newest first by default) and filters on what the doctor chose."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.setSortRole(SortRole)
        self.setSortCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.setDynamicSortFilter(True)
        self._text = ""
        self._choices: dict[Column, str] = {}
        self._patient_space_only = False
        self._scope = ListScope()
        self._today: date | None = None
        self.sort(int(Column.DATE), Qt.SortOrder.DescendingOrder)

    # -- what is filtered -----------------------------------------------------------------
    @property
    def text_filter(self) -> str:
        return self._text

    @property
    def scope(self) -> ListScope:
        return self._scope

    def choice(self, column: Column) -> str | None:
        return self._choices.get(column)

    def set_text_filter(self, text: str) -> None:
        folded = fold(" ".join(text.split()))
        if folded != self._text:
            self._change(lambda: setattr(self, "_text", folded))

    def set_choice(self, column: Column, value: str | None) -> None:
        if column not in FILTER_COLUMNS:
            raise ValueError(f"no filter on column {column.name}")
        if self._choices.get(column) == value:
            return

        def apply() -> None:
            if value is None:
                self._choices.pop(column, None)
            else:
                self._choices[column] = value

        self._change(apply)

    @property
    def patient_space_only(self) -> bool:
        return self._patient_space_only

    def set_patient_space_only(self, only: bool) -> None:
        """Show only the patient's space: contacts, allergies, directives, their documents."""
        if only != self._patient_space_only:
            self._change(lambda: setattr(self, "_patient_space_only", only))

    def set_scope(self, scope: ListScope, today: date | None = None) -> None:
        if scope == self._scope and today == self._today:
            return

        def apply() -> None:
            self._scope = scope
            self._today = today

        self._change(apply)

    def clear_filters(self) -> None:
        def apply() -> None:
            self._text = ""
            self._choices.clear()
            self._patient_space_only = False

        self._change(apply)

    def _change(self, apply: Callable[[], object]) -> None:
        change_filter(self, apply)

    # -- Qt -----------------------------------------------------------------------------
    def source(self) -> DocumentsModel:
        model = self.sourceModel()
        if not isinstance(model, DocumentsModel):
            raise TypeError("DocumentsProxy works on a DocumentsModel")
        return model

    def entry_at(self, index: AnyIndex) -> DocumentEntry | None:
        if not index.isValid():
            return None
        value = self.data(index, EntryRole)
        return value if isinstance(value, DocumentEntry) else None

    def index_of(self, unique_id: str) -> QModelIndex:
        row = self.source().row_of(unique_id)
        if row < 0:
            return QModelIndex()
        return self.mapFromSource(self.source().index(row, int(Column.DATE)))

    def filterAcceptsRow(self, source_row: int, source_parent: AnyIndex) -> bool:
        model = self.sourceModel()
        if not isinstance(model, DocumentsModel) or source_parent.isValid():
            return True
        entry = model.entry(source_row)
        if not self._scope.accepts(entry, self._today):
            return False
        if self._patient_space_only and not in_patient_space(entry):
            return False
        for column, value in self._choices.items():
            if model.data(model.index(source_row, int(column))) != value:
                return False
        if self._text:
            haystack = " ".join(
                str(model.data(model.index(source_row, int(c))) or "") for c in Column
            )
            if not all(word in fold(haystack) for word in self._text.split()):
                return False
        return True


def distinct_values(model: DocumentsModel, column: Column) -> list[str]:
    """The values present in ``column``, sorted for a filter combo (empty ones left out)."""
    values = {
        str(model.data(model.index(row, int(column))) or "") for row in range(model.rowCount())
    }
    values.discard("")
    return sorted(values, key=fold)
