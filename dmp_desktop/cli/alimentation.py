"""``dmp upload``, ``replace``, ``mask``, ``unmask``, ``visibility``, ``archive``, ``delete``,
``outbox``, ``types`` and ``vsm send``: feeding the patient's DMP from the command line.

Same card and PIN options and exit codes as the other commands (0 done, 1
refused by the DMP, 2 usage — including a missing choice —, 3 card, 4
network; an upload whose answer was lost is exit 4 and stays in the outbox).

Visibility is never implied: ``upload``, ``replace`` and ``vsm send`` each
require the three choices, one way or the other —
``--masked`` / ``--not-masked`` (masked from professionals),
``--invisible-patient`` / ``--visible-patient``,
``--invisible-legal-reps`` / ``--visible-legal-reps``. A command missing one
stops before anything is read from the card or sent.

The patient's qualified INS comes with its traits (``--birth-name``,
``--given-names``, ``--birth-date``, ``--sex``, ``--birthplace``): they go in
the document's header; without them nothing is sent.

Every upload goes through the local outbox (encrypted): ``dmp outbox`` lists
what waits, ``--resume`` sends it again (after checking by unique id that the
DMP does not already hold it), ``--discard ID`` removes an item, ``--object
ID`` records that the patient objects to the document being sent.

The parapheur: with a secretary's card (staff), ``dmp upload --on-behalf-of``
checks the document and leaves it in the outbox « à signer par Dr X »; with
Dr X's card, ``dmp outbox`` says how many wait for his signature and ``dmp
outbox --sign`` shows them and signs them all at once (his card's signature
key, the PIN typed once); ``--send`` sends them too, else the secretary's
``dmp outbox --resume`` sends them, signed.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from dmp_desktop.alimentation import (
    OutboxItem,
    UploadRequest,
    UploadUnconfirmedError,
    check_upload,
    search_types,
)
from dmp_desktop.alimentation.doctypes import for_professionals, type_code
from dmp_desktop.cli.common import (
    EXIT_DMP,
    EXIT_NETWORK,
    EXIT_OK,
    EXIT_USAGE,
    CliUsageError,
    Connection,
    Io,
    OpenDmp,
    card_options,
    confirm,
    ins_option,
    iso_date,
    parse_ins,
    with_card,
)
from dmp_desktop.cli.patients import known_identity
from dmp_desktop.dates import fr_date, paris_today
from dmp_desktop.dmp.feed_errors import OnBehalfRefusedError, problem_fr
from dmp_desktop.domain.document import DocumentEntry
from dmp_desktop.domain.patient import Ins
from dmp_desktop.domain.practitioner import Practitioner
from dmp_desktop.domain.summary import Gender, PatientIdentity
from dmp_desktop.errors import DmpServiceError, SettingsError, describe
from dmp_desktop.identity.coherence import IdentityMismatchError
from dmp_desktop.identity.traits import InsIdentity
from dmp_desktop.settings import Settings
from dmp_desktop.usecases import documents as document_rules
from dmp_desktop.usecases.consultation import find_document
from dmp_desktop.usecases.errors import UploadRefusedError
from dmp_desktop.usecases.patients import NoReferenceIdentityError, reference_from_status
from dmp_desktop.usecases.upload import (
    PendingState,
    UploadDesk,
    Visibility,
    check_identity,
    pending_fr,
    require_upload_allowed,
    to_sign_fr,
)
from dmp_desktop.usecases.vsm import prepare_vsm

COMMANDS = (
    "upload",
    "replace",
    "mask",
    "unmask",
    "visibility",
    "archive",
    "delete",
    "outbox",
    "types",
)
SEXES = {"F": Gender.FEMALE, "M": Gender.MALE, "U": Gender.UNKNOWN}


# --- parsers -------------------------------------------------------------------------------------


def visibility_options(p: argparse.ArgumentParser) -> None:
    """The three choices, each required one way or the other."""
    pairs = (
        ("masked", "--masked", "--not-masked", "masqué aux professionnels de santé", "non masqué"),
        (
            "invisible_patient",
            "--invisible-patient",
            "--visible-patient",
            "invisible pour le patient",
            "visible par le patient",
        ),
        (
            "invisible_legal_reps",
            "--invisible-legal-reps",
            "--visible-legal-reps",
            "invisible pour les représentants légaux",
            "visible par les représentants légaux",
        ),
    )
    for dest, on, off, on_help, off_help in pairs:
        group = p.add_mutually_exclusive_group()  # required: checked by require_visibility
        group.add_argument(on, dest=dest, action="store_const", const=True, help=on_help)
        group.add_argument(off, dest=dest, action="store_const", const=False, help=off_help)


VISIBILITY_CHOICES = (
    ("masked", "--masked ou --not-masked (masqué aux professionnels de santé ou non)"),
    (
        "invisible_patient",
        "--invisible-patient ou --visible-patient (visibilité pour le patient)",
    ),
    (
        "invisible_legal_reps",
        "--invisible-legal-reps ou --visible-legal-reps (visibilité pour les représentants légaux)",
    ),
)


def require_visibility(args: argparse.Namespace) -> None:
    """Each of the three choices must have been made, one way or the other."""
    missing = [text for dest, text in VISIBILITY_CHOICES if getattr(args, dest, None) is None]
    if missing:
        raise CliUsageError(
            "Rien n'a été envoyé : la visibilité du document doit être choisie explicitement. "
            "Indiquez :\n" + "\n".join(f"- {text}" for text in missing)
        )
    if args.masked and args.invisible_patient:
        raise CliUsageError(problem_fr("forbidden_visibility"))


def _identity_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--birth-name", required=True, help="nom de naissance (traits de l'INS)")
    p.add_argument(
        "--given-names",
        required=True,
        help="prénoms de naissance, dans l'ordre, séparés par des espaces",
    )
    p.add_argument("--birth-date", required=True, type=iso_date, metavar="AAAA-MM-JJ")
    p.add_argument("--sex", required=True, choices=sorted(SEXES), help="F, M ou U (inconnu)")
    p.add_argument(
        "--birthplace", required=True, help="code INSEE du lieu de naissance (99xxx à l'étranger)"
    )


def _document_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "file", type=Path, metavar="FICHIER", help="PDF, image (JPEG, PNG, TIFF) ou texte"
    )
    ins_option(p)
    p.add_argument(
        "--type",
        required=True,
        dest="type_code",
        metavar="CODE",
        help="type de document (jeu de valeurs J07, ex. 11488-4 ; voir « dmp types »)",
    )
    p.add_argument("--title", help="titre du document (défaut : le libellé du type)")
    p.add_argument(
        "--date",
        dest="service_date",
        type=iso_date,
        metavar="AAAA-MM-JJ",
        help="date de l'acte (défaut : aujourd'hui)",
    )
    p.add_argument("--comment", default="", help="commentaire joint au document")
    p.add_argument(
        "--on-behalf-of",
        dest="on_behalf_of",
        metavar="IDENTIFIANT_NATIONAL",
        help=(
            "carte de secrétariat (obligatoire) : le professionnel du cabinet pour le compte "
            "duquel le document est envoyé (identifiant national, ex. 899700433153)"
        ),
    )
    visibility_options(p)
    _identity_options(p)
    p.add_argument("--json", action="store_true", help="sortie JSON pour les scripts")
    card_options(p)


def _target_options(p: argparse.ArgumentParser) -> None:
    ins_option(p)
    p.add_argument("--id", required=True, dest="unique_id", help="identifiant unique du document")
    card_options(p)


def add_parsers(sub: Any) -> None:
    """Register the alimentation commands on the ``dmp`` subparsers."""
    upload = sub.add_parser(
        "upload",
        help="envoyer un document dans le DMP du patient (TD2.1)",
        description=(
            "Envoie un document (PDF, image convertie en PDF, ou texte) dans le DMP du patient. "
            "Les trois choix de visibilité sont obligatoires, dans un sens ou dans l'autre."
        ),
    )
    _document_options(upload)

    replace_cmd = sub.add_parser(
        "replace",
        help="remplacer un de vos documents par une nouvelle version (TD2.1, RPLC)",
        description="Remplace un de vos documents : l'ancien devient obsolète (remplacé).",
    )
    replace_cmd.add_argument(
        "--id", required=True, dest="unique_id", help="identifiant unique du document à remplacer"
    )
    _document_options(replace_cmd)

    for name, text in (
        ("mask", "masquer un document aux professionnels de santé (TD3.3)"),
        ("unmask", "ne plus masquer un document aux professionnels de santé (TD3.3)"),
        ("archive", "archiver un document (TD3.3d)"),
    ):
        _target_options(sub.add_parser(name, help=text, description=text[0].upper() + text[1:]))

    visibility = sub.add_parser(
        "visibility",
        help="changer la visibilité d'un document (TD3.3)",
        description="Fixe les trois choix de visibilité d'un document, chacun explicitement.",
    )
    _target_options(visibility)
    visibility_options(visibility)

    delete = sub.add_parser(
        "delete",
        help="supprimer un de vos documents du DMP (TD3.3c, auteur seulement)",
        description="Supprime un document dont vous êtes l'auteur, après confirmation.",
    )
    _target_options(delete)
    delete.add_argument("--yes", action="store_true", help="ne pas demander de confirmation")

    outbox = sub.add_parser(
        "outbox",
        help="vos documents en attente d'envoi ou de confirmation (avec votre carte)",
        description=(
            "Liste vos envois en attente (ceux préparés avec votre carte) ; --resume reprend "
            "les envois (sans doublon : le DMP est d'abord interrogé par identifiant unique)."
        ),
    )
    action = outbox.add_mutually_exclusive_group()
    action.add_argument("--resume", action="store_true", help="reprendre les envois en attente")
    action.add_argument(
        "--sign",
        action="store_true",
        help=(
            "carte d'un professionnel : signer d'un coup les envois que le secrétariat a "
            "préparés pour vous (après les avoir affichés)"
        ),
    )
    action.add_argument("--discard", metavar="ID", help="retirer un document de la boîte d'envoi")
    action.add_argument(
        "--object",
        metavar="ID",
        help=(
            "le patient s'oppose à l'envoi de ce document : l'opposition est enregistrée, "
            "ce fichier ne sera jamais envoyé pour ce patient"
        ),
    )
    outbox.add_argument(
        "--send",
        action="store_true",
        help="avec --sign : envoyer aussi les envois signés, avec votre carte",
    )
    outbox.add_argument(
        "--yes", action="store_true", help="avec --sign : ne pas demander de confirmation"
    )
    outbox.add_argument("--json", action="store_true", help="sortie JSON")
    card_options(outbox)

    types = sub.add_parser(
        "types",
        help="chercher un type de document (jeu de valeurs J07)",
        description="Cherche un type de document par son code ou son libellé.",
    )
    types.add_argument("words", nargs="*", metavar="MOT", help="mots du libellé, ou le code")


def add_vsm_send_parser(commands: Any) -> None:
    """``dmp vsm send`` (registered by :mod:`dmp_desktop.cli.vsm`)."""
    send = commands.add_parser(
        "send",
        help="envoie le VSM dans le DMP du patient (remplace votre VSM précédent)",
        description=(
            "Construit le VSM depuis le résumé JSON et l'envoie dans le DMP du patient ; "
            "s'il contient déjà un VSM dont vous êtes l'auteur, le nouveau le remplace."
        ),
    )
    send.add_argument("--from", dest="source", required=True, metavar="RESUME.json")
    ins_option(send)
    visibility_options(send)
    send.add_argument("--json", action="store_true", help="sortie JSON pour les scripts")
    card_options(send)


# --- helpers -------------------------------------------------------------------------------------


def _visibility(args: argparse.Namespace) -> Visibility:
    return Visibility(args.masked, args.invisible_patient, args.invisible_legal_reps)


def _type(args: argparse.Namespace) -> Any:
    wanted = args.type_code.strip()
    try:
        code = type_code(wanted)
    except KeyError:
        close = search_types(wanted, limit=5)
        hint = "".join(f"\n  {c.code}  {c.display}" for c in close)
        raise CliUsageError(
            f"Type de document inconnu : « {wanted} ». "
            + (f"Types proches :{hint}" if close else "Cherchez-le avec « dmp types MOT ».")
        ) from None
    if not for_professionals(code.code):
        raise CliUsageError(problem_fr("type_not_for_professionals"))
    return code


def _identity(args: argparse.Namespace, ins: Ins) -> PatientIdentity:
    return PatientIdentity(
        ins=ins,
        birth_family_name=args.birth_name.strip().upper(),
        birth_given_names=[g.upper() for g in args.given_names.split()],
        birth_date=args.birth_date,
        gender=SEXES[args.sex],
        birthplace_code=args.birthplace.strip().upper() or None,
    )


def _request(args: argparse.Namespace, settings: Settings) -> UploadRequest:
    ins = parse_ins(args, settings)
    code = _type(args)
    path: Path = args.file
    if not path.is_file():
        raise CliUsageError(f"Fichier introuvable : {path}")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CliUsageError(f"Lecture impossible de {path} ({exc.strerror}).") from None
    return UploadRequest(
        patient=ins,
        source=data,
        filename=path.name,
        media_type=None,
        type_code=code,
        service_date=args.service_date or paris_today(),
        title=(args.title or code.display).strip(),
        masked=args.masked,
        invisible_patient=args.invisible_patient,
        invisible_legal_reps=args.invisible_legal_reps,
        identity=_identity(args, ins),
        comments=args.comment,
        on_behalf_of=_on_behalf_of(args, settings),
    )


def _on_behalf_of(args: argparse.Namespace, settings: Settings) -> Practitioner | None:
    wanted = (getattr(args, "on_behalf_of", None) or "").strip()
    if not wanted:
        return None
    try:
        professional = settings.professional(wanted)
    except SettingsError as exc:
        raise CliUsageError(describe(exc)) from None
    if professional is None:
        raise CliUsageError(
            f"Le professionnel {wanted} n'est pas dans la liste des professionnels du cabinet "
            "(paramètres « practice_professionals ») : vérifiez son identifiant national ou "
            "faites-le ajouter."
        )
    return professional


def _precheck(req: UploadRequest, desk: UploadDesk) -> None:
    """What can be said before the card is used: the request's own problems (usage, exit 2)
    and the patient's objection (exit 1)."""
    problems = check_upload(req)
    if problems:
        raise CliUsageError(
            "Le document n'a pas été envoyé :\n" + "\n".join(f"- {problem_fr(p)}" for p in problems)
        )
    desk.check_not_objected(req)


def _send(
    desk: UploadDesk,
    item: OutboxItem,
    conn: Connection,
    io: Io,
    as_json: bool,
    reference: InsIdentity | None = None,
) -> int:
    """Send one outbox item and report; the item stays in the outbox unless confirmed."""
    try:
        entry = desk.send(item, conn.client, conn.session, reference=reference)
    except IdentityMismatchError as exc:
        io.err.write(describe(exc) + "\n" + "".join(f"  {line}\n" for line in exc.details_fr()))
        return EXIT_DMP
    except UploadUnconfirmedError as exc:
        io.err.write(describe(exc) + "\n")
        io.err.write(f"Reprenez avec « dmp outbox --resume » (élément {item.id}).\n")
        return EXIT_NETWORK
    except (DmpServiceError, OnBehalfRefusedError) as exc:
        io.err.write(describe(exc) + "\n")
        io.err.write(
            f"Le document reste dans la boîte d'envoi (élément {item.id}) : "
            "« dmp outbox --resume » pour réessayer, « dmp outbox --discard "
            f"{item.id} » pour y renoncer.\n"
        )
        return EXIT_DMP
    if as_json:
        io.out.write(
            json.dumps(
                {"unique_id": entry.unique_id, "entry_uuid": entry.entry_uuid, "outbox": item.id},
                ensure_ascii=False,
            )
            + "\n"
        )
    else:
        io.out.write(f"Document enregistré dans le DMP (identifiant : {entry.unique_id}).\n")
    return EXIT_OK


def _queue_and_send(
    desk: UploadDesk,
    req: UploadRequest,
    conn: Connection,
    io: Io,
    as_json: bool,
    settings: Settings,
) -> int:
    """The upload use case, step by step: in the outbox first (owned by the card holder), then
    the DMP's answer about the patient (TD0.2) and the rule of who may send, then the upload,
    once what it sends agrees with the patient's INS identity (the qualified identity a
    ``dmp patient search`` kept, else the DMP's answer)."""
    holder = conn.session.practitioner
    item = desk.queue(req, holder)  # a secretary's: « à signer par Dr X » (the parapheur)
    try:
        status = conn.client.test_existence(req.patient)
        require_upload_allowed(status, holder)
        known = known_identity(settings, holder.national_id, req.patient)
        reference = reference_from_status(status, known)
        check_identity(reference, req)
    except IdentityMismatchError as exc:
        desk.discard(item.id, holder)  # never tried: nothing to keep
        io.err.write(describe(exc) + "\n" + "".join(f"  {line}\n" for line in exc.details_fr()))
        return EXIT_DMP
    except (UploadRefusedError, NoReferenceIdentityError):
        desk.discard(item.id, holder)  # never tried: nothing to keep
        raise
    if item.awaiting_signature:
        return _prepared(item, io, as_json)
    return _send(desk, item, conn, io, as_json, reference)


def _prepared(item: OutboxItem, io: Io, as_json: bool) -> int:
    """A secretary's upload, checked, waits for the professional's signature."""
    if as_json:
        io.out.write(
            json.dumps(
                {
                    "outbox": item.id,
                    "state": item.state.value,
                    "signer": item.signer_id,
                    "unique_id": item.unique_id,
                },
                ensure_ascii=False,
            )
            + "\n"
        )
    else:
        io.out.write(
            f"Envoi préparé, {pending_fr(item)} (élément {item.id}) : il partira une fois "
            f"signé avec sa carte (« dmp outbox --sign », sa carte dans le lecteur).\n"
        )
    return EXIT_OK


# --- commands ------------------------------------------------------------------------------------


def cmd_upload(
    args: argparse.Namespace, settings: Settings, io: Io, open_dmp: OpenDmp | None
) -> int:
    req = _request(args, settings)
    desk = UploadDesk(settings)
    _precheck(req, desk)
    return with_card(
        args,
        settings,
        io,
        open_dmp,
        lambda conn: _queue_and_send(desk, req, conn, io, args.json, settings),
    )


def cmd_replace(
    args: argparse.Namespace, settings: Settings, io: Io, open_dmp: OpenDmp | None
) -> int:
    draft = _request(args, settings)
    desk = UploadDesk(settings)
    _precheck(draft, desk)

    def work(conn: Connection) -> int:
        # The replaced document is read from the DMP once the card is open.
        old = find_document(conn.client, draft.patient, args.unique_id)
        return _queue_and_send(desk, replace(draft, replaces=old), conn, io, args.json, settings)

    return with_card(args, settings, io, open_dmp, work)


def cmd_update(
    args: argparse.Namespace, settings: Settings, io: Io, open_dmp: OpenDmp | None
) -> int:
    ins = parse_ins(args, settings)
    command = args.command
    if command == "delete" and not args.yes:
        question = (
            "Supprimer définitivement ce document du DMP du patient ? "
            "Répondez « oui » pour confirmer : "
        )
        if not confirm(question, io):
            io.err.write("Rien n'a été modifié : la suppression n'a pas été confirmée.\n")
            return EXIT_USAGE
    done: dict[str, str] = {}

    def work(conn: Connection) -> int:
        client = conn.client
        entry = find_document(client, ins, args.unique_id)
        if command == "archive":
            document_rules.archive(client, entry)
            done["text"] = "Document archivé."
            return EXIT_OK
        if command == "delete":
            document_rules.delete(client, entry)
            done["text"] = "Document supprimé du DMP."
            return EXIT_OK
        if command in ("mask", "unmask"):
            after = document_rules.set_masked(client, entry, command == "mask")
        else:
            after = document_rules.change_visibility(client, entry, _visibility(args))
        done["text"] = (
            "Rien à modifier : le document avait déjà cette visibilité."
            if after is entry
            else "Visibilité du document mise à jour : "
            + document_rules.visibility_fr(document_rules.visibility_of(after))
            + "."
        )
        return EXIT_OK

    code = with_card(args, settings, io, open_dmp, work)
    io.out.write(done.get("text", "") + "\n")
    return code


def _item_json(item: OutboxItem) -> dict[str, Any]:
    return {
        "id": item.id,
        "state": item.state.value,
        "signer": item.signer_id,
        "signed_at": item.signed_at.isoformat() if item.signed_at else None,
        "title": item.title,
        "type": item.type_code.code,
        "service_date": item.service_date.isoformat(),
        "unique_id": item.unique_id,
        "created_at": item.created_at.isoformat(),
        "attempts": item.attempts,
        "last_error": item.last_error,
        "replaces": item.request.replaces.unique_id if item.request.replaces else None,
    }


def _item_line(item: OutboxItem) -> str:
    line = f"{item.id}  {pending_fr(item)}  {fr_date(item.service_date)}  {item.title}"
    if item.last_error:
        line += f"  (dernier échec : {item.last_error})"
    return line


def cmd_outbox(
    args: argparse.Namespace, settings: Settings, io: Io, open_dmp: OpenDmp | None
) -> int:
    """The card holder's pending uploads: shown, sent, discarded or withdrawn only with the
    card that prepared them (the DMP client is opened only to resume)."""
    desk = UploadDesk(settings)

    def work(conn: Connection) -> int:
        holder = conn.session.practitioner
        if args.object:
            desk.withdraw(args.object, holder)
            io.out.write(
                "Opposition du patient enregistrée : ce document ne sera pas envoyé, ni "
                "maintenant ni plus tard.\n"
            )
            return EXIT_OK
        if args.discard:
            item = desk.discard(args.discard, holder)
            io.out.write("Document retiré de la boîte d'envoi.\n")
            if PendingState.of(item) is PendingState.UNCONFIRMED:
                io.err.write(
                    "Il avait été envoyé sans que le DMP confirme sa réception : vérifiez avec "
                    "« dmp list » s'il est dans le DMP.\n"
                )
            return EXIT_OK
        if args.resume:
            return _resume(desk, conn, io)
        if args.sign:
            return _sign(desk, conn, io, args)
        items = desk.pending(holder)
        to_sign = desk.to_sign(holder)
        if args.json:
            listed = [_item_json(i) for i in items + to_sign]
            io.out.write(json.dumps(listed, ensure_ascii=False, indent=2) + "\n")
            return EXIT_OK
        if to_sign:
            io.out.write(f"{to_sign_fr(len(to_sign))} (« dmp outbox --sign ») :\n")
            for item in to_sign:
                io.out.write(_to_sign_line(item) + "\n")
        if not items and not to_sign:
            io.out.write("Aucun envoi en attente pour votre carte.\n")
        for item in items:
            io.out.write(_item_line(item) + "\n")
        return EXIT_OK

    if (args.send or args.yes) and not args.sign:
        raise CliUsageError("--send et --yes vont avec --sign (dmp outbox --sign --send).")
    need_client = bool(args.resume or (args.sign and args.send))
    return with_card(args, settings, io, open_dmp, work, client=need_client)


def _to_sign_line(item: OutboxItem) -> str:
    """One upload the professional is asked to sign: enough to review it."""
    identity = item.request.identity
    patient = item.patient.value
    if identity is not None:
        names = " ".join(identity.birth_given_names).title()
        patient = f"{identity.birth_family_name.upper()} {names} (INS {item.patient.value})"
    return (
        f"{item.id}  {patient}  {item.type_code.display or item.type_code.code}  "
        f"« {item.title} »  acte du {fr_date(item.service_date)}  "
        f"préparé par {item.prepared_by or 'le secrétariat'}"
    )


def _sign(desk: UploadDesk, conn: Connection, io: Io, args: argparse.Namespace) -> int:
    """The professional reviews and signs, in one go, what the secretariat prepared for him
    (``--send``: and sends it with his card)."""
    holder = conn.session.practitioner
    to_sign = desk.to_sign(holder)
    if not to_sign:
        io.out.write("Aucun envoi préparé par le secrétariat n'attend votre signature.\n")
        return EXIT_OK
    io.out.write(f"{to_sign_fr(len(to_sign))} :\n")
    for item in to_sign:
        io.out.write(_to_sign_line(item) + "\n")
    verb = "Signer et envoyer" if args.send else "Signer"
    if not args.yes and not confirm(
        f"{verb} ces {len(to_sign)} envois avec votre carte ? Répondez « oui » : ", io
    ):
        io.err.write("Rien n'a été signé.\n")
        return EXIT_USAGE
    ids = [i.id for i in to_sign]  # exactly what was shown
    worst = EXIT_OK
    if args.send:
        for item, result in desk.sign_and_send(conn.client, conn.session, ids):
            if isinstance(result, DocumentEntry):
                io.out.write(
                    f"{item.id}  signé, reçu par le DMP (identifiant : {result.unique_id})\n"
                )
                continue
            io.err.write(f"{item.id}  {describe(result)}\n")
            worst = max(
                worst, EXIT_NETWORK if isinstance(result, UploadUnconfirmedError) else EXIT_DMP
            )
        return worst
    for item, signed in desk.sign(conn.session, ids):
        if isinstance(signed, OutboxItem):
            io.out.write(f"{item.id}  {pending_fr(signed)}\n")
            continue
        io.err.write(f"{item.id}  {describe(signed)}\n")
        worst = EXIT_DMP
    io.out.write("Le secrétariat les enverra, signés (« dmp outbox --resume » avec sa carte).\n")
    return worst


def _resume(desk: UploadDesk, conn: Connection, io: Io) -> int:
    # Each item is checked against its patient's identity before it goes (UploadDesk.send).
    results = desk.resume(conn.client, conn.session)
    if not results:
        waiting = [i for i in desk.pending(conn.session.practitioner) if i.awaiting_signature]
        for item in waiting:
            io.out.write(_item_line(item) + "\n")
        io.out.write(
            "Rien à envoyer : vos envois attendent la signature du professionnel.\n"
            if waiting
            else "Aucun envoi en attente pour votre carte : rien à reprendre.\n"
        )
        return EXIT_OK
    worst = EXIT_OK
    for item, result in results:
        if isinstance(result, DocumentEntry):
            io.out.write(f"{item.id}  reçu par le DMP (identifiant : {result.unique_id})\n")
            continue
        io.err.write(f"{item.id}  {describe(result)}\n")
        worst = max(worst, EXIT_NETWORK if isinstance(result, UploadUnconfirmedError) else EXIT_DMP)
    return worst


def cmd_types(args: argparse.Namespace, io: Io) -> int:
    found = search_types(" ".join(args.words))
    if not found:
        io.err.write("Aucun type de document ne correspond : essayez un autre mot.\n")
        return EXIT_USAGE
    for code in found:
        io.out.write(f"{code.code}\t{code.display}\n")
    return EXIT_OK


def cmd_vsm_send(
    args: argparse.Namespace, settings: Settings, io: Io, open_dmp: OpenDmp | None
) -> int:
    from dmp_desktop.domain.summary import SummaryFormatError, summary_from_json

    ins = parse_ins(args, settings)
    try:
        raw = Path(args.source).read_bytes()
    except OSError as exc:
        raise CliUsageError(f"Lecture impossible de {args.source} ({exc.strerror}).") from None
    try:
        summary = summary_from_json(raw)
    except SummaryFormatError as exc:
        raise CliUsageError(
            f"Résumé JSON illisible :\n{exc.french()}\nLe format est décrit dans docs/vsm-json.md."
        ) from None
    if summary.patient.ins.value != ins.value:
        raise CliUsageError(
            "Le résumé concerne un autre patient que l'INS indiqué (--ins) : rien n'a été envoyé."
        )
    desk = UploadDesk(settings)

    def work(conn: Connection) -> int:
        holder = conn.session.practitioner
        req = prepare_vsm(conn.client, holder, settings, ins, summary, _visibility(args))
        code = _queue_and_send(desk, req, conn, io, args.json, settings)
        if code == EXIT_OK and req.replaces is not None and not args.json:
            io.out.write("Il remplace votre VSM précédent, désormais obsolète.\n")
        return code

    return with_card(args, settings, io, open_dmp, work)


def run(args: argparse.Namespace, settings: Settings, io: Io, open_dmp: OpenDmp | None) -> int:
    """Run one alimentation command (usage errors are reported by ``dmp_desktop.cli.main``)."""
    commands: dict[str, Callable[[argparse.Namespace, Settings, Io, OpenDmp | None], int]] = {
        "upload": cmd_upload,
        "replace": cmd_replace,
        "mask": cmd_update,
        "unmask": cmd_update,
        "visibility": cmd_update,
        "archive": cmd_update,
        "delete": cmd_update,
        "outbox": cmd_outbox,
        "vsm": cmd_vsm_send,
    }
    if args.command == "types":
        return cmd_types(args, io)
    if args.command in ("upload", "replace", "visibility", "vsm"):
        require_visibility(args)
    return commands[args.command](args, settings, io, open_dmp)


__all__ = ["COMMANDS", "add_parsers", "add_vsm_send_parser", "run", "visibility_options"]
