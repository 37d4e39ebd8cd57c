"""Entry points: ``dmp-desktop`` (the window) and ``dmp`` (the command line)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from dmp_desktop import __version__, argparse_fr


def window_parser() -> argparse.ArgumentParser:
    """``dmp-desktop``'s options; anything else on the line is left to Qt (``-platform``…)."""
    argparse_fr.install()
    parser = argparse.ArgumentParser(
        prog="dmp-desktop",
        allow_abbrev=False,  # Qt's own options (-style, -platform…) pass through untouched
        description="DMP Desktop : le DMP du patient avec votre carte CPS (la fenêtre).",
        epilog="Les autres arguments sont transmis à Qt (par exemple -platform, -style). "
        "En ligne de commande : dmp --help.",
    )
    parser.add_argument(
        "--version",
        action="version",
        version=f"dmp-desktop {__version__}",
        help=argparse_fr.version_action_help(),
    )
    parser.add_argument(
        "--profile",
        choices=("formation", "dmp"),
        help="profil à utiliser : « formation » (hôte de formation) ou « dmp » (plateforme "
        "de l'Assurance Maladie) ; défaut : celui des paramètres",
    )
    return parser


def window_options(argv: Sequence[str]) -> argparse.Namespace:
    """The window's options among ``argv`` (without the program name).

    ``--help`` and ``--version`` print and exit here, before Qt is even loaded.
    """
    known, _rest = window_parser().parse_known_args(list(argv))
    return known


def gui_main(argv: Sequence[str] | None = None) -> int:
    window_options(sys.argv[1:] if argv is None else argv)
    from dmp_desktop import heap

    heap.starting()  # before Qt and the window's modules are imported
    from dmp_desktop.app import gui_main as run

    return run()


def cli_main(argv: list[str] | None = None) -> int:
    from dmp_desktop.cli.main import main

    return main(argv)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "cli":
        sys.exit(cli_main(sys.argv[2:]))
    sys.exit(gui_main())
