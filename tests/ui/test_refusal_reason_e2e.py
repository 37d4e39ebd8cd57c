"""The host's own refusal reason reaches the real window (SoftHSM card, training host).

Dr Durand lists Moreau Léa's documents; meanwhile the patient blocks him (as
she would from her own space); F5 asks the DMP again, which refuses and says
why: the window shows our sentence and, under it, the host's own reason.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from dmp_desktop.services.card_service import CardBackend
from dmp_sandbox.demo import demo_patients
from dmp_sandbox.server import RunningHost, run_in_thread
from dmp_sandbox.store import AuthorizationStatus
from dmp_sandbox.training import TrainingEnv
from tests.ui.conftest import log_in, real_window

pytestmark = pytest.mark.e2e

LEA = next(p for p in demo_patients() if p.key == "actif-autorise")
DURAND_ID = "899700433153"
TIMEOUT = 20000


@pytest.fixture
def training_host(training_env: TrainingEnv, host_db_url: str) -> Iterator[RunningHost]:
    with run_in_thread(training_env, host_db_url, seed=True) as host:
        yield host


def test_the_window_shows_why_the_host_refuses(
    qtbot: QtBot,
    training_env: TrainingEnv,
    training_host: RunningHost,
    real_card_manager: CardBackend,
    tmp_path: Path,
) -> None:
    window = real_window(
        qtbot, training_env, training_host.url, real_card_manager, data_dir=tmp_path
    )
    log_in(qtbot, window)
    edit = window.workspace.patient_pane.ins_edit
    qtbot.keyClicks(edit, LEA.ins.value)
    with qtbot.waitSignal(window.consultation.documentsReady, timeout=TIMEOUT):
        window.workspace.patient_pane.request_check()

    store = training_host.store
    with store.session() as session:
        patient = store.find_patient(session, LEA.ins.value, LEA.ins.oid)
        assert patient is not None
        store.set_authorization(session, patient, DURAND_ID, AuthorizationStatus.INTERDIT)
        session.commit()

    with qtbot.waitSignal(window.consultation.documentsFailed, timeout=TIMEOUT) as failed:
        window.act_refresh.trigger()
    shown = failed.args[0]
    assert shown.startswith("Le patient vous a bloqué : l'accès à son DMP vous est refusé.\n")
    assert shown.endswith(
        "Motif donné par le DMP : Le patient vous a interdit l'accès à son DMP, y compris en "
        "mode d'urgence."
    )
    texts = [w.text() for w in window.findChildren(type(window.sync_label)) if w.isVisible()]
    assert any("Motif donné par le DMP : Le patient vous a interdit" in t for t in texts), texts
