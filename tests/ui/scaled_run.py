"""The window walk at 150 % runs in its own interpreter (``QT_SCALE_FACTOR`` is read once,
when Qt starts): :mod:`tests.ui.conftest` starts it as soon as the session knows it will
run that test, so that it works on the second core while the other window tests run, and
``test_the_window_holds_at_150_percent`` only collects its outcome."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parents[2]
TEST_NAME = "test_the_window_holds_at_150_percent"
WALKED = "tests/ui/test_ui_truth.py::test_the_doctors_window_is_french_whole_and_named"
TIMEOUT_S = 300


def is_scaled_run() -> bool:
    """Whether this interpreter is the run at 150 % itself."""
    return os.environ.get("QT_SCALE_FACTOR") == "1.5"


@dataclass
class ScaledRun:
    process: subprocess.Popen[bytes]
    output: IO[bytes]

    def outcome(self) -> tuple[int, str]:
        """Wait for the run (killed after TIMEOUT_S in all); its exit code and its output."""
        try:
            code = self.process.wait(timeout=TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.stop()
            code = -1
        self.output.seek(0)
        text = self.output.read().decode(errors="replace")
        self.output.close()
        return code, text

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def start() -> ScaledRun:
    """The two 1280×720 looks of the walk, at 150 %, started now."""
    env = {**os.environ, "QT_SCALE_FACTOR": "1.5", "QT_QPA_PLATFORM": "offscreen"}
    output = tempfile.TemporaryFile()
    process = subprocess.Popen(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", WALKED, "-k", "1280x720"],
        cwd=ROOT,
        env=env,
        stdout=output,
        stderr=subprocess.STDOUT,
    )
    return ScaledRun(process, output)
