"""The CLI's exit status of every typed error comes from one table (cli.main.exit_code)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from dmp_desktop.cli.common import EXIT_CARD, EXIT_DMP, EXIT_NETWORK, EXIT_USAGE
from dmp_desktop.cli.main import exit_code
from dmp_desktop.errors import (
    CardError,
    DmpDesktopError,
    HostUnreachableError,
    MiddlewareNotFoundError,
    SettingsError,
)
from dmp_desktop.usecases.errors import (
    ClosureReasonError,
    ConsentNotGivenError,
    EmergencyAccessError,
    InvalidFilterError,
    NoDmpError,
)

CLI = Path(__file__).resolve().parents[2] / "dmp_desktop" / "cli"


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (ConsentNotGivenError("creation"), EXIT_USAGE),
        (ClosureReasonError("too_short"), EXIT_USAGE),
        (InvalidFilterError("radio"), EXIT_USAGE),
        (SettingsError("settings.no_module"), EXIT_USAGE),
        (EmergencyAccessError("reason_too_short", "bris_de_glace"), EXIT_USAGE),
        (EmergencyAccessError("blocked", "bris_de_glace"), EXIT_DMP),
        (CardError(), EXIT_CARD),
        (MiddlewareNotFoundError(None), EXIT_CARD),
        (HostUnreachableError("refused"), EXIT_NETWORK),
        (NoDmpError(), EXIT_DMP),
        (DmpDesktopError(), EXIT_DMP),
    ],
)
def test_each_kind_of_error_has_its_exit_status(error: DmpDesktopError, code: int) -> None:
    assert exit_code(error) == code


def test_the_patients_ins_option_is_declared_once() -> None:
    raw = [
        f"{path.name}:{n}"
        for path in sorted(CLI.glob("*.py"))
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if re.search(r"""add_argument\(\s*["']--ins["']""", line)
    ]
    assert raw == ["common.py:" + str(_line_of_ins_option())]


def _line_of_ins_option() -> int:
    lines = (CLI / "common.py").read_text(encoding="utf-8").splitlines()
    return next(n for n, line in enumerate(lines, 1) if '"--ins"' in line)
