"""The window's start: the card screen is painted before the workspace and the features
are imported and built (issue #16, cold start at most 2x a bare PySide6 window).

Structural, not timed: a fresh ``dmp-desktop`` (``gui_main``) lists the modules loaded
when its main window receives its first paint; the time is measured by
``tests/bench/bench_startup.py``. Then the window builds the rest by itself and is the
same window as ever (menus, card list, workspace).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from pytestqt.qtbot import QtBot

from dmp_desktop.app import build_app
from dmp_desktop.heap import YOUNG_THRESHOLD
from dmp_desktop.settings import Settings
from dmp_desktop.ui.main_window import MainWindow
from tests.ui.fakes import FakeCardManager, FakeDmp

if TYPE_CHECKING:
    from dmp_sandbox.training import TrainingEnv

ROOT = Path(__file__).resolve().parents[2]

# The real entry point; at the main window's first paint, the modules loaded then; once the
# features are built and the cards listed, what the window shows.
_CHILD = """
import json, os, sys
from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QApplication, QMainWindow

report = {}

class _FirstPaint(QObject):
    def eventFilter(self, watched, event):
        if event.type() == QEvent.Type.Paint and isinstance(watched, QMainWindow):
            if "at_paint" not in report:
                report["at_paint"] = sorted(sys.modules)
                report["gc_young"] = __import__("gc").get_threshold()[0]
                report["built_at_paint"] = watched.features_built
                QTimer.singleShot(0, lambda: wait_for(watched))
        return False

def wait_for(window):
    if not (window.features_built and window.card_service.cards):
        QTimer.singleShot(20, lambda: wait_for(window))
        return
    report["menus"] = [a.text() for a in window.menuBar().actions()]
    report["cards"] = window.card_screen.model.rowCount()
    report["pages"] = window.stack.count()
    print("REPORT " + json.dumps(report), flush=True)
    window.close()

_probe = _FirstPaint()
_exec = QApplication.exec

def _watching_exec(*_args):
    QApplication.instance().installEventFilter(_probe)
    return _exec()

QApplication.exec = _watching_exec
from dmp_desktop.__main__ import gui_main
sys.exit(gui_main())
"""

# Nothing of the DMP, the documents or the features before the first paint.
HEAVY_PACKAGES = {
    "lxml",
    "cryptography",
    "httpx",
    "httpcore",
    "pydantic",
    "pydantic_core",
    "PIL",
    "img2pdf",
    "keyring",
    "signxml",
    "sqlite3",
    "tlslite",
    "pkcs11",  # the card library: imported when the card service starts, just after
    "asn1crypto",
    "_hashlib",  # OpenSSL (the session seal hashes when a card signs, not at start)
}
HEAVY_MODULES = (
    "dmp_desktop.alimentation",
    "dmp_desktop.cda.",  # the package itself is lazy (cda.valuesets: the card's specialties)
    "dmp_desktop.dmp",
    "dmp_desktop.essentials",
    "dmp_desktop.identity",
    "dmp_desktop.net",
    "dmp_desktop.smartcard.card",  # dmp_desktop.smartcard.card_info: what the screen shows
    "dmp_desktop.smartcard.identity",
    "dmp_desktop.storage",
    "dmp_desktop.terminology",
    "dmp_desktop.usecases.",
    "dmp_desktop.services.consultation",
    "dmp_desktop.ui.workspace",
    "dmp_desktop.ui.documents_pane",
    "dmp_desktop.ui.document_actions",
    "dmp_desktop.ui.vsm_feature",
    "dmp_desktop.ui.essentials_feature",
    "dmp_desktop.ui.record_panel",
    "dmp_desktop.ui.patient_finding",
)
LIGHT = {"dmp_desktop.cda.valuesets", "dmp_desktop.usecases.errors"}


def _heavy(module: str) -> bool:
    """In HEAVY_MODULES: the module or its submodules (a name ending with a dot: its
    submodules only, not the package)."""
    for name in HEAVY_MODULES:
        if name.endswith("."):
            if module.startswith(name):
                return True
        elif module == name or module.startswith(name + "."):
            return True
    return False


def test_the_card_screen_is_painted_before_the_features_are_imported(
    training_env: TrainingEnv, tmp_path: Path
) -> None:
    env = {
        **os.environ,
        "DMP_DESKTOP_CONFIG": str(training_env.settings_path),
        "SOFTHSM2_CONF": str(training_env.softhsm_conf),
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "QT_QPA_PLATFORM": "offscreen",
    }
    done = subprocess.run(
        [sys.executable, "-c", _CHILD],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    line = next(x for x in done.stdout.splitlines() if x.startswith("REPORT "))
    report = json.loads(line.removeprefix("REPORT "))
    at_paint = set(report["at_paint"])
    assert report["built_at_paint"] is False
    packages = {name.split(".")[0] for name in at_paint}
    assert not packages & HEAVY_PACKAGES, sorted(packages & HEAVY_PACKAGES)
    heavy = {m for m in at_paint - LIGHT if _heavy(m)}
    assert not heavy, sorted(heavy)
    # Start-up's objects live as long as the window: the youngest generation is collected
    # every heap.YOUNG_THRESHOLD allocations from the entry point on, not every 700.
    assert report["gc_young"] >= YOUNG_THRESHOLD
    # ...and then it is the whole window, cards listed.
    assert report["menus"] == ["&Fichier", "&Carte", "&Patient", "&Documents", "D&ossier", "&Aide"]
    assert report["cards"] >= 1
    assert report["pages"] == 2


def test_a_deferred_window_builds_itself_after_its_first_paint(
    qtbot: QtBot, fake_cards: FakeCardManager, fake_dmp: FakeDmp
) -> None:
    window = build_app(
        Settings(training_mode=True),
        dmp_factory=fake_dmp.factory,
        card_manager=fake_cards,
        defer_features=True,
    )
    qtbot.addWidget(window)
    assert not window.features_built
    assert [a.text() for a in window.menuBar().actions()] == ["&Fichier", "&Carte"]
    assert not window.act_login.isEnabled()
    assert window.stack.count() == 1
    started: list[bool] = []
    window.after_features(lambda: started.append(True))
    window.show()
    qtbot.waitUntil(lambda: window.features_built)
    assert started == [True]
    assert [a.text() for a in window.menuBar().actions()] == [
        "&Fichier",
        "&Carte",
        "&Patient",
        "&Documents",
        "D&ossier",
        "&Aide",
    ]
    qtbot.waitUntil(lambda: window.card_screen.model.rowCount() == 1)  # the card service runs
    assert window.stack.count() == 2 and window.stack.currentWidget() is window.card_screen
    window.after_features(lambda: started.append(False))  # already built: at once
    assert started == [True, False]


def test_a_window_closed_before_its_features_shuts_down_cleanly(
    qtbot: QtBot, fake_cards: FakeCardManager, fake_dmp: FakeDmp
) -> None:
    window: MainWindow = build_app(
        Settings(training_mode=True),
        dmp_factory=fake_dmp.factory,
        card_manager=fake_cards,
        defer_features=True,
    )
    qtbot.addWidget(window)
    window.close()
    window.ensure_features()  # the timer's late call: nothing to build any more
    assert not window.features_built
