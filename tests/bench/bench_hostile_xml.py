"""Benchmark: how long each client parser takes to refuse each hostile XML document.

Run on demand (not collected by pytest)::

    .venv/bin/python tests/bench/bench_hostile_xml.py
    .venv/bin/python tests/bench/bench_hostile_xml.py --repeat 5

The corpus is tests/support/hostile.py's (entity bombs, external entities,
DTDs, XInclude, depth, size); the parsers are those of
tests/unit/test_xml_hostile.py, which checks what they answer (never the
time: a loaded machine must not fail a test). A safe parser answers at once:
the table gives the slowest (parser, document) pairs; docs/performance.md
keeps the figures of a run.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from tests.support.hostile import Listener, canary_file, hostile_documents  # noqa: E402
from tests.unit.test_xml_hostile import CLIENT_PARSERS, TYPED  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per pair (best kept)")
    parser.add_argument("--top", type=int, default=10, help="slowest pairs shown")
    args = parser.parse_args(argv)
    listener = Listener()
    timings: list[tuple[float, str, str]] = []
    try:
        with tempfile.TemporaryDirectory() as folder:
            corpus = hostile_documents(canary_file(Path(folder)), listener.url)
            for name, parse in sorted(CLIENT_PARSERS.items()):
                for document, data in sorted(corpus.items()):
                    best = float("inf")
                    for _ in range(args.repeat):
                        started = time.perf_counter()
                        try:
                            parse(data)
                        except TYPED:
                            pass
                        best = min(best, time.perf_counter() - started)
                    timings.append((best, name, document))
    finally:
        connections = listener.connections()
        listener.close()
    timings.sort(reverse=True)
    print(
        f"{len(timings)} (parser, document) pairs, best of {args.repeat}; "
        f"connections to the canary listener: {connections}\n"
    )
    print("| parser | document | ms |\n|---|---|---|")
    for seconds, name, document in timings[: args.top]:
        print(f"| {name} | {document} | {seconds * 1000:.1f} |")
    print(f"\ntotal: {sum(t for t, _, _ in timings):.2f} s")
    return 1 if connections else 0


if __name__ == "__main__":
    sys.exit(main())
