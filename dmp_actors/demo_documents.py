"""Demo documents of the training host: what a doctor finds in the demo patients' DMPs.

Real CDA documents (level 1 with a PDF or a text built by
:mod:`dmp_desktop.cda.level1`, a VSM built by :mod:`dmp_desktop.cda.vsm`)
with the XDS metadata the DMP would hold. Moreau Léa has a full record
(about fifteen documents over three years, various authors and specialties)
that shows every case of the consultation screen:

- a patient-authored document (class 90);
- a document masked from professionals (``MASQUE_PS``), and one authored by
  Dr Paul MARTIN that is masked too (seen by its author only, besides the
  médecin traitant Dr DURAND);
- a document invisible to the patient;
- an archived document, a deprecated one and its replacement (RPLC);
- a document older than two years, one submitted three days ago.

The minor (Chevalier Emma) has a document invisible to her legal
representatives. Dates are relative to the seeding day; identifiers (unique
ids, entry UUIDs) are stable, so that reseeding gives the same record.
Professionals are fictitious, with test RPPS numbers in the 899700 range.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from dmp_actors.structured_documents import FORMATS as STRUCTURED_FORMATS
from dmp_actors.structured_documents import lea_specs, lea_treatments
from dmp_desktop.cda import codes, valuesets
from dmp_desktop.cda.level1 import Level1Document, wrap_pdf, wrap_text
from dmp_desktop.cda.vsm import build_vsm
from dmp_desktop.domain.document import Confidentiality, DocumentStatus
from dmp_desktop.domain.patient import Ins, InsKind
from dmp_desktop.domain.practitioner import Practitioner
from dmp_desktop.domain.summary import (
    Allergy,
    CareProvider,
    CareStructure,
    Gender,
    MedicalSummary,
    PartialDate,
    PatientIdentity,
    PostalAddress,
    Problem,
    Severity,
    Treatment,
)
from dmp_sandbox.store import DMP_REPOSITORY_ID, Patient, Store, SubmissionSetRecord

OID_CLASS_CODES = "1.2.250.1.213.1.1.4.1"
OID_CONFIDENTIALITY_HL7 = "2.16.840.1.113883.5.25"
OID_CONFIDENTIALITY_DMP = "1.2.250.1.213.1.1.4.13"
OID_FORMAT_CODES = "1.3.6.1.4.1.19376.1.2.3"
OID_CIM10 = "2.16.840.1.113883.6.3"
UNIQUE_ID_ROOT = "1.2.250.1.999.3"  # test arc for the demo documents' unique ids
SOURCE_ID = "1.2.250.1.999.3.0"  # the "software" that submitted the demo documents
_UUID_NAMESPACE = uuid.UUID("6c7f5d1e-5b0a-4c52-9b1e-3f1d2a8c9e70")

# Class codes (TRE_A03, 1.2.250.1.213.1.1.4.1) used here, with their labels.
CLASS_LABELS = {
    "10": "Compte rendu",
    "11": "Synthèse",
    "42": "Prescription",
    "52": "Certificat, déclaration",
    "90": "Expression personnelle du patient",
}
_CLASS_BY_TYPE = {
    "SYNTH": "11",
    "60591-5": "11",
    "PRESC-KINE": "42",
    "57833-6": "42",
    "89601-9": "52",
    "EXPPAT_2": "90",
}
FORMATS = {
    "pdf": (codes.FORMAT_CODE_PDF, OID_FORMAT_CODES, "Document à corps non structuré en Pdf/A-1"),
    "text": (
        codes.FORMAT_CODE_TEXT,
        OID_FORMAT_CODES,
        "Document à corps non structuré en texte brut",
    ),
    "vsm": (codes.FORMAT_CODE_VSM, codes.FORMAT_CODE_VSM_SCHEME, "Volet de Synthèse Médicale"),
    **STRUCTURED_FORMATS,
}
CONFIDENTIALITY_LABELS = {
    Confidentiality.MASKED_PS: "Masqué aux professionnels de santé",
    Confidentiality.INVISIBLE_PATIENT: "Non visible par le patient",
    Confidentiality.INVISIBLE_LEGAL_REPS: "Non visible par les représentants légaux du patient",
}


# --- the people -------------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoAuthor:
    national_id: str
    family_name: str
    given_name: str
    specialty: str  # R01 code, e.g. "SM04"
    structure_id: str
    structure_name: str
    facility_type: str  # J02, e.g. "SA01"
    practice_setting: str  # J04, e.g. "ETABLISSEMENT"
    city: str = "LYON"

    def provider(self) -> CareProvider:
        label = valuesets.AUTHOR_SPECIALTIES[f"G15_10/{self.specialty}"].split(" - ", 1)[-1]
        return CareProvider(
            Practitioner(
                national_id=self.national_id,
                family_name=self.family_name,
                given_name=self.given_name,
                profession="Médecin",
                profession_code="10",
                specialty_code=self.specialty,
                specialty_label=label,
                structure_id=self.structure_id,
                structure_name=self.structure_name,
            ),
            CareStructure(
                id=self.structure_id,
                name=self.structure_name,
                facility_type=self.facility_type,
                practice_setting=self.practice_setting,
                address=PostalAddress(("1 place de la Santé",), "69003", self.city),
            ),
        )

    def metadata(self) -> dict[str, str]:
        code = f"G15_10/{self.specialty}"
        return {
            "national_id": self.national_id,
            "family_name": self.family_name.upper(),
            "given_name": self.given_name,
            "specialty_code": code,
            "specialty_display": valuesets.AUTHOR_SPECIALTIES[code],
            "specialty_scheme": codes.OID_AUTHOR_SPECIALTY,
            "institution": self.structure_name,
            "institution_id": self.structure_id,
        }


CABINET = ("499700433153007", "Cabinet médical des Tilleuls", "SA08", "AMBULATOIRE")
CHU = ("499700433190001", "Centre hospitalier universitaire de Lyon Sud", "SA01", "ETABLISSEMENT")
CLINIQUE = ("499700433184001", "Clinique du Parc", "SA04", "ETABLISSEMENT")

DURAND = DemoAuthor("899700433153", "DURAND", "Marie", "SM26", *CABINET)
MARTIN = DemoAuthor("899700433160", "MARTIN", "Paul", "SM26", *CABINET)
ROUX = DemoAuthor("899700433184", "ROUX", "Antoine", "SM04", *CLINIQUE)
PETIT = DemoAuthor("899700433191", "PETIT", "Claire", "SM27", *CHU)
GARNIER = DemoAuthor(
    "899700433207",
    "GARNIER",
    "Hélène",
    "SM03",
    "499700433207001",
    "Laboratoire de biologie médicale Biolyon",
    "SA29",
    "AMBULATOIRE",
)
LAMBERT = DemoAuthor(
    "899700433214",
    "LAMBERT",
    "Isabelle",
    "SM42",
    "499700433214001",
    "Centre de santé mentale de la Croix-Rousse",
    "SA05",
    "AMBULATOIRE",
)
FONTAINE = DemoAuthor("899700433221", "FONTAINE", "Olivier", "SM01", *CHU)
MERCIER = DemoAuthor(
    "899700433238",
    "MERCIER",
    "Julie",
    "SM44",
    "499700433238001",
    "Cabinet de radiologie Saxe-Gambetta",
    "SA08",
    "AMBULATOIRE",
)
BERTRAND = DemoAuthor("899700433245", "BERTRAND", "Marc", "SM14", *CHU)
DUBOIS = DemoAuthor("899700433252", "DUBOIS", "Sophie", "SM59", *CHU)
ROUSSEAU = DemoAuthor(
    "899700433269",
    "ROUSSEAU",
    "Nicolas",
    "SM38",
    "499700433269001",
    "Cabinet d'ophtalmologie Bellecour",
    "SA08",
    "AMBULATOIRE",
)
MOREL = DemoAuthor(
    "899700433276",
    "MOREL",
    "Camille",
    "SM57",
    "499700433276001",
    "Cabinet d'allergologie du Rhône",
    "SA08",
    "AMBULATOIRE",
)
LEROY = DemoAuthor("899700433283", "LEROY", "Thomas", "SM40", *CHU)
HADDAD = DemoAuthor("899700433290", "HADDAD", "Karim", "SM62", *CHU)  # endocrinology ward
VIDAL = DemoAuthor("899700433306", "VIDAL", "Élise", "SM62", *CHU)  # diabetology consultation


# --- the documents ----------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoDocument:
    key: str  # stable within the patient (unique id and entry UUID derive from it)
    type_code: str  # J07
    title: str
    author: DemoAuthor | None  # None: written by the patient
    days_ago: int
    lines: tuple[str, ...] = ()
    kind: str = "pdf"  # "pdf", "text" or "vsm"
    flags: tuple[Confidentiality, ...] = ()
    status: DocumentStatus = DocumentStatus.APPROVED
    replaces: str | None = None  # key of the document this one replaces (RPLC)
    submitted_days_ago: int | None = None  # default: the day after the act
    comments: str = ""
    events: tuple[tuple[str, str], ...] = ()  # CIM-10 (code, label)
    # a structured document written by its producer (dmp_actors.structured_documents):
    # build(patient, author, at, unique id); ``kind`` is then its key of FORMATS
    build: Callable[[PatientIdentity, CareProvider, dt.datetime, str], bytes] | None = None

    @property
    def class_code(self) -> str:
        return _CLASS_BY_TYPE.get(self.type_code, "10")


def _lea_documents() -> tuple[DemoDocument, ...]:
    return (
        DemoDocument(
            "cardiologie",
            "11488-4",
            "Compte rendu de consultation de cardiologie",
            ROUX,
            240,
            (
                "Motif : palpitations à l'effort depuis trois mois.",
                "Examen clinique normal, pression artérielle 118/72 mmHg.",
                "ECG : rythme sinusal régulier à 68/min, pas de trouble de conduction.",
                "Échocardiographie transthoracique : cœur normal, FEVG 65 %.",
                "Conclusion : extrasystoles bénignes, pas de traitement.",
                "Contrôle uniquement si récidive ou malaise.",
            ),
        ),
        DemoDocument(
            "biologie",
            "11502-2",
            "Résultats de biologie",
            GARNIER,
            60,
            (
                "Numération formule sanguine : normale.",
                "Hémoglobine 13,4 g/dL ; plaquettes 245 G/L ; leucocytes 6,8 G/L.",
                "Ferritine 42 µg/L (normale 15 à 150).",
                "TSH 1,8 mUI/L (normale 0,4 à 4).",
                "IgE totales 310 kUI/L (augmentées).",
            ),
        ),
        DemoDocument(
            "sortie",
            "11490-0",
            "Lettre de sortie d'hospitalisation",
            PETIT,
            420,
            (
                "Hospitalisation du 3 au 6 en médecine interne pour crise d'asthme aiguë grave.",
                "Prise en charge : aérosols de bronchodilatateurs, corticothérapie orale.",
                "Évolution favorable, DEP de sortie à 85 % de la théorique.",
                "Traitement de sortie : corticoïde inhalé matin et soir, salbutamol si besoin.",
                "Suivi : consultation chez le médecin traitant sous huit jours.",
            ),
            comments="Crise d'asthme aiguë grave",
            events=(("J45.0", "Asthme à prédominance allergique"),),
        ),
        DemoDocument("vsm", "SYNTH", "Synthèse médicale", DURAND, 95, kind="vsm"),
        DemoDocument(
            "note-patiente",
            "EXPPAT_2",
            "Carnet de suivi de mon asthme",
            None,
            30,
            (
                "Crises cet hiver : deux, toutes deux après un rhume.",
                "J'utilise la Ventoline environ une fois par semaine.",
                "Question pour ma prochaine consultation : puis-je reprendre la course à pied ?",
            ),
            kind="text",
        ),
        DemoDocument(
            "psychiatrie",
            "11488-4",
            "Compte rendu de consultation de psychiatrie",
            LAMBERT,
            150,
            (
                "Consultation à la demande de la patiente.",
                "Anxiété réactionnelle dans un contexte d'examens universitaires.",
                "Pas d'élément en faveur d'un épisode dépressif caractérisé.",
                "Proposition de suivi psychothérapeutique, pas de traitement médicamenteux.",
            ),
            flags=(Confidentiality.MASKED_PS,),
        ),
        DemoDocument(
            "remplacement-martin",
            "11488-4",
            "Compte rendu de consultation (remplacement)",
            MARTIN,
            45,
            (
                "Consultation en remplacement du Dr DURAND.",
                "Demande de contraception ; examen clinique normal.",
                "Prescription remise ; revoir le médecin traitant dans trois mois.",
            ),
            flags=(Confidentiality.MASKED_PS,),
        ),
        DemoDocument(
            "anapath",
            "60568-3",
            "Compte rendu d'anatomie et de cytologie pathologiques",
            FONTAINE,
            12,
            (
                "Prélèvement : exérèse d'un nævus de la face postérieure de la cuisse gauche.",
                "Examen histologique : nævus composé, sans atypie.",
                "Exérèse complète, marges saines.",
                "Résultat à annoncer en consultation.",
            ),
            flags=(Confidentiality.INVISIBLE_PATIENT,),
        ),
        DemoDocument(
            "radio-poignet",
            "18748-4",
            "Compte rendu d'imagerie médicale (radiographie du poignet)",
            MERCIER,
            900,
            (
                "Radiographie du poignet droit, face et profil, après chute en roller.",
                "Pas de fracture visible ; pas d'anomalie des parties molles.",
            ),
            status=DocumentStatus.ARCHIVED,
        ),
        DemoDocument(
            "kine-v1",
            "PRESC-KINE",
            "Prescription de kinésithérapie respiratoire",
            DURAND,
            100,
            ("Kinésithérapie respiratoire : 10 séances.",),
            status=DocumentStatus.DEPRECATED,
        ),
        DemoDocument(
            "kine-v2",
            "PRESC-KINE",
            "Prescription de kinésithérapie respiratoire (version corrigée)",
            DURAND,
            99,
            (
                "Kinésithérapie respiratoire : 15 séances, deux par semaine.",
                "Éducation thérapeutique à l'utilisation des dispositifs inhalés.",
            ),
            replaces="kine-v1",
            comments="Nombre de séances corrigé",
        ),
        DemoDocument(
            "appendicectomie",
            "34874-8",
            "Compte rendu opératoire (appendicectomie)",
            BERTRAND,
            1000,
            (
                "Appendicectomie par cœlioscopie pour appendicite aiguë.",
                "Appendice inflammatoire sans perforation ; pas de péritonite.",
                "Suites opératoires simples, sortie à J2.",
            ),
            comments="Appendicite aiguë",
            events=(("K35.8", "Appendicite aiguë, autre et sans précision"),),
        ),
        DemoDocument(
            "urgences",
            "15507-7",
            "Compte rendu de passage aux urgences",
            DUBOIS,
            3,
            (
                "Motif : entorse de la cheville gauche en descendant un escalier.",
                "Radiographie : pas de fracture (critères d'Ottawa négatifs).",
                "Traitement : glace, repos, contention souple 10 jours, antalgiques.",
            ),
            submitted_days_ago=3,
        ),
        DemoDocument(
            "ophtalmologie",
            "78513-9",
            "Compte rendu de consultation en ophtalmologie",
            ROUSSEAU,
            330,
            (
                "Myopie faible stable : OD -1,25 ; OG -1,00.",
                "Fond d'œil normal ; pression intraoculaire 14 mmHg aux deux yeux.",
                "Renouvellement de la prescription de verres correcteurs.",
            ),
        ),
        DemoDocument(
            "allergologie",
            "11488-4",
            "Compte rendu de consultation d'allergologie",
            MOREL,
            470,
            (
                "Tests cutanés : sensibilisation aux pollens de graminées et aux acariens.",
                "Asthme allergique persistant léger.",
                "Proposition de désensibilisation sublinguale aux graminées.",
            ),
            comments="Bilan allergologique initial",
            events=(("J45.0", "Asthme à prédominance allergique"),),
        ),
        DemoDocument(
            "biologie-allergo",
            "11502-2",
            "Résultats de biologie (bilan allergologique)",
            GARNIER,
            480,
            (
                "IgE spécifiques graminées (g6) : 18,2 kUA/L (classe 4).",
                "IgE spécifiques acariens (d1) : 4,1 kUA/L (classe 3).",
            ),
        ),
        DemoDocument(
            "certificat-sport",
            "89601-9",
            "Certificat médical de non contre-indication à la course à pied",
            DURAND,
            200,
            (
                "Je soussignée, Dr Marie DURAND, certifie avoir examiné la patiente",
                "et n'avoir pas constaté de contre-indication à la pratique",
                "de la course à pied en compétition.",
            ),
        ),
    )


def _lea_structured_documents() -> tuple[DemoDocument, ...]:
    """Her structured documents (CR-BIO, LDL-SES, VAC-NOTE, IPS-FR): « L'essentiel »'s demo."""
    authors = {"lab": GARNIER, "ward": HADDAD, "diabetologist": VIDAL, "gp": DURAND}
    return tuple(
        DemoDocument(
            spec.key,
            spec.type_code,
            spec.title,
            authors[spec.author],
            spec.days_ago,
            kind=spec.kind,
            build=spec.build,
        )
        for spec in lea_specs()
    )


def demo_documents() -> dict[str, tuple[DemoDocument, ...]]:
    """Documents by demo patient key (see :func:`dmp_sandbox.demo.demo_patients`)."""
    return {
        "actif-autorise": _lea_documents() + _lea_structured_documents(),
        "actif-sans-autorisation": (
            DemoDocument(
                "consultation",
                "11488-4",
                "Compte rendu de consultation de médecine générale",
                MARTIN,
                20,
                (
                    "Renouvellement du traitement antihypertenseur.",
                    "Pression artérielle 132/84 mmHg ; bilan biologique à prévoir.",
                ),
            ),
            DemoDocument(
                "biologie",
                "11502-2",
                "Résultats de biologie",
                GARNIER,
                15,
                ("Créatinine 82 µmol/L ; DFG estimé 96 mL/min/1,73 m².", "Kaliémie 4,2 mmol/L."),
            ),
            DemoDocument(
                "cardiologie",
                "11488-4",
                "Compte rendu de consultation de cardiologie",
                ROUX,
                200,
                ("Hypertension artérielle essentielle bien contrôlée.", "ECG normal."),
            ),
        ),
        "bloque": (
            DemoDocument(
                "sortie",
                "11490-0",
                "Lettre de sortie d'hospitalisation",
                PETIT,
                90,
                ("Hospitalisation pour pneumopathie ; évolution favorable sous antibiotique.",),
            ),
            DemoDocument(
                "biologie",
                "11502-2",
                "Résultats de biologie",
                GARNIER,
                40,
                ("CRP 3 mg/L ; numération normale.",),
            ),
        ),
        "autorisation-expiree": (
            DemoDocument(
                "sejour",
                "34112-3",
                "Compte rendu d'hospitalisation (séjour)",
                PETIT,
                150,
                ("Décompensation cardiaque ; adaptation du traitement diurétique.",),
            ),
            DemoDocument(
                "biologie",
                "11502-2",
                "Résultats de biologie",
                GARNIER,
                70,
                ("NT-proBNP 640 pg/mL ; créatinine 110 µmol/L.",),
            ),
            DemoDocument(
                "cardiologie",
                "11488-4",
                "Compte rendu de consultation de cardiologie",
                ROUX,
                60,
                ("Insuffisance cardiaque stable, FEVG 40 %.",),
            ),
        ),
        "ferme": (
            DemoDocument(
                "consultation",
                "11488-4",
                "Compte rendu de consultation de médecine générale",
                DURAND,
                400,
                ("Suivi de l'hypertension artérielle.",),
            ),
            DemoDocument(
                "biologie",
                "11502-2",
                "Résultats de biologie",
                GARNIER,
                380,
                ("Glycémie à jeun 5,4 mmol/L.",),
            ),
        ),
        "mineur": (
            DemoDocument(
                "examen-enfant",
                "59283-2",
                "Compte rendu d'examen de l'enfant",
                LEROY,
                180,
                (
                    "Examen de santé des 11 ans : croissance harmonieuse.",
                    "Poids 36 kg, taille 146 cm ; vaccinations à jour.",
                ),
            ),
            DemoDocument(
                "pediatrie",
                "11488-4",
                "Compte rendu de consultation de pédiatrie",
                LEROY,
                25,
                ("Rhinopharyngite simple ; traitement symptomatique.",),
            ),
            DemoDocument(
                "consultation-confidentielle",
                "11488-4",
                "Compte rendu de consultation (confidentielle)",
                DURAND,
                10,
                (
                    "Consultation demandée par la patiente seule.",
                    "Informations couvertes par le secret à l'égard des représentants légaux.",
                ),
                flags=(Confidentiality.INVISIBLE_LEGAL_REPS,),
            ),
        ),
    }


# --- building ---------------------------------------------------------------------------------


def simple_pdf(title: str, lines: tuple[str, ...] | list[str]) -> bytes:
    """A small valid PDF 1.4 (Helvetica, WinAnsi): a title, then one line of text per item."""

    def pdf_text(text: str) -> bytes:
        raw = text.encode("cp1252", "replace")
        return raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")

    content = bytearray(b"BT\n/F1 15 Tf\n56 780 Td\n16 TL\n(" + pdf_text(title) + b") Tj\n")
    content += b"/F1 11 Tf\n14 TL\nT*\nT*\n"
    for line in lines:
        content += b"(" + pdf_text(line) + b") Tj\nT*\n"
    content += b"ET\n"
    info_title = "<FEFF" + title.encode("utf-16-be").hex().upper() + ">"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(content) + bytes(content) + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        b"<< /Title " + info_title.encode("ascii") + b" /Producer (DMP Desktop, mode formation) >>",
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
    out += b"trailer\n<< /Size %d /Root 1 0 R /Info %d 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        len(objects),
        xref,
    )
    return bytes(out)


def patient_identity(patient: Patient) -> PatientIdentity:
    """The CDA header's patient, from the store (birthplace from the NIR's digits 6 to 10)."""
    ins = Ins(patient.ins_value, InsKind.from_oid(patient.ins_root))
    gender = {"F": Gender.FEMALE, "M": Gender.MALE}.get(patient.gender, Gender.UNKNOWN)
    return PatientIdentity(
        ins=ins,
        birth_family_name=patient.family_name.upper(),
        birth_given_names=[patient.given_name.upper()],
        birth_date=patient.birth_date,
        gender=gender,
        birthplace_code=patient.ins_value[5:10],
    )


def _lea_summary(
    patient: PatientIdentity, author: CareProvider, at: dt.datetime, uid: str
) -> MedicalSummary:
    return MedicalSummary(
        patient=patient,
        author=author,
        effective_time=at,
        treating_physician=author,
        document_id=uid,
        set_id=f"{uid}.0",
        active_problems=[
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
            Problem("Rhinite allergique saisonnière (graminées)", cim10="J30.1"),
        ],
        allergies=[
            Allergy(
                agent="Pollens de graminées",
                type_code="419199007",
                reaction="Rhinite et crises d'asthme au printemps",
                severity=Severity.MODERATE,
            )
        ],
        treatments=[
            *(  # her insulins, as the endocrinology ward set them (structured_documents)
                insulin
                for key, insulin in lea_treatments(
                    PartialDate.of((at - dt.timedelta(days=205)).date())
                ).items()
                if key in ("glargine", "aspart")
            ),
            Treatment(
                "Corticoïde inhalé, 1 inhalation matin et soir",
                atc="R03BA",
                start=PartialDate(2024, 3),
            ),
            Treatment("Salbutamol inhalé, si besoin", atc="R03AC02", long_term=False),
        ],
        vigilance_points=["Asthme : éviter les bêtabloquants non cardiosélectifs."],
    )


def _unique_id(patient_number: int, index: int) -> str:
    return f"{UNIQUE_ID_ROOT}.{patient_number}.{index}"


def entry_uuid_for(ins_value: str, key: str) -> str:
    return f"urn:uuid:{uuid.uuid5(_UUID_NAMESPACE, f'{ins_value}|{key}')}"


def _build(
    doc: DemoDocument,
    identity: PatientIdentity,
    at: dt.datetime,
    uid: str,
    set_id: str,
    version: int,
) -> bytes:
    if doc.kind == "vsm":
        if doc.author is None:
            raise ValueError("a VSM needs a professional author")
        return build_vsm(_lea_summary(identity, doc.author.provider(), at, uid))
    if doc.build is not None:
        if doc.author is None:
            raise ValueError("a structured document needs a professional author")
        return doc.build(identity, doc.author.provider(), at, uid)
    if doc.author is not None:
        author = doc.author.provider()
    else:  # the patient writes in her own space: the header names her as author
        author = CareProvider(
            Practitioner(
                national_id=identity.ins.value,
                family_name=identity.birth_family_name,
                given_name=identity.birth_given_names[0],
                profession="Patient",
            ),
            CareStructure(id=identity.ins.value, name="Mon espace santé", facility_type="SA43"),
        )
    level1 = Level1Document(
        patient=identity,
        author=author,
        effective_time=at,
        type_code=doc.type_code,
        title=doc.title,
        document_id=uid,
        set_id=set_id,
        version=version,
    )
    if doc.kind == "text":
        return wrap_text(level1, "\n".join((doc.title, "", *doc.lines)))
    return wrap_pdf(level1, simple_pdf(doc.title, doc.lines))


def seed_patient_documents(
    store: Store,
    session: Session,
    patient: Patient,
    patient_number: int,
    documents: tuple[DemoDocument, ...],
    now: dt.datetime,
) -> int:
    """(Re)create a demo patient's documents; returns how many."""
    store.remove_documents(session, patient)
    identity = patient_identity(patient)
    by_key = {doc.key: (index, doc) for index, doc in enumerate(documents, 1)}
    replaced_by = {doc.replaces: doc.key for doc in documents if doc.replaces}
    paris = dt.timezone(dt.timedelta(hours=1))
    for index, doc in enumerate(documents, 1):
        day = (now - dt.timedelta(days=doc.days_ago)).date()
        at = dt.datetime(day.year, day.month, day.day, 9, 0, tzinfo=paris) + dt.timedelta(
            minutes=7 * index
        )
        at = min(at, now - dt.timedelta(minutes=5))
        uid = _unique_id(patient_number, index)
        # A replacement keeps the CDA setId of what it replaces and bumps the version.
        first_index = by_key[doc.replaces][0] if doc.replaces else index
        set_id = f"{_unique_id(patient_number, first_index)}.0"
        version = 2 if doc.replaces else 1
        content = _build(doc, identity, at, uid, set_id, version)
        fmt_code, fmt_scheme, fmt_display = FORMATS[doc.kind]
        type_scheme, type_display = valuesets.DOCUMENT_TYPES[doc.type_code]
        confidentiality = [{"code": "N", "scheme": OID_CONFIDENTIALITY_HL7, "display": "Normal"}]
        confidentiality += [
            {
                "code": f.value,
                "scheme": OID_CONFIDENTIALITY_DMP,
                "display": CONFIDENTIALITY_LABELS[f],
            }
            for f in doc.flags
        ]
        if doc.author is not None:
            authors = [doc.author.metadata()]
            facility, practice = doc.author.facility_type, doc.author.practice_setting
            legal = _xcn(doc.author)
        else:
            authors = [
                {
                    "national_id": patient.ins_value,
                    "family_name": patient.family_name.upper(),
                    "given_name": patient.given_name,
                    "id_root": patient.ins_root,
                    "id_type": "NH",
                    "specialty_code": "EXP_PATIENT",
                    "specialty_display": "Expression personnelle du patient",
                    "specialty_scheme": "1.2.250.1.213.1.1.4.6",
                }
            ]
            facility, practice, legal = "SA43", "AMBULATOIRE", None
        submitted_days = doc.submitted_days_ago
        submitted = (
            now - dt.timedelta(days=submitted_days, hours=2)
            if submitted_days is not None
            else min(at + dt.timedelta(days=1), now - dt.timedelta(minutes=1))
        )
        status = doc.status
        submission = SubmissionSetRecord(
            entry_uuid=entry_uuid_for(patient.ins_value, f"{doc.key}/submission"),
            unique_id=f"{uid}.1",
            source_id=SOURCE_ID,
            patient_id=patient.id,
            submission_time=submitted,
            title=doc.title,
            content_type_code=doc.type_code,
            content_type_scheme=type_scheme,
            content_type_display=type_display,
            authors=authors,
        )
        session.add(submission)
        session.flush()
        store.add_document(
            session,
            patient,
            content,
            submission_set_id=submission.id,
            entry_uuid=entry_uuid_for(patient.ins_value, doc.key),
            unique_id=uid,
            repository_id=DMP_REPOSITORY_ID,
            status=status.value,
            status_changed_at=submitted if status is not DocumentStatus.APPROVED else None,
            mime_type="text/xml",
            title=doc.title,
            comments=doc.comments,
            type_code=doc.type_code,
            type_scheme=type_scheme,
            type_display=type_display,
            class_code=doc.class_code,
            class_scheme=OID_CLASS_CODES,
            class_display=CLASS_LABELS[doc.class_code],
            format_code=fmt_code,
            format_scheme=fmt_scheme,
            format_display=fmt_display,
            facility_type_code=facility,
            facility_type_scheme=codes.OID_FACILITY_TYPE,
            facility_type_display=valuesets.FACILITY_TYPES[facility],
            practice_setting_code=practice,
            practice_setting_scheme=codes.OID_PRACTICE_SETTING,
            practice_setting_display=valuesets.PRACTICE_SETTINGS[practice],
            creation_time=at.astimezone(dt.UTC),
            service_start=(at - dt.timedelta(minutes=30)).astimezone(dt.UTC),
            service_stop=at.astimezone(dt.UTC),
            submission_time=submitted,
            authors=authors,
            confidentiality=confidentiality,
            event_codes=[
                {"code": code, "scheme": OID_CIM10, "display": label} for code, label in doc.events
            ],
            legal_authenticator=legal,
            source_patient_id=f"P{patient.id:06d}^^^&1.2.250.1.999.1.1&ISO^PI",
            source_patient_info=[
                f"PID-5|{patient.family_name.upper()}^{patient.given_name}^^^^^L",
                f"PID-7|{patient.birth_date:%Y%m%d}",
                f"PID-8|{patient.gender}",
            ],
            set_id=set_id,
            cda_version=version,
            replaced_by_uuid=(
                entry_uuid_for(patient.ins_value, replaced_by[doc.key])
                if doc.key in replaced_by
                else None
            ),
            replaces_uuid=entry_uuid_for(patient.ins_value, doc.replaces) if doc.replaces else None,
        )
    return len(documents)


def _xcn(author: DemoAuthor) -> str:
    return (
        f"{author.national_id}^{author.family_name.upper()}^{author.given_name}"
        "^^^^^^&1.2.250.1.71.4.2.1&ISO^D^^^IDNPS"
    )
