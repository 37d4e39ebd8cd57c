"""``dmp``: the DMP from the command line (same core as the window, no Qt).

Exit codes: 0 success, 1 refused by the DMP or unreadable answer, 2 usage,
3 card problem, 4 network / TLS problem.
"""

from __future__ import annotations

import argparse
import getpass
import json
import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from dmp_desktop import __version__
from dmp_desktop.cli import vsm as vsm_cli
from dmp_desktop.dates import fr_date
from dmp_desktop.domain.dmp_status import DmpState, DmpStatus, authorization_text
from dmp_desktop.domain.patient import Ins, InsError, InsKind
from dmp_desktop.errors import (
    CardError,
    DmpDesktopError,
    NetworkError,
    NoCardError,
    PinFormatError,
    SettingsError,
    describe,
)
from dmp_desktop.settings import Settings, load_settings
from dmp_desktop.smartcard.card import CardInfo, CardManager, CardSession

EXIT_OK = 0
EXIT_DMP = 1
EXIT_USAGE = 2
EXIT_CARD = 3
EXIT_NETWORK = 4


@dataclass
class Io:
    out: TextIO
    err: TextIO
    inp: TextIO


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dmp",
        description="DMP Desktop en ligne de commande : la carte CPS, le DMP du patient.",
    )
    parser.add_argument("--version", action="version", version=f"dmp {__version__}")
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
    _card_options(status)
    status.add_argument("--json", action="store_true", help="sortie JSON pour les scripts")

    from dmp_desktop.cli import documents

    documents.add_parsers(sub, _card_options)
    from dmp_desktop.cli import alimentation

    alimentation.add_parsers(sub)
    from dmp_desktop.cli import records

    records.add_parsers(sub, _card_options)
    from dmp_desktop.cli import admin_data

    admin_data.add_parsers(sub, _card_options)
    from dmp_desktop.cli import essentials

    essentials.add_parser(sub, _card_options)

    cards = sub.add_parser("cards", help="liste les cartes présentes dans les lecteurs")
    cards.add_argument("--json", action="store_true", help="sortie JSON")
    vsm_cli.add_parser(sub)
    return parser


def _card_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--card", help="libellé ou numéro de série de la carte (si plusieurs)")
    p.add_argument(
        "--pin-stdin",
        action="store_true",
        help="lire le code PIN sur l'entrée standard (une ligne) au lieu de le demander",
    )


def _choose_card(manager: CardManager, wanted: str | None) -> CardInfo:
    cards = [c for c in manager.list_cards() if c.holder is not None]
    if wanted:
        cards = [c for c in cards if wanted in (c.token_label, c.serial)]
    if not cards:
        raise NoCardError()
    if len(cards) > 1:
        names = ", ".join(
            f"{c.token_label} ({c.holder.display_name if c.holder else '?'})" for c in cards
        )
        raise _UsageError(f"Plusieurs cartes sont présentes : {names}. Choisissez avec --card.")
    return cards[0]


class _UsageError(Exception):
    pass


def _read_pin(card: CardInfo, from_stdin: bool, io: Io) -> str | None:
    if card.protected_auth:
        io.err.write("Saisissez votre code PIN sur le clavier du lecteur.\n")
        return None
    if from_stdin:
        pin = io.inp.readline().rstrip("\r\n")
    else:
        holder = card.holder.display_name if card.holder else card.token_label
        tries = card.pin_state.tries_left
        if tries == 1:
            io.err.write("ATTENTION : dernier essai avant le blocage de la carte.\n")
        pin = getpass.getpass(f"Code PIN de la carte de {holder} ({tries} essais) : ")
    if not pin:
        raise PinFormatError()
    return pin


def _login(manager: CardManager, args: argparse.Namespace, io: Io) -> CardSession:
    card = _choose_card(manager, args.card)
    pin = _read_pin(card, args.pin_stdin, io)
    try:
        return manager.login(card, pin)
    finally:
        pin = None


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


OpenDmp = Callable[[Settings, CardSession], Any]


def cmd_status(args: argparse.Namespace, settings: Settings, io: Io, open_dmp: OpenDmp) -> int:
    try:
        ins = Ins.parse(args.ins, InsKind[settings.ins_kind])
    except InsError as exc:
        io.err.write(describe(exc) + "\n")
        return EXIT_USAGE
    manager = CardManager(settings.middleware_candidates())
    try:
        session = _login(manager, args, io)
        try:
            client = open_dmp(settings, session)
            try:
                status = client.test_existence(ins)
            finally:
                client.close()
        finally:
            session.close()
    finally:
        manager.close()
    if args.json:
        io.out.write(json.dumps(_status_json(status), ensure_ascii=False, indent=2) + "\n")
    else:
        io.out.write(_status_text(status) + "\n")
    return EXIT_OK


def _with_dmp(
    args: argparse.Namespace,
    settings: Settings,
    io: Io,
    open_dmp: OpenDmp,
    work: Callable[[Any], int],
) -> int:
    """Log in with the card, open the DMP client, run ``work(client)``, close everything."""
    manager = CardManager(settings.middleware_candidates())
    try:
        session = _login(manager, args, io)
        try:
            client = open_dmp(settings, session)
            try:
                return work(client)
            finally:
                client.close()
        finally:
            session.close()
    finally:
        manager.close()


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
        if args.command == "status":
            if open_dmp is None:
                from dmp_desktop.connect import open_dmp as default_open

                open_dmp = default_open
            return cmd_status(args, settings, io, open_dmp)
        if args.command in ("authorize", "list", "get"):
            from dmp_desktop.cli import documents

            if open_dmp is None:
                from dmp_desktop.connect import open_dmp as default_open

                open_dmp = default_open
            return documents.run(args, settings, io, open_dmp)
        from dmp_desktop.cli import alimentation

        if args.command in alimentation.COMMANDS or args.command == "vsm":
            if open_dmp is None:
                from dmp_desktop.connect import open_dmp as default_open

                open_dmp = default_open
            return alimentation.run(args, settings, io, open_dmp)
        if args.command == "cards":
            return cmd_cards(args, settings, io)
        if args.command == "essentials":
            from dmp_desktop.cli import essentials

            if open_dmp is None:
                from dmp_desktop.connect import open_dmp as default_open

                open_dmp = default_open
            return essentials.run(args, settings, io, open_dmp)
        from dmp_desktop.cli import records

        if args.command in records.COMMANDS:
            if open_dmp is None:
                from dmp_desktop.connect import open_dmp as default_open

                open_dmp = default_open
            opener = open_dmp
            return records.run(
                args, settings, io, lambda work: _with_dmp(args, settings, io, opener, work)
            )
        from dmp_desktop.cli import admin_data

        if args.command in admin_data.COMMANDS:
            if open_dmp is None:
                from dmp_desktop.connect import open_dmp as default_open

                open_dmp = default_open
            admin_opener = open_dmp
            return admin_data.run(
                args, settings, io, lambda work: _with_dmp(args, settings, io, admin_opener, work)
            )
    except _UsageError as exc:
        io.err.write(f"{exc}\n")
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
    parser.error("commande inconnue")
    return EXIT_USAGE  # pragma: no cover
