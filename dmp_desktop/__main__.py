"""Entry points: ``dmp-desktop`` (the window) and ``dmp`` (the command line)."""

from __future__ import annotations

import sys


def gui_main() -> int:
    from dmp_desktop.app import gui_main as run

    return run()


def cli_main(argv: list[str] | None = None) -> int:
    from dmp_desktop.cli.main import main

    return main(argv)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "cli":
        sys.exit(cli_main(sys.argv[2:]))
    sys.exit(gui_main())
