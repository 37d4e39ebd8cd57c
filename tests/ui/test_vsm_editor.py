"""The VSM editor pane: messages next to the fields, the live preview, the starting point
(draft, latest VSM of the DMP through an injected callable, or nothing), suggestions."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QApplication, QWidget
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from dmp_desktop.cda.render import render_html
from dmp_desktop.cda.vsm import build_vsm, parse_vsm
from dmp_desktop.domain.patient import Ins
from dmp_desktop.domain.practitioner import Practitioner
from dmp_desktop.domain.summary import (
    CareProvider,
    CareStructure,
    Gender,
    LifestyleItem,
    LifestyleKind,
    MedicalSummary,
    Problem,
)
from dmp_desktop.errors import DmpServiceError
from dmp_desktop.services.drafts import DraftStore, PatientHeader
from dmp_desktop.services.operations import OperationRunner
from dmp_desktop.services.vsm_source import (
    VsmFetcher,
    blocking_fetcher,
)
from dmp_desktop.services.vsm_terminology import TerminologyService
from dmp_desktop.storage.secure import SecureStore
from dmp_desktop.terminology import System
from dmp_desktop.ui.vsm_editor import VsmEditor
from dmp_desktop.ui.vsm_fields import CodedField, ConceptListModel
from dmp_desktop.ui.vsm_sections import EntryWidget, LifestyleEntry, ProblemEntry
from tests.support.cda_samples import full_summary, minimal_summary

DURAND = CareProvider(
    Practitioner(
        national_id="899700433153",
        family_name="DURAND",
        given_name="Marie",
        profession="Médecin",
        profession_code="10",
    ),
    CareStructure("499700433153007", "Cabinet médical des Tilleuls"),
)

EditorFactory = Callable[..., VsmEditor]


class Env:
    def __init__(self, tmp_path: Path) -> None:
        self.runner = OperationRunner()
        self.terminology = TerminologyService(tmp_path / "terminology.sqlite", self.runner)
        self.drafts = DraftStore(SecureStore(tmp_path / "drafts", os.urandom(32)))
        self.editors: list[VsmEditor] = []


@pytest.fixture
def env(qtbot: QtBot, tmp_path: Path) -> Iterator[Env]:
    env = Env(tmp_path)
    yield env
    for editor in env.editors:
        editor.shutdown()
    env.terminology.close()
    env.runner.shutdown(wait=True)


@pytest.fixture
def make_editor(qtbot: QtBot, env: Env) -> EditorFactory:
    def make(
        header: PatientHeader | None = None,
        *,
        author: CareProvider = DURAND,
        fetcher: VsmFetcher | None = None,
        start: bool = True,
    ) -> VsmEditor:
        editor = VsmEditor(
            header=header or PatientHeader.from_identity(full_summary().patient),
            author=author,
            runner=env.runner,
            terminology=env.terminology,
            drafts=env.drafts,
            fetcher=fetcher,
            autosave_ms=20,
            refresh_ms=10,
        )
        env.editors.append(editor)
        qtbot.addWidget(editor)
        editor.resize(1300, 900)
        editor.show()
        if start:
            editor.start()
            qtbot.waitUntil(
                lambda: not editor.starting, timeout=5000
            )  # the draft, off the UI thread
        return editor

    return make


def type_text(qtbot: QtBot, widget: QWidget, text: str) -> None:
    """Type like a keyboard; accented letters come as key events carrying their text
    (QTest only knows ASCII keys)."""
    for char in text:
        if char.isascii():
            qtbot.keyClicks(widget, char)
            continue
        for kind in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease):
            QApplication.sendEvent(
                widget, QKeyEvent(kind, Qt.Key.Key_unknown, Qt.KeyboardModifier.NoModifier, char)
            )


def refreshed(qtbot: QtBot, editor: VsmEditor) -> None:
    with qtbot.waitSignal(editor.refreshed, timeout=5000):
        pass


# --- validation ------------------------------------------------------------------------------


def test_messages_appear_next_to_the_fields(qtbot: QtBot, make_editor: EditorFactory) -> None:
    patient = full_summary().patient
    header = PatientHeader(
        ins=patient.ins,
        birth_family_name="LEFEBVRE",
        birth_date=date(1982, 11, 2),
        gender=Gender.MALE,
    )
    nowhere = replace(DURAND, structure=CareStructure("", ""))
    editor = make_editor(header, author=nowhere)
    box = editor.header_box
    assert "lieu de naissance" in box.messages["birthplace_code"].accessibleDescription()
    assert "obligatoire" in box.messages["birth_given_names"].accessibleDescription()
    assert box.birthplace.property("invalid") is True
    assert "structure" in editor.global_label.text() and "paramètres" in editor.global_label.text()

    problems = editor.sections["active_problems"]
    entry = problems.add_entry()
    assert isinstance(entry, ProblemEntry)
    qtbot.keyClicks(entry.label_field.edit, "Asthme")
    qtbot.keyClicks(entry.onset, "13/2016")
    refreshed(qtbot, editor)
    assert "Date non reconnue" in entry.message_text
    assert entry.onset.property("invalid") is True
    assert entry.label_field.property("invalid") is not True

    lifestyle = editor.sections["lifestyle"].add_entry()
    assert isinstance(lifestyle, LifestyleEntry)
    qtbot.keyClicks(lifestyle.text_edit, "Tabac")
    qtbot.keyClicks(lifestyle.quantity, "30")
    refreshed(qtbot, editor)
    assert "unité" in lifestyle.message_text and "obligatoire" in lifestyle.message_text
    assert lifestyle.unit.property("invalid") is True

    # What another software wrote: a code that is not CIM-10 is shown, not dropped.
    bad = minimal_summary()
    bad.active_problems = [Problem("Diabète", cim10="DIAB")]
    editor.load_summary(bad, "dmp")
    coded = editor.sections["active_problems"].entries[0]
    assert "code CIM-10" in coded.message_text and "format attendu" in coded.message_text
    assert coded.field("label") is not None and coded.field("label").property("invalid")

    # Once everything is right, no message is left and the document can be built.
    entry = editor.sections["active_problems"].entries[0]
    assert isinstance(entry, ProblemEntry)
    entry.label_field.clear_code()
    qtbot.keyClicks(box.given, "JULIEN")
    qtbot.keyClicks(box.birthplace, "69383")
    editor.author = DURAND
    assert editor.document_ready(), editor.problems
    assert not editor.global_label.isVisible()
    assert not any(label.isVisible() for label in box.messages.values())
    build_vsm(replace(editor.current_summary(), patient=editor.current_header().identity()))


def test_the_preview_is_the_viewer_rendering(qtbot: QtBot, make_editor: EditorFactory) -> None:
    editor = make_editor()
    with qtbot.waitSignal(editor.previewUpdated, timeout=5000):
        editor.load_summary(full_summary(), "dmp")
    summary = editor.current_summary()
    assert editor.preview_source == render_html(build_vsm(summary))
    text = editor.preview.toPlainText()
    for expected in ("Diabète de type 2", "Pénicillines", "METFORMINE", "Points de vigilance"):
        assert expected in text

    problems = editor.sections["active_problems"]
    entry = problems.add_entry()
    assert isinstance(entry, ProblemEntry)
    type_text(qtbot, entry.label_field.edit, "Goutte récidivante")
    with qtbot.waitSignal(editor.previewUpdated, timeout=5000):
        pass
    assert "Goutte récidivante" in editor.preview.toPlainText()
    assert editor.preview_source == render_html(build_vsm(editor.current_summary()))


def test_preview_of_an_incomplete_identity_shows_no_made_up_birth_date(
    qtbot: QtBot, make_editor: EditorFactory
) -> None:
    patient = full_summary().patient
    editor = make_editor(PatientHeader(ins=patient.ins, birth_family_name="LEFEBVRE"), start=False)
    with qtbot.waitSignal(editor.previewUpdated, timeout=5000):
        editor.start()
    assert "LEFEBVRE" in editor.preview.toPlainText()
    assert "né(e) le" not in editor.preview_source
    assert "1900" not in editor.preview_source
    messages = editor.header_box.messages
    assert "date de naissance" in messages["birth_date"].accessibleDescription()
    assert "sexe" in messages["gender"].accessibleDescription().lower()


# --- the starting point ----------------------------------------------------------------------


class FakeLatest:
    """The DMP's latest VSM as a callable, recording the thread it runs on."""

    def __init__(self, result: MedicalSummary | None = None, error: Exception | None = None):
        self.result = result
        self.error = error
        self.calls: list[tuple[Ins, threading.Thread]] = []

    def __call__(self, ins: Ins) -> MedicalSummary | None:
        self.calls.append((ins, threading.current_thread()))
        if self.error is not None:
            raise self.error
        return self.result


def _previous_vsm() -> MedicalSummary:
    """What the DMP holds: a VSM by Dr Martin (another software's would read the same)."""
    return parse_vsm(build_vsm(full_summary()))


def test_prefilled_from_the_latest_vsm_of_the_dmp(
    qtbot: QtBot, make_editor: EditorFactory, env: Env
) -> None:
    latest = FakeLatest(_previous_vsm())
    patient = full_summary().patient
    # What TD0.2 says: birth name, first given name, birth date, sex; no birthplace.
    header = PatientHeader(
        ins=patient.ins,
        birth_family_name="LEFEBVRE",
        birth_given_names=["JULIEN"],
        birth_date=patient.birth_date,
        gender=Gender.MALE,
    )
    editor = make_editor(header, fetcher=blocking_fetcher(latest, env.runner), start=False)
    with qtbot.waitSignal(editor.started, timeout=5000) as started:
        editor.start()
    assert started.args == ["dmp"]
    assert latest.calls[0][0] == patient.ins
    assert latest.calls[0][1] is not threading.main_thread()
    assert "Prérempli avec le dernier VSM du DMP" in editor.origin_label.text()
    assert editor.form.isEnabled()
    current = editor.current_header()
    assert current.birthplace_code == "69383"
    assert current.birth_given_names == ["JULIEN", "ANDRÉ", "MARIE"]
    summary = editor.current_summary()
    previous = _previous_vsm()
    assert summary.version == previous.version + 1
    assert summary.set_id == previous.set_id and summary.document_id is None
    assert summary.author == DURAND
    assert summary.treating_physician is None  # Dr Durand was the médecin traitant
    for key in ("active_problems", "allergies", "treatments", "vigilance_points"):
        assert getattr(summary, key) == getattr(previous, key), key
    assert editor.document_ready(), editor.problems


def test_the_draft_comes_before_the_dmp(qtbot: QtBot, make_editor: EditorFactory, env: Env) -> None:
    first = make_editor()
    entry = first.sections["vigilance_points"].add_entry()
    type_text(qtbot, entry.first_field(), "Chutes fréquentes")
    assert first.autosaver is not None
    with qtbot.waitSignal(first.autosaver.saved, timeout=5000):
        pass
    first.shutdown()

    latest = FakeLatest(_previous_vsm())
    second = make_editor(fetcher=blocking_fetcher(latest, env.runner))
    assert second.origin == "draft" and not latest.calls
    assert "Brouillon du" in second.origin_label.text()
    assert second.current_summary().vigilance_points == ["Chutes fréquentes"]

    second.discard_draft()  # start again from the DMP
    qtbot.waitUntil(lambda: second.origin == "dmp")
    assert env.drafts.count() == 0


def test_when_the_dmp_cannot_be_read_the_doctor_starts_anyway(
    qtbot: QtBot, make_editor: EditorFactory, env: Env
) -> None:
    latest = FakeLatest(error=DmpServiceError("DMPAccessDenied"))
    editor = make_editor(fetcher=blocking_fetcher(latest, env.runner), start=False)
    with qtbot.waitSignal(editor.started, timeout=5000):
        editor.start()
    assert "n'a pas pu être récupéré" in editor.origin_label.text()
    assert "refusé l'accès" in editor.origin_label.text()
    assert editor.form.isEnabled()

    empty = FakeLatest(None)
    other = make_editor(
        PatientHeader.from_identity(minimal_summary().patient),
        fetcher=blocking_fetcher(empty, env.runner),
        start=False,
    )
    with qtbot.waitSignal(other.started, timeout=5000):
        other.start()
    assert "Aucun VSM dans le DMP" in other.origin_label.text()


# --- suggestions -------------------------------------------------------------------------------


def _suggest(qtbot: QtBot, field: CodedField, text: str) -> list[str]:
    field.edit.setFocus()
    field.edit.setText("")
    with qtbot.waitSignal(field.suggestionsShown, timeout=5000):
        type_text(qtbot, field.edit, text)
    return [c.display_code for c in field.model.concepts()]


def test_suggestions_find_words_accents_abbreviations_and_codes(
    qtbot: QtBot, make_editor: EditorFactory
) -> None:
    editor = make_editor()
    entry = editor.sections["active_problems"].add_entry()
    assert isinstance(entry, ProblemEntry)
    field = entry.label_field
    assert "E11.9" in _suggest(qtbot, field, "diab")
    assert "E11.9" in _suggest(qtbot, field, "diabète sucré type 2")
    assert _suggest(qtbot, field, "HTA")[0] == "I10"
    assert _suggest(qtbot, field, "e11.9")[0] == "E11.9"
    assert field.popup().isVisible()
    qtbot.keyClick(field.popup(), Qt.Key.Key_Down)
    qtbot.keyClick(field.popup(), Qt.Key.Key_Return)
    assert field.choice is not None and field.choice.code == "E11.9"
    assert field.badge.text() == "CIM-10 E11.9"
    assert field.text() == "Diabète sucré de type 2, sans complication"

    problem = editor.current_summary().active_problems[0]
    assert problem.cim10 == "E11.9"
    assert problem.label == "Diabète sucré de type 2, sans complication"  # the code's label
    field.clear_code()
    assert editor.current_summary().active_problems[0].cim10 is None

    drugs = editor.sections["treatments"].add_entry()
    name = drugs.field("name")
    assert isinstance(name, CodedField) and name.systems == (System.CIS,)
    assert "67346461" in _suggest(qtbot, name, "metf")


def test_suggestion_model_passes_the_qt_model_tester(
    qtbot: QtBot, qtmodeltester: ModelTester, env: Env
) -> None:
    model = ConceptListModel()
    found: list[object] = []
    env.terminology.search((System.CIM10,), "diab", found.extend)
    qtbot.waitUntil(lambda: bool(found))
    model.set_concepts(found)  # type: ignore[arg-type]
    qtmodeltester.check(model, force_py=True)
    assert model.rowCount() > 0
    assert model.row_of("E11.9") >= 0
    index = model.index(model.row_of("E11.9"), 0)
    assert model.data(index).startswith("E11.9  Diabète sucré de type 2")


def test_lifestyle_entry_round_trip(make_editor: EditorFactory) -> None:
    editor = make_editor()
    summary = minimal_summary()
    summary.lifestyle = [
        LifestyleItem(LifestyleKind.TOBACCO, "Ancien fumeur", quantity=None),
        LifestyleItem(LifestyleKind.ALCOHOL, "2 verres par jour", unit="{verre}/d"),
    ]
    from decimal import Decimal

    summary.lifestyle[1].quantity = Decimal("2.5")
    editor.load_summary(summary, "dmp")
    assert editor.current_summary().lifestyle == summary.lifestyle
    entry = editor.sections["lifestyle"].entries[1]
    assert isinstance(entry, LifestyleEntry) and entry.quantity.text() == "2,5"


def test_a_draft_that_cannot_be_saved_keeps_the_editor_open(
    qtbot: QtBot, make_editor: EditorFactory, env: Env
) -> None:
    editor = make_editor()
    entry = editor.sections["vigilance_points"].add_entry()
    type_text(qtbot, entry.first_field(), "Chutes")

    def full_disk(name: str, payload: bytes) -> None:
        raise OSError(28, "No space left on device")

    env.drafts.write = full_disk  # type: ignore[method-assign]
    closed: list[bool] = []
    editor.closeRequested.connect(lambda: closed.append(True))
    editor.request_close()
    assert not closed
    assert "n'a pas pu être enregistré" in editor.draft_label.text()
    assert editor.current_summary().vigilance_points == ["Chutes"]


@pytest.mark.parametrize("size", [(1280, 800), (1920, 1080), (1000, 700)])
def test_the_form_fits_its_column(
    qtbot: QtBot, make_editor: EditorFactory, env: Env, size: tuple[int, int]
) -> None:
    """No horizontal scrolling in the form: a narrow column puts one field a line (a wide
    entry used to push « Supprimer » out of sight, right of the CIM-10 chips)."""
    latest = FakeLatest(_previous_vsm())
    editor = make_editor(fetcher=blocking_fetcher(latest, env.runner), start=False)
    with qtbot.waitSignal(editor.started, timeout=5000):
        editor.start()
    editor.resize(*size)
    area = editor.scroll_area

    def right_edge() -> int:
        return int(area.viewport().mapToGlobal(area.viewport().rect().topRight()).x())

    def cut_off() -> list[str]:
        right = right_edge()
        return [
            type(entry).__name__
            for entry in editor.form.findChildren(EntryWidget)
            if entry.remove_button.mapToGlobal(entry.remove_button.rect().topRight()).x() > right
        ]

    # The refit follows the resize through the event loop (a loaded machine takes longer).
    try:
        qtbot.waitUntil(
            lambda: not area.horizontalScrollBar().isVisible() and not cut_off(), timeout=3000
        )
    except AssertionError:
        pass  # the assertions below say what is wrong
    assert not area.horizontalScrollBar().isVisible(), (
        area.viewport().width(),
        editor.form.minimumSizeHint().width(),
    )
    assert cut_off() == []
    # given the width back, the fields sit side by side again
    editor.resize(2400, 1080)
    qtbot.waitUntil(
        lambda: not any(entry.narrow for entry in editor.form.findChildren(EntryWidget)),
        timeout=3000,
    )
