"""``dmp authorize``, ``dmp list``, ``dmp get``: the patient's documents from the command line.

Same card and PIN options and exit codes as ``dmp status`` (0 success, 1
refused by the DMP or unreadable answer, 2 usage — including a consent that
was not confirmed —, 3 card, 4 network / TLS).

* ``authorize`` records my access authorisation (TD0.3) only after an explicit
  confirmation that the patient consented: an interactive question, or
  ``--yes`` when the professional already asked. Never automatic.
* ``list`` searches the DMP (TD3.1): by default active documents of the last
  2 years; ``--since`` / ``--all-dates`` widen it, ``--archived`` /
  ``--deprecated`` / ``--masked`` add what the user asks for.
* ``get`` retrieves one document (TD3.2) by its unique id into a file, and with
  ``--extract`` also writes the PDF (or text) a CDA level 1 carries.

``--emergency bris_de_glace|centre_15 --reason TEXT`` on ``list`` and ``get``
is the emergency access; the reason goes to the DMP with the request.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

from dmp_desktop.cda.errors import CdaError
from dmp_desktop.cda.level1 import extract_level1
from dmp_desktop.cli.common import (
    EXIT_DMP,
    EXIT_OK,
    EXIT_USAGE,
    CardOptions,
    CliUsageError,
    Connection,
    Io,
    OpenDmp,
    confirm,
    ins_option,
    iso_date,
    parse_ins,
    with_card,
)
from dmp_desktop.dates import fr_date, paris_today
from dmp_desktop.domain.document import Code, DocumentEntry, DocumentStatus
from dmp_desktop.domain.origin import DocumentOrigin, origin_of, type_label
from dmp_desktop.domain.patient import Ins
from dmp_desktop.settings import Settings
from dmp_desktop.usecases import access as access_rules
from dmp_desktop.usecases.consultation import (
    HeldDates,
    ListScope,
    Period,
    find_document,
    list_documents,
    older_documents,
    older_documents_fr,
    open_document,
    type_filter,
)

COMMANDS = ("authorize", "list", "get")
EMERGENCY_CHOICES = access_rules.EMERGENCY_PURPOSES
EMERGENCY_LABELS = {
    access_rules.PURPOSE_BREAK_GLASS: "ACCÈS EN MODE BRIS DE GLACE",
    access_rules.PURPOSE_CENTRE_15: "ACCÈS EN MODE CENTRE 15 (RÉGULATION)",
}


# --- parsers --------------------------------------------------------------------------------------


def _emergency_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--emergency",
        choices=EMERGENCY_CHOICES,
        help="accès d'urgence : bris_de_glace, ou centre_15 (régulation du SAMU)",
    )
    p.add_argument(
        "--reason",
        help=(
            "motif de l'accès d'urgence (obligatoire avec --emergency, "
            f"{access_rules.MIN_REASON_LENGTH} caractères au moins)"
        ),
    )


def add_parsers(sub: Any, card_options: CardOptions) -> None:
    """Register ``authorize``, ``list`` and ``get`` on the ``dmp`` subparsers."""
    authorize = sub.add_parser(
        "authorize",
        help="enregistrer (ou retirer) votre autorisation d'accès au DMP du patient (TD0.3)",
        description=(
            "Enregistre votre autorisation d'accès au DMP du patient, après avoir confirmé "
            "que le patient y consent. Avec --treating-physician, vous déclare médecin "
            "traitant DMP."
        ),
    )
    ins_option(authorize)
    authorize.add_argument(
        "--treating-physician",
        action="store_true",
        help="vous déclarer (ou, avec --revoke, ne plus être) médecin traitant DMP",
    )
    authorize.add_argument(
        "--revoke", action="store_true", help="retirer l'autorisation (ou la déclaration)"
    )
    authorize.add_argument(
        "--yes",
        action="store_true",
        help="le patient a donné son accord : ne pas poser la question de confirmation",
    )
    card_options(authorize)

    listing = sub.add_parser(
        "list",
        help="lister les documents du DMP du patient (TD3.1)",
        description=(
            "Liste les documents du DMP du patient : par défaut les documents actifs des "
            "2 dernières années."
        ),
    )
    ins_option(listing)
    period = listing.add_mutually_exclusive_group()
    period.add_argument(
        "--since", type=iso_date, metavar="AAAA-MM-JJ", help="documents depuis cette date"
    )
    period.add_argument("--all-dates", action="store_true", help="sans limite de date")
    listing.add_argument("--archived", action="store_true", help="inclure les documents archivés")
    listing.add_argument(
        "--deprecated", action="store_true", help="inclure les documents remplacés (obsolètes)"
    )
    listing.add_argument(
        "--masked",
        action="store_true",
        help="inclure les documents masqués aux professionnels (médecin traitant)",
    )
    listing.add_argument(
        "--type",
        action="append",
        default=[],
        metavar="CODE",
        help="type de document (code LOINC ou CI-SIS, ex. 11488-4) ; répétable",
    )
    listing.add_argument("--json", action="store_true", help="sortie JSON pour les scripts")
    _emergency_options(listing)
    card_options(listing)

    get = sub.add_parser(
        "get",
        help="récupérer un document du DMP dans un fichier (TD3.2)",
        description="Récupère un document du DMP du patient par son identifiant unique.",
    )
    ins_option(get)
    get.add_argument("--id", required=True, dest="unique_id", help="identifiant unique du document")
    get.add_argument(
        "-o", "--output", required=True, type=Path, help="fichier où écrire le document"
    )
    get.add_argument(
        "--extract",
        type=Path,
        metavar="FICHIER",
        help="pour un CDA de niveau 1 : écrire aussi le PDF (ou le texte) qu'il contient",
    )
    _emergency_options(get)
    card_options(get)


# --- helpers --------------------------------------------------------------------------------------


def _access(args: argparse.Namespace) -> access_rules.AccessMode:
    """The access mode asked for: the one rule of the emergency reason (usecases.access),
    checked before the card is used."""
    return access_rules.access_mode(args.emergency, args.reason)


def _opened(
    conn: Connection, ins: Ins, access: access_rules.AccessMode, io: Io
) -> access_rules.AccessMode:
    """An emergency access is opened only where the rule allows it (TD0.2 first), then
    announced."""
    if not access.emergency:
        return access
    opened = access_rules.open_emergency_access(
        conn.client, ins, conn.session.practitioner, access.purpose, access.reason
    )
    _banner(opened, io)
    return opened


def _when(entry: DocumentEntry) -> str:
    moment = entry.service_start or entry.creation_time
    return fr_date(moment) if moment else "—"


def _flags(entry: DocumentEntry) -> list[str]:
    flags: list[str] = []
    if entry.status is not DocumentStatus.APPROVED:
        flags.append(entry.status.label_fr)
    origin = origin_of(entry)
    if origin is DocumentOrigin.PATIENT:
        flags.append("ajouté par le patient")
    elif origin is DocumentOrigin.INSURER:
        flags.append("Assurance Maladie, sans montant")
    if entry.masked_from_professionals:
        flags.append("masqué aux professionnels")
    if entry.invisible_to_patient:
        flags.append("invisible pour le patient")
    if entry.invisible_to_legal_reps:
        flags.append("invisible pour les représentants légaux")
    return flags


def _code_json(code: Code | None) -> dict[str, str] | None:
    if code is None:
        return None
    return {"code": code.code, "display": code.display, "scheme": code.scheme}


def _iso(moment: Any) -> str | None:
    return moment.isoformat() if moment is not None else None


def entry_json(entry: DocumentEntry) -> dict[str, Any]:
    """A document's metadata for ``dmp list --json``."""
    return {
        "unique_id": entry.unique_id,
        "entry_uuid": entry.entry_uuid,
        "repository_id": entry.repository_id,
        "title": entry.title,
        "status": entry.status.name.lower(),
        "type": _code_json(entry.type_code),
        "class": _code_json(entry.class_code),
        "format": _code_json(entry.format_code),
        "mime_type": entry.mime_type,
        "creation_time": _iso(entry.creation_time),
        "service_start": _iso(entry.service_start),
        "service_stop": _iso(entry.service_stop),
        "authors": [
            {
                "national_id": a.national_id,
                "name": a.display_name,
                "specialty": _code_json(a.specialty),
                "institution": a.institution,
            }
            for a in entry.authors
        ],
        "confidentiality": [c.code for c in entry.confidentiality],
        "masked": entry.masked_from_professionals,
        "invisible_to_patient": entry.invisible_to_patient,
        "invisible_to_legal_representatives": entry.invisible_to_legal_reps,
        "patient_authored": entry.patient_authored,
        "size": entry.size,
        "hash": entry.hash_sha1,
        "comments": entry.comments,
    }


def _entry_line(entry: DocumentEntry) -> str:
    author = entry.main_author
    who = author.display_name if author else ""
    if author and author.specialty and author.specialty.display:
        who = f"{who} ({author.specialty.display})" if who else author.specialty.display
    kind = type_label(entry) or "?"
    flags = _flags(entry)
    parts = [_when(entry), kind, entry.title or "(sans titre)", who or "auteur inconnu"]
    line = " | ".join(parts)
    if flags:
        line += " [" + ", ".join(flags) + "]"
    return f"{line}\n    id : {entry.unique_id}"


def _banner(access: access_rules.AccessMode, io: Io) -> None:
    if access.emergency:
        io.err.write(f"{EMERGENCY_LABELS[access.purpose]} — motif : {access.reason}\n")


# --- commands -------------------------------------------------------------------------------------


def cmd_authorize(
    args: argparse.Namespace, settings: Settings, io: Io, open_dmp: OpenDmp | None
) -> int:
    ins = parse_ins(args, settings)
    grant = not args.revoke
    confirmed = bool(args.yes)
    if not confirmed:
        if grant and args.treating_physician:
            question = (
                "Le patient consent-il à ce que vous accédiez à son DMP et vous déclare-t-il "
                "comme son médecin traitant ? Répondez « oui » pour l'enregistrer : "
            )
        elif grant:
            question = (
                "Le patient consent-il à ce que vous accédiez à son DMP ? "
                "Répondez « oui » pour enregistrer votre autorisation : "
            )
        elif args.treating_physician:
            question = "Ne plus être déclaré(e) médecin traitant DMP de ce patient ? (oui/non) : "
        else:
            question = "Retirer votre autorisation d'accès au DMP de ce patient ? (oui/non) : "
        confirmed = confirm(question, io)
        if not confirmed:
            io.err.write("Rien n'a été modifié : la demande n'a pas été confirmée.\n")
            return EXIT_USAGE

    def work(conn: Connection) -> int:
        if grant:
            access_rules.authorise(
                conn.client,
                ins,
                patient_consented=confirmed,
                treating_physician=args.treating_physician,
            )
        else:
            access_rules.revoke(conn.client, ins, treating_physician=args.treating_physician)
        return EXIT_OK

    code = with_card(args, settings, io, open_dmp, work)
    if grant and args.treating_physician:
        io.out.write(
            "Autorisation d'accès enregistrée : vous êtes déclaré(e) médecin traitant DMP.\n"
        )
    elif grant:
        io.out.write("Autorisation d'accès au DMP enregistrée.\n")
    elif args.treating_physician:
        io.out.write("Vous n'êtes plus déclaré(e) médecin traitant DMP de ce patient.\n")
    else:
        io.out.write("Votre autorisation d'accès au DMP de ce patient est retirée.\n")
    return code


def _list_scope(args: argparse.Namespace) -> ListScope:
    return ListScope(
        period=Period.ALL if args.all_dates else ListScope().period,
        archived=args.archived,
        deprecated=args.deprecated,
        masked=args.masked,
        since=args.since,
        types=tuple(type_filter(raw) for raw in args.type),
    )


def cmd_list(args: argparse.Namespace, settings: Settings, io: Io, open_dmp: OpenDmp | None) -> int:
    ins = parse_ins(args, settings)
    access = _access(args)
    scope = _list_scope(args)
    found: list[DocumentEntry] = []

    def work(conn: Connection) -> int:
        found.extend(list_documents(conn.client, ins, scope, _opened(conn, ins, access, io)))
        return EXIT_OK

    code = with_card(args, settings, io, open_dmp, work)
    if args.json:
        io.out.write(
            json.dumps([entry_json(e) for e in found], ensure_ascii=False, indent=2) + "\n"
        )
        return code
    today = paris_today()
    since = scope.start(today)
    period = f"depuis le {fr_date(since)}" if since is not None else "toutes les dates"
    # The period's hint, as the window says it: the command holds nothing older than
    # what it searched (and prints all of it), so older documents were not searched.
    older = older_documents(HeldDates(), scope, scope, today)
    hint = older_documents_fr(older, "--all-dates pour toutes les dates") if older else None
    if not found:
        io.out.write(f"Aucun document ({period}).\n")
    else:
        plural = "s" if len(found) > 1 else ""
        io.out.write(f"{len(found)} document{plural} ({period}) :\n")
        for entry in found:
            io.out.write(_entry_line(entry) + "\n")
    if hint and code == EXIT_OK:
        io.out.write(hint + "\n")
    return code


def _check_writable(path: Path | None) -> None:
    if path is None:
        return
    if path.is_dir():
        raise CliUsageError(f"{path} est un dossier : indiquez un nom de fichier.")
    if not path.parent.is_dir():
        raise CliUsageError(f"Le dossier {path.parent} n'existe pas.")


def _write(path: Path, data: bytes) -> None:
    """Write a document (health data): readable by the owner only (0600), even over a file."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(path, 0o600)
    except OSError as exc:
        raise CliUsageError(
            f"Impossible d'écrire {path} ({exc.strerror or type(exc).__name__}). "
            "Choisissez un autre fichier."
        ) from None


def cmd_get(args: argparse.Namespace, settings: Settings, io: Io, open_dmp: OpenDmp | None) -> int:
    ins = parse_ins(args, settings)
    access = _access(args)
    _check_writable(args.output)
    _check_writable(args.extract)
    if not args.unique_id.strip():
        raise CliUsageError("Indiquez l'identifiant unique du document (--id).")
    result: dict[str, Any] = {}

    def work(conn: Connection) -> int:
        opened = _opened(conn, ins, access, io)
        entry = find_document(conn.client, ins, args.unique_id, opened)
        result["document"] = open_document(conn.client, entry, opened)
        return EXIT_OK

    code = with_card(args, settings, io, open_dmp, work)
    document = result["document"]
    _write(args.output, document.content)
    io.out.write(
        f"Document enregistré dans {args.output} ({len(document.content)} octets, "
        f"{document.mime_type}).\n"
    )
    if args.extract is not None:
        try:
            media_type, payload = extract_level1(document.content)
        except CdaError:
            io.err.write(
                "Ce document n'est pas un CDA de niveau 1 (PDF ou texte encapsulé) : "
                "rien à extraire. Le document lui-même a bien été enregistré.\n"
            )
            return EXIT_DMP
        _write(args.extract, payload)
        io.out.write(f"Contenu ({media_type}) extrait dans {args.extract}.\n")
    return code


def run(args: argparse.Namespace, settings: Settings, io: Io, open_dmp: OpenDmp | None) -> int:
    """Run one of :data:`COMMANDS` (usage errors are reported by ``dmp_desktop.cli.main``)."""
    commands = {"authorize": cmd_authorize, "list": cmd_list, "get": cmd_get}
    return commands[args.command](args, settings, io, open_dmp)


__all__ = ["COMMANDS", "add_parsers", "entry_json", "run"]
