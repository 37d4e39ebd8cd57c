"""What ``dmp --help`` and ``dmp cards`` load: start-up is paid in imports (issue #16).

Structural, not timed: each command runs in a fresh interpreter (the real
``dmp`` entry point's ``main``), which then lists ``sys.modules``. ``dmp --help``
reads only the command table (standard library and ``dmp_desktop.cli``'s main);
``dmp cards`` adds the settings and the card (python-pkcs11 and its asn1crypto), never
the DMP wire, the CDA, the terminologies, the network stack or Qt. The time these
imports take is measured by ``tests/bench/bench_startup.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from dmp_desktop.cli.main import GROUPS, Group, _parser

if TYPE_CHECKING:
    from dmp_sandbox.training import TrainingEnv

ROOT = Path(__file__).resolve().parents[2]

_CHILD = """
import json, sys
from dmp_desktop.cli.main import main
code = main(sys.argv[1:])
sys.stdout.flush()
print("\\nMODULES " + json.dumps({"code": code, "modules": sorted(sys.modules)}))
"""

# Third-party packages and our own layers no command's start-up may pull in unless it is
# the command's own business (they cost tens to hundreds of milliseconds each).
HEAVY_PACKAGES = frozenset(
    {
        "cryptography",
        "lxml",
        "httpx",
        "httpcore",
        "h11",
        "pydantic",
        "pydantic_core",
        "PySide6",
        "shiboken6",
        "tlslite",
        "keyring",
        "sqlalchemy",
        "signxml",
        "PIL",
        "img2pdf",
        "sqlite3",
        "xmlschema",
    }
)
HEAVY_LAYERS = frozenset(
    {
        "dmp_desktop.alimentation",
        "dmp_desktop.cda",
        "dmp_desktop.dmp",
        "dmp_desktop.essentials",
        "dmp_desktop.identity",
        "dmp_desktop.net",
        "dmp_desktop.services",
        "dmp_desktop.storage",
        "dmp_desktop.terminology",
        "dmp_desktop.ui",
        "dmp_desktop.usecases",
        "dmp_desktop.xmlsafe",
    }
)


def _loaded(argv: list[str], env: dict[str, str] | None = None) -> tuple[int, str, set[str]]:
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, *argv],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    out, _, report = done.stdout.rpartition("\nMODULES ")
    data = json.loads(report)
    return data["code"], out, set(data["modules"])


def _packages(modules: set[str]) -> set[str]:
    return {name.split(".")[0] for name in modules}


def _in_layers(modules: set[str], layers: frozenset[str]) -> set[str]:
    return {m for m in modules if any(m == layer or m.startswith(layer + ".") for layer in layers)}


def test_dmp_help_reads_only_the_command_table() -> None:
    code, out, modules = _loaded(["--help"])
    assert code == 0
    assert "utilisation : dmp" in out
    for name, _text in (c for group in GROUPS for c in group.commands):
        assert name in out  # every command is listed...
    ours = {m for m in modules if m.split(".")[0] == "dmp_desktop"}
    assert ours <= {  # ...without importing any of their modules
        "dmp_desktop",
        "dmp_desktop.argparse_fr",
        "dmp_desktop.cli",
        "dmp_desktop.cli.common",
        "dmp_desktop.cli.main",
    }, sorted(ours)
    foreign = {
        p
        for p in _packages(modules)
        if p not in sys.stdlib_module_names and p != "dmp_desktop" and not p.startswith("_")
    }
    # What the interpreter's site loads for every process (the editable install's finder).
    assert not {p for p in foreign if not p.startswith("__editable__")}, sorted(foreign)


def test_a_commands_help_imports_only_its_own_module() -> None:
    code, out, modules = _loaded(["status", "--help"])
    assert code == 0
    assert "--ins" in out
    assert not _in_layers(modules, HEAVY_LAYERS), sorted(_in_layers(modules, HEAVY_LAYERS))
    code, out, modules = _loaded(["list", "--help"])
    assert code == 0
    assert "--all-dates" in out
    assert "dmp_desktop.cli.documents" in modules
    assert not {"dmp_desktop.cli.alimentation", "dmp_desktop.cli.vsm"} & modules


def test_dmp_cards_loads_the_card_and_nothing_of_the_dmp(training_env: TrainingEnv) -> None:
    code, out, modules = _loaded(
        ["cards"],
        {
            "DMP_DESKTOP_CONFIG": str(training_env.settings_path),
            "SOFTHSM2_CONF": str(training_env.softhsm_conf),
        },
    )
    assert code == 0
    assert "essais PIN" in out  # the training cards were read
    assert "dmp_desktop.smartcard.card" in modules
    assert not _packages(modules) & HEAVY_PACKAGES, sorted(_packages(modules) & HEAVY_PACKAGES)
    light = {  # tables and exception classes, no import of their own
        "dmp_desktop.cda",  # lazy package (PEP 562)
        "dmp_desktop.cda.valuesets",  # the card's specialty labels
        "dmp_desktop.usecases",
        "dmp_desktop.usecases.errors",  # what main turns into exit codes
    }
    heavy = _in_layers(modules, HEAVY_LAYERS) - light
    assert not heavy, sorted(heavy)
    commands = {m for m in modules if m.startswith("dmp_desktop.cli.")}
    assert commands == {"dmp_desktop.cli.main", "dmp_desktop.cli.common"}, sorted(commands)


@pytest.mark.parametrize("group", GROUPS, ids=lambda g: g.names[0])
def test_the_command_table_says_what_each_module_declares(group: Group) -> None:
    """The one-line help ``dmp --help`` shows (the table) is the one the module declares."""
    parser = _parser()  # every group declared in full
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    declared = {action.dest: action.help for action in sub._choices_actions}
    assert {name: declared.get(name) for name in group.names} == dict(group.commands)
