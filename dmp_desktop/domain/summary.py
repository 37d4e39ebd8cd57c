"""The medical summary (VSM, volet de synthèse médicale) as the editor sees it.

Plain dataclasses, no XML and no Qt: :mod:`dmp_desktop.cda.vsm` turns a
:class:`MedicalSummary` into a CDA document and back. The JSON form used by
``dmp vsm build --from summary.json`` is :func:`summary_to_json` /
:func:`summary_from_json`, documented in ``docs/vsm-json.md``: English keys,
ISO dates, unknown keys refused so that a typo never goes unnoticed.
"""

from __future__ import annotations

import enum
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

from dmp_desktop.domain.patient import Ins, InsError, InsKind
from dmp_desktop.domain.practitioner import Practitioner

JSON_SCHEMA_ID = "dmp-desktop/vsm-summary/1"


class SummaryFormatError(ValueError):
    """A summary in JSON that cannot be read; ``path`` says where (no health data)."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path or '<root>'}: {reason}")
        self.path = path
        self.reason = reason


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
class Treatment:
    """A long-term treatment: CIS code (CIP13 and ATC as translations) or name only."""

    name: str
    cis: str | None = None
    cip: str | None = None
    atc: str | None = None
    dosage: str | None = None
    start: PartialDate | None = None
    end: PartialDate | None = None
    long_term: bool = True


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


# --- JSON ----------------------------------------------------------------------------

_INS_KIND_NAMES: dict[InsKind, str] = {
    InsKind.NIR: "nir",
    InsKind.NIA: "nia",
    InsKind.TEST_NIR: "test_nir",
    InsKind.DEMO_NIR: "demo_nir",
}
_GENDER_NAMES: dict[Gender, str] = {
    Gender.FEMALE: "F",
    Gender.MALE: "M",
    Gender.UNKNOWN: "U",
}

E = TypeVar("E", bound=enum.Enum)
T = TypeVar("T")


def summary_to_json(summary: MedicalSummary) -> str:
    """The summary as pretty, deterministic JSON (UTF-8 text, trailing newline)."""
    return json.dumps(summary_to_dict(summary), ensure_ascii=False, indent=2) + "\n"


def summary_from_json(text: str | bytes) -> MedicalSummary:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SummaryFormatError("", f"not JSON ({exc.msg}, line {exc.lineno})") from exc
    return summary_from_dict(data)


def summary_to_dict(summary: MedicalSummary) -> dict[str, Any]:
    out: dict[str, Any] = {"schema": JSON_SCHEMA_ID}
    _put(out, "document_id", summary.document_id)
    _put(out, "set_id", summary.set_id)
    out["version"] = summary.version
    out["effective_time"] = summary.effective_time.isoformat()
    out["title"] = summary.title
    out["confidentiality"] = summary.confidentiality.value
    out["patient"] = _patient_to_dict(summary.patient)
    out["author"] = _provider_to_dict(summary.author)
    if summary.treating_physician is not None:
        out["treating_physician"] = _provider_to_dict(summary.treating_physician)
    out["active_problems"] = [_problem_to_dict(p) for p in summary.active_problems]
    out["medical_history"] = [_problem_to_dict(p) for p in summary.medical_history]
    out["surgical_history"] = [_surgery_to_dict(s) for s in summary.surgical_history]
    out["allergies"] = [_allergy_to_dict(a) for a in summary.allergies]
    if summary.no_known_allergies:
        out["no_known_allergies"] = True
    out["lifestyle"] = [_lifestyle_to_dict(item) for item in summary.lifestyle]
    out["occupational_risks"] = list(summary.occupational_risks)
    out["family_history"] = [_family_to_dict(f) for f in summary.family_history]
    out["vigilance_points"] = list(summary.vigilance_points)
    out["treatments"] = [_treatment_to_dict(t) for t in summary.treatments]
    return out


def summary_from_dict(data: Any) -> MedicalSummary:
    r = _Reader(data, "")
    schema = r.opt_str("schema")
    if schema is not None and schema != JSON_SCHEMA_ID:
        raise SummaryFormatError("schema", f"unknown schema {schema!r}, expected {JSON_SCHEMA_ID}")
    effective_time = r.req("effective_time", _parse_datetime)
    summary = MedicalSummary(
        patient=r.req("patient", _patient_from_dict),
        author=r.req("author", _provider_from_dict),
        effective_time=effective_time,
        treating_physician=r.opt("treating_physician", _provider_from_dict),
        document_id=r.opt_str("document_id"),
        set_id=r.opt_str("set_id"),
        version=r.opt("version", _parse_positive_int) or 1,
        title=r.opt_str("title") or "Synthèse médicale",
        confidentiality=r.opt_enum("confidentiality", Confidentiality) or Confidentiality.NORMAL,
        active_problems=r.many("active_problems", lambda d, p: _problem_from_dict(d, p, Problem)),
        medical_history=r.many(
            "medical_history", lambda d, p: _problem_from_dict(d, p, MedicalHistory)
        ),
        surgical_history=r.many("surgical_history", _surgery_from_dict),
        allergies=r.many("allergies", _allergy_from_dict),
        no_known_allergies=r.opt_bool("no_known_allergies", False),
        lifestyle=r.many("lifestyle", _lifestyle_from_dict),
        occupational_risks=r.str_list("occupational_risks"),
        family_history=r.many("family_history", _family_from_dict),
        vigilance_points=r.str_list("vigilance_points"),
        treatments=r.many("treatments", _treatment_from_dict),
    )
    r.done()
    return summary


def _put(out: dict[str, Any], key: str, value: Any) -> None:
    if value is not None:
        out[key] = value


def _patient_to_dict(p: PatientIdentity) -> dict[str, Any]:
    out: dict[str, Any] = {
        "ins": p.ins.value,
        "ins_kind": _INS_KIND_NAMES[p.ins.kind],
        "birth_family_name": p.birth_family_name,
        "birth_given_names": list(p.birth_given_names),
        "birth_date": p.birth_date.isoformat(),
        "gender": _GENDER_NAMES[p.gender],
    }
    _put(out, "birthplace_code", p.birthplace_code)
    if p.local_id is not None:
        out["local_id"] = {"root": p.local_id.root, "extension": p.local_id.extension}
    _put(out, "used_family_name", p.used_family_name)
    _put(out, "used_given_name", p.used_given_name)
    return out


def _patient_from_dict(data: Any, path: str) -> PatientIdentity:
    r = _Reader(data, path)
    kind_name = r.opt_str("ins_kind") or "nir"
    kinds = {v: k for k, v in _INS_KIND_NAMES.items()}
    if kind_name not in kinds:
        raise SummaryFormatError(r.sub("ins_kind"), f"one of {sorted(kinds)}")
    ins_text = r.req_str("ins")
    try:
        ins = Ins.parse(ins_text, kinds[kind_name])
    except InsError as exc:
        raise SummaryFormatError(r.sub("ins"), "invalid INS (format or key)") from exc
    genders = {v: k for k, v in _GENDER_NAMES.items()}
    gender_name = r.req_str("gender")
    if gender_name not in genders:
        raise SummaryFormatError(r.sub("gender"), "one of F, M, U")
    local = r.opt("local_id", _local_id_from_dict)
    patient = PatientIdentity(
        ins=ins,
        birth_family_name=r.req_str("birth_family_name"),
        birth_given_names=r.str_list("birth_given_names"),
        birth_date=r.req("birth_date", _parse_date),
        gender=genders[gender_name],
        birthplace_code=r.opt_str("birthplace_code"),
        local_id=local,
        used_family_name=r.opt_str("used_family_name"),
        used_given_name=r.opt_str("used_given_name"),
    )
    if not patient.birth_given_names:
        raise SummaryFormatError(r.sub("birth_given_names"), "at least one first name")
    r.done()
    return patient


def _local_id_from_dict(data: Any, path: str) -> LocalId:
    r = _Reader(data, path)
    local = LocalId(root=r.req_str("root"), extension=r.req_str("extension"))
    r.done()
    return local


_PRACTITIONER_FIELDS = (
    "national_id",
    "family_name",
    "given_name",
    "profession",
    "profession_code",
    "specialty_code",
    "specialty_label",
    "structure_id",
    "structure_name",
)


def _provider_to_dict(c: CareProvider) -> dict[str, Any]:
    pr: dict[str, Any] = {}
    for name in _PRACTITIONER_FIELDS:
        _put(pr, name, getattr(c.practitioner, name))
    st: dict[str, Any] = {
        "id": c.structure.id,
        "name": c.structure.name,
        "facility_type": c.structure.facility_type,
        "practice_setting": c.structure.practice_setting,
    }
    if c.structure.address is not None:
        a = c.structure.address
        addr: dict[str, Any] = {"lines": list(a.lines)}
        _put(addr, "postal_code", a.postal_code)
        _put(addr, "city", a.city)
        _put(addr, "country", a.country)
        st["address"] = addr
    _put(st, "phone", c.structure.phone)
    return {"practitioner": pr, "structure": st}


def _provider_from_dict(data: Any, path: str) -> CareProvider:
    r = _Reader(data, path)
    provider = CareProvider(
        practitioner=r.req("practitioner", _practitioner_from_dict),
        structure=r.req("structure", _structure_from_dict),
    )
    r.done()
    return provider


def _practitioner_from_dict(data: Any, path: str) -> Practitioner:
    r = _Reader(data, path)
    practitioner = Practitioner(
        national_id=r.req_str("national_id"),
        family_name=r.req_str("family_name"),
        given_name=r.req_str("given_name"),
        profession=r.opt_str("profession") or "Médecin",
        profession_code=r.opt_str("profession_code"),
        specialty_code=r.opt_str("specialty_code"),
        specialty_label=r.opt_str("specialty_label"),
        structure_id=r.opt_str("structure_id"),
        structure_name=r.opt_str("structure_name"),
    )
    r.done()
    return practitioner


def _structure_from_dict(data: Any, path: str) -> CareStructure:
    r = _Reader(data, path)
    structure = CareStructure(
        id=r.req_str("id"),
        name=r.req_str("name"),
        facility_type=r.opt_str("facility_type") or "SA07",
        practice_setting=r.opt_str("practice_setting") or "AMBULATOIRE",
        address=r.opt("address", _address_from_dict),
        phone=r.opt_str("phone"),
    )
    r.done()
    return structure


def _address_from_dict(data: Any, path: str) -> PostalAddress:
    r = _Reader(data, path)
    address = PostalAddress(
        lines=tuple(r.str_list("lines")),
        postal_code=r.opt_str("postal_code"),
        city=r.opt_str("city"),
        country=r.opt_str("country"),
    )
    r.done()
    return address


def _date_str(value: PartialDate | None) -> str | None:
    return value.iso() if value is not None else None


def _problem_to_dict(p: Problem) -> dict[str, Any]:
    out: dict[str, Any] = {"label": p.label}
    _put(out, "cim10", p.cim10)
    _put(out, "cim10_label", p.cim10_label)
    out["status"] = p.status.value
    _put(out, "onset", _date_str(p.onset))
    _put(out, "resolution", _date_str(p.resolution))
    _put(out, "comment", p.comment)
    return out


P = TypeVar("P", bound=Problem)


def _problem_from_dict(data: Any, path: str, cls: type[P]) -> P:
    r = _Reader(data, path)
    kwargs: dict[str, Any] = {
        "label": r.req_str("label"),
        "cim10": r.opt_str("cim10"),
        "cim10_label": r.opt_str("cim10_label"),
        "onset": r.opt("onset", _parse_partial_date),
        "resolution": r.opt("resolution", _parse_partial_date),
        "comment": r.opt_str("comment"),
    }
    status = r.opt_enum("status", ProblemStatus)
    if status is not None:
        kwargs["status"] = status
    problem = cls(**kwargs)
    r.done()
    return problem


def _surgery_to_dict(s: SurgicalHistory) -> dict[str, Any]:
    out: dict[str, Any] = {"label": s.label}
    _put(out, "ccam", s.ccam)
    _put(out, "ccam_label", s.ccam_label)
    _put(out, "date", _date_str(s.date))
    _put(out, "comment", s.comment)
    return out


def _surgery_from_dict(data: Any, path: str) -> SurgicalHistory:
    r = _Reader(data, path)
    surgery = SurgicalHistory(
        label=r.req_str("label"),
        ccam=r.opt_str("ccam"),
        ccam_label=r.opt_str("ccam_label"),
        date=r.opt("date", _parse_partial_date),
        comment=r.opt_str("comment"),
    )
    r.done()
    return surgery


def _allergy_to_dict(a: Allergy) -> dict[str, Any]:
    out: dict[str, Any] = {"agent": a.agent, "type_code": a.type_code}
    _put(out, "agent_cis", a.agent_cis)
    _put(out, "agent_atc", a.agent_atc)
    _put(out, "reaction", a.reaction)
    _put(out, "severity", a.severity.value if a.severity else None)
    out["status"] = a.status.value
    _put(out, "onset", _date_str(a.onset))
    _put(out, "comment", a.comment)
    return out


def _allergy_from_dict(data: Any, path: str) -> Allergy:
    r = _Reader(data, path)
    allergy = Allergy(
        agent=r.req_str("agent"),
        type_code=r.opt_str("type_code") or "416098002",
        agent_cis=r.opt_str("agent_cis"),
        agent_atc=r.opt_str("agent_atc"),
        reaction=r.opt_str("reaction"),
        severity=r.opt_enum("severity", Severity),
        status=r.opt_enum("status", AllergyStatus) or AllergyStatus.ACTIVE,
        onset=r.opt("onset", _parse_partial_date),
        comment=r.opt_str("comment"),
    )
    r.done()
    return allergy


def _decimal_to_json(value: Decimal) -> int | float:
    if value == value.to_integral_value():
        return int(value)
    return float(value)


def _lifestyle_to_dict(item: LifestyleItem) -> dict[str, Any]:
    out: dict[str, Any] = {"kind": item.kind.value, "text": item.text}
    if item.quantity is not None:
        out["quantity"] = _decimal_to_json(item.quantity)
    _put(out, "unit", item.unit)
    _put(out, "value_code", item.value_code)
    _put(out, "value_label", item.value_label)
    _put(out, "date", _date_str(item.date))
    return out


def _lifestyle_from_dict(data: Any, path: str) -> LifestyleItem:
    r = _Reader(data, path)
    item = LifestyleItem(
        kind=r.req("kind", lambda v, p: _enum_value(LifestyleKind, v, p)),
        text=r.req_str("text"),
        quantity=r.opt("quantity", _parse_decimal),
        unit=r.opt_str("unit"),
        value_code=r.opt_str("value_code"),
        value_label=r.opt_str("value_label"),
        date=r.opt("date", _parse_partial_date),
    )
    r.done()
    return item


def _family_to_dict(f: FamilyHistory) -> dict[str, Any]:
    out: dict[str, Any] = {"relationship": f.relationship, "label": f.label}
    _put(out, "cim10", f.cim10)
    _put(out, "cim10_label", f.cim10_label)
    return out


def _family_from_dict(data: Any, path: str) -> FamilyHistory:
    r = _Reader(data, path)
    family = FamilyHistory(
        relationship=r.req_str("relationship"),
        label=r.req_str("label"),
        cim10=r.opt_str("cim10"),
        cim10_label=r.opt_str("cim10_label"),
    )
    r.done()
    return family


def _treatment_to_dict(t: Treatment) -> dict[str, Any]:
    out: dict[str, Any] = {"name": t.name}
    _put(out, "cis", t.cis)
    _put(out, "cip", t.cip)
    _put(out, "atc", t.atc)
    _put(out, "dosage", t.dosage)
    _put(out, "start", _date_str(t.start))
    _put(out, "end", _date_str(t.end))
    out["long_term"] = t.long_term
    return out


def _treatment_from_dict(data: Any, path: str) -> Treatment:
    r = _Reader(data, path)
    treatment = Treatment(
        name=r.req_str("name"),
        cis=r.opt_str("cis"),
        cip=r.opt_str("cip"),
        atc=r.opt_str("atc"),
        dosage=r.opt_str("dosage"),
        start=r.opt("start", _parse_partial_date),
        end=r.opt("end", _parse_partial_date),
        long_term=r.opt_bool("long_term", True),
    )
    r.done()
    return treatment


# --- JSON reading helpers --------------------------------------------------------------


def _parse_datetime(value: Any, path: str) -> datetime:
    if not isinstance(value, str):
        raise SummaryFormatError(path, "expected an ISO 8601 date-time string")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise SummaryFormatError(path, "not an ISO 8601 date-time") from exc
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise SummaryFormatError(path, "the date-time needs a UTC offset (e.g. +01:00)")
    return parsed


def _parse_date(value: Any, path: str) -> date:
    if not isinstance(value, str):
        raise SummaryFormatError(path, "expected a YYYY-MM-DD string")
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise SummaryFormatError(path, "not a YYYY-MM-DD date") from exc


def _parse_partial_date(value: Any, path: str) -> PartialDate:
    if not isinstance(value, str):
        raise SummaryFormatError(path, "expected YYYY, YYYY-MM or YYYY-MM-DD")
    try:
        return PartialDate.parse(value)
    except ValueError as exc:
        raise SummaryFormatError(path, "expected YYYY, YYYY-MM or YYYY-MM-DD") from exc


def _parse_decimal(value: Any, path: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise SummaryFormatError(path, "expected a number")
    try:
        result = Decimal(str(value))
    except InvalidOperation as exc:
        raise SummaryFormatError(path, "expected a number") from exc
    if not result.is_finite():
        raise SummaryFormatError(path, "expected a finite number")
    return result


def _parse_positive_int(value: Any, path: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise SummaryFormatError(path, "expected a positive integer")
    return value


def _enum_value(cls: type[E], value: Any, path: str) -> E:
    for member in cls:
        if member.value == value:
            return member
    raise SummaryFormatError(path, f"one of {[m.value for m in cls]}")


class _Reader:
    """Reads one JSON object, remembering which keys were used to refuse the others."""

    def __init__(self, data: Any, path: str) -> None:
        if not isinstance(data, Mapping):
            raise SummaryFormatError(path, "expected an object")
        self.data = data
        self.path = path
        self.seen: set[str] = set()

    def sub(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def _get(self, key: str) -> Any:
        self.seen.add(key)
        return self.data.get(key)

    def req(self, key: str, parse: Callable[[Any, str], T]) -> T:
        value = self._get(key)
        if value is None:
            raise SummaryFormatError(self.sub(key), "required")
        return parse(value, self.sub(key))

    def opt(self, key: str, parse: Callable[[Any, str], T]) -> T | None:
        value = self._get(key)
        if value is None:
            return None
        return parse(value, self.sub(key))

    def req_str(self, key: str) -> str:
        value = self.opt_str(key)
        if not value:
            raise SummaryFormatError(self.sub(key), "required (non-empty text)")
        return value

    def opt_str(self, key: str) -> str | None:
        value = self._get(key)
        if value is None:
            return None
        if not isinstance(value, str):
            raise SummaryFormatError(self.sub(key), "expected text")
        return value

    def opt_bool(self, key: str, default: bool) -> bool:
        value = self._get(key)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise SummaryFormatError(self.sub(key), "expected true or false")
        return value

    def opt_enum(self, key: str, cls: type[E]) -> E | None:
        value = self._get(key)
        if value is None:
            return None
        return _enum_value(cls, value, self.sub(key))

    def many(self, key: str, parse: Callable[[Any, str], T]) -> list[T]:
        value = self._get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            raise SummaryFormatError(self.sub(key), "expected a list")
        return [parse(item, f"{self.sub(key)}[{i}]") for i, item in enumerate(value)]

    def str_list(self, key: str) -> list[str]:
        def parse(item: Any, path: str) -> str:
            if not isinstance(item, str):
                raise SummaryFormatError(path, "expected text")
            return item

        return self.many(key, parse)

    def done(self) -> None:
        unknown = sorted(set(self.data) - self.seen)
        if unknown:
            raise SummaryFormatError(self.sub(unknown[0]), "unknown key")
