"""``dmp``: the DMP from the command line (same core as the window, no Qt).

Exit codes: 0 success, 1 refused by the DMP or unreadable answer, 2 usage,
3 card problem, 4 network / TLS problem.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Any

from dmp_desktop import __version__, argparse_fr
from dmp_desktop.cli import vsm as vsm_cli
from dmp_desktop.cli.common import (
    EXIT_CARD,
    EXIT_DMP,
    EXIT_NETWORK,
    EXIT_OK,
    EXIT_USAGE,
    CliUsageError,
    Connection,
    Io,
    OpenDmp,
    card_options,
    parse_ins,
    with_card,
)
from dmp_desktop.dates import fr_date
from dmp_desktop.domain.dmp_status import DmpState, DmpStatus, authorization_text
from dmp_desktop.errors import (
    CardError,
    DmpDesktopError,
    NetworkError,
    SettingsError,
    describe,
)
from dmp_desktop.settings import Settings, load_settings
from dmp_desktop.smartcard.card import CardManager
from dmp_desktop.usecases.errors import (
    ConsentNotGivenError,
    EmergencyAccessError,
    InvalidFilterError,
)

__all__ = ["EXIT_CARD", "EXIT_DMP", "EXIT_NETWORK", "EXIT_OK", "EXIT_USAGE", "Io", "main"]


def _parser() -> argparse.ArgumentParser:
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
    from dmp_desktop.cli import settings_cmd

    settings_cmd.add_parser(sub)

    status = sub.add_parser(
        "status",
        help="le patient a-t-il un DMP, et puis-je y accéder ? (TD0.2)",
        description="Teste l'existence du DMP d'un patient et votre autorisation d'accès.",
    )
    status.add_argument("--ins", required=True, help="INS du patient (15 caractères)")
    card_options(status)
    status.add_argument("--json", action="store_true", help="sortie JSON pour les scripts")

    from dmp_desktop.cli import documents

    documents.add_parsers(sub, card_options)
    from dmp_desktop.cli import alimentation

    alimentation.add_parsers(sub)
    from dmp_desktop.cli import records

    records.add_parsers(sub, card_options)
    from dmp_desktop.cli import admin_data

    admin_data.add_parsers(sub, card_options)
    from dmp_desktop.cli import essentials

    essentials.add_parser(sub, card_options)
    from dmp_desktop.cli import patients

    patients.add_parsers(sub, card_options)

    cards = sub.add_parser("cards", help="liste les cartes présentes dans les lecteurs")
    cards.add_argument("--json", action="store_true", help="sortie JSON")
    vsm_cli.add_parser(sub)
    return parser


def _status_json(status: DmpStatus) -> dict[str, Any]:
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
        "summary": status.summary_fr(),
    }


def _status_text(status: DmpStatus) -> str:
    lines = [status.summary_fr()]
    if status.patient_family_name or status.patient_given_name:
        name = f"{status.patient_family_name or ''} {status.patient_given_name or ''}".strip()
        born = (
            f", né(e) le {fr_date(status.patient_birth_date)}" if status.patient_birth_date else ""
        )
        lines.append(f"Patient : {name}{born}")
    if status.state is DmpState.ACTIVE and status.authorization:
        lines.append(
            f"Autorisation : {status.authorization.value} — "
            f"{authorization_text(status.authorization)}"
        )
        lines.append(f"Médecin traitant DMP : {'oui' if status.treating_physician else 'non'}")
    return "\n".join(lines)


def cmd_status(
    args: argparse.Namespace, settings: Settings, io: Io, open_dmp: OpenDmp | None
) -> int:
    ins = parse_ins(args, settings)

    def work(conn: Connection) -> int:
        status = conn.client.test_existence(ins)
        if args.json:
            io.out.write(json.dumps(_status_json(status), ensure_ascii=False, indent=2) + "\n")
        else:
            io.out.write(_status_text(status) + "\n")
        return EXIT_OK

    return with_card(args, settings, io, open_dmp, work)


def cmd_cards(args: argparse.Namespace, settings: Settings, io: Io) -> int:
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


def main(
    argv: list[str] | None = None,
    *,
    io: Io | None = None,
    open_dmp: OpenDmp | None = None,
) -> int:
    io = io or Io(sys.stdout, sys.stderr, sys.stdin)
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0) if exc.code != 2 else EXIT_USAGE
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=io.err,
    )
    if args.command == "vsm" and args.vsm_command != "send":  # no card, no settings
        return vsm_cli.run(args, io)
    try:
        settings = load_settings(args.config, profile=args.profile)
        if args.command == "settings":  # shows what is wrong rather than refusing
            from dmp_desktop.cli import settings_cmd

            return settings_cmd.run(args, settings, io.out)
        settings.validate()
        settings.apply_environment()
        return _run(args, settings, io, open_dmp)
    except CliUsageError as exc:
        io.err.write(f"{exc}\n")
        return EXIT_USAGE
    except EmergencyAccessError as exc:  # a wrong reason is usage; a refused access is not
        io.err.write(describe(exc) + "\n")
        return EXIT_USAGE if exc.about_the_request else EXIT_DMP
    except (ConsentNotGivenError, InvalidFilterError) as exc:
        io.err.write(describe(exc) + "\n")
        return EXIT_USAGE
    except SettingsError as exc:
        io.err.write(describe(exc) + "\n")
        return EXIT_USAGE
    except CardError as exc:
        io.err.write(describe(exc) + "\n")
        return EXIT_CARD
    except NetworkError as exc:
        io.err.write(describe(exc) + "\n")
        return EXIT_NETWORK
    except DmpDesktopError as exc:
        io.err.write(describe(exc) + "\n")
        return EXIT_DMP
    except KeyboardInterrupt:
        io.err.write("Interrompu.\n")
        return 130


def _run(args: argparse.Namespace, settings: Settings, io: Io, open_dmp: OpenDmp | None) -> int:
    from dmp_desktop.cli import admin_data, alimentation, documents, records

    command = args.command
    if command == "status":
        return cmd_status(args, settings, io, open_dmp)
    if command == "cards":
        return cmd_cards(args, settings, io)
    if command in documents.COMMANDS:
        return documents.run(args, settings, io, open_dmp)
    if command in alimentation.COMMANDS or command == "vsm":
        return alimentation.run(args, settings, io, open_dmp)
    if command in records.COMMANDS:
        return records.run(args, settings, io, open_dmp)
    if command in admin_data.COMMANDS:
        return admin_data.run(args, settings, io, open_dmp)
    if command in ("patient", "patients"):
        from dmp_desktop.cli import patients

        return patients.run(args, settings, io, open_dmp)
    if command == "essentials":
        from dmp_desktop.cli import essentials

        return essentials.run(args, settings, io, open_dmp)
    raise CliUsageError("commande inconnue")
