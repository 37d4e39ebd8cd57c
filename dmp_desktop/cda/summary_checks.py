"""What must hold in a summary's content before it becomes a VSM: one place for every door.

:func:`check_content` is called by :func:`dmp_desktop.cda.vsm.check_summary`,
which the builder runs before writing anything: the editor, ``dmp vsm
build``, ``dmp vsm send`` and the window's send all go through it. It
returns every problem at once (a :class:`SummaryProblem` per field: a path,
a reason code, and the code and label concerned), worded in French by
:func:`dmp_desktop.cda.errors.problem_message`.

The checks:

- **form**: required texts, code shapes (CIM-10, CCAM, CIS, CIP, ATC, LOINC),
  CI-SIS value sets (allergy types, relationships, EDQM routes, vital signs,
  advance directive kinds), UCUM units (:mod:`dmp_desktop.terminology.ucum`);
- **existence**: a code absent from a system whose official list is
  installed in full (CIM-10, BDPM CIS/CIP, ATC, CCAM: see
  :mod:`dmp_desktop.terminology.vocabulary`) does not exist. With only the
  bundled extract, absence proves nothing and is not reported;
- **a code and its label together**: the doctor's text must not contradict
  the code's official label (:mod:`dmp_desktop.terminology.agreement`), nor
  a drug's name its CIS (name or substances); a label given for a code must
  be that code's label; a CIP must be a presentation of the CIS, an ATC the
  CIS's class;
- **dates**: nothing after the document's date (except what is planned: the
  care plan, the end of a course of treatment), nothing before the birth,
  every end after its start;
- **quantities**: no negative quantity (pack-years...), measures and doses
  positive, units of the right kind (a weight in kg, a period in time).
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterable, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from dmp_desktop.cda import valuesets
from dmp_desktop.cda.errors import SummaryProblem
from dmp_desktop.domain.summary import (
    Allergy,
    ContactPerson,
    MedicalSummary,
    PartialDate,
    Posology,
    ProblemStatus,
    Treatment,
)
from dmp_desktop.terminology import allergy_classes, ucum
from dmp_desktop.terminology.agreement import contradiction
from dmp_desktop.terminology.model import Concept, System
from dmp_desktop.terminology.vocabulary import Vocabulary

CIM10_RE = re.compile(r"^[A-Z][0-9][0-9A-Z](\.?[0-9A-Z+]{1,4})?$")
CCAM_RE = re.compile(r"^[A-Z]{4}[0-9]{3}$")
CIS_RE = re.compile(r"^[0-9]{8}$")
CIP_RE = re.compile(r"^([0-9]{7}|[0-9]{13})$")
ATC_RE = re.compile(r"^[A-Z]([0-9]{2}([A-Z]([A-Z]([0-9]{2})?)?)?)?$")
LOINC_RE = re.compile(r"^[0-9]{1,7}-[0-9]$")

_PATTERNS = {
    System.CIM10: CIM10_RE,
    System.CCAM: CCAM_RE,
    System.CIS: CIS_RE,
    System.CIP: CIP_RE,
    System.ATC: ATC_RE,
}
_SYSTEM_NAMES = {
    System.CIM10: "CIM-10",
    System.CCAM: "CCAM",
    System.CIS: "des médicaments (CIS)",
    System.CIP: "des présentations (CIP)",
    System.ATC: "ATC",
}
WEIGHT = "29463-7"
HEIGHTS = ("8302-2", "8306-3", "8287-5")


def earliest(value: PartialDate) -> date:
    return date(value.year, value.month or 1, value.day or 1)


def latest(value: PartialDate) -> date:
    month = value.month or 12
    day = value.day or calendar.monthrange(value.year, month)[1]
    return date(value.year, month, day)


class _Checker:
    def __init__(self, summary: MedicalSummary, vocabulary: Vocabulary | None) -> None:
        self.s = summary
        self.v = vocabulary
        self.problems: list[SummaryProblem] = []
        self.document_date = summary.effective_time.date()
        self.birth = summary.patient.birth_date

    # -- helpers --------------------------------------------------------------------------------
    def add(self, path: str, reason: str, **params: Any) -> None:
        self.problems.append(
            SummaryProblem(path, reason, tuple((k, str(v)) for k, v in params.items()))
        )

    def text(self, value: str | None, path: str, reason: str = "required") -> bool:
        if value is None or not value.strip():
            self.add(path, reason)
            return False
        return True

    def date(self, value: PartialDate | None, path: str) -> None:
        if value is None:
            return
        if earliest(value) > self.document_date:
            self.add(path, "after_document", date=value.french())
        elif self.birth is not None and latest(value) < self.birth:
            self.add(path, "before_birth", date=value.french())

    def interval(self, start: PartialDate | None, end: PartialDate | None, end_path: str) -> None:
        if start is not None and end is not None and latest(end) < earliest(start):
            self.add(end_path, "end_before_start", start=start.french(), end=end.french())

    def unit(self, unit: str | None, path: str, kind: str | None = None) -> bool:
        if unit is None or not unit.strip():
            self.add(path, "unit_required")
            return False
        if not ucum.is_valid(unit):
            self.add(path, "unit_invalid", unit=unit)
            return False
        if kind is not None and ucum.dimension(unit) != kind:
            self.add(path, f"unit_not_{kind}", unit=unit)
            return False
        return True

    def value_set(self, code: str | None, table: Iterable[str], path: str) -> None:
        if code is not None and code not in table:
            self.add(path, "unknown_code", code=code)

    def coded(
        self,
        system: System,
        code: str | None,
        path: str,
        *,
        text: str | None = None,
        text_path: str | None = None,
        label: str | None = None,
        label_path: str | None = None,
        extra_labels: Sequence[str] = (),
    ) -> Concept | None:
        """Check one code: its shape, that it exists, that its label and the text agree."""
        if code is None:
            return None
        if not _PATTERNS[system].match(code):
            self.add(path, "bad_format", code=code)
            return None
        concept = self.v.lookup(system, code) if self.v is not None else None
        if concept is None:
            if self.v is not None and self.v.is_complete(system):
                self.add(path, "code_not_found", code=code, system=_SYSTEM_NAMES[system])
            official = label  # unverifiable: the text is checked against the given label
        else:
            official = concept.display
            if label and label_path and contradiction(label, [official]) is not None:
                self.add(label_path, "label_not_official", code=code, label=official)
        if text and text_path and official:
            labels = [official, *extra_labels]
            if concept is not None:
                short = concept.extra.get("short_label")
                if isinstance(short, str):
                    labels.append(short)
            if contradiction(text, labels, system=system, code=code) is not None:
                self.add(text_path, "text_contradicts_code", code=code, label=official)
        return concept

    def drug(self, cis: str | None, name: str, path: str, name_path: str) -> Concept | None:
        """A CIS code and the drug's name as written: the name must not contradict it."""
        if cis is None:
            return None
        if not CIS_RE.match(cis):
            self.add(path, "bad_format", code=cis)
            return None
        concept = self.v.lookup(System.CIS, cis) if self.v is not None else None
        if concept is None:
            if self.v is not None and self.v.is_complete(System.CIS):
                self.add(path, "code_not_found", code=cis, system=_SYSTEM_NAMES[System.CIS])
            return None
        labels = [concept.display, *_strings(concept.extra.get("substances"))]
        labels += _strings(concept.extra.get("substances_salts"))
        holders = _strings(concept.extra.get("holders"))
        if name and contradiction(name, labels, ignore=holders) is not None:
            self.add(name_path, "name_contradicts_cis", code=cis, label=concept.display)
        return concept

    def atc_of(self, concept: Concept | None, atc: str | None, path: str) -> None:
        """An ATC code given with a CIS must be that drug's class (when the BDPM knows it)."""
        if concept is None or atc is None:
            return
        known = concept.extra.get("atc")
        if not isinstance(known, str) or not known:
            return
        if not (known.startswith(atc) or atc.startswith(known)):
            self.add(path, "atc_not_of_cis", code=atc, expected=known)

    def atc(self, atc: str | None, path: str, text: str | None, text_path: str) -> None:
        if atc is None:
            return
        if not ATC_RE.match(atc):
            self.add(path, "bad_format", code=atc)
            return
        concept = self.v.lookup(System.ATC, atc) if self.v is not None else None
        if concept is None and self.v is not None and self.v.is_complete(System.ATC):
            self.add(path, "code_not_found", code=atc, system=_SYSTEM_NAMES[System.ATC])
            return
        # the ATC list's own labels are English: compare with the French class or substance
        french = allergy_classes.labels_for(atc)
        substance = self.v.lookup(System.SUBSTANCE, atc) if self.v is not None else None
        if substance is not None:
            french = [substance.display, *_strings(substance.extra.get("other_names")), *french]
        if text and french and contradiction(text, french) is not None:
            self.add(text_path, "text_contradicts_code", code=atc, label=french[0])

    # -- the whole summary ------------------------------------------------------------------------
    def run(self) -> list[SummaryProblem]:
        s = self.s
        if self.birth is not None and self.birth > self.document_date:
            self.add("patient.birth_date", "birth_after_document")
        for key in ("active_problems", "medical_history"):
            for i, problem in enumerate(getattr(s, key)):
                at = f"{key}[{i}]"
                self.text(problem.label, f"{at}.label")
                self.coded(
                    System.CIM10,
                    problem.cim10,
                    f"{at}.cim10",
                    text=problem.label,
                    text_path=f"{at}.label",
                    label=problem.cim10_label,
                    label_path=f"{at}.cim10_label",
                )
                if problem.resolution is not None and problem.status is not ProblemStatus.RESOLVED:
                    self.add(f"{at}.resolution", "resolution_needs_resolved")
                self.date(problem.onset, f"{at}.onset")
                self.date(problem.resolution, f"{at}.resolution")
                self.interval(problem.onset, problem.resolution, f"{at}.resolution")
        for i, surgery in enumerate(s.surgical_history):
            at = f"surgical_history[{i}]"
            self.text(surgery.label, f"{at}.label")
            self.coded(
                System.CCAM,
                surgery.ccam,
                f"{at}.ccam",
                text=surgery.label,
                text_path=f"{at}.label",
                label=surgery.ccam_label,
                label_path=f"{at}.ccam_label",
            )
            self.date(surgery.date, f"{at}.date")
        for i, allergy in enumerate(s.allergies):
            self.allergy(allergy, f"allergies[{i}]")
        if s.no_known_allergies and s.allergies:
            self.add("no_known_allergies", "conflicts_with_allergies")
        for i, item in enumerate(s.lifestyle):
            at = f"lifestyle[{i}]"
            self.text(item.text, f"{at}.text")
            if item.quantity is not None:
                if item.quantity < 0:
                    self.add(f"{at}.quantity", "negative")
                self.unit(item.unit, f"{at}.unit")
            self.date(item.date, f"{at}.date")
        for i, family in enumerate(s.family_history):
            at = f"family_history[{i}]"
            self.value_set(
                family.relationship, valuesets.FAMILY_RELATIONSHIPS, f"{at}.relationship"
            )
            self.text(family.label, f"{at}.label")
            self.coded(
                System.CIM10,
                family.cim10,
                f"{at}.cim10",
                text=family.label,
                text_path=f"{at}.label",
                label=family.cim10_label,
                label_path=f"{at}.cim10_label",
            )
        for i, treatment in enumerate(s.treatments):
            self.treatment(treatment, f"treatments[{i}]")
        for key in ("occupational_risks", "vigilance_points"):
            for i, text in enumerate(getattr(s, key)):
                self.text(text, f"{key}[{i}]", "empty")
        self.new_sections()
        for key in ("trusted_person", "legal_representative", "emergency_contact"):
            person = getattr(s, key)
            if person is not None:
                self.contact(person, key)
        return self.problems

    def allergy(self, allergy: Allergy, at: str) -> None:
        self.text(allergy.agent, f"{at}.agent")
        self.value_set(allergy.type_code, valuesets.ALLERGY_TYPES, f"{at}.type_code")
        concept = self.drug(allergy.agent_cis, allergy.agent, f"{at}.agent_cis", f"{at}.agent")
        if allergy.agent_cis is None:
            self.atc(allergy.agent_atc, f"{at}.agent_atc", allergy.agent, f"{at}.agent")
        else:
            self.atc_of(concept, allergy.agent_atc, f"{at}.agent_atc")
        self.date(allergy.onset, f"{at}.onset")

    def treatment(self, treatment: Treatment, at: str) -> None:
        self.text(treatment.name, f"{at}.name")
        concept = self.drug(treatment.cis, treatment.name, f"{at}.cis", f"{at}.name")
        if treatment.cip is not None:
            if not CIP_RE.match(treatment.cip):
                self.add(f"{at}.cip", "bad_format", code=treatment.cip)
            elif self.v is not None:
                presentation = self.v.lookup(System.CIP, treatment.cip)
                if presentation is None and self.v.is_complete(System.CIP):
                    self.add(f"{at}.cip", "code_not_found", code=treatment.cip, system="CIP")
                elif presentation is not None and treatment.cis is not None:
                    owner = presentation.extra.get("cis")
                    if isinstance(owner, str) and owner and owner != treatment.cis:
                        self.add(f"{at}.cip", "cip_not_of_cis", code=treatment.cip, cis=owner)
        if treatment.atc is not None:
            if not ATC_RE.match(treatment.atc):
                self.add(f"{at}.atc", "bad_format", code=treatment.atc)
            else:
                self.atc_of(concept, treatment.atc, f"{at}.atc")
        self.date(treatment.start, f"{at}.start")
        # the end of a course may be planned: only before the birth is impossible
        if (
            treatment.end is not None
            and self.birth is not None
            and latest(treatment.end) < self.birth
        ):
            self.add(f"{at}.end", "before_birth", date=treatment.end.french())
        self.interval(treatment.start, treatment.end, f"{at}.end")
        if treatment.reason_cim10 is not None or treatment.reason:
            self.coded(
                System.CIM10,
                treatment.reason_cim10,
                f"{at}.reason_cim10",
                text=treatment.reason,
                text_path=f"{at}.reason",
                label=treatment.reason_cim10_label,
                label_path=f"{at}.reason_cim10_label",
            )
        if treatment.reason_cim10 is not None and not (treatment.reason or "").strip():
            self.add(f"{at}.reason", "required")
        if treatment.posology is not None:
            self.posology(treatment.posology, f"{at}.posology", treatment)

    def posology(self, p: Posology, at: str, treatment: Treatment) -> None:
        if p.dose is not None:
            if p.dose <= 0:
                self.add(f"{at}.dose", "not_positive")
            self.unit(p.dose_unit, f"{at}.dose_unit")
            if p.dose_max is not None and p.dose_max < p.dose:
                self.add(f"{at}.dose_max", "dose_range")
        elif p.dose_max is not None or p.dose_unit is not None:
            self.add(f"{at}.dose", "required")
        if p.period is not None or p.times is not None or p.period_unit is not None:
            if p.period is None:
                self.add(f"{at}.period", "required")
            elif p.period <= 0:
                self.add(f"{at}.period", "not_positive")
            self.unit(p.period_unit, f"{at}.period_unit", "time")
        if p.route is not None:
            self.value_set(p.route, valuesets.ROUTES, f"{at}.route")
        if p.duration is not None or p.duration_unit is not None:
            if p.duration is None:
                self.add(f"{at}.duration", "required")
            elif p.duration <= 0:
                self.add(f"{at}.duration", "not_positive")
            self.unit(p.duration_unit, f"{at}.duration_unit", "time")
            if treatment.end is not None:
                self.add(f"{at}.duration", "duration_and_end")

    def new_sections(self) -> None:
        s = self.s
        for i, vac in enumerate(s.vaccinations):
            at = f"vaccinations[{i}]"
            self.text(vac.vaccine, f"{at}.vaccine")
            concept = self.drug(vac.cis, vac.vaccine, f"{at}.cis", f"{at}.vaccine")
            if vac.atc is not None:
                if not ATC_RE.match(vac.atc):
                    self.add(f"{at}.atc", "bad_format", code=vac.atc)
                else:
                    self.atc_of(concept, vac.atc, f"{at}.atc")
            routes = valuesets.IMMUNIZATION_ROUTES.keys() | valuesets.ROUTES.keys()
            self.value_set(vac.route, routes, f"{at}.route")
            self.date(vac.date, f"{at}.date")
        for i, sign in enumerate(s.vital_signs):
            at = f"vital_signs[{i}]"
            self.value_set(sign.code, valuesets.VITAL_SIGNS, f"{at}.code")
            kind = "mass" if sign.code == WEIGHT else "length" if sign.code in HEIGHTS else None
            if sign.value <= 0:
                self.add(f"{at}.value", "not_positive")
            self.unit(sign.unit, f"{at}.unit", kind)
            self.date(sign.date, f"{at}.date")
        for i, status in enumerate(s.functional_status):
            at = f"functional_status[{i}]"
            self.text(status.label, f"{at}.label")
            self.date(status.date, f"{at}.date")
        for i, result in enumerate(s.results):
            at = f"results[{i}]"
            self.text(result.label, f"{at}.label")
            if result.loinc is not None and not LOINC_RE.match(result.loinc):
                self.add(f"{at}.loinc", "bad_format", code=result.loinc)
            if result.quantity is not None:
                self.unit(result.unit, f"{at}.unit")
            elif not (result.value_text or "").strip():
                self.add(f"{at}.value_text", "value_required")
            self.date(result.date, f"{at}.date")
        for i, item in enumerate(s.care_plan):
            at = f"care_plan[{i}]"
            self.text(item.label, f"{at}.label")
            self.coded(
                System.CCAM,
                item.ccam,
                f"{at}.ccam",
                text=item.label,
                text_path=f"{at}.label",
                label=item.ccam_label,
                label_path=f"{at}.ccam_label",
            )
            # a plan may be dated in the future: only before the birth is impossible
            if item.date is not None and self.birth is not None and latest(item.date) < self.birth:
                self.add(f"{at}.date", "before_birth", date=item.date.french())
        for i, directive in enumerate(s.advance_directives):
            at = f"advance_directives[{i}]"
            self.value_set(directive.code, valuesets.ADVANCE_DIRECTIVE_TYPES, f"{at}.code")
            self.date(directive.date, f"{at}.date")

    def contact(self, person: ContactPerson, at: str) -> None:
        self.text(person.family_name, f"{at}.family_name")
        self.value_set(person.relationship, valuesets.RELATIONSHIPS, f"{at}.relationship")


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list | tuple):
        return [v for v in value if isinstance(v, str)]
    return []


def check_content(
    summary: MedicalSummary, vocabulary: Vocabulary | None = None
) -> list[SummaryProblem]:
    """Every problem of the summary's content (the header is checked by cda.header)."""
    return _Checker(summary, vocabulary).run()


def decimal_text(value: Decimal) -> str:
    return ucum.number_text(value)
