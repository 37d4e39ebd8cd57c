"""``dmp status`` end to end: a SoftHSM card, the training host on loopback over real
mutual TLS (the card signs the handshake), the real ``dmp`` command in a subprocess."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from dmp_desktop.settings import save_settings
from dmp_sandbox.demo import demo_patients
from dmp_sandbox.server import RunningHost, run_in_thread
from dmp_sandbox.training import TrainingEnv
from tests.support.cli import client_config

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
    path = tmp_path_factory.mktemp("cli-config") / "settings.json"
    return client_config(training_env, host.url, path)  # its own data folder


def dmp(config: Path, *args: str, pin: str = "1234") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DMP_DESKTOP_CONFIG": str(config)}
    return subprocess.run(
        [sys.executable, "-m", "dmp_desktop", "cli", *args],
        input=pin + "\n",
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


def status_json(config: Path, key: str) -> dict[str, object]:
    result = dmp(
        config,
        "status",
        "--ins",
        PATIENTS[key].ins.value,
        "--card",
        "CPS3-DURAND",
        "--pin-stdin",
        "--json",
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert isinstance(data, dict)
    return data


def test_patient_with_an_active_dmp(config: Path, host: RunningHost) -> None:
    before = host.store.last_trace_id()
    data = status_json(config, "actif-autorise")
    assert data["dmp"] == "active"
    assert data["authorization"] == "VALIDE"
    assert data["treating_physician"] is True
    patient = data["patient"]
    assert isinstance(patient, dict)
    assert patient["family_name"].upper() == "MOREAU"
    assert patient["birth_date"] == "2007-05-25"
    # The host identified Dr Durand from the card's TLS certificate and traced the request.
    traces = host.store.traces(after_id=before)
    assert [(t.transaction, t.professional_national_id) for t in traces] == [
        ("TD0.2", "899700433153")
    ]


def test_patient_without_a_dmp(config: Path) -> None:
    data = status_json(config, "sans-dmp")
    assert data["dmp"] == "none"
    assert data["authorization"] is None
    assert data["summary"] == "Ce patient n'a pas de DMP."


def test_patient_with_a_closed_dmp(config: Path) -> None:
    data = status_json(config, "ferme")
    assert data["dmp"] == "closed"
    assert data["closure_date"]
    assert data["closure_reason"] == "FERMETURE_DEMANDE_PATIENT"


def test_text_output_for_a_blocked_professional(config: Path) -> None:
    result = dmp(
        config,
        "status",
        "--ins",
        PATIENTS["bloque"].ins.value,
        "--card",
        "CPS3-DURAND",
        "--pin-stdin",
    )
    assert result.returncode == 0, result.stderr
    assert "La patiente vous a bloqué" in result.stdout  # Nathalie GIRARD (F)
    assert "Patiente : GIRARD NATHALIE, née le " in result.stdout


def test_wrong_pin_says_how_many_tries_are_left(config: Path) -> None:
    result = dmp(
        config,
        "status",
        "--ins",
        PATIENTS["sans-dmp"].ins.value,
        "--card",
        "CPS4-MARTIN",
        "--pin-stdin",
        pin="9999",
    )
    assert result.returncode == 3
    assert "Code PIN incorrect. Il vous reste 2 essais." in result.stderr
    # The right PIN afterwards resets the counter.
    ok = dmp(
        config,
        "status",
        "--ins",
        PATIENTS["sans-dmp"].ins.value,
        "--card",
        "CPS4-MARTIN",
        "--pin-stdin",
        pin="4321",
    )
    assert ok.returncode == 0, ok.stderr


def test_invalid_ins_is_refused_before_the_card(config: Path) -> None:
    result = dmp(config, "status", "--ins", "207058575627098", "--pin-stdin")
    assert result.returncode == 2
    assert "clé" in result.stderr


def test_host_from_an_unknown_ca_is_refused(
    training_env: TrainingEnv, rogue_pki: object, host: RunningHost, tmp_path: Path
) -> None:
    """The client pins the TEST root: with another root, nothing is sent to the host."""
    path = tmp_path / "settings.json"
    save_settings(
        dataclasses.replace(
            training_env.client_settings(),
            host_url=host.url,
            trust_roots=str(rogue_pki.trust_roots),  # type: ignore[attr-defined]
        ),
        path,
    )
    before = host.store.last_trace_id()
    result = dmp(
        path,
        "status",
        "--ins",
        PATIENTS["sans-dmp"].ins.value,
        "--card",
        "CPS3-DURAND",
        "--pin-stdin",
    )
    assert result.returncode == 4
    assert "certificat de confiance" in result.stderr
    assert "Aucune donnée n'a été envoyée" in result.stderr
    assert host.store.traces(after_id=before) == []


def test_unreachable_host(training_env: TrainingEnv, tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    save_settings(
        dataclasses.replace(training_env.client_settings(), host_url="https://localhost:9"),
        path,
    )
    result = dmp(
        path,
        "status",
        "--ins",
        PATIENTS["sans-dmp"].ins.value,
        "--card",
        "CPS3-DURAND",
        "--pin-stdin",
    )
    assert result.returncode == 4
    assert "Impossible de joindre le DMP" in result.stderr


def test_logs_carry_no_pin_ins_or_name(config: Path) -> None:
    """Rule 7: debug logs carry operation ids, never a PIN, an INS or a patient's name."""
    patient = PATIENTS["actif-autorise"]
    result = dmp(
        config,
        "-v",
        "status",
        "--ins",
        patient.ins.value,
        "--card",
        "CPS3-DURAND",
        "--pin-stdin",
        "--json",
    )
    assert result.returncode == 0, result.stderr
    logs = result.stderr
    assert "DEBUG" in logs  # the debug log did run
    for secret in ("1234", patient.ins.value, patient.family_name.upper(), patient.given_name):
        assert secret not in logs, secret


def test_the_secretary_is_told_what_she_may_do_not_to_ask_for_consent(config: Path) -> None:
    """A CPE card feeds the record but never reads it: ``dmp status`` prints the window's
    sentence (usecases.access.status_summary), no consent to ask for, no authorisation line
    (a doctor without authorisation is asked for the consent for the same patient)."""
    from dmp_desktop.messages import text

    patient = PATIENTS["actif-sans-autorisation"]
    args = ("status", "--ins", patient.ins.value, "--pin-stdin")
    result = dmp(config, *args, "--card", "CPE-BERNARD", pin="1111")
    assert result.returncode == 0, result.stderr
    first = result.stdout.splitlines()[0]
    assert first == f"{text('status.active')} {text('status.staff')}"
    assert "consentement" not in result.stdout
    assert "Autorisation :" not in result.stdout
    data = json.loads(dmp(config, *args, "--card", "CPE-BERNARD", "--json", pin="1111").stdout)
    assert (data["staff"], data["summary"]) == (True, first)
    doctor = dmp(config, *args, "--card", "CPS3-DURAND", "--json")
    assert json.loads(doctor.stdout)["staff"] is False
    assert "demandez au patient son consentement" in json.loads(doctor.stdout)["summary"]
