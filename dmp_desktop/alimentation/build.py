"""From an upload request to what travels: the CDA document and its ITI-41 submission.

* the document: a PDF (images converted first) or a text wrapped in a CDA
  level 1 (:mod:`dmp_desktop.cda.level1`), its header built from the card
  holder, the structure and the patient's qualified INS; or the VSM as built
  by :func:`dmp_desktop.cda.vsm.build_vsm`. Its ``id`` is the XDS
  ``uniqueId``; a replacement keeps the replaced document's ``setId`` and
  takes the next ``versionNumber``.
* the metadata: type (J07) and the class it implies, format, date of the
  act, author and structure, the three visibility choices, the patient's
  INS and traits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from dmp_desktop import xmlsafe
from dmp_desktop.alimentation import convert, doctypes
from dmp_desktop.alimentation.request import UploadRequest
from dmp_desktop.cda import codes, valuesets
from dmp_desktop.cda.errors import CdaError
from dmp_desktop.cda.header import card_holder_code, read_header
from dmp_desktop.cda.level1 import Level1Document, wrap_pdf, wrap_text
from dmp_desktop.dates import PARIS, parse_iso_date
from dmp_desktop.dmp import iti41, rim
from dmp_desktop.dmp.feed_errors import UploadInvalidError
from dmp_desktop.domain.document import Code
from dmp_desktop.domain.practitioner import Practitioner
from dmp_desktop.domain.summary import CareProvider, CareStructure, Gender, PatientIdentity
from dmp_desktop.settings import Settings

OID_FORMAT_CODES = "1.3.6.1.4.1.19376.1.2.3"
FORMAT_PDF = Code(
    codes.FORMAT_CODE_PDF, "Document à corps non structuré en Pdf/A-1", OID_FORMAT_CODES
)
FORMAT_TEXT = Code(
    codes.FORMAT_CODE_TEXT, "Document à corps non structuré en texte brut", OID_FORMAT_CODES
)
FORMAT_VSM = Code(codes.FORMAT_CODE_VSM, "Volet de Synthèse Médicale", codes.FORMAT_CODE_VSM_SCHEME)
_PID8 = {Gender.FEMALE: "F", Gender.MALE: "M", Gender.UNKNOWN: "U"}


@dataclass(frozen=True)
class BuiltDocument:
    """The CDA as it will be sent and signed, with what the metadata take from it."""

    content: bytes
    unique_id: str
    format_code: Code
    creation_time: datetime


def author_provider(practitioner: Practitioner, settings: Settings) -> CareProvider:
    """The card holder acting for the structure of the card (else of the settings)."""
    extra = settings.extra or {}
    sector = practitioner.activity_sector or settings.activity_sector  # the card's first
    facility = sector if sector in valuesets.FACILITY_TYPES else "SA07"
    setting = str(extra.get("practice_setting", "AMBULATOIRE"))
    if setting not in valuesets.PRACTICE_SETTINGS:
        setting = "AMBULATOIRE"
    structure = CareStructure(
        id=practitioner.structure_id or settings.structure_id,
        name=practitioner.structure_name or str(extra.get("structure_name", "")),
        facility_type=facility,
        practice_setting=setting,
    )
    return CareProvider(practitioner, structure)


def author_values(provider: CareProvider) -> rim.AuthorValues:
    """``provider`` as the XDS author slots write it (person, structure, specialty)."""
    person = provider.practitioner
    specialty = card_holder_code(person)
    st = provider.structure
    return rim.AuthorValues(
        person=rim.xcn(person.national_id, person.family_name, person.given_name),
        institution=rim.xon(st.name, st.id) if st.id else None,
        specialty=(
            rim.ce(Code(specialty.code, specialty.label, specialty.system))
            if specialty is not None
            else None
        ),
    )


def structure_info(provider: CareProvider) -> iti41.StructureInfo:
    st = provider.structure
    return iti41.StructureInfo(
        id=st.id,
        name=st.name,
        facility_type=Code(
            st.facility_type,
            valuesets.FACILITY_TYPES.get(st.facility_type, st.facility_type),
            codes.OID_FACILITY_TYPE,
        ),
        practice_setting=Code(
            st.practice_setting,
            valuesets.PRACTICE_SETTINGS.get(st.practice_setting, st.practice_setting),
            codes.OID_PRACTICE_SETTING,
        ),
    )


def version_of(cda: bytes) -> tuple[str, int] | None:
    """(setId, versionNumber) of a CDA document, None when it does not say."""
    try:
        header = read_header(xmlsafe.parse(cda))
    except (xmlsafe.UnsafeXmlError, CdaError):
        return None
    if not header.set_id:
        return None
    return header.set_id, header.version or 1


def document_id_of(cda: bytes) -> str:
    """The ``ClinicalDocument/id`` of a pre-built CDA (its XDS unique id)."""
    try:
        header = read_header(xmlsafe.parse(cda))
    except (xmlsafe.UnsafeXmlError, CdaError):
        raise UploadInvalidError(["not_a_vsm"]) from None
    if not header.document_id:
        raise UploadInvalidError(["not_a_vsm"])
    return header.document_id


def build_document(
    req: UploadRequest,
    provider: CareProvider,
    *,
    unique_id: str,
    now: datetime,
    set_id: str | None = None,
    version: int = 1,
) -> BuiltDocument:
    """The CDA to send for ``req`` (raises UploadInvalidError / CdaError when it cannot)."""
    data = req.data()
    media, problems = convert.check_source(data, req.media_type)
    if problems:
        raise UploadInvalidError(problems)
    if media == convert.MEDIA_CDA:
        header = read_header(xmlsafe.parse(data))
        return BuiltDocument(data, document_id_of(data), FORMAT_VSM, header.effective_time or now)
    if req.identity is None:
        raise UploadInvalidError(["ins_not_qualified"])
    if now.tzinfo is None:
        now = now.astimezone(PARIS)  # a naive "now" is the machine's local time
    doc = Level1Document(
        patient=req.identity,
        author=provider,
        effective_time=now,
        type_code=req.type_code.code,
        title=req.title.strip(),
        document_id=unique_id,
        set_id=set_id,
        version=version,
        service_date=req.service_date,  # the act's date, as in the XDS metadata
    )
    if media == convert.MEDIA_TEXT:
        text = convert.decode_text(data)
        if text is None:
            raise UploadInvalidError(["unreadable_text"])
        return BuiltDocument(wrap_text(doc, text), unique_id, FORMAT_TEXT, now)
    pdf = convert.image_to_pdf(data) if media in convert.IMAGE_TYPES else data
    return BuiltDocument(wrap_pdf(doc, pdf), unique_id, FORMAT_PDF, now)


def source_patient_info(identity: PatientIdentity | None) -> tuple[str, ...]:
    if identity is None:
        return ()
    return iti41.source_patient_info(
        identity.birth_family_name,
        identity.birth_given_names,
        identity.birth_date,
        _PID8.get(identity.gender, "U"),
    )


def build_submission(
    req: UploadRequest,
    document: BuiltDocument,
    *,
    author: rim.AuthorValues,
    structure: iti41.StructureInfo,
    document_author: rim.AuthorValues | None = None,
    submission_unique_id: str,
    signature_unique_id: str,
    source_id: str,
    submission_time: datetime,
    replaces_entry_uuid: str | None = None,
) -> iti41.Submission:
    """The ITI-41 submission of ``document`` with the metadata ``req`` chose."""
    type_code = req.type_code
    if type_code.code in valuesets.DOCUMENT_TYPES:
        type_code = doctypes.type_code(type_code.code)
    meta = iti41.DocumentMetadata(
        unique_id=document.unique_id,
        patient=req.patient,
        title=req.title.strip(),
        comments=req.comments.strip(),
        type_code=type_code,
        class_code=doctypes.class_for_type(type_code.code),
        format_code=document.format_code,
        creation_time=document.creation_time,
        service_start=req.service_date,
        service_stop=req.service_date,
        confidentiality=iti41.confidentiality_codes(
            masked=req.masked,
            invisible_patient=req.invisible_patient,
            invisible_legal_reps=req.invisible_legal_reps,
        ),
        source_patient_info=source_patient_info(req.identity),
    )
    return iti41.Submission(
        unique_id=submission_unique_id,
        source_id=source_id,
        submission_time=submission_time,
        author=author,
        structure=structure,
        document=meta,
        content=document.content,
        signature_unique_id=signature_unique_id,
        replaces_entry_uuid=replaces_entry_uuid,
        document_author=document_author,
    )


def service_date_of(value: str) -> date:
    return parse_iso_date(value)


__all__ = [
    "FORMAT_PDF",
    "FORMAT_TEXT",
    "FORMAT_VSM",
    "BuiltDocument",
    "author_provider",
    "author_values",
    "build_document",
    "build_submission",
    "document_id_of",
    "source_patient_info",
    "structure_info",
    "version_of",
]
