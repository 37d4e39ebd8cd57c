"""``dmp … --secret-connection``: a minor's secret connection declared from the command line
(the window has « Dossier › Connexion secrète (patient mineur) »). Real SoftHSM card, the
training host over real mutual TLS, the ``dmp`` command run in this process so that the
requests its DMP client sends can be read before TLS (an httpx request hook).

The rule is the use case's (usecases.records.declare_secret_connection: TD0.2 first, a
minor's DMP only, never a secretary); the wire is the official VIHF attribute
``urn:oasis:names:tc:xspa:1.0:resource:patient:hl7:confidentiality-code``
(INVISIBLE_REPRESENTANTS_LEGAUX), on every request about that patient after the declaration.
"""

from __future__ import annotations

import dataclasses
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from dmp_desktop.cli.common import Io
from dmp_desktop.cli.main import main
from dmp_desktop.connect import open_dmp
from dmp_desktop.settings import Settings, save_settings
from dmp_sandbox.demo import demo_patients
from dmp_sandbox.server import RunningHost, run_in_thread
from dmp_sandbox.training import TrainingEnv

pytestmark = pytest.mark.e2e

MINOR = next(p for p in demo_patients() if p.key == "mineur")
ADULT = next(p for p in demo_patients() if p.key == "actif-autorise")
ATTRIBUTE = b"urn:oasis:names:tc:xspa:1.0:resource:patient:hl7:confidentiality-code"
CODE = b'code="INVISIBLE_REPRESENTANTS_LEGAUX"'


@pytest.fixture(scope="module")
def host(training_env: TrainingEnv, module_host_db_url: str) -> Iterator[RunningHost]:
    with run_in_thread(training_env, module_host_db_url, seed=True) as running:
        yield running


@pytest.fixture
def config(training_env: TrainingEnv, host: RunningHost, tmp_path: Path) -> Path:
    path = tmp_path / "settings.json"
    settings = dataclasses.replace(
        training_env.client_settings(), host_url=host.url, data_dir=str(tmp_path / "data")
    )
    save_settings(settings, path)
    return path


def run(config: Path, *argv: str, card: tuple[str, str]) -> tuple[int, str, str, list[bytes]]:
    """``dmp argv`` with ``card``; returns the exit code, stdout, stderr and the bodies of the
    requests its DMP client sent."""
    sent: list[bytes] = []

    def recording_open(settings: Settings, session: Any) -> Any:
        client = open_dmp(settings, session)

        def record(request: httpx.Request) -> None:
            sent.append(request.read())

        client._http.event_hooks["request"].append(record)  # the test reads before TLS
        return client

    out, err = io.StringIO(), io.StringIO()
    command = ["--config", str(config), *argv, "--card", card[0], "--pin-stdin"]
    code = main(command, io=Io(out, err, io.StringIO(card[1] + "\n")), open_dmp=recording_open)
    return code, out.getvalue(), err.getvalue(), sent


def test_a_minors_secret_connection_from_the_command_line(config: Path) -> None:
    code, out, err, sent = run(
        config,
        "list",
        "--ins",
        MINOR.ins.value,
        "--all-dates",
        "--secret-connection",
        card=("CPS3-DURAND", "1234"),
    )
    assert code == 0, err
    assert "documents (toutes les dates)" in out  # Dr Durand is authorised: the list
    assert "Connexion secrète (patient mineur)" in err
    assert len(sent) >= 2
    # TD0.2 first, as any access (the DMP says the patient is a minor)...
    assert ATTRIBUTE not in sent[0]
    # ...then every request about the patient carries the official attribute.
    for body in sent[1:]:
        assert ATTRIBUTE in body and CODE in body


def test_no_secret_connection_for_an_adult_nor_for_a_secretary(config: Path) -> None:
    code, _out, err, sent = run(
        config,
        "status",
        "--ins",
        ADULT.ins.value,
        "--secret-connection",
        card=("CPS3-DURAND", "1234"),
    )
    assert code == 1
    assert "réservée au DMP d'un patient mineur" in err
    assert len(sent) == 1 and ATTRIBUTE not in sent[0]  # TD0.2 only: nothing else went out

    code, _out, err, sent = run(
        config,
        "status",
        "--ins",
        MINOR.ins.value,
        "--secret-connection",
        card=("CPE-BERNARD", "1111"),
    )
    assert code == 1
    assert "réservée aux professionnels de santé" in err
    assert all(ATTRIBUTE not in body for body in sent)
