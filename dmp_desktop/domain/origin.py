"""Who added a document to the DMP: a professional, the patient, or the Assurance Maladie.

Facts from the CI-SIS value sets (``JDV_J01/J02/J04``, ``JDV_J07_XdsTypeCode``):

- the patient's own documents carry the classCode ``90`` (TRE_A03) and the
  code ``EXP_PATIENT`` "Expression personnelle du patient" (code system
  1.2.250.1.213.1.1.4.6) as authorSpecialty, healthcareFacilityTypeCode and
  practiceSettingCode; their types are the ``DOCPAT*`` and ``EXPPAT_*`` codes
  and ``FICHE-CONTACTS``;
- the Assurance Maladie's documents carry ``ALIM_AM`` "Alimentation
  automatique à partir du Système d'Information de l'Assurance Maladie" (same
  code system) as authorSpecialty and the type ``REMB`` "Données de
  remboursement" (classCode ``60``).

Plain data, no I/O: shared by the list model, the viewer and the training host.
"""

from __future__ import annotations

import enum

from dmp_desktop.domain.document import PATIENT_AUTHORED_CLASS, DocumentEntry

OID_NON_PS_ROLE = "1.2.250.1.213.1.1.4.6"
OID_DOC_TYPES = "1.2.250.1.213.1.1.4.12"
ROLE_EXP_PATIENT = "EXP_PATIENT"
ROLE_EXP_PATIENT_LABEL = "Expression personnelle du patient"
ROLE_ALIM_AM = "ALIM_AM"
ROLE_ALIM_AM_LABEL = (
    "Alimentation automatique à partir du Système d'Information de l'Assurance Maladie"
)
INSURER_CLASS = "60"
INSURER_CLASS_LABEL = "Données de remboursement"

# Types kept in the patient's own space (J07, 1.2.250.1.213.1.1.4.12).
TYPE_CONTACTS = "FICHE-CONTACTS"
TYPE_MEDICAL_PROFILE = "DOCPAT08"  # the patient's allergies and intolerances live here
TYPE_DIRECTIVES = "EXPPAT_3"
TYPE_WISHES = "EXPPAT_1"
TYPE_OTHER_PATIENT_DOCUMENT = "EXPPAT_2"
TYPE_CARE_HISTORY = "REMB"

# The words a doctor reads in the list for the patient's-space types.
PATIENT_SPACE_LABELS: dict[str, str] = {
    TYPE_CONTACTS: "Personnes à prévenir (contacts d'urgence)",
    TYPE_MEDICAL_PROFILE: "Allergies et intolérances (profil médical du patient)",
    TYPE_DIRECTIVES: "Directives anticipées",
    TYPE_WISHES: "Volontés et droits du patient",
}
CARE_HISTORY_LABEL = "Historique des soins remboursés (Assurance Maladie)"


class DocumentOrigin(enum.Enum):
    PROFESSIONAL = "professional"
    PATIENT = "patient"
    INSURER = "insurer"

    @property
    def label_fr(self) -> str:
        return {
            DocumentOrigin.PROFESSIONAL: "Professionnel de santé",
            DocumentOrigin.PATIENT: "Ajouté par le patient",
            DocumentOrigin.INSURER: "Assurance Maladie",
        }[self]


def _author_role(entry: DocumentEntry) -> str:
    author = entry.main_author
    if author is None or author.specialty is None:
        return ""
    return author.specialty.code


def origin_of(entry: DocumentEntry) -> DocumentOrigin:
    """Who added ``entry`` (class 90 or EXP_PATIENT: the patient; REMB or ALIM_AM: the insurer).

    The class code alone never makes a document the insurer's: the role or the type does.
    """
    role = _author_role(entry)
    if entry.class_code.code == PATIENT_AUTHORED_CLASS or role == ROLE_EXP_PATIENT:
        return DocumentOrigin.PATIENT
    if role == ROLE_ALIM_AM or entry.type_code.code == TYPE_CARE_HISTORY:
        return DocumentOrigin.INSURER
    return DocumentOrigin.PROFESSIONAL


def in_patient_space(entry: DocumentEntry) -> bool:
    """Emergency contacts, allergies, directives and the patient's own documents."""
    return (
        entry.type_code.code in PATIENT_SPACE_LABELS or origin_of(entry) is DocumentOrigin.PATIENT
    )


def type_label(entry: DocumentEntry) -> str:
    """The French type a doctor reads: clearer words for the patient's-space types."""
    code = entry.type_code.code
    if code in PATIENT_SPACE_LABELS:
        return PATIENT_SPACE_LABELS[code]
    if code == TYPE_CARE_HISTORY:
        return CARE_HISTORY_LABEL
    return entry.type_code.display or code
