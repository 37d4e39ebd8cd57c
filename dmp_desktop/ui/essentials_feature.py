"""« L'essentiel » in the main window: the service, the pane above the document list, Ctrl+E,
and « Préparer la synthèse » (each chosen line confirmed, then the VSM editor pre-filled)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QScrollArea,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from dmp_desktop.domain.summary import MedicalSummary
from dmp_desktop.essentials.model import Line
from dmp_desktop.essentials.text import line_text
from dmp_desktop.services.essentials import EssentialsService
from dmp_desktop.ui.essentials_model import translated_phrases
from dmp_desktop.ui.essentials_pane import EssentialsPane
from dmp_desktop.ui.style import Tone, set_tone

if TYPE_CHECKING:
    from dmp_desktop.ui.main_window import MainWindow

# Rows of the documents table kept in sight when L'essentiel has lines (at 1280×800 it took
# 3/5 of the column and the table showed about 4 rows).
LIST_MIN_ROWS = 8


class PrepareDialog(QDialog):
    """The doctor confirms each line before it goes into a new synthesis (none is pre-ticked)."""

    def __init__(self, lines: list[Line], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("Préparer la synthèse"))
        self.setMinimumWidth(640)
        self.lines = lines
        intro = QLabel(
            self.tr(
                "Cochez chaque élément que vous reprenez dans la nouvelle synthèse médicale, "
                "après l'avoir vérifié. Seuls les éléments confirmés sont repris ; vous pourrez "
                "encore les modifier dans l'éditeur avant l'envoi."
            ),
            self,
        )
        intro.setWordWrap(True)
        body = QWidget(self)
        rows = QVBoxLayout(body)
        self.checks: list[QCheckBox] = []
        for line in lines:
            box = QCheckBox(line_text(line), body)
            box.setToolTip(self.tr("Source : {s}").format(s=line.source.french()))
            box.toggled.connect(self._update)
            rows.addWidget(box)
            self.checks.append(box)
            source = QLabel(self.tr("   source : {s}").format(s=line.source.french()), body)
            source.setStyleSheet("color: palette(placeholder-text);")
            rows.addWidget(source)
            if line.conflict:
                warning = QLabel(body)
                warning.setWordWrap(True)
                set_tone(warning, Tone.WARNING, line.conflict)
                rows.addWidget(warning)
        rows.addStretch(1)
        scroll = QScrollArea(self)
        scroll.setWidgetResizable(True)
        scroll.setWidget(body)
        self.buttons = QDialogButtonBox(self)
        self.ok_button = self.buttons.addButton(
            self.tr("&Ouvrir la synthèse"), QDialogButtonBox.ButtonRole.AcceptRole
        )
        self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(scroll, 1)
        layout.addWidget(self.buttons)
        self._update()

    def confirmed(self) -> list[Line]:
        return [line for line, box in zip(self.lines, self.checks, strict=True) if box.isChecked()]

    def _update(self) -> None:
        count = len(self.confirmed())
        self.ok_button.setEnabled(count > 0)
        self.ok_button.setText(self.tr("&Ouvrir la synthèse ({n} élément(s))").format(n=count))


class EssentialsFeature(QObject):
    """Builds and wires « L'essentiel » into the main window."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.service = EssentialsService(
            window.settings,
            window.consultation,
            window.dmp_service,
            phrases=translated_phrases,
            parent=self,
        )
        workspace = window.workspace
        self.pane = EssentialsPane(self.service, workspace)
        documents = workspace.documents_pane
        self.splitter = QSplitter(Qt.Orientation.Vertical, workspace)
        self.splitter.setObjectName("essentialsSplitter")
        self.splitter.setChildrenCollapsible(False)
        workspace.content_splitter.replaceWidget(0, self.splitter)
        self.splitter.addWidget(self.pane)
        self.splitter.addWidget(documents)
        self.splitter.setStretchFactor(0, 3)  # what the doctor reads first gets more room
        self.splitter.setStretchFactor(1, 2)
        # once the pane is laid out again, and while it is compact, each time its words
        # change height (a message, a wrap)
        self._reshare = QTimer(self)
        self._reshare.setSingleShot(True)
        self._reshare.setInterval(0)
        self._reshare.timeout.connect(lambda: self._share_column(self.pane.compact))
        self.pane.compactChanged.connect(lambda _compact: self._reshare.start())
        self.pane.installEventFilter(self)
        self._share_column(self.pane.compact)
        self.pane.openRequested.connect(lambda entry: workspace.open_document(entry))
        self.pane.prepareRequested.connect(self.prepare)
        self.dialog: PrepareDialog | None = None

        self.act_focus = QAction(self.tr("&L'essentiel du dossier"), window)
        self.act_focus.setShortcut(QKeySequence("Ctrl+E"))
        self.act_focus.setStatusTip(
            self.tr("Aller à L'essentiel : pathologies, allergies, traitements, résultats…")
        )
        self.act_focus.triggered.connect(self.pane.focus_tree)
        window.addAction(self.act_focus)
        window.installEventFilter(self)

    def _share_column(self, compact: bool) -> None:
        """An empty pane keeps only its words' height; with lines it reads first (3/5)."""
        total = sum(self.splitter.sizes()) or self.splitter.height()
        if total <= 0:
            return
        if compact:
            # its words' height; the documents take what a bigger window adds (stretch 0)
            needed = max(self.pane.sizeHint().height(), self.pane.minimumSizeHint().height())
            layout = self.pane.layout()
            if layout is not None and layout.hasHeightForWidth() and self.pane.width() > 0:
                # wrapped words: the height they take at the pane's width
                needed = max(needed, layout.totalHeightForWidth(self.pane.width()))
            own = min(needed, total)
            self.splitter.setStretchFactor(0, 0)
        else:
            # read first (3/5), but the list stays the doctor's main tool: never fewer than
            # LIST_MIN_ROWS rows in sight while L'essentiel can keep its own minimum
            room = total - self._documents_wanted()
            own = max(min(total * 3 // 5, room), self.pane.minimumSizeHint().height())
            self.splitter.setStretchFactor(0, 3)
        self.splitter.setSizes([own, total - own])

    def _documents_wanted(self) -> int:
        """The documents pane's height with :data:`LIST_MIN_ROWS` rows of its table in sight:
        what surrounds the table's rows as laid out now (title, notices, filters, header,
        scroll bar), else as its minimum says."""
        documents = self.window.workspace.documents_pane
        table = documents.list_page.table
        rows = table.verticalHeader().defaultSectionSize() * LIST_MIN_ROWS
        if table.isVisible() and table.viewport().height() > 0:
            return documents.height() - table.viewport().height() + rows
        header = table.horizontalHeader().sizeHint().height() + 2 * table.frameWidth()
        extra = max(0, rows + header - table.minimumSizeHint().height())
        return documents.minimumSizeHint().height() + extra

    def prepare(self, lines: list[Line]) -> PrepareDialog | None:
        """Confirm each line, then open the VSM editor pre-filled with the confirmed ones."""
        if self.dialog is not None:
            self.dialog.raise_()
            return self.dialog
        dialog = PrepareDialog(lines, self.window)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.dialog = dialog

        def done(result: int) -> None:
            self.dialog = None
            if result == QDialog.DialogCode.Accepted:
                self.open_prefilled(dialog.confirmed())

        dialog.finished.connect(done)
        dialog.open()
        return dialog

    def open_prefilled(self, lines: list[Line]) -> object:
        if not lines:
            return None
        note = self.tr(
            "Préparée depuis L'essentiel avec {n} élément(s) confirmé(s) : relisez et "
            "complétez avant l'envoi."
        ).format(n=len(lines))

        from dmp_desktop.essentials.prefill import prefill  # pydantic: not at start-up

        def fill(base: MedicalSummary) -> MedicalSummary:
            return prefill(base, lines).summary

        return self.window.vsm.open_editor(prefill=(fill, note))

    def shutdown(self) -> None:
        if self.dialog is not None:
            self.dialog.reject()
        self.service.shutdown()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if (
            watched is self.pane
            and event.type() in (QEvent.Type.LayoutRequest, QEvent.Type.Show)
            and self.pane.compact
        ):
            self._share_column(True)  # at once: a check may read the geometry now
            self._reshare.start()  # and once the wrapped words have their new height
        if watched is self.window and event.type() == QEvent.Type.Close:
            self.shutdown()
        return False
