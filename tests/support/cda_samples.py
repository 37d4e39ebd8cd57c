"""Made-up summaries for the tests and benchmarks (test identities only; not shipped).

The patient is a training-host test INS (root 1.2.250.1.213.1.4.10) and the
professionals are the training cards' test RPPS numbers; every name is
fictitious.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

from dmp_desktop.domain.patient import Ins, InsKind
from dmp_desktop.domain.practitioner import Practitioner
from dmp_desktop.domain.summary import (
    AdvanceDirective,
    Allergy,
    AllergyStatus,
    CarePlanItem,
    CarePlanKind,
    CareProvider,
    CareStructure,
    ContactPerson,
    FamilyHistory,
    FunctionalStatus,
    Gender,
    ImmunizationKind,
    LifestyleItem,
    LifestyleKind,
    LocalId,
    MedicalHistory,
    MedicalSummary,
    PartialDate,
    PatientIdentity,
    Posology,
    PostalAddress,
    Problem,
    ProblemStatus,
    Result,
    ResultKind,
    Severity,
    SurgicalHistory,
    Treatment,
    Vaccination,
    VitalSign,
)

PARIS_WINTER = timezone(timedelta(hours=1))


def sample_patient() -> PatientIdentity:
    return PatientIdentity(
        ins=Ins("182116938311206", InsKind.TEST_NIR),
        birth_family_name="LEFEBVRE",
        birth_given_names=["JULIEN", "ANDRÉ", "MARIE"],
        birth_date=date(1982, 11, 2),
        gender=Gender.MALE,
        birthplace_code="69383",
        local_id=LocalId("1.2.250.1.999.1.1", "PAT-000417"),
    )


def sample_structure() -> CareStructure:
    return CareStructure(
        id="499700433153007",
        name="Cabinet médical des Tilleuls",
        facility_type="SA08",
        practice_setting="AMBULATOIRE",
        address=PostalAddress(("12 rue des Tilleuls",), "69003", "LYON"),
        phone="0478000000",
    )


def sample_author() -> CareProvider:
    return CareProvider(
        Practitioner(
            national_id="899700433160",
            family_name="MARTIN",
            given_name="Paul",
            profession="Médecin",
            profession_code="10",
            specialty_code="SM26",
            specialty_label="Qualifié en Médecine Générale (SM)",
        ),
        sample_structure(),
    )


def minimal_summary() -> MedicalSummary:
    """Only what is mandatory: every optional section is empty."""
    return MedicalSummary(
        patient=sample_patient(),
        author=sample_author(),
        effective_time=datetime(2026, 3, 12, 11, 17, tzinfo=PARIS_WINTER),
        document_id="1.2.250.1.999.2.1.1",
        set_id="1.2.250.1.999.2.1",
    )


def full_summary() -> MedicalSummary:
    """One or more entries of every kind, accents, long multi-paragraph texts."""
    summary = minimal_summary()
    summary.document_id = "1.2.250.1.999.2.2.1"
    summary.set_id = "1.2.250.1.999.2.2"
    summary.treating_physician = CareProvider(
        Practitioner(
            national_id="899700433153",
            family_name="DURAND",
            given_name="Marie",
            profession="Médecin",
            profession_code="10",
            specialty_code="SM26",
            specialty_label="Qualifié en Médecine Générale (SM)",
        ),
        sample_structure(),
    )
    summary.active_problems = [
        Problem(
            "Diabète de type 2",
            cim10="E11.9",
            cim10_label="Diabète sucré de type 2, sans complication",
            onset=PartialDate(2015, 6),
            comment="HbA1c à 7,2 % en janvier.\nObjectif < 7 % ; revoir l'hygiène de vie.",
        ),
        Problem("Hypertension artérielle", cim10="I10", onset=PartialDate(2012)),
        Problem("Lombalgies récurrentes « mécaniques » (non codées)"),
    ]
    summary.medical_history = [
        MedicalHistory(
            "Pyélonéphrite aiguë",
            cim10="N10",
            onset=PartialDate(2018, 4, 22),
            resolution=PartialDate(2018, 4, 30),
        ),
        MedicalHistory("Rougeole dans l'enfance"),
    ]
    summary.surgical_history = [
        SurgicalHistory(
            "Dilatation de deux vaisseaux coronaires avec endoprothèse",
            ccam="DDAF004",
            ccam_label=(
                "Dilatation intraluminale de 2 vaisseaux coronaires avec pose "
                "d'endoprothèse, par voie artérielle transcutanée"
            ),
            date=PartialDate(2019, 8, 11),
            comment="Suites simples.",
        ),
        SurgicalHistory("Appendicectomie", date=PartialDate(1994)),
    ]
    summary.allergies = [
        Allergy(
            agent="Pénicillines",
            agent_atc="J01C",
            reaction="Urticaire généralisée avec œdème des lèvres",
            severity=Severity.SEVERE,
            onset=PartialDate(2003),
            comment="Ne jamais prescrire de bêta-lactamines sans avis allergologique.",
        ),
        Allergy(
            agent="DOLIPRANE 1000 mg, comprimé",
            agent_cis="60234100",
            type_code="59037007",
            status=AllergyStatus.INACTIVE,
        ),
        Allergy(agent="Arachide", type_code="414285001"),
    ]
    summary.lifestyle = [
        LifestyleItem(
            LifestyleKind.TOBACCO,
            "Tabagisme sevré en 2016",
            quantity=Decimal("25"),
            unit="{pack}/a",
        ),
        LifestyleItem(LifestyleKind.ALCOHOL, "Consommation occasionnelle, week-end"),
        LifestyleItem(
            LifestyleKind.DRUGS,
            "Cannabis occasionnel",
            value_code="398705004",
            value_label="Cannabis",
            date=PartialDate(2024, 1),
        ),
        LifestyleItem(LifestyleKind.PHYSICAL_ACTIVITY, "Marche 30 min trois fois par semaine"),
    ]
    summary.occupational_risks = ["Exposition au bruit (ouvrier en chaudronnerie)"]
    summary.family_history = [
        FamilyHistory("FTH", "Infarctus du myocarde à 52 ans", cim10="I21.9"),
        FamilyHistory("MTH", "Diabète de type 2", cim10="E11"),
        FamilyHistory("SIS", "Cancer du sein"),
    ]
    summary.vigilance_points = [
        "Allergie grave aux pénicillines.",
        "Insuffisance rénale modérée : adapter les posologies.\n\n"
        "Clairance de la créatinine à 48 mL/min (Cockcroft) ; contrôle tous les 6 mois.",
    ]
    summary.treatments = [
        Treatment(
            "METFORMINE BIOGARAN 1000 mg, comprimé pelliculé",
            cis="67346461",
            cip="3400939718330",
            atc="A10BA02",
            dosage="au milieu du repas",
            start=PartialDate(2015, 6, 1),
            posology=Posology(
                dose=Decimal(1),
                dose_unit="{tablet}",
                times=2,
                period=Decimal(1),
                period_unit="d",
                route="20053000",
            ),
            reason="Diabète de type 2",
            reason_cim10="E11.9",
            reason_cim10_label="Diabète sucré de type 2, sans complication",
        ),
        Treatment(
            "RAMIPRIL BIOGARAN 5 mg, comprimé sécable",
            cis="61599041",
            dosage="1 comprimé le matin",
            start=PartialDate(2012),
            posology=Posology(
                dose=Decimal(1), dose_unit="{tablet}", times=1, period=Decimal(1), period_unit="d"
            ),
            reason="Hypertension artérielle",
            reason_cim10="I10",
        ),
        Treatment(
            "DOLIPRANE 1000 mg, comprimé",
            cis="60234100",
            long_term=False,
            start=PartialDate(2026, 3, 1),
            posology=Posology(
                dose=Decimal(1),
                dose_max=Decimal(2),
                dose_unit="{tablet}",
                times=1,
                period=Decimal(6),
                period_unit="h",
                route="20053000",
                duration=Decimal(5),
                duration_unit="d",
            ),
            reason="Lombalgies",
        ),
        Treatment(
            "Crème émolliente",
            dosage="Application biquotidienne",
            long_term=False,
            start=PartialDate(2026, 1, 5),
            end=PartialDate(2026, 4, 5),
        ),
    ]
    summary.vaccinations = [
        Vaccination(
            "BOOSTRIXTETRA, suspension injectable en seringue préremplie",
            cis="62404793",
            atc="J07CA02",
            date=PartialDate(2021, 9, 14),
            kind=ImmunizationKind.BOOSTER,
            rank=3,
            lot="AC37B472AB",
            route="20035000",
        ),
        Vaccination("Grippe saisonnière", date=PartialDate(2025, 10), comment="Bien tolérée."),
    ]
    summary.vital_signs = [
        VitalSign("29463-7", Decimal("92.5"), "kg", PartialDate(2026, 3, 12)),
        VitalSign("8302-2", Decimal(178), "cm", PartialDate(2026, 3, 12)),
    ]
    summary.functional_status = [
        FunctionalStatus("Autonomie (grille AGGIR)", "GIR 6, autonome", PartialDate(2026, 1)),
    ]
    summary.results = [
        Result(
            "HbA1c",
            loinc="4548-4",
            loinc_label="Hémoglobine A1c/hémoglobine totale [Fraction massique] Sang ; Numérique",
            quantity=Decimal("7.2"),
            unit="%",
            date=PartialDate(2026, 1, 15),
        ),
        Result(
            "Échographie abdominale",
            kind=ResultKind.IMAGING,
            value_text="Stéatose hépatique modérée",
            date=PartialDate(2025, 11),
        ),
    ]
    summary.care_plan = [
        CarePlanItem("Fond d'œil annuel", date=PartialDate(2026, 6)),
        CarePlanItem(
            "Consultation de cardiologie (Dr Roux)",
            kind=CarePlanKind.ENCOUNTER,
            date=PartialDate(2026, 9),
        ),
    ]
    summary.advance_directives = [
        AdvanceDirective(
            text="Ne souhaite pas d'acharnement thérapeutique.",
            date=PartialDate(2024, 2, 3),
            document_id="1.2.250.1.999.4.1^DA-2024",
            document_title="Directives anticipées du 03/02/2024",
        ),
        AdvanceDirective(code="75779-9", accepted=False, date=PartialDate(2024, 2, 3)),
    ]
    summary.trusted_person = ContactPerson(
        "LEFEBVRE", "Claire", relationship="WIFE", phone="0612345678"
    )
    summary.emergency_contact = ContactPerson("LEFEBVRE", "Claire", relationship="WIFE")
    return summary


def large_summary(problems: int = 50, treatments: int = 30) -> MedicalSummary:
    """Many entries: ``problems`` active problems and ``treatments`` treatments."""
    summary = minimal_summary()
    summary.document_id = "1.2.250.1.999.2.3.1"
    summary.set_id = "1.2.250.1.999.2.3"
    summary.active_problems = [
        Problem(
            f"Diabète de type 2 (suivi n° {i}) — « éléments » à surveiller"
            if i % 2
            else f"Problème de santé n° {i} — « éléments » à surveiller",
            cim10="E11.9" if i % 2 else None,
            status=ProblemStatus.ACTIVE,
            onset=PartialDate(2000 + i % 25, 1 + i % 12),
            comment=" ".join(["Paragraphe de suivi détaillé."] * 20)
            + "\n\n"
            + " ".join(["Deuxième paragraphe."] * 10)
            if i % 5 == 0
            else None,
        )
        for i in range(1, problems + 1)
    ]
    summary.treatments = [
        Treatment(
            f"METFORMINE BIOGARAN 1000 mg (ligne n° {i})" if i % 3 == 0 else f"Médicament n° {i}",
            cis="67346461" if i % 3 == 0 else None,
            atc="A10BA02" if i % 3 == 1 else None,
            dosage=f"{i} mg par jour",
            start=PartialDate(2020, 1 + i % 12, 1 + i % 28),
        )
        for i in range(1, treatments + 1)
    ]
    return summary


def minimal_pdf(line: str = "Compte rendu de consultation") -> bytes:
    """A small but valid one-page PDF 1.4 (ASCII text), with a correct cross-reference table."""
    content = f"BT /F1 14 Tf 72 770 Td ({line}) Tj ET".encode("ascii")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def variant_summaries() -> dict[str, MedicalSummary]:
    """Summaries covering the optional parts one by one (names are file-name safe)."""
    from dmp_desktop.cda import codes, valuesets
    from dmp_desktop.domain.summary import Confidentiality

    variants: dict[str, MedicalSummary] = {
        "minimal": minimal_summary(),
        "full": full_summary(),
        "large": large_summary(),
    }

    def variant(name: str) -> MedicalSummary:
        summary = minimal_summary()
        summary.document_id = f"1.2.250.1.999.2.9.{len(variants) + 1}"
        variants[name] = summary
        return summary

    full = full_summary()
    variant("allergies-only").allergies = full.allergies
    known = variant("no-known-allergies")
    known.no_known_allergies = True
    known.active_problems = full.active_problems[:1]
    variant("surgery-only").surgical_history = full.surgical_history
    variant("history-only").medical_history = full.medical_history
    variant("occupational-only").occupational_risks = ["Travail de nuit", "Port de charges"]
    variant("family-only").family_history = [
        FamilyHistory(code, f"Antécédent chez : {label}")
        for code, label in list(valuesets.FAMILY_RELATIONSHIPS.items())[:12]
    ]
    variant("vigilance-only").vigilance_points = ["Risque de chute", "Vit seul"]
    minor = variant("minor-with-legal-representative")
    minor.legal_representative = ContactPerson(
        "LEFEBVRE",
        "Claire",
        phone="0612345678",
        email="claire.lefebvre@example.org",
        address=PostalAddress(("3 rue des Lilas",), "69003", "LYON"),
    )
    minor.vaccinations = full.vaccinations
    minor.vital_signs = full.vital_signs
    plan = variant("care-plan-and-directives")
    plan.care_plan = [
        *full.care_plan,
        CarePlanItem("Coloscopie de dépistage", kind=CarePlanKind.PROCEDURE),
    ]
    plan.advance_directives = full.advance_directives
    plan.results = full.results
    plan.functional_status = full.functional_status
    variant("treatments-only").treatments = [
        Treatment("DOLIPRANE 1000 mg, comprimé", cis="60234100"),
        Treatment("Metformine (classe seule)", atc="A10BA02", dosage="selon glycémies"),
        Treatment("Préparation magistrale", long_term=False),
    ]
    every = variant("every-code")
    every.lifestyle = [
        LifestyleItem(kind, f"{label} : observation")
        for kind, (_code, label) in codes.LIFESTYLE_CODES.items()
    ]
    every.allergies = [
        Allergy(
            agent=f"Agent {i}",
            type_code=code,
            severity=list(Severity)[i % len(Severity)],
            status=list(AllergyStatus)[i % len(AllergyStatus)],
        )
        for i, code in enumerate(valuesets.ALLERGY_TYPES)
    ]
    every.active_problems = [
        Problem("Problème résolu sans date de fin", status=ProblemStatus.RESOLVED),
        Problem("Problème ancien", onset=PartialDate(1990)),
    ]
    hostile = variant("special-characters")
    hostile.title = "Synthèse <médicale> & « suivi »"
    hostile.active_problems = [
        Problem(
            '<script>alert("x")</script> & "guillemets" \'apostrophes\' ]]> \x0b fin',
            comment="Ligne 1\r\nLigne 2\rLigne 3\n\n\nParagraphe 😀 " + "long " * 2000,
        )
    ]
    hostile.vigilance_points = ["<b>pas du HTML</b> &amp; pas une entité"]
    other = variant("other-patient-and-structure")
    other.patient = PatientIdentity(
        ins=Ins("279035121518989", InsKind.TEST_NIR),
        birth_family_name="PAT-TROIS",
        birth_given_names=["DOMINIQUE", "MARIE-LOUISE"],
        birth_date=date(1979, 3, 28),
        gender=Gender.FEMALE,
        birthplace_code="99134",
        used_family_name="NESSI",
        used_given_name="Dominique",
    )
    other.author.structure = CareStructure(
        id="1750000000",
        name="Centre hospitalier « Les Érables »",
        facility_type="SA01",
        practice_setting="ETABLISSEMENT",
    )
    other.treating_physician = CareProvider(
        Practitioner(
            national_id="899700433153",
            family_name="DURAND",
            given_name="Marie",
            profession="Médecin",
            profession_code="10",
        ),
        CareStructure(id="499700433153007", name="Cabinet médical des Tilleuls"),
    )
    other.confidentiality = Confidentiality.VERY_RESTRICTED
    other.version = 2
    other.document_id = "1.2.250.1.999.2.9.99^v2"
    return variants
