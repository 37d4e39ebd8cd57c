"""Screenshots of the main flows, in the real window on the training host and the test cards.

    QT_QPA_PLATFORM=offscreen .venv/bin/python scripts/screenshots_main_flows.py

Writes docs/screenshots/<flow>-<size>-<palette>.png at 1280×800 (light palette) and
1920×1080 (dark palette): the card screen, the workspace with Moreau Léa's documents,
a document open in the viewer, the upload dialog and the VSM editor. Everything is
real (SoftHSM cards with their PIN, the training host over mutual TLS, its seeded
demo patients); the patients are the training host's made-up ones (test INS).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SIZES = (((1280, 800), "clair"), ((1920, 1080), "sombre"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)

    import dmp_actors  # noqa: F401  (registers the demo documents the host seeds)
    from dmp_sandbox.training import init_training_env

    with tempfile.TemporaryDirectory() as tmp:
        env = init_training_env(Path(tmp) / "training", port=0)
        os.environ["SOFTHSM2_CONF"] = str(env.softhsm_conf)
        return _shoot(env, Path(tmp), args.out)


def _shoot(env: object, tmp: Path, out: Path) -> int:
    from PySide6.QtCore import QEventLoop, Qt, QTimer
    from PySide6.QtGui import QPainter, QPixmap
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication, QWidget

    from dmp_desktop.app import build_app, configure_application
    from dmp_desktop.services.consultation import PaneState
    from dmp_desktop.settings import SOFTHSM_MODULE
    from dmp_desktop.smartcard.card import CardManager
    from dmp_sandbox.demo import demo_patients
    from dmp_sandbox.server import run_in_thread
    from tests.support.cda_samples import minimal_pdf
    from tests.support.ui_truth import dark_palette
    from tests.ui.test_upload_support import answer, drop_files, write

    app = QApplication.instance() or QApplication([])
    if not isinstance(app, QApplication):
        raise RuntimeError("no QApplication")
    configure_application(app)
    light = app.palette()
    lea = next(p for p in demo_patients() if p.key == "actif-autorise")

    def wait(ms: int) -> None:
        loop = QEventLoop()
        QTimer.singleShot(ms, loop.quit)
        loop.exec()

    def until(test: Callable[[], object], what: str, timeout_s: float = 30) -> None:
        end = time.monotonic() + timeout_s
        while not test():
            if time.monotonic() > end:
                raise RuntimeError(f"timed out: {what}")
            wait(20)

    def save(widget: QWidget, name: str) -> None:
        wait(300)
        widget.grab().save(str(out / name))
        print(out / name)

    def save_over(main: QWidget, dialog: QWidget, name: str) -> None:
        """The dialog drawn over its window, as the doctor sees it (offscreen has no WM)."""
        wait(300)
        shot = QPixmap(main.grab())
        inner = dialog.grab()
        painter = QPainter(shot)
        x = max(0, (shot.width() - inner.width()) // 2)
        y = max(0, (shot.height() - inner.height()) // 2)
        painter.fillRect(shot.rect(), Qt.GlobalColor.transparent)
        painter.drawPixmap(x, y, inner)
        painter.end()
        shot.save(str(out / name))
        print(out / name)

    def shoot_one(width: int, height: int, palette: str) -> None:
        app.setPalette(dark_palette() if palette == "sombre" else light)
        tag = f"{width}x{height}-{palette}"
        data = tmp / f"data-{tag}"
        settings = dataclasses.replace(
            env.client_settings(),  # type: ignore[attr-defined]
            host_url=host.url,
            data_dir=str(data),
        )
        window = build_app(settings, card_manager=manager)
        window.resize(width, height)
        window.show()
        screen = window.card_screen
        until(lambda: screen.model.rowCount() >= 2, "cards listed")
        for row in range(screen.model.rowCount()):
            if "CPS3-DURAND" in screen.model.data(screen.model.index(row, 0)):
                screen.card_list.setCurrentIndex(screen.model.index(row, 0))
        save(window, f"carte-{tag}.png")

        QTest.keyClick(screen.card_list, Qt.Key.Key_Return)
        until(lambda: window.pin_dialog is not None, "PIN dialog")
        dialog = window.pin_dialog
        if dialog is None:
            raise RuntimeError("dialog missing")
        QTest.keyClicks(dialog.pin_edit, "1234")
        QTest.keyClick(dialog.pin_edit, Qt.Key.Key_Return)
        until(lambda: window.card_service.session is not None, "logged in")

        edit = window.workspace.patient_pane.ins_edit
        QTest.keyClicks(edit, lea.ins.value)
        QTest.keyClick(edit, Qt.Key.Key_Return)
        pane = window.workspace.documents_pane
        until(
            lambda: (
                window.consultation.state is PaneState.DOCUMENTS
                and window.consultation.documents is not None
                and not pane.list_page.filling
            ),
            "Léa's documents",
        )
        pane.table.setFocus()
        pane.table.selectRow(0)
        save(window, f"documents-{tag}.png")

        listing = window.consultation.documents
        if listing is None:
            raise RuntimeError("listing missing")
        first = next((e for e in listing.entries if e.mime_type == "text/xml"), listing.entries[0])
        window.workspace.open_document(first)
        until(
            lambda: (
                window.workspace.viewer.current_tab() is not None
                and first.unique_id in window.consultation._cache
            ),
            "document shown",
        )
        save(window, f"visionneuse-{tag}.png")

        if not drop_files(window, write(tmp, f"consultation-{tag}.pdf", minimal_pdf())):
            raise RuntimeError("the file was not dropped")
        until(lambda: window.alimentation.upload_dialog is not None, "upload dialog")
        upload = window.alimentation.upload_dialog
        if upload is None:
            raise RuntimeError("upload missing")
        picker = upload.type_picker
        picker.edit.setFocus()
        QTest.keyClicks(picker.edit, "consultation")
        popup = picker.completer_.popup()
        until(popup.isVisible, "type suggestions")
        QTest.keyClick(popup, Qt.Key.Key_Down)
        QTest.keyClick(popup, Qt.Key.Key_Return)
        answer(upload, False, False, False)
        save_over(window, upload, f"envoi-{tag}.png")
        upload.reject()
        wait(200)

        editor = window.vsm.open_editor()
        if editor is None:
            raise RuntimeError("editor missing")
        until(lambda: not getattr(editor, "fetching", False), "VSM read", 60)
        wait(800)
        save(window, f"vsm-{tag}.png")
        window.vsm.close_editor()
        window.close()
        wait(300)

    manager = CardManager([SOFTHSM_MODULE])
    host = run_in_thread(env, f"sqlite:///{tmp / 'host.db'}", seed=True)  # type: ignore[arg-type]
    try:
        for (width, height), palette in SIZES:
            shoot_one(width, height, palette)
    finally:
        host.stop()
        manager.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
