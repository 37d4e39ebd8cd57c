"""The patient's own documents as CDA level 1: written by the patient in their space.

What the patient adds in "Mon espace santé" (a photo or a scan of a paper
record, their emergency contacts, their allergies and intolerances, their
advance directives) becomes a level-1 CDA (XDS-SD, PDF or text) whose
header names the patient as author, as the CI-SIS value sets describe a
patient-authored document:

- ``author/assignedAuthor/id``: the patient's INS (root = the INS authority);
- ``author/assignedAuthor/code``: ``EXP_PATIENT`` "Expression personnelle du
  patient" (1.2.250.1.213.1.1.4.6, value set J01), also the
  ``healthCareFacility/code`` (J02) and the service event's
  ``standardIndustryClassCode`` (J04);
- type codes of J07: ``FICHE-CONTACTS``, ``DOCPAT08`` (allergies, in the
  patient's medical profile), ``EXPPAT_3`` (directives anticipées),
  ``EXPPAT_2`` or a ``DOCPAT*`` code for the patient's own documents.

The text documents are plain French, one item per line starting with
``- ``, so that the next version (a contact or an allergy added) can be
made from the current one with :func:`read_items`.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime

from lxml import etree

from dmp_desktop.cda import codes, valuesets
from dmp_desktop.cda.errors import CdaFormatError, EmptyPayloadError
from dmp_desktop.cda.header import CodedValue, HeaderData, build_header
from dmp_desktop.cda.level1 import MEDIA_PDF, MEDIA_TEXT, TEMPLATE_IDS, extract_level1
from dmp_desktop.cda.xmlutil import H, clean, first, serialize, sub, xp
from dmp_desktop.domain.origin import (
    OID_NON_PS_ROLE,
    ROLE_EXP_PATIENT,
    ROLE_EXP_PATIENT_LABEL,
    TYPE_CONTACTS,
    TYPE_DIRECTIVES,
    TYPE_MEDICAL_PROFILE,
)
from dmp_desktop.domain.practitioner import Practitioner
from dmp_desktop.domain.summary import (
    CareProvider,
    CareStructure,
    Confidentiality,
    PatientIdentity,
)

ITEM_PREFIX = "- "
PATIENT_SPACE_NAME = "Mon espace santé"

# Types the patient may give to a document of their own (J07).
PATIENT_DOCUMENT_TYPES: tuple[str, ...] = (
    "EXPPAT_2",
    "DOCPAT01",
    "DOCPAT02",
    "DOCPAT03",
    "DOCPAT04",
    "DOCPAT05",
    "DOCPAT06",
    "DOCPAT07",
    "DOCPAT09",
)


@dataclass(frozen=True)
class EmergencyContact:
    """A person to warn: name, relationship to the patient, phone number."""

    name: str
    relationship: str
    phone: str

    def line(self) -> str:
        return f"{self.name.strip()} ({self.relationship.strip()}) : {self.phone.strip()}"


@dataclass(frozen=True)
class AllergyNote:
    """An allergy or an intolerance, in the patient's words."""

    agent: str
    reaction: str = ""
    intolerance: bool = False  # an intolerance, not an allergy

    def line(self) -> str:
        kind = "Intolérance" if self.intolerance else "Allergie"
        text = f"{kind} : {self.agent.strip()}"
        if self.reaction.strip():
            text += f" — réaction : {self.reaction.strip()}"
        return text


@dataclass(frozen=True)
class PatientDocumentHeader:
    """What the header of a patient-authored document needs."""

    patient: PatientIdentity
    type_code: str  # J07
    title: str
    effective_time: datetime
    document_id: str
    set_id: str
    version: int = 1


def patient_author(patient: PatientIdentity) -> CareProvider:
    """The patient as the header's author (name from the INS traits)."""
    return CareProvider(
        Practitioner(
            national_id=patient.ins.value,
            family_name=patient.birth_family_name,
            given_name=patient.first_given_name,
            profession="Patient",
        ),
        CareStructure(
            id=patient.ins.value,
            name=PATIENT_SPACE_NAME,
            facility_type=ROLE_EXP_PATIENT,
            practice_setting=ROLE_EXP_PATIENT,
        ),
    )


def build_patient_document(header: PatientDocumentHeader, payload: bytes, media_type: str) -> bytes:
    """A level-1 CDA (PDF or UTF-8 text) authored by the patient."""
    if not payload.strip():
        raise EmptyPayloadError()
    if media_type == MEDIA_PDF and payload.lstrip()[:5] != b"%PDF-":
        raise CdaFormatError("the payload is not a PDF file")
    if media_type not in (MEDIA_PDF, MEDIA_TEXT):
        raise CdaFormatError(f"unsupported media type {media_type}")
    if header.type_code not in valuesets.DOCUMENT_TYPES:
        raise CdaFormatError(f"unknown document type {header.type_code}")
    system, label = valuesets.DOCUMENT_TYPES[header.type_code]
    data = HeaderData(
        patient=header.patient,
        author=patient_author(header.patient),
        effective_time=header.effective_time,
        document_id=header.document_id,
        set_id=header.set_id,
        version=header.version,
        type_code=CodedValue(
            header.type_code, system, label, "LOINC" if system == codes.OID_LOINC else None
        ),
        title=header.title.strip() or label,
        confidentiality=Confidentiality.NORMAL,
        template_ids=TEMPLATE_IDS,
    )
    root = build_header(data)
    mark_patient_author(root, header.patient)
    body = sub(sub(root, "component"), "nonXMLBody")
    text = sub(body, "text", {"mediaType": media_type, "representation": "B64"})
    encoded = base64.b64encode(payload).decode("ascii")
    text.text = "\n".join(encoded[i : i + 76] for i in range(0, len(encoded), 76))
    return serialize(root)


def mark_patient_author(root: etree._Element, patient: PatientIdentity) -> None:
    """The patient's INS as author id, and EXP_PATIENT where the header gives a role or place."""
    role = {
        "code": ROLE_EXP_PATIENT,
        "displayName": ROLE_EXP_PATIENT_LABEL,
        "codeSystem": OID_NON_PS_ROLE,
    }
    for path in (
        "h:author/h:assignedAuthor",
        "h:legalAuthenticator/h:assignedEntity",
        "h:documentationOf/h:serviceEvent/h:performer/h:assignedEntity",
    ):
        for entity in xp(root, path):
            ident = first(entity, "h:id")
            if ident is not None:
                ident.set("root", patient.ins.oid)
                ident.set("extension", patient.ins.value)
                if first(entity, "h:code") is None:
                    code = etree.Element(H + "code")
                    for key, value in role.items():
                        code.set(key, value)
                    ident.addnext(code)
    for path in (
        "h:componentOf/h:encompassingEncounter/h:location/h:healthCareFacility/h:code",
        "h:documentationOf/h:serviceEvent/h:performer/h:assignedEntity"
        "/h:representedOrganization/h:standardIndustryClassCode",
    ):
        for node in xp(root, path):
            for key, value in role.items():
                node.set(key, value)


# --- the text documents ---------------------------------------------------------------------


CONTACTS_HEADING = "Personnes à prévenir en cas d'urgence"
ALLERGIES_HEADING = "Mes allergies et intolérances (déclarées par le patient)"


def items_text(heading: str, items: list[str]) -> str:
    """A heading, then one ``- `` line per item (what :func:`read_items` reads back)."""
    lines = [heading, ""] + [ITEM_PREFIX + " ".join(clean(item).split()) for item in items]
    return "\n".join(lines)


def contacts_text(contacts: list[EmergencyContact]) -> str:
    return items_text(CONTACTS_HEADING, [c.line() for c in contacts])


def allergies_text(allergies: list[AllergyNote]) -> str:
    return items_text(ALLERGIES_HEADING, [a.line() for a in allergies])


def directives_text(text: str) -> str:
    return "Mes directives anticipées\n\n" + clean(text)


def read_items(document: bytes) -> list[str]:
    """The ``- `` lines of a text document written by :func:`contacts_text` or alike."""
    media_type, payload = extract_level1(document)
    if media_type != MEDIA_TEXT:
        return []
    text = payload.decode("utf-8", errors="replace")
    return [line[len(ITEM_PREFIX) :] for line in text.splitlines() if line.startswith(ITEM_PREFIX)]


TEXT_TITLES = {
    TYPE_CONTACTS: "Personnes à prévenir",
    TYPE_MEDICAL_PROFILE: "Allergies et intolérances",
    TYPE_DIRECTIVES: "Directives anticipées",
}
