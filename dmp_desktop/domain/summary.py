"""The medical summary (VSM, volet de synthèse médicale) as the editor sees it.

Plain dataclasses, no XML and no Qt: :mod:`dmp_desktop.cda.vsm` turns a
:class:`MedicalSummary` into a CDA document and back. The JSON form used by
``dmp vsm build --from summary.json`` is :func:`summary_to_json` /
:func:`summary_from_json`, documented in ``docs/vsm-json.md``: English keys,
ISO dates, unknown keys refused so that a typo never goes unnoticed.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from dmp_desktop.domain.patient import Ins
from dmp_desktop.domain.practitioner import Practitioner

JSON_SCHEMA_ID = "dmp-desktop/vsm-summary/1"  # also declared by summary_json


class SummaryFormatError(ValueError):
    """A summary in JSON that cannot be read.

    ``path`` says where (``allergies[2].agnet``), ``code`` why (``unknown_key``),
    ``reason`` the same in French; ``problems`` lists every (path, code) found and
    :meth:`french` words them all. No health data: paths and reasons only, never
    the values.
    """

    def __init__(self, path: str, code: str, problems: list[tuple[str, str]] | None = None) -> None:
        super().__init__(f"{path or '<root>'}: {code}")
        self.path = path
        self.code = code
        self.problems = problems or [(path, code)]
        self.reason = _reason_fr(code)

    def french(self) -> str:
        """One line per problem: « allergies[0].agnet : clé inconnue (faute de frappe ?) »."""
        return "\n".join(f"{path or 'racine'} : {_reason_fr(code)}" for path, code in self.problems)


def _reason_fr(code: str) -> str:
    from dmp_desktop.domain.summary_json import REASONS_FR

    return REASONS_FR.get(code, code)


# --- small value types ---------------------------------------------------------------


_PARTIAL_DATE_RE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")
_HL7_DATE_RE = re.compile(r"^(\d{4})(\d{2})?(\d{2})?")


@dataclass(frozen=True, order=True)
class PartialDate:
    """A date known to the year, the month or the day ("1998", "2015-06", "2019-08-11")."""

    year: int
    month: int | None = None
    day: int | None = None

    def __post_init__(self) -> None:
        if self.day is not None and self.month is None:
            raise ValueError("a day needs a month")
        # Raises ValueError for impossible dates (month 13, 30 February...).
        date(self.year, self.month or 1, self.day or 1)

    @classmethod
    def of(cls, value: date) -> PartialDate:
        return cls(value.year, value.month, value.day)

    @classmethod
    def parse(cls, text: str) -> PartialDate:
        """Parse ISO forms ``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD``."""
        match = _PARTIAL_DATE_RE.match(text.strip())
        if not match:
            raise ValueError(f"not a date (YYYY, YYYY-MM or YYYY-MM-DD): {text!r}")
        year, month, day = match.groups()
        return cls(int(year), int(month) if month else None, int(day) if day else None)

    @classmethod
    def from_hl7(cls, value: str) -> PartialDate:
        """Parse the date part of an HL7 TS (``2019``, ``201908``, ``20190811101500+0100``)."""
        match = _HL7_DATE_RE.match(value.strip())
        if not match:
            raise ValueError(f"not an HL7 date: {value!r}")
        year, month, day = match.groups()
        return cls(int(year), int(month) if month else None, int(day) if day else None)

    def iso(self) -> str:
        text = f"{self.year:04d}"
        if self.month is not None:
            text += f"-{self.month:02d}"
            if self.day is not None:
                text += f"-{self.day:02d}"
        return text

    def hl7(self) -> str:
        return self.iso().replace("-", "")

    def french(self) -> str:
        """As a French reader writes it: 11/08/2019, 08/2019 or 2019."""
        if self.month is None:
            return f"{self.year:04d}"
        if self.day is None:
            return f"{self.month:02d}/{self.year:04d}"
        return f"{self.day:02d}/{self.month:02d}/{self.year:04d}"

    def __str__(self) -> str:
        return self.iso()


class Gender(enum.Enum):
    """Administrative gender (value set J143, HL7 AdministrativeGender)."""

    FEMALE = "F"
    MALE = "M"
    UNKNOWN = "UN"


class Confidentiality(enum.Enum):
    """confidentialityCode (2.16.840.1.113883.5.25); DMP masking lives in XDS metadata."""

    NORMAL = "N"
    RESTRICTED = "R"
    VERY_RESTRICTED = "V"


class ProblemStatus(enum.Enum):
    ACTIVE = "active"
    RESOLVED = "resolved"


class AllergyStatus(enum.Enum):
    """Clinical status of an allergy (HL7 allergyintolerance-clinical)."""

    ACTIVE = "active"
    INACTIVE = "inactive"
    RESOLVED = "resolved"


class Severity(enum.Enum):
    """Severity of a reaction (JDV_SeveriteObservation_CISIS, SNOMED CT codes)."""

    MILD = "mild"
    MILD_TO_MODERATE = "mild_to_moderate"
    MODERATE = "moderate"
    MODERATE_TO_SEVERE = "moderate_to_severe"
    SEVERE = "severe"
    FATAL = "fatal"


class LifestyleKind(enum.Enum):
    """What a lifestyle observation is about (JDV_SocialHistoryCodes_CISIS, LOINC)."""

    TOBACCO_STATUS = "tobacco_status"
    TOBACCO = "tobacco"
    ALCOHOL = "alcohol"
    DRUGS = "drugs"
    PHYSICAL_ACTIVITY = "physical_activity"
    DIET = "diet"
    RISK_EXPOSURE = "risk_exposure"
    OCCUPATIONAL_EXPOSURE = "occupational_exposure"
    EMPLOYMENT = "employment"
    BEHAVIOUR = "behaviour"
    OTHER = "other"


# --- people and places ---------------------------------------------------------------


@dataclass(frozen=True)
class LocalId:
    """An identifier of the patient in the practice's own software (root = its OID)."""

    root: str
    extension: str


@dataclass(frozen=True)
class PostalAddress:
    lines: tuple[str, ...] = ()
    postal_code: str | None = None
    city: str | None = None
    country: str | None = None


@dataclass
class PatientIdentity:
    """The INS traits (birth names, birth date, gender, birthplace) and the INS itself.

    ``birth_given_names`` lists every first name of the birth certificate, in
    order; the first one is the "premier prénom". ``birthplace_code`` is the
    INSEE (COG) code of the birthplace (``99xxx`` for a country abroad); the
    CDA header requires it whenever the document carries the INS.
    """

    ins: Ins
    birth_family_name: str
    birth_given_names: list[str]
    birth_date: date
    gender: Gender
    birthplace_code: str | None = None
    local_id: LocalId | None = None
    used_family_name: str | None = None
    used_given_name: str | None = None

    @property
    def first_given_name(self) -> str:
        return self.birth_given_names[0] if self.birth_given_names else ""

    @property
    def display_name(self) -> str:
        given = self.used_given_name or self.first_given_name
        family = self.used_family_name or self.birth_family_name
        return f"{family.upper()} {given}".strip()


@dataclass
class CareStructure:
    """Where the professional works: id in 1.2.250.1.71.4.2.2, J02 type, J04 setting."""

    id: str
    name: str
    facility_type: str = "SA07"
    practice_setting: str = "AMBULATOIRE"
    address: PostalAddress | None = None
    phone: str | None = None


@dataclass
class CareProvider:
    """A professional acting for a structure (the author, the médecin traitant)."""

    practitioner: Practitioner
    structure: CareStructure


# --- entries -------------------------------------------------------------------------


def _drop_same(label: str, other: str | None) -> str | None:
    return None if other is None or other == label else other


@dataclass
class Problem:
    """A pathology: coded in CIM-10 (code and its label) or free text only."""

    label: str
    cim10: str | None = None
    cim10_label: str | None = None
    status: ProblemStatus = ProblemStatus.ACTIVE
    onset: PartialDate | None = None
    resolution: PartialDate | None = None
    comment: str | None = None

    def __post_init__(self) -> None:
        self.cim10_label = _drop_same(self.label, self.cim10_label)


@dataclass
class MedicalHistory(Problem):
    """A past illness (antécédent médical); usually resolved."""

    status: ProblemStatus = ProblemStatus.RESOLVED


@dataclass
class SurgicalHistory:
    """A past procedure, CCAM-coded or free text."""

    label: str
    ccam: str | None = None
    ccam_label: str | None = None
    date: PartialDate | None = None
    comment: str | None = None

    def __post_init__(self) -> None:
        self.ccam_label = _drop_same(self.label, self.ccam_label)


@dataclass
class Allergy:
    """An allergy or intolerance.

    ``type_code`` is a SNOMED CT code of JDV_TypeEvenementIndesirablePrevisible
    (416098002 allergie médicamenteuse by default). The agent is a drug by CIS
    code, a class or substance by ATC code, or free text only.
    """

    agent: str
    type_code: str = "416098002"
    agent_cis: str | None = None
    agent_atc: str | None = None
    reaction: str | None = None
    severity: Severity | None = None
    status: AllergyStatus = AllergyStatus.ACTIVE
    onset: PartialDate | None = None
    comment: str | None = None


@dataclass
class LifestyleItem:
    """A coded lifestyle observation: tobacco in pack-years, alcohol, activity...

    ``text`` is what the doctor wrote; the value is a quantity (``quantity`` and
    a UCUM ``unit`` such as ``{pack}/a``), a SNOMED CT code (``value_code`` and
    ``value_label``) or nothing more than the text.
    """

    kind: LifestyleKind
    text: str
    quantity: Decimal | None = None
    unit: str | None = None
    value_code: str | None = None
    value_label: str | None = None
    date: PartialDate | None = None


@dataclass
class FamilyHistory:
    """An illness of a relative: HL7 RoleCode (MTH, FTH, SIB...) and CIM-10 or text."""

    relationship: str
    label: str
    cim10: str | None = None
    cim10_label: str | None = None

    def __post_init__(self) -> None:
        self.cim10_label = _drop_same(self.label, self.cim10_label)


@dataclass
class Posology:
    """A coded posology, as the CI-SIS FR-Traitement entry carries it (ANS VSM example).

    ``dose`` (and ``dose_max`` for "1 à 2") in ``dose_unit`` (UCUM: ``{tablet}``,
    ``mg``, ``mL``, ``[iU]``...), ``times`` per ``period`` ``period_unit`` (UCUM time
    unit: ``h``, ``d``, ``wk``, ``mo``; "2 fois par jour" is times 2, period 1 d),
    ``route`` an EDQM code of JDV_RouteofAdministration_CISIS, and ``duration``
    ``duration_unit`` for how long it is taken.
    """

    dose: Decimal | None = None
    dose_max: Decimal | None = None
    dose_unit: str | None = None
    times: int | None = None
    period: Decimal | None = None
    period_unit: str | None = None
    route: str | None = None
    duration: Decimal | None = None
    duration_unit: str | None = None

    def is_empty(self) -> bool:
        return all(getattr(self, name) is None for name in self.__dataclass_fields__)


@dataclass
class Treatment:
    """A long-term treatment: CIS code (CIP13 and ATC as translations) or name only.

    ``dosage`` is the posology as written (or a precision added to the coded
    ``posology``); ``reason`` the indication, CIM-10 coded or not.
    """

    name: str
    cis: str | None = None
    cip: str | None = None
    atc: str | None = None
    dosage: str | None = None
    start: PartialDate | None = None
    end: PartialDate | None = None
    long_term: bool = True
    posology: Posology | None = None
    reason: str | None = None
    reason_cim10: str | None = None
    reason_cim10_label: str | None = None


class ImmunizationKind(enum.Enum):
    """JDV_HL7_ActSubstanceAdministrationImmunizationCode_CISIS (HL7 ActCode)."""

    UNSPECIFIED = "IMMUNIZ"
    PRIMARY = "INITIMMUNIZ"
    BOOSTER = "BOOSTER"


@dataclass
class Vaccination:
    """A vaccine given (FR-Vaccination): the product (CIS, ATC for the disease), date, rank."""

    vaccine: str
    cis: str | None = None
    atc: str | None = None
    date: PartialDate | None = None
    kind: ImmunizationKind = ImmunizationKind.UNSPECIFIED
    rank: int | None = None
    lot: str | None = None
    route: str | None = None
    comment: str | None = None


@dataclass
class VitalSign:
    """A measure (FR-Signe-vital-observe): LOINC code of JDV_SignesVitaux_CISIS, value, UCUM unit.

    Weight is ``29463-7`` in ``kg``, height ``8302-2`` in ``cm`` (or ``m``).
    """

    code: str
    value: Decimal
    unit: str
    date: PartialDate | None = None
    comment: str | None = None


@dataclass
class FunctionalStatus:
    """Dependency and autonomy (FR-Statut-fonctionnel): what is assessed and the finding.

    ``label`` names the assessment (« Autonomie pour la toilette », « GIR »...),
    ``value`` the finding as written (« GIR 3 », « aide partielle »).
    """

    label: str
    value: str | None = None
    date: PartialDate | None = None
    comment: str | None = None


class ResultKind(enum.Enum):
    LAB = "lab"
    IMAGING = "imaging"
    OTHER = "other"


@dataclass
class Result:
    """A result the doctor chose to keep in the summary (FR-Resultats-examens).

    ``label`` names the test, optionally LOINC-coded (``loinc``, ``loinc_label``);
    the value is a quantity with its UCUM ``unit`` or a text.
    """

    label: str
    kind: ResultKind = ResultKind.LAB
    loinc: str | None = None
    loinc_label: str | None = None
    quantity: Decimal | None = None
    unit: str | None = None
    value_text: str | None = None
    date: PartialDate | None = None
    comment: str | None = None

    def __post_init__(self) -> None:
        self.loinc_label = _drop_same(self.label, self.loinc_label)


class CarePlanKind(enum.Enum):
    """What is planned: an examination or follow-up, a procedure, a consultation."""

    FOLLOW_UP = "follow_up"
    PROCEDURE = "procedure"
    ENCOUNTER = "encounter"


@dataclass
class CarePlanItem:
    """Something planned for the patient (FR-Plan-de-soins): what, when, CCAM code for an act."""

    label: str
    kind: CarePlanKind = CarePlanKind.FOLLOW_UP
    ccam: str | None = None
    ccam_label: str | None = None
    date: PartialDate | None = None
    comment: str | None = None

    def __post_init__(self) -> None:
        self.ccam_label = _drop_same(self.label, self.ccam_label)


@dataclass
class AdvanceDirective:
    """Advance directives (FR-Directive-anticipee): their kind, the choice, where they are.

    ``code`` is a code of JDV_TypeDirectiveAnticipee_CISIS (``42348-3``: the
    directives as a whole); ``accepted`` the patient's choice for that kind
    (True: wants it, False: refuses it, None: not said). ``document_id`` and
    ``document_title`` refer to the patient's own document (in their DMP, type
    EXPPAT_3) rather than copy it.
    """

    code: str = "42348-3"
    text: str | None = None
    accepted: bool | None = None
    date: PartialDate | None = None
    document_id: str | None = None
    document_title: str | None = None
    comment: str | None = None


@dataclass
class ContactPerson:
    """The trusted person, the legal representative or who to call in an emergency.

    ``relationship`` is an HL7 RoleCode (value set J11, e.g. ``SIS`` sœur, ``SON``
    fils, ``FRND`` autre proche).
    """

    family_name: str
    given_name: str | None = None
    relationship: str | None = None
    phone: str | None = None
    email: str | None = None
    address: PostalAddress | None = None


@dataclass
class MedicalSummary:
    """Everything a VSM holds, in the order of the document's sections.

    ``document_id`` and ``set_id`` are OIDs; left empty they are generated when
    the document is built. ``treating_physician`` defaults to the author.
    """

    patient: PatientIdentity
    author: CareProvider
    effective_time: datetime
    treating_physician: CareProvider | None = None
    document_id: str | None = None
    set_id: str | None = None
    version: int = 1
    title: str = "Synthèse médicale"
    confidentiality: Confidentiality = Confidentiality.NORMAL
    active_problems: list[Problem] = field(default_factory=list)
    medical_history: list[MedicalHistory] = field(default_factory=list)
    surgical_history: list[SurgicalHistory] = field(default_factory=list)
    allergies: list[Allergy] = field(default_factory=list)
    no_known_allergies: bool = False
    lifestyle: list[LifestyleItem] = field(default_factory=list)
    occupational_risks: list[str] = field(default_factory=list)
    family_history: list[FamilyHistory] = field(default_factory=list)
    vigilance_points: list[str] = field(default_factory=list)
    treatments: list[Treatment] = field(default_factory=list)
    vaccinations: list[Vaccination] = field(default_factory=list)
    vital_signs: list[VitalSign] = field(default_factory=list)
    functional_status: list[FunctionalStatus] = field(default_factory=list)
    results: list[Result] = field(default_factory=list)
    care_plan: list[CarePlanItem] = field(default_factory=list)
    advance_directives: list[AdvanceDirective] = field(default_factory=list)
    trusted_person: ContactPerson | None = None
    legal_representative: ContactPerson | None = None
    emergency_contact: ContactPerson | None = None


# --- who may write one -----------------------------------------------------------------------

SUMMARY_PROFESSIONS = frozenset({"10"})  # G15: médecin


def can_author_summary(practitioner: Practitioner | None) -> bool:
    """The VSM is the médecin traitant's synthesis: only a physician's card may write one.

    A staff card (secretary: no profession) or another profession cannot open
    the editor; the window does not offer it.
    """
    return practitioner is not None and practitioner.profession_code in SUMMARY_PROFESSIONS


# --- JSON (declared in dmp_desktop.domain.summary_json, loaded on first use) -------------


def summary_to_json(summary: MedicalSummary) -> str:
    """The summary as pretty, deterministic JSON (docs/vsm-json.md)."""
    from dmp_desktop.domain import summary_json

    return summary_json.summary_to_json(summary)


def summary_from_json(text: str | bytes) -> MedicalSummary:
    """Read a summary in JSON; raises :class:`SummaryFormatError` with the path of a problem."""
    from dmp_desktop.domain import summary_json

    return summary_json.summary_from_json(text)


def summary_to_dict(summary: MedicalSummary) -> dict[str, Any]:
    from dmp_desktop.domain import summary_json

    return summary_json.summary_to_dict(summary)


def summary_from_dict(data: Any) -> MedicalSummary:
    from dmp_desktop.domain import summary_json

    return summary_json.summary_from_dict(data)
