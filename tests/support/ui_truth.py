"""Walk a window's widgets and report what a doctor would see wrong (issue 18).

Generic on purpose: it knows no widget of ours, so it checks the widgets added
later too. Each check returns :class:`Finding` objects (empty: nothing wrong):

- :func:`english` — visible text in English (our strings or Qt's own);
- :func:`clipped` — text cut by its widget (a label narrower than its text,
  a button whose caption does not fit, a widget pushed out of its window);
- :func:`unnamed` — a control a screen reader cannot name;
- :func:`mnemonic_clashes` — two controls of one window on the same Alt+letter;
- :func:`low_contrast` — a text colour hard-coded without its background that
  is hard to read on the current palette (a dark palette, typically).

English is recognised by words that are English and not French (``look``,
``files``, ``the``…), so French sentences, proper names, codes (``E11.9``,
``CPS3-DURAND``) and Latin or shared words (``type``, ``date``, ``options``)
never count. Texts are read where Qt shows them: labels, buttons, group and
tab titles, placeholders, combo items, view headers, tooltips, window titles,
accessible names and menus.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import shiboken6
from PySide6 import QtGui
from PySide6.QtCore import QModelIndex, QRect, Qt
from PySide6.QtGui import (
    QAccessible,
    QAction,
    QBrush,
    QColor,
    QKeySequence,
    QPalette,
    QShortcut,
)
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QAbstractScrollArea,
    QAbstractSlider,
    QAbstractSpinBox,
    QApplication,
    QCheckBox,
    QComboBox,
    QDialog,
    QGroupBox,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMenu,
    QMenuBar,
    QPlainTextEdit,
    QPushButton,
    QRadioButton,
    QStyle,
    QStyleOptionButton,
    QStyleOptionComboBox,
    QTabBar,
    QTextEdit,
    QToolButton,
    QWidget,
)

# Words that are English and not French. Shared words (type, date, message,
# options, version, argument, document, page, format, description, note, total,
# patient, code, image, photo, client, contact, national…) are left out.
ENGLISH_WORDS = frozenset(
    """
    the and of to is are was were be been this that these those with from for your
    you yours we our please cannot can't could should would will won't not yes
    open save saved cancel close delete remove edit view file files folder folders
    directory look name names size kind modified back next previous forward browse
    search find help settings error errors warning warnings failed failure invalid
    unknown loading ready done success successful connected disconnected login
    logout password username user select choose none true false null undo redo cut
    copy paste show hide details print preview set required choice choices expected
    unrecognized unrecognised exit program default traceback slot softhsm token
    empty missing found new old add added update updated upload uploaded download
    downloaded send pending retry cancelled canceled yesterday today
    tomorrow filter filters clear apply reset list lists field
    fields values enter press click here there what when where which who why
    how some any every each more less than then also only just into about after
    before while until because since without within between under over
    """.split()
)
_WORD = re.compile(r"[A-Za-zÀ-ÖØ-öø-ÿŒœ']+")


@dataclass(frozen=True)
class Finding:
    """What is wrong, where: ``where`` names the widget from its window down."""

    check: str
    where: str
    text: str
    detail: str = ""

    def __str__(self) -> str:
        detail = f" ({self.detail})" if self.detail else ""
        return f"[{self.check}] {self.where}: {self.text!r}{detail}"


def english_words(text: str) -> list[str]:
    """The English-only words of ``text`` (case and ``&`` mnemonics aside)."""
    plain = text.replace("&&", "\0").replace("&", "").replace("\0", "&")
    words = []
    for match in _WORD.finditer(plain):
        word = match.group(0).strip("'").lower()
        if word in ENGLISH_WORDS:
            words.append(word)
    return words


def looks_english(text: str) -> bool:
    """At least one English-only word; a lone technical word in a French sentence counts too."""
    return bool(english_words(text))


# -- walking ---------------------------------------------------------------------------
def _name(widget: QWidget) -> str:
    name = widget.objectName()
    kind = type(widget).__name__
    return f"{kind}#{name}" if name and not name.startswith("qt_") else kind


def where(widget: QWidget) -> str:
    """``MainWindow > Workspace#workspace > QLabel#statusSummary`` (named levels only)."""
    parts = [_name(widget)]
    parent = widget.parentWidget()
    while parent is not None:
        if (parent.objectName() and not parent.objectName().startswith("qt_")) or parent.isWindow():
            parts.append(_name(parent))
        if parent.isWindow():
            break
        parent = parent.parentWidget()
    return " > ".join(reversed(parts))


def shown(widget: QWidget) -> bool:
    """On screen: visible, with a size, and not in a window that is hidden."""
    return widget.isVisible() and widget.width() > 0 and widget.height() > 0


def visible_widgets(root: QWidget) -> Iterator[QWidget]:
    if shown(root):
        yield root
    for child in root.findChildren(QWidget):
        if shown(child) and child.window() is root.window():
            yield child


def plain(text: str) -> str:
    """The text as shown: mnemonics removed, rich text reduced to its characters."""
    if QtGui.Qt.mightBeRichText(text):  # type: ignore[attr-defined]
        text = re.sub(r"<br\s*/?>", "\n", text)
        text = re.sub(r"<[^>]+>", "", text)
        text = (
            text.replace("&nbsp;", "\u00a0")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&")
        )
        return text
    return text.replace("&&", "\0").replace("&", "").replace("\0", "&")


def _model_texts(view: QAbstractItemView) -> Iterator[str]:
    model = view.model()
    if model is None:
        return
    root = QModelIndex()
    try:
        columns = min(model.columnCount(root), 20)
    except TypeError:  # a list model of Qt's own whose columnCount is not public
        columns = 1
    for section in range(columns):
        for role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            value = model.headerData(section, Qt.Orientation.Horizontal, role)
            if isinstance(value, str):
                yield value
    for row in range(min(model.rowCount(root), 200)):
        for column in range(columns):
            index = model.index(row, column, root)
            for role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
                value = index.data(role)
                if isinstance(value, str):
                    yield value


def texts_of(widget: QWidget) -> Iterator[tuple[str, str]]:
    """(what, text) for every text ``widget`` itself shows or speaks."""
    if widget.isWindow():
        yield "titre de fenêtre", widget.windowTitle()
    if isinstance(widget, QLabel):
        yield "texte", widget.text()
    elif isinstance(widget, QAbstractButton):
        yield "texte", widget.text()
    elif isinstance(widget, QGroupBox):
        yield "titre", widget.title()
    elif isinstance(widget, QLineEdit):
        yield "indication", widget.placeholderText()
    elif isinstance(widget, (QTextEdit, QPlainTextEdit)):
        yield "indication", widget.placeholderText()
        if widget.isReadOnly():
            yield "texte", widget.toPlainText()[:5000]
    elif isinstance(widget, QComboBox):
        for i in range(widget.count()):
            yield "choix", widget.itemText(i)
        if widget.isEditable() and widget.lineEdit() is not None:
            yield "indication", widget.lineEdit().placeholderText()
    elif isinstance(widget, QTabBar):
        for i in range(widget.count()):
            yield "onglet", widget.tabText(i)
            yield "bulle d'onglet", widget.tabToolTip(i)
    elif isinstance(widget, QAbstractItemView) and not isinstance(widget.parentWidget(), QComboBox):
        for text in _model_texts(widget):
            yield "liste", text
    elif isinstance(widget, QAbstractSpinBox):
        yield "texte", widget.specialValueText()
        if hasattr(widget, "suffix"):
            yield "suffixe", widget.suffix()
    yield "bulle", widget.toolTip()
    yield "nom accessible", widget.accessibleName()
    yield "description accessible", widget.accessibleDescription()
    yield "aide", widget.statusTip()
    yield "aide", widget.whatsThis()


def _menu_actions(menu: QMenu) -> Iterator[QAction]:
    for action in menu.actions():
        if action.isSeparator() or not action.isVisible():
            continue
        yield action
        sub = action.menu()
        if isinstance(sub, QMenu):
            yield from _menu_actions(sub)


def window_menus(window: QWidget) -> list[tuple[str, list[QAction]]]:
    """(menu title, its visible actions) of the window's menu bar, submenus included."""
    bar = window.menuWidget() if isinstance(window, QMainWindow) else None
    out: list[tuple[str, list[QAction]]] = []
    if isinstance(bar, QMenuBar):
        top = [a for a in bar.actions() if a.isVisible() and not a.isSeparator()]
        out.append(("barre de menus", top))
        for action in top:
            menu = action.menu()
            if isinstance(menu, QMenu):
                out.append((plain(action.text()), list(_menu_actions(menu))))
    return out


# -- English ---------------------------------------------------------------------------
def english(root: QWidget, *, allowed: Iterable[str] = ()) -> list[Finding]:
    """Visible texts with English words (``allowed``: words accepted here, e.g. in diagnostics)."""
    ok = {w.lower() for w in allowed}
    found: list[Finding] = []
    for widget in visible_widgets(root):
        for what, text in texts_of(widget):
            if not text:
                continue
            words = [w for w in english_words(plain(text)) if w not in ok]
            if words:
                found.append(
                    Finding("anglais", f"{where(widget)} [{what}]", text, ", ".join(words))
                )
    for title, actions in window_menus(root.window()):
        for action in actions:
            for text in (action.text(), action.toolTip(), action.statusTip()):
                words = [w for w in english_words(plain(text)) if w not in ok]
                if text and words:
                    found.append(Finding("anglais", f"menu {title}", text, ", ".join(words)))
    return found


# -- clipping --------------------------------------------------------------------------
_TOLERANCE = 1  # px: rounding of fractional font metrics


def _label_clipped(label: QLabel) -> str | None:
    text = label.text()
    if not text or (label.pixmap() is not None and not label.pixmap().isNull()):
        return None
    rect = label.contentsRect()
    margin = label.margin() * 2
    if label.wordWrap():
        width = label.width()
        if label.hasHeightForWidth():
            needed = label.heightForWidth(width)
            if needed > label.height() + _TOLERANCE:
                return f"hauteur {label.height()} < {needed} nécessaires"
        longest = max(
            (label.fontMetrics().horizontalAdvance(word) for word in plain(text).split()),
            default=0,
        )
        if longest > rect.width() - margin + _TOLERANCE:
            return f"un mot de {longest} px dans {rect.width() - margin} px"
        return None
    hint = label.minimumSizeHint()
    if hint.width() > label.width() + _TOLERANCE:
        return f"largeur {label.width()} < {hint.width()} nécessaires"
    if hint.height() > label.height() + _TOLERANCE:
        return f"hauteur {label.height()} < {hint.height()} nécessaires"
    return None


def _button_clipped(button: QAbstractButton) -> str | None:
    text = plain(button.text())
    if not text:
        return None
    metrics = button.fontMetrics()
    needed = max(metrics.horizontalAdvance(line) for line in text.split("\n"))
    style = button.style()
    if isinstance(button, QPushButton):
        option = QStyleOptionButton()
        button.initStyleOption(option)
        contents = style.subElementRect(QStyle.SubElement.SE_PushButtonContents, option, button)
        if not button.icon().isNull():
            needed += button.iconSize().width() + 4
        if button.menu() is not None:
            needed += style.pixelMetric(QStyle.PixelMetric.PM_MenuButtonIndicator, option, button)
        available = contents.width()
    elif isinstance(button, (QCheckBox, QRadioButton)):
        option = QStyleOptionButton()
        button.initStyleOption(option)
        element = (
            QStyle.SubElement.SE_CheckBoxContents
            if isinstance(button, QCheckBox)
            else QStyle.SubElement.SE_RadioButtonContents
        )
        contents = style.subElementRect(element, option, button)
        available = contents.width()
        if not button.icon().isNull():
            needed += button.iconSize().width() + 4
    elif isinstance(button, QToolButton):
        if button.toolButtonStyle() is Qt.ToolButtonStyle.ToolButtonIconOnly:
            return None
        hint = button.sizeHint()
        if hint.width() > button.width() + _TOLERANCE:
            return f"largeur {button.width()} < {hint.width()} nécessaires"
        return None
    else:
        return None
    if needed > available + _TOLERANCE:
        return f"texte de {needed} px dans {available} px"
    return None


def _line_edit_clipped(edit: QLineEdit) -> str | None:
    """A placeholder cut short (the hint a user reads before typing)."""
    hint = edit.placeholderText()
    if not hint or edit.text():
        return None
    margins = edit.textMargins()
    # QLineEdit's frame and inner margins (Fusion: 2 px frame + 2 px each side).
    frame = edit.style().pixelMetric(QStyle.PixelMetric.PM_DefaultFrameWidth, None, edit)
    available = edit.width() - 2 * frame - 4 - margins.left() - margins.right()
    for action in edit.actions():
        if action.isVisible():
            available -= edit.height()  # the clear button and other icons take a square
            break
    needed = edit.fontMetrics().horizontalAdvance(hint)
    if needed > available + _TOLERANCE:
        return f"indication de {needed} px dans {available} px"
    return None


def _group_clipped(box: QGroupBox) -> str | None:
    title = plain(box.title())
    if not title:
        return None
    needed = box.fontMetrics().horizontalAdvance(title) + (24 if box.isCheckable() else 8)
    if needed > box.width() + _TOLERANCE:
        return f"titre de {needed} px dans {box.width()} px"
    return None


def _combo_clipped(combo: QComboBox) -> str | None:
    if combo.isEditable():
        return None
    text = combo.currentText()
    if not text:
        return None
    option = QStyleOptionComboBox()
    combo.initStyleOption(option)
    field = combo.style().subControlRect(
        QStyle.ComplexControl.CC_ComboBox, option, QStyle.SubControl.SC_ComboBoxEditField, combo
    )
    needed = combo.fontMetrics().horizontalAdvance(text)
    if not combo.itemIcon(combo.currentIndex()).isNull():
        needed += combo.iconSize().width() + 4
    if needed > field.width() + _TOLERANCE:
        return f"choix de {needed} px dans {field.width()} px"
    return None


def _inside_scroll_area(widget: QWidget) -> bool:
    parent = widget.parentWidget()
    while parent is not None and not parent.isWindow():
        if isinstance(parent, QAbstractScrollArea) and not isinstance(
            parent, (QTextEdit, QPlainTextEdit, QAbstractItemView)
        ):
            return True
        parent = parent.parentWidget()
    return False


def _outside_window(widget: QWidget) -> str | None:
    window = widget.window()
    if widget is window or _inside_scroll_area(widget):
        return None
    top_left = widget.mapTo(window, widget.rect().topLeft())
    rect = QRect(top_left, widget.size())
    bounds = window.rect()
    if rect.right() > bounds.right() + _TOLERANCE or rect.bottom() > bounds.bottom() + _TOLERANCE:
        inside = f"{bounds.right()}x{bounds.bottom()}"
        return f"déborde de la fenêtre ({rect.right()}x{rect.bottom()} > {inside})"
    return None


def clipped(root: QWidget) -> list[Finding]:
    """Texts their widget cuts, and widgets pushed out of their window."""
    found: list[Finding] = []
    for widget in visible_widgets(root):
        problem: str | None = None
        text = ""
        if isinstance(widget, QLabel):
            problem, text = _label_clipped(widget), widget.text()
        elif isinstance(widget, QAbstractButton):
            problem, text = _button_clipped(widget), widget.text()
        elif isinstance(widget, QLineEdit):
            problem, text = _line_edit_clipped(widget), widget.placeholderText()
        elif isinstance(widget, QGroupBox):
            problem, text = _group_clipped(widget), widget.title()
        elif isinstance(widget, QComboBox):
            problem, text = _combo_clipped(widget), widget.currentText()
        if problem is None and (text or isinstance(widget, (QAbstractButton, QLineEdit))):
            outside = _outside_window(widget)
            if outside is not None:
                problem, text = outside, text or _name(widget)
        if problem is not None:
            found.append(Finding("coupé", where(widget), text, problem))
    return found


# -- accessible names ------------------------------------------------------------------
_CONTROLS = (
    QAbstractButton,
    QLineEdit,
    QComboBox,
    QAbstractSpinBox,
    QAbstractSlider,
    QTextEdit,
    QPlainTextEdit,
    QAbstractItemView,
    QTabBar,
)


def accessible_name(widget: QWidget) -> str:
    """What a screen reader says for ``widget`` (its own name, its buddy's text, its caption)."""
    interface = QAccessible.queryAccessibleInterface(widget)
    name = interface.text(QAccessible.Text.Name) if interface is not None else ""
    return (name or widget.accessibleName()).strip()


def unnamed(root: QWidget) -> list[Finding]:
    """Controls a screen reader cannot name (no accessible name, no buddy label, no text)."""
    found: list[Finding] = []
    for widget in visible_widgets(root):
        if not isinstance(widget, _CONTROLS):
            continue
        if widget.focusPolicy() == Qt.FocusPolicy.NoFocus and not isinstance(
            widget, QAbstractButton
        ):
            continue
        if isinstance(widget, QAbstractSlider) and isinstance(
            widget.parentWidget(), QAbstractScrollArea
        ):
            continue  # a scroll bar of a view
        parent = widget.parentWidget()
        if isinstance(parent, QLineEdit) and widget.focusPolicy() == Qt.FocusPolicy.NoFocus:
            continue  # a line edit's own clear button (Qt's; never takes the focus)
        if parent is not None and isinstance(parent, (QAbstractSpinBox, QComboBox)):
            continue  # the inner line edit of a spin or combo box: the box is named
        if isinstance(widget, QTabBar) and isinstance(parent, QWidget) and parent.accessibleName():
            continue
        if isinstance(widget, QLineEdit) and isinstance(
            parent and parent.parentWidget(), QAbstractItemView
        ):
            continue  # an item editor
        if not accessible_name(widget):
            found.append(Finding("sans nom", where(widget), _name(widget)))
    return found


# -- mnemonics -------------------------------------------------------------------------
_MNEMONIC = re.compile(r"(?<!&)&(?!&)(\w)")


def mnemonic(text: str) -> str | None:
    match = _MNEMONIC.search(text.replace("&&", ""))
    return match.group(1).lower() if match else None


def _alt_letter(sequence: QKeySequence) -> str | None:
    text = sequence.toString(QKeySequence.SequenceFormat.PortableText)
    match = re.fullmatch(r"Alt\+(\w)", text)
    return match.group(1).lower() if match else None


def window_mnemonics(window: QWidget) -> dict[str, list[str]]:
    """Alt+letter -> what uses it in ``window`` now (visible controls, menu titles, shortcuts)."""
    used: dict[str, list[str]] = {}

    def add(letter: str | None, what: str) -> None:
        if letter:
            used.setdefault(letter, []).append(what)

    for widget in visible_widgets(window):
        if isinstance(widget, QAbstractButton):
            add(mnemonic(widget.text()), f"{_name(widget)} {plain(widget.text())!r}")
        elif isinstance(widget, QLabel) and widget.buddy() is not None:
            add(mnemonic(widget.text()), f"{_name(widget)} {plain(widget.text())!r}")
        elif isinstance(widget, QGroupBox) and widget.isCheckable():
            add(mnemonic(widget.title()), f"{_name(widget)} {plain(widget.title())!r}")
        elif isinstance(widget, QTabBar):
            for i in range(widget.count()):
                if widget.isTabVisible(i):
                    add(mnemonic(widget.tabText(i)), f"onglet {plain(widget.tabText(i))!r}")
    menus = window_menus(window)
    if menus:
        for action in menus[0][1]:
            add(mnemonic(action.text()), f"menu {plain(action.text())!r}")
    for action in window.findChildren(QAction):
        if action.isVisible():
            for sequence in action.shortcuts():
                add(_alt_letter(sequence), f"raccourci {plain(action.text())!r}")
    for shortcut in window.findChildren(QShortcut):
        parent = shortcut.parent()
        if shortcut.isEnabled() and (not isinstance(parent, QWidget) or parent.isVisible()):
            add(_alt_letter(shortcut.key()), f"raccourci {shortcut.key().toString()}")
    return used


def mnemonic_clashes(window: QWidget) -> list[Finding]:
    """The same Alt+letter on two things of one window, and twice in one menu."""
    found: list[Finding] = []
    for letter, users in sorted(window_mnemonics(window).items()):
        if len(users) > 1:
            found.append(
                Finding("Alt+lettre", _name(window), f"Alt+{letter.upper()}", " / ".join(users))
            )
    for title, actions in window_menus(window)[1:]:
        seen: dict[str, str] = {}
        for action in actions:
            letter = mnemonic(action.text())
            if letter is None:
                continue
            if letter in seen:
                found.append(
                    Finding(
                        "Alt+lettre",
                        f"menu {title}",
                        f"{letter.upper()}",
                        f"{seen[letter]!r} / {plain(action.text())!r}",
                    )
                )
            seen[letter] = plain(action.text())
    return found


# -- contrast --------------------------------------------------------------------------
_COLOUR = re.compile(r"(?<![-\w])color\s*:\s*(#[0-9a-fA-F]{6}|#[0-9a-fA-F]{3})")
_BACKGROUND = re.compile(r"background(?:-color)?\s*:\s*(#[0-9a-fA-F]{3,6}|rgba?\([^)]*\))")


def _luminance(colour: QColor) -> float:
    def channel(value: float) -> float:
        return value / 12.92 if value <= 0.03928 else ((value + 0.055) / 1.055) ** 2.4

    return (
        0.2126 * channel(colour.redF())
        + 0.7152 * channel(colour.greenF())
        + 0.0722 * channel(colour.blueF())
    )


def contrast(a: QColor, b: QColor) -> float:
    """WCAG contrast ratio (1 to 21)."""
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


MIN_CONTRAST = 4.5  # WCAG AA for body text


def low_contrast(root: QWidget) -> list[Finding]:
    """A hard-coded text colour on the palette's background it was not chosen for."""
    found: list[Finding] = []
    for widget in visible_widgets(root):
        if isinstance(widget, QAbstractItemView):
            found += _view_contrast(widget)
        sheet = widget.styleSheet()
        if not sheet:
            continue
        colour = _COLOUR.search(sheet)
        if colour is None:
            continue
        background_match = _BACKGROUND.search(sheet)
        if background_match is not None and background_match.group(1).startswith("#"):
            background = QColor(background_match.group(1))
        elif background_match is not None:
            continue  # rgba backgrounds: composed over what is below, not judged here
        else:
            role = widget.backgroundRole()
            background = widget.palette().color(role)
        ratio = contrast(QColor(colour.group(1)), background)
        if ratio < MIN_CONTRAST:
            text = widget.text() if isinstance(widget, (QLabel, QAbstractButton)) else _name(widget)
            found.append(
                Finding(
                    "contraste",
                    where(widget),
                    text,
                    f"{colour.group(1)} sur {background.name()}: {ratio:.1f}:1",
                )
            )
    return found


def _colour(value: object) -> QColor | None:
    if isinstance(value, QBrush):
        return value.color()
    if isinstance(value, QColor):
        return value
    return None


def _view_contrast(view: QAbstractItemView) -> list[Finding]:
    """Rows a model colours itself (its foreground or background role) on this palette."""
    model = view.model()
    if model is None:
        return []
    palette = view.palette()
    root = QModelIndex()
    found: list[Finding] = []
    try:
        columns = min(model.columnCount(root), 20)
    except TypeError:
        columns = 1
    for row in range(min(model.rowCount(root), 100)):
        for column in range(columns):
            index = model.index(row, column, root)
            fg = _colour(index.data(Qt.ItemDataRole.ForegroundRole))
            bg = _colour(index.data(Qt.ItemDataRole.BackgroundRole))
            if fg is None and bg is None:
                continue
            text_colour = fg or palette.color(QPalette.ColorRole.Text)
            background = bg or palette.color(QPalette.ColorRole.Base)
            ratio = contrast(text_colour, background)
            if ratio < MIN_CONTRAST:
                text = index.data(Qt.ItemDataRole.DisplayRole)
                found.append(
                    Finding(
                        "contraste",
                        where(view),
                        str(text),
                        f"{text_colour.name()} sur {background.name()}: {ratio:.1f}:1",
                    )
                )
                return found  # one row says it
    return found


# -- everything ------------------------------------------------------------------------
# -- raw placeholders: « {pack}/a », « {name} » left in a text ---------------------------------
_PLACEHOLDER = re.compile(r"\{[A-Za-z_][A-Za-z0-9_]*\}")


def raw_placeholders(root: QWidget) -> list[Finding]:
    """A text showing a placeholder or a code the user should never read (``{pack}``)."""
    found: list[Finding] = []
    for widget in visible_widgets(root):
        for what, text in texts_of(widget):
            if text and _PLACEHOLDER.search(text):
                snippet = _PLACEHOLDER.search(text)
                assert snippet is not None
                found.append(
                    Finding("gabarit", f"{where(widget)} [{what}]", text[:120], snippet.group())
                )
    return found


# -- Entrée: every dialog has a default action -----------------------------------------------
def no_default_action(window: QWidget) -> list[Finding]:
    """A dialog where Entrée does nothing, or cancels while an action is offered.

    Qt makes the first auto-default button the default when a dialog opens: a
    dialog whose buttons all refuse that (``setAutoDefault(False)``) and set no
    default leaves Entrée dead. Outside message boxes (a destructive question
    may default to « Garder »), the default must not be the dialog's cancel
    button while an accept button is there.
    """
    from PySide6.QtWidgets import QDialogButtonBox, QMessageBox, QPushButton

    if not isinstance(window, QDialog) or not window.isVisible():
        return []
    buttons = [b for b in window.findChildren(QPushButton) if shown(b)]
    if not buttons:
        return []
    defaults = [b for b in buttons if b.isDefault()]
    if not defaults:
        names = " / ".join(plain(b.text()) or _name(b) for b in buttons)
        return [Finding("Entrée", _name(window), "aucun bouton par défaut", names)]
    if isinstance(window, QMessageBox):
        return []
    found: list[Finding] = []
    for box in window.findChildren(QDialogButtonBox):
        if not shown(box):
            continue
        roles = {b: box.buttonRole(b) for b in box.buttons() if shown(b) and b.isEnabled()}
        accepting = [
            b
            for b, role in roles.items()
            if role
            in (
                QDialogButtonBox.ButtonRole.AcceptRole,
                QDialogButtonBox.ButtonRole.YesRole,
                QDialogButtonBox.ButtonRole.ApplyRole,
            )
        ]
        for button in defaults:
            if roles.get(button) is QDialogButtonBox.ButtonRole.RejectRole and accepting:
                found.append(
                    Finding(
                        "Entrée",
                        _name(window),
                        plain(button.text()),
                        f"annule au lieu de « {plain(accepting[0].text())} »",
                    )
                )
    return found


def all_windows() -> list[QWidget]:
    """The application's visible windows (main window, dialogs, message boxes)."""
    return [w for w in QApplication.topLevelWidgets() if w.isVisible() and not isinstance(w, QMenu)]


def settle() -> None:
    """Let pending layouts happen: a check reads geometry, which layouts set lazily."""
    from PySide6.QtCore import QCoreApplication, QEvent

    for _ in range(3):
        QCoreApplication.sendPostedEvents(None, QEvent.Type.LayoutRequest)
        QCoreApplication.processEvents()


def check(
    root: QWidget, *, allowed_english: Iterable[str] = (), settled: bool = False
) -> list[Finding]:
    """Every check on ``root``'s window (``settled``: layouts already done, no event handled)."""
    if not settled:
        settle()
    if not shiboken6.isValid(root):
        return []
    window = root.window()
    return [
        *english(window, allowed=allowed_english),
        *clipped(window),
        *unnamed(window),
        *mnemonic_clashes(window),
        *low_contrast(window),
        *no_default_action(window),
        *raw_placeholders(window),
    ]


def check_windows(*, allowed_english: Iterable[str] = ()) -> list[Finding]:
    """:func:`check` (with tabs) on every visible window of the application."""
    settle()
    found: list[Finding] = []
    for window in all_windows():
        if shiboken6.isValid(window):
            found += check_with_tabs(window, allowed_english=allowed_english, settled=True)
    return found


def report(findings: Iterable[Finding]) -> str:
    return "\n".join(str(f) for f in findings)


def modal_dialogs() -> list[QDialog]:
    return [w for w in all_windows() if isinstance(w, QDialog)]


# -- exploring: every menu action, every dialog it opens -----------------------------------
def check_with_tabs(
    root: QWidget, *, allowed_english: Iterable[str] = (), settled: bool = False
) -> list[Finding]:
    """:func:`check` on ``root``, once per page of each of its tab widgets."""
    from PySide6.QtCore import QCoreApplication, QEvent
    from PySide6.QtWidgets import QTabWidget

    found = check(root, allowed_english=allowed_english, settled=settled)
    for tabs in root.findChildren(QTabWidget):
        if not tabs.isVisible():
            continue
        current = tabs.currentIndex()
        for index in range(tabs.count()):
            if index == current or not tabs.isTabEnabled(index) or not tabs.isTabVisible(index):
                continue
            tabs.setCurrentIndex(index)
            # Layouts only: handling other events here could close the window being read.
            QCoreApplication.sendPostedEvents(None, QEvent.Type.LayoutRequest)
            found += check(root, allowed_english=allowed_english, settled=True)
        tabs.setCurrentIndex(current)
    unique: dict[str, Finding] = {str(f): f for f in found}
    return list(unique.values())


def close_dialogs(main: QWidget) -> None:
    for widget in all_windows():
        if widget is main:
            continue
        if isinstance(widget, QDialog):
            widget.reject()
        else:
            widget.close()


def explore_actions(
    main: QMainWindow,
    actions: Iterable[QAction],
    *,
    allowed_english: Iterable[str] = (),
    settle: object = None,
) -> dict[str, list[Finding]]:
    """Trigger each action; check every window it opens (modal or not), then close them.

    ``settle`` is called (e.g. ``qtbot.wait``) to let a window open; modal loops
    started by the action are inspected from a timer inside their own loop.
    """
    from PySide6.QtCore import QTimer

    results: dict[str, list[Finding]] = {}
    for action in actions:
        if not action.isEnabled() or not action.isVisible() or action.isCheckable():
            continue
        key = plain(action.text())
        found: list[Finding] = []
        seen: list[QWidget] = []

        busy: list[bool] = []

        def inspect(
            found: list[Finding] = found, seen: list[QWidget] = seen, busy: list[bool] = busy
        ) -> None:
            if busy:  # called again by the timer while settling: one inspection at a time
                return
            busy.append(True)
            try:
                _inspect(found, seen)
            finally:
                busy.clear()

        def _inspect(found: list[Finding], seen: list[QWidget]) -> None:
            settle()
            for window in all_windows():
                if window is main or any(window is w for w in seen):
                    continue
                if not shiboken6.isValid(window):
                    continue
                seen.append(window)  # kept: an id is not reused while we look
                found.extend(check_with_tabs(window, allowed_english=allowed_english, settled=True))
            modal = QApplication.activeModalWidget()
            if modal is not None and modal is not main:
                if isinstance(modal, QDialog):
                    modal.reject()
                else:
                    modal.close()

        timer = QTimer()
        timer.setInterval(20)
        timer.timeout.connect(inspect)
        timer.start()
        before = QApplication.focusWidget()
        action.trigger()
        if callable(settle):
            settle()
        inspect()
        timer.stop()
        close_dialogs(main)
        if callable(settle):
            settle()
        if seen and before is not None and before.window() is main:
            after = QApplication.focusWidget()
            if after is None or after.window() is not main or not after.isVisible():
                found.append(
                    Finding(
                        "focus",
                        f"après « {key} »",
                        _name(before),
                        "le focus n'est pas revenu dans la fenêtre"
                        if after is None or after.window() is not main
                        else f"sur un élément caché ({_name(after)})",
                    )
                )
        results[key] = found
    return results


def dark_palette() -> QPalette:
    """A dark window palette like a desktop's dark mode (Fusion's colours, inverted)."""
    palette = QPalette()
    role = QPalette.ColorRole
    for which, colour in (
        (role.Window, "#2b2b2b"),
        (role.WindowText, "#e8e8e8"),
        (role.Base, "#1e1e1e"),
        (role.AlternateBase, "#323232"),
        (role.Text, "#e8e8e8"),
        (role.Button, "#353535"),
        (role.ButtonText, "#e8e8e8"),
        (role.BrightText, "#ffffff"),
        (role.Highlight, "#2f6fb0"),
        (role.HighlightedText, "#ffffff"),
        (role.ToolTipBase, "#3a3a3a"),
        (role.ToolTipText, "#e8e8e8"),
        (role.PlaceholderText, "#a0a0a0"),
        (role.Link, "#8ab4f8"),
        (role.Mid, "#5a5a5a"),
        (role.Dark, "#1a1a1a"),
        (role.Light, "#505050"),
    ):
        palette.setColor(which, QColor(colour))
    for which in (role.Text, role.WindowText, role.ButtonText):
        palette.setColor(QPalette.ColorGroup.Disabled, which, QColor("#7a7a7a"))
    return palette
