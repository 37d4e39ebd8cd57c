"""What every ``dmp`` command shares: streams, exit codes, the card login, usage errors.

Exit codes: 0 success, 1 refused by the DMP (or by a DMP rule) or unreadable
answer, 2 usage, 3 card problem, 4 network / TLS problem.
"""

from __future__ import annotations

import argparse
import getpass
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any, TextIO

# Imported by every command's parser declaration (``dmp --help`` included): only the standard
# library at the top; the card, the settings and the domain where a function needs them
# (tests/unit/test_cli_imports.py).
if TYPE_CHECKING:
    from dmp_desktop.domain.patient import Ins
    from dmp_desktop.settings import Settings
    from dmp_desktop.smartcard.card import CardInfo, CardManager, CardSession

EXIT_OK = 0
EXIT_DMP = 1
EXIT_USAGE = 2
EXIT_CARD = 3
EXIT_NETWORK = 4
YES_ANSWERS = frozenset({"oui", "o", "yes", "y"})


@dataclass
class Io:
    out: TextIO
    err: TextIO
    inp: TextIO


class CliUsageError(Exception):
    """Bad options: the French message goes to stderr, exit code 2."""


# (settings, logged-in card session) -> DMP client
OpenDmp = Callable[["Settings", "CardSession"], Any]
CardOptions = Callable[[argparse.ArgumentParser], None]


def ins_option(p: argparse.ArgumentParser) -> None:
    """``--ins``, the patient's INS, required (read by :func:`parse_ins`); and
    ``--secret-connection``, a minor's secret connection for this patient (:func:`with_card`)."""
    p.add_argument("--ins", required=True, help="INS du patient (15 caractères)")
    p.add_argument(
        "--secret-connection",
        action="store_true",
        help=(
            "patient mineur, à sa demande : connexion secrète (vos accès restent invisibles "
            "à ses représentants légaux ; attribut VIHF officiel)"
        ),
    )


def card_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--card", help="libellé ou numéro de série de la carte (si plusieurs)")
    p.add_argument(
        "--pin-stdin",
        action="store_true",
        help="lire le code PIN sur l'entrée standard (une ligne) au lieu de le demander",
    )
    p.add_argument(
        "--situation",
        metavar="IDENTIFIANT_STRUCTURE",
        help=(
            "carte à plusieurs situations d'exercice : celle de la structure où vous exercez "
            "aujourd'hui (sinon : celle des paramètres, structure_id)"
        ),
    )


def iso_date(text: str) -> date:
    """An ``argparse`` type: a date written AAAA-MM-JJ."""
    from dmp_desktop.dates import DateFormatError, parse_iso_date

    try:
        return parse_iso_date(text)
    except DateFormatError:
        raise argparse.ArgumentTypeError(
            f"date invalide « {text} » : écrivez-la AAAA-MM-JJ, par exemple 2024-01-31."
        ) from None


def parse_ins(args: argparse.Namespace, settings: Settings) -> Ins:
    from dmp_desktop.domain.patient import Ins, InsError, InsKind
    from dmp_desktop.errors import describe

    try:
        return Ins.parse(args.ins, InsKind[settings.ins_kind])
    except InsError as exc:
        raise CliUsageError(describe(exc)) from None


def confirm(question: str, io: Io) -> bool:
    io.err.write(question)
    io.err.flush()
    return io.inp.readline().strip().lower() in YES_ANSWERS


def choose_card(manager: CardManager, wanted: str | None) -> CardInfo:
    from dmp_desktop.errors import NoCardError

    cards = [c for c in manager.list_cards() if c.holder is not None]
    if wanted:
        cards = [c for c in cards if wanted in (c.token_label, c.serial)]
    if not cards:
        raise NoCardError()
    if len(cards) > 1:
        names = ", ".join(
            f"{c.token_label} ({c.holder.display_name if c.holder else '?'})" for c in cards
        )
        raise CliUsageError(f"Plusieurs cartes sont présentes : {names}. Choisissez avec --card.")
    return cards[0]


def read_pin(card: CardInfo, from_stdin: bool, io: Io) -> str | None:
    from dmp_desktop.errors import PinFormatError

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


def login(manager: CardManager, args: argparse.Namespace, io: Io) -> CardSession:
    card = choose_card(manager, args.card)
    pin = read_pin(card, args.pin_stdin, io)
    try:
        session = manager.login(card, pin)
    finally:
        pin = None
    wanted = (getattr(args, "situation", None) or "").strip()
    if wanted:
        try:
            session.choose_situation(wanted)
        except ValueError:
            names = ", ".join(
                f"{s.structure_name or s.structure_id} ({s.structure_id})"
                for s in session.situations
            )
            session.close()
            raise CliUsageError(
                f"La carte n'a pas de situation d'exercice pour la structure « {wanted} »"
                + (f". Ses situations : {names}." if names else " (elle n'en porte aucune).")
            ) from None
    return session


@dataclass
class Connection:
    """A logged-in card and the DMP client opened with it (closed by :func:`with_card`)."""

    client: Any
    session: CardSession


def with_card(
    args: argparse.Namespace,
    settings: Settings,
    io: Io,
    open_dmp: OpenDmp | None,
    work: Callable[[Connection], int],
    *,
    client: bool = True,
) -> int:
    """Log in with the card, open the DMP client (unless ``client=False``), run ``work``,
    close everything."""
    if open_dmp is None:
        from dmp_desktop.connect import open_dmp as default_open

        open_dmp = default_open
    from dmp_desktop.smartcard.card import CardManager

    manager = CardManager(settings.middleware_candidates())
    try:
        session = login(manager, args, io)
        try:
            dmp = open_dmp(settings, session) if client else None
            try:
                if dmp is not None and getattr(args, "secret_connection", False):
                    from dmp_desktop.usecases.records import declare_secret_connection

                    declare_secret_connection(dmp, parse_ins(args, settings), session.practitioner)
                    io.err.write(
                        "Connexion secrète (patient mineur) : vos accès à son DMP restent "
                        "invisibles à ses représentants légaux.\n"
                    )
                return work(Connection(dmp, session))
            finally:
                if dmp is not None:
                    dmp.close()
        finally:
            session.close()
    finally:
        manager.close()


__all__ = [
    "EXIT_CARD",
    "EXIT_DMP",
    "EXIT_NETWORK",
    "EXIT_OK",
    "EXIT_USAGE",
    "CliUsageError",
    "Connection",
    "Io",
    "OpenDmp",
    "card_options",
    "confirm",
    "ins_option",
    "iso_date",
    "login",
    "parse_ins",
    "with_card",
]
