"""``dmp terminology``: the official lists the VSM editor searches and the builder checks.

    dmp terminology status                                   # what is installed, from where
    dmp terminology import --cim10 LIBCIM10MULTI.TXT --bdpm DOSSIER_BDPM [--ccam CCAM.csv]
    dmp terminology import --reference-data ../shared/reference-data   # the training demo

The lists go into the application's index (``terminology.sqlite`` in its
data folder), the same file the window uses. Nothing is copied into the
software: the files are read where the practice downloaded them. Where to
download them: see :data:`DOWNLOADS` (printed by ``status``).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

from dmp_desktop.errors import describe
from dmp_desktop.settings import Settings
from dmp_desktop.terminology import (
    ImportReport,
    System,
    TerminologyError,
    TerminologyIndex,
    import_atc,
    import_bdpm,
    import_ccam,
    import_cim10,
)
from dmp_desktop.terminology.sources import DOWNLOADS
from dmp_desktop.terminology.vocabulary import index_path

COMMANDS = ("terminology",)
EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2

_LABELS = {
    System.CIM10: "CIM-10",
    System.CIS: "Médicaments (CIS)",
    System.CIP: "Présentations (CIP)",
    System.ATC: "Classes ATC",
    System.CCAM: "Actes (CCAM)",
    System.SNOMED_ALLERGY: "Types d'allergie",
}


def add_parsers(sub: Any) -> None:
    terminology = sub.add_parser(
        "terminology",
        help="terminologies (CIM-10, médicaments, CCAM) : état et import des fichiers officiels",
        description=(
            "Les listes officielles que l'éditeur de synthèse recherche et que la construction "
            "du VSM utilise pour vérifier les codes."
        ),
    )
    commands = terminology.add_subparsers(dest="terminology_command", required=True)
    commands.add_parser("status", help="ce qui est installé, et d'où")
    load = commands.add_parser(
        "import",
        help="importe les fichiers officiels téléchargés par le cabinet",
        description="Importe les fichiers officiels (rien n'est modifié en cas d'erreur).",
    )
    load.add_argument("--cim10", metavar="LIBCIM10MULTI.TXT", help="la CIM-10 de l'ATIH")
    load.add_argument("--bdpm", metavar="DOSSIER", help="le dossier des fichiers BDPM (ANSM)")
    load.add_argument("--ccam", metavar="CCAM.csv", help="la liste des actes CCAM (code;libellé)")
    load.add_argument(
        "--atc", metavar="ATC.csv", help="l'index ATC de l'OMS (si votre usage le permet)"
    )
    load.add_argument(
        "--if-missing",
        action="store_true",
        help="n'importe que les listes pas encore importées (scripts d'installation)",
    )
    load.add_argument(
        "--reference-data",
        metavar="DOSSIER",
        help="un dossier rangé comme ../shared/reference-data (cim10/, bdpm/) : mode formation",
    )


def run(args: argparse.Namespace, settings: Settings, io: Any) -> int:
    path = index_path(settings.local_data_dir())
    if args.terminology_command == "status":
        return _status(path, io)
    jobs = _jobs(args)
    if not jobs:
        io.err.write("Indiquez au moins un fichier à importer (--cim10, --bdpm, --ccam...).\n")
        return EXIT_USAGE
    index = TerminologyIndex.with_starter_set(path)
    try:
        imported = {info.system for info in index.sources() if not info.starter}
        for label, importer, source in jobs:
            if args.if_missing and _SYSTEM_OF[label] in imported:
                io.err.write(f"{label} : déjà importé.\n")
                continue
            try:
                report = importer(source, index)
            except TerminologyError as exc:
                io.err.write(f"{label} : {describe(exc)}\n")
                return EXIT_FAILED
            io.err.write(_report_line(label, report) + "\n")
    finally:
        index.close()
    return EXIT_OK


Importer = Callable[[Path, TerminologyIndex], ImportReport]
_SYSTEM_OF = {"CIM-10": System.CIM10, "BDPM": System.CIS, "CCAM": System.CCAM, "ATC": System.ATC}


def _jobs(args: argparse.Namespace) -> list[tuple[str, Importer, Path]]:
    jobs: list[tuple[str, Importer, Path]] = []
    if args.reference_data:
        base = Path(args.reference_data)
        jobs.append(("CIM-10", import_cim10, base / "cim10" / "cim10.csv"))
        jobs.append(("BDPM", import_bdpm, base / "bdpm"))
    if args.cim10:
        jobs.append(("CIM-10", import_cim10, Path(args.cim10)))
    if args.bdpm:
        jobs.append(("BDPM", import_bdpm, Path(args.bdpm)))
    if args.ccam:
        jobs.append(("CCAM", import_ccam, Path(args.ccam)))
    if args.atc:
        jobs.append(("ATC", import_atc, Path(args.atc)))
    return jobs


def _report_line(label: str, report: ImportReport) -> str:
    counts = ", ".join(
        f"{_LABELS.get(system, system.value)} : {count}"
        for system, count in report.imported.items()
    )
    skipped = f" ; {report.skipped} ligne(s) ignorée(s)" if report.skipped else ""
    return f"{label} importé ({counts}{skipped})."


def _status(path: Path, io: Any) -> int:
    if not path.is_file():
        io.out.write("Aucune terminologie installée (seul l'extrait fourni sera utilisé).\n")
    else:
        index = TerminologyIndex(path)
        try:
            for info in index.sources():
                origin = "extrait fourni" if info.starter else info.origin
                io.out.write(
                    f"{_LABELS.get(info.system, info.system.value)} : {info.count} codes "
                    f"({origin}, {info.imported_at[:10]})\n"
                )
        finally:
            index.close()
    io.out.write("Où télécharger les listes officielles :\n")
    for what, url in DOWNLOADS:
        io.out.write(f"- {what} : {url}\n")
    return EXIT_OK
