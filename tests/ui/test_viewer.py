"""The viewer on its own: what each kind of document becomes, preview tabs, memory released."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QUrl
from PySide6.QtGui import QTextDocument
from pytestqt.qtbot import QtBot

from dmp_desktop.cda.errors import CdaFormatError
from dmp_desktop.cda.level1 import wrap_pdf, wrap_text
from dmp_desktop.cda.vsm import build_vsm
from dmp_desktop.domain.document import RetrievedDocument
from dmp_desktop.errors import describe
from dmp_desktop.services.viewable import Origin, ViewKind, prepare
from dmp_desktop.ui.viewer import (
    PRINTING_AVAILABLE,
    DocumentViewer,
    HtmlTab,
    ImageTab,
    MessageTab,
    PdfTab,
    TextTab,
)
from tests.support.cda_samples import full_summary, minimal_pdf
from tests.ui.consultation_fakes import _level1, entry, png_bytes


def retrieved(content: bytes, mime: str) -> RetrievedDocument:
    return RetrievedDocument("1.2.3", "1.2.250.1.213.1.1.1.9", mime, content)


def test_prepare_recognises_every_kind(qtbot: QtBot) -> None:
    pdf = minimal_pdf("Bonjour")
    assert prepare(retrieved(pdf, "application/pdf")).kind is ViewKind.PDF
    # A PDF labelled as something else is still shown as a PDF.
    assert prepare(retrieved(pdf, "application/octet-stream")).kind is ViewKind.PDF
    level1 = prepare(retrieved(wrap_pdf(_level1("11488-4", "CR"), pdf), "text/xml"))
    assert (level1.kind, level1.origin, level1.data) == (ViewKind.PDF, Origin.CDA_LEVEL1, pdf)
    text = prepare(retrieved(wrap_text(_level1("11488-4", "CR"), "Tension 13/8"), "text/xml"))
    assert (text.kind, text.text) == (ViewKind.TEXT, "Tension 13/8")
    vsm = prepare(retrieved(build_vsm(full_summary()), "text/xml"))
    assert vsm.kind is ViewKind.HTML and vsm.origin is Origin.CDA_STRUCTURED
    assert vsm.text.startswith("<!DOCTYPE html>")
    for fmt, mime in (("PNG", "image/png"), ("JPEG", "image/jpeg"), ("TIFF", "image/tiff")):
        image = prepare(retrieved(png_bytes(fmt), mime))
        assert (image.kind, image.media_type) == (ViewKind.IMAGE, mime)
    assert prepare(retrieved(b"PK\x03\x04zip", "application/zip")).kind is ViewKind.UNSUPPORTED
    assert prepare(retrieved("été".encode(), "text/plain")).text == "été"


@pytest.mark.parametrize(
    "content",
    [
        b"<ClinicalDocument><unclosed",
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e "boom">]><x>&e;</x>',
        b'<ClinicalDocument xmlns="urn:hl7-org:v3"><component/></ClinicalDocument>',
        b"<html><body>not a CDA</body></html>",
    ],
)
def test_unreadable_xml_is_refused_in_french(content: bytes) -> None:
    with pytest.raises(CdaFormatError) as err:
        prepare(retrieved(content, "text/xml"))
    assert describe(err.value) == (
        "Ce document n'est pas un document CDA lisible ; il n'a pas été ouvert."
    )


def test_tabs_previews_and_release(qtbot: QtBot) -> None:
    viewer = DocumentViewer()
    qtbot.addWidget(viewer)
    viewer.resize(700, 600)
    viewer.show()
    a = entry("a", "Consultation A")
    b = entry("b", "Consultation B")
    c = entry("c", "Consultation C")
    pdf = prepare(retrieved(minimal_pdf("Document A"), "application/pdf"))

    loading = viewer.begin(a)
    assert isinstance(loading, MessageTab) and loading.message_label.text().startswith(
        "ℹ Ouverture"
    )
    tab = viewer.show_document(a, pdf)
    assert isinstance(tab, PdfTab) and tab.loaded
    assert viewer.tabs.tabText(0) == "Consultation A"

    viewer.begin(b, transient=True)
    viewer.show_document(b, pdf)
    assert viewer.count == 2 and viewer.tab(1).transient
    viewer.begin(c, transient=True)  # replaces the preview
    assert viewer.count == 2 and viewer.tab(1).entry is c
    assert viewer.show_document(b, pdf) is None  # b's tab is gone: ignored
    viewer.show_document(c, pdf)
    viewer.keep("c")
    assert not viewer.tab(1).transient
    viewer.begin(b, transient=True)
    assert viewer.count == 3

    # Opening an open document goes back to its tab.
    viewer.begin(a)
    assert viewer.tabs.currentIndex() == 0
    viewer.next_tab()
    assert viewer.tabs.currentIndex() == 1
    viewer.next_tab(-1)
    assert viewer.tabs.currentIndex() == 0

    viewer.show_failure(b, "Le DMP a refusé l'accès à ce dossier.")
    failed = viewer.tab(viewer.index_of("b"))
    assert isinstance(failed, MessageTab) and failed.tone.value == "error"

    buffer = tab.buffer
    viewer.clear()
    assert viewer.count == 0
    assert buffer.data().size() == 0  # the PDF bytes are released
    assert viewer.stack.currentWidget() is viewer.empty_label


def test_each_kind_of_tab(qtbot: QtBot) -> None:
    viewer = DocumentViewer()
    qtbot.addWidget(viewer)
    viewer.resize(800, 600)
    viewer.show()
    html = prepare(retrieved(build_vsm(full_summary()), "text/xml"))
    viewer.begin(entry("v", "VSM"))
    vsm = viewer.show_document(entry("v", "VSM"), html)
    assert isinstance(vsm, HtmlTab)
    assert vsm.meta_label.text().endswith("CDA structuré")
    # Sections in the document's order.
    text = vsm.browser.toPlainText()
    positions = [text.find(h) for h in ("Pathologies", "Antécédents", "Allergies", "Traitement")]
    found = [p for p in positions if p >= 0]
    assert found and found == sorted(found)
    vsm.zoom_in()
    vsm.zoom_fit()
    assert vsm.find_text("zzzz-not-there") is False
    assert vsm.find_bar.result_label.text() == "Aucun résultat"

    image = prepare(retrieved(png_bytes("TIFF", 1600, 1200), "image/tiff"))
    viewer.begin(entry("i", "Image"))
    tab = viewer.show_document(entry("i", "Image"), image)
    assert isinstance(tab, ImageTab) and tab.loaded
    assert tab.shown_size.width() <= viewer.width()  # fitted to the width
    tab.zoom_in()
    wider = tab.shown_size.width()
    tab.zoom_out()
    assert tab.shown_size.width() < wider

    text = prepare(retrieved(wrap_text(_level1("11488-4", "CR"), "Ligne 1\nLigne 2"), "text/xml"))
    viewer.begin(entry("t", "Texte"))
    plain = viewer.show_document(entry("t", "Texte"), text)
    assert isinstance(plain, TextTab) and plain.editor.isReadOnly()
    assert plain.find_text("Ligne 2")

    broken = prepare(retrieved(b"%PDF-1.4 broken", "application/pdf"))
    viewer.begin(entry("p", "PDF"))
    bad = viewer.show_document(entry("p", "PDF"), broken)
    assert isinstance(bad, MessageTab) and "illisible" in bad.message_label.text()

    other = prepare(retrieved(b"PK\x03\x04", "application/zip"))
    viewer.begin(entry("z", "Archive"))
    unsupported = viewer.show_document(entry("z", "Archive"), other)
    assert isinstance(unsupported, MessageTab)
    assert "application/zip" in unsupported.message_label.text()
    assert PRINTING_AVAILABLE


def test_rendered_cda_loads_nothing_from_outside(qtbot: QtBot) -> None:
    tab = HtmlTab(entry("x", "X"), '<p>texte</p><img src="file:///etc/passwd">')
    qtbot.addWidget(tab)
    assert (
        tab.browser.loadResource(
            int(QTextDocument.ResourceType.ImageResource), QUrl("file:///etc/passwd")
        )
        is None
    )
    assert not tab.browser.openLinks() and not tab.browser.openExternalLinks()
