"""The crash handler shows a generic French message and logs only the exception type."""

from __future__ import annotations

import logging
import sys

import pytest
from PySide6.QtWidgets import QApplication, QMessageBox
from pytestqt.qtbot import QtBot

from dmp_desktop import app as app_module
from tests.ui.fakes import PATIENT_FAMILY, PATIENT_INS


def test_crash_reveals_no_health_data(qtbot: QtBot, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    try:
        raise ValueError(f"patient {PATIENT_FAMILY} INS {PATIENT_INS}")
    except ValueError:
        exc_type, exc, tb = sys.exc_info()
    assert exc_type is not None and exc is not None
    app_module.handle_crash(exc_type, exc, tb)
    box = app_module._crash_box
    assert isinstance(box, QMessageBox)
    try:
        qtbot.waitUntil(box.isVisible)
        assert box.text().startswith("Une erreur inattendue est survenue")
        shown = box.text() + box.informativeText() + box.detailedText() + box.windowTitle()
        logged = caplog.text
        for secret in (PATIENT_FAMILY, PATIENT_INS, "patient"):
            assert secret not in shown
            assert secret not in logged
        assert "ValueError" in logged
        assert "test_crash_reveals_no_health_data" in logged  # where, for the support
    finally:
        box.done(0)
    assert app_module._crash_box is None
    assert isinstance(QApplication.instance(), QApplication)
