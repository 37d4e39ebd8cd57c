"""Start-up: the window to its first paint, `dmp --help`, `dmp cards`, each against a reference.

Run on demand (not collected by pytest)::

    .venv/bin/python tests/bench/bench_startup.py              # all three, 9 rounds
    .venv/bin/python tests/bench/bench_startup.py --only window --rounds 15

Every measure is a new process, timed from its launch by this script:

* window: ``dmp-desktop`` (``dmp_desktop.__main__.gui_main``, a training
  environment's settings, the SoftHSM card module) until the main window
  receives its first paint event; reference: a bare PySide6 ``QMainWindow``
  shown until its first paint, the same way. ``QT_QPA_PLATFORM=offscreen``
  unless a display is set.
* ``dmp --help`` and ``dmp cards`` (the installed entry point, whole process);
  reference: ``python -c pass`` with the same interpreter.

Project and reference alternate round after round; minimum and median of each.
Modules are compiled beforehand, as an installation does (``compileall``;
``PYTHONDONTWRITEBYTECODE`` is removed from the children's environment).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.bench.support import interleave, load_average, summary  # noqa: E402

BIN = Path(sys.executable).parent

# A child that runs a Qt program and reports the instant of the main window's first paint.
_PAINT_PROBE = """
import os, sys, time
from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QApplication, QMainWindow

class _FirstPaint(QObject):
    def eventFilter(self, watched, event):
        if event.type() == QEvent.Type.Paint and isinstance(watched, QMainWindow):
            sys.stdout.write(repr(time.perf_counter()) + "\\n")
            sys.stdout.flush()
            os._exit(0)
        return False

_probe = _FirstPaint()
_exec = QApplication.exec

def _watching_exec(*_args):
    # On the main window only, as the application's own first-paint hook: a filter on
    # the whole application would see every event of every object, and making the
    # Python wrappers of all those objects' classes costs the richer window more
    # (PySide creates each class's enums on first use: 12 ms for this window, 1 ms for
    # the bare one).
    for widget in QApplication.topLevelWidgets():
        if isinstance(widget, QMainWindow):
            widget.installEventFilter(_probe)
    return _exec()

QApplication.exec = _watching_exec
"""

_APP = (
    _PAINT_PROBE
    + """
from dmp_desktop.__main__ import gui_main
gui_main()
"""
)

# Ready: the workspace and the features built after the first paint, and the cards listed
# on the card screen (the doctor can choose his card and type his PIN).
_READY = """
import os, sys, time
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
from dmp_desktop.ui.main_window import MainWindow

def _look():
    windows = [w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow)]
    if windows and windows[0].features_built and windows[0].card_screen.model.rowCount():
        sys.stdout.write(repr(time.perf_counter()) + "\\n")
        sys.stdout.flush()
        os._exit(0)
    QTimer.singleShot(5, _look)

_exec = QApplication.exec

def _watching_exec(*_args):
    QTimer.singleShot(0, _look)
    return _exec()

QApplication.exec = _watching_exec
from dmp_desktop.__main__ import gui_main
gui_main()
"""

_BARE = (
    _PAINT_PROBE
    + """
app = QApplication(sys.argv)
window = QMainWindow()
window.setWindowTitle("bare")
window.resize(1200, 800)
window.show()
app.exec()
"""
)


def _paint_time(script: str, env: dict[str, str]) -> float:
    started = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120
    )
    lines = out.stdout.strip().splitlines()
    if out.returncode != 0 or not lines:
        raise RuntimeError(f"no paint reported: {out.returncode} {out.stderr[-2000:]}")
    return float(lines[-1]) - started


def _process_time(argv: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(argv, env=env, capture_output=True, timeout=120)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"{argv} failed: {done.stderr.decode(errors='replace')[-2000:]}")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--only", choices=("window", "ready", "help", "cards"), action="append")
    args = parser.parse_args()
    wanted = args.only or ["window", "ready", "help", "cards"]
    print(f"load average {load_average()}, {os.cpu_count()} CPU, {args.rounds} rounds")
    with tempfile.TemporaryDirectory(prefix="dmp-bench-startup-") as tmp:
        from dmp_sandbox.training import init_training_env

        env_dir = init_training_env(Path(tmp) / "training", port=0)
        env = {
            **os.environ,
            "DMP_DESKTOP_CONFIG": str(env_dir.settings_path),
            "SOFTHSM2_CONF": str(env_dir.softhsm_conf),
            "XDG_DATA_HOME": str(Path(tmp) / "data"),
        }
        if not env.get("DISPLAY"):
            env["QT_QPA_PLATFORM"] = "offscreen"
        # As installed: modules compiled once (pip compiles them at install), not at every
        # start (a development shell may set PYTHONDONTWRITEBYTECODE).
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        subprocess.run(
            [sys.executable, "-m", "compileall", "-q", str(ROOT / "dmp_desktop"),
             str(ROOT / "dmp_sandbox")],
            env=env,
            check=True,
        )  # fmt: skip
        measures: dict[str, tuple[Callable[[], float], Callable[[], float], str, str]] = {
            "window": (
                lambda: _paint_time(_APP, env),
                lambda: _paint_time(_BARE, env),
                "dmp-desktop to first paint",
                "bare PySide6 QMainWindow",
            ),
            "ready": (
                lambda: _paint_time(_READY, env),
                lambda: _paint_time(_BARE, env),
                "dmp-desktop ready (features built, cards listed)",
                "bare PySide6 QMainWindow",
            ),
            "help": (
                lambda: _process_time([str(BIN / "dmp"), "--help"], env),
                lambda: _process_time([sys.executable, "-c", "pass"], env),
                "dmp --help",
                "python -c pass",
            ),
            "cards": (
                lambda: _process_time([str(BIN / "dmp"), "cards"], env),
                lambda: _process_time([sys.executable, "-c", "pass"], env),
                "dmp cards",
                "python -c pass",
            ),
        }
        for name in wanted:
            project, reference, project_name, reference_name = measures[name]
            series = interleave({project_name: project, reference_name: reference}, args.rounds)
            print(summary(series[project_name], series[reference_name], unit="ms"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
