"""The documents table model and its proxy: Qt's model tester, sorting on every column,
filters (combos, free text, period and statuses), new and patient-authored rows."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtGui import QColor, QFont, QPalette
from PySide6.QtWidgets import QApplication
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from dmp_desktop.domain.document import Code, Confidentiality, DocumentEntry, DocumentStatus
from dmp_desktop.services.consultation import ListScope, Period
from dmp_desktop.ui.documents_model import (
    NEW_MARK,
    PATIENT_ROW_BACKGROUND,
    Column,
    DocumentsModel,
    DocumentsProxy,
    EntryRole,
    IsNewRole,
    SortRole,
    distinct_values,
    fold,
    prepare_list,
    prepare_rows,
    sort_rows,
)
from tests.support import ui_truth
from tests.ui.consultation_fakes import (
    CARDIO_AUTHOR,
    DURAND_AUTHOR,
    PATIENT_AUTHOR,
    RADIO_AUTHOR,
    entry,
)

TODAY = date(2026, 11, 20)


def sample_entries() -> list[DocumentEntry]:
    return [
        entry("u1", "Consultation de cardiologie", days_ago=10, today=TODAY),
        entry(
            "u2",
            "Échographie abdominale",
            days_ago=300,
            type_code=("18748-4", "CR d'imagerie médicale"),
            class_code=("30", "Imagerie médicale"),
            author=RADIO_AUTHOR,
            today=TODAY,
        ),
        entry(
            "u3",
            "Mes directives anticipées",
            days_ago=50,
            type_code=("EXPPAT_3", "Directives anticipées"),
            class_code=("90", "Expression personnelle du patient"),
            author=PATIENT_AUTHOR,
            today=TODAY,
        ),
        entry(
            "u4",
            "Ancienne lettre",
            days_ago=4 * 365,
            author=DURAND_AUTHOR,
            status=DocumentStatus.ARCHIVED,
            today=TODAY,
        ),
        entry(
            "u5",
            "Consultation v1",
            days_ago=12,
            status=DocumentStatus.DEPRECATED,
            flags=(Confidentiality.INVISIBLE_PATIENT,),
            today=TODAY,
        ),
        entry(
            "u6",
            "Psychiatrie",
            days_ago=5,
            flags=(Confidentiality.MASKED_PS, Confidentiality.INVISIBLE_LEGAL_REPS),
            author=CARDIO_AUTHOR,
            today=TODAY,
        ),
    ]


def make(qtbot: QtBot, scope: ListScope | None = None) -> tuple[DocumentsModel, DocumentsProxy]:
    model = DocumentsModel()
    model.set_entries(sample_entries(), {"u1", "u3"})
    proxy = DocumentsProxy()
    proxy.setSourceModel(model)
    proxy.set_scope(scope or ListScope(Period.ALL, archived=True, deprecated=True), TODAY)
    return model, proxy


def titles(proxy: DocumentsProxy) -> list[str]:
    out = []
    for row in range(proxy.rowCount()):
        found = proxy.data(proxy.index(row, 0), EntryRole)
        assert isinstance(found, DocumentEntry)
        out.append(found.unique_id)
    return out


def exercise(model: DocumentsModel, proxy: DocumentsProxy) -> None:
    """Changes made under the tester's eyes: new content, filters, sorting, clearing."""
    model.set_entries(sample_entries()[:3], {"u2"})
    proxy.set_text_filter("consultation")
    proxy.set_choice(Column.TYPE, "CR ou fiche de consultation ou de visite")
    proxy.sort(int(Column.AUTHOR), Qt.SortOrder.AscendingOrder)
    proxy.clear_filters()
    proxy.set_scope(ListScope(), TODAY)
    model.set_entries(sample_entries(), ())
    model.clear()
    assert proxy.rowCount() == 0


def test_model_passes_the_qt_model_tester(qtbot: QtBot, qtmodeltester: ModelTester) -> None:
    model, proxy = make(qtbot)
    qtmodeltester.check(model, force_py=True)
    exercise(model, proxy)


def test_proxy_passes_the_qt_model_tester(qtbot: QtBot, qtmodeltester: ModelTester) -> None:
    model, proxy = make(qtbot)
    qtmodeltester.check(proxy, force_py=True)
    exercise(model, proxy)


def test_columns_show_what_a_doctor_reads(qtbot: QtBot) -> None:
    model, _proxy = make(qtbot)
    row = model.row_of("u2")

    def text(column: Column) -> str:
        return str(model.data(model.index(row, int(column))))

    assert text(Column.DATE) == "24/01/2026"
    assert text(Column.TYPE) == "CR d'imagerie médicale"
    assert text(Column.TITLE) == "Échographie abdominale"
    assert text(Column.AUTHOR) == "Marc PETIT"
    assert text(Column.SPECIALTY) == "Radiodiagnostic et imagerie médicale"
    assert text(Column.CATEGORY) == "Imagerie médicale"
    assert text(Column.STATUS) == "actif"
    headers = [model.headerData(c, Qt.Orientation.Horizontal) for c in range(len(Column))]
    assert headers == [
        NEW_MARK,
        "Date",
        "Titre",
        "Type",
        "Auteur",
        "Spécialité",
        "Catégorie",
        "Statut",
        "Particularités",
    ]
    flags = model.data(model.index(model.row_of("u6"), int(Column.FLAGS)))
    assert flags == "masqué aux professionnels, invisible pour les représentants légaux"
    status = model.data(model.index(model.row_of("u5"), int(Column.STATUS)))
    assert status == "remplacé (obsolète)"
    assert model.data(model.index(model.row_of("u5"), int(Column.FLAGS))) == (
        "invisible pour le patient"
    )


def test_new_rows_are_bold_and_dotted_not_only_coloured(qtbot: QtBot) -> None:
    model, _proxy = make(qtbot)
    new, old = model.row_of("u1"), model.row_of("u2")
    assert model.data(model.index(new, int(Column.NEW))) == NEW_MARK
    assert model.data(model.index(old, int(Column.NEW))) == ""
    font = model.data(model.index(new, int(Column.TITLE)), Qt.ItemDataRole.FontRole)
    assert isinstance(font, QFont) and font.bold()
    assert model.data(model.index(old, int(Column.TITLE)), Qt.ItemDataRole.FontRole) is None
    assert model.data(model.index(new, 0), IsNewRole) is True
    assert model.data(model.index(new, 0), Qt.ItemDataRole.AccessibleTextRole) == "nouveau"
    assert "dernière consultation" in str(
        model.data(model.index(new, 0), Qt.ItemDataRole.ToolTipRole)
    )


def test_patient_authored_documents_are_marked(qtbot: QtBot) -> None:
    model, _proxy = make(qtbot)
    row = model.row_of("u3")
    assert str(model.data(model.index(row, int(Column.TITLE)))).startswith("✎ ")
    assert "ajouté par le patient" in str(model.data(model.index(row, int(Column.FLAGS))))
    brush = model.data(model.index(row, int(Column.DATE)), Qt.ItemDataRole.BackgroundRole)
    assert brush.color() == PATIENT_ROW_BACKGROUND  # type: ignore[union-attr]
    other = model.row_of("u1")
    assert model.data(model.index(other, 1), Qt.ItemDataRole.BackgroundRole) is None


@pytest.mark.parametrize("dark", [False, True], ids=["clair", "sombre"])
def test_patient_rows_follow_the_palette(qtbot: QtBot, dark: bool) -> None:
    """A patient's row keeps the table's lightness (no light pink band in a dark window)
    and its text stays readable on its tint."""
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    before = app.palette()
    if dark:
        app.setPalette(ui_truth.dark_palette())
    try:
        model, _proxy = make(qtbot)
        index = model.index(model.row_of("u3"), int(Column.TITLE))
        background = model.data(index, Qt.ItemDataRole.BackgroundRole).color()  # type: ignore[union-attr]
        text = model.data(index, Qt.ItemDataRole.ForegroundRole).color()  # type: ignore[union-attr]
        base: QColor = app.palette().color(QPalette.ColorRole.Base)
    finally:
        app.setPalette(before)
    assert (background.lightness() < 128) == (base.lightness() < 128), background.name()
    assert ui_truth.contrast(text, background) >= ui_truth.MIN_CONTRAST
    # the tint is still visible against the table's own background
    assert background != base


@pytest.mark.parametrize("column", list(Column))
def test_every_column_sorts_both_ways(qtbot: QtBot, column: Column) -> None:
    _model, proxy = make(qtbot)
    proxy.sort(int(column), Qt.SortOrder.AscendingOrder)
    keys = [proxy.data(proxy.index(r, int(column)), SortRole) for r in range(proxy.rowCount())]
    assert keys == sorted(keys)  # type: ignore[type-var]
    proxy.sort(int(column), Qt.SortOrder.DescendingOrder)
    keys = [proxy.data(proxy.index(r, int(column)), SortRole) for r in range(proxy.rowCount())]
    assert keys == sorted(keys, reverse=True)  # type: ignore[type-var]


def test_default_order_is_newest_first_and_sorting_ignores_accents(qtbot: QtBot) -> None:
    _model, proxy = make(qtbot)
    assert titles(proxy) == ["u6", "u1", "u5", "u3", "u2", "u4"]
    proxy.sort(int(Column.TITLE), Qt.SortOrder.AscendingOrder)
    # "Échographie" sorts with the E, not after Z.
    assert titles(proxy) == ["u4", "u1", "u5", "u2", "u3", "u6"]


def test_combo_filters_and_distinct_values(qtbot: QtBot) -> None:
    model, proxy = make(qtbot)
    assert distinct_values(model, Column.AUTHOR) == [
        "Ajouté par le patient",
        "Hélène BONNET",
        "Marc PETIT",
        "Marie DURAND",
    ]
    assert distinct_values(model, Column.STATUS) == ["actif", "archivé", "remplacé (obsolète)"]
    proxy.set_choice(Column.AUTHOR, "Hélène BONNET")
    assert sorted(titles(proxy)) == ["u1", "u5", "u6"]
    proxy.set_choice(Column.STATUS, "actif")
    assert sorted(titles(proxy)) == ["u1", "u6"]
    proxy.set_choice(Column.AUTHOR, None)
    proxy.set_choice(Column.CATEGORY, "Imagerie médicale")
    assert titles(proxy) == ["u2"]
    with pytest.raises(ValueError):
        proxy.set_choice(Column.TITLE, "x")


def test_free_text_filter_is_case_and_accent_insensitive_on_every_column(qtbot: QtBot) -> None:
    _model, proxy = make(qtbot)
    proxy.set_text_filter("  ECHO ")
    assert titles(proxy) == ["u2"]
    proxy.set_text_filter("petit imagerie")  # all words, any column
    assert titles(proxy) == ["u2"]
    proxy.set_text_filter("ajouté patient")
    assert titles(proxy) == ["u3"]
    proxy.set_text_filter("masque")
    assert titles(proxy) == ["u6"]
    proxy.set_text_filter("")
    assert len(titles(proxy)) == 6
    assert fold("Échographie Œdème") == "echographie œdeme"


def test_scope_filters_period_and_statuses_locally(qtbot: QtBot) -> None:
    _model, proxy = make(qtbot, ListScope())  # 2 years, active only
    assert sorted(titles(proxy)) == ["u1", "u2", "u3", "u6"]
    proxy.set_scope(ListScope(Period.TWO_YEARS, deprecated=True), TODAY)
    assert sorted(titles(proxy)) == ["u1", "u2", "u3", "u5", "u6"]
    proxy.set_scope(ListScope(Period.FIVE_YEARS, archived=True), TODAY)
    assert sorted(titles(proxy)) == ["u1", "u2", "u3", "u4", "u6"]
    proxy.set_scope(ListScope(Period.ALL), TODAY)
    assert sorted(titles(proxy)) == ["u1", "u2", "u3", "u6"]


def test_index_of_and_entry_at(qtbot: QtBot) -> None:
    _model, proxy = make(qtbot)
    index = proxy.index_of("u3")
    assert index.isValid()
    found = proxy.entry_at(index)
    assert found is not None and found.unique_id == "u3"
    assert not proxy.index_of("missing").isValid()
    assert proxy.entry_at(QModelIndex()) is None


def shown_with(proxy: DocumentsProxy) -> list[str]:
    return [
        proxy.source().rows[proxy.mapToSource(proxy.index(r, 0)).row()].uid
        for r in range(proxy.rowCount())
    ]


SETTINGS = [
    # (sort column, descending, text, choices, patient space only, scope)
    (Column.DATE, True, "", {}, False, ListScope(Period.ALL, archived=True, deprecated=True)),
    (Column.DATE, False, "", {}, False, ListScope()),
    (Column.TITLE, False, "consultation", {}, False, ListScope(Period.FIVE_YEARS, archived=True)),
    (
        Column.AUTHOR,
        True,
        "",
        {Column.AUTHOR: "Hélène BONNET"},
        False,
        ListScope(Period.ALL, deprecated=True),
    ),
    (Column.NEW, True, "", {Column.STATUS: "actif"}, False, ListScope(Period.ALL)),
    (Column.FLAGS, False, "", {}, True, ListScope(Period.ALL, archived=True)),
    (
        Column.TYPE,
        True,
        "a",
        {Column.CATEGORY: "Compte rendu", Column.STATUS: "actif"},
        False,
        ListScope(Period.TWO_YEARS, deprecated=True),
    ),
]


@pytest.mark.parametrize("setting", SETTINGS, ids=[f"s{n}" for n in range(len(SETTINGS))])
def test_rows_prepared_off_the_ui_thread_are_those_the_proxy_shows(
    qtbot: QtBot, setting: tuple[Column, bool, str, dict[Column, str], bool, ListScope]
) -> None:
    """The rows :func:`prepare_list` computes for a filter, taken as they are by the proxy
    (:meth:`DocumentsProxy.expect`), are the rows and the order the proxy computes itself."""
    column, descending, text, choices, space, scope = setting
    entries = [
        *sample_entries(),
        *(entry(f"x{n}", f"Lettre {n % 7}", days_ago=n * 40, today=TODAY) for n in range(40)),
    ]
    new = frozenset({"u1", "u3", "x3"})
    computed_model = DocumentsModel()
    computed = DocumentsProxy()
    computed.setSourceModel(computed_model)
    prepared_model = DocumentsModel()
    prepared_proxy = DocumentsProxy()
    prepared_proxy.setSourceModel(prepared_model)
    for proxy in (computed, prepared_proxy):
        proxy.set_scope(scope, TODAY)
        proxy.set_text_filter(text)
        proxy.set_patient_space_only(space)
        proxy.sort(
            int(column), Qt.SortOrder.DescendingOrder if descending else Qt.SortOrder.AscendingOrder
        )
    for chosen, value in choices.items():
        computed.set_choice(chosen, value)
    shown = prepared_proxy.list_filter(choices=dict(choices), scope=scope)
    prepared = prepare_list(entries, shown, new_ids=new)
    computed_model.set_rows(prepared.rows, new)  # the same rows, filtered and sorted here
    assert prepared.shown == shown  # every choice is among the list's values
    resets: list[int] = []
    compute = prepared_proxy._compute

    def computing(first: int = 0) -> list[int]:
        resets.append(first)
        return compute(first)

    prepared_proxy._compute = computing  # type: ignore[method-assign]
    prepared_proxy.expect(prepared, dict(choices), scope)
    prepared_model.set_rows(prepared.rows, new, prepared.index)
    assert resets == []  # taken as prepared
    assert prepared_proxy.rowCount() > 0
    assert shown_with(prepared_proxy) == shown_with(computed)
    assert prepared_proxy.list_filter() == computed.list_filter()
    for uid in ("u1", "u3", "x3", "x30"):
        assert prepared_proxy.index_of(uid).row() == computed.index_of(uid).row()
        assert prepared_model.row_of(uid) == [r.uid for r in prepared_model.rows].index(uid)
    # Afterwards it filters and sorts as any proxy.
    for proxy in (computed, prepared_proxy):
        proxy.set_text_filter("lettre")
        proxy.sort(int(Column.DATE), Qt.SortOrder.AscendingOrder)
    assert shown_with(prepared_proxy) == shown_with(computed)


def test_rows_prepared_for_another_filter_or_list_are_not_taken(qtbot: QtBot) -> None:
    entries = sample_entries()
    scope = ListScope(Period.ALL, archived=True, deprecated=True)
    model = DocumentsModel()
    proxy = DocumentsProxy()
    proxy.setSourceModel(model)
    proxy.set_scope(scope, TODAY)
    prepared = prepare_list(entries, proxy.list_filter())
    # The filter changed between the preparation and the reset: the proxy computes.
    proxy.set_text_filter("echo")
    proxy.expect(prepared, {}, scope)
    model.set_rows(prepared.rows, (), prepared.index)
    assert shown_with(proxy) == ["u2"]
    # Rows other than the prepared ones: computed too.
    proxy.set_text_filter("")
    prepared = prepare_list(entries, proxy.list_filter())
    proxy.expect(prepared, {}, scope)
    model.set_entries(entries[:3])
    assert sorted(shown_with(proxy)) == ["u1", "u2", "u3"]
    # A stale expectation is dropped by the next change of the rows.
    proxy.expect(prepared, {}, scope)
    model.append_rows(prepare_rows(entries[3:]))
    model.set_rows(prepared.rows, (), prepared.index)
    assert len(shown_with(proxy)) == 6


FOLD_SAMPLES = [
    "Échographie Œdème",
    "Compte rendu n° 12",
    "e\u0301le\u0300ve\u0327 (marks already apart)",
    "ﬁche ½ ² Ⅻ ㎏ ｶﾀ",  # compatibility forms
    "ǅURAND İstanbul Straße ΣΊΣΥΦΟΣ",
    "한국어 Ελληνικά Кириллица",
    "a\u0323\u0302 q\u0307\u0323 x\u0301\u0301",  # marks to reorder
    "",
    "plain ASCII",
]


@pytest.mark.parametrize("text", FOLD_SAMPLES)
def test_fold_is_nfkd_without_marks_case_folded(text: str) -> None:
    import unicodedata

    decomposed = unicodedata.normalize("NFKD", text)
    expected = "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
    assert fold(text) == expected
    assert fold(text) == expected  # the second time from the cache of runs


def test_rows_sharing_codes_and_authors_keep_their_own_texts(qtbot: QtBot) -> None:
    """Rows of entries that share code and author objects (as the answer's reader makes
    them) are made from one shared part: what differs from entry to entry still shows."""
    base = entry("s1", "Lettre", days_ago=3, submitted_days_ago=40, today=TODAY)
    same = dataclasses.replace
    entries = [
        base,
        same(base, unique_id="s2", title="", status=DocumentStatus.ARCHIVED),
        same(
            base,
            unique_id="s3",
            title="Masquée",
            confidentiality=(
                *base.confidentiality,
                Code("MASQUE_PS", "x", "1.2.250.1.213.1.1.4.13"),
            ),
        ),
        same(base, unique_id="s4", title="Lettre", service_start=None, creation_time=None),
    ]
    alone = [
        dataclasses.replace(
            e,
            type_code=Code(e.type_code.code, e.type_code.display, e.type_code.scheme),
            class_code=Code(e.class_code.code, e.class_code.display, e.class_code.scheme),
            authors=tuple(dataclasses.replace(a) for a in e.authors),
        )
        for e in entries
    ]
    shared, apart = prepare_rows(entries), prepare_rows(alone)
    for one, other in zip(shared, apart, strict=True):
        assert (one.display, one.keys, one.haystack, one.space, one.tooltip, one.when) == (
            other.display,
            other.keys,
            other.haystack,
            other.space,
            other.tooltip,
            other.when,
        )
    s1, s2, s3, s4 = shared
    assert s1.display[int(Column.STATUS)] == "actif" and s1.display[int(Column.FLAGS)] == ""
    assert s2.display[int(Column.STATUS)] == "archivé"
    assert s2.display[int(Column.TITLE)] == s2.display[int(Column.TYPE)]  # no title: the type
    assert s3.display[int(Column.FLAGS)] == "masqué aux professionnels"
    assert "masque aux professionnels" in s3.haystack and "masque" not in s1.haystack
    assert s4.display[int(Column.DATE)] != s1.display[int(Column.DATE)]  # the submission's
    assert [r.uid for r in sort_rows(shared, int(Column.TITLE), False)] == ["s2", "s1", "s4", "s3"]


def test_dates_sort_as_shown_whatever_their_offset(qtbot: QtBot) -> None:
    """The date column sorts by the date and time as written (as it is shown), an
    offset aside; a date without offset sorts among the others; no date sorts last."""
    paris = timezone(timedelta(hours=2))
    base = entry("d0", "Base", today=TODAY)

    def dated(uid: str, when: datetime | None) -> DocumentEntry:
        return dataclasses.replace(
            base, unique_id=uid, service_start=when, creation_time=when, submission_time=when
        )

    entries = [
        dated("utc", datetime(2026, 1, 1, 23, 30, tzinfo=UTC)),
        dated("paris", datetime(2026, 1, 2, 1, 0, tzinfo=paris)),  # 23:00 UTC the day before
        dated("naive", datetime(2026, 1, 1, 12, 0)),
        dated("none", None),
    ]
    rows = prepare_rows(entries)
    assert [r.display[int(Column.DATE)] for r in rows] == [
        "01/01/2026",
        "02/01/2026",
        "01/01/2026",
        "",
    ]
    newest = [r.uid for r in sort_rows(rows, int(Column.DATE), True)]
    assert newest == ["paris", "utc", "naive", "none"]
    model = DocumentsModel()
    model.set_rows(rows)
    proxy = DocumentsProxy()
    proxy.setSourceModel(model)
    proxy.set_scope(ListScope(Period.ALL), TODAY)
    assert shown_with(proxy) == newest
    proxy.sort(int(Column.DATE), Qt.SortOrder.AscendingOrder)
    assert shown_with(proxy) == newest[::-1]
