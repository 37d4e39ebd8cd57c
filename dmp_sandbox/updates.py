"""Changing documents on the host: TD3.3, IHE ITI-57 UpdateDocumentSet (``registry``).

The request is a ``SubmitObjectsRequest`` with a submission set authored by
the professional making the change, as the official ``TD3.3c`` / ``TD3.3d``
requests and the CNAM template ``template_masquage.xml``:

- **visibility** (TD3.3a masking / unmasking to professionals, TD3.3b
  visibility to the patient or the legal representatives): the
  DocumentEntry submitted again (``ExtrinsicObject`` with the ``lid`` of
  the logical document) with its new confidentiality codes, member of the
  submission set through a ``HasMember`` association holding
  ``PreviousVersion`` (the version the sender read);
- **availability** (TD3.3c delete, TD3.3d archive, and back from the
  archive): an ``UpdateAvailabilityStatus`` association from the
  submission set to the document's entryUUID, with ``OriginalStatus`` (what
  the sender read) and ``NewStatus``.

The answer is a ``RegistryResponse`` (official TD3.3c / TD3.3d answers,
action ``urn:ihe:iti:2010:UpdateDocumentSet-Response``): ``Success``, or
``Failure`` with a ``RegistryErrorList``. All the changes of a request are
applied, or none.

Rules:

- access as for an upload (:func:`dmp_sandbox.alimentation.grant_feed`):
  structure staff may change nothing; a professional needs a valid
  authorisation (or emergency access, under the consultation's rules, the
  patient being told as for a consultation);
- a document the sender may not see (deleted, masked and not theirs while
  they are not the médecin traitant) is unknown: ``XDSDocumentUniqueIdError``;
- masking, unmasking and visibility changes: the document's author or the
  patient's médecin traitant DMP (``DMPNotAuthor`` otherwise); never
  masked *and* invisible to the patient (``DMPForbiddenConfidentiality``); an
  active or archived document only (``XDSMetadataUpdateError``); the
  ``PreviousVersion`` must be the current version
  (``XDSMetadataVersionError``: someone changed it meanwhile);
- archive (Approved -> Archived) and back (Archived -> Approved): the author
  or the médecin traitant; delete (-> Deleted, from Approved, Archived or
  Deprecated): the author only (``DMPNotAuthor``); ``OriginalStatus`` must be the document's
  status (``XDSMetadataUpdateError``); a deleted document never comes back.

The training host keeps one registry row per logical document: a metadata
update replaces the confidentiality codes in place and bumps the version
(``VersionInfo``), entryUUID and lid unchanged, so there is no Deprecated
copy of the previous metadata to list (IHE would keep one; the DMP's
consultation never shows it). Only the confidentiality codes change: other
metadata in the resubmitted entry are not taken (the document's bytes do
not change, so neither do its attributes). Resubmitting the same codes
changes nothing and succeeds.

The trace row (written by the server) says which change it was
(``TD3.3a``…``TD3.3d``), the affected documents' unique ids, the outcome.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING

from lxml import etree
from sqlalchemy import select
from sqlalchemy.orm import Session

from dmp_desktop.domain.document import Confidentiality, DocumentStatus
from dmp_desktop.domain.patient import Ins
from dmp_sandbox import ebrim, xds
from dmp_sandbox.access import Grant, read_access, vihf_patient, visible
from dmp_sandbox.alimentation import (
    DMP_NOT_AUTHOR,
    XDS_PATIENT_MISMATCH,
    check_confidentiality,
    check_registry_duplicates,
    grant_feed,
    metadata_error,
    refused,
    registry_response,
)
from dmp_sandbox.consultation import notify_emergency
from dmp_sandbox.ebrim import RegistryObject
from dmp_sandbox.store import DocumentRecord, SubmissionSetRecord, utcnow

if TYPE_CHECKING:
    from dmp_sandbox.host import OperationContext, TraceContext

ACTION_ITI57 = "urn:ihe:iti:2010:UpdateDocumentSet"
ACTION_ITI57_RESPONSE = "urn:ihe:iti:2010:UpdateDocumentSet-Response"  # as the official answers

XDS_UPDATE_ERROR = "XDSMetadataUpdateError"
XDS_VERSION_ERROR = "XDSMetadataVersionError"

TD_MASKING = "TD3.3a"
TD_VISIBILITY = "TD3.3b"
TD_DELETE = "TD3.3c"
TD_ARCHIVE = "TD3.3d"

_RESPONSE_NSMAP = {"ns2": xds.RS, "ns3": xds.QUERY, "ns4": xds.RIM, "ns5": xds.LCM, "ns6": xds.HL7}
_STATUSES = {s.value: s for s in DocumentStatus}
_VISIBILITY_FLAGS = frozenset(
    {Confidentiality.INVISIBLE_PATIENT.value, Confidentiality.INVISIBLE_LEGAL_REPS.value}
)
_STATUS_CHANGES = {
    (DocumentStatus.APPROVED, DocumentStatus.ARCHIVED),
    (DocumentStatus.ARCHIVED, DocumentStatus.APPROVED),
    (DocumentStatus.APPROVED, DocumentStatus.DELETED),
    (DocumentStatus.ARCHIVED, DocumentStatus.DELETED),
    (DocumentStatus.DEPRECATED, DocumentStatus.DELETED),
}


def update_error(context: str, location: str | None = None) -> xds.XdsError:
    return xds.XdsError(XDS_UPDATE_ERROR, context, location)


@dataclass(frozen=True)
class StatusChange:
    target: str  # entryUUID
    original: DocumentStatus
    new: DocumentStatus


@dataclass(frozen=True)
class MetadataChange:
    entry: RegistryObject
    previous_version: str


def _status(value: str | None, what: str) -> DocumentStatus:
    status = _STATUSES.get((value or "").strip())
    if status is None:
        raise update_error(f"Statut absent ou inconnu ({what}).")
    return status


def read_changes(submission: ebrim.Submission) -> list[StatusChange | MetadataChange]:
    """The changes a request asks for, in its order (shape checks only)."""
    package = submission.submission_set()
    association_ids = {a.id for a in submission.associations}
    changes: list[StatusChange | MetadataChange] = []
    members: set[str] = set()
    for assoc in submission.associations:
        if assoc.type == ebrim.ASSOC_UPDATE_STATUS:
            if assoc.source != package.id:
                raise xds.invalid(
                    "UpdateAvailabilityStatus doit partir du lot de soumission de la requête."
                )
            changes.append(
                StatusChange(
                    assoc.target,
                    _status(assoc.slot("OriginalStatus"), "OriginalStatus"),
                    _status(assoc.slot("NewStatus"), "NewStatus"),
                )
            )
        elif assoc.type == ebrim.ASSOC_HAS_MEMBER:
            if assoc.source != package.id:
                raise xds.invalid("Association HasMember qui ne part pas du lot de soumission.")
            if assoc.target in association_ids:
                continue  # IHE lets the submission set list its associations: nothing to do
            entry = submission.entry(assoc.target)
            if entry is None:
                raise xds.invalid(
                    "Association HasMember vers un objet absent de la requête : pour changer le "
                    "statut d'un document, utilisez UpdateAvailabilityStatus."
                )
            previous = assoc.slot("PreviousVersion")
            if previous is None:
                raise xds.invalid(
                    "Mise à jour des métadonnées sans PreviousVersion : un nouveau document se "
                    "dépose par la transaction d'alimentation (ITI-41)."
                )
            members.add(entry.id)
            changes.append(MetadataChange(entry, previous))
        else:
            raise xds.invalid("Type d'association non pris en charge par la mise à jour.")
    if any(e.id not in members for e in submission.entries):
        raise xds.invalid("Document de la requête sans association HasMember (PreviousVersion).")
    if not changes:
        raise xds.invalid("Aucune modification demandée.")
    return changes


def _visible_document(
    session: Session, grant: Grant, *, entry_uuid: str | None = None, lid: str | None = None
) -> DocumentRecord:
    query = select(DocumentRecord).where(DocumentRecord.patient_id == grant.patient.id)
    if entry_uuid is not None:
        query = query.where(DocumentRecord.entry_uuid == entry_uuid)
    else:
        query = query.where(
            (DocumentRecord.lid == lid) | (DocumentRecord.entry_uuid == lid)
        ).order_by(DocumentRecord.version.desc())
    doc = session.scalars(query).first()
    if doc is None or not visible(doc, grant):
        raise xds.XdsError(
            xds.XDS_UNKNOWN_DOCUMENT,
            "Ce document est introuvable dans ce DMP (ou ne vous est pas accessible) : "
            "actualisez la liste des documents.",
            entry_uuid or lid,
        )
    return doc


def _author_or_treating(doc: DocumentRecord, grant: Grant, what: str) -> None:
    if grant.request.national_id in doc.author_ids() or grant.treating_physician:
        return
    raise xds.XdsError(
        DMP_NOT_AUTHOR,
        f"Seuls l'auteur du document et le médecin traitant DMP du patient peuvent {what}.",
        doc.unique_id,
    )


def apply_status(
    session: Session, grant: Grant, change: StatusChange, trace: TraceContext
) -> tuple[str, str]:
    """An availability change; returns (transaction, unique id)."""
    trace.transaction = TD_DELETE if change.new is DocumentStatus.DELETED else TD_ARCHIVE
    doc = _visible_document(session, grant, entry_uuid=change.target)
    current = DocumentStatus(doc.status)
    if change.original is not current:
        raise update_error(
            f"Le document est {current.label_fr}, pas {change.original.label_fr} comme "
            "l'indique la demande : actualisez la liste des documents.",
            doc.unique_id,
        )
    if (current, change.new) not in _STATUS_CHANGES:
        raise update_error(
            f"Un document {current.label_fr} ne peut pas devenir {change.new.label_fr}.",
            doc.unique_id,
        )
    if change.new is DocumentStatus.DELETED:
        if grant.request.national_id not in doc.author_ids():
            raise xds.XdsError(
                DMP_NOT_AUTHOR,
                "Seul l'auteur d'un document peut le supprimer : rien n'a été modifié.",
                doc.unique_id,
            )
        transaction = TD_DELETE
    else:
        _author_or_treating(
            doc,
            grant,
            "l'archiver" if change.new is DocumentStatus.ARCHIVED else "le désarchiver",
        )
        transaction = TD_ARCHIVE
    doc.status = change.new.value
    doc.status_changed_at = utcnow()
    return transaction, doc.unique_id


def apply_metadata(
    session: Session, grant: Grant, ins: Ins, change: MetadataChange, trace: TraceContext
) -> tuple[str, str]:
    """A confidentiality change (new version in place); returns (transaction, unique id)."""
    entry = change.entry
    lid = (entry.attributes.get("lid") or "").strip()
    if not lid:
        raise update_error("Identifiant logique du document (lid) absent.")
    doc = _visible_document(session, grant, lid=lid)
    unique_id = entry.identifier(xds.ID_SCHEME_UNIQUE)
    if unique_id is not None and unique_id != doc.unique_id:
        raise update_error("L'identifiant unique ne correspond pas au document désigné (lid).", lid)
    patient_id = entry.identifier(xds.ID_SCHEME_PATIENT)
    if patient_id is not None and ebrim.parse_patient_id(patient_id, "patientId") != ins:
        raise xds.XdsError(
            XDS_PATIENT_MISMATCH,
            "Le patient du document n'est pas celui du lot de soumission.",
            doc.unique_id,
        )
    codes = []
    for cl in entry.classified(xds.SCHEME_CONFIDENTIALITY):
        if not cl.code:
            raise metadata_error("Code de confidentialité vide.", doc.unique_id)
        codes.append(
            {"code": cl.code[:64], "scheme": (cl.coding_scheme or "")[:64], "display": cl.name}
        )
    before, after = doc.confidentiality_codes(), {c["code"] for c in codes}
    masked = Confidentiality.MASKED_PS.value
    masking = (masked in before) != (masked in after)
    visibility = (before & _VISIBILITY_FLAGS) != (after & _VISIBILITY_FLAGS)
    transaction = TD_MASKING if masking or not visibility else TD_VISIBILITY
    trace.transaction = transaction
    if doc.status not in (DocumentStatus.APPROVED.value, DocumentStatus.ARCHIVED.value):
        raise update_error(
            f"Le document est {DocumentStatus(doc.status).label_fr} : seules les métadonnées "
            "d'un document actif ou archivé peuvent changer.",
            doc.unique_id,
        )
    if change.previous_version.strip() != str(doc.version):
        raise xds.XdsError(
            XDS_VERSION_ERROR,
            "Le document a été modifié entre-temps (version différente de celle lue) : "
            "actualisez la liste des documents puis recommencez.",
            doc.unique_id,
        )
    check_confidentiality(codes, doc.unique_id)
    if masking:
        _author_or_treating(
            doc, grant, "masquer ou démasquer ce document aux professionnels de santé"
        )
    elif before != after:
        _author_or_treating(doc, grant, "changer la visibilité de ce document")
    if before != after or [c["code"] for c in doc.confidentiality or ()] != [
        c["code"] for c in codes
    ]:
        doc.confidentiality = codes
        doc.version += 1
    return transaction, doc.unique_id


def _record_submission_set(
    session: Session, package: RegistryObject, grant: Grant, submitter: str
) -> None:
    unique_id = package.identifier(ebrim.ID_SCHEME_SS_UNIQUE)
    source_id = package.identifier(ebrim.ID_SCHEME_SS_SOURCE)
    if not unique_id or not source_id:
        raise metadata_error(
            "Le lot de soumission doit porter son identifiant unique et celui de sa source "
            "(XDSSubmissionSet.uniqueId, sourceId)."
        )
    check_registry_duplicates(session, [], unique_id)
    session.add(
        SubmissionSetRecord(
            entry_uuid=f"urn:uuid:{uuid.uuid4()}",
            unique_id=unique_id[:128],
            source_id=source_id[:128],
            patient_id=grant.patient.id,
            submission_time=ebrim.parse_dtm(package.slot("submissionTime"), "submissionTime")
            or utcnow(),
            title=package.name[:255],
            comments=package.description,
            authors=[
                a for a in map(ebrim.author_record, package.classified(ebrim.SCHEME_SS_AUTHOR)) if a
            ],
            submitter_national_id=submitter,
        )
    )


def update_document_set(ctx: OperationContext) -> etree._Element:
    """TD3.3: the changes of the module docstring, all or none."""
    trace = ctx.trace
    done: list[tuple[str, str]] = []
    try:
        submission = ebrim.read_submit_objects(ctx.request.payload)
        package = submission.submission_set()
        ins = ebrim.parse_patient_id(
            package.identifier(ebrim.ID_SCHEME_SS_PATIENT), "XDSSubmissionSet.patientId"
        )
        trace.patient_ins, trace.patient_ins_root = ins.value, ins.oid
        vihf_ins = vihf_patient(ctx.vihf)
        if vihf_ins is not None and vihf_ins != ins:
            raise xds.XdsError(
                XDS_PATIENT_MISMATCH,
                "Le patient désigné par le jeton VIHF (resource-id) n'est pas celui du lot de "
                "soumission.",
            )
        changes = read_changes(submission)
        first = changes[0]
        if isinstance(first, StatusChange):  # known before any look-up (refusals say it too)
            trace.transaction = TD_DELETE if first.new is DocumentStatus.DELETED else TD_ARCHIVE
        request = read_access(ctx.identity, ctx.vihf)
        trace.purpose = request.mode.value
        trace.reason = request.reason
        store = ctx.store
        with store.session() as session:
            grant = grant_feed(store, session, ins, request, update=True)
            for change in changes:
                if isinstance(change, StatusChange):
                    done.append(apply_status(session, grant, change, trace))
                else:
                    done.append(apply_metadata(session, grant, ins, change, trace))
            _record_submission_set(session, package, grant, request.national_id)
            if request.mode.emergency:
                notify_emergency(store, session, grant)
    except xds.XdsError as error:
        refused(trace, error)
        trace.document_unique_id = error.location if error.location else None
        return registry_response([error], _RESPONSE_NSMAP)
    trace.transaction = done[0][0]
    trace.document_count = len(done)
    trace.document_unique_id = " ".join(uid for _, uid in done)[:255]
    trace.result = "Success"
    return registry_response(nsmap=_RESPONSE_NSMAP)


__all__ = [
    "ACTION_ITI57",
    "ACTION_ITI57_RESPONSE",
    "TD_ARCHIVE",
    "TD_DELETE",
    "TD_MASKING",
    "TD_VISIBILITY",
    "apply_metadata",
    "apply_status",
    "read_changes",
    "update_document_set",
]
