"""A code and its label, dates and quantities must agree before a VSM is built (issue #15).

Each defect found by trying the builder as a new user is reproduced here and
must be refused with a French message naming the field; a coherent summary
(the documented ALD example) passes. The vocabulary is the official CIM-10
and BDPM (slices) and a CCAM extract, imported by the real importers
(tests/support/vocabulary.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from dmp_desktop.cda.errors import SummaryInvalidError, problem_message
from dmp_desktop.cda.vsm import build_vsm, check_summary
from dmp_desktop.domain.summary import (
    Allergy,
    MedicalSummary,
    PartialDate,
    Posology,
    Problem,
    SurgicalHistory,
    Treatment,
    VitalSign,
    summary_from_json,
)
from dmp_desktop.messages import render
from dmp_desktop.terminology import TerminologyIndex
from dmp_desktop.terminology.vocabulary import IndexVocabulary
from tests.support.cda_samples import full_summary
from tests.support.vsm_examples import EXAMPLES_DIR

RAMIPRIL_CIS = "61599041"  # RAMIPRIL BIOGARAN 5 mg, comprimé sécable


@pytest.fixture(scope="module")
def vocabulary(reference_index_path: Path) -> Iterator[IndexVocabulary]:
    index = TerminologyIndex(reference_index_path)
    yield IndexVocabulary(index)
    index.close()


def ald_example() -> MedicalSummary:
    return summary_from_json((EXAMPLES_DIR / "vsm-ald-example.json").read_text(encoding="utf-8"))


def problems_of(summary: MedicalSummary, vocabulary: IndexVocabulary | None) -> dict[str, str]:
    return {p.path: p.reason for p in check_summary(summary, vocabulary)}


def messages_of(summary: MedicalSummary, vocabulary: IndexVocabulary | None) -> list[str]:
    return [render(problem_message(p)) for p in check_summary(summary, vocabulary)]


def test_coherent_summaries_pass(vocabulary: IndexVocabulary) -> None:
    assert check_summary(ald_example(), vocabulary) == []
    assert check_summary(full_summary(), vocabulary) == []


Mutation = Callable[[MedicalSummary], object]

DEFECTS: list[tuple[str, Mutation, str, str, str]] = [
    # name, mutation, path, reason, words of the French message
    (
        "ramipril CIS under the name METFORMINE",
        lambda s: s.treatments.__setitem__(0, Treatment("METFORMINE", cis=RAMIPRIL_CIS)),
        "treatments[0].name",
        "name_contradicts_cis",
        "ne correspond pas au code CIS 61599041 (« RAMIPRIL BIOGARAN 5 mg, comprimé sécable »)",
    ),
    (
        "a CIM-10 code that does not exist",
        lambda s: s.active_problems.__setitem__(0, Problem("Diabète", cim10="E99.9")),
        "active_problems[0].cim10",
        "code_not_found",
        "le code E99.9 n'existe pas dans la liste CIM-10 installée",
    ),
    (
        "a CIS that does not exist",
        lambda s: setattr(s.treatments[0], "cis", "12345678"),
        "treatments[0].cis",
        "code_not_found",
        "le code 12345678 n'existe pas",
    ),
    (
        "a CCAM code that does not exist",
        lambda s: s.surgical_history.__setitem__(0, SurgicalHistory("Acte", ccam="ZZZZ999")),
        "surgical_history[0].ccam",
        "code_not_found",
        "le code ZZZZ999 n'existe pas dans la liste CCAM installée",
    ),
    (
        "an onset in 2031",
        lambda s: setattr(s.active_problems[0], "onset", PartialDate(2031)),
        "active_problems[0].onset",
        "after_document",
        "la date 2031 est postérieure à la date de la synthèse",
    ),
    (
        "a treatment ending before it starts",
        lambda s: (
            setattr(s.treatments[1], "start", PartialDate(2020)),
            setattr(s.treatments[1], "end", PartialDate(2019)),
        ),
        "treatments[1].end",
        "end_before_start",
        "la fin (2019) précède le début (2020)",
    ),
    (
        "negative pack-years",
        lambda s: setattr(s.lifestyle[0], "quantity", Decimal(-5)),
        "lifestyle[0].quantity",
        "negative",
        "ne peut pas être négatif",
    ),
    (
        "« Hypertension » coded E10.9",
        lambda s: s.active_problems.__setitem__(
            0,
            Problem(
                "Hypertension",
                cim10="E10.9",
                cim10_label="Diabète sucré de type 1, sans complication",
            ),
        ),
        "active_problems[0].label",
        "text_contradicts_code",
        "ne correspond pas au code E10.9 (« Diabète sucré de type 1, sans complication »)",
    ),
    (
        "type 2 written, type 1 coded (the wrong suggestion picked)",
        lambda s: s.active_problems.__setitem__(0, Problem("Diabète de type 2", cim10="E10.9")),
        "active_problems[0].label",
        "text_contradicts_code",
        "E10.9",
    ),
    (
        "a label given for a code that is not its label",
        lambda s: s.active_problems.__setitem__(
            0, Problem("Diabète", cim10="E11.9", cim10_label="Hypertension essentielle")
        ),
        "active_problems[0].cim10_label",
        "label_not_official",
        "n'est pas celui du code E11.9",
    ),
    (
        "a date before the birth",
        lambda s: setattr(s.surgical_history[1], "date", PartialDate(1970)),
        "surgical_history[1].date",
        "before_birth",
        "antérieure à la naissance",
    ),
    (
        "a unit that is not UCUM",
        lambda s: setattr(s.lifestyle[0], "unit", "paquets par an"),
        "lifestyle[0].unit",
        "unit_invalid",
        "« paquets par an » n'est pas une unité UCUM valide",
    ),
    (
        "a weight in centimetres",
        lambda s: s.vital_signs.__setitem__(0, VitalSign("29463-7", Decimal(92), "cm")),
        "vital_signs[0].unit",
        "unit_not_mass",
        "n'est pas une unité de poids",
    ),
    (
        "a posology frequency in milligrams",
        lambda s: setattr(
            s.treatments[0],
            "posology",
            Posology(dose=Decimal(1), dose_unit="{tablet}", period=Decimal(1), period_unit="mg"),
        ),
        "treatments[0].posology.period_unit",
        "unit_not_time",
        "n'est pas une unité de temps",
    ),
    (
        "a CIP of another drug",
        lambda s: setattr(s.treatments[1], "cip", "3400939718330"),  # a METFORMINE box
        "treatments[1].cip",
        "cip_not_of_cis",
        "n'est pas une présentation de ce médicament",
    ),
    (
        "an ATC that is not the drug's class",
        lambda s: setattr(s.treatments[0], "atc", "C09AA05"),
        "treatments[0].atc",
        "atc_not_of_cis",
        "A10BA02",
    ),
    (
        "a penicillin allergy coded as the paracetamol class",
        lambda s: s.allergies.__setitem__(0, Allergy("Pénicillines", agent_atc="N02BE01")),
        "allergies[0].agent",
        "text_contradicts_code",
        "N02BE01",
    ),
    (
        "an unknown EDQM route",
        lambda s: setattr(s.treatments[0].posology, "route", "99999999"),
        "treatments[0].posology.route",
        "unknown_code",
        "n'est pas un code connu",
    ),
]


@pytest.mark.parametrize(
    ("mutate", "path", "reason", "words"),
    [pytest.param(m, p, r, w, id=name) for name, m, p, r, w in DEFECTS],
)
def test_each_defect_is_refused_with_a_french_message(
    vocabulary: IndexVocabulary, mutate: Mutation, path: str, reason: str, words: str
) -> None:
    summary = ald_example()
    mutate(summary)
    assert problems_of(summary, vocabulary).get(path) == reason
    with pytest.raises(SummaryInvalidError) as caught:
        build_vsm(summary, vocabulary=vocabulary)
    text = render(caught.value.message())
    assert text.startswith("Le document ne peut pas être généré")
    assert words in text, text


def test_every_problem_is_listed_at_once(vocabulary: IndexVocabulary) -> None:
    summary = ald_example()
    chosen = [DEFECTS[i] for i in (0, 1, 3, 4, 5, 6, 10, 11)]  # on different fields
    for _name, mutate, _path, _reason, _words in chosen:
        mutate(summary)
    found = problems_of(summary, vocabulary)
    for _name, _mutate, path, reason, _words in chosen:
        assert found.get(path) == reason, path
    assert len(messages_of(summary, vocabulary)) == len(found) >= len(chosen)


def test_without_a_complete_list_absence_proves_nothing(tmp_path: Path) -> None:
    """With only the bundled extract, an unknown code is not called non-existent."""
    index = TerminologyIndex.with_starter_set(tmp_path / "starter.sqlite")
    try:
        starter = IndexVocabulary(index)
        summary = ald_example()
        summary.active_problems[0] = Problem("Diabète", cim10="E99.9")
        summary.surgical_history[0] = SurgicalHistory("Acte", ccam="ZZZZ999")
        assert "active_problems[0].cim10" not in problems_of(summary, starter)
        assert "surgical_history[0].ccam" not in problems_of(summary, starter)
    finally:
        index.close()
    # ...but a code and a text that contradict each other are refused with or without it
    summary = ald_example()
    summary.active_problems[0] = Problem(
        "Hypertension", cim10="E10.9", cim10_label="Diabète sucré de type 1, sans complication"
    )
    assert problems_of(summary, None)["active_problems[0].label"] == "text_contradicts_code"


def test_abbreviations_agree_with_their_codes(vocabulary: IndexVocabulary) -> None:
    summary = ald_example()
    summary.active_problems[1] = Problem("HTA", cim10="I10")
    summary.active_problems[0] = Problem("DT2", cim10="E11.9")
    assert check_summary(summary, vocabulary) == []


def test_a_drug_named_by_its_substance_agrees(vocabulary: IndexVocabulary) -> None:
    summary = ald_example()
    summary.treatments[0].name = "Metformine 1000 mg"
    assert check_summary(summary, vocabulary) == []
    summary.treatments[0].name = "Metformine 500 mg"  # another strength than the CIS's
    assert problems_of(summary, vocabulary) == {"treatments[0].name": "name_contradicts_cis"}


def test_a_planned_end_of_treatment_may_be_in_the_future(vocabulary: IndexVocabulary) -> None:
    summary = ald_example()
    summary.treatments[0].end = PartialDate(2026, 12)
    assert check_summary(summary, vocabulary) == []


def test_the_send_door_refuses_the_same_way(vocabulary: IndexVocabulary) -> None:
    """`dmp vsm send` and the window's « Envoyer au DMP » prepare the VSM through the use
    case: the same check, the same French message, nothing to queue."""
    from dmp_desktop.terminology.vocabulary import use_vocabulary
    from dmp_desktop.usecases import vsm
    from dmp_desktop.usecases.upload import Visibility
    from tests.unit.test_dmp_support import doctor, settings
    from tests.unit.test_usecases import Registry

    summary = ald_example()
    name, mutate, _path, _reason, words = DEFECTS[7]
    assert name == "« Hypertension » coded E10.9"
    mutate(summary)
    use_vocabulary(vocabulary)
    try:
        with pytest.raises(SummaryInvalidError) as caught:
            vsm.prepare_vsm(
                Registry([]),
                doctor(),
                settings(),
                summary.patient.ins,
                summary,
                Visibility(False, False, False),
            )
    finally:
        use_vocabulary(None)
    assert words in render(caught.value.message())
