"""Rebuild the documented example VSM from its JSON source.

    python -m tests.support.vsm_examples          # rewrite docs/examples/vsm-ald-example.xml
    python -m tests.support.vsm_examples --check  # exit 1 if the committed XML is stale

The build is deterministic: the document ids and date come from the JSON and
the ids of sections and entries derive from the document id.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from dmp_desktop.cda.vsm import build_vsm
from dmp_desktop.domain.summary import summary_from_json

REPO_ROOT = Path(__file__).resolve().parents[2]
EXAMPLES_DIR = REPO_ROOT / "docs" / "examples"
EXAMPLES = {
    "vsm-ald-example.json": "vsm-ald-example.xml",
}


def build_example(json_path: Path) -> bytes:
    return build_vsm(summary_from_json(json_path.read_text(encoding="utf-8")))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.support.vsm_examples",
        description="Rebuild the example VSM documents of docs/examples from their JSON.",
    )
    parser.add_argument("--check", action="store_true", help="only check they are up to date")
    parser.add_argument("--dir", type=Path, default=EXAMPLES_DIR, help="examples folder")
    args = parser.parse_args(argv)
    stale = 0
    for source, target in EXAMPLES.items():
        built = build_example(args.dir / source)
        out = args.dir / target
        if args.check:
            if not out.exists() or out.read_bytes() != built:
                print(f"{out}: out of date", file=sys.stderr)
                stale += 1
            continue
        out.write_bytes(built)
        print(f"{out}: {len(built)} bytes")
    return 1 if stale else 0


if __name__ == "__main__":
    raise SystemExit(main())
