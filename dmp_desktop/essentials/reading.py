"""Reading one CDA document into the statements of « L'essentiel ».

Plain Python, no Qt. Built on the reusable entry reader
(:class:`dmp_desktop.cda.entries.EntryReader`: VSM, IPS-FR and every CI-SIS
section it knows) and adds what a record's documents carry besides:

- the laboratory results of a CR-BIO (and of any volet using the CI-SIS
  laboratory entry ``1.2.250.1.213.1.1.3.21`` / IHE PaLM ``1.3.6.1.4.1.19376.1.3.1``):
  batteries and isolated observations, LOINC-coded, with their value;
- the treatments of hospital letters: at admission (``…2.144``), at discharge
  (``…2.146``), and, in a discharge letter (LDL-SES), those stopped during the
  stay (``…2.145``);
- whether a treatment is stopped (its end before the document's date, or an
  aborted / suspended status);
- the trusted person of the header (``informant/relatedEntity[@classCode='NOK']``).

Everything else a document holds is listed in ``left_out`` (French), with
the reader's own list: the entries of sections this model cannot hold, and
the kinds of entries « L'essentiel » does not show (lifestyle, family history,
functional status, care plan...). Nothing is dropped silently.
"""

from __future__ import annotations

import re
from typing import Any

from lxml import etree

from dmp_desktop import xmlsafe
from dmp_desktop.cda import posology as posology_words
from dmp_desktop.cda import valuesets
from dmp_desktop.cda.entries import EntryReader
from dmp_desktop.cda.vsm import _read_contact
from dmp_desktop.cda.xmlutil import attr, first, xp
from dmp_desktop.domain import summary_json as sj
from dmp_desktop.domain.summary import (
    AdvanceDirective,
    Allergy,
    AllergyStatus,
    ContactPerson,
    MedicalHistory,
    PartialDate,
    Problem,
    ProblemStatus,
    Result,
    ResultKind,
    SurgicalHistory,
    Treatment,
    Vaccination,
    VitalSign,
)
from dmp_desktop.essentials.concepts import usual_concept
from dmp_desktop.essentials.model import (
    Category,
    DocumentFacts,
    LeftOut,
    Source,
    Statement,
    Status,
)
from dmp_desktop.essentials.wording import normalized, quantity_text

HL7 = "urn:hl7-org:v3"
_LAB_ENTRY = ("1.3.6.1.4.1.19376.1.3.1", "1.2.250.1.213.1.1.3.21")
_LAB_OBSERVATION = "1.3.6.1.4.1.19376.1.3.1.6"
_LAB_BATTERY = "1.3.6.1.4.1.19376.1.3.1.4"
SEC_ADMISSION_TREATMENTS = "1.2.250.1.213.1.1.2.144"
SEC_ADMINISTERED_TREATMENTS = "1.2.250.1.213.1.1.2.145"
SEC_DISCHARGE_TREATMENTS = "1.2.250.1.213.1.1.2.146"
TPL_LDL_SES = "1.2.250.1.213.1.1.1.29"
_STOPPED_STATUSES = ("aborted", "suspended", "cancelled", "nullified")

# The kinds of the entry reader that « L'essentiel » does not show, in French.
NOT_SHOWN = {
    "lifestyle": "Habitus, mode de vie",
    "occupational_risks": "Facteurs de risque professionnels",
    "family_history": "Antécédents familiaux",
    "functional_status": "Statut fonctionnel",
    "care_plan": "Plan de soins",
}
NOT_SHOWN_WHAT = "non repris dans L'essentiel"


def _item(schema: Any, value: Any) -> dict[str, Any]:
    """The entry as the VSM JSON format writes it (docs/vsm-json.md)."""
    model = schema.model_construct(**schema.from_domain(value))
    dumped: dict[str, Any] = model.model_dump(mode="json", exclude_none=True)
    return dumped


class EssentialsReader(EntryReader):
    """The entry reader, plus laboratory entries, letters' treatments and treatment status."""

    def __init__(self, root: etree._Element, document_date: PartialDate | None) -> None:
        super().__init__(root)
        self.document_date = document_date
        self._stopped: set[int] = set()  # id() of the Treatment objects read as stopped
        self._force_stopped = False

    # -- treatments ------------------------------------------------------------------------
    def treatment(self, sa: etree._Element) -> Treatment | None:
        found = super().treatment(sa)
        if found is None:
            return None
        status = attr(sa, "h:statusCode", "code")
        ended = found.end is not None and (
            self.document_date is None or found.end <= self.document_date
        )
        if self._force_stopped or ended or status in _STOPPED_STATUSES:
            self._stopped.add(id(found))
        return found

    def is_stopped(self, treatment: Treatment) -> bool:
        return id(treatment) in self._stopped

    def _sections_with(self, template: str) -> list[etree._Element]:
        body = self.body()
        if body is None:
            return []
        return xp(body, f".//h:section[h:templateId/@root='{template}']")

    def letter_treatments(self) -> list[Treatment]:
        """Treatments at admission and at discharge; those stopped in a discharge letter."""
        out: list[Treatment] = []
        ldl_ses = TPL_LDL_SES in {t.get("root") for t in xp(self.root, "h:templateId")}
        wanted = [(SEC_ADMISSION_TREATMENTS, False), (SEC_DISCHARGE_TREATMENTS, False)]
        if ldl_ses:
            wanted.append((SEC_ADMINISTERED_TREATMENTS, True))
        for template, stopped in wanted:
            for section in self._sections_with(template):
                self._force_stopped = stopped
                try:
                    out.extend(self.treatments(section))
                finally:
                    self._force_stopped = False
                self.read_sections.add(section)
        return out

    # -- laboratory (CR-BIO) -----------------------------------------------------------------
    def lab_results(self) -> list[Result]:
        body = self.body()
        if body is None:
            return []
        out: list[Result] = []
        condition = " or ".join(f"h:templateId/@root='{t}'" for t in _LAB_ENTRY)
        for entry in xp(body, f".//h:entry[{condition}]"):
            self.used.add(entry)
            section = entry.getparent()
            if section is not None:
                self.read_sections.add(section)
            for obs in xp(entry, f".//h:observation[h:templateId/@root='{_LAB_OBSERVATION}']"):
                result = self.result(obs, ResultKind.LAB)
                if result is not None and (result.quantity is not None or result.value_text):
                    out.append(result)
        return out

    # -- header ----------------------------------------------------------------------------
    def trusted_person(self) -> ContactPerson | None:
        for informant in xp(self.root, "h:informant/h:relatedEntity[@classCode='NOK']"):
            contact = _read_contact(informant, "h:relatedPerson")
            if contact is not None:
                return contact
        return None


def clinical_document(root: etree._Element) -> etree._Element | None:
    """The ClinicalDocument itself (a self-presenting document wraps it in a stylesheet)."""
    if root.tag == f"{{{HL7}}}ClinicalDocument":
        return root
    return root.find(f".//{{{HL7}}}ClinicalDocument")


def read_document(content: bytes, source: Source) -> DocumentFacts:
    """The statements of one retrieved document (never raises for a bad document)."""
    try:
        root = xmlsafe.parse(content)
    except xmlsafe.UnsafeXmlError:
        return DocumentFacts(source, structured=False, problem="document XML illisible")
    document = clinical_document(root)
    if document is None:
        return DocumentFacts(source, structured=False, problem="pas un document CDA")
    if first(document, "h:component/h:structuredBody") is None:
        return DocumentFacts(source, structured=False)
    return read_root(document, source)


def read_root(root: etree._Element, source: Source) -> DocumentFacts:
    """The statements of a parsed structured CDA document."""
    return read_with_reader(root, source)[0]


def read_with_reader(
    root: etree._Element, source: Source
) -> tuple[DocumentFacts, EssentialsReader]:
    """The statements, and the reader that took them (which entries it used: tests)."""
    reader = EssentialsReader(root, source.date)
    found = reader.collect()
    out = _Builder(reader)
    for problem in found.active_problems:
        out.problem(problem, "problem")
    for history in found.medical_history:
        out.problem(history, "medical_history")
    for surgery in found.surgical_history:
        out.surgery(surgery)
    for allergy in found.allergies:
        out.allergy(allergy)
    for treatment in found.treatments + reader.letter_treatments():
        out.treatment(treatment)
    for vaccination in found.vaccinations:
        out.vaccination(vaccination)
    for sign in found.vital_signs:
        out.vital_sign(sign)
    for result in found.results + reader.lab_results():
        out.result(result)
    for point in found.vigilance_points:
        out.vigilance(point)
    for directive in found.advance_directives:
        out.directive(directive)
    trusted = reader.trusted_person()
    if trusted is not None:
        out.trusted_person(trusted)
    left: list[LeftOut] = [LeftOut(i.section, i.what, i.count) for i in reader.left_out()]
    for rubric, count in out.unnamed.items():
        left.append(LeftOut(rubric, "élément sans libellé non repris", count))
    for name, title in NOT_SHOWN.items():
        items = getattr(found, name)
        if items:
            left.append(LeftOut(title, NOT_SHOWN_WHAT, len(items)))
    return DocumentFacts(source, tuple(out.statements), tuple(left)), reader


class _Builder:
    """Turns the reader's entries into statements."""

    def __init__(self, reader: EssentialsReader) -> None:
        self.reader = reader
        self.statements: list[Statement] = []
        self.unnamed: dict[str, int] = {}  # rubric -> entries without a usable label

    def add(self, **fields: Any) -> None:
        statement = Statement(**fields)
        if not normalized(statement.label):  # « - » or blank: nothing a doctor could read
            rubric = statement.category.label
            self.unnamed[rubric] = self.unnamed.get(rubric, 0) + 1
            return
        self.statements.append(statement)

    def problem(self, problem: Problem, kind: str) -> None:
        active = problem.status is ProblemStatus.ACTIVE
        schema = (
            sj.MedicalHistorySchema if isinstance(problem, MedicalHistory) else sj.ProblemSchema
        )
        key = f"cim10:{problem.cim10}" if problem.cim10 else f"text:{normalized(problem.label)}"
        self.add(
            category=Category.PROBLEMS if active else Category.HISTORY,
            kind=kind,
            key=key,
            label=problem.label,
            status=Status.ACTIVE if active else Status.RESOLVED,
            date=problem.onset,
            code=problem.cim10 or "",
            item=_item(schema, problem),
        )

    def surgery(self, surgery: SurgicalHistory) -> None:
        key = f"ccam:{surgery.ccam}" if surgery.ccam else f"text:{normalized(surgery.label)}"
        self.add(
            category=Category.HISTORY,
            kind="surgical_history",
            key=key,
            label=surgery.label,
            status=Status.DONE,
            date=surgery.date,
            code=surgery.ccam or "",
            item=_item(sj.SurgerySchema, surgery),
        )

    def allergy(self, allergy: Allergy) -> None:
        if allergy.agent_cis:
            key = f"cis:{allergy.agent_cis}"
        elif allergy.agent_atc:
            key = f"atc:{allergy.agent_atc}"
        else:
            key = f"text:{normalized(allergy.agent)}"
        status = {
            AllergyStatus.ACTIVE: Status.ACTIVE,
            AllergyStatus.INACTIVE: Status.INACTIVE,
            AllergyStatus.RESOLVED: Status.RESOLVED,
        }[allergy.status]
        kind = valuesets.ALLERGY_TYPES.get(allergy.type_code, "")
        detail = "; ".join(p for p in (allergy.reaction or "", kind) if p)
        self.add(
            category=Category.ALLERGIES,
            kind="allergy",
            key=key,
            aliases=_aliases(
                key,
                f"text:{normalized(allergy.agent)}",
                allergy.agent_atc and f"atc:{allergy.agent_atc}",
            ),
            label=allergy.agent,
            status=status,
            detail=detail,
            date=allergy.onset,
            code=allergy.agent_cis or allergy.agent_atc or "",
            item=_item(sj.AllergySchema, allergy),
        )

    def treatment(self, treatment: Treatment) -> None:
        self.add(
            category=Category.TREATMENTS,
            kind="treatment",
            key=treatment_key(treatment),
            aliases=_aliases(
                treatment_key(treatment),
                treatment.cis and f"cis:{treatment.cis}",
                treatment.atc and len(treatment.atc) == 7 and f"atc:{treatment.atc}",
                name_key(treatment.name),
            ),
            label=treatment.name,
            status=Status.STOPPED if self.reader.is_stopped(treatment) else Status.ACTIVE,
            detail=posology_text(treatment),
            date=treatment.end if self.reader.is_stopped(treatment) else treatment.start,
            end=treatment.end,
            code=treatment.atc or treatment.cis or "",
            item=_item(sj.TreatmentSchema, treatment),
        )

    def vaccination(self, vaccination: Vaccination) -> None:
        key = (
            f"atc:{vaccination.atc}"
            if vaccination.atc
            else (
                f"cis:{vaccination.cis}"
                if vaccination.cis
                else f"text:{normalized(vaccination.vaccine)}"
            )
        )
        rank = f"dose {vaccination.rank}" if vaccination.rank else ""
        kind = valuesets.IMMUNIZATION_KINDS.get(vaccination.kind.value, "")
        if vaccination.kind.value == "IMMUNIZ":
            kind = ""
        self.add(
            category=Category.VACCINATIONS,
            kind="vaccination",
            key=key,
            label=vaccination.vaccine,
            status=Status.DONE,
            detail=", ".join(p for p in (kind, rank) if p),
            date=vaccination.date,
            code=vaccination.atc or vaccination.cis or "",
            item=_item(sj.VaccinationSchema, vaccination),
        )

    def vital_sign(self, sign: VitalSign) -> None:
        concept = usual_concept(sign.code)
        label = concept.label if concept else valuesets.VITAL_SIGNS.get(sign.code, sign.code)
        self.add(
            category=Category.RESULTS if concept else Category.OTHER_RESULTS,
            kind="vital_sign",
            key=f"concept:{concept.key}" if concept else f"loinc:{sign.code}",
            label=label,
            status=Status.DONE,
            detail=quantity_text(sign.value, sign.unit),
            date=sign.date,
            value=sign.value,
            unit=sign.unit,
            code=sign.code,
            item=_item(sj.VitalSignSchema, sign),
        )

    def result(self, result: Result) -> None:
        concept = usual_concept(result.loinc)
        if concept is not None:
            key, label = f"concept:{concept.key}", concept.label
        elif result.loinc:
            key, label = f"loinc:{result.loinc}", result.label
        else:
            key, label = f"text:{normalized(result.label)}", result.label
        if result.quantity is not None:
            detail = quantity_text(result.quantity, result.unit or "")
        else:
            detail = short(result.value_text or "")
        self.add(
            category=Category.RESULTS if concept else Category.OTHER_RESULTS,
            kind="result",
            key=key,
            label=label,
            status=Status.DONE,
            detail=detail,
            date=result.date,
            value=result.quantity,
            unit=result.unit or "",
            code=result.loinc or "",
            item=_item(sj.ResultSchema, result),
        )

    def vigilance(self, text: str) -> None:
        self.add(
            category=Category.VIGILANCE,
            kind="vigilance_point",
            key=f"text:{normalized(text)}",
            label=text,
            status=Status.ACTIVE,
            item={"text": text},
        )

    def directive(self, directive: AdvanceDirective) -> None:
        label = valuesets.ADVANCE_DIRECTIVE_TYPES.get(directive.code, ("", "Directives anticipées"))
        choice = {True: "souhaité", False: "refusé", None: ""}[directive.accepted]
        where = (
            f"document : {directive.document_title}"
            if directive.document_title
            else ("document du patient dans son DMP" if directive.document_id else "")
        )
        detail = "; ".join(p for p in (choice, short(directive.text or ""), where) if p)
        self.add(
            category=Category.DIRECTIVES,
            kind="advance_directive",
            key=f"directive:{directive.code}",
            label=label[1][:1].upper() + label[1][1:],
            status=Status.ACTIVE,
            detail=detail,
            date=directive.date,
            item=_item(sj.AdvanceDirectiveSchema, directive),
        )

    def trusted_person(self, person: ContactPerson) -> None:
        name = " ".join(p for p in (person.given_name or "", person.family_name.upper()) if p)
        relation = valuesets.RELATIONSHIPS.get(person.relationship or "", ("", ""))[1]
        detail = ", ".join(p for p in (relation, person.phone or "") if p)
        self.add(
            category=Category.DIRECTIVES,
            kind="trusted_person",
            key="trusted_person",
            label=f"Personne de confiance : {name}",
            status=Status.ACTIVE,
            detail=detail,
            item=_item(sj.ContactSchema, person),
        )


def treatment_key(treatment: Treatment) -> str:
    """What identifies a drug across documents: its substance (ATC level 5), its CIS, its name."""
    if treatment.atc and len(treatment.atc) == 7:
        return f"atc:{treatment.atc}"
    if treatment.cis:
        return f"cis:{treatment.cis}"
    return name_key(treatment.name)


def name_key(name: str) -> str:
    """A drug's name up to its strength: "Montélukast 10 mg, cp" -> "text:montelukast"."""
    return "text:" + re.split(r" \d", normalized(name), maxsplit=1)[0]


def _aliases(key: str, *others: str | bool | None) -> tuple[str, ...]:
    """The other keys of an item (its name, another code), without the key itself."""
    return tuple(dict.fromkeys(o for o in others if isinstance(o, str) and o and o != key))


def posology_text(treatment: Treatment) -> str:
    coded = posology_words.describe(treatment.posology)
    parts = [coded] if coded else []
    if treatment.dosage and treatment.dosage != coded:
        parts.append(treatment.dosage)
    return " ; ".join(parts)


def short(text: str, limit: int = 160) -> str:
    """A narrative text fit for one line: no embedded base 64, at most ``limit`` characters."""
    words = [w for w in text.split() if len(w) <= 60]
    joined = " ".join(words)
    return joined if len(joined) <= limit else joined[: limit - 1].rstrip() + "…"
