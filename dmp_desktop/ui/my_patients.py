"""« Mes patients DMP »: the DMPs the professional is authorised on (TD0.4), with a filter.

A table model (:class:`MyPatientsModel`) behind a filtering, sorting proxy
(:class:`MyPatientsProxy`: the filter matches the start of the birth name,
the used name, a first name or the INS, without regard to case or
accents). Keyboard first: the filter field has the focus, Down enters the
table, Enter opens the patient.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QCoreApplication,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
    Signal,
)
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QLineEdit,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from dmp_desktop.dates import fr_date
from dmp_desktop.dmp.td04 import AuthorisedPatient
from dmp_desktop.identity.traits import normalize_trait
from dmp_desktop.ui.patient_search import born_text
from dmp_desktop.ui.proxy import change_filter
from dmp_desktop.ui.style import Tone, set_tone

ModelIndex = QModelIndex | QPersistentModelIndex


def tr(text: str) -> str:
    return QCoreApplication.translate("MyPatients", text)


class MyPatientsModel(QAbstractTableModel):
    """One row per authorised DMP: patient, birth, INS, médecin traitant, last access."""

    RowRole = Qt.ItemDataRole.UserRole + 1
    SortRole = Qt.ItemDataRole.UserRole + 2
    COLUMNS = ("patient", "birth", "ins", "treating", "access")

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._rows: list[AuthorisedPatient] = []

    def set_rows(self, rows: list[AuthorisedPatient]) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()

    def row_at(self, row: int) -> AuthorisedPatient:
        return self._rows[row]

    def rowCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: B008 - Qt API
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: B008 - Qt API
        return 0 if parent.isValid() else len(self.COLUMNS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation != Qt.Orientation.Horizontal or role != Qt.ItemDataRole.DisplayRole:
            return None
        if not 0 <= section < len(self.COLUMNS):
            return None
        return (
            tr("Patient"),
            tr("Naissance"),
            tr("INS"),
            tr("Médecin traitant DMP"),
            tr("Dernier accès"),
        )[section]

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        row = self._rows[index.row()]
        identity = row.identity
        column = self.COLUMNS[index.column()] if 0 <= index.column() < len(self.COLUMNS) else None
        if role == self.RowRole:
            return row
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole):
            if column == "patient":
                born = f" ({identity.birth_name_line})" if identity.birth_name_line else ""
                return f"{identity.display_name}{born}"
            if column == "birth":
                return born_text(identity)
            if column == "ins":
                return identity.ins.value
            if column == "treating":
                return tr("oui") if row.treating_physician else tr("non")
            if column == "access":
                return _when(row.last_access)
        if role == self.SortRole:
            if column == "patient":
                return normalize_trait(identity.used_name or identity.traits.birth_name)
            if column == "birth":
                return identity.traits.birth_date.isoformat()
            if column == "access":
                return row.last_access.isoformat() if row.last_access else ""
            return self.data(index, Qt.ItemDataRole.DisplayRole)
        return None


def _when(value: datetime | None) -> str:
    return fr_date(value) if value is not None else tr("—")


class MyPatientsProxy(QSortFilterProxyModel):
    """Filters on the start of a name (birth or used), a first name or the INS."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._text = ""
        self.setSortRole(MyPatientsModel.SortRole)

    def set_text(self, text: str) -> None:
        def apply() -> None:
            self._text = normalize_trait(text)

        change_filter(self, apply)

    def filterAcceptsRow(self, source_row: int, source_parent: ModelIndex) -> bool:
        if not self._text:
            return True
        model = self.sourceModel()
        if not isinstance(model, MyPatientsModel):
            return True
        identity = model.row_at(source_row).identity
        words = [
            normalize_trait(identity.traits.birth_name),
            normalize_trait(identity.used_name),
            *(normalize_trait(g) for g in identity.traits.given_names),
            identity.ins.value,
        ]
        return any(w.startswith(self._text) for w in words if w)


class _FilterEdit(QLineEdit):
    down = Signal()
    enter = Signal()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Down:
            self.down.emit()
            return
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.enter.emit()
            return
        super().keyPressEvent(event)


class _Table(QTableView):
    enter = Signal()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.enter.emit()
            return
        super().keyPressEvent(event)


class MyPatientsDialog(QDialog):
    """« Mes patients DMP »: filter, list, Enter opens the patient (``patientChosen``)."""

    patientChosen = Signal(object)  # AuthorisedPatient

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("myPatientsDialog")
        self.setWindowTitle(tr("Mes patients DMP"))
        self.model = MyPatientsModel(self)
        self.proxy = MyPatientsProxy(self)
        self.proxy.setSourceModel(self.model)

        self.filter_edit = _FilterEdit(self)
        self.filter_edit.setObjectName("myPatientsFilter")
        self.filter_edit.setPlaceholderText(tr("Filtrer : nom, prénom ou INS"))
        self.filter_edit.setClearButtonEnabled(True)
        self.filter_edit.setAccessibleName(tr("Filtrer mes patients DMP"))
        filter_label = QLabel(tr("&Filtrer :"), self)
        filter_label.setBuddy(self.filter_edit)

        self.table = _Table(self)
        self.table.setObjectName("myPatientsTable")
        self.table.setAccessibleName(tr("Mes patients DMP"))
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(0, Qt.SortOrder.AscendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.table.horizontalHeader().setStretchLastSection(False)

        self.status = QLabel(self)
        self.status.setObjectName("myPatientsStatus")
        self.status.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addWidget(filter_label)
        layout.addWidget(self.filter_edit)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.status)
        layout.addWidget(buttons)
        self.resize(760, 480)

        self.filter_edit.textChanged.connect(self._on_filter)
        self.filter_edit.down.connect(self._enter_table)
        self.filter_edit.enter.connect(self._open_first_or_current)
        self.table.enter.connect(self._open_current)
        self.table.doubleClicked.connect(lambda _i: self._open_current())
        self.show_loading()

    def show_loading(self) -> None:
        set_tone(self.status, Tone.NEUTRAL, tr("Interrogation du DMP…"))

    def show_rows(self, rows: list[AuthorisedPatient]) -> None:
        self.model.set_rows(rows)
        self._on_filter(self.filter_edit.text())

    def show_failure(self, message: str) -> None:
        set_tone(self.status, Tone.ERROR, message)

    def _on_filter(self, text: str) -> None:
        self.proxy.set_text(text)
        shown, total = self.proxy.rowCount(), self.model.rowCount()
        if total == 0:
            message = tr("Aucun DMP sur lequel vous êtes autorisé.")
        elif shown == total:
            message = tr("{count} patient(s). Entrée ouvre le patient choisi.").format(count=total)
        else:
            message = tr("{shown} patient(s) sur {total}.").format(shown=shown, total=total)
        set_tone(self.status, Tone.NEUTRAL, message)
        if shown:
            self.table.selectRow(0)

    def _enter_table(self) -> None:
        if self.proxy.rowCount():
            self.table.setFocus()
            if not self.table.currentIndex().isValid():
                self.table.selectRow(0)

    def _open_first_or_current(self) -> None:
        if self.proxy.rowCount():
            if not self.table.currentIndex().isValid():
                self.table.selectRow(0)
            self._open_current()

    def _open_current(self) -> None:
        index = self.table.currentIndex()
        if not index.isValid():
            return
        row = self.proxy.data(index, MyPatientsModel.RowRole)
        if isinstance(row, AuthorisedPatient):
            self.patientChosen.emit(row)
            self.accept()


__all__ = ["MyPatientsDialog", "MyPatientsModel", "MyPatientsProxy"]
