"""TD3.3: changing a document's metadata (IHE ITI-57 UpdateDocumentSet, ``registry`` service).

Two kinds of update, both a ``lcm:SubmitObjectsRequest`` with a submission
set authored by the professional making the change (official ``TD3.3c`` /
``TD3.3d`` requests and the CNAM templates ``template_masquage.xml``,
``template_archivage.xml``, ``template_depublication.xml``):

* **visibility** (mask / unmask to professionals, invisible to the patient,
  to the legal representatives): the DocumentEntry is submitted again as a
  new version of the same logical document: ``ExtrinsicObject id="Document01"
  lid="<logical id>"`` carrying all the metadata the registry gave, with the
  new confidentiality codes, and a ``HasMember`` association holding
  ``SubmissionSetStatus=Original`` and ``PreviousVersion=<version read>``;
* **availability status** (archive, delete): an ``UpdateAvailabilityStatus``
  association from the submission set to the entry's entryUUID with
  ``OriginalStatus`` (its current status) and ``NewStatus`` (Archived /
  Deleted).

Unlike the official examples, every ``Classification`` has its
``classifiedObject`` and every ``ExternalIdentifier`` its ``registryObject``:
lcm.xsd requires them (the examples do not validate without).

The answer is a ``RegistryResponse`` (official TD3.3c / TD3.3d answers, action
``urn:ihe:iti:2010:UpdateDocumentSet-Response``; IHE's spelling without the
dash is accepted too).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from lxml import etree

from dmp_desktop.dates import xds_dtm
from dmp_desktop.dmp import ebrs, rim
from dmp_desktop.dmp.ebrs import LCM, QUERY, RIM, RS
from dmp_desktop.dmp.iti41 import CONFIDENTIALITY_NORMAL, flag_code
from dmp_desktop.dmp.iti41 import parse_response as _parse_registry_response
from dmp_desktop.dmp.rim import AuthorValues, IdMaker
from dmp_desktop.dmp.xds import (
    CLASS_AUTHOR,
    CLASS_CLASS_CODE,
    CLASS_CONFIDENTIALITY,
    CLASS_EVENT_CODE,
    CLASS_FACILITY_TYPE,
    CLASS_FORMAT_CODE,
    CLASS_PRACTICE_SETTING,
    CLASS_TYPE_CODE,
    OBJECT_TYPE_STABLE,
)
from dmp_desktop.dmp.xmlutil import Element, qn
from dmp_desktop.domain.document import Code, Confidentiality, DocumentEntry, DocumentStatus

ACTION = "urn:ihe:iti:2010:UpdateDocumentSet"
ACTION_RESPONSES = frozenset(
    {"urn:ihe:iti:2010:UpdateDocumentSet-Response", "urn:ihe:iti:2010:UpdateDocumentSetResponse"}
)
SERVICE = "registry"
DOCUMENT_ID = "Document01"

DMP_FLAGS = frozenset(flag.value for flag in Confidentiality)
# Slots the DocumentEntry keeps through a metadata update, in the templates' order.
_SLOT_ORDER = (
    "creationTime",
    "hash",
    "languageCode",
    "legalAuthenticator",
    "repositoryUniqueId",
    "serviceStartTime",
    "serviceStopTime",
    "size",
    "sourcePatientId",
    "sourcePatientInfo",
)
_NOT_SLOTS = frozenset({"lid", "objectType"})


@dataclass(frozen=True)
class UpdateContext:
    """Who makes the change, and the submission set's ids."""

    unique_id: str  # XDSSubmissionSet.uniqueId
    source_id: str
    submission_time: datetime
    author: AuthorValues
    title: str = "Mise à jour des métadonnées"


def _request() -> tuple[Element, Element]:
    root = etree.Element(
        qn(LCM, "SubmitObjectsRequest"),
        nsmap={None: RIM, "ns2": RS, "ns3": QUERY, "ns4": LCM},
    )
    return root, etree.SubElement(root, qn(RIM, "RegistryObjectList"))


def _package(objects: Element, ids: IdMaker, entry: DocumentEntry, ctx: UpdateContext) -> None:
    rim.submission_set(
        objects,
        ids,
        unique_id=ctx.unique_id,
        source_id=ctx.source_id,
        patient=entry.patient,
        submission_time=ctx.submission_time,
        author=ctx.author,
        title=ctx.title,
    )


def build_status_update(
    entry: DocumentEntry, new_status: DocumentStatus, ctx: UpdateContext
) -> Element:
    """Archive / delete (or restore): an ``UpdateAvailabilityStatus`` association."""
    if new_status is entry.status:
        raise ValueError("the document already has this status")
    root, objects = _request()
    ids = IdMaker()
    _package(objects, ids, entry, ctx)
    rim.association(
        objects,
        ids,
        rim.ASSOC_UPDATE_STATUS,
        rim.SUBMISSION_SET_ID,
        entry.entry_uuid,
        [("OriginalStatus", [entry.status.value]), ("NewStatus", [new_status.value])],
        with_object_type=True,
    )
    return root


def new_confidentiality(
    entry: DocumentEntry, *, masked: bool, invisible_patient: bool, invisible_legal_reps: bool
) -> tuple[Code, ...]:
    """The entry's codes with the three DMP flags set as asked (N/R/V and others kept)."""
    kept = [c for c in entry.confidentiality if c.code not in DMP_FLAGS]
    if not kept:
        kept = [CONFIDENTIALITY_NORMAL]
    wanted = (
        (Confidentiality.MASKED_PS, masked),
        (Confidentiality.INVISIBLE_PATIENT, invisible_patient),
        (Confidentiality.INVISIBLE_LEGAL_REPS, invisible_legal_reps),
    )
    for flag, on in wanted:
        if on:
            existing = next((c for c in entry.confidentiality if c.code == flag.value), None)
            kept.append(existing or flag_code(flag))
    return tuple(kept)


def logical_id(entry: DocumentEntry) -> str:
    return entry.extra.get("lid") or entry.entry_uuid


def build_metadata_update(
    entry: DocumentEntry, confidentiality: tuple[Code, ...], ctx: UpdateContext
) -> Element:
    """A new version of ``entry``'s metadata with ``confidentiality`` (masking, visibility)."""
    root, objects = _request()
    ids = IdMaker()
    _package(objects, ids, entry, ctx)
    rim.association(
        objects,
        ids,
        rim.ASSOC_HAS_MEMBER,
        rim.SUBMISSION_SET_ID,
        DOCUMENT_ID,
        [("SubmissionSetStatus", ["Original"]), ("PreviousVersion", [entry.version or "1"])],
        with_object_type=True,
    )
    eo = etree.SubElement(objects, qn(RIM, "ExtrinsicObject"))
    eo.set("id", DOCUMENT_ID)
    eo.set("lid", logical_id(entry))
    eo.set("mimeType", entry.mime_type)
    eo.set("objectType", entry.extra.get("objectType") or OBJECT_TYPE_STABLE)
    eo.set("status", entry.status.value)
    for name, values in _slots(entry):
        ebrs.add_slot(eo, name, values)
    rim.localized(eo, "Name", entry.title)
    if entry.comments:
        rim.localized(eo, "Description", entry.comments)
    etree.SubElement(eo, qn(RIM, "VersionInfo")).set("versionName", entry.version or "1")
    for author in entry.authors:
        rim.author_classification(eo, ids, CLASS_AUTHOR, DOCUMENT_ID, rim.author_values(author))
    if entry.class_code.code:
        rim.classification(eo, ids, CLASS_CLASS_CODE, DOCUMENT_ID, entry.class_code)
    for code in confidentiality:
        rim.classification(eo, ids, CLASS_CONFIDENTIALITY, DOCUMENT_ID, code)
    for code in entry.event_codes:
        rim.classification(eo, ids, CLASS_EVENT_CODE, DOCUMENT_ID, code)
    if entry.format_code.code:
        rim.classification(eo, ids, CLASS_FORMAT_CODE, DOCUMENT_ID, entry.format_code)
    if entry.facility_type is not None:
        rim.classification(eo, ids, CLASS_FACILITY_TYPE, DOCUMENT_ID, entry.facility_type)
    if entry.practice_setting is not None:
        rim.classification(eo, ids, CLASS_PRACTICE_SETTING, DOCUMENT_ID, entry.practice_setting)
    if entry.type_code.code:
        rim.classification(eo, ids, CLASS_TYPE_CODE, DOCUMENT_ID, entry.type_code)
    rim.document_identifiers(eo, ids, DOCUMENT_ID, entry.patient, entry.unique_id)
    return root


def _slots(entry: DocumentEntry) -> list[tuple[str, list[str]]]:
    """The entry's slots as the registry gave them (mapped fields and the others)."""
    values: dict[str, list[str]] = {}
    if entry.creation_time is not None:
        values["creationTime"] = [xds_dtm(entry.creation_time)]
    if entry.hash_sha1:
        values["hash"] = [entry.hash_sha1]
    values["languageCode"] = [entry.language]
    values["repositoryUniqueId"] = [entry.repository_id]
    if entry.service_start is not None:
        values["serviceStartTime"] = [xds_dtm(entry.service_start)]
    if entry.service_stop is not None:
        values["serviceStopTime"] = [xds_dtm(entry.service_stop)]
    if entry.size is not None:
        values["size"] = [str(entry.size)]
    for name, joined in entry.extra.items():
        if name in _NOT_SLOTS or name in values:
            continue
        lines = [line for line in joined.split("\n") if line.strip()]
        if lines:
            values[name] = lines
    ordered = [(name, values.pop(name)) for name in _SLOT_ORDER if name in values]
    return ordered + sorted(values.items())


def parse_response(body: Element) -> list[ebrs.RegistryError]:
    """The ``RegistryResponse``: raise its first error, return its warnings."""
    return _parse_registry_response(body)


__all__ = [
    "ACTION",
    "ACTION_RESPONSES",
    "DOCUMENT_ID",
    "SERVICE",
    "UpdateContext",
    "build_metadata_update",
    "build_status_update",
    "logical_id",
    "new_confidentiality",
    "parse_response",
]
