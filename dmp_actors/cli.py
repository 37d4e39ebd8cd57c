"""The ``dmp-sandbox`` command: the training host's tools and its actors' commands."""

from __future__ import annotations

import sys
from collections.abc import Sequence

import dmp_actors  # noqa: F401 - registers the demo's documents and the actors' commands
from dmp_sandbox.__main__ import main as sandbox_main


def main(argv: Sequence[str] | None = None) -> int:
    return sandbox_main(argv)


if __name__ == "__main__":
    sys.exit(main())
