"""TD2.1: feeding the DMP with a document (IHE ITI-41 ProvideAndRegisterDocumentSet-b, MTOM).

The request is shaped like the official ``TD2.1 - Alimentation_requête.xml``:
a ``ProvideAndRegisterDocumentSetRequest`` (prefixes ``ns3`` for lcm, ``ns4``
for XDS.b, rim as the default namespace) holding

* the submission set (``SubmissionSet01``): submission time, title, author
  (the card holder, specialty and structure), content type, patient id,
  source id (this software's OID), unique id;
* the document (``Document01``, ``mimeType="text/xml"``): creation time,
  language, legal authenticator (the author), service start/stop (the date of
  the act), source patient id and info (INS and traits), title, author, class,
  type, confidentiality (``N`` plus the DMP flags ``MASQUE_PS``,
  ``INVISIBLE_PATIENT``, ``INVISIBLE_REPRESENTANTS_LEGAUX`` the professional
  chose), format, facility type, practice setting, patient id, unique id;
* the XAdES signature of the submission (``Signature01``, class
  ``urn:oid:1.3.6.1.4.1.19376.1.2.1.1.1``, type ``E1762``, format
  ``http://www.w3.org/2000/09/xmldsig#``, event ``1.2.840.10065.1.12.1.14``,
  confidentiality ``N``, ``MASQUE_PS``, ``INVISIBLE_PATIENT`` as in the example);
* the associations: ``HasMember`` (submission set -> each document, status
  ``Original``), ``signs`` (signature -> submission set) and, to replace a
  document, ``RPLC`` (new document -> the old entry's entryUUID: the old one
  becomes Deprecated);
* one ``ns4:Document`` per document, its bytes in an MTOM part
  (``<xop:Include href="cid:…"/>``).

The answer is a ``RegistryResponse`` (official ``TD2.1 - Alimentation_réponse.xml``):
success, or ``DmpServiceError(errorCode, codeContext)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from lxml import etree

from dmp_desktop.dates import hl7_date, xds_dtm
from dmp_desktop.dmp import ebrs, rim
from dmp_desktop.dmp.ebrs import LCM, QUERY, RIM, RS, RegistryError
from dmp_desktop.dmp.mtom import MimePart, new_content_id, xop_include
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
    XDSB,
    hl7_escape,
)
from dmp_desktop.dmp.xmlutil import Element, qn
from dmp_desktop.domain.document import Code, Confidentiality
from dmp_desktop.domain.patient import Ins
from dmp_desktop.errors import DmpProtocolError

ACTION = "urn:ihe:iti:2007:ProvideAndRegisterDocumentSet-b"
ACTION_RESPONSE = "urn:ihe:iti:2007:ProvideAndRegisterDocumentSet-bResponse"
SERVICE = "repository"

DOCUMENT_ID = "Document01"
SIGNATURE_ID = "Signature01"

OID_CONFIDENTIALITY_HL7 = "2.16.840.1.113883.5.25"
OID_CONFIDENTIALITY_DMP = "1.2.250.1.213.1.1.4.13"
CONFIDENTIALITY_NORMAL = Code("N", "Normal", OID_CONFIDENTIALITY_HL7)
FLAG_LABELS: dict[Confidentiality, str] = {
    Confidentiality.MASKED_PS: "Masqué aux professionnels de santé",
    Confidentiality.INVISIBLE_PATIENT: "Non visible par le patient",
    Confidentiality.INVISIBLE_LEGAL_REPS: "Non visible par les représentants légaux du patient",
}

# The signature document's metadata (official TD2.1 request, Signature01).
SIGNATURE_CLASS = Code("urn:oid:1.3.6.1.4.1.19376.1.2.1.1.1", "Digital Signature", "URN")
SIGNATURE_TYPE = Code("E1762", "Full Document", "ASTM")
SIGNATURE_FORMAT = Code("http://www.w3.org/2000/09/xmldsig#", "Default Signature Style", "URN")
SIGNATURE_EVENT = Code("1.2.840.10065.1.12.1.14", "Source", "1.2.840.10065.1.12")
SIGNATURE_LANGUAGE = "art"


def flag_code(flag: Confidentiality) -> Code:
    return Code(flag.value, FLAG_LABELS[flag], OID_CONFIDENTIALITY_DMP)


def confidentiality_codes(
    *, masked: bool, invisible_patient: bool, invisible_legal_reps: bool
) -> tuple[Code, ...]:
    """``N`` and the DMP flags chosen; the forbidden pair is the caller's to refuse."""
    codes = [CONFIDENTIALITY_NORMAL]
    if masked:
        codes.append(flag_code(Confidentiality.MASKED_PS))
    if invisible_patient:
        codes.append(flag_code(Confidentiality.INVISIBLE_PATIENT))
    if invisible_legal_reps:
        codes.append(flag_code(Confidentiality.INVISIBLE_LEGAL_REPS))
    return tuple(codes)


@dataclass(frozen=True)
class StructureInfo:
    """The author's structure as the metadata need it."""

    id: str
    name: str
    facility_type: Code  # J02, 1.2.250.1.71.4.2.4 (e.g. SA07 cabinet individuel)
    practice_setting: Code  # J04, 1.2.250.1.213.1.1.4.9 (e.g. AMBULATOIRE)


@dataclass(frozen=True)
class DocumentMetadata:
    """Everything the document's ``ExtrinsicObject`` says (the bytes travel apart)."""

    unique_id: str
    patient: Ins
    title: str
    type_code: Code
    class_code: Code
    format_code: Code
    creation_time: datetime
    service_start: date | datetime
    confidentiality: tuple[Code, ...]
    service_stop: date | datetime | None = None
    comments: str = ""
    mime_type: str = "text/xml"
    language: str = "fr-FR"
    source_patient_info: tuple[str, ...] = ()  # PID-5|…, PID-7|…, PID-8|…
    event_codes: tuple[Code, ...] = ()


@dataclass(frozen=True)
class Submission:
    """One ITI-41 submission: one document, its signature, maybe the document it replaces."""

    unique_id: str  # XDSSubmissionSet.uniqueId
    source_id: str  # XDSSubmissionSet.sourceId (this software's OID)
    submission_time: datetime
    author: AuthorValues
    structure: StructureInfo
    document: DocumentMetadata
    content: bytes = field(repr=False)  # the CDA document, exactly as sent and signed
    signature_unique_id: str = ""
    replaces_entry_uuid: str | None = None  # RPLC target: the old document's entryUUID
    content_type: Code = rim.CONTENT_TYPE_CONSULTATION
    # The document's author when it is not the submitter (a secretary sending for
    # a professional of the structure); None: ``author`` wrote the document.
    document_author: AuthorValues | None = None

    @property
    def patient(self) -> Ins:
        return self.document.patient

    @property
    def document_author_values(self) -> AuthorValues:
        """Who wrote the document (authorPerson, legalAuthenticator)."""
        return self.document_author or self.author


def _date_value(value: date | datetime) -> str:
    return xds_dtm(value)


def _document_entry(
    parent: Element,
    ids: IdMaker,
    object_id: str,
    meta: DocumentMetadata,
    submission: Submission,
    *,
    legal_authenticator: str,
    source_patient_id: str,
) -> Element:
    eo = etree.SubElement(parent, qn(RIM, "ExtrinsicObject"))
    eo.set("id", object_id)
    eo.set("mimeType", meta.mime_type)
    eo.set("objectType", OBJECT_TYPE_STABLE)
    ebrs.add_slot(eo, "creationTime", [xds_dtm(meta.creation_time)])
    ebrs.add_slot(eo, "languageCode", [meta.language])
    ebrs.add_slot(eo, "legalAuthenticator", [legal_authenticator])
    ebrs.add_slot(eo, "serviceStartTime", [_date_value(meta.service_start)])
    ebrs.add_slot(eo, "serviceStopTime", [_date_value(meta.service_stop or meta.service_start)])
    ebrs.add_slot(eo, "sourcePatientId", [source_patient_id])
    if meta.source_patient_info:
        ebrs.add_slot(eo, "sourcePatientInfo", list(meta.source_patient_info))
    rim.localized(eo, "Name", meta.title)
    if meta.comments:
        rim.localized(eo, "Description", meta.comments)
    rim.author_classification(eo, ids, CLASS_AUTHOR, object_id, submission.document_author_values)
    rim.classification(eo, ids, CLASS_CLASS_CODE, object_id, meta.class_code)
    rim.classification(eo, ids, CLASS_TYPE_CODE, object_id, meta.type_code)
    for code in meta.confidentiality:
        rim.classification(eo, ids, CLASS_CONFIDENTIALITY, object_id, code)
    rim.classification(eo, ids, CLASS_FORMAT_CODE, object_id, meta.format_code)
    rim.classification(eo, ids, CLASS_FACILITY_TYPE, object_id, submission.structure.facility_type)
    rim.classification(
        eo, ids, CLASS_PRACTICE_SETTING, object_id, submission.structure.practice_setting
    )
    for code in meta.event_codes:
        rim.classification(eo, ids, CLASS_EVENT_CODE, object_id, code)
    rim.document_identifiers(eo, ids, object_id, meta.patient, meta.unique_id)
    return eo


def signature_metadata(submission: Submission) -> DocumentMetadata:
    """The signature's DocumentEntry (official Signature01)."""
    return DocumentMetadata(
        unique_id=submission.signature_unique_id,
        patient=submission.patient,
        title="Source",
        type_code=SIGNATURE_TYPE,
        class_code=SIGNATURE_CLASS,
        format_code=SIGNATURE_FORMAT,
        creation_time=submission.submission_time,
        service_start=submission.submission_time,
        service_stop=submission.submission_time,
        confidentiality=(
            CONFIDENTIALITY_NORMAL,
            flag_code(Confidentiality.MASKED_PS),
            flag_code(Confidentiality.INVISIBLE_PATIENT),
        ),
        language=SIGNATURE_LANGUAGE,
        event_codes=(SIGNATURE_EVENT,),
    )


def build_request(submission: Submission, signature: bytes) -> tuple[Element, list[MimePart]]:
    """The ``ProvideAndRegisterDocumentSetRequest`` body and its MTOM parts.

    ``signature`` is the XAdES document (:func:`dmp_desktop.dmp.xades.sign_submission`)
    over ``submission.content``.
    """
    if not submission.content:
        raise ValueError("empty document")
    if not submission.signature_unique_id:
        raise ValueError("the signature needs its unique id")
    root = etree.Element(
        qn(XDSB, "ProvideAndRegisterDocumentSetRequest"),
        nsmap={None: RIM, "ns2": RS, "ns3": LCM, "ns4": XDSB, "ns5": QUERY},
    )
    request = etree.SubElement(root, qn(LCM, "SubmitObjectsRequest"))
    objects = etree.SubElement(request, qn(RIM, "RegistryObjectList"))
    ids = IdMaker()
    meta = submission.document
    rim.submission_set(
        objects,
        ids,
        unique_id=submission.unique_id,
        source_id=submission.source_id,
        patient=submission.patient,
        submission_time=submission.submission_time,
        author=submission.author,
        title=meta.title,
        comments=meta.comments,
        content_type=submission.content_type,
    )
    ins_cx = submission.patient.cx()
    _document_entry(
        objects,
        ids,
        DOCUMENT_ID,
        meta,
        submission,
        legal_authenticator=submission.document_author_values.person,
        source_patient_id=ins_cx,
    )
    _document_entry(
        objects,
        ids,
        SIGNATURE_ID,
        signature_metadata(submission),
        submission,
        legal_authenticator=submission.document_author_values.person,
        source_patient_id=ins_cx,
    )
    original = [("SubmissionSetStatus", ["Original"])]
    rim.association(
        objects, ids, rim.ASSOC_HAS_MEMBER, rim.SUBMISSION_SET_ID, DOCUMENT_ID, original
    )
    rim.association(
        objects, ids, rim.ASSOC_HAS_MEMBER, rim.SUBMISSION_SET_ID, SIGNATURE_ID, original
    )
    rim.association(objects, ids, rim.ASSOC_SIGNS, SIGNATURE_ID, rim.SUBMISSION_SET_ID, original)
    if submission.replaces_entry_uuid:
        rim.association(objects, ids, rim.ASSOC_RPLC, DOCUMENT_ID, submission.replaces_entry_uuid)
    parts: list[MimePart] = []
    for object_id, data in ((DOCUMENT_ID, submission.content), (SIGNATURE_ID, signature)):
        document = etree.SubElement(root, qn(XDSB, "Document"))
        document.set("id", object_id)
        content_id = new_content_id()
        xop_include(document, content_id)
        parts.append(MimePart(content_id, data, "text/xml"))
    return root, parts


def parse_response(body: Element) -> list[RegistryError]:
    """The ``RegistryResponse``: raise its first error, return its warnings."""
    if body is None or body.tag != qn(RS, "RegistryResponse"):
        raise DmpProtocolError("answer is not a RegistryResponse")
    return ebrs.check_response(body)


def source_patient_info(
    family_name: str, given_names: Sequence[str], birth_date: date, gender: str
) -> tuple[str, ...]:
    """``sourcePatientInfo`` values: PID-5 (birth names), PID-7 (birth date), PID-8 (sex)."""
    given = hl7_escape(" ".join(given_names))
    return (
        f"PID-5|{hl7_escape(family_name)}^{given}^^^^^L",
        f"PID-7|{hl7_date(birth_date)}",
        f"PID-8|{gender}",
    )


__all__ = [
    "ACTION",
    "ACTION_RESPONSE",
    "CONFIDENTIALITY_NORMAL",
    "DOCUMENT_ID",
    "SERVICE",
    "SIGNATURE_ID",
    "DocumentMetadata",
    "StructureInfo",
    "Submission",
    "build_request",
    "confidentiality_codes",
    "flag_code",
    "parse_response",
    "signature_metadata",
    "source_patient_info",
]
