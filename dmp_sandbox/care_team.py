"""Care teams in a health establishment: presumed authorisation, individual traces.

Inside a health establishment (hospital, clinic), the members of the care team
looking after a patient are presumed authorised on the patient's DMP: they
need no authorisation of their own (no TD0.3 each). The training host grants
this presumption (:func:`presumed`) when all of the following hold:

1. the request comes in structure mode ("authentification indirecte
   renforcée"): the TLS client certificate is the establishment's, the VIHF is
   signed with it and names the professional (``Subject/NameID``) who logged
   in with their own CPS card (checked by :mod:`dmp_sandbox.vihf_verify`), as
   its ``AuthnContextClassRef`` ``SmartcardPKI`` states (a member logged in
   another way, e.g. ``Password``, gets no presumption); a card connection
   (direct mode) never gets it, whatever sector its VIHF claims;
2. the signed VIHF's ``Secteur_Activite`` is a health establishment's
   (nomenclature J02: ``SA01`` to ``SA04``);
3. the professional is a health professional (a profession in the VIHF;
   structure staff never consult anyway);
4. the patient is known to that establishment: an open stay
   (:class:`~dmp_sandbox.store.EstablishmentStay`) for the ``Identifiant_Structure``
   of the establishment's certificate, recorded with
   ``dmp-sandbox establishment admit`` and ended with ``discharge``;
5. the patient did not oppose access by that establishment's care team for
   this stay (``admit --opposition`` or ``establishment oppose``).

Everything else still applies before the presumption: a DMP that is absent or
closed is refused, a professional the patient blocked (``INTERDIT``) is
refused inside the establishment as anywhere, emergency oppositions stand.
The presumption replaces only the professional's own authorisation: it never
makes a member médecin traitant, so documents masked from professionals stay
hidden from them (except from their authors). Every request in structure mode
is traced with both the professional (``professional_national_id``) and the
structure (``structure_id``).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from sqlalchemy import select

from dmp_sandbox.store import DmpState, EstablishmentStay, Patient, utcnow
from dmp_sandbox.wire import AC_SMARTCARD_PKI

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from dmp_sandbox.auth import CertIdentity
    from dmp_sandbox.store import Store

# J02 (TRE_R02 SecteurActivite): the health establishments' sectors.
ESTABLISHMENT_SECTORS = frozenset({"SA01", "SA02", "SA03", "SA04"})

# The training establishment: Identifiant_Structure = "1" + FINESS (as the official
# CDA examples identify an establishment), public hospital (SA01).
TRAINING_ESTABLISHMENT_FINESS = "690009998"
TRAINING_ESTABLISHMENT_ID = "1" + TRAINING_ESTABLISHMENT_FINESS
TRAINING_ESTABLISHMENT_NAME = "CENTRE HOSPITALIER DE FORMATION"
TRAINING_ESTABLISHMENT_SECTOR = "SA01"

EXIT_OK, EXIT_FAILURE = 0, 1


def is_establishment_member(identity: CertIdentity) -> bool:
    """Rules 1 to 3: a health professional, logged in with their card, acting through an
    establishment's certificate."""
    return bool(
        identity.via_structure
        and identity.authn_context == AC_SMARTCARD_PKI
        and identity.structure_id
        and identity.activity_sector in ESTABLISHMENT_SECTORS
        and identity.profession_code is not None
    )


def open_stay(session: Session, patient: Patient, structure_id: str) -> EstablishmentStay | None:
    """The patient's stay in this establishment, if it is open."""
    stay = session.scalars(
        select(EstablishmentStay).where(
            EstablishmentStay.patient_id == patient.id,
            EstablishmentStay.structure_id == structure_id,
        )
    ).one_or_none()
    return stay if stay is not None and stay.discharged_at is None else None


def presumed(session: Session, patient: Patient, identity: CertIdentity) -> bool:
    """Is this professional presumed authorised as a member of the care team? (rules 1-5)"""
    if not is_establishment_member(identity):
        return False
    assert identity.structure_id is not None  # noqa: S101 - checked by is_establishment_member
    stay = open_stay(session, patient, identity.structure_id)
    return stay is not None and not stay.care_team_opposed


# --- the establishment's side: admissions (dmp-sandbox establishment ...) -----------------


class StayError(Exception):
    """A French message; the command exits with 1."""


def _patient(store: Store, session: Session, ins_value: str, ins_root: str) -> Patient:
    patient = store.find_patient(session, ins_value, ins_root)
    if patient is None or patient.purged_at is not None:
        raise StayError("Patient inconnu de l'hôte de formation : vérifiez l'INS.")
    return patient


def admit(
    store: Store,
    ins_value: str,
    ins_root: str,
    structure_id: str = TRAINING_ESTABLISHMENT_ID,
    structure_name: str = TRAINING_ESTABLISHMENT_NAME,
    *,
    opposed: bool = False,
) -> str:
    """Open (or reopen) the patient's stay in the establishment."""
    with store.session() as session:
        patient = _patient(store, session, ins_value, ins_root)
        stay = session.scalars(
            select(EstablishmentStay).where(
                EstablishmentStay.patient_id == patient.id,
                EstablishmentStay.structure_id == structure_id,
            )
        ).one_or_none()
        if stay is None:
            stay = EstablishmentStay(patient_id=patient.id, structure_id=structure_id)
            session.add(stay)
        stay.structure_name = structure_name[:255]
        stay.admitted_at = utcnow()
        stay.discharged_at = None
        stay.care_team_opposed = opposed
        who = f"{patient.given_name} {patient.family_name.upper()}"
        if opposed:
            return (
                f"{who} est admis(e) à {structure_name} ; il (elle) s'oppose à l'accès de "
                "l'équipe de soins : chaque professionnel devra avoir sa propre autorisation."
            )
        if patient.state is not DmpState.ACTIVE:
            return f"{who} est admis(e) à {structure_name} (pas de DMP actif)."
        return (
            f"{who} est admis(e) à {structure_name} : l'équipe de soins peut consulter "
            "et alimenter son DMP sans autorisation individuelle."
        )


def discharge(store: Store, ins_value: str, ins_root: str, structure_id: str) -> str:
    with store.session() as session:
        patient = _patient(store, session, ins_value, ins_root)
        stay = open_stay(session, patient, structure_id)
        if stay is None:
            return "Ce patient n'a pas de séjour en cours dans cet établissement : rien n'a changé."
        stay.discharged_at = utcnow()
        return (
            "Sortie enregistrée : l'équipe de soins n'a plus d'accès présumé à ce DMP "
            "(chaque professionnel doit avoir sa propre autorisation)."
        )


def set_opposition(
    store: Store, ins_value: str, ins_root: str, structure_id: str, opposed: bool
) -> str:
    with store.session() as session:
        patient = _patient(store, session, ins_value, ins_root)
        stay = open_stay(session, patient, structure_id)
        if stay is None:
            raise StayError(
                "Ce patient n'a pas de séjour en cours dans cet établissement : "
                "admettez-le d'abord (dmp-sandbox establishment admit)."
            )
        stay.care_team_opposed = opposed
    if opposed:
        return "Opposition enregistrée : l'équipe de soins n'a plus d'accès présumé à ce DMP."
    return "Opposition levée : l'équipe de soins a de nouveau accès à ce DMP."


def stays(store: Store, structure_id: str) -> list[str]:
    """The establishment's open stays, one line each (test identities only)."""
    with store.session() as session:
        rows = session.execute(
            select(EstablishmentStay, Patient)
            .join(Patient, Patient.id == EstablishmentStay.patient_id)
            .where(
                EstablishmentStay.structure_id == structure_id,
                EstablishmentStay.discharged_at.is_(None),
            )
            .order_by(EstablishmentStay.admitted_at, EstablishmentStay.id)
        ).all()
        return [
            f"{patient.ins_value}  {patient.given_name} {patient.family_name.upper()}"
            + ("  (opposition à l'équipe de soins)" if stay.care_team_opposed else "")
            for stay, patient in rows
        ]


# --- command line ----------------------------------------------------------------------------

StoreOpener = Callable[[argparse.Namespace], "Store"]


def _ins(text: str) -> tuple[str, str]:
    from dmp_desktop.domain.patient import Ins, InsError, InsKind, normalize_ins_text

    try:
        ins = Ins(normalize_ins_text(text), InsKind.TEST_NIR)
    except InsError as exc:
        raise StayError(f"INS invalide : {exc}") from None
    return ins.value, ins.oid


def _run(
    open_store: StoreOpener, action: Callable[[Store, argparse.Namespace], str | list[str]]
) -> Callable[[argparse.Namespace], int]:
    def command(args: argparse.Namespace) -> int:
        try:
            with open_store(args) as store:
                result = action(store, args)
        except StayError as exc:
            print(str(exc), file=sys.stderr, flush=True)
            return EXIT_FAILURE
        for line in [result] if isinstance(result, str) else result:
            print(line, flush=True)
        return EXIT_OK

    return command


def _name(args: argparse.Namespace) -> str:
    if args.name:
        return str(args.name)
    return (
        TRAINING_ESTABLISHMENT_NAME
        if args.structure == TRAINING_ESTABLISHMENT_ID
        else str(args.structure)
    )


def register(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    add_location: Callable[[argparse.ArgumentParser], None],
    open_store: StoreOpener,
) -> None:
    """Add ``establishment admit|discharge|oppose|stays`` to the ``dmp-sandbox`` parser."""
    parser = commands.add_parser(
        "establishment",
        help="établissement de santé : admissions (accès présumé de l'équipe de soins)",
    )
    actions = parser.add_subparsers(dest="establishment_command", metavar="ACTION", required=True)

    def action(
        name: str,
        help_text: str,
        run: Callable[[Store, argparse.Namespace], str | list[str]],
        *,
        patient: bool = True,
    ) -> argparse.ArgumentParser:
        sub = actions.add_parser(name, help=help_text)
        if patient:
            sub.add_argument("--ins", required=True, metavar="INS", help="INS du patient")
        sub.add_argument(
            "--structure",
            default=TRAINING_ESTABLISHMENT_ID,
            metavar="ID",
            help=f"identifiant de l'établissement (défaut : {TRAINING_ESTABLISHMENT_ID})",
        )
        add_location(sub)
        sub.set_defaults(func=_run(open_store, run))
        return sub

    admitting = action(
        "admit",
        "admettre un patient (son équipe de soins est présumée autorisée)",
        lambda s, a: admit(s, *_ins(a.ins), a.structure, _name(a), opposed=a.opposition),
    )
    admitting.add_argument(
        "--name", default=None, metavar="NOM", help="nom de l'établissement (affiché)"
    )
    admitting.add_argument(
        "--opposition",
        action="store_true",
        help="le patient s'oppose à l'accès de l'équipe de soins",
    )
    action(
        "discharge",
        "enregistrer la sortie du patient",
        lambda s, a: discharge(s, *_ins(a.ins), a.structure),
    )
    opposing = action(
        "oppose",
        "le patient s'oppose (yes) ou non (no) à l'accès de l'équipe de soins",
        lambda s, a: set_opposition(s, *_ins(a.ins), a.structure, a.value == "yes"),
    )
    opposing.add_argument("value", choices=("yes", "no"), help="yes : opposition ; no : levée")
    action(
        "stays",
        "lister les patients en séjour dans l'établissement",
        lambda s, a: stays(s, a.structure) or ["Aucun patient en séjour."],
        patient=False,
    )


# --- demo data -------------------------------------------------------------------------------

# Demo patients in a stay at the training establishment (by demo key): Nathalie
# Girard blocked Dr Durand, so inside the establishment Dr Martin is presumed
# authorised and Dr Durand stays refused.
DEMO_STAYS = ("bloque",)


def reset_demo_stay(session: Session, patient: Patient, key: str) -> None:
    """Seeding: the demo patient's stays as the demo says (idempotent)."""
    for stay in session.scalars(
        select(EstablishmentStay).where(EstablishmentStay.patient_id == patient.id)
    ):
        session.delete(stay)
    session.flush()
    if key in DEMO_STAYS:
        session.add(
            EstablishmentStay(
                patient_id=patient.id,
                structure_id=TRAINING_ESTABLISHMENT_ID,
                structure_name=TRAINING_ESTABLISHMENT_NAME,
            )
        )


def acting_for(session: Session, structure_id: str) -> str:
    """For the access history: ", au sein de <establishment>," (structure mode)."""
    name = session.scalars(
        select(EstablishmentStay.structure_name)
        .where(EstablishmentStay.structure_id == structure_id)
        .limit(1)
    ).first()
    return f", au sein de {name or f'la structure {structure_id}'},"
