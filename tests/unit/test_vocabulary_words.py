"""The words doctors use find what they mean (issue #15): document types, allergy agents, drugs.

- J07 document types by « ordonnance », « compte rendu », « ECG », « écho », « courrier »;
- allergies by class or substance (« pénicilline », « AINS », « iode »), the classes' ATC
  codes being the WHO's (checked against the ATC/DDD index of the reference data);
- drugs by substance (DCI) from the BDPM compositions.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

import pytest

from dmp_desktop.alimentation.doctypes import SYNONYMS, professional_types, search_types
from dmp_desktop.terminology import System, TerminologyIndex
from dmp_desktop.terminology.allergy_classes import CLASSES, labels_for
from tests.conftest import REFERENCE_DATA, require_shared


@pytest.mark.parametrize(
    ("typed", "first"),
    [
        ("ordonnance", "57833-6"),  # Prescription de produits de santé
        ("ordo", "57833-6"),
        ("ECG", "70004-7"),  # CR d'acte diagnostique (autre)
        ("écho", "18748-4"),  # CR d'imagerie médicale
        ("echographie", "18748-4"),
        ("courrier", "96349-6"),  # Lettre d'adressage
        ("bilan sanguin", "11502-2"),
        ("arrêt de travail", "PRESC-AAT"),
        ("compte rendu écho", "18748-4"),
        ("SYNTH", "SYNTH"),  # an exact code still comes first
    ],
)
def test_document_types_are_found_by_the_words_doctors_use(typed: str, first: str) -> None:
    found = [code.code for code in search_types(typed)]
    assert found and found[0] == first, found[:5]


def test_compte_rendu_still_lists_the_reports() -> None:
    found = search_types("compte rendu")
    assert len(found) > 20 and all(code.display.startswith("CR") for code in found[:20])


def test_every_synonym_points_to_types_a_professional_may_send() -> None:
    allowed = {code.code for code in professional_types()}
    for word, targets in SYNONYMS.items():
        assert targets, word
        assert set(targets) <= allowed, (word, set(targets) - allowed)


@pytest.fixture(scope="module")
def starter(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TerminologyIndex]:
    index = TerminologyIndex.with_starter_set(tmp_path_factory.mktemp("t") / "t.sqlite")
    yield index
    index.close()


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("pénicilline", "J01C"),
        ("penicil", "J01C"),
        ("AINS", "M01A"),
        ("iode", "V08A"),
        ("aspirine", "N02BA01"),
        ("sulfamide", "J01E"),
        ("céphalosporine", "J01DD"),
        ("amox", "J01CA04"),
    ],
)
def test_allergy_agents_are_found_by_class(
    starter: TerminologyIndex, typed: str, code: str
) -> None:
    """Out of the box: the class table is in every index, whatever was imported."""
    assert code in [c.code for c in starter.search(typed, System.ALLERGY_CLASS, 10)]


def test_the_allergy_classes_are_who_atc_codes() -> None:
    path = require_shared(REFERENCE_DATA / "atc" / "who_atc_ddd_2026-04-25.csv")
    with path.open(encoding="utf-8") as handle:
        codes = {row["atc_code"] for row in csv.DictReader(handle)}
    assert {entry.atc for entry in CLASSES} <= codes
    assert "pénicilline" in labels_for("J01CA04")  # amoxicilline is a penicillin


def test_drugs_and_substances_are_found_by_their_dci(reference_index_path: Path) -> None:
    index = TerminologyIndex(reference_index_path)
    try:
        assert "Metformine" in [c.display for c in index.search("metformine", System.SUBSTANCE)]
        assert index.get(System.SUBSTANCE, "A10BA02") is not None
        glucophage = [c.display for c in index.search("metformine", System.CIS, 20)]
        assert any(name.startswith("GLUCOPHAGE") for name in glucophage)
        clopidogrel = [c.display for c in index.search("clopidogrel", System.CIS, 20)]
        assert any(name.startswith("PLAVIX") for name in clopidogrel)
    finally:
        index.close()
