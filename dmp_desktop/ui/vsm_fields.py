"""Fields of the VSM editor: a coded text field that searches the terminologies as the
doctor types, partial dates, and the list model of the suggestions."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from PySide6.QtCore import (
    QAbstractListModel,
    QCoreApplication,
    QEvent,
    QModelIndex,
    QPersistentModelIndex,
    QSize,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QCompleter,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QSizePolicy,
    QSpinBox,
    QStyle,
    QStyleOptionComboBox,
    QToolButton,
    QWidget,
)

from dmp_desktop.dates import fr_date
from dmp_desktop.domain.summary import PartialDate
from dmp_desktop.services.vsm_terminology import TerminologyService
from dmp_desktop.terminology import Concept, System, display_code
from dmp_desktop.ui.style import chip_css, restyle

SEARCH_DEBOUNCE_MS = 40
INVALID_CSS = "border: 1px solid #b3261e; border-radius: 3px;"

ConceptRole = int(Qt.ItemDataRole.UserRole) + 1

_SYSTEM_NAMES = {
    System.CIM10: "CIM-10",
    System.CIS: "CIS",
    System.CIP: "CIP",
    System.ATC: "ATC",
    System.CCAM: "CCAM",
    System.SNOMED_ALLERGY: "SNOMED CT",
    System.SUBSTANCE: "ATC",
    System.ALLERGY_CLASS: "ATC",
}


def _tr(text: str) -> str:
    return QCoreApplication.translate("VsmFields", text)


def QT_TRANSLATE_NOOP(context: str, source: str) -> str:
    """Marks ``source`` for lupdate (translated later); typed, unlike the binding's."""
    return source


# --- dates ---------------------------------------------------------------------------------

_FR_DATE_RE = re.compile(r"^(?:(\d{1,2})[/.-])?(?:(\d{1,2})[/.-])?(\d{4})$")


def parse_partial_date(text: str) -> PartialDate | None:
    """A date as doctors type it: ``2016``, ``03/2016``, ``12/03/2016`` (or ISO forms).

    Empty text gives None; anything else unreadable raises ValueError.
    """
    value = text.strip()
    if not value:
        return None
    if re.fullmatch(r"\d{4}(-\d{2}(-\d{2})?)?", value):
        return PartialDate.parse(value)
    match = _FR_DATE_RE.match(value)
    if not match:
        raise ValueError("not a date")
    first, second, year = match.groups()
    if first is None:
        return PartialDate(int(year))
    if second is None:
        return PartialDate(int(year), int(first))
    return PartialDate(int(year), int(second), int(first))


def parse_full_date(text: str) -> date | None:
    """A complete date (birth date): ``12/03/1984`` or ``1984-03-12``; empty gives None."""
    partial = parse_partial_date(text)
    if partial is None:
        return None
    if partial.month is None or partial.day is None:
        raise ValueError("incomplete date")
    return date(partial.year, partial.month, partial.day)


class DateEdit(QLineEdit):
    """A date field that accepts what is known: the year, the month or the day."""

    def __init__(self, parent: QWidget | None = None, *, full: bool = False) -> None:
        super().__init__(parent)
        self.full = full
        self.setMaxLength(10)
        if full:
            self.setPlaceholderText(QCoreApplication.translate("VsmFields", "JJ/MM/AAAA"))
        else:
            self.setPlaceholderText(QCoreApplication.translate("VsmFields", "ex. 03/2016"))
            self.setToolTip(
                QCoreApplication.translate(
                    "VsmFields",
                    "L'année, le mois ou le jour, selon ce que vous savez : "
                    "2016, 03/2016 ou 12/03/2016",
                )
            )
        self.setMaximumWidth(self.fontMetrics().horizontalAdvance("00/00/00000") + 24)
        self.setMinimumWidth(self.fontMetrics().horizontalAdvance("00/00/0000") + 16)

    def partial(self) -> PartialDate | None:
        """The date typed; raises ValueError when it cannot be read."""
        return parse_partial_date(self.text())

    def set_partial(self, value: PartialDate | None) -> None:
        self.setText(value.french() if value is not None else "")

    def full_date(self) -> date | None:
        return parse_full_date(self.text())

    def set_full_date(self, value: date | None) -> None:
        self.setText(fr_date(value) if value is not None else "")


# --- coded values --------------------------------------------------------------------------


@dataclass(frozen=True)
class CodeChoice:
    """The code attached to a field: its system, the code as written in CDA, its label."""

    system: System
    code: str
    label: str | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @classmethod
    def of(cls, concept: Concept) -> CodeChoice:
        return cls(concept.system, concept.display_code, concept.display, dict(concept.extra))

    def badge(self) -> str:
        return f"{_SYSTEM_NAMES.get(self.system, self.system.value)} {self.code}"


def suggestion_text(concept: Concept, *, with_system: bool = False) -> str:
    """How a suggestion reads in the list: ``E11.9  Diabète sucré de type 2, ...``."""
    code = display_code(concept.system, concept.code)
    prefix = f"{_SYSTEM_NAMES.get(concept.system, '')} " if with_system else ""
    return f"{prefix}{code}  {concept.display}"


class ConceptListModel(QAbstractListModel):
    """The suggestions of a coded field, best first (ranked by the index, not re-sorted)."""

    def __init__(self, parent: QWidget | None = None, *, with_system: bool = False) -> None:
        super().__init__(parent)
        self._concepts: list[Concept] = []
        self._with_system = with_system

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._concepts)

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = 0) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._concepts):
            return None
        concept = self._concepts[index.row()]
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole):
            return suggestion_text(concept, with_system=self._with_system)
        if role == Qt.ItemDataRole.EditRole:
            return concept.display
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"{concept.system.code_system_name} {concept.display_code} : {concept.display}"
        if role == ConceptRole:
            return concept
        return None

    def concepts(self) -> list[Concept]:
        return list(self._concepts)

    def set_concepts(self, concepts: list[Concept]) -> None:
        self.beginResetModel()
        self._concepts = list(concepts)
        self.endResetModel()

    def row_of(self, code: str) -> int:
        """Row of the concept whose code reads ``code`` (``E11.9``), or -1."""
        for row, concept in enumerate(self._concepts):
            if code in (concept.display_code, concept.code):
                return row
        return -1


class CodedField(QWidget):
    """The doctor's wording, searched as typed in the terminologies; a code once chosen.

    A code and its label go together: choosing a suggestion puts its official
    label in the field; editing the text afterwards removes the code (the
    badge disappears and the field says so) until a suggestion is chosen
    again, so a code can never stay under a text that says something else.
    A precision goes in the entry's comment. Suggestions appear as the doctor
    types, none of them preselected: ↓ goes to the first, Entrée chooses.
    """

    codeDropped = Signal()  # the text was edited: the code it had was removed

    changed = Signal()
    suggestionsShown = Signal()

    def __init__(
        self,
        systems: tuple[System, ...],
        search: TerminologyService | None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.systems = systems
        self._search = search
        self._choice: CodeChoice | None = None
        self._asked = 0
        self.edit = QLineEdit(self)
        self.edit.setClearButtonEnabled(False)
        self.edit.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.badge = QLabel(self)
        self.badge.setObjectName("codeBadge")
        self.badge.setStyleSheet(chip_css(self.palette()))  # redone on a palette change
        self.badge.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.clear_button = QToolButton(self)
        self.clear_button.setText("✕")
        self.clear_button.setAccessibleName(self.tr("Retirer le code"))
        self.clear_button.setToolTip(self.tr("Retirer le code (garder le texte libre)"))
        self.clear_button.clicked.connect(self.clear_code)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addWidget(self.edit, 1)
        layout.addWidget(self.badge)
        layout.addWidget(self.clear_button)
        self.setFocusProxy(self.edit)

        self.model = ConceptListModel(self, with_system=len(systems) > 1)
        self.completer = QCompleter(self)
        self.completer.setModel(self.model)
        self.completer.setCompletionMode(QCompleter.CompletionMode.UnfilteredPopupCompletion)
        self.completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.completer.setMaxVisibleItems(10)
        self.completer.setWidget(self.edit)
        self.completer.activated[QModelIndex].connect(self._on_activated)  # type: ignore[index]
        self.popup().setAccessibleName(self.tr("Suggestions"))

        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(SEARCH_DEBOUNCE_MS)
        self._debounce.timeout.connect(self._ask)
        self.edit.textEdited.connect(self._on_edited)
        self._refresh_badge()

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange:
            self.badge.setStyleSheet(chip_css(self.palette()))

    def popup(self) -> QAbstractItemView:
        popup = self.completer.popup()
        if popup is None:  # never: QCompleter makes its list view on demand
            raise RuntimeError("no completer popup")
        return popup

    # -- value ---------------------------------------------------------------------------
    def text(self) -> str:
        return self.edit.text().strip()

    @property
    def choice(self) -> CodeChoice | None:
        return self._choice

    def set_value(self, text: str, choice: CodeChoice | None) -> None:
        self.edit.setText(text)
        self.edit.setCursorPosition(0)
        self._choice = choice
        self._refresh_badge()

    def choose(self, concept: Concept) -> None:
        """Attach ``concept``'s code; the text becomes its official label."""
        self._choice = CodeChoice.of(concept)
        self.edit.setText(concept.display)
        self._refresh_badge()
        self.changed.emit()

    def clear_code(self) -> None:
        if self._choice is None:
            return
        self._choice = None
        self._refresh_badge()
        self.edit.setFocus(Qt.FocusReason.OtherFocusReason)
        self.changed.emit()

    def _refresh_badge(self) -> None:
        choice = self._choice
        self.badge.setVisible(choice is not None)
        self.clear_button.setVisible(choice is not None)
        if choice is None:
            self.badge.setText("")
            self.badge.setToolTip("")
            self.edit.setAccessibleDescription(self.tr("Texte libre, sans code"))
            return
        self.badge.setText(choice.badge())
        tip = f"{choice.badge()} : {choice.label or ''}".strip(" :")
        self.badge.setToolTip(tip)
        self.badge.setAccessibleName(tip)
        self.edit.setAccessibleDescription(self.tr("Code choisi : {code}").format(code=tip))

    # -- searching -----------------------------------------------------------------------
    def _on_edited(self, _text: str) -> None:
        if self._choice is not None:
            # the text no longer is the code's label: the code goes, until chosen again
            self._choice = None
            self._refresh_badge()
            self.edit.setAccessibleDescription(
                self.tr("Code retiré car le texte a changé : choisissez à nouveau dans la liste")
            )
            self.codeDropped.emit()
        self.changed.emit()
        self._asked += 1  # an answer to an older question is now stale
        if self._search is None or not self.text():
            self._debounce.stop()
            self.model.set_concepts([])
            self.popup().hide()
            return
        self._debounce.start()

    def _ask(self) -> None:
        if self._search is None:
            return
        asked = self._asked
        self._search.search(self.systems, self.text(), lambda found: self._show(asked, found))

    def _show(self, asked: int, concepts: list[Concept]) -> None:
        if asked != self._asked:
            return
        self.model.set_concepts(concepts)
        if concepts and self.edit.hasFocus():
            self.completer.complete()
            self._unselect()
            self.suggestionsShown.emit()
        else:
            self.popup().hide()

    def _unselect(self) -> None:
        """No row preselected: what is highlighted is only what ↓/↑ chose."""
        popup = self.popup()
        selection = popup.selectionModel()
        if selection is not None:
            selection.clear()
        popup.setCurrentIndex(QModelIndex())

    def _on_activated(self, index: QModelIndex) -> None:
        concept = index.data(ConceptRole)
        if isinstance(concept, Concept):
            self.choose(concept)


class ComboBox(QComboBox):
    """A combo box the mouse wheel does not change while scrolling the form past it.

    It takes the focus by click or Tab only (not by the wheel); without the
    focus, a wheel event goes on to the scroll area. With ``fit_choice`` it is
    as wide as its current choice (at least ``minimumContentsLength``
    characters): a long clinical label is never cut, and a long label among
    the choices does not widen the form while another one is chosen.
    """

    def __init__(self, parent: QWidget | None = None, *, fit_choice: bool = False) -> None:
        super().__init__(parent)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self._fit_choice = fit_choice
        if fit_choice:
            self.setSizeAdjustPolicy(
                QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
            )
            self.currentIndexChanged.connect(lambda _i: self.updateGeometry())

    def _choice_width(self) -> int:
        option = QStyleOptionComboBox()
        self.initStyleOption(option)
        text = self.fontMetrics().horizontalAdvance(self.currentText())
        if not self.itemIcon(self.currentIndex()).isNull():
            text += self.iconSize().width() + 4
        size = QSize(text + 2, self.fontMetrics().height())
        return (
            self.style()
            .sizeFromContents(QStyle.ContentsType.CT_ComboBox, option, size, self)
            .width()
        )

    def sizeHint(self) -> QSize:
        hint = super().sizeHint()
        if self._fit_choice:
            hint.setWidth(max(hint.width(), self._choice_width()))
        return hint

    def minimumSizeHint(self) -> QSize:
        hint = super().minimumSizeHint()
        if self._fit_choice:
            hint.setWidth(max(hint.width(), self._choice_width()))
        return hint

    def wheelEvent(self, event: QWheelEvent) -> None:
        if not self.hasFocus():
            event.ignore()
            return
        super().wheelEvent(event)


class SpinBox(QSpinBox):
    """A spin box the mouse wheel does not change unless it has the focus."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)

    def wheelEvent(self, event: QWheelEvent) -> None:
        if not self.hasFocus():
            event.ignore()
            return
        super().wheelEvent(event)


def set_invalid(widget: QWidget, invalid: bool, message: str = "") -> None:
    """Mark a field in error (a red border and the message as its tooltip)."""
    if bool(widget.property("invalid")) == invalid and not invalid:
        return  # restyling is costly: only on a change
    widget.setProperty("invalid", invalid)
    target = widget.edit if isinstance(widget, CodedField) else widget
    name = type(target).__name__
    restyle(target, f"{name} {{ {INVALID_CSS} }}" if invalid else "")
    base = target.property("baseToolTip")
    if base is None:
        base = target.toolTip()
        target.setProperty("baseToolTip", base)
    target.setToolTip(message if invalid else str(base))
