"""Every example document of the ANS CI-SIS kit opens in the real window (issue #15).

Over the 94 examples: each renders (the three self-presenting ones too), the files they
embed are all there (45 PDFs in tabs of their own, 22 images inline), wide tables scroll
instead of wrapping, and opening them never makes the window wider than the screen.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from dmp_desktop.cda.media import clinical_document, embedded_media
from dmp_desktop.settings import Settings
from dmp_desktop.ui.main_window import MainWindow
from dmp_desktop.ui.viewer import HtmlTab, MessageTab, PdfTab
from dmp_desktop.xmlsafe import parse
from tests.conftest import CDA_KIT, require_shared
from tests.ui.conftest import WindowFactory
from tests.ui.consultation_fakes import AUTHORISED, ConsultationDmp, entry
from tests.ui.fakes import FakeCardManager, ui_settings
from tests.ui.test_consultation import check_and_list, log_in, open_row

EXAMPLES = CDA_KIT / "ans" / "ExemplesCDA"
SCREEN = (1680, 1050)  # the screen of the report


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return dataclasses.replace(ui_settings(), data_dir=str(tmp_path / "data"))


def test_every_ans_example_opens_with_its_embedded_files_and_the_window_fits(
    qtbot: QtBot,
    make_window: WindowFactory,
    settings: Settings,
    fake_cards: FakeCardManager,
) -> None:
    files = sorted(require_shared(EXAMPLES).glob("*.xml"))
    assert len(files) == 94
    dmp = ConsultationDmp()
    record = dmp.patients[AUTHORISED.value]
    record.documents.clear()
    for number, path in enumerate(files):
        doc = entry(f"1.2.250.1.999.7.{number}", path.stem, days_ago=number % 300)
        record.documents[doc.unique_id] = (doc, path.read_bytes())
    window: MainWindow = make_window(settings, fake_cards, dmp)
    window.resize(*SCREEN)
    log_in(qtbot, window)
    check_and_list(qtbot, window, AUTHORISED)
    viewer = window.workspace.viewer
    totals = {"pdf": 0, "image": 0, "self-presenting": 0, "wide tables": 0}
    for number, path in enumerate(files):
        open_row(qtbot, window, f"1.2.250.1.999.7.{number}")
        tab = viewer.current_tab()
        assert tab is not None and not isinstance(tab, MessageTab), path.name
        root = parse(path.read_bytes())
        document = clinical_document(root)
        assert document is not None
        if document is not root:
            totals["self-presenting"] += 1
        if isinstance(tab, HtmlTab):
            media = embedded_media(document)
            pdfs = sum(1 for m in media if m.is_pdf)
            images = sum(1 for m in media if m.is_image)
            assert (tab.pdf_count, tab.image_count) == (pdfs, images), path.name
            html = tab.browser.toHtml()
            for item in media:
                if item.is_image:
                    assert item.url in html, (path.name, item.ident)
            for pane in tab.pdf_tabs.values():
                assert pane.loaded and pane.page_count > 0, path.name
            totals["pdf"] += pdfs
            totals["image"] += images
            if 'width="' in tab.browser.toHtml() and "<table" in html:
                totals["wide tables"] += 1
        else:
            assert isinstance(tab, PdfTab) and tab.loaded, path.name
        # Opening a document never widens the window past the screen.
        assert window.width() <= SCREEN[0], (path.name, window.width())
        assert window.minimumSizeHint().width() <= SCREEN[0], (
            path.name,
            window.minimumSizeHint().width(),
        )
        viewer.close_current()
    assert totals["pdf"] == 45 and totals["image"] == 22, totals
    assert totals["self-presenting"] == 3, totals


def test_a_document_wider_than_the_screen_never_widens_the_window(
    qtbot: QtBot,
    make_window: WindowFactory,
    settings: Settings,
    fake_cards: FakeCardManager,
) -> None:
    """Whatever a pane asks for, the window keeps its size: the content scrolls or wraps."""
    from PySide6.QtWidgets import QLabel

    dmp = ConsultationDmp()
    window: MainWindow = make_window(settings, fake_cards, dmp)
    window.resize(1200, 800)
    log_in(qtbot, window)
    check_and_list(qtbot, window, AUTHORISED)
    record = dmp.patients[AUTHORISED.value]
    first = next(iter(record.documents))
    open_row(qtbot, window, first)
    tab = window.workspace.viewer.current_tab()
    assert tab is not None
    greedy = QLabel("x" * 10, tab)
    greedy.setMinimumWidth(3000)  # a child asking for far more than any screen
    tab.body.addWidget(greedy)
    qtbot.wait(50)
    assert window.width() == 1200
    assert window.minimumWidth() < 1200 and tab.minimumWidth() < 1200


def test_a_wide_table_scrolls_instead_of_wrapping_to_letters(qtbot: QtBot) -> None:
    """The IPS-FR vaccinations table (10 columns) in a narrow viewer: readable columns, a
    horizontal scroll bar."""
    from dmp_desktop.domain.document import RetrievedDocument
    from dmp_desktop.services.viewable import prepare
    from dmp_desktop.ui.viewer import make_tab
    from tests.ui.consultation_fakes import entry as make_entry

    data = require_shared(EXAMPLES / "IPS-FR_2024.01.xml").read_bytes()
    viewable = prepare(RetrievedDocument("1", "r", "text/xml", data))
    assert 'width="1100"' in viewable.text  # 10 columns x 110 px
    tab = make_tab(make_entry("1", "IPS-FR"), viewable)
    qtbot.addWidget(tab)
    tab.resize(640, 700)
    tab.show()
    assert isinstance(tab, HtmlTab)
    if tab.inner is not None:
        tab.inner.setCurrentIndex(0)
    qtbot.waitUntil(lambda: tab.browser.horizontalScrollBar().maximum() > 0)
    assert tab.browser.document().size().width() >= 1100
