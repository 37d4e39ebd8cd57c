"""A status label's tone: its text, symbol and colours follow each change of tone or palette,
and setting the same tone again does not restyle the label (Qt repolishes it on every
``setStyleSheet``, even with the same sheet); nor does a field that stays in error."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QLabel, QLineEdit
from pytestqt.qtbot import QtBot

from dmp_desktop.ui.style import TONE_SYMBOL, Tone, restyle, set_tone, tone_css
from dmp_desktop.ui.vsm_fields import set_invalid


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


def test_a_field_in_error_is_restyled_when_its_state_changes_not_at_each_keystroke(
    qtbot: QtBot,
) -> None:
    edit = QLineEdit()
    qtbot.addWidget(edit)
    edit.setToolTip("Posologie")
    edit.show()  # Qt repolishes only a polished (shown) widget
    restyles = Restyles()
    edit.installEventFilter(restyles)

    set_invalid(edit, True, "Dose illisible : « 1,,5 »")
    assert edit.styleSheet() and edit.toolTip() == "Dose illisible : « 1,,5 »"
    styled = restyles.count
    assert styled >= 1

    set_invalid(edit, True, "Dose illisible : « 1,,50 »")  # still wrong, one key later
    assert edit.toolTip() == "Dose illisible : « 1,,50 »"  # the message follows
    assert restyles.count == styled  # the red border stays: not restyled for nothing

    set_invalid(edit, False)
    assert edit.styleSheet() == "" and edit.toolTip() == "Posologie"
    assert restyles.count > styled


def test_restyle_sets_a_new_sheet_and_skips_the_same(qtbot: QtBot) -> None:
    label = QLabel("Connecté au DMP")
    qtbot.addWidget(label)
    label.show()  # Qt repolishes only a polished (shown) widget
    restyles = Restyles()
    label.installEventFilter(restyles)
    restyle(label, "color: red;")
    first = restyles.count
    assert label.styleSheet() == "color: red;" and first >= 1
    restyle(label, "color: red;")
    assert restyles.count == first
    restyle(label, "")
    assert label.styleSheet() == "" and restyles.count > first
