"""``dmp-sandbox patient …``: the patient's own space on the training host.

What a patient does on the DMP's web site, done on the host's store:

- ``block --ins --ps`` / ``unblock``: forbid (``INTERDIT``) a professional, or
  lift the ban. The médecin traitant DMP cannot be blocked;
- ``mask-document`` / ``unmask-document --ins --id``: mask a document from
  professionals (``MASQUE_PS``; still shown to its authors and to the
  médecin traitant), or show it again;
- ``emergency --ins --bris-de-glace yes|no --centre-15 yes|no``: allow or
  oppose the emergency accesses;
- ``history --ins``: the access history, from the trace table, in French;
- ``close --ins --reason``: close the DMP at the patient's request.

Each change is traced (transaction ``PATIENT``, no professional) so that the
history shows it too. Nothing here prints a document's content.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from sqlalchemy import select

from dmp_desktop.domain.document import Confidentiality
from dmp_desktop.domain.patient import Ins, InsError, InsKind, normalize_ins_text
from dmp_sandbox import care_team
from dmp_sandbox.insurer import INSURER_AUTHOR_ID
from dmp_sandbox.store import (
    AuthorizationStatus,
    DmpState,
    Patient,
    Professional,
    Trace,
    utcnow,
)

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from dmp_sandbox.store import Store

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2
PATIENT_TRANSACTION = "PATIENT"
OID_CONFIDENTIALITY_DMP = "1.2.250.1.213.1.1.4.13"
CLOSURE_PATIENT_REQUEST = "FERMETURE_DEMANDE_PATIENT"
_PARIS = ZoneInfo("Europe/Paris")

# What each transaction means to the patient (history).
TRANSACTION_LABELS = {
    "TD0.2": "a vérifié l'existence de votre DMP",
    "TD0.3": "a modifié son autorisation d'accès",
    "TD1.1": "a créé votre DMP",
    "TD1.2": "a réactivé votre DMP",
    "TD1.4": "a fermé votre DMP",
    "TD1.6": "a consulté la liste des professionnels autorisés",
    "TD2.1": "a ajouté un document",
    "TD3.1": "a consulté la liste de vos documents",
    "TD3.2": "a consulté un document",
    "TD3.3": "a modifié un document",
    "TD3.3a": "a masqué ou démasqué un document",
    "TD3.3b": "a modifié la visibilité d'un document",
    "TD3.3c": "a supprimé un document",
    "TD3.3d": "a archivé un document",
    "MT-BLOCK": "a bloqué un professionnel à votre demande (médecin traitant)",
    "MT-UNBLOCK": "a débloqué un professionnel à votre demande (médecin traitant)",
}
PATIENT_ACTIONS = {
    "block": "Vous avez bloqué un professionnel",
    "unblock": "Vous avez débloqué un professionnel",
    "mask": "Vous avez masqué un document aux professionnels",
    "unmask": "Vous avez rendu un document visible aux professionnels",
    "emergency": "Vous avez modifié vos choix d'accès en urgence",
    "close": "Vous avez fermé votre DMP",
    # dmp_actors.patient_space
    "add-document": "Vous avez ajouté un document",
    "emergency-contact": "Vous avez ajouté une personne à prévenir",
    "allergy": "Vous avez déclaré une allergie ou une intolérance",
    "directives": "Vous avez enregistré vos directives anticipées",
    "copy": "Vous avez demandé une copie de votre DMP",
    "copy/representant": "Votre représentant légal a demandé une copie de votre DMP",
}
MODES = {"bris_de_glace": " (accès en urgence, bris de glace)", "centre_15": " (centre 15)"}

StoreOpener = Callable[[argparse.Namespace], "Store"]
ActionFactory = Callable[
    [str, str, Callable[["Store", argparse.Namespace], int]], argparse.ArgumentParser
]
# More ``dmp-sandbox patient`` actions, registered by the training world's actors
# (:mod:`dmp_actors`: what the patient adds in their space); the judge imports none.
PATIENT_ACTION_PLUGINS: list[Callable[[ActionFactory], None]] = []


class PatientError(Exception):
    """A French message for the patient; the command exits with 1."""


def _out(text: str = "") -> None:
    print(text, flush=True)


def _err(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def parse_ins(text: str) -> Ins:
    value = normalize_ins_text(text)
    try:
        return Ins(value, InsKind.TEST_NIR)  # the training host's INS are test INS
    except InsError as exc:
        raise PatientError(f"INS invalide : {exc}") from None


def _patient(store: Store, session: Session, ins: Ins) -> Patient:
    patient = store.find_patient(session, ins.value, ins.oid)
    if patient is None or patient.state is DmpState.NONE or patient.purged_at is not None:
        raise PatientError("Ce patient n'a pas de DMP : vérifiez l'INS.")
    return patient


def _active(store: Store, session: Session, ins: Ins) -> Patient:
    patient = _patient(store, session, ins)
    if patient.state is DmpState.CLOSED:
        raise PatientError(
            "Ce DMP est fermé : demandez sa réactivation à un professionnel de santé."
        )
    return patient


def patient_trace(
    session: Session,
    ins: Ins,
    action: str,
    detail: str | None = None,
    *,
    unique_ids: list[str] | None = None,
) -> None:
    """A trace row for what the patient did in their own space (listed by ``history``)."""
    session.add(
        Trace(
            at=utcnow(),
            patient_ins=ins.value,
            patient_ins_root=ins.oid,
            service="patient",
            transaction=PATIENT_TRANSACTION,
            action=action,
            outcome="OK",
            result=detail[:64] if detail else None,
            http_status=0,
            document_count=len(unique_ids) if unique_ids is not None else None,
            document_unique_id=" ".join(unique_ids)[:255] if unique_ids else None,
        )
    )


def _professional_name(session: Session, national_id: str) -> str:
    if national_id == INSURER_AUTHOR_ID:
        return "L'Assurance Maladie"
    pro = session.scalars(
        select(Professional).where(Professional.national_id == national_id)
    ).one_or_none()
    if pro is None or not pro.family_name:
        return f"professionnel {national_id}"
    title = "Dr " if pro.profession_code == "10" else ""
    return f"{title}{pro.given_name.title()} {pro.family_name.upper()} ({national_id})"


# --- commands ------------------------------------------------------------------------------


def block(store: Store, ins: Ins, national_id: str) -> str:
    with store.session() as session:
        patient = _active(store, session, ins)
        auth = store.find_authorization(session, patient, national_id)
        name = _professional_name(session, national_id)
        if auth is not None and auth.treating_physician:
            if auth.effective_status() is AuthorizationStatus.VALIDE:
                raise PatientError(
                    f"{name} est votre médecin traitant DMP : il ne peut pas être bloqué. "
                    "Désignez d'abord un autre médecin traitant, puis recommencez."
                )
        if auth is not None and auth.status == AuthorizationStatus.INTERDIT.value:
            return f"{name} est déjà bloqué : rien n'a changé."
        store.set_authorization(session, patient, national_id, AuthorizationStatus.INTERDIT)
        patient_trace(session, ins, "block", national_id)
        return f"{name} est bloqué : il ne peut plus accéder à votre DMP, même en urgence."


def unblock(store: Store, ins: Ins, national_id: str) -> str:
    with store.session() as session:
        patient = _active(store, session, ins)
        auth = store.find_authorization(session, patient, national_id)
        name = _professional_name(session, national_id)
        if auth is None or auth.status != AuthorizationStatus.INTERDIT.value:
            return f"{name} n'est pas bloqué : rien n'a changé."
        session.delete(auth)
        patient_trace(session, ins, "unblock", national_id)
        return f"{name} est débloqué : il pourra accéder à votre DMP quand vous l'y autoriserez."


def set_masked(store: Store, ins: Ins, unique_id: str, masked: bool) -> str:
    code = Confidentiality.MASKED_PS.value
    with store.session() as session:
        patient = _active(store, session, ins)
        document = store.find_document(session, patient, unique_id)
        if document is None or document.status == "urn:asip:ci-sis:2010:StatusType:Deleted":
            raise PatientError(
                "Document introuvable dans ce DMP : vérifiez son identifiant (--id)."
            )
        codes = list(document.confidentiality or [])
        present = any(c.get("code") == code for c in codes)
        if present == masked:
            return (
                "Ce document est déjà masqué aux professionnels : rien n'a changé."
                if masked
                else "Ce document n'est pas masqué : rien n'a changé."
            )
        if masked:
            codes.append(
                {
                    "code": code,
                    "scheme": OID_CONFIDENTIALITY_DMP,
                    "display": "Masqué aux professionnels de santé",
                }
            )
        else:
            codes = [c for c in codes if c.get("code") != code]
        document.confidentiality = codes
        document.status_changed_at = utcnow()
        patient_trace(session, ins, "mask" if masked else "unmask", unique_id)
        return (
            "Document masqué : seuls ses auteurs et votre médecin traitant DMP le voient."
            if masked
            else "Document de nouveau visible par les professionnels autorisés."
        )


def set_emergency(store: Store, ins: Ins, bris_de_glace: bool, centre_15: bool) -> str:
    with store.session() as session:
        patient = _active(store, session, ins)
        patient.opposition_bris_de_glace = not bris_de_glace
        patient.opposition_centre_15 = not centre_15
        patient_trace(
            session,
            ins,
            "emergency",
            f"bdg={'oui' if bris_de_glace else 'non'} c15={'oui' if centre_15 else 'non'}",
        )

    def word(allowed: bool) -> str:
        return "autorisé" if allowed else "refusé"

    return (
        f"Accès en urgence (bris de glace) : {word(bris_de_glace)} ; "
        f"accès par le centre 15 : {word(centre_15)}."
    )


def close(store: Store, ins: Ins, reason: str) -> str:
    with store.session() as session:
        patient = _patient(store, session, ins)
        if patient.state is DmpState.CLOSED:
            raise PatientError("Votre DMP est déjà fermé.")
        now = utcnow()
        patient.dmp_state = DmpState.CLOSED.value
        patient.closure_date = now.astimezone(_PARIS).date()
        patient.closure_reason = CLOSURE_PATIENT_REQUEST
        patient.closure_text = (reason.strip() or "Fermeture à la demande du patient")[:255]
        store.notify_patient(
            session,
            patient,
            "DMP_FERME",
            f"Votre DMP a été fermé à votre demande le {now.astimezone(_PARIS):%d/%m/%Y}. "
            "Ses données sont conservées 10 ans ; un professionnel peut le réactiver.",
        )
        patient_trace(session, ins, "close")
    return "Votre DMP est fermé. Ses données sont conservées 10 ans puis détruites."


def history(store: Store, ins: Ins) -> list[str]:
    """The patient's access history, oldest first, one French line each."""
    with store.session() as session:
        _patient(store, session, ins)
        traces = session.scalars(
            select(Trace)
            .where(Trace.patient_ins == ins.value)
            .where((Trace.patient_ins_root == ins.oid) | (Trace.patient_ins_root.is_(None)))
            .order_by(Trace.at, Trace.id)
        ).all()
        lines = []
        for trace in traces:
            when = f"{trace.at.astimezone(_PARIS):%d/%m/%Y %H:%M}"
            if trace.transaction == PATIENT_TRANSACTION:
                what = PATIENT_ACTIONS.get(trace.action or "", "Vous avez modifié votre DMP")
                lines.append(f"{when}  {what}.")
                continue
            who = (
                _professional_name(session, trace.professional_national_id)
                if trace.professional_national_id
                else "un professionnel non identifié"
            )
            if trace.structure_id and trace.professional_national_id != INSURER_AUTHOR_ID:
                # structure mode: who, and for which structure
                who += care_team.acting_for(session, trace.structure_id)
            what = TRANSACTION_LABELS.get(trace.transaction or "", "a accédé à votre DMP")
            mode = MODES.get(trace.purpose or "", "")
            refused = "" if trace.outcome == "OK" else " — refusé"
            lines.append(f"{when}  {who} {what}{mode}{refused}.")
        return lines


# --- command line --------------------------------------------------------------------------


def _yes_no(text: str) -> bool:
    value = text.strip().lower()
    if value in ("yes", "oui", "o", "y"):
        return True
    if value in ("no", "non", "n"):
        return False
    raise argparse.ArgumentTypeError("répondez yes (oui) ou no (non)")


def _run(
    open_store: StoreOpener, action: Callable[[Store, argparse.Namespace], int]
) -> Callable[[argparse.Namespace], int]:
    def command(args: argparse.Namespace) -> int:
        try:
            with open_store(args) as store:
                return action(store, args)
        except PatientError as exc:
            _err(str(exc))
            return EXIT_FAILURE

    return command


def _print(message: str) -> int:
    _out(message)
    return EXIT_OK


def _masking(masked: bool) -> Callable[[Store, argparse.Namespace], int]:
    def run(store: Store, args: argparse.Namespace) -> int:
        return _print(set_masked(store, parse_ins(args.ins), args.id, masked))

    return run


def _cmd_history(store: Store, args: argparse.Namespace) -> int:
    lines = history(store, parse_ins(args.ins))
    if not lines:
        _out("Aucun accès à votre DMP n'est enregistré.")
        return EXIT_OK
    _out(f"Historique des accès à votre DMP ({len(lines)}) :")
    for line in lines:
        _out(line)
    return EXIT_OK


def register(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    add_location: Callable[[argparse.ArgumentParser], None],
    open_store: StoreOpener,
) -> None:
    """Add ``patient`` and its actions to the ``dmp-sandbox`` parser."""
    patient = commands.add_parser(
        "patient", help="espace du patient : blocages, masquage, accès d'urgence, historique"
    )
    actions = patient.add_subparsers(dest="patient_command", metavar="ACTION", required=True)

    def action(
        name: str, help_text: str, run: Callable[[Store, argparse.Namespace], int]
    ) -> argparse.ArgumentParser:
        parser = actions.add_parser(name, help=help_text)
        parser.add_argument("--ins", required=True, metavar="INS", help="INS du patient")
        add_location(parser)
        parser.set_defaults(func=_run(open_store, run))
        return parser

    for name, help_text, run in (
        (
            "block",
            "bloquer un professionnel (sauf le médecin traitant DMP)",
            lambda s, a: _print(block(s, parse_ins(a.ins), a.ps)),
        ),
        (
            "unblock",
            "débloquer un professionnel",
            lambda s, a: _print(unblock(s, parse_ins(a.ins), a.ps)),
        ),
    ):
        parser = action(name, help_text, run)
        parser.add_argument(
            "--ps", required=True, metavar="RPPS", help="identifiant national du professionnel"
        )
    for name, help_text, masked in (
        ("mask-document", "masquer un document aux professionnels", True),
        ("unmask-document", "rendre un document visible aux professionnels", False),
    ):
        parser = action(
            name,
            help_text,
            _masking(masked),
        )
        parser.add_argument(
            "--id", required=True, metavar="ID", help="identifiant unique du document"
        )
    emergency = action(
        "emergency",
        "autoriser ou refuser les accès en urgence",
        lambda s, a: _print(set_emergency(s, parse_ins(a.ins), a.bris_de_glace, a.centre_15)),
    )
    emergency.add_argument(
        "--bris-de-glace", required=True, type=_yes_no, metavar="yes|no", help="bris de glace"
    )
    emergency.add_argument(
        "--centre-15", required=True, type=_yes_no, metavar="yes|no", help="centre 15 (SAMU)"
    )
    action("history", "historique des accès au DMP", _cmd_history)
    closing = action(
        "close",
        "fermer le DMP à la demande du patient",
        lambda s, a: _print(close(s, parse_ins(a.ins), a.reason)),
    )
    closing.add_argument("--reason", required=True, metavar="TEXTE", help="motif de la fermeture")
    for add_actions in PATIENT_ACTION_PLUGINS:
        add_actions(action)
