"""The sections of the VSM editor, in the order of the document, and their entries.

Each entry widget edits one object of :mod:`dmp_desktop.domain.summary` and
keeps the object it was given: what the editor does not show (the comment of
an allergy read from another software's VSM, a CIP code...) is carried over
unchanged. An entry left completely empty is not part of the summary.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

from PySide6.QtCore import QCoreApplication, QEvent, QObject, QPoint, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFrame,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from dmp_desktop.cda import codes, valuesets
from dmp_desktop.cda import posology as posology_words
from dmp_desktop.domain.summary import (
    AdvanceDirective,
    Allergy,
    AllergyStatus,
    CarePlanItem,
    CarePlanKind,
    ContactPerson,
    FamilyHistory,
    FunctionalStatus,
    ImmunizationKind,
    LifestyleItem,
    LifestyleKind,
    MedicalHistory,
    PartialDate,
    Posology,
    Problem,
    ProblemStatus,
    Result,
    ResultKind,
    Severity,
    SurgicalHistory,
    Treatment,
    Vaccination,
    VitalSign,
)
from dmp_desktop.services.vsm_terminology import TerminologyService
from dmp_desktop.terminology import System, ucum
from dmp_desktop.ui.style import Tone, set_tone
from dmp_desktop.ui.vsm_fields import (
    QT_TRANSLATE_NOOP,
    CodeChoice,
    CodedField,
    ComboBox,
    DateEdit,
    SpinBox,
    set_invalid,
)


def _tr(text: str) -> str:
    return QCoreApplication.translate("VsmSections", text)


# Units offered for a lifestyle quantity (UCUM), with how doctors say them.
LIFESTYLE_UNITS: tuple[tuple[str, str], ...] = (
    ("{pack}/a", QT_TRANSLATE_NOOP("VsmSections", "paquets-années")),
    ("{cigarette}/d", QT_TRANSLATE_NOOP("VsmSections", "cigarettes par jour")),
    ("{verre}/d", QT_TRANSLATE_NOOP("VsmSections", "verres par jour")),
    ("{verre}/wk", QT_TRANSLATE_NOOP("VsmSections", "verres par semaine")),
    ("h/wk", QT_TRANSLATE_NOOP("VsmSections", "heures par semaine")),
    ("min/wk", QT_TRANSLATE_NOOP("VsmSections", "minutes par semaine")),
)

COMMON_RELATIONSHIPS = (
    "MTH",
    "FTH",
    "SIS",
    "BRO",
    "SIB",
    "DAU",
    "SON",
    "CHILD",
    "MGRMTH",
    "MGRFTH",
    "PGRMTH",
    "PGRFTH",
    "GRMTH",
    "GRFTH",
    "AUNT",
    "UNCLE",
    "COUSN",
)


@dataclass
class EntryValue:
    """What an entry holds: the model object, and the texts of fields not readable yet."""

    value: Any
    unparsed: dict[str, str]
    problems: list[tuple[str, str]]  # (field, reason code) found while reading the fields


class EntryWidget(QFrame):
    """One entry of a section: fields, a message area and a "Supprimer" button."""

    changed = Signal()
    removeRequested = Signal(object)

    noun = "élément"  # "Pathologie en cours n° 2"

    def __init__(self, search: TerminologyService | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("vsmEntry")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.search = search
        self.number = 1
        self._base: Any = None
        self._fields: dict[str, QWidget] = {}
        self._captions: dict[str, str] = {}
        self._shown: list[tuple[str | None, str]] = []
        self.grid = QGridLayout()
        self.grid.setContentsMargins(0, 0, 0, 0)
        self.grid.setHorizontalSpacing(8)
        self.grid.setVerticalSpacing(4)
        # (label or None, widget, row, column, span) as laid out on a wide column; a column
        # narrower than that gets one field a line (:meth:`fit_width`)
        self._placements: list[tuple[QLabel | None, QWidget, int, int, int]] = []
        self._narrow = False
        self._wide_width = 0  # the entry's minimum width with the wide layout
        self.remove_button = QPushButton(self.tr("Supprimer"), self)
        self.remove_button.setObjectName("removeEntry")
        self.remove_button.clicked.connect(lambda: self.removeRequested.emit(self))
        self.message = QLabel(self)
        self.message.setObjectName("entryMessage")
        self.message.setWordWrap(True)
        self.message.setTextFormat(Qt.TextFormat.PlainText)
        set_tone(self.message, Tone.ERROR, "")
        outer = QVBoxLayout(self)
        outer.setContentsMargins(8, 6, 8, 6)
        outer.setSpacing(4)
        top = QHBoxLayout()
        top.addLayout(self.grid, 1)
        top.addWidget(self.remove_button, 0, Qt.AlignmentFlag.AlignTop)
        outer.addLayout(top)
        outer.addWidget(self.message)

    # -- building ------------------------------------------------------------------------
    def add_field(
        self, name: str, caption: str, widget: QWidget, row: int, column: int, span: int = 1
    ) -> None:
        label = QLabel(caption, self)
        label.setBuddy(widget.focusProxy() or widget)
        self.place(label, widget, row, column, span)
        self._fields[name] = widget
        self._captions[name] = caption.replace("&", "")
        self._connect_change(widget)

    def place(
        self, label: QLabel | None, widget: QWidget, row: int, column: int, span: int
    ) -> None:
        """Put a field (its caption, if any, on its left) at ``row``/``column`` of the wide
        layout; ``span`` columns of fields wide."""
        self._placements.append((label, widget, row, column, span))
        self._put(len(self._placements) - 1)

    def _put(self, index: int) -> None:
        label, widget, row, column, span = self._placements[index]
        if self._narrow:
            if label is not None:
                self.grid.addWidget(label, index, 0)
            self.grid.addWidget(widget, index, 1)
            return
        if label is not None:
            self.grid.addWidget(label, row, column * 2)
            self.grid.addWidget(widget, row, column * 2 + 1, 1, span * 2 - 1)
        else:
            self.grid.addWidget(widget, row, column * 2, 1, span * 2)

    @property
    def narrow(self) -> bool:
        return self._narrow

    def fit_width(self, available: int) -> None:
        """Lay the fields out side by side when ``available`` pixels hold them, one a line
        otherwise: the form never gets wider than its column (no horizontal scrolling)."""
        if not self._narrow:
            self._wide_width = self.minimumSizeHint().width()
        narrow = available < self._wide_width
        if narrow == self._narrow:
            return
        self._narrow = narrow
        for label, widget, _row, _column, _span in self._placements:
            for item in (label, widget):
                if item is not None:
                    self.grid.removeWidget(item)
        for stretch in range(self.grid.columnCount()):
            self.grid.setColumnStretch(stretch, 0)
        for index in range(len(self._placements)):
            self._put(index)
        if narrow:
            self.grid.setColumnStretch(1, 1)
        self.grid.invalidate()

    def _connect_change(self, widget: QWidget) -> None:
        if isinstance(widget, CodedField):
            widget.changed.connect(self.changed)
        elif isinstance(widget, QLineEdit):
            widget.textEdited.connect(lambda _t: self.changed.emit())
        elif isinstance(widget, QPlainTextEdit):
            widget.textChanged.connect(self.changed)
        elif isinstance(widget, QComboBox):
            widget.currentIndexChanged.connect(lambda _i: self.changed.emit())
        elif isinstance(widget, QCheckBox):
            widget.toggled.connect(lambda _b: self.changed.emit())

    def field(self, name: str) -> QWidget | None:
        return self._fields.get(name)

    def fields(self) -> dict[str, QWidget]:
        return dict(self._fields)

    def focus_chain(self) -> list[QWidget]:
        chain: list[QWidget] = []
        for widget in self._fields.values():
            if isinstance(widget, CodedField):
                chain += [widget.edit, widget.clear_button]
            else:
                chain.append(widget)
        chain.append(self.remove_button)
        return chain

    def first_field(self) -> QWidget:
        return next(iter(self._fields.values()))

    def set_number(self, number: int, title: str) -> None:
        """Accessible names say which entry a field belongs to ("Allergie n° 2 : agent")."""
        self.number = number
        for name, widget in self._fields.items():
            target = widget.edit if isinstance(widget, CodedField) else widget
            target.setAccessibleName(f"{title} n° {number} : {self._captions[name]}")
        self.remove_button.setAccessibleName(
            self.tr("Supprimer : {title} n° {number}").format(title=title, number=number)
        )

    # -- messages ------------------------------------------------------------------------
    def set_problems(self, problems: list[tuple[str | None, str]]) -> None:
        """Show messages next to the fields: (field name or None, French message)."""
        if problems == self._shown:
            return  # nothing changed: no restyling (it is what costs)
        self._shown = list(problems)
        bad = {name for name, _ in problems if name}
        for name, widget in self._fields.items():
            text = "\n".join(m for n, m in problems if n == name)
            set_invalid(widget, name in bad, text)
        set_tone(self.message, Tone.ERROR, "\n".join(m for _, m in problems))

    @property
    def message_text(self) -> str:
        return self.message.accessibleDescription()

    # -- value ---------------------------------------------------------------------------
    def is_blank(self) -> bool:
        for widget in self._fields.values():
            if isinstance(widget, CodedField) and (widget.text() or widget.choice):
                return False
            if isinstance(widget, QLineEdit) and widget.text().strip():
                return False
            if isinstance(widget, QPlainTextEdit) and widget.toPlainText().strip():
                return False
        return True

    def read(self) -> EntryValue:
        raise NotImplementedError

    def load(self, value: Any, unparsed: dict[str, str] | None = None) -> None:
        raise NotImplementedError

    def _dates(self, *names: str) -> tuple[dict[str, PartialDate | None], EntryValue]:
        """Read the date fields; unreadable ones are kept as text and reported."""
        out: dict[str, PartialDate | None] = {}
        extra = EntryValue(None, {}, [])
        for name in names:
            widget = self._fields[name]
            if not isinstance(widget, DateEdit):
                raise TypeError(name)
            try:
                out[name] = widget.partial()
            except ValueError:
                out[name] = None
                extra.unparsed[name] = widget.text()
                extra.problems.append((name, "bad_date"))
        return out, extra

    def _restore(self, unparsed: dict[str, str] | None) -> None:
        for name, text in (unparsed or {}).items():
            widget = self._fields.get(name)
            if isinstance(widget, QLineEdit):
                widget.setText(text)


T = TypeVar("T")


def _expect(value: Any, cls: type[T]) -> T:
    if not isinstance(value, cls):
        raise TypeError(f"expected {cls.__name__}")
    return value


def _comment_edit(parent: QWidget) -> QPlainTextEdit:
    edit = QPlainTextEdit(parent)
    edit.setTabChangesFocus(True)
    edit.setFixedHeight(edit.fontMetrics().lineSpacing() * 2 + 14)
    edit.setPlaceholderText(QCoreApplication.translate("VsmSections", "Commentaire (facultatif)"))
    return edit


def _text_or_none(text: str) -> str | None:
    text = text.strip()
    return text or None


def _combo(parent: QWidget, items: list[tuple[str, Any]]) -> QComboBox:
    # The wheel never changes it while scrolling the form; it is as wide as its current
    # choice (a clinical label is never cut), the list shows every label whole.
    combo = ComboBox(parent, fit_choice=True)
    combo.setMinimumContentsLength(10)
    combo.currentTextChanged.connect(combo.setToolTip)
    for label, data in items:
        combo.addItem(label, data)
    return combo


def _select(combo: QComboBox, data: Any, label: str | None = None) -> None:
    index = combo.findData(data)
    if index < 0 and data is not None:
        combo.addItem(label or str(data), data)  # a value read from elsewhere: kept
        index = combo.count() - 1
    combo.setCurrentIndex(max(index, 0))


# --- problems (pathologies en cours, antécédents médicaux) ---------------------------------------


class ProblemEntry(EntryWidget):
    noun = "pathologie"

    def __init__(
        self,
        search: TerminologyService | None,
        parent: QWidget | None = None,
        *,
        history: bool = False,
    ) -> None:
        super().__init__(search, parent)
        self.history = history
        self.label_field = CodedField((System.CIM10,), search, self)
        self.label_field.edit.setPlaceholderText(
            self.tr("Tapez pour chercher en CIM-10 (ex. « diab », « HTA », « E11.9 »)")
        )
        self.onset = DateEdit(self)
        self.resolution = DateEdit(self)
        self.comment = _comment_edit(self)
        self.add_field("label", self.tr("Pathologie"), self.label_field, 0, 0, 3)
        self.add_field("onset", self.tr("Début"), self.onset, 1, 0)
        if history:
            self.add_field("resolution", self.tr("Fin"), self.resolution, 1, 1)
        else:
            self.resolution.hide()
        self.add_field("comment", self.tr("Commentaire"), self.comment, 2, 0, 3)

    def load(self, value: Any, unparsed: dict[str, str] | None = None) -> None:
        value = _expect(value, Problem)
        self._base = value
        choice = (
            CodeChoice(System.CIM10, value.cim10, value.cim10_label or value.label)
            if value.cim10
            else None
        )
        self.label_field.set_value(value.label, choice)
        self.onset.set_partial(value.onset)
        self.resolution.set_partial(value.resolution)
        self.comment.setPlainText(value.comment or "")
        self._restore(unparsed)

    def read(self) -> EntryValue:
        names = ("onset", "resolution") if self.history else ("onset",)
        dates, out = self._dates(*names)
        cls = MedicalHistory if self.history else Problem
        base = self._base if isinstance(self._base, cls) else cls(label="")
        choice = self.label_field.choice
        label = self.label_field.text()
        resolution = dates.get("resolution")
        status = base.status
        if resolution is not None:
            status = ProblemStatus.RESOLVED
        out.value = replace(
            base,
            label=label,
            cim10=choice.code if choice else None,
            cim10_label=choice.label if choice else None,
            status=status,
            onset=dates["onset"],
            resolution=resolution if self.history else base.resolution,
            comment=_text_or_none(self.comment.toPlainText()),
        )
        return out


class SurgeryEntry(EntryWidget):
    noun = "intervention"

    def __init__(self, search: TerminologyService | None, parent: QWidget | None = None) -> None:
        super().__init__(search, parent)
        self.label_field = CodedField((System.CCAM,), search, self)
        self.label_field.edit.setPlaceholderText(self.tr("Intervention (texte libre ou CCAM)"))
        self.date = DateEdit(self)
        self.comment = _comment_edit(self)
        self.add_field("label", self.tr("Intervention"), self.label_field, 0, 0, 3)
        self.add_field("date", self.tr("Date"), self.date, 1, 0)
        self.add_field("comment", self.tr("Commentaire"), self.comment, 2, 0, 3)

    def load(self, value: Any, unparsed: dict[str, str] | None = None) -> None:
        value = _expect(value, SurgicalHistory)
        self._base = value
        choice = (
            CodeChoice(System.CCAM, value.ccam, value.ccam_label or value.label)
            if value.ccam
            else None
        )
        self.label_field.set_value(value.label, choice)
        self.date.set_partial(value.date)
        self.comment.setPlainText(value.comment or "")
        self._restore(unparsed)

    def read(self) -> EntryValue:
        dates, out = self._dates("date")
        base = self._base if isinstance(self._base, SurgicalHistory) else SurgicalHistory("")
        choice = self.label_field.choice
        out.value = replace(
            base,
            label=self.label_field.text(),
            ccam=choice.code if choice else None,
            ccam_label=choice.label if choice else None,
            date=dates["date"],
            comment=_text_or_none(self.comment.toPlainText()),
        )
        return out


# --- allergies -------------------------------------------------------------------------------


class AllergyEntry(EntryWidget):
    noun = "allergie"

    def __init__(self, search: TerminologyService | None, parent: QWidget | None = None) -> None:
        super().__init__(search, parent)
        # classes (« pénicilline », « AINS »), then substances (DCI), then drugs
        self.agent = CodedField((System.ALLERGY_CLASS, System.SUBSTANCE, System.CIS), search, self)
        self.agent.edit.setPlaceholderText(
            self.tr("Agent : médicament, classe ou substance (ex. « amox », « pénicilline »)")
        )
        self.type_combo = _combo(self, [(label, code) for code, label in _allergy_types()])
        self.reaction = QLineEdit(self)
        self.reaction.setPlaceholderText(self.tr("ex. Œdème de Quincke"))
        self.severity = _combo(
            self,
            [(self.tr("non précisée"), None)]
            + [(label, sev) for sev, (_c, label) in codes.SEVERITY_CODES.items()],
        )
        self.status = _combo(
            self, [(label, st) for st, (_c, label) in codes.ALLERGY_STATUS_CODES.items()]
        )
        self.onset = DateEdit(self)
        self.add_field("agent", self.tr("Agent"), self.agent, 0, 0, 3)
        self.add_field("type_code", self.tr("Type"), self.type_combo, 1, 0)
        self.add_field("reaction", self.tr("Réaction"), self.reaction, 1, 1, 2)
        self.add_field("severity", self.tr("Sévérité"), self.severity, 2, 0)
        self.add_field("status", self.tr("Statut"), self.status, 2, 1)
        self.add_field("onset", self.tr("Depuis"), self.onset, 2, 2)
        _select(self.type_combo, "416098002")

    def load(self, value: Any, unparsed: dict[str, str] | None = None) -> None:
        value = _expect(value, Allergy)
        self._base = value
        choice = None
        if value.agent_cis:
            extra = {"atc": value.agent_atc} if value.agent_atc else {}
            choice = CodeChoice(System.CIS, value.agent_cis, value.agent, extra)
        elif value.agent_atc:
            choice = CodeChoice(System.ALLERGY_CLASS, value.agent_atc, value.agent)
        self.agent.set_value(value.agent, choice)
        _select(self.type_combo, value.type_code)
        self.reaction.setText(value.reaction or "")
        _select(self.severity, value.severity)
        _select(self.status, value.status)
        self.onset.set_partial(value.onset)
        self._restore(unparsed)

    def is_blank(self) -> bool:
        return not (self.agent.text() or self.agent.choice or self.reaction.text().strip())

    def read(self) -> EntryValue:
        dates, out = self._dates("onset")
        base = self._base if isinstance(self._base, Allergy) else Allergy("")
        choice = self.agent.choice
        agent_cis = agent_atc = None
        if choice is not None and choice.system is System.CIS:
            agent_cis = choice.code
            atc = choice.extra.get("atc")
            agent_atc = atc if isinstance(atc, str) and atc else None
        elif choice is not None and choice.system in (
            System.ATC,
            System.SUBSTANCE,
            System.ALLERGY_CLASS,
        ):
            agent_atc = choice.code
        severity = self.severity.currentData()
        status = self.status.currentData()
        out.value = replace(
            base,
            agent=self.agent.text(),
            type_code=str(self.type_combo.currentData()),
            agent_cis=agent_cis,
            agent_atc=agent_atc,
            reaction=_text_or_none(self.reaction.text()),
            severity=severity if isinstance(severity, Severity) else None,
            status=status if isinstance(status, AllergyStatus) else AllergyStatus.ACTIVE,
            onset=dates["onset"],
        )
        return out


def _allergy_types() -> list[tuple[str, str]]:
    common = ["416098002", "414285001", "419199007", "609328004", "59037007", "235719002"]
    rest = [c for c in valuesets.ALLERGY_TYPES if c not in common]
    return [(c, valuesets.ALLERGY_TYPES[c]) for c in common + rest]


# --- lifestyle -------------------------------------------------------------------------------


class LifestyleEntry(EntryWidget):
    noun = "habitus"

    def __init__(self, search: TerminologyService | None, parent: QWidget | None = None) -> None:
        super().__init__(search, parent)
        self.kind = _combo(
            self, [(label, kind) for kind, (_c, label) in codes.LIFESTYLE_CODES.items()]
        )
        self.text_edit = QLineEdit(self)
        self.text_edit.setPlaceholderText(self.tr("ex. Ancien fumeur, sevré depuis 2019"))
        self.quantity = QLineEdit(self)
        self.quantity.setMaximumWidth(self.fontMetrics().horizontalAdvance("0000000") + 16)
        self.unit = _combo(
            self, [(self.tr("(pas de quantité)"), None)] + [(_tr(f), c) for c, f in LIFESTYLE_UNITS]
        )
        self.date = DateEdit(self)
        self.add_field("kind", self.tr("Type"), self.kind, 0, 0)
        self.add_field("text", self.tr("Observation"), self.text_edit, 0, 1, 2)
        self.add_field("quantity", self.tr("Quantité"), self.quantity, 1, 0)
        self.add_field("unit", self.tr("Unité"), self.unit, 1, 1)
        self.add_field("date", self.tr("Date"), self.date, 1, 2)

    def load(self, value: Any, unparsed: dict[str, str] | None = None) -> None:
        value = _expect(value, LifestyleItem)
        self._base = value
        _select(self.kind, value.kind)
        self.text_edit.setText(value.text)
        self.quantity.setText(_decimal_text(value.quantity))
        _select(self.unit, value.unit)
        self.date.set_partial(value.date)
        self._restore(unparsed)

    def read(self) -> EntryValue:
        dates, out = self._dates("date")
        base = (
            self._base
            if isinstance(self._base, LifestyleItem)
            else LifestyleItem(LifestyleKind.OTHER, "")
        )
        quantity: Decimal | None = None
        raw = self.quantity.text().strip().replace(",", ".")
        if raw:
            try:
                quantity = Decimal(raw)
                if not quantity.is_finite():
                    raise InvalidOperation
            except InvalidOperation:
                quantity = None
                out.unparsed["quantity"] = self.quantity.text()
                out.problems.append(("quantity", "bad_number"))
        kind = self.kind.currentData()
        unit = self.unit.currentData()
        out.value = replace(
            base,
            kind=kind if isinstance(kind, LifestyleKind) else LifestyleKind.OTHER,
            text=self.text_edit.text().strip(),
            quantity=quantity,
            unit=unit if isinstance(unit, str) else None,
            date=dates["date"],
        )
        return out


def _decimal_text(value: Decimal | None) -> str:
    if value is None:
        return ""
    text = format(value.normalize(), "f") if value == value.to_integral_value() else str(value)
    return text.replace(".", ",")


# --- free texts (risques professionnels, points de vigilance) -------------------------------------


class TextEntry(EntryWidget):
    def __init__(
        self,
        search: TerminologyService | None,
        parent: QWidget | None = None,
        *,
        caption: str = "",
        placeholder: str = "",
    ) -> None:
        super().__init__(search, parent)
        self.text_edit = QLineEdit(self)
        self.text_edit.setPlaceholderText(placeholder)
        self.add_field("text", caption, self.text_edit, 0, 0, 3)

    def load(self, value: Any, unparsed: dict[str, str] | None = None) -> None:
        self._base = value
        self.text_edit.setText(str(value))

    def read(self) -> EntryValue:
        return EntryValue(self.text_edit.text().strip(), {}, [])


# --- family history -------------------------------------------------------------------------


class FamilyEntry(EntryWidget):
    noun = "antécédent familial"

    def __init__(self, search: TerminologyService | None, parent: QWidget | None = None) -> None:
        super().__init__(search, parent)
        codes_in_order = [c for c in COMMON_RELATIONSHIPS if c in valuesets.FAMILY_RELATIONSHIPS]
        rest = sorted(
            (c for c in valuesets.FAMILY_RELATIONSHIPS if c not in codes_in_order),
            key=lambda c: valuesets.FAMILY_RELATIONSHIPS[c],
        )
        self.relationship = _combo(
            self, [(valuesets.FAMILY_RELATIONSHIPS[c], c) for c in codes_in_order + rest]
        )
        self.label_field = CodedField((System.CIM10,), search, self)
        self.label_field.edit.setPlaceholderText(self.tr("Pathologie du parent (CIM-10)"))
        self.add_field("relationship", self.tr("Lien"), self.relationship, 0, 0)
        self.add_field("label", self.tr("Pathologie"), self.label_field, 0, 1, 2)

    def load(self, value: Any, unparsed: dict[str, str] | None = None) -> None:
        value = _expect(value, FamilyHistory)
        self._base = value
        _select(self.relationship, value.relationship)
        choice = (
            CodeChoice(System.CIM10, value.cim10, value.cim10_label or value.label)
            if value.cim10
            else None
        )
        self.label_field.set_value(value.label, choice)

    def read(self) -> EntryValue:
        base = self._base if isinstance(self._base, FamilyHistory) else FamilyHistory("MTH", "")
        choice = self.label_field.choice
        return EntryValue(
            replace(
                base,
                relationship=str(self.relationship.currentData()),
                label=self.label_field.text(),
                cim10=choice.code if choice else None,
                cim10_label=choice.label if choice else None,
            ),
            {},
            [],
        )


# --- treatments ------------------------------------------------------------------------------


def _number(text: str) -> Decimal:
    """A number as typed (``2``, ``0,5``); raises InvalidOperation."""
    value = Decimal(text.strip().replace(",", "."))
    if not value.is_finite():
        raise InvalidOperation
    return value


_DOSE_RANGE_RE = re.compile(
    r"^\s*([0-9]+(?:[.,][0-9]+)?)\s*(?:(?:à|a|-)\s*([0-9]+(?:[.,][0-9]+)?))?\s*$"
)

# Frequencies offered: (label, (times, period, unit)); others read from a document are added.
FREQUENCIES: tuple[tuple[str, tuple[int, Decimal, str]], ...] = (
    (QT_TRANSLATE_NOOP("VsmSections", "1 fois par jour"), (1, Decimal(1), "d")),
    (QT_TRANSLATE_NOOP("VsmSections", "2 fois par jour"), (2, Decimal(1), "d")),
    (QT_TRANSLATE_NOOP("VsmSections", "3 fois par jour"), (3, Decimal(1), "d")),
    (QT_TRANSLATE_NOOP("VsmSections", "4 fois par jour"), (4, Decimal(1), "d")),
    (QT_TRANSLATE_NOOP("VsmSections", "toutes les 4 heures"), (1, Decimal(4), "h")),
    (QT_TRANSLATE_NOOP("VsmSections", "toutes les 6 heures"), (1, Decimal(6), "h")),
    (QT_TRANSLATE_NOOP("VsmSections", "toutes les 8 heures"), (1, Decimal(8), "h")),
    (QT_TRANSLATE_NOOP("VsmSections", "1 jour sur 2"), (1, Decimal(2), "d")),
    (QT_TRANSLATE_NOOP("VsmSections", "1 fois par semaine"), (1, Decimal(1), "wk")),
    (QT_TRANSLATE_NOOP("VsmSections", "2 fois par semaine"), (2, Decimal(1), "wk")),
    (QT_TRANSLATE_NOOP("VsmSections", "3 fois par semaine"), (3, Decimal(1), "wk")),
    (QT_TRANSLATE_NOOP("VsmSections", "1 fois par mois"), (1, Decimal(1), "mo")),
)
DURATION_UNITS: tuple[tuple[str, str], ...] = (
    ("d", QT_TRANSLATE_NOOP("VsmSections", "jours")),
    ("wk", QT_TRANSLATE_NOOP("VsmSections", "semaines")),
    ("mo", QT_TRANSLATE_NOOP("VsmSections", "mois")),
)
# The routes a general practitioner uses most, first (EDQM codes of the CI-SIS value set).
COMMON_ROUTES = (
    "20053000",  # orale
    "20072000",  # sublinguale
    "20066000",  # sous-cutanée
    "20035000",  # intramusculaire
    "20045000",  # intraveineuse
    "20003000",  # cutanée
    "20070000",  # transdermique
    "20020000",  # inhalée
    "20049000",  # nasale
    "20051000",  # ophtalmique
    "20001000",  # auriculaire
    "20061000",  # rectale
    "20047000",  # vaginale
)


def _frequency_key(p: Posology | None) -> tuple[int, Decimal, str] | None:
    if p is None or p.period is None or p.period_unit is None:
        return None
    return (p.times or 1, p.period.normalize(), p.period_unit)


class TreatmentEntry(EntryWidget):
    """A treatment: the drug (CIS), its coded posology (dose, frequency, route, duration),
    the indication (CIM-10) and the dates."""

    noun = "traitement"

    def __init__(self, search: TerminologyService | None, parent: QWidget | None = None) -> None:
        super().__init__(search, parent)
        self.name = CodedField((System.CIS,), search, self)
        self.name.edit.setPlaceholderText(
            self.tr("Médicament : nom ou substance (ex. « metf », « doliprane »)")
        )
        self.dose = QLineEdit(self)
        self.dose.setPlaceholderText(self.tr("ex. 1 ou 1 à 2"))
        self.dose.setMaximumWidth(self.fontMetrics().horizontalAdvance("0000 à 0000") + 16)
        self.dose_unit = _combo(
            self,
            [(self.tr("(unité)"), None)]
            + [
                (singular, unit)
                for unit, (singular, _p) in ucum.DOSE_UNITS.items()
                if unit not in ("{tbl}", "[IU]")
            ],
        )
        self.frequency = _combo(
            self,
            [(self.tr("(fréquence non précisée)"), None)]
            + [(_tr(label), key) for label, key in FREQUENCIES],
        )
        routes = [c for c in COMMON_ROUTES if c in valuesets.ROUTES]
        routes += sorted(
            (c for c in valuesets.ROUTES if c not in routes), key=lambda c: valuesets.ROUTES[c]
        )
        self.route = _combo(
            self,
            [(self.tr("(voie non précisée)"), None)] + [(valuesets.ROUTES[c], c) for c in routes],
        )
        self.duration = QLineEdit(self)
        self.duration.setPlaceholderText(self.tr("durée"))
        self.duration.setMaximumWidth(self.fontMetrics().horizontalAdvance("00000") + 16)
        self.duration_unit = _combo(self, [(_tr(label), unit) for unit, label in DURATION_UNITS])
        self.dosage = QLineEdit(self)
        self.dosage.setPlaceholderText(self.tr("Précisions (ex. au milieu du repas)"))
        self.reason = CodedField((System.CIM10,), search, self)
        self.reason.edit.setPlaceholderText(self.tr("Motif (CIM-10), ex. « HTA »"))
        self.start = DateEdit(self)
        self.end = DateEdit(self)
        self.long_term = QCheckBox(self.tr("Au long cours"), self)
        self.long_term.setChecked(True)
        self.add_field("name", self.tr("Médicament"), self.name, 0, 0, 3)
        self.add_field("dose", self.tr("Dose"), self.dose, 1, 0)
        self.add_field("dose_unit", self.tr("Unité"), self.dose_unit, 1, 1)
        self.add_field("period", self.tr("Fréquence"), self.frequency, 1, 2)
        self.add_field("route", self.tr("Voie"), self.route, 2, 0)
        self.add_field("duration", self.tr("Pendant"), self.duration, 2, 1)
        self.add_field("duration_unit", self.tr("Unité de durée"), self.duration_unit, 2, 2)
        self.add_field("dosage", self.tr("Précisions"), self.dosage, 3, 0, 3)
        self.add_field("reason", self.tr("Motif"), self.reason, 4, 0, 3)
        self.add_field("start", self.tr("Début"), self.start, 5, 0)
        self.add_field("end", self.tr("Fin"), self.end, 5, 1)
        self.place(None, self.long_term, 5, 2, 1)
        self._fields["long_term"] = self.long_term
        self._captions["long_term"] = self.tr("au long cours")
        self._connect_change(self.long_term)

    def is_blank(self) -> bool:
        return not (
            self.name.text()
            or self.name.choice
            or self.dose.text().strip()
            or self.dosage.text().strip()
        )

    def load(self, value: Any, unparsed: dict[str, str] | None = None) -> None:
        value = _expect(value, Treatment)
        self._base = value
        choice = None
        if value.cis:
            extra = {"atc": value.atc} if value.atc else {}
            choice = CodeChoice(System.CIS, value.cis, value.name, extra)
        self.name.set_value(value.name, choice)
        p = value.posology
        dose = ""
        if p is not None and p.dose is not None:
            dose = ucum.number_text(p.dose)
            if p.dose_max is not None and p.dose_max != p.dose:
                dose += f" à {ucum.number_text(p.dose_max)}"
        self.dose.setText(dose)
        _select(self.dose_unit, p.dose_unit if p else None)
        key = _frequency_key(p)
        _select(self.frequency, key, posology_words.frequency_text(p) if p else None)
        _select(
            self.route, p.route if p else None, posology_words.route_label(p.route) if p else None
        )
        self.duration.setText(
            ucum.number_text(p.duration) if p is not None and p.duration is not None else ""
        )
        _select(self.duration_unit, (p.duration_unit if p else None) or "d")
        self.dosage.setText(value.dosage or "")
        reason_choice = (
            CodeChoice(
                System.CIM10,
                value.reason_cim10,
                value.reason_cim10_label or value.reason,
            )
            if value.reason_cim10
            else None
        )
        self.reason.set_value(value.reason or "", reason_choice)
        self.start.set_partial(value.start)
        self.end.set_partial(value.end)
        self.long_term.setChecked(value.long_term)
        self._restore(unparsed)

    def read(self) -> EntryValue:
        dates, out = self._dates("start", "end")
        base = self._base if isinstance(self._base, Treatment) else Treatment("")
        choice = self.name.choice
        cis = choice.code if choice and choice.system is System.CIS else None
        atc = base.atc
        cip = base.cip if cis is not None and cis == base.cis else None
        if choice is not None and cis != base.cis:
            extra_atc = choice.extra.get("atc")
            atc = extra_atc if isinstance(extra_atc, str) and extra_atc else None
        elif choice is None:
            atc = base.atc if base.cis is None else None
        posology = self._read_posology(out, base.posology)
        reason_choice = self.reason.choice
        reason_text = _text_or_none(self.reason.text())
        reason_label = reason_choice.label if reason_choice else None
        if reason_label == reason_text:
            reason_label = None
        out.value = replace(
            base,
            name=self.name.text(),
            cis=cis,
            cip=cip,
            atc=atc,
            dosage=_text_or_none(self.dosage.text()),
            start=dates["start"],
            end=dates["end"],
            long_term=self.long_term.isChecked(),
            posology=posology,
            reason=reason_text,
            reason_cim10=reason_choice.code if reason_choice else None,
            reason_cim10_label=reason_label,
        )
        return out

    def _read_posology(self, out: EntryValue, base: Posology | None) -> Posology | None:
        p = Posology()
        raw = self.dose.text().strip()
        if raw:
            match = _DOSE_RANGE_RE.match(raw)
            try:
                if match is None:
                    raise InvalidOperation
                p.dose = _number(match.group(1))
                if match.group(2):
                    p.dose_max = _number(match.group(2))
            except InvalidOperation:
                out.unparsed["dose"] = self.dose.text()
                out.problems.append(("dose", "bad_number"))
        unit = self.dose_unit.currentData()
        p.dose_unit = unit if isinstance(unit, str) else None
        frequency = self.frequency.currentData()
        if isinstance(frequency, tuple):
            p.times, p.period, p.period_unit = frequency
        route = self.route.currentData()
        p.route = route if isinstance(route, str) else None
        raw = self.duration.text().strip()
        if raw:
            try:
                p.duration = _number(raw)
                unit = self.duration_unit.currentData()
                p.duration_unit = unit if isinstance(unit, str) else None
            except InvalidOperation:
                out.unparsed["duration"] = self.duration.text()
                out.problems.append(("duration", "bad_number"))
        return None if p.is_empty() else p


# --- vaccinations --------------------------------------------------------------------------


class VaccinationEntry(EntryWidget):
    noun = "vaccination"

    def __init__(self, search: TerminologyService | None, parent: QWidget | None = None) -> None:
        super().__init__(search, parent)
        self.vaccine = CodedField((System.CIS,), search, self)
        self.vaccine.edit.setPlaceholderText(self.tr("Vaccin (ex. « boostrix », « revaxis »)"))
        self.date = DateEdit(self)
        self.kind = _combo(
            self,
            [
                (valuesets.IMMUNIZATION_KINDS[k.value], k)
                for k in (
                    ImmunizationKind.UNSPECIFIED,
                    ImmunizationKind.PRIMARY,
                    ImmunizationKind.BOOSTER,
                )
            ],
        )
        self.rank = SpinBox(self)
        self.rank.setRange(0, 20)
        self.rank.setSpecialValueText(self.tr("—"))
        self.lot = QLineEdit(self)
        self.route = _combo(
            self,
            [(self.tr("(voie non précisée)"), None)]
            + [(label, code) for code, label in valuesets.IMMUNIZATION_ROUTES.items()],
        )
        self.comment = _comment_edit(self)
        self.add_field("vaccine", self.tr("Vaccin"), self.vaccine, 0, 0, 3)
        self.add_field("date", self.tr("Date"), self.date, 1, 0)
        self.add_field("kind", self.tr("Type"), self.kind, 1, 1)
        self.add_field("rank", self.tr("Rang"), self.rank, 1, 2)
        self.add_field("lot", self.tr("Lot"), self.lot, 2, 0)
        self.add_field("route", self.tr("Voie"), self.route, 2, 1)
        self.add_field("comment", self.tr("Commentaire"), self.comment, 3, 0, 3)
        self.rank.valueChanged.connect(lambda _v: self.changed.emit())

    def load(self, value: Any, unparsed: dict[str, str] | None = None) -> None:
        value = _expect(value, Vaccination)
        self._base = value
        choice = None
        if value.cis:
            extra = {"atc": value.atc} if value.atc else {}
            choice = CodeChoice(System.CIS, value.cis, value.vaccine, extra)
        self.vaccine.set_value(value.vaccine, choice)
        self.date.set_partial(value.date)
        _select(self.kind, value.kind)
        self.rank.setValue(value.rank or 0)
        self.lot.setText(value.lot or "")
        _select(self.route, value.route, posology_words.route_label(value.route))
        self.comment.setPlainText(value.comment or "")
        self._restore(unparsed)

    def read(self) -> EntryValue:
        dates, out = self._dates("date")
        base = self._base if isinstance(self._base, Vaccination) else Vaccination("")
        choice = self.vaccine.choice
        cis = choice.code if choice and choice.system is System.CIS else None
        atc = base.atc if cis == base.cis else None
        if choice is not None and cis != base.cis:
            extra_atc = choice.extra.get("atc")
            atc = extra_atc if isinstance(extra_atc, str) and extra_atc else None
        kind = self.kind.currentData()
        route = self.route.currentData()
        out.value = replace(
            base,
            vaccine=self.vaccine.text(),
            cis=cis,
            atc=atc,
            date=dates["date"],
            kind=kind if isinstance(kind, ImmunizationKind) else ImmunizationKind.UNSPECIFIED,
            rank=self.rank.value() or None,
            lot=_text_or_none(self.lot.text()),
            route=route if isinstance(route, str) else None,
            comment=_text_or_none(self.comment.toPlainText()),
        )
        return out


# --- measures (weight, height...) ------------------------------------------------------------

# Measures offered first, with their usual unit (UCUM).
COMMON_MEASURES: tuple[tuple[str, str], ...] = (
    ("29463-7", "kg"),
    ("8302-2", "cm"),
    ("39156-5", "kg/m2"),
    ("8480-6", "mm[Hg]"),
    ("8462-4", "mm[Hg]"),
    ("8867-4", "/min"),
    ("8280-0", "cm"),
)
MEASURE_UNITS: dict[str, tuple[str, ...]] = {
    "29463-7": ("kg", "g"),
    "8302-2": ("cm", "m"),
    "8306-3": ("cm", "m"),
    "8287-5": ("cm",),
    "8280-0": ("cm",),
    "39156-5": ("kg/m2",),
    "8480-6": ("mm[Hg]",),
    "8462-4": ("mm[Hg]",),
    "8867-4": ("/min",),
    "9279-1": ("/min",),
    "8310-5": ("Cel",),
    "20564-1": ("%",),
}


class VitalSignEntry(EntryWidget):
    noun = "mesure"

    def __init__(self, search: TerminologyService | None, parent: QWidget | None = None) -> None:
        super().__init__(search, parent)
        order = [code for code, _u in COMMON_MEASURES if code in valuesets.VITAL_SIGNS]
        order += [c for c in valuesets.VITAL_SIGNS if c not in order]
        self.code = _combo(self, [(valuesets.VITAL_SIGNS[c], c) for c in order])
        self.value = QLineEdit(self)
        self.value.setMaximumWidth(self.fontMetrics().horizontalAdvance("000000") + 16)
        self.unit = _combo(self, [])
        self.date = DateEdit(self)
        self.add_field("code", self.tr("Mesure"), self.code, 0, 0)
        self.add_field("value", self.tr("Valeur"), self.value, 0, 1)
        self.add_field("unit", self.tr("Unité"), self.unit, 0, 2)
        self.add_field("date", self.tr("Date"), self.date, 1, 0)
        self.code.currentIndexChanged.connect(lambda _i: self._units())
        self._units()

    def _units(self, keep: str | None = None) -> None:
        code = self.code.currentData()
        units = MEASURE_UNITS.get(str(code), ("1",))
        self.unit.blockSignals(True)
        self.unit.clear()
        for unit in units:
            self.unit.addItem(unit, unit)
        if keep and keep not in units:
            self.unit.addItem(keep, keep)
        self.unit.setCurrentIndex(max(self.unit.findData(keep), 0) if keep else 0)
        self.unit.blockSignals(False)

    def is_blank(self) -> bool:
        return not self.value.text().strip()

    def load(self, value: Any, unparsed: dict[str, str] | None = None) -> None:
        value = _expect(value, VitalSign)
        self._base = value
        _select(self.code, value.code)
        self._units(value.unit)
        self.value.setText(ucum.number_text(value.value))
        self.date.set_partial(value.date)
        self._restore(unparsed)

    def read(self) -> EntryValue:
        dates, out = self._dates("date")
        base = (
            self._base
            if isinstance(self._base, VitalSign)
            else VitalSign("29463-7", Decimal(0), "kg")
        )
        number = base.value
        try:
            number = _number(self.value.text())
        except InvalidOperation:
            out.unparsed["value"] = self.value.text()
            out.problems.append(("value", "bad_number"))
        out.value = replace(
            base,
            code=str(self.code.currentData()),
            value=number,
            unit=str(self.unit.currentData() or ""),
            date=dates["date"],
        )
        return out


# --- dependency, results, care plan ------------------------------------------------------------


class FunctionalStatusEntry(EntryWidget):
    noun = "statut"

    def __init__(self, search: TerminologyService | None, parent: QWidget | None = None) -> None:
        super().__init__(search, parent)
        self.label_edit = QLineEdit(self)
        self.label_edit.setPlaceholderText(self.tr("ex. Autonomie (grille AGGIR), marche"))
        self.value = QLineEdit(self)
        self.value.setPlaceholderText(self.tr("ex. GIR 4 ; marche avec une canne"))
        self.date = DateEdit(self)
        self.add_field("label", self.tr("Évaluation"), self.label_edit, 0, 0, 3)
        self.add_field("value", self.tr("Résultat"), self.value, 1, 0, 2)
        self.add_field("date", self.tr("Date"), self.date, 1, 2)

    def load(self, value: Any, unparsed: dict[str, str] | None = None) -> None:
        value = _expect(value, FunctionalStatus)
        self._base = value
        self.label_edit.setText(value.label)
        self.value.setText(value.value or "")
        self.date.set_partial(value.date)
        self._restore(unparsed)

    def read(self) -> EntryValue:
        dates, out = self._dates("date")
        base = self._base if isinstance(self._base, FunctionalStatus) else FunctionalStatus("")
        out.value = replace(
            base,
            label=self.label_edit.text().strip(),
            value=_text_or_none(self.value.text()),
            date=dates["date"],
        )
        return out


RESULT_KINDS: tuple[tuple[str, ResultKind], ...] = (
    (QT_TRANSLATE_NOOP("VsmSections", "Biologie"), ResultKind.LAB),
    (QT_TRANSLATE_NOOP("VsmSections", "Imagerie"), ResultKind.IMAGING),
    (QT_TRANSLATE_NOOP("VsmSections", "Autre examen"), ResultKind.OTHER),
)


class ResultEntry(EntryWidget):
    noun = "résultat"

    def __init__(self, search: TerminologyService | None, parent: QWidget | None = None) -> None:
        super().__init__(search, parent)
        self.label_edit = QLineEdit(self)
        self.label_edit.setPlaceholderText(self.tr("ex. HbA1c, échographie abdominale"))
        self.kind = _combo(self, [(_tr(label), kind) for label, kind in RESULT_KINDS])
        self.value = QLineEdit(self)
        self.value.setPlaceholderText(self.tr("ex. 7,2 ou « normale »"))
        self.unit = QLineEdit(self)
        self.unit.setPlaceholderText(self.tr("ex. g/L"))
        self.unit.setToolTip(self.tr("Unité UCUM, par exemple %, g/L, mmol/L"))
        self.unit.setMaximumWidth(self.fontMetrics().horizontalAdvance("mmol/L000") + 16)
        self.date = DateEdit(self)
        self.add_field("label", self.tr("Examen"), self.label_edit, 0, 0, 2)
        self.add_field("kind", self.tr("Type"), self.kind, 0, 2)
        self.add_field("value_text", self.tr("Résultat"), self.value, 1, 0)
        self.add_field("unit", self.tr("Unité"), self.unit, 1, 1)
        self.add_field("date", self.tr("Date"), self.date, 1, 2)

    def load(self, value: Any, unparsed: dict[str, str] | None = None) -> None:
        value = _expect(value, Result)
        self._base = value
        self.label_edit.setText(value.label)
        _select(self.kind, value.kind)
        if value.quantity is not None:
            self.value.setText(ucum.number_text(value.quantity))
        else:
            self.value.setText(value.value_text or "")
        self.unit.setText(value.unit or "")
        self.date.set_partial(value.date)
        self._restore(unparsed)

    def read(self) -> EntryValue:
        dates, out = self._dates("date")
        base = self._base if isinstance(self._base, Result) else Result("")
        raw = self.value.text().strip()
        quantity: Decimal | None = None
        value_text: str | None = raw or None
        try:
            quantity = _number(raw) if raw else None
            value_text = None if quantity is not None else value_text
        except InvalidOperation:
            quantity = None
        kind = self.kind.currentData()
        out.value = replace(
            base,
            label=self.label_edit.text().strip(),
            kind=kind if isinstance(kind, ResultKind) else ResultKind.LAB,
            quantity=quantity,
            unit=_text_or_none(self.unit.text()) if quantity is not None else None,
            value_text=value_text,
            date=dates["date"],
        )
        return out


CARE_PLAN_KINDS: tuple[tuple[str, CarePlanKind], ...] = (
    (QT_TRANSLATE_NOOP("VsmSections", "Examen ou suivi"), CarePlanKind.FOLLOW_UP),
    (QT_TRANSLATE_NOOP("VsmSections", "Acte"), CarePlanKind.PROCEDURE),
    (QT_TRANSLATE_NOOP("VsmSections", "Consultation"), CarePlanKind.ENCOUNTER),
)


class CarePlanEntry(EntryWidget):
    noun = "élément du plan de soins"

    def __init__(self, search: TerminologyService | None, parent: QWidget | None = None) -> None:
        super().__init__(search, parent)
        self.label_field = CodedField((System.CCAM,), search, self)
        self.label_field.edit.setPlaceholderText(
            self.tr("ex. Fond d'œil annuel, coloscopie (CCAM si c'est un acte)")
        )
        self.kind = _combo(self, [(_tr(label), kind) for label, kind in CARE_PLAN_KINDS])
        self.date = DateEdit(self)
        self.comment = _comment_edit(self)
        self.add_field("label", self.tr("Prévu"), self.label_field, 0, 0, 3)
        self.add_field("kind", self.tr("Type"), self.kind, 1, 0)
        self.add_field("date", self.tr("Quand"), self.date, 1, 1)
        self.add_field("comment", self.tr("Commentaire"), self.comment, 2, 0, 3)

    def load(self, value: Any, unparsed: dict[str, str] | None = None) -> None:
        value = _expect(value, CarePlanItem)
        self._base = value
        choice = (
            CodeChoice(System.CCAM, value.ccam, value.ccam_label or value.label)
            if value.ccam
            else None
        )
        self.label_field.set_value(value.label, choice)
        _select(self.kind, value.kind)
        self.date.set_partial(value.date)
        self.comment.setPlainText(value.comment or "")
        self._restore(unparsed)

    def read(self) -> EntryValue:
        dates, out = self._dates("date")
        base = self._base if isinstance(self._base, CarePlanItem) else CarePlanItem("")
        choice = self.label_field.choice
        kind = self.kind.currentData()
        if choice is not None:
            kind = CarePlanKind.PROCEDURE  # a CCAM code is an act
        out.value = replace(
            base,
            label=self.label_field.text(),
            kind=kind if isinstance(kind, CarePlanKind) else CarePlanKind.FOLLOW_UP,
            ccam=choice.code if choice else None,
            ccam_label=choice.label if choice else None,
            date=dates["date"],
            comment=_text_or_none(self.comment.toPlainText()),
        )
        return out


# --- advance directives ----------------------------------------------------------------------

WISHES: tuple[tuple[str, bool | None], ...] = (
    (QT_TRANSLATE_NOOP("VsmSections", "(non précisé)"), None),
    (QT_TRANSLATE_NOOP("VsmSections", "le patient l'accepte"), True),
    (QT_TRANSLATE_NOOP("VsmSections", "le patient la refuse"), False),
)


class AdvanceDirectiveEntry(EntryWidget):
    """Advance directives: their kind, the patient's wish, and where the document is.

    ``documents`` are the patient's own documents of type EXPPAT_3 the window
    listed (unique id, title): the directive refers to one rather than copy it.
    """

    noun = "directive anticipée"

    def __init__(
        self,
        search: TerminologyService | None,
        parent: QWidget | None = None,
        *,
        documents: list[tuple[str, str]] | None = None,
    ) -> None:
        super().__init__(search, parent)
        self.code = _combo(
            self,
            [(label, code) for code, (_system, label) in valuesets.ADVANCE_DIRECTIVE_TYPES.items()],
        )
        _select(self.code, "42348-3")
        self.wish = _combo(self, [(_tr(label), value) for label, value in WISHES])
        self.text_edit = QLineEdit(self)
        self.text_edit.setPlaceholderText(self.tr("ce que le patient a exprimé, en bref"))
        self.date = DateEdit(self)
        self.document = _combo(
            self,
            [(self.tr("(aucun document du DMP)"), None)]
            + [(title, (uid, title)) for uid, title in documents or []],
        )
        self.document.setToolTip(
            self.tr("Le document de directives anticipées déposé dans le DMP du patient")
        )
        self.comment = _comment_edit(self)
        self.add_field("code", self.tr("Type"), self.code, 0, 0, 2)
        self.add_field("accepted", self.tr("Souhait"), self.wish, 0, 2)
        self.add_field("text", self.tr("Directives"), self.text_edit, 1, 0, 3)
        self.add_field("date", self.tr("Rédigées le"), self.date, 2, 0)
        self.add_field("document_id", self.tr("Document"), self.document, 2, 1, 2)
        self.add_field("comment", self.tr("Commentaire"), self.comment, 3, 0, 3)

    def is_blank(self) -> bool:
        return super().is_blank() and self.document.currentData() is None

    def load(self, value: Any, unparsed: dict[str, str] | None = None) -> None:
        value = _expect(value, AdvanceDirective)
        self._base = value
        _select(self.code, value.code)
        index = self.wish.findData(value.accepted)
        self.wish.setCurrentIndex(max(index, 0))
        self.text_edit.setText(value.text or "")
        self.date.set_partial(value.date)
        if value.document_id:
            title = value.document_title or self.tr("Document du DMP")
            _select(self.document, (value.document_id, title), title)
        self.comment.setPlainText(value.comment or "")
        self._restore(unparsed)

    def read(self) -> EntryValue:
        dates, out = self._dates("date")
        base = self._base if isinstance(self._base, AdvanceDirective) else AdvanceDirective()
        wish = self.wish.currentData()
        document = self.document.currentData()
        document_id = document_title = None
        if isinstance(document, tuple):
            document_id, document_title = document
        out.value = replace(
            base,
            code=str(self.code.currentData()),
            accepted=wish if isinstance(wish, bool) else None,
            text=_text_or_none(self.text_edit.text()),
            date=dates["date"],
            document_id=document_id,
            document_title=document_title,
            comment=_text_or_none(self.comment.toPlainText()),
        )
        return out


# --- a section --------------------------------------------------------------------------------


EntryFactory = Callable[[QWidget], EntryWidget]


class ColumnFit(QObject):
    """Keeps the entries of a scroll area's form within the area's width: each entry lays
    its fields side by side or one a line (:meth:`EntryWidget.fit_width`)."""

    def __init__(self, area: QScrollArea) -> None:
        super().__init__(area)
        self.area = area
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self.fit)
        area.viewport().installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() in (QEvent.Type.Resize, QEvent.Type.Show):
            self.schedule()
        return False

    def schedule(self) -> None:
        """Fit once the layouts have settled (after an entry is added or removed)."""
        self._timer.start()

    def fit(self) -> None:
        form = self.area.widget()
        if form is None:
            return
        width = self.area.viewport().width()
        for entry in form.findChildren(EntryWidget):
            # what the form puts around the entry (its section's frame and margins), both sides
            left = entry.mapTo(form, QPoint(0, 0)).x()
            entry.fit_width(width - max(form.width() - entry.width(), 2 * left))


class SectionBox(QGroupBox):
    """A section of the summary: its entries and the button that adds one."""

    changed = Signal()
    structureChanged = Signal()

    def __init__(
        self,
        key: str,
        title: str,
        entry_title: str,
        add_text: str,
        empty_text: str,
        factory: EntryFactory,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(title, parent)
        self.key = key
        self.entry_title = entry_title
        self._factory = factory
        self.entries: list[EntryWidget] = []
        self.empty_label = QLabel(empty_text, self)
        self.empty_label.setStyleSheet("color: palette(placeholder-text);")
        self.message = QLabel(self)
        self.message.setWordWrap(True)
        self.message.setTextFormat(Qt.TextFormat.PlainText)
        set_tone(self.message, Tone.ERROR, "")
        self.add_button = QPushButton(add_text, self)
        self.add_button.setObjectName(f"add_{key}")
        self.add_button.clicked.connect(lambda: self.add_entry())
        self.entry_layout = QVBoxLayout()
        self.entry_layout.setSpacing(6)
        self.extra_layout = QVBoxLayout()
        layout = QVBoxLayout(self)
        layout.setSpacing(6)
        layout.addWidget(self.empty_label)
        layout.addLayout(self.extra_layout)
        layout.addLayout(self.entry_layout)
        layout.addWidget(self.message)
        row = QHBoxLayout()
        row.addWidget(self.add_button)
        row.addStretch(1)
        layout.addLayout(row)
        self._renumber()

    def add_entry(
        self,
        value: Any = None,
        unparsed: dict[str, str] | None = None,
        *,
        focus: bool = True,
        quiet: bool = False,
    ) -> EntryWidget:
        """Add an entry (empty, or showing ``value``); ``quiet``: no signal (bulk loads)."""
        entry = self._factory(self)
        if value is not None:
            entry.load(value, unparsed)
        entry.changed.connect(self.changed)
        entry.removeRequested.connect(self.remove_entry)
        self.entries.append(entry)
        entry.set_number(len(self.entries), self.entry_title)
        self.entry_layout.addWidget(entry)
        entry.setVisible(True)  # at once (a layout shows new children only later)
        self.empty_label.setVisible(False)
        if quiet:
            return entry
        self.structureChanged.emit()
        if focus:
            entry.first_field().setFocus(Qt.FocusReason.OtherFocusReason)
        if value is None:
            self.changed.emit()
        return entry

    def remove_entry(self, entry: EntryWidget) -> None:
        if entry not in self.entries:
            return
        index = self.entries.index(entry)
        self.entries.remove(entry)
        self.entry_layout.removeWidget(entry)
        entry.hide()
        entry.deleteLater()
        self._renumber()
        self.structureChanged.emit()
        self.changed.emit()
        if self.entries:
            self.entries[min(index, len(self.entries) - 1)].first_field().setFocus()
        else:
            self.add_button.setFocus()

    def clear(self, *, quiet: bool = False) -> None:
        for entry in self.entries:
            self.entry_layout.removeWidget(entry)
            entry.hide()
            entry.deleteLater()
        self.entries = []
        self._renumber()
        if not quiet:
            self.structureChanged.emit()

    def load(self, values: list[Any], unparsed: dict[str, dict[str, str]] | None = None) -> None:
        """Replace the entries; ``unparsed`` maps an index (as text) to field texts."""
        self.clear(quiet=True)
        for i, value in enumerate(values):
            self.add_entry(value, (unparsed or {}).get(str(i)), quiet=True)
        self.structureChanged.emit()

    def read(self) -> list[tuple[EntryWidget, EntryValue]]:
        """The non-blank entries, in order."""
        return [(entry, entry.read()) for entry in self.entries if not entry.is_blank()]

    def set_message(self, text: str) -> None:
        if text != self.message.accessibleDescription():
            set_tone(self.message, Tone.ERROR, text)

    def focus_chain(self) -> list[QWidget]:
        chain: list[QWidget] = []
        for i in range(self.extra_layout.count()):
            item = self.extra_layout.itemAt(i)
            widget = item.widget() if item is not None else None
            if widget is not None:
                chain.append(widget)
        for entry in self.entries:
            chain += entry.focus_chain()
        chain.append(self.add_button)
        return chain

    def _renumber(self) -> None:
        self.empty_label.setVisible(not self.entries)
        for number, entry in enumerate(self.entries, 1):
            entry.set_number(number, self.entry_title)


class AllergySection(SectionBox):
    """Allergies, with "aucune allergie connue" (only when no allergy is entered)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.none_known = QCheckBox(self.tr("Aucune allergie connue"), self)
        self.none_known.setObjectName("noKnownAllergies")
        self.none_known.toggled.connect(lambda _b: self.changed.emit())
        self.extra_layout.addWidget(self.none_known)
        self.structureChanged.connect(self._sync)
        self._sync()

    def _sync(self) -> None:
        has_entries = bool(self.entries)
        if has_entries and self.none_known.isChecked():
            self.none_known.setChecked(False)
        self.none_known.setEnabled(not has_entries)


# --- the patient's people (header of the document) ---------------------------------------------


class ContactBox(QGroupBox):
    """One person of the patient's circle: trusted person, legal representative..."""

    changed = Signal()

    def __init__(self, key: str, title: str, parent: QWidget | None = None) -> None:
        super().__init__(title, parent)
        self.key = key
        self._base: ContactPerson | None = None
        self.family = QLineEdit(self)
        self.given = QLineEdit(self)
        relations = [c for c in COMMON_RELATIONSHIPS if c in valuesets.RELATIONSHIPS]
        relations += ["WIFE", "HUSB", "DOMPART", "FRND", "TUTEUR", "CURATEUR", "MSVG"]
        relations += sorted(
            (c for c in valuesets.RELATIONSHIPS if c not in relations),
            key=lambda c: valuesets.RELATIONSHIPS[c][1],
        )
        self.relationship = _combo(
            self,
            [(self.tr("(lien non précisé)"), None)]
            + [(valuesets.RELATIONSHIPS[c][1], c) for c in dict.fromkeys(relations)],
        )
        self.phone = QLineEdit(self)
        self.phone.setPlaceholderText(self.tr("ex. 06 12 34 56 78"))
        self.message = QLabel(self)
        self.message.setWordWrap(True)
        set_tone(self.message, Tone.ERROR, "")
        grid = QGridLayout(self)
        for row, (caption, widget) in enumerate(
            (
                (self.tr("Nom"), self.family),
                (self.tr("Prénom"), self.given),
                (self.tr("Lien"), self.relationship),
                (self.tr("Téléphone"), self.phone),
            )
        ):
            label = QLabel(caption, self)
            label.setBuddy(widget)
            grid.addWidget(label, row // 2, (row % 2) * 2)
            grid.addWidget(widget, row // 2, (row % 2) * 2 + 1)
            widget.setAccessibleName(f"{title} : {caption}")
        grid.addWidget(self.message, 2, 0, 1, 4)
        for edit in (self.family, self.given, self.phone):
            edit.textEdited.connect(lambda _t: self.changed.emit())
        self.relationship.currentIndexChanged.connect(lambda _i: self.changed.emit())

    def focus_chain(self) -> list[QWidget]:
        return [self.family, self.given, self.relationship, self.phone]

    def load(self, person: ContactPerson | None) -> None:
        self._base = person
        self.family.setText(person.family_name if person else "")
        self.given.setText((person.given_name or "") if person else "")
        _select(self.relationship, person.relationship if person else None)
        self.phone.setText((person.phone or "") if person else "")

    def read(self) -> ContactPerson | None:
        family = self.family.text().strip()
        given = _text_or_none(self.given.text())
        phone = _text_or_none(self.phone.text())
        relationship = self.relationship.currentData()
        if not (family or given or phone):
            return None
        base = self._base or ContactPerson("")
        return replace(
            base,
            family_name=family,
            given_name=given,
            relationship=relationship if isinstance(relationship, str) else None,
            phone=phone,
        )

    def set_message(self, text: str) -> None:
        if text != self.message.accessibleDescription():
            set_tone(self.message, Tone.ERROR, text)
