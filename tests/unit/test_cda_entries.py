"""Reading the entries of other software's documents: the ANS VSM and IPS-FR examples.

What the model can hold is kept (posology, reasons, vaccinations, care plan...),
what it cannot is listed, never dropped silently; IPS-FR results never become
« points de vigilance ».
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from dmp_desktop.cda import codes
from dmp_desktop.cda.entries import EntryReader
from dmp_desktop.cda.errors import SummaryInvalidError
from dmp_desktop.cda.vsm import build_vsm, read_vsm
from dmp_desktop.domain.summary import (
    CarePlanKind,
    ImmunizationKind,
    PartialDate,
    Posology,
    ResultKind,
    summary_from_json,
    summary_to_dict,
    summary_to_json,
)
from dmp_desktop.xmlsafe import parse
from tests.conftest import CDA_KIT, require_shared

EXAMPLES = CDA_KIT / "ans" / "ExemplesCDA"


def _read(name: str) -> bytes:
    return require_shared(EXAMPLES / name).read_bytes()


def test_the_ans_vsm_keeps_its_posology_reasons_and_people() -> None:
    reading = read_vsm(_read("VSM_1.4_2022.01.xml"))
    summary = reading.summary
    assert reading.left_out == []
    plavix, coumadine = summary.treatments
    assert plavix.posology == Posology(
        dose=Decimal(2),
        dose_unit="{tablet}",
        times=1,
        period=Decimal(1),
        period_unit="d",
        route="20053000",
    )
    assert plavix.dosage == "1 cp/j"  # the narrative says otherwise: both are kept
    assert plavix.reason == "Angine de poitrine instable" and plavix.reason_cim10 == "I20.0"
    assert coumadine.posology is not None
    assert (coumadine.posology.times, coumadine.posology.period) == (1, Decimal(6))
    assert coumadine.posology.period_unit == "h"
    assert coumadine.reason_cim10 == "G45.9"
    assert summary.trusted_person is not None and summary.trusted_person.relationship == "SIS"
    assert summary.emergency_contact is not None
    assert summary.legal_representative is not None
    assert summary.legal_representative.family_name == "NESSI"


def test_the_ans_vsm_round_trips_through_json_and_the_builder() -> None:
    """ANS VSM -> dmp vsm json -> dmp vsm build: posology and every section are kept."""
    first = read_vsm(_read("VSM_1.4_2022.01.xml")).summary
    text = summary_to_json(first)
    rebuilt = read_vsm(build_vsm(summary_from_json(text)))
    assert rebuilt.left_out == []
    assert summary_to_dict(rebuilt.summary) == summary_to_dict(first)
    for key in (
        "active_problems",
        "medical_history",
        "surgical_history",
        "allergies",
        "lifestyle",
        "occupational_risks",
        "family_history",
        "vigilance_points",
        "treatments",
    ):
        assert getattr(rebuilt.summary, key), key


def test_an_ips_fr_keeps_vaccinations_care_plan_and_results_apart_from_vigilance() -> None:
    reading = read_vsm(_read("IPS-FR_2024.01.xml"))
    summary = reading.summary
    assert summary.vigilance_points == ["(texte libre)"]
    assert [r.kind for r in summary.results] == [ResultKind.LAB, ResultKind.IMAGING]
    assert summary.results[0].loinc == "1988-5"
    assert [v.atc for v in summary.vaccinations] == ["J07CA01", "J07CA01"]
    assert summary.vaccinations[0].kind is ImmunizationKind.PRIMARY
    assert summary.vaccinations[0].lot == "4456672" and summary.vaccinations[0].rank == 2
    kinds = {item.kind for item in summary.care_plan}
    assert kinds == {CarePlanKind.FOLLOW_UP, CarePlanKind.PROCEDURE, CarePlanKind.ENCOUNTER}
    assert any(item.ccam == "CBLA001" for item in summary.care_plan)
    assert any(item.label.startswith("Vaccination prévue : ") for item in summary.care_plan)
    assert len(summary.advance_directives) == 8
    assert [s.code for s in summary.vital_signs] == ["29463-7", "8302-2"]
    assert summary.vital_signs[0].value == Decimal(58) and summary.vital_signs[0].unit == "kg"
    assert len(summary.functional_status) == 3
    assert summary.treatments[0].posology is not None
    left = {item.section: item for item in reading.left_out}
    assert set(left) == {
        "Effets indésirables prévisibles liés aux médicaments",
        "Dispositifs médicaux",
        "Historique des grossesses",
        "Directives anticipées",
        "Documents joints",
    }
    assert left["Dispositifs médicaux"].count == 2
    assert "fichier joint" in left["Directives anticipées"].what
    # Its « Autre problème (texte libre) » placeholder contradicts its code R69: refused as is.
    placeholder = summary.active_problems[4]
    assert placeholder.cim10 == "R69" and "texte libre" in placeholder.label
    with pytest.raises(SummaryInvalidError):
        build_vsm(summary)
    placeholder.label = placeholder.cim10_label or ""
    assert build_vsm(summary)  # and the kit accepts it (test_cda_conformance)


def test_sections_are_found_by_their_ci_sis_template_not_by_loinc() -> None:
    root = parse(_read("IPS-FR_2024.01.xml"))
    reader = EntryReader(root)
    vigilance = reader.section(codes.SEC_VIGILANCE)
    results = reader.section(codes.SEC_RESULTS)
    assert vigilance is not None and results is not None
    assert vigilance.find("{urn:hl7-org:v3}code").get("code") == "44944-7"  # type: ignore[union-attr]
    assert results.find("{urn:hl7-org:v3}code").get("code") == "30954-2"  # type: ignore[union-attr]
    collected = reader.collect()
    assert collected.vaccinations and collected.results
    assert collected.vaccinations[0].date == PartialDate(2009, 9, 28)
