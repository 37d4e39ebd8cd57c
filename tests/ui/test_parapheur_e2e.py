"""The parapheur across both doors, for real: the secretary prepares with the ``dmp`` command
and her SoftHSM card (CPE-BERNARD), Dr Durand's real card in the real window shows the banner,
he reviews and signs in the panel, and the secretary's command sends it; the training host,
over real mutual TLS, records her as the submitter and him as the signer.

Both doors share the practice computer's data folder and its training key file (no system
keyring, as in tests/e2e/test_cross_door.py).
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import keyring
import pytest
from keyring.backends import fail
from pytestqt.qtbot import QtBot

from dmp_desktop.services.card_service import CardBackend
from dmp_desktop.settings import Settings, save_settings
from dmp_sandbox.server import RunningHost
from dmp_sandbox.training import TrainingEnv
from tests.e2e.test_cli_alimentation import IDENTITY, LEA, PDF, VISIBLE
from tests.host.test_alimentation_wire import submission_of
from tests.ui.conftest import log_in, real_window

pytestmark = pytest.mark.e2e

DURAND_ID = "899700433153"
STAFF_ID = "3499700433153007/SEC0001"
TIMEOUT = 20000


@pytest.fixture
def shared_key(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    yield
    keyring.set_keyring(previous)


def dmp(config: Path, *args: str, card: tuple[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dmp_desktop", "cli", *args, "--card", card[0], "--pin-stdin"],
        input=card[1] + "\n",
        capture_output=True,
        text=True,
        env={
            **os.environ,
            "DMP_DESKTOP_CONFIG": str(config),
            "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
        },
        timeout=90,
        check=False,
    )


@pytest.mark.usefixtures("shared_key")
def test_prepared_by_command_signed_in_the_window_sent_by_the_secretary(
    qtbot: QtBot,
    training_env: TrainingEnv,
    training_host: RunningHost,
    real_card_manager: CardBackend,
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    config = tmp_path / "settings.json"
    settings: Settings = dataclasses.replace(
        training_env.client_settings(), host_url=training_host.url, data_dir=str(data)
    )
    save_settings(settings, config)
    pdf = tmp_path / "courrier.pdf"
    pdf.write_bytes(PDF.replace(b"formation", b"parapheur-fenetre"))
    secretary = ("CPE-BERNARD", "1111")
    prepared = dmp(
        config,
        "upload",
        str(pdf),
        "--ins",
        LEA.ins.value,
        "--type",
        "11488-4",
        "--title",
        "Courrier signé dans la fenêtre",
        "--on-behalf-of",
        DURAND_ID,
        *VISIBLE,
        *IDENTITY,
        "--json",
        card=secretary,
    )
    assert prepared.returncode == 0, prepared.stderr
    assert '"state": "to_sign"' in prepared.stdout

    window = real_window(qtbot, training_env, training_host.url, real_card_manager, data_dir=data)
    log_in(qtbot, window, "CPS3-DURAND", "1234")
    actions = window.alimentation
    banner = actions.to_sign_banner
    qtbot.waitUntil(banner.isVisible, timeout=TIMEOUT)
    assert "1 envoi préparé par le secrétariat attend votre signature" in banner.text()
    banner.click()
    panel = actions.panel
    assert panel is not None and panel.sign_proxy.rowCount() == 1
    assert panel.sign_proxy.index(0, 2).data() == "Courrier signé dans la fenêtre"
    with qtbot.waitSignal(actions.service.signingDone, timeout=TIMEOUT) as done:
        panel.sign_button.click()
    ((item, signed),) = done.args[0]
    assert getattr(signed, "signed_at", None) is not None, signed
    qtbot.waitUntil(lambda: not banner.isVisible(), timeout=TIMEOUT)
    window.card_service.logout()

    sent = dmp(config, "outbox", "--resume", card=secretary)
    assert sent.returncode == 0, sent.stderr
    assert "reçu par le DMP" in sent.stdout
    submission = submission_of(training_host, item.unique_id)
    assert submission.submitter_national_id == STAFF_ID
    assert submission.signer_national_id == DURAND_ID and submission.signature_verified
