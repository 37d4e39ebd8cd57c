"""The rules of « L'essentiel »: merging, conflicts never merged silently, latest values and trends,
« nouveau depuis votre dernière visite », the cache, and « Préparer la synthèse »."""

from __future__ import annotations

import os
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

from dmp_desktop.domain.patient import Ins, InsKind
from dmp_desktop.domain.practitioner import Practitioner
from dmp_desktop.domain.summary import (
    CareProvider,
    CareStructure,
    Gender,
    MedicalSummary,
    PartialDate,
    PatientIdentity,
    ProblemStatus,
)
from dmp_desktop.essentials.aggregate import build, fingerprints, trend_of
from dmp_desktop.essentials.codec import essentials_to_dict, facts_from_dict, facts_to_dict
from dmp_desktop.essentials.model import (
    Category,
    DocumentFacts,
    LeftOut,
    Point,
    Source,
    Statement,
    Status,
    Trend,
)
from dmp_desktop.essentials.prefill import prefill
from dmp_desktop.storage.essentials_cache import EssentialsCache
from dmp_desktop.storage.secure import SecureStore

INS = Ins("207058575627097", InsKind.TEST_NIR)
TODAY = date(2026, 12, 6)


def src(uid: str, day: tuple[int, int, int], title: str = "Document") -> Source:
    return Source(uid, title, author="Dr Marie DURAND", date=PartialDate(*day))


def treatment(
    name: str, status: Status = Status.ACTIVE, detail: str = "", **kw: object
) -> Statement:
    return Statement(
        Category.TREATMENTS,
        "treatment",
        kw.pop("key", f"cis:{name}"),  # type: ignore[arg-type]
        name,
        status=status,
        detail=detail,
        item={"name": name},
        **kw,  # type: ignore[arg-type]
    )


def allergy(agent: str, status: Status, key: str = "", aliases: tuple[str, ...] = ()) -> Statement:
    return Statement(
        Category.ALLERGIES,
        "allergy",
        key or f"text:{agent.lower()}",
        agent,
        status=status,
        aliases=aliases,
        item={"agent": agent, "status": {Status.ACTIVE: "active"}.get(status, "resolved")},
    )


def hba1c(value: str, day: tuple[int, int, int], unit: str = "%") -> Statement:
    return Statement(
        Category.RESULTS,
        "result",
        "concept:hba1c",
        "HbA1c",
        status=Status.DONE,
        detail=f"{value} {unit}",
        date=PartialDate(*day),
        value=Decimal(value),
        unit=unit,
        code="4548-4",
        item={"label": "HbA1c", "quantity": float(value), "unit": unit, "loinc": "4548-4"},
    )


def doc(source: Source, *statements: Statement, left: tuple[LeftOut, ...] = ()) -> DocumentFacts:
    return DocumentFacts(source, statements, left)


def test_agreeing_documents_make_one_line_naming_the_newest() -> None:
    old = src("1", (2025, 1, 10), "Lettre de sortie")
    new = src("2", (2026, 11, 2), "Synthèse médicale")
    essentials = build(
        [
            doc(old, treatment("glargine", detail="22 UI le soir")),
            doc(new, treatment("glargine", detail="22 UI le soir")),
        ],
        today=TODAY,
    )
    [line] = essentials.lines
    assert line.source == new and line.sources == (new, old)
    assert not line.conflict


def test_a_treatment_stopped_in_one_and_active_in_another_is_shown_twice_and_marked() -> None:
    letter = src("1", (2026, 2, 9), "Lettre de liaison à la sortie")
    ips = src("2", (2026, 11, 6), "Synthèse médicale")
    essentials = build(
        [
            doc(letter, treatment("montelukast", Status.STOPPED, "1 cp le soir")),
            doc(ips, treatment("montelukast", Status.ACTIVE, "1 cp le soir")),
        ],
        today=TODAY,
    )
    lines = essentials.in_category(Category.TREATMENTS)
    assert [(line.status, line.source.unique_id) for line in lines] == [
        (Status.ACTIVE, "2"),
        (Status.STOPPED, "1"),
    ]
    assert lines[0].conflict == lines[1].conflict != ""
    assert lines[0].conflict_key == lines[1].conflict_key
    assert "en cours, 1 cp le soir selon Synthèse médicale — Dr Marie DURAND, 06/11/2026" in (
        lines[0].conflict
    )
    assert "arrêté, 1 cp le soir selon Lettre de liaison à la sortie" in lines[0].conflict
    assert essentials.conflicts == lines


def test_two_posologies_are_two_lines_but_a_missing_one_is_no_disagreement() -> None:
    a, b, c = src("a", (2026, 1, 1)), src("b", (2026, 5, 1)), src("c", (2026, 9, 1))
    essentials = build(
        [
            doc(a, treatment("glargine", detail="20 UI le soir")),
            doc(b, treatment("glargine", detail="")),
            doc(c, treatment("glargine", detail="24 UI le soir")),
        ],
        today=TODAY,
    )
    lines = essentials.in_category(Category.TREATMENTS)
    assert [line.detail for line in lines] == ["24 UI le soir", "20 UI le soir"]
    assert all(line.conflict for line in lines)
    assert [s.unique_id for s in lines[0].sources] == ["c", "b"]  # no posology: with the newest
    quiet = build([doc(a, treatment("x", detail="1 cp")), doc(b, treatment("x"))], today=TODAY)
    assert [(line.detail, line.conflict) for line in quiet.lines] == [("1 cp", "")]


def test_two_allergy_statuses_are_both_shown() -> None:
    essentials = build(
        [
            doc(src("1", (2026, 2, 9)), allergy("Amoxicilline", Status.RESOLVED, "atc:J01CA04")),
            doc(
                src("2", (2026, 11, 6)),
                allergy("Amoxicilline (pénicillines)", Status.ACTIVE, aliases=("atc:J01CA04",)),
            ),
        ],
        today=TODAY,
    )
    lines = essentials.in_category(Category.ALLERGIES)
    assert [line.status for line in lines] == [Status.ACTIVE, Status.RESOLVED]
    assert "active selon" in lines[0].conflict and "résolue selon" in lines[0].conflict


def test_same_item_under_different_codes_is_one_item() -> None:
    """A drug coded by its CIS in one document and by substance (with its CIS) in another."""
    one = treatment("SINGULAIR 10 mg", key="cis:69863646")
    other = treatment("Montélukast", key="atc:R03DC03", aliases=("cis:69863646",))
    essentials = build([doc(src("1", (2026, 1, 1)), one), doc(src("2", (2026, 2, 1)), other)])
    [line] = essentials.lines
    assert len(line.sources) == 2


def test_a_treatment_whose_end_is_past_is_not_current() -> None:
    course = treatment("amoxicilline", end=PartialDate(2026, 3, 10))
    essentials = build([doc(src("1", (2026, 3, 1)), course)], today=TODAY)
    [line] = essentials.lines
    assert line.status is Status.STOPPED and "terminé le 10/03/2026" in line.detail
    current = build([doc(src("1", (2026, 3, 1)), course)], today=date(2026, 3, 5))
    assert current.lines[0].status is Status.ACTIVE


def test_latest_value_and_trend_over_the_period() -> None:
    docs = [
        doc(src(str(i), day), hba1c(v, day))
        for i, (v, day) in enumerate(
            [("8.6", (2024, 12, 1)), ("7.9", (2025, 12, 1)), ("6.9", (2026, 10, 27))]
        )
    ]
    [line] = build(docs, today=TODAY).lines
    assert line.detail == "6.9 %" and line.date == PartialDate(2026, 10, 27)
    assert [p.value for p in line.points] == [Decimal("8.6"), Decimal("7.9"), Decimal("6.9")]
    assert line.trend is Trend.DOWN
    assert line.source.unique_id == "2"


def test_trends() -> None:
    s = src("x", (2026, 1, 1))

    def pts(*values: str) -> list[Point]:
        return [Point(PartialDate(2020 + i), Decimal(v), "u", s) for i, v in enumerate(values)]

    assert trend_of(pts("64", "66", "66"), "u") is Trend.STABLE  # 3 %
    assert trend_of(pts("4.0", "4.6"), "u") is Trend.UP
    assert trend_of(pts("8.6", "6.9"), "u") is Trend.DOWN
    assert trend_of(pts("8.6"), "u") is None
    assert trend_of(pts("8.6", "60"), "mmol/mol") is None  # another unit: no trend


def test_two_values_the_same_day_are_both_shown_and_marked() -> None:
    day = (2026, 10, 27)
    essentials = build(
        [doc(src("lab", day), hba1c("6.9", day)), doc(src("ips", (2026, 11, 6)), hba1c("7.1", day))]
    )
    [line] = essentials.lines
    assert line.conflict.startswith("Sources discordantes : ")
    assert "6,9 %" in line.conflict and "7,1 %" in line.conflict


def test_new_since_the_last_visit() -> None:
    first = build([doc(src("1", (2026, 1, 1)), hba1c("7.9", (2026, 1, 1)))])
    assert first.first_visit and not first.new_lines
    seen = fingerprints(first)
    same = build([doc(src("1", (2026, 1, 1)), hba1c("7.9", (2026, 1, 1)))], previous=seen)
    assert not same.first_visit and not same.new_lines
    later = build(
        [
            doc(src("1", (2026, 1, 1)), hba1c("7.9", (2026, 1, 1))),
            doc(src("2", (2026, 10, 1)), hba1c("6.9", (2026, 10, 1)), treatment("metformine")),
        ],
        previous=seen,
    )
    assert {line.label for line in later.new_lines} == {"HbA1c", "metformine"}


def test_rubrics_in_order_and_left_out_kept() -> None:
    left = LeftOut("Plan de soins", "non repris dans L'essentiel", 3)
    essentials = build(
        [
            doc(src("1", (2026, 1, 1)), hba1c("7", (2026, 1, 1)), treatment("x"), left=(left,)),
            DocumentFacts(src("2", (2026, 1, 2)), structured=False),
        ]
    )
    assert [line.category for line in essentials.lines] == [Category.TREATMENTS, Category.RESULTS]
    assert essentials.left_out == ((src("1", (2026, 1, 1)), left),)
    assert (essentials.documents_read, essentials.documents_unstructured) == (1, 1)
    as_json = essentials_to_dict(essentials)
    assert [c["category"] for c in as_json["categories"]] == ["treatments", "results"]
    assert as_json["left_out"][0]["count"] == 3


def test_facts_round_trip_through_json_and_refuse_another_version() -> None:
    facts = doc(
        src("1", (2026, 1, 1)), hba1c("7.25", (2026, 1, 1)), treatment("x", end=PartialDate(2027))
    )
    data = facts_to_dict(facts)
    assert facts_from_dict(data) == facts
    data["v"] = 0
    try:
        facts_from_dict(data)
    except ValueError:
        pass
    else:
        raise AssertionError("an older version must be read again, not trusted")


def test_cache_per_professional_and_patient(tmp_path: Path) -> None:
    key = os.urandom(32)
    cache = EssentialsCache(SecureStore(tmp_path, key))
    facts = doc(src("1.2.3", (2026, 1, 1)), hba1c("7", (2026, 1, 1)))
    assert cache.load("899700433153", INS).documents == {}
    cache.save(
        "899700433153", INS, {"1.2.3": facts}, frozenset({"a"}), datetime(2026, 12, 6, tzinfo=UTC)
    )
    loaded = EssentialsCache(SecureStore(tmp_path, key)).load("899700433153", INS)
    assert loaded.documents == {"1.2.3": facts} and loaded.seen == frozenset({"a"})
    assert cache.load("899700433160", INS).documents == {}  # another professional: nothing
    for path in tmp_path.iterdir():  # names and contents reveal nobody
        assert INS.value not in path.name and b"HbA1c" not in path.read_bytes()
    # another key (another computer, a damaged file): ignored, the record still opens
    assert (
        EssentialsCache(SecureStore(tmp_path, os.urandom(32))).load("899700433153", INS).documents
        == {}
    )


def _summary() -> MedicalSummary:
    doctor = Practitioner("899700433153", "DURAND", "Marie", "Médecin")
    return MedicalSummary(
        patient=PatientIdentity(INS, "MOREAU", ["LÉA"], date(2007, 5, 25), Gender.FEMALE, "75056"),
        author=CareProvider(doctor, CareStructure("499700433153007", "Cabinet")),
        effective_time=datetime(2026, 12, 6, 10, 0, tzinfo=UTC),
    )


def test_prefill_puts_each_line_in_its_section() -> None:
    from dmp_desktop.essentials.reading import read_document
    from tests.unit.test_structured_documents import lea_documents

    facts = [
        read_document(d.content, src(d.key, (2026, 1, 1 + i), d.title))
        for i, d in enumerate(lea_documents())
    ]
    essentials = build(facts, today=TODAY)
    chosen = [line for line in essentials.lines if not line.conflict]
    result = prefill(_summary(), chosen)
    summary = result.summary
    assert not result.skipped
    assert {p.cim10 for p in summary.active_problems} == {"E10.9", "J45.0", "J30.1"}
    assert [h.status for h in summary.medical_history] == [ProblemStatus.RESOLVED]
    assert {t.cis for t in summary.treatments} >= {"65979151", "61232223"}
    glargine = next(t for t in summary.treatments if t.cis == "65979151")
    assert glargine.posology is not None and glargine.posology.dose == 22
    assert {r.loinc for r in summary.results} >= {"4548-4", "14682-9"}
    assert {v.code for v in summary.vital_signs} >= {"29463-7"}
    assert summary.trusted_person is not None and summary.trusted_person.family_name == "MOREAU"
    assert len(summary.vaccinations) == 4
