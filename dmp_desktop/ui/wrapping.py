"""Word-wrapped labels that keep the height their text needs at their width.

A splitter or a main window lays its panes out from their minimum size hints,
which ignore height-for-width: a wrapped label given a narrow pane (the
document list beside an open document) is then squeezed and its last line cut.
:func:`keep_wrapped_height` makes the label's minimum height follow its width
and text, so the layouts above it give it room (the table under it shrinks).
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QRect, Qt
from PySide6.QtWidgets import QLabel


def fit(label: QLabel) -> None:
    """Set ``label``'s minimum height to what its text needs at its current width."""
    if not label.wordWrap() or label.width() <= 0:
        return
    needed = 0
    if label.text():
        # Measured apart: QLabel.heightForWidth counts the minimum height set here.
        margins = label.contentsMargins()
        inner = label.width() - margins.left() - margins.right() - 2 * label.margin()
        flags = int(Qt.TextFlag.TextWordWrap) | int(label.alignment().value)
        text = (
            label.text().replace("&", "&&")
            if label.textFormat() is Qt.TextFormat.PlainText
            else label.text()
        )
        box = label.fontMetrics().boundingRect(QRect(0, 0, max(inner, 1), 0), flags, text)
        needed = box.height() + margins.top() + margins.bottom() + 2 * label.margin()
    if needed != label.minimumHeight():
        label.setMinimumHeight(needed)


class _WrappedHeight(QObject):
    """Refits its labels when one is resized or shown, or a text changes (the parent's
    layout is then asked to lay out again)."""

    def __init__(self, parent: QObject) -> None:
        super().__init__(parent)
        self.labels: list[QLabel] = []

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() in (QEvent.Type.Resize, QEvent.Type.Show, QEvent.Type.LayoutRequest):
            for label in self.labels:
                fit(label)
        return False


def keep_wrapped_height(*labels: QLabel) -> None:
    """Keep each word-wrapped label's minimum height fitted to its width and text."""
    for label in labels:
        parent = label.parentWidget()
        keeper = _WrappedHeight(label)
        keeper.labels.append(label)
        label.installEventFilter(keeper)
        if parent is not None:
            parent.installEventFilter(keeper)
        fit(label)
