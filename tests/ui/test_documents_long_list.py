"""A record of thousands of documents: prepared off the UI thread, shown in batches.

No clock here (speed is measured by ``tests/bench/bench_list.py``): these
tests check the shape of the work instead. The list is not shown in one go,
the newest documents come first, the UI thread asks the model for a bounded
number of values (the visible cells, not one per row and per comparison), and
sorting, filtering and the current document behave as with a short list.
"""

from __future__ import annotations

import dataclasses
import gc
import threading
from datetime import date

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from dmp_desktop.domain.document import DocumentEntry, DocumentStatus
from dmp_desktop.services.consultation import DocumentList, ListScope, Period
from dmp_desktop.ui import documents_pane
from dmp_desktop.ui.documents_model import (
    Column,
    DocumentsModel,
    DocumentsProxy,
    EntryRole,
    prepare_rows,
)
from dmp_desktop.ui.documents_pane import DocumentListPage
from tests.ui.consultation_fakes import AUTHORISED, CARDIO_AUTHOR, DURAND_AUTHOR, entry

TODAY = date(2026, 11, 20)
COUNT = 2_000
SYNC = documents_pane.SYNC_ROWS  # longer lists are prepared off the UI thread


def many(count: int = COUNT) -> list[DocumentEntry]:
    """``count`` documents, the newest last (the page must show them newest first)."""
    return [
        entry(
            f"u{n}",
            f"Compte rendu n° {n}" if n % 3 else f"Échographie de contrôle {n}",
            days_ago=count - n,
            author=DURAND_AUTHOR if n % 2 else CARDIO_AUTHOR,
            status=DocumentStatus.ARCHIVED if n % 10 == 0 else DocumentStatus.APPROVED,
            today=TODAY,
        )
        for n in range(count)
    ]


def listing(entries: list[DocumentEntry], new: frozenset[str] = frozenset()) -> DocumentList:
    return DocumentList(
        AUTHORISED,
        tuple(entries),
        new,
        ListScope(Period.ALL, archived=True),
        first_consultation=False,
        last_consultation=None,
    )


def shown_ids(page: DocumentListPage, rows: int) -> list[str]:
    proxy = page.proxy
    out = []
    for row in range(rows):
        found = proxy.data(proxy.index(row, 0), EntryRole)
        assert isinstance(found, DocumentEntry)
        out.append(found.unique_id)
    return out


@pytest.fixture
def page(qtbot: QtBot) -> DocumentListPage:
    widget = DocumentListPage()
    qtbot.addWidget(widget)
    widget.resize(1100, 600)
    widget.show_scope(ListScope(Period.ALL, archived=True))
    widget.show()
    return widget


def fill(qtbot: QtBot, page: DocumentListPage, docs: DocumentList) -> None:
    with qtbot.waitSignal(page.filled, timeout=20_000):
        page.show_list(docs)


def test_a_long_list_is_prepared_off_the_ui_thread_and_shown_in_one_go_newest_first(
    qtbot: QtBot, page: DocumentListPage, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows_read: set[int] = set()
    value = DocumentsModel.value

    def counting(self: DocumentsModel, row: int, column: int, role: int) -> object:
        rows_read.add(row)
        return value(self, row, column, role)

    monkeypatch.setattr(DocumentsModel, "value", counting)
    computed: list[int] = []
    compute = DocumentsProxy._compute

    def computing(self: DocumentsProxy, first: int = 0) -> list[int]:
        computed.append(first)
        return compute(self, first)

    monkeypatch.setattr(DocumentsProxy, "_compute", computing)
    sizes: list[int] = []
    page.model.rowsInserted.connect(lambda *_: sizes.append(page.model.rowCount()))
    page.model.modelReset.connect(lambda: sizes.append(page.model.rowCount()))
    docs = listing(many())
    with qtbot.waitSignal(page.filled, timeout=20_000):
        page.show_list(docs)
        assert page.filling and page.model.rowCount() == 0  # prepared off the UI thread
    # Sorted, filtered and indexed off the UI thread: one reset brings every row, and the
    # proxy takes the rows shown as prepared (it neither filters nor sorts them itself).
    assert sizes == [COUNT]
    assert computed == []
    assert not page.filling
    assert page.proxy.rowCount() == COUNT
    assert shown_ids(page, 3) == [f"u{COUNT - 1}", f"u{COUNT - 2}", f"u{COUNT - 3}"]
    assert page.model.row_of("u0") >= 0 and page.proxy.index_of("u0").row() == COUNT - 1
    assert page.count_label.text() == f"{COUNT} document(s)"
    # The UI thread read the rows on screen (some 30), never every row: no sort, no
    # filter and no column sizing went through the model row by row.
    assert len(rows_read) < 100, len(rows_read)


def test_a_filter_typed_while_the_list_is_prepared_applies_in_batches(
    qtbot: QtBot, page: DocumentListPage
) -> None:
    """The rows prepared for the old filter are not taken: the list comes in batches,
    filtered by what the doctor typed meanwhile."""
    sizes: list[int] = []
    page.model.rowsInserted.connect(lambda *_: sizes.append(page.model.rowCount()))
    page.model.modelReset.connect(lambda: sizes.append(page.model.rowCount()))
    with qtbot.waitSignal(page.filled, timeout=20_000):
        page.show_list(listing(many()))
        assert page.filling
        page.filter_edit.setText("echographie 1998")
    assert sizes[0] == documents_pane.FIRST_BATCH < COUNT and sizes[-1] == COUNT
    assert len(sizes) >= 3  # several batches, each one a short turn of the event loop
    assert shown_ids(page, page.proxy.rowCount()) == ["u1998"]
    page.filter_edit.setText("")
    assert page.proxy.rowCount() == COUNT
    assert shown_ids(page, 2) == [f"u{COUNT - 1}", f"u{COUNT - 2}"]


def test_a_combo_choice_absent_from_the_new_list_goes_back_to_all(
    qtbot: QtBot, page: DocumentListPage
) -> None:
    fill(qtbot, page, listing(many()))
    author = page.combos[Column.AUTHOR]
    author.setCurrentIndex(author.findData("Marie DURAND"))
    assert 0 < page.proxy.rowCount() < COUNT
    sizes: list[int] = []
    page.model.modelReset.connect(lambda: sizes.append(page.model.rowCount()))
    others = [entry(f"c{n}", f"Lettre {n}", days_ago=n, today=TODAY) for n in range(SYNC + 1)]
    fill(qtbot, page, listing(others))
    assert sizes == [SYNC + 1]  # still in one go
    assert author.currentIndex() == 0 and page.proxy.choice(Column.AUTHOR) is None
    assert page.proxy.rowCount() == SYNC + 1
    # A choice present in the new list stays, and filters it as prepared.
    fill(qtbot, page, listing(many()))
    status = page.combos[Column.STATUS]
    status.setCurrentIndex(status.findData("archivé"))
    sizes.clear()
    fill(qtbot, page, listing(many()))
    assert sizes == [COUNT]
    assert page.proxy.choice(Column.STATUS) == "archivé"
    assert page.proxy.rowCount() == COUNT // 10
    assert page.count_label.text() == f"{COUNT // 10} affiché(s) sur {COUNT}"


def test_sorting_and_filtering_a_long_list(qtbot: QtBot, page: DocumentListPage) -> None:
    fill(qtbot, page, listing(many()))
    page.table.sortByColumn(int(Column.TITLE), Qt.SortOrder.AscendingOrder)
    titles = [
        str(page.proxy.data(page.proxy.index(row, int(Column.TITLE))))
        for row in range(page.proxy.rowCount())
    ]
    assert titles[0].startswith("Compte rendu") and titles[-1].startswith("Échographie")
    page.filter_edit.setText("echographie 1998")
    assert shown_ids(page, page.proxy.rowCount()) == ["u1998"]
    page.filter_edit.setText("")
    page.combos[Column.STATUS].setCurrentIndex(page.combos[Column.STATUS].findData("archivé"))
    assert page.proxy.rowCount() == COUNT // 10
    assert "200 affiché(s) sur 2000" in page.count_label.text()


def test_the_current_document_stays_current_when_the_list_comes_again(
    qtbot: QtBot, page: DocumentListPage
) -> None:
    docs = many()
    fill(qtbot, page, listing(docs))
    target = page.proxy.index_of("u1234")
    page.table.setCurrentIndex(target)
    fill(qtbot, page, listing([*docs, entry("u-new", "Nouveau", days_ago=0, today=TODAY)]))
    current = page.current_entry()
    assert current is not None and current.unique_id == "u1234"
    assert shown_ids(page, 1) == ["u-new"]


def test_a_new_list_replaces_one_being_filled(qtbot: QtBot, page: DocumentListPage) -> None:
    page.show_list(listing(many()))
    short = [entry("s1", "Seul document", today=TODAY)]
    fill(qtbot, page, listing(short))  # shown at once; the long one is dropped
    qtbot.wait(50)
    assert page.model.rowCount() == 1 and not page.filling
    page.show_list(listing(many()))
    page.clear()
    qtbot.wait(50)
    assert page.model.rowCount() == 0 and not page.filling


def test_sorting_while_the_list_is_prepared(qtbot: QtBot, page: DocumentListPage) -> None:
    with qtbot.waitSignal(page.filled, timeout=20_000):
        page.show_list(listing(many()))
        assert page.filling
        page.proxy.sort(int(Column.DATE), Qt.SortOrder.AscendingOrder)
    assert shown_ids(page, 2) == ["u0", "u1"]
    assert page.proxy.rowCount() == COUNT


def test_sorting_while_the_list_is_filled_in_batches(qtbot: QtBot, page: DocumentListPage) -> None:
    sorted_at: list[int] = []

    def sort_once() -> None:  # as the first batch is shown
        if not sorted_at and page.model.rowCount() > 0:
            sorted_at.append(page.model.rowCount())
            page.proxy.sort(int(Column.DATE), Qt.SortOrder.AscendingOrder)

    page.model.modelReset.connect(sort_once)
    with qtbot.waitSignal(page.filled, timeout=20_000):
        page.show_list(listing(many()))
        page.filter_edit.setText("n°")  # the prepared rows are not taken: batches
    assert sorted_at == [documents_pane.FIRST_BATCH]  # sorted while it was filled
    assert shown_ids(page, 2) == ["u1", "u2"]  # u0 is an « Échographie »
    assert page.proxy.rowCount() == COUNT - len(range(0, COUNT, 3))
    page.filter_edit.setText("")
    assert shown_ids(page, 2) == ["u0", "u1"]
    assert page.proxy.rowCount() == COUNT


def test_a_row_is_one_object_for_the_collector() -> None:
    """The collector walks every object made while a long list is prepared (with the
    interpreter lock held): a row holds its entry, its texts, and what the rows of its
    kind share (made once per kind), and no container of its own."""
    import enum

    bases = [
        entry("b0", "Lettre", author=DURAND_AUTHOR, today=TODAY),
        entry("b1", "Lettre", author=CARDIO_AUTHOR, today=TODAY),
    ]
    # Entries sharing their codes and authors, as the answer's reader makes them.
    docs = [
        dataclasses.replace(bases[n % 2], unique_id=f"u{n}", title=f"Compte rendu n° {n}")
        for n in range(300)
    ]
    rows = prepare_rows(docs)
    entries = {id(d) for d in docs}
    held_by_rows: set[int] = set()
    for row in rows:
        for held in gc.get_referents(row):
            if isinstance(held, type | enum.Enum) or id(held) in entries:
                continue
            if gc.is_tracked(held):
                held_by_rows.add(id(held))
    assert len(held_by_rows) == 2, len(held_by_rows)  # the two kinds


class _Probe:
    """Put in an entry: says which thread freed it (the entry goes with it)."""

    def __init__(self, freed: list[str]) -> None:
        self.freed = freed

    def __del__(self) -> None:
        self.freed.append(threading.current_thread().name)


def probed(freed: list[str], prefix: str) -> list[DocumentEntry]:
    return [
        dataclasses.replace(d, unique_id=f"{prefix}{d.unique_id}", extra={"probe": _Probe(freed)})
        for d in many()
    ]


def test_a_long_list_let_go_is_freed_off_the_ui_thread(
    qtbot: QtBot, page: DocumentListPage
) -> None:
    """Freeing 20,000 rows and their entries is tens of milliseconds: when the page is
    cleared, or another list replaces a long one, that happens in a worker thread."""
    freed: list[str] = []
    fill(qtbot, page, listing(probed(freed, "a")))
    gc.collect()
    assert freed == []
    fill(qtbot, page, listing(probed(freed, "b")))  # another patient's list, say
    qtbot.waitUntil(lambda: len(freed) == COUNT, timeout=10_000)
    page.clear()
    page.settle()
    assert len(freed) == 2 * COUNT
    assert threading.main_thread().name not in freed
    assert page.model.rowCount() == 0 and page.proxy.rowCount() == 0
