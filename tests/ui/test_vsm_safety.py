"""The VSM editor lets no wrong clinical data through (issue #15), checked with pytest-qt:

- a coded field holds a code and its label together: editing the text removes the code;
- the mouse wheel never changes a combo or spin box the doctor is scrolling past;
- no suggestion is preselected: ↓ then Entrée picks the first one shown;
- coded posology, the reason of a treatment and the new sections (vaccinations,
  measures, dependency, results, care plan, advance directives, the patient's
  people) are edited and read back;
- a code that contradicts its text is shown next to the field and blocks the document.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QColor, QPalette, QWheelEvent
from PySide6.QtWidgets import QApplication, QWidget
from pytestqt.qtbot import QtBot

from dmp_desktop.domain.summary import Posology, Problem, summary_to_dict
from dmp_desktop.terminology import Concept, System
from dmp_desktop.ui.vsm_fields import CodedField
from dmp_desktop.ui.vsm_sections import (
    AllergyEntry,
    ProblemEntry,
    TreatmentEntry,
    VaccinationEntry,
)
from tests.support import ui_truth
from tests.support.cda_samples import full_summary
from tests.ui import test_vsm_editor as base
from tests.ui.conftest import WindowFactory
from tests.ui.test_vsm_editor import EditorFactory, _suggest, refreshed, type_text

env = base.env  # the editor tests' fixtures
make_editor = base.make_editor


def wheel(widget: QWidget, steps: int = -1) -> None:
    """One notch of the mouse wheel over ``widget`` (negative: towards the user)."""
    centre = QPointF(widget.rect().center())
    event = QWheelEvent(
        centre,
        QPointF(widget.mapToGlobal(QPoint(int(centre.x()), int(centre.y())))),
        QPoint(0, 0),
        QPoint(0, 120 * steps),
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QApplication.sendEvent(widget, event)


# --- the wheel -------------------------------------------------------------------------------


def test_the_wheel_scrolls_past_combo_and_spin_boxes(
    qtbot: QtBot, make_editor: EditorFactory
) -> None:
    editor = make_editor()
    allergy = editor.sections["allergies"].add_entry(focus=False)
    assert isinstance(allergy, AllergyEntry)
    vaccination = editor.sections["vaccinations"].add_entry(focus=False)
    assert isinstance(vaccination, VaccinationEntry)
    editor.scroll_area.setFocus()
    status, severity, rank = allergy.status, allergy.severity, vaccination.rank
    before = (status.currentIndex(), severity.currentIndex(), rank.value())
    for widget in (status, severity, rank):
        assert not widget.hasFocus()
        wheel(widget)
        wheel(widget, +1)
        assert widget.focusPolicy() == Qt.FocusPolicy.StrongFocus  # the wheel gives no focus
    assert (status.currentIndex(), severity.currentIndex(), rank.value()) == before
    # Once the doctor is in the field (click or Tab), the wheel works as usual.
    status.setFocus()
    qtbot.waitUntil(status.hasFocus)
    wheel(status)
    assert status.currentIndex() != before[0]


# --- a code and its text ---------------------------------------------------------------------


def test_editing_the_text_removes_the_code(qtbot: QtBot, make_editor: EditorFactory) -> None:
    editor = make_editor()
    entry = editor.sections["active_problems"].add_entry()
    assert isinstance(entry, ProblemEntry)
    field = entry.label_field
    assert "E10.9" in _suggest(qtbot, field, "diabète type 1")
    row = field.model.row_of("E10.9")
    field.popup().setCurrentIndex(field.model.index(row, 0))
    qtbot.keyClick(field.popup(), Qt.Key.Key_Return)
    assert field.choice is not None and field.choice.code == "E10.9"
    assert field.badge.isVisible()
    # The doctor retypes the text: the code goes at the first keystroke.
    field.edit.selectAll()
    with qtbot.waitSignal(field.codeDropped, timeout=2000):
        type_text(qtbot, field.edit, "Hypertension")
    assert field.choice is None and not field.badge.isVisible()
    assert "Code retiré" in field.edit.accessibleDescription()
    problem = editor.current_summary().active_problems[0]
    assert (problem.label, problem.cim10) == ("Hypertension", None)


def _chip_colours(field: CodedField) -> tuple[QColor, QColor]:
    sheet = field.badge.styleSheet()
    fg = re.search(r"(?<![-\w])color:\s*(#[0-9a-fA-F]{6})", sheet)
    bg = re.search(r"background:\s*(#[0-9a-fA-F]{6})", sheet)
    assert fg is not None and bg is not None, sheet
    return QColor(fg.group(1)), QColor(bg.group(1))


def test_the_code_chip_follows_the_palette(qtbot: QtBot) -> None:
    """The CIM-10 chip beside the label: light blue in a light window, dark in a dark one
    (it stayed light blue), readable in both, and redone when the palette changes."""
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    before = app.palette()
    try:
        for dark in (True, False, True):
            app.setPalette(ui_truth.dark_palette() if dark else before)
            field = CodedField((System.CIM10,), None)
            qtbot.addWidget(field)
            field.choose(Concept(System.CIM10, "E109", "Diabète sucré de type 1"))
            fg, bg = _chip_colours(field)
            window = field.palette().color(QPalette.ColorRole.Window)
            assert (bg.lightness() < 128) == (window.lightness() < 128), bg.name()
            assert ui_truth.contrast(fg, bg) >= ui_truth.MIN_CONTRAST
            # the same field after the palette changes under it
            app.setPalette(before if dark else ui_truth.dark_palette())
            QApplication.processEvents()
            _fg, bg = _chip_colours(field)
            assert (bg.lightness() < 128) == (not dark), bg.name()
    finally:
        app.setPalette(before)


def test_a_code_contradicting_its_text_is_shown_and_blocks_the_document(
    qtbot: QtBot, make_editor: EditorFactory
) -> None:
    editor = make_editor()
    summary = full_summary()
    summary.active_problems = [
        Problem(
            "Hypertension", cim10="E10.9", cim10_label="Diabète sucré de type 1, sans complication"
        )
    ]
    editor.load_summary(summary, "dmp")
    entry = editor.sections["active_problems"].entries[0]
    assert "ne correspond pas au code E10.9" in entry.message_text
    assert entry.label_field.property("invalid") is True
    assert not editor.document_ready()


# --- suggestions -------------------------------------------------------------------------------


def test_no_suggestion_is_preselected(qtbot: QtBot, make_editor: EditorFactory) -> None:
    editor = make_editor()
    entry = editor.sections["active_problems"].add_entry()
    assert isinstance(entry, ProblemEntry)
    field: CodedField = entry.label_field
    shown = _suggest(qtbot, field, "diab")
    assert len(shown) > 1
    popup = field.popup()
    assert popup.isVisible()
    assert not popup.currentIndex().isValid()
    selection = popup.selectionModel()
    assert selection is not None and not selection.hasSelection()
    assert field.choice is None
    qtbot.keyClick(popup, Qt.Key.Key_Down)
    qtbot.keyClick(popup, Qt.Key.Key_Return)
    assert field.choice is not None and field.choice.code == shown[0]


# --- coded posology and the new sections -------------------------------------------------------


def test_coded_posology_and_reason_are_edited_and_read_back(
    qtbot: QtBot, make_editor: EditorFactory
) -> None:
    editor = make_editor()
    summary = full_summary()
    editor.load_summary(summary, "dmp")
    metformine = editor.sections["treatments"].entries[0]
    assert isinstance(metformine, TreatmentEntry)
    assert metformine.dose.text() == "1"
    assert metformine.dose_unit.currentText() == "comprimé"
    assert metformine.frequency.currentText() == "2 fois par jour"
    assert metformine.route.currentText() == "Voie orale"
    assert metformine.reason.choice is not None and metformine.reason.choice.code == "E11.9"
    read = editor.current_summary()
    assert [t.posology for t in read.treatments] == [t.posology for t in summary.treatments]
    assert [t.reason_cim10 for t in read.treatments] == ["E11.9", "I10", None, None]

    # A new treatment, typed: 1 à 2 comprimés toutes les 6 heures, pendant 5 jours.
    entry = editor.sections["treatments"].add_entry()
    assert isinstance(entry, TreatmentEntry)
    type_text(qtbot, entry.name.edit, "Paracétamol")
    type_text(qtbot, entry.dose, "1 à 2")
    entry.dose_unit.setCurrentIndex(entry.dose_unit.findData("{tablet}"))
    entry.frequency.setCurrentIndex(entry.frequency.findText("toutes les 6 heures"))
    entry.route.setCurrentIndex(entry.route.findData("20053000"))
    type_text(qtbot, entry.duration, "5")
    added = editor.current_summary().treatments[-1]
    assert added.posology == Posology(
        dose=Decimal(1),
        dose_max=Decimal(2),
        dose_unit="{tablet}",
        times=1,
        period=Decimal(6),
        period_unit="h",
        route="20053000",
        duration=Decimal(5),
        duration_unit="d",
    )
    qtbot.waitUntil(
        lambda: (
            "1 à 2 comprimés, toutes les 6 heures, voie orale, pendant 5 jours"
            in editor.preview.toPlainText()
        ),
        timeout=5000,
    )
    type_text(qtbot, entry.dose, " x")
    refreshed(qtbot, editor)
    assert "Nombre non reconnu" in entry.message_text


def test_every_new_section_and_the_patients_people_round_trip(make_editor: EditorFactory) -> None:
    editor = make_editor()
    summary = full_summary()
    summary.legal_representative = replace(summary.trusted_person)  # type: ignore[type-var]
    editor.load_summary(summary, "dmp")
    read = summary_to_dict(editor.current_summary())
    expected = summary_to_dict(summary)
    for key in (
        "treatments",
        "vaccinations",
        "vital_signs",
        "functional_status",
        "results",
        "care_plan",
        "advance_directives",
        "trusted_person",
        "legal_representative",
        "emergency_contact",
    ):
        assert read.get(key) == expected.get(key), key
    assert editor.contacts["trusted_person"].family.text() == "LEFEBVRE"


# --- who may write a summary ---------------------------------------------------------------------


def test_the_editor_is_not_offered_to_a_card_without_a_medical_role(
    qtbot: QtBot, make_window: WindowFactory, tmp_path: Path
) -> None:
    from tests.ui.fakes import DURAND, FakeCard, FakeCardManager, ui_settings
    from tests.ui.test_document_actions import SECRETARY, log_in
    from tests.ui.test_upload_support import AlimentationDmp

    settings = dataclasses.replace(ui_settings(), data_dir=str(tmp_path / "data"))
    for holder, pin, medical in ((SECRETARY, "1111", False), (DURAND, "1234", True)):
        cards = FakeCardManager([FakeCard("CARTE", holder, pin)])
        try:
            window = make_window(settings, cards, AlimentationDmp(settings))
            log_in(qtbot, window, pin)
            assert window.vsm.act_open.isEnabled() is medical
            assert window.vsm.act_open.isVisible() is medical
            window.vsm.act_open.trigger()  # the shortcut too
            assert (window.vsm.editor is not None) is False  # no patient shown yet anyway
            if not medical:
                assert window.vsm.open_editor() is None
                assert "médecin" in window.statusBar().currentMessage()
            window.close()  # its services stop before its card reader goes
        finally:
            cards.close()


def test_the_ans_vsm_prefills_the_editor_with_its_posology(make_editor: EditorFactory) -> None:
    """Another software's VSM (the ANS example) opened in the editor: every treatment keeps
    its coded posology, read back unchanged from the form."""
    from dmp_desktop.cda.vsm import read_vsm
    from tests.conftest import CDA_KIT, require_shared

    ans = require_shared(CDA_KIT / "ans" / "ExemplesCDA" / "VSM_1.4_2022.01.xml")
    summary = read_vsm(ans.read_bytes()).summary
    assert summary.treatments and all(t.posology is not None for t in summary.treatments)
    editor = make_editor()
    editor.load_summary(summary, "dmp")
    read = editor.current_summary()
    assert [t.posology for t in read.treatments] == [t.posology for t in summary.treatments]
    assert [t.name for t in read.treatments] == [t.name for t in summary.treatments]
