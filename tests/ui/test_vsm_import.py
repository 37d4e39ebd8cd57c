"""« Importer une terminologie… »: an official list imported off the UI thread, with
progress and « Annuler »; a cancelled or wrong import leaves the index as it was."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel
from pytestqt.qtbot import QtBot

from dmp_desktop.services.operations import OperationRunner
from dmp_desktop.services.vsm_terminology import ImportKind, TerminologyService
from dmp_desktop.terminology import Concept, ImportReport, System
from dmp_desktop.ui.vsm_import import TerminologyImportDialog

LINES = 12_000  # the importer reports progress every 2 000 lines


def atih_file(path: Path, lines: int = LINES) -> Path:
    """A CIM-10 list in the ATIH LIBCIM10MULTI.TXT layout (Latin-1, pipes, padded codes)."""
    rows = []
    for n in range(lines):
        code = f"Q{n // 100:02d}{n % 100:02d}"[:5] if n < 10_000 else f"R{n - 10_000:04d}"
        label = f"Affection d'essai numéro {n} à surveiller"
        rows.append(f"{code:<8}|0|0|0|{label[:30]}|{label}")
    path.write_bytes("\n".join(rows).encode("latin-1"))
    return path


@pytest.fixture
def service(qtbot: QtBot, tmp_path: Path) -> Iterator[TerminologyService]:
    runner = OperationRunner(progress_delay_ms=0)
    service = TerminologyService(tmp_path / "terminology.sqlite", runner)
    yield service
    service.close()
    runner.shutdown(wait=True)


def search(qtbot: QtBot, service: TerminologyService, text: str) -> list[Concept]:
    found: list[list[Concept]] = []
    service.search((System.CIM10,), text, found.append)
    qtbot.waitUntil(lambda: bool(found))
    return found[0]


def count(qtbot: QtBot, service: TerminologyService) -> int:
    sources: list[int] = []
    service.sources(
        lambda infos: sources.extend(s.count for s in infos if s.system is System.CIM10)
    )
    qtbot.waitUntil(lambda: bool(sources))
    return sources[0]


def test_import_shows_progress_and_new_codes_are_found(
    qtbot: QtBot, service: TerminologyService, tmp_path: Path
) -> None:
    dialog = TerminologyImportDialog(service)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitUntil(lambda: "CIM-10" in dialog.sources_label.text())
    assert "extrait fourni" in dialog.sources_label.text()
    seen: list[float] = []
    service.importProgress.connect(seen.append)
    with qtbot.waitSignal(service.importSucceeded, timeout=30000) as done:
        dialog.start_import(ImportKind.CIM10, atih_file(tmp_path / "LIBCIM10MULTI.TXT"))
        assert dialog.progress.isVisible() and dialog.cancel_button.isVisible()
        assert not dialog.cim10_button.isEnabled()
    report = done.args[0]
    assert isinstance(report, ImportReport)
    assert report.imported == {System.CIM10: LINES}
    assert len(seen) >= 5 and seen == sorted(seen) and seen[-1] == 1.0
    assert dialog.progress.value() == 1000
    assert "Import terminé" in dialog.status_label.text()
    assert not dialog.progress.isVisible() and dialog.cim10_button.isEnabled()
    assert search(qtbot, service, "Q12.34")[0].display_code == "Q12.34"
    assert search(qtbot, service, "affection essai 4242")[0].code == "Q4242"
    qtbot.waitUntil(lambda: "LIBCIM10MULTI.TXT" in dialog.sources_label.text())


def test_cancel_stops_the_import_and_keeps_the_previous_list(
    qtbot: QtBot, service: TerminologyService, tmp_path: Path
) -> None:
    before = count(qtbot, service)
    dialog = TerminologyImportDialog(service)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitActive(dialog)
    reached, resume = threading.Event(), threading.Event()

    def hold_first_progress(_fraction: float) -> None:  # runs in the import worker
        if not reached.is_set():
            reached.set()
            resume.wait(10)

    service.importProgress.connect(hold_first_progress, Qt.ConnectionType.DirectConnection)
    dialog.start_import(ImportKind.CIM10, atih_file(tmp_path / "LIBCIM10MULTI.TXT"))
    qtbot.waitUntil(reached.is_set)
    assert dialog.cancel_button.hasFocus()
    with qtbot.waitSignal(service.importEnded, timeout=30000):
        with qtbot.waitSignal(service.importCancelled):
            qtbot.keyClick(dialog.cancel_button, Qt.Key.Key_Space)  # keyboard: « Annuler »
        resume.set()
    assert "Import annulé" in dialog.status_label.text()
    assert not dialog.progress.isVisible()
    assert count(qtbot, service) == before  # the starter set is still there
    assert not search_codes(qtbot, service, "Q12.34")


def search_codes(qtbot: QtBot, service: TerminologyService, text: str) -> list[str]:
    return [c.display_code for c in search(qtbot, service, text) if c.code.startswith("Q12")]


def test_a_wrong_file_is_refused_in_french_and_changes_nothing(
    qtbot: QtBot, service: TerminologyService, tmp_path: Path
) -> None:
    before = count(qtbot, service)
    dialog = TerminologyImportDialog(service)
    qtbot.addWidget(dialog)
    wrong = tmp_path / "notes.txt"
    wrong.write_text("ceci n'est pas la CIM-10\nni une liste de codes\n", encoding="utf-8")
    with qtbot.waitSignal(service.importFailed, timeout=30000) as failed:
        dialog.start_import(ImportKind.CIM10, wrong)
    assert "ne ressemble pas à la liste attendue" in failed.args[0]
    assert dialog.status_label.property("tone") == "error"
    with qtbot.waitSignal(service.importFailed, timeout=30000) as missing:
        dialog.start_import(ImportKind.BDPM, tmp_path / "empty-folder")
    assert "introuvable" in missing.args[0]
    assert count(qtbot, service) == before


def test_first_run_imports_the_training_cim10_and_bdpm(
    qtbot: QtBot, service: TerminologyService, tmp_path: Path
) -> None:
    """The first-run assistant names the official download pages and, in training, imports
    the reference CIM-10 and BDPM (read where they are) one after the other."""
    from tests.conftest import REFERENCE_DATA
    from tests.support.vocabulary import _slices, require_shared

    require_shared(REFERENCE_DATA)
    reference = tmp_path / "reference-data"
    (reference / "cim10").mkdir(parents=True)
    cim10, bdpm = _slices(tmp_path)
    cim10.rename(reference / "cim10" / "cim10.csv")
    bdpm.rename(reference / "bdpm")
    dialog = TerminologyImportDialog(service, first_run=True, reference_data=reference)
    qtbot.addWidget(dialog)
    dialog.show()
    assert "listes officielles" in dialog.windowTitle()
    downloads = dialog.findChild(QLabel, "terminologyDownloads")
    assert downloads is not None and "atih.sante.fr" in downloads.text()
    assert "base-donnees-publique.medicaments.gouv.fr" in downloads.text()
    assert dialog.training_button.isVisible()
    imported: list[set[System]] = []
    service.importSucceeded.connect(lambda report: imported.append(set(report.imported)))
    dialog.training_button.click()
    qtbot.waitUntil(lambda: len(imported) == 2 and not service.importing, timeout=60_000)
    assert System.CIM10 in imported[0] and System.CIS in imported[1]
    found: list[list[Concept]] = []
    service.search((System.SUBSTANCE,), "metformine", found.append)
    qtbot.waitUntil(lambda: bool(found))
    assert found[0] and found[0][0].code == "A10BA02"
