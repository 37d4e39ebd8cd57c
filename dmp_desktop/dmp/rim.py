"""Writing ebRIM registry objects the way the DMP's official requests do (ITI-41, ITI-57).

Shared by :mod:`dmp_desktop.dmp.iti41` and :mod:`dmp_desktop.dmp.iti57`:
classifications with their ``codingScheme`` slot and ``Name``, external
identifiers with their ``Name``, author classifications (XCN / XON / CE
values), the submission set (``RegistryPackage``), associations. Element order
follows rim.xsd (Slot*, Name?, Description?, VersionInfo?, Classification*,
ExternalIdentifier*), as the official examples do.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from lxml import etree

from dmp_desktop.dates import xds_dtm
from dmp_desktop.dmp import ebrs
from dmp_desktop.dmp.ebrs import RIM
from dmp_desktop.dmp.xds import (
    CLASS_AUTHOR,
    EXT_PATIENT_ID,
    EXT_UNIQUE_ID,
    hl7_escape,
)
from dmp_desktop.dmp.xmlutil import Element, qn
from dmp_desktop.domain.document import Author, Code
from dmp_desktop.domain.patient import Ins

# --- IHE identifiers (ITI TF-3 4.2.5) not used by the consultation side ------------------------

SUBMISSION_SET_NODE = "urn:uuid:a54d6aa5-d40d-43f9-88c5-b4633d873bdd"
CLASS_SS_AUTHOR = "urn:uuid:a7058bb9-b4e4-4307-ba5b-e3f0ab85e12d"
CLASS_SS_CONTENT_TYPE = "urn:uuid:aa543740-bdda-424e-8c96-df4873be8500"
EXT_SS_PATIENT_ID = "urn:uuid:6b5aea1a-874d-4603-a4bc-96a0a7b38446"
EXT_SS_SOURCE_ID = "urn:uuid:554ac39e-e3fe-47fe-b233-965d2a147832"
EXT_SS_UNIQUE_ID = "urn:uuid:96fdda7c-d067-4183-912e-bf5ee74998a8"

ASSOC_HAS_MEMBER = "urn:oasis:names:tc:ebxml-regrep:AssociationType:HasMember"
ASSOC_RPLC = "urn:ihe:iti:2007:AssociationType:RPLC"
ASSOC_SIGNS = "urn:ihe:iti:2007:AssociationType:signs"
ASSOC_UPDATE_STATUS = "urn:ihe:iti:2010:AssociationType:UpdateAvailabilityStatus"
OBJECT_TYPE_ASSOCIATION = "urn:oasis:names:tc:ebxml-regrep:ObjectType:RegistryObject:Association"

SUBMISSION_SET_ID = "SubmissionSet01"
LANG = "FR"
CHARSET = "UTF8"

OID_PS = "1.2.250.1.71.4.2.1"
OID_STRUCTURE = "1.2.250.1.71.4.2.2"
OID_AUTHOR_SPECIALTY = "1.2.250.1.213.1.1.4.5"

# SubmissionSet.contentTypeCode (TRE_R209 TypeActivite, 1.2.250.1.213.2.2): the
# official examples say "04 Hospitalisation de jour"; a practice's consultation
# is "07 Consultation Soins Externes".
CONTENT_TYPE_CONSULTATION = Code("07", "Consultation Soins Externes", "1.2.250.1.213.2.2")


@dataclass(frozen=True)
class AuthorValues:
    """An author as the XDS slots write it (already-formatted HL7 v2 values)."""

    person: str  # XCN
    institution: str | None = None  # XON
    specialty: str | None = None  # CE
    roles: tuple[str, ...] = ()


def xcn(national_id: str, family_name: str, given_name: str) -> str:
    """authorPerson, legalAuthenticator: ``id^Nom^Prénom^^^^^^&<PS OID>&ISO^D^^^IDNPS``."""
    return (
        f"{hl7_escape(national_id)}^{hl7_escape(family_name)}^{hl7_escape(given_name)}"
        f"^^^^^^&{OID_PS}&ISO^D^^^IDNPS"
    )


def xon(name: str, structure_id: str) -> str:
    """authorInstitution: ``Nom^^^^^&1.2.250.1.71.4.2.2&ISO^IDNST^^^<id>``."""
    return f"{hl7_escape(name)}^^^^^&{OID_STRUCTURE}&ISO^IDNST^^^{hl7_escape(structure_id)}"


def ce(code: Code) -> str:
    return f"{hl7_escape(code.code)}^{hl7_escape(code.display)}^{hl7_escape(code.scheme)}"


def author_values(author: Author) -> AuthorValues:
    """An author read from the registry, written back (ITI-57 keeps the metadata as it was)."""
    person = xcn(author.national_id or "", author.family_name, author.given_name)
    institution = (
        xon(author.institution, author.institution_id or "")
        if author.institution or author.institution_id
        else None
    )
    roles = tuple(r.strip() for r in author.role.split(",") if r.strip())
    return AuthorValues(
        person=person,
        institution=institution,
        specialty=ce(author.specialty) if author.specialty else None,
        roles=roles,
    )


class IdMaker:
    """Symbolic ids ``cla1``, ``ei1``, ``assoc1``... unique in one request."""

    def __init__(self) -> None:
        self._counts: dict[str, int] = {}

    def __call__(self, prefix: str) -> str:
        self._counts[prefix] = self._counts.get(prefix, 0) + 1
        return f"{prefix}{self._counts[prefix]}"


def localized(parent: Element, tag: str, value: str) -> Element:
    holder = etree.SubElement(parent, qn(RIM, tag))
    string = etree.SubElement(holder, qn(RIM, "LocalizedString"))
    string.set("charset", CHARSET)
    string.set("value", value)
    string.set("{http://www.w3.org/XML/1998/namespace}lang", LANG)
    return holder


def classification(
    parent: Element, ids: IdMaker, scheme: str, classified: str, code: Code
) -> Element:
    """A coded classification: ``nodeRepresentation``, ``codingScheme`` slot, ``Name``."""
    el = etree.SubElement(parent, qn(RIM, "Classification"))
    el.set("classificationScheme", scheme)
    el.set("classifiedObject", classified)
    el.set("id", ids("cla"))
    el.set("nodeRepresentation", code.code)
    ebrs.add_slot(el, "codingScheme", [code.scheme])
    localized(el, "Name", code.display or code.code)
    return el


def author_classification(
    parent: Element, ids: IdMaker, scheme: str, classified: str, author: AuthorValues
) -> Element:
    el = etree.SubElement(parent, qn(RIM, "Classification"))
    el.set("classificationScheme", scheme)
    el.set("classifiedObject", classified)
    el.set("id", ids("cla"))
    el.set("nodeRepresentation", "")
    ebrs.add_slot(el, "authorPerson", [author.person])
    if author.institution:
        ebrs.add_slot(el, "authorInstitution", [author.institution])
    if author.roles:
        ebrs.add_slot(el, "authorRole", list(author.roles))
    if author.specialty:
        ebrs.add_slot(el, "authorSpecialty", [author.specialty])
    return el


def external_identifier(
    parent: Element, ids: IdMaker, scheme: str, registry_object: str, value: str, name: str
) -> Element:
    el = etree.SubElement(parent, qn(RIM, "ExternalIdentifier"))
    el.set("id", ids("ei"))
    el.set("identificationScheme", scheme)
    el.set("registryObject", registry_object)
    el.set("value", value)
    localized(el, "Name", name)
    return el


def submission_set(
    parent: Element,
    ids: IdMaker,
    *,
    unique_id: str,
    source_id: str,
    patient: Ins,
    submission_time: datetime,
    author: AuthorValues,
    title: str,
    comments: str = "",
    content_type: Code = CONTENT_TYPE_CONSULTATION,
) -> Element:
    """The ``RegistryPackage`` of the submission set, as in the official TD2.1 / TD3.3 requests."""
    package = etree.SubElement(parent, qn(RIM, "RegistryPackage"))
    package.set("id", SUBMISSION_SET_ID)
    ebrs.add_slot(package, "submissionTime", [xds_dtm(submission_time)])
    localized(package, "Name", title)
    if comments:
        localized(package, "Description", comments)
    author_classification(package, ids, CLASS_SS_AUTHOR, SUBMISSION_SET_ID, author)
    classification(package, ids, CLASS_SS_CONTENT_TYPE, SUBMISSION_SET_ID, content_type)
    node = etree.SubElement(package, qn(RIM, "Classification"))
    node.set("classificationNode", SUBMISSION_SET_NODE)
    node.set("classifiedObject", SUBMISSION_SET_ID)
    node.set("id", ids("cla"))
    external_identifier(
        package,
        ids,
        EXT_SS_PATIENT_ID,
        SUBMISSION_SET_ID,
        patient.cx(),
        "XDSSubmissionSet.patientId",
    )
    external_identifier(
        package, ids, EXT_SS_SOURCE_ID, SUBMISSION_SET_ID, source_id, "XDSSubmissionSet.sourceId"
    )
    external_identifier(
        package, ids, EXT_SS_UNIQUE_ID, SUBMISSION_SET_ID, unique_id, "XDSSubmissionSet.uniqueId"
    )
    return package


def association(
    parent: Element,
    ids: IdMaker,
    kind: str,
    source: str,
    target: str,
    slots: Sequence[tuple[str, Sequence[str]]] = (),
    *,
    with_object_type: bool = False,
) -> Element:
    el = etree.SubElement(parent, qn(RIM, "Association"))
    el.set("associationType", kind)
    el.set("id", ids("assoc"))
    if with_object_type:
        el.set("objectType", OBJECT_TYPE_ASSOCIATION)
    el.set("sourceObject", source)
    el.set("targetObject", target)
    for name, values in slots:
        ebrs.add_slot(el, name, values)
    return el


def document_identifiers(
    parent: Element, ids: IdMaker, object_id: str, patient: Ins, unique_id: str
) -> None:
    """The two external identifiers every DocumentEntry has: patient id and unique id."""
    external_identifier(
        parent, ids, EXT_PATIENT_ID, object_id, patient.cx(), "XDSDocumentEntry.patientId"
    )
    external_identifier(
        parent, ids, EXT_UNIQUE_ID, object_id, unique_id, "XDSDocumentEntry.uniqueId"
    )


__all__ = [
    "ASSOC_HAS_MEMBER",
    "ASSOC_RPLC",
    "ASSOC_SIGNS",
    "ASSOC_UPDATE_STATUS",
    "CLASS_AUTHOR",
    "CONTENT_TYPE_CONSULTATION",
    "SUBMISSION_SET_ID",
    "AuthorValues",
    "IdMaker",
    "association",
    "author_classification",
    "author_values",
    "ce",
    "classification",
    "document_identifiers",
    "external_identifier",
    "localized",
    "submission_set",
    "xcn",
    "xon",
]
