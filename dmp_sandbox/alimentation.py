"""Alimentation on the host: TD2.1, IHE ITI-41 ProvideAndRegisterDocumentSet-b (``repository``).

The request (MTOM, or SOAP with inline base64) is a
``ProvideAndRegisterDocumentSetRequest``: a ``SubmitObjectsRequest`` holding
the submission set, one ``ExtrinsicObject`` per document (and one for the
XAdES signature of the submission, IHE DSG), the associations ``HasMember``
(submission set -> each entry), ``signs`` (signature -> submission set) and
``RPLC`` (new document -> the entryUUID of the one it replaces), then one
``Document`` per entry with its bytes. The answer is a ``RegistryResponse``
like the official ``TD2.1 - Alimentation_réponse.xml``: ``Success``, or
``Failure`` with a ``RegistryErrorList`` (HTTP 200, as an XDS repository
answers). Nothing is stored unless everything is accepted.

Checks, in this order (the first failure is answered):

1. shape: one submission set, at least one document, every entry a member of
   the submission set, every entry with its ``Document`` and every
   ``Document`` with its entry (``XDSMissingDocument``,
   ``XDSMissingDocumentMetadata``), only ``HasMember``, ``signs`` and
   ``RPLC`` associations (``DMPInvalidRequest``);
2. metadata: the attributes a DMP document needs (title, creation time,
   class, type, format, confidentiality, author, patient id, unique id),
   CDA R2 only (``text/xml``), at most one of N/R/V
   (``XDSRegistryMetadataError``); never ``MASQUE_PS`` with
   ``INVISIBLE_PATIENT`` (``DMPForbiddenConfidentiality``); the same unique
   id twice (``XDSRegistryDuplicateUniqueIdInMessage``);
3. patient: the submission set's, every entry's, the VIHF ``resource-id``'s
   and the CDA header's (``recordTarget``) must be the same INS
   (``XDSPatientIdDoesNotMatch``);
4. content: not empty, a CDA ``ClinicalDocument`` (``DMPInvalidDocument``);
   ``hash`` (SHA-1) and ``size`` when given must be those of the bytes
   received (``XDSRepositoryMetadataError``, as an IHE repository answers);
5. access (:func:`grant_feed`): the DMP exists (``DMPNotFound``) and is not
   closed (``DMPClosed``); a professional blocked by the patient is refused
   (``DMPAccessDeniedByExcludedPs``), even in an emergency; in normal access
   a professional needs a valid authorisation (``VALIDE``; the médecin
   traitant DMP has one), ``DMPAccessDenied`` otherwise; emergency access
   follows the consultation's rules (reason required for break glass,
   ``DMPEmergencyAccessOpposed`` when the patient opposed that mode) and
   notifies the patient. Structure staff (secretary: no profession) may
   upload for the practice, in normal access only: each document's author
   must be a professional of the staff member's structure (authorInstitution)
   with a valid authorisation. The Assurance Maladie (VIHF role ``ALIM_AM``)
   feeds its own documents only, without authorisation
   (:func:`dmp_sandbox.insurer.grant_insurer_feed`);
6. registry: a unique id already registered (documents, submission sets,
   signatures) is ``XDSDuplicateUniqueIdInRegistry``;
7. replacement (``RPLC``): the replaced document exists and is visible to
   the sender (else ``XDSDocumentUniqueIdError``), belongs to the same
   patient (``XDSPatientIdDoesNotMatch``), is active
   (``XDSRegistryMetadataError``) and was authored by the professional who
   replaces it (``DMPNotAuthor``); it becomes ``Deprecated``;
8. signature, when the submission carries one: see
   :mod:`dmp_sandbox.xades_verify` (``DMPDocumentSignatureError``, and the trace's
   ``result`` says why: ``SIGNATURE_<REASON>``).

The signature document is kept with its submission set (bytes, unique id,
signer), not as a DocumentEntry: it is nothing a doctor reads, and the
consultation lists stay as they were.

The trace row (written by the server) gets the transaction ``TD2.1``, the
access mode and reason, the number of documents and their unique ids, the
outcome (``OK`` or the error code) and the result.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from lxml import etree
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from dmp_desktop.domain.document import Confidentiality, DocumentStatus
from dmp_desktop.domain.patient import Ins
from dmp_sandbox import ebrim, identifiers, record_target, xds
from dmp_sandbox.access import (
    AccessRequest,
    Grant,
    Refusals,
    check_centre_15,
    professional_grant,
    read_access,
    vihf_patient,
    visible,
)
from dmp_sandbox.consultation import notify_emergency
from dmp_sandbox.ebrim import XDS_METADATA_ERROR, RegistryObject
from dmp_sandbox.mtom import MtomRefused, element_bytes
from dmp_sandbox.store import (
    DMP_REPOSITORY_ID,
    AuthorizationStatus,
    DmpState,
    DocumentRecord,
    Patient,
    Store,
    SubmissionSetRecord,
    utcnow,
)
from dmp_sandbox.xades_verify import (
    SignatureCheck,
    SubmissionSignatureError,
    read_unverified,
    verify_submission_signature,
)
from dmp_sandbox.xmlparse import XmlRefused, parse_xml

if TYPE_CHECKING:
    from dmp_sandbox.host import OperationContext, TraceContext

ACTION_ITI41 = "urn:ihe:iti:2007:ProvideAndRegisterDocumentSet-b"
ACTION_ITI41_RESPONSE = "urn:ihe:iti:2007:ProvideAndRegisterDocumentSet-bResponse"

# Error codes (IHE ITI TF-3 4.2.4, and the DMP's own).
XDS_PATIENT_MISMATCH = "XDSPatientIdDoesNotMatch"
XDS_DUPLICATE = "XDSDuplicateUniqueIdInRegistry"
XDS_DUPLICATE_IN_MESSAGE = "XDSRegistryDuplicateUniqueIdInMessage"
XDS_REPOSITORY_METADATA = "XDSRepositoryMetadataError"  # hash or size not those of the bytes
XDS_MISSING_DOCUMENT = "XDSMissingDocument"
XDS_MISSING_METADATA = "XDSMissingDocumentMetadata"
DMP_INVALID_DOCUMENT = "DMPInvalidDocument"
DMP_INVALID_SIGNATURE = "DMPDocumentSignatureError"
DMP_FORBIDDEN_CONFIDENTIALITY = "DMPForbiddenConfidentiality"
DMP_NOT_AUTHOR = "DMPNotAuthor"

SIGNATURE_CLASS_CODE = "urn:oid:1.3.6.1.4.1.19376.1.2.1.1.1"  # IHE DSG
CDA_MIME_TYPE = "text/xml"
HL7 = "urn:hl7-org:v3"
LEVELS = frozenset({"N", "R", "V"})  # HL7 confidentiality (2.16.840.1.113883.5.25)

_RESPONSE_NSMAP = {"ns2": xds.RS, "ns3": xds.LCM, "ns4": xds.XDSB, "ns5": xds.RIM, "ns6": xds.QUERY}


def registry_response(
    errors: Sequence[xds.XdsError] = (), nsmap: dict[str, str] | None = None
) -> etree._Element:
    """``RegistryResponse``: Success, or Failure with its errors (official TD2.1 shape)."""
    response = etree.Element(f"{{{xds.RS}}}RegistryResponse", nsmap=nsmap or _RESPONSE_NSMAP)
    response.set("status", xds.STATUS_FAILURE if errors else xds.STATUS_SUCCESS)
    if errors:
        xds.error_list(response, errors)
    return response


def refused(trace: TraceContext, error: xds.XdsError, result: str = "Failure") -> None:
    trace.outcome = error.code
    trace.result = result
    trace.document_count = 0


class SignatureRefused(xds.XdsError):
    """``DMPDocumentSignatureError``, with the reason the trace keeps (``SIGNATURE_<REASON>``)."""

    def __init__(self, error: SubmissionSignatureError, location: str) -> None:
        super().__init__(DMP_INVALID_SIGNATURE, error.message, location)
        self.trace_result = f"SIGNATURE_{error.reason.upper()}"[:64]


def metadata_error(context: str, location: str | None = None) -> xds.XdsError:
    return xds.XdsError(XDS_METADATA_ERROR, context, location)


# --- who may feed a DMP --------------------------------------------------------------------------


def grant_feed(
    store: Store,
    session: Session,
    ins: Ins,
    request: AccessRequest,
    *,
    update: bool = False,
    authors: Sequence[dict[str, Any]] = (),
) -> Grant:
    """May ``request`` upload to (``update``: change documents of) this DMP?

    See the module docstring (step 5); ``authors``: for a staff upload, the
    first author of each document. Raises :class:`xds.XdsError`.
    """
    if request.is_insurer:  # the Assurance Maladie's feed: its own rules
        from dmp_sandbox.insurer import grant_insurer_feed

        return grant_insurer_feed(store, session, ins, request, update=update, authors=authors)
    if request.is_staff and update:
        raise xds.XdsError(
            xds.DMP_ACCESS_DENIED,
            "Un personnel de structure (secrétariat) ne peut pas modifier les documents du DMP "
            "(masquage, archivage, suppression) : demandez-le au professionnel de santé.",
        )
    check_centre_15(request)
    if request.is_staff and request.mode.emergency:
        raise xds.XdsError(
            xds.DMP_ACCESS_DENIED,
            "Un personnel de structure (secrétariat) ne peut pas utiliser l'accès d'urgence.",
        )
    patient = store.find_patient(session, ins.value, ins.oid)
    if patient is None or patient.state is DmpState.NONE:
        raise xds.XdsError(
            xds.DMP_NOT_FOUND,
            "Ce patient n'a pas de DMP : il faut d'abord le créer."
            if not update
            else "Ce patient n'a pas de DMP.",
        )
    if patient.state is DmpState.CLOSED:
        raise xds.XdsError(
            xds.DMP_CLOSED,
            "Le DMP de ce patient est fermé : il n'accepte plus de documents."
            if not update
            else "Le DMP de ce patient est fermé : ses documents ne peuvent plus être modifiés.",
        )
    if request.is_staff:
        _check_staff_authors(store, session, patient, request, authors)
        return Grant(patient, request, False)
    auth = store.find_authorization(session, patient, request.national_id)
    return professional_grant(session, patient, auth, request, FEED_REFUSALS)


FEED_REFUSALS = Refusals(
    excluded=(
        "Le patient vous a interdit l'accès à son DMP : vous ne pouvez ni y déposer ni y "
        "modifier de document, même en mode d'urgence."
    ),
    expired=(
        "Votre autorisation d'accès à ce DMP a expiré : demandez au patient son accord "
        "puis renouvelez l'autorisation avant d'envoyer le document."
    ),
    not_authorised=(
        "Vous n'êtes pas autorisé à alimenter ce DMP : demandez au patient son accord "
        "puis enregistrez l'autorisation avant d'envoyer le document."
    ),
)


def _check_staff_authors(
    store: Store,
    session: Session,
    patient: Patient,
    request: AccessRequest,
    authors: Sequence[dict[str, Any]],
) -> None:
    structure = request.identity.structure_id
    for author in authors:
        national_id = str(author.get("national_id") or "")
        if not national_id:
            raise metadata_error(
                "Un secrétariat doit désigner le professionnel auteur de chaque document "
                "(authorPerson)."
            )
        if not structure or author.get("institution_id") != structure:
            raise xds.XdsError(
                xds.DMP_ACCESS_DENIED,
                "Un secrétariat ne peut déposer que les documents des professionnels de sa "
                "structure (authorInstitution).",
            )
        auth = store.find_authorization(session, patient, national_id)
        status = auth.effective_status() if auth is not None else None
        if status is AuthorizationStatus.INTERDIT:
            raise xds.XdsError(
                xds.DMP_EXCLUDED_PS,
                "Le patient a interdit l'accès à son DMP au professionnel auteur du document : "
                "le dépôt est refusé.",
            )
        if status is not AuthorizationStatus.VALIDE:
            raise xds.XdsError(
                xds.DMP_ACCESS_DENIED,
                "Le professionnel auteur du document n'est pas autorisé sur ce DMP : le "
                "secrétariat ne peut déposer que pour un professionnel que le patient a "
                "autorisé.",
            )


# --- reading the submission ----------------------------------------------------------------------


@dataclass
class NewEntry:
    """One ExtrinsicObject of the request, decoded."""

    obj: RegistryObject
    unique_id: str
    patient: Ins
    is_signature: bool
    fields: dict[str, Any] = field(default_factory=dict)  # DocumentRecord columns
    content: bytes = b""
    replaces: str | None = None  # RPLC target entryUUID

    @property
    def first_author(self) -> dict[str, Any]:
        authors = self.fields.get("authors") or [{}]
        return dict(authors[0])


def _bounded(value: str, size: int, what: str, location: str | None = None) -> str:
    if len(value) > size:
        raise metadata_error(f"{what} trop long ({size} caractères au plus).", location)
    return value


def _code(cl: ebrim.Classification, what: str, location: str) -> dict[str, str]:
    if not cl.code:
        raise metadata_error(f"Code absent ({what}).", location)
    return {
        "code": _bounded(cl.code, 128, what, location),
        "scheme": _bounded(cl.coding_scheme or "", 64, what, location),
        "display": cl.name[:255],
    }


def _one_code(obj: RegistryObject, scheme: str, what: str, location: str) -> dict[str, str]:
    found = obj.classified(scheme)
    if len(found) != 1:
        raise metadata_error(f"Métadonnée obligatoire absente ou répétée : {what}.", location)
    return _code(found[0], what, location)


def _optional_code(
    obj: RegistryObject, scheme: str, what: str, location: str
) -> dict[str, str] | None:
    found = obj.classified(scheme)
    if len(found) > 1:
        raise metadata_error(f"Métadonnée répétée : {what}.", location)
    return _code(found[0], what, location) if found else None


def check_confidentiality(codes: Sequence[dict[str, str]], location: str | None) -> None:
    """At least one code, at most one of N/R/V, never masked and invisible to the patient."""
    values = [c["code"] for c in codes]
    if not values:
        raise metadata_error("Code de confidentialité absent (N, R ou V attendu).", location)
    if len([v for v in values if v in LEVELS]) > 1:
        raise metadata_error("Un seul des codes de confidentialité N, R ou V est permis.", location)
    if (
        Confidentiality.MASKED_PS.value in values
        and Confidentiality.INVISIBLE_PATIENT.value in values
    ):
        raise xds.XdsError(
            DMP_FORBIDDEN_CONFIDENTIALITY,
            "Un document ne peut pas être à la fois masqué aux professionnels de santé "
            "(MASQUE_PS) et invisible pour le patient (INVISIBLE_PATIENT) : changez l'un des "
            "deux choix.",
            location,
        )


def read_entry(obj: RegistryObject, is_signature: bool) -> NewEntry:
    """An ExtrinsicObject -> NewEntry with the DocumentRecord columns (metadata checks)."""
    unique_id = obj.identifier(xds.ID_SCHEME_UNIQUE)
    if not unique_id:
        raise metadata_error("Identifiant unique du document absent (XDSDocumentEntry.uniqueId).")
    location = _bounded(unique_id, 128, "Identifiant unique du document")
    if not identifiers.is_document_unique_id(unique_id):
        raise metadata_error(
            "Identifiant unique du document (XDSDocumentEntry.uniqueId) invalide : un OID "
            "(chiffres séparés par des points, 64 caractères au plus), éventuellement suivi de "
            "^extension, est attendu.",
        )
    if identifiers.claims_uuid(obj.id) and not identifiers.is_uuid_urn(obj.id):
        raise metadata_error(
            "Identifiant d'entrée (entryUUID) invalide : urn:uuid: suivi d'un UUID attendu.",
            location,
        )
    patient = ebrim.parse_patient_id(
        obj.identifier(xds.ID_SCHEME_PATIENT), "XDSDocumentEntry.patientId"
    )
    entry = NewEntry(obj, unique_id, patient, is_signature)
    object_type = obj.attributes.get("objectType", xds.OBJECT_TYPE_STABLE)
    if object_type != xds.OBJECT_TYPE_STABLE:
        raise metadata_error("Seuls les documents stables sont acceptés (objectType).", location)
    mime_type = obj.attributes.get("mimeType", "").strip()
    if not mime_type:
        raise metadata_error("Type MIME du document absent (mimeType).", location)
    if is_signature:
        return entry  # kept with its submission set: only its ids matter
    if mime_type != CDA_MIME_TYPE:
        raise metadata_error(
            "Le DMP n'accepte que des documents CDA R2 (mimeType text/xml) : enveloppez le PDF "
            "ou l'image dans un document CDA de niveau 1.",
            location,
        )
    if not obj.name:
        raise metadata_error("Titre du document absent (Name).", location)
    creation = ebrim.parse_dtm(obj.slot("creationTime"), "creationTime")
    if creation is None:
        raise metadata_error("Date de création du document absente (creationTime).", location)
    authors = [ebrim.author_record(c) for c in obj.classified(xds.SCHEME_AUTHOR)]
    authors = [a for a in authors if a]
    if not authors:
        raise metadata_error("Auteur du document absent (classification author).", location)
    confidentiality = [
        _code(c, "confidentialityCode", location)
        for c in obj.classified(xds.SCHEME_CONFIDENTIALITY)
    ]
    check_confidentiality(confidentiality, location)
    class_code = _one_code(obj, xds.SCHEME_CLASS, "classCode", location)
    type_code = _one_code(obj, xds.SCHEME_TYPE, "typeCode", location)
    format_code = _one_code(obj, xds.SCHEME_FORMAT, "formatCode", location)
    facility = _optional_code(obj, xds.SCHEME_FACILITY, "healthcareFacilityTypeCode", location)
    practice = _optional_code(obj, xds.SCHEME_PRACTICE, "practiceSettingCode", location)
    events = [_code(c, "eventCodeList", location) for c in obj.classified(xds.SCHEME_EVENT)]
    language = obj.slot("languageCode") or "fr-FR"
    entry.fields = {
        "unique_id": unique_id,
        "mime_type": _bounded(mime_type, 64, "Type MIME", location),
        "title": _bounded(obj.name, 255, "Titre du document", location),
        "comments": obj.description,
        "language": _bounded(language, 16, "Code de langue", location),
        "type_code": type_code["code"][:64],
        "type_scheme": type_code["scheme"],
        "type_display": type_code["display"],
        "class_code": class_code["code"][:64],
        "class_scheme": class_code["scheme"],
        "class_display": class_code["display"],
        "format_code": format_code["code"],
        "format_scheme": format_code["scheme"],
        "format_display": format_code["display"],
        "facility_type_code": facility["code"][:64] if facility else None,
        "facility_type_scheme": facility["scheme"] if facility else None,
        "facility_type_display": facility["display"] if facility else None,
        "practice_setting_code": practice["code"][:64] if practice else None,
        "practice_setting_scheme": practice["scheme"] if practice else None,
        "practice_setting_display": practice["display"] if practice else None,
        "creation_time": creation,
        "service_start": ebrim.parse_dtm(obj.slot("serviceStartTime"), "serviceStartTime"),
        "service_stop": ebrim.parse_dtm(obj.slot("serviceStopTime"), "serviceStopTime"),
        "authors": authors,
        "confidentiality": confidentiality,
        "event_codes": events,
        "legal_authenticator": _optional_text(obj, "legalAuthenticator", location),
        "source_patient_id": _optional_text(obj, "sourcePatientId", location),
        "source_patient_info": [v for v in obj.slots.get("sourcePatientInfo", []) if v],
    }
    return entry


def _optional_text(obj: RegistryObject, name: str, location: str) -> str | None:
    value = obj.slot(name)
    return _bounded(value, 255, name, location) if value is not None else None


def _documents(
    payload: etree._Element, ctx: OperationContext
) -> dict[str, bytes]:  # Document/@id -> bytes
    parts: dict[str, bytes] = {}
    for document in payload.findall(f"{{{xds.XDSB}}}Document"):
        doc_id = (document.get("id") or "").strip()
        if not doc_id:
            raise xds.invalid("Document sans identifiant (attribut id).")
        if doc_id in parts:
            raise xds.invalid("Deux documents de la requête portent le même identifiant.")
        try:
            parts[doc_id] = element_bytes(document, ctx.request.attachments)
        except MtomRefused:
            raise xds.XdsError(
                XDS_MISSING_DOCUMENT,
                "Contenu d'un document illisible (partie MIME absente ou base64 corrompu).",
            ) from None
    return parts


def _part_for(entry_id: str, parts: dict[str, bytes], used: set[str]) -> str | None:
    """The Document of an entry: same id, else the only one differing by case alone.

    (The official TD2.1 request names its document ``documentME2`` for the
    entry ``DocumentME2``.)
    """
    if entry_id in parts:
        return entry_id
    folded = [k for k in parts if k.lower() == entry_id.lower() and k not in used]
    return folded[0] if len(folded) == 1 else None


@dataclass
class Upload:
    """A decoded ITI-41 request, checked except for the rules needing the store."""

    submission_set: RegistryObject
    patient: Ins
    documents: list[NewEntry]
    signature: NewEntry | None


def read_upload(ctx: OperationContext) -> Upload:
    """Steps 1 to 4 of the module docstring."""
    payload = ctx.request.payload
    if payload.tag != f"{{{xds.XDSB}}}ProvideAndRegisterDocumentSetRequest":
        raise xds.invalid("Corps inattendu : ProvideAndRegisterDocumentSetRequest attendu.")
    submit = payload.find(f"{{{xds.LCM}}}SubmitObjectsRequest")
    if submit is None:
        raise xds.invalid("ProvideAndRegisterDocumentSetRequest sans SubmitObjectsRequest.")
    submission = ebrim.read_submit_objects(submit)
    package = submission.submission_set()
    ins = ebrim.parse_patient_id(
        package.identifier(ebrim.ID_SCHEME_SS_PATIENT), "XDSSubmissionSet.patientId"
    )
    ctx.trace.patient_ins, ctx.trace.patient_ins_root = ins.value, ins.oid
    if len(submission.packages) != 1:
        raise xds.invalid("Un seul lot de soumission (RegistryPackage) est accepté par requête.")
    for scheme, what in (
        (ebrim.ID_SCHEME_SS_UNIQUE, "XDSSubmissionSet.uniqueId"),
        (ebrim.ID_SCHEME_SS_SOURCE, "XDSSubmissionSet.sourceId"),
    ):
        value = package.identifier(scheme)
        if value is not None and not identifiers.is_oid(value):
            raise metadata_error(
                f"Identifiant du lot de soumission ({what}) invalide : un OID (chiffres séparés "
                "par des points, 64 caractères au plus) est attendu."
            )
    if identifiers.claims_uuid(package.id) and not identifiers.is_uuid_urn(package.id):
        raise metadata_error(
            "Identifiant du lot de soumission (entryUUID) invalide : urn:uuid: suivi d'un UUID "
            "attendu."
        )

    entry_ids = {e.id for e in submission.entries}
    signers = {a.source for a in submission.associations if a.type == ebrim.ASSOC_SIGNS}
    members: set[str] = set()
    replaces: dict[str, str] = {}
    for assoc in submission.associations:
        if assoc.type == ebrim.ASSOC_HAS_MEMBER:
            if assoc.source != package.id or assoc.target not in entry_ids:
                raise xds.invalid(
                    "Association HasMember inattendue : elle doit relier le lot de soumission "
                    "à un document de la requête."
                )
            status = assoc.slot("SubmissionSetStatus")
            if status is not None and status != "Original":
                raise xds.invalid("Seuls les documents originaux sont acceptés (Original).")
            members.add(assoc.target)
        elif assoc.type == ebrim.ASSOC_SIGNS:
            if assoc.source not in entry_ids or assoc.target != package.id:
                raise xds.invalid(
                    "Association signs inattendue : elle doit relier la signature au lot de "
                    "soumission."
                )
        elif assoc.type == ebrim.ASSOC_RPLC:
            if assoc.source not in entry_ids or assoc.target in entry_ids:
                raise xds.invalid(
                    "Association RPLC inattendue : elle doit relier le nouveau document à "
                    "l'identifiant (entryUUID) du document qu'il remplace."
                )
            if assoc.source in replaces or assoc.target in replaces.values():
                raise xds.invalid(
                    "Un document ne peut remplacer qu'un seul document, et un document n'est "
                    "remplacé qu'une fois (RPLC)."
                )
            replaces[assoc.source] = assoc.target
        else:
            raise xds.invalid("Type d'association non pris en charge par le DMP.")

    entries: list[NewEntry] = []
    for obj in submission.entries:
        is_signature = obj.id in signers or any(
            c.code == SIGNATURE_CLASS_CODE for c in obj.classified(xds.SCHEME_CLASS)
        )
        if obj.id not in members:
            raise metadata_error(
                "Chaque document doit appartenir au lot de soumission (association HasMember)."
            )
        entry = read_entry(obj, is_signature)
        entry.replaces = replaces.get(obj.id)
        if entry.replaces and is_signature:
            raise xds.invalid("Une signature ne remplace pas un document (RPLC).")
        entries.append(entry)
    signatures = [e for e in entries if e.is_signature]
    documents = [e for e in entries if not e.is_signature]
    if len(signatures) > 1:
        raise xds.invalid("Une seule signature par lot de soumission est acceptée.")
    if not documents:
        raise xds.invalid("Aucun document dans la requête.")
    seen: set[str] = set()
    for entry in entries:
        if entry.unique_id in seen:
            raise xds.XdsError(
                XDS_DUPLICATE_IN_MESSAGE,
                "Deux documents de la requête portent le même identifiant unique.",
                entry.unique_id,
            )
        seen.add(entry.unique_id)

    # Patient: metadata, VIHF, then (below) each CDA header.
    for entry in entries:
        if entry.patient != ins:
            raise xds.XdsError(
                XDS_PATIENT_MISMATCH,
                "Le patient d'un document n'est pas celui du lot de soumission.",
                entry.unique_id,
            )
    vihf_ins = vihf_patient(ctx.vihf)
    if vihf_ins is not None and vihf_ins != ins:
        raise xds.XdsError(
            XDS_PATIENT_MISMATCH,
            "Le patient désigné par le jeton VIHF (resource-id) n'est pas celui des documents.",
        )

    parts = _documents(ctx.request.payload, ctx)
    used: set[str] = set()
    for entry in entries:
        key = _part_for(entry.obj.id, parts, used)
        if key is None:
            raise xds.XdsError(
                XDS_MISSING_DOCUMENT,
                "Un document décrit dans les métadonnées n'a pas été transmis.",
                entry.unique_id,
            )
        used.add(key)
        entry.content = parts[key]
    if set(parts) - used:
        raise xds.XdsError(
            XDS_MISSING_METADATA, "Un document transmis n'est décrit par aucune métadonnée."
        )
    for entry in documents:
        check_content(entry, ins)
    signature = signatures[0] if signatures else None
    if signature is not None and not signature.content.strip():
        raise SignatureRefused(SubmissionSignatureError("forme"), signature.unique_id)
    return Upload(package, ins, documents, signature)


def check_content(entry: NewEntry, ins: Ins) -> None:
    """Step 4: bytes, hash and size, and the CDA header names the patient."""
    data = entry.content
    location = entry.unique_id
    if not data.strip():
        raise xds.XdsError(
            DMP_INVALID_DOCUMENT, "Le document est vide : rien n'a été enregistré.", location
        )
    declared_hash = entry.obj.slot("hash")
    if declared_hash is not None:
        actual = hashlib.sha1(data, usedforsecurity=False).hexdigest()
        if not hmac.compare_digest(declared_hash.lower(), actual):
            raise xds.XdsError(
                XDS_REPOSITORY_METADATA,
                "L'empreinte (hash) déclarée ne correspond pas au document reçu : il a été "
                "modifié ou tronqué en route.",
                location,
            )
    declared_size = entry.obj.slot("size")
    if declared_size is not None and declared_size != str(len(data)):
        raise xds.XdsError(
            XDS_REPOSITORY_METADATA,
            "La taille (size) déclarée ne correspond pas au document reçu : il a été tronqué "
            "ou modifié en route.",
            location,
        )
    try:
        root = parse_xml(data)
    except XmlRefused:
        raise xds.XdsError(
            DMP_INVALID_DOCUMENT,
            "Le document n'est pas un XML lisible : un document CDA R2 est attendu.",
            location,
        ) from None
    if root.tag != f"{{{HL7}}}ClinicalDocument":
        raise xds.XdsError(
            DMP_INVALID_DOCUMENT,
            "Le document n'est pas un document CDA R2 (ClinicalDocument).",
            location,
        )
    ids = root.findall(f"{{{HL7}}}recordTarget/{{{HL7}}}patientRole/{{{HL7}}}id")
    if not any(i.get("root") == ins.oid and i.get("extension") == ins.value for i in ids):
        raise xds.XdsError(
            XDS_PATIENT_MISMATCH,
            "L'en-tête du document CDA (recordTarget) ne désigne pas le patient des "
            "métadonnées par son INS.",
            location,
        )
    set_id = root.find(f"{{{HL7}}}setId")
    if set_id is not None and set_id.get("root"):
        extension = set_id.get("extension")
        set_value = f"{set_id.get('root')}^{extension}" if extension else set_id.get("root", "")
        entry.fields["set_id"] = set_value[:128]
    version = root.find(f"{{{HL7}}}versionNumber")
    value = version.get("value", "") if version is not None else ""
    entry.fields["cda_version"] = int(value) if value.isdigit() and len(value) < 9 else None


# --- storing -------------------------------------------------------------------------------------


def _entry_uuid(symbolic: str, session: Session, taken: set[str]) -> str:
    """The request's own urn:uuid id when it is new, else a fresh one."""
    if symbolic.startswith("urn:uuid:") and symbolic not in taken:
        try:
            uuid.UUID(symbolic[9:])
        except ValueError:
            pass
        else:
            exists = session.scalar(
                select(DocumentRecord.id).where(DocumentRecord.entry_uuid == symbolic)
            ) or session.scalar(
                select(SubmissionSetRecord.id).where(SubmissionSetRecord.entry_uuid == symbolic)
            )
            if not exists:
                taken.add(symbolic)
                return symbolic
    fresh = f"urn:uuid:{uuid.uuid4()}"
    taken.add(fresh)
    return fresh


def check_registry_duplicates(
    session: Session, unique_ids: Sequence[str], set_unique_id: str
) -> None:
    """Step 6: no unique id may be registered twice."""
    taken = (
        session.scalars(
            select(DocumentRecord.unique_id).where(DocumentRecord.unique_id.in_(unique_ids))
        ).first()
        or session.scalars(
            select(SubmissionSetRecord.signature_unique_id).where(
                SubmissionSetRecord.signature_unique_id.in_(unique_ids)
            )
        ).first()
    )
    if taken is not None:
        raise xds.XdsError(
            XDS_DUPLICATE,
            "Un document portant cet identifiant unique est déjà enregistré dans le DMP : "
            "un document envoyé ne peut pas être envoyé une seconde fois (pour le modifier, "
            "remplacez-le).",
            taken,
        )
    if session.scalar(
        select(SubmissionSetRecord.id).where(SubmissionSetRecord.unique_id == set_unique_id)
    ):
        raise xds.XdsError(
            XDS_DUPLICATE,
            "Ce lot de soumission (même identifiant unique) a déjà été enregistré.",
            set_unique_id,
        )


def _check_replacement(
    session: Session, grant: Grant, entry: NewEntry, acting: str
) -> DocumentRecord:
    """Step 7: the document ``entry`` replaces, checked."""
    target = entry.replaces or ""
    old = session.scalars(
        select(DocumentRecord).where(DocumentRecord.entry_uuid == target)
    ).one_or_none()
    if old is not None and old.patient_id != grant.patient.id:
        raise xds.XdsError(
            XDS_PATIENT_MISMATCH,
            "Le document à remplacer appartient au DMP d'un autre patient.",
            target,
        )
    if old is None or not visible(old, grant):
        raise xds.XdsError(
            xds.XDS_UNKNOWN_DOCUMENT,
            "Le document à remplacer est introuvable dans ce DMP (ou ne vous est pas "
            "accessible) : actualisez la liste des documents.",
            target,
        )
    if old.status != DocumentStatus.APPROVED.value:
        raise metadata_error(
            "Seul un document actif peut être remplacé : celui-ci est "
            f"{DocumentStatus(old.status).label_fr}.",
            target,
        )
    if acting not in old.author_ids():
        raise xds.XdsError(
            DMP_NOT_AUTHOR,
            "Seul l'auteur d'un document peut le remplacer : rien n'a été enregistré.",
            target,
        )
    return old


def _check_signature(
    ctx: OperationContext, upload: Upload, request: AccessRequest
) -> SignatureCheck | None:
    signature = upload.signature
    if signature is None:
        if request.is_insurer:  # a system feed without a CPS card (docs/wire-conventions.md)
            return None
        set_id = upload.submission_set.identifier(ebrim.ID_SCHEME_SS_UNIQUE)
        raise SignatureRefused(SubmissionSignatureError("absente"), set_id or "")
    policy = ctx.signatures
    try:
        if policy is not None and policy.skip_check:
            return read_unverified(signature.content)
        return verify_submission_signature(
            signature.content,
            {entry.unique_id: entry.content for entry in upload.documents},
            policy.trust if policy is not None else None,
            allowed_signers(request, upload.documents),
            strict_schema=policy.strict_schema if policy is not None else True,
        )
    except SubmissionSignatureError as exc:
        raise SignatureRefused(exc, signature.unique_id) from None


def allowed_signers(request: AccessRequest, documents: Sequence[NewEntry]) -> set[str]:
    """Who may sign this submission: the professional the host authenticated.

    A secretary (structure staff) feeds for one professional of her
    structure: the author of the documents (checked by :func:`grant_feed`),
    who signs them with their own card.
    """
    if not request.is_staff:
        return {request.national_id}
    return {str(entry.first_author.get("national_id") or "") for entry in documents} - {""}


def check_authorship(request: AccessRequest, documents: Sequence[NewEntry]) -> None:
    """A professional submits documents they authored; a secretary, one professional's.

    (An authorised Dr B may not file a document naming Dr Durand as its
    author: the DMP would then show Dr Durand as its author.)
    """
    if request.is_insurer:
        return  # its own rule: grant_insurer_feed
    if request.is_staff:
        authors = {str(e.first_author.get("national_id") or "") for e in documents}
        if len(authors) != 1:
            raise xds.XdsError(
                DMP_NOT_AUTHOR,
                "Un secrétariat dépose, dans un même envoi, les documents d'un seul "
                "professionnel : celui qui les a signés.",
            )
        return
    for entry in documents:
        ids = {str(a.get("national_id") or "") for a in entry.fields["authors"]}
        if request.national_id not in ids:
            raise xds.XdsError(
                DMP_NOT_AUTHOR,
                "Vous ne pouvez déposer que des documents dont vous êtes l'auteur "
                "(authorPerson) : un document d'un autre professionnel est déposé par lui.",
                entry.unique_id,
            )


def _submission_set_record(
    session: Session,
    upload: Upload,
    patient: Patient,
    taken: set[str],
    submitter: str,
    signature: SignatureCheck | None,
) -> SubmissionSetRecord:
    package = upload.submission_set
    unique_id = package.identifier(ebrim.ID_SCHEME_SS_UNIQUE)
    source_id = package.identifier(ebrim.ID_SCHEME_SS_SOURCE)
    if not unique_id or not source_id:
        raise metadata_error(
            "Le lot de soumission doit porter son identifiant unique et celui de sa source "
            "(XDSSubmissionSet.uniqueId, sourceId)."
        )
    content_type = package.classified(ebrim.SCHEME_SS_CONTENT_TYPE)
    record = SubmissionSetRecord(
        entry_uuid=_entry_uuid(package.id, session, taken),
        unique_id=_bounded(unique_id, 128, "Identifiant unique du lot"),
        source_id=_bounded(source_id, 128, "Identifiant de la source du lot"),
        patient_id=patient.id,
        submission_time=ebrim.parse_dtm(package.slot("submissionTime"), "submissionTime")
        or utcnow(),
        title=package.name[:255],
        comments=package.description,
        content_type_code=content_type[0].code[:64] if content_type else None,
        content_type_scheme=(content_type[0].coding_scheme or "")[:64] if content_type else None,
        content_type_display=content_type[0].name[:255] if content_type else None,
        authors=[
            a for a in map(ebrim.author_record, package.classified(ebrim.SCHEME_SS_AUTHOR)) if a
        ],
        submitter_national_id=submitter,
    )
    if upload.signature is not None and signature is not None:
        record.signature_unique_id = upload.signature.unique_id
        record.signature = upload.signature.content
        record.signature_verified = signature.verified
        record.signer_national_id = signature.signer_national_id
    session.add(record)
    session.flush()
    return record


def provide_and_register(ctx: OperationContext) -> etree._Element:
    """TD2.1: register and store the documents of a submission (module docstring)."""
    try:
        upload = read_upload(ctx)
        request = read_access(ctx.identity, ctx.vihf)
        ctx.trace.purpose = request.mode.value
        ctx.trace.reason = request.reason
        ctx.trace.document_unique_id = " ".join(e.unique_id for e in upload.documents)[:255]
        store = ctx.store
        with store.session() as session:
            grant = grant_feed(
                store,
                session,
                upload.patient,
                request,
                authors=[e.first_author for e in upload.documents],
            )
            check_authorship(request, upload.documents)
            set_unique_id = upload.submission_set.identifier(ebrim.ID_SCHEME_SS_UNIQUE) or ""
            ids = [e.unique_id for e in upload.documents]
            if upload.signature is not None:
                ids.append(upload.signature.unique_id)
            check_registry_duplicates(session, ids, set_unique_id)
            replaced = {
                entry.unique_id: _check_replacement(
                    session,
                    grant,
                    entry,
                    entry.first_author.get("national_id", "")
                    if request.is_staff
                    else request.national_id,
                )
                for entry in upload.documents
                if entry.replaces
            }
            signature = _check_signature(ctx, upload, request)
            for entry in upload.documents:  # the header names the patient of the INS (#14)
                record_target.check_document(grant.patient, entry.content, entry.unique_id)
            taken: set[str] = set()
            package = _submission_set_record(
                session, upload, grant.patient, taken, request.national_id, signature
            )
            now = utcnow()
            for entry in upload.documents:
                entry_uuid = _entry_uuid(entry.obj.id, session, taken)
                old = replaced.get(entry.unique_id)
                ctx.store.add_document(
                    session,
                    grant.patient,
                    entry.content,
                    entry_uuid=entry_uuid,
                    lid=entry_uuid,
                    version=1,
                    repository_id=DMP_REPOSITORY_ID,
                    submission_set_id=package.id,
                    status=DocumentStatus.APPROVED.value,
                    submission_time=now,
                    replaces_uuid=old.entry_uuid if old is not None else None,
                    **entry.fields,
                )
                if old is not None:
                    old.status = DocumentStatus.DEPRECATED.value
                    old.status_changed_at = now
                    old.replaced_by_uuid = entry_uuid
            if request.mode.emergency:
                notify_emergency(store, session, grant)
    except IntegrityError:
        # Another upload of the same document won the race (the check above saw none).
        error = xds.XdsError(
            XDS_DUPLICATE, "Ce document vient d'être enregistré par un autre envoi.", None
        )
        refused(ctx.trace, error)
        return registry_response([error])
    except xds.XdsError as error:
        result = error.trace_result if isinstance(error, SignatureRefused) else "Failure"
        refused(ctx.trace, error, result)
        return registry_response([error])
    ctx.trace.document_count = len(upload.documents)
    unverified = signature is not None and not signature.verified
    ctx.trace.result = "Success/SIGNATURE_NON_VERIFIEE" if unverified else "Success"
    return registry_response()


__all__ = [
    "ACTION_ITI41",
    "ACTION_ITI41_RESPONSE",
    "DMP_FORBIDDEN_CONFIDENTIALITY",
    "DMP_INVALID_DOCUMENT",
    "DMP_INVALID_SIGNATURE",
    "DMP_NOT_AUTHOR",
    "check_confidentiality",
    "grant_feed",
    "provide_and_register",
    "registry_response",
]
