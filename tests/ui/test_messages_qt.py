"""The window's messages go through Qt's translation (QCoreApplication.translate)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from xml.sax.saxutils import escape

from PySide6.QtCore import QCoreApplication, QTranslator
from PySide6.QtWidgets import QApplication

from dmp_desktop.errors import DmpServiceError, NoCardError, describe
from dmp_desktop.messages import CATALOGUE, CONTEXT


def _entry(message_id: str, translation: str) -> str:
    return (
        f"<message><source>{escape(CATALOGUE[message_id])}</source>"
        f"<comment>{escape(message_id)}</comment>"
        f"<translation>{escape(translation)}</translation></message>"
    )


def test_a_qt_translator_reaches_the_core_messages(qapp: QApplication, tmp_path: Path) -> None:
    ts = tmp_path / "dmp_en.ts"
    ts.write_text(
        '<?xml version="1.0" encoding="utf-8"?>\n<!DOCTYPE TS>\n'
        f'<TS version="2.1" language="en"><context><name>{CONTEXT}</name>'
        + _entry("card.no_card", "No CPS card in the reader.")
        + _entry("dmp.code.DMPAccessDenied", "The DMP refused access to this record.")
        + _entry("dmp.refused_with_reason", "{message}\nReason given by the DMP: {reason}")
        + "</context></TS>\n",
        encoding="utf-8",
    )
    qm = tmp_path / "dmp_en.qm"
    lrelease = Path(sys.executable).with_name("pyside6-lrelease")
    subprocess.run([str(lrelease), str(ts), "-qm", str(qm)], check=True, capture_output=True)
    translator = QTranslator()
    assert translator.load(str(qm))
    QCoreApplication.installTranslator(translator)
    try:
        assert describe(NoCardError()) == "No CPS card in the reader."
        refused = DmpServiceError("DMPAccessDenied", "Une secrétaire ne peut pas consulter.")
        assert describe(refused) == (
            "The DMP refused access to this record.\n"
            "Reason given by the DMP: Une secrétaire ne peut pas consulter."
        )
    finally:
        QCoreApplication.removeTranslator(translator)
    assert describe(NoCardError()) == "Aucune carte CPS dans le lecteur. Insérez votre carte."
