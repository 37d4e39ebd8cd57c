"""Screenshots of the VSM editor with coded posology and of documents with embedded files.

    QT_QPA_PLATFORM=offscreen .venv/bin/python scripts/screenshots_clinical.py [--kit DIR]

Writes docs/screenshot-vsm-posology.png (the editor's treatments, coded posology and
reason, with the live preview), docs/screenshot-embedded-pdf.png (a lab report whose PDF
opens in its own tab) and docs/screenshot-embedded-image.png (an electrophoresis curve
shown where the report places it). Made-up patient (test INS); the ANS kit's examples.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--kit", type=Path, default=ROOT.parent / "shared" / "cda-kit")
    parser.add_argument("--out", type=Path, default=ROOT / "docs")
    args = parser.parse_args(argv)

    from PySide6.QtCore import QEventLoop, QTimer
    from PySide6.QtWidgets import QApplication

    from dmp_desktop.domain.document import RetrievedDocument
    from dmp_desktop.services.drafts import PatientHeader
    from dmp_desktop.services.operations import OperationRunner
    from dmp_desktop.services.viewable import prepare
    from dmp_desktop.services.vsm_terminology import TerminologyService
    from dmp_desktop.ui.viewer import DocumentViewer, HtmlTab
    from dmp_desktop.ui.vsm_editor import VsmEditor
    from tests.support.cda_samples import full_summary
    from tests.ui.consultation_fakes import entry

    _app = QApplication.instance() or QApplication([])  # kept alive until the end

    def settle(ms: int = 400) -> None:
        loop = QEventLoop()
        QTimer.singleShot(ms, loop.quit)
        loop.exec()

    # 1. The editor: the treatments with their coded posology, and the preview.
    runner = OperationRunner()
    with tempfile.TemporaryDirectory() as tmp:
        terminology = TerminologyService(Path(tmp) / "terminology.sqlite", runner)
        summary = full_summary()
        editor = VsmEditor(
            header=PatientHeader.from_identity(summary.patient),
            author=summary.author,
            runner=runner,
            terminology=terminology,
            drafts=None,
        )
        editor.resize(1500, 950)
        editor.show()
        editor.load_summary(summary, "dmp")
        settle(800)
        treatments = editor.sections["treatments"]
        editor.scroll_area.ensureWidgetVisible(treatments, 0, 0)
        editor.scroll_area.verticalScrollBar().setValue(treatments.y() - 10)
        settle(600)
        bar = editor.preview.verticalScrollBar()
        if editor.preview.find("Posologie"):
            top = editor.preview.cursorRect().top()
            bar.setValue(min(bar.maximum(), bar.value() + top - 60))
            cursor = editor.preview.textCursor()
            cursor.clearSelection()
            editor.preview.setTextCursor(cursor)
        settle(300)
        editor.grab().save(str(args.out / "screenshot-vsm-posology.png"))
        editor.shutdown()
        terminology.close()
    runner.shutdown(wait=True)

    # 2. Documents with embedded files, in the viewer.
    examples = args.kit / "ans" / "ExemplesCDA"
    for name, out, attachment in (
        ("BIO-CR-BIO_2024.01_CR-2nde-intention-PDF.xml", "screenshot-embedded-pdf.png", True),
        ("BIO-CR-BIO_2024.01_Electrophorese.xml", "screenshot-embedded-image.png", False),
    ):
        viewer = DocumentViewer()
        viewer.resize(1100, 850)
        viewer.show()
        doc = entry("1.2.250.1.999.9.1", name.removesuffix(".xml"))
        viewer.begin(doc)
        data = (examples / name).read_bytes()
        tab = viewer.show_document(doc, prepare(RetrievedDocument("1", "r", "text/xml", data)))
        if isinstance(tab, HtmlTab):
            if attachment and tab.pdf_tabs:
                tab.show_attachment(next(iter(tab.pdf_tabs)))
            elif not attachment:
                settle(300)
                from PySide6.QtGui import QTextDocument

                browser = tab.browser
                if browser.find("Bisalbumin", QTextDocument.FindFlag.FindCaseSensitively):
                    bar = browser.verticalScrollBar()
                    bar.setValue(min(bar.maximum(), bar.value() + browser.cursorRect().top() - 320))
                    cursor = browser.textCursor()
                    cursor.clearSelection()
                    browser.setTextCursor(cursor)
        settle(900)
        viewer.grab().save(str(args.out / out))
        viewer.close()
    print("screenshots written to", args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
