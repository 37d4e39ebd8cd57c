"""What judging costs the training host: schema validation, MTOM splitting, signatures.

Run on demand (not collected by pytest)::

    .venv/bin/python tests/bench/bench_judge.py [--rounds 200]

Measured in-process on real inputs: the client's own requests (TD0.2, TD3.1,
TD2.1 with a 1 MB and a 20 MB document) and a XAdES signature made with a
card-like key. For each: the first validation (compiling the official schema,
once per process) and the median of ``--rounds`` later ones. Results go to
stdout as Markdown; docs/performance.md records the figures of a run.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from lxml import etree  # noqa: E402

from dmp_desktop.dmp import mtom as client_mtom  # noqa: E402
from dmp_desktop.dmp.xades import SignedDocument, sign_submission  # noqa: E402
from dmp_sandbox.mtom import parse_mtom  # noqa: E402
from dmp_sandbox.schemas import OfficialSchemas  # noqa: E402
from dmp_sandbox.signatures import verify_xades  # noqa: E402
from tests.unit.test_alimentation_support import SoftSigner  # noqa: E402

MESSAGES = ROOT.parent / "shared" / "reference-data" / "dmp-messages"
OFFICIAL = MESSAGES / "dmp-lps-exemples-messages-v02.05.00"


def _payload(name: str) -> etree._Element:
    root = etree.parse(str(OFFICIAL / name)).getroot()
    body = next(c for c in root if etree.QName(c).localname == "Body")
    return next(c for c in body if isinstance(c.tag, str))


def _time(fn: Callable[[], object], rounds: int) -> tuple[float, float]:
    start = time.perf_counter()
    fn()
    first = time.perf_counter() - start
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return first * 1000, statistics.median(samples) * 1000


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args()
    schemas = OfficialSchemas()
    schemas.check_available()
    rows: list[tuple[str, float, float]] = []
    start = time.perf_counter()
    OfficialSchemas().preload()  # what a host (each worker process) does once at start
    preload = (time.perf_counter() - start) * 1000
    rows.append(("compile every official schema (once per process)", preload, preload))
    for label, name in (
        ("TD0.2 body (PRPA_IN201307UV02)", "TD0.2 - Test d'existence_requête.xml"),
        ("TD3.1 body (AdhocQueryRequest)", "TD3.1 - Recherche de document_requête.xml"),
        ("TD3.3d body (SubmitObjectsRequest)", "TD3.3d - Archiver un document_requête.xml"),
    ):
        payload = _payload(name)
        rows.append(
            (f"schema: {label}", *_time(lambda p=payload: schemas.validate(p), args.rounds))
        )

    signer = SoftSigner()
    for size in (1, 20):
        document = os.urandom(size * 1024 * 1024)
        ctype, body = client_mtom.build_mtom(
            b"<e/>", [client_mtom.MimePart("doc@bench", document)], action="a"
        )
        rows.append(
            (
                f"MTOM split, {size} MB document",
                *_time(lambda c=ctype, b=body: parse_mtom(c, b), 20),
            )
        )
        signature = sign_submission([SignedDocument("1.2.3.4", document)], signer)
        rows.append(
            (
                f"XAdES (signxml + manifest), {size} MB document",
                *_time(
                    lambda s=signature, d=document: verify_xades(
                        s, {"1.2.3.4": d}, strict_schema=False
                    ),
                    20,
                ),
            )
        )
    print(
        f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}"
    )
    print()
    print("| What | first (ms) | median after (ms) |")
    print("|---|---:|---:|")
    for label, first, median in rows:
        print(f"| {label} | {first:.1f} | {median:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
