"""A status label's tone: its text, symbol and colours follow each change of tone or palette,
and setting the same tone again leaves the label as it was (not restyled for nothing)."""

from __future__ import annotations

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QLabel
from pytestqt.qtbot import QtBot

from dmp_desktop.ui.style import TONE_SYMBOL, Tone, set_tone, tone_css


def test_the_label_follows_the_tone_the_text_and_the_palette(qtbot: QtBot) -> None:
    label = QLabel()
    qtbot.addWidget(label)
    set_tone(label, Tone.ERROR, "Carte bloquée")
    assert label.styleSheet() == tone_css(Tone.ERROR, False)
    assert label.text().endswith("Carte bloquée") and label.property("tone") == Tone.ERROR.value
    assert not label.isHidden()

    set_tone(label, Tone.ERROR, "Code PIN erroné")  # the same tone, another text
    assert label.styleSheet() == tone_css(Tone.ERROR, False)
    assert label.text() == f"{TONE_SYMBOL[Tone.ERROR]} Code PIN erroné".strip()
    assert label.accessibleDescription() == "Code PIN erroné"

    set_tone(label, Tone.OK, "Carte connectée")
    assert label.styleSheet() == tone_css(Tone.OK, False)
    assert label.property("tone") == Tone.OK.value

    dark = QPalette(label.palette())
    dark.setColor(QPalette.ColorRole.Window, QColor("#202020"))
    label.setPalette(dark)
    set_tone(label, Tone.OK, "Carte connectée")  # same tone, dark window: dark colours
    assert label.styleSheet() == tone_css(Tone.OK, True) != tone_css(Tone.OK, False)

    set_tone(label, Tone.OK, "")
    assert label.isHidden()
