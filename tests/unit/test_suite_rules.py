"""The suite cannot pass by accident: proved by running pytest itself in a subprocess.

- Under ``CI=true``, a missing ``../shared`` fails the conformance tests
  instead of skipping them (``DMP_SHARED_DIR`` points at a folder that does
  not exist); without CI they are skipped, with the reason.
- ``--collect-only`` does not start the CDA kit's run, nor does a selection
  without kit tests; a selection with one does.
- No test asserts wall-clock time (benchmarks in tests/bench/ measure it).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CONFORMANCE = "tests/unit/test_conformance_client_td02.py"
KIT_TESTS = "tests/unit/test_cda_conformance.py"

# Prints whether the unit tests' CDA kit run was started (tests/unit/conftest.py).
PROBE = textwrap.dedent(
    """
    import sys

    def pytest_sessionfinish(session):
        conftest = sys.modules.get("tests.unit.conftest")
        started = bool(conftest is not None and conftest._started)
        print(f"KIT-STARTED={started}")
    """
)


def _pytest(
    *args: str, shared: Path, ci: bool, plugins: Path | None = None
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "DMP_CDA_KIT")}
    env["DMP_SHARED_DIR"] = str(shared)
    if ci:
        env["CI"] = "true"
    if plugins is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(plugins), env.get("PYTHONPATH")]))
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-rs", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_missing_shared_material_fails_under_ci(tmp_path: Path) -> None:
    missing = tmp_path / "no-shared-here"
    result = _pytest(CONFORMANCE, shared=missing, ci=True)
    assert result.returncode == 1, result.stdout[-3000:]
    assert "CI=true needs ../shared" in result.stdout
    assert re.search(r"\d+ failed", result.stdout), result.stdout[-2000:]
    assert " skipped" not in result.stdout.splitlines()[-1]


def test_missing_shared_material_is_skipped_with_its_reason_otherwise(tmp_path: Path) -> None:
    missing = tmp_path / "no-shared-here"
    result = _pytest(CONFORMANCE, shared=missing, ci=False)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "official DMP material not present" in result.stdout
    assert "failed" not in result.stdout.splitlines()[-1]


def _kit_started(result: subprocess.CompletedProcess[str]) -> bool:
    found = re.findall(r"KIT-STARTED=(True|False)", result.stdout)
    assert found, result.stdout[-3000:] + result.stderr[-3000:]
    return found[-1] == "True"


@pytest.fixture
def fake_shared(tmp_path: Path) -> tuple[Path, Path]:
    """A shared folder whose kit is a script that never validates anything; and the probe."""
    shared = tmp_path / "shared"
    kit = shared / "cda-kit"
    kit.mkdir(parents=True)
    script = kit / "validate-cda"
    script.write_text("#!/bin/sh\nexit 3\n", encoding="utf-8")
    script.chmod(0o755)
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "kitprobe.py").write_text(PROBE, encoding="utf-8")
    return shared, plugins


def test_collect_only_does_not_start_the_cda_kit(fake_shared: tuple[Path, Path]) -> None:
    shared, plugins = fake_shared
    result = _pytest(
        "--collect-only", "-p", "kitprobe", KIT_TESTS, shared=shared, ci=False, plugins=plugins
    )
    assert result.returncode == 0, result.stdout[-3000:]
    assert "test_the_kit_really_checks" in result.stdout
    assert not _kit_started(result)


def test_the_kit_starts_only_when_a_test_needs_it(fake_shared: tuple[Path, Path]) -> None:
    shared, plugins = fake_shared
    without = _pytest(
        "-p", "kitprobe", KIT_TESTS, "-k", "helper", shared=shared, ci=False, plugins=plugins
    )
    assert without.returncode == 0, without.stdout[-3000:]
    assert not _kit_started(without)
    needed = _pytest(
        "-p",
        "kitprobe",
        KIT_TESTS,
        "-k",
        "the_kit_really_checks",
        shared=shared,
        ci=False,
        plugins=plugins,
    )
    assert _kit_started(needed)


# Timing a piece of work and comparing it with a bound, in a test (benchmarks excepted).
_CLOCK = re.compile(r"monotonic\(|perf_counter\(|time\.time\(|\b(elapsed|seconds|waited|took)\b")
_COMPARISON = re.compile(r"[<>]=?")


def test_no_test_asserts_wall_clock_time() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in sorted((ROOT / "tests").rglob("*.py"))
        if "bench" not in path.parts and path != Path(__file__)
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if "assert " in line and _CLOCK.search(line) and _COMPARISON.search(line)
    ]
    assert not found, "move timings to tests/bench/:\n" + "\n".join(found)
