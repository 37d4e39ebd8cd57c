"""The medical summary as JSON: one declared schema reads it, writes it and documents it.

The schema is a set of pydantic models, one per object of the format
(``docs/vsm-json.md``): each field says its JSON type, whether it is required
and what it means. The same declaration

- reads a summary (``summary_from_dict`` / ``summary_from_json``): unknown keys
  refused, types strict (``"oui"`` is not a boolean, ``"12"`` not a number),
  every error with its path (``allergies[2].agnet``) and a French reason,
  never the value itself (no health data in messages);
- writes it (``summary_to_dict`` / ``summary_to_json``): deterministic, keys in
  the declared order, nothing written for what is absent;
- generates the field tables of ``docs/vsm-json.md`` (``render_doc``;
  ``python -m dmp_desktop.domain.summary_json --check`` fails when the file
  is out of date, ``--write`` rewrites it).

The domain model stays plain dataclasses (:mod:`dmp_desktop.domain.summary`):
the editor and the CDA layer never pay for validation. Each schema model names
its dataclass and converts field by field (same names), with two
exceptions written out: the patient (``ins`` + ``ins_kind`` make one
:class:`~dmp_desktop.domain.patient.Ins`; gender ``U`` is ``Gender.UNKNOWN``)
and the providers (practitioner and structure).
"""

from __future__ import annotations

import argparse
import dataclasses
import enum
import json
import re
import sys
import types
import typing
from collections.abc import Callable, Iterator, Sequence
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Any, ClassVar, Final, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    PlainValidator,
    StrictBool,
    StrictInt,
    StrictStr,
    ValidationError,
    WithJsonSchema,
)
from pydantic_core import PydanticCustomError

from dmp_desktop.dates import parse_iso_date
from dmp_desktop.domain import summary as m
from dmp_desktop.domain.patient import Ins, InsError, InsKind
from dmp_desktop.domain.practitioner import Practitioner

JSON_SCHEMA_ID: Final = "dmp-desktop/vsm-summary/1"


# --- value types -----------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class DocType:
    """How a value type reads in the documentation's "Type" column."""

    text: str


def _partial_date_in(value: Any) -> m.PartialDate:
    if isinstance(value, m.PartialDate):
        return value
    if not isinstance(value, str):
        raise PydanticCustomError("partial_date", "expected YYYY, YYYY-MM or YYYY-MM-DD")
    try:
        return m.PartialDate.parse(value)
    except ValueError:
        raise PydanticCustomError("partial_date", "expected YYYY, YYYY-MM or YYYY-MM-DD") from None


def _date_in(value: Any) -> date:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if not isinstance(value, str):
        raise PydanticCustomError("full_date", "expected YYYY-MM-DD")
    try:
        return parse_iso_date(value)  # exactly YYYY-MM-DD
    except ValueError:
        raise PydanticCustomError("full_date", "expected YYYY-MM-DD") from None


def _datetime_in(value: Any) -> datetime:
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise PydanticCustomError("date_time", "expected an ISO 8601 date-time") from None
    else:
        raise PydanticCustomError("date_time", "expected an ISO 8601 date-time")
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise PydanticCustomError("naive_time", "the date-time needs a UTC offset")
    return parsed


def _decimal_in(value: Any) -> Decimal:
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, bool) or not isinstance(value, int | float | str):
        raise PydanticCustomError("number", "expected a number")
    else:
        try:
            result = Decimal(str(value))
        except InvalidOperation:
            raise PydanticCustomError("number", "expected a number") from None
    if not result.is_finite():
        raise PydanticCustomError("number", "expected a finite number")
    return result


def _decimal_out(value: Decimal) -> int | float:
    if value == value.to_integral_value():
        return int(value)
    return float(value)


PartialDateField = Annotated[
    m.PartialDate,
    PlainValidator(_partial_date_in),
    PlainSerializer(lambda v: v.iso(), return_type=str),
    WithJsonSchema({"type": "string", "pattern": r"^\d{4}(-\d{2}(-\d{2})?)?$"}),
    DocType("partial date"),
]
DateField = Annotated[
    date,
    PlainValidator(_date_in),
    PlainSerializer(lambda v: v.isoformat(), return_type=str),
    WithJsonSchema({"type": "string", "format": "date"}),
    DocType("`YYYY-MM-DD`"),
]
DateTimeField = Annotated[
    datetime,
    PlainValidator(_datetime_in),
    PlainSerializer(lambda v: v.isoformat(), return_type=str),
    WithJsonSchema({"type": "string", "format": "date-time"}),
    DocType("date-time with offset"),
]
Number = Annotated[
    Decimal,
    PlainValidator(_decimal_in),
    PlainSerializer(_decimal_out, return_type=int | float),
    WithJsonSchema({"type": "number"}),
    DocType("number"),
]
Text = Annotated[StrictStr, Field(min_length=1), DocType("text")]
OptText = Annotated[StrictStr, DocType("text")] | None
Code = Annotated[StrictStr, Field(min_length=1), DocType("code")]
OptCode = Annotated[StrictStr, DocType("code")] | None
Positive = Annotated[StrictInt, Field(ge=1), DocType("integer ≥ 1")]


class _Schema(BaseModel):
    """A JSON object of the format; ``domain`` is the dataclass it becomes."""

    model_config = ConfigDict(extra="forbid", use_enum_values=False)
    domain: ClassVar[type[Any] | None] = None

    def to_domain(self) -> Any:
        if self.domain is None:
            raise TypeError(type(self).__name__)
        return self.domain(**{name: _down(getattr(self, name)) for name in type(self).model_fields})

    @classmethod
    def from_domain(cls, value: Any) -> dict[str, Any]:
        """The JSON-ready dict of a dataclass, through this schema's fields."""
        return {name: _up(getattr(value, name)) for name in cls.model_fields}


def _down(value: Any) -> Any:
    if isinstance(value, _Schema):
        return value.to_domain()
    if isinstance(value, list):
        return [_down(v) for v in value]
    return value


def _up(value: Any) -> Any:
    """A dataclass as its schema model, built without validation (drafts may be incomplete)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        schema = _SCHEMA_OF.get(type(value))
        if schema is not None:
            return schema.model_construct(**schema.from_domain(value))
        return value
    if isinstance(value, list | tuple):
        return [_up(v) for v in value]
    return value


# --- the objects -----------------------------------------------------------------------------


class LocalIdSchema(_Schema):
    """The patient's id in the practice software."""

    domain = m.LocalId
    root: Code = Field(description="OID of the practice software's identifiers")
    extension: Text = Field(description="the patient's number in it")


_INS_KINDS: dict[str, InsKind] = {
    "nir": InsKind.NIR,
    "nia": InsKind.NIA,
    "test_nir": InsKind.TEST_NIR,
    "demo_nir": InsKind.DEMO_NIR,
}
_GENDERS: dict[str, m.Gender] = {"F": m.Gender.FEMALE, "M": m.Gender.MALE, "U": m.Gender.UNKNOWN}


class PatientSchema(_Schema):
    """The INS and its traits, as on the INS record (birth names, not used names)."""

    ins: Annotated[StrictStr, Field(min_length=1), DocType("text, 15 characters")] = Field(
        description="NIR or NIA with its key (checked)"
    )
    ins_kind: Literal["nir", "nia", "test_nir", "demo_nir"] = Field(
        "nir",
        description="assigning authority (1.2.250.1.213.1.4.8 / .9 / .10 / .11)",
    )
    birth_family_name: Text = Field(description="nom de naissance")
    birth_given_names: Annotated[list[StrictStr], Field(min_length=1)] = Field(
        description='every birth first name in order; the first is the "premier prénom"'
    )
    birth_date: DateField = Field(description="date de naissance")
    gender: Literal["F", "M", "U"] = Field(description="administrative gender")
    birthplace_code: OptCode = Field(
        None,
        description="**required to build**: INSEE (COG) code of the birthplace, `99xxx` abroad",
    )
    local_id: LocalIdSchema | None = Field(
        None, description="the patient's id in the practice software"
    )
    used_family_name: OptText = Field(None, description="nom utilisé")
    used_given_name: OptText = Field(None, description="prénom utilisé")

    def to_domain(self) -> m.PatientIdentity:
        try:
            ins = Ins.parse(self.ins, _INS_KINDS[self.ins_kind])
        except InsError:
            raise _Refused("ins", "invalid_ins") from None
        return m.PatientIdentity(
            ins=ins,
            birth_family_name=self.birth_family_name,
            birth_given_names=list(self.birth_given_names),
            birth_date=self.birth_date,
            gender=_GENDERS[self.gender],
            birthplace_code=self.birthplace_code,
            local_id=self.local_id.to_domain() if self.local_id else None,
            used_family_name=self.used_family_name,
            used_given_name=self.used_given_name,
        )

    @classmethod
    def from_domain(cls, value: Any) -> dict[str, Any]:
        kinds = {v: k for k, v in _INS_KINDS.items()}
        genders = {v: k for k, v in _GENDERS.items()}
        return {
            "ins": value.ins.value,
            "ins_kind": kinds[value.ins.kind],
            "birth_family_name": value.birth_family_name,
            "birth_given_names": list(value.birth_given_names),
            "birth_date": value.birth_date,
            "gender": genders[value.gender],
            "birthplace_code": value.birthplace_code,
            "local_id": _up(value.local_id),
            "used_family_name": value.used_family_name,
            "used_given_name": value.used_given_name,
        }


class PractitionerSchema(_Schema):
    """The professional (from the card)."""

    domain = Practitioner
    national_id: Code = Field(
        description="the card's national identifier (`8` + RPPS), written in 1.2.250.1.71.4.2.1"
    )
    family_name: Text = Field(description="nom")
    given_name: Text = Field(description="prénom")
    profession: StrictStr = Field("Médecin", description="profession as the card names it")
    profession_code: OptCode = Field(None, description="G15 code (`10` = médecin)")
    specialty_code: OptCode = Field(
        None,
        description="specialty (`SM26` = médecine générale); with the profession, `G15_10/SM26`",
    )
    specialty_label: OptText = Field(None, description="informative only")
    structure_id: OptCode = Field(None, description="structure named on the card")
    structure_name: OptText = Field(None, description="its name")
    activity_sector: OptCode = Field(
        None, description="activity sector of the card's practice situation (J02, `SA07`)"
    )


class AddressSchema(_Schema):
    """A postal address."""

    domain = m.PostalAddress
    lines: list[StrictStr] = Field(default_factory=list, description="street lines")
    postal_code: OptCode = Field(None, description="code postal")
    city: OptText = Field(None, description="commune")
    country: OptText = Field(None, description="pays")

    def to_domain(self) -> m.PostalAddress:
        return m.PostalAddress(tuple(self.lines), self.postal_code, self.city, self.country)


class StructureSchema(_Schema):
    """Where the professional works."""

    domain = m.CareStructure
    id: Code = Field(description="the structure's identifier in 1.2.250.1.71.4.2.2")
    name: Text = Field(description="its name")
    facility_type: Code = Field(
        "SA07",
        description="value set J02 (`SA07` cabinet individuel, `SA08` cabinet de groupe, "
        "`SA05` centre de santé...)",
    )
    practice_setting: Code = Field("AMBULATOIRE", description="value set J04")
    address: AddressSchema | None = Field(None, description="address")
    phone: OptText = Field(None, description="phone number")


class ProviderSchema(_Schema):
    """A professional acting for a structure (`author`, `treating_physician`)."""

    domain = m.CareProvider
    practitioner: PractitionerSchema = Field(description="the professional")
    structure: StructureSchema = Field(description="their structure")


class ProblemSchema(_Schema):
    """A pathology (`active_problems`; `medical_history`, whose status defaults to resolved)."""

    domain = m.Problem
    label: Text = Field(description="the pathology as the doctor words it")
    cim10: OptCode = Field(None, description="CIM-10 code, e.g. `E11.9` (free text only if absent)")
    cim10_label: OptText = Field(
        None,
        description="the code's official label; checked against the installed CIM-10, "
        "defaults to it",
    )
    status: m.ProblemStatus = Field(
        m.ProblemStatus.ACTIVE,
        description="`resolved` by default in `medical_history`",
    )
    onset: PartialDateField | None = Field(None, description="début")
    resolution: PartialDateField | None = Field(
        None, description='fin; only with `"status": "resolved"`'
    )
    comment: OptText = Field(None, description="free comment, may have several paragraphs")


class MedicalHistorySchema(ProblemSchema):
    domain = m.MedicalHistory
    status: m.ProblemStatus = m.ProblemStatus.RESOLVED


class SurgerySchema(_Schema):
    """A past procedure (`surgical_history`)."""

    domain = m.SurgicalHistory
    label: Text = Field(description="the procedure")
    ccam: OptCode = Field(None, description='CCAM code, e.g. `"DDAF004"`')
    ccam_label: OptText = Field(None, description="the code's official label; defaults to `label`")
    date: PartialDateField | None = Field(None, description="date")
    comment: OptText = Field(None, description="comment")


class AllergySchema(_Schema):
    """An allergy or intolerance (`allergies`)."""

    domain = m.Allergy
    agent: Text = Field(description="what the patient reacts to, as written")
    type_code: Code = Field(
        "416098002",
        description="SNOMED CT code of JDV_TypeEvenementIndesirablePrevisible: `416098002` "
        "allergie médicamenteuse, `414285001` alimentaire, `419199007` à une substance, "
        "`59037007` intolérance médicamenteuse...",
    )
    agent_cis: OptCode = Field(None, description="the drug's CIS code (8 digits)")
    agent_atc: OptCode = Field(None, description='ATC code of a drug or class, e.g. `"J01C"`')
    reaction: OptText = Field(None, description='e.g. `"Œdème de Quincke"`')
    severity: m.Severity | None = Field(
        None, description="SNOMED CT severity of JDV_SeveriteObservation"
    )
    status: m.AllergyStatus = Field(m.AllergyStatus.ACTIVE, description="clinical status")
    onset: PartialDateField | None = Field(None, description="depuis")
    comment: OptText = Field(None, description="comment")


class LifestyleSchema(_Schema):
    """A lifestyle observation (`lifestyle`)."""

    domain = m.LifestyleItem
    kind: m.LifestyleKind = Field(description="what is observed (LOINC code below)")
    text: Text = Field(description="the observation as written")
    quantity: Number | None = Field(None, description="with `unit`: e.g. 30 (never negative)")
    unit: OptCode = Field(None, description='UCUM unit, e.g. `"{pack}/a"` (paquets-années)')
    value_code: OptCode = Field(None, description="SNOMED CT coded value, e.g. `398705004`")
    value_label: OptText = Field(None, description="its label")
    date: PartialDateField | None = Field(None, description="date")


class FamilySchema(_Schema):
    """An illness of a relative (`family_history`)."""

    domain = m.FamilyHistory
    relationship: Code = Field(
        description="HL7 RoleCode: `MTH` mère, `FTH` père, `BRO`, `SIS`, `SIB`, `GRMTH`, "
        "`GRFTH`, `CHILD`, `UNCLE`, `AUNT`..."
    )
    label: Text = Field(description="the relative's illness")
    cim10: OptCode = Field(None, description="CIM-10 code")
    cim10_label: OptText = Field(None, description="its official label")


class PosologySchema(_Schema):
    """A coded posology (`treatments[].posology`)."""

    domain = m.Posology
    dose: Number | None = Field(None, description="dose per intake, e.g. 1")
    dose_max: Number | None = Field(None, description='upper bound of a range ("1 à 2")')
    dose_unit: OptCode = Field(
        None,
        description="UCUM: `{tablet}` comprimé, `{capsule}` gélule, `{sachet}`, `{puff}` "
        "bouffée, `{drop}` goutte, `mg`, `g`, `ug`, `mL`, `[iU]`...",
    )
    times: Positive | None = Field(None, description="intakes per period (default 1)")
    period: Number | None = Field(None, description="the period, e.g. 1")
    period_unit: OptCode = Field(None, description="UCUM time unit: `h`, `d`, `wk`, `mo`")
    route: OptCode = Field(
        None,
        description="EDQM route of JDV_RouteofAdministration_CISIS, e.g. `20053000` voie orale",
    )
    duration: Number | None = Field(None, description="how long, e.g. 3")
    duration_unit: OptCode = Field(None, description="UCUM time unit: `d`, `wk`, `mo`, `a`")


class TreatmentSchema(_Schema):
    """A long-term treatment (`treatments`)."""

    domain = m.Treatment
    name: Text = Field(description="the product as prescribed")
    cis: OptCode = Field(None, description="CIS code (BDPM), the product's code in the CDA")
    cip: OptCode = Field(None, description="CIP13 of a presentation, as a translation")
    atc: OptCode = Field(None, description="ATC code, as a translation")
    dosage: OptText = Field(
        None, description="posology as written, or a precision added to the coded `posology`"
    )
    start: PartialDateField | None = Field(None, description="début")
    end: PartialDateField | None = Field(None, description="fin")
    long_term: StrictBool = Field(True, description='"au long cours"')
    posology: PosologySchema | None = Field(None, description="coded posology (below)")
    reason: OptText = Field(None, description="indication as written")
    reason_cim10: OptCode = Field(None, description="its CIM-10 code")
    reason_cim10_label: OptText = Field(None, description="the code's official label")


class VaccinationSchema(_Schema):
    """A vaccine given (`vaccinations`)."""

    domain = m.Vaccination
    vaccine: Text = Field(description="the vaccine as written")
    cis: OptCode = Field(None, description="CIS code of the product")
    atc: OptCode = Field(None, description="ATC code (J07...), names the disease prevented")
    date: PartialDateField | None = Field(None, description="date of the injection")
    kind: m.ImmunizationKind = Field(
        m.ImmunizationKind.UNSPECIFIED,
        description="`IMMUNIZ` (not said), `INITIMMUNIZ` primary series, `BOOSTER` rappel",
    )
    rank: Positive | None = Field(None, description="rank of the injection in its series")
    lot: OptText = Field(None, description="lot number")
    route: OptCode = Field(
        None, description="EDQM route of JDV_ImmunizationRouteCodes_CISIS, e.g. `20035000`"
    )
    comment: OptText = Field(None, description="comment")


class VitalSignSchema(_Schema):
    """A measure: weight, height... (`vital_signs`)."""

    domain = m.VitalSign
    code: Code = Field(
        description="LOINC of JDV_SignesVitaux_CISIS: `29463-7` poids, `8302-2` taille, "
        "`39156-5` IMC, `8480-6` PA systolique..."
    )
    value: Number = Field(description="the value")
    unit: Code = Field(description="UCUM unit: `kg`, `cm`, `m`, `kg/m2`, `mm[Hg]`...")
    date: PartialDateField | None = Field(None, description="date of the measure")
    comment: OptText = Field(None, description="comment")


class FunctionalStatusSchema(_Schema):
    """Dependency and autonomy (`functional_status`)."""

    domain = m.FunctionalStatus
    label: Text = Field(description='what is assessed, e.g. "Autonomie (grille AGGIR)"')
    value: OptText = Field(None, description='the finding, e.g. "GIR 4"')
    date: PartialDateField | None = Field(None, description="date of the assessment")
    comment: OptText = Field(None, description="comment")


class ResultSchema(_Schema):
    """A result chosen for the summary (`results`)."""

    domain = m.Result
    label: Text = Field(description="the test as written")
    kind: m.ResultKind = Field(m.ResultKind.LAB, description="`lab`, `imaging` or `other`")
    loinc: OptCode = Field(None, description="LOINC code of the test")
    loinc_label: OptText = Field(None, description="its label")
    quantity: Number | None = Field(None, description="a numeric value, with `unit`")
    unit: OptCode = Field(None, description="UCUM unit")
    value_text: OptText = Field(None, description="a value as text (imaging conclusion...)")
    date: PartialDateField | None = Field(None, description="date of the test")
    comment: OptText = Field(None, description="comment")


class CarePlanSchema(_Schema):
    """Something planned (`care_plan`)."""

    domain = m.CarePlanItem
    label: Text = Field(description="what is planned, as written")
    kind: m.CarePlanKind = Field(
        m.CarePlanKind.FOLLOW_UP,
        description="`follow_up` examination or follow-up, `procedure`, `encounter` (consultation)",
    )
    ccam: OptCode = Field(None, description="CCAM code of a planned act")
    ccam_label: OptText = Field(None, description="its official label")
    date: PartialDateField | None = Field(None, description="when")
    comment: OptText = Field(None, description="comment")


class AdvanceDirectiveSchema(_Schema):
    """Advance directives (`advance_directives`)."""

    domain = m.AdvanceDirective
    code: Code = Field(
        "42348-3",
        description="JDV_TypeDirectiveAnticipee_CISIS: `42348-3` the directives as a whole, "
        "`75779-9` réanimation, `75787-2` assistance respiratoire, `75789-8` maintien en vie, "
        "`77352-3` alimentation et hydratation artificielles, `MED-295` dialyse...",
    )
    text: OptText = Field(None, description="what the patient wrote or said, in short")
    accepted: StrictBool | None = Field(
        None, description="for a specific kind: true accepts it, false refuses it"
    )
    date: PartialDateField | None = Field(None, description="date of the directives")
    document_id: OptCode = Field(
        None, description="the patient's document holding them (its DMP unique id)"
    )
    document_title: OptText = Field(None, description="that document's title")
    comment: OptText = Field(None, description="comment (where else they are kept...)")


class ContactSchema(_Schema):
    """A person (`trusted_person`, `legal_representative`, `emergency_contact`)."""

    domain = m.ContactPerson
    family_name: Text = Field(description="nom")
    given_name: OptText = Field(None, description="prénom")
    relationship: OptCode = Field(
        None,
        description="HL7 RoleCode of value set J11 (`SIS` sœur, `SON` fils, `FRND`...); "
        "not written for the legal representative (the CI-SIS header has no place for it)",
    )
    phone: OptText = Field(None, description="phone number")
    email: OptText = Field(None, description="e-mail")
    address: AddressSchema | None = Field(None, description="address")


class SummarySchema(_Schema):
    """The whole summary (top level)."""

    domain = m.MedicalSummary
    schema_id: Literal["dmp-desktop/vsm-summary/1"] = Field(
        JSON_SCHEMA_ID,
        alias="schema",
        description=f'`"{JSON_SCHEMA_ID}"`: identifies the format (always written)',
    )
    document_id: OptCode = Field(
        None, description="id of this document (`root` or `root^extension`); generated if absent"
    )
    set_id: OptCode = Field(
        None, description="id shared by all versions of the summary; generated if absent"
    )
    version: Positive = Field(1, description="version number within the set")
    effective_time: DateTimeField = Field(description="date of the summary")
    title: Text = Field("Synthèse médicale", description="document title")
    confidentiality: m.Confidentiality = Field(
        m.Confidentiality.NORMAL,
        description="HL7 confidentiality (DMP masking is set at upload, not here)",
    )
    patient: PatientSchema = Field(description="the patient")
    author: ProviderSchema = Field(
        description="the professional writing the summary and their structure"
    )
    treating_physician: ProviderSchema | None = Field(
        None, description="the médecin traitant; **defaults to the author**"
    )
    trusted_person: ContactSchema | None = Field(None, description="personne de confiance")
    legal_representative: ContactSchema | None = Field(
        None, description="représentant légal (minor, protected adult)"
    )
    emergency_contact: ContactSchema | None = Field(
        None, description="personne à prévenir en cas d'urgence"
    )
    active_problems: list[ProblemSchema] = Field(
        default_factory=list, description='"Pathologies en cours"'
    )
    medical_history: list[MedicalHistorySchema] = Field(
        default_factory=list, description='"Antécédents médicaux"'
    )
    surgical_history: list[SurgerySchema] = Field(
        default_factory=list, description='"Antécédents chirurgicaux"'
    )
    allergies: list[AllergySchema] = Field(
        default_factory=list, description='"Allergies et hypersensibilités"'
    )
    no_known_allergies: StrictBool = Field(
        False, description='"aucune allergie connue" (only with an empty `allergies`)'
    )
    lifestyle: list[LifestyleSchema] = Field(
        default_factory=list, description='"Habitus, mode de vie"'
    )
    occupational_risks: list[StrictStr] = Field(
        default_factory=list, description='"Facteurs de risque professionnels" (texts)'
    )
    family_history: list[FamilySchema] = Field(
        default_factory=list, description='"Antécédents familiaux"'
    )
    vigilance_points: list[StrictStr] = Field(
        default_factory=list, description='"Points de vigilance" (texts)'
    )
    treatments: list[TreatmentSchema] = Field(
        default_factory=list, description='"Traitement au long cours"'
    )
    vaccinations: list[VaccinationSchema] = Field(
        default_factory=list, description='"Vaccinations"'
    )
    vital_signs: list[VitalSignSchema] = Field(
        default_factory=list, description='"Signes vitaux": weight, height...'
    )
    functional_status: list[FunctionalStatusSchema] = Field(
        default_factory=list, description='"Statut fonctionnel": dependency, autonomy'
    )
    results: list[ResultSchema] = Field(
        default_factory=list, description='"Résultats d\'examens" chosen for the summary'
    )
    care_plan: list[CarePlanSchema] = Field(default_factory=list, description='"Plan de soins"')
    advance_directives: list[AdvanceDirectiveSchema] = Field(
        default_factory=list, description='"Directives anticipées"'
    )

    def to_domain(self) -> m.MedicalSummary:
        values: dict[str, Any] = {}
        for name in type(self).model_fields:
            if name == "schema_id":
                continue
            try:
                values[name] = _down(getattr(self, name))
            except _Refused as exc:
                raise _Refused(f"{name}.{exc.path}", exc.reason) from None
        return m.MedicalSummary(**values)

    @classmethod
    def from_domain(cls, value: Any) -> dict[str, Any]:
        out = {name: _up(getattr(value, name)) for name in cls.model_fields if name != "schema_id"}
        return {"schema_id": JSON_SCHEMA_ID, **out}


_SCHEMA_OF: dict[type[Any], type[_Schema]] = {
    m.LocalId: LocalIdSchema,
    m.PatientIdentity: PatientSchema,
    Practitioner: PractitionerSchema,
    m.PostalAddress: AddressSchema,
    m.CareStructure: StructureSchema,
    m.CareProvider: ProviderSchema,
    m.Problem: ProblemSchema,
    m.MedicalHistory: MedicalHistorySchema,
    m.SurgicalHistory: SurgerySchema,
    m.Allergy: AllergySchema,
    m.LifestyleItem: LifestyleSchema,
    m.FamilyHistory: FamilySchema,
    m.Posology: PosologySchema,
    m.Treatment: TreatmentSchema,
    m.Vaccination: VaccinationSchema,
    m.VitalSign: VitalSignSchema,
    m.FunctionalStatus: FunctionalStatusSchema,
    m.Result: ResultSchema,
    m.CarePlanItem: CarePlanSchema,
    m.AdvanceDirective: AdvanceDirectiveSchema,
    m.ContactPerson: ContactSchema,
    m.MedicalSummary: SummarySchema,
}


# --- reading and writing -----------------------------------------------------------------------


class _Refused(Exception):
    """A value the schema's types accept but the domain refuses (an INS with a wrong key)."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(path)
        self.path = path
        self.reason = reason


# pydantic error type -> reason code (French wording in REASONS_FR)
_ERROR_REASONS: dict[str, str] = {
    "missing": "required",
    "extra_forbidden": "unknown_key",
    "string_type": "text_expected",
    "string_too_short": "required",
    "bool_type": "boolean_expected",
    "int_type": "integer_expected",
    "greater_than_equal": "positive_integer_expected",
    "list_type": "list_expected",
    "too_short": "at_least_one",
    "model_type": "object_expected",
    "model_attributes_type": "object_expected",
    "dict_type": "object_expected",
    "enum": "unknown_value",
    "literal_error": "unknown_value",
    "partial_date": "partial_date_expected",
    "full_date": "date_expected",
    "date_time": "date_time_expected",
    "naive_time": "needs_offset",
    "number": "number_expected",
}

REASONS_FR: dict[str, str] = {
    "required": "obligatoire",
    "unknown_key": "clé inconnue (faute de frappe ?)",
    "text_expected": "texte attendu",
    "boolean_expected": "true ou false attendu",
    "integer_expected": "nombre entier attendu",
    "positive_integer_expected": "entier positif attendu",
    "list_expected": "liste attendue",
    "at_least_one": "au moins un élément",
    "object_expected": "objet attendu",
    "unknown_value": "valeur inconnue",
    "partial_date_expected": "date attendue : AAAA, AAAA-MM ou AAAA-MM-JJ",
    "date_expected": "date attendue : AAAA-MM-JJ",
    "date_time_expected": "date-heure ISO 8601 attendue (ex. 2026-03-12T10:30:00+01:00)",
    "needs_offset": "la date-heure doit comporter son décalage horaire (ex. +01:00)",
    "number_expected": "nombre attendu",
    "invalid_ins": "INS invalide (format ou clé)",
    "unknown_schema": f"format inconnu (attendu : {JSON_SCHEMA_ID})",
    "not_json": "ce n'est pas du JSON",
    "invalid": "valeur refusée",
}


def _path(loc: Sequence[int | str]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _errors_of(exc: ValidationError) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for error in exc.errors(include_input=False, include_url=False):
        loc = list(error["loc"])
        # a union "X | None" reports under the chosen branch's name: drop those parts
        loc = [p for p in loc if not (isinstance(p, str) and p.startswith(("function-", "lax-")))]
        loc = ["schema" if p == "schema_id" else p for p in loc]
        reason = _ERROR_REASONS.get(error["type"], "invalid")
        if error["type"] == "literal_error" and loc == ["schema"]:
            reason = "unknown_schema"
        found.append((_path(loc), reason))
    # one error per place, in order
    seen: set[str] = set()
    unique = []
    for path, reason in found:
        if path not in seen:
            seen.add(path)
            unique.append((path, reason))
    return unique


def summary_from_dict(data: Any) -> m.MedicalSummary:
    if not isinstance(data, dict):
        raise m.SummaryFormatError("", "object_expected")
    try:
        schema = SummarySchema.model_validate(data)
        return schema.to_domain()
    except ValidationError as exc:
        errors = _errors_of(exc)
        raise m.SummaryFormatError(errors[0][0], errors[0][1], errors) from None
    except _Refused as exc:
        raise m.SummaryFormatError(exc.path, exc.reason) from None


def summary_from_json(text: str | bytes) -> m.MedicalSummary:
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise m.SummaryFormatError("", "not_json") from None
    return summary_from_dict(data)


def summary_to_dict(summary: m.MedicalSummary) -> dict[str, Any]:
    """The summary as a JSON-ready dict (what is absent is not written)."""
    model = _up(summary)
    dumped: dict[str, Any] = model.model_dump(mode="json", by_alias=True, exclude_none=True)
    return dumped


def summary_to_json(summary: m.MedicalSummary) -> str:
    """The summary as pretty, deterministic JSON (UTF-8 text, trailing newline)."""
    return json.dumps(summary_to_dict(summary), ensure_ascii=False, indent=2) + "\n"


# --- documentation ----------------------------------------------------------------------------

# The objects documented, in the order of docs/vsm-json.md.
DOCUMENTED: tuple[type[_Schema], ...] = (
    SummarySchema,
    PatientSchema,
    LocalIdSchema,
    ProviderSchema,
    PractitionerSchema,
    StructureSchema,
    AddressSchema,
    ContactSchema,
    ProblemSchema,
    SurgerySchema,
    AllergySchema,
    LifestyleSchema,
    FamilySchema,
    TreatmentSchema,
    PosologySchema,
    VaccinationSchema,
    VitalSignSchema,
    FunctionalStatusSchema,
    ResultSchema,
    CarePlanSchema,
    AdvanceDirectiveSchema,
)

_BEGIN = re.compile(r"<!-- fields: (\w+) -->\n")
_END = "<!-- /fields -->"


def _type_text(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is Annotated:
        for meta in args[1:]:
            if isinstance(meta, DocType):
                return meta.text
        return _type_text(args[0])
    if origin in (typing.Union, types.UnionType):
        kept = [a for a in args if a is not type(None)]
        return " or ".join(_type_text(a) for a in kept)
    if origin is list:
        inner = _type_text(args[0])
        if inner == "text":
            return "list of texts"
        if inner.startswith("object ("):
            return f"list of objects{inner.removeprefix('object')}"
        return f"list of {inner}"
    if origin is Literal:
        return ", ".join(f'`"{a}"`' for a in args)
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return ", ".join(f'`"{member.value}"`' for member in annotation)
    if isinstance(annotation, type) and issubclass(annotation, _Schema):
        return f"object ({_anchor(annotation)})"
    if annotation in (str,):
        return "text"
    if annotation in (bool,):
        return "boolean"
    if annotation in (int,):
        return "integer"
    return getattr(annotation, "__name__", str(annotation))


def _anchor(schema: type[_Schema]) -> str:
    if schema is MedicalHistorySchema:
        return "Problem"  # the same keys, another default status
    return schema.__name__.removesuffix("Schema")


def _default_text(value: Any) -> str:
    if isinstance(value, enum.Enum):
        value = value.value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'`"{value}"`'
    return f"`{value}`"


def field_table(schema: type[_Schema]) -> str:
    """The markdown table of one object's keys (Key, Type, Required, Meaning)."""
    rows = ["| Key | Type | Required | Meaning |", "|---|---|---|---|"]
    for name, info in schema.model_fields.items():
        key = info.alias or name
        annotation: Any = info.annotation
        if info.metadata:
            annotation = Annotated[(annotation, *info.metadata)]
        type_text = _type_text(annotation)
        if info.is_required():
            required = "**yes**"
        elif info.default_factory is not None or info.default is None:
            required = "no"
        else:
            required = f"no ({_default_text(info.default)})"
        meaning = (info.description or "").replace("|", "\\|")
        rows.append(f"| `{key}` | {type_text} | {required} | {meaning} |")
    return "\n".join(rows) + "\n"


def render_doc(text: str) -> str:
    """``text`` with every ``<!-- fields: Name -->`` block regenerated from the schema."""
    by_name = {_anchor(s): s for s in DOCUMENTED}
    out: list[str] = []
    position = 0
    for match in _BEGIN.finditer(text):
        name = match.group(1)
        if name not in by_name:
            raise KeyError(f"docs: unknown object {name!r}")
        end = text.find(_END, match.end())
        if end < 0:
            raise ValueError(f"docs: block {name!r} is not closed")
        out.append(text[position : match.end()])
        out.append(field_table(by_name[name]))
        position = end
    out.append(text[position:])
    return "".join(out)


def documented_names(text: str) -> list[str]:
    return [match.group(1) for match in _BEGIN.finditer(text)]


def _iter_schemas() -> Iterator[type[_Schema]]:
    yield from DOCUMENTED


DOC_PATH = Path(__file__).resolve().parents[2] / "docs" / "vsm-json.md"


def main(argv: Sequence[str] | None = None, out: Callable[[str], object] = print) -> int:
    parser = argparse.ArgumentParser(description="Regenerate the field tables of docs/vsm-json.md")
    parser.add_argument("--check", action="store_true", help="fail if the file is out of date")
    parser.add_argument("--write", action="store_true", help="rewrite the file")
    parser.add_argument("--doc", type=Path, default=DOC_PATH)
    args = parser.parse_args(argv)
    text = args.doc.read_text(encoding="utf-8")
    rendered = render_doc(text)
    missing = [_anchor(s) for s in DOCUMENTED if _anchor(s) not in documented_names(text)]
    if missing:
        out(f"{args.doc}: no table for {', '.join(missing)}")
        return 1
    if args.write:
        args.doc.write_text(rendered, encoding="utf-8")
        return 0
    if rendered != text:
        out(f"{args.doc} is out of date: run python -m dmp_desktop.domain.summary_json --write")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
