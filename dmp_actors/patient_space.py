"""What the patient adds in their own space, and the copy of the record they ask for.

``dmp-sandbox patient …`` actions (registered by :func:`register`):

- ``add-document --file scan.pdf|photo.jpg --title …``: a document of the
  patient's own (images become a PDF), a level-1 CDA authored by the
  patient (see :mod:`dmp_desktop.cda.patient_space`), type ``EXPPAT_2``
  unless ``--type`` gives a ``DOCPAT*`` code;
- ``emergency-contact --name --relationship --phone``: the persons to warn
  (``FICHE-CONTACTS``);
- ``allergy --agent [--reaction] [--intolerance]``: the allergies and
  intolerances the patient declares (``DOCPAT08``, the patient's medical
  profile);
- ``directives --text …|--file directives.pdf``: the advance directives
  (``EXPPAT_3``);
- ``copy --out copie.zip``: every document the patient sees (active or
  archived, not invisible to the patient), the CDA and what it carries (PDF,
  text, or a readable HTML page), with an index.

The contacts, allergies and directives are one document each: adding a
contact or an allergy replaces the current version (the old one becomes
``Deprecated``, the new one keeps the CDA setId with the next version), as a
replacement (RPLC) would. In XDS the documents are the patient's: classCode
``90``, authorPerson the patient's INS (``…&<INS authority>&ISO^D^^^NH``),
authorSpecialty, healthcareFacilityTypeCode and practiceSettingCode
``EXP_PATIENT`` (1.2.250.1.213.1.1.4.6). Professionals find them with TD3.1
like any other document. Each action is traced (transaction ``PATIENT``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import unicodedata
import uuid
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from dmp_desktop.alimentation.convert import (
    IMAGE_TYPES,
    MEDIA_PDF,
    MEDIA_TEXT,
    check_source,
    image_to_pdf,
)
from dmp_desktop.cda import codes, valuesets
from dmp_desktop.cda.errors import CdaError
from dmp_desktop.cda.level1 import extract_level1
from dmp_desktop.cda.patient_space import (
    ALLERGIES_HEADING,
    CONTACTS_HEADING,
    PATIENT_DOCUMENT_TYPES,
    TEXT_TITLES,
    AllergyNote,
    EmergencyContact,
    PatientDocumentHeader,
    build_patient_document,
    directives_text,
    items_text,
    read_items,
)
from dmp_desktop.cda.render import render_html
from dmp_desktop.cda.xmlutil import clean, new_oid
from dmp_desktop.dmp.feed_errors import UploadInvalidError
from dmp_desktop.domain.document import DocumentStatus
from dmp_desktop.domain.origin import (
    OID_NON_PS_ROLE,
    ROLE_EXP_PATIENT,
    ROLE_EXP_PATIENT_LABEL,
    TYPE_CONTACTS,
    TYPE_DIRECTIVES,
    TYPE_MEDICAL_PROFILE,
    TYPE_OTHER_PATIENT_DOCUMENT,
)
from dmp_desktop.domain.patient import Ins
from dmp_sandbox.access import (
    NoOwnAccess,
    PatientSideViewer,
    patient_side_viewer,
    visible_on_patient_side,
)
from dmp_sandbox.patient_cli import PatientError, parse_ins, patient_trace
from dmp_sandbox.store import (
    DMP_REPOSITORY_ID,
    DmpState,
    DocumentRecord,
    Patient,
    SubmissionSetRecord,
    utcnow,
)

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from dmp_sandbox.store import Store

EXIT_OK = 0
OID_CLASS_CODES = "1.2.250.1.213.1.1.4.1"
OID_CONFIDENTIALITY_HL7 = "2.16.840.1.113883.5.25"
OID_FORMAT_CODES = "1.3.6.1.4.1.19376.1.2.3"
PATIENT_CLASS = ("90", "Autres documents déposés par le patient")
SOURCE_ID = "1.2.250.1.999.3.0"  # the training host's "patient space" as a source
FORMATS = {
    MEDIA_PDF: (
        codes.FORMAT_CODE_PDF,
        OID_FORMAT_CODES,
        "Document à corps non structuré en Pdf/A-1",
    ),
    MEDIA_TEXT: (
        codes.FORMAT_CODE_TEXT,
        OID_FORMAT_CODES,
        "Document à corps non structuré en texte brut",
    ),
}
MAX_TITLE = 255
_PARIS = dt.timezone(dt.timedelta(hours=1))


# --- registering a document (shared with the Assurance Maladie's demo feed) -------------------


@dataclass(frozen=True)
class NewDocument:
    """The registry metadata of a document put in the store without the wire."""

    content: bytes
    unique_id: str
    entry_uuid: str
    title: str
    type_code: str
    class_code: tuple[str, str]  # (code, label) in TRE_A03
    format_code: tuple[str, str, str]  # (code, scheme, label)
    authors: list[dict[str, Any]]
    facility: tuple[str, str, str]  # (code, scheme, label)
    practice: tuple[str, str, str]
    at: dt.datetime  # creation time
    service_start: dt.datetime
    service_stop: dt.datetime
    submitted: dt.datetime
    set_id: str
    version: int = 1
    legal_authenticator: str | None = None
    comments: str = ""


def register_document(
    store: Store,
    session: Session,
    patient: Patient,
    doc: NewDocument,
    *,
    replaces: DocumentRecord | None = None,
) -> DocumentRecord:
    """Store ``doc`` with its submission set, as an accepted ITI-41 would (RPLC: ``replaces``)."""
    type_scheme, type_display = valuesets.DOCUMENT_TYPES[doc.type_code]
    submission = SubmissionSetRecord(
        entry_uuid=f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, doc.entry_uuid + '/submission')}",
        unique_id=f"{doc.unique_id}.1",
        source_id=SOURCE_ID,
        patient_id=patient.id,
        submission_time=doc.submitted,
        title=doc.title,
        content_type_code=doc.type_code,
        content_type_scheme=type_scheme,
        content_type_display=type_display,
        authors=doc.authors,
        submitter_national_id=str(doc.authors[0].get("national_id", "")) or None,
    )
    session.add(submission)
    session.flush()
    record = store.add_document(
        session,
        patient,
        doc.content,
        submission_set_id=submission.id,
        entry_uuid=doc.entry_uuid,
        unique_id=doc.unique_id,
        repository_id=DMP_REPOSITORY_ID,
        status=DocumentStatus.APPROVED.value,
        mime_type="text/xml",
        title=doc.title[:MAX_TITLE],
        comments=doc.comments,
        type_code=doc.type_code,
        type_scheme=type_scheme,
        type_display=type_display,
        class_code=doc.class_code[0],
        class_scheme=OID_CLASS_CODES,
        class_display=doc.class_code[1],
        format_code=doc.format_code[0],
        format_scheme=doc.format_code[1],
        format_display=doc.format_code[2],
        facility_type_code=doc.facility[0],
        facility_type_scheme=doc.facility[1],
        facility_type_display=doc.facility[2],
        practice_setting_code=doc.practice[0],
        practice_setting_scheme=doc.practice[1],
        practice_setting_display=doc.practice[2],
        creation_time=doc.at.astimezone(dt.UTC),
        service_start=doc.service_start.astimezone(dt.UTC),
        service_stop=doc.service_stop.astimezone(dt.UTC),
        submission_time=doc.submitted,
        authors=doc.authors,
        confidentiality=[{"code": "N", "scheme": OID_CONFIDENTIALITY_HL7, "display": "Normal"}],
        event_codes=[],
        legal_authenticator=doc.legal_authenticator,
        source_patient_id=f"{patient.ins_value}^^^&{patient.ins_root}&ISO^NH",
        source_patient_info=[
            f"PID-5|{patient.family_name.upper()}^{patient.given_name}^^^^^L",
            f"PID-7|{patient.birth_date:%Y%m%d}",
            f"PID-8|{patient.gender}",
        ],
        set_id=doc.set_id,
        cda_version=doc.version,
        replaces_uuid=replaces.entry_uuid if replaces is not None else None,
    )
    if replaces is not None:
        replaces.status = DocumentStatus.DEPRECATED.value
        replaces.status_changed_at = doc.submitted
        replaces.replaced_by_uuid = record.entry_uuid
    return record


def patient_author(patient: Patient) -> dict[str, Any]:
    """The patient as an XDS author: INS (``^NH``) and the EXP_PATIENT role."""
    return {
        "national_id": patient.ins_value,
        "family_name": patient.family_name.upper(),
        "given_name": patient.given_name,
        "id_root": patient.ins_root,
        "id_type": "NH",
        "specialty_code": ROLE_EXP_PATIENT,
        "specialty_display": ROLE_EXP_PATIENT_LABEL,
        "specialty_scheme": OID_NON_PS_ROLE,
    }


_EXP_PATIENT = (ROLE_EXP_PATIENT, OID_NON_PS_ROLE, ROLE_EXP_PATIENT_LABEL)


def add_patient_document(
    store: Store,
    session: Session,
    patient: Patient,
    *,
    type_code: str,
    title: str,
    payload: bytes,
    media_type: str,
    at: dt.datetime | None = None,
    unique_id: str | None = None,
    entry_uuid: str | None = None,
    replaces: DocumentRecord | None = None,
) -> DocumentRecord:
    """A patient-authored level-1 CDA registered in ``patient``'s DMP."""
    from dmp_actors.demo_documents import patient_identity

    at = at or utcnow().astimezone(_PARIS)
    unique_id = unique_id or new_oid()
    if replaces is not None:
        set_id = replaces.set_id or f"{replaces.unique_id}.0"
        version = (replaces.cda_version or 1) + 1
    else:
        set_id, version = f"{unique_id}.0", 1
    header = PatientDocumentHeader(
        patient=patient_identity(patient),
        type_code=type_code,
        title=title,
        effective_time=at,
        document_id=unique_id,
        set_id=set_id,
        version=version,
    )
    content = build_patient_document(header, payload, media_type)
    doc = NewDocument(
        content=content,
        unique_id=unique_id,
        entry_uuid=entry_uuid or f"urn:uuid:{uuid.uuid4()}",
        title=title.strip() or valuesets.DOCUMENT_TYPES[type_code][1],
        type_code=type_code,
        class_code=PATIENT_CLASS,
        format_code=FORMATS[media_type],
        authors=[patient_author(patient)],
        facility=_EXP_PATIENT,
        practice=_EXP_PATIENT,
        at=at,
        service_start=at,
        service_stop=at,
        submitted=at.astimezone(dt.UTC),
        set_id=set_id,
        version=version,
    )
    return register_document(store, session, patient, doc, replaces=replaces)


def current_patient_document(
    session: Session, patient: Patient, type_code: str
) -> DocumentRecord | None:
    """The patient's active document of ``type_code`` (their contacts, allergies, directives)."""
    rows = session.scalars(
        select(DocumentRecord)
        .where(
            DocumentRecord.patient_id == patient.id,
            DocumentRecord.type_code == type_code,
            DocumentRecord.class_code == PATIENT_CLASS[0],
            DocumentRecord.status == DocumentStatus.APPROVED.value,
        )
        .order_by(DocumentRecord.creation_time.desc(), DocumentRecord.id.desc())
    ).all()
    return rows[0] if rows else None


# --- the patient's actions ---------------------------------------------------------------------


def _active(store: Store, session: Session, ins: Ins) -> Patient:
    patient = store.find_patient(session, ins.value, ins.oid)
    if patient is None or patient.state is DmpState.NONE or patient.purged_at is not None:
        raise PatientError("Ce patient n'a pas de DMP : vérifiez l'INS.")
    if patient.state is DmpState.CLOSED:
        raise PatientError(
            "Ce DMP est fermé : il n'accepte plus de documents. Demandez sa réactivation à un "
            "professionnel de santé."
        )
    return patient


def _trace(session: Session, ins: Ins, action: str, unique_ids: list[str]) -> None:
    patient_trace(session, ins, action, unique_ids=unique_ids)


def add_document(
    store: Store, ins: Ins, data: bytes, title: str, type_code: str | None = None
) -> str:
    """A photo (JPEG, PNG, TIFF) or a PDF of the patient's; returns the new unique id."""
    type_code = type_code or TYPE_OTHER_PATIENT_DOCUMENT
    if type_code not in PATIENT_DOCUMENT_TYPES:
        raise PatientError(
            "Type de document réservé : choisissez EXPPAT_2 (autre document) ou un type "
            "DOCPAT01 à DOCPAT09 (sauf DOCPAT08)."
        )
    media, problems = check_source(data, None)
    if problems or media not in (MEDIA_PDF, *IMAGE_TYPES):
        raise PatientError(
            "Fichier refusé : envoyez une photo (JPEG, PNG, TIFF) ou un PDF lisible et non vide."
        )
    try:
        pdf = image_to_pdf(data) if media in IMAGE_TYPES else data
    except UploadInvalidError:
        raise PatientError("Image illisible : reprenez la photo ou envoyez un PDF.") from None
    if not title.strip():
        raise PatientError("Donnez un titre au document (--title).")
    with store.session() as session:
        patient = _active(store, session, ins)
        record = add_patient_document(
            store,
            session,
            patient,
            type_code=type_code,
            title=clean(title)[:MAX_TITLE],
            payload=pdf,
            media_type=MEDIA_PDF,
        )
        _trace(session, ins, "add-document", [record.unique_id])
        return record.unique_id


def _replace_list(
    store: Store, ins: Ins, type_code: str, title: str, heading: str, item: str, action: str
) -> int:
    """Add ``item`` to the patient's list document of ``type_code`` (a new version)."""
    item = " ".join(clean(item).split())
    with store.session() as session:
        patient = _active(store, session, ins)
        current = current_patient_document(session, patient, type_code)
        items: list[str] = []
        if current is not None:
            try:
                items = read_items(store.document_content(session, current))
            except CdaError:
                items = []
        if item in items:
            raise PatientError("Cette information figure déjà dans votre DMP : rien n'a changé.")
        items.append(item)
        record = add_patient_document(
            store,
            session,
            patient,
            type_code=type_code,
            title=title,
            payload=items_text(heading, items).encode("utf-8"),
            media_type=MEDIA_TEXT,
            replaces=current,
        )
        _trace(session, ins, action, [record.unique_id])
        return len(items)


def add_emergency_contact(store: Store, ins: Ins, contact: EmergencyContact) -> str:
    for value, what in (
        (contact.name, "le nom (--name)"),
        (contact.relationship, "le lien avec vous (--relationship)"),
        (contact.phone, "le téléphone (--phone)"),
    ):
        if not value.strip():
            raise PatientError(f"Indiquez {what} de la personne à prévenir.")
    if not re.fullmatch(r"\+?[0-9 .()-]{6,24}", contact.phone.strip()):
        raise PatientError("Numéro de téléphone invalide : par exemple 06 12 34 56 78.")
    count = _replace_list(
        store,
        ins,
        TYPE_CONTACTS,
        TEXT_TITLES[TYPE_CONTACTS],
        CONTACTS_HEADING,
        contact.line(),
        "emergency-contact",
    )
    return f"Personne à prévenir enregistrée ({count} au total), visible par vos soignants."


def add_allergy(store: Store, ins: Ins, allergy: AllergyNote) -> str:
    if not allergy.agent.strip():
        raise PatientError("Indiquez ce à quoi vous êtes allergique ou intolérant (--agent).")
    count = _replace_list(
        store,
        ins,
        TYPE_MEDICAL_PROFILE,
        TEXT_TITLES[TYPE_MEDICAL_PROFILE],
        ALLERGIES_HEADING,
        allergy.line(),
        "allergy",
    )
    kind = "Intolérance" if allergy.intolerance else "Allergie"
    return f"{kind} enregistrée ({count} au total), visible par vos soignants."


def set_directives(
    store: Store, ins: Ins, *, text: str | None = None, pdf: bytes | None = None
) -> str:
    """The advance directives (text or PDF); they replace the previous ones."""
    if (text is None) == (pdf is None):
        raise PatientError("Donnez vos directives en texte (--text) ou en PDF (--file).")
    if text is not None and not text.strip():
        raise PatientError("Vos directives anticipées sont vides : écrivez-les (--text).")
    if pdf is not None:
        media, problems = check_source(pdf, None)
        if problems or media != MEDIA_PDF:
            raise PatientError("Le fichier de vos directives doit être un PDF lisible.")
    with store.session() as session:
        patient = _active(store, session, ins)
        current = current_patient_document(session, patient, TYPE_DIRECTIVES)
        record = add_patient_document(
            store,
            session,
            patient,
            type_code=TYPE_DIRECTIVES,
            title=TEXT_TITLES[TYPE_DIRECTIVES],
            payload=pdf if pdf is not None else directives_text(text or "").encode("utf-8"),
            media_type=MEDIA_PDF if pdf is not None else MEDIA_TEXT,
            replaces=current,
        )
        _trace(session, ins, "directives", [record.unique_id])
    replaced = " (elles remplacent les précédentes)" if current is not None else ""
    return f"Directives anticipées enregistrées{replaced}, visibles par vos soignants."


# --- the copy of the record ----------------------------------------------------------------


def _slug(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text)
    ascii_text = "".join(c for c in folded if not unicodedata.combining(c))
    slug = re.sub(r"[^A-Za-z0-9]+", "-", ascii_text).strip("-").lower()
    return slug[:60] or "document"


def copy_record(
    store: Store, ins: Ins, out: Path, *, minor_own_access: bool = False
) -> tuple[int, Path]:
    """Write a ZIP of the documents the patient sees, with an index; returns (count, path).

    A minor's copy is the legal representative's (no document invisible to the
    legal representatives), unless ``minor_own_access``: the minor's own,
    through the secret connection the record must have
    (:func:`dmp_sandbox.access.patient_side_viewer`).
    """
    if out.suffix.lower() != ".zip":
        raise PatientError("Le fichier de la copie doit se terminer par .zip (--out copie.zip).")
    if out.exists():
        raise PatientError(f"{out} existe déjà : choisissez un autre nom de fichier.")
    if not out.parent.is_dir():
        raise PatientError(f"Dossier introuvable : {out.parent}")
    with store.session() as session:
        patient = store.find_patient(session, ins.value, ins.oid)
        if patient is None or patient.state is DmpState.NONE or patient.purged_at is not None:
            raise PatientError("Ce patient n'a pas de DMP : vérifiez l'INS.")
        try:
            viewer = patient_side_viewer(patient, minor_own_access=minor_own_access)
        except NoOwnAccess as exc:
            raise PatientError(str(exc)) from None
        documents = [
            d
            for d in session.scalars(
                select(DocumentRecord)
                .where(DocumentRecord.patient_id == patient.id)
                .order_by(DocumentRecord.service_start, DocumentRecord.id)
            )
            if visible_on_patient_side(d, viewer)
        ]
        index: list[dict[str, Any]] = []
        tmp = out.with_name(out.name + ".part")
        try:
            # Health data: readable by the owner only.
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with (
                os.fdopen(fd, "wb") as fh,
                zipfile.ZipFile(fh, "w", compression=zipfile.ZIP_DEFLATED) as archive,
            ):
                for number, doc in enumerate(documents, 1):
                    content = store.document_content(session, doc)
                    stem = f"documents/{number:03d}-{_slug(doc.title)}"
                    files = [f"{stem}.xml"]
                    archive.writestr(files[0], content)
                    files += _readable(archive, stem, content)
                    index.append(_index_entry(doc, files))
                archive.writestr(
                    "index.json",
                    json.dumps(
                        {"patient": ins.value, "documents": index}, ensure_ascii=False, indent=2
                    ),
                )
                archive.writestr("index.txt", _index_text(patient, index))
            tmp.replace(out)
        finally:
            tmp.unlink(missing_ok=True)
        _trace(
            session,
            ins,
            "copy" if viewer is PatientSideViewer.PATIENT else "copy/representant",
            [d.unique_id for d in documents],
        )
    return len(documents), out


def _readable(archive: zipfile.ZipFile, stem: str, content: bytes) -> list[str]:
    """What a person opens: the PDF or the text a level-1 CDA carries, else an HTML page."""
    try:
        media, payload = extract_level1(content)
    except CdaError:
        media, payload = "", b""
    if media == MEDIA_PDF:
        archive.writestr(f"{stem}.pdf", payload)
        return [f"{stem}.pdf"]
    if media == MEDIA_TEXT:
        archive.writestr(f"{stem}.txt", payload)
        return [f"{stem}.txt"]
    try:
        page = render_html(content)
    except CdaError:
        return []
    archive.writestr(f"{stem}.html", page)
    return [f"{stem}.html"]


def _author_text(doc: DocumentRecord) -> str:
    author = (doc.authors or [{}])[0]
    role = author.get("specialty_code")
    if doc.class_code == PATIENT_CLASS[0] or role == ROLE_EXP_PATIENT:
        return "vous-même"
    if role == "ALIM_AM":
        return "Assurance Maladie"
    name = f"{author.get('given_name', '')} {author.get('family_name', '')}".strip()
    return name or str(author.get("institution") or "")


def _index_entry(doc: DocumentRecord, files: list[str]) -> dict[str, Any]:
    when = doc.service_start or doc.creation_time
    return {
        "titre": doc.title,
        "type": doc.type_display or doc.type_code,
        "date": f"{when.astimezone(_PARIS):%Y-%m-%d}" if when else None,
        "auteur": _author_text(doc),
        "statut": DocumentStatus(doc.status).label_fr,
        "identifiant": doc.unique_id,
        "fichiers": files,
    }


def _index_text(patient: Patient, index: list[dict[str, Any]]) -> str:
    lines = [
        f"Copie du DMP de {patient.given_name} {patient.family_name.upper()}",
        f"INS : {patient.ins_value}",
        f"Faite le {utcnow().astimezone(_PARIS):%d/%m/%Y à %H:%M}",
        f"{len(index)} document(s) (les documents actifs et archivés que vous pouvez voir).",
        "",
    ]
    for number, entry in enumerate(index, 1):
        date = entry["date"] or "date inconnue"
        lines.append(
            f"{number:3d}. {date}  {entry['titre']} — {entry['type']} — {entry['auteur']}"
            f" ({entry['statut']})"
        )
        lines.extend(f"       {name}" for name in entry["fichiers"])
    return "\n".join(lines) + "\n"


# --- command line ------------------------------------------------------------------------------

ActionFactory = Callable[
    [str, str, Callable[["Store", argparse.Namespace], int]], argparse.ArgumentParser
]


def _print(message: str) -> int:
    print(message, flush=True)
    return EXIT_OK


def _read_file(path: str) -> bytes:
    p = Path(path).expanduser()
    try:
        return p.read_bytes()
    except OSError:
        raise PatientError(f"Fichier illisible : {p}") from None


def _cmd_add_document(store: Store, args: argparse.Namespace) -> int:
    unique_id = add_document(
        store, parse_ins(args.ins), _read_file(args.file), args.title, args.type
    )
    return _print(
        f"Document ajouté à votre DMP (identifiant {unique_id}) : vos soignants le voient, "
        "marqué « ajouté par le patient »."
    )


def _cmd_contact(store: Store, args: argparse.Namespace) -> int:
    contact = EmergencyContact(args.name, args.relationship, args.phone)
    return _print(add_emergency_contact(store, parse_ins(args.ins), contact))


def _cmd_allergy(store: Store, args: argparse.Namespace) -> int:
    note = AllergyNote(args.agent, args.reaction or "", args.intolerance)
    return _print(add_allergy(store, parse_ins(args.ins), note))


def _cmd_directives(store: Store, args: argparse.Namespace) -> int:
    pdf = _read_file(args.file) if args.file else None
    return _print(set_directives(store, parse_ins(args.ins), text=args.text, pdf=pdf))


def _cmd_copy(store: Store, args: argparse.Namespace) -> int:
    count, path = copy_record(
        store,
        parse_ins(args.ins),
        Path(args.out).expanduser(),
        minor_own_access=args.minor_own_access,
    )
    return _print(f"Copie de votre DMP écrite dans {path} : {count} document(s) et un index.")


def register(action: ActionFactory) -> None:
    """Add the patient-space actions to ``dmp-sandbox patient``."""
    add = action("add-document", "ajouter un document (photo ou PDF) à son DMP", _cmd_add_document)
    add.add_argument("--file", required=True, metavar="FICHIER", help="photo (JPEG, PNG) ou PDF")
    add.add_argument("--title", required=True, metavar="TITRE", help="titre du document")
    add.add_argument(
        "--type",
        choices=PATIENT_DOCUMENT_TYPES,
        help="type (défaut : EXPPAT_2, autre document du patient)",
    )
    contact = action("emergency-contact", "ajouter une personne à prévenir", _cmd_contact)
    contact.add_argument("--name", required=True, metavar="NOM", help="prénom et nom")
    contact.add_argument(
        "--relationship", required=True, metavar="LIEN", help="lien avec vous (mère, conjoint…)"
    )
    contact.add_argument("--phone", required=True, metavar="TÉLÉPHONE", help="numéro de téléphone")
    allergy = action("allergy", "déclarer une allergie ou une intolérance", _cmd_allergy)
    allergy.add_argument("--agent", required=True, metavar="QUOI", help="médicament, aliment…")
    allergy.add_argument("--reaction", metavar="RÉACTION", help="ce qui se passe (urticaire…)")
    allergy.add_argument(
        "--intolerance", action="store_true", help="une intolérance plutôt qu'une allergie"
    )
    directives = action("directives", "enregistrer ses directives anticipées", _cmd_directives)
    given = directives.add_mutually_exclusive_group(required=True)
    given.add_argument("--text", metavar="TEXTE", help="vos directives, en texte")
    given.add_argument("--file", metavar="FICHIER", help="vos directives, en PDF")
    copy = action("copy", "obtenir une copie de son DMP (fichier ZIP)", _cmd_copy)
    copy.add_argument("--out", required=True, metavar="FICHIER.zip", help="fichier à écrire")
    copy.add_argument(
        "--minor-own-access",
        action="store_true",
        help="patient mineur : la copie qu'il obtient lui-même par sa connexion secrète "
        "(par défaut, celle de son représentant légal)",
    )


# --- the demo ------------------------------------------------------------------------------------


def _demo_photo() -> bytes:
    """A small photo-like image (a page of a paper vaccination booklet, drawn)."""
    import io

    from PIL import Image, ImageDraw

    image = Image.new("RGB", (480, 320), (250, 246, 232))
    draw = ImageDraw.Draw(image)
    draw.rectangle((12, 12, 468, 308), outline=(90, 90, 90), width=3)
    draw.text((30, 28), "CARNET DE VACCINATION - MOREAU Lea", fill=(20, 20, 20))
    for row, line in enumerate(
        ("DTP 2018 - rappel", "ROR 2008 - 2 doses", "Hepatite B 2008 - 3 doses", "HPV 2021")
    ):
        y = 80 + row * 50
        draw.line((30, y + 30, 450, y + 30), fill=(160, 160, 160))
        draw.text((40, y + 10), line, fill=(40, 40, 120))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=70)
    return out.getvalue()


def seed_demo_patient_space(
    store: Store, session: Session, patient: Patient, patient_number: int, now: dt.datetime
) -> int:
    """Léa MOREAU's own additions and her care history (stable ids: reseeding is idempotent).

    Called after the demo documents were (re)created; returns how many documents it added.
    """
    from dmp_actors.demo_documents import UNIQUE_ID_ROOT, entry_uuid_for, patient_identity
    from dmp_actors.insurer import demo_care_history, seed_care_history

    def when(days: int, hour: int) -> dt.datetime:
        day = (now - dt.timedelta(days=days)).astimezone(_PARIS).date()
        return min(
            dt.datetime(day.year, day.month, day.day, hour, 0, tzinfo=_PARIS),
            now - dt.timedelta(minutes=10),
        )

    def uid(index: int) -> str:
        return f"{UNIQUE_ID_ROOT}.{patient_number}.{100 + index}"

    def euid(key: str) -> str:
        return entry_uuid_for(patient.ins_value, key)

    contacts = [
        EmergencyContact("Paul MOREAU", "père", "06 12 34 56 78"),
        EmergencyContact("Inès BERNARD", "colocataire", "07 98 76 54 32"),
    ]
    allergies = [
        AllergyNote("Amoxicilline (pénicillines)", "urticaire généralisée en 2019"),
        AllergyNote("Pollens de graminées", "rhinite et crises d'asthme au printemps"),
        AllergyNote("Lactose", "ballonnements et douleurs digestives", intolerance=True),
    ]
    added = [
        add_patient_document(
            store,
            session,
            patient,
            type_code=TYPE_OTHER_PATIENT_DOCUMENT,
            title="Photo de mon carnet de vaccination",
            payload=image_to_pdf(_demo_photo()),
            media_type=MEDIA_PDF,
            at=when(200, 20),
            unique_id=uid(1),
            entry_uuid=euid("patient-space/photo"),
        ),
        add_patient_document(
            store,
            session,
            patient,
            type_code=TYPE_CONTACTS,
            title=TEXT_TITLES[TYPE_CONTACTS],
            payload=items_text(CONTACTS_HEADING, [c.line() for c in contacts]).encode(),
            media_type=MEDIA_TEXT,
            at=when(150, 21),
            unique_id=uid(2),
            entry_uuid=euid("patient-space/contacts"),
        ),
        add_patient_document(
            store,
            session,
            patient,
            type_code=TYPE_MEDICAL_PROFILE,
            title=TEXT_TITLES[TYPE_MEDICAL_PROFILE],
            payload=items_text(ALLERGIES_HEADING, [a.line() for a in allergies]).encode(),
            media_type=MEDIA_TEXT,
            at=when(140, 21),
            unique_id=uid(3),
            entry_uuid=euid("patient-space/allergies"),
        ),
        add_patient_document(
            store,
            session,
            patient,
            type_code=TYPE_DIRECTIVES,
            title=TEXT_TITLES[TYPE_DIRECTIVES],
            payload=directives_text(
                "En cas de maladie grave et incurable, je ne souhaite pas d'acharnement "
                "thérapeutique : je refuse la réanimation prolongée sans espoir "
                "d'amélioration.\n\nJe souhaite être soulagée de toute douleur, même si cela "
                "peut abréger ma vie.\n\nMa personne de confiance est mon père, Paul MOREAU "
                "(06 12 34 56 78)."
            ).encode(),
            media_type=MEDIA_TEXT,
            at=when(130, 22),
            unique_id=uid(4),
            entry_uuid=euid("patient-space/directives"),
        ),
    ]
    at = when(8, 6)
    history = demo_care_history(
        patient_identity(patient),
        now.astimezone(_PARIS).date(),
        document_id=uid(5),
        set_id=f"{uid(5)}.0",
        effective_time=at,
    )
    added.append(seed_care_history(store, session, patient, history, euid("insurer/care-history")))
    return len(added)
