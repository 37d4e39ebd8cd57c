"""``dmp admin-data`` and ``dmp online-access`` end to end: the real ``dmp`` command with a
SoftHSM card, the training host on loopback over real mutual TLS, then
``dmp-sandbox outbox`` for what the patient received."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from dmp_sandbox.demo import demo_patients
from dmp_sandbox.server import RunningHost, run_in_thread
from dmp_sandbox.training import TrainingEnv
from tests.support.cli import client_config, run_dmp

pytestmark = pytest.mark.e2e

PATIENTS = {p.key: p.ins for p in demo_patients()}


@pytest.fixture
def host(training_env: TrainingEnv, host_db_url: str) -> Iterator[RunningHost]:
    with run_in_thread(training_env, host_db_url, seed=True) as running:
        yield running


@pytest.fixture
def config(training_env: TrainingEnv, host: RunningHost, tmp_path: Path) -> Path:
    return client_config(training_env, host.url, tmp_path / "settings.json")


def dmp(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_dmp(config, *args)


def sandbox_outbox(host_db_url: str, ins: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dmp_sandbox", "outbox", "--db", host_db_url, "--patient", ins],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_admin_data_and_online_access(config: Path, host: RunningHost, host_db_url: str) -> None:
    lea = PATIENTS["actif-autorise"]
    updated = dmp(
        config,
        "admin-data",
        "update",
        "--ins",
        lea.value,
        "--mobile",
        "06 12 34 56 78",
        "--email",
        "lea.moreau@exemple.fr",
        "--adresse",
        "12 rue des Lilas",
        "--code-postal",
        "75011",
        "--ville",
        "Paris",
        "--opposition-centre-15",
        "oui",
    )
    assert updated.returncode == 0, updated.stderr
    assert "modifiées" in updated.stdout
    shown = dmp(config, "admin-data", "show", "--ins", lea.value, "--json")
    assert shown.returncode == 0, shown.stderr
    data = json.loads(shown.stdout)
    assert (data["mobile"], data["email"], data["family_name"]) == (
        "0612345678",
        "lea.moreau@exemple.fr",
        "MOREAU",
    )
    assert data["address"]["city"] == "Paris" and data["opposition_centre_15"] is True

    bad = dmp(config, "admin-data", "update", "--ins", lea.value, "--mobile", "01 02 03 04 05")
    assert bad.returncode == 2 and "mobile" in bad.stderr and "Rien n'a été envoyé" in bad.stderr

    created = dmp(config, "online-access", "create", "--ins", lea.value, "--sms", "0612345678")
    assert created.returncode == 0, created.stderr
    assert "Identifiant : " in created.stdout and "Mot de passe provisoire : " in created.stdout
    password = created.stdout.split("Mot de passe provisoire : ")[1].split()[0]
    added = dmp(config, "online-access", "add-otp", "--ins", lea.value, "--email", "lea@exemple.fr")
    assert added.returncode == 0 and "Canal ajouté" in added.stdout, added.stderr

    minor = dmp(
        config, "online-access", "create", "--ins", PATIENTS["mineur"].value, "--sms", "0611223344"
    )
    assert minor.returncode == 1 and "mineur" in minor.stderr

    closed = dmp(
        config, "admin-data", "update", "--ins", PATIENTS["ferme"].value, "--ville", "Nice"
    )
    assert closed.returncode == 1 and "fermé" in closed.stderr

    outbox = sandbox_outbox(host_db_url, lea.value)
    assert outbox.returncode == 0, outbox.stderr
    assert "Code de vérification" in outbox.stdout and "06 •• •• •• 78" in outbox.stdout
    assert "données administratives" in outbox.stdout
    assert password not in outbox.stdout
    traces = [t.transaction for t in host.store.traces()]
    for transaction in ("TD1.3a", "TD1.3b", "TD1.5a", "TD1.5b"):
        assert transaction in traces
