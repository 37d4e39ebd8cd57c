"""CDA level 1 ("alimentation" of the DMP with a PDF or a text): wrap and unwrap.

The document has exactly the templateIds HL7 France, CI-SIS and IHE XDS-SD,
a type code from value set J07, the same header as the VSM (patient with the
INS traits, author, custodian, legal authenticator, service event, encounter)
and a ``nonXMLBody`` whose ``text`` holds the payload in base 64. Images are
converted to PDF before they get here.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import date, datetime

from dmp_desktop import xmlsafe
from dmp_desktop.cda import codes, valuesets
from dmp_desktop.cda.errors import (
    CdaFormatError,
    EmptyPayloadError,
    SummaryInvalidError,
    SummaryProblem,
)
from dmp_desktop.cda.header import (
    CodedValue,
    HeaderData,
    build_header,
    check_header_parts,
    require_clinical_document,
)
from dmp_desktop.cda.xmlutil import first, new_oid, serialize, sub
from dmp_desktop.domain.summary import CareProvider, Confidentiality, PatientIdentity

MEDIA_PDF = "application/pdf"
MEDIA_TEXT = "text/plain"
MEDIA_TYPES = (MEDIA_PDF, MEDIA_TEXT)

FORMAT_CODES = {MEDIA_PDF: codes.FORMAT_CODE_PDF, MEDIA_TEXT: codes.FORMAT_CODE_TEXT}

TEMPLATE_IDS = (
    (codes.TPL_HL7_FRANCE, None),
    (codes.TPL_CI_SIS, None),
    (codes.TPL_XDS_SD, None),
)


@dataclass
class Level1Document:
    """Header data of a level-1 document; ``type_code`` is a code of value set J07."""

    patient: PatientIdentity
    author: CareProvider
    effective_time: datetime
    type_code: str
    title: str | None = None
    document_id: str | None = None
    set_id: str | None = None
    version: int = 1
    confidentiality: Confidentiality = Confidentiality.NORMAL
    # The date of the act (XDS serviceStartTime), written in serviceEvent and
    # encompassingEncounter; None: the document's time.
    service_date: date | None = None

    @property
    def type_label(self) -> str:
        return valuesets.DOCUMENT_TYPES[self.type_code][1]


def check_level1(doc: Level1Document) -> list[SummaryProblem]:
    problems = check_header_parts(
        patient=doc.patient,
        author=doc.author,
        treating_physician=None,
        effective_time=doc.effective_time,
        document_id=doc.document_id,
        set_id=doc.set_id,
        version=doc.version,
        title=doc.title or "-",
    )
    if doc.type_code not in valuesets.DOCUMENT_TYPES:
        problems.append(SummaryProblem("type_code", "unknown_code"))
    return problems


def wrap_pdf(doc: Level1Document, pdf: bytes) -> bytes:
    """A level-1 CDA carrying ``pdf``; refuses empty input and anything that is not a PDF."""
    if not pdf.strip():
        raise EmptyPayloadError()
    if not pdf.lstrip()[:5] == b"%PDF-":
        raise CdaFormatError("the payload is not a PDF file")
    return build_level1(doc, pdf, MEDIA_PDF)


def wrap_text(doc: Level1Document, text: str) -> bytes:
    """A level-1 CDA carrying ``text`` (UTF-8, ``text/plain``); refuses blank text."""
    if not text.strip():
        raise EmptyPayloadError()
    return build_level1(doc, text.encode("utf-8"), MEDIA_TEXT)


def build_level1(doc: Level1Document, payload: bytes, media_type: str) -> bytes:
    if not payload or not payload.strip():
        raise EmptyPayloadError()
    if media_type not in MEDIA_TYPES:
        raise CdaFormatError(f"unsupported media type {media_type}")
    problems = check_level1(doc)
    if problems:
        raise SummaryInvalidError(problems)
    system, label = valuesets.DOCUMENT_TYPES[doc.type_code]
    header = HeaderData(
        patient=doc.patient,
        author=doc.author,
        effective_time=doc.effective_time,
        document_id=doc.document_id or new_oid(),
        set_id=doc.set_id or new_oid(),
        version=doc.version,
        type_code=CodedValue(
            doc.type_code,
            system,
            label,
            "LOINC" if system == codes.OID_LOINC else None,
        ),
        title=doc.title or label,
        confidentiality=doc.confidentiality,
        template_ids=TEMPLATE_IDS,
        service_date=doc.service_date,
    )
    root = build_header(header)
    body = sub(sub(root, "component"), "nonXMLBody")
    text = sub(body, "text", {"mediaType": media_type, "representation": "B64"})
    encoded = base64.b64encode(payload).decode("ascii")
    # Lines of 76 characters, as MIME writes base 64: readable and diff-friendly.
    text.text = "\n".join(encoded[i : i + 76] for i in range(0, len(encoded), 76))
    return serialize(root)


def extract_level1(data: bytes) -> tuple[str, bytes]:
    """(media type, payload bytes) of a level-1 CDA; refuses documents without a payload."""
    root = xmlsafe.parse(data)
    require_clinical_document(root)
    text = first(root, "h:component/h:nonXMLBody/h:text")
    if text is None:
        raise CdaFormatError("not a level-1 document (no nonXMLBody/text)")
    if first(text, "h:reference") is not None and not (text.text or "").strip():
        raise CdaFormatError("the payload is a reference to an external file")
    media_type = text.get("mediaType") or MEDIA_TEXT
    representation = text.get("representation") or "TXT"
    content = "".join(text.itertext())
    if representation == "B64":
        compact = "".join(content.split())
        try:
            payload = base64.b64decode(compact, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise CdaFormatError("the base 64 payload is corrupt") from exc
    elif representation == "TXT":
        payload = content.encode("utf-8")
    else:
        raise CdaFormatError(f"unknown representation {representation}")
    if not payload.strip():
        raise EmptyPayloadError()
    return media_type, payload
