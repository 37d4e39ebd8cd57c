"""Search behaviour on the starter set shipped with the application."""

from __future__ import annotations

import json
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

import pytest

from dmp_desktop.terminology import ABBREVIATIONS, System, TerminologyIndex, load_starter_set
from dmp_desktop.terminology.normalize import is_valid_code


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TerminologyIndex]:
    result = TerminologyIndex.with_starter_set(tmp_path_factory.mktemp("starter") / "t.sqlite")
    yield result
    result.close()


def codes(index: TerminologyIndex, query: str, system: System = System.CIM10) -> list[str]:
    return [concept.code for concept in index.search(query, system)]


def test_starter_set_counts(index: TerminologyIndex) -> None:
    assert 140 <= index.count(System.CIM10) <= 220
    assert 80 <= index.count(System.CIS) <= 130
    assert index.count(System.SNOMED_ALLERGY) == 14
    assert index.count(System.ATC) == 0
    assert index.count(System.CCAM) == 0
    sources = {source.system: source for source in index.sources()}
    assert sources[System.CIM10].starter
    assert sources[System.CIM10].count == index.count(System.CIM10)


def test_starter_file_is_well_formed() -> None:
    ref = resources.files("dmp_desktop").joinpath("resources", "terminology", "starter.json")
    data = json.loads(ref.read_bytes())
    assert data["format"] == 1
    for name, items in data["concepts"].items():
        system = System(name)
        seen = set()
        for item in items:
            assert is_valid_code(system, item["code"]), item
            assert item["display"].strip() == item["display"] and item["display"]
            assert item["code"] not in seen
            seen.add(item["code"])
    for drug in data["concepts"]["cis"]:
        if "atc" in drug["extra"]:
            assert is_valid_code(System.ATC, drug["extra"]["atc"])
            assert drug["extra"]["atc_source"].startswith("CIS_MITM")


@pytest.mark.parametrize("typed", ["diab", "diabete", "Diabète", "DIABETE"])
def test_diab_finds_type_2_diabetes(index: TerminologyIndex, typed: str) -> None:
    results = index.search(typed, System.CIM10)
    found = [concept.code for concept in results]
    assert "E119" in found[:3]
    concept = results[found.index("E119")]
    assert concept.display == "Diabète sucré de type 2, sans complication"
    assert concept.display_code == "E11.9"
    # Subcategories before their heading.
    assert found.index("E119") < found.index("E11")


@pytest.mark.parametrize("typed", ["E119", "e11.9", "E11.9", "e11 9", "e119"])
def test_code_typed_directly_comes_first(index: TerminologyIndex, typed: str) -> None:
    assert codes(index, typed)[0] == "E119"


def test_code_prefix(index: TerminologyIndex) -> None:
    found = codes(index, "E11")
    assert found[0] == "E11"
    assert "E119" in found
    assert codes(index, "i1")[:2] == ["I10", "I119"]


def test_abbreviations(index: TerminologyIndex) -> None:
    assert codes(index, "hta")[0] == "I10"
    assert codes(index, "HTA")[0] == "I10"
    assert codes(index, "dt2")[0] == "E119"
    assert codes(index, "DNID")[0] == "E119"
    assert codes(index, "bpco")[0] == "J449"
    assert codes(index, "idm")[0] == "I219"
    assert codes(index, "avc")[0] == "I64"
    assert codes(index, "fa")[0] == "I489"
    assert codes(index, "irc")[0] == "N189"
    assert codes(index, "saos")[0] == "G473"
    assert codes(index, "rgo")[0] == "K219"
    assert codes(index, "hbp")[0] == "N40"
    assert codes(index, "tvp")[0] == "I802"
    assert codes(index, "ep")[0] == "I269"
    # An abbreviation followed by another word narrows.
    assert codes(index, "hta cardio")[0] == "I119"


def test_abbreviation_targets_are_in_the_starter_set(index: TerminologyIndex) -> None:
    for entry in ABBREVIATIONS:
        for code in entry.codes:
            assert index.get(entry.system, code) is not None, (entry.abbreviation, code)
        # Every abbreviation finds something.
        assert index.search(entry.abbreviation, entry.system), entry.abbreviation


def test_every_word_must_match_as_a_prefix(index: TerminologyIndex) -> None:
    assert codes(index, "insuf card")[0] == "I509"
    assert codes(index, "mal pulm obst chron")[0] == "J449"  # the ATIH short label
    assert codes(index, "diabete type 1")[0] == "E109"
    assert codes(index, "diabète de type 2")[0] == "E119"
    assert codes(index, "gastro-oeso")[0] == "K219"
    assert codes(index, "gastrooeso")[0] == "K219"
    assert codes(index, "diab zzz") == []


def test_ranking_prefers_labels_starting_with_the_word(index: TerminologyIndex) -> None:
    found = codes(index, "lomb")
    assert found[0] == "M545"
    found = codes(index, "dep")
    assert found[:2] == ["F329", "F339"]


def test_single_letter_lists_labels_starting_with_it(index: TerminologyIndex) -> None:
    results = index.search("d", System.CIM10)
    assert results
    assert all(concept.display.lower().startswith("d") for concept in results)


def test_drugs(index: TerminologyIndex) -> None:
    dolip = index.search("dolip", System.CIS)
    assert dolip
    assert all(concept.display.startswith("DOLIPRANE") for concept in dolip)
    paracetamol = [concept.display for concept in index.search("paracetamol", System.CIS)]
    assert any(name.startswith("DOLIPRANE") for name in paracetamol)
    assert any(name.startswith("DAFALGAN") for name in paracetamol)
    assert codes(index, "aas", System.CIS)[0] in {"64755969", "61348441"}  # KARDEGIC
    doliprane = index.get(System.CIS, "60234100")
    assert doliprane is not None
    assert doliprane.extra["atc"] == "N02BE01"
    assert codes(index, "3400935955838", System.CIS) == ["60234100"]  # barcode (CIP13)
    assert codes(index, "metformine 850", System.CIS) == ["67547090"]


def test_allergy_types(index: TerminologyIndex) -> None:
    assert codes(index, "allergie medic", System.SNOMED_ALLERGY) == ["416098002"]
    assert codes(index, "allergie alim", System.SNOMED_ALLERGY) == ["414285001"]
    intolerances = index.search("intol", System.SNOMED_ALLERGY)
    assert {concept.code for concept in intolerances} >= {"782197009", "59037007", "235719002"}
    assert intolerances[0].display.startswith("intolérance")
    assert codes(index, "416098002", System.SNOMED_ALLERGY) == ["416098002"]
    concept = index.get(System.SNOMED_ALLERGY, "419199007")
    assert concept is not None
    assert concept.display == "allergie à une substance"
    assert concept.oid == "2.16.840.1.113883.6.96"


@pytest.mark.parametrize(
    "query",
    ['"', "*", "diab*", 'NEAR("a" "b")', "a AND b OR", "(", "^", "--", "'", "💊", "é" * 500],
)
def test_odd_input_never_fails(index: TerminologyIndex, query: str) -> None:
    index.search(query, System.CIM10)
    index.search(query, System.CIS)


def test_limits(index: TerminologyIndex) -> None:
    assert index.search("", System.CIM10) == []
    assert index.search("   ", System.CIM10) == []
    assert index.search("diab", System.CIM10, limit=0) == []
    assert len(index.search("diab", System.CIM10, limit=2)) == 2
    assert len(index.search("a", System.CIM10, limit=10_000)) <= 500


def test_starter_set_fills_only_empty_systems(tmp_path: Path) -> None:
    with TerminologyIndex.with_starter_set(tmp_path / "t.sqlite") as index:
        assert load_starter_set(index, only_empty=True) == []
        reloaded = load_starter_set(index, only_empty=False)
        assert set(reloaded) == {System.CIM10, System.CIS, System.SNOMED_ALLERGY}
        assert index.count(System.CIM10) >= 140
    # Reopening keeps the data; the starter set is not loaded twice.
    with TerminologyIndex.with_starter_set(tmp_path / "t.sqlite") as index:
        assert codes(index, "hta")[0] == "I10"
