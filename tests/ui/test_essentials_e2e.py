"""« L'essentiel » end to end: the real window, the SoftHSM card, the training host over real
mutual TLS with its demo record of Léa MOREAU (CR-BIO over two years, discharge letter,
vaccination note, IPS-FR, her médecin traitant's VSM).

The record opens: nothing retrieved for « L'essentiel » (the host's traces say so); « Charger
les documents structurés »: each structured document retrieved once, the known lines,
conflicts and trends; Entrée on a line opens its source. With ``DMP_SCREENSHOT_DIR`` set, the
window is saved there as ``screenshot-essentials.png`` (docs/ holds the one of the README).
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from dmp_desktop.essentials.codec import line_to_dict
from dmp_desktop.essentials.model import Category, Status, Trend
from dmp_desktop.settings import save_settings
from dmp_desktop.ui.essentials_model import CategoryRole, LineRole, SourceIdRole
from dmp_desktop.ui.main_window import MainWindow
from dmp_sandbox.demo import demo_patients
from dmp_sandbox.server import RunningHost
from dmp_sandbox.training import TrainingEnv
from tests.support.cli import run_dmp
from tests.ui.conftest import HostWindow, log_in

pytestmark = pytest.mark.e2e

LEA = next(p for p in demo_patients() if p.key == "actif-autorise")
TIMEOUT = 30000


@pytest.fixture
def window(host_window: HostWindow) -> MainWindow:
    return host_window((1680, 1000))


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


# -- `dmp essentials` prints what the pane shows ---------------------------------------------


def pane_content(window: MainWindow) -> list[tuple[str, list[dict[str, object]]]]:
    """What the pane shows, rubric by rubric: for each line its mark, its text (first line of
    its tooltip), whether it is new, its values, its source and document id, how many other
    documents agree, and the disagreement it states."""
    model = window.essentials.pane.model
    out: list[tuple[str, list[dict[str, object]]]] = []
    for row in range(model.rowCount()):
        rubric = model.index(row, 0)
        category = model.data(rubric, CategoryRole)
        lines: list[dict[str, object]] = []
        for child in range(model.rowCount(rubric)):
            index = model.index(child, 0, rubric)
            line = model.data(index, LineRole)
            tooltip = str(model.data(index, Qt.ItemDataRole.ToolTipRole)).split("\n")
            item = str(model.data(index, Qt.ItemDataRole.DisplayRole))
            values = "Valeurs sur la période : "
            lines.append(
                {
                    "mark": "!" if item.startswith("⚠") else "•",
                    "text": tooltip[0],
                    "new": item.endswith("● nouveau"),
                    "values": next(
                        (t.removeprefix(values) for t in tooltip if t.startswith(values)), ""
                    ),
                    "source": next(
                        t.removeprefix("Source : ") for t in tooltip if t.startswith("Source : ")
                    ),
                    "id": model.data(index, SourceIdRole),
                    "others": sum(1 for t in tooltip if t.startswith("Aussi dans : ")),
                    "conflict": line.conflict,
                }
            )
        out.append((category.label, lines))
    return out


def cli_content(text: str) -> tuple[list[tuple[str, list[dict[str, object]]]], list[str]]:
    """The same, read from `dmp essentials`'s text; and its closing lines."""
    out: list[tuple[str, list[dict[str, object]]]] = []
    footer: list[str] = []
    rubrics = {category.label for category in Category}
    current: dict[str, object] | None = None
    for raw in text.splitlines():
        if not raw.strip():
            continue
        if raw.startswith(("  • ", "  ! ")):
            body = raw[4:]
            current = {
                "mark": raw[2],
                "text": body.removesuffix(" [nouveau]"),
                "new": body.endswith(" [nouveau]"),
                "values": "",
                "others": 0,
                "conflict": "",
            }
            out[-1][1].append(current)
        elif raw.startswith("      ") and current is not None:
            detail = raw.strip()
            if detail.startswith("valeurs : "):
                current["values"] = detail.removeprefix("valeurs : ")
            elif detail.startswith("source : "):
                source, _, uid = detail.removeprefix("source : ").rpartition("  (id ")
                current["source"], current["id"] = source, uid.removesuffix(")")
            elif detail.startswith("et ") and "concordant" in detail:
                current["others"] = int(detail.split(" ")[1])
            else:
                current["conflict"] = detail
        elif not raw.startswith(" "):
            current = None
            if raw in rubrics:
                out.append((raw, []))
            else:
                footer.append(raw)
    return out, footer


def test_dmp_essentials_prints_what_the_pane_shows(
    qtbot: QtBot,
    window: MainWindow,
    training_env: TrainingEnv,
    training_host: RunningHost,
    tmp_path: Path,
) -> None:
    log_in(qtbot, window)
    service = window.essentials.service
    edit = window.workspace.patient_pane.ins_edit
    qtbot.keyClicks(edit, LEA.ins.value)
    with qtbot.waitSignal(window.consultation.documentsReady, timeout=TIMEOUT):
        qtbot.keyClick(edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: service.view is not None and not service.building, timeout=TIMEOUT)
    with qtbot.waitSignal(service.loadingChanged, timeout=TIMEOUT):
        qtbot.mouseClick(window.essentials.pane.load_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not service.loading and not service.building, timeout=120000)
    view = service.view
    assert view is not None and view.unread == 0 and view.essentials.lines
    shown = pane_content(window)
    assert len(shown) >= 5 and sum(len(lines) for _, lines in shown) >= 20

    # the same card and host, its own computer (data folder): it retrieves with --load
    config = tmp_path / "cli" / "settings.json"
    config.parent.mkdir()
    settings = dataclasses.replace(
        training_env.client_settings(),
        host_url=training_host.url,
        data_dir=str(tmp_path / "cli" / "data"),
    )
    save_settings(settings, config)
    text = run_dmp(config, "essentials", "--ins", LEA.ins.value, "--load")
    assert text.returncode == 0, text.stderr
    printed, footer = cli_content(text.stdout)
    assert [rubric for rubric, _ in printed] == [rubric for rubric, _ in shown]
    for (rubric, cli_lines), (_, pane_lines) in zip(printed, shown, strict=True):
        assert cli_lines == pane_lines, rubric
    read = view.essentials.documents_read
    assert footer[0] == f"Documents structurés lus : {read}."
    assert f"lu dans {read} document(s) structuré(s)" in window.essentials.pane.summary_label.text()

    # --json (from its cache now): the same lines, field by field
    data = run_dmp(config, "essentials", "--ins", LEA.ins.value, "--json")
    assert data.returncode == 0, data.stderr
    answer = json.loads(data.stdout)
    assert answer["unread_structured_documents"] == view.unread == 0
    assert answer["documents_read"] == read
    lines = window.essentials.pane.model.lines()
    assert [line_to_dict(line) for line in lines] == [
        line for group in answer["categories"] for line in group["lines"]
    ]
