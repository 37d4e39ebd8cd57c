"""``dmp vsm``: the medical summary (VSM) from the command line, without a card.

    dmp vsm build --from summary.json -o vsm.xml   # JSON (docs/vsm-json.md) -> CDA VSM
    dmp vsm json vsm.xml -o summary.json           # any VSM -> the same JSON, to edit it

The author comes from the JSON, so building needs no card and no network.
``dmp vsm send --from summary.json --ins …`` sends it with the card
(:mod:`dmp_desktop.cli.alimentation`).

Exit codes: 0 done; 1 the summary cannot give a valid VSM (every problem is
listed); 2 usage or unreadable input (file missing, not JSON, unknown key...).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any, BinaryIO, Protocol, TextIO

from dmp_desktop.cda.entries import french_list
from dmp_desktop.cda.errors import CdaError, SummaryInvalidError
from dmp_desktop.cda.vsm import build_vsm, read_vsm
from dmp_desktop.domain.summary import SummaryFormatError, summary_from_json, summary_to_json
from dmp_desktop.errors import describe
from dmp_desktop.storage.secure import atomic_write
from dmp_desktop.xmlsafe import UnsafeXmlError

EXIT_OK = 0
EXIT_INVALID = 1
EXIT_USAGE = 2
MAX_INPUT = 50 * 1024 * 1024  # a VSM or its JSON is a few hundred kB at most


def add_parser(sub: Any) -> None:
    """Register ``vsm`` and its subcommands on the ``dmp`` parser's subparsers."""
    vsm = sub.add_parser(
        "vsm",
        help="synthèse médicale (VSM) : construire le document CDA depuis un JSON",
        description=(
            "Volet de synthèse médicale (VSM). Le format JSON est décrit dans "
            "docs/vsm-json.md ; aucune carte n'est nécessaire pour construire le document."
        ),
    )
    commands = vsm.add_subparsers(dest="vsm_command", required=True, metavar="ACTION")
    build = commands.add_parser(
        "build",
        help="construit le VSM (CDA R2 niveau 3) à partir d'un résumé JSON",
        description=(
            "Construit le VSM à partir d'un résumé JSON (docs/vsm-json.md). "
            "Refuse un résumé qui donnerait un document invalide, en listant chaque problème."
        ),
    )
    build.add_argument(
        "--from",
        dest="source",
        required=True,
        metavar="RESUME.json",
        help="le résumé JSON (« - » : entrée standard)",
    )
    build.add_argument(
        "-o",
        "--output",
        metavar="VSM.xml",
        help="fichier à écrire (défaut : sortie standard)",
    )
    build.add_argument(
        "--terminology",
        metavar="INDEX.sqlite",
        help=(
            "terminologies installées qui vérifient les codes (défaut : celles de "
            "l'application, dans son dossier de données)"
        ),
    )
    to_json = commands.add_parser(
        "json",
        help="relit un VSM (le nôtre ou celui d'un autre logiciel) en JSON",
        description=(
            "Relit un VSM en JSON (docs/vsm-json.md), pour le modifier puis le reconstruire."
        ),
    )
    to_json.add_argument(
        "source", metavar="VSM.xml", help="le VSM à relire (« - » : entrée standard)"
    )
    to_json.add_argument(
        "-o", "--output", metavar="RESUME.json", help="fichier à écrire (défaut : sortie standard)"
    )
    from dmp_desktop.cli.alimentation import add_vsm_send_parser

    add_vsm_send_parser(commands)  # dmp vsm send: card and DMP (cli/alimentation.py)


def _read(source: str, stdin: TextIO) -> bytes:
    if source == "-":
        raw = getattr(stdin, "buffer", None)
        data = (
            raw.read(MAX_INPUT + 1)
            if raw is not None
            else stdin.read(MAX_INPUT + 1).encode("utf-8")  # a text stream (tests)
        )
    else:
        path = Path(source)
        if path.stat().st_size > MAX_INPUT:
            raise _InputTooLarge()
        data = path.read_bytes()
    if len(data) > MAX_INPUT:
        raise _InputTooLarge()
    return data


class _InputTooLarge(Exception):
    pass


def _write(output: str | None, data: bytes, stdout: TextIO) -> None:
    if output is None or output == "-":
        raw: BinaryIO | None = getattr(stdout, "buffer", None)
        if raw is not None:
            stdout.flush()
            raw.write(data)
            raw.flush()
        else:  # a text stream (tests): the document is UTF-8
            stdout.write(data.decode("utf-8"))
        return
    atomic_write(Path(output), data)
    os.chmod(output, 0o644)  # a document to hand over, not a secret of ours


class Streams(Protocol):
    """The command's text streams (``dmp_desktop.cli.main.Io``)."""

    out: TextIO
    err: TextIO
    inp: TextIO


def run(args: argparse.Namespace, io: Streams) -> int:
    """Run ``dmp vsm ...``: documents go to files or to the standard output as bytes,
    messages (French) to ``io.err``."""
    err = io.err
    stdout = io.out
    try:
        data = _read(args.source, io.inp)
    except FileNotFoundError:
        err.write(f"Fichier introuvable : {args.source}\n")
        return EXIT_USAGE
    except _InputTooLarge:
        err.write(f"Fichier trop volumineux (plus de {MAX_INPUT // (1024 * 1024)} Mo).\n")
        return EXIT_USAGE
    except OSError as exc:
        err.write(f"Lecture impossible de {args.source} ({exc.strerror}).\n")
        return EXIT_USAGE
    if args.vsm_command == "build":
        if not _use_vocabulary(args, err):
            return EXIT_USAGE
        return _build(data, args, err, stdout)
    return _to_json(data, args, err, stdout)


def _use_vocabulary(args: argparse.Namespace, err: Any) -> bool:
    """The codes are checked against the given index, else the application's one."""
    from dmp_desktop.terminology.vocabulary import index_path, use_index

    if args.terminology:
        path = Path(args.terminology)
        if not path.is_file():
            err.write(f"Terminologies introuvables : {args.terminology}.\n")
            return False
        use_index(path)
        return True
    try:
        from dmp_desktop.settings import load_settings

        default = index_path(load_settings(getattr(args, "config", None)).local_data_dir())
    except Exception:  # no usable settings: no vocabulary
        default = None
    if default is not None and default.is_file():
        use_index(default)
        return True
    err.write(
        "Aucune terminologie installée : les codes ne sont vérifiés que sur leur forme "
        "(importez la CIM-10 et la base des médicaments : dmp terminology import).\n"
    )
    return True


def _build(data: bytes, args: argparse.Namespace, err: Any, stdout: TextIO) -> int:
    try:
        summary = summary_from_json(data)
    except SummaryFormatError as exc:
        err.write(
            f"Résumé JSON illisible :\n{exc.french()}\n"
            "Le format est décrit dans docs/vsm-json.md.\n"
        )
        return EXIT_USAGE
    try:
        document = build_vsm(summary)
    except SummaryInvalidError as exc:
        err.write(describe(exc) + "\n")
        err.write("Corrigez le résumé JSON (docs/vsm-json.md) puis relancez la commande.\n")
        return EXIT_INVALID
    try:
        _write(args.output, document, stdout)
    except OSError as exc:
        err.write(f"Écriture impossible de {args.output} ({exc.strerror}).\n")
        return EXIT_USAGE
    if args.output not in (None, "-"):
        err.write(f"VSM écrit dans {args.output} ({len(document)} octets).\n")
    return EXIT_OK


def _to_json(data: bytes, args: argparse.Namespace, err: Any, stdout: TextIO) -> int:
    try:
        reading = read_vsm(data)
    except CdaError as exc:
        err.write(describe(exc) + "\n")
        return EXIT_USAGE
    except UnsafeXmlError:
        err.write(
            "Ce fichier n'est pas un XML lisible (ou il contient une DTD) ; il n'a pas été lu.\n"
        )
        return EXIT_USAGE
    try:
        _write(args.output, summary_to_json(reading.summary).encode("utf-8"), stdout)
    except OSError as exc:
        err.write(f"Écriture impossible de {args.output} ({exc.strerror}).\n")
        return EXIT_USAGE
    if reading.left_out:
        err.write("Non repris dans le résumé (le format ne peut pas les représenter) :\n")
        err.write(french_list(reading.left_out) + "\n")
    return EXIT_OK
