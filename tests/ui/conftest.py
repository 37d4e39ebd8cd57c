"""Fixtures of the window tests: one real CardManager on the SoftHSM cards per run,
fakes for the rest, a helper that finds every text a widget shows, and the helpers of the
end-to-end window tests (the real window on a training host, logging in with a card)."""

from __future__ import annotations

import dataclasses
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractButton,
    QApplication,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QTextEdit,
    QWidget,
)
from pytestqt.qtbot import QtBot

from dmp_desktop.app import build_app, configure_application
from dmp_desktop.services.card_service import DEFAULT_POLL_INTERVAL_MS, CardBackend
from dmp_desktop.settings import SOFTHSM_MODULE, Settings
from dmp_desktop.ui.main_window import MainWindow
from dmp_sandbox.server import RunningHost, run_in_thread
from dmp_sandbox.training import TrainingEnv
from tests.ui import scaled_run
from tests.ui.fakes import DURAND, FakeCard, FakeCardManager, FakeDmp

SCALED_RUN = pytest.StashKey[scaled_run.ScaledRun]()


def pytest_collection_finish(session: pytest.Session) -> None:
    """Start the walk at 150 % now if this session runs its test (see tests.ui.scaled_run)."""
    if scaled_run.is_scaled_run() or session.config.option.collectonly:
        return
    if any(item.name == scaled_run.TEST_NAME for item in session.items):
        session.config.stash[SCALED_RUN] = scaled_run.start()


def pytest_unconfigure(config: pytest.Config) -> None:
    run = config.stash.get(SCALED_RUN, None)
    if run is not None:  # its test did not run (a failure with -x, Ctrl-C): nothing left
        run.stop()


@pytest.fixture
def scaled_window_run(request: pytest.FixtureRequest) -> scaled_run.ScaledRun:
    """The walk at 150 %, started with the session (or now, if it was not)."""
    run = request.config.stash.get(SCALED_RUN, None)
    return run if run is not None else scaled_run.start()


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


@pytest.fixture(scope="session", autouse=True)
def configured_application(qapp: QApplication) -> QApplication:
    """The tests' QApplication set up as dmp-desktop's own: Fusion, base font, Qt in French."""
    configure_application(qapp)
    return qapp


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
    def make(
        settings: Settings,
        manager: CardBackend | None,
        dmp: FakeDmp,
        *,
        poll_interval_ms: int = DEFAULT_POLL_INTERVAL_MS,
    ) -> MainWindow:
        """The window; ``poll_interval_ms``: how often the readers are read (the product's
        one second unless a test that inserts and pulls cards asks for less)."""
        window = build_app(
            settings,
            dmp_factory=dmp.factory,
            card_manager=manager,
            poll_interval_ms=poll_interval_ms,
        )
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


@pytest.fixture(scope="session")
def seeded_demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite host database migrated and seeded with the demo patients and documents,
    made once per test run: each training host of the window tests starts on its own copy
    (:func:`demo_db_copy`), the same as seeding its own, in a few milliseconds."""
    from dmp_sandbox.demo import seed_demo
    from dmp_sandbox.store import Store

    path = tmp_path_factory.mktemp("demo-db") / "seeded.db"
    with Store(f"sqlite:///{path}") as store:
        seed_demo(store)
    return path


def demo_db_copy(seeded: Path, destination: Path) -> str:
    """A copy of the seeded database at ``destination`` (SQLite's backup: whole, whatever
    its journal holds); its URL."""
    source = sqlite3.connect(seeded)
    target = sqlite3.connect(destination)
    try:
        source.backup(target)
    finally:
        target.close()
        source.close()
    return f"sqlite:///{destination}"


@pytest.fixture(scope="module")
def training_host(
    request: pytest.FixtureRequest,
    training_env: TrainingEnv,
    seeded_demo_db: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[RunningHost]:
    """The training host over its own SQLite database seeded with the demo patients and
    documents, one per test module (its end-to-end window tests share it)."""
    module = request.module.__name__.rsplit(".", 1)[-1]
    db = tmp_path_factory.mktemp(f"{module}-host") / "host.db"
    with run_in_thread(training_env, demo_db_copy(seeded_demo_db, db)) as host:
        yield host


def real_window(
    qtbot: QtBot,
    training_env: TrainingEnv,
    host_url: str,
    card_manager: CardBackend,
    *,
    data_dir: Path | None = None,
    size: tuple[int, int] | None = None,
) -> MainWindow:
    """The real window (real open_dmp, the given card manager) on a running training host."""
    settings: Settings = training_env.client_settings()
    settings = dataclasses.replace(settings, host_url=host_url)
    if data_dir is not None:
        settings = dataclasses.replace(settings, data_dir=str(data_dir))
    window = build_app(settings, card_manager=card_manager)
    qtbot.addWidget(window)
    if size is not None:
        window.resize(*size)
    window.show()
    return window


HostWindow = Callable[..., MainWindow]


@pytest.fixture
def host_window(
    qtbot: QtBot,
    training_env: TrainingEnv,
    training_host: RunningHost,
    real_card_manager: CardBackend,
    tmp_path: Path,
) -> HostWindow:
    """Opens the real window on this module's training host (:func:`real_window`): the
    SoftHSM cards unless ``cards`` is given, the client's data in ``data_dir`` (default:
    the test's temporary folder), the window at ``size``."""

    def open_window(
        size: tuple[int, int] | None = None,
        *,
        cards: CardBackend | None = None,
        data_dir: Path | None = None,
    ) -> MainWindow:
        return real_window(
            qtbot,
            training_env,
            training_host.url,
            cards if cards is not None else real_card_manager,
            data_dir=data_dir if data_dir is not None else tmp_path,
            size=size,
        )

    return open_window


def enter_ins(qtbot: QtBot, window: MainWindow, ins: str, *, timeout: int = 20000) -> None:
    """Type ``ins`` in the (emptied) patient field and press Entrée; wait for the DMP status."""
    edit = window.workspace.patient_pane.ins_edit
    edit.setText("")
    qtbot.keyClicks(edit, ins)
    with qtbot.waitSignal(window.dmp_service.statusReady, timeout=timeout):
        qtbot.keyClick(edit, Qt.Key.Key_Return)


def log_in(qtbot: QtBot, window: MainWindow, label: str = "CPS3-DURAND", pin: str = "1234") -> None:
    """Choose the card ``label`` on the card screen and type its PIN; wait for the login."""
    screen = window.card_screen
    model = screen.model

    def row_of_card() -> int | None:
        rows = range(model.rowCount())
        return next((r for r in rows if label in model.data(model.index(r, 0))), None)

    qtbot.waitUntil(lambda: row_of_card() is not None)
    row = row_of_card()
    assert row is not None
    screen.card_list.setCurrentIndex(model.index(row, 0))
    with qtbot.waitSignal(window.card_service.pinRequested, timeout=10000):
        qtbot.keyClick(screen.card_list, Qt.Key.Key_Return)
    dialog = window.pin_dialog
    assert dialog is not None
    qtbot.keyClicks(dialog.pin_edit, pin)
    with qtbot.waitSignal(window.card_service.loggedIn, timeout=10000):
        qtbot.keyClick(dialog.pin_edit, Qt.Key.Key_Return)
