"""The window: INS + Entrée -> the list filled, with the longest pause of the UI thread.

Run on demand (not collected by pytest)::

    .venv/bin/python tests/bench/bench_window.py                    # 2,000 and 20,000 entries
    .venv/bin/python tests/bench/bench_window.py --entries 2000 --rounds 5
    .venv/bin/python tests/bench/bench_window.py --entries 20000 --rounds 3 --why

``--why`` prints, for each round's longest pauses, what overlapped them
(``tests/bench/pause_trace.py``: the UI thread's CPU and processor wait, the
collector's passes, the UI-thread functions of the list path, sampled stacks);
``BENCH_PROFILE=1`` (``BENCH_PROFILE_SORT=cumulative``) profiles round 1's UI thread.

The real window (``build_app`` with the real ``open_dmp``, the CPS3 SoftHSM
card logged in with its PIN, ``QT_QPA_PLATFORM=offscreen``) talks to a
canned HTTPS host (``support.canned_host``: the CNAM's official TD0.2 answer,
an ITI-18 answer of N entries made of the official ones). Each round closes
the patient (outside the measure), types the INS and presses Entrée; the
measure ends when the documents list says it is wholly filled. Meanwhile a
timer ticks every 5 ms on the UI thread, and on for 200 ms after the list is
filled (its first paint): the longest gap between two ticks, minus 5 ms, is
the longest time the UI thread could not react (target: at most 50 ms).
There is no reference program for this row.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from tests.bench.pause_trace import PauseTrace  # noqa: E402
from tests.bench.support import RELATES_TO_PLACEHOLDER, canned_host, load_average  # noqa: E402

TICK_MS = 5
AFTER_MS = 200  # the UI thread is watched this long after the list says it is filled
PROFILE = __import__("cProfile").Profile()  # BENCH_PROFILE=1: the UI thread's Python work
TRACE: PauseTrace | None = None  # --why: what overlapped the longest pauses
# The UI thread's functions on the way from the answer to the filled list (--why).
TRACED = {
    "dmp_desktop.services.operations": {"OperationRunner": ["_on_finished"]},
    "dmp_desktop.services.consultation": {"ConsultationService": ["_on_documents"]},
    "dmp_desktop.ui.documents_pane": {
        "DocumentsPane": ["_on_documents"],
        "DocumentListPage": [
            "show_list",
            "_fill",
            "_append",
            "_refill_combos",
            "_size_columns",
            "update_counts",
        ],
    },
    "dmp_desktop.ui.documents_model": {
        "DocumentsModel": ["set_rows", "append_rows"],
        "DocumentsProxy": ["_relayout", "_source_rows_inserted", "_source_reset", "set_filters"],
    },
}


def trace_functions(trace: PauseTrace) -> None:
    import importlib

    for module_name, classes in TRACED.items():
        module = importlib.import_module(module_name)
        for class_name, names in classes.items():
            for name in names:
                trace.wrap(getattr(module, class_name), name)


def td02_answer(directory: Path) -> Path:
    import re

    from tests.conftest import DMP_MESSAGES

    data = (DMP_MESSAGES / "TD0.2 - Test d'existence_réponse.xml").read_bytes()
    data = re.sub(rb"(<RelatesTo[^>]*>)[^<]*(<)", rb"\1" + RELATES_TO_PLACEHOLDER + rb"\2", data)
    path = directory / "td02.xml"
    path.write_bytes(data)
    return path


class Ticks:
    """A timer on the UI thread; the longest gap between two of its ticks."""

    def __init__(self) -> None:
        from PySide6.QtCore import QTimer

        self.last = time.perf_counter()
        self.longest = 0.0
        self.timer = QTimer()
        self.timer.setInterval(TICK_MS)
        self.timer.timeout.connect(self._tick)

    def _tick(self) -> None:
        if TRACE is not None:
            TRACE.tick()
        now = time.perf_counter()
        self.longest = max(self.longest, now - self.last)
        self.last = now

    def start(self) -> None:
        self.last = time.perf_counter()
        self.longest = 0.0
        self.timer.start()

    def stop(self) -> float:
        self.timer.stop()
        self._tick()
        return max(0.0, self.longest - TICK_MS / 1000)


def run(env_root: Path, url: str, count: int, rounds: int) -> None:
    from PySide6.QtCore import QEventLoop, Qt, QTimer
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    from dmp_desktop.app import build_app, configure_application, settle_heap
    from dmp_desktop.settings import SOFTHSM_MODULE
    from dmp_desktop.smartcard import CardManager
    from dmp_sandbox.training import TrainingEnv
    from tests.support.big_answer import OFFICIAL_INS

    app = QApplication.instance() or QApplication([])
    configure_application(app)  # type: ignore[arg-type]
    env = TrainingEnv(env_root, port=0)
    settings = dataclasses.replace(
        env.client_settings(), host_url=url, data_dir=str(env_root / f"data-{count}")
    )
    manager = CardManager([SOFTHSM_MODULE])
    window = build_app(settings, card_manager=manager)
    window.resize(1400, 900)
    window.show()

    def wait(predicate: object, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():  # type: ignore[operator]
            if time.monotonic() > deadline:
                raise RuntimeError("timed out")
            app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)

    screen = window.card_screen
    wait(lambda: screen.model.rowCount() >= 1)
    rows = range(screen.model.rowCount())
    row = next(r for r in rows if "CPS3-DURAND" in screen.model.data(screen.model.index(r, 0)))
    screen.card_list.setCurrentIndex(screen.model.index(row, 0))
    QTest.keyClick(screen.card_list, Qt.Key.Key_Return)
    wait(lambda: window.pin_dialog is not None)
    dialog = window.pin_dialog
    QTest.keyClicks(dialog.pin_edit, "1234")
    logged = []
    window.card_service.loggedIn.connect(lambda *_: logged.append(True))
    QTest.keyClick(dialog.pin_edit, Qt.Key.Key_Return)
    wait(lambda: bool(logged))
    settle_heap()  # as gui_main does once the window is built

    page = window.workspace.documents_pane.list_page
    edit = window.workspace.patient_pane.ins_edit
    ticks = Ticks()
    totals, stalls, closings = [], [], []
    for round_ in range(rounds + 1):
        closing = time.perf_counter()  # the previous record closed: its list let go
        window.consultation.close_patient()
        page.clear()
        closings.append(time.perf_counter() - closing)
        page.settle()  # the list let go is freed off the UI thread: before the next measure
        edit.setFocus()
        edit.clear()
        QTest.keyClicks(edit, OFFICIAL_INS)
        app.processEvents()
        filled: list[bool] = []
        page.filled.connect(lambda flags=filled: flags.append(True))
        loop = QEventLoop()
        page.filled.connect(loop.quit)
        if os.environ.get("BENCH_PROFILE") and round_ == 1:
            PROFILE.enable()
        if TRACE is not None:
            TRACE.reset()
        ticks.start()
        started = time.perf_counter()
        QTimer.singleShot(0, lambda: QTest.keyClick(edit, Qt.Key.Key_Return))
        QTimer.singleShot(120_000, loop.quit)
        loop.exec()
        elapsed = time.perf_counter() - started
        # The pauses right after the list is filled (its first paint) count too.
        after = QEventLoop()
        QTimer.singleShot(AFTER_MS, after.quit)
        after.exec()
        stall = ticks.stop()
        PROFILE.disable()
        page.filled.disconnect()
        if not filled or page.model.rowCount() != count:
            raise RuntimeError(f"list not filled ({page.model.rowCount()} rows)")
        if os.environ.get("BENCH_PROFILE") and round_ == 1:
            import pstats

            pstats.Stats(PROFILE).sort_stats(
                os.environ.get("BENCH_PROFILE_SORT", "tottime")
            ).print_stats(25)
        if round_ == 0:
            continue  # warm-up: the TLS handshake and the card's signature
        totals.append(elapsed)
        stalls.append(stall)
        print(f"  round {round_}: {elapsed:.3f} s, longest UI-thread pause {stall * 1000:.0f} ms")
        if TRACE is not None:
            TRACE.explain()
    print(
        f"{count:,} entries, {rounds} rounds: INS + Entrée -> list filled: "
        f"min {min(totals):.3f} s, median {statistics.median(totals):.3f} s; "
        "longest UI-thread pause: max "
        f"{max(stalls) * 1000:.0f} ms, median {statistics.median(stalls) * 1000:.0f} ms; "
        f"closing the record (UI thread, not measured above): "
        f"max {max(closings[1:]) * 1000:.0f} ms"
    )
    window.close()
    window.shutdown()
    manager.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--entries", type=int, nargs="+", default=[2000, 20000])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--why",
        action="store_true",
        help="print what overlapped the longest pauses (collector passes, UI-thread functions, "
        "sampled stacks)",
    )
    args = parser.parse_args()
    if args.why:
        global TRACE
        TRACE = PauseTrace()
        trace_functions(TRACE)
        TRACE.start()
    print(f"load average {load_average()}, {os.cpu_count()} CPU")
    with tempfile.TemporaryDirectory(prefix="dmp-bench-window-") as tmp:
        from dmp_desktop.dmp import xds
        from dmp_sandbox.training import init_training_env
        from tests.bench.bench_list import write_answer

        env = init_training_env(Path(tmp) / "training", port=0)
        os.environ["SOFTHSM2_CONF"] = str(env.softhsm_conf)
        td02 = td02_answer(Path(tmp))
        for count in args.entries:
            answers = {
                "urn:hl7-org:v3:PRPA_IN201307UV02": td02,
                xds.ACTION_FIND: write_answer(Path(tmp), count),
            }
            with canned_host(env.pki, answers) as url:
                run(env.root, url, count, args.rounds)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
