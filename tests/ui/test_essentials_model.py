"""The « L'essentiel » item model and proxy: Qt's model tester, the rubrics and their lines,
marks for conflicts and news said in words, checks kept across updates, the filter."""

from __future__ import annotations

import datetime as dt
import functools

from PySide6.QtCore import QModelIndex, Qt
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from dmp_desktop.domain.summary import PartialDate
from dmp_desktop.essentials.aggregate import build, fingerprints
from dmp_desktop.essentials.model import Category, Essentials, Source
from dmp_desktop.essentials.reading import read_document
from dmp_desktop.ui.essentials_model import (
    Column,
    EssentialsModel,
    EssentialsProxy,
    LineRole,
    SourceIdRole,
)
from tests.unit.test_structured_documents import NOW, lea_documents


@functools.cache
def lea_facts() -> tuple:  # type: ignore[type-arg]
    out = []
    for d in lea_documents():
        day = (NOW - dt.timedelta(days=d.days_ago)).date()
        out.append(
            read_document(
                d.content, Source(d.key, d.title, author="Dr X", date=PartialDate.of(day))
            )
        )
    return tuple(out)


def lea(previous: frozenset[str] | None = None, drop: str = "") -> Essentials:
    return build(
        [f for f in lea_facts() if f.source.unique_id != drop], previous=previous, today=NOW.date()
    )


def rubric_rows(model: EssentialsModel) -> list[str]:
    return [model.data(model.index(r, 0)) for r in range(model.rowCount())]


def test_model_passes_the_model_tester(qtbot: QtBot, qtmodeltester: ModelTester) -> None:
    model = EssentialsModel()
    qtmodeltester.check(model, force_py=True)  # the tester then follows every change
    model.set_essentials(lea())
    model.set_checked(model.lines()[0], True)
    model.clear()
    assert model.rowCount() == 0


def test_proxy_passes_the_model_tester(qtbot: QtBot, qtmodeltester: ModelTester) -> None:
    model = EssentialsModel()
    model.set_essentials(lea())
    proxy = EssentialsProxy()
    proxy.setSourceModel(model)
    qtmodeltester.check(proxy, force_py=True)  # and follows the filter's changes
    proxy.set_filter_text("sous-cutanée")
    proxy.set_filter_text("")
    model.set_essentials(lea(drop="ips-fr"))


def test_rubrics_then_lines_with_their_source() -> None:
    model = EssentialsModel()
    model.set_essentials(lea())
    rubrics = rubric_rows(model)
    assert rubrics[0] == "Pathologies en cours (3)"
    assert rubrics[1] == "Allergies et intolérances (3) — ⚠ 2 à vérifier"
    assert rubrics[2].startswith("Traitements en cours (") and "⚠ 2 à vérifier" in rubrics[2]
    results = model.index(3, 0)
    assert model.data(results) == "Résultats usuels (8)"
    hba1c = model.index(0, 0, results)
    assert model.data(hba1c) == "HbA1c (4548-4)"
    assert model.data(hba1c.siblingAtColumn(Column.DETAIL)) == "6,9 % ↘ en baisse"
    assert model.data(hba1c.siblingAtColumn(Column.SOURCE)).startswith(
        "Compte rendu de biologie médicale — Dr X, "
    )
    assert model.data(hba1c.siblingAtColumn(Column.SOURCE)).endswith("(+6)")
    assert model.data(hba1c, SourceIdRole) == "cr-bio-7"
    tooltip = model.data(hba1c, Qt.ItemDataRole.ToolTipRole)
    assert "Valeurs sur la période : 8,6 → 8,4 → 8,1 → 7,9 → 7,4 → 7,1 → 6,9 %" in tooltip
    assert "Entrée : ouvrir le document source." in tooltip
    assert model.parent(hba1c) == results
    assert not model.parent(results).isValid()


def test_conflicts_and_news_are_said_in_words() -> None:
    model = EssentialsModel()
    model.set_essentials(lea())
    allergies = model.index(1, 0)
    first = model.index(0, 0, allergies)
    assert model.data(first).startswith("⚠ Amoxicilline")
    assert "Sources discordantes" in model.data(first, Qt.ItemDataRole.AccessibleTextRole)
    assert model.data(first, Qt.ItemDataRole.ForegroundRole) is not None
    # a visit without the vaccination note, then one with it: its lines are « nouveau »
    seen = fingerprints(lea(drop="vac-note"))
    model.set_essentials(lea(previous=seen))
    texts = [
        model.data(model.index(r, 0, parent))
        for g in range(model.rowCount())
        for parent in [model.index(g, 0)]
        for r in range(model.rowCount(parent))
    ]
    new = [t for t in texts if t.endswith("● nouveau")]
    assert any(t.startswith("PREVENAR 20") for t in new)
    assert any(t.startswith("INFLUVAC TETRA") for t in new)
    assert not any(t.startswith("HbA1c") for t in new)


def test_checks_survive_an_update_and_drop_lines_that_left() -> None:
    model = EssentialsModel()
    model.set_essentials(lea())
    problems = model.index(0, 0)
    diabetes = next(
        model.index(r, 0, problems)
        for r in range(model.rowCount(problems))
        if model.data(model.index(r, 0, problems)).startswith("Diabète")
    )
    assert model.flags(diabetes) & Qt.ItemFlag.ItemIsUserCheckable
    assert not model.flags(problems) & Qt.ItemFlag.ItemIsUserCheckable
    assert model.setData(diabetes, Qt.CheckState.Checked, Qt.ItemDataRole.CheckStateRole)
    line = model.data(diabetes, LineRole)
    assert model.checked_lines() == [line]
    model.set_essentials(lea())  # the same lines again (a document arrived)
    assert [x.fingerprint for x in model.checked_lines()] == [line.fingerprint]
    model.set_essentials(build([], today=NOW.date()))
    assert model.checked_lines() == []


def test_filter_keeps_rubrics_of_matching_lines() -> None:
    model = EssentialsModel()
    model.set_essentials(lea())
    proxy = EssentialsProxy()
    proxy.setSourceModel(model)
    proxy.set_filter_text("SOUS CUTANEE")  # case and accents ignored: « sous-cutanée »
    rubrics = [proxy.index(r, 0) for r in range(proxy.rowCount())]
    assert [proxy.data(r).split(" (")[0] for r in rubrics] == ["Traitements en cours"]
    lines = [proxy.data(proxy.index(r, 0, rubrics[0])) for r in range(proxy.rowCount(rubrics[0]))]
    assert {text.split(" ")[0] for text in lines} == {"LANTUS", "NOVORAPID", "LEVEMIR"}
    proxy.set_filter_text("creatin")
    assert [proxy.data(proxy.index(r, 0)) for r in range(proxy.rowCount())] == [
        "Résultats usuels (8)"
    ]
    proxy.set_filter_text("")
    assert proxy.rowCount() == model.rowCount()
    assert model.index(99, 0) == QModelIndex()
    assert model.category_index(Category.VACCINATIONS).isValid()
