"""The one confirmation shape (ui/confirm.py): the answer that changes nothing is the
default, the action runs only when chosen, text stays plain, the holder is told."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QWidget
from pytestqt.qtbot import QtBot

from dmp_desktop.ui.confirm import open_confirmation


def _open(
    qtbot: QtBot, **options: object
) -> tuple[QMessageBox, list[str], list[object], QWidget]:
    """The box, what ran, what its holder was told, and its parent (kept alive by the
    caller: a parent deletes its children)."""
    parent = QWidget()
    qtbot.addWidget(parent)
    ran: list[str] = []
    held: list[object] = []
    box = open_confirmation(
        parent,
        title="Supprimer le document",
        text="Supprimer « <b>CR</b> » ?",
        yes="&Supprimer",
        keep="Annuler",
        on_yes=lambda: ran.append("yes"),
        hold=held.append,
        **options,  # type: ignore[arg-type]
    )
    return box, ran, held, parent


def _button(box: QMessageBox, text: str) -> object:
    return next(b for b in box.buttons() if b.text() == text)


def test_keep_is_the_default_and_nothing_runs_unless_chosen(qtbot: QtBot) -> None:
    box, ran, held, _parent = _open(qtbot, destructive=True, detail="C'est définitif.")
    assert held == [box] and box.isVisible()
    assert box.textFormat() == Qt.TextFormat.PlainText  # a typed title is never markup
    assert box.informativeText() == "C'est définitif."
    assert box.defaultButton() is _button(box, "Annuler")
    assert box.buttonRole(_button(box, "&Supprimer")) == QMessageBox.ButtonRole.DestructiveRole
    box.defaultButton().click()
    assert ran == [] and held == [box, None]

    box, ran, held, _parent2 = _open(qtbot)
    assert box.buttonRole(_button(box, "&Supprimer")) == QMessageBox.ButtonRole.AcceptRole
    _button(box, "&Supprimer").click()  # type: ignore[attr-defined]
    assert ran == ["yes"] and held == [box, None]


def test_default_yes_confirms_with_enter_and_escape_still_keeps(qtbot: QtBot) -> None:
    box, ran, _held, _parent = _open(qtbot, default_yes=True)
    assert box.defaultButton() is _button(box, "&Supprimer")
    assert box.escapeButton() is _button(box, "Annuler")
    qtbot.keyClick(box, Qt.Key.Key_Escape)
    assert ran == []

    box, ran, _held, _parent2 = _open(qtbot, default_yes=True)
    qtbot.keyClick(box, Qt.Key.Key_Return)
    assert ran == ["yes"]
