"""gui_main(): settings -> QApplication set-up -> window -> event loop -> exit code."""

from __future__ import annotations

import sys
import threading
from pathlib import Path

import pytest
from PySide6.QtCore import QLocale, QTimer
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from dmp_desktop import app as app_module
from dmp_desktop.services.card_service import CardState
from dmp_desktop.settings import Settings, save_settings
from dmp_desktop.ui.main_window import MainWindow


def test_gui_main_runs_and_quits(
    qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A middleware that is not there: the window must explain it, and no second
    # PKCS#11 library gets loaded in this process.
    settings = Settings(pkcs11_module=str(tmp_path / "absent" / "libcps3.so"), training_mode=True)
    save_settings(settings, tmp_path / "settings.json")
    monkeypatch.setenv("DMP_DESKTOP_CONFIG", str(tmp_path / "settings.json"))
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)
    monkeypatch.setattr(threading, "excepthook", threading.excepthook)
    seen: dict[str, object] = {}

    def inspect_then_close() -> None:
        windows = [w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow)]
        if not windows or windows[0].card_service.state is CardState.STARTING:
            QTimer.singleShot(20, inspect_then_close)
            return
        window = windows[0]
        seen["state"] = window.card_service.state
        seen["title"] = window.card_screen.title_label.text()
        seen["style"] = QApplication.style().name()
        seen["locale"] = QLocale().language()
        window.close()

    QTimer.singleShot(0, inspect_then_close)
    assert app_module.gui_main() == 0
    assert seen["state"] is CardState.NO_MIDDLEWARE
    assert seen["title"] == "Logiciel de la carte CPS introuvable…"
    assert str(seen["style"]).lower() == "fusion"
    assert seen["locale"] == QLocale.Language.French
    assert sys.excepthook is not sys.__excepthook__


def test_gui_main_reports_bad_settings_in_french(
    qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "settings.json").write_text("{pas du json", encoding="utf-8")
    monkeypatch.setenv("DMP_DESKTOP_CONFIG", str(tmp_path / "settings.json"))
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)
    monkeypatch.setattr(threading, "excepthook", threading.excepthook)
    shown: list[str] = []
    monkeypatch.setattr(
        app_module.QMessageBox, "critical", lambda _parent, _title, text: shown.append(text)
    )
    assert app_module.gui_main() == 2
    assert shown and shown[0].startswith("Paramètres invalides")
