"""argparse's own words in French (`dmp`, `dmp-sandbox`, `dmp-desktop`), and
`dmp-desktop --help` / `--version` print and exit without opening the window (issue 18)."""

from __future__ import annotations

import argparse
import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from dmp_desktop import __version__, argparse_fr
from dmp_desktop.__main__ import window_options
from dmp_desktop.cli.main import main as dmp_main
from dmp_sandbox.__main__ import main as sandbox_main

ROOT = Path(__file__).resolve().parents[2]
# argparse's English, as Python 3.11-3.13 write it.
ENGLISH = re.compile(
    r"usage:|error:|invalid choice|choose from|the following arguments are required|"
    r"show this help message|positional arguments|unrecognized arguments|expected one argument"
)


def _run(main: object, argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """Exit code and everything printed (``dmp`` returns its code, argparse exits)."""
    assert callable(main)
    try:
        code = main(argv)
    except SystemExit as exc:
        code = exc.code
    captured = capsys.readouterr()
    return (code if isinstance(code, int) else 0), captured.out + captured.err


def test_dmp_unknown_command_is_refused_in_french(capsys: pytest.CaptureFixture[str]) -> None:
    code, text = _run(dmp_main, ["patiente"], capsys)
    assert code == 2
    assert "utilisation : dmp" in text
    assert "dmp : erreur : argument COMMANDE : choix invalide : 'patiente'" in text
    assert "(choisissez parmi 'settings'," in text
    assert not ENGLISH.search(text), text


def test_dmp_help_and_missing_arguments_are_french(capsys: pytest.CaptureFixture[str]) -> None:
    code, text = _run(dmp_main, ["--help"], capsys)
    assert code == 0
    assert "utilisation : dmp" in text and "afficher cette aide et quitter" in text
    assert "afficher la version du programme et quitter" in text
    assert not ENGLISH.search(text), text
    code, text = _run(dmp_main, ["status"], capsys)
    assert code == 2
    assert "arguments obligatoires manquants : --ins" in text
    assert not ENGLISH.search(text), text
    code, text = _run(dmp_main, ["status", "--ins"], capsys)
    assert "argument --ins : une valeur attendue" in text


def test_dmp_sandbox_speaks_french_too(capsys: pytest.CaptureFixture[str]) -> None:
    code, text = _run(sandbox_main, ["nope"], capsys)
    assert code == 2
    assert "dmp-sandbox : erreur : argument COMMANDE : choix invalide : 'nope'" in text
    assert not ENGLISH.search(text), text
    code, text = _run(sandbox_main, ["serve", "--help"], capsys)
    assert code == 0 and "afficher cette aide et quitter" in text
    assert not ENGLISH.search(text), text


def _argparse_messages() -> set[str]:
    """The msgids argparse passes to ``_()``: its source read, adjacent literals joined."""
    source = Path(argparse.__file__).read_text(encoding="utf-8")
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "_"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            found.add(node.args[0].value)
    return found


def test_every_argparse_message_has_a_french_text() -> None:
    """A new Python's new message shows up here (argparse's source is read, not guessed)."""
    messages = _argparse_messages()
    assert "invalid choice: %(value)r (choose from %(choices)s)" in messages
    missing = sorted(m for m in messages if m not in argparse_fr.FRENCH)
    assert missing == []
    placeholder = re.compile(r"%\(\w+\)[sr]|%[sr]")
    for message, french in argparse_fr.FRENCH.items():
        assert sorted(placeholder.findall(message)) == sorted(placeholder.findall(french)), message


def test_plural_forms_follow_french_rules() -> None:
    assert argparse_fr.ngettext_fr("expected %s argument", "expected %s arguments", 1) == (
        "%s valeur attendue"
    )
    assert argparse_fr.ngettext_fr("expected %s argument", "expected %s arguments", 0) == (
        "%s valeur attendue"
    )
    assert argparse_fr.ngettext_fr("expected %s argument", "expected %s arguments", 3) == (
        "%s valeurs attendues"
    )


def test_window_options_leave_qt_arguments_alone() -> None:
    options = window_options(["-platform", "offscreen", "--profile", "dmp", "-style", "fusion"])
    assert options.profile == "dmp"


@pytest.mark.parametrize(
    ("argument", "expected"),
    [
        ("--help", "utilisation : dmp-desktop"),
        ("--version", f"dmp-desktop {__version__}"),
    ],
)
def test_dmp_desktop_help_and_version_print_and_exit_before_qt(
    argument: str, expected: str
) -> None:
    """No window (and not even Qt) for --help / --version: it used to open the window."""
    probe = (
        "import sys\n"
        "from dmp_desktop.__main__ import gui_main\n"
        "try:\n"
        f"    gui_main([{argument!r}])\n"
        "except SystemExit as exc:\n"
        "    print('EXIT', exc.code, 'PySide6' in sys.modules)\n"
    )
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert expected in done.stdout
    assert "EXIT 0 False" in done.stdout
    assert not ENGLISH.search(done.stdout + done.stderr)
