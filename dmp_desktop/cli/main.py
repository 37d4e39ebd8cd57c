"""``dmp``: the DMP from the command line (same core as the window, no Qt).

Exit codes: 0 success, 1 refused by the DMP or unreadable answer, 2 usage,
3 card problem, 4 network / TLS problem.

Start-up is kept short (``dmp --help`` and ``dmp cards`` in well under 150 ms): the
command line is first read by a parser that knows every command by its name and
one-line help only (:data:`GROUPS`); the module of the command given is then
imported, declares its options and runs it. So a command pays for its own imports,
never for its neighbours' (lxml, cryptography, the card library, pydantic...).
``tests/unit/test_cli_imports.py`` checks which modules ``dmp --help`` and
``dmp cards`` load.

A new command: one line in :data:`GROUPS` (name and one-line help, the same text as
its ``add_parser(..., help=...)``: a unit test compares them), its parser declared
by its module's declaration function, its run in :func:`_run`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dmp_desktop import __version__, argparse_fr
from dmp_desktop.cli.common import (
    EXIT_CARD,
    EXIT_DMP,
    EXIT_NETWORK,
    EXIT_OK,
    EXIT_USAGE,
    CliUsageError,
    Io,
    OpenDmp,
    card_options,
    ins_option,
)

if TYPE_CHECKING:
    from dmp_desktop.domain.dmp_status import DmpStatus
    from dmp_desktop.domain.practitioner import Practitioner
    from dmp_desktop.settings import Settings

__all__ = ["EXIT_CARD", "EXIT_DMP", "EXIT_NETWORK", "EXIT_OK", "EXIT_USAGE", "Io", "main"]


# --- the commands ----------------------------------------------------------------------------


def _declare_settings(sub: Any) -> None:
    from dmp_desktop.cli import settings_cmd

    settings_cmd.add_parser(sub)


def _declare_status(sub: Any) -> None:
    status = sub.add_parser(
        "status",
        help=_HELP["status"],
        description="Teste l'existence du DMP d'un patient et votre autorisation d'accès.",
    )
    ins_option(status)
    card_options(status)
    status.add_argument("--json", action="store_true", help="sortie JSON pour les scripts")


def _declare_documents(sub: Any) -> None:
    from dmp_desktop.cli import documents

    documents.add_parsers(sub, card_options)


def _declare_alimentation(sub: Any) -> None:
    from dmp_desktop.cli import alimentation

    alimentation.add_parsers(sub)


def _declare_records(sub: Any) -> None:
    from dmp_desktop.cli import records

    records.add_parsers(sub, card_options)


def _declare_admin_data(sub: Any) -> None:
    from dmp_desktop.cli import admin_data

    admin_data.add_parsers(sub, card_options)


def _declare_essentials(sub: Any) -> None:
    from dmp_desktop.cli import essentials

    essentials.add_parser(sub, card_options)


def _declare_patients(sub: Any) -> None:
    from dmp_desktop.cli import patients

    patients.add_parsers(sub, card_options)


def _declare_cards(sub: Any) -> None:
    cards = sub.add_parser("cards", help=_HELP["cards"])
    cards.add_argument("--json", action="store_true", help="sortie JSON")


def _declare_vsm(sub: Any) -> None:
    from dmp_desktop.cli import vsm

    vsm.add_parser(sub)


def _declare_terminology(sub: Any) -> None:
    from dmp_desktop.cli import terminology

    terminology.add_parsers(sub)


@dataclass(frozen=True)
class Group:
    """Commands declared together by one function (most import their module to do so)."""

    commands: tuple[tuple[str, str], ...]  # (name, one-line help shown by dmp --help)
    declare: Callable[[Any], None]  # declares every command of the group, with its options

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(name for name, _help in self.commands)


# In the order of ``dmp --help``.
GROUPS: tuple[Group, ...] = (
    Group(
        (("settings", "les paramètres en vigueur (profil, racine épinglée, n° d'homologation)"),),
        _declare_settings,
    ),
    Group(
        (("status", "le patient a-t-il un DMP, et puis-je y accéder ? (TD0.2)"),),
        _declare_status,
    ),
    Group(
        (
            (
                "authorize",
                "enregistrer (ou retirer) votre autorisation d'accès au DMP du patient (TD0.3)",
            ),
            ("list", "lister les documents du DMP du patient (TD3.1)"),
            ("get", "récupérer un document du DMP dans un fichier (TD3.2)"),
        ),
        _declare_documents,
    ),
    Group(
        (
            ("upload", "envoyer un document dans le DMP du patient (TD2.1)"),
            ("replace", "remplacer un de vos documents par une nouvelle version (TD2.1, RPLC)"),
            ("mask", "masquer un document aux professionnels de santé (TD3.3)"),
            ("unmask", "ne plus masquer un document aux professionnels de santé (TD3.3)"),
            ("archive", "archiver un document (TD3.3d)"),
            ("visibility", "changer la visibilité d'un document (TD3.3)"),
            ("delete", "supprimer un de vos documents du DMP (TD3.3c, auteur seulement)"),
            ("outbox", "vos documents en attente d'envoi ou de confirmation (avec votre carte)"),
            ("types", "chercher un type de document (jeu de valeurs J07)"),
        ),
        _declare_alimentation,
    ),
    Group(
        (
            ("create", "créer le DMP d'un patient, avec son consentement (TD1.1)"),
            ("close", "fermer le DMP à la demande du patient (TD1.4)"),
            ("reactivate", "réactiver un DMP fermé (TD1.2)"),
            ("authorizations", "professionnels autorisés ou bloqués sur le DMP (TD1.6)"),
        ),
        _declare_records,
    ),
    Group(
        (
            ("admin-data", "données administratives du DMP d'un patient (TD1.3)"),
            ("online-access", "accès en ligne du patient à son DMP (TD1.5)"),
        ),
        _declare_admin_data,
    ),
    Group(
        (
            (
                "essentials",
                "L'essentiel du dossier : pathologies, allergies, traitements, résultats…",
            ),
        ),
        _declare_essentials,
    ),
    Group(
        (
            ("patient", "trouver un patient : son INS par le téléservice INSi, puis son DMP"),
            ("patients", "« Mes patients DMP » : les DMP sur lesquels vous êtes autorisé (TD0.4)"),
        ),
        _declare_patients,
    ),
    Group((("cards", "liste les cartes présentes dans les lecteurs"),), _declare_cards),
    Group(
        (("vsm", "synthèse médicale (VSM) : construire le document CDA depuis un JSON"),),
        _declare_vsm,
    ),
    Group(
        (
            (
                "terminology",
                "terminologies (CIM-10, médicaments, CCAM) : état et import des fichiers officiels",
            ),
        ),
        _declare_terminology,
    ),
)
_HELP = {name: text for group in GROUPS for name, text in group.commands}


def _parser(commands: Collection[str] | None = None) -> argparse.ArgumentParser:
    """The ``dmp`` parser; with ``commands``, only their groups are declared in full (with
    their options, importing their modules), every other command by its name and help."""
    argparse_fr.install()  # argparse's own messages in French
    parser = argparse.ArgumentParser(
        prog="dmp",
        description="DMP Desktop en ligne de commande : la carte CPS, le DMP du patient.",
    )
    parser.add_argument(
        "--version",
        action="version",
        version=f"dmp {__version__}",
        help=argparse_fr.version_action_help(),
    )
    parser.add_argument(
        "--config", type=Path, help="fichier de paramètres (défaut : $DMP_DESKTOP_CONFIG)"
    )
    parser.add_argument(
        "--profile",
        choices=("formation", "dmp"),
        help="profil à utiliser : « formation » (hôte de formation) ou « dmp » (plateforme "
        "de l'Assurance Maladie) ; défaut : celui des paramètres",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="journal détaillé")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMANDE")
    for group in GROUPS:
        if commands is None or any(name in commands for name in group.names):
            group.declare(sub)
        else:  # its options are read once the command is known (add_help: no --help of its own)
            for name, text in group.commands:
                sub.add_parser(name, help=text, add_help=False)
    return parser


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    """Read the command line: first which command (and ``dmp --help``), then its options."""
    command = _parser(()).parse_known_args(argv)[0].command
    return _parser((command,)).parse_args(argv)


# --- status and cards ------------------------------------------------------------------------


def _status_json(status: DmpStatus, practitioner: Practitioner | None) -> dict[str, Any]:
    from dmp_desktop.usecases.access import status_summary

    return {
        "ins": status.ins.value,
        "ins_oid": status.ins.oid,
        "dmp": status.state.value,
        "authorization": status.authorization.value if status.authorization else None,
        "treating_physician": status.treating_physician,
        "minor": status.minor,
        "secret_connection": status.secret_connection,
        "closure_date": status.closure_date.isoformat() if status.closure_date else None,
        "closure_reason": status.closure_reason,
        "patient": {
            "family_name": status.patient_family_name,
            "given_name": status.patient_given_name,
            "birth_date": (
                status.patient_birth_date.isoformat() if status.patient_birth_date else None
            ),
            "gender": status.patient_gender,
        },
        "staff": practitioner is not None and practitioner.is_staff,
        "summary": status_summary(status, practitioner),
    }


def _status_text(status: DmpStatus, practitioner: Practitioner | None) -> str:
    from dmp_desktop.dates import fr_date
    from dmp_desktop.domain.dmp_status import DmpState, authorization_text
    from dmp_desktop.usecases.access import status_summary

    lines = [status_summary(status, practitioner)]
    if status.patient_family_name or status.patient_given_name:
        name = f"{status.patient_family_name or ''} {status.patient_given_name or ''}".strip()
        word = {"F": "née", "M": "né"}.get((status.patient_gender or "").upper(), "né(e)")
        born = (
            f", {word} le {fr_date(status.patient_birth_date)}" if status.patient_birth_date else ""
        )
        lines.append(f"{'Patiente' if status.is_female else 'Patient'} : {name}{born}")
    staff = practitioner is not None and practitioner.is_staff
    if status.state is DmpState.ACTIVE and status.authorization and not staff:
        lines.append(
            f"Autorisation : {status.authorization.value} — "
            f"{authorization_text(status.authorization, status.is_female)}"
        )
        lines.append(f"Médecin traitant DMP : {'oui' if status.treating_physician else 'non'}")
    return "\n".join(lines)


def cmd_status(
    args: argparse.Namespace, settings: Settings, io: Io, open_dmp: OpenDmp | None
) -> int:
    import json

    from dmp_desktop.cli.common import Connection, parse_ins, with_card

    ins = parse_ins(args, settings)

    def work(conn: Connection) -> int:
        status = conn.client.test_existence(ins)
        if args.json:
            data = _status_json(status, conn.session.practitioner)
            io.out.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")
        else:
            io.out.write(_status_text(status, conn.session.practitioner) + "\n")
        return EXIT_OK

    return with_card(args, settings, io, open_dmp, work)


def cmd_cards(args: argparse.Namespace, settings: Settings, io: Io) -> int:
    import json

    from dmp_desktop.smartcard.card import CardManager

    manager = CardManager(settings.middleware_candidates())
    try:
        cards = manager.list_cards()
    finally:
        manager.close()
    rows = [
        {
            "label": c.token_label,
            "serial": c.serial,
            "reader": c.reader,
            "holder": c.holder.display_line if c.holder else None,
            "tries_left": c.pin_state.tries_left,
            "pin_pad": c.protected_auth,
        }
        for c in cards
    ]
    if args.json:
        io.out.write(json.dumps(rows, ensure_ascii=False, indent=2) + "\n")
    elif not rows:
        io.out.write("Aucune carte dans les lecteurs.\n")
    else:
        for r in rows:
            holder = r["holder"] or "carte non reconnue"
            io.out.write(f"{r['label']}\t{holder}\t{r['tries_left']} essais PIN\n")
    return EXIT_OK


# --- running a command -------------------------------------------------------------------------


def exit_code(exc: Exception) -> int:
    """The exit status of a typed error (its French text comes from ``describe``): what the
    user typed or must give is usage, then the card, the network, and the DMP for the rest
    (an emergency access with a wrong reason is usage; one the DMP refuses is not)."""
    from dmp_desktop.errors import CardError, NetworkError, SettingsError
    from dmp_desktop.usecases.errors import (
        ClosureReasonError,
        ConsentNotGivenError,
        EmergencyAccessError,
        InvalidFilterError,
    )

    if isinstance(exc, EmergencyAccessError):
        return EXIT_USAGE if exc.about_the_request else EXIT_DMP
    table: tuple[tuple[tuple[type[Exception], ...], int], ...] = (
        ((ClosureReasonError, ConsentNotGivenError, InvalidFilterError, SettingsError), EXIT_USAGE),
        ((CardError,), EXIT_CARD),
        ((NetworkError,), EXIT_NETWORK),
    )
    for kinds, code in table:
        if isinstance(exc, kinds):
            return code
    return EXIT_DMP


def main(
    argv: list[str] | None = None,
    *,
    io: Io | None = None,
    open_dmp: OpenDmp | None = None,
) -> int:
    io = io or Io(sys.stdout, sys.stderr, sys.stdin)
    try:
        args = parse_arguments(argv)
    except SystemExit as exc:
        return int(exc.code or 0) if exc.code != 2 else EXIT_USAGE
    import logging

    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=io.err,
    )
    if args.command == "vsm" and args.vsm_command != "send":  # no card, no settings
        from dmp_desktop.cli import vsm

        return vsm.run(args, io)
    from dmp_desktop.errors import DmpDesktopError, describe
    from dmp_desktop.settings import load_settings

    try:
        settings = load_settings(args.config, profile=args.profile)
        if args.command == "settings":  # shows what is wrong rather than refusing
            from dmp_desktop.cli import settings_cmd

            return settings_cmd.run(args, settings, io.out)
        settings.validate()
        settings.apply_environment()
        if args.command == "vsm":  # a VSM's codes are checked against the installed lists
            from dmp_desktop.terminology.vocabulary import use_installed_in

            use_installed_in(settings.local_data_dir())
        return _run(args, settings, io, open_dmp)
    except CliUsageError as exc:
        io.err.write(f"{exc}\n")
        return EXIT_USAGE
    except DmpDesktopError as exc:
        io.err.write(describe(exc) + "\n")
        return exit_code(exc)
    except KeyboardInterrupt:
        io.err.write("Interrompu.\n")
        return 130


def _run(args: argparse.Namespace, settings: Settings, io: Io, open_dmp: OpenDmp | None) -> int:
    """Run the command: only its own module is imported."""
    command = args.command
    if command == "status":
        return cmd_status(args, settings, io, open_dmp)
    if command == "cards":
        return cmd_cards(args, settings, io)
    if command == "terminology":
        from dmp_desktop.cli import terminology

        return terminology.run(args, settings, io)
    if command in _names_of(_declare_documents):
        from dmp_desktop.cli import documents

        return documents.run(args, settings, io, open_dmp)
    if command in _names_of(_declare_alimentation) or command == "vsm":
        from dmp_desktop.cli import alimentation

        return alimentation.run(args, settings, io, open_dmp)
    if command in _names_of(_declare_records):
        from dmp_desktop.cli import records

        return records.run(args, settings, io, open_dmp)
    if command in _names_of(_declare_admin_data):
        from dmp_desktop.cli import admin_data

        return admin_data.run(args, settings, io, open_dmp)
    if command in _names_of(_declare_patients):
        from dmp_desktop.cli import patients

        return patients.run(args, settings, io, open_dmp)
    if command == "essentials":
        from dmp_desktop.cli import essentials

        return essentials.run(args, settings, io, open_dmp)
    raise CliUsageError("commande inconnue")


def _names_of(declare: Callable[[Any], None]) -> tuple[str, ...]:
    return next(group.names for group in GROUPS if group.declare is declare)
