"""``dmp create`` / ``close`` / ``reactivate`` / ``authorizations`` end to end: a SoftHSM
card, the training host on loopback over real mutual TLS, the real ``dmp`` command."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from dmp_sandbox.demo import demo_ins, demo_patients
from dmp_sandbox.server import RunningHost, run_in_thread
from dmp_sandbox.store import DmpState
from dmp_sandbox.training import TrainingEnv
from tests.support.cli import client_config, run_dmp

pytestmark = pytest.mark.e2e

PATIENTS = {p.key: p for p in demo_patients()}


@pytest.fixture(scope="module")
def host(training_env: TrainingEnv, module_host_db_url: str) -> Iterator[RunningHost]:
    with run_in_thread(training_env, module_host_db_url, seed=True) as running:
        yield running


@pytest.fixture(scope="module")
def config(
    training_env: TrainingEnv, host: RunningHost, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    path = tmp_path_factory.mktemp("cli-records-config") / "settings.json"
    return client_config(training_env, host.url, path)


def dmp(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_dmp(config, *args)


def state(host: RunningHost, ins_value: str, root: str) -> tuple[DmpState, bool, bool]:
    with host.store.session() as session:
        patient = host.store.find_patient(session, ins_value, root)
        assert patient is not None
        return patient.state, patient.is_minor, patient.internet_account_open


def test_create_adult_and_minor(config: Path, host: RunningHost) -> None:
    adult = demo_ins("1850375123456")
    base = ["--sexe", "M", "--naissance", "1985-03-14", "--nom", "Petit", "--prenom", "Hugo"]
    refused = dmp(config, "create", "--ins", adult.value, *base)
    assert refused.returncode == 2 and "consentement" in refused.stderr
    done = dmp(config, "create", "--ins", adult.value, *base, "--consentement", "--email", "h@x.fr")
    assert done.returncode == 0, done.stderr
    assert "créé pour Hugo Petit" in done.stdout
    assert state(host, adult.value, adult.oid) == (DmpState.ACTIVE, False, True)
    again = dmp(config, "create", "--ins", adult.value, *base, "--consentement")
    assert again.returncode == 1 and "déjà un DMP" in again.stderr

    child = demo_ins("2180575123457")
    birth = (dt.date.today() - dt.timedelta(days=365 * 8)).isoformat()
    minor = ["--sexe", "F", "--naissance", birth, "--nom", "Petit", "--prenom", "Louise"]
    missing = dmp(config, "create", "--ins", child.value, *minor, "--consentement")
    assert missing.returncode == 2 and "représentant légal" in missing.stderr
    done = dmp(
        config,
        "create",
        "--ins",
        child.value,
        *minor,
        "--consentement",
        "--mobile",
        "+33600000000",
        "--representant-nom",
        "Petit",
        "--representant-prenom",
        "Hugo",
        "--representant-consentement",
    )
    assert done.returncode == 0, done.stderr
    assert "mineur" in done.stdout
    assert state(host, child.value, child.oid) == (DmpState.ACTIVE, True, False)


def test_close_reactivate_and_authorizations(config: Path, host: RunningHost) -> None:
    emma = PATIENTS["mineur"].ins
    closed = dmp(config, "close", "--ins", emma.value, "--motif", "Demande de la famille")
    assert closed.returncode == 0, closed.stderr
    assert state(host, emma.value, emma.oid)[0] is DmpState.CLOSED
    twice = dmp(config, "close", "--ins", emma.value, "--motif", "encore")
    assert twice.returncode == 1 and "fermé" in twice.stderr
    reopened = dmp(config, "reactivate", "--ins", emma.value)
    assert reopened.returncode == 0 and "réactivé" in reopened.stdout
    assert state(host, emma.value, emma.oid)[0] is DmpState.ACTIVE

    lea = PATIENTS["actif-autorise"].ins
    listed = dmp(config, "authorizations", "--ins", lea.value, "--json")
    assert listed.returncode == 0, listed.stderr
    rows = json.loads(listed.stdout)
    assert [(r["national_id"], r["status"], r["treating_physician"]) for r in rows] == [
        ("899700433153", "VALIDE", True)
    ]
    text = dmp(config, "authorizations", "--ins", lea.value)
    assert "médecin traitant DMP" in text.stdout and "autorisé" in text.stdout
