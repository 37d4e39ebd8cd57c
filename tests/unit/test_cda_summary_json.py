"""The medical summary model and its JSON form (docs/vsm-json.md)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from dmp_desktop.domain.patient import InsKind
from dmp_desktop.domain.summary import (
    JSON_SCHEMA_ID,
    LifestyleKind,
    MedicalHistory,
    MedicalSummary,
    PartialDate,
    Problem,
    ProblemStatus,
    SummaryFormatError,
    summary_from_dict,
    summary_from_json,
    summary_to_dict,
    summary_to_json,
)
from tests.support.cda_samples import full_summary, large_summary, minimal_summary

EXAMPLE_JSON = Path(__file__).resolve().parents[2] / "docs" / "examples" / "vsm-ald-example.json"


@pytest.mark.parametrize("factory", [minimal_summary, full_summary, large_summary])
def test_json_round_trip_is_lossless(factory: Callable[[], MedicalSummary]) -> None:
    summary = factory()
    text = summary_to_json(summary)
    again = summary_from_json(text)
    assert again == summary
    assert summary_to_json(again) == text
    assert json.loads(text)["schema"] == JSON_SCHEMA_ID


def test_json_keys_are_english_and_values_keep_accents() -> None:
    text = summary_to_json(full_summary())
    data = json.loads(text)
    assert "patient" in data and "treatments" in data
    assert "Diabète de type 2" in text  # written as UTF-8, not \u escapes
    assert data["lifestyle"][0]["quantity"] == 25
    assert data["active_problems"][0]["onset"] == "2015-06"


def test_committed_example_json_is_canonical() -> None:
    text = EXAMPLE_JSON.read_text(encoding="utf-8")
    summary = summary_from_json(text)
    assert summary_to_json(summary) == text
    assert summary.patient.ins.kind is InsKind.TEST_NIR
    assert [t.cis for t in summary.treatments] == ["67346461", "61599041", "68212077", "64755969"]


def test_minimal_hand_written_json_gets_defaults() -> None:
    data = summary_to_dict(minimal_summary())
    for key in ("document_id", "set_id", "version", "title", "confidentiality"):
        data.pop(key)
    for key in ("active_problems", "lifestyle", "treatments", "schema"):
        data.pop(key)
    summary = summary_from_dict(data)
    assert summary.version == 1
    assert summary.title == "Synthèse médicale"
    assert summary.document_id is None
    assert summary.treatments == []


def test_medical_history_defaults_to_resolved() -> None:
    data = summary_to_dict(minimal_summary())
    data["medical_history"] = [{"label": "Rougeole"}]
    data["active_problems"] = [{"label": "HTA"}]
    summary = summary_from_dict(data)
    assert isinstance(summary.medical_history[0], MedicalHistory)
    assert summary.medical_history[0].status is ProblemStatus.RESOLVED
    assert summary.active_problems[0].status is ProblemStatus.ACTIVE


@pytest.mark.parametrize(
    ("mutate", "path"),
    [
        (lambda d: d["allergies"].append({"agnet": "x"}), "allergies[0].agent"),
        (lambda d: d["allergies"].append({"agent": "x", "agnet": "y"}), "allergies[0].agnet"),
        (lambda d: d.update(effective_time="2026-03-12T10:00:00"), "effective_time"),
        (lambda d: d.update(effective_time="12/03/2026"), "effective_time"),
        (lambda d: d["patient"].update(ins="182116938311207"), "patient.ins"),
        (lambda d: d["patient"].update(gender="X"), "patient.gender"),
        (lambda d: d["patient"].update(birth_given_names=[]), "patient.birth_given_names"),
        (lambda d: d["active_problems"].append({"label": "x", "onset": "2019-13"}), None),
        (lambda d: d["lifestyle"].append({"kind": "sport", "text": "x"}), "lifestyle[0].kind"),
        (
            lambda d: d["lifestyle"].append(
                {"kind": "tobacco", "text": "x", "quantity": "beaucoup"}
            ),
            "lifestyle[0].quantity",
        ),
        (lambda d: d["treatments"].append({"name": "x", "long_term": "oui"}), None),
        (lambda d: d.update(version=0), "version"),
        (lambda d: d.update(schema="other/2"), "schema"),
        (lambda d: d.update(surprise=True), "surprise"),
    ],
)
def test_bad_json_is_refused_with_its_path(
    mutate: Callable[[dict[str, Any]], object], path: str | None
) -> None:
    data = summary_to_dict(minimal_summary())
    mutate(data)
    with pytest.raises(SummaryFormatError) as caught:
        summary_from_dict(data)
    if path is not None:
        assert caught.value.path == path


def test_not_json_is_refused() -> None:
    with pytest.raises(SummaryFormatError):
        summary_from_json("{not json")
    with pytest.raises(SummaryFormatError):
        summary_from_json("[]")


def test_error_messages_carry_no_health_data() -> None:
    data = summary_to_dict(minimal_summary())
    data["allergies"] = [{"agent": "Pénicilline G", "severity": "terrible"}]
    with pytest.raises(SummaryFormatError) as caught:
        summary_from_dict(data)
    assert "Pénicilline" not in str(caught.value)
    assert caught.value.path == "allergies[0].severity"


def test_partial_dates() -> None:
    assert PartialDate.parse("1998") == PartialDate(1998)
    assert PartialDate.parse("2015-06").french() == "06/2015"
    assert PartialDate.parse("2019-08-11").hl7() == "20190811"
    assert PartialDate.from_hl7("20200312111700+0100") == PartialDate(2020, 3, 12)
    assert PartialDate.from_hl7("201908").iso() == "2019-08"
    assert PartialDate.of(date(2001, 2, 3)).french() == "03/02/2001"
    for bad in ("98", "2019-02-30", "2019-1", "2019/01/01", ""):
        with pytest.raises(ValueError):
            PartialDate.parse(bad)
    with pytest.raises(ValueError):
        PartialDate(2019, None, 3)


def test_decimal_quantities_keep_their_value() -> None:
    data = summary_to_dict(minimal_summary())
    data["lifestyle"] = [
        {"kind": "alcohol", "text": "2,5 verres", "quantity": 2.5, "unit": "{verre}/j"}
    ]
    summary = summary_from_dict(data)
    assert summary.lifestyle[0].quantity == Decimal("2.5")
    assert summary.lifestyle[0].kind is LifestyleKind.ALCOHOL
    assert summary_to_dict(summary)["lifestyle"][0]["quantity"] == 2.5


def test_code_label_equal_to_label_is_not_repeated() -> None:
    problem = Problem("Hypertension", cim10="I10", cim10_label="Hypertension")
    assert problem.cim10_label is None


# --- the declared schema (domain/summary_json.py) -------------------------------------------------


def test_the_documentation_tables_are_generated_and_up_to_date() -> None:
    from dmp_desktop.domain import summary_json

    text = summary_json.DOC_PATH.read_text(encoding="utf-8")
    assert summary_json.render_doc(text) == text, (
        "docs/vsm-json.md is stale: python -m dmp_desktop.domain.summary_json --write"
    )
    assert summary_json.main(["--check"], out=lambda _line: None) == 0
    documented = summary_json.documented_names(text)
    for schema in summary_json.DOCUMENTED:
        assert schema.__name__.removesuffix("Schema") in documented
    # Every key of every object is in the document, with its meaning.
    for schema in summary_json.DOCUMENTED:
        for name, info in schema.model_fields.items():
            assert f"| `{info.alias or name}` |" in text, (schema.__name__, name)
            assert info.description, (schema.__name__, name)


def test_a_stale_documentation_is_detected(tmp_path: Path) -> None:
    from dmp_desktop.domain import summary_json

    doc = tmp_path / "vsm-json.md"
    text = summary_json.DOC_PATH.read_text(encoding="utf-8")
    doc.write_text(text.replace("| `dose_max` |", "| `dose_maxi` |"), encoding="utf-8")
    lines: list[str] = []
    assert summary_json.main(["--check", "--doc", str(doc)], out=lines.append) == 1
    assert "out of date" in lines[0]
    assert summary_json.main(["--write", "--doc", str(doc)], out=lines.append) == 0
    assert doc.read_text(encoding="utf-8") == text


def test_the_schema_covers_every_field_of_the_model() -> None:
    """A field added to a dataclass and forgotten in the schema would be silently dropped."""
    import dataclasses

    from dmp_desktop.domain import summary_json

    for cls, schema in summary_json._SCHEMA_OF.items():
        fields = {f.name for f in dataclasses.fields(cls)}
        keys = set(schema.model_fields) - {"schema_id"}
        if cls is summary_json.m.PatientIdentity:
            fields = (fields - {"ins"}) | {"ins", "ins_kind"}
        assert fields == keys, cls.__name__


def test_every_problem_is_listed_with_a_french_reason() -> None:
    data = summary_to_dict(minimal_summary())
    data["allergies"] = [{"agnet": "x"}]
    data["treatments"] = [{"name": "x", "long_term": "oui", "posology": {"times": 0}}]
    data["vital_signs"] = [{"code": "29463-7", "value": "lourd", "unit": "kg"}]
    with pytest.raises(SummaryFormatError) as caught:
        summary_from_dict(data)
    assert caught.value.code == "required" and caught.value.reason == "obligatoire"
    problems = dict(caught.value.problems)
    assert problems["allergies[0].agent"] == "required"
    assert problems["allergies[0].agnet"] == "unknown_key"
    assert problems["treatments[0].long_term"] == "boolean_expected"
    assert problems["treatments[0].posology.times"] == "positive_integer_expected"
    assert problems["vital_signs[0].value"] == "number_expected"
    french = caught.value.french()
    assert "allergies[0].agnet : clé inconnue" in french
    assert "treatments[0].long_term : true ou false attendu" in french
    assert "lourd" not in french  # values are never echoed


def test_new_sections_round_trip_in_json() -> None:
    summary = full_summary()
    data = summary_to_dict(summary)
    assert data["treatments"][0]["posology"] == {
        "dose": 1,
        "dose_unit": "{tablet}",
        "times": 2,
        "period": 1,
        "period_unit": "d",
        "route": "20053000",
    }
    assert data["vital_signs"][0] == {
        "code": "29463-7",
        "value": 92.5,
        "unit": "kg",
        "date": "2026-03-12",
    }
    assert data["trusted_person"]["relationship"] == "WIFE"
    assert data["advance_directives"][0]["document_id"] == "1.2.250.1.999.4.1^DA-2024"
    assert summary_from_dict(data) == summary
