"""Benchmark of the medical summary (VSM): build, XSD validation, reading back, the
editor's preview and load, and the editor's searches per keystroke.

Run on demand (not collected by pytest)::

    .venv/bin/python tests/bench/bench_vsm.py
    .venv/bin/python tests/bench/bench_vsm.py --repeat 20 --full-terminology

A large VSM (100 active problems, 50 treatments, the other sections of the
sample summary) is built with :func:`build_vsm` (checks included), validated
against the CDA schema of the ANS kit (``CDA_extended.xsd``, lxml), read back
with :func:`parse_vsm`, and rendered as the editor's preview. With a display
(or offscreen), the editor pane is also loaded with it. Searches: the queries
a doctor types in the editor, one character at a time, against the starter
set and (``--full-terminology``) the full CIM-10 and BDPM of the reference
material, also while a BDPM import runs in another thread. Results go to
stdout as Markdown; docs/vsm-performance.md records the figures of a run.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from lxml import etree  # noqa: E402

from dmp_desktop import xmlsafe  # noqa: E402
from dmp_desktop.cda.render import render_html  # noqa: E402
from dmp_desktop.cda.vsm import build_vsm, build_vsm_tree, parse_vsm  # noqa: E402
from dmp_desktop.cda.xmlutil import serialize  # noqa: E402
from dmp_desktop.domain.summary import MedicalSummary  # noqa: E402
from dmp_desktop.terminology import (  # noqa: E402
    System,
    TerminologyIndex,
    import_bdpm,
    import_cim10,
)
from tests.support.cda_samples import full_summary, large_summary  # noqa: E402

DEFAULT_XSD = (
    ROOT.parent / "shared" / "cda-kit" / "ans" / "infrastructure" / "cda" / "CDA_extended.xsd"
)
DEFAULT_REFERENCE_DATA = ROOT.parent / "shared" / "reference-data"

# What a doctor types in the editor's fields (problems, allergy agents, drugs).
QUERIES: tuple[tuple[tuple[System, ...], str], ...] = (
    ((System.CIM10,), "diab"),
    ((System.CIM10,), "diabète type 2"),
    ((System.CIM10,), "hta"),
    ((System.CIM10,), "E11.9"),
    ((System.CIM10,), "insuffisance cardiaque"),
    ((System.CIM10,), "bpco"),
    ((System.CIM10,), "lombalgie"),
    ((System.CIM10,), "fibrillation auriculaire"),
    ((System.CIM10,), "hypothyroidie"),
    ((System.CIM10,), "asthme"),
    ((System.ATC, System.CIS), "amox"),
    ((System.ATC, System.CIS), "pénicilline"),
    ((System.CIS,), "metf"),
    ((System.CIS,), "doliprane 1000"),
    ((System.CIS,), "levothyrox"),
    ((System.CIS,), "kardegic"),
)


def percentile(values: Sequence[float], fraction: float) -> float:
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(fraction * len(ordered) + 0.5) - 1))
    return ordered[rank]


def timed(repeat: int, work: Callable[[], object]) -> list[float]:
    out = []
    for _ in range(repeat):
        started = time.perf_counter()
        work()
        out.append((time.perf_counter() - started) * 1000)
    return out


def row(label: str, ms: Sequence[float]) -> str:
    return (
        f"| {label} | {len(ms)} | {statistics.median(ms):.1f} ms | "
        f"{percentile(ms, 0.95):.1f} ms | {max(ms):.1f} ms |"
    )


def document_figures(summary: MedicalSummary, xsd_path: Path | None, repeat: int) -> list[str]:
    lines = ["| Step | runs | median | p95 | max |", "|---|---:|---:|---:|---:|"]
    document = build_vsm(summary)
    lines.append(
        row("build_vsm (checks + tree + serialisation)", timed(repeat, lambda: build_vsm(summary)))
    )
    if xsd_path is not None and xsd_path.is_file():
        started = time.perf_counter()
        schema = etree.XMLSchema(etree.parse(str(xsd_path)))
        load_ms = (time.perf_counter() - started) * 1000
        parsed = xmlsafe.parse(document)
        if not schema.validate(parsed):
            raise SystemExit(f"the large VSM is not valid: {schema.error_log.last_error}")
        lines.append(f"| load CDA_extended.xsd (once per process) | 1 | {load_ms:.1f} ms | | |")
        lines.append(
            row("XSD validation (parsed document)", timed(repeat, lambda: schema.validate(parsed)))
        )
        lines.append(
            row(
                "build + parse + XSD validation",
                timed(repeat, lambda: schema.validate(xmlsafe.parse(build_vsm(summary)))),
            )
        )
    else:
        lines.append("| XSD validation | skipped: CDA_extended.xsd not found | | | |")
    lines.append(
        row("parse_vsm (read back for the editor)", timed(repeat, lambda: parse_vsm(document)))
    )

    def preview() -> None:
        render_html(serialize(build_vsm_tree(summary, check=False)))

    lines.append(row("editor preview (build tree + render HTML)", timed(repeat, preview)))
    lines.append("")
    lines.append(f"Document size: {len(document) / 1024:.0f} kB.")
    return lines


def editor_figures(summary: MedicalSummary, repeat: int) -> list[str]:
    from PySide6.QtCore import QCoreApplication, QEvent
    from PySide6.QtWidgets import QApplication

    from dmp_desktop.services.drafts import PatientHeader
    from dmp_desktop.services.operations import OperationRunner
    from dmp_desktop.ui.vsm_editor import VsmEditor, preview_document

    app = QApplication.instance() or QApplication([])
    runner = OperationRunner()

    def editor() -> VsmEditor:
        pane = VsmEditor(
            header=PatientHeader.from_identity(summary.patient),
            author=summary.author,
            runner=runner,
            terminology=None,
            drafts=None,
        )
        pane.resize(1400, 900)
        pane.show()
        return pane

    def dispose(pane: VsmEditor) -> None:
        pane.shutdown()
        pane.deleteLater()
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
        app.processEvents()

    load: list[float] = []
    for _ in range(max(2, repeat // 3)):
        pane = editor()
        started = time.perf_counter()
        pane.load_summary(summary, "dmp")
        load.append((time.perf_counter() - started) * 1000)
        dispose(pane)
    pane = editor()
    pane.load_summary(summary, "dmp")
    refresh = timed(repeat, pane.refresh)
    collect = timed(repeat, pane.current_draft)
    html = preview_document(summary)
    show = timed(repeat, lambda: (pane.preview.clear(), pane.preview.setHtml(html)))
    dispose(pane)
    runner.shutdown(wait=True)
    return [
        "| Editor step | runs | median | p95 | max |",
        "|---|---:|---:|---:|---:|",
        row("open: load the summary into the form (widgets)", load),
        row("refresh on the UI thread (read form, check, messages)", refresh),
        row("preview shown (QTextBrowser.setHtml, UI thread)", show),
        row("snapshot for the draft (read form)", collect),
    ]


def keystrokes(index: TerminologyIndex, rounds: int) -> list[float]:
    timings: list[float] = []
    for _ in range(rounds):
        for systems, query in QUERIES:
            for end in range(1, len(query) + 1):
                started = time.perf_counter_ns()
                found = 0
                for system in systems:
                    found += len(index.search(query[:end], system, 12 - found))
                    if found >= 12:
                        break
                timings.append((time.perf_counter_ns() - started) / 1e6)
    return timings


def search_line(label: str, ms: Sequence[float]) -> str:
    return (
        f"| {label} | {len(ms)} | {statistics.median(ms):.2f} ms | {percentile(ms, 0.95):.2f} ms "
        f"| {percentile(ms, 0.99):.2f} ms | {max(ms):.2f} ms |"
    )


def search_figures(folder: Path, reference: Path, full: bool, rounds: int) -> list[str]:
    lines = [
        "| Searches per keystroke | searches | p50 | p95 | p99 | max |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    with TerminologyIndex.with_starter_set(folder / "starter.sqlite") as index:
        keystrokes(index, 1)  # warm up
        lines.append(search_line("starter set", keystrokes(index, rounds)))
    if not full:
        return lines
    cim10 = reference / "cim10" / "cim10.csv"
    bdpm = reference / "bdpm"
    if not cim10.is_file() or not (bdpm / "CIS_bdpm.txt").is_file():
        lines.append("| full lists | skipped: reference data not found | | | | |")
        return lines
    with TerminologyIndex.with_starter_set(folder / "full.sqlite") as index:
        import_cim10(cim10, index)
        import_bdpm(bdpm, index)
        keystrokes(index, 1)
        lines.append(search_line("full CIM-10 + BDPM", keystrokes(index, rounds)))
        done = threading.Event()
        during: list[float] = []

        def importing() -> None:
            try:
                while not done.is_set():
                    import_bdpm(bdpm, index)
            finally:
                done.set()

        worker = threading.Thread(target=importing)
        worker.start()
        try:
            while len(during) < 2000 and worker.is_alive():
                during.extend(keystrokes(index, 1))
        finally:
            done.set()
            worker.join()
        lines.append(search_line("full lists, while a BDPM import runs", during))
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="VSM build, validation, preview and search benchmark"
    )
    parser.add_argument("--problems", type=int, default=100)
    parser.add_argument("--treatments", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3, help="typing rounds (default 3)")
    parser.add_argument("--xsd", type=Path, default=DEFAULT_XSD)
    parser.add_argument("--reference-data", type=Path, default=DEFAULT_REFERENCE_DATA)
    parser.add_argument("--full-terminology", action="store_true", help="also the full lists")
    parser.add_argument("--no-editor", action="store_true", help="skip the Qt editor figures")
    args = parser.parse_args(argv)

    summary = full_summary()
    big = large_summary(args.problems, args.treatments)
    for key in ("medical_history", "surgical_history", "allergies", "lifestyle", "family_history"):
        setattr(big, key, getattr(summary, key))
    big.vigilance_points = list(summary.vigilance_points)
    print(
        f"# VSM benchmark ({platform.python_version()}, {platform.machine()}, {os.cpu_count()} CPU)"
    )
    print()
    print(f"## Large VSM: {args.problems} problems, {args.treatments} treatments")
    print()
    print("\n".join(document_figures(big, args.xsd, args.repeat)))
    print()
    print("## Typical VSM (the sample summary: every section, a few entries each)")
    print()
    print("\n".join(document_figures(summary, args.xsd, args.repeat)))
    if not args.no_editor:
        print()
        print("## Editor pane, large VSM")
        print()
        print("\n".join(editor_figures(big, args.repeat)))
        print()
        print("## Editor pane, typical VSM")
        print()
        print("\n".join(editor_figures(summary, args.repeat)))
    print()
    print("## Searches in the editor's fields (limit 12, every prefix of 16 queries)")
    print()
    with tempfile.TemporaryDirectory(prefix="bench-vsm-") as tmp:
        print(
            "\n".join(
                search_figures(Path(tmp), args.reference_data, args.full_terminology, args.rounds)
            )
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
