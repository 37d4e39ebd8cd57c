"""The pane « L'essentiel »: what the record's structured documents say, at a glance.

Shown above the document list as soon as a record opens. It speaks of what
was read and what was not: how many structured documents the lines come
from, how many are not read yet (the DMP traces every retrieval: they are
loaded only with « Charger les documents structurés »), how many lines
disagree between sources or are new since the last visit, and what the
documents hold that is not shown here.

Keyboard: Entrée opens the line's source document; Espace checks a line for
« Préparer la synthèse » (Ctrl+Maj+P); Ctrl+E comes here from anywhere in the
window (set up by the workspace).
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QModelIndex, QObject, Qt, Signal
from PySide6.QtGui import QKeyEvent, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from dmp_desktop.domain.document import DocumentEntry
from dmp_desktop.essentials.model import Line
from dmp_desktop.services.essentials import EssentialsService, EssentialsView
from dmp_desktop.ui.essentials_model import Column, EssentialsModel, EssentialsProxy, LineRole
from dmp_desktop.ui.style import Tone, set_tone
from dmp_desktop.ui.widgets import heading


class _Keys(QObject):
    """Entrée on a line opens its source (item views do not say « activated » everywhere)."""

    def __init__(self, pane: EssentialsPane) -> None:
        super().__init__(pane)
        self.pane = pane

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.KeyPress and isinstance(event, QKeyEvent):
            if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
                if not event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier:
                    self.pane.open_current()
                    return True
        return False


class EssentialsPane(QFrame):
    """« L'essentiel » of the open record, with its two actions."""

    openRequested = Signal(object)  # DocumentEntry: the source of a line
    prepareRequested = Signal(list)  # the checked lines (list[Line])
    compactChanged = Signal(bool)  # True: no line to show, the pane keeps only its words

    def __init__(self, service: EssentialsService, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("essentialsPane")
        self.service = service
        self.model = EssentialsModel(self)
        self.proxy = EssentialsProxy(self)
        self.proxy.setSourceModel(self.model)
        self._compact: bool | None = None

        title = heading(self.tr("L'essentiel"), self)
        self.summary_label = QLabel(self)
        self.summary_label.setObjectName("essentialsSummary")
        self.summary_label.setWordWrap(True)
        self.summary_label.setTextFormat(Qt.TextFormat.PlainText)
        header = QHBoxLayout()
        header.addWidget(title)
        header.addWidget(self.summary_label, 1)

        self.unread_label = QLabel(self)
        self.unread_label.setObjectName("essentialsUnread")
        self.unread_label.setWordWrap(True)
        self.load_button = QPushButton(self.tr("Char&ger les documents structurés"), self)
        self.load_button.setObjectName("essentialsLoad")
        self.load_button.setToolTip(
            self.tr(
                "Récupère dans le DMP les documents structurés de la liste pas encore lus. "
                "Chaque récupération est tracée dans le DMP et visible par le patient."
            )
        )
        self.load_button.clicked.connect(self.service.load_structured)
        # A label, not a QProgressBar: the bar repaints itself (and the pane under it) at once
        # on every value, 40 ms and more with the tree; a label's repaint waits for the loop.
        self.progress = QLabel(self)
        self.progress.setObjectName("essentialsProgress")
        self.progress.setAccessibleName(self.tr("Documents structurés chargés"))
        self.progress.hide()
        self.cancel_button = QPushButton(self.tr("Annuler"), self)
        self.cancel_button.clicked.connect(self.service.cancel_load)
        self.cancel_button.hide()
        loading = QHBoxLayout()
        loading.addWidget(self.unread_label, 1)
        loading.addWidget(self.progress)
        loading.addWidget(self.cancel_button)
        loading.addWidget(self.load_button)

        self.filter_edit = QLineEdit(self)
        self.filter_edit.setObjectName("essentialsFilter")
        self.filter_edit.setPlaceholderText(
            self.tr("Filtrer (ex. : HbA1c, amoxicilline, sous-cutanée)")
        )
        self.filter_edit.setClearButtonEnabled(True)
        self.filter_edit.setAccessibleName(self.tr("Filtrer L'essentiel"))
        self.filter_edit.textChanged.connect(self._on_filter)

        self.tree = QTreeView(self)
        self.tree.setObjectName("essentialsTree")
        self.tree.setModel(self.proxy)
        self.tree.setAccessibleName(self.tr("L'essentiel du dossier"))
        self.tree.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.tree.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.tree.setUniformRowHeights(True)
        self.tree.setAlternatingRowColors(True)
        self.tree.setAllColumnsShowFocus(True)
        self.tree.setExpandsOnDoubleClick(False)
        head = self.tree.header()
        head.setStretchLastSection(True)
        head.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.tree.doubleClicked.connect(lambda _index: self.open_current())
        self.tree.installEventFilter(_Keys(self))

        self.left_out_label = QLabel(self)
        self.left_out_label.setObjectName("essentialsLeftOut")
        self.left_out_label.setWordWrap(True)
        self.message_label = QLabel(self)
        self.message_label.setWordWrap(True)
        self.message_label.hide()
        self.prepare_button = QPushButton(self.tr("Préparer la s&ynthèse…"), self)
        self.prepare_button.setObjectName("essentialsPrepare")
        self.prepare_button.setShortcut(QKeySequence("Ctrl+Shift+P"))
        self.prepare_button.setToolTip(
            self.tr(
                "Prépare une nouvelle synthèse médicale (VSM) avec les lignes cochées "
                "(Espace pour cocher) ; vous confirmez chacune avant l'ouverture de l'éditeur. "
                "Ctrl+Maj+P"
            )
        )
        self.prepare_button.setEnabled(False)
        self.prepare_button.clicked.connect(self._on_prepare)
        # the button beside the filter, not on a row of its own: the documents list below
        # keeps that row (at 1280×800 every row counts)
        tools = QHBoxLayout()
        tools.addWidget(self.filter_edit, 1)
        tools.addWidget(self.prepare_button)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 10, 12, 8)
        layout.setSpacing(6)
        layout.addLayout(header)
        layout.addLayout(loading)
        layout.addWidget(self.message_label)
        layout.addLayout(tools)
        layout.addWidget(self.tree, 1)
        layout.addWidget(self.left_out_label)

        self.model.dataChanged.connect(lambda *_: self._update_prepare())
        service.essentialsReady.connect(self.show_view)
        service.essentialsCleared.connect(self.clear)
        service.loadingChanged.connect(self._on_loading)
        service.loadProgress.connect(self._on_progress)
        service.failed.connect(self.show_failure)
        self.clear()

    # -- content -------------------------------------------------------------------------
    def show_view(self, view: EssentialsView) -> None:
        current = self.current_line()
        essentials = view.essentials
        rows = view.rows or None
        had_lines = self.model.rowCount() > 0
        self.model.set_essentials(essentials, rows)
        self._expand()
        if not had_lines and essentials.lines:  # sized once, not at every update
            self._size_columns()
        if current is not None:
            self.select_fingerprint(current.fingerprint)
        parts = [
            self.tr("lu dans {n} document(s) structuré(s)").format(n=essentials.documents_read)
        ]
        conflicts = len({line.conflict_key for line in essentials.conflicts})
        if conflicts:
            parts.append(self.tr("⚠ {n} point(s) où les sources divergent").format(n=conflicts))
        if not essentials.first_visit and essentials.new_lines:
            parts.append(
                self.tr("● {n} nouveauté(s) depuis votre dernière visite").format(
                    n=len(essentials.new_lines)
                )
            )
        self.summary_label.setText(" · ".join(parts))
        if view.unread and not self.service.loading:
            set_tone(
                self.unread_label,
                Tone.INFO,
                self.tr(
                    "{n} document(s) structuré(s) de la liste pas encore lu(s) : ils ne sont "
                    "récupérés qu'à votre demande (chaque récupération est tracée)."
                ).format(n=view.unread),
            )
        elif not view.structured:
            set_tone(
                self.unread_label,
                Tone.NEUTRAL,
                self.tr("Aucun document structuré dans la liste affichée."),
            )
        else:
            self.unread_label.setText("")
            self.unread_label.hide()
        self.load_button.setVisible(bool(view.unread) or self.service.loading)
        self.load_button.setEnabled(bool(view.unread) and not self.service.loading)
        self.load_button.setText(
            self.tr("Char&ger les documents structurés ({n})").format(n=view.unread)
        )
        count = sum(item.count for _, item in essentials.left_out)
        if count or essentials.unreadable:
            text = self.tr("{n} élément(s) des documents non repris ici").format(n=count)
            if essentials.unreadable:
                text += " · " + self.tr("{n} document(s) illisible(s)").format(
                    n=len(essentials.unreadable)
                )
            self.left_out_label.setText(text)
            detail = [f"{source.title} : {item.french()}" for source, item in essentials.left_out]
            detail += [f"{source.title} : {problem}" for source, problem in essentials.unreadable]
            self.left_out_label.setToolTip("\n".join(detail[:60]))
            self.left_out_label.show()
        else:
            self.left_out_label.hide()
        if not essentials.lines and not view.unread:
            self.tree.setToolTip(self.tr("Rien à montrer pour l'instant."))
        self._set_compact(not essentials.lines)
        self._update_prepare()

    @property
    def compact(self) -> bool:
        return bool(self._compact)

    def _set_compact(self, compact: bool) -> None:
        """No line: the filter and the empty tree are hidden; the splitter then gives the pane
        only its words' height (EssentialsFeature), the documents list gets the room."""
        if compact == self._compact:
            return
        self._compact = compact
        self.filter_edit.setVisible(not compact)
        self.tree.setVisible(not compact)
        self.prepare_button.setVisible(not compact)  # nothing to prepare from
        self.compactChanged.emit(compact)

    def _size_columns(self) -> None:
        width = max(self.tree.viewport().width(), 600)
        self.tree.setColumnWidth(Column.ITEM, width * 34 // 100)
        self.tree.setColumnWidth(Column.DETAIL, width * 30 // 100)
        self.tree.setColumnWidth(
            Column.DATE, self.fontMetrics().horizontalAdvance("00/00/0000") + 24
        )

    def clear(self) -> None:
        self.model.clear()
        self.filter_edit.clear()
        self.summary_label.setText(
            self.tr("s'affiche à l'ouverture d'un dossier, à partir des documents structurés.")
        )
        self.unread_label.hide()
        self.load_button.hide()
        self.progress.hide()
        self.cancel_button.hide()
        self.left_out_label.hide()
        self.message_label.hide()
        self._set_compact(True)
        self._update_prepare()

    def show_failure(self, message: str) -> None:
        set_tone(self.message_label, Tone.ERROR, message)

    def _on_loading(self, loading: bool) -> None:
        self.progress.setVisible(loading)
        self.cancel_button.setVisible(loading)
        self.load_button.setEnabled(not loading)
        if loading:
            self.message_label.hide()
            self.progress.setText(self.tr("Chargement…"))

    def _on_progress(self, done: int, total: int) -> None:
        self.progress.setText(
            self.tr("{done} / {total} documents lus").format(done=done, total=total)
        )

    def _on_filter(self, text: str) -> None:
        self.proxy.set_filter_text(text)
        self._expand()

    def _expand(self) -> None:
        """Every rubric open (two levels only: cheaper than expandAll's walk of every row)."""
        for row in range(self.proxy.rowCount()):
            self.tree.expand(self.proxy.index(row, 0))

    # -- lines ---------------------------------------------------------------------------
    def current_line(self) -> Line | None:
        index = self.tree.currentIndex()
        if not index.isValid():
            return None
        line = self.proxy.data(index.siblingAtColumn(0), LineRole)
        return line if isinstance(line, Line) else None

    def select_fingerprint(self, fingerprint: str) -> bool:
        for group in range(self.proxy.rowCount()):
            parent = self.proxy.index(group, 0)
            for row in range(self.proxy.rowCount(parent)):
                index = self.proxy.index(row, 0, parent)
                line = self.proxy.data(index, LineRole)
                if isinstance(line, Line) and line.fingerprint == fingerprint:
                    self.tree.setCurrentIndex(index)
                    return True
        return False

    def first_line_index(self) -> QModelIndex:
        for group in range(self.proxy.rowCount()):
            parent = self.proxy.index(group, 0)
            if self.proxy.rowCount(parent):
                return self.proxy.index(0, 0, parent)
        return QModelIndex()

    def focus_tree(self) -> None:
        if self.compact and self.load_button.isVisible():
            self.load_button.setFocus(Qt.FocusReason.ShortcutFocusReason)  # no line yet
            return
        self.tree.setFocus(Qt.FocusReason.ShortcutFocusReason)
        if self.current_line() is None:
            first = self.first_line_index()
            if first.isValid():
                self.tree.setCurrentIndex(first)

    def open_current(self) -> DocumentEntry | None:
        """Entrée: the document the current line comes from, opened in the viewer."""
        line = self.current_line()
        if line is None:
            index = self.tree.currentIndex()
            if index.isValid():
                self.tree.setExpanded(index, not self.tree.isExpanded(index))
            return None
        entry = self.service.entry(line.source.unique_id)
        if entry is None:
            set_tone(
                self.message_label,
                Tone.WARNING,
                self.tr("Ce document n'est plus dans la liste affichée."),
            )
            return None
        self.openRequested.emit(entry)
        return entry

    def _update_prepare(self) -> None:
        self.prepare_button.setEnabled(bool(self.model.checked_lines()))

    def _on_prepare(self) -> None:
        lines = self.model.checked_lines()
        if lines:
            self.prepareRequested.emit(lines)
