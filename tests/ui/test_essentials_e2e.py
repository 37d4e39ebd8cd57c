"""« L'essentiel » end to end: the real window, the SoftHSM card, the training host over real
mutual TLS with its demo record of Léa MOREAU (CR-BIO over two years, discharge letter,
vaccination note, IPS-FR, her médecin traitant's VSM).

The record opens: nothing retrieved for « L'essentiel » (the host's traces say so); « Charger
les documents structurés »: each structured document retrieved once, the known lines,
conflicts and trends; Entrée on a line opens its source. With ``DMP_SCREENSHOT_DIR`` set, the
window is saved there as ``screenshot-essentials.png`` (docs/ holds the one of the README).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from dmp_desktop.essentials.model import Category, Status, Trend
from dmp_desktop.services.card_service import CardBackend
from dmp_desktop.ui.main_window import MainWindow
from dmp_sandbox.demo import demo_patients
from dmp_sandbox.server import RunningHost, run_in_thread
from dmp_sandbox.training import TrainingEnv
from tests.ui.conftest import log_in, real_window

pytestmark = pytest.mark.e2e

LEA = next(p for p in demo_patients() if p.key == "actif-autorise")
TIMEOUT = 30000


@pytest.fixture(scope="module")
def training_host(
    training_env: TrainingEnv, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningHost]:
    db = tmp_path_factory.mktemp("essentials-e2e-host") / "host.db"
    with run_in_thread(training_env, f"sqlite:///{db}", seed=True) as host:
        yield host


@pytest.fixture
def window(
    qtbot: QtBot,
    training_env: TrainingEnv,
    training_host: RunningHost,
    real_card_manager: CardBackend,
    tmp_path: Path,
) -> MainWindow:
    return real_window(
        qtbot,
        training_env,
        training_host.url,
        real_card_manager,
        data_dir=tmp_path,
        size=(1680, 1000),
    )


def retrievals(host: RunningHost, after: int) -> list[str]:
    return [t.transaction for t in host.store.traces(after_id=after) if t.transaction == "TD3.2"]


def test_lea_moreau_essentials_against_the_training_host(
    qtbot: QtBot, window: MainWindow, training_host: RunningHost
) -> None:
    log_in(qtbot, window)
    service = window.essentials.service
    before = training_host.store.last_trace_id()
    edit = window.workspace.patient_pane.ins_edit
    qtbot.keyClicks(edit, LEA.ins.value)
    with qtbot.waitSignal(window.consultation.documentsReady, timeout=TIMEOUT):
        qtbot.keyClick(edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: service.view is not None and not service.building, timeout=TIMEOUT)
    assert retrievals(training_host, before) == []  # opening the record retrieves nothing
    view = service.view
    assert view is not None and view.unread >= 11 and not view.essentials.lines
    pane = window.essentials.pane
    assert pane.load_button.isVisible()

    before = training_host.store.last_trace_id()
    with qtbot.waitSignal(service.loadingChanged, timeout=TIMEOUT):
        qtbot.mouseClick(pane.load_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not service.loading, timeout=120000)
    view = service.view
    assert view is not None and view.unread == 0
    assert len(retrievals(training_host, before)) == view.structured  # each once
    essentials = view.essentials
    problems = {line.code for line in essentials.in_category(Category.PROBLEMS)}
    assert {"E10.9", "J45.0", "J30.1"} <= problems
    diabetes = next(line for line in essentials.lines if line.code == "E10.9")
    assert len(diabetes.sources) == 3  # the IPS-FR, the discharge letter and the VSM agree
    results = {line.key: line for line in essentials.in_category(Category.RESULTS)}
    assert results["concept:hba1c"].trend is Trend.DOWN
    assert results["concept:hba1c"].detail == "6,9 %"
    assert len(results["concept:hba1c"].points) == 7
    assert results["concept:creatinine"].trend is Trend.STABLE
    conflicts = {(line.label.split(" ")[0], line.status) for line in essentials.conflicts}
    assert conflicts == {
        ("SINGULAIR", Status.ACTIVE),
        ("SINGULAIR", Status.STOPPED),
        ("Amoxicilline", Status.ACTIVE),
        ("Amoxicilline", Status.RESOLVED),
    }
    glargine = next(line for line in essentials.lines if line.label.startswith("LANTUS"))
    assert not glargine.conflict and len(glargine.sources) == 3  # IPS-FR, VSM, discharge letter
    assert glargine.source.author == "Dr Élise VIDAL"

    directory = os.environ.get("DMP_SCREENSHOT_DIR")
    if directory:
        pane.tree.setFocus()
        pane.select_fingerprint(results["concept:hba1c"].fingerprint)
        pane.tree.scrollTo(pane.tree.currentIndex(), pane.tree.ScrollHint.PositionAtCenter)
        qtbot.wait(200)
        window.grab().save(str(Path(directory) / "screenshot-essentials.png"))

    # Ctrl+E, the HbA1c line, Entrée: its laboratory report opens in the viewer
    window.essentials.act_focus.trigger()
    pane.filter_edit.setText("HbA1c")
    pane.tree.setCurrentIndex(pane.first_line_index())
    pane.tree.setFocus()
    with qtbot.waitSignal(window.consultation.documentReady, timeout=TIMEOUT) as blocker:
        qtbot.keyClick(pane.tree, Qt.Key.Key_Return)
    opened, _view = blocker.args
    assert opened.unique_id == results["concept:hba1c"].source.unique_id
    assert opened.title == "Compte rendu de biologie médicale"
