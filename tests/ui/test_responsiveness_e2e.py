"""Nothing slow on the UI thread: an event-loop probe while the slow flows run.

The real window, the SoftHSM card, the training host over real mutual TLS.
A probe (a timer ticking every few milliseconds on the UI thread) records the
longest gap between two ticks, only while the flow under test runs — not while
the test sets things up. A gap over 50 ms is a stall the doctor would feel.

To make a stall certain if the slow work ever came back to the UI thread, the
slow parts are made slower (200 ms each) and record the thread they ran on:
the local key (keyring), the draft's decryption, the upload file's reading and
hashing. They must run on workers, and the loop must keep ticking meanwhile.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QObject, Qt, QTimer
from pytestqt.qtbot import QtBot

from dmp_desktop.ui.main_window import MainWindow
from dmp_sandbox.demo import demo_patients
from tests.ui.conftest import HostWindow, log_in
from tests.ui.test_upload_support import write

pytestmark = pytest.mark.e2e

LEA = next(p for p in demo_patients() if p.key == "actif-autorise")
TIMEOUT = 20000
STALL_S = 0.050
SLOW_S = 0.200
BIG = 20 * 1024 * 1024 - 4096


class LoopProbe(QObject):
    """Ticks every ``interval_ms`` on the UI thread; the longest gap while armed."""

    def __init__(self, interval_ms: int = 5) -> None:
        super().__init__()
        self._timer = QTimer(self)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self._tick)
        self._last = 0.0
        self.max_gap = 0.0
        self.ticks = 0

    def start(self) -> None:
        self.max_gap, self.ticks = 0.0, 0
        self._last = time.monotonic()
        self._timer.start()

    def stop(self) -> None:
        self._tick()  # the gap up to now counts
        self._timer.stop()

    def _tick(self) -> None:
        now = time.monotonic()
        self.max_gap = max(self.max_gap, now - self._last)
        self._last = now
        self.ticks += 1


class Slow:
    """Wraps a function: ``SLOW_S`` longer, and the threads it ran on are recorded."""

    def __init__(self) -> None:
        self.threads: list[threading.Thread] = []

    def wrap(self, function: Callable[..., Any]) -> Callable[..., Any]:
        def slow(*args: Any, **kwargs: Any) -> Any:
            self.threads.append(threading.current_thread())
            time.sleep(SLOW_S)
            return function(*args, **kwargs)

        return slow

    @property
    def on_ui_thread(self) -> list[str]:
        return [t.name for t in self.threads if t is threading.main_thread()]


@pytest.fixture
def slow(monkeypatch: pytest.MonkeyPatch) -> Slow:
    from dmp_desktop.services import drafts
    from dmp_desktop.storage import secure
    from dmp_desktop.usecases import upload

    recorder = Slow()
    monkeypatch.setattr(secure, "load_or_create_key", recorder.wrap(secure.load_or_create_key))
    monkeypatch.setattr(drafts, "draft_from_bytes", recorder.wrap(drafts.draft_from_bytes))
    monkeypatch.setattr(upload, "sha256", recorder.wrap(upload.sha256))
    monkeypatch.setattr(upload, "check_source", recorder.wrap(upload.check_source))
    return recorder


@pytest.fixture
def window(host_window: HostWindow, tmp_path: Path) -> MainWindow:
    return host_window(data_dir=tmp_path / "data")


def show_lea(qtbot: QtBot, window: MainWindow) -> None:
    edit = window.workspace.patient_pane.ins_edit
    qtbot.keyClicks(edit, LEA.ins.value)
    with qtbot.waitSignal(window.consultation.documentsReady, timeout=TIMEOUT):
        qtbot.keyClick(edit, Qt.Key.Key_Return)


def settle(qtbot: QtBot, window: MainWindow) -> None:
    """Let the window finish what the set-up started (list filled, read-ahead done)."""
    page = window.workspace.documents_pane.list_page

    def quiet() -> bool:
        return not window.runner.running and not getattr(page, "filling", False)

    qtbot.waitUntil(quiet, timeout=TIMEOUT)
    qtbot.wait(300)  # the last queued updates
    qtbot.waitUntil(quiet, timeout=TIMEOUT)


def until_finished(window: MainWindow, label: str, probe: LoopProbe) -> Callable[[], bool]:
    """Stop the probe when the operation ``label`` finishes (before its result is shown)."""
    done: list[bool] = []

    def finished(op: Any) -> None:
        if op.label == label and not done:
            probe.stop()
            done.append(True)

    window.runner.operationFinished.connect(finished)
    return lambda: bool(done)


def test_starting_an_upload_never_stalls_the_window(
    qtbot: QtBot, window: MainWindow, slow: Slow, tmp_path: Path
) -> None:
    log_in(qtbot, window)
    service = window.alimentation.service
    qtbot.waitUntil(lambda: service.practitioner is not None, timeout=TIMEOUT)
    show_lea(qtbot, window)
    big = write(tmp_path, "scanner.pdf", b"%PDF-1.4\n%" + b"x" * BIG + b"\n%%EOF\n")
    settle(qtbot, window)

    probe = LoopProbe()
    done = until_finished(window, "Lecture du fichier", probe)
    probe.start()
    assert window.alimentation.upload_path(big)  # what a drop or the file chooser does
    qtbot.waitUntil(done, timeout=TIMEOUT)

    assert not slow.on_ui_thread
    assert slow.threads, "the file was not hashed nor checked"
    assert probe.ticks > 10
    assert probe.max_gap < STALL_S, f"the UI thread stalled {probe.max_gap * 1000:.0f} ms"
    qtbot.waitUntil(lambda: window.alimentation.upload_dialog is not None, timeout=TIMEOUT)
    window.alimentation.close_upload_dialog(forget=True)


def test_opening_the_summary_editor_never_stalls_the_window(
    qtbot: QtBot, window: MainWindow, slow: Slow
) -> None:
    log_in(qtbot, window)
    show_lea(qtbot, window)
    feature = window.vsm
    feature.autosave_ms = 20
    editor = feature.open_editor()
    assert editor is not None
    qtbot.waitUntil(lambda: not editor.fetching, timeout=TIMEOUT)
    entry = editor.sections["vigilance_points"].add_entry()
    assert editor.autosaver is not None
    with qtbot.waitSignal(editor.autosaver.saved, timeout=TIMEOUT):
        qtbot.keyClicks(entry.first_field(), "Chutes nocturnes")
    feature.close_editor()
    settle(qtbot, window)
    slow.threads.clear()

    # Opened again: the draft is read back (keyring, decryption) off the UI thread. The
    # pane itself is built before the probe starts (widgets: UI work by nature); what the
    # probe watches is the reading of the draft, which must not hold the loop.
    probe = LoopProbe()
    done = until_finished(window, "Lecture du brouillon de la synthèse", probe)
    again = feature.open_editor()  # Ctrl+Shift+S
    probe.start()
    qtbot.waitUntil(done, timeout=TIMEOUT)
    assert again is not None and feature.editor is again
    qtbot.waitUntil(lambda: not again.fetching, timeout=TIMEOUT)

    assert again.origin == "draft"
    assert "Chutes nocturnes" in again.current_summary().vigilance_points
    assert not slow.on_ui_thread
    assert any(t is not threading.main_thread() for t in slow.threads)
    assert probe.max_gap < STALL_S, f"the UI thread stalled {probe.max_gap * 1000:.0f} ms"
