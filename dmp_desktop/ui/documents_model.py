"""The patient's documents as a Qt table model, and the proxy that sorts and filters them.

Meaning is never carried by colour alone: a new document is bold *and* marked
with a dot; a document written by the patient (class 90) has a tinted row *and*
a "✎" before its title, "Ajouté par le patient" as author and the words "ajouté par le
patient" in the flags; the Assurance Maladie's care history says "Assurance Maladie" as
author and in the flags (see :mod:`dmp_desktop.domain.origin`).

Built for records of thousands of documents without a pause on screen:

* every text, sort key and filter field of a row is computed once, by
  :func:`prepare_rows` (plain Python, callable off the UI thread), so that
  :meth:`DocumentsModel.data` only picks a value; what rows of the same kind
  (type, class, author, status, flags) share is made once, and a row is one
  object (the collector walks every object made while a list is prepared);
* the proxy (:class:`DocumentsProxy`) sorts and filters with Python's own
  list operations over those precomputed fields, never through one Qt call per
  row and per comparison (which is what makes ``QSortFilterProxyModel`` slow
  with a Python model: a few microseconds per call, hundreds of thousands of
  calls for a sort), one list comprehension per condition;
* :func:`prepare_list` also computes, off the UI thread, the rows the proxy
  will show for a given filter and order (:class:`ListFilter`): the model is
  then filled in one reset and the proxy takes those rows as they are
  (:meth:`DocumentsProxy.expect`), so the UI thread does no work per row;
* rows can also be added in batches (:meth:`DocumentsModel.append_rows`): the
  proxy inserts them at the end when they come in its order.
"""

from __future__ import annotations

import enum
import heapq
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from operator import attrgetter
from typing import Any

from PySide6.QtCore import (
    QAbstractProxyModel,
    QAbstractTableModel,
    QCoreApplication,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
)
from PySide6.QtGui import QBrush, QColor, QFont, QGuiApplication

from dmp_desktop.dates import fr_date, paris_today
from dmp_desktop.domain.document import Confidentiality, DocumentEntry, DocumentStatus
from dmp_desktop.domain.origin import (
    PATIENT_SPACE_LABELS,
    DocumentOrigin,
    origin_of,
    type_label,
)
from dmp_desktop.services.consultation import ListScope, entry_date
from dmp_desktop.ui.style import PATIENT_ROW_COLOURS, patient_row_colours

AnyIndex = QModelIndex | QPersistentModelIndex

NEW_MARK = "●"
PATIENT_MARK = "✎"
# Rows written by the patient: a violet tint with its text colour, light or dark with the
# application's palette (ui.style.patient_row_colours); these are the light palette's.
PATIENT_ROW_BACKGROUND = QColor(PATIENT_ROW_COLOURS[False][0])
PATIENT_ROW_FOREGROUND = QColor(PATIENT_ROW_COLOURS[False][1])


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

_DISPLAY = int(Qt.ItemDataRole.DisplayRole)
_FONT = int(Qt.ItemDataRole.FontRole)
_BACKGROUND = int(Qt.ItemDataRole.BackgroundRole)
_FOREGROUND = int(Qt.ItemDataRole.ForegroundRole)
_TOOLTIP = int(Qt.ItemDataRole.ToolTipRole)
_ACCESSIBLE = int(Qt.ItemDataRole.AccessibleTextRole)
_ALIGNMENT = int(Qt.ItemDataRole.TextAlignmentRole)
_COLUMNS = len(Column)
_NEW = int(Column.NEW)
_DATE = int(Column.DATE)
_TITLE = int(Column.TITLE)
_TYPE = int(Column.TYPE)


_NON_ASCII = re.compile(r"[^\x00-\x7f]+")
_FOLDED_RUNS: dict[str, str] = {}  # a run of non-ASCII characters -> without its marks


def _without_marks(match: re.Match[str]) -> str:
    run = match.group()
    found = _FOLDED_RUNS.get(run)
    if found is None:
        if len(_FOLDED_RUNS) > 4096:
            _FOLDED_RUNS.clear()
        decomposed = unicodedata.normalize("NFKD", run)
        found = _FOLDED_RUNS[run] = "".join(c for c in decomposed if not unicodedata.combining(c))
    return found


def fold(text: str) -> str:
    """Case- and accent-insensitive form for searching ("Échographie" ~ "echo"): the text
    decomposed (NFKD), without its combining marks, case-folded.

    Only the runs of non-ASCII characters are decomposed (ASCII characters have no
    decomposition, and the canonical reordering only moves combining marks, all
    removed), each distinct run once.
    """
    if text.isascii():
        return text.casefold()
    return _NON_ASCII.sub(_without_marks, text).casefold()


def type_text(entry: DocumentEntry) -> str:
    return type_label(entry)


def category_text(entry: DocumentEntry) -> str:
    return entry.class_code.display or entry.class_code.code


def author_text(entry: DocumentEntry) -> str:
    return _author_text(entry, origin_of(entry))


def _author_text(entry: DocumentEntry, origin: DocumentOrigin) -> str:
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
    return _status_texts()[entry.status]


def _status_texts() -> dict[DocumentStatus, str]:
    return {
        DocumentStatus.APPROVED: _tr("actif"),
        DocumentStatus.DEPRECATED: _tr("remplacé (obsolète)"),
        DocumentStatus.ARCHIVED: _tr("archivé"),
        DocumentStatus.DELETED: _tr("supprimé"),
    }


def flag_texts(entry: DocumentEntry) -> list[str]:
    return _flag_texts(origin_of(entry), {c.code for c in entry.confidentiality})


def _flag_texts(origin: DocumentOrigin, codes: Iterable[str]) -> list[str]:
    flags = []
    present = set(codes)
    if origin is DocumentOrigin.PATIENT:
        flags.append(_tr("ajouté par le patient"))
    elif origin is DocumentOrigin.INSURER:
        flags.append(_tr("alimenté par l'Assurance Maladie"))
    if Confidentiality.MASKED_PS.value in present:
        flags.append(_tr("masqué aux professionnels"))
    if Confidentiality.INVISIBLE_PATIENT.value in present:
        flags.append(_tr("invisible pour le patient"))
    if Confidentiality.INVISIBLE_LEGAL_REPS.value in present:
        flags.append(_tr("invisible pour les représentants légaux"))
    return flags


def date_text(entry: DocumentEntry) -> str:
    when = entry_date(entry)
    return fr_date(when) if when is not None else ""


# --- rows ----------------------------------------------------------------------------------------


class Row:
    """One document as the list shows it: texts, sort keys and filter fields, computed once.

    What rows of the same kind share (type, class, author, status, flags: :class:`_Kind`)
    is held once; a row holds its own date and title. One object per row (the collector
    walks each object made while a long list is prepared: fewer is faster).
    """

    __slots__ = (
        "day",
        "day_key",
        "entry",
        "haystack",
        "kind",
        "shown",
        "status",
        "title_key",
        "tooltip",
        "uid",
        "when",
    )

    def __init__(
        self,
        entry: DocumentEntry,
        kind: _Kind,
        day: str,
        day_key: datetime,
        shown: str,
        title_key: str,
        haystack: str,
        tooltip: str | None,
        when: date | None,
    ) -> None:
        self.entry = entry
        self.uid = entry.unique_id
        self.kind = kind
        self.day = day  # the DATE column's text
        self.day_key = day_key  # its sort key
        self.shown = shown  # the TITLE column's text
        self.title_key = title_key  # its sort key
        self.haystack = haystack  # folded texts of every column, for the free-text filter
        self.tooltip = tooltip  # the title's tooltip, when it says more than the title
        self.status = entry.status
        self.when = when  # the day of :func:`entry_date`

    def text(self, column: int) -> str:
        """The text of ``column`` (the NEW column's is "")."""
        if column >= _TYPE:
            return self.kind.display[column - _TYPE]
        if column == _TITLE:
            return self.shown
        return self.day if column == _DATE else ""

    def key(self, column: int) -> object:
        """The sort key of ``column`` (comparable within a column; the NEW column's is 0)."""
        if column >= _TYPE:
            return self.kind.keys[column - _TYPE]
        if column == _TITLE:
            return self.title_key
        return self.day_key if column == _DATE else 0

    @property
    def display(self) -> tuple[str, ...]:
        """One text per column."""
        return ("", self.day, self.shown, *self.kind.display)

    @property
    def keys(self) -> tuple[object, ...]:
        """One sort key per column."""
        return (0, self.day_key, self.title_key, *self.kind.keys)

    @property
    def origin(self) -> DocumentOrigin:
        return self.kind.origin

    @property
    def patient(self) -> bool:
        """Written by the patient (class 90): a tinted row."""
        return self.kind.patient

    @property
    def space(self) -> bool:
        """Shown with « Espace du patient seulement »."""
        return self.kind.space


def _sort_key(column: int) -> Callable[[Row], Any]:
    """The sort key of ``column`` (not NEW) as a function of a row."""
    if column == _DATE:
        return attrgetter("day_key")
    if column == _TITLE:
        return attrgetter("title_key")
    index = column - _TYPE
    return lambda row: row.kind.keys[index]


@dataclass(frozen=True)
class ListFilter:
    """What the proxy shows of the rows: its filters and its order, as plain values.

    Two equal filters show the same rows in the same order, so the rows shown can be
    computed off the UI thread for the filter the list will have (:func:`prepare_list`)
    and taken as they are by the proxy (:meth:`DocumentsProxy.expect`).
    """

    statuses: frozenset[DocumentStatus] = frozenset({DocumentStatus.APPROVED})
    since: date | None = None  # rows dated before are left out
    patient_space_only: bool = False
    choices: tuple[tuple[int, str], ...] = ()  # (column, exact text), by column
    words: tuple[str, ...] = ()  # folded words, each in the row's haystack
    sort_column: int = int(Column.DATE)
    descending: bool = True

    def narrowed(self, distinct: dict[Column, list[str]]) -> ListFilter:
        """The filter once the combos hold ``distinct``: a choice absent from the list
        goes back to « tous » (as :meth:`DocumentListPage._refill_combos` does)."""
        kept = tuple(
            (column, value)
            for column, value in self.choices
            if value in distinct.get(Column(column), ())
        )
        return self if kept == self.choices else replace(self, choices=kept)


def visible_rows(rows: Sequence[Row], shown: ListFilter, first: int = 0) -> list[int]:
    """The indexes (from ``first``) of the rows ``shown`` accepts, in the rows' order.

    One list comprehension per condition that applies, never one Python call per row.
    Plain Python: safe on any thread.
    """
    statuses = {id(status) for status in shown.statuses}  # (an enum's hash is a Python call)
    kept = [n for n in range(first, len(rows)) if id(rows[n].status) in statuses]
    since = shown.since
    if since is not None:
        kept = [n for n in kept if (when := rows[n].when) is None or when >= since]
    if shown.patient_space_only:
        kept = [n for n in kept if rows[n].kind.space]
    for column, value in shown.choices:  # the combos' columns: a kind's texts
        index = column - _TYPE
        kept = [n for n in kept if rows[n].kind.display[index] == value]
    for word in shown.words:
        kept = [n for n in kept if word in rows[n].haystack]
    return kept


def order_rows(
    rows: Sequence[Row], sources: list[int], shown: ListFilter, new_ids: frozenset[str]
) -> list[int]:
    """``sources`` (indexes of ``rows``) in ``shown``'s order (stable: ties keep their order)."""
    column = shown.sort_column
    if column == _NEW:
        return sorted(sources, key=lambda s: rows[s].uid in new_ids, reverse=shown.descending)
    descending = shown.descending
    if column == _DATE:
        return sorted(sources, key=lambda s: rows[s].day_key, reverse=descending)
    if column == _TITLE:
        return sorted(sources, key=lambda s: rows[s].title_key, reverse=descending)
    if _TYPE <= column < _COLUMNS:
        index = column - _TYPE
        return sorted(sources, key=lambda s: rows[s].kind.keys[index], reverse=descending)
    return sources


def positions(visible: Sequence[int], size: int) -> list[int]:
    """Source row -> shown row (-1: filtered out), for ``size`` source rows."""
    position = [-1] * size
    for proxy_row, source_row in enumerate(visible):
        position[source_row] = proxy_row
    return position


@dataclass(frozen=True)
class PreparedList:
    """Rows and what the list's widgets need about them, computed off the UI thread."""

    rows: list[Row]  # in ``shown``'s order
    distinct: dict[Column, list[str]]  # the values of each filter combo, sorted
    widest: dict[Column, list[str]]  # the longest texts of each column (column widths)
    patient_space: list[str]  # what the patient's space holds (labels, in order)
    index: dict[str, int] = field(default_factory=dict)  # unique id -> row
    shown: ListFilter = ListFilter()  # the filter the rows were prepared for
    visible: list[int] = field(default_factory=list)  # the rows ``shown`` shows, in order
    position: list[int] = field(default_factory=list)  # row -> shown row (-1: filtered out)


class _Kind:
    """What rows of one type, class, main author, confidentiality and status share:
    their texts, sort keys and filter fields except the title's and the date's."""

    __slots__ = ("display", "haystack", "keys", "label", "origin", "patient", "space", "tip")

    def __init__(
        self,
        entry: DocumentEntry,
        statuses: dict[DocumentStatus, str],
        tips: tuple[str, str],
        fold_once: Callable[[str], str],
    ) -> None:
        origin = self.origin = origin_of(entry)
        kind = type_label(entry)
        author = _author_text(entry, origin)
        category = category_text(entry)
        flags = ", ".join(_flag_texts(origin, [c.code for c in entry.confidentiality]))
        status = statuses[entry.status]
        # Columns TYPE to FLAGS, their sort keys, and their part of the free-text haystack.
        self.display = (kind, author, specialty_text(entry), category, status, flags)
        self.keys = tuple(fold_once(text) for text in self.display)
        self.haystack = " ".join(self.keys)
        self.patient = entry.patient_authored
        self.space = entry.type_code.code in PATIENT_SPACE_LABELS or (
            origin is DocumentOrigin.PATIENT
        )
        self.tip = (
            tips[0] if self.patient else tips[1] if origin is DocumentOrigin.INSURER else None
        )
        label = PATIENT_SPACE_LABELS.get(entry.type_code.code)
        self.label = label if entry.status is DocumentStatus.APPROVED else None


_NO_DATE = datetime.min.replace(tzinfo=UTC)  # the date sort key of a row without a date


def _prepare(entries: Iterable[DocumentEntry]) -> tuple[list[Row], list[_Kind]]:
    """The rows of ``entries`` (same order) and the kinds of row met."""
    folded: dict[str, str] = {}

    def fold_once(text: str) -> str:
        found = folded.get(text)
        if found is None:
            found = folded[text] = fold(text)
        return found

    statuses = _status_texts()
    tips = (
        _tr("Document ajouté par le patient : {title}"),
        _tr("Document de l'Assurance Maladie (soins remboursés, sans montant) : {title}"),
    )
    # Keyed by the identity of shared values (the answer's reader shares codes and
    # authors): every entry stays referenced by its row meanwhile, so ids are not reused.
    kinds: dict[tuple[object, ...], _Kind] = {}
    days: dict[date, str] = {}
    rows: list[Row] = []
    append = rows.append
    for entry in entries:
        authors = entry.authors
        key = (
            id(entry.type_code),
            id(entry.class_code),
            id(authors[0]) if authors else None,
            id(entry.status),  # (an enum's hash is a Python call)
            *map(id, entry.confidentiality),
        )
        kind = kinds.get(key)
        if kind is None:
            kind = kinds[key] = _Kind(entry, statuses, tips, fold_once)
        when = entry.service_start or entry.creation_time or entry.submission_time
        if when is None:
            day, day_key, on = "", _NO_DATE, None
        else:
            on = when.date()
            found = days.get(on)
            if found is None:
                found = days[on] = f"{on.day:02d}/{on.month:02d}/{on.year:04d}"
            day = found
            # Wall-clock time, its offset left aside (as the date shown): UTC, as the
            # DMP's dates are, is taken as it is.
            day_key = when if when.tzinfo is UTC else when.replace(tzinfo=UTC)
        title = entry.title or kind.display[0]
        title_key = fold_once(title)
        if kind.patient:
            shown = f"{PATIENT_MARK} {title}"
            shown_key = fold_once(shown)
        else:
            shown, shown_key = title, title_key
        append(
            Row(
                entry,
                kind,
                day,
                day_key,
                shown,
                title_key,
                f"{day} {shown_key} {kind.haystack}",
                kind.tip.format(title=entry.title) if kind.tip is not None else None,
                on,
            )
        )
    return rows, list(kinds.values())


def prepare_rows(entries: Iterable[DocumentEntry]) -> list[Row]:
    """The rows of ``entries`` (same order). Plain Python: safe on any thread.

    What rows of the same type, class, main author, confidentiality and status
    share is made once (see :class:`_Kind`), each text folded once.
    """
    return _prepare(entries)[0]


WIDEST_SAMPLES = 4  # texts measured per column to size it


def _widest(texts: Iterable[str]) -> list[str]:
    """The :data:`WIDEST_SAMPLES` longest of ``texts``, shortest first."""
    return sorted(heapq.nlargest(WIDEST_SAMPLES, set(texts), key=len), key=len)


def prepare_list(
    entries: Iterable[DocumentEntry],
    shown: ListFilter | None = None,
    *,
    new_ids: frozenset[str] = frozenset(),
) -> PreparedList:
    """:func:`prepare_rows`, sorted as ``shown`` sorts, with the combos' values, the
    column widths' samples and the rows ``shown`` shows (once its combo choices are
    narrowed to the list's values). Plain Python: safe on any thread."""
    shown = shown if shown is not None else ListFilter()
    rows, kinds = _prepare(entries)
    rows = sort_rows(rows, shown.sort_column, shown.descending, new_ids)
    distinct: dict[Column, list[str]] = {}
    widest: dict[Column, list[str]] = {
        Column.NEW: [""] if rows else [],
        # Dates are all as long: the first one met.
        Column.DATE: [next((row.day for row in rows if row.day), "")],
        Column.TITLE: _widest(row.shown for row in rows),
    }
    for column in Column:
        if column >= Column.TYPE:  # the same for every row of a kind
            values = {kind.display[column - Column.TYPE] for kind in kinds}
            widest[column] = _widest(values)
            if column in FILTER_COLUMNS:
                values.discard("")
                distinct[column] = sorted(values, key=fold)
    present = {kind.label for kind in kinds if kind.label is not None}
    labels: list[str] = []
    for row in rows if present else ():  # in the list's order
        label = PATIENT_SPACE_LABELS.get(row.entry.type_code.code)
        if label in present and label not in labels and row.status is DocumentStatus.APPROVED:
            labels.append(label)
            if len(labels) == len(present):
                break
    shown = shown.narrowed(distinct)
    visible = visible_rows(rows, shown)  # already in ``shown``'s order
    return PreparedList(
        rows,
        distinct,
        widest,
        labels,
        index={row.uid: n for n, row in enumerate(rows)},
        shown=shown,
        visible=visible,
        position=positions(visible, len(rows)),
    )


def sort_rows(
    rows: Sequence[Row], column: int, descending: bool, new_ids: frozenset[str] = frozenset()
) -> list[Row]:
    """``rows`` in the proxy's order for ``column`` (stable; ties keep their order)."""
    if column == _NEW:
        return sorted(rows, key=lambda r: r.uid in new_ids, reverse=descending)
    if 0 < column < _COLUMNS:
        return sorted(rows, key=_sort_key(column), reverse=descending)
    return list(rows)


# --- the model -----------------------------------------------------------------------------------


class DocumentsModel(QAbstractTableModel):
    """One row per DocumentEntry (unique ids are unique: the service de-duplicates).

    Filled at once (:meth:`set_entries`, :meth:`set_rows`) or in batches
    (:meth:`set_rows` with the first batch, then :meth:`append_rows`).
    """

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._rows: list[Row] = []
        self._new: frozenset[str] = frozenset()
        self._index: dict[str, int] = {}
        self._bold = QFont()
        self._bold.setBold(True)
        self._patient_brushes: dict[int, tuple[QBrush, QBrush]] = {}
        self._center = int(Qt.AlignmentFlag.AlignCenter)
        self._new_tip = _tr("Nouveau depuis votre dernière consultation")
        self._new_text = _tr("nouveau")
        self._seen_text = _tr("déjà vu")

    # -- content ------------------------------------------------------------------------
    def set_entries(self, entries: Sequence[DocumentEntry], new_ids: Iterable[str] = ()) -> None:
        self.set_rows(prepare_rows(entries), new_ids)

    def set_rows(
        self,
        rows: Sequence[Row],
        new_ids: Iterable[str] = (),
        index: dict[str, int] | None = None,
    ) -> None:
        """Replace the content (one model reset); ``index``: each row's unique id -> its
        position in ``rows``, when already computed (:attr:`PreparedList.index`)."""
        self.beginResetModel()
        self._rows = list(rows)
        self._new = frozenset(new_ids)
        self._index = (
            index if index is not None else {row.uid: n for n, row in enumerate(self._rows)}
        )
        self.endResetModel()

    def append_rows(self, rows: Sequence[Row]) -> None:
        """Add rows after the last one (a batch of a long list)."""
        if not rows:
            return
        first = len(self._rows)
        self.beginInsertRows(QModelIndex(), first, first + len(rows) - 1)
        self._rows.extend(rows)
        for n, row in enumerate(rows, first):
            self._index[row.uid] = n
        self.endInsertRows()

    def clear(self) -> None:
        self.set_rows([], ())

    @property
    def rows(self) -> list[Row]:
        return self._rows

    @property
    def entries(self) -> list[DocumentEntry]:
        return [row.entry for row in self._rows]

    @property
    def new_ids(self) -> frozenset[str]:
        return self._new

    def entry(self, row: int) -> DocumentEntry:
        return self._rows[row].entry

    def row_of(self, unique_id: str) -> int:
        return self._index.get(unique_id, -1)

    def is_new(self, entry: DocumentEntry) -> bool:
        return entry.unique_id in self._new

    # -- Qt model -------------------------------------------------------------------------
    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else _COLUMNS

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

    def _patient_row(self) -> tuple[QBrush, QBrush]:
        """The patient's rows' (background, text) brushes for the application's palette."""
        palette = QGuiApplication.palette()
        key = palette.cacheKey()
        brushes = self._patient_brushes.get(key)
        if brushes is None:
            background, text = patient_row_colours(palette)
            brushes = self._patient_brushes[key] = (QBrush(background), QBrush(text))
        return brushes

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid():
            return None
        return self.value(index.row(), index.column(), int(role))

    def value(self, row: int, column: int, role: int) -> object:
        """What :meth:`data` gives for (``row``, ``column``): a pick in precomputed values."""
        if not (0 <= row < len(self._rows) and 0 <= column < _COLUMNS):
            return None
        item = self._rows[row]
        if role == _DISPLAY:
            if column == _NEW:
                return NEW_MARK if item.uid in self._new else ""
            return item.text(column)
        if role == _FONT:
            return self._bold if item.uid in self._new else None
        if role == _BACKGROUND:
            return self._patient_row()[0] if item.patient else None
        if role == _FOREGROUND:
            return self._patient_row()[1] if item.patient else None
        if role == _TOOLTIP:
            if column == _NEW:
                return self._new_tip if item.uid in self._new else None
            if column == _TITLE and item.tooltip is not None:
                return item.tooltip
            return item.text(column) or None
        if role == _ACCESSIBLE:
            if column == _NEW:
                return self._new_text if item.uid in self._new else self._seen_text
            return item.text(column)
        if role == _ALIGNMENT:
            return self._center if column == _NEW else None
        if role == SortRole:
            if column == _NEW:
                return 1 if item.uid in self._new else 0
            return item.key(column)
        if role == EntryRole:
            return item.entry
        if role == IsNewRole:
            return item.uid in self._new
        if role == UniqueIdRole:
            return item.uid
        if role == OriginRole:
            return item.origin
        return None


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


# --- the proxy -----------------------------------------------------------------------------------


class DocumentsProxy(QAbstractProxyModel):
    """Sorts on every column (newest first by default) and filters on what the doctor chose.

    The visible rows are a list of source rows (:attr:`_visible`), recomputed
    with list operations when the order or a filter changes (a layout change:
    selection and current row follow their document), and extended when the
    source adds a batch.
    """

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._text = ""
        self._choices: dict[Column, str] = {}
        self._patient_space_only = False
        self._scope = ListScope()
        self._today: date | None = None
        self._sort_column = int(Column.DATE)
        self._descending = True
        self._visible: list[int] = []  # source rows, in display order
        self._position: list[int] = []  # source row -> proxy row, -1 when filtered out
        self._model: DocumentsModel | None = None
        self._expected: PreparedList | None = None  # see expect()

    # -- what is filtered -----------------------------------------------------------------
    @property
    def text_filter(self) -> str:
        return self._text

    @property
    def scope(self) -> ListScope:
        return self._scope

    @property
    def sort_column(self) -> int:
        return self._sort_column

    @property
    def descending(self) -> bool:
        return self._descending

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
        apply()
        self._relayout()

    def list_filter(
        self,
        *,
        choices: dict[Column, str | None] | None = None,
        scope: ListScope | None = None,
    ) -> ListFilter:
        """The filter and order shown, or that would be with these combo ``choices``
        (None: « tous ») and ``scope``."""
        if choices is None:
            chosen = dict(self._choices)
        else:
            chosen = {column: value for column, value in choices.items() if value is not None}
        scope = scope if scope is not None else self._scope
        return ListFilter(
            statuses=scope.statuses(),
            since=scope.period.since(self._today or paris_today()),
            patient_space_only=self._patient_space_only,
            choices=tuple(sorted((int(column), value) for column, value in chosen.items())),
            words=tuple(self._text.split()),
            sort_column=self._sort_column,
            descending=self._descending,
        )

    def set_filters(self, choices: dict[Column, str | None], scope: ListScope) -> None:
        """The combos' ``choices`` (None: « tous ») and the ``scope``, in one relayout."""
        for column in choices:
            if column not in FILTER_COLUMNS:
                raise ValueError(f"no filter on column {column.name}")
        wanted = {column: value for column, value in choices.items() if value is not None}
        if wanted == self._choices and scope == self._scope:
            return

        def apply() -> None:
            self._choices = wanted
            self._scope = scope

        self._change(apply)

    def expect(
        self, prepared: PreparedList, choices: dict[Column, str | None], scope: ListScope
    ) -> None:
        """The source's next reset brings ``prepared``'s rows, shown with these combo
        ``choices`` and ``scope``: the proxy takes the rows ``prepared`` computed for them
        (off the UI thread) instead of filtering and sorting on the UI thread, provided
        they were computed for the filter it then has (else it computes them)."""
        self._choices = {column: value for column, value in choices.items() if value is not None}
        self._scope = scope  # no relayout: the reset that follows shows the new rows
        self._expected = prepared

    def _compute(self, first: int = 0) -> list[int]:
        model = self._model
        if model is None:
            return []
        rows = model.rows
        shown = self.list_filter()
        return order_rows(rows, visible_rows(rows, shown, first), shown, model.new_ids)

    def _ordered(self, sources: list[int]) -> list[int]:
        model = self._model
        if model is None:
            return sources
        return order_rows(model.rows, sources, self.list_filter(), model.new_ids)

    def _set_visible(self, visible: list[int]) -> None:
        self._visible = visible
        self._position = positions(visible, len(self._model.rows) if self._model else 0)

    def _relayout(self) -> None:
        """Recompute the visible rows; persistent indexes follow their source row."""
        self.layoutAboutToBeChanged.emit()
        persistent = self.persistentIndexList()
        sources = [
            (self._visible[i.row()], i.column()) if 0 <= i.row() < len(self._visible) else None
            for i in persistent
        ]
        self._set_visible(self._compute())
        moved = []
        for found in sources:
            row = self._position[found[0]] if found is not None else -1
            moved.append(self.index(row, found[1]) if found is not None and row >= 0 else None)
        self.changePersistentIndexList(
            persistent, [QModelIndex() if m is None else m for m in moved]
        )
        self.layoutChanged.emit()

    # -- the source -----------------------------------------------------------------------
    def setSourceModel(self, model: QAbstractTableModel) -> None:  # type: ignore[override]
        if not isinstance(model, DocumentsModel):
            raise TypeError("DocumentsProxy works on a DocumentsModel")
        self.beginResetModel()
        old = self._model
        if old is not None:
            for signal, slot in self._connections(old):
                signal.disconnect(slot)
        super().setSourceModel(model)
        self._model = model
        for signal, slot in self._connections(model):
            signal.connect(slot)
        self._set_visible(self._compute())
        self.endResetModel()

    def _connections(self, model: DocumentsModel) -> list[tuple[Any, Callable[..., None]]]:
        return [
            (model.modelAboutToBeReset, self._source_about_to_reset),
            (model.modelReset, self._source_reset),
            (model.rowsInserted, self._source_rows_inserted),
            (model.rowsRemoved, self._source_rows_removed),
            (model.dataChanged, self._source_data_changed),
        ]

    def _source_about_to_reset(self) -> None:
        self.beginResetModel()

    def _source_reset(self) -> None:
        prepared, self._expected = self._expected, None
        model = self._model
        if (
            prepared is not None
            and model is not None
            and _same_rows(prepared.rows, model.rows)
            and len(prepared.position) == len(model.rows)
            and prepared.shown == self.list_filter()
        ):
            self._visible, self._position = prepared.visible, prepared.position
        else:
            self._set_visible(self._compute())
        self.endResetModel()

    def _source_rows_inserted(self, parent: QModelIndex, first: int, last: int) -> None:
        self._expected = None
        model = self._model
        if model is None or parent.isValid():
            return
        if last != len(model.rows) - 1:  # not an append: start over
            self.beginResetModel()
            self._set_visible(self._compute())
            self.endResetModel()
            return
        self._position.extend([-1] * (last - first + 1))
        added = self._compute(first)
        if not added:
            return
        if self._visible and self._ordered([self._visible[-1], added[0]])[0] != self._visible[-1]:
            # The batch does not come after what is shown: re-sort everything.
            self._relayout()
            return
        start = len(self._visible)
        self.beginInsertRows(QModelIndex(), start, start + len(added) - 1)
        self._visible.extend(added)
        for proxy_row, source_row in enumerate(added, start):
            self._position[source_row] = proxy_row
        self.endInsertRows()

    def _source_rows_removed(self, parent: QModelIndex, first: int, last: int) -> None:
        self._expected = None
        self.beginResetModel()
        self._set_visible(self._compute())
        self.endResetModel()

    def _source_data_changed(self, top_left: QModelIndex, bottom_right: QModelIndex) -> None:
        if self._visible:
            self.dataChanged.emit(
                self.index(0, 0), self.index(len(self._visible) - 1, _COLUMNS - 1)
            )

    def source(self) -> DocumentsModel:
        if self._model is None:
            raise TypeError("DocumentsProxy works on a DocumentsModel")
        return self._model

    # -- Qt proxy ---------------------------------------------------------------------------
    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        descending = order == Qt.SortOrder.DescendingOrder
        if (column, descending) == (self._sort_column, self._descending):
            return
        self._sort_column, self._descending = column, descending
        self._relayout()

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._visible)

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else _COLUMNS

    def index(self, row: int, column: int, parent: AnyIndex = QModelIndex()) -> QModelIndex:  # noqa: B008
        if parent.isValid() or not (0 <= row < len(self._visible) and 0 <= column < _COLUMNS):
            return QModelIndex()
        return self.createIndex(row, column)

    def parent(self, child: AnyIndex | None = None) -> QModelIndex:  # type: ignore[override]
        if child is None:
            return QObject.parent(self)  # type: ignore[return-value]
        return QModelIndex()

    def sibling(self, row: int, column: int, index: AnyIndex) -> QModelIndex:
        return self.index(row, column)

    def hasChildren(self, parent: AnyIndex = QModelIndex()) -> bool:  # noqa: B008
        return not parent.isValid() and bool(self._visible)

    def flags(self, index: AnyIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable

    def mapToSource(self, proxy_index: AnyIndex) -> QModelIndex:
        model = self._model
        if model is None or not proxy_index.isValid():
            return QModelIndex()
        row = proxy_index.row()
        if not 0 <= row < len(self._visible):
            return QModelIndex()
        return model.index(self._visible[row], proxy_index.column())

    def mapFromSource(self, source_index: AnyIndex) -> QModelIndex:
        if not source_index.isValid():
            return QModelIndex()
        row = source_index.row()
        if not 0 <= row < len(self._position) or self._position[row] < 0:
            return QModelIndex()
        return self.index(self._position[row], source_index.column())

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        model = self._model
        if model is None or not index.isValid():
            return None
        row = index.row()
        if not 0 <= row < len(self._visible):
            return None
        return model.value(self._visible[row], index.column(), int(role))

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> object:
        if self._model is None or orientation is not Qt.Orientation.Horizontal:
            return None
        return self._model.headerData(section, orientation, role)

    # -- the window's questions ---------------------------------------------------------
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


def _same_rows(prepared: Sequence[Row], rows: Sequence[Row]) -> bool:
    """Whether the model's ``rows`` are ``prepared``'s (same length, same first and last)."""
    if len(prepared) != len(rows):
        return False
    return not rows or (prepared[0] is rows[0] and prepared[-1] is rows[-1])


def distinct_values(model: DocumentsModel, column: Column) -> list[str]:
    """The values present in ``column``, sorted for a filter combo (empty ones left out)."""
    values = {row.text(column) for row in model.rows}
    values.discard("")
    return sorted(values, key=fold)


__all__ = [
    "FILTER_COLUMNS",
    "NEW_MARK",
    "PATIENT_MARK",
    "Column",
    "DocumentsModel",
    "DocumentsProxy",
    "ListFilter",
    "PreparedList",
    "Row",
    "distinct_values",
    "fold",
    "prepare_list",
    "prepare_rows",
    "sort_rows",
    "visible_rows",
]
