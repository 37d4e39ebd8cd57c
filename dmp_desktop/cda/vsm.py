"""The VSM (volet de synthèse médicale), CDA R2 level 3: build it from a summary, read it back.

:func:`build_vsm` writes the document the CI-SIS VSM volet describes (the
kit's ``VSM_1.4_2022.01.xml`` is the model): the header of
:mod:`dmp_desktop.cda.header` with the VSM templateId, code ``SYNTH``, the
médecin traitant and the ``34117-2`` act, then the sections in their fixed
order. Empty optional sections are left out; the containers then carry a
sentence saying what was not filled in, as the schematrons ask.
:func:`check_summary` lists what would make the document invalid; the builder
refuses such a summary rather than produce an invalid document.

:func:`parse_vsm` reads any VSM back into a :class:`MedicalSummary` (to
prefill the editor): it follows the entries and the narrative they point to.
What our builder writes comes back unchanged.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from lxml import etree

from dmp_desktop import xmlsafe
from dmp_desktop.cda import codes, valuesets
from dmp_desktop.cda import posology as posology_words
from dmp_desktop.cda.codes import SectionSpec
from dmp_desktop.cda.entries import EntryReader, LeftOut
from dmp_desktop.cda.errors import CdaFormatError, SummaryInvalidError, SummaryProblem
from dmp_desktop.cda.header import (
    CodedValue,
    HeaderData,
    build_header,
    check_header_parts,
    read_header,
    require_clinical_document,
)
from dmp_desktop.cda.narrative import Table, cell, rich
from dmp_desktop.cda.summary_checks import check_content
from dmp_desktop.cda.xmlutil import (
    attr,
    clean,
    derived_uuid,
    first,
    new_oid,
    plain_text,
    serialize,
    sub,
    xp,
)
from dmp_desktop.dates import PARIS
from dmp_desktop.domain.summary import (
    Allergy,
    AllergyStatus,
    CarePlanKind,
    Confidentiality,
    ContactPerson,
    ImmunizationKind,
    LifestyleItem,
    MedicalSummary,
    PartialDate,
    PostalAddress,
    Problem,
    ProblemStatus,
    Result,
    ResultKind,
    Treatment,
)
from dmp_desktop.terminology import ucum

if TYPE_CHECKING:
    from dmp_desktop.terminology.vocabulary import Vocabulary

DOCUMENT_CODE = CodedValue("SYNTH", codes.OID_DOC_TYPES_ASIP, "Synthèse")
SERVICE_EVENT_CODE = CodedValue("34117-2", codes.OID_LOINC, "Historique et clinique", "LOINC")

_CIM10_RE = re.compile(r"^[A-Z][0-9][0-9A-Z](\.?[0-9A-Z+]{1,4})?$")
_CCAM_RE = re.compile(r"^[A-Z]{4}[0-9]{3}$")
_CIS_RE = re.compile(r"^[0-9]{8}$")
_CIP_RE = re.compile(r"^([0-9]{7}|[0-9]{13})$")
_ATC_RE = re.compile(r"^[A-Z]([0-9]{2}([A-Z]([A-Z]([0-9]{2})?)?)?)?$")
_UCUM_RE = re.compile(r"^\S+$")

RESULT_KIND_LABELS = {
    ResultKind.LAB: "Biologie",
    ResultKind.IMAGING: "Imagerie",
    ResultKind.OTHER: "Autre examen",
}

PROBLEM_HEADERS = ["Début", "Fin", "Pathologie", "Code CIM-10", "Statut", "Commentaire"]


# --- checking ----------------------------------------------------------------------------


class _Installed:
    """Stands for the practice's installed vocabulary (``terminology.vocabulary.installed``)."""


INSTALLED: Any = _Installed()


def _vocabulary(vocabulary: Vocabulary | _Installed | None) -> Vocabulary | None:
    if isinstance(vocabulary, _Installed):
        from dmp_desktop.terminology.vocabulary import installed

        return installed()
    return vocabulary


def check_summary(
    summary: MedicalSummary, vocabulary: Vocabulary | _Installed | None = INSTALLED
) -> list[SummaryProblem]:
    """Every reason the summary cannot become a valid VSM (empty when it can).

    The header (:func:`check_header_parts`), then the content
    (:func:`dmp_desktop.cda.summary_checks.check_content`): codes checked
    against ``vocabulary`` (by default the practice's installed one, None:
    shapes only), codes and labels together, dates, quantities and units.
    """
    problems = check_header_parts(
        patient=summary.patient,
        author=summary.author,
        treating_physician=summary.treating_physician,
        effective_time=summary.effective_time,
        document_id=summary.document_id,
        set_id=summary.set_id,
        version=summary.version,
        title=summary.title,
    )
    return problems + check_content(summary, _vocabulary(vocabulary))


# --- building -----------------------------------------------------------------------------


def build_vsm(
    summary: MedicalSummary, *, vocabulary: Vocabulary | _Installed | None = INSTALLED
) -> bytes:
    """The VSM as UTF-8 XML bytes; raises :class:`SummaryInvalidError` listing every problem."""
    return serialize(build_vsm_tree(summary, vocabulary=vocabulary))


def build_vsm_tree(
    summary: MedicalSummary,
    *,
    check: bool = True,
    vocabulary: Vocabulary | _Installed | None = INSTALLED,
) -> etree._Element:
    """The VSM as an element tree; ``check=False`` skips :func:`check_summary` (previews)."""
    if check:
        problems = check_summary(summary, vocabulary)
        if problems:
            raise SummaryInvalidError(problems)
    return _VsmWriter(summary).build()


def preview_html(summary: MedicalSummary) -> str:
    """The editor's preview: the summary as the VSM reader will see it, even while incomplete."""
    from dmp_desktop.cda.render import render_html

    return render_html(build_vsm_tree(summary, check=False))


def _split_ii(value: str) -> tuple[str, str | None]:
    root, _, extension = value.partition("^")
    return root, extension or None


class _VsmWriter:
    def __init__(self, summary: MedicalSummary) -> None:
        self.s = summary
        self.document_id = summary.document_id or new_oid()
        self.set_id = summary.set_id or new_oid()

    def uid(self, path: str) -> str:
        return derived_uuid(self.document_id, path)

    def build(self) -> etree._Element:
        s = self.s
        doc_root, doc_ext = _split_ii(self.document_id)
        set_root, set_ext = _split_ii(self.set_id)
        header = HeaderData(
            patient=s.patient,
            author=s.author,
            effective_time=s.effective_time,
            document_id=doc_root,
            set_id=set_root,
            version=s.version,
            type_code=DOCUMENT_CODE,
            title=s.title,
            confidentiality=s.confidentiality,
            template_ids=(
                (codes.TPL_HL7_FRANCE, None),
                (codes.TPL_CI_SIS, None),
                (codes.TPL_VSM, "201310"),
            ),
            service_event_code=SERVICE_EVENT_CODE,
            treating_physician=s.treating_physician or s.author,
        )
        doc = build_header(header)
        if doc_ext:
            first(doc, "h:id").set("extension", doc_ext)  # type: ignore[union-attr]
        if set_ext:
            first(doc, "h:setId").set("extension", set_ext)  # type: ignore[union-attr]
        self._contacts(doc)
        body = sub(sub(doc, "component"), "structuredBody")
        self._summary_section(body)
        self._vigilance_section(body)
        self._treatment_plan_section(body)
        self._vaccinations(body)
        self._vital_signs(body)
        self._functional_status(body)
        self._results(body)
        self._care_plan(body)
        self._advance_directives(body)
        return doc

    # header: legal representative, trusted person, emergency contact -----------------------

    def _contacts(self, doc: etree._Element) -> None:
        s = self.s
        if s.legal_representative is not None:
            person = first(doc, "h:recordTarget/h:patientRole/h:patient")
            if person is not None:
                guardian = etree.Element(f"{{{codes.NS_HL7}}}guardian")
                place = first(person, "h:birthplace")
                if place is not None:
                    place.addprevious(guardian)
                else:
                    person.append(guardian)
                rep = s.legal_representative
                # no relationship code: the CI-SIS header template has none for the guardian
                _contact_details(guardian, rep)
                _person_name(sub(guardian, "guardianPerson"), rep)
        custodian = first(doc, "h:custodian")
        for contact, class_code in (
            (s.emergency_contact, "ECON"),
            (s.trusted_person, "NOK"),
        ):
            if contact is None or custodian is None:
                continue
            informant = etree.Element(f"{{{codes.NS_HL7}}}informant")
            custodian.addprevious(informant)
            related = sub(informant, "relatedEntity", {"classCode": class_code})
            if contact.relationship:
                _relationship_code(related, contact.relationship)
            _contact_details(related, contact)
            _person_name(sub(related, "relatedPerson"), contact)

    # sections ------------------------------------------------------------------------

    def section(
        self, parent: etree._Element, spec: SectionSpec, with_id: bool = True
    ) -> etree._Element:
        section = sub(sub(parent, "component"), "section")
        for root in spec.template_ids:
            sub(section, "templateId", {"root": root})
        if with_id:
            sub(section, "id", {"root": self.uid(spec.key)})
        sub(
            section,
            "code",
            {
                "code": spec.code,
                "displayName": spec.display,
                "codeSystem": codes.OID_LOINC,
                "codeSystemName": "LOINC",
            },
        )
        title = sub(section, "title")
        title.text = spec.title
        return section

    def _summary_section(self, body: etree._Element) -> None:
        s = self.s
        container = self.section(body, codes.SEC_SUMMARY)
        history = self.section(container, codes.SEC_HISTORY)
        missing: list[tuple[str, str | None]] = []
        if not s.active_problems:
            missing.append(("Pathologies en cours : aucune renseignée.", None))
        if not s.medical_history:
            missing.append(("Antécédents médicaux : aucun renseigné.", None))
        if not s.surgical_history:
            missing.append(("Antécédents chirurgicaux : aucun renseigné.", None))
        if not s.allergies:
            if s.no_known_allergies:
                missing.append(
                    (
                        "Allergies et hypersensibilités : aucune allergie connue.",
                        "allergies-none-known",
                    )
                )
            else:
                missing.append(("Allergies et hypersensibilités : non renseignées.", None))
        self._container_text(history, missing)
        if s.active_problems:
            self._problems(history, codes.SEC_ACTIVE_PROBLEMS, s.active_problems, "pb")
        if s.medical_history:
            self._problems(history, codes.SEC_MEDICAL_HISTORY, s.medical_history, "atcd")
        if s.surgical_history:
            self._surgeries(history)
        if s.allergies:
            self._allergies(history)

        risks = self.section(container, codes.SEC_RISK_FACTORS)
        missing = []
        if not s.lifestyle:
            missing.append(("Habitus, mode de vie : non renseigné.", None))
        if not s.occupational_risks:
            missing.append(("Facteurs de risque professionnels : aucun renseigné.", None))
        if not s.family_history:
            missing.append(("Antécédents familiaux : aucun renseigné.", None))
        self._container_text(risks, missing)
        if s.lifestyle:
            self._lifestyle(risks)
        if s.occupational_risks:
            section = self.section(risks, codes.SEC_OCCUPATIONAL)
            self._free_list(section, s.occupational_risks, "risque-pro-", None)
        if s.family_history:
            self._family(risks)

    def _container_text(
        self, section: etree._Element, sentences: list[tuple[str, str | None]]
    ) -> None:
        # A container with all its subsections must not have a text; with none it must.
        if not sentences:
            return
        text = sub(section, "text")
        for sentence, ident in sentences:
            rich(text, "paragraph", sentence, ident)

    def _free_list(
        self,
        section: etree._Element,
        items: Sequence[str],
        prefix: str,
        none_sentence: str | None,
    ) -> None:
        text = sub(section, "text")
        if not items:
            if none_sentence:
                rich(text, "paragraph", none_sentence, f"{prefix}none")
            return
        listing = sub(text, "list")
        for i, item in enumerate(items, 1):
            rich(sub(listing, "item"), "content", item, f"{prefix}{i}")

    def _vigilance_section(self, body: etree._Element) -> None:
        section = self.section(body, codes.SEC_VIGILANCE)
        self._free_list(
            section, self.s.vigilance_points, "vigilance-", "Aucun point de vigilance renseigné."
        )

    def _treatment_plan_section(self, body: etree._Element) -> None:
        plan = self.section(body, codes.SEC_TREATMENT_PLAN)
        if not self.s.treatments:
            text = sub(plan, "text")
            rich(text, "paragraph", "Aucun traitement au long cours renseigné.")
            return
        section = self.section(plan, codes.SEC_TREATMENTS, with_id=False)
        text = sub(section, "text")
        table = Table(
            text,
            [
                "Médicament",
                "Code CIS",
                "Posologie",
                "Voie",
                "Début",
                "Fin",
                "Motif",
                "Au long cours",
            ],
        )
        for i, treatment in enumerate(self.s.treatments, 1):
            ident = f"med-{i}"
            posology = treatment.posology
            route = posology_words.route_label(posology.route) if posology else None
            row = table.row()
            cell(row, treatment.name, ident)
            cell(row, treatment.cis)
            coded = posology_words.describe(posology)
            if coded and treatment.dosage:
                dosage_cell = cell(row, coded, f"{ident}-poso")
                rich(dosage_cell, "content", treatment.dosage, f"{ident}-dosage")
                first(dosage_cell, "h:content").tail = " — "  # type: ignore[union-attr]
            elif coded:
                cell(row, coded, f"{ident}-poso")
            else:
                cell(row, treatment.dosage, f"{ident}-dosage")
            cell(row, route, f"{ident}-voie" if route else None)
            cell(row, treatment.start.french() if treatment.start else None)
            cell(row, treatment.end.french() if treatment.end else None)
            cell(row, treatment.reason, f"{ident}-motif" if treatment.reason else None)
            cell(row, "Oui" if treatment.long_term else "Non", f"{ident}-longterm")
        for i, treatment in enumerate(self.s.treatments, 1):
            self._medication_entry(section, treatment, f"med-{i}")

    # entries ---------------------------------------------------------------------------

    def _problems(
        self,
        parent: etree._Element,
        spec: SectionSpec,
        problems: Sequence[Problem],
        prefix: str,
    ) -> None:
        section = self.section(parent, spec)
        text = sub(section, "text")
        table = Table(text, PROBLEM_HEADERS)
        for i, problem in enumerate(problems, 1):
            ident = f"{prefix}-{i}"
            row = table.row()
            cell(row, problem.onset.french() if problem.onset else None)
            cell(row, problem.resolution.french() if problem.resolution else None)
            cell(row, problem.label, ident)
            cell(row, problem.cim10)
            cell(row, "Actif" if problem.status is ProblemStatus.ACTIVE else "Résolu")
            cell(row, problem.comment, f"{ident}-comment")
        for i, problem in enumerate(problems, 1):
            ident = f"{prefix}-{i}"
            resolved = problem.status is ProblemStatus.RESOLVED
            act = self._concern(
                section,
                codes.TPL_PROBLEM_CONCERN,
                f"{ident}/concern",
                "completed" if resolved else "active",
                problem.onset,
                problem.resolution if resolved else None,
                resolved,
            )
            obs = self._observation(
                sub(act, "entryRelationship", {"typeCode": "SUBJ", "inversionInd": "false"}),
                codes.TPL_PROBLEM,
                ident,
                negation=True,
            )
            _code(obs, "code", codes.PROBLEM_CODE[0], codes.OID_SNOMED, codes.PROBLEM_CODE[1])
            _reference(sub(obs, "text"), ident)
            sub(obs, "statusCode", {"code": "completed"})
            _interval(obs, problem.onset, problem.resolution if resolved else None, resolved)
            _cd_value(
                obs, problem.cim10, codes.OID_CIM10, problem.cim10_label or problem.label, ident
            )
            if problem.comment:
                self._comment(obs, f"{ident}-comment")

    def _concern(
        self,
        section: etree._Element,
        template_ids: tuple[str, ...],
        path: str,
        status: str,
        low: PartialDate | None,
        high: PartialDate | None,
        with_high: bool,
    ) -> etree._Element:
        act = sub(sub(section, "entry"), "act", {"classCode": "ACT", "moodCode": "EVN"})
        for root in template_ids:
            sub(act, "templateId", {"root": root})
        sub(act, "id", {"root": self.uid(path)})
        sub(act, "code", {"nullFlavor": "NA"})
        sub(act, "statusCode", {"code": status})
        _interval(act, low, high, with_high)
        return act

    def _observation(
        self,
        parent: etree._Element,
        template_ids: tuple[str, ...],
        path: str,
        negation: bool = False,
    ) -> etree._Element:
        attrs = {"classCode": "OBS", "moodCode": "EVN"}
        if negation:
            attrs["negationInd"] = "false"
        obs = sub(parent, "observation", attrs)
        for root in template_ids:
            sub(obs, "templateId", {"root": root})
        sub(obs, "id", {"root": self.uid(path)})
        return obs

    def _comment(self, parent: etree._Element, ident: str) -> None:
        rel = sub(parent, "entryRelationship", {"typeCode": "SUBJ", "inversionInd": "true"})
        act = sub(rel, "act", {"classCode": "ACT", "moodCode": "EVN"})
        for root in codes.TPL_COMMENT:
            sub(act, "templateId", {"root": root})
        _code(act, "code", "48767-8", codes.OID_LOINC, "Commentaire")
        _reference(sub(act, "text"), ident)
        sub(act, "statusCode", {"code": "completed"})

    def _surgeries(self, parent: etree._Element) -> None:
        section = self.section(parent, codes.SEC_SURGICAL_HISTORY)
        text = sub(section, "text")
        table = Table(text, ["Date", "Acte", "Code CCAM", "Commentaire"])
        surgeries = self.s.surgical_history
        for i, surgery in enumerate(surgeries, 1):
            row = table.row()
            cell(row, surgery.date.french() if surgery.date else None)
            cell(row, surgery.label, f"acte-{i}")
            cell(row, surgery.ccam)
            cell(row, surgery.comment, f"acte-{i}-comment")
        for i, surgery in enumerate(surgeries, 1):
            ident = f"acte-{i}"
            proc = sub(sub(section, "entry"), "procedure", {"classCode": "PROC", "moodCode": "EVN"})
            for root in codes.TPL_PROCEDURE:
                sub(proc, "templateId", {"root": root})
            sub(proc, "id", {"root": self.uid(ident)})
            if surgery.ccam:
                code = _code(
                    proc, "code", surgery.ccam, codes.OID_CCAM, surgery.ccam_label or surgery.label
                )
            else:
                code = sub(proc, "code", {"nullFlavor": "UNK"})
            _reference(sub(code, "originalText"), ident)
            _reference(sub(proc, "text"), ident)
            sub(proc, "statusCode", {"code": "completed"})
            if surgery.date:
                sub(proc, "effectiveTime", {"value": surgery.date.hl7()})
            else:
                sub(proc, "effectiveTime", {"nullFlavor": "UNK"})
            if surgery.comment:
                self._comment(proc, f"{ident}-comment")

    def _allergies(self, parent: etree._Element) -> None:
        section = self.section(parent, codes.SEC_ALLERGIES)
        text = sub(section, "text")
        table = Table(
            text,
            ["Date", "Type", "Agent", "Réaction", "Sévérité", "Statut", "Commentaire"],
        )
        allergies = self.s.allergies
        for i, allergy in enumerate(allergies, 1):
            ident = f"allergie-{i}"
            row = table.row()
            cell(row, allergy.onset.french() if allergy.onset else None)
            cell(
                row,
                valuesets.ALLERGY_TYPES.get(allergy.type_code, allergy.type_code),
                f"{ident}-type",
            )
            cell(row, allergy.agent, f"{ident}-agent")
            cell(row, allergy.reaction, f"{ident}-reaction")
            severity = codes.SEVERITY_CODES[allergy.severity][1] if allergy.severity else None
            cell(row, severity, f"{ident}-severite" if severity else None)
            cell(row, codes.ALLERGY_STATUS_CODES[allergy.status][1], f"{ident}-statut")
            cell(row, allergy.comment, f"{ident}-comment")
        for i, allergy in enumerate(allergies, 1):
            self._allergy_entry(section, allergy, f"allergie-{i}")

    def _allergy_entry(self, section: etree._Element, allergy: Allergy, ident: str) -> None:
        resolved = allergy.status is AllergyStatus.RESOLVED
        act = self._concern(
            section,
            codes.TPL_ALLERGY_CONCERN,
            f"{ident}/concern",
            "completed" if resolved else "active",
            allergy.onset,
            None,
            resolved,
        )
        obs = self._observation(
            sub(act, "entryRelationship", {"typeCode": "SUBJ", "inversionInd": "false"}),
            codes.TPL_ALLERGY,
            ident,
            negation=True,
        )
        _code(
            obs,
            "code",
            allergy.type_code,
            codes.OID_SNOMED,
            valuesets.ALLERGY_TYPES.get(allergy.type_code, allergy.type_code),
        )
        _reference(sub(obs, "text"), f"{ident}-type")
        sub(obs, "statusCode", {"code": "completed"})
        _interval(obs, allergy.onset, None, False)
        value = sub(obs, "value", {"xsi:type": "CD"})
        described = f"{ident}-reaction" if allergy.reaction else f"{ident}-type"
        _reference(sub(value, "originalText"), described)
        role = sub(
            sub(obs, "participant", {"typeCode": "CSM"}), "participantRole", {"classCode": "MANU"}
        )
        entity = sub(role, "playingEntity", {"classCode": "MMAT"})
        if allergy.agent_cis:
            code = _code(entity, "code", allergy.agent_cis, codes.OID_CIS, allergy.agent)
        elif allergy.agent_atc:
            code = _code(entity, "code", allergy.agent_atc, codes.OID_ATC, allergy.agent)
        else:
            code = sub(entity, "code", {"nullFlavor": "UNK"})
        _reference(sub(code, "originalText"), f"{ident}-agent")
        if allergy.agent_cis and allergy.agent_atc:
            sub(code, "translation", {"code": allergy.agent_atc, "codeSystem": codes.OID_ATC})
        name = sub(entity, "name")
        name.text = clean(allergy.agent)
        if allergy.severity is not None:
            sev_code, sev_label = codes.SEVERITY_CODES[allergy.severity]
            _qualifier(
                obs,
                relationship={"typeCode": "SUBJ", "inversionInd": "true"},
                templates=codes.TPL_SEVERITY,
                code=("SEV", codes.OID_ACT_CODE, "Sévérité"),
                reference=f"{ident}-severite",
                value={
                    "xsi:type": "CD",
                    "code": sev_code,
                    "displayName": sev_label,
                    "codeSystem": codes.OID_SNOMED,
                    "codeSystemName": "SNOMED CT",
                },
            )
        status_code, status_label = codes.ALLERGY_STATUS_CODES[allergy.status]
        _qualifier(
            obs,
            relationship={"typeCode": "REFR", "inversionInd": "false"},
            templates=codes.TPL_PROBLEM_STATUS,
            code=("33999-4", codes.OID_LOINC, "Statut"),
            reference=f"{ident}-statut",
            value={
                "xsi:type": "CE",
                "code": status_code,
                "displayName": status_label,
                "codeSystem": codes.OID_ALLERGY_CLINICAL,
            },
        )
        if allergy.comment:
            self._comment(obs, f"{ident}-comment")

    def _lifestyle(self, parent: etree._Element) -> None:
        section = self.section(parent, codes.SEC_LIFESTYLE)
        text = sub(section, "text")
        table = Table(text, ["Type", "Observation", "Valeur", "Date"])
        items = self.s.lifestyle
        for i, item in enumerate(items, 1):
            row = table.row()
            cell(row, codes.LIFESTYLE_CODES[item.kind][1])
            cell(row, item.text, f"habitus-{i}")
            cell(row, _lifestyle_value_text(item))
            cell(row, item.date.french() if item.date else None)
        for i, item in enumerate(items, 1):
            ident = f"habitus-{i}"
            obs = sub(sub(section, "entry"), "observation", {"classCode": "OBS", "moodCode": "EVN"})
            for root in codes.TPL_SOCIAL_HISTORY:
                sub(obs, "templateId", {"root": root})
            sub(obs, "id", {"root": self.uid(ident)})
            loinc, label = codes.LIFESTYLE_CODES[item.kind]
            _code(obs, "code", loinc, codes.OID_LOINC, label)
            _reference(sub(obs, "text"), ident)
            sub(obs, "statusCode", {"code": "completed"})
            if item.date:
                sub(obs, "effectiveTime", {"value": item.date.hl7()})
            else:
                sub(obs, "effectiveTime", {"nullFlavor": "UNK"})
            if item.quantity is not None:
                sub(
                    obs,
                    "value",
                    {
                        "xsi:type": "PQ",
                        "value": _decimal_text(item.quantity),
                        "unit": item.unit or "1",
                    },
                )
            elif item.value_code:
                value = _code(
                    obs,
                    "value",
                    item.value_code,
                    codes.OID_SNOMED,
                    item.value_label or item.text,
                    xsi_type="CD",
                )
                _reference(sub(value, "originalText"), ident)
            else:
                value = sub(obs, "value", {"xsi:type": "ST"})
                value.text = clean(item.text)

    def _family(self, parent: etree._Element) -> None:
        section = self.section(parent, codes.SEC_FAMILY_HISTORY)
        text = sub(section, "text")
        table = Table(text, ["Lien de parenté", "Antécédent", "Code CIM-10"])
        items = self.s.family_history
        for i, item in enumerate(items, 1):
            row = table.row()
            cell(
                row,
                valuesets.FAMILY_RELATIONSHIPS.get(item.relationship, item.relationship),
                f"atcd-fam-{i}-sujet",
            )
            cell(row, item.label, f"atcd-fam-{i}")
            cell(row, item.cim10)
        for i, item in enumerate(items, 1):
            ident = f"atcd-fam-{i}"
            organizer = sub(
                sub(section, "entry"), "organizer", {"classCode": "CLUSTER", "moodCode": "EVN"}
            )
            for root in codes.TPL_FAMILY_ORGANIZER:
                sub(organizer, "templateId", {"root": root})
            sub(organizer, "id", {"root": self.uid(f"{ident}/organizer")})
            sub(organizer, "statusCode", {"code": "completed"})
            subject = sub(organizer, "subject", {"typeCode": "SBJ"})
            for root in codes.TPL_FAMILY_SUBJECT:
                sub(subject, "templateId", {"root": root})
            related = sub(subject, "relatedSubject", {"classCode": "PRS"})
            code = _code(
                related,
                "code",
                item.relationship,
                codes.OID_ROLE_CODE,
                valuesets.FAMILY_RELATIONSHIPS.get(item.relationship, item.relationship),
            )
            _reference(sub(code, "originalText"), f"{ident}-sujet")
            component = sub(organizer, "component", {"typeCode": "COMP"})
            obs = self._observation(component, codes.TPL_FAMILY_OBSERVATION, ident)
            _code(obs, "code", codes.PROBLEM_CODE[0], codes.OID_SNOMED, codes.PROBLEM_CODE[1])
            _reference(sub(obs, "text"), ident)
            sub(obs, "statusCode", {"code": "completed"})
            sub(obs, "effectiveTime", {"nullFlavor": "UNK"})
            _cd_value(obs, item.cim10, codes.OID_CIM10, item.cim10_label or item.label, ident)

    def _medication_entry(self, section: etree._Element, treatment: Treatment, ident: str) -> None:
        entry = sub(section, "entry", {"typeCode": "DRIV"})
        sa = sub(entry, "substanceAdministration", {"classCode": "SBADM", "moodCode": "EVN"})
        for root in codes.TPL_MEDICATION:
            sub(sa, "templateId", {"root": root})
        sub(sa, "id", {"root": self.uid(ident)})
        _code(sa, "code", "DRUG", codes.OID_ACT_CODE, "Médicament")
        _reference(sub(sa, "text"), ident)
        sub(sa, "statusCode", {"code": "completed"})
        posology = treatment.posology
        period = sub(sa, "effectiveTime", {"xsi:type": "IVL_TS"})
        _bound(period, "low", treatment.start)
        if (
            treatment.end is None
            and posology is not None
            and posology.duration is not None
            and posology.duration_unit
        ):
            sub(
                period,
                "width",
                {"value": _decimal_text(posology.duration), "unit": posology.duration_unit},
            )
        else:
            _bound(period, "high", treatment.end)
        if posology is not None:
            frequency = posology_words.frequency_period(posology)
            if frequency is not None:
                value, unit, institution = frequency
                pivl = sub(sa, "effectiveTime", {"xsi:type": "PIVL_TS", "operator": "A"})
                if institution:
                    pivl.set("institutionSpecified", "true")
                sub(pivl, "period", {"value": _decimal_text(value), "unit": unit})
            if posology.route:
                label = posology_words.route_label(posology.route)
                route = _code(sa, "routeCode", posology.route, codes.OID_EDQM, label)
                _reference(sub(route, "originalText"), f"{ident}-voie")
            if posology.dose is not None:
                unit = posology.dose_unit or "1"
                dose = sub(sa, "doseQuantity")
                top = posology.dose_max if posology.dose_max is not None else posology.dose
                sub(dose, "low", {"value": _decimal_text(posology.dose), "unit": unit})
                sub(dose, "high", {"value": _decimal_text(top), "unit": unit})
        product = sub(sub(sa, "consumable"), "manufacturedProduct")
        for root in codes.TPL_PRODUCT:
            sub(product, "templateId", {"root": root})
        material = sub(product, "manufacturedMaterial")
        if treatment.cis:
            code = _code(material, "code", treatment.cis, codes.OID_CIS, treatment.name)
        else:
            code = sub(material, "code", {"nullFlavor": "UNK"})
        _reference(sub(code, "originalText"), ident)
        if treatment.cip:
            _code(code, "translation", treatment.cip, codes.OID_CIP, None)
        if treatment.atc:
            _code(code, "translation", treatment.atc, codes.OID_ATC, None)
        name = sub(material, "name")
        name.text = clean(treatment.name)
        if treatment.reason:
            rel = sub(sa, "entryRelationship", {"typeCode": "RSON"})
            act = sub(rel, "act", {"classCode": "ACT", "moodCode": "EVN"})
            for root in codes.TPL_INTERNAL_REFERENCE:
                sub(act, "templateId", {"root": root})
            sub(act, "id", {"root": self.uid(f"{ident}/motif")})
            if treatment.reason_cim10:
                reason = _code(
                    act,
                    "code",
                    treatment.reason_cim10,
                    codes.OID_CIM10,
                    treatment.reason_cim10_label or treatment.reason,
                )
            else:
                reason = sub(act, "code", {"nullFlavor": "NA"})
            _reference(sub(reason, "originalText"), f"{ident}-motif")

    # sections the VSM 1.4 example does not have (CI-SIS templates of IPS-FR and the DLU) -----

    def _table_section(
        self, body: etree._Element, spec: SectionSpec, headers: list[str]
    ) -> tuple[etree._Element, Table]:
        section = self.section(body, spec)
        return section, Table(sub(section, "text"), headers)

    def _vaccinations(self, body: etree._Element) -> None:
        items = self.s.vaccinations
        if not items:
            return
        section, table = self._table_section(
            body,
            codes.SEC_VACCINATIONS,
            ["Date", "Vaccin", "Type / rang", "Lot", "Voie", "Commentaire"],
        )
        for i, vac in enumerate(items, 1):
            ident = f"vaccin-{i}"
            row = table.row()
            cell(row, vac.date.french() if vac.date else None)
            cell(row, vac.vaccine, ident)
            kind = valuesets.IMMUNIZATION_KINDS.get(vac.kind.value, "")
            if vac.kind is ImmunizationKind.UNSPECIFIED:
                kind = ""
            rank = f"rang {vac.rank}" if vac.rank else ""
            cell(row, " / ".join(p for p in (kind, rank) if p) or None)
            cell(row, vac.lot)
            route = valuesets.IMMUNIZATION_ROUTES.get(
                vac.route or ""
            ) or posology_words.route_label(vac.route)
            cell(row, route, f"{ident}-voie" if route else None)
            cell(row, vac.comment, f"{ident}-comment")
        for i, vac in enumerate(items, 1):
            ident = f"vaccin-{i}"
            sa = sub(
                sub(section, "entry"),
                "substanceAdministration",
                {"classCode": "SBADM", "moodCode": "EVN", "negationInd": "false"},
            )
            for root in codes.TPL_IMMUNIZATION:
                sub(sa, "templateId", {"root": root})
            sub(sa, "id", {"root": self.uid(ident)})
            _code(
                sa,
                "code",
                vac.kind.value,
                codes.OID_ACT_CODE,
                valuesets.IMMUNIZATION_KINDS.get(vac.kind.value),
            )
            _reference(sub(sa, "text"), ident)
            sub(sa, "statusCode", {"code": "completed"})
            if vac.date:
                sub(sa, "effectiveTime", {"value": vac.date.hl7()})
            else:
                sub(sa, "effectiveTime", {"nullFlavor": "UNK"})
            if vac.route:
                route = _code(
                    sa,
                    "routeCode",
                    vac.route,
                    codes.OID_EDQM,
                    posology_words.route_label(vac.route),
                )
                _reference(sub(route, "originalText"), f"{ident}-voie")
            product = sub(sub(sa, "consumable", {"typeCode": "CSM"}), "manufacturedProduct")
            for root in codes.TPL_PRODUCT:
                sub(product, "templateId", {"root": root})
            material = sub(product, "manufacturedMaterial")
            if vac.cis:
                code = _code(material, "code", vac.cis, codes.OID_CIS, vac.vaccine)
            else:
                code = sub(material, "code", {"nullFlavor": "UNK"})
            _reference(sub(code, "originalText"), ident)
            if vac.atc:
                _code(code, "translation", vac.atc, codes.OID_ATC, None)
            name = sub(material, "name")
            name.text = clean(vac.vaccine)
            if vac.lot:
                lot = sub(material, "lotNumberText")
                lot.text = clean(vac.lot)
            if vac.rank:
                rel = sub(sa, "entryRelationship", {"typeCode": "SUBJ"})
                obs = sub(rel, "observation", {"classCode": "OBS", "moodCode": "EVN"})
                for root in codes.TPL_IMMUNIZATION_RANK:
                    sub(obs, "templateId", {"root": root})
                _code(
                    obs,
                    "code",
                    *codes.IMMUNIZATION_RANK_CODE[:1],
                    codes.OID_LOINC,
                    codes.IMMUNIZATION_RANK_CODE[1],
                )
                sub(obs, "statusCode", {"code": "completed"})
                sub(obs, "value", {"xsi:type": "INT", "value": str(vac.rank)})
            if vac.comment:
                self._comment(sa, f"{ident}-comment")

    def _vital_signs(self, body: etree._Element) -> None:
        items = self.s.vital_signs
        if not items:
            return
        section, table = self._table_section(
            body, codes.SEC_VITAL_SIGNS, ["Mesure", "Valeur", "Date", "Commentaire"]
        )
        for i, sign in enumerate(items, 1):
            ident = f"signe-{i}"
            row = table.row()
            cell(row, valuesets.VITAL_SIGNS.get(sign.code, sign.code), ident)
            cell(row, f"{_decimal_text(sign.value).replace('.', ',')} {sign.unit}")
            cell(row, sign.date.french() if sign.date else None)
            cell(row, sign.comment, f"{ident}-comment")
        organizer = sub(
            sub(section, "entry"), "organizer", {"classCode": "CLUSTER", "moodCode": "EVN"}
        )
        for root in codes.TPL_VITAL_ORGANIZER:
            sub(organizer, "templateId", {"root": root})
        sub(organizer, "id", {"root": self.uid("signes-vitaux")})
        _code(
            organizer,
            "code",
            codes.VITAL_SIGNS_ORGANIZER_CODE[0],
            codes.OID_LOINC,
            codes.VITAL_SIGNS_ORGANIZER_CODE[1],
        )
        sub(organizer, "statusCode", {"code": "completed"})
        dates = [sign.date for sign in items if sign.date]
        if dates:
            sub(organizer, "effectiveTime", {"value": max(dates).hl7()})
        else:
            sub(organizer, "effectiveTime", {"nullFlavor": "UNK"})
        for i, sign in enumerate(items, 1):
            ident = f"signe-{i}"
            obs = sub(
                sub(organizer, "component", {"typeCode": "COMP"}),
                "observation",
                {"classCode": "OBS", "moodCode": "EVN"},
            )
            for root in codes.TPL_VITAL_OBSERVATION:
                sub(obs, "templateId", {"root": root})
            sub(obs, "id", {"root": self.uid(ident)})
            _code(obs, "code", sign.code, codes.OID_LOINC, valuesets.VITAL_SIGNS.get(sign.code))
            _reference(sub(obs, "text"), ident)
            sub(obs, "statusCode", {"code": "completed"})
            if sign.date:
                sub(obs, "effectiveTime", {"value": sign.date.hl7()})
            else:
                sub(obs, "effectiveTime", {"nullFlavor": "UNK"})
            sub(
                obs,
                "value",
                {"xsi:type": "PQ", "value": _decimal_text(sign.value), "unit": sign.unit},
            )
            if sign.comment:
                self._comment(obs, f"{ident}-comment")

    def _functional_status(self, body: etree._Element) -> None:
        items = self.s.functional_status
        if not items:
            return
        section, table = self._table_section(
            body, codes.SEC_FUNCTIONAL_STATUS, ["Évaluation", "Résultat", "Date", "Commentaire"]
        )
        for i, item in enumerate(items, 1):
            ident = f"statut-{i}"
            row = table.row()
            cell(row, item.label, ident)
            cell(row, item.value, f"{ident}-valeur" if item.value else None)
            cell(row, item.date.french() if item.date else None)
            cell(row, item.comment, f"{ident}-comment")
        organizer = sub(
            sub(section, "entry", {"typeCode": "COMP", "contextConductionInd": "true"}),
            "organizer",
            {"classCode": "CLUSTER", "moodCode": "EVN"},
        )
        for root in codes.TPL_FUNCTIONAL_ORGANIZER:
            sub(organizer, "templateId", {"root": root})
        sub(organizer, "id", {"root": self.uid("statut-fonctionnel")})
        sub(organizer, "code", {"nullFlavor": "NA"})
        sub(organizer, "statusCode", {"code": "completed"})
        period = sub(organizer, "effectiveTime")
        dates = [item.date for item in items if item.date]
        _bound(period, "low", min(dates) if dates else None)
        for i, item in enumerate(items, 1):
            ident = f"statut-{i}"
            obs = sub(
                sub(organizer, "component", {"typeCode": "COMP"}),
                "observation",
                {"classCode": "OBS", "moodCode": "EVN", "negationInd": "false"},
            )
            for root in codes.TPL_FUNCTIONAL_OBSERVATION:
                sub(obs, "templateId", {"root": root})
            sub(obs, "id", {"root": self.uid(ident)})
            code = _code(
                obs,
                "code",
                codes.CODE_OTHER_FUNCTIONAL_STATUS[0],
                codes.OID_TA_ASIP,
                codes.CODE_OTHER_FUNCTIONAL_STATUS[1],
                xsi_type="CD",
            )
            _reference(sub(code, "originalText"), ident)
            _reference(sub(obs, "text"), ident)
            sub(obs, "statusCode", {"code": "completed"})
            _bound(sub(obs, "effectiveTime"), "low", item.date)
            value = sub(obs, "value", {"xsi:type": "CD"})
            _reference(sub(value, "originalText"), f"{ident}-valeur" if item.value else ident)
            if item.comment:
                self._comment(obs, f"{ident}-comment")

    def _results(self, body: etree._Element) -> None:
        items = self.s.results
        if not items:
            return
        section, table = self._table_section(
            body, codes.SEC_RESULTS, ["Date", "Type", "Examen", "Résultat", "Commentaire"]
        )
        for i, result in enumerate(items, 1):
            ident = f"resultat-{i}"
            row = table.row()
            cell(row, result.date.french() if result.date else None)
            cell(row, RESULT_KIND_LABELS[result.kind], f"{ident}-type")
            cell(row, result.label, ident)
            cell(row, _result_value_text(result), f"{ident}-valeur")
            cell(row, result.comment, f"{ident}-comment")
        # The coded-results section needs one FR-Acte: the examinations the results come from.
        text = first(section, "h:text")
        if text is not None:
            rich(text, "paragraph", "Examens dont les résultats sont repris ici.", "examens")
        proc = sub(sub(section, "entry"), "procedure", {"classCode": "PROC", "moodCode": "EVN"})
        for root in codes.TPL_PROCEDURE:
            sub(proc, "templateId", {"root": root})
        sub(proc, "id", {"root": self.uid("examens")})
        code = sub(proc, "code", {"nullFlavor": "NA"})
        _reference(sub(code, "originalText"), "examens")
        _reference(sub(proc, "text"), "examens")
        sub(proc, "statusCode", {"code": "completed"})
        dates = [result.date for result in items if result.date]
        if dates:
            sub(proc, "effectiveTime", {"value": max(dates).hl7()})
        else:
            sub(proc, "effectiveTime", {"nullFlavor": "UNK"})
        for i, result in enumerate(items, 1):
            ident = f"resultat-{i}"
            obs = sub(sub(section, "entry"), "observation", {"classCode": "OBS", "moodCode": "EVN"})
            for root in codes.TPL_SIMPLE_OBSERVATION:
                sub(obs, "templateId", {"root": root})
            sub(obs, "id", {"root": self.uid(ident)})
            if result.loinc:
                code = _code(
                    obs, "code", result.loinc, codes.OID_LOINC, result.loinc_label or result.label
                )
            else:
                code = sub(obs, "code", {"nullFlavor": "UNK"})
            _reference(sub(code, "originalText"), ident)
            _reference(sub(obs, "text"), ident)
            sub(obs, "statusCode", {"code": "completed"})
            if result.date:
                sub(obs, "effectiveTime", {"value": result.date.hl7()})
            else:
                sub(obs, "effectiveTime", {"nullFlavor": "UNK"})
            if result.quantity is not None:
                sub(
                    obs,
                    "value",
                    {
                        "xsi:type": "PQ",
                        "value": _decimal_text(result.quantity),
                        "unit": result.unit or "1",
                    },
                )
            elif result.value_text:
                value = sub(obs, "value", {"xsi:type": "ST"})
                value.text = clean(result.value_text)
            if result.comment:
                self._comment(obs, f"{ident}-comment")

    def _care_plan(self, body: etree._Element) -> None:
        items = self.s.care_plan
        if not items:
            return
        section, table = self._table_section(
            body, codes.SEC_CARE_PLAN, ["Prévu", "Type", "Date", "Commentaire"]
        )
        kinds = {
            CarePlanKind.FOLLOW_UP: "Examen ou suivi",
            CarePlanKind.PROCEDURE: "Acte",
            CarePlanKind.ENCOUNTER: "Consultation",
        }
        for i, item in enumerate(items, 1):
            ident = f"plan-{i}"
            row = table.row()
            cell(row, item.label, ident)
            cell(row, kinds[item.kind])
            cell(row, item.date.french() if item.date else None)
            cell(row, item.comment, f"{ident}-comment")
        for i, item in enumerate(items, 1):
            ident = f"plan-{i}"
            entry = sub(section, "entry")
            if item.kind is CarePlanKind.PROCEDURE:
                act = sub(entry, "procedure", {"classCode": "PROC", "moodCode": "INT"})
                templates = codes.TPL_PLANNED_PROCEDURE
            elif item.kind is CarePlanKind.ENCOUNTER:
                act = sub(entry, "encounter", {"classCode": "ENC", "moodCode": "ARQ"})
                templates = codes.TPL_PLANNED_ENCOUNTER
            else:
                act = sub(entry, "observation", {"classCode": "OBS", "moodCode": "INT"})
                templates = codes.TPL_PLANNED_OBSERVATION
            for root in templates:
                sub(act, "templateId", {"root": root})
            sub(act, "id", {"root": self.uid(ident)})
            if item.kind is CarePlanKind.PROCEDURE and item.ccam:
                code = _code(act, "code", item.ccam, codes.OID_CCAM, item.ccam_label or item.label)
            elif item.kind is CarePlanKind.PROCEDURE:
                code = _code(
                    act, "code", codes.CODE_OTHER_ACT[0], codes.OID_TA_ASIP, codes.CODE_OTHER_ACT[1]
                )
            elif item.kind is CarePlanKind.ENCOUNTER:
                code = _code(act, "code", "AMB", codes.OID_ACT_CODE, "Ambulatoire")
            else:
                code = _code(
                    act,
                    "code",
                    codes.CODE_OTHER_FOLLOW_UP[0],
                    codes.OID_TA_ASIP,
                    codes.CODE_OTHER_FOLLOW_UP[1],
                )
            _reference(sub(code, "originalText"), ident)
            _reference(sub(act, "text"), ident)
            if item.kind is not CarePlanKind.ENCOUNTER:
                sub(act, "statusCode", {"code": "active"})
            if item.date:
                sub(act, "effectiveTime", {"value": item.date.hl7()})
            else:
                sub(act, "effectiveTime", {"nullFlavor": "UNK"})
            if item.comment:
                self._comment(act, f"{ident}-comment")

    def _advance_directives(self, body: etree._Element) -> None:
        items = self.s.advance_directives
        if not items:
            return
        section, table = self._table_section(
            body,
            codes.SEC_ADVANCE_DIRECTIVES,
            ["Type", "Souhait du patient", "Date", "Document", "Commentaire"],
        )
        for i, item in enumerate(items, 1):
            ident = f"directive-{i}"
            row = table.row()
            label = valuesets.ADVANCE_DIRECTIVE_TYPES.get(item.code, ("", item.code))[1]
            cell(row, label, f"{ident}-type")
            wish = item.text or ""
            if item.accepted is not None:
                choice = "Accepte" if item.accepted else "Refuse"
                wish = f"{choice}. {wish}".strip() if wish else choice
            cell(row, wish or None, ident if wish else None)
            cell(row, item.date.french() if item.date else None)
            document = item.document_title or (
                "Document du patient dans son DMP" if item.document_id else None
            )
            cell(row, document, f"{ident}-document" if document else None)
            cell(row, item.comment, f"{ident}-comment")
        for i, item in enumerate(items, 1):
            ident = f"directive-{i}"
            obs = sub(sub(section, "entry"), "observation", {"classCode": "OBS", "moodCode": "EVN"})
            for root in codes.TPL_ADVANCE_DIRECTIVE:
                sub(obs, "templateId", {"root": root})
            sub(obs, "id", {"root": self.uid(ident)})
            system, label = valuesets.ADVANCE_DIRECTIVE_TYPES.get(
                item.code, (codes.OID_LOINC, item.code)
            )
            _code(obs, "code", item.code, system, label)
            has_text = bool(item.text or item.accepted is not None)
            _reference(sub(obs, "text"), ident if has_text else f"{ident}-type")
            sub(obs, "statusCode", {"code": "completed"})
            period = sub(obs, "effectiveTime")
            _bound(period, "low", item.date)
            sub(period, "high", {"nullFlavor": "NA"})
            if item.accepted is not None:
                sub(obs, "value", {"xsi:type": "BL", "value": "true" if item.accepted else "false"})
            if item.comment:
                self._comment(obs, f"{ident}-comment")
            if item.document_id:
                doc_root, doc_ext = _split_ii(item.document_id)
                ref = sub(obs, "reference", {"typeCode": "REFR"})
                sub(ref, "templateId", {"root": "2.16.840.1.113883.10.20.1.36"})
                external = sub(ref, "externalDocument", {"classCode": "DOC", "moodCode": "EVN"})
                ids = {"root": doc_root}
                if doc_ext:
                    ids["extension"] = doc_ext
                sub(external, "id", ids)
                _code(
                    external,
                    "code",
                    "EXPPAT_3",
                    codes.OID_DOC_TYPES_ASIP,
                    valuesets.DOCUMENT_TYPES.get("EXPPAT_3", ("", "Directives anticipées"))[1],
                )
                if item.document_title:
                    _reference(sub(external, "text"), f"{ident}-document")


def _code(
    parent: etree._Element,
    tag: str,
    code: str,
    system: str,
    label: str | None,
    xsi_type: str | None = None,
) -> etree._Element:
    attrs: dict[str, str] = {}
    if xsi_type:
        attrs["xsi:type"] = xsi_type
    attrs["code"] = code
    if label:
        attrs["displayName"] = clean(label).replace("\n", " ")
    attrs["codeSystem"] = system
    name = codes.CODE_SYSTEM_NAMES.get(system)
    if name:
        attrs["codeSystemName"] = name
    return sub(parent, tag, attrs)


def _qualifier(
    parent: etree._Element,
    *,
    relationship: dict[str, str],
    templates: tuple[str, ...] | list[str],
    code: tuple[str, str, str],
    reference: str,
    value: dict[str, str],
) -> None:
    """A completed observation qualifying ``parent`` (severity, clinical status)."""
    rel = sub(parent, "entryRelationship", relationship)
    obs = sub(rel, "observation", {"classCode": "OBS", "moodCode": "EVN"})
    for root in templates:
        sub(obs, "templateId", {"root": root})
    _code(obs, "code", *code)
    _reference(sub(obs, "text"), reference)
    sub(obs, "statusCode", {"code": "completed"})
    sub(obs, "value", value)


def _reference(parent: etree._Element, ident: str) -> None:
    sub(parent, "reference", {"value": f"#{ident}"})


def _bound(period: etree._Element, tag: str, value: PartialDate | None) -> None:
    if value is None:
        sub(period, tag, {"nullFlavor": "UNK"})
    else:
        sub(period, tag, {"value": value.hl7()})


def _interval(
    parent: etree._Element, low: PartialDate | None, high: PartialDate | None, with_high: bool
) -> None:
    period = sub(parent, "effectiveTime")
    _bound(period, "low", low)
    if with_high:
        _bound(period, "high", high)


def _cd_value(obs: etree._Element, code: str | None, system: str, label: str, ident: str) -> None:
    if code:
        value = _code(obs, "value", code, system, label, xsi_type="CD")
    else:
        value = sub(obs, "value", {"xsi:type": "CD"})
    _reference(sub(value, "originalText"), ident)


def _decimal_text(value: Decimal) -> str:
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text or "0"


def _result_value_text(result: Result) -> str | None:
    if result.quantity is not None:
        number = _decimal_text(result.quantity).replace(".", ",")
        return f"{number} {result.unit or ''}".strip()
    return result.value_text


def _relationship_code(parent: etree._Element, code: str) -> None:
    system, label = valuesets.RELATIONSHIPS.get(code, (codes.OID_ROLE_CODE, code))
    _code(parent, "code", code, system, label)


def _contact_details(parent: etree._Element, contact: ContactPerson) -> None:
    if contact.address is not None:
        address = contact.address
        addr = sub(parent, "addr")
        for i, line in enumerate(address.lines):
            el = sub(addr, "streetName" if i == 0 else "additionalLocator")
            el.text = clean(line)
        for tag, value in (
            ("postalCode", address.postal_code),
            ("city", address.city),
            ("country", address.country),
        ):
            if value:
                sub(addr, tag).text = clean(value)
    if contact.phone:
        sub(parent, "telecom", {"value": f"tel:{contact.phone.replace(' ', '')}"})
    if contact.email:
        sub(parent, "telecom", {"value": f"mailto:{contact.email}"})


def _person_name(parent: etree._Element, contact: ContactPerson) -> None:
    name = sub(parent, "name")
    sub(name, "family").text = clean(contact.family_name)
    if contact.given_name:
        sub(name, "given").text = clean(contact.given_name)


def _lifestyle_value_text(item: LifestyleItem) -> str | None:
    if item.quantity is not None:
        return ucum.quantity_text(item.quantity, item.unit)  # never a raw « {pack}/a »
    if item.value_code:
        return item.value_label or item.value_code
    return None


# --- reading ------------------------------------------------------------------------------


@dataclass
class VsmReading:
    """A VSM (or IPS-FR) read back: the summary, and what it held that the model could not."""

    summary: MedicalSummary
    left_out: list[LeftOut] = field(default_factory=list)


def parse_vsm(data: bytes) -> MedicalSummary:
    """Read a VSM (ours or another software's) into the editor's model.

    Raises :class:`~dmp_desktop.xmlsafe.UnsafeXmlError` for hostile XML and
    :class:`CdaFormatError` when the document is not a VSM with a patient INS
    and an author. :func:`read_vsm` also says what could not be kept.
    """
    return read_vsm(data).summary


def read_vsm(data: bytes) -> VsmReading:
    """Read a VSM or an IPS-FR: the summary and the list of what it could not represent."""
    root = xmlsafe.parse(data)
    require_clinical_document(root)
    return _VsmReader(root).read()


class _VsmReader:
    def __init__(self, root: etree._Element) -> None:
        self.root = root
        self.entries = EntryReader(root)

    def read(self) -> VsmReading:
        root = self.root
        if not xp(root, "h:component/h:structuredBody"):
            raise CdaFormatError("no structured body")
        header = read_header(root)
        if header.patient is None:
            raise CdaFormatError("no patient with a usable INS")
        if header.author is None:
            raise CdaFormatError("no identified author")
        when = header.effective_time
        if when is None:
            raise CdaFormatError("no effectiveTime")
        if when.tzinfo is None:
            when = when.replace(tzinfo=PARIS)
        treating = header.treating_physician
        if treating is not None and (
            treating.practitioner.national_id == header.author.practitioner.national_id
            and treating.structure.id == header.author.structure.id
        ):
            treating = None
        confidentialities = {c.value: c for c in Confidentiality}
        version = header.version or 1
        summary = MedicalSummary(
            patient=header.patient,
            author=header.author,
            effective_time=when,
            treating_physician=treating,
            document_id=header.document_id,
            set_id=header.set_id,
            version=version,
            title=header.title or "Synthèse médicale",
            confidentiality=confidentialities.get(
                header.confidentiality or "N", Confidentiality.NORMAL
            ),
        )
        found = self.entries.collect()
        for name in (
            "active_problems",
            "medical_history",
            "surgical_history",
            "allergies",
            "lifestyle",
            "occupational_risks",
            "family_history",
            "vigilance_points",
            "treatments",
            "vaccinations",
            "vital_signs",
            "functional_status",
            "results",
            "care_plan",
            "advance_directives",
        ):
            setattr(summary, name, getattr(found, name))
        summary.no_known_allergies = (
            not summary.allergies and "allergies-none-known" in self.entries.index
        )
        patient = first(root, "h:recordTarget/h:patientRole/h:patient")
        guardian = first(patient, "h:guardian") if patient is not None else None
        summary.legal_representative = _read_contact(guardian, "h:guardianPerson")
        for informant in xp(root, "h:informant/h:relatedEntity"):
            contact = _read_contact(informant, "h:relatedPerson")
            if informant.get("classCode") == "NOK" and summary.trusted_person is None:
                summary.trusted_person = contact
            elif informant.get("classCode") == "ECON" and summary.emergency_contact is None:
                summary.emergency_contact = contact
        return VsmReading(summary, self.entries.left_out())


def _read_contact(node: etree._Element | None, person_path: str) -> ContactPerson | None:
    if node is None:
        return None
    name = first(node, f"{person_path}/h:name")
    family = plain_text(first(name, "h:family")) if name is not None else ""
    given = " ".join(plain_text(g) for g in xp(name, "h:given")) if name is not None else ""
    if not family and not given:
        return None
    phone = email = None
    for telecom in xp(node, "h:telecom"):
        value = telecom.get("value") or ""
        if value.startswith("tel:") and phone is None:
            phone = value[4:]
        elif value.startswith("mailto:") and email is None:
            email = value[7:]
    address = None
    addr = first(node, "h:addr")
    if addr is not None and addr.get("nullFlavor") is None:
        lines = [plain_text(line) for line in xp(addr, "h:streetAddressLine")]
        number = plain_text(first(addr, "h:houseNumber"))
        street = plain_text(first(addr, "h:streetName"))
        if street:
            lines.append(f"{number} {street}".strip())
        lines += [plain_text(n) for n in xp(addr, "h:unitID | h:additionalLocator")]
        address = PostalAddress(
            tuple(line for line in lines if line),
            plain_text(first(addr, "h:postalCode")) or None,
            plain_text(first(addr, "h:city")) or None,
            plain_text(first(addr, "h:country")) or None,
        )
        if not (address.lines or address.postal_code or address.city):
            address = None
    return ContactPerson(
        family_name=family or given,
        given_name=given if family else None,
        relationship=attr(node, "h:code", "code"),
        phone=phone,
        email=email,
        address=address,
    )
