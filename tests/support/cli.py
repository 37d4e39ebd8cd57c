"""The ``dmp`` command in its own process, for the end-to-end CLI tests.

- :func:`client_config`: the client settings of the training environment,
  pointed at a running training host, saved where the command will read them;
- :func:`run_dmp`: ``python -m dmp_desktop cli …`` with that configuration,
  the card chosen with ``--card`` and its PIN typed on standard input.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

from dmp_desktop.settings import Settings, save_settings
from dmp_sandbox.training import TrainingEnv

DURAND = ("CPS3-DURAND", "1234")


def client_config(training_env: TrainingEnv, host_url: str, path: Path) -> Path:
    """Save the training client settings, on ``host_url``, to ``path``; return ``path``.

    The local data (encrypted stores, outbox, key file) go in a folder beside ``path``: a
    module's command never reads what another module's left (not the session's shared one).
    """
    settings: Settings = dataclasses.replace(
        training_env.client_settings(),
        host_url=host_url,
        data_dir=str(path.parent / f"{path.stem}-data"),
    )
    save_settings(settings, path)
    return path


def run_dmp(
    config: Path,
    *args: str,
    card: tuple[str, str] = DURAND,
    stdin: str | None = None,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``dmp <args> --card <label> --pin-stdin``; stdin is the card's PIN unless given."""
    return subprocess.run(
        [sys.executable, "-m", "dmp_desktop", "cli", *args, "--card", card[0], "--pin-stdin"],
        input=stdin if stdin is not None else card[1] + "\n",
        capture_output=True,
        text=True,
        env={**os.environ, "DMP_DESKTOP_CONFIG": str(config), **(env or {})},
        timeout=60,
        check=False,
    )
