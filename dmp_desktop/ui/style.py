"""Colours and small styling helpers. Meaning is never carried by colour alone:
every coloured message also starts with a word or a symbol that says the same."""

from __future__ import annotations

import enum

from PySide6.QtGui import QColor, QFont, QPalette
from PySide6.QtWidgets import QAbstractButton, QApplication, QLabel, QWidget


class Tone(enum.Enum):
    NEUTRAL = "neutral"
    INFO = "info"
    OK = "ok"
    WARNING = "warning"
    ERROR = "error"
    DANGER = "danger"  # the one that must not be missed (last PIN try)


# (text, background, border) on a light palette, and on a dark one (a light box in a
# dark window dazzles; each pair has a contrast of at least 4.5:1).
_TONES: dict[Tone, tuple[str, str, str]] = {
    Tone.INFO: ("#0d3c61", "#e5f1fb", "#a9cbe8"),
    Tone.OK: ("#1b5e20", "#e6f4ea", "#9fd0ab"),
    Tone.WARNING: ("#6b4200", "#fff4d6", "#e8c36a"),
    Tone.ERROR: ("#8c1d18", "#fdecea", "#e6a7a2"),
    Tone.DANGER: ("#ffffff", "#b3261e", "#7f1d18"),
}
_DARK_TONES: dict[Tone, tuple[str, str, str]] = {
    Tone.INFO: ("#d2e3fc", "#0b2a47", "#2f5f8f"),
    Tone.OK: ("#ceead6", "#0d3318", "#2e6b3a"),
    Tone.WARNING: ("#fce8b2", "#3d2b00", "#8a6a1a"),
    Tone.ERROR: ("#fad2cf", "#45100d", "#8c3a33"),
    Tone.DANGER: ("#ffffff", "#b3261e", "#f28b82"),
}
# A tone as a text colour alone (status bar, list rows): (light palette, dark palette).
_TEXT_COLOURS: dict[Tone, tuple[str, str]] = {
    Tone.INFO: ("#0d3c61", "#8ab4f8"),
    Tone.OK: ("#1b5e20", "#81c995"),
    Tone.WARNING: ("#6b4200", "#fdd663"),
    Tone.ERROR: ("#b3261e", "#f28b82"),
    Tone.DANGER: ("#b3261e", "#f28b82"),
}


def is_dark(palette: QPalette | None = None) -> bool:
    """A dark window background (the system's dark mode, or a dark palette)."""
    colours = palette if palette is not None else QApplication.palette()
    return colours.color(QPalette.ColorRole.Window).lightness() < 128


def tone_text_colour(tone: Tone, palette: QPalette | None = None) -> QColor:
    """The tone's colour for text drawn straight on the window (readable on light or dark)."""
    if tone is Tone.NEUTRAL:
        colours = palette if palette is not None else QApplication.palette()
        return colours.color(QPalette.ColorRole.PlaceholderText)
    light, dark = _TEXT_COLOURS[tone]
    return QColor(dark if is_dark(palette) else light)


# Rows written by the patient (class 90): a violet tint with its own text colour,
# (background, text) on a light palette and on a dark one (contrast at least 7:1).
PATIENT_ROW_COLOURS = {False: ("#efe4fa", "#2e1650"), True: ("#3a2752", "#efe4fa")}


def patient_row_colours(palette: QPalette | None = None) -> tuple[QColor, QColor]:
    """(background, text) of a row the patient wrote, for this palette (light or dark)."""
    background, text = PATIENT_ROW_COLOURS[is_dark(palette)]
    return QColor(background), QColor(text)


def chip_css(palette: QPalette | None = None) -> str:
    """A small rounded chip (the CIM-10, ATC… code beside its label) in the information
    tone of this palette: light blue in a light window, dark blue in a dark one (a light
    chip in a dark window dazzles), text at 4.5:1 or more on it."""
    fg, bg, border = (_DARK_TONES if is_dark(palette) else _TONES)[Tone.INFO]
    return (
        f"QLabel {{ color: {fg}; background: {bg}; border: 1px solid {border};"
        " border-radius: 8px; padding: 1px 6px; }"
    )


# (background, text, dashed border) of the drop box: light palette, dark palette
_DROP_OVERLAY = {
    False: ("rgba(229, 241, 251, 235)", "#0d3c61", "#2f6fb0"),
    True: ("rgba(11, 42, 71, 235)", "#d2e3fc", "#8ab4f8"),
}


def drop_overlay_css(palette: QPalette | None = None) -> str:
    """The box shown over the patient's view while a file is dragged, for this palette
    (it stayed light blue over a dark window); text at 4.5:1 or more on it."""
    background, text, border = _DROP_OVERLAY[is_dark(palette)]
    return (
        f"QLabel#dropOverlay {{ background: {background}; color: {text};"
        f" border: 3px dashed {border}; border-radius: 10px; font-size: 16pt;"
        " font-weight: bold; padding: 30px; }"
    )


# Symbols that repeat the tone for people who do not see the colour.
TONE_SYMBOL: dict[Tone, str] = {
    Tone.NEUTRAL: "",
    Tone.INFO: "ℹ",
    Tone.OK: "✔",
    Tone.WARNING: "⚠",
    Tone.ERROR: "✖",
    Tone.DANGER: "⚠",
}

TRAINING_BADGE_CSS = (
    "QLabel { color: #3d2600; background: #f6b73c; border: 1px solid #c98a10;"
    " border-radius: 4px; padding: 3px 10px; font-weight: bold; letter-spacing: 1px; }"
)


def tone_css(tone: Tone, dark: bool = False) -> str:
    if tone is Tone.NEUTRAL:
        return "QLabel { color: palette(placeholder-text); padding: 2px 0px; }"
    fg, bg, border = (_DARK_TONES if dark else _TONES)[tone]
    weight = " font-weight: bold;" if tone is Tone.DANGER else ""
    return (
        f"QLabel {{ color: {fg}; background: {bg}; border: 1px solid {border};"
        f" border-radius: 4px; padding: 6px 8px;{weight} }}"
    )


def restyle(widget: QWidget, css: str) -> None:
    """Give ``widget`` the style sheet ``css``, unless it has it already.

    Qt repolishes a widget (and its children) on every ``setStyleSheet``, even
    with the very sheet it has: status labels and fields in error, restyled at
    each change of state or each keystroke, go through here.
    """
    if widget.styleSheet() != css:
        widget.setStyleSheet(css)


def set_tone(label: QLabel, tone: Tone, text: str) -> None:
    """Show ``text`` in ``label`` with a tone (colour plus a leading symbol)."""
    symbol = TONE_SYMBOL[tone]
    label.setText(f"{symbol} {text}" if symbol and text else text)
    restyle(label, tone_css(tone, is_dark(label.palette())))
    label.setAccessibleDescription(text)
    label.setProperty("tone", tone.value)
    label.setVisible(bool(text))


def paper(widget: QWidget) -> None:
    """A document is read as on paper: dark text on white, whatever the window's palette.

    The rendered CDA, its tables and the VSM's preview are written for a white page;
    on a dark window they were dark grey on black.
    """
    palette = QPalette(widget.palette())
    for group in (QPalette.ColorGroup.Active, QPalette.ColorGroup.Inactive):
        palette.setColor(group, QPalette.ColorRole.Base, QColor("#ffffff"))
        palette.setColor(group, QPalette.ColorRole.Text, QColor("#1a1a1a"))
        palette.setColor(group, QPalette.ColorRole.AlternateBase, QColor("#f4f4f4"))
        palette.setColor(group, QPalette.ColorRole.Link, QColor("#0b57d0"))
        palette.setColor(group, QPalette.ColorRole.PlaceholderText, QColor("#6b6b6b"))
    palette.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Base, QColor("#f4f4f4"))
    palette.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text, QColor("#6b6b6b"))
    widget.setPalette(palette)


def scaled_font(widget: QWidget, factor: float, *, bold: bool = False) -> QFont:
    font = QFont(widget.font())
    size = font.pointSizeF()
    if size <= 0:
        size = QApplication.font().pointSizeF() or 10.0
    font.setPointSizeF(size * factor)
    font.setBold(bold)
    return font


def make_primary(button: QAbstractButton) -> None:
    """The one action a screen is about: a little taller, bold label."""
    button.setFont(scaled_font(button, 1.0, bold=True))
    button.setMinimumHeight(button.fontMetrics().height() + 16)
    button.setMinimumWidth(160)
