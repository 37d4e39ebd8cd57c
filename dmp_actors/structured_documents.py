"""Structured (level-3) documents as other software writes them: CR-BIO, IPS-FR, LDL-SES, VAC-NOTE.

The demo's hospitals and laboratory are producers like any other: they write
CI-SIS documents with coded entries that the client's « L'essentiel » reads
(issue #19). Each builder returns CDA bytes that pass the ANS kit
(``validate-cda``, tests/unit/test_structured_documents.py):

- :func:`lab_report` — a CR-BIO (compte rendu d'examens de biologie médicale,
  LOINC 11502-2): one chapter per specialty, LOINC-coded observations with
  their value, unit, interpretation and reference range (CI-SIS « FR-CR-BIO »);
- :func:`patient_summary` — an IPS-FR (synthèse médicale, LOINC 60591-5):
  problems, allergies, treatments with coded posology, vaccinations, vital
  signs, trusted person;
- :func:`discharge_letter` — an LDL-SES (lettre de liaison à la sortie,
  LOINC 11490-0): treatments at discharge and those stopped during the stay,
  coded; allergies found during the stay;
- :func:`vaccination_note` — a VAC-NOTE (note de vaccination, LOINC 87273-9).

The section and entry templates of IPS-FR, LDL-SES and VAC-NOTE are the
CI-SIS ones the VSM also uses; these builders write them with the client's
VSM writer (:func:`dmp_desktop.cda.vsm.build_vsm_tree`) and then give the
document its own volet: templateIds, type code, flat sections. Identifiers
derive from the document id, so that reseeding gives the same documents.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal

from lxml import etree

from dmp_desktop.cda import codes
from dmp_desktop.cda.header import CodedValue, HeaderData, build_header
from dmp_desktop.cda.narrative import Table, cell
from dmp_desktop.cda.vsm import build_vsm_tree
from dmp_desktop.cda.xmlutil import H, derived_uuid, first, serialize, sub, xp
from dmp_desktop.domain.summary import (
    Allergy,
    AllergyStatus,
    CareProvider,
    Confidentiality,
    ContactPerson,
    ImmunizationKind,
    MedicalHistory,
    MedicalSummary,
    PartialDate,
    PatientIdentity,
    Posology,
    Problem,
    Severity,
    Treatment,
    Vaccination,
    VitalSign,
)

LOINC = codes.OID_LOINC
TPL_HL7_FRANCE = "2.16.840.1.113883.2.8.2.1"

# Document volets: templateIds besides the two common ones, type code.
IPS_FR = (
    ("2.16.840.1.113883.10.22.1.1", "1.2.250.1.213.1.1.1.51"),
    ("60591-5", "Synthèse médicale"),
)
LDL_SES = (
    ("1.2.250.1.213.1.1.1.29",),
    ("11490-0", "Lettre de liaison à la sortie d'un établissement de soins"),
)
VAC_NOTE = (
    ("1.3.6.1.4.1.19376.1.5.3.1.1.18.1.2", "1.2.250.1.213.1.1.1.46"),
    ("87273-9", "Note de vaccination"),
)
CR_BIO = (
    ("1.3.6.1.4.1.19376.1.3.3", "1.2.250.1.213.1.1.1.55"),
    ("11502-2", "CR d'examens biologiques"),
)

# Sections of a discharge letter (CI-SIS): templateIds, LOINC code and display, title.
SEC_DISCHARGE_TREATMENTS = (
    ("1.3.6.1.4.1.19376.1.5.3.1.3.22", "1.2.250.1.213.1.1.2.146"),
    ("10183-2", "Traitements à la sortie"),
    "Traitements à la sortie",
)
SEC_STOPPED_TREATMENTS = (
    ("1.3.6.1.4.1.19376.1.5.3.1.3.21", "1.2.250.1.213.1.1.2.145"),
    ("18610-6", "Traitements administrés"),
    "Traitements arrêtés durant le séjour",
)
_CONTAINERS = {
    codes.SEC_SUMMARY.own_template,
    codes.SEC_HISTORY.own_template,
    codes.SEC_RISK_FACTORS.own_template,
    codes.SEC_TREATMENT_PLAN.own_template,
}


# -- IPS-FR, LDL-SES, VAC-NOTE from the VSM writer ---------------------------------------------


def _one(node: etree._Element, path: str) -> etree._Element:
    found = first(node, path)
    if found is None:
        raise ValueError(f"the VSM writer gave no {path}")
    return found


def _volet(doc: etree._Element, volet: tuple[tuple[str, ...], tuple[str, str]], title: str) -> None:
    """Give the document its own volet: templateIds after the two common ones, code, title."""
    templates, (code, label) = volet
    for node in xp(doc, "h:templateId"):
        if node.get("root") not in (TPL_HL7_FRANCE, codes.TPL_CI_SIS):
            doc.remove(node)
    anchor = xp(doc, "h:templateId")[-1]
    for root in reversed(templates):
        anchor.addnext(etree.Element(H + "templateId", {"root": root}))
    code_el = _one(doc, "h:code")
    code_el.attrib.clear()
    code_el.attrib.update(
        {"code": code, "displayName": label, "codeSystem": LOINC, "codeSystemName": "LOINC"}
    )
    _one(doc, "h:title").text = title


def _flat_sections(doc: etree._Element, keep: set[str] | None = None) -> etree._Element:
    """The body's leaf sections at the top (IPS-FR has no container sections); ``keep`` filters."""
    body = _one(doc, "h:component/h:structuredBody")
    leaves: list[etree._Element] = []
    for component in xp(body, "h:component"):
        body.remove(component)
        leaves.extend(_leaves(component))
    for component in leaves:
        section = first(component, "h:section")
        own = xp(section, "h:templateId")[-1].get("root") if section is not None else None
        if keep is None or own in keep:
            body.append(component)
    return body


def _leaves(component: etree._Element) -> list[etree._Element]:
    section = first(component, "h:section")
    if section is None:
        return []
    own = {t.get("root") for t in xp(section, "h:templateId")}
    if not own & _CONTAINERS:
        return [component]
    out: list[etree._Element] = []
    for child in xp(section, "h:component"):
        out.extend(_leaves(child))
    return out


def patient_summary(summary: MedicalSummary) -> bytes:
    """An IPS-FR from a summary (no VSM « points de vigilance »: the IPS has its own section)."""
    doc = build_vsm_tree(replace(summary, vigilance_points=[]))
    _volet(doc, IPS_FR, summary.title)
    body = _flat_sections(doc)
    for component in xp(body, "h:component"):
        own = xp(component, "h:section/h:templateId")[-1].get("root")
        if own == codes.SEC_VIGILANCE.own_template:
            body.remove(component)
    return serialize(doc)


def vaccination_note(summary: MedicalSummary) -> bytes:
    """A VAC-NOTE: the vaccinations given at one visit."""
    doc = build_vsm_tree(
        MedicalSummary(
            patient=summary.patient,
            author=summary.author,
            effective_time=summary.effective_time,
            document_id=summary.document_id,
            set_id=summary.set_id,
            title=summary.title,
            vaccinations=summary.vaccinations,
        )
    )
    _volet(doc, VAC_NOTE, summary.title)
    participant = first(doc, "h:participant[@typeCode='INF']")
    if participant is not None:
        doc.remove(participant)
    _flat_sections(doc, keep={codes.SEC_VACCINATIONS.own_template})
    return serialize(doc)


def discharge_letter(summary: MedicalSummary, stopped: Sequence[Treatment]) -> bytes:
    """An LDL-SES: treatments at discharge (``summary.treatments``), those stopped, allergies."""
    doc = build_vsm_tree(summary)
    _volet(doc, LDL_SES, summary.title)
    participant = first(doc, "h:participant[@typeCode='INF']")
    if participant is not None:
        doc.remove(participant)
    keep = {
        codes.SEC_ACTIVE_PROBLEMS.own_template,
        codes.SEC_ALLERGIES.own_template,
        codes.SEC_TREATMENTS.own_template,
    }
    body = _flat_sections(doc, keep)
    for component in xp(body, "h:component"):
        section = _one(component, "h:section")
        if xp(section, "h:templateId")[-1].get("root") == codes.SEC_TREATMENTS.own_template:
            _as_section(section, SEC_DISCHARGE_TREATMENTS)
    if stopped:
        other = build_vsm_tree(
            MedicalSummary(
                patient=summary.patient,
                author=summary.author,
                effective_time=summary.effective_time,
                document_id=f"{summary.document_id}.1",
                set_id=summary.set_id,
                treatments=list(stopped),
            )
        )
        section = _one(
            other, f".//h:section[h:templateId/@root='{codes.SEC_TREATMENTS.own_template}']"
        )
        _rename_ids(section, "arret-")
        _as_section(section, SEC_STOPPED_TREATMENTS)
        component = etree.SubElement(body, H + "component")
        component.append(section)
    return serialize(doc)


def _as_section(
    section: etree._Element, spec: tuple[tuple[str, ...], tuple[str, str], str]
) -> None:
    templates, (code, label), title = spec
    for node in xp(section, "h:templateId"):
        section.remove(node)
    for index, root in enumerate(templates):
        section.insert(index, etree.Element(H + "templateId", {"root": root}))
    _one(section, "h:code").attrib.update({"code": code, "displayName": label})
    _one(section, "h:title").text = title


def _rename_ids(section: etree._Element, prefix: str) -> None:
    """Narrative ids made unique in the document they are moved to."""
    for node in section.iter():
        if not isinstance(node.tag, str):
            continue
        if node.get("ID"):
            node.set("ID", prefix + node.get("ID", ""))
        if etree.QName(node).localname == "reference" and (node.get("value") or "").startswith("#"):
            node.set("value", "#" + prefix + node.get("value", "")[1:])


# -- CR-BIO ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LabValue:
    """One result of a lab report: LOINC code and label, value in a UCUM unit, reference range."""

    loinc: str
    label: str
    value: Decimal
    unit: str
    low: Decimal | None = None
    high: Decimal | None = None

    @property
    def interpretation(self) -> tuple[str, str]:
        if self.low is not None and self.value < self.low:
            return ("L", "Anormalement bas")
        if self.high is not None and self.value > self.high:
            return ("H", "Anormalement haut")
        return ("N", "Normal")


@dataclass(frozen=True)
class LabChapter:
    """A chapter of the report (« Biochimie », « Hématologie »): LOINC code, title, results."""

    code: str
    title: str
    values: tuple[LabValue, ...] = field(default=())


def _decimal(value: Decimal) -> str:
    return format(value, "f")


def _french(value: Decimal) -> str:
    return _decimal(value).replace(".", ",")


UNIT_WORDS = {"umol/L": "µmol/L", "mL/min/{1.73_m2}": "mL/min/1,73 m²", "%": "%"}


def lab_report(
    patient: PatientIdentity,
    author: CareProvider,
    at: dt.datetime,
    document_id: str,
    chapters: Sequence[LabChapter],
    *,
    title: str = "Compte rendu d'examens de biologie médicale",
    sampled: dt.datetime | None = None,
) -> bytes:
    """A CR-BIO: one chapter section per specialty, each result an IHE PaLM / CI-SIS entry."""
    sampled = sampled or at - dt.timedelta(hours=6)
    templates, (code, label) = CR_BIO
    header = HeaderData(
        patient=patient,
        author=author,
        effective_time=at,
        document_id=document_id,
        set_id=f"{document_id}.0",
        version=1,
        type_code=CodedValue(code, LOINC, label, "LOINC"),
        title=title,
        confidentiality=Confidentiality.NORMAL,
        template_ids=(
            (TPL_HL7_FRANCE, None),
            (codes.TPL_CI_SIS, None),
            *((root, None) for root in templates),
        ),
        service_event_code=CodedValue(chapters[0].code, LOINC, chapters[0].title, "LOINC"),
    )
    doc = build_header(header)
    body = sub(sub(doc, "component"), "structuredBody")
    when = sampled.strftime("%Y%m%d%H%M%S%z")
    for c_index, chapter in enumerate(chapters, 1):
        section = sub(sub(body, "component"), "section")
        sub(section, "templateId", {"root": "1.3.6.1.4.1.19376.1.3.3.2.1"})
        sub(section, "templateId", {"root": "1.2.250.1.213.1.1.2.70"})
        sub(section, "id", {"root": derived_uuid(document_id, f"chapitre-{c_index}")})
        sub(
            section,
            "code",
            {
                "code": chapter.code,
                "displayName": chapter.title,
                "codeSystem": LOINC,
                "codeSystemName": "LOINC",
            },
        )
        title_el = sub(section, "title")
        title_el.text = chapter.title
        text = sub(section, "text")
        table = Table(
            text, ["Examen", "Résultat", "Unité", "Valeurs de référence", "Interprétation"]
        )
        for v_index, value in enumerate(chapter.values, 1):
            ident = f"res-{c_index}-{v_index}"
            row = table.row()
            cell(row, value.label, ident)
            cell(row, _french(value.value))
            cell(row, UNIT_WORDS.get(value.unit, value.unit))
            reference = ""
            if value.low is not None and value.high is not None:
                reference = f"{_french(value.low)} – {_french(value.high)}"
            elif value.high is not None:
                reference = f"< {_french(value.high)}"
            elif value.low is not None:
                reference = f"> {_french(value.low)}"
            cell(row, reference or None)
            cell(row, value.interpretation[1])
        entry = sub(section, "entry", {"typeCode": "DRIV"})
        sub(entry, "templateId", {"root": "1.3.6.1.4.1.19376.1.3.1"})
        sub(entry, "templateId", {"root": "1.2.250.1.213.1.1.3.21"})
        act = sub(entry, "act", {"classCode": "ACT", "moodCode": "EVN"})
        sub(
            act,
            "code",
            {
                "code": chapter.code,
                "displayName": chapter.title,
                "codeSystem": LOINC,
                "codeSystemName": "LOINC",
            },
        )
        sub(act, "statusCode", {"code": "completed"})
        for v_index, value in enumerate(chapter.values, 1):
            ident = f"res-{c_index}-{v_index}"
            rel = sub(act, "entryRelationship", {"typeCode": "COMP"})
            obs = sub(rel, "observation", {"classCode": "OBS", "moodCode": "EVN"})
            sub(obs, "templateId", {"root": "1.3.6.1.4.1.19376.1.3.1.6"})
            sub(obs, "templateId", {"root": "1.2.250.1.213.1.1.3.80"})
            code_el = sub(
                obs,
                "code",
                {
                    "code": value.loinc,
                    "displayName": value.label,
                    "codeSystem": LOINC,
                    "codeSystemName": "LOINC",
                },
            )
            sub(sub(code_el, "originalText"), "reference", {"value": f"#{ident}"})
            sub(obs, "statusCode", {"code": "completed"})
            sub(obs, "effectiveTime", {"value": when})
            sub(
                obs, "value", {"xsi:type": "PQ", "value": _decimal(value.value), "unit": value.unit}
            )
            flag, flag_label = value.interpretation
            sub(
                obs,
                "interpretationCode",
                {"code": flag, "displayName": flag_label, "codeSystem": "2.16.840.1.113883.5.83"},
            )
            if value.low is not None or value.high is not None:
                rng = sub(
                    sub(obs, "referenceRange", {"typeCode": "REFV"}),
                    "observationRange",
                    {"classCode": "OBS", "moodCode": "EVN.CRT"},
                )
                interval = sub(rng, "value", {"xsi:type": "IVL_PQ"})
                if value.low is not None:
                    sub(interval, "low", {"value": _decimal(value.low), "unit": value.unit})
                if value.high is not None:
                    sub(interval, "high", {"value": _decimal(value.high), "unit": value.unit})
                sub(
                    rng,
                    "interpretationCode",
                    {"code": "N", "displayName": "Normal", "codeSystem": "2.16.840.1.113883.5.83"},
                )
    return serialize(doc)


# -- Léa MOREAU's structured documents (the demo record of « L'essentiel ») ------------------------
#
# Léa, 19, has type 1 diabetes since 2019 and allergic asthma. Over two years: a CR-BIO every
# three to four months (HbA1c falling from 8.6 % to 6.9 % after a hospital stay that changed
# her insulin; creatinine and eGFR stable), a discharge letter from that stay (insulin detemir
# and montelukast stopped, glargine started; amoxicillin allergy ruled out by a provocation
# test), a vaccination note from her GP (influenza, pneumococcus), and an IPS-FR from her
# diabetologist last month — whose software still lists montelukast and the amoxicillin
# allergy as active: the two disagreements « L'essentiel » must show.

FORMAT_IHE = "1.3.6.1.4.1.19376.1.2.3"
FORMAT_CI_SIS = "1.2.250.1.213.1.1.4.2.282"
FORMATS = {
    "cr-bio": ("urn:ihe:lab:xd-lab:2008", FORMAT_IHE, "CR de biologie"),
    "ips-fr": ("urn:ihe:pcc:ips:2020", FORMAT_IHE, "Synthèse médicale (IPS-FR)"),
    "ldl-ses": ("urn:asip:ci-sis:ldl-ses:2017", FORMAT_CI_SIS, "Lettre de liaison à la sortie"),
    "vac-note": ("urn:asip:ci-sis:vac-note:2021", FORMAT_CI_SIS, "Note de vaccination"),
}

# (days ago, HbA1c %, creatinine µmol/L, eGFR mL/min/1.73 m², potassium mmol/L, LDL g/L or None)
LEA_LABS: tuple[tuple[int, str, str, str, str, str | None], ...] = (
    (720, "8.6", "64", "124", "4.2", "1.08"),
    (590, "8.4", "66", "122", "4.0", None),
    (480, "8.1", "63", "125", "4.3", None),
    (370, "7.9", "67", "121", "4.1", "1.02"),
    (260, "7.4", "65", "123", "4.4", None),
    (150, "7.1", "68", "120", "4.2", None),
    (40, "6.9", "66", "122", "4.1", "0.96"),
)
LEA_STAY_DAYS_AGO = 300
LEA_IPS_DAYS_AGO = 30
LEA_VACCINATION_DAYS_AGO = 60


def lea_lab_chapters(
    hba1c: str, creat: str, egfr: str, k: str, ldl: str | None
) -> list[LabChapter]:
    chemistry = [
        LabValue(
            "14682-9",
            "Créatinine [Moles/Volume] Sérum/Plasma",
            Decimal(creat),
            "umol/L",
            Decimal("45"),
            Decimal("90"),
        ),
        LabValue(
            "62238-1",
            "Débit de filtration glomérulaire/1,73 m² prédit (CKD-EPI) Sérum/Plasma",
            Decimal(egfr),
            "mL/min/{1.73_m2}",
            Decimal("90"),
        ),
        LabValue(
            "2823-3",
            "Potassium [Moles/Volume] Sérum/Plasma",
            Decimal(k),
            "mmol/L",
            Decimal("3.5"),
            Decimal("5.0"),
        ),
    ]
    if ldl is not None:
        chemistry.append(
            LabValue(
                "13457-7",
                "Cholestérol LDL calculé [Masse/Volume] Sérum/Plasma",
                Decimal(ldl),
                "g/L",
                None,
                Decimal("1.00"),
            )
        )
    return [
        LabChapter("18719-5", "Biochimie", tuple(chemistry)),
        LabChapter(
            "43789-7",
            "Hémoglobine glyquée",
            (
                LabValue(
                    "4548-4",
                    "Hémoglobine A1c/Hémoglobine totale Sang",
                    Decimal(hba1c),
                    "%",
                    Decimal("4.0"),
                    Decimal("6.0"),
                ),
            ),
        ),
    ]


@dataclass(frozen=True)
class StructuredDemo:
    """One structured demo document: what the registry says of it, and its CDA bytes."""

    key: str
    type_code: str  # J07 (LOINC)
    title: str
    author: str  # key of the author in the providers given to :func:`lea_structured`
    days_ago: int
    kind: str  # cr-bio, ips-fr, ldl-ses, vac-note (FORMATS)
    content: bytes = field(repr=False, default=b"")


_SUBCUTANEOUS, _INHALED, _ORAL, _INTRAMUSCULAR = "20066000", "20020000", "20053000", "20035000"


def _posology(
    dose: str, unit: str | None, times: int, period: str, route: str, dose_max: str | None = None
) -> Posology:
    return Posology(
        dose=Decimal(dose),
        dose_max=Decimal(dose_max) if dose_max else None,
        dose_unit=unit,
        times=times,
        period=Decimal(period),
        period_unit="d",
        route=route,
    )


def lea_treatments(started: PartialDate, glargine_units: str = "22") -> dict[str, Treatment]:
    """Léa's drugs (real CIS codes of the BDPM, ATC as translation)."""
    return {
        "glargine": Treatment(
            "LANTUS SOLOSTAR 100 unités/ml, solution injectable en stylo prérempli",
            cis="65979151",
            atc="A10AE04",
            start=started,
            posology=_posology(glargine_units, "[iU]", 1, "1", _SUBCUTANEOUS),
            dosage="le soir au coucher",
            reason="Diabète de type 1",
            reason_cim10="E10.9",
        ),
        "aspart": Treatment(
            "NOVORAPID FLEXPEN 100 unités/ml, solution injectable en stylo prérempli",
            cis="61232223",
            atc="A10AB05",
            start=PartialDate(2019, 4),
            posology=_posology("4", "[iU]", 3, "1", _SUBCUTANEOUS, dose_max="8"),
            dosage="avant chaque repas, selon la glycémie et le repas",
            reason="Diabète de type 1",
            reason_cim10="E10.9",
        ),
        "symbicort": Treatment(
            "SYMBICORT TURBUHALER 200 microgrammes/6 microgrammes par dose, poudre pour inhalation",
            cis="61237448",
            atc="R03AK07",
            start=PartialDate(2024, 3),
            posology=_posology("1", "{dose}", 2, "1", _INHALED),
            dosage="matin et soir",
            reason="Asthme allergique",
            reason_cim10="J45.0",
        ),
        "ventoline": Treatment(
            "VENTOLINE 100 microgrammes/dose, suspension pour inhalation en flacon pressurisé",
            cis="60928110",
            atc="R03AC02",
            start=PartialDate(2019, 9),
            posology=Posology(dose=Decimal("2"), dose_unit="{puff}", route=_INHALED),
            dosage="si gêne respiratoire, jusqu'à 4 fois par jour",
            long_term=False,
        ),
        "montelukast": Treatment(
            "SINGULAIR 10 mg, comprimé pelliculé",
            cis="69863646",
            atc="R03DC03",
            start=PartialDate(2022, 10),
            posology=_posology("1", "{tablet}", 1, "1", _ORAL),
            dosage="le soir",
            reason="Asthme allergique",
            reason_cim10="J45.0",
        ),
        "detemir": Treatment(
            "LEVEMIR FLEXPEN 100 Unités/mL, solution injectable en stylo prérempli",
            cis="64529525",
            atc="A10AE05",
            start=PartialDate(2019, 4),
            posology=_posology("20", "[iU]", 1, "1", _SUBCUTANEOUS),
            dosage="le soir",
            reason="Diabète de type 1",
            reason_cim10="E10.9",
        ),
    }


def _problems() -> list[Problem]:
    return [
        Problem(
            "Diabète de type 1",
            cim10="E10.9",
            cim10_label="Diabète sucré de type 1, sans complication",
            onset=PartialDate(2019, 3),
        ),
        Problem(
            "Asthme allergique persistant léger",
            cim10="J45.0",
            cim10_label="Asthme à prédominance allergique",
            onset=PartialDate(2019),
        ),
    ]


AMOXICILLIN = "Amoxicilline (pénicillines)"


@dataclass(frozen=True)
class StructuredSpec:
    """One of Léa's structured documents before it is written: what the registry says of it,
    and how to write it (``build(patient, author, at, uid)``, ``at`` the document's time)."""

    key: str
    type_code: str  # J07 (LOINC)
    title: str
    author: str  # lab, ward, diabetologist or gp
    days_ago: int
    kind: str  # cr-bio, ips-fr, ldl-ses, vac-note (FORMATS)
    build: Callable[[PatientIdentity, CareProvider, dt.datetime, str], bytes]


def _days(at: dt.datetime, since: int, days: int) -> PartialDate:
    """The day ``days`` before the story's today, for a document written ``since`` days ago."""
    return PartialDate.of((at + dt.timedelta(days=since - days)).date())


def _lab(index: int) -> Callable[[PatientIdentity, CareProvider, dt.datetime, str], bytes]:
    _days_ago, hba1c, creat, egfr, k, ldl = LEA_LABS[index]

    def build(patient: PatientIdentity, author: CareProvider, at: dt.datetime, uid: str) -> bytes:
        sampled = dt.datetime(at.year, at.month, at.day, 8, 0, tzinfo=at.tzinfo)
        chapters = lea_lab_chapters(hba1c, creat, egfr, k, ldl)
        return lab_report(patient, author, at, uid, chapters, sampled=sampled)

    return build


def _discharge_letter(
    patient: PatientIdentity, author: CareProvider, at: dt.datetime, uid: str
) -> bytes:
    stay_start = _days(at, LEA_STAY_DAYS_AGO, LEA_STAY_DAYS_AGO + 4)
    drugs = lea_treatments(PartialDate.of(at.date()))
    detemir = replace(drugs["detemir"], end=stay_start)
    montelukast_stopped = replace(drugs["montelukast"], end=stay_start)
    letter = MedicalSummary(
        patient=patient,
        author=author,
        effective_time=at,
        document_id=uid,
        set_id=f"{uid}.0",
        title="Lettre de liaison à la sortie — endocrinologie",
        active_problems=_problems(),
        allergies=[
            Allergy(
                AMOXICILLIN,
                agent_atc="J01CA04",
                reaction="Urticaire en 2019 ; test de provocation orale négatif pendant le séjour",
                status=AllergyStatus.RESOLVED,
                onset=PartialDate(2019),
            )
        ],
        treatments=[drugs["glargine"], drugs["aspart"], drugs["symbicort"], drugs["ventoline"]],
    )
    return discharge_letter(letter, [detemir, montelukast_stopped])


def _vaccination_note(
    patient: PatientIdentity, author: CareProvider, at: dt.datetime, uid: str
) -> bytes:
    today = PartialDate.of(at.date())
    note = MedicalSummary(
        patient=patient,
        author=author,
        effective_time=at,
        document_id=uid,
        set_id=f"{uid}.0",
        title="Note de vaccination",
        vaccinations=[
            Vaccination(
                "INFLUVAC TETRA, suspension injectable en seringue préremplie",
                cis="60716805",
                atc="J07BB02",
                date=today,
                lot="T48210",
                route=_INTRAMUSCULAR,
            ),
            Vaccination(
                "PREVENAR 20, suspension injectable en seringue préremplie",
                cis="62189757",
                atc="J07AL02",
                date=today,
                kind=ImmunizationKind.PRIMARY,
                rank=1,
                lot="LL9023",
                route=_INTRAMUSCULAR,
            ),
        ],
    )
    return vaccination_note(note)


def _patient_summary(
    patient: PatientIdentity, author: CareProvider, at: dt.datetime, uid: str
) -> bytes:
    since = LEA_IPS_DAYS_AGO

    def day(days: int) -> PartialDate:
        return _days(at, since, days)

    drugs = lea_treatments(day(LEA_STAY_DAYS_AGO))
    summary = MedicalSummary(
        patient=patient,
        author=author,
        effective_time=at,
        document_id=uid,
        set_id=f"{uid}.0",
        title="Synthèse médicale",
        active_problems=[
            *_problems(),
            Problem(
                "Rhinite allergique saisonnière (graminées)", cim10="J30.1", onset=PartialDate(2018)
            ),
        ],
        medical_history=[
            MedicalHistory(
                "Appendicite aiguë opérée", cim10="K35.8", onset=day(1000), resolution=day(998)
            )
        ],
        allergies=[
            Allergy(
                AMOXICILLIN,
                agent_atc="J01CA04",
                reaction="Urticaire généralisée",
                onset=PartialDate(2019),
            ),
            Allergy(
                "Pollens de graminées",
                type_code="419199007",
                reaction="Rhinite et crises d'asthme au printemps",
                severity=Severity.MODERATE,
            ),
        ],
        # the diabetologist's software still lists montelukast (stopped during the stay)
        treatments=[drugs["glargine"], drugs["aspart"], drugs["symbicort"], drugs["montelukast"]],
        vaccinations=[
            Vaccination(
                "GARDASIL 9, suspension injectable en seringue préremplie",
                cis="65017887",
                atc="J07BM03",
                date=day(2600),
                kind=ImmunizationKind.PRIMARY,
                rank=1,
            ),
            Vaccination(
                "GARDASIL 9, suspension injectable en seringue préremplie",
                cis="65017887",
                atc="J07BM03",
                date=day(2420),
                kind=ImmunizationKind.PRIMARY,
                rank=2,
            ),
            Vaccination(
                "BOOSTRIXTETRA, suspension injectable en seringue préremplie",
                cis="62404793",
                atc="J07CA02",
                date=day(2300),
                kind=ImmunizationKind.BOOSTER,
            ),
            Vaccination(
                "INFLUVAC TETRA, suspension injectable en seringue préremplie",
                cis="60716805",
                atc="J07BB02",
                date=day(LEA_VACCINATION_DAYS_AGO + 365),
            ),
        ],
        vital_signs=[
            VitalSign("29463-7", Decimal("58"), "kg", day(since)),
            VitalSign("8302-2", Decimal("165"), "cm", day(since)),
            VitalSign("8480-6", Decimal("112"), "mm[Hg]", day(since)),
            VitalSign("8462-4", Decimal("68"), "mm[Hg]", day(since)),
        ],
        trusted_person=ContactPerson("MOREAU", "Claire", relationship="MTH", phone="0612345678"),
    )
    return patient_summary(summary)


def lea_specs() -> list[StructuredSpec]:
    """Léa's structured documents, oldest laboratory report first."""
    out = [
        StructuredSpec(
            f"cr-bio-{index}",
            "11502-2",
            "Compte rendu de biologie médicale",
            "lab",
            days,
            "cr-bio",
            _lab(index - 1),
        )
        for index, (days, *_values) in enumerate(LEA_LABS, 1)
    ]
    out.append(
        StructuredSpec(
            "ldl-ses",
            "11490-0",
            "Lettre de liaison à la sortie — endocrinologie",
            "ward",
            LEA_STAY_DAYS_AGO,
            "ldl-ses",
            _discharge_letter,
        )
    )
    out.append(
        StructuredSpec(
            "vac-note",
            "87273-9",
            "Note de vaccination",
            "gp",
            LEA_VACCINATION_DAYS_AGO,
            "vac-note",
            _vaccination_note,
        )
    )
    out.append(
        StructuredSpec(
            "ips-fr",
            "60591-5",
            "Synthèse médicale (diabétologie)",
            "diabetologist",
            LEA_IPS_DAYS_AGO,
            "ips-fr",
            _patient_summary,
        )
    )
    return out


_HOURS = {"cr-bio": 17, "ldl-ses": 16, "vac-note": 11, "ips-fr": 15}


def lea_structured(
    patient: PatientIdentity,
    providers: dict[str, CareProvider],
    now: dt.datetime,
    uid: Callable[[str], str],
) -> list[StructuredDemo]:
    """Léa's structured documents, dated relative to ``now``; ``uid(key)`` gives each document id.

    ``providers`` holds ``lab`` (the laboratory's biologist), ``ward`` (the hospital
    physician who signs the discharge letter), ``diabetologist`` and ``gp`` (her médecin
    traitant).
    """
    out = []
    for spec in lea_specs():
        day = (now - dt.timedelta(days=spec.days_ago)).date()
        at = dt.datetime(day.year, day.month, day.day, _HOURS[spec.kind], 0, tzinfo=now.tzinfo)
        content = spec.build(patient, providers[spec.author], at, uid(spec.key))
        out.append(
            StructuredDemo(
                spec.key, spec.type_code, spec.title, spec.author, spec.days_ago, spec.kind, content
            )
        )
    return out
