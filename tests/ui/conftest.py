"""Fixtures of the window tests: one real CardManager on the SoftHSM cards per run,
fakes for the rest, and a helper that finds every text a widget shows."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from PySide6.QtWidgets import (
    QAbstractButton,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QTextEdit,
    QWidget,
)
from pytestqt.qtbot import QtBot

from dmp_desktop.app import build_app
from dmp_desktop.services.card_service import CardBackend
from dmp_desktop.settings import SOFTHSM_MODULE, Settings
from dmp_desktop.ui.main_window import MainWindow
from tests.ui.fakes import DURAND, FakeCard, FakeCardManager, FakeDmp


@pytest.fixture(scope="session")
def real_card_manager(
    request: pytest.FixtureRequest, training_env: object
) -> Iterator[CardBackend]:
    """The one real CardManager of the test run (python-pkcs11 keeps one library per process).

    A session-wide ``card_manager`` fixture, if the project defines one, is reused.
    """
    try:
        shared = request.getfixturevalue("card_manager")
    except pytest.FixtureLookupError:
        shared = None
    if shared is not None:
        yield shared
        return
    from dmp_desktop.smartcard.card import CardManager

    manager = CardManager([SOFTHSM_MODULE])
    yield manager
    manager.close()


@pytest.fixture
def fake_dmp() -> FakeDmp:
    return FakeDmp()


@pytest.fixture
def durand_card() -> FakeCard:
    return FakeCard("CPS3-DURAND", DURAND, "1234")


@pytest.fixture
def fake_cards(durand_card: FakeCard) -> Iterator[FakeCardManager]:
    manager = FakeCardManager([durand_card])
    yield manager
    manager.close()
    assert manager.wrong_thread_calls == 0, "a card call ran outside the card thread"


WindowFactory = Callable[..., MainWindow]


@pytest.fixture
def make_window(qtbot: QtBot) -> WindowFactory:
    def make(settings: Settings, manager: CardBackend | None, dmp: FakeDmp) -> MainWindow:
        window = build_app(settings, dmp_factory=dmp.factory, card_manager=manager)
        qtbot.addWidget(window)  # closed (and its services shut down) after the test
        window.show()
        return window

    return make


def visible_texts(root: QWidget) -> list[str]:
    """Every text the window holds in a widget: contents, tooltips, accessible texts."""
    texts = [root.windowTitle()]
    for widget in root.findChildren(QWidget):
        if isinstance(widget, QLineEdit):
            texts += [widget.text(), widget.displayText()]
        elif isinstance(widget, QLabel):
            texts.append(widget.text())
        elif isinstance(widget, (QTextEdit, QPlainTextEdit)):
            texts.append(widget.toPlainText())
        elif isinstance(widget, QAbstractButton):
            texts.append(widget.text())
        texts += [widget.toolTip(), widget.accessibleName(), widget.accessibleDescription()]
    return [t for t in texts if t]
