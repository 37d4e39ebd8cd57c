"""Benchmark: one run of the ANS CDA validation kit over the unit tests' documents.

Run on demand (not collected by pytest)::

    .venv/bin/python tests/bench/bench_cda_kit.py
    .venv/bin/python tests/bench/bench_cda_kit.py --repeat 3

The documents are those tests/unit/conftest.py gives the kit in its single
background run (every VSM variant, the level-1 documents, the patient-space
documents, one broken on purpose). The unit tests check the kit's verdicts,
never its time; this prints the wall-clock time of the run, the schematron
compilation the kit reports, and the time per document.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from dmp_desktop.cda.validation import validate_documents  # noqa: E402
from tests.unit.test_cda_conformance import kit_documents  # noqa: E402
from tests.unit.test_patient_space_cda import documents as patient_space_documents  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args(argv)
    documents = {**kit_documents(), **patient_space_documents()}
    runs: list[float] = []
    compile_seconds: list[float] = []
    for _ in range(args.repeat):
        started = time.perf_counter()
        report = validate_documents(documents, profile="auto")
        runs.append(time.perf_counter() - started)
        compile_seconds.append(report.seconds_compile)
    run = statistics.median(runs)
    compiling = statistics.median(compile_seconds)
    per_document = (run - compiling) / len(documents)
    print(f"validate-cda, {len(documents)} documents, median of {args.repeat} run(s):")
    print(f"  whole run: {run:.1f} s (schematron compilation {compiling:.1f} s)")
    print(f"  per document after compilation: {per_document:.2f} s")
    print(f"  cpus: {os.cpu_count()}, load average: {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
