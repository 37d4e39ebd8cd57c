"""Reading the coded entries of any CI-SIS CDA document (VSM, IPS-FR, DLU, reports...).

Plain Python, no Qt: what the VSM reader (:func:`dmp_desktop.cda.vsm.read_vsm`)
uses to prefill the editor, and what a summary of a patient's record can use
to gather problems, allergies, treatments (with their coded posology),
vaccinations, measures and results from the documents of a DMP.

    reader = EntryReader(root)            # root: a parsed ClinicalDocument
    section = reader.section(codes.SEC_TREATMENTS)
    treatments = reader.treatments(section)
    everything = reader.collect()         # every recognised entry, by kind
    reader.left_out()                     # what was seen and not read (never silently)

Sections are found by their CI-SIS templateId (the last of a spec, and the
aliases other volets use for the same content), never by a shared IHE
template or the LOINC code alone: the VSM's « Points de vigilance » and the
IPS-FR's « Résultats » both carry LOINC 30954-2.

Each reader follows the entry's templateId, reads the text the entry points
to in the narrative (``text/reference``), then its codes. An entry is
"used" once read; :meth:`EntryReader.left_out` lists, in French, the
sections this model cannot hold and the entries of known sections it did
not use, with how many of each, plus embedded files (``observationMedia``).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import TypeVar

from lxml import etree

from dmp_desktop.cda import codes, valuesets
from dmp_desktop.cda.codes import SectionSpec
from dmp_desktop.cda.narrative import id_index, resolve, text_items
from dmp_desktop.cda.posology import from_period
from dmp_desktop.cda.xmlutil import XSI_TYPE, attr, first, plain_text, xp
from dmp_desktop.domain.summary import (
    AdvanceDirective,
    Allergy,
    AllergyStatus,
    CarePlanItem,
    CarePlanKind,
    FamilyHistory,
    FunctionalStatus,
    ImmunizationKind,
    LifestyleItem,
    LifestyleKind,
    MedicalHistory,
    PartialDate,
    Posology,
    Problem,
    ProblemStatus,
    Result,
    ResultKind,
    SurgicalHistory,
    Treatment,
    Vaccination,
    VitalSign,
)

_PCC = codes.PCC
P = TypeVar("P", bound=Problem)

# Sections our model holds, the container sections (structure only), in reading order.
KNOWN_SECTIONS: tuple[SectionSpec, ...] = (
    codes.SEC_ACTIVE_PROBLEMS,
    codes.SEC_MEDICAL_HISTORY,
    codes.SEC_SURGICAL_HISTORY,
    codes.SEC_ALLERGIES,
    codes.SEC_LIFESTYLE,
    codes.SEC_OCCUPATIONAL,
    codes.SEC_FAMILY_HISTORY,
    codes.SEC_VIGILANCE,
    codes.SEC_TREATMENTS,
    codes.SEC_VACCINATIONS,
    codes.SEC_VITAL_SIGNS,
    codes.SEC_FUNCTIONAL_STATUS,
    codes.SEC_RESULTS,
    codes.SEC_CARE_PLAN,
    codes.SEC_ADVANCE_DIRECTIVES,
)
CONTAINERS: tuple[SectionSpec, ...] = (
    codes.SEC_SUMMARY,
    codes.SEC_HISTORY,
    codes.SEC_RISK_FACTORS,
    codes.SEC_TREATMENT_PLAN,
)


def own_templates(spec: SectionSpec) -> tuple[str, ...]:
    """The CI-SIS templateIds that identify this section (its own and the aliases)."""
    return (spec.own_template, *codes.SECTION_ALIASES.get(spec.key, ()))


@dataclass(frozen=True)
class LeftOut:
    """Something a document holds that the model could not take: where, what, how many."""

    section: str
    what: str
    count: int = 1

    def french(self) -> str:
        return f"« {self.section} » : {self.what}" + (f" ({self.count})" if self.count > 1 else "")


@dataclass
class Collected:
    """Every entry of a document the model can hold, by kind (see :meth:`EntryReader.collect`)."""

    active_problems: list[Problem] = field(default_factory=list)
    medical_history: list[MedicalHistory] = field(default_factory=list)
    surgical_history: list[SurgicalHistory] = field(default_factory=list)
    allergies: list[Allergy] = field(default_factory=list)
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


class EntryReader:
    """Reads the entries of one parsed CDA document (``root`` is ``ClinicalDocument``)."""

    def __init__(self, root: etree._Element) -> None:
        self.root = root
        self.index = id_index(root)
        self.used: set[etree._Element] = set()
        # Sections another reader (a subclass) took entries from: only their unused entries
        # are left out, as for the known sections.
        self.read_sections: set[etree._Element] = set()

    # -- finding sections ---------------------------------------------------------------------
    def body(self) -> etree._Element | None:
        return first(self.root, "h:component/h:structuredBody")

    def all_sections(self) -> Iterator[etree._Element]:
        body = self.body()
        if body is not None:
            yield from xp(body, ".//h:section")

    def section(self, spec: SectionSpec) -> etree._Element | None:
        """The section of ``spec`` (first found), by its CI-SIS templateIds."""
        body = self.body()
        if body is None:
            return None
        for root in own_templates(spec):
            found = first(body, f".//h:section[h:templateId/@root='{root}']")
            if found is not None:
                return found
        return None

    def spec_of(self, section: etree._Element) -> SectionSpec | None:
        roots = {t.get("root") for t in xp(section, "h:templateId")}
        for spec in KNOWN_SECTIONS + CONTAINERS:
            if roots & set(own_templates(spec)):
                return spec
        return None

    # -- narrative ----------------------------------------------------------------------------
    def text_of(self, node: etree._Element | None, path: str = "h:text/h:reference") -> str:
        if node is None:
            return ""
        return resolve(self.index, attr(node, path, "value"))

    def comment(self, node: etree._Element) -> str | None:
        act = first(node, f"h:entryRelationship/h:act[h:templateId/@root='{_PCC}.1.4.2']")
        if act is None:
            return None
        return self.text_of(act) or None

    def _entries(self, section: etree._Element | None, path: str) -> list[etree._Element]:
        if section is None:
            return []
        found = xp(section, path)
        for node in found:
            entry = node.getparent()
            while entry is not None and etree.QName(entry).localname != "entry":
                entry = entry.getparent()
            if entry is not None:
                self.used.add(entry)
        return found

    def row_cells(self, node: etree._Element | None) -> dict[str, str]:
        """The narrative table row holding ``node``: header text (lower case) -> cell text."""
        row = node
        while row is not None and etree.QName(row).localname != "tr":
            row = row.getparent()
        if row is None:
            return {}
        table = row.getparent()
        while table is not None and etree.QName(table).localname != "table":
            table = table.getparent()
        if table is None:
            return {}
        headers = [plain_text(th).lower() for th in xp(table, ".//h:thead//h:th")]
        cells = [plain_text(td) for td in xp(row, "h:td")]
        return dict(zip(headers, cells, strict=False))

    # -- entries of the VSM 1.4 model ------------------------------------------------------------
    def problems(self, section: etree._Element | None, cls: type[P]) -> list[P]:
        out: list[P] = []
        for act in self._entries(section, f"h:entry/h:act[h:templateId/@root='{_PCC}.1.4.5.2']"):
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
                        onset=date_at(obs, "h:effectiveTime/h:low"),
                        resolution=date_at(obs, "h:effectiveTime/h:high"),
                        comment=self.comment(obs),
                    )
                )
        return out

    def surgeries(self, section: etree._Element | None) -> list[SurgicalHistory]:
        out: list[SurgicalHistory] = []
        for proc in self._entries(
            section, f"h:entry/h:procedure[h:templateId/@root='{_PCC}.1.4.19']"
        ):
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
            when = date_at(proc, "h:effectiveTime") or date_at(proc, "h:effectiveTime/h:low")
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

    def allergies(self, section: etree._Element | None) -> list[Allergy]:
        severities = {code: sev for sev, (code, _) in codes.SEVERITY_CODES.items()}
        statuses = {code: st for st, (code, _) in codes.ALLERGY_STATUS_CODES.items()}
        out: list[Allergy] = []
        for act in self._entries(section, f"h:entry/h:act[h:templateId/@root='{_PCC}.1.4.5.3']"):
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
                    or (plain_text(first(entity, "h:name")) if entity is not None else "")
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
                        onset=date_at(obs, "h:effectiveTime/h:low"),
                        comment=self.comment(obs),
                    )
                )
        return out

    def lifestyle(self, section: etree._Element | None) -> list[LifestyleItem]:
        kinds = {code: kind for kind, (code, _) in codes.LIFESTYLE_CODES.items()}
        out: list[LifestyleItem] = []
        for obs in self._entries(
            section, f"h:entry/h:observation[h:templateId/@root='{_PCC}.1.4.13.4']"
        ):
            code = first(obs, "h:code")
            kind = kinds.get(code.get("code", "") if code is not None else "", LifestyleKind.OTHER)
            text = self.text_of(obs)
            value = first(obs, "h:value")
            quantity = unit = value_code = value_label = None
            if value is not None:
                kind_of_value = (value.get(XSI_TYPE) or "").rsplit(":", 1)[-1]
                if kind_of_value == "PQ" and value.get("value"):
                    quantity = decimal_or_none(value.get("value"))
                    unit = value.get("unit")
                elif kind_of_value in ("CD", "CE") and value.get("code"):
                    if value.get("codeSystem") == codes.OID_SNOMED:
                        value_code = value.get("code")
                        value_label = value.get("displayName")
                    elif not text:
                        text = value.get("displayName", "")
                elif kind_of_value == "ST" and not text:
                    text = plain_text(value)
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
                    date=date_at(obs, "h:effectiveTime") or date_at(obs, "h:effectiveTime/h:low"),
                )
            )
        return out

    def family(self, section: etree._Element | None) -> list[FamilyHistory]:
        out: list[FamilyHistory] = []
        for organizer in self._entries(
            section, f"h:entry/h:organizer[h:templateId/@root='{_PCC}.1.4.15']"
        ):
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

    def text_list(self, section: etree._Element | None, prefix: str) -> list[str]:
        if section is None:
            return []
        return text_items(first(section, "h:text"), prefix)

    # -- treatments, with their coded posology -------------------------------------------------
    def treatments(self, section: etree._Element | None) -> list[Treatment]:
        out: list[Treatment] = []
        for sa in self._entries(
            section,
            f".//h:entry/h:substanceAdministration[h:templateId/@root='{_PCC}.1.4.7']"
            "[not(@moodCode) or @moodCode='EVN']",
        ):
            treatment = self.treatment(sa)
            if treatment is not None:
                out.append(treatment)
        return out

    def treatment(self, sa: etree._Element) -> Treatment | None:
        material = first(sa, "h:consumable/h:manufacturedProduct/h:manufacturedMaterial")
        code = first(material, "h:code") if material is not None else None
        reference = attr(sa, "h:text/h:reference", "value") or attr(
            code, "h:originalText/h:reference", "value"
        )
        name = (
            resolve(self.index, reference)
            or (plain_text(first(material, "h:name")) if material is not None else "")
            or (code.get("displayName", "") if code is not None else "")
        )
        if not name:
            return None
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
        # ours: the builder writes a « long cours » cell next to the name
        ours = bool(reference and f"{reference[1:]}-longterm" in self.index)
        dosage = long_term_text = ""
        if ours and reference:
            dosage = resolve(self.index, f"{reference}-dosage")
            long_term_text = resolve(self.index, f"{reference}-longterm")
        period = first(sa, "h:effectiveTime[h:low or h:high or h:width]")
        posology = self.posology(sa, period)
        if not ours:
            cells = self.row_cells(self.index.get((reference or "#")[1:]))
            for header, text in cells.items():
                if "posologie" in header and text and text != "-":
                    dosage = text
        reason_act = first(sa, "h:entryRelationship[@typeCode='RSON']/h:act")
        reason = reason_code = reason_label = None
        if reason_act is not None:
            reason_el = first(reason_act, "h:code")
            reason = self.text_of(reason_el, "h:originalText/h:reference") or (
                reason_el.get("displayName") if reason_el is not None else None
            )
            if reason_el is not None and reason_el.get("codeSystem") == codes.OID_CIM10:
                reason_code = reason_el.get("code")
                reason_label = reason_el.get("displayName")
        return Treatment(
            name=name,
            cis=cis,
            cip=cip,
            atc=atc,
            dosage=dosage or None,
            start=date_at(period, "h:low") if period is not None else None,
            end=date_at(period, "h:high") if period is not None else None,
            long_term=long_term_text != "Non",
            posology=posology,
            reason=reason or None,
            reason_cim10=reason_code,
            reason_cim10_label=reason_label if reason_label != reason else None,
        )

    def posology(self, sa: etree._Element, period: etree._Element | None) -> Posology | None:
        p = Posology()
        width = first(period, "h:width") if period is not None else None
        if width is not None and width.get("value"):
            p.duration = decimal_or_none(width.get("value"))
            p.duration_unit = width.get("unit") if p.duration is not None else None
        pivl = first(sa, "h:effectiveTime[contains(@xsi:type, 'PIVL_TS')]/h:period")
        if pivl is None:
            pivl = first(sa, ".//h:comp[contains(@xsi:type, 'PIVL_TS')]/h:period")
        if pivl is not None and pivl.get("value") and pivl.get("unit"):
            value = decimal_or_none(pivl.get("value"))
            if value is not None:
                holder = pivl.getparent()
                institution = holder is not None and holder.get("institutionSpecified") == "true"
                p.times, p.period, p.period_unit = from_period(
                    value, pivl.get("unit", ""), institution
                )
        route = first(sa, "h:routeCode")
        if route is not None and route.get("code"):
            p.route = route.get("code")
        dose = first(sa, "h:doseQuantity")
        if dose is not None:
            low = first(dose, "h:low")
            high = first(dose, "h:high")
            if dose.get("value"):
                p.dose = decimal_or_none(dose.get("value"))
                p.dose_unit = dose.get("unit")
            elif low is not None and low.get("value"):
                p.dose = decimal_or_none(low.get("value"))
                p.dose_unit = low.get("unit")
                if high is not None and high.get("value"):
                    top = decimal_or_none(high.get("value"))
                    if top is not None and top != p.dose:
                        p.dose_max = top
            if p.dose_unit == "1":
                p.dose_unit = None
        return None if p.is_empty() else p

    # -- the other CI-SIS entries ---------------------------------------------------------------
    def vaccinations(self, section: etree._Element | None) -> list[Vaccination]:
        out: list[Vaccination] = []
        kinds = {kind.value: kind for kind in ImmunizationKind}
        for sa in self._entries(
            section,
            f"h:entry/h:substanceAdministration[h:templateId/@root='{_PCC}.1.4.12']"
            "[not(@moodCode) or @moodCode='EVN']",
        ):
            material = first(sa, "h:consumable/h:manufacturedProduct/h:manufacturedMaterial")
            code = first(material, "h:code") if material is not None else None
            name = (
                self.text_of(sa)
                or self.text_of(code, "h:originalText/h:reference")
                or (code.get("displayName", "") if code is not None else "")
                or (plain_text(first(material, "h:name")) if material is not None else "")
            )
            if not name:
                continue
            cis = atc = None
            if code is not None:
                if code.get("codeSystem") == codes.OID_CIS:
                    cis = code.get("code")
                elif code.get("codeSystem") == codes.OID_ATC:
                    atc = code.get("code")
                for tr in xp(code, "h:translation"):
                    if tr.get("codeSystem") == codes.OID_ATC and atc is None:
                        atc = tr.get("code")
            rank_value = attr(
                sa,
                f"h:entryRelationship/h:observation[h:code/@code='{codes.IMMUNIZATION_RANK_CODE[0]}']"
                "/h:value",
                "value",
            )
            rank = int(rank_value) if rank_value and rank_value.isdigit() else None
            rank = rank or None
            lot = plain_text(first(material, "h:lotNumberText")) if material is not None else ""
            out.append(
                Vaccination(
                    vaccine=name,
                    cis=cis,
                    atc=atc,
                    date=date_at(sa, "h:effectiveTime") or date_at(sa, "h:effectiveTime/h:low"),
                    kind=kinds.get(attr(sa, "h:code", "code") or "", ImmunizationKind.UNSPECIFIED),
                    rank=rank,
                    lot=lot or None,
                    route=attr(sa, "h:routeCode", "code"),
                    comment=self.comment(sa),
                )
            )
        return out

    def vital_signs(self, section: etree._Element | None) -> list[VitalSign]:
        out: list[VitalSign] = []
        for obs in self._entries(
            section,
            f"h:entry/h:organizer/h:component/h:observation[h:templateId/@root='{_PCC}.1.4.13.2']",
        ):
            value = first(obs, "h:value")
            code = attr(obs, "h:code", "code")
            number = decimal_or_none(value.get("value") if value is not None else None)
            if not code or value is None or number is None or not value.get("unit"):
                continue
            out.append(
                VitalSign(
                    code=code,
                    value=number,
                    unit=value.get("unit", ""),
                    date=date_at(obs, "h:effectiveTime") or date_at(obs, "h:effectiveTime/h:low"),
                    comment=self.comment(obs),
                )
            )
        return out

    def functional_status(self, section: etree._Element | None) -> list[FunctionalStatus]:
        out: list[FunctionalStatus] = []
        for obs in self._entries(
            section,
            "h:entry/h:organizer/h:component/h:observation"
            "[h:templateId/@root='1.2.250.1.213.1.1.3.25']",
        ):
            code = first(obs, "h:code")
            label = (
                self.text_of(obs)
                or self.text_of(code, "h:originalText/h:reference")
                or (code.get("displayName", "") if code is not None else "")
            )
            if not label:
                continue
            value = first(obs, "h:value")
            finding = self.text_of(value, "h:originalText/h:reference") if value is not None else ""
            if not finding and value is not None:
                finding = value.get("displayName") or plain_text(value)
            out.append(
                FunctionalStatus(
                    label=label,
                    value=finding if finding and finding != label else None,
                    date=date_at(obs, "h:effectiveTime/h:low") or date_at(obs, "h:effectiveTime"),
                    comment=self.comment(obs),
                )
            )
        return out

    def results(self, section: etree._Element | None) -> list[Result]:
        out: list[Result] = []
        if section is None:
            return out
        # ours: the one examination act that the coded-results section needs
        self._entries(
            section,
            f"h:entry/h:procedure[h:templateId/@root='{_PCC}.1.4.19'][h:text/h:reference/@value='#examens']",
        )
        # ours and the DLU: simple observations at the section level
        for obs in self._entries(
            section, f"h:entry/h:observation[h:templateId/@root='{_PCC}.1.4.13']"
        ):
            result = self.result(obs, ResultKind.LAB)
            if result is not None:
                out.append(result)
        # IPS-FR: organizers (lab, imaging) of observations
        for organizer in self._entries(
            section, "h:entry/h:organizer[h:templateId/@root='1.2.250.1.213.1.1.3.208']"
        ):
            group = attr(organizer, "h:code", "code")
            kind = ResultKind.IMAGING if group == "18748-4" else ResultKind.LAB
            for obs in xp(organizer, "h:component/h:observation"):
                result = self.result(obs, kind)
                if result is not None:
                    out.append(result)
        return out

    def result(self, obs: etree._Element, kind: ResultKind) -> Result | None:
        code = first(obs, "h:code")
        label = (
            self.text_of(code, "h:originalText/h:reference")
            or self.text_of(obs)
            or (code.get("displayName", "") if code is not None else "")
        )
        if not label:
            return None
        loinc = loinc_label = None
        if code is not None and code.get("codeSystem") == codes.OID_LOINC:
            loinc, loinc_label = code.get("code"), code.get("displayName")
        value = first(obs, "h:value")
        quantity = unit = value_text = None
        if value is not None:
            value_type = (value.get(XSI_TYPE) or "").rsplit(":", 1)[-1]
            if value_type == "PQ" and value.get("value"):
                quantity = decimal_or_none(value.get("value"))
                unit = value.get("unit") if quantity is not None else None
            elif value_type in ("CD", "CE", "CV"):
                value_text = (
                    self.text_of(value, "h:originalText/h:reference")
                    or value.get("displayName")
                    or None
                )
            elif value_type == "BL":
                value_text = {"true": "Oui", "false": "Non"}.get(value.get("value", ""))
            else:
                value_text = plain_text(value) or None
        if value_text is None and quantity is None:
            value_text = resolve(self.index, f"{attr(obs, 'h:text/h:reference', 'value')}-valeur")
            value_text = value_text or None
        reference = attr(obs, "h:text/h:reference", "value")
        written = resolve(self.index, f"{reference}-type") if reference else ""
        kind = {"Biologie": ResultKind.LAB, "Imagerie": ResultKind.IMAGING}.get(
            written, ResultKind.OTHER if written == "Autre examen" else kind
        )
        return Result(
            label=label,
            kind=kind,
            loinc=loinc,
            loinc_label=loinc_label,
            quantity=quantity,
            unit=unit,
            value_text=value_text,
            date=date_at(obs, "h:effectiveTime") or date_at(obs, "h:effectiveTime/h:low"),
            comment=self.comment(obs),
        )

    def care_plan(self, section: etree._Element | None) -> list[CarePlanItem]:
        out: list[CarePlanItem] = []
        if section is None:
            return out
        for entry in xp(section, "h:entry"):
            act = next((c for c in entry if isinstance(c.tag, str)), None)
            if act is None:
                continue
            tag = etree.QName(act).localname
            if tag == "procedure":
                kind = CarePlanKind.PROCEDURE
            elif tag == "encounter":
                kind = CarePlanKind.ENCOUNTER
            elif tag in ("observation", "substanceAdministration"):
                kind = CarePlanKind.FOLLOW_UP
            else:
                continue
            code = first(act, "h:code")
            label = (
                self.text_of(act)
                or self.text_of(code, "h:originalText/h:reference")
                or (code.get("displayName", "") if code is not None else "")
            )
            if tag == "substanceAdministration":
                # a planned medication or vaccination: kept as a planned item, in words
                immunization = attr(act, "h:code", "code") in ("IMMUNIZ", "INITIMMUNIZ", "BOOSTER")
                material = first(act, ".//h:manufacturedMaterial")
                product = self.text_of(
                    first(material, "h:code") if material is not None else None,
                    "h:originalText/h:reference",
                )
                what = product or label
                if not what:
                    continue
                label = f"{'Vaccination prévue' if immunization else 'Traitement prévu'} : {what}"
                code = None
            if not label:
                continue
            self.used.add(entry)
            ccam = ccam_label = None
            if code is not None and code.get("codeSystem") == codes.OID_CCAM:
                ccam, ccam_label = code.get("code"), code.get("displayName")
            out.append(
                CarePlanItem(
                    label=label,
                    kind=kind,
                    ccam=ccam,
                    ccam_label=ccam_label,
                    date=date_at(act, "h:effectiveTime") or date_at(act, "h:effectiveTime/h:low"),
                    comment=self.comment(act),
                )
            )
        return out

    def advance_directives(self, section: etree._Element | None) -> list[AdvanceDirective]:
        out: list[AdvanceDirective] = []
        for obs in self._entries(
            section, f"h:entry/h:observation[h:templateId/@root='{_PCC}.1.4.13.7']"
        ):
            code = attr(obs, "h:code", "code") or "42348-3"
            label = valuesets.ADVANCE_DIRECTIVE_TYPES.get(code, ("", ""))[1]
            text = self.text_of(obs)
            accepted_value = attr(obs, "h:value", "value")
            accepted = {"true": True, "false": False}.get(accepted_value or "")
            if accepted is not None:
                for prefix in ("Accepte. ", "Refuse. "):
                    text = text.removeprefix(prefix)
                if text in ("Accepte", "Refuse"):
                    text = ""
            if text == label or text.startswith(("Document du patient",)):
                text = ""
            external = first(obs, "h:reference/h:externalDocument")
            document_id = document_title = None
            if external is not None:
                ext_id = first(external, "h:id")
                if ext_id is not None and ext_id.get("root"):
                    root = ext_id.get("root", "")
                    extension = ext_id.get("extension")
                    document_id = f"{root}^{extension}" if extension else root
                document_title = self.text_of(external) or None
            out.append(
                AdvanceDirective(
                    code=code,
                    text=text or None,
                    accepted=accepted,
                    date=date_at(obs, "h:effectiveTime/h:low") or date_at(obs, "h:effectiveTime"),
                    document_id=document_id,
                    document_title=document_title,
                    comment=self.comment(obs),
                )
            )
        return out

    # -- everything ------------------------------------------------------------------------------
    def collect(self) -> Collected:
        """Every entry this model can hold, whatever the document's type."""
        out = Collected()
        out.active_problems = self.problems(self.section(codes.SEC_ACTIVE_PROBLEMS), Problem)
        out.medical_history = self.problems(self.section(codes.SEC_MEDICAL_HISTORY), MedicalHistory)
        out.surgical_history = self.surgeries(self.section(codes.SEC_SURGICAL_HISTORY))
        out.allergies = self.allergies(self.section(codes.SEC_ALLERGIES))
        out.lifestyle = self.lifestyle(self.section(codes.SEC_LIFESTYLE))
        out.occupational_risks = self.text_list(self.section(codes.SEC_OCCUPATIONAL), "risque-pro-")
        out.family_history = self.family(self.section(codes.SEC_FAMILY_HISTORY))
        out.vigilance_points = self.text_list(self.section(codes.SEC_VIGILANCE), "vigilance-")
        treatments = self.section(codes.SEC_TREATMENTS)
        if treatments is None:
            treatments = self.section(codes.SEC_TREATMENT_PLAN)
        out.treatments = self.treatments(treatments)
        out.vaccinations = self.vaccinations(self.section(codes.SEC_VACCINATIONS))
        out.vital_signs = self.vital_signs(self.section(codes.SEC_VITAL_SIGNS))
        out.functional_status = self.functional_status(self.section(codes.SEC_FUNCTIONAL_STATUS))
        out.results = self.results(self.section(codes.SEC_RESULTS))
        out.care_plan = self.care_plan(self.section(codes.SEC_CARE_PLAN))
        out.advance_directives = self.advance_directives(self.section(codes.SEC_ADVANCE_DIRECTIVES))
        return out

    def left_out(self) -> list[LeftOut]:
        """What the document holds that the readers did not take (call after reading)."""
        out: list[LeftOut] = []
        read: set[etree._Element] = set()
        for known in KNOWN_SECTIONS:
            found = self.section(known)
            if found is not None:
                read.add(found)
        for section in self.all_sections():
            title = plain_text(first(section, "h:title")) or attr(section, "h:code", "displayName")
            title = title or "Section sans titre"
            spec = self.spec_of(section)
            entries = xp(section, "h:entry")
            taken = section in self.read_sections
            if not taken and (spec is None or (spec in KNOWN_SECTIONS and section not in read)):
                has_sub = bool(xp(section, "h:component/h:section"))
                if entries:
                    out.append(LeftOut(title, _kinds_of(entries), len(entries)))
                elif not has_sub and plain_text(first(section, "h:text")):
                    out.append(LeftOut(title, "texte non repris"))
                continue
            if spec in CONTAINERS and not taken:
                continue
            unused = [entry for entry in entries if entry not in self.used]
            if unused:
                out.append(LeftOut(title, _kinds_of(unused), len(unused)))
            media = xp(section, ".//h:observationMedia")
            if media:
                out.append(LeftOut(title, "fichier joint non repris", len(media)))
        return out


_KIND_WORDS = {
    ("substanceAdministration", "INT"): "traitement prévu",
    ("substanceAdministration", "EVN"): "médicament",
    ("supply", None): "dispositif médical",
    ("procedure", None): "acte",
    ("encounter", None): "rendez-vous",
    ("observation", None): "observation",
    ("organizer", None): "groupe d'observations",
    ("act", None): "élément",
    ("observationMedia", None): "fichier joint",
}


def _kinds_of(entries: Sequence[etree._Element]) -> str:
    """What entries hold, in words (« observation, acte ») and « non repris »."""
    words: list[str] = []
    for entry in entries:
        node = next((c for c in entry if isinstance(c.tag, str)), None)
        if node is None:
            continue
        tag = etree.QName(node).localname
        word = _KIND_WORDS.get((tag, node.get("moodCode"))) or _KIND_WORDS.get((tag, None))
        word = word or "élément"
        if word not in words:
            words.append(word)
    return f"non repris : {', '.join(words) or 'élément'}"


def date_at(node: etree._Element | None, path: str) -> PartialDate | None:
    value = attr(node, path, "value")
    if not value:
        return None
    try:
        return PartialDate.from_hl7(value)
    except ValueError:
        return None


def decimal_or_none(value: str | None) -> Decimal | None:
    if not value:
        return None
    try:
        number = Decimal(value)
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def french_list(left_out: Sequence[LeftOut]) -> str:
    """One line per item, for a message or the CLI."""
    return "\n".join(f"- {item.french()}" for item in left_out)
