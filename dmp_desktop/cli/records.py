"""``dmp create`` / ``close`` / ``reactivate`` / ``authorizations``: the record's life.

- ``create`` (TD1.1) needs ``--consentement``: the professional states that the
  patient (or, for a minor, the legal representative, ``--representant-*``)
  agreed; without it nothing is sent;
- ``close`` (TD1.4) closes at the patient's request (``--motif``), after a TD0.2
  that gives the patient's names the request carries;
- ``reactivate`` (TD1.2) reopens a closed DMP;
- ``authorizations`` (TD1.6) lists the professionals authorised or blocked.
"""

from __future__ import annotations

import argparse
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
    iso_date,
    parse_ins,
    with_card,
)
from dmp_desktop.dates import fr_date
from dmp_desktop.dmp.td11 import (
    CreationConsent,
    LegalRepresentative,
    PatientIdentity,
    is_minor,
)
from dmp_desktop.dmp.td16 import MODES
from dmp_desktop.settings import Settings
from dmp_desktop.usecases import records as record_rules

COMMANDS = ("create", "close", "reactivate", "authorizations")
STATUS_FR = {"VALIDE": "autorisé", "INTERDIT": "bloqué", "EXPIRE": "expiré"}


def add_parsers(sub: Any, card_options: CardOptions) -> None:
    create = sub.add_parser(
        "create",
        help="créer le DMP d'un patient, avec son consentement (TD1.1)",
        description="Crée le DMP du patient. Le consentement doit avoir été recueilli.",
    )
    ins_option(create)
    # The trait options of « dmp patient search » (the French names stay accepted).
    create.add_argument("--birth-name", "--nom", dest="nom", required=True, help="nom de naissance")
    create.add_argument(
        "--given-names", "--prenom", dest="prenom", required=True, help="prénom(s) de naissance"
    )
    create.add_argument(
        "--sex", "--sexe", dest="sexe", required=True, choices=("M", "F", "U"), help="sexe"
    )
    create.add_argument(
        "--birth-date",
        "--naissance",
        dest="naissance",
        required=True,
        type=iso_date,
        help="date de naissance (AAAA-MM-JJ)",
    )
    create.add_argument(
        "--consentement",
        action="store_true",
        help="le patient (ou son représentant légal) consent à la création de son DMP",
    )
    create.add_argument(
        "--opposition-bris-de-glace", action="store_true", help="refuse l'accès bris de glace"
    )
    create.add_argument(
        "--opposition-centre-15", action="store_true", help="refuse l'accès du centre 15"
    )
    create.add_argument("--mobile", help="téléphone mobile du patient (accès en ligne)")
    create.add_argument("--email", help="courriel du patient (accès en ligne)")
    create.add_argument("--representant-nom", help="patient mineur : nom du représentant légal")
    create.add_argument("--representant-prenom", help="prénom du représentant légal")
    create.add_argument(
        "--representant-consentement",
        action="store_true",
        help="le représentant légal consent à la création du DMP du mineur",
    )
    card_options(create)

    close = sub.add_parser("close", help="fermer le DMP à la demande du patient (TD1.4)")
    ins_option(close)
    close.add_argument(
        "--motif",
        required=True,
        help=f"motif de la fermeture ({record_rules.MIN_CLOSURE_REASON} caractères au moins)",
    )
    card_options(close)

    reactivate = sub.add_parser("reactivate", help="réactiver un DMP fermé (TD1.2)")
    ins_option(reactivate)
    card_options(reactivate)

    auths = sub.add_parser(
        "authorizations", help="professionnels autorisés ou bloqués sur le DMP (TD1.6)"
    )
    ins_option(auths)
    auths.add_argument(
        "--mode", choices=MODES, default="TOUTE", help="ACTIVE, INTERDITE ou TOUTE (défaut)"
    )
    auths.add_argument("--json", action="store_true", help="sortie JSON")
    card_options(auths)


def _creation(args: argparse.Namespace) -> tuple[PatientIdentity, CreationConsent]:
    """What the options say; the consent rule itself is the use case's."""
    identity = PatientIdentity(args.nom, args.prenom, args.sexe, args.naissance)
    representative = None
    if args.representant_nom or args.representant_prenom or args.representant_consentement:
        representative = LegalRepresentative(
            args.representant_nom or "",
            args.representant_prenom or "",
            consent_given=bool(args.representant_consentement),
        )
    consent = CreationConsent(
        consent_given=bool(args.consentement),
        opposition_bris_de_glace=args.opposition_bris_de_glace,
        opposition_centre_15=args.opposition_centre_15,
        mobile=args.mobile,
        email=args.email,
        legal_representative=representative,
    )
    return identity, consent


CREATION_HINTS = {
    "creation": "Relancez avec --consentement une fois le consentement du patient recueilli.",
    "legal_representative": (
        "Patient mineur : indiquez son représentant légal (--representant-nom, "
        "--representant-prenom) et relancez avec --representant-consentement une fois son "
        "consentement recueilli."
    ),
}


def run(args: argparse.Namespace, settings: Settings, io: Io, open_dmp: OpenDmp | None) -> int:
    ins = parse_ins(args, settings)
    if args.command == "create":
        identity, consent = _creation(args)
        problem = record_rules.creation_problem(identity, consent)
        if problem is not None:  # said before the card is used
            io.err.write(
                "Consentement manquant : rien n'a été envoyé. " + CREATION_HINTS[problem] + "\n"
            )
            return EXIT_USAGE

        def create(conn: Connection) -> int:
            result = record_rules.create_record(conn.client, ins, identity, consent)
            minor = (
                " (patient mineur : pas d'accès en ligne)" if is_minor(identity.birth_date) else ""
            )
            number = f" n° {result.dmp_id}" if result.dmp_id else ""
            io.out.write(
                f"DMP{number} créé pour {identity.given_name} {identity.family_name}{minor}.\n"
            )
            return EXIT_OK

        return with_card(args, settings, io, open_dmp, create)

    if args.command == "close":
        problem = record_rules.closure_problem(record_rules.CLOSURE_PATIENT_REQUEST, args.motif)
        if problem is not None:
            raise record_rules.ClosureReasonError(problem)

        def close(conn: Connection) -> int:
            record_rules.close_record(conn.client, ins, args.motif)
            io.out.write("DMP fermé. Ses données sont conservées 10 ans.\n")
            return EXIT_OK

        return with_card(args, settings, io, open_dmp, close)

    if args.command == "reactivate":

        def reactivate(conn: Connection) -> int:
            if record_rules.reactivate_record(conn.client, ins):
                io.out.write("DMP réactivé.\n")
            else:
                io.out.write("Ce DMP est déjà actif : rien n'a changé.\n")
            return EXIT_OK

        return with_card(args, settings, io, open_dmp, reactivate)

    def authorizations(conn: Connection) -> int:
        items = conn.client.list_authorizations(ins, args.mode)
        if args.json:
            rows = [
                {
                    "national_id": a.national_id,
                    "family_name": a.family_name,
                    "given_name": a.given_name,
                    "status": a.status,
                    "treating_physician": a.treating_physician,
                    "start": a.start.isoformat() if a.start else None,
                }
                for a in items
            ]
            io.out.write(json.dumps(rows, ensure_ascii=False, indent=2) + "\n")
            return EXIT_OK
        if not items:
            io.out.write("Aucun professionnel autorisé ni bloqué.\n")
            return EXIT_OK
        for a in items:
            name = f"{a.given_name} {a.family_name}".strip() or "(nom inconnu)"
            role = " — médecin traitant DMP" if a.treating_physician else ""
            since = f" depuis le {fr_date(a.start)}" if a.start else ""
            io.out.write(
                f"{a.national_id}\t{name}\t{STATUS_FR.get(a.status, a.status)}{since}{role}\n"
            )
        return EXIT_OK

    return with_card(args, settings, io, open_dmp, authorizations)


__all__ = ["COMMANDS", "add_parsers", "run"]
