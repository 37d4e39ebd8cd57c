"""« L'essentiel » over the ANS kit's example documents (issue #19).

Every coded entry of every example is either read into a line of
« L'essentiel » or listed as not (yet) shown — never dropped silently — and
what the main examples hold is found where a doctor looks for it.
"""

from __future__ import annotations

import functools
from pathlib import Path

import pytest

from dmp_desktop import xmlsafe
from dmp_desktop.domain.summary import PartialDate
from dmp_desktop.essentials.aggregate import build
from dmp_desktop.essentials.model import Category, DocumentFacts, Source, Status
from dmp_desktop.essentials.reading import (
    NOT_SHOWN,
    NOT_SHOWN_WHAT,
    clinical_document,
    read_document,
    read_with_reader,
)
from tests.conftest import CDA_KIT, require_shared

EXAMPLES = CDA_KIT / "ans" / "ExemplesCDA"
H = "{urn:hl7-org:v3}"


def _examples() -> list[Path]:
    return sorted(EXAMPLES.glob("*.xml")) if EXAMPLES.is_dir() else []


def _source(path: Path, day: int = 1) -> Source:
    return Source(path.name, path.stem, author="Dr Test", date=PartialDate(2024, 1, day))


def _facts(name: str) -> DocumentFacts:
    path = require_shared(EXAMPLES / name)
    return read_document(path.read_bytes(), _source(path))


def test_the_kit_is_there() -> None:
    require_shared(EXAMPLES)
    assert len(_examples()) >= 90


@functools.cache
def _analyse(path: Path) -> tuple[DocumentFacts, int, int, int]:
    """(facts, entries, entries read, entries listed as not read) of one example, read once."""
    root = clinical_document(xmlsafe.parse(path.read_bytes()))
    assert root is not None
    body = root.find(f"{H}component/{H}structuredBody")
    if body is None:  # a level-1 document: nothing coded to show
        return read_document(path.read_bytes(), _source(path)), 0, 0, 0
    facts, reader = read_with_reader(root, _source(path))
    entries = [e for e in body.iter(f"{H}entry") if e.getparent().tag == f"{H}section"]
    used = [e for e in entries if e in reader.used]
    listed = sum(item.count for item in reader.left_out() if item.what.startswith("non repris :"))
    return facts, len(entries), len(used), listed


@pytest.mark.parametrize("path", _examples(), ids=lambda p: p.name)
def test_every_entry_is_shown_or_listed(path: Path) -> None:
    facts, entries, used, listed = _analyse(path)
    if not facts.structured:
        assert entries == 0 and not facts.statements
        return
    assert used + listed == entries, f"{entries} entries: {used} read, {listed} listed as not read"
    # kinds the reader took but « L'essentiel » does not show are listed too
    for left in facts.left_out:
        assert left.count >= 1 and left.section and left.what
    not_shown = {left.section for left in facts.left_out if left.what == NOT_SHOWN_WHAT}
    assert not_shown <= set(NOT_SHOWN.values())
    assert {s.kind for s in facts.statements} <= {
        "problem",
        "medical_history",
        "surgical_history",
        "allergy",
        "treatment",
        "vaccination",
        "vital_sign",
        "result",
        "vigilance_point",
        "advance_directive",
        "trusted_person",
    }
    assert build([facts]).documents_read == 1  # and it aggregates


def test_the_kit_as_a_whole_shows_each_rubric() -> None:
    require_shared(EXAMPLES)
    facts = [_analyse(p)[0] for p in _examples()]
    essentials = build(facts)
    rubrics = {line.category for line in essentials.lines}
    assert rubrics == set(Category)
    assert essentials.documents_unstructured == 4  # the level-1 examples
    assert all(line.label.strip("- ") for line in essentials.lines)
    assert not essentials.unreadable


def test_ips_fr() -> None:
    facts = _facts("IPS-FR_2024.01.xml")
    by_kind: dict[str, list[str]] = {}
    for s in facts.statements:
        by_kind.setdefault(s.kind, []).append(s.label)
    assert "Thyroïdite auto-immune (CIM-10 : E06.3)" in by_kind["problem"]
    assert by_kind["allergy"] == ["Paracétamol"]
    assert by_kind["treatment"] == ["LEVOTHYROX 75 microgrammes, comprimé sécable"]
    assert len(by_kind["vaccination"]) == 2
    assert len(by_kind["advance_directive"]) == 8
    assert by_kind["trusted_person"] == ["Personne de confiance : Sophie NESSI"]
    levothyrox = next(s for s in facts.statements if s.kind == "treatment")
    assert levothyrox.detail == "1 comprimé, 1 fois par jour, voie orale"
    weight = next(s for s in facts.statements if s.key == "concept:weight")
    assert (weight.value, weight.unit, weight.category) == (58, "kg", Category.RESULTS)
    # what it holds and this pane does not show: listed, with how many
    left = {item.section: item for item in facts.left_out}
    assert left["Plan de soins"].what == NOT_SHOWN_WHAT
    assert left["Plan de soins"].count == 9
    assert left["Dispositifs médicaux"].count == 2


def test_vsm_and_ips_disagree_on_the_paracetamol_allergy() -> None:
    vsm = _facts("VSM_1.4_2022.01.xml")
    ips = _facts("IPS-FR_2024.01.xml")
    essentials = build([vsm, ips])
    allergies = essentials.in_category(Category.ALLERGIES)
    assert [(a.label, a.status) for a in allergies] == [
        ("Paracétamol", Status.INACTIVE),
        ("Paracétamol", Status.ACTIVE),
    ] or [(a.label, a.status) for a in allergies] == [
        ("Paracétamol", Status.ACTIVE),
        ("Paracétamol", Status.INACTIVE),
    ]
    assert all(a.conflict.startswith("Sources discordantes") for a in allergies)
    assert "inactive selon VSM_1.4_2022.01" in allergies[0].conflict
    assert "active selon IPS-FR_2024.01" in allergies[0].conflict


def test_lab_report() -> None:
    facts = _facts("BIO-CR-BIO_2021.01_Auto-Presentable.xml")  # self-presenting: CDA inside XSLT
    keys = {s.key: s for s in facts.statements}
    assert keys["concept:cholesterol"].detail == "1,90 g/L"
    assert keys["concept:ldl"].value is not None
    assert keys["loinc:3016-3"].detail == "2,050 mUI/L"  # TSH: another result
    assert keys["loinc:3016-3"].category is Category.OTHER_RESULTS
    assert all(s.date == PartialDate(2014, 4, 2) for s in facts.statements)


def test_discharge_letter_treatments_stopped_during_the_stay() -> None:
    facts = _facts("LDL-SES_2022.01.xml")
    treatments = {s.label: s for s in facts.statements if s.kind == "treatment"}
    assert treatments["SOLIAN 100 mg"].status is Status.STOPPED  # « arrêtés durant le séjour »
    assert treatments["SOLIAN 100 mg"].date == PartialDate(2019, 10, 29)


def test_vaccinations() -> None:
    facts = _facts("VAC_2023.01.xml")
    vaccines = [s for s in facts.statements if s.kind == "vaccination"]
    assert len(vaccines) == 4
    assert all(s.category is Category.VACCINATIONS and s.date is not None for s in vaccines)


def test_level1_and_broken_documents() -> None:
    facts = _facts("DOC_NON_STRUCTURE_CDA-R2-N1.xml")
    assert not facts.structured and not facts.problem and not facts.statements
    broken = read_document(b"<ClinicalDocument", Source("x", "x"))
    assert broken.problem and not broken.statements
    not_cda = read_document(b"<html/>", Source("y", "y"))
    assert not_cda.problem == "pas un document CDA"
    essentials = build([facts, broken, not_cda])
    assert essentials.documents_unstructured == 1
    assert [p for _, p in essentials.unreadable] == [
        "document XML illisible",
        "pas un document CDA",
    ]


def test_hostile_xml_is_refused() -> None:
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]>'
        b'<ClinicalDocument xmlns="urn:hl7-org:v3">&a;</ClinicalDocument>'
    )
    facts = read_document(bomb, Source("z", "z"))
    assert facts.problem and not facts.statements
