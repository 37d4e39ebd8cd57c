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
from decimal import Decimal, InvalidOperation
from typing import TypeVar
from zoneinfo import ZoneInfo

from lxml import etree

from dmp_desktop import xmlsafe
from dmp_desktop.cda import codes, valuesets
from dmp_desktop.cda.codes import SectionSpec
from dmp_desktop.cda.errors import CdaFormatError, SummaryInvalidError, SummaryProblem
from dmp_desktop.cda.header import (
    CodedValue,
    HeaderData,
    build_header,
    check_header_parts,
    read_header,
    require_clinical_document,
)
from dmp_desktop.cda.narrative import Table, cell, id_index, resolve, rich, text_items
from dmp_desktop.cda.xmlutil import (
    XSI_TYPE,
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
from dmp_desktop.domain.summary import (
    Allergy,
    AllergyStatus,
    Confidentiality,
    FamilyHistory,
    LifestyleItem,
    LifestyleKind,
    MedicalHistory,
    MedicalSummary,
    PartialDate,
    Problem,
    ProblemStatus,
    SurgicalHistory,
    Treatment,
)

DOCUMENT_CODE = CodedValue("SYNTH", codes.OID_DOC_TYPES_ASIP, "Synthèse")
SERVICE_EVENT_CODE = CodedValue("34117-2", codes.OID_LOINC, "Historique et clinique", "LOINC")

_CIM10_RE = re.compile(r"^[A-Z][0-9][0-9A-Z](\.?[0-9A-Z+]{1,4})?$")
_CCAM_RE = re.compile(r"^[A-Z]{4}[0-9]{3}$")
_CIS_RE = re.compile(r"^[0-9]{8}$")
_CIP_RE = re.compile(r"^([0-9]{7}|[0-9]{13})$")
_ATC_RE = re.compile(r"^[A-Z]([0-9]{2}([A-Z]([A-Z]([0-9]{2})?)?)?)?$")
_UCUM_RE = re.compile(r"^\S+$")

PROBLEM_HEADERS = ["Début", "Fin", "Pathologie", "Code CIM-10", "Statut", "Commentaire"]


# --- checking ----------------------------------------------------------------------------


def check_summary(summary: MedicalSummary) -> list[SummaryProblem]:
    """Every reason the summary cannot become a valid VSM (empty when it can)."""
    problems: list[SummaryProblem] = []

    def need(ok: bool, path: str, reason: str) -> None:
        if not ok:
            problems.append(SummaryProblem(path, reason))

    def text_ok(value: str | None) -> bool:
        return bool(value and clean(value))

    def code_ok(value: str | None, pattern: re.Pattern[str]) -> bool:
        return value is None or bool(pattern.match(value))

    problems.extend(
        check_header_parts(
            patient=summary.patient,
            author=summary.author,
            treating_physician=summary.treating_physician,
            effective_time=summary.effective_time,
            document_id=summary.document_id,
            set_id=summary.set_id,
            version=summary.version,
            title=summary.title,
        )
    )

    for key, items in (
        ("active_problems", summary.active_problems),
        ("medical_history", summary.medical_history),
    ):
        for i, problem in enumerate(items):
            at = f"{key}[{i}]"
            need(text_ok(problem.label), f"{at}.label", "required")
            need(code_ok(problem.cim10, _CIM10_RE), f"{at}.cim10", "bad_format")
            need(
                problem.resolution is None or problem.status is ProblemStatus.RESOLVED,
                f"{at}.resolution",
                "resolution_needs_resolved",
            )
    for i, surgery in enumerate(summary.surgical_history):
        at = f"surgical_history[{i}]"
        need(text_ok(surgery.label), f"{at}.label", "required")
        need(code_ok(surgery.ccam, _CCAM_RE), f"{at}.ccam", "bad_format")
    for i, allergy in enumerate(summary.allergies):
        at = f"allergies[{i}]"
        need(text_ok(allergy.agent), f"{at}.agent", "required")
        need(allergy.type_code in valuesets.ALLERGY_TYPES, f"{at}.type_code", "unknown_code")
        need(code_ok(allergy.agent_cis, _CIS_RE), f"{at}.agent_cis", "bad_format")
        need(code_ok(allergy.agent_atc, _ATC_RE), f"{at}.agent_atc", "bad_format")
    need(
        not (summary.no_known_allergies and summary.allergies),
        "no_known_allergies",
        "conflicts_with_allergies",
    )
    for i, item in enumerate(summary.lifestyle):
        at = f"lifestyle[{i}]"
        need(text_ok(item.text), f"{at}.text", "required")
        if item.quantity is not None:
            need(item.quantity.is_finite(), f"{at}.quantity", "bad_format")
            need(
                item.unit is not None and bool(_UCUM_RE.match(item.unit)), f"{at}.unit", "required"
            )
    for i, family in enumerate(summary.family_history):
        at = f"family_history[{i}]"
        need(
            family.relationship in valuesets.FAMILY_RELATIONSHIPS,
            f"{at}.relationship",
            "unknown_code",
        )
        need(text_ok(family.label), f"{at}.label", "required")
        need(code_ok(family.cim10, _CIM10_RE), f"{at}.cim10", "bad_format")
    for i, treatment in enumerate(summary.treatments):
        at = f"treatments[{i}]"
        need(text_ok(treatment.name), f"{at}.name", "required")
        need(code_ok(treatment.cis, _CIS_RE), f"{at}.cis", "bad_format")
        need(code_ok(treatment.cip, _CIP_RE), f"{at}.cip", "bad_format")
        need(code_ok(treatment.atc, _ATC_RE), f"{at}.atc", "bad_format")
    for key, texts in (
        ("occupational_risks", summary.occupational_risks),
        ("vigilance_points", summary.vigilance_points),
    ):
        for i, text in enumerate(texts):
            need(text_ok(text), f"{key}[{i}]", "empty")
    return problems


# --- building -----------------------------------------------------------------------------


def build_vsm(summary: MedicalSummary) -> bytes:
    """The VSM as UTF-8 XML bytes; raises :class:`SummaryInvalidError` listing every problem."""
    return serialize(build_vsm_tree(summary))


def build_vsm_tree(summary: MedicalSummary, *, check: bool = True) -> etree._Element:
    """The VSM as an element tree; ``check=False`` skips :func:`check_summary` (previews)."""
    if check:
        problems = check_summary(summary)
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
        body = sub(sub(doc, "component"), "structuredBody")
        self._summary_section(body)
        self._vigilance_section(body)
        self._treatment_plan_section(body)
        return doc

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
            text, ["Médicament", "Code CIS", "Posologie", "Début", "Fin", "Au long cours"]
        )
        for i, treatment in enumerate(self.s.treatments, 1):
            ident = f"med-{i}"
            row = table.row()
            cell(row, treatment.name, ident)
            cell(row, treatment.cis)
            cell(row, treatment.dosage, f"{ident}-dosage")
            cell(row, treatment.start.french() if treatment.start else None)
            cell(row, treatment.end.french() if treatment.end else None)
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
        period = sub(sa, "effectiveTime", {"xsi:type": "IVL_TS"})
        _bound(period, "low", treatment.start)
        _bound(period, "high", treatment.end)
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


def _lifestyle_value_text(item: LifestyleItem) -> str | None:
    if item.quantity is not None:
        return f"{_decimal_text(item.quantity)} {item.unit or ''}".strip()
    if item.value_code:
        return item.value_label or item.value_code
    return None


# --- reading ------------------------------------------------------------------------------

_PARIS = ZoneInfo("Europe/Paris")
P = TypeVar("P", bound=Problem)
_PCC = codes.PCC


def parse_vsm(data: bytes) -> MedicalSummary:
    """Read a VSM (ours or another software's) into the editor's model.

    Raises :class:`~dmp_desktop.xmlsafe.UnsafeXmlError` for hostile XML and
    :class:`CdaFormatError` when the document is not a VSM with a patient INS
    and an author.
    """
    root = xmlsafe.parse(data)
    require_clinical_document(root)
    return _VsmReader(root).read()


class _VsmReader:
    def __init__(self, root: etree._Element) -> None:
        self.root = root
        self.index = id_index(root)

    def text_of(self, node: etree._Element | None, path: str = "h:text/h:reference") -> str:
        if node is None:
            return ""
        return resolve(self.index, attr(node, path, "value"))

    def read(self) -> MedicalSummary:
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
            when = when.replace(tzinfo=_PARIS)
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
        summary.active_problems = self.problems(codes.SEC_ACTIVE_PROBLEMS, Problem)
        summary.medical_history = self.problems(codes.SEC_MEDICAL_HISTORY, MedicalHistory)
        summary.surgical_history = self.surgeries()
        summary.allergies = self.allergies()
        summary.no_known_allergies = not summary.allergies and "allergies-none-known" in self.index
        summary.lifestyle = self.lifestyle()
        occupational = self.section(codes.SEC_OCCUPATIONAL)
        summary.occupational_risks = (
            text_items(first(occupational, "h:text"), "risque-pro-")
            if occupational is not None
            else []
        )
        summary.family_history = self.family()
        vigilance = self.section(codes.SEC_VIGILANCE)
        summary.vigilance_points = (
            text_items(first(vigilance, "h:text"), "vigilance-") if vigilance is not None else []
        )
        summary.treatments = self.treatments()
        return summary

    def section(self, spec: SectionSpec) -> etree._Element | None:
        body = first(self.root, "h:component/h:structuredBody")
        if body is None:
            return None
        for root in reversed(spec.template_ids):
            found = first(body, f".//h:section[h:templateId/@root='{root}']")
            if found is not None:
                return found
        return first(body, f".//h:section[h:code/@code='{spec.code}']")

    def comment(self, node: etree._Element) -> str | None:
        act = first(node, f"h:entryRelationship/h:act[h:templateId/@root='{_PCC}.1.4.2']")
        if act is None:
            return None
        return self.text_of(act) or None

    def problems(self, spec: SectionSpec, cls: type[P]) -> list[P]:
        section = self.section(spec)
        if section is None:
            return []
        out: list[P] = []
        for act in xp(section, f"h:entry/h:act[h:templateId/@root='{_PCC}.1.4.5.2']"):
            concern = act.find("{urn:hl7-org:v3}statusCode")
            resolved = concern is not None and concern.get("code") in ("completed", "aborted")
            for obs in xp(
                act, f"h:entryRelationship/h:observation[h:templateId/@root='{_PCC}.1.4.5']"
            ):
                value = first(obs, "h:value")
                label = (
                    self.text_of(value, "h:originalText/h:reference")
                    or self.text_of(obs)
                    or (value.get("displayName", "") if value is not None else "")
                )
                if not label:
                    continue
                cim10 = cim10_label = None
                if value is not None and value.get("codeSystem") == codes.OID_CIM10:
                    cim10 = value.get("code")
                    cim10_label = value.get("displayName")
                out.append(
                    cls(
                        label=label,
                        cim10=cim10,
                        cim10_label=cim10_label,
                        status=ProblemStatus.RESOLVED if resolved else ProblemStatus.ACTIVE,
                        onset=_date_at(obs, "h:effectiveTime/h:low"),
                        resolution=_date_at(obs, "h:effectiveTime/h:high"),
                        comment=self.comment(obs),
                    )
                )
        return out

    def surgeries(self) -> list[SurgicalHistory]:
        section = self.section(codes.SEC_SURGICAL_HISTORY)
        if section is None:
            return []
        out: list[SurgicalHistory] = []
        for proc in xp(section, f"h:entry/h:procedure[h:templateId/@root='{_PCC}.1.4.19']"):
            code = first(proc, "h:code")
            label = (
                self.text_of(proc)
                or self.text_of(code, "h:originalText/h:reference")
                or (code.get("displayName", "") if code is not None else "")
            )
            if not label:
                continue
            ccam = ccam_label = None
            if code is not None and code.get("codeSystem") == codes.OID_CCAM:
                ccam, ccam_label = code.get("code"), code.get("displayName")
            when = _date_at(proc, "h:effectiveTime") or _date_at(proc, "h:effectiveTime/h:low")
            out.append(
                SurgicalHistory(
                    label=label,
                    ccam=ccam,
                    ccam_label=ccam_label,
                    date=when,
                    comment=self.comment(proc),
                )
            )
        return out

    def allergies(self) -> list[Allergy]:
        section = self.section(codes.SEC_ALLERGIES)
        if section is None:
            return []
        severities = {code: sev for sev, (code, _) in codes.SEVERITY_CODES.items()}
        statuses = {code: st for st, (code, _) in codes.ALLERGY_STATUS_CODES.items()}
        out: list[Allergy] = []
        for act in xp(section, f"h:entry/h:act[h:templateId/@root='{_PCC}.1.4.5.3']"):
            concern = act.find("{urn:hl7-org:v3}statusCode")
            concern_done = concern is not None and concern.get("code") in ("completed", "aborted")
            for obs in xp(
                act, f"h:entryRelationship/h:observation[h:templateId/@root='{_PCC}.1.4.6']"
            ):
                entity = first(obs, "h:participant/h:participantRole/h:playingEntity")
                agent_code = first(entity, "h:code") if entity is not None else None
                agent_ref = attr(agent_code, "h:originalText/h:reference", "value")
                agent = (
                    resolve(self.index, agent_ref)
                    or (_text(first(entity, "h:name")) if entity is not None else "")
                    or (agent_code.get("displayName", "") if agent_code is not None else "")
                )
                if not agent:
                    continue
                agent_cis = agent_atc = None
                if agent_code is not None:
                    system = agent_code.get("codeSystem")
                    if system == codes.OID_CIS:
                        agent_cis = agent_code.get("code")
                    elif system == codes.OID_ATC:
                        agent_atc = agent_code.get("code")
                    for tr in xp(agent_code, "h:translation"):
                        if tr.get("codeSystem") == codes.OID_ATC and agent_atc is None:
                            agent_atc = tr.get("code")
                type_ref = attr(obs, "h:text/h:reference", "value")
                value_ref = attr(obs, "h:value/h:originalText/h:reference", "value")
                reaction = None
                if value_ref and value_ref not in (type_ref, agent_ref, "#"):
                    reaction = resolve(self.index, value_ref) or None
                severity = None
                sev_value = first(
                    obs,
                    f"h:entryRelationship/h:observation[h:templateId/@root='{_PCC}.1.4.1']/h:value",
                )
                if sev_value is not None:
                    severity = severities.get(sev_value.get("code", ""))
                status_value = attr(
                    obs,
                    f"h:entryRelationship/h:observation[h:templateId/@root='{_PCC}.1.4.1.1']/h:value",
                    "code",
                )
                status = statuses.get(status_value or "")
                if status is None:
                    status = AllergyStatus.RESOLVED if concern_done else AllergyStatus.ACTIVE
                out.append(
                    Allergy(
                        agent=agent,
                        type_code=attr(obs, "h:code", "code") or "416098002",
                        agent_cis=agent_cis,
                        agent_atc=agent_atc,
                        reaction=reaction,
                        severity=severity,
                        status=status,
                        onset=_date_at(obs, "h:effectiveTime/h:low"),
                        comment=self.comment(obs),
                    )
                )
        return out

    def lifestyle(self) -> list[LifestyleItem]:
        section = self.section(codes.SEC_LIFESTYLE)
        if section is None:
            return []
        kinds = {code: kind for kind, (code, _) in codes.LIFESTYLE_CODES.items()}
        out: list[LifestyleItem] = []
        for obs in xp(section, f"h:entry/h:observation[h:templateId/@root='{_PCC}.1.4.13.4']"):
            code = first(obs, "h:code")
            kind = kinds.get(code.get("code", "") if code is not None else "", LifestyleKind.OTHER)
            text = self.text_of(obs)
            value = first(obs, "h:value")
            quantity = unit = value_code = value_label = None
            if value is not None:
                kind_of_value = (value.get(XSI_TYPE) or "").rsplit(":", 1)[-1]
                if kind_of_value == "PQ" and value.get("value"):
                    try:
                        quantity = Decimal(value.get("value", ""))
                    except InvalidOperation:
                        quantity = None
                    unit = value.get("unit")
                elif kind_of_value in ("CD", "CE") and value.get("code"):
                    if value.get("codeSystem") == codes.OID_SNOMED:
                        value_code = value.get("code")
                        value_label = value.get("displayName")
                    elif not text:
                        text = value.get("displayName", "")
                elif kind_of_value == "ST" and not text:
                    text = _text(value)
            if not text and code is not None:
                text = code.get("displayName", "")
            if not text:
                continue
            if value_label == text:
                value_label = None
            out.append(
                LifestyleItem(
                    kind=kind,
                    text=text,
                    quantity=quantity,
                    unit=unit,
                    value_code=value_code,
                    value_label=value_label,
                    date=_date_at(obs, "h:effectiveTime") or _date_at(obs, "h:effectiveTime/h:low"),
                )
            )
        return out

    def family(self) -> list[FamilyHistory]:
        section = self.section(codes.SEC_FAMILY_HISTORY)
        if section is None:
            return []
        out: list[FamilyHistory] = []
        for organizer in xp(section, f"h:entry/h:organizer[h:templateId/@root='{_PCC}.1.4.15']"):
            relationship = attr(organizer, "h:subject/h:relatedSubject/h:code", "code") or "FAMMEMB"
            for obs in xp(organizer, "h:component/h:observation"):
                value = first(obs, "h:value")
                label = (
                    self.text_of(obs)
                    or self.text_of(value, "h:originalText/h:reference")
                    or (value.get("displayName", "") if value is not None else "")
                )
                if not label:
                    continue
                cim10 = cim10_label = None
                if value is not None and value.get("codeSystem") == codes.OID_CIM10:
                    cim10, cim10_label = value.get("code"), value.get("displayName")
                out.append(FamilyHistory(relationship, label, cim10, cim10_label))
        return out

    def treatments(self) -> list[Treatment]:
        plan = self.section(codes.SEC_TREATMENT_PLAN)
        section = self.section(codes.SEC_TREATMENTS)
        scope = section if section is not None else plan
        if scope is None:
            return []
        out: list[Treatment] = []
        for sa in xp(scope, f".//h:substanceAdministration[h:templateId/@root='{_PCC}.1.4.7']"):
            material = first(sa, "h:consumable/h:manufacturedProduct/h:manufacturedMaterial")
            code = first(material, "h:code") if material is not None else None
            reference = attr(sa, "h:text/h:reference", "value") or attr(
                code, "h:originalText/h:reference", "value"
            )
            name = (
                resolve(self.index, reference)
                or (_text(first(material, "h:name")) if material is not None else "")
                or (code.get("displayName", "") if code is not None else "")
            )
            if not name:
                continue
            cis = cip = atc = None
            if code is not None:
                if code.get("codeSystem") == codes.OID_CIS:
                    cis = code.get("code")
                elif code.get("codeSystem") == codes.OID_ATC:
                    atc = code.get("code")
                for tr in xp(code, "h:translation"):
                    if tr.get("codeSystem") == codes.OID_CIP and cip is None:
                        cip = tr.get("code")
                    elif tr.get("codeSystem") == codes.OID_ATC and atc is None:
                        atc = tr.get("code")
            dosage = long_term_text = ""
            if reference and reference.startswith("#"):
                dosage = resolve(self.index, f"{reference}-dosage")
                long_term_text = resolve(self.index, f"{reference}-longterm")
            period = first(sa, "h:effectiveTime[h:low or h:high]")
            out.append(
                Treatment(
                    name=name,
                    cis=cis,
                    cip=cip,
                    atc=atc,
                    dosage=dosage or None,
                    start=_date_at(period, "h:low") if period is not None else None,
                    end=_date_at(period, "h:high") if period is not None else None,
                    long_term=long_term_text != "Non",
                )
            )
        return out


def _text(node: etree._Element | None) -> str:
    return plain_text(node)


def _date_at(node: etree._Element | None, path: str) -> PartialDate | None:
    value = attr(node, path, "value")
    if not value:
        return None
    try:
        return PartialDate.from_hl7(value)
    except ValueError:
        return None
