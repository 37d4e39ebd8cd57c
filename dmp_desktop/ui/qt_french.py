"""Qt's own strings in French: Qt's translation files, completed where they fall short.

Qt ships ``qtbase_fr.qm`` with PySide6 (``QLibraryInfo`` translations path),
but it lags behind the sources: in Qt 6 the file dialog's « &Look in: » and
« Files of &type: » and the print dialog's « Page &Set: » have no French
entry, so a doctor choosing a file to send reads English. Those few strings
are completed here by a translator consulted before Qt's own; everything
else still comes from ``qtbase_fr``. Each entry is (context, source) exactly
as Qt asks for it; the UI test that walks Qt's dialogs finds any new gap.
"""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, QLibraryInfo, QLocale, QObject, QTranslator

# (context, source) -> French, for the strings qtbase_fr.qm lacks.
MISSING_QT_FRENCH: dict[tuple[str, str], str] = {
    ("QFileDialog", "&Look in:"): "&Voir dans\u00a0:",
    ("QFileDialog", "Files of &type:"): "Fichiers de &type\u00a0:",
    ("QPrintSettingsOutput", "Page &Set:"): "Pages à im&primer\u00a0:",
}


class QtFrenchSupplement(QTranslator):
    """Answers only for :data:`MISSING_QT_FRENCH`; ``None`` lets the next translator answer."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.table = dict(MISSING_QT_FRENCH)

    def translate(
        self,
        context: str,
        source_text: str,
        disambiguation: str | None = None,
        n: int = -1,
    ) -> str | None:
        return self.table.get((context, source_text))

    def isEmpty(self) -> bool:
        return not self.table


def install_translations(app: QCoreApplication) -> list[QTranslator]:
    """French locale, Qt's French translations, then the supplement (consulted first)."""
    QLocale.setDefault(QLocale(QLocale.Language.French, QLocale.Country.France))
    path = QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)
    installed: list[QTranslator] = []
    for name in ("qtbase_fr", "qt_fr"):
        translator = QTranslator(app)
        if translator.load(name, path):
            app.installTranslator(translator)
            installed.append(translator)
    supplement = QtFrenchSupplement(app)
    app.installTranslator(supplement)  # the last installed is asked first
    installed.append(supplement)
    return installed
