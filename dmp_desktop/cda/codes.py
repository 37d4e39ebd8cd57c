"""OIDs, templateIds and the few fixed codes the CDA documents use (facts from the CI-SIS)."""

from __future__ import annotations

from dmp_desktop.domain.summary import AllergyStatus, LifestyleKind, Severity

NS_HL7 = "urn:hl7-org:v3"
NS_XSI = "http://www.w3.org/2001/XMLSchema-instance"

# Code systems
OID_LOINC = "2.16.840.1.113883.6.1"
OID_SNOMED = "2.16.840.1.113883.6.96"
OID_CIM10 = "2.16.840.1.113883.6.3"
OID_CCAM = "1.2.250.1.215.300.1"
OID_CIS = "1.2.250.1.213.2.3.1"
OID_CIP = "1.2.250.1.213.2.3.2"
OID_ATC = "2.16.840.1.113883.6.73"
OID_UCUM = "2.16.840.1.113883.6.8"
OID_ROLE_CODE = "2.16.840.1.113883.5.111"
OID_ACT_CODE = "2.16.840.1.113883.5.4"
OID_GENDER = "2.16.840.1.113883.5.1"
OID_CONFIDENTIALITY = "2.16.840.1.113883.5.25"
OID_FUNCTION_CODE = "2.16.840.1.113883.5.88"
OID_ALLERGY_CLINICAL = "2.16.840.1.113883.4.642.4.1373"
OID_DOC_TYPES_ASIP = "1.2.250.1.213.1.1.4.12"
OID_AUTHOR_SPECIALTY = "1.2.250.1.213.1.1.4.5"
OID_FACILITY_TYPE = "1.2.250.1.71.4.2.4"
OID_PRACTICE_SETTING = "1.2.250.1.213.1.1.4.9"
OID_PS_ID = "1.2.250.1.71.4.2.1"
OID_STRUCTURE_ID = "1.2.250.1.71.4.2.2"

CODE_SYSTEM_NAMES: dict[str, str] = {
    OID_LOINC: "LOINC",
    OID_SNOMED: "SNOMED CT",
    OID_CIM10: "CIM10",
    OID_CCAM: "CCAM",
    OID_CIS: "CIS",
    OID_CIP: "CIP",
    OID_ATC: "ATC",
    OID_ROLE_CODE: "RoleCode",
    OID_ACT_CODE: "HL7:ActCode",
}

# Document-level templateIds
TPL_HL7_FRANCE = "2.16.840.1.113883.2.8.2.1"
TPL_CI_SIS = "1.2.250.1.213.1.1.1.1"
TPL_VSM = "1.2.250.1.213.1.1.1.13"
TPL_XDS_SD = "1.3.6.1.4.1.19376.1.2.20"

# DMP formatCodes (XDS metadata, for the uploader)
FORMAT_CODE_VSM = "urn:asip:ci-sis:vsm:2012"
FORMAT_CODE_VSM_SCHEME = "1.2.250.1.213.1.1.4.2.282"
FORMAT_CODE_PDF = "urn:ihe:iti:xds-sd:pdf:2008"
FORMAT_CODE_TEXT = "urn:ihe:iti:xds-sd:text:2008"

CONFIDENTIALITY_LABELS = {"N": "Normal", "R": "Restreint", "V": "Très restreint"}
GENDER_LABELS = {"F": "Féminin", "M": "Masculin", "UN": "Inconnu"}

# Sections of the VSM: (templateIds, LOINC code, LOINC display name, default title)
PCC = "1.3.6.1.4.1.19376.1.5.3"


class SectionSpec:
    """One VSM section: its templateIds, its LOINC code and its French title."""

    def __init__(
        self, key: str, template_ids: tuple[str, ...], code: str, display: str, title: str
    ) -> None:
        self.key = key
        self.template_ids = template_ids
        self.code = code
        self.display = display
        self.title = title

    @property
    def own_template(self) -> str:
        """The CI-SIS templateId (the last one), used to find the section."""
        return self.template_ids[-1]


SEC_SUMMARY = SectionSpec(
    "summary",
    ("1.2.250.1.213.1.1.2.29",),
    "46612-8",
    "Conclusions de synthèse",
    "Pathologie en cours, antécédents, allergies et facteurs de risque",
)
SEC_HISTORY = SectionSpec(
    "history",
    ("1.2.250.1.213.1.1.2.30",),
    "34117-2",
    "Historique et physique",
    "Pathologies en cours, antécédents et allergies",
)
SEC_ACTIVE_PROBLEMS = SectionSpec(
    "active_problems",
    ("2.16.840.1.113883.10.20.1.11", f"{PCC}.1.3.6", "1.2.250.1.213.1.1.2.132"),
    "11450-4",
    "Liste des problèmes actifs",
    "Pathologies en cours",
)
SEC_MEDICAL_HISTORY = SectionSpec(
    "medical_history",
    (f"{PCC}.1.3.8", "1.2.250.1.213.1.1.2.134"),
    "11348-0",
    "Antécédents médicaux",
    "Antécédents médicaux",
)
SEC_SURGICAL_HISTORY = SectionSpec(
    "surgical_history",
    (
        "2.16.840.1.113883.10.20.1.12",
        f"{PCC}.1.3.11",
        f"{PCC}.1.3.12",
        "1.2.250.1.213.1.1.2.136",
    ),
    "47519-4",
    "Historique des actes",
    "Antécédents chirurgicaux",
)
SEC_ALLERGIES = SectionSpec(
    "allergies",
    ("2.16.840.1.113883.10.20.1.2", f"{PCC}.1.3.13", "1.2.250.1.213.1.1.2.137"),
    "48765-2",
    "Allergies et hypersensibilités",
    "Allergies et hypersensibilités",
)
SEC_RISK_FACTORS = SectionSpec(
    "risk_factors",
    ("1.2.250.1.213.1.1.2.31",),
    "57207-3",
    "Facteurs de risque présents ou passés affectant l'état de santé et/ou une circonstance",
    "Facteurs de risque",
)
SEC_LIFESTYLE = SectionSpec(
    "lifestyle",
    (
        "2.16.840.1.113883.10.20.1.15",
        f"{PCC}.1.3.16",
        f"{PCC}.1.3.16.1",
        "1.2.250.1.213.1.1.2.141",
    ),
    "29762-2",
    "Habitus, Mode de vie",
    "Habitus, mode de vie",
)
SEC_OCCUPATIONAL = SectionSpec(
    "occupational_risks",
    (f"{PCC}.1.1.5.3.1", "1.2.250.1.213.1.1.2.74"),
    "10161-8",
    "Facteurs de risques professionnels",
    "Facteurs de risque professionnels",
)
SEC_FAMILY_HISTORY = SectionSpec(
    "family_history",
    (
        "2.16.840.1.113883.10.20.1.4",
        f"{PCC}.1.3.14",
        f"{PCC}.1.3.15",
        "1.2.250.1.213.1.1.2.139",
    ),
    "10157-6",
    "Historique des pathologies familiales",
    "Antécédents familiaux",
)
SEC_VIGILANCE = SectionSpec(
    "vigilance_points",
    (f"{PCC}.1.3.27", "1.2.250.1.213.1.1.2.150"),
    "30954-2",
    "Résultats d'examens",
    "Points de vigilance",
)
SEC_TREATMENT_PLAN = SectionSpec(
    "treatment_plan",
    ("1.2.250.1.213.1.1.2.32",),
    "18776-5",
    "Plan de traitement",
    "Traitement au long cours",
)
SEC_TREATMENTS = SectionSpec(
    "treatments",
    ("2.16.840.1.113883.10.20.1.8", f"{PCC}.1.3.19", "1.2.250.1.213.1.1.2.143"),
    "10160-0",
    "Traitements",
    "Traitements",
)

# Entry templateIds
TPL_PROBLEM_CONCERN = (
    "2.16.840.1.113883.10.20.1.27",
    f"{PCC}.1.4.5.1",
    f"{PCC}.1.4.5.2",
    "1.2.250.1.213.1.1.3.39",
)
TPL_PROBLEM = ("2.16.840.1.113883.10.20.1.28", f"{PCC}.1.4.5", "1.2.250.1.213.1.1.3.37")
TPL_ALLERGY_CONCERN = (
    "2.16.840.1.113883.10.20.1.27",
    f"{PCC}.1.4.5.1",
    f"{PCC}.1.4.5.3",
    "1.2.250.1.213.1.1.3.40",
)
TPL_ALLERGY = (
    "2.16.840.1.113883.10.20.1.18",
    "2.16.840.1.113883.10.20.1.28",
    f"{PCC}.1.4.5",
    f"{PCC}.1.4.6",
    "1.2.250.1.213.1.1.3.41",
)
TPL_PROBLEM_STATUS = (
    "2.16.840.1.113883.10.20.1.50",
    "2.16.840.1.113883.10.20.1.57",
    f"{PCC}.1.4.1.1",
    "1.2.250.1.213.1.1.3.30",
)
TPL_SEVERITY = ("2.16.840.1.113883.10.20.1.55", f"{PCC}.1.4.1", "1.2.250.1.213.1.1.3.29")
TPL_COMMENT = ("2.16.840.1.113883.10.20.1.40", f"{PCC}.1.4.2", "1.2.250.1.213.1.1.3.32")
TPL_PROCEDURE = (f"{PCC}.1.4.19", "2.16.840.1.113883.10.20.1.29", "1.2.250.1.213.1.1.3.62")
TPL_SOCIAL_HISTORY = (
    "2.16.840.1.113883.10.20.1.33",
    f"{PCC}.1.4.13",
    f"{PCC}.1.4.13.4",
    "1.2.250.1.213.1.1.3.52",
)
TPL_FAMILY_ORGANIZER = ("2.16.840.1.113883.10.20.1.23", f"{PCC}.1.4.15", "1.2.250.1.213.1.1.3.59")
TPL_FAMILY_SUBJECT = (f"{PCC}.1.4.15.2", "1.2.250.1.213.1.1.3.60")
TPL_FAMILY_OBSERVATION = (
    "2.16.840.1.113883.10.20.1.22",
    f"{PCC}.1.4.13",
    f"{PCC}.1.4.13.3",
    "1.2.250.1.213.1.1.3.51",
)
TPL_MEDICATION = (
    "2.16.840.1.113883.10.20.1.24",
    f"{PCC}.1.4.7",
    "1.2.250.1.213.1.1.3.42",
    f"{PCC}.1.4.7.1",
)
TPL_PRODUCT = ("2.16.840.1.113883.10.20.1.53", f"{PCC}.1.4.7.2", "1.2.250.1.213.1.1.3.43")

# SNOMED CT "interprétation diagnostique", the problem observation code
PROBLEM_CODE = ("282291009", "interprétation diagnostique")

SEVERITY_CODES: dict[Severity, tuple[str, str]] = {
    Severity.MILD: ("255604002", "léger"),
    Severity.MILD_TO_MODERATE: ("371923003", "léger à modéré"),
    Severity.MODERATE: ("6736007", "modéré"),
    Severity.MODERATE_TO_SEVERE: ("371924009", "modéré à sévère"),
    Severity.SEVERE: ("24484000", "grave"),
    Severity.FATAL: ("442452003", "gravité mortelle"),
}

ALLERGY_STATUS_CODES: dict[AllergyStatus, tuple[str, str]] = {
    AllergyStatus.ACTIVE: ("active", "Actif"),
    AllergyStatus.INACTIVE: ("inactive", "Inactif"),
    AllergyStatus.RESOLVED: ("resolved", "Résolu"),
}

# JDV_SocialHistoryCodes_CISIS (LOINC)
LIFESTYLE_CODES: dict[LifestyleKind, tuple[str, str]] = {
    LifestyleKind.TOBACCO_STATUS: ("72166-2", "Statut tabagique"),
    LifestyleKind.TOBACCO: ("74011-8", "Consommation tabagique"),
    LifestyleKind.ALCOHOL: ("74013-4", "Consommation d'alcool"),
    LifestyleKind.DRUGS: ("11343-1", "Consommation de drogue non médicales"),
    LifestyleKind.PHYSICAL_ACTIVITY: ("73985-4", "Exercice physique"),
    LifestyleKind.DIET: ("81663-7", "Régime"),
    LifestyleKind.RISK_EXPOSURE: ("92944-8", "Exposition à risque"),
    LifestyleKind.OCCUPATIONAL_EXPOSURE: ("8683-5", "Exposition professionnelle"),
    LifestyleKind.EMPLOYMENT: ("67875-5", "Statut d'emploi"),
    LifestyleKind.BEHAVIOUR: ("29556-8", "Trouble du comportement"),
    LifestyleKind.OTHER: ("11345-6", "Autre élément social"),
}

# --- sections and entries beyond the VSM 1.4 example (CI-SIS templates, as in IPS-FR / DLU) ------

OID_EDQM = "0.4.0.127.0.16.1.1.2.1"
OID_TA_ASIP = "1.2.250.1.213.1.1.4.322"
OID_RELATION_TUTELLE = "1.2.250.1.213.1.1.4.327"
CODE_SYSTEM_NAMES.update({OID_EDQM: "EDQM", OID_TA_ASIP: "TA_ASIP", OID_UCUM: "UCUM"})

SEC_VACCINATIONS = SectionSpec(
    "vaccinations",
    ("2.16.840.1.113883.10.20.1.6", f"{PCC}.1.3.23", "1.2.250.1.213.1.1.2.147"),
    "11369-6",
    "Historique des vaccinations",
    "Vaccinations",
)
SEC_VITAL_SIGNS = SectionSpec(
    "vital_signs",
    (
        "2.16.840.1.113883.10.20.1.16",
        f"{PCC}.1.3.25",
        f"{PCC}.1.1.5.3.2",
        "1.2.250.1.213.1.1.2.75",
    ),
    "8716-3",
    "Signes vitaux",
    "Signes vitaux",
)
SEC_FUNCTIONAL_STATUS = SectionSpec(
    "functional_status",
    ("2.16.840.1.113883.10.22.3.8", "1.2.250.1.213.1.1.2.246"),
    "47420-5",
    "Évaluation du statut fonctionnel",
    "Statut fonctionnel (dépendance, autonomie)",
)
SEC_RESULTS = SectionSpec(
    "results",
    (f"{PCC}.1.3.27", f"{PCC}.1.3.28", "1.2.250.1.213.1.1.2.151"),
    "30954-2",
    "Résultats d'examens",
    "Résultats d'examens",
)
SEC_CARE_PLAN = SectionSpec(
    "care_plan",
    ("2.16.840.1.113883.10.20.1.10", f"{PCC}.1.3.36", "1.2.250.1.213.1.1.2.158"),
    "18776-5",
    "Plan de soins",
    "Plan de soins",
)
SEC_ADVANCE_DIRECTIVES = SectionSpec(
    "advance_directives",
    (
        "2.16.840.1.113883.10.20.1.1",
        f"{PCC}.1.3.34",
        f"{PCC}.1.3.35",
        "1.2.250.1.213.1.1.2.157",
    ),
    "42348-3",
    "Directives anticipées",
    "Directives anticipées",
)

# Other CI-SIS templates a section of another software's VSM or IPS-FR may carry for ours.
SECTION_ALIASES: dict[str, tuple[str, ...]] = {
    "vigilance_points": ("1.2.250.1.213.1.1.2.245",),  # IPS-FR « Points de vigilance »
    "results": ("1.2.250.1.213.1.1.2.244",),  # IPS-FR « Résultats »
    "treatments": (),
}

TPL_IMMUNIZATION = ("2.16.840.1.113883.10.20.1.24", f"{PCC}.1.4.12", "1.2.250.1.213.1.1.3.45")
TPL_IMMUNIZATION_RANK = ("2.16.840.1.113883.10.20.1.46", "1.2.250.1.213.1.1.3.82")
TPL_VITAL_ORGANIZER = (
    "2.16.840.1.113883.10.20.1.32",
    "2.16.840.1.113883.10.20.1.35",
    f"{PCC}.1.4.13.1",
    "1.2.250.1.213.1.1.3.49",
)
TPL_VITAL_OBSERVATION = (
    "2.16.840.1.113883.10.20.1.31",
    f"{PCC}.1.4.13",
    f"{PCC}.1.4.13.2",
    "1.2.250.1.213.1.1.3.50",
)
TPL_FUNCTIONAL_ORGANIZER = (
    "2.16.840.1.113883.10.20.1.32",
    f"{PCC}.1.1.12.3.7",
    "1.2.250.1.213.1.1.3.95",
)
TPL_FUNCTIONAL_OBSERVATION = (
    "2.16.840.1.113883.10.20.1.31",
    f"{PCC}.1.1.12.3.6",
    f"{PCC}.1.4.13",
    "1.2.250.1.213.1.1.3.25",
)
TPL_SIMPLE_OBSERVATION = (f"{PCC}.1.4.13", "1.2.250.1.213.1.1.3.48")
TPL_PLANNED_OBSERVATION = (
    "2.16.840.1.113883.10.20.1.25",
    f"{PCC}.1.1.20.3.1",
    "1.2.250.1.213.1.1.3.27",
)
TPL_PLANNED_PROCEDURE = (f"{PCC}.1.4.19", "2.16.840.1.113883.10.20.1.25", "1.2.250.1.213.1.1.3.62")
TPL_PLANNED_ENCOUNTER = ("2.16.840.1.113883.10.20.1.25", f"{PCC}.1.4.14", "1.2.250.1.213.1.1.3.58")
TPL_ADVANCE_DIRECTIVE = (
    "2.16.840.1.113883.10.20.1.17",
    f"{PCC}.1.4.13",
    f"{PCC}.1.4.13.7",
    "1.2.250.1.213.1.1.3.54",
)
TPL_INTERNAL_REFERENCE = (f"{PCC}.1.4.4.1", "1.2.250.1.213.1.1.3.36")

# TA_ASIP codes for what has no code of its own (as the IPS-FR example uses them)
CODE_OTHER_FUNCTIONAL_STATUS = ("GEN-092.04.23", "Autre statut fonctionnel")
CODE_OTHER_FOLLOW_UP = ("GEN-092.04.20", "Autre demande d'examen ou de suivi")
CODE_OTHER_ACT = ("GEN-092.04.13", "Autre acte")
VITAL_SIGNS_ORGANIZER_CODE = ("85353-1", "Signes vitaux")
IMMUNIZATION_RANK_CODE = ("30973-2", "Rang de la vaccination")
