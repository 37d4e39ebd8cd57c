"""The confirmation every irreversible or patient-facing action asks first.

One shape for all of them (delete, mask, archive, abandon an upload, record an
objection, block a professional, reactivate a record): a window-modal box that
does not block the event loop (``open``), plain text (a title or a name typed by
someone is never read as markup), the answer that changes nothing as the
default unless the caller says otherwise, and the action run only when the
professional chose it.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QWidget


def open_confirmation(
    parent: QWidget,
    *,
    title: str,
    text: str,
    yes: str,
    keep: str,
    on_yes: Callable[[], object],
    detail: str | None = None,
    icon: QMessageBox.Icon = QMessageBox.Icon.Question,
    destructive: bool = False,
    default_yes: bool = False,
    hold: Callable[[QMessageBox | None], None] | None = None,
) -> QMessageBox:
    """Open the confirmation and return it (already shown, deleted once closed).

    ``hold`` is told the box when it opens and ``None`` when it closes (the
    panels keep it as ``confirm_box``, for the tests and to close it on a
    patient change). ``default_yes``: Entrée confirms, Échap still keeps.
    """
    box = QMessageBox(icon, title, text, parent=parent)
    box.setTextFormat(Qt.TextFormat.PlainText)
    if detail:
        box.setInformativeText(detail)
    roles = QMessageBox.ButtonRole
    role = roles.DestructiveRole if destructive else roles.AcceptRole
    yes_button = box.addButton(yes, role)
    keep_button = box.addButton(keep, roles.RejectRole)
    if default_yes:
        box.setDefaultButton(yes_button)
        box.setEscapeButton(keep_button)
    else:
        box.setDefaultButton(keep_button)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    if hold is not None:
        hold(box)

    def done(_result: int) -> None:
        if hold is not None:
            hold(None)
        if box.clickedButton() is yes_button:
            on_yes()

    box.finished.connect(done)
    box.open()
    return box


__all__ = ["open_confirmation"]
