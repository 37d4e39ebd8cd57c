"""« Importer une terminologie… »: the official lists a practice downloads, imported off the
UI thread with a progress bar and « Annuler » (an interrupted import changes nothing)."""

from __future__ import annotations

import html
from pathlib import Path

from PySide6.QtCore import QCoreApplication, Qt, QTimer
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from dmp_desktop.services.vsm_terminology import ImportKind, TerminologyService
from dmp_desktop.terminology import ImportReport, SourceInfo, System
from dmp_desktop.terminology.sources import DOWNLOADS
from dmp_desktop.ui.style import Tone, set_tone
from dmp_desktop.ui.vsm_fields import QT_TRANSLATE_NOOP

_STEPS = 1000

_SYSTEM_LABELS = {
    System.CIM10: QT_TRANSLATE_NOOP("TerminologyImportDialog", "CIM-10"),
    System.CIS: QT_TRANSLATE_NOOP("TerminologyImportDialog", "Médicaments (CIS)"),
    System.CIP: QT_TRANSLATE_NOOP("TerminologyImportDialog", "Présentations (CIP)"),
    System.ATC: QT_TRANSLATE_NOOP("TerminologyImportDialog", "Classes ATC"),
    System.CCAM: QT_TRANSLATE_NOOP("TerminologyImportDialog", "Actes (CCAM)"),
    System.SNOMED_ALLERGY: QT_TRANSLATE_NOOP(
        "TerminologyImportDialog", "Types d'allergie (SNOMED CT)"
    ),
}


def _system_label(system: System) -> str:
    label = _SYSTEM_LABELS.get(system)
    if label is None:
        return system.value
    return QCoreApplication.translate("TerminologyImportDialog", label)


class TerminologyImportDialog(QDialog):
    """Shows what the index holds and imports the ATIH CIM-10 file or the ANSM BDPM folder."""

    def __init__(
        self,
        service: TerminologyService,
        parent: QWidget | None = None,
        *,
        first_run: bool = False,
        reference_data: Path | None = None,
    ) -> None:
        super().__init__(parent)
        self.service = service
        self.first_run = first_run
        self.reference_data = reference_data
        self._queue: list[tuple[ImportKind, Path]] = []
        self.setWindowTitle(
            self.tr("Première utilisation : les listes officielles")
            if first_run
            else self.tr("Importer une terminologie")
        )
        self.setMinimumWidth(560)
        intro = QLabel(
            self.tr(
                "Les listes fournies avec DMP Desktop sont un extrait. Importez les fichiers "
                "officiels téléchargés par le cabinet : la CIM-10 de l'ATIH "
                "(LIBCIM10MULTI.TXT) et la base publique des médicaments de l'ANSM "
                "(dossier contenant CIS_bdpm.txt). L'import prend quelques secondes ; "
                "la recherche reste utilisable pendant ce temps."
            ),
            self,
        )
        intro.setWordWrap(True)
        if first_run:
            intro.setText(
                self.tr(
                    "Pour que la synthèse médicale soit juste, DMP Desktop vérifie chaque code "
                    "(diagnostic, médicament) dans les listes officielles. Seul un extrait est "
                    "installé : importez maintenant la CIM-10 de l'ATIH et la base publique des "
                    "médicaments de l'ANSM. "
                )
                + intro.text()
            )
        downloads = QLabel(self)
        downloads.setObjectName("terminologyDownloads")
        downloads.setTextFormat(Qt.TextFormat.RichText)
        downloads.setOpenExternalLinks(True)
        downloads.setWordWrap(True)
        downloads.setText(
            self.tr("Où télécharger les fichiers :")
            + "<ul>"
            + "".join(
                f'<li>{html.escape(what)} : <a href="{url}">{html.escape(url)}</a></li>'
                for what, url in DOWNLOADS
            )
            + "</ul>"
        )
        self.training_button = QPushButton(
            self.tr("Importer les fichiers de &formation (CIM-10 et médicaments)"), self
        )
        self.training_button.setObjectName("importTrainingData")
        self.training_button.clicked.connect(self.import_reference_data)
        self.training_button.setVisible(reference_data is not None)
        self.sources_label = QLabel(self)
        self.sources_label.setObjectName("terminologySources")
        self.sources_label.setTextFormat(Qt.TextFormat.PlainText)
        self.sources_label.setWordWrap(True)
        self.cim10_button = QPushButton(self.tr("Importer la &CIM-10 (fichier ATIH)…"), self)
        self.cim10_button.clicked.connect(self._choose_cim10)
        self.bdpm_button = QPushButton(self.tr("Importer les &médicaments (dossier BDPM)…"), self)
        self.bdpm_button.clicked.connect(self._choose_bdpm)
        self.progress = QProgressBar(self)
        self.progress.setRange(0, _STEPS)
        self.progress.setAccessibleName(self.tr("Progression de l'import"))
        self.progress.hide()
        self.cancel_button = QPushButton(self.tr("&Annuler l'import"), self)
        self.cancel_button.clicked.connect(self.service.cancel_import)
        self.cancel_button.hide()
        self.status_label = QLabel(self)
        self.status_label.setObjectName("importStatus")
        self.status_label.setWordWrap(True)
        self.status_label.setTextFormat(Qt.TextFormat.PlainText)
        set_tone(self.status_label, Tone.INFO, "")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)

        row = QHBoxLayout()
        row.addWidget(self.cim10_button)
        row.addWidget(self.bdpm_button)
        progress_row = QHBoxLayout()
        progress_row.addWidget(self.progress, 1)
        progress_row.addWidget(self.cancel_button)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(downloads)
        layout.addWidget(self.sources_label)
        layout.addWidget(self.training_button)
        layout.addLayout(row)
        layout.addLayout(progress_row)
        layout.addWidget(self.status_label)
        layout.addWidget(buttons)

        service.importProgress.connect(self._on_progress)
        service.importSucceeded.connect(self._on_succeeded)
        service.importFailed.connect(self._on_failed)
        service.importCancelled.connect(self._on_cancelled)
        service.importEnded.connect(self._reload_sources)
        self._set_busy(service.importing)
        self._reload_sources()

    # -- choosing -------------------------------------------------------------------------
    def _choose_cim10(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self,
            self.tr("Fichier CIM-10 de l'ATIH"),
            "",
            self.tr("CIM-10 ATIH (*.txt *.TXT *.csv);;Tous les fichiers (*)"),
        )
        if path:
            self.start_import(ImportKind.CIM10, Path(path))

    def _choose_bdpm(self) -> None:
        path = QFileDialog.getExistingDirectory(
            self, self.tr("Dossier de la base des médicaments (BDPM)")
        )
        if path:
            self.start_import(ImportKind.BDPM, Path(path))

    def import_reference_data(self) -> None:
        """The training material's CIM-10 and BDPM, one after the other (read where they are)."""
        if self.reference_data is None or self.service.importing:
            return
        self._queue = [
            (ImportKind.BDPM, self.reference_data / "bdpm"),
        ]
        self.start_import(ImportKind.CIM10, self.reference_data / "cim10" / "cim10.csv")

    def _next(self, kind: ImportKind, path: Path) -> None:
        """The next import of a series, once the previous worker has stopped."""
        if self.service.importing:
            self.service.importEnded.connect(
                lambda: QTimer.singleShot(0, lambda: self._next(kind, path)),
                Qt.ConnectionType.SingleShotConnection,
            )
            return
        self.start_import(kind, path)

    def start_import(self, kind: ImportKind, path: Path) -> None:
        if self.service.importing:
            return
        self.progress.setValue(0)
        self._set_busy(True)
        what = self.tr("la CIM-10") if kind is ImportKind.CIM10 else self.tr("la BDPM")
        set_tone(
            self.status_label,
            Tone.INFO,
            self.tr("Import de {what} en cours ({name})…").format(what=what, name=path.name),
        )
        self.service.start_import(kind, path)

    # -- outcome --------------------------------------------------------------------------
    def _set_busy(self, busy: bool) -> None:
        self.progress.setVisible(busy)
        self.cancel_button.setVisible(busy)
        self.cim10_button.setEnabled(not busy)
        self.bdpm_button.setEnabled(not busy)
        self.training_button.setEnabled(not busy)
        if busy:
            self.cancel_button.setFocus()

    def _on_progress(self, fraction: float) -> None:
        self.progress.setValue(round(fraction * _STEPS))

    def _on_succeeded(self, report: ImportReport) -> None:
        self._set_busy(False)
        if self._queue:
            kind, path = self._queue.pop(0)
            QTimer.singleShot(0, lambda: self._next(kind, path))
        counts = ", ".join(
            f"{_system_label(system)} : {count:n}" for system, count in report.imported.items()
        )
        text = self.tr("Import terminé : {counts}.").format(counts=counts)
        if report.skipped:
            text += " " + self.tr("{n} ligne(s) illisible(s) ignorée(s).").format(n=report.skipped)
        set_tone(self.status_label, Tone.OK, text)

    def _on_failed(self, message: str) -> None:
        self._queue = []
        self._set_busy(False)
        set_tone(self.status_label, Tone.ERROR, message)

    def _on_cancelled(self) -> None:
        self._queue = []
        self._set_busy(False)
        set_tone(
            self.status_label,
            Tone.INFO,
            self.tr("Import annulé ; la liste précédente est conservée."),
        )

    def _reload_sources(self) -> None:
        self.service.sources(self._show_sources)

    def _show_sources(self, sources: list[SourceInfo]) -> None:
        lines = []
        for source in sources:
            what = _system_label(source.system)
            origin = self.tr("extrait fourni") if source.starter else source.origin
            lines.append(f"{what} : {source.count:n} ({origin})")
        self.sources_label.setText(
            self.tr("Actuellement :") + "\n" + "\n".join(lines) if lines else ""
        )
