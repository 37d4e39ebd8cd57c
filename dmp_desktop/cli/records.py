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
from collections.abc import Callable
from typing import Any

from dmp_desktop.dates import DateFormatError, fr_date, parse_iso_date
from dmp_desktop.dmp.td11 import (
    ConsentError,
    CreationConsent,
    LegalRepresentative,
    PatientIdentity,
    is_minor,
)
from dmp_desktop.dmp.td16 import MODES
from dmp_desktop.domain.dmp_status import DmpState
from dmp_desktop.domain.patient import Ins, InsError, InsKind
from dmp_desktop.errors import describe
from dmp_desktop.settings import Settings

COMMANDS = ("create", "close", "reactivate", "authorizations")
EXIT_OK, EXIT_DMP, EXIT_USAGE = 0, 1, 2
STATUS_FR = {"VALIDE": "autorisé", "INTERDIT": "bloqué", "EXPIRE": "expiré"}

CardOptions = Callable[[argparse.ArgumentParser], None]


def add_parsers(sub: Any, card_options: CardOptions) -> None:
    create = sub.add_parser(
        "create",
        help="créer le DMP d'un patient, avec son consentement (TD1.1)",
        description="Crée le DMP du patient. Le consentement doit avoir été recueilli.",
    )
    create.add_argument("--ins", required=True, help="INS du patient (15 caractères)")
    create.add_argument("--nom", required=True, help="nom de naissance")
    create.add_argument("--prenom", required=True, help="premier prénom")
    create.add_argument("--sexe", required=True, choices=("M", "F", "U"), help="sexe")
    create.add_argument("--naissance", required=True, help="date de naissance (AAAA-MM-JJ)")
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
    close.add_argument("--ins", required=True, help="INS du patient")
    close.add_argument("--motif", required=True, help="motif de la fermeture")
    card_options(close)

    reactivate = sub.add_parser("reactivate", help="réactiver un DMP fermé (TD1.2)")
    reactivate.add_argument("--ins", required=True, help="INS du patient")
    card_options(reactivate)

    auths = sub.add_parser(
        "authorizations", help="professionnels autorisés ou bloqués sur le DMP (TD1.6)"
    )
    auths.add_argument("--ins", required=True, help="INS du patient")
    auths.add_argument(
        "--mode", choices=MODES, default="TOUTE", help="ACTIVE, INTERDITE ou TOUTE (défaut)"
    )
    auths.add_argument("--json", action="store_true", help="sortie JSON")
    card_options(auths)


class _Usage(Exception):
    pass


def _ins(args: argparse.Namespace, settings: Settings) -> Ins:
    try:
        return Ins.parse(args.ins, InsKind[settings.ins_kind])
    except InsError as exc:
        raise _Usage(describe(exc)) from None


def _creation(args: argparse.Namespace) -> tuple[PatientIdentity, CreationConsent]:
    if not args.consentement:
        raise _Usage(
            "Recueillez d'abord le consentement du patient à la création de son DMP, "
            "puis relancez avec --consentement."
        )
    try:
        birth = parse_iso_date(args.naissance)
    except DateFormatError:
        raise _Usage("Date de naissance invalide : format AAAA-MM-JJ attendu.") from None
    identity = PatientIdentity(args.nom, args.prenom, args.sexe, birth)
    representative = None
    if is_minor(birth):
        if not (args.representant_nom and args.representant_prenom):
            raise _Usage(
                "Patient mineur : indiquez son représentant légal "
                "(--representant-nom, --representant-prenom)."
            )
        if not args.representant_consentement:
            raise _Usage(
                "Patient mineur : recueillez le consentement de son représentant légal, "
                "puis relancez avec --representant-consentement."
            )
        representative = LegalRepresentative(
            args.representant_nom, args.representant_prenom, consent_given=True
        )
    consent = CreationConsent(
        consent_given=True,
        opposition_bris_de_glace=args.opposition_bris_de_glace,
        opposition_centre_15=args.opposition_centre_15,
        mobile=args.mobile,
        email=args.email,
        legal_representative=representative,
    )
    return identity, consent


def run(
    args: argparse.Namespace,
    settings: Settings,
    io: Any,
    with_client: Callable[[Callable[[Any], int]], int],
) -> int:
    """Run one command; ``with_client(work)`` logs in with the card and calls ``work(client)``."""
    try:
        ins = _ins(args, settings)
        if args.command == "create":
            identity, consent = _creation(args)
    except _Usage as exc:
        io.err.write(f"{exc}\n")
        return EXIT_USAGE

    def create(client: Any) -> int:
        try:
            result = client.create_dmp(ins, identity, consent)
        except ConsentError:  # checked above; kept as a last guard
            io.err.write("Consentement manquant : rien n'a été envoyé.\n")
            return EXIT_USAGE
        minor = " (patient mineur : pas d'accès en ligne)" if is_minor(identity.birth_date) else ""
        number = f" n° {result.dmp_id}" if result.dmp_id else ""
        io.out.write(
            f"DMP{number} créé pour {identity.given_name} {identity.family_name}{minor}.\n"
        )
        return EXIT_OK

    def close(client: Any) -> int:
        status = client.test_existence(ins)
        if status.state is DmpState.NONE:
            io.err.write("Ce patient n'a pas de DMP.\n")
            return EXIT_DMP
        client.close_dmp(
            ins,
            status.patient_family_name or "",
            status.patient_given_name or "",
            reason_text=args.motif,
            gender=status.patient_gender,
        )
        io.out.write("DMP fermé. Ses données sont conservées 10 ans.\n")
        return EXIT_OK

    def reactivate(client: Any) -> int:
        status = client.test_existence(ins)
        if status.state is DmpState.NONE:
            io.err.write("Ce patient n'a pas de DMP.\n")
            return EXIT_DMP
        if status.state is DmpState.ACTIVE:
            io.out.write("Ce DMP est déjà actif : rien n'a changé.\n")
            return EXIT_OK
        client.reactivate_dmp(
            ins,
            status.patient_family_name or "",
            status.patient_given_name or "",
            gender=status.patient_gender,
        )
        io.out.write("DMP réactivé.\n")
        return EXIT_OK

    def authorizations(client: Any) -> int:
        items = client.list_authorizations(ins, args.mode)
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

    work = {
        "create": create,
        "close": close,
        "reactivate": reactivate,
        "authorizations": authorizations,
    }[args.command]
    return with_client(work)
