"""The wheel built from the repository works once installed, with its icons and without tests.

The wheel is built with this environment's setuptools (no build isolation,
no network), installed without its dependencies into a fresh virtual
environment that sees this environment's packages through a path entry (the
editable install of the checkout is not activated there: its finder needs
its own ``.pth`` processing). Everything then runs from a folder outside the
checkout, so nothing can come from the source tree.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import textwrap
import venv
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ICONS = ("card", "card-locked", "card-missing", "dmp-desktop", "patient")

# Run by the installed interpreter: the window offscreen, and where its icons come from.
WINDOW_PROBE = textwrap.dedent(
    """
    import json, sys
    from PySide6.QtWidgets import QApplication
    import dmp_desktop
    from dmp_desktop.app import build_app, configure_application
    from dmp_desktop.settings import Settings
    from dmp_desktop.ui.icons import icon, icon_path

    app = QApplication([])
    configure_application(app)
    settings = Settings(data_dir=sys.argv[1], training_mode=True, pkcs11_module=sys.argv[2])
    window = build_app(settings)
    window.show()
    app.processEvents()
    names = sys.argv[3].split(",")
    print(json.dumps({
        "package": dmp_desktop.__file__,
        "icons": {name: str(icon_path(name)) for name in names},
        "null": [name for name in names if icon(name).isNull()],
        "window_icon": not app.windowIcon().isNull(),
        "title": window.windowTitle(),
        "visible": window.isVisible(),
        "modules": sorted(m for m in sys.modules if m.startswith("tests")),
    }))
    window.close()
    """
)


def _run(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False
    )


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    # Built from a copy of what the wheel is made of: a checkout's own ``build/`` folder
    # (left by an earlier build) would otherwise put modules since removed or moved into it.
    source = tmp_path_factory.mktemp("wheel-source")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    junk = shutil.ignore_patterns("__pycache__", "*.pyc")
    for package in ("dmp_desktop", "dmp_sandbox", "dmp_actors"):
        shutil.copytree(ROOT / package, source / package, ignore=junk)
    built = _run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "--wheel-dir",
            str(out),
            str(source),
        ],
        cwd=out,
        env={**os.environ, "PIP_NO_INPUT": "1"},
    )
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    [found] = out.glob("dmp_desktop-*.whl")
    return found


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A fresh venv with the wheel; the dependencies seen through a path entry."""
    home = tmp_path_factory.mktemp("fresh-venv")
    target = home / "venv"
    venv.EnvBuilder(with_pip=False).create(target)
    python = target / "bin" / "python"
    installed = _run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            "--no-deps",
            "--no-index",
            "--no-compile",
            str(wheel),
        ],
        cwd=home,
        env={**os.environ, "PIP_NO_INPUT": "1"},
    )
    assert installed.returncode == 0, installed.stdout[-3000:] + installed.stderr[-3000:]
    site = _run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        cwd=home,
        env={},
    ).stdout.strip()
    # Plain path line: the dependencies, not the editable checkout (its finder is not loaded).
    Path(site, "test-environment.pth").write_text(
        sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8"
    )
    yield target


def _env(home: Path) -> dict[str, str]:
    keep = ("PATH", "LANG", "LC_ALL", "SOFTHSM2_CONF", "TMPDIR")
    env = {k: v for k, v in os.environ.items() if k in keep}
    env.update(HOME=str(home), QT_QPA_PLATFORM="offscreen", XDG_CONFIG_HOME=str(home / "cfg"))
    return env


def test_the_wheel_ships_icons_and_no_tests(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    for name in ICONS:
        assert f"dmp_desktop/resources/icons/{name}.svg" in names
    assert "dmp_desktop/resources/terminology/starter.json" in names
    tops = {n.split("/", 1)[0] for n in names}
    dist_info = wheel.name.split("-")[0] + "-0.1.0.dist-info"
    # dmp_actors: the training world's producers (the dmp-sandbox command's entry point).
    assert tops == {"dmp_desktop", "dmp_sandbox", "dmp_actors", dist_info}
    shipped_tests = [
        n
        for n in names
        if "/tests/" in n
        or n.rsplit("/", 1)[-1].startswith(("test_", "conftest"))
        or "sample" in n
        or "fake" in n.lower()
    ]
    assert not shipped_tests
    # Maintainer tools (they read the repository's docs or ../shared): not in the wheel.
    assert "dmp_desktop/cda/examples.py" not in names
    assert "dmp_desktop/terminology/build_starter.py" not in names
    assert not [n for n in names if n.startswith("scripts/")]


def test_dmp_help_from_the_installed_wheel(installed: Path, tmp_path: Path) -> None:
    result = _run([str(installed / "bin" / "dmp"), "--help"], cwd=tmp_path, env=_env(tmp_path))
    assert result.returncode == 0, result.stderr[-3000:]
    assert "utilisation : dmp" in result.stdout and "status" in result.stdout


def test_the_window_offscreen_finds_its_icons_in_the_installed_package(
    installed: Path, tmp_path: Path
) -> None:
    from dmp_desktop.settings import SOFTHSM_MODULE

    probe = tmp_path / "probe.py"
    probe.write_text(WINDOW_PROBE, encoding="utf-8")
    result = _run(
        [
            str(installed / "bin" / "python"),
            str(probe),
            str(tmp_path / "data"),
            SOFTHSM_MODULE,
            ",".join(ICONS),
        ],
        cwd=tmp_path,
        env=_env(tmp_path),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    package = Path(seen["package"]).parent
    assert installed in package.parents and ROOT not in package.parents
    for name, path in seen["icons"].items():
        assert Path(path).is_file() and package in Path(path).parents, name
    assert seen["null"] == [] and seen["window_icon"]
    assert seen["visible"] and "DMP Desktop" in seen["title"]
    assert seen["modules"] == []
