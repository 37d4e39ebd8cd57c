"""Health data and keys on disk are the owner's only (issue 13: host.db was 0644, folder 0755)."""

from __future__ import annotations

import stat
from pathlib import Path

from dmp_sandbox.store import Store
from dmp_sandbox.training import TrainingEnv


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_training_folder_and_its_keys(training_env: TrainingEnv) -> None:
    assert _mode(training_env.root) == 0o700
    for key in (
        training_env.pki.root_key,
        training_env.pki.persons_key,
        training_env.pki.orgs_key,
        training_env.pki.host_key,
    ):
        assert _mode(key) == 0o600, key.name


def test_a_new_database_file_is_private(tmp_path: Path) -> None:
    path = tmp_path / "host.db"
    with Store(f"sqlite:///{path}"):
        pass
    assert _mode(path) == 0o600


def test_an_existing_database_file_is_made_private(tmp_path: Path) -> None:
    path = tmp_path / "host.db"
    with Store(f"sqlite:///{path}"):
        pass
    path.chmod(0o644)
    with Store(f"sqlite:///{path}"):
        pass
    assert _mode(path) == 0o600
    for companion in tmp_path.glob("host.db-*"):  # WAL / shared memory, if any remain
        assert _mode(companion) & 0o077 == 0, companion.name


def test_the_seed_command_makes_its_folder_private(tmp_path: Path) -> None:
    from dmp_sandbox.__main__ import main

    folder = tmp_path / "formation"
    folder.mkdir(mode=0o755)
    folder.chmod(0o755)
    assert main(["seed", "--demo", "--dir", str(folder)]) == 0
    assert _mode(folder) == 0o700
    assert _mode(folder / "host.db") == 0o600
