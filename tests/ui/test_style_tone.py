"""A status label's tone: its text, symbol and colours follow each change of tone or palette,
and setting the same tone again does not restyle the label (Qt repolishes it on every
``setStyleSheet``, even with the same sheet)."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QLabel
from pytestqt.qtbot import QtBot

from dmp_desktop.ui.style import TONE_SYMBOL, Tone, set_tone, tone_css


class Restyles(QObject):
    """Counts the style changes Qt sends a widget."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.StyleChange:
            self.count += 1
        return False


def _palette(window: str) -> QPalette:
    palette = QPalette()
    palette.setColor(QPalette.ColorRole.Window, QColor(window))
    return palette


def test_the_label_follows_the_tone_the_text_and_the_palette(qtbot: QtBot) -> None:
    label = QLabel()
    qtbot.addWidget(label)
    label.setPalette(_palette("#f0f0f0"))  # a light window, whatever the desktop's
    restyles = Restyles()
    label.installEventFilter(restyles)

    set_tone(label, Tone.ERROR, "Carte bloquée")
    assert label.styleSheet() == tone_css(Tone.ERROR, False)
    assert label.text().endswith("Carte bloquée") and label.property("tone") == Tone.ERROR.value
    assert not label.isHidden()
    styled = restyles.count
    assert styled >= 1

    set_tone(label, Tone.ERROR, "Code PIN erroné")  # the same tone, another text
    assert label.text() == f"{TONE_SYMBOL[Tone.ERROR]} Code PIN erroné".strip()
    assert label.accessibleDescription() == "Code PIN erroné"
    assert label.styleSheet() == tone_css(Tone.ERROR, False)
    assert restyles.count == styled  # not restyled for nothing

    set_tone(label, Tone.OK, "Carte connectée")
    assert label.styleSheet() == tone_css(Tone.OK, False)
    assert label.property("tone") == Tone.OK.value
    assert restyles.count > styled

    label.setPalette(_palette("#202020"))
    set_tone(label, Tone.OK, "Carte connectée")  # same tone, dark window: dark colours
    assert label.styleSheet() == tone_css(Tone.OK, True) != tone_css(Tone.OK, False)

    set_tone(label, Tone.OK, "")
    assert label.isHidden()
