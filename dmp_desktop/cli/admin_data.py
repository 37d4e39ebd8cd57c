"""``dmp admin-data`` (TD1.3) and ``dmp online-access`` (TD1.5) on the command line.

- ``admin-data show`` reads the patient's administrative data (TD1.3a);
- ``admin-data update`` changes contacts, address or emergency choices: it
  reads the data first (TD1.3a), applies the options, then sends it whole
  (TD1.3b); an empty value (``--mobile ""``) clears a field;
- ``online-access create`` opens the patient's online access (TD1.5a) with
  ``--sms`` or ``--email``: the login and the temporary password are printed
  once, to hand to the patient;
- ``online-access add-otp`` / ``remove-otp`` add or remove a one-time-code
  channel (TD1.5b); ``online-access update`` issues new credentials (TD1.5d).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from typing import Any

from dmp_desktop.cli.common import (
    EXIT_OK,
    EXIT_USAGE,
    CardOptions,
    Connection,
    Io,
    OpenDmp,
    ins_option,
    parse_ins,
    with_card,
)
from dmp_desktop.dates import fr_date
from dmp_desktop.dmp import td15
from dmp_desktop.domain.admin_data import (
    OTP_EMAIL,
    OTP_SMS,
    AdministrativeData,
    check_email,
    check_mobile,
    check_phone,
    check_postal_code,
)
from dmp_desktop.errors import InvalidContactError, describe
from dmp_desktop.settings import Settings

COMMANDS = ("admin-data", "online-access")
_YES_NO = {"oui": True, "non": False}


def add_parsers(sub: Any, card_options: CardOptions) -> None:
    admin = sub.add_parser(
        "admin-data",
        help="données administratives du DMP d'un patient (TD1.3)",
        description="Consulte ou modifie les données administratives du DMP du patient.",
    )
    admin_sub = admin.add_subparsers(dest="admin_command", required=True, metavar="ACTION")
    show = admin_sub.add_parser("show", help="afficher les données administratives (TD1.3a)")
    ins_option(show)
    show.add_argument("--json", action="store_true", help="sortie JSON")
    card_options(show)
    update = admin_sub.add_parser(
        "update",
        help="modifier coordonnées, adresse ou choix d'urgence (TD1.3b)",
        description=(
            "Modifie les données administratives. Nom, prénom, sexe et date de naissance "
            "viennent de l'INS et ne se modifient pas ici. Une valeur vide efface le champ."
        ),
    )
    ins_option(update)
    update.add_argument("--mobile", help="téléphone mobile (06 ou 07)")
    update.add_argument("--email", help="adresse électronique")
    update.add_argument("--telephone", help="téléphone fixe")
    update.add_argument("--adresse", help="numéro et voie")
    update.add_argument("--code-postal", help="code postal")
    update.add_argument("--ville", help="commune")
    update.add_argument("--pays", help="pays")
    update.add_argument(
        "--opposition-bris-de-glace", choices=_YES_NO, help="refus de l'accès bris de glace"
    )
    update.add_argument(
        "--opposition-centre-15", choices=_YES_NO, help="refus de l'accès du centre 15"
    )
    card_options(update)

    access = sub.add_parser(
        "online-access",
        help="accès en ligne du patient à son DMP (TD1.5)",
        description=(
            "Accès en ligne du patient : sans mobile ni courriel, le patient ne voit son DMP "
            "qu'avec un professionnel de santé. Un patient mineur n'a pas d'accès en ligne."
        ),
    )
    access_sub = access.add_subparsers(dest="access_command", required=True, metavar="ACTION")
    for name, text in (
        ("create", "créer l'accès en ligne du patient (TD1.5a)"),
        ("add-otp", "ajouter un canal de réception des codes à usage unique (TD1.5b)"),
        ("remove-otp", "retirer un canal de réception des codes (TD1.5b)"),
    ):
        parser = access_sub.add_parser(name, help=text)
        ins_option(parser)
        channel = parser.add_mutually_exclusive_group(required=True)
        channel.add_argument("--sms", metavar="MOBILE", help="mobile qui recevra les codes")
        channel.add_argument("--email", metavar="COURRIEL", help="courriel qui recevra les codes")
        card_options(parser)
    renew = access_sub.add_parser(
        "update", help="remettre de nouveaux identifiants au patient (TD1.5d)"
    )
    ins_option(renew)
    card_options(renew)


def _as_dict(data: AdministrativeData) -> dict[str, Any]:
    row = dataclasses.asdict(data)
    row["ins"] = data.ins.value
    row["birth_date"] = data.birth_date.isoformat() if data.birth_date else None
    return row


def _yes(flag: bool) -> str:
    return "oui" if flag else "non"


def _print(data: AdministrativeData, out: Any) -> None:
    def line(label: str, value: str | None) -> None:
        out.write(f"{label:<32}{value or '—'}\n")

    line("Nom (INS)", data.family_name)
    line("Prénom (INS)", data.given_name)
    line("Sexe", {"M": "masculin", "F": "féminin"}.get(data.gender, "inconnu"))
    line("Date de naissance", fr_date(data.birth_date) if data.birth_date else None)
    line("DMP", "fermé" if data.closed else "actif")
    line("Téléphone", data.home_phone)
    line("Mobile", data.mobile)
    line("Courriel", data.email)
    address = data.address
    where = " ".join(x for x in (address.postal_code, address.city) if x)
    line("Adresse", ", ".join([*address.lines, where, address.country]).strip(", ") or None)
    for rep in data.legal_representatives:
        contact = ", ".join(x for x in (rep.mobile, rep.email, rep.home_phone) if x)
        line("Représentant légal", f"{rep.given_name} {rep.family_name} {contact}".strip())
    line("Opposition bris de glace", _yes(data.opposition_bris_de_glace))
    line("Opposition centre 15", _yes(data.opposition_centre_15))


def _changed(data: AdministrativeData, args: argparse.Namespace) -> AdministrativeData:
    def pick(option: str | None, current: str | None) -> str | None:
        return current if option is None else (option.strip() or None)

    address = data.address
    if args.adresse is not None:
        address = dataclasses.replace(
            address, lines=(args.adresse.strip(),) if args.adresse.strip() else ()
        )
    address = dataclasses.replace(
        address,
        postal_code=pick(args.code_postal, address.postal_code) or "",
        city=pick(args.ville, address.city) or "",
        country=pick(args.pays, address.country) or "",
    )
    changes: dict[str, Any] = {
        "mobile": pick(args.mobile, data.mobile),
        "email": pick(args.email, data.email),
        "home_phone": pick(args.telephone, data.home_phone),
        "address": address,
    }
    if args.opposition_bris_de_glace is not None:
        changes["opposition_bris_de_glace"] = _YES_NO[args.opposition_bris_de_glace]
    if args.opposition_centre_15 is not None:
        changes["opposition_centre_15"] = _YES_NO[args.opposition_centre_15]
    return dataclasses.replace(data, **changes).checked()


def _credentials(io: Any, login: str | None, password: str | None) -> None:
    io.out.write(f"Identifiant : {login or '—'}\n")
    io.out.write(f"Mot de passe provisoire : {password or '—'}\n")
    io.out.write(
        "Remettez-les au patient : il devra changer ce mot de passe à sa première connexion. "
        "Ils ne seront plus affichés.\n"
    )


def run(args: argparse.Namespace, settings: Settings, io: Io, open_dmp: OpenDmp | None) -> int:
    """Run one command (the card is used only once the typed values are checked)."""
    ins = parse_ins(args, settings)
    if args.command == "admin-data" and args.admin_command == "update":
        try:  # typed values are checked before the card is even used
            for value, check in (
                (args.mobile, check_mobile),
                (args.email, check_email),
                (args.telephone, check_phone),
                (args.code_postal, check_postal_code),
            ):
                if value and value.strip():
                    check(value)
        except InvalidContactError as exc:
            io.err.write(describe(exc) + " Rien n'a été envoyé.\n")
            return EXIT_USAGE
    channel: tuple[str, str] | None = None
    if args.command == "online-access" and args.access_command != "update":
        channel = (OTP_SMS, args.sms) if args.sms is not None else (OTP_EMAIL, args.email)
        try:
            td15.check_channel(*channel)
        except InvalidContactError as exc:
            io.err.write(describe(exc) + "\n")
            return EXIT_USAGE

    def admin(conn: Connection) -> int:
        client = conn.client
        data = client.get_admin_data(ins)
        if args.admin_command == "show":
            if args.json:
                io.out.write(json.dumps(_as_dict(data), ensure_ascii=False, indent=2) + "\n")
            else:
                _print(data, io.out)
            return EXIT_OK
        try:
            changed = _changed(data, args)
        except InvalidContactError as exc:
            io.err.write(describe(exc) + " Rien n'a été envoyé.\n")
            return EXIT_USAGE
        if changed == data:
            io.out.write("Aucune modification : rien n'a été envoyé.\n")
            return EXIT_OK
        client.update_admin_data(changed)
        io.out.write("Données administratives modifiées. Le patient en est informé.\n")
        return EXIT_OK

    def access(conn: Connection) -> int:
        client = conn.client
        command = args.access_command
        if command == "update":
            result = client.renew_online_access(ins)
            _credentials(io, result.login, result.temporary_password)
            return EXIT_OK
        if channel is None:  # pragma: no cover - set above for every channel command
            return EXIT_USAGE
        if command == "create":
            result = client.create_online_access(ins, *channel)
            io.out.write("Accès en ligne créé. Un code de vérification a été envoyé au patient.\n")
            _credentials(io, result.login, result.temporary_password)
            return EXIT_OK
        action = td15.OTP_ADD if command == "add-otp" else td15.OTP_REMOVE
        client.update_otp_channel(ins, *channel, action)
        io.out.write(
            "Canal ajouté : un code de vérification y a été envoyé.\n"
            if action == td15.OTP_ADD
            else "Canal retiré.\n"
        )
        return EXIT_OK

    return with_card(
        args, settings, io, open_dmp, admin if args.command == "admin-data" else access
    )
