"""A document of the DMP as the registry describes it (XDS DocumentEntry), and searches.

Shared by the wire (dmp/xds*), the training host's registry, the list model
and the viewer. Plain data, no I/O.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import date, datetime

from dmp_desktop.domain.patient import Ins

# Class code (TRE_A03) of documents written by the patient.
PATIENT_AUTHORED_CLASS = "90"


class DocumentStatus(enum.Enum):
    APPROVED = "urn:oasis:names:tc:ebxml-regrep:StatusType:Approved"
    DEPRECATED = "urn:oasis:names:tc:ebxml-regrep:StatusType:Deprecated"
    ARCHIVED = "urn:asip:ci-sis:2010:StatusType:Archived"
    DELETED = "urn:asip:ci-sis:2010:StatusType:Deleted"

    @property
    def label_fr(self) -> str:
        return {
            DocumentStatus.APPROVED: "actif",
            DocumentStatus.DEPRECATED: "remplacé (obsolète)",
            DocumentStatus.ARCHIVED: "archivé",
            DocumentStatus.DELETED: "supprimé",
        }[self]


class Confidentiality(enum.Enum):
    """DMP confidentiality codes (J58, 1.2.250.1.213.1.1.4.13) beside N/R/V."""

    MASKED_PS = "MASQUE_PS"
    INVISIBLE_PATIENT = "INVISIBLE_PATIENT"
    INVISIBLE_LEGAL_REPS = "INVISIBLE_REPRESENTANTS_LEGAUX"


@dataclass(frozen=True, slots=True)
class Code:
    """A coded value: code, display name, coding scheme (OID or name)."""

    code: str
    display: str = ""
    scheme: str = ""


@dataclass(frozen=True, slots=True)
class Author:
    national_id: str | None = None
    family_name: str = ""
    given_name: str = ""
    role: str = ""  # authorRole, e.g. the profession
    specialty: Code | None = None
    institution: str = ""
    institution_id: str | None = None

    @property
    def display_name(self) -> str:
        return f"{self.given_name.title()} {self.family_name.upper()}".strip()


@dataclass(frozen=True, slots=True)
class DocumentEntry:
    """One DocumentEntry of the registry (metadata only; the bytes are retrieved apart)."""

    entry_uuid: str  # urn:uuid:... (registry object id)
    unique_id: str  # XDSDocumentEntry.uniqueId (OID or OID^ext): de-duplication key
    repository_id: str
    patient: Ins
    title: str
    type_code: Code  # J07 (LOINC or CI-SIS)
    class_code: Code  # A03
    format_code: Code  # J60
    mime_type: str = "text/xml"
    creation_time: datetime | None = None
    service_start: datetime | None = None
    service_stop: datetime | None = None
    submission_time: datetime | None = None
    authors: tuple[Author, ...] = ()
    confidentiality: tuple[Code, ...] = ()
    status: DocumentStatus = DocumentStatus.APPROVED
    practice_setting: Code | None = None
    facility_type: Code | None = None
    event_codes: tuple[Code, ...] = ()
    language: str = "fr-FR"
    size: int | None = None
    hash_sha1: str | None = None
    comments: str = ""
    version: str | None = None  # logical version, when the registry gives one
    extra: dict[str, str] = field(default_factory=dict)

    def has_flag(self, flag: Confidentiality) -> bool:
        return any(c.code == flag.value for c in self.confidentiality)

    @property
    def masked_from_professionals(self) -> bool:
        return self.has_flag(Confidentiality.MASKED_PS)

    @property
    def invisible_to_patient(self) -> bool:
        return self.has_flag(Confidentiality.INVISIBLE_PATIENT)

    @property
    def invisible_to_legal_reps(self) -> bool:
        return self.has_flag(Confidentiality.INVISIBLE_LEGAL_REPS)

    @property
    def patient_authored(self) -> bool:
        return self.class_code.code == PATIENT_AUTHORED_CLASS

    @property
    def main_author(self) -> Author | None:
        return self.authors[0] if self.authors else None


@dataclass(frozen=True)
class DocumentQuery:
    """A FindDocuments search. Defaults follow the DMP rules: active documents, 2 years."""

    patient: Ins
    since: date | None = None  # on serviceStartTime / creationTime; None = no lower bound
    until: date | None = None
    statuses: frozenset[DocumentStatus] = frozenset({DocumentStatus.APPROVED})
    # Extra visibility the user asked for (masked: médecin traitant only).
    include_masked: bool = False
    include_invisible_patient: bool = True
    include_invisible_legal_reps: bool = True
    type_codes: tuple[Code, ...] = ()
    class_codes: tuple[Code, ...] = ()


@dataclass(frozen=True)
class RetrievedDocument:
    unique_id: str
    repository_id: str
    mime_type: str
    content: bytes = field(repr=False)
