"""The document viewer: one tab per document, PDF / rendered CDA / text / image.

Documents stay in memory (a QBuffer for Qt PDF, a string for HTML, a pixmap
for images) and are released when their tab closes; :meth:`DocumentViewer.clear`
closes every tab when the patient changes or the card leaves. Nothing is
written to disk; printing goes through the system print dialog (Qt Print
Support is part of the installed Qt).

A tab opened by Alt+Up / Alt+Down is a *preview*: the next Alt+Up / Alt+Down
replaces it instead of piling up tabs; Enter on the list keeps a document open.
"""

from __future__ import annotations

from PySide6.QtCore import (
    QBuffer,
    QByteArray,
    QCoreApplication,
    QIODevice,
    QRectF,
    QSize,
    Qt,
    QUrl,
    Signal,
)
from PySide6.QtGui import (
    QFontDatabase,
    QImage,
    QPagedPaintDevice,
    QPainter,
    QPalette,
    QPixmap,
    QTextDocument,
)
from PySide6.QtPdf import QPdfDocument, QPdfSearchModel
from PySide6.QtPdfWidgets import QPdfView
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QScrollArea,
    QSizePolicy,
    QStackedWidget,
    QTabBar,
    QTabWidget,
    QTextBrowser,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from dmp_desktop.cda.media import EmbeddedMedia
from dmp_desktop.domain.document import DocumentEntry
from dmp_desktop.services.viewable import Origin, Viewable, ViewKind
from dmp_desktop.ui.documents_model import author_text, date_text, type_text
from dmp_desktop.ui.style import Tone, paper, scaled_font, set_tone

try:  # Qt Print Support ships with PySide6-Essentials; checked, never assumed.
    from PySide6.QtPrintSupport import QPrintDialog, QPrinter

    PRINTING_AVAILABLE = True
except ImportError:  # pragma: no cover - a Qt build without print support
    PRINTING_AVAILABLE = False

ZOOM_STEP = 1.25
ZOOM_MIN = 0.25
ZOOM_MAX = 6.0
PRINT_DPI = 300
TAB_TITLE_CHARS = 26
TAB_MIN_WIDTH = 280


def _tr(text: str) -> str:
    return QCoreApplication.translate("DocumentViewer", text)


def _short(text: str, limit: int = TAB_TITLE_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


class DocumentTab(QWidget):
    """One open document: a header (what it is) and a body (the content)."""

    def __init__(self, entry: DocumentEntry, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.entry = entry
        self.transient = False
        self.setObjectName("documentTab")
        self.title_label = QLabel(entry.title or type_text(entry), self)
        self.title_label.setObjectName("documentTitle")
        self.title_label.setFont(scaled_font(self, 1.15, bold=True))
        self.title_label.setTextFormat(Qt.TextFormat.PlainText)
        self.title_label.setWordWrap(True)
        meta = [p for p in (date_text(entry), type_text(entry), author_text(entry)) if p]
        self.meta_label = QLabel(" · ".join(meta), self)
        self.meta_label.setObjectName("documentMeta")
        self.meta_label.setTextFormat(Qt.TextFormat.PlainText)
        self.meta_label.setWordWrap(True)  # a long type or author never widens the window
        self.meta_label.setStyleSheet("color: palette(placeholder-text);")
        self.tools = QHBoxLayout()
        self.tools.setContentsMargins(0, 0, 0, 0)
        self.tools.setSpacing(4)
        header = QVBoxLayout()
        header.setSpacing(2)
        header.addWidget(self.title_label)
        header.addWidget(self.meta_label)
        top = QHBoxLayout()
        top.addLayout(header, 1)
        top.addLayout(self.tools)
        # An explicit minimum: what a document holds (a wide table, a long title) is
        # scrolled or wrapped inside the tab, it never makes the window wider.
        self.setMinimumWidth(TAB_MIN_WIDTH)
        self.body = QVBoxLayout(self)
        self.body.setContentsMargins(8, 8, 8, 4)
        self.body.setSpacing(6)
        self.body.addLayout(top)

    # What every tab can do (no-ops where it makes no sense).
    def zoom_in(self) -> None:
        pass

    def zoom_out(self) -> None:
        pass

    def zoom_fit(self) -> None:
        pass

    def find_text(self, text: str, backward: bool = False) -> bool:
        return False

    @property
    def printable(self) -> bool:
        return False

    def render_to(self, device: QPagedPaintDevice) -> bool:
        """Paint the document on ``device`` (a printer), page after page."""
        return False

    def release(self) -> None:
        """Drop the document's content (the tab is closing)."""
        self.title_label.setText("")
        self.meta_label.setText("")

    def _tool(self, text: str, tip: str, slot: object, name: str) -> QToolButton:
        button = QToolButton(self)
        button.setText(text)
        button.setToolTip(tip)
        button.setAccessibleName(tip)
        button.setObjectName(name)
        button.setAutoRaise(True)
        button.clicked.connect(slot)
        self.tools.addWidget(button)
        return button


class _FindBar(QWidget):
    """A search field with previous / next and a result count."""

    def __init__(self, tab: DocumentTab, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._tab = tab
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.edit = QLineEdit(self)
        self.edit.setObjectName("findEdit")
        self.edit.setPlaceholderText(self.tr("Rechercher…"))
        self.edit.setAccessibleName(self.tr("Rechercher dans le document"))
        self.edit.setClearButtonEnabled(True)
        self.result_label = QLabel(self)
        self.result_label.setObjectName("findResult")
        previous = QToolButton(self)
        previous.setText("▲")
        previous.setToolTip(self.tr("Résultat précédent (Maj+Entrée)"))
        previous.setAccessibleName(previous.toolTip())
        following = QToolButton(self)
        following.setText("▼")
        following.setToolTip(self.tr("Résultat suivant (Entrée)"))
        following.setAccessibleName(following.toolTip())
        layout.addWidget(self.edit, 1)
        layout.addWidget(previous)
        layout.addWidget(following)
        layout.addWidget(self.result_label)
        self.edit.returnPressed.connect(self._next)
        previous.clicked.connect(lambda: self._go(backward=True))
        following.clicked.connect(self._next)

    def _next(self) -> None:
        from PySide6.QtWidgets import QApplication

        backward = bool(QApplication.keyboardModifiers() & Qt.KeyboardModifier.ShiftModifier)
        self._go(backward)

    def _go(self, backward: bool = False) -> None:
        text = self.edit.text().strip()
        if not text:
            self.result_label.setText("")
            return
        if not self._tab.find_text(text, backward):
            self.result_label.setText(self.tr("Aucun résultat"))


class PdfTab(DocumentTab):
    """A PDF with Qt PDF: zoom, fit, search with highlights, print."""

    def __init__(self, entry: DocumentEntry, data: bytes, parent: QWidget | None = None) -> None:
        super().__init__(entry, parent)
        self.buffer = QBuffer(self)
        self.buffer.setData(QByteArray(data))
        self.buffer.open(QIODevice.OpenModeFlag.ReadOnly)
        self.document = QPdfDocument(self)
        self.document.load(self.buffer)
        self.search_model = QPdfSearchModel(self)
        self.search_model.setDocument(self.document)
        self.view = QPdfView(self)
        self.view.setObjectName("pdfView")
        self.view.setAccessibleName(self.tr("Document PDF"))
        self.view.setPageMode(QPdfView.PageMode.MultiPage)
        self.view.setZoomMode(QPdfView.ZoomMode.FitToWidth)
        self.view.setDocument(self.document)
        self.view.setSearchModel(self.search_model)
        self._pending_search = ""
        self._search_backward = False
        self.search_model.countChanged.connect(self._on_results)

        self._tool("−", self.tr("Zoom arrière (Ctrl+-)"), self.zoom_out, "zoomOut")
        self._tool("+", self.tr("Zoom avant (Ctrl++)"), self.zoom_in, "zoomIn")
        self._tool("↔", self.tr("Ajuster à la largeur"), self.zoom_fit, "zoomFit")
        self._tool("▢", self.tr("Page entière"), self.zoom_page, "zoomPage")
        self.find_bar = _FindBar(self, self)
        self.body.addWidget(self.find_bar)
        self.body.addWidget(self.view, 1)
        if self.document.status() is not QPdfDocument.Status.Ready:
            self.find_bar.setEnabled(False)

    @property
    def loaded(self) -> bool:
        return self.document.status() is QPdfDocument.Status.Ready

    @property
    def page_count(self) -> int:
        return self.document.pageCount()

    def zoom_in(self) -> None:
        self._set_zoom(self._current_zoom() * ZOOM_STEP)

    def zoom_out(self) -> None:
        self._set_zoom(self._current_zoom() / ZOOM_STEP)

    def zoom_fit(self) -> None:
        self.view.setZoomMode(QPdfView.ZoomMode.FitToWidth)

    def zoom_page(self) -> None:
        self.view.setZoomMode(QPdfView.ZoomMode.FitInView)

    def _current_zoom(self) -> float:
        if self.view.zoomMode() is QPdfView.ZoomMode.Custom:
            return self.view.zoomFactor()
        # Fitted: estimate the factor from the first page's width.
        size = self.document.pagePointSize(0)
        width = self.view.viewport().width()
        if size.width() <= 0 or width <= 0:
            return 1.0
        return max(ZOOM_MIN, width / (size.width() * self.logicalDpiX() / 72.0))

    def _set_zoom(self, factor: float) -> None:
        self.view.setZoomMode(QPdfView.ZoomMode.Custom)
        self.view.setZoomFactor(min(ZOOM_MAX, max(ZOOM_MIN, factor)))

    # -- search ---------------------------------------------------------------------------
    def find_text(self, text: str, backward: bool = False) -> bool:
        if text != self.search_model.searchString():
            self._pending_search = text
            self._search_backward = backward
            self.find_bar.result_label.setText(self.tr("Recherche…"))
            self.search_model.setSearchString(text)
            return True  # results arrive with countChanged
        count = self.search_model.count()
        if count == 0:
            return False
        current = self.view.currentSearchResultIndex()
        step = -1 if backward else 1
        self._select_result((current + step) % count if current >= 0 else 0)
        return True

    def _on_results(self) -> None:
        count = self.search_model.count()
        if count == 0:
            if self.search_model.searchString():
                self.find_bar.result_label.setText(self.tr("Aucun résultat"))
            return
        if self.view.currentSearchResultIndex() < 0 or self._pending_search:
            self._pending_search = ""
            self._select_result(count - 1 if self._search_backward else 0)
        else:
            self._show_count()

    def _select_result(self, index: int) -> None:
        self.view.setCurrentSearchResultIndex(index)
        link = self.search_model.resultAtIndex(index)
        if link.isValid():
            self.view.pageNavigator().jump(link)
        self._show_count()

    def _show_count(self) -> None:
        count = self.search_model.count()
        current = self.view.currentSearchResultIndex()
        self.find_bar.result_label.setText(
            self.tr("{index} sur {count}").format(index=current + 1, count=count)
        )

    @property
    def result_count(self) -> int:
        return self.search_model.count()

    # -- print --------------------------------------------------------------------------
    @property
    def printable(self) -> bool:
        return self.loaded and self.page_count > 0

    def render_to(self, device: QPagedPaintDevice) -> bool:
        if not self.printable:
            return False
        painter = QPainter()
        if not painter.begin(device):
            return False
        try:
            dpi = min(device.logicalDpiX(), PRINT_DPI)
            for page in range(self.page_count):
                if page:
                    device.newPage()
                target = QRectF(painter.viewport())
                points = self.document.pagePointSize(page)
                if points.width() <= 0 or points.height() <= 0:
                    continue
                scale = min(target.width() / points.width(), target.height() / points.height())
                width, height = points.width() * scale, points.height() * scale
                pixels = QSize(
                    max(1, int(points.width() * dpi / 72)), max(1, int(points.height() * dpi / 72))
                )
                image = self.document.render(page, pixels)
                painter.drawImage(QRectF(0, 0, width, height), image)
        finally:
            painter.end()
        return True

    def release(self) -> None:
        super().release()
        self.search_model.setSearchString("")
        self.document.close()
        self.buffer.close()
        self.buffer.setData(QByteArray())
        self.find_bar.edit.setText("")


class _SafeBrowser(QTextBrowser):
    """A QTextBrowser that never loads anything: no file, no URL, no image from outside."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        paper(self)  # written for a white page, also on a dark window

    def loadResource(self, type: int, name: QUrl | str) -> object:
        return None


class HtmlTab(DocumentTab):
    """A structured CDA (VSM...) rendered to HTML, sections in the document's order.

    Files the document embeds (``attachments``): images appear where the narrative
    places them (their pixels come from the document itself, registered as resources
    of the page; nothing is loaded from elsewhere); each PDF gets a tab of its own
    next to « Document », opened by its link in the page. Wide tables keep readable
    columns and scroll sideways.
    """

    def __init__(
        self,
        entry: DocumentEntry,
        html: str,
        parent: QWidget | None = None,
        attachments: tuple[EmbeddedMedia, ...] = (),
    ) -> None:
        super().__init__(entry, parent)
        self.attachments = attachments
        self.browser = _SafeBrowser(self)
        self.browser.setObjectName("cdaView")
        self.browser.setAccessibleName(self.tr("Document structuré"))
        self.browser.setOpenLinks(False)
        self.browser.setOpenExternalLinks(False)
        self.browser.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.browser.anchorClicked.connect(self._on_link)
        self.images: dict[str, QImage] = {}
        document = self.browser.document()
        for item in attachments:
            if item.is_image and item.data:
                image = QImage.fromData(item.data)
                if not image.isNull():
                    self.images[item.ident] = image
                    document.addResource(
                        QTextDocument.ResourceType.ImageResource.value,
                        QUrl(item.url),
                        image.scaledToWidth(min(image.width(), 900))
                        if image.width() > 900
                        else image,
                    )
        self.browser.setHtml(html)
        self._zoom = 0
        self._tool("−", self.tr("Zoom arrière (Ctrl+-)"), self.zoom_out, "zoomOut")
        self._tool("+", self.tr("Zoom avant (Ctrl++)"), self.zoom_in, "zoomIn")
        self._tool("↔", self.tr("Taille normale"), self.zoom_fit, "zoomFit")
        self.find_bar = _FindBar(self, self)
        self.body.addWidget(self.find_bar)
        self.pdf_tabs: dict[str, PdfTab] = {}
        pdfs = [item for item in attachments if item.is_pdf and item.data]
        self.inner: QTabWidget | None = None
        if pdfs:
            self.inner = QTabWidget(self)
            self.inner.setObjectName("attachmentTabs")
            self.inner.setDocumentMode(True)
            self.inner.setUsesScrollButtons(True)
            self.inner.setElideMode(Qt.TextElideMode.ElideRight)
            self.inner.addTab(self.browser, self.tr("Document"))
            for number, item in enumerate(pdfs, 1):
                pane = PdfTab(entry, item.data, self.inner)
                # the page's own tools (zoom, search) act on the tab shown below them
                for hidden in (pane.title_label, pane.meta_label, pane.find_bar):
                    hidden.hide()
                for i in range(pane.tools.count()):
                    tool = pane.tools.itemAt(i)
                    if tool is not None and tool.widget() is not None:
                        tool.widget().hide()  # type: ignore[union-attr]
                self.pdf_tabs[item.ident] = pane
                caption = _short(item.caption or self.tr("PDF joint"), 20)
                index = self.inner.addTab(pane, f"{number}. {caption}")
                self.inner.setTabToolTip(index, item.caption or self.tr("PDF joint"))
            self.body.addWidget(self.inner, 1)
        else:
            self.body.addWidget(self.browser, 1)

    @property
    def pdf_count(self) -> int:
        return len(self.pdf_tabs)

    @property
    def image_count(self) -> int:
        return len(self.images)

    def show_attachment(self, ident: str) -> bool:
        """Bring the tab of an embedded PDF forward."""
        pane = self.pdf_tabs.get(ident)
        if pane is None or self.inner is None:
            return False
        self.inner.setCurrentWidget(pane)
        return True

    def _on_link(self, url: QUrl) -> None:
        if url.scheme() == "cda-media":
            self.show_attachment(url.path())

    def _current_pdf(self) -> PdfTab | None:
        if self.inner is None:
            return None
        widget = self.inner.currentWidget()
        return widget if isinstance(widget, PdfTab) else None

    def zoom_in(self) -> None:
        if (pdf := self._current_pdf()) is not None:
            pdf.zoom_in()
            return
        self.browser.zoomIn(2)
        self._zoom += 2

    def zoom_out(self) -> None:
        if (pdf := self._current_pdf()) is not None:
            pdf.zoom_out()
            return
        self.browser.zoomOut(2)
        self._zoom -= 2

    def zoom_fit(self) -> None:
        if (pdf := self._current_pdf()) is not None:
            pdf.zoom_fit()
            return
        self.browser.zoomOut(self._zoom)
        self._zoom = 0

    def find_text(self, text: str, backward: bool = False) -> bool:
        if (pdf := self._current_pdf()) is not None:
            found = pdf.find_text(text, backward)
            self.find_bar.result_label.setText(pdf.find_bar.result_label.text())
            return found
        flags = QTextDocument.FindFlag.FindBackward if backward else QTextDocument.FindFlag(0)
        if self.browser.find(text, flags):
            self.find_bar.result_label.setText("")
            return True
        cursor = self.browser.textCursor()  # wrap around once
        cursor.movePosition(cursor.MoveOperation.End if backward else cursor.MoveOperation.Start)
        self.browser.setTextCursor(cursor)
        found = self.browser.find(text, flags)
        self.find_bar.result_label.setText("" if found else self.tr("Aucun résultat"))
        return found

    @property
    def printable(self) -> bool:
        return True

    def render_to(self, device: QPagedPaintDevice) -> bool:
        self.browser.document().print_(device)
        return True

    def release(self) -> None:
        super().release()
        for pane in self.pdf_tabs.values():
            pane.release()
        self.pdf_tabs = {}
        self.images = {}
        self.browser.clear()
        self.browser.document().clear()
        self.find_bar.edit.setText("")


class TextTab(DocumentTab):
    """A plain-text document (a level-1 CDA carrying text)."""

    def __init__(self, entry: DocumentEntry, text: str, parent: QWidget | None = None) -> None:
        super().__init__(entry, parent)
        self.editor = QPlainTextEdit(self)
        self.editor.setObjectName("textView")
        self.editor.setAccessibleName(self.tr("Document texte"))
        self.editor.setReadOnly(True)
        self.editor.setUndoRedoEnabled(False)
        self.editor.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.editor.setPlainText(text)
        self._tool("−", self.tr("Zoom arrière (Ctrl+-)"), self.zoom_out, "zoomOut")
        self._tool("+", self.tr("Zoom avant (Ctrl++)"), self.zoom_in, "zoomIn")
        self.find_bar = _FindBar(self, self)
        self.body.addWidget(self.find_bar)
        self.body.addWidget(self.editor, 1)

    def zoom_in(self) -> None:
        self.editor.zoomIn(2)

    def zoom_out(self) -> None:
        self.editor.zoomOut(2)

    def find_text(self, text: str, backward: bool = False) -> bool:
        flags = QTextDocument.FindFlag.FindBackward if backward else QTextDocument.FindFlag(0)
        if self.editor.find(text, flags):
            return True
        cursor = self.editor.textCursor()
        cursor.movePosition(cursor.MoveOperation.End if backward else cursor.MoveOperation.Start)
        self.editor.setTextCursor(cursor)
        found = self.editor.find(text, flags)
        self.find_bar.result_label.setText("" if found else self.tr("Aucun résultat"))
        return found

    @property
    def printable(self) -> bool:
        return True

    def render_to(self, device: QPagedPaintDevice) -> bool:
        self.editor.document().print_(device)
        return True

    def release(self) -> None:
        super().release()
        self.editor.setPlainText("")
        self.find_bar.edit.setText("")


class ImageTab(DocumentTab):
    """An image (PNG, JPEG, TIFF) fitted to the width, zoomable."""

    def __init__(self, entry: DocumentEntry, data: bytes, parent: QWidget | None = None) -> None:
        super().__init__(entry, parent)
        self.image = QImage.fromData(data)
        self.label = QLabel(self)
        self.label.setObjectName("imageView")
        self.label.setAccessibleName(self.tr("Image"))
        self.label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.scroll_area = QScrollArea(self)
        self.scroll_area.setWidget(self.label)
        self.scroll_area.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.scroll_area.setWidgetResizable(False)
        self._factor: float | None = None  # None: fit to the width
        self._tool("−", self.tr("Zoom arrière (Ctrl+-)"), self.zoom_out, "zoomOut")
        self._tool("+", self.tr("Zoom avant (Ctrl++)"), self.zoom_in, "zoomIn")
        self._tool("↔", self.tr("Ajuster à la largeur"), self.zoom_fit, "zoomFit")
        self.body.addWidget(self.scroll_area, 1)
        if self.image.isNull():
            self.label.setText(self.tr("Cette image est illisible."))
        self._update()

    @property
    def loaded(self) -> bool:
        return not self.image.isNull()

    @property
    def shown_size(self) -> QSize:
        return self.label.size()

    def zoom_in(self) -> None:
        self._factor = min(ZOOM_MAX, self._effective() * ZOOM_STEP)
        self._update()

    def zoom_out(self) -> None:
        self._factor = max(ZOOM_MIN, self._effective() / ZOOM_STEP)
        self._update()

    def zoom_fit(self) -> None:
        self._factor = None
        self._update()

    def _effective(self) -> float:
        if self._factor is not None:
            return self._factor
        width = max(50, self.scroll_area.viewport().width() - 4)
        if self.image.isNull() or self.image.width() == 0:
            return 1.0
        return min(1.0, width / self.image.width())

    def _update(self) -> None:
        if self.image.isNull():
            return
        factor = self._effective()
        size = QSize(
            max(1, int(self.image.width() * factor)), max(1, int(self.image.height() * factor))
        )
        scaled = self.image.scaled(
            size,
            Qt.AspectRatioMode.KeepAspectRatio,
            Qt.TransformationMode.SmoothTransformation,
        )
        self.label.setPixmap(QPixmap.fromImage(scaled))
        self.label.resize(scaled.size())

    def resizeEvent(self, event: object) -> None:
        super().resizeEvent(event)  # type: ignore[arg-type]
        if self._factor is None:
            self._update()

    @property
    def printable(self) -> bool:
        return self.loaded

    def render_to(self, device: QPagedPaintDevice) -> bool:
        if not self.loaded:
            return False
        painter = QPainter()
        if not painter.begin(device):
            return False
        try:
            target = QRectF(painter.viewport())
            scale = min(target.width() / self.image.width(), target.height() / self.image.height())
            painter.drawImage(
                QRectF(0, 0, self.image.width() * scale, self.image.height() * scale), self.image
            )
        finally:
            painter.end()
        return True

    def release(self) -> None:
        super().release()
        self.label.clear()
        self.image = QImage()


class MessageTab(DocumentTab):
    """Loading, an error, or a format that cannot be shown."""

    def __init__(
        self, entry: DocumentEntry, text: str, tone: Tone, parent: QWidget | None = None
    ) -> None:
        super().__init__(entry, parent)
        self.message_label = QLabel(self)
        self.message_label.setObjectName("documentMessage")
        self.message_label.setWordWrap(True)
        set_tone(self.message_label, tone, text)
        self.tone = tone
        self.body.addWidget(self.message_label)
        self.body.addStretch(1)

    def release(self) -> None:
        super().release()
        self.message_label.setText("")


ORIGIN_TEXT = {
    Origin.CDA_LEVEL1: "CDA niveau 1",
    Origin.CDA_STRUCTURED: "CDA structuré",
}


def make_tab(
    entry: DocumentEntry, viewable: Viewable, parent: QWidget | None = None
) -> DocumentTab:
    tab: DocumentTab
    if viewable.kind is ViewKind.PDF:
        tab = PdfTab(entry, viewable.data, parent)
        if not tab.loaded:
            tab.release()
            tab.deleteLater()
            return MessageTab(
                entry,
                _tr("Ce PDF est illisible ou protégé : il ne peut pas être affiché."),
                Tone.ERROR,
                parent,
            )
    elif viewable.kind is ViewKind.HTML:
        tab = HtmlTab(entry, viewable.text, parent, viewable.attachments)
    elif viewable.kind is ViewKind.TEXT:
        tab = TextTab(entry, viewable.text, parent)
    elif viewable.kind is ViewKind.IMAGE:
        tab = ImageTab(entry, viewable.data, parent)
    else:
        tab = MessageTab(
            entry,
            _tr("Ce format de document ({media}) ne peut pas être affiché ici.").format(
                media=viewable.media_type
            ),
            Tone.WARNING,
            parent,
        )
    origin = ORIGIN_TEXT.get(viewable.origin)
    if origin:
        tab.meta_label.setText(f"{tab.meta_label.text()} · {origin}")
    return tab


class DocumentViewer(QFrame):
    """Tabs of open documents, with an empty state that says how to open one."""

    currentDocumentChanged = Signal(object)  # DocumentEntry | None
    tabsChanged = Signal(int)  # number of tabs

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("documentViewer")
        self.tabs = QTabWidget(self)
        self.tabs.setObjectName("viewerTabs")
        self.tabs.setDocumentMode(True)
        self.tabs.setTabsClosable(True)
        self.tabs.setMovable(True)
        self.tabs.setUsesScrollButtons(True)
        self.tabs.setElideMode(Qt.TextElideMode.ElideRight)
        self.tabs.tabCloseRequested.connect(self.close_tab)
        self.tabs.currentChanged.connect(self._on_current_changed)
        self.empty_label = QLabel(
            self.tr(
                "Aucun document ouvert.\n\nEntrée ou double-clic : ouvrir le document choisi "
                "dans la liste.\nAlt+↑ / Alt+↓ : document précédent / suivant.\n"
                "Ctrl+W : fermer l'onglet · Ctrl+Tab : onglet suivant."
            ),
            self,
        )
        self.empty_label.setObjectName("viewerEmpty")
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_label.setWordWrap(True)
        self.empty_label.setStyleSheet("color: palette(placeholder-text);")
        self.stack = QStackedWidget(self)
        self.stack.addWidget(self.empty_label)
        self.stack.addWidget(self.tabs)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.stack)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.print_dialog: QWidget | None = None

    # -- tabs -----------------------------------------------------------------------------
    @property
    def count(self) -> int:
        return self.tabs.count()

    def tab(self, index: int) -> DocumentTab:
        widget = self.tabs.widget(index)
        if not isinstance(widget, DocumentTab):
            raise IndexError(index)
        return widget

    def all_tabs(self) -> list[DocumentTab]:
        return [self.tab(i) for i in range(self.count)]

    def current_tab(self) -> DocumentTab | None:
        widget = self.tabs.currentWidget()
        return widget if isinstance(widget, DocumentTab) else None

    def index_of(self, unique_id: str) -> int:
        for i in range(self.count):
            if self.tab(i).entry.unique_id == unique_id:
                return i
        return -1

    def _transient_index(self) -> int:
        for i in range(self.count):
            if self.tab(i).transient:
                return i
        return -1

    def begin(self, entry: DocumentEntry, *, transient: bool = False) -> DocumentTab:
        """Show that ``entry`` is being opened (at once), in its own tab or the preview tab."""
        existing = self.index_of(entry.unique_id)
        if existing >= 0:
            tab = self.tab(existing)
            if not transient:
                self._set_transient(existing, False)
            self.tabs.setCurrentIndex(existing)
            return tab
        loading = MessageTab(entry, self.tr("Ouverture du document…"), Tone.INFO)
        preview = self._transient_index() if transient else -1
        if preview >= 0:
            self._replace(preview, loading)
            index = preview
        else:
            index = self.tabs.insertTab(self.tabs.currentIndex() + 1, loading, "")
        self._set_transient(index, transient)
        self.tabs.setCurrentIndex(index)
        self.stack.setCurrentWidget(self.tabs)
        self.tabsChanged.emit(self.count)
        return loading

    def show_document(self, entry: DocumentEntry, viewable: Viewable) -> DocumentTab | None:
        """The document arrived: fill its tab (ignored if its tab was closed meanwhile)."""
        index = self.index_of(entry.unique_id)
        if index < 0:
            return None
        current = self.tab(index)
        if not isinstance(current, MessageTab):
            return current  # already shown
        tab = make_tab(entry, viewable)
        transient = current.transient
        self._replace(index, tab)
        self._set_transient(index, transient)
        if self.tabs.currentIndex() == index:
            self.currentDocumentChanged.emit(entry)
        return tab

    def show_failure(self, entry: DocumentEntry, message: str) -> None:
        index = self.index_of(entry.unique_id)
        if index < 0:
            return
        transient = self.tab(index).transient
        self._replace(index, MessageTab(entry, message, Tone.ERROR))
        self._set_transient(index, transient)

    def _replace(self, index: int, widget: DocumentTab) -> None:
        old = self.tab(index)
        current = self.tabs.currentIndex()
        self.tabs.blockSignals(True)
        try:
            self.tabs.removeTab(index)
            self.tabs.insertTab(index, widget, "")
            self.tabs.setCurrentIndex(current)
        finally:
            self.tabs.blockSignals(False)
        old.release()
        old.deleteLater()

    def _set_transient(self, index: int, transient: bool) -> None:
        tab = self.tab(index)
        tab.transient = transient
        title = _short(tab.entry.title or type_text(tab.entry))
        bar = self.tabs.tabBar()
        if transient:
            self.tabs.setTabText(index, title)
            self.tabs.setTabToolTip(
                index,
                self.tr(
                    "{title}\nAperçu : Alt+↑ / Alt+↓ le remplace par le document voisin ; "
                    "Entrée dans la liste le garde ouvert."
                ).format(title=tab.entry.title),
            )
            bar.setTabTextColor(index, self.palette().color(QPalette.ColorRole.PlaceholderText))
        else:
            self.tabs.setTabText(index, title)
            self.tabs.setTabToolTip(index, tab.entry.title)
            bar.setTabTextColor(index, self.palette().color(self.foregroundRole()))
        for side in (QTabBar.ButtonPosition.RightSide, QTabBar.ButtonPosition.LeftSide):
            button = bar.tabButton(index, side)
            if button is not None:  # named for a screen reader, never by the patient's data
                button.setAccessibleName(self.tr("Fermer l'onglet"))
                button.setToolTip(self.tr("Fermer l'onglet (Ctrl+W)"))

    def keep(self, unique_id: str) -> None:
        """Make the preview tab of ``unique_id`` a regular tab."""
        index = self.index_of(unique_id)
        if index >= 0:
            self._set_transient(index, False)

    def close_tab(self, index: int) -> None:
        if not 0 <= index < self.count:
            return
        tab = self.tab(index)
        self.tabs.removeTab(index)
        tab.release()
        tab.deleteLater()
        if self.count == 0:
            self.stack.setCurrentWidget(self.empty_label)
        self.tabsChanged.emit(self.count)

    def close_current(self) -> bool:
        if self.count == 0:
            return False
        self.close_tab(self.tabs.currentIndex())
        return True

    def next_tab(self, step: int = 1) -> None:
        if self.count > 1:
            self.tabs.setCurrentIndex((self.tabs.currentIndex() + step) % self.count)

    def clear(self) -> None:
        """Close every tab and release every document (patient changed, card removed)."""
        while self.count:
            self.close_tab(self.count - 1)
        self.stack.setCurrentWidget(self.empty_label)

    def _on_current_changed(self, _index: int) -> None:
        tab = self.current_tab()
        self.currentDocumentChanged.emit(tab.entry if tab is not None else None)

    # -- actions on the current tab --------------------------------------------------------
    def zoom_in(self) -> None:
        if (tab := self.current_tab()) is not None:
            tab.zoom_in()

    def zoom_out(self) -> None:
        if (tab := self.current_tab()) is not None:
            tab.zoom_out()

    def zoom_fit(self) -> None:
        if (tab := self.current_tab()) is not None:
            tab.zoom_fit()

    def focus_find(self) -> bool:
        tab = self.current_tab()
        bar = getattr(tab, "find_bar", None)
        if isinstance(bar, _FindBar) and bar.isEnabled():
            bar.edit.setFocus(Qt.FocusReason.ShortcutFocusReason)
            bar.edit.selectAll()
            return True
        return False

    def print_current(self) -> bool:
        """Print the current document through the system print dialog (memory only)."""
        tab = self.current_tab()
        if tab is None or not tab.printable or not PRINTING_AVAILABLE:
            return False
        printer = QPrinter(QPrinter.PrinterMode.HighResolution)
        printer.setDocName(self.tr("Document DMP"))
        dialog = QPrintDialog(printer, self)
        dialog.setWindowTitle(self.tr("Imprimer le document"))
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.accepted.connect(lambda: tab.render_to(printer))
        dialog.setWindowModality(Qt.WindowModality.WindowModal)
        dialog.show()
        self.print_dialog = dialog
        return True
