"""The Assurance Maladie's care history ("Données de remboursement", type ``REMB``) as CDA.

Shaped after the CI-SIS example ``CNAM-HR_2021.01.xml`` (Historique des
remboursements): the author is the Assurance Maladie's system
(``assignedAuthor/code`` ``ALIM_AM`` in 1.2.250.1.213.1.1.4.6, an
``assignedAuthoringDevice``, the organisation "Assurance Maladie"), the
custodian is the Assurance Maladie, the service event covers the period of
the history, the place is ``SA24`` "Organisme de sécurité sociale" and the
service event's performer is an ``AMO`` organisation.

The body is structured and narrative only (no coded entries): the same
sections and columns as the example, with the codes in the tables
(CIS and ATC for the medicines, CCAM or NABM for the acts). The document
carries the CNAM-HR templateId (``1.2.250.1.213.1.1.1.36``, 2021.01) because
its header is that volet's, but not the volet's coded entries: the kit holds
no CNAM-HR schematron, and the document passes its header, IHE and body
checks (profile ``generic``).

**No amount, ever**: the data types below have no field for a price, a
reimbursement or a fee, and :func:`build_care_history` refuses any text that
looks like an amount of money (:func:`looks_like_amount`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from lxml import etree

from dmp_desktop.cda import codes, valuesets
from dmp_desktop.cda.header import CodedValue, HeaderData, build_header
from dmp_desktop.cda.xmlutil import H, first, serialize, sub, text_el, xp
from dmp_desktop.dates import fr_date, hl7_date
from dmp_desktop.domain.origin import (
    INSURER_CLASS_LABEL,
    OID_NON_PS_ROLE,
    ROLE_ALIM_AM,
    ROLE_ALIM_AM_LABEL,
    TYPE_CARE_HISTORY,
)
from dmp_desktop.domain.practitioner import Practitioner
from dmp_desktop.domain.summary import (
    CareProvider,
    CareStructure,
    Confidentiality,
    PatientIdentity,
)

INSURER_NAME = "Assurance Maladie"
INSURER_STRUCTURE_ID = "318003502400041"  # as in the CI-SIS example
# The Assurance Maladie's system as author (id under the professionals' root, as the example).
INSURER_AUTHOR_ID = "318003502400041/ALIMAM"
FACILITY_INSURER = "SA24"
PRACTICE_INSURER = "AMO"
PRACTICE_INSURER_LABEL = "Organisme d'assurance maladie obligatoire"
# The CNAM-HR volet's document templateId (the header follows it; see the module docstring).
TPL_CNAM_HR = "1.2.250.1.213.1.1.1.36"
TEMPLATE_IDS = (
    (codes.TPL_HL7_FRANCE, None),
    (codes.TPL_CI_SIS, None),
    (TPL_CNAM_HR, "2021.01"),
)
OID_NABM = "1.2.250.1.213.2.5"

USAGE_NOTE = (
    "Les données affichées sont le reflet des informations issues des procédures de "
    "remboursement ou de prise en charge détenues par l'Assurance Maladie pour la période "
    "de soins référencée.",
    "Elles sont fournies à titre purement informatif et leur exhaustivité ne peut être garantie.",
    "Toute interprétation ou toute décision se basant sur ces données relève de la seule "
    "responsabilité de la personne qui les consulte.",
)
NO_DATA = "Aucune donnée connue dans la période."

# Currency signs and words that would reveal an amount: never in a care history.
_AMOUNT = re.compile(
    r"(€|\bEUR\b|\beuros?\b|\bmontant|\btarif|\bprix\b|\bremboursé|\bhonoraire|"
    r"\bbase de remboursement|\bdépassement|\bticket modérateur|\d+[.,]\d{2}\s*(€|eur))",
    re.IGNORECASE,
)


class AmountRefusedError(ValueError):
    """A care history item holds what looks like an amount of money."""


def looks_like_amount(text: str) -> bool:
    return bool(_AMOUNT.search(text))


class ActKind:
    CARE = "soins"  # soins médicaux et dentaires
    IMAGING = "imagerie"
    BIOLOGY = "biologie"


@dataclass(frozen=True)
class DispensedMedicine:
    """A medicine dispensed by a pharmacy (BDPM: CIS code; ATC class)."""

    day: date
    label: str
    cis: str = ""
    atc: str = ""
    prescriber: str = ""
    dispenser: str = ""
    quantity: int = 1


@dataclass(frozen=True)
class MedicalAct:
    """A medical act (CCAM), an imaging act or a biology analysis (NABM)."""

    day: date
    label: str
    kind: str = ActKind.CARE
    code: str = ""  # CCAM, or NABM for biology
    performer: str = ""
    place: str = ""


@dataclass(frozen=True)
class HospitalStay:
    start: date
    end: date
    nature: str
    place: str


@dataclass(frozen=True)
class CareHistory:
    """What the Assurance Maladie knows of the care a patient received over a period."""

    patient: PatientIdentity
    period_start: date
    period_end: date
    effective_time: datetime
    document_id: str
    set_id: str
    version: int = 1
    medicines: tuple[DispensedMedicine, ...] = ()
    acts: tuple[MedicalAct, ...] = ()
    stays: tuple[HospitalStay, ...] = ()

    @property
    def first_care_day(self) -> date:
        """The day of the oldest care listed (the period's start when nothing is listed).

        The XDS ``serviceStartTime`` of the document: the date a doctor's search by act date
        ("the last two years") is about.
        """
        days = [m.day for m in self.medicines] + [a.day for a in self.acts]
        days += [s.start for s in self.stays]
        return max(min(days), self.period_start) if days else self.period_start

    def texts(self) -> list[str]:
        """Every free text of the history (checked for amounts)."""
        out: list[str] = []
        for m in self.medicines:
            out += [m.label, m.prescriber, m.dispenser]
        for a in self.acts:
            out += [a.label, a.performer, a.place]
        for s in self.stays:
            out += [s.nature, s.place]
        return out


def insurer_author() -> CareProvider:
    return CareProvider(
        Practitioner(
            national_id=INSURER_AUTHOR_ID,
            family_name=INSURER_NAME,
            given_name=".",
            profession="",
        ),
        CareStructure(
            id=INSURER_STRUCTURE_ID,
            name=INSURER_NAME,
            facility_type=FACILITY_INSURER,
            practice_setting=PRACTICE_INSURER,
        ),
    )


def build_care_history(history: CareHistory) -> bytes:
    """The CDA of ``history``; :class:`AmountRefusedError` if a text looks like an amount."""
    for text in history.texts():
        if looks_like_amount(text):
            raise AmountRefusedError("a care history never carries amounts")
    if history.period_end < history.period_start:
        raise ValueError("the period ends before it starts")
    system, label = valuesets.DOCUMENT_TYPES[TYPE_CARE_HISTORY]
    data = HeaderData(
        patient=history.patient,
        author=insurer_author(),
        effective_time=history.effective_time,
        document_id=history.document_id,
        set_id=history.set_id,
        version=history.version,
        type_code=CodedValue(TYPE_CARE_HISTORY, system, label),
        title=label,
        confidentiality=Confidentiality.NORMAL,
        template_ids=TEMPLATE_IDS,
    )
    root = build_header(data)
    _insurer_header(root, history)
    body = sub(sub(root, "component"), "structuredBody")
    _usage_section(body)
    _medicines_section(body, history.medicines)
    _stays_section(body, history.stays)
    for kind, title in (
        (ActKind.CARE, "Soins médicaux et dentaires"),
        (ActKind.IMAGING, "Radiologie"),
        (ActKind.BIOLOGY, "Biologie"),
    ):
        _acts_section(body, title, [a for a in history.acts if a.kind == kind])
    return serialize(root)


def _insurer_header(root: etree._Element, history: CareHistory) -> None:
    """The author is a system of the Assurance Maladie; the service event spans the period."""
    assigned = first(root, "h:author/h:assignedAuthor")
    if assigned is not None:
        ident = first(assigned, "h:id")
        code = etree.Element(H + "code")
        code.set("code", ROLE_ALIM_AM)
        code.set("displayName", ROLE_ALIM_AM_LABEL)
        code.set("codeSystem", OID_NON_PS_ROLE)
        if ident is not None:
            ident.addnext(code)
        person = first(assigned, "h:assignedPerson")
        if person is not None:
            device = etree.Element(H + "assignedAuthoringDevice")
            text_el(device, "manufacturerModelName", ".")
            text_el(device, "softwareName", INSURER_NAME)
            person.addprevious(device)
            assigned.remove(person)
    period = first(root, "h:documentationOf/h:serviceEvent/h:effectiveTime")
    if period is not None:
        for child in list(period):
            period.remove(child)
        sub(period, "low", {"value": hl7_date(history.period_start)})
        sub(period, "high", {"value": hl7_date(history.period_end)})
    for node in xp(
        root,
        "h:documentationOf/h:serviceEvent/h:performer/h:assignedEntity"
        "/h:representedOrganization/h:standardIndustryClassCode",
    ):
        node.set("displayName", PRACTICE_INSURER_LABEL)


def _section(body: etree._Element, code: str, display: str, title: str) -> etree._Element:
    section = sub(sub(body, "component"), "section")
    sub(
        section,
        "code",
        {
            "code": code,
            "displayName": display,
            "codeSystem": codes.OID_LOINC,
            "codeSystemName": "LOINC",
        },
    )
    text_el(section, "title", title)
    return section


def _usage_section(body: etree._Element) -> None:
    section = sub(sub(body, "component"), "section")
    for root in ("2.16.840.1.113883.10.12.201", "1.3.6.1.4.1.19376.1.4.1.2.16"):
        sub(section, "templateId", {"root": root})
    sub(section, "templateId", {"root": "1.2.250.1.213.1.1.2.73"})
    sub(
        section,
        "code",
        {
            "code": "55112-7",
            "displayName": "Commentaire sur le document",
            "codeSystem": codes.OID_LOINC,
            "codeSystemName": "LOINC",
        },
    )
    text_el(section, "title", "Usage et Responsabilités")
    text = sub(section, "text")
    for line in USAGE_NOTE:
        text_el(text, "paragraph", line)


def _table(section: etree._Element, headers: Sequence[str], rows: list[list[str]]) -> None:
    text = sub(section, "text")
    if not rows:
        text.text = NO_DATA
        return
    table = sub(text, "table", {"border": "1"})
    head = sub(sub(table, "thead"), "tr")
    for header in headers:
        text_el(head, "th", header)
    tbody = sub(table, "tbody")
    for row in rows:
        tr = sub(tbody, "tr")
        for cell in row:
            text_el(tr, "td", cell or "-")


def _day(value: date) -> str:
    return fr_date(value)


def _medicines_section(body: etree._Element, medicines: Sequence[DispensedMedicine]) -> None:
    section = _section(body, "10160-0", "Médication administrée", "Médicaments")
    rows = [
        [
            _day(m.day),
            m.label,
            f"CIS {m.cis}" if m.cis else "",
            f"ATC {m.atc}" if m.atc else "",
            m.prescriber,
            m.dispenser,
            str(m.quantity),
        ]
        for m in sorted(medicines, key=lambda m: m.day, reverse=True)
    ]
    _table(
        section,
        (
            "Date de délivrance",
            "Médicament",
            "Code CIS",
            "Classe ATC",
            "Prescrit par",
            "Délivré par",
            "Quantité délivrée",
        ),
        rows,
    )


def _stays_section(body: etree._Element, stays: Sequence[HospitalStay]) -> None:
    section = _section(body, "46240-8", "Historique des rencontres", "Hospitalisations")
    rows = [
        [f"du {_day(s.start)} au {_day(s.end)}", s.nature, s.place]
        for s in sorted(stays, key=lambda s: s.start, reverse=True)
    ]
    _table(section, ("Période du séjour", "Nature du séjour", "Lieu du séjour"), rows)


def _acts_section(body: etree._Element, title: str, acts: Sequence[MedicalAct]) -> None:
    section = _section(body, "29554-3", "Actes", title)
    rows = [
        [
            _day(a.day),
            (f"NABM {a.code}" if a.kind == ActKind.BIOLOGY else f"CCAM {a.code}") if a.code else "",
            a.label,
            a.performer,
            a.place,
        ]
        for a in sorted(acts, key=lambda a: a.day, reverse=True)
    ]
    _table(
        section,
        ("Date de l'acte", "Code de l'acte", "Libellé de l'acte", "Réalisé par", "Établissement"),
        rows,
    )


__all__ = [
    "INSURER_AUTHOR_ID",
    "INSURER_CLASS_LABEL",
    "INSURER_NAME",
    "INSURER_STRUCTURE_ID",
    "ActKind",
    "AmountRefusedError",
    "CareHistory",
    "DispensedMedicine",
    "HospitalStay",
    "MedicalAct",
    "build_care_history",
    "looks_like_amount",
]
