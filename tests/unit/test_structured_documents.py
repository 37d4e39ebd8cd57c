"""The demo's structured documents (dmp_actors.structured_documents): valid for the ANS kit, and
what « L'essentiel » makes of Léa MOREAU's record — known lines, known conflicts, known trends."""

from __future__ import annotations

import datetime as dt
import functools
import zlib
from decimal import Decimal

import pytest

from dmp_actors.structured_documents import (
    LEA_LABS,
    LabChapter,
    LabValue,
    StructuredDemo,
    lab_report,
    lea_structured,
)
from dmp_desktop.cda.validation import ValidationReport
from dmp_desktop.domain.patient import Ins, InsKind
from dmp_desktop.domain.practitioner import Practitioner
from dmp_desktop.domain.summary import (
    CareProvider,
    CareStructure,
    Gender,
    PartialDate,
    PatientIdentity,
    PostalAddress,
)
from dmp_desktop.essentials.aggregate import build
from dmp_desktop.essentials.model import Category, Source, Status, Trend
from dmp_desktop.essentials.reading import read_document

NOW = dt.datetime(2026, 12, 6, 12, 0, tzinfo=dt.timezone(dt.timedelta(hours=1)))
PATIENT = PatientIdentity(
    ins=Ins("207058575627097", InsKind.TEST_NIR),
    birth_family_name="MOREAU",
    birth_given_names=["LÉA"],
    birth_date=dt.date(2007, 5, 25),
    gender=Gender.FEMALE,
    birthplace_code="75627",
)


def _provider(
    national_id: str,
    family: str,
    given: str,
    specialty: str,
    structure: tuple[str, str, str, str],
) -> CareProvider:
    structure_id, name, facility, setting = structure
    return CareProvider(
        Practitioner(
            national_id=national_id,
            family_name=family,
            given_name=given,
            profession="Médecin",
            profession_code="10",
            specialty_code=specialty,
            structure_id=structure_id,
            structure_name=name,
        ),
        CareStructure(
            structure_id,
            name,
            facility,
            setting,
            PostalAddress(("1 place de la Santé",), "69003", "LYON"),
        ),
    )


CHU = ("499700433190001", "Centre hospitalier universitaire de Lyon Sud", "SA01", "ETABLISSEMENT")
PROVIDERS = {
    "lab": _provider(
        "899700433207",
        "GARNIER",
        "Hélène",
        "SM03",
        ("499700433207001", "Laboratoire de biologie médicale Biolyon", "SA29", "AMBULATOIRE"),
    ),
    "ward": _provider("899700433290", "HADDAD", "Karim", "SM62", CHU),
    "diabetologist": _provider("899700433306", "VIDAL", "Élise", "SM62", CHU),
    "gp": _provider(
        "899700433153",
        "DURAND",
        "Marie",
        "SM26",
        ("499700433153007", "Cabinet médical des Tilleuls", "SA08", "AMBULATOIRE"),
    ),
}


@functools.cache
def lea_documents() -> tuple[StructuredDemo, ...]:
    return tuple(
        lea_structured(
            PATIENT, PROVIDERS, NOW, lambda key: f"1.2.250.1.999.3.9.{zlib.crc32(key.encode())}"
        )
    )


def documents() -> dict[str, bytes]:
    """What this module puts through the unit tests' one validate-cda run."""
    return {f"demo-{d.key}.xml": d.content for d in lea_documents()}


@pytest.mark.parametrize("name", sorted(f"demo-{d.key}.xml" for d in lea_documents()))
def test_demo_document_passes_the_kit(
    cda_kit_batch: tuple[ValidationReport, float, int], name: str
) -> None:
    report = cda_kit_batch[0].file(name)
    assert report.passed, "\n".join(str(e) for e in report.errors)


def _essentials():  # type: ignore[no-untyped-def]
    facts = []
    for d in lea_documents():
        day = (NOW - dt.timedelta(days=d.days_ago)).date()
        facts.append(
            read_document(
                d.content, Source(d.key, d.title, author=d.author, date=PartialDate.of(day))
            )
        )
    return build(facts, today=NOW.date())


def test_the_record_has_the_documents_the_issue_asks_for() -> None:
    kinds = [d.kind for d in lea_documents()]
    assert kinds.count("cr-bio") == len(LEA_LABS) >= 5
    assert {"ips-fr", "ldl-ses", "vac-note"} <= set(kinds)
    days = [d.days_ago for d in lea_documents() if d.kind == "cr-bio"]
    assert 650 <= max(days) - min(days) and max(days) < 730  # two years, in the default list


def test_known_lines() -> None:
    essentials = _essentials()
    problems = {line.label for line in essentials.in_category(Category.PROBLEMS)}
    assert problems == {
        "Diabète de type 1",
        "Asthme allergique persistant léger",
        "Rhinite allergique saisonnière (graminées)",
    }
    treatments = {
        line.label.split(" ")[0]: line for line in essentials.in_category(Category.TREATMENTS)
    }
    glargine = treatments["LANTUS"]
    assert glargine.status is Status.ACTIVE
    assert glargine.detail == "22 UI, 1 fois par jour, voie sous-cutanée ; le soir au coucher"
    assert [s.unique_id for s in glargine.sources] == ["ips-fr", "ldl-ses"]
    assert treatments["LEVEMIR"].status is Status.STOPPED  # stopped during the stay
    vaccines = {
        line.label.split(",")[0]: line for line in essentials.in_category(Category.VACCINATIONS)
    }
    assert vaccines["INFLUVAC TETRA"].detail == "2 injections"
    assert vaccines["INFLUVAC TETRA"].source.unique_id == "vac-note"
    assert vaccines["GARDASIL 9"].detail.startswith("2 injections")
    [trusted] = essentials.in_category(Category.DIRECTIVES)
    assert trusted.label == "Personne de confiance : Claire MOREAU"
    assert trusted.detail == "Mère, 0612345678"
    history = essentials.in_category(Category.HISTORY)
    assert [line.code for line in history] == ["K35.8"]


def test_known_conflicts() -> None:
    conflicts = _essentials().conflicts
    by_label = {}
    for line in conflicts:
        by_label.setdefault(line.label.split(" ")[0], []).append(line)
    assert set(by_label) == {"SINGULAIR", "Amoxicilline"}
    singulair = by_label["SINGULAIR"]
    assert [(line.status, line.source.unique_id) for line in singulair] == [
        (Status.ACTIVE, "ips-fr"),
        (Status.STOPPED, "ldl-ses"),
    ]
    amoxicillin = by_label["Amoxicilline"]
    assert [(line.status, line.source.unique_id) for line in amoxicillin] == [
        (Status.ACTIVE, "ips-fr"),
        (Status.RESOLVED, "ldl-ses"),
    ]
    assert "test de provocation orale négatif" in amoxicillin[1].detail


def test_known_trends() -> None:
    results = {line.key: line for line in _essentials().in_category(Category.RESULTS)}
    hba1c = results["concept:hba1c"]
    assert hba1c.detail == "6,9 %" and hba1c.trend is Trend.DOWN
    assert [str(p.value) for p in hba1c.points] == [v[1] for v in LEA_LABS]
    assert results["concept:creatinine"].trend is Trend.STABLE
    assert results["concept:creatinine"].detail == "66 µmol/L"
    assert results["concept:egfr"].detail == "122 mL/min/1,73 m²"
    assert results["concept:potassium"].trend is Trend.STABLE
    assert results["concept:ldl"].trend is Trend.DOWN and len(results["concept:ldl"].points) == 3
    assert results["concept:weight"].detail == "58 kg" and results["concept:weight"].trend is None
    assert results["concept:bp_systolic"].detail == "112 mmHg"
    # the rubric's order: HbA1c first, then kidney, potassium, lipids, weight, blood pressure
    assert list(results) == [
        "concept:hba1c",
        "concept:creatinine",
        "concept:egfr",
        "concept:potassium",
        "concept:ldl",
        "concept:weight",
        "concept:bp_systolic",
        "concept:bp_diastolic",
    ]


def test_inr_and_the_lipid_panel_are_usual_results_with_their_trend() -> None:
    # Not in Léa's story (no anticoagulant): two CR-BIO of another producer's kind, a year
    # apart, with INR (6301-6) and the lipid panel (total, HDL, triglycerides).
    def report(uid: str, days_ago: int, inr: str, chol: str, hdl: str, tg: str) -> bytes:
        values = (
            LabValue("6301-6", "INR Plasma", Decimal(inr), "{INR}", Decimal("2"), Decimal("3")),
            LabValue("2093-3", "Cholestérol [Masse/Volume] Sérum/Plasma", Decimal(chol), "g/L"),
            LabValue("2085-9", "Cholestérol HDL [Masse/Volume] Sérum", Decimal(hdl), "g/L"),
            LabValue("2571-8", "Triglycérides [Masse/Volume] Sérum", Decimal(tg), "g/L"),
        )
        return lab_report(
            PATIENT,
            PROVIDERS["lab"],
            NOW - dt.timedelta(days=days_ago),
            uid,
            [LabChapter("18719-5", "Biochimie", values)],
        )

    facts = [
        read_document(
            report(uid, days, *values),
            Source(
                uid,
                "CR-BIO",
                "Dr Hélène GARNIER",
                PartialDate.of((NOW - dt.timedelta(days=days)).date()),
            ),
        )
        for uid, days, values in (
            ("1.2.3.1", 400, ("3.4", "2.40", "0.50", "1.80")),
            ("1.2.3.2", 30, ("2.5", "2.00", "0.52", "1.20")),
        )
    ]
    results = {line.key: line for line in build(facts).in_category(Category.RESULTS)}
    assert list(results) == [
        "concept:inr",
        "concept:cholesterol",
        "concept:hdl",
        "concept:triglycerides",
    ]
    assert results["concept:inr"].detail.startswith("2,5")
    assert results["concept:inr"].trend is Trend.DOWN
    assert results["concept:inr"].source.unique_id == "1.2.3.2"
    assert results["concept:cholesterol"].trend is Trend.DOWN
    assert results["concept:hdl"].trend is Trend.STABLE
    assert results["concept:triglycerides"].detail == "1,20 g/L"  # as the laboratory wrote it
